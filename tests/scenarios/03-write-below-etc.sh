#!/usr/bin/env bash
# A file created below /etc, then removed.
. "$(dirname "$0")/lib.sh"
touch /etc/ferret-scenario.conf
rm -f /etc/ferret-scenario.conf
