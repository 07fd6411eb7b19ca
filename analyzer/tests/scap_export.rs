//! `analyzer export --format scap`, checked against sysdig 0.29 on Ferret's
//! own recordings (the committed fixture, a synthetic capture and, where
//! the recorder can run, a fresh recording of the scenarios):
//! - sysdig reads every exported trace without an error;
//! - its 18 per-event fields (the scap_golden set) equal Ferret's own
//!   values for the same events, found by time, thread, direction and type;
//! - Ferret's own importer gives back the same events and fields.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use capture::Capture;
use engine::eval::format_output_in;
use engine::replay::{CaptureFacts, Replay};
use ferret_tests::{skip_unless, sysdig_shown, SYSDIG_FIELDS as FIELDS};
use ruleset::{load_rules_str, Selection};

fn analyzer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .output()
        .expect("run analyzer")
}

fn have_sysdig() -> bool {
    Command::new("sysdig").arg("--version").output().is_ok()
}

/// Exports `cap` to `out` with the CLI; its stderr.
fn export(cap: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "export",
        "--format",
        "scap",
        cap.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
        "--force",
    ];
    args.extend_from_slice(extra);
    let o = analyzer(&args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "export failed: {err}");
    err
}

/// An event's identity shared by both sides: time (ns since the epoch),
/// thread, direction and type.
type Key = (String, String, String, String);

/// sysdig's values for every event of `trace`.
fn sysdig_rows(trace: &Path) -> Vec<serde_json::Value> {
    let fmt = ferret_tests::sysdig_format();
    let o = Command::new("sysdig")
        .arg("-r")
        .arg(trace)
        .args(["-j", "-p", &fmt])
        .output()
        .expect("run sysdig");
    assert!(
        o.status.success(),
        "sysdig cannot read {}: {}",
        trace.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.stderr.is_empty(),
        "sysdig complained about {}: {}",
        trace.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("sysdig JSON line"))
        .collect()
}

fn key_of(v: &[String]) -> Key {
    (v[0].clone(), v[6].clone(), v[2].clone(), v[3].clone())
}

/// The event a type is written as (see `export::scap`).
fn scap_type(t: &str) -> &str {
    match t {
        "dup2" | "dup3" => "dup",
        "pipe2" => "pipe",
        "accept4" => "accept",
        t => t,
    }
}

/// Ferret's values of the 18 fields for every event of `cap` that becomes
/// a scap event (its records folded into clone and execve parameters are
/// left out), keyed as sysdig's rows are. Keys two events share are
/// dropped (and counted).
fn ferret_rows(cap: &Capture, extra: &[&str]) -> (HashMap<Key, Vec<String>>, Context) {
    let sep = " @@|@@ ";
    let text = format!(
        "- rule: fields\n  desc: d\n  condition: evt.num > 0\n  output: \"{}\"\n  priority: INFO\n",
        FIELDS
            .iter()
            .chain(extra)
            .map(|f| format!("%{f}"))
            .collect::<Vec<_>>()
            .join(sep)
    );
    let set = load_rules_str("fields.yaml", &text, &Selection::default());
    let rule = set.enabled().next().expect("rule");
    let mut replay = Replay::new(
        &cap.snapshot().expect("snapshot").unwrap_or_default(),
        CaptureFacts::of(cap, "x"),
    );
    let mut rows = HashMap::new();
    let mut shared = std::collections::HashSet::new();
    let mut cx = Context::default();
    for i in 0..cap.chunks().len() {
        let c = cap.load_chunk(i).expect("chunk");
        for e in c.events() {
            let line = replay.step(&e, |c| format_output_in(&rule.output, c).0);
            cx.learn(&e);
            if matches!(
                e.kind_name().as_ref(),
                "procfork" | "procexec" | "ferret_loss"
            ) {
                continue;
            }
            let mut v: Vec<String> = line.split(sep).map(str::to_string).collect();
            v[3] = scap_type(&v[3]).to_string();
            // The raw result, after the fields, for the explanations.
            v.insert(FIELDS.len(), e.ret.to_string());
            let k = key_of(&v);
            if rows.insert(k.clone(), v).is_some() {
                shared.insert(k);
            }
        }
    }
    cx.shared_keys = shared.len();
    for k in shared {
        rows.remove(&k);
    }
    (rows, cx)
}

