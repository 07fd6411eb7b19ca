#!/usr/bin/env bash
# An attempt to load a (bogus) kernel module.
. "$(dirname "$0")/lib.sh"
head -c 512 /dev/urandom > "$WORK/ferret_evil.ko"
insmod "$WORK/ferret_evil.ko" 2>/dev/null
exit 0
