#!/usr/bin/env bash
# A dropped script made executable.
. "$(dirname "$0")/lib.sh"
printf '#!/bin/sh\necho pwned\n' > "$WORK/dropped.sh"
chmod +x "$WORK/dropped.sh"
"$WORK/dropped.sh" >/dev/null
exit 0