/// What the explanations of differences need to know about the capture.
#[derive(Default)]
struct Context {
    /// Paths execve was given.
    exec_filenames: HashSet<String>,
    /// Names a socket would have had from a connect that failed, as sysdig
    /// 0.29 writes them.
    failed_connects: HashSet<String>,
    /// Types written as generic syscall events.
    generic_types: HashSet<String>,
    /// Events left out because another shares their key.
    shared_keys: usize,
}

impl Context {
    fn learn(&mut self, e: &capture::EventRef<'_>) {
        use capture::{ArgValue, SockAddr};
        let kind = e.kind_name();
        match kind.as_ref() {
            "execve" | "execveat" => {
                if let Some(ArgValue::Str(f)) = e.arg("filename") {
                    self.exec_filenames
                        .insert(String::from_utf8_lossy(f).into_owned());
                }
            }
            "connect" if e.ret < 0 => match e.arg("addr") {
                Some(ArgValue::SockAddr(SockAddr::Unix(p))) => {
                    let p = String::from_utf8_lossy(p).into_owned();
                    self.failed_connects.insert(format!("0->0 {p}"));
                    self.failed_connects.insert(p);
                }
                Some(ArgValue::SockAddr(a @ (SockAddr::Inet(..) | SockAddr::Inet6(..)))) => {
                    self.failed_connects.insert(format!("->{a}"));
                }
                _ => {}
            },
            _ => {}
        }
        if e.kind == capture::kind::id::GENERIC || kind == "setgroups" {
            self.generic_types.insert(kind.into_owned());
        }
    }
}

/// Whether an event's fd is the one it returned.
fn new_fd(r: &[String]) -> bool {
    r[FDNUM] == r[RAWRES]
}

/// Field positions in [`FIELDS`].
const RES: usize = 16;
/// Ferret's raw result, after the fields.
const RAWRES: usize = 18;
const PID: usize = 5;
const TID: usize = 6;
const EXEPATH: usize = 10;
const FDNUM: usize = 13;
const FDNAME: usize = 15;

