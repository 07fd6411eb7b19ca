#!/usr/bin/env bash
# Runs every scenario in order, each in its own bash, marking the start of
# each with a `true <name>` exec so tests can tell them apart.
dir="$(cd "$(dirname "$0")" && pwd)"
for s in "$dir"/[0-9][0-9]-*.sh; do
    name=$(basename "$s" .sh)
    /bin/true "ferret-scenario-begin" "$name"
    bash "$s"
done
/bin/true "ferret-scenario-end"
