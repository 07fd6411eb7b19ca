//! What the recorder's ground-truth tests share: Ferret's own answer for a
//! recorded capture, through the real rule engine.

use std::path::Path;

use capture::Capture;

/// The output of every event of `cap` that `condition` selects, formatted
/// with `output` (Falco's `%field` syntax), in event order: what `analyzer
/// run` would print for a rule with that condition and output.
pub fn outputs(cap: &Path, condition: &str, output: &str) -> Vec<String> {
    let rules = format!(
        "- rule: ground truth\n  desc: the events under test\n  condition: {condition}\n  output: {output:?}\n  priority: INFO\n"
    );
    let set = ruleset::load_rules_str("ground-truth", &rules, &Default::default());
    assert_eq!(set.errors(), 0, "{rules}");
    run_all(cap, &set).into_iter().map(|a| a.output).collect()
}

/// Every alert of the enabled rules of `set` over `cap`, every matching
/// rule of each event.
fn run_all(cap: &Path, set: &ruleset::RuleSet) -> Vec<engine::run::Alert> {
    let compiled: Vec<_> = set.enabled().cloned().collect();
    let c = Capture::open(cap).expect("open capture");
    let opts = engine::run::RunOptions {
        matching: engine::run::Matching::All,
        threads: 0,
        ..Default::default()
    };
    engine::run::run(&c, &compiled, &opts).alerts
}

/// Every alert of the rule files over `cap` (all matching rules, as
/// `rule_matching: all`): (rule, event number, output). The files must
/// load without errors.
#[allow(dead_code)]
pub fn alerts(cap: &Path, files: &[std::path::PathBuf]) -> Vec<(String, u64, String)> {
    let set = ruleset::load_rules(files, &Default::default());
    assert_eq!(set.errors(), 0, "{files:?} do not load");
    run_all(cap, &set)
        .into_iter()
        .map(|a| (a.rule, a.evt_num, a.output))
        .collect()
}
