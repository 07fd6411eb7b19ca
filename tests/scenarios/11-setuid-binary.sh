#!/usr/bin/env bash
# A setuid-root copy of id(1), run by nobody.
. "$(dirname "$0")/lib.sh"
cp /usr/bin/id "$WORK/suid-id"
chmod u+s "$WORK/suid-id"
chmod o+rx "$WORK"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$WORK/suid-id" >/dev/null
rm -f "$WORK/suid-id"
exit 0