/// The differences with sysdig 0.29 that are understood, each with the
/// test that a difference is of its kind: (name, why, test(type, field,
/// Ferret's row, sysdig's row, context)).
type Explains = fn(&str, usize, &[String], &[String], &Context) -> bool;
const EXPLAINED: &[(&str, &str, Explains)] = &[
    (
        "exepath",
        "sysdig 0.29 names the executable by the path execve was given (/bin/sh); Ferret, and libs since trusted_exepath (written in the export), by the file the kernel ran (/usr/bin/dash)",
        |_, f, _, s, cx| f == EXEPATH && cx.exec_filenames.contains(&s[f]),
    ),
    (
        "thread parent",
        "a thread's parent: sysdig 0.29 takes the thread that created it, Ferret and current libs the process's parent",
        |_, f, r, _, _| f == 8 && r[TID] != r[PID],
    ),
    (
        "failed open",
        "a failed open: Ferret names the file tried and keeps the error as fd.num, as current Falco does; sysdig 0.29 has no fd",
        |t, f, r, _, _| {
            matches!(t, "open" | "openat" | "openat2" | "creat")
                && (13..=15).contains(&f)
                && r[RES].starts_with('E')
        },
    ),
    (
        "two fds",
        "pipe and socketpair make two fds: sysdig 0.29 shows the second, Ferret neither",
        |t, f, r, _, _| matches!(t, "pipe" | "socketpair") && (13..=15).contains(&f) && r[f] == "<NA>",
    ),
    (
        "failed connect",
        "a connect that failed: sysdig 0.29 names the socket by the address tried, Ferret and current libs leave it unnamed",
        |_, f, r, s, cx| {
            f == FDNAME
                && r[f].is_empty()
                && (cx.failed_connects.contains(&s[f])
                    || s[f]
                        .find("->")
                        .is_some_and(|i| cx.failed_connects.contains(&s[f][i..])))
        },
    ),
    (
        "fcntl dup",
        "fcntl(F_DUPFD): sysdig 0.29's fd fields describe the new fd, Ferret's the one duplicated",
        |t, f, r, s, _| t == "fcntl" && f == FDNUM && s[f] == r[RAWRES],
    ),
    (
        "dup",
        "dup2/dup3: Ferret's fd fields describe the new fd (as current libs', from dup2's own event), sysdig 0.29's the old one",
        |t, f, r, _, _| t == "dup" && (13..=15).contains(&f) && new_fd(r),
    ),
    (
        "generic result",
        "calls written as generic syscall events: sysdig shows no result",
        |t, f, _, s, cx| f == RES && s[f] == "<NA>" && cx.generic_types.contains(t),
    ),
    (
        "newer event",
        "an fd made by memfd_create, whose event sysdig 0.29 does not know and skips",
        |_, f, r, _, _| (14..=15).contains(&f) && r[FDNAME].starts_with("memfd:"),
    ),
    (
        "unknown fd",
        "an fd whose creating call was not recorded: Ferret has no name, sysdig 0.29 an empty one",
        |_, f, r, s, _| f == FDNAME && r[f] == "<NA>" && s[f].is_empty(),
    ),
];

/// Compares sysdig's rendering of `trace` with Ferret's values for `cap`.
/// Returns the events compared, the explained differences by kind and the
/// unexplained ones (by type and field, with the first few shown).
struct Comparison {
    compared: usize,
    explained: BTreeMap<&'static str, usize>,
    unexplained: BTreeMap<String, (usize, Vec<String>)>,
}

fn compare(cap: &Capture, trace: &Path) -> Comparison {
    let (ours, cx) = ferret_rows(cap, &[]);
    let rows = sysdig_rows(trace);
    let mut c = Comparison {
        compared: 0,
        explained: BTreeMap::new(),
        unexplained: BTreeMap::new(),
    };
    for row in &rows {
        let v: Vec<String> = FIELDS.iter().map(|f| sysdig_shown(&row[*f])).collect();
        // Entries of calls: Ferret's events are the completed calls.
        let entry_only = matches!(
            v[3].as_str(),
            "procexit" | "exit" | "exit_group" | "container" | "signaldeliver" | "rt_sigreturn"
        );
        if v[2] == ">" && !entry_only {
            continue;
        }
        let Some(f) = ours.get(&key_of(&v)) else {
            continue;
        };
        c.compared += 1;
        for (i, name) in FIELDS.iter().enumerate() {
            if f[i] == v[i] {
                continue;
            }
            if let Some((why, _, _)) = EXPLAINED.iter().find(|(_, _, t)| t(&v[3], i, f, &v, &cx)) {
                *c.explained.entry(why).or_default() += 1;
                continue;
            }
            let d = c.unexplained.entry(format!("{} {name}", v[3])).or_default();
            d.0 += 1;
            if d.1.len() < 3 {
                d.1.push(format!(
                    "evt {} ({}): Ferret {:?}, sysdig {:?}",
                    row["evt.num"], v[0], f[i], v[i]
                ));
            }
        }
    }
    println!(
        "{}: {} sysdig events, {} compared ({} Ferret events left out for a shared key)",
        trace.display(),
        rows.len(),
        c.compared,
        cx.shared_keys
    );
    for (k, n) in &c.explained {
        let why = EXPLAINED.iter().find(|x| x.0 == *k).map_or("", |x| x.1);
        println!("  explained {k}: {n} values ({why})");
    }
    for (k, (n, ex)) in &c.unexplained {
        println!("  UNEXPLAINED {k}: {n}");
        for e in ex {
            println!("    {e}");
        }
    }
    c
}

