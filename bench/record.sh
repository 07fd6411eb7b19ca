#!/usr/bin/env bash
# Records bench/workload.sh with the real recorder (root, BPF) into
# target/bench/workload.cap, the capture `cargo bench -p analyzer --bench
# real` measures. Usage: bench/record.sh [SECONDS] (default 40).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-40}
out=${FERRET_WORKLOAD_CAP:-$root/target/bench/workload.cap}
mkdir -p "$(dirname "$out")"
cargo build --release -q -p recorder --bin recorder
"$root/target/release/recorder" --out "$out" --force --snaplen 80 &
rec=$!
sleep 2
"$root/bench/workload.sh" "$secs"
kill -INT "$rec"
wait "$rec"
"$root/target/release/analyzer" info "$out" 2>/dev/null | head -14 || true
