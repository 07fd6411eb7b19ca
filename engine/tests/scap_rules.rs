//! Rule results against sysdig 0.29: every enabled rule of the legacy
//! v1.0.1 set and of the current falco_rules.yaml (+ incubating, sandbox)
//! that sysdig can parse is evaluated by sysdig itself, on its expanded
//! condition (`sysdig -r TRACE "<condition>"`), over every corpus trace, and
//! the events it matches are compared with the events Ferret alerts on.
//!
//! Ferret merges each entry event into its exit, so an alert stands for the
//! exit's sysdig event number (and its entry's). sysdig also tests entry
//! events; a match on an entry is counted apart and not compared (Falco
//! itself ignores entry events since 0.35). Every other difference must be
//! one of the explained ones listed in [`EXPLAINED`]; the table is printed
//! (`cargo test -p analyzer --test scap_rules -- --nocapture`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use engine::run::{run, Matching, RunOptions};
use ruleset::{load_rules, CompiledRule, Selection};

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    if ferret_tests::skip_unless(p.join("scap/golden").is_dir(), "../shared/corpus/scap") {
        return None;
    }
    let sysdig = Command::new("sysdig").arg("--version").output().is_ok();
    if ferret_tests::skip_unless(sysdig, "sysdig (apt-get install sysdig)") {
        return None;
    }
    Some(p)
}

/// A rule set evaluated as a whole by Ferret.
struct RuleSetSpec {
    /// legacy, current or engine-tests.
    family: &'static str,
    /// Shown name (the files).
    label: String,
    files: Vec<PathBuf>,
}

/// One rule as sysdig sees it.
struct Case {
    set: usize,
    family: &'static str,
    rule: String,
    /// Enabled without `--enable`.
    default_enabled: bool,
    condition: String,
}

/// What sysdig matched in one trace: event number and direction.
type Matches = Vec<(u64, bool)>;

/// Runs sysdig with a filter; `Err` carries its message when it cannot
/// parse the filter.
fn sysdig(trace: &Path, filter: &str) -> Result<Matches, String> {
    let out = Command::new("sysdig")
        .arg("-r")
        .arg(trace)
        .args(["-p", "*%evt.num %evt.dir"])
        .arg(filter)
        .output()
        .expect("run sysdig");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (n, d) = l.split_once(' ')?;
            Some((n.parse().ok()?, d == ">"))
        })
        .collect())
}

/// Ferret's alerts on one trace: rule -> set of (exit, entry) sysdig numbers,
/// plus the maps from sysdig numbers to Ferret events.
struct FerretSide {
    alerts: HashMap<String, BTreeSet<u64>>,
    /// sysdig number of each Ferret event's exit (or standalone event).
    events: BTreeSet<u64>,
    /// sysdig entry number -> the exit it was merged into.
    merged: HashMap<u64, u64>,
    /// Exits whose entry is not in the trace.
    alone: BTreeSet<u64>,
}

fn ferret(imp: &scap::import::Imported, rules: &[CompiledRule]) -> FerretSide {
    let res = run(
        &imp.capture,
        rules,
        &RunOptions {
            matching: Matching::All,
            threads: 1,
            ..Default::default()
        },
    );
    let rep = &imp.report;
    let mut alerts: HashMap<String, BTreeSet<u64>> = HashMap::new();
    for a in &res.alerts {
        let seq = (a.evt_num - 1) as usize;
        alerts
            .entry(a.rule.clone())
            .or_default()
            .insert(rep.origin[seq]);
    }
    let events = rep.origin.iter().copied().filter(|&n| n != 0).collect();
    let merged = rep
        .entry_origin
        .iter()
        .zip(&rep.origin)
        .filter(|(e, _)| **e != 0)
        .map(|(e, x)| (*e, *x))
        .collect();
    let alone = rep
        .entry_origin
        .iter()
        .zip(&rep.origin)
        .filter(|(e, x)| **e == 0 && **x != 0)
        .map(|(_, x)| *x)
        .collect();
    FerretSide {
        alerts,
        events,
        merged,
        alone,
    }
}