fn open(p: &Path) -> Capture {
    Capture::open(p).expect("open capture")
}

fn scratch(name: &str) -> PathBuf {
    ferret_tests::scratch_dir(&format!("scap-export-{name}"))
}

/// Exports `src` and requires sysdig's 18 fields to equal Ferret's on at
/// least nine in ten events, every difference explained.
fn fields_agree(src: &Path, tag: &str) {
    let dir = scratch(tag);
    let out = dir.join(format!("{tag}.scap"));
    export(src, &out, &[]);
    let cap = open(src);
    let c = compare(&cap, &out);
    assert!(
        c.compared as u64 > cap.event_count() * 9 / 10,
        "{} compared",
        c.compared
    );
    assert!(
        c.unexplained.is_empty(),
        "{} fields differ",
        c.unexplained.len()
    );
}

#[test]
fn sysdig_reads_the_exported_fixture_and_agrees_field_by_field() {
    if skip_unless(have_sysdig(), "sysdig (apt-get install sysdig)") {
        return;
    }
    fields_agree(&PathBuf::from(ferret_tests::scenarios()), "fixture");
}

#[test]
fn sysdig_reads_an_exported_synthetic_capture_with_losses() {
    if skip_unless(have_sysdig(), "sysdig (apt-get install sysdig)") {
        return;
    }
    let src = ferret_tests::fixture("v1/synthetic-20k.cap");
    let err = export(&src, &scratch("synthetic-loss").join("x.scap"), &[]);
    // The loss records scap cannot hold are said, with what they counted.
    assert!(
        err.contains("not expressible in scap: ferret_loss 3; the recorder's loss records counted 1262 lost events"),
        "{err}"
    );
    fields_agree(&src, "synthetic");
}

/// Position of `evt.args` in the round trip's rows (after the fields and
/// the raw result).
const ARGS: usize = RAWRES + 1;

/// Why a call's arguments read back differently, when the difference is
/// one scap imposes.
fn args_explained(ty: &str, before: &str, after: &str, cx: &Context) -> Option<&'static str> {
    let strip = |s: &str, words: &[&str]| {
        words
            .iter()
            .fold(s.to_string(), |acc, w| acc.replace(w, ""))
    };
    let head = |s: &str| s.split(" args=").next().map(str::to_string);
    match ty {
        "accept" if after.starts_with("fd=<NA> ") => {
            Some("accept: the listening fd and accept4's flags are not in scap's accept events")
        }
        "dup" => Some("dup2 and dup3 are written as dup: oldfd is dup's fd, newfd its result"),
        "pipe" if strip(before, &[" flags=O_RDONLY", " flags=O_CLOEXEC", " flags=O_NONBLOCK"])
            == after
            || before.starts_with(after) =>
        {
            Some("pipe2 is written as pipe, without its flags")
        }
        "execve" if head(before) == head(after) => Some(
            "execve's argv: scap carries the new image's (an interpreter's for a script), not the caller's",
        ),
        "openat" | "open"
            if strip(before, &["|O_NOCTTY", "|O_NOFOLLOW", "|O_NOATIME", "|O_PATH"]) == after =>
        {
            Some("open flags scap has no bit for (O_NOCTTY, O_NOFOLLOW, O_NOATIME, O_PATH)")
        }
        "clone3"
            if before == after.replace("|CLONE_THREAD", "").replace("flags=CLONE_THREAD", "flags=0") =>
        {
            Some(
                "a new thread's clone3 flags as recorded lack CLONE_THREAD; the import infers it for a thread",
            )
        }
        t if cx.generic_types.contains(t) || matches!(t, "exit" | "exit_group") => {
            Some("calls written as generic syscall events keep their number, not their arguments")
        }
        _ if {
            let (b, a): (Vec<&str>, Vec<&str>) =
                (before.split(' ').collect(), after.split(' ').collect());
            b.len() == a.len()
                && b.iter().zip(&a).all(|(x, y)| x == y || x.ends_with("=<NA>"))
        } =>
        {
            Some(
                "a value the capture lacks is written as 0 or empty: scap has no missing fixed-width value",
            )
        }
        _ => None,
    }
}

