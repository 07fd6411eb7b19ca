#!/usr/bin/env bash
# A binary named like a miner, with a stratum URL on its command line.
. "$(dirname "$0")/lib.sh"
cp /bin/sleep "$WORK/xmrig"
"$WORK/xmrig" 0.1 -o stratum+tcp://127.0.0.1:3333 -u wallet 2>/dev/null
exit 0