/// sysdig gives an exit event whose entry is not in the trace the fd of the
/// thread's last entry (0 for a thread it has not seen: here /dev/null).
/// Ferret gives such an event no fd rather than a guessed one.
const STALE_FD: &str = "exit without its entry: sysdig reuses the thread's last fd";
/// In 2016 traces openat's flags are on the entry event only. sysdig 0.29
/// computes evt.is_open_read from the exit event alone (false); Ferret from
/// the merged call (O_RDONLY: true), as Falco does with current drivers.
const ENTRY_FLAGS: &str = "open flags only on the entry: sysdig 0.29 misses them";
/// connect() on a UDP socket that sendto() used before: sysdig 0.29 keeps
/// the fd's old tuple (::1:38255->::1:2345), Ferret takes the connect's own
/// tuple (->2001:4860:4860::8888:53), whose port 53 the rule excludes.
const UDP_RECONNECT: &str = "UDP connect after sendto: sysdig 0.29 keeps the old tuple";

/// Every difference, with its count and explanation: (trace, rule, the side
/// that alone matched, events, reason).
const EXPLAINED: &[(&str, &str, &str, usize, &str)] = &[
    (
        "bencer__example4_example4-1",
        "dev_null",
        "sysdig",
        2,
        STALE_FD,
    ),
    (
        "bencer__example4_example4-2",
        "dev_null",
        "sysdig",
        4,
        STALE_FD,
    ),
    (
        "bencer__k8s_node_capture",
        "dev_null",
        "sysdig",
        9,
        STALE_FD,
    ),
    (
        "bencer__k8s_node_capture",
        "Container Access to Host Sensitive Paths",
        "ferret",
        1,
        ENTRY_FLAGS,
    ),
    (
        "libs__test_ipv6_client",
        "Unexpected UDP Traffic",
        "sysdig",
        1,
        UDP_RECONNECT,
    ),
];

#[derive(Default)]
struct Tally {
    pairs: u64,
    firing: u64,
    agree_pairs: u64,
    both: u64,
    ferret_only: u64,
    sysdig_only: u64,
    sysdig_entries: u64,
}

/// The rule sets: the legacy v1.0.1 file, the three current files loaded
/// together, and every Falco engine-test rule file that loads on its own.
fn rule_sets(c: &Path) -> Vec<RuleSetSpec> {
    let r = c.join("falco-rules");
    let mut sets = vec![
        RuleSetSpec {
            family: "legacy",
            label: "legacy_falco_rules_v1.0.1.yaml".into(),
            files: vec![r.join("legacy_falco_rules_v1.0.1.yaml")],
        },
        RuleSetSpec {
            family: "current",
            label: "falco_rules.yaml + incubating + sandbox".into(),
            files: vec![
                r.join("falco_rules.yaml"),
                r.join("falco-incubating_rules.yaml"),
                r.join("falco-sandbox_rules.yaml"),
            ],
        },
    ];
    let t = c.join("falco-engine-tests/rules");
    for dir in [t.clone(), t.join("exceptions")] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("engine test rules")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        files.sort();
        for f in files {
            let set = load_rules(std::slice::from_ref(&f), &Selection::default());
            if set.errors() == 0 && !set.rules.is_empty() {
                sets.push(RuleSetSpec {
                    family: "engine-tests",
                    label: f.strip_prefix(&t).unwrap_or(&f).display().to_string(),
                    files: vec![f],
                });
            }
        }
    }
    sets
}

