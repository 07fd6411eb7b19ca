#!/usr/bin/env bash
# A binary dropped below /usr/bin, then removed.
. "$(dirname "$0")/lib.sh"
cp /bin/true /usr/bin/ferret-dropped
rm -f /usr/bin/ferret-dropped
