//! Differential test against sysdig 0.29: every trace of
//! ../shared/corpus/scap is converted, replayed through Ferret's state and
//! evaluated on the fields of corpus/scap/golden/*.fields.jsonl; the values
//! must agree with sysdig's. The per-trace, per-field agreement table is
//! printed (`cargo test -p analyzer --test scap_golden -- --nocapture`).
//!
//! Rows are joined on sysdig's event number. Ferret merges each entry event
//! into its exit event, so the rows compared are the exit events and the
//! events that stand alone; entry rows are counted as merged.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use capture::{Bytes, Capture};
use engine::eval::format_output_in;
use engine::replay::{CaptureFacts, Replay};
use ruleset::{load_rules_str, Selection};

use ferret_tests::SYSDIG_FIELDS as FIELDS;

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/scap");
    if ferret_tests::skip_unless(p.join("golden").is_dir(), "../shared/corpus/scap/golden") {
        return None;
    }
    Some(p)
}

/// Ferret's values for each sysdig event number it has an event for.
fn ferret_values(trace: &Path) -> (HashMap<u64, Vec<String>>, HashMap<u64, u64>) {
    let s = scap::ScapFile::open(trace).expect("read trace");
    let (bytes, _, rep) =
        scap::import::convert(&s, "golden", Vec::new(), "golden").expect("convert");
    let cap = Capture::from_bytes(Bytes::Owned(bytes), "golden").expect("open");
    let sep = " @@|@@ ";
    let output: Vec<String> = FIELDS.iter().map(|f| format!("%{f}")).collect();
    let text = format!(
        "- rule: fields\n  desc: d\n  condition: evt.num > 0\n  output: \"{}\"\n  priority: INFO\n",
        output.join(sep)
    );
    let set = load_rules_str("fields.yaml", &text, &Selection::default());
    let rule = set.enabled().next().expect("field rule");
    let mut replay = Replay::new(
        &cap.snapshot().expect("snapshot").expect("snapshot"),
        CaptureFacts::default(),
    );
    let mut out = HashMap::new();
    let mut merged = HashMap::new();
    for i in 0..cap.chunks().len() {
        let c = cap.load_chunk(i).expect("chunk");
        for e in c.events() {
            let num = rep.origin[e.seq as usize];
            let line = replay.step(&e, |cx| {
                (num != 0).then(|| format_output_in(&rule.output, cx).0)
            });
            if let Some(line) = line {
                out.insert(num, line.split(sep).map(str::to_string).collect());
                let entry = rep.entry_origin[e.seq as usize];
                if entry != 0 {
                    merged.insert(entry, num);
                }
            }
        }
    }
    (out, merged)
}