/// Exports `src` (gzip) and imports it back: the same events, the same 18
/// fields and the same arguments, but for the explained changes.
fn round_trip(src: &Path, tag: &str) {
    let dir = scratch(tag);
    let out = dir.join(format!("{tag}.scap.gz"));
    export(src, &out, &[]);
    let gz = std::fs::read(&out).expect("read export");
    assert_eq!(&gz[..2], b"\x1f\x8b", "a .gz name writes gzip");
    let cap = open(src);
    let back = scap::import::open(&out).expect("Ferret imports its own export");
    assert!(
        back.report.unknown.is_empty(),
        "codes the importer does not know: {:?}",
        back.report.unknown
    );
    // Every field, and every argument as `evt.args` renders them.
    let (ours, cx) = ferret_rows(&cap, &["evt.args"]);
    let (theirs, _) = ferret_rows(&back.capture, &["evt.args"]);
    let names: Vec<&str> = FIELDS
        .iter()
        .copied()
        .chain(["evt.rawres", "evt.args"])
        .collect();
    let mut missing = 0;
    let mut wrong: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    let mut explained: BTreeMap<&str, usize> = BTreeMap::new();
    for (k, v) in &ours {
        let Some(w) = theirs.get(k) else {
            missing += 1;
            if missing < 5 {
                println!("not imported back: {k:?}");
            }
            continue;
        };
        for (i, name) in names.iter().enumerate() {
            // Generic syscall events carry no result, and calls that do
            // not return have none.
            if (i == RES || i == RAWRES) && cx.generic_types.contains(&v[3])
                || i == RAWRES && v[2] == ">"
            {
                continue;
            }
            if i == ARGS && v[i] != w[i] {
                if let Some(why) = args_explained(&v[3], &v[i], &w[i], &cx) {
                    *explained.entry(why).or_default() += 1;
                    continue;
                }
            }
            if v[i] != w[i] {
                let d = wrong.entry(format!("{} {name}", v[3])).or_default();
                d.0 += 1;
                if d.1.len() < 3 {
                    d.1.push(format!("{k:?}: before {:?}, after {:?}", v[i], w[i]));
                }
            }
        }
    }
    for (k, n) in &explained {
        println!("explained: {n} events: {k}");
    }
    for (k, (n, ex)) in &wrong {
        println!("{k}: {n}");
        for e in ex {
            println!("    {e}");
        }
    }
    println!(
        "{} events before, {} after, {missing} not found",
        ours.len(),
        theirs.len()
    );
    assert_eq!(missing, 0);
    assert!(wrong.is_empty(), "{} fields changed", wrong.len());
}

#[test]
fn importing_the_export_gives_back_the_same_events_and_fields() {
    round_trip(&PathBuf::from(ferret_tests::scenarios()), "roundtrip");
}

