//! `analyzer export`: Parquet and JSON lines read by real engines (DuckDB
//! and Spark in local mode, from PyPI), compared row by row with what
//! Ferret itself says about the same events (`analyzer events --format`, a
//! sequential replay; `analyzer run --json` for the rules), on the
//! recorded fixture, a synthetic capture and a damaged copy.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ferret_tests::skip_unless;
use serde_json::Value;

fn analyzer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .output()
        .expect("run analyzer")
}

fn dir(name: &str) -> PathBuf {
    ferret_tests::scratch_dir(&format!("export-{name}"))
}

fn rules() -> String {
    ferret_tests::default_rules()
}

fn fixture() -> String {
    ferret_tests::scenarios()
}

/// Runs Python code with `args`; its stdout, or `None` when the module
/// `needs` is not installed.
fn python(needs: &str, code: &str, args: &[&str]) -> Option<String> {
    let probe = Command::new("python3")
        .args(["-c", &format!("import {needs}")])
        .output()
        .ok()?;
    if !probe.status.success() {
        return None;
    }
    let o = Command::new("python3")
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .expect("python3");
    assert!(
        o.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The fields compared, as `analyzer events --format` prints them and as
/// the export names its columns.
const FIELDS: &[&str] = &[
    "evt.num",
    "evt.type",
    "evt.res",
    "thread.tid",
    "proc.pid",
    "proc.ppid",
    "proc.name",
    "proc.exepath",
    "proc.cmdline",
    "proc.cwd",
    "proc.pname",
    "user.uid",
    "user.name",
    "fd.num",
    "fd.type",
    "fd.name",
    "fd.sip",
    "fd.sport",
    "container.id",
    "proc.aname[1]",
    "proc.aname[2]",
];

/// Separates fields in both views (printable: `events` escapes controls).
const SEP: &str = " |~| ";

/// Ferret's own view: one line per event, fields separated by [`SEP`], `<NA>` for a value
/// it cannot fill.
fn ferret_rows(cap: &str) -> Vec<String> {
    let fmt: Vec<String> = FIELDS.iter().map(|f| format!("%{f}")).collect();
    let o = analyzer(&["events", cap, "-p", &fmt.join(SEP)]);
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The same view through DuckDB from the Parquet file.
const DUCKDB_ROWS: &str = r#"
import duckdb, json, sys
cols = []
for f in sys.argv[2].split(","):
    if f.startswith("proc.aname["):
        i = int(f[len("proc.aname["):-1])
        cols.append(f"coalesce(proc_aname[{i}], '<NA>')")
    else:
        cols.append(f"coalesce(CAST({f.replace('.', '_')} AS VARCHAR), '<NA>')")
q = f"SELECT {', '.join(cols)} FROM read_parquet('{sys.argv[1]}') ORDER BY evt_num"
for row in duckdb.sql(q).fetchall():
    print(json.dumps(row))
"#;

#[test]
fn parquet_rows_match_ferrets_own_view_in_duckdb() {
    let d = dir("duckdb");
    let o = analyzer(&[
        "export",
        "-q",
        "--format",
        "parquet",
        "-r",
        &rules(),
        &fixture(),
        "-o",
        &d.display().to_string(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let file = d.join("scenarios.parquet").display().to_string();
    let Some(rows) = python("duckdb", DUCKDB_ROWS, &[&file, &FIELDS.join(",")]) else {
        assert!(!skip_unless(false, "python3 duckdb (PyPI)"));
        return;
    };
    let want = ferret_rows(&fixture());
    // DuckDB's values, shown as Ferret shows text (control characters
    // escaped), joined the same way.
    let got: Vec<String> = rows
        .lines()
        .map(|l| {
            let v: Vec<String> = serde_json::from_str(l).expect("json row");
            v.iter()
                .map(|s| capture::text::escape_controls(s).into_owned())
                .collect::<Vec<_>>()
                .join(SEP)
        })
        .collect();
    assert_eq!(got.len(), want.len(), "one row per event");
    let mut diffs = 0;
    for (g, w) in got.iter().zip(&want) {
        if g != w {
            diffs += 1;
            if diffs < 5 {
                eprintln!("parquet: {g}\nferret:  {w}");
            }
        }
    }
    assert_eq!(diffs, 0, "rows that differ");

    // The rules column against `analyzer run`.
    let run = analyzer(&[
        "run",
        "-q",
        "--json",
        "--fail-on",
        "emergency",
        "-r",
        &rules(),
        &fixture(),
    ]);
    let want: BTreeSet<(u64, String)> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("json");
            (
                v["evt_num"].as_u64().expect("num"),
                v["rule"].as_str().expect("rule").to_string(),
            )
        })
        .collect();
    let hits = python(
        "duckdb",
        "import duckdb, sys\nfor n, r in duckdb.sql(f\"SELECT evt_num, unnest(rules) FROM read_parquet('{sys.argv[1]}')\").fetchall():\n    print(f'{n}\\t{r}')\n",
        &[&file],
    )
    .expect("duckdb");
    let got: BTreeSet<(u64, String)> = hits
        .lines()
        .map(|l| {
            let (n, r) = l.split_once('\t').expect("tab");
            (n.parse().expect("num"), r.to_string())
        })
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);

    // One row group per chunk, and the schema version and chain head.
    let info: Value =
        serde_json::from_slice(&analyzer(&["info", "--json", &fixture()]).stdout).expect("info");
    let meta = python(
        "duckdb",
        "import duckdb, sys\nprint(duckdb.sql(f\"SELECT count(DISTINCT row_group_id) FROM parquet_metadata('{sys.argv[1]}')\").fetchall()[0][0])\nfor k, v in duckdb.sql(f\"SELECT decode(key), decode(value) FROM parquet_kv_metadata('{sys.argv[1]}') ORDER BY 1\").fetchall():\n    print(f'{k}={v}')\n",
        &[&file],
    )
    .expect("duckdb");
    let mut lines = meta.lines();
    assert_eq!(lines.next(), Some(info["chunks"].to_string().as_str()));
    let kv: Vec<&str> = lines.collect();
    assert!(kv.contains(&"ferret.schema=ferret.events/1"), "{kv:?}");
    assert!(kv.contains(
        &format!(
            "ferret.chain_head={}",
            info["chain_head"].as_str().expect("head")
        )
        .as_str()
    ));
}

#[test]
fn json_lines_hold_the_same_rows() {
    let d = dir("jsonl");
    let o = analyzer(&[
        "export",
        "-q",
        "--format",
        "jsonl",
        &fixture(),
        "-o",
        &d.display().to_string(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(d.join("scenarios.jsonl")).expect("jsonl");
    let want = ferret_rows(&fixture());
    let mut n = 0;
    for (l, w) in text.lines().zip(&want) {
        let v: Value = serde_json::from_str(l).expect("json");
        let cols: Vec<&str> = w.split(SEP).collect();
        assert_eq!(v["evt_num"].to_string(), cols[0]);
        let shown = |k: &str| {
            v[k].as_str()
                .map(|s| capture::text::escape_controls(s).into_owned())
                .unwrap_or_else(|| "<NA>".into())
        };
        assert_eq!(shown("proc_name"), cols[6]);
        assert_eq!(shown("proc_cmdline"), cols[8]);
        assert_eq!(shown("fd_name"), cols[15]);
        let raw = v["evt_rawtime"].as_u64().expect("rawtime");
        assert_eq!(
            v["evt_time"].as_str(),
            Some(capture::text::rfc3339(raw / 1000 * 1000).as_str())
        );
        assert!(v["evt_time"].as_str().is_some_and(|t| t.ends_with('Z')));
        n += 1;
    }
    assert_eq!(n, want.len());
    assert_eq!(text.lines().count(), want.len());
}

#[test]
fn spark_reads_the_export_and_counts_what_ferret_counts() {
    let d = dir("spark");
    // The fixture and a synthetic capture: two files, one table.
    let synth = d.join("synth.cap");
    assert!(analyzer(&[
        "synth",
        "-q",
        "--events",
        "300000",
        "--out",
        &synth.display().to_string()
    ])
    .status
    .success());
    let out = d.join("parquet");
    let o = analyzer(&[
        "export",
        "-q",
        "--format",
        "parquet",
        "-r",
        &rules(),
        &fixture(),
        &synth.display().to_string(),
        "-o",
        &out.display().to_string(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let code = r#"
import sys
from pyspark.sql import SparkSession
s = SparkSession.builder.master("local[2]").appName("ferret-test").config("spark.ui.enabled", "false").getOrCreate()
s.sparkContext.setLogLevel("ERROR")
df = s.read.parquet(sys.argv[1])
print("rows", df.count())
df.createOrReplaceTempView("events")
for r in s.sql("SELECT capture, count(*) AS n FROM events GROUP BY capture ORDER BY capture").collect():
    print("capture", r["capture"], r["n"])
for r in s.sql("SELECT rule, count(*) AS n FROM (SELECT explode(rules) AS rule FROM events) GROUP BY rule ORDER BY rule").collect():
    print("rule", r["rule"], r["n"])
s.stop()
"#;
    let Some(spark) = python("pyspark", code, &[&out.display().to_string()]) else {
        assert!(!skip_unless(false, "python3 pyspark (PyPI) and Java"));
        return;
    };
    let events = |cap: &str| -> u64 {
        let v: Value =
            serde_json::from_slice(&analyzer(&["info", "--json", cap]).stdout).expect("info");
        v["events"].as_u64().expect("events")
    };
    let synth = synth.display().to_string();
    let (a, b) = (events(&fixture()), events(&synth));
    assert!(spark.contains(&format!("rows {}\n", a + b)), "{spark}");
    assert!(
        spark.contains(&format!("capture {} {a}\n", fixture())),
        "{spark}"
    );
    assert!(spark.contains(&format!("capture {synth} {b}\n")), "{spark}");
    let run = analyzer(&[
        "run",
        "-q",
        "--json",
        "--fail-on",
        "emergency",
        "-r",
        &rules(),
        &fixture(),
        &synth,
    ]);
    let mut per_rule: std::collections::BTreeMap<String, u64> = Default::default();
    for l in String::from_utf8_lossy(&run.stdout).lines() {
        let v: Value = serde_json::from_str(l).expect("json");
        *per_rule
            .entry(v["rule"].as_str().expect("rule").into())
            .or_default() += 1;
    }
    for (rule, n) in &per_rule {
        assert!(
            spark.contains(&format!("rule {rule} {n}\n")),
            "{rule} {n}: {spark}"
        );
    }
}

#[test]
fn a_damaged_capture_exports_its_intact_chunks_and_names_the_rest() {
    let d = dir("damaged");
    // A synthetic capture of several chunks, one of them damaged.
    let cap = d.join("many.cap");
    assert!(analyzer(&[
        "synth",
        "-q",
        "--events",
        "200000",
        "--chunk-events",
        "20000",
        "--out",
        &cap.display().to_string()
    ])
    .status
    .success());
    let mut bytes = std::fs::read(&cap).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    let bad = d.join("bad.cap");
    std::fs::write(&bad, &bytes).expect("write");
    let bad = bad.display().to_string();
    let v: Value =
        serde_json::from_slice(&analyzer(&["verify", "--json", &bad]).stdout).expect("verify");
    let good = v["good_events"].as_u64().expect("good");
    let chunk = v["problems"][0]["chunk"].as_u64().expect("chunk");
    let out = d.join("out");
    let o = analyzer(&[
        "export",
        "--format",
        "jsonl",
        &bad,
        "-o",
        &out.display().to_string(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("chunk {chunk} ")), "{err}");
    let text = std::fs::read_to_string(out.join("bad.jsonl")).expect("jsonl");
    assert_eq!(text.lines().count() as u64, good, "every intact event");
    // In event order, the damaged chunk's events absent.
    let nums: Vec<u64> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json")["evt_num"]
                .as_u64()
                .expect("num")
        })
        .collect();
    assert!(nums.windows(2).all(|w| w[0] < w[1]));
    assert!(Path::new(&out.join("bad.jsonl")).exists());
}

/// Runs every statement of a SQL script over a view `events` of the
/// Parquet files in a directory; prints one `rule\tcapture\tevt_num` line
/// per row.
const RUN_DUCKDB: &str = r#"
import duckdb, sys
con = duckdb.connect()
con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{sys.argv[1]}/*.parquet')")
for stmt in open(sys.argv[2]).read().split(";\n"):
    lines = [l for l in stmt.splitlines() if not l.startswith("--")]
    q = "\n".join(lines).strip()
    if q:
        for r in con.execute(q).fetchall():
            print(f"{r[0]}\t{r[1]}\t{r[2]}")
"#;

const RUN_SPARK: &str = r#"
import sys
from pyspark.sql import SparkSession
s = SparkSession.builder.master("local[2]").appName("ferret-sql").config("spark.ui.enabled", "false").getOrCreate()
s.sparkContext.setLogLevel("ERROR")
s.read.parquet(sys.argv[1]).createOrReplaceTempView("events")
for stmt in open(sys.argv[2]).read().split(";\n"):
    lines = [l for l in stmt.splitlines() if not l.startswith("--")]
    q = "\n".join(lines).strip()
    if q:
        for r in s.sql(q).collect():
            print(f"{r[0]}\t{r[1]}\t{r[2]}")
s.stop()
"#;

type Hit = (String, String, u64);

fn hits(text: &str) -> BTreeSet<Hit> {
    text.lines()
        .map(|l| {
            let mut p = l.splitn(3, '\t');
            let (r, c, n) = (
                p.next().expect("rule"),
                p.next().expect("capture"),
                p.next().expect("num"),
            );
            (r.to_string(), c.to_string(), n.parse().expect("num"))
        })
        .collect()
}

#[test]
fn rules_as_sql_find_in_duckdb_and_spark_what_analyzer_run_finds() {
    let d = dir("sql");
    let synth = d.join("synth.cap");
    assert!(analyzer(&[
        "synth",
        "-q",
        "--events",
        "200000",
        "--out",
        &synth.display().to_string()
    ])
    .status
    .success());
    let synth = synth.display().to_string();
    sql_agrees_with_run(&d, &[fixture(), synth], &["duckdb", "spark"]);
}

/// The rule sets compared: Ferret's, and with the corpus upstream
/// falco_rules.yaml alone and with incubating and sandbox.
fn rule_sets() -> Vec<(&'static str, Vec<String>)> {
    let upstream = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/falco-rules");
    let mut sets = vec![("ferret", vec![rules()])];
    if !skip_unless(
        upstream.join("falco_rules.yaml").exists(),
        "../shared/corpus (upstream falco_rules.yaml)",
    ) {
        let f = |n: &str| upstream.join(n).display().to_string();
        sets.push(("falco_rules", vec![f("falco_rules.yaml")]));
        sets.push((
            "upstream-three",
            vec![
                f("falco_rules.yaml"),
                f("falco-incubating_rules.yaml"),
                f("falco-sandbox_rules.yaml"),
            ],
        ));
    }
    sets
}

/// Exports `captures` to Parquet in `d`, compiles every rule set to SQL
/// for each of `dialects`, runs it in that engine and requires exactly
/// `analyzer run`'s alerts (every rule that matches, `--rule-matching
/// all`) for the expressible rules, rule by rule and event by event.
fn sql_agrees_with_run(d: &Path, captures: &[String], dialects: &[&str]) {
    let data = d.join("parquet");
    let mut args = vec!["export", "-q", "--format", "parquet"];
    args.extend(captures.iter().map(String::as_str));
    let out = data.display().to_string();
    args.extend(["-o", out.as_str()]);
    let o = analyzer(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for (label, files) in rule_sets() {
        let mut with_rules: Vec<&str> = Vec::new();
        for f in &files {
            with_rules.extend(["-r", f.as_str()]);
        }
        // Ferret's verdict: every alert of the rules SQL can express
        // (every rule that matches an event, as SQL finds them).
        let mut args = vec![
            "run",
            "-q",
            "--json",
            "--rule-matching",
            "all",
            "--fail-on",
            "emergency",
        ];
        args.extend(&with_rules);
        args.extend(captures.iter().map(String::as_str));
        let run = analyzer(&args);
        let all: BTreeSet<Hit> = String::from_utf8_lossy(&run.stdout)
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("json");
                (
                    v["rule"].as_str().expect("rule").to_string(),
                    v["capture"].as_str().expect("capture").to_string(),
                    v["evt_num"].as_u64().expect("num"),
                )
            })
            .collect();
        for (dialect, module, script) in [
            ("duckdb", "duckdb", RUN_DUCKDB),
            ("spark", "pyspark", RUN_SPARK),
        ] {
            if !dialects.contains(&dialect) {
                continue;
            }
            let mut args = vec!["sql", "-q", "--dialect", dialect];
            args.extend(&with_rules);
            let sql = analyzer(&args);
            assert!(
                sql.status.success(),
                "{}",
                String::from_utf8_lossy(&sql.stderr)
            );
            let text = String::from_utf8_lossy(&sql.stdout).into_owned();
            let unsupported: BTreeSet<String> = text
                .lines()
                .filter_map(|l| l.strip_prefix("-- not expressible: "))
                .map(|l| {
                    l.rsplit_once(": ")
                        .map_or(l, |x| x.0)
                        .split(": ")
                        .next()
                        .unwrap_or(l)
                        .to_string()
                })
                .collect();
            let queries = text.lines().filter(|l| l.starts_with("SELECT ")).count();
            assert!(queries >= 10, "{label}: only {queries} rules as SQL");
            let file = d.join(format!("{label}-{dialect}.sql"));
            std::fs::write(&file, &text).expect("write sql");
            let Some(out) = python(
                module,
                script,
                &[&data.display().to_string(), &file.display().to_string()],
            ) else {
                assert!(!skip_unless(false, &format!("python3 {module}")));
                continue;
            };
            let got = hits(&out);
            let want: BTreeSet<Hit> = all
                .iter()
                .filter(|h| !unsupported.contains(&h.0))
                .cloned()
                .collect();
            assert!(
                !want.is_empty(),
                "{label}: the expressible rules alert somewhere"
            );
            let missing: Vec<&Hit> = want.difference(&got).take(5).collect();
            let extra: Vec<&Hit> = got.difference(&want).take(5).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{label} {dialect}: missing {missing:?}, extra {extra:?}"
            );
        }
    }
}

/// The OCSF view read by DuckDB: per row, the class, the activity, the
/// event number and the values compared with Ferret's own view.
const DUCKDB_OCSF: &str = r#"
import duckdb, json, sys
d = sys.argv[1]
q = {
  "process": "SELECT class_uid, activity_id, unmapped.ferret_evt_num, coalesce(actor.process.name, '<NA>'), coalesce(process.name, '<NA>'), coalesce(process.cmd_line, '<NA>'), coalesce(process.file.path, '<NA>'), coalesce(CAST(process.pid AS VARCHAR), '<NA>'), type_uid, metadata.version FROM read_parquet('{d}/scenarios.process_activity.parquet')",
  "file": "SELECT class_uid, activity_id, unmapped.ferret_evt_num, coalesce(actor.process.name, '<NA>'), coalesce(file.path, '<NA>'), status, coalesce(unmapped.evt_type, '<NA>'), coalesce(CAST(actor.process.pid AS VARCHAR), '<NA>'), type_uid, metadata.version FROM read_parquet('{d}/scenarios.file_activity.parquet')",
  "network": "SELECT class_uid, activity_id, unmapped.ferret_evt_num, coalesce(actor.process.name, '<NA>'), coalesce(dst_endpoint.ip, '<NA>'), coalesce(CAST(dst_endpoint.port AS VARCHAR), '<NA>'), status, coalesce(unmapped.evt_type, '<NA>'), type_uid, metadata.version FROM read_parquet('{d}/scenarios.network_activity.parquet')",
}
for k, sql in q.items():
    for row in duckdb.sql(sql.replace("{d}", d)).fetchall():
        print(json.dumps([k] + list(row)))
"#;

#[test]
fn the_ocsf_view_holds_each_mapped_event_with_ferrets_values() {
    let d = dir("ocsf");
    let out = d.join("out");
    let o = analyzer(&[
        "export",
        "-q",
        "--format",
        "ocsf",
        &fixture(),
        "-o",
        &out.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Ferret's own view of every event, by number.
    let fmt = [
        "evt.num",
        "evt.type",
        "evt.rawres",
        "proc.name",
        "proc.pname",
        "proc.cmdline",
        "proc.exepath",
        "proc.pid",
        "fd.name",
        "fd.sip",
        "fd.sport",
        "evt.arg.path",
        "evt.arg.name",
        "evt.arg.filename",
        "evt.arg.pathname",
    ]
    .map(|f| format!("%{f}"))
    .join(SEP);
    let ev = analyzer(&["events", &fixture(), "-p", &fmt]);
    let view: std::collections::HashMap<u64, Vec<String>> = String::from_utf8_lossy(&ev.stdout)
        .lines()
        .map(|l| {
            let v: Vec<String> = l.split(SEP).map(str::to_string).collect();
            (v[0].parse().expect("num"), v)
        })
        .collect();
    let Some(text) = python("duckdb", DUCKDB_OCSF, &[&out.display().to_string()]) else {
        assert!(!skip_unless(false, "python3 duckdb"));
        return;
    };
    let mut per_class: std::collections::BTreeMap<String, usize> = Default::default();
    let mut seen = BTreeSet::new();
    for l in text.lines() {
        let r: Vec<Value> = serde_json::from_str(l).expect("row");
        // As `analyzer events` prints text: control characters escaped.
        let s = |i: usize| match &r[i] {
            Value::String(x) => capture::text::escape_controls(x).into_owned(),
            v => v.to_string(),
        };
        let class = s(0);
        let num = r[3].as_u64().expect("evt num");
        assert!(seen.insert(num), "event {num} twice");
        let want = &view[&num];
        let (ty, ret) = (want[1].as_str(), want[2].parse::<i64>().unwrap_or(0));
        assert_eq!(s(10), "1.1.0");
        let class_uid = r[1].as_i64().expect("class");
        let activity = r[2].as_i64().expect("activity");
        assert_eq!(r[9].as_i64(), Some(class_uid * 100 + activity));
        *per_class.entry(class.clone()).or_default() += 1;
        match class.as_str() {
            "process" => {
                assert_eq!(class_uid, 1007);
                match ty {
                    "execve" | "execveat" => {
                        assert_eq!(activity, 1, "{num}");
                        // The launcher is the parent; the launched image
                        // is the event's process.
                        assert_eq!(s(4), want[4], "{num} launcher");
                        assert_eq!(s(5), want[3], "{num} name");
                        assert_eq!(s(6), want[5], "{num} cmdline");
                        assert_eq!(s(7), want[6], "{num} exe");
                        assert_eq!(s(8), want[7], "{num} pid");
                    }
                    "procexit" => assert_eq!(activity, 2),
                    _ => assert!(activity == 4 || activity == 5, "{num} {ty}"),
                }
            }
            "file" => {
                assert_eq!(class_uid, 1001);
                assert_eq!(s(4), want[3], "{num} actor");
                assert_eq!(s(7), ty, "{num} type");
                let path = if ty.starts_with("open") || ty == "creat" {
                    want[8].clone()
                } else {
                    want[11..]
                        .iter()
                        .find(|p| *p != "<NA>")
                        .cloned()
                        .unwrap_or_default()
                };
                if !matches!(
                    ty,
                    "rename"
                        | "renameat"
                        | "renameat2"
                        | "symlink"
                        | "symlinkat"
                        | "link"
                        | "linkat"
                        | "mount"
                ) {
                    assert_eq!(s(5), path, "{num} {ty} path");
                }
                assert_eq!(s(6), if ret < 0 { "Failure" } else { "Success" }, "{num}");
            }
            "network" => {
                assert_eq!(class_uid, 4001);
                assert_eq!(s(4), want[3], "{num} actor");
                assert_eq!(s(8), ty, "{num} type");
                assert_eq!(s(5), want[9], "{num} server ip");
                assert_eq!(s(6), want[10], "{num} server port");
                let want_activity = match (ty, ret) {
                    ("connect", -111) => 5,
                    ("connect", r) if r < 0 && r != -115 => 4,
                    ("connect" | "accept" | "accept4", _) => 1,
                    ("listen", _) => 7,
                    _ => 2,
                };
                assert_eq!(activity, want_activity, "{num} {ty} {ret}");
            }
            c => panic!("class {c}"),
        }
    }
    // Every event of a mapped type is a row, once.
    let mapped = [
        "execve",
        "execveat",
        "open",
        "openat",
        "openat2",
        "creat",
        "mkdir",
        "mkdirat",
        "unlink",
        "unlinkat",
        "rmdir",
        "rename",
        "renameat",
        "renameat2",
        "symlink",
        "symlinkat",
        "link",
        "linkat",
        "chmod",
        "fchmod",
        "fchmodat",
        "chown",
        "fchown",
        "fchownat",
        "lchown",
        "mount",
        "umount2",
        "connect",
        "accept",
        "accept4",
        "listen",
        "shutdown",
        "ptrace",
        "setuid",
        "setreuid",
        "setresuid",
    ];
    let want_rows = view
        .values()
        .filter(|v| mapped.contains(&v[1].as_str()))
        .count();
    let exits = view.values().filter(|v| v[1] == "procexit").count();
    let got = seen.len();
    assert!(
        got >= want_rows && got <= want_rows + exits,
        "{got} rows for {want_rows} mapped events and {exits} exits"
    );
    assert!(per_class.values().all(|n| *n > 0), "{per_class:?}");
}

#[test]
fn rules_as_sql_agree_on_a_fresh_recording_of_the_real_workload() {
    // In DuckDB and in Spark local mode, as on the fixture and the
    // synthetic capture.
    let bin = ferret_tests::recorder::beside(env!("CARGO_BIN_EXE_analyzer"));
    if skip_unless(
        ferret_tests::recorder::can_record(),
        "root and a kernel with BTF (to record)",
    ) || skip_unless(bin.exists(), "the recorder binary (cargo test --workspace)")
    {
        return;
    }
    let d = dir("real");
    // bench/workload.sh (builds, package queries, file scans, shells,
    // interpreters, loopback HTTP) for eight seconds, recorded as the
    // benchmark's capture is, but only its own processes.
    let workload = ferret_tests::workspace().join("bench/workload.sh");
    let cap = d.join("real.cap");
    ferret_tests::recorder::record_script(
        &bin,
        &cap,
        &format!("bash '{}' 8 >/dev/null 2>&1", workload.display()),
        &["--snaplen", "80"],
    );
    let n = capture::Capture::open(&cap).expect("open").event_count();
    assert!(n > 50_000, "{n} events recorded");
    sql_agrees_with_run(&d, &[cap.display().to_string()], &["duckdb", "spark"]);
}