fn golden_rows(path: &Path) -> Vec<serde_json::Value> {
    let raw = std::fs::read(path).expect("golden");
    let (text, _) = scap::decompress(raw);
    String::from_utf8_lossy(&text)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

use ferret_tests::sysdig_shown as shown;

#[derive(Default)]
struct Tally {
    rows: u64,
    compared: u64,
    merged: u64,
    switches: u64,
    missing: u64,
    agree: BTreeMap<&'static str, u64>,
    examples: BTreeMap<&'static str, Vec<String>>,
}

#[test]
fn field_values_agree_with_sysdig() {
    let Some(c) = corpus() else { return };
    let inv = std::fs::read_to_string(c.join("INVENTORY.tsv")).expect("inventory");
    let mut total = Tally::default();
    let mut lines = Vec::new();
    for line in inv.lines().skip(1) {
        let rel = line.split('\t').next().expect("path");
        let tag = rel.trim_end_matches(".scap").replace('/', "__");
        let golden = ["fields.jsonl", "fields.jsonl.gz"]
            .iter()
            .map(|x| c.join("golden").join(format!("{tag}.{x}")))
            .find(|p| p.exists());
        let Some(golden) = golden else { continue };
        let rows = golden_rows(&golden);
        if rows.is_empty() {
            continue; // sysdig could not read it (curl_google_comments)
        }
        let (values, merged) = ferret_values(&c.join(rel));
        let mut t = Tally::default();
        for row in &rows {
            t.rows += 1;
            let num = row["evt.num"].as_u64().expect("evt.num");
            let Some(v) = values.get(&num) else {
                if merged.contains_key(&num) {
                    t.merged += 1;
                } else if row["evt.type"] == "switch" {
                    // Scheduler switches are not carried over (by design).
                    t.switches += 1;
                } else {
                    t.missing += 1;
                }
                continue;
            };
            t.compared += 1;
            for (i, f) in FIELDS.iter().enumerate() {
                let want = shown(&row[*f]);
                if want == v[i] {
                    *t.agree.entry(f).or_default() += 1;
                } else {
                    let ex = t.examples.entry(f).or_default();
                    if ex.len() < 3 {
                        ex.push(format!(
                            "#{num} {}: sysdig {want:?} ferret {:?}",
                            shown(&row["evt.type"]),
                            v[i]
                        ));
                    }
                }
            }
        }
        let pct = |f: &str| 100.0 * *t.agree.get(f).unwrap_or(&0) as f64 / t.compared.max(1) as f64;
        let worst: Vec<String> = FIELDS
            .iter()
            .filter(|f| pct(f) < 100.0)
            .map(|f| format!("{f} {:.1}%", pct(f)))
            .collect();
        lines.push(format!(
            "{tag}: {} rows, {} compared, {} entries merged, {} switches, {} without a Ferret event; below 100%: {}",
            t.rows,
            t.compared,
            t.merged,
            t.switches,
            t.missing,
            if worst.is_empty() { "none".into() } else { worst.join(", ") }
        ));
        for (f, ex) in &t.examples {
            lines.push(format!("    {f}: {}", ex.join("; ")));
        }
        total.rows += t.rows;
        total.compared += t.compared;
        total.merged += t.merged;
        total.switches += t.switches;
        total.missing += t.missing;
        for (f, n) in t.agree {
            *total.agree.entry(f).or_default() += n;
        }
    }
    println!("{}", lines.join("\n"));
    println!(
        "all traces: {} rows, {} compared, {} entries merged, {} switches, {} without a Ferret event",
        total.rows, total.compared, total.merged, total.switches, total.missing
    );
    let mut rates = BTreeMap::new();
    for f in FIELDS {
        let r = *total.agree.get(f).unwrap_or(&0) as f64 / total.compared.max(1) as f64;
        println!("  {f:14} {:6.2}%", 100.0 * r);
        rates.insert(*f, r);
    }
    assert!(total.compared > 50_000, "{} rows compared", total.compared);
    // Every row is accounted for: compared, merged into its exit, a
    // scheduler switch, or an entry dropped because its exit never came.
    assert!(
        total.missing * 100 < total.rows,
        "{} rows without a Ferret event",
        total.missing
    );
    for (f, min) in MINIMUM {
        assert!(
            rates[f] >= *min,
            "{f}: {:.4} agreement, below {min}",
            rates[f]
        );
    }
}

/// The agreement each field must keep: the measured rate, rounded down.
/// The gaps are explained in ARCHITECTURE.md ("Reading .scap"): sysdig's
/// proc.ppid is the parent *thread* (the cloning thread's id) where Ferret
/// gives the parent process (its pid, as getppid(2) does); sysdig knows
/// processes from its periodic procinfo records that Ferret does not carry;
/// pipe(2) and exits without their entry have other fds in sysdig;
/// generic calls whose entry is missing are named "syscall".
const MINIMUM: &[(&str, f64)] = &[
    ("evt.rawtime", 0.9999),
    ("evt.cpu", 0.9999),
    ("evt.dir", 0.9999),
    ("evt.type", 0.997),
    ("proc.name", 0.964),
    ("proc.pid", 0.998),
    ("thread.tid", 0.9999),
    ("proc.ppid", 0.757),
    ("proc.pname", 0.953),
    ("proc.cmdline", 0.956),
    ("proc.exepath", 0.9999),
    ("user.uid", 0.969),
    ("user.name", 0.969),
    ("fd.num", 0.977),
    ("fd.type", 0.985),
    ("fd.name", 0.942),
    ("evt.res", 0.9998),
    ("container.id", 0.97),
];

/// `analyzer import` on a whole and on a cut trace: the cut one converts
/// every event before the cut, names the offset and exits 1; `info` and
/// `run` open the .scap directly.
#[test]
fn import_cli_whole_and_cut() {
    let Some(c) = corpus() else { return };
    let bin = env!("CARGO_BIN_EXE_analyzer");
    let trace = c.join("falco/cat_write.scap");
    let dir = ferret_tests::scratch("scap-import-cli");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let out = dir.join("whole.cap");
    let r = std::process::Command::new(bin)
        .args(["import", "--json", "--force"])
        .arg(&trace)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("run");
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let rep: serde_json::Value = serde_json::from_slice(&r.stdout).expect("json");
    assert_eq!(rep["scap_events"], 345);
    assert_eq!(rep["merged"], 41);
    let whole = Capture::open(&out).expect("open");
    assert_eq!(whole.event_count(), rep["events"].as_u64().expect("events"));

    let (data, _) = scap::decompress(std::fs::read(&trace).expect("read"));
    let cut = dir.join("cut.scap");
    // Inside the block of the 150th event, among cat's calls.
    let at = scap::ScapFile::parse(&data).events[150].offset as usize + 10;
    std::fs::write(&cut, &data[..at]).expect("write");
    let out2 = dir.join("cut.cap");
    let r = std::process::Command::new(bin)
        .args(["import", "--force"])
        .arg(&cut)
        .arg("-o")
        .arg(&out2)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(err.contains("offset"), "{err}");
    let part = Capture::open(&out2).expect("open");
    assert!(part.event_count() > 0 && part.event_count() < whole.event_count());

    let r = std::process::Command::new(bin)
        .args(["info", "--json"])
        .arg(&trace)
        .output()
        .expect("run");
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
    let r = std::process::Command::new(bin)
        .args(["run", "-q", "--rules"])
        .arg(&rules)
        .arg(&trace)
        .output()
        .expect("run");
    assert!(
        matches!(r.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
}
