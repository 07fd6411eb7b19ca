//! Rule files written to blow up expansion: macros that double at every
//! level, lists that double, long chains of macros and of lists, shared
//! sub-conditions reached through many paths. Each must load with bounded
//! work: compiled conditions as large as the file (not as the expansion),
//! errors with positions where a documented limit is passed, and rules that
//! evaluate over a real capture. (How long each takes is measured in the
//! issue's note and the README, not asserted here.)

use ruleset::{load_rules_str, Selection};

fn load(text: &str) -> ruleset::RuleSet {
    load_rules_str("hostile.yaml", text, &Selection::default())
}

fn rule(cond: &str) -> String {
    format!(
        "- rule: r\n  desc: d\n  condition: {cond}\n  output: \"%proc.name\"\n  priority: INFO\n"
    )
}

/// The rule evaluates over the committed fixture (each event once).
fn runs(set: &ruleset::RuleSet) -> usize {
    let cap = capture::Capture::open(ferret_tests::fixture("v1/scenarios.cap")).expect("fixture");
    let rules: Vec<_> = set.enabled().cloned().collect();
    let opts = engine::run::RunOptions {
        matching: engine::run::Matching::All,
        threads: 1,
        ..Default::default()
    };
    engine::run::run(&cap, &rules, &opts).alerts.len()
}

#[test]
fn macros_that_double_at_every_level_compile_once() {
    let mut t = String::from("- macro: e0\n  condition: evt.type = openat\n");
    for i in 1..=40 {
        t += &format!("- macro: e{i}\n  condition: (e{} or e{})\n", i - 1, i - 1);
    }
    t += &rule("e40 and proc.name = cat");
    let set = load(&t);
    assert_eq!(set.errors(), 0, "{:?}", set.diagnostics);
    let r = set.enabled().next().expect("rule");
    assert!(
        r.program.nodes.len() < 10,
        "{} nodes",
        r.program.nodes.len()
    );
    assert_eq!(
        r.program.to_string(),
        "evt.type = openat and proc.name = cat"
    );
    assert!(runs(&set) > 0);
}

#[test]
fn a_sub_condition_reached_through_many_paths_is_evaluated_once() {
    // e_i reaches e_{i-1} twice through different nodes: 2^40 paths.
    let mut t = String::from("- macro: e0\n  condition: evt.type = openat\n");
    for i in 1..=40 {
        t += &format!(
            "- macro: e{i}\n  condition: (e{p} or (e{p} and proc.name = x{i}))\n",
            p = i - 1
        );
    }
    t += &rule("e40 and proc.name = cat");
    let set = load(&t);
    assert_eq!(set.errors(), 0, "{:?}", set.diagnostics);
    let r = set.enabled().next().expect("rule");
    assert!(
        r.program.nodes.len() < 200,
        "{} nodes",
        r.program.nodes.len()
    );
    assert!(r.program.nslots >= 40, "shared nodes are memoised");
    assert!(r.program.expanded_size() > 1 << 40);
    assert!(r.program.to_string().contains("too large to print"));
    assert_eq!(r.evttypes.as_ref().map(|e| e.len()), Some(1));
    // Same answers as the plain rule, in bounded time per event.
    let plain = load(&rule("evt.type = openat and proc.name = cat"));
    assert_eq!(runs(&set), runs(&plain));
}

#[test]
fn lists_that_double_at_every_level_are_deduplicated() {
    let mut t = String::from("- list: l0\n  items: [cat, sh]\n");
    for i in 1..=40 {
        t += &format!("- list: l{i}\n  items: [l{p}, l{p}]\n", p = i - 1);
    }
    t += &rule("evt.type = openat and proc.name in (l40)");
    let set = load(&t);
    assert_eq!(set.errors(), 0, "{:?}", set.diagnostics);
    let r = set.enabled().next().expect("rule");
    assert_eq!(
        r.program.to_string(),
        "evt.type = openat and proc.name in (cat, sh)"
    );
    assert!(runs(&set) > 0);
}

#[test]
fn chains_past_the_nesting_limits_are_errors_with_positions() {
    let n = 20_000;
    let mut t = String::from("- macro: m0\n  condition: evt.type = openat\n");
    for i in 1..n {
        t += &format!("- macro: m{i}\n  condition: m{}\n", i - 1);
    }
    t += "- list: l0\n  items: [cat]\n";
    for i in 1..n {
        t += &format!("- list: l{i}\n  items: [l{}, x{i}]\n", i - 1);
    }
    t += &rule(&format!("m{} and proc.name in (l{})", n - 1, n - 1));
    let set = load(&t);
    let errs: Vec<_> = set
        .diagnostics
        .iter()
        .filter(|d| d.severity == ruleset::diag::Severity::Error)
        .collect();
    assert!(
        errs.iter()
            .any(|d| d.message.contains("macros nested more than 256 deep")
                && d.line > 0
                && d.column > 0),
        "{errs:?}"
    );
    // A chain within the limit compiles to one shared node per macro at most.
    let mut t = String::from("- macro: m0\n  condition: evt.type = openat\n");
    for i in 1..200 {
        t += &format!(
            "- macro: m{i}\n  condition: (m{} and proc.name != x{i})\n",
            i - 1
        );
    }
    t += "- list: l0\n  items: [cat]\n";
    for i in 1..200 {
        t += &format!("- list: l{i}\n  items: [l{}, x{i}]\n", i - 1);
    }
    t += &rule("m199 and proc.name in (l199)");
    let set = load(&t);
    assert_eq!(set.errors(), 0, "{:?}", set.diagnostics.first());
    let r = set.enabled().next().expect("rule");
    assert!(
        r.program.nodes.len() < 600,
        "{} nodes",
        r.program.nodes.len()
    );
    assert!(runs(&set) > 0);
    // Past the list limit: an error at the list's use.
    let mut t = String::from("- list: l0\n  items: [cat]\n");
    for i in 1..400 {
        t += &format!("- list: l{i}\n  items: [l{}, x{i}]\n", i - 1);
    }
    t += &rule("evt.type = openat and proc.name in (l399)");
    let set = load(&t);
    let d = set
        .diagnostics
        .iter()
        .find(|d| d.message.contains("lists nested more than 256 deep"))
        .expect("list depth error");
    assert!(d.line > 0 && d.column > 0, "{d:?}");
}

#[test]
fn long_macro_cycles_are_found_once() {
    // A ring of 20,000 macros: every one is on the cycle; one pass finds it.
    let n = 20_000;
    let mut t = String::new();
    for i in 0..n {
        t += &format!("- macro: m{i}\n  condition: m{}\n", (i + 1) % n);
    }
    t += &rule("evt.type = openat");
    let set = load(&t);
    let cyc = set
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("refers to itself"))
        .count();
    assert_eq!(cyc, n);
    let small = load("- macro: a\n  condition: b\n- macro: b\n  condition: a\n");
    assert!(small
        .diagnostics
        .iter()
        .any(|d| d.message == "macro 'a' refers to itself (a -> b -> a)"));
}