/// The events sysdig matches with `filter` on `trace`: completed calls
/// (and calls that do not return) by (time, thread), and the number of
/// call entries it also matched; `Err` when it cannot parse the filter.
fn sysdig_matches(trace: &Path, filter: &str) -> Result<(HashSet<(u64, u64)>, usize), String> {
    let o = Command::new("sysdig")
        .arg("-r")
        .arg(trace)
        .args(["-p", "*%evt.rawtime %thread.tid %evt.dir %evt.type"])
        .arg(filter)
        .output()
        .expect("run sysdig");
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).trim().to_string());
    }
    let mut hits = HashSet::new();
    let mut entries = 0;
    for l in String::from_utf8_lossy(&o.stdout).lines() {
        let f: Vec<&str> = l.split(' ').collect();
        let (Some(t), Some(tid), Some(dir), Some(ty)) = (
            f.first().and_then(|x| x.parse().ok()),
            f.get(1).and_then(|x| x.parse().ok()),
            f.get(2),
            f.get(3),
        ) else {
            continue;
        };
        let entry_only = matches!(
            *ty,
            "procexit" | "exit" | "exit_group" | "container" | "signaldeliver"
        );
        if *dir == ">" && !entry_only {
            entries += 1;
        } else {
            hits.insert((t, tid));
        }
    }
    Ok((hits, entries))
}

fn rules_corpus() -> Option<PathBuf> {
    let corpus = ferret_tests::workspace().join("../shared/corpus/falco-rules");
    if skip_unless(have_sysdig(), "sysdig (apt-get install sysdig)")
        || skip_unless(corpus.is_dir(), "../shared/corpus/falco-rules")
    {
        return None;
    }
    Some(corpus)
}

#[test]
fn rules_fire_on_the_same_events_in_sysdig_and_in_analyzer_run() {
    let Some(corpus) = rules_corpus() else { return };
    rules_agree(&corpus, &PathBuf::from(ferret_tests::scenarios()), "rules");
}

/// Exports `src`; every rule of the legacy set and of falco_rules +
/// incubating + sandbox (all enabled) that sysdig parses must fire on the
/// same events in sysdig (its expanded condition over the trace) and in
/// Ferret (over the capture).
fn rules_agree(corpus: &Path, src: &Path, tag: &str) {
    let dir = scratch(tag);
    let trace = dir.join(format!("{tag}.scap"));
    export(src, &trace, &[]);
    let cap = open(src);
    // Each event's (time, thread), by number.
    let mut at: Vec<(u64, u64)> = Vec::new();
    let anchor = cap.meta().map_or(0, |m| m.boot_time_unix_ns);
    for i in 0..cap.chunks().len() {
        for e in cap.load_chunk(i).expect("chunk").events() {
            at.push((e.ts + anchor, u64::from(e.tid)));
        }
    }
    let all = Selection {
        enable: vec!["*".into()],
        ..Selection::default()
    };
    let sets = [
        (
            "legacy",
            vec![corpus.join("legacy_falco_rules_v1.0.1.yaml")],
        ),
        (
            "current",
            vec![
                corpus.join("falco_rules.yaml"),
                corpus.join("falco-incubating_rules.yaml"),
                corpus.join("falco-sandbox_rules.yaml"),
            ],
        ),
    ];
    let mut unexplained = Vec::new();
    for (family, files) in &sets {
        let set = ruleset::load_rules(files, &all);
        let rules: Vec<_> = set.enabled().cloned().collect();
        let res = engine::run::run(
            &cap,
            &rules,
            &engine::run::RunOptions {
                matching: engine::run::Matching::All,
                threads: 1,
                ..Default::default()
            },
        );
        let mut ours: HashMap<String, HashSet<(u64, u64)>> = HashMap::new();
        for a in &res.alerts {
            ours.entry(a.rule.clone())
                .or_default()
                .insert(at[(a.evt_num - 1) as usize]);
        }
        let theirs =
            ferret_tests::parallel(&rules, |r| sysdig_matches(&trace, &r.program.to_string()));
        let (mut parsed, mut firing, mut agree, mut both) = (0, 0, 0, 0);
        for (r, m) in rules.iter().zip(theirs) {
            let Ok((sx, _entries)) = m else { continue };
            parsed += 1;
            let empty = HashSet::new();
            let fx = ours.get(&r.name).unwrap_or(&empty);
            if fx.is_empty() && sx.is_empty() {
                agree += 1;
                continue;
            }
            firing += 1;
            both += fx.intersection(&sx).count();
            let f_only = fx.difference(&sx).count();
            let s_only = sx.difference(fx).count();
            if f_only == 0 && s_only == 0 {
                agree += 1;
            }
            for (side, n) in [("ferret", f_only), ("sysdig", s_only)] {
                if n == 0 {
                    continue;
                }
                let (a, b) = if side == "ferret" {
                    (fx, &sx)
                } else {
                    (&sx, fx)
                };
                let mut first: Vec<_> = a.difference(b).copied().collect();
                first.sort_unstable();
                first.truncate(4);
                unexplained.push(format!(
                    "[{family}] {:?}: only {side}: {n}, first (time, thread) {first:?}",
                    r.name
                ))
            }
        }
        println!(
            "{family}: {} rules, sysdig parses {parsed}, {firing} fire, {agree} agree, {both} events matched by both",
            rules.len()
        );
        assert!(parsed > 0 && firing > 0, "nothing compared for {family}");
    }
    for u in &unexplained {
        println!("UNEXPLAINED {u}");
    }
    assert!(unexplained.is_empty(), "{} rules differ", unexplained.len());
}

