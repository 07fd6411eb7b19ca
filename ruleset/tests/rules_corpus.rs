//! Compatibility with Falco's rule files and Falco's own loader tests, from
//! ../shared/corpus (skipped without it locally; a failure in CI).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ruleset::{load_rules, Selection, Severity};
use serde_yaml::Value;

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let ok = p.join("falco-rules/falco_rules.yaml").exists();
    if ferret_tests::skip_unless(ok, "../shared/corpus (Falco rule files)") {
        return None;
    }
    Some(p)
}

#[test]
fn upstream_rule_files_load_with_no_errors() {
    let Some(c) = corpus() else { return };
    let r = c.join("falco-rules");
    let sets: Vec<Vec<PathBuf>> = vec![
        vec![r.join("falco_rules.yaml")],
        vec![r.join("falco-incubating_rules.yaml")],
        vec![r.join("falco-sandbox_rules.yaml")],
        vec![r.join("legacy_falco_rules_v1.0.1.yaml")],
        vec![
            r.join("falco_rules.yaml"),
            r.join("falco-incubating_rules.yaml"),
            r.join("falco-sandbox_rules.yaml"),
        ],
    ];
    for files in sets {
        let set = load_rules(&files, &Selection::default());
        let errors: Vec<String> = set
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.render())
            .collect();
        assert!(errors.is_empty(), "{files:?}:\n{}", errors.join("\n"));
        assert_eq!(
            set.rules.len(),
            set.rule_defs,
            "{files:?}: every rule compiles"
        );
    }
    // Counts of the current upstream file, and disabled rules stay disabled.
    let set = load_rules(&[r.join("falco-sandbox_rules.yaml")], &Selection::default());
    assert_eq!(set.rules.len(), 37);
    assert_eq!(set.enabled().count(), 25);
}

#[test]
fn every_condition_field_of_the_corpus_statistics_is_known() {
    let Some(c) = corpus() else { return };
    for stats in ["stats_all3.txt", "stats_legacy.txt"] {
        let text = std::fs::read_to_string(c.join("falco-rules").join(stats)).expect("stats");
        let mut in_fields = false;
        for line in text.lines() {
            if line.starts_with('#') {
                in_fields = line.contains("fields");
                continue;
            }
            let counted = line.starts_with(' ')
                && line
                    .split_whitespace()
                    .next()
                    .is_some_and(|n| n.parse::<u32>().is_ok());
            let Some(field) = line
                .split_whitespace()
                .nth(1)
                .filter(|_| in_fields && counted)
            else {
                continue;
            };
            let name = field.split('[').next().unwrap_or(field);
            assert!(
                ruleset::fields::lookup(name).is_some(),
                "{stats}: unknown field {field}"
            );
        }
    }
}

fn seq(v: Option<&Value>) -> Vec<Value> {
    match v {
        Some(Value::Sequence(s)) => s.clone(),
        _ => Vec::new(),
    }
}

fn s(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(x)) => x.clone(),
        _ => String::new(),
    }
}

/// Falco's loader expectations: for every test that validates rule files,
/// the errors and warnings (item type and code) that Falco reports are
/// reported here too, and files Falco accepts load without errors.
#[test]
fn falco_engine_loader_expectations_hold() {
    let Some(c) = corpus() else { return };
    let base = c.join("falco-engine-tests");
    let mut checked = 0;
    let mut failures = Vec::new();
    for file in ["falco_tests.yaml", "falco_tests_exceptions.yaml"] {
        let text = std::fs::read_to_string(base.join(file)).expect("tests file");
        let doc: Value = serde_yaml::from_str(&text).expect("yaml");
        let tests = match doc.get("trace_files") {
            Some(Value::Tagged(t)) => t.value.clone(),
            Some(v) => v.clone(),
            None => continue,
        };
        let Value::Mapping(tests) = tests else {
            continue;
        };
        for (name, t) in tests {
            let name = name.as_str().unwrap_or("?").to_string();
            let files = seq(t.get("validate_rules_file"));
            let rules_files = seq(t.get("rules_file"));
            if files.is_empty() && rules_files.is_empty() {
                continue;
            }
            let paths: Vec<PathBuf> = if files.is_empty() {
                &rules_files
            } else {
                &files
            }
            .iter()
            .filter_map(|f| f.as_str().map(|f| base.join(f)))
            .collect();
            let set = load_rules(&paths, &Selection::default());
            let got_err: BTreeSet<(String, String)> = set
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| (d.item_type.clone(), d.code.to_string()))
                .collect();
            let got_warn: BTreeSet<String> = set
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Warning)
                .map(|d| d.code.to_string())
                .collect();
            let want_err: Vec<(String, String)> = seq(t.get("validate_errors"))
                .iter()
                .map(|e| (s(e, "item_type"), s(e, "code")))
                .collect();
            let want_warn: Vec<String> = seq(t.get("validate_warnings"))
                .iter()
                .map(|e| s(e, "code"))
                .collect();
            checked += 1;
            if want_err.is_empty() && !got_err.is_empty() {
                failures.push(format!("{name}: unexpected errors {got_err:?}"));
            }
            for (ty, code) in &want_err {
                // Falco reports some errors on the item kind ("rules content",
                // "rules content item"); Ferret's item kinds match those names.
                if !got_err
                    .iter()
                    .any(|(t, c)| c == code && (t == ty || ty.is_empty()))
                {
                    failures.push(format!(
                        "{name}: expected error {code} on {ty}, got {got_err:?}"
                    ));
                }
            }
            for code in &want_warn {
                if !got_warn.contains(code) {
                    failures.push(format!("{name}: expected warning {code}, got {got_warn:?}"));
                }
            }
            for ok in seq(t.get("validate_ok")) {
                if let Some(f) = ok.as_str() {
                    let only = load_rules(&[base.join("rules").join(f)], &Selection::default());
                    if only.errors() > 0 {
                        failures.push(format!("{name}: {f} should load without errors"));
                    }
                }
            }
        }
    }
    assert!(checked > 40, "only {checked} loader tests found");
    assert!(
        failures.is_empty(),
        "{} of {checked} loader expectations differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