#[test]
fn rule_results_agree_with_sysdig() {
    let Some(c) = corpus() else { return };
    let specs = rule_sets(&c);
    let all = Selection {
        enable: vec!["*".into()],
        ..Selection::default()
    };
    let sets: Vec<_> = specs.iter().map(|sp| load_rules(&sp.files, &all)).collect();
    let mut cases: Vec<Case> = Vec::new();
    for (si, (sp, set)) in specs.iter().zip(&sets).enumerate() {
        let default = load_rules(&sp.files, &Selection::default());
        for r in set.enabled() {
            cases.push(Case {
                set: si,
                family: sp.family,
                rule: r.name.clone(),
                default_enabled: default.enabled().any(|d| d.name == r.name),
                condition: r.program.to_string(),
            });
        }
    }

    // Which conditions sysdig 0.29 can parse.
    let probe = c.join("scap/falco/cat_write.scap");
    let parsed = ferret_tests::parallel(&cases, |k| sysdig(&probe, &k.condition).err());
    let mut usable = Vec::new();
    for (k, err) in cases.iter().zip(&parsed) {
        match err {
            None => usable.push(k),
            Some(e) if k.family != "engine-tests" => {
                println!("sysdig cannot parse [{}] {}: {e}", k.family, k.rule)
            }
            Some(e) => println!(
                "sysdig cannot parse [{}] {}: {e}",
                specs[k.set].label, k.rule
            ),
        }
    }
    for fam in ["legacy", "current", "engine-tests"] {
        let of = |v: &mut dyn Iterator<Item = &Case>, enabled: bool| {
            v.filter(|k| k.family == fam && k.default_enabled == enabled)
                .count()
        };
        println!(
            "{fam}: sysdig parses {} of {} enabled rules and {} of {} disabled ones",
            of(&mut usable.iter().copied(), true),
            of(&mut cases.iter(), true),
            of(&mut usable.iter().copied(), false),
            of(&mut cases.iter(), false),
        );
    }

    // Traces sysdig can read (those with a golden output).
    let inv = std::fs::read_to_string(c.join("scap/INVENTORY.tsv")).expect("inventory");
    let traces: Vec<(String, PathBuf)> = inv
        .lines()
        .skip(1)
        .filter_map(|l| {
            let rel = l.split('\t').next()?;
            let tag = rel.trim_end_matches(".scap").replace('/', "__");
            let txt = c.join("scap/golden").join(format!("{tag}.fields.jsonl"));
            let gz = c.join("scap/golden").join(format!("{tag}.fields.jsonl.gz"));
            let size = std::fs::metadata(&txt)
                .or_else(|_| std::fs::metadata(&gz))
                .map_or(0, |m| m.len());
            (size > 0).then(|| (tag, c.join("scap").join(rel)))
        })
        .collect();

    let jobs: Vec<(usize, usize)> = (0..traces.len())
        .flat_map(|t| (0..usable.len()).map(move |k| (t, k)))
        .collect();
    let matched = ferret_tests::parallel(&jobs, |&(t, k)| {
        sysdig(&traces[t].1, &usable[k].condition).expect("parsed before")
    });
    let matched: HashMap<(usize, usize), Matches> = jobs.into_iter().zip(matched).collect();

    let mut unexplained = Vec::new();
    let mut explained = Vec::new();
    let mut used = BTreeSet::new();
    let mut total: BTreeMap<&str, Tally> = BTreeMap::new();
    // The rules Ferret runs, per set (sets without a rule sysdig parses
    // have nothing to compare).
    let enabled: Vec<Option<Vec<CompiledRule>>> = sets
        .iter()
        .enumerate()
        .map(|(si, set)| {
            usable
                .iter()
                .any(|k| k.set == si)
                .then(|| set.enabled().cloned().collect())
        })
        .collect();
    for (ti, (tag, trace)) in traces.iter().enumerate() {
        let imp = scap::import::open(trace).expect("import");
        let mut per: BTreeMap<&str, Tally> = BTreeMap::new();
        for (si, rules) in enabled.iter().enumerate() {
            let Some(rules) = rules else { continue };
            let side = ferret(&imp, rules);
            for (ki, k) in usable.iter().enumerate() {
                if k.set != si {
                    continue;
                }
                let t = per.entry(k.family).or_default();
                t.pairs += 1;
                let m = &matched[&(ti, ki)];
                let empty = BTreeSet::new();
                let fa = side.alerts.get(&k.rule).unwrap_or(&empty);
                let mut sx = BTreeSet::new();
                for &(num, entry) in m {
                    // Entries merged into their exit, and entries whose exit
                    // never came (dropped by the import), are not compared.
                    if entry && (side.merged.contains_key(&num) || !side.events.contains(&num)) {
                        t.sysdig_entries += 1;
                    } else {
                        sx.insert(num);
                    }
                }
                if !fa.is_empty() || !sx.is_empty() {
                    t.firing += 1;
                }
                let f_only: Vec<u64> = fa.difference(&sx).copied().collect();
                let s_only: Vec<u64> = sx.difference(fa).copied().collect();
                t.both += fa.intersection(&sx).count() as u64;
                t.ferret_only += f_only.len() as u64;
                t.sysdig_only += s_only.len() as u64;
                if f_only.is_empty() && s_only.is_empty() {
                    t.agree_pairs += 1;
                }
                for (side_name, nums) in [("ferret", &f_only), ("sysdig", &s_only)] {
                    if nums.is_empty() {
                        continue;
                    }
                    let key = EXPLAINED.iter().position(|(tr, ru, sd, n, _)| {
                        *tr == tag && *ru == k.rule && *sd == side_name && *n == nums.len()
                    });
                    match key {
                        Some(i) => {
                            used.insert(i);
                            explained.push(format!(
                                "{tag} [{}] {:?}: only {side_name}: {} events: {}",
                                specs[k.set].label,
                                k.rule,
                                nums.len(),
                                EXPLAINED[i].4
                            ));
                        }
                        None => {
                            let alone = nums.iter().filter(|n| side.alone.contains(n)).count();
                            unexplained.push(format!(
                                "{tag} [{}] {:?}: only {side_name}: {} events ({alone} without their entry), first {:?}",
                                specs[k.set].label,
                                k.rule,
                                nums.len(),
                                &nums[..nums.len().min(8)]
                            ))
                        }
                    }
                }
            }
        }
        for (fam, t) in per {
            println!(
                "{tag:40} {fam:12} rules {:3} firing {:3} agree {:3} | events both {:5} ferret-only {:4} sysdig-only {:4} sysdig-entry {:4}",
                t.pairs, t.firing, t.agree_pairs, t.both, t.ferret_only, t.sysdig_only, t.sysdig_entries
            );
            let s = total.entry(fam).or_default();
            s.pairs += t.pairs;
            s.firing += t.firing;
            s.agree_pairs += t.agree_pairs;
            s.both += t.both;
            s.ferret_only += t.ferret_only;
            s.sysdig_only += t.sysdig_only;
            s.sysdig_entries += t.sysdig_entries;
        }
    }
    for (fam, t) in &total {
        println!(
            "TOTAL {fam:12} (rule, trace) pairs {} firing {} agree {} | events both {} ferret-only {} sysdig-only {} sysdig-entry {}",
            t.pairs, t.firing, t.agree_pairs, t.both, t.ferret_only, t.sysdig_only, t.sysdig_entries
        );
    }
    for x in &explained {
        println!("explained: {x}");
    }
    for u in &unexplained {
        println!("UNEXPLAINED {u}");
    }
    let stale: Vec<_> = (0..EXPLAINED.len())
        .filter(|i| !used.contains(i))
        .map(|i| EXPLAINED[i])
        .collect();
    assert!(
        unexplained.is_empty(),
        "{} unexplained differences",
        unexplained.len()
    );
    assert!(
        stale.is_empty(),
        "explained differences that no longer occur: {stale:?}"
    );
    // The comparison means something only if rules fire.
    let both: u64 = total.values().map(|t| t.both).sum();
    assert!(both > 0, "no rule fired on both sides");
}