/// The recorder built beside this analyzer (`cargo test --workspace`
/// builds both).
fn recorder_bin() -> PathBuf {
    ferret_tests::recorder::beside(env!("CARGO_BIN_EXE_analyzer"))
}

#[test]
fn a_fresh_recording_under_load_exports_as_sysdig_and_ferret_agree() {
    let bin = recorder_bin();
    if skip_unless(
        ferret_tests::recorder::can_record(),
        "root and a kernel with BTF (to record)",
    ) || skip_unless(bin.exists(), "the recorder binary (cargo test --workspace)")
        || skip_unless(have_sysdig(), "sysdig (apt-get install sysdig)")
    {
        return;
    }
    let dir = scratch("fresh");
    let cap = dir.join("fresh.cap");
    let scenarios = ferret_tests::workspace().join("tests/scenarios/run-all.sh");
    // The scenario suite and, beside it, 200 short shells at once: forks,
    // execs, file reads and pipes from both CPUs.
    let workload = format!(
        "bash '{}' >/dev/null 2>&1 & \
         for i in $(seq 200); do (sh -c 'cat /etc/os-release | wc -l; ls /usr/bin > /dev/null') >/dev/null & done; wait",
        scenarios.display()
    );
    ferret_tests::recorder::record_script(&bin, &cap, &workload, &[]);
    let n = open(&cap).event_count();
    assert!(n > 20_000, "{n} events recorded");
    fields_agree(&cap, "fresh-fields");
    round_trip(&cap, "fresh-roundtrip");
    if let Some(corpus) = rules_corpus() {
        rules_agree(&corpus, &cap, "fresh-rules");
    }
}

