#!/usr/bin/env bash
# Rules as SQL against `analyzer run` on the same events: exports a capture
# to Parquet, compiles the rules to SQL, and times the queries in DuckDB and
# in Spark local mode (PyPI packages; `.ci/setup-toolchain` installs them)
# and `analyzer run` with the same rules. Prints the export rate, the
# Parquet bytes per event and the three times.
#   bash bench/sql.sh CAPTURE RULES...      (default: a 10M-event synthetic
#                                            capture and falco_rules.yaml)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build --release -q -p analyzer
a="$root/target/release/analyzer"
work="$root/target/bench/sql"
mkdir -p "$work"
cap="${1:-}"
if [ -z "$cap" ]; then
    cap="$work/synth-10m.cap"
    [ -f "$cap" ] || "$a" synth -q --events 10000000 --out "$cap"
fi
shift || true
rules=("$@")
[ ${#rules[@]} -gt 0 ] || rules=("$root/../shared/corpus/falco-rules/falco_rules.yaml")
rargs=()
for r in "${rules[@]}"; do rargs+=(-r "$r"); done
events=$("$a" info --json "$cap" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
rm -rf "$work/parquet"
t0=$(date +%s.%N)
"$a" export -q --format parquet "$cap" -o "$work/parquet"
t1=$(date +%s.%N)
bytes=$(du -cb "$work"/parquet/*.parquet | tail -1 | cut -f1)
python3 - "$events" "$t0" "$t1" "$bytes" <<'PY'
import sys
n, t0, t1, b = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print(f"export: {n} events in {t1-t0:.2f} s ({n/(t1-t0)/1e3:.0f}k events/s), {b} bytes of Parquet ({b/n:.1f} bytes/event)")
PY
"$a" sql -q "${rargs[@]}" --dialect duckdb > "$work/duckdb.sql"
"$a" sql -q "${rargs[@]}" --dialect spark > "$work/spark.sql"
grep -c '^SELECT' "$work/duckdb.sql" | sed 's/^/queries: /'
t0=$(date +%s.%N)
"$a" run -q --rule-matching all --fail-on emergency --json "${rargs[@]}" "$cap" > "$work/run.jsonl"
t1=$(date +%s.%N)
python3 -c "print(f'analyzer run: {$t1-$t0:.2f} s, {sum(1 for _ in open(\"$work/run.jsonl\"))} alerts')"
python3 - "$work" <<'PY'
import sys, time, duckdb
w = sys.argv[1]
con = duckdb.connect()
con.sql(f"CREATE VIEW events AS SELECT * FROM read_parquet('{w}/parquet/*.parquet')")
qs = [q for q in open(f"{w}/duckdb.sql").read().split(";\n")]
qs = ["\n".join(l for l in q.splitlines() if not l.startswith("--")).strip() for q in qs]
qs = [q for q in qs if q]
t = time.time(); hits = sum(len(con.sql(q).fetchall()) for q in qs)
print(f"duckdb: {len(qs)} queries in {time.time()-t:.2f} s, {hits} hits")
PY
python3 - "$work" <<'PY'
import sys, time
w = sys.argv[1]
t = time.time()
from pyspark.sql import SparkSession
s = SparkSession.builder.master("local[*]").config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false").getOrCreate()
s.sparkContext.setLogLevel("ERROR")
started = time.time() - t
s.read.parquet(f"{w}/parquet").createOrReplaceTempView("events")
qs = [q for q in open(f"{w}/spark.sql").read().split(";\n")]
qs = ["\n".join(l for l in q.splitlines() if not l.startswith("--")).strip() for q in qs]
qs = [q for q in qs if q]
t = time.time(); hits = sum(len(s.sql(q).collect()) for q in qs)
print(f"spark local: {len(qs)} queries in {time.time()-t:.2f} s (+{started:.1f} s to start), {hits} hits")
s.stop()
PY