#[test]
fn a_damaged_capture_exports_its_intact_chunks_and_names_the_rest() {
    let d = scratch("damaged");
    let cap = d.join("many.cap");
    let o = analyzer(&[
        "synth",
        "-q",
        "--events",
        "100000",
        "--chunk-events",
        "10000",
        "--out",
        cap.to_str().expect("path"),
    ]);
    assert!(o.status.success());
    let mut bytes = std::fs::read(&cap).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    let bad = d.join("bad.cap");
    std::fs::write(&bad, &bytes).expect("write");
    let v: serde_json::Value = serde_json::from_slice(
        &analyzer(&["verify", "--json", bad.to_str().expect("path")]).stdout,
    )
    .expect("verify");
    let good = v["good_events"].as_u64().expect("good");
    let chunk = v["problems"][0]["chunk"].as_u64().expect("chunk");
    let out = d.join("bad.scap");
    let o = analyzer(&[
        "export",
        "--format",
        "scap",
        bad.to_str().expect("path"),
        "-o",
        out.to_str().expect("path"),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains(&format!("chunk {chunk} ")), "{err}");
    assert!(err.contains(&format!("{good} events as ")), "{err}");
    // Every intact event is in the trace, read back in order.
    let back = scap::import::open(&out).expect("import");
    let folded = ["procfork", "procexec", "ferret_loss"];
    let mut want = 0;
    let c = open(&bad);
    for i in 0..c.chunks().len() {
        if let Ok(ch) = c.load_chunk(i) {
            want += ch
                .events()
                .filter(|e| !folded.contains(&e.kind_name().as_ref()))
                .count();
        }
    }
    let mut got = 0;
    let mut last = 0;
    for i in 0..back.capture.chunks().len() {
        for e in back.capture.load_chunk(i).expect("chunk").events() {
            assert!(e.ts >= last, "out of order");
            last = e.ts;
            if !folded.contains(&e.kind_name().as_ref()) {
                got += 1;
            }
        }
    }
    assert_eq!(got, want, "every intact event, once");
}

#[test]
fn command_lines_longer_than_scap_allows_are_cut_and_counted() {
    use capture::kind::id;
    use capture::schema::{CaptureMeta, ProcessInfo, Snapshot};
    use capture::{CaptureWriterBuilder, EventHeader};
    if skip_unless(have_sysdig(), "sysdig (apt-get install sysdig)") {
        return;
    }
    // A process already running with a 70 kB command line (the real
    // workload has such), and one that execs with another.
    let long: Vec<String> = (0..8000).map(|i| format!("arg{i:05}")).collect();
    let mut args = vec!["python3".to_string()];
    args.extend(long.iter().cloned());
    let snap = Snapshot {
        processes: vec![ProcessInfo {
            pid: 100,
            ppid: 1,
            comm: "python3".into(),
            exe: "/usr/bin/python3.11".into(),
            args: args.clone(),
            cwd: "/srv".into(),
            ..ProcessInfo::default()
        }],
        ..Snapshot::default()
    };
    let meta = CaptureMeta {
        hostname: "long".into(),
        num_cpus: 1,
        boot_time_unix_ns: 1_790_000_000_000_000_000,
        ..CaptureMeta::default()
    };
    let mut w = CaptureWriterBuilder::new()
        .build(Vec::new(), "mem", &meta, Some(&snap))
        .expect("writer");
    let h = |ts, kind, ret| EventHeader {
        ts,
        pid: 100,
        tid: 100,
        kind,
        ret,
        ..EventHeader::default()
    };
    w.push(&h(10, id::OPENAT, 3), |a| {
        a.int(-100).str("/etc/hosts").uint(0).uint(0);
    })
    .expect("push");
    w.push(&h(20, id::EXECVE, 0), |a| {
        a.str("/usr/bin/env")
            .str_list(args.iter())
            .str_list(["A=1"].iter());
    })
    .expect("push");
    w.push(&h(30, id::CLOSE, 0), |a| {
        a.int(3);
    })
    .expect("push");
    let (bytes, _) = w.finish(0).expect("finish");
    let dir = scratch("long");
    let src = dir.join("long.cap");
    std::fs::write(&src, bytes).expect("write");
    let err = export(&src, &dir.join("long.scap"), &[]);
    // The process list's argv (over 4096 bytes), and the execve exit's
    // argv twice: to 65,535 bytes, then to fit the event's 64 KiB block.
    assert!(err.contains(": 3 values cut to fit scap's limits"), "{err}");
    let rows = sysdig_rows(&dir.join("long.scap"));
    let close = rows
        .iter()
        .find(|r| r["evt.type"] == "close" && r["evt.dir"] == "<")
        .expect("close");
    let cmd = close["proc.cmdline"].as_str().expect("cmdline");
    // The exec (no procexec record here) names the process after its file.
    assert!(cmd.starts_with("env arg00000 arg00001"), "{cmd:.80}");
    assert_eq!(close["fd.name"], "/etc/hosts");
}
