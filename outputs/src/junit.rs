//! JUnit XML, which every CI system shows as a test report: a test suite
//! per capture, a test case per enabled rule; a rule that alerted at or
//! above the failing priority is a failure listing its alerts, one that
//! alerted below it passes with its alerts in `system-out`.

use std::fmt::Write;

use engine::Alert;
use quick_xml::escape::escape;

use crate::RuleInfo;

/// Alerts listed per test case at most (the count is always complete).
const SHOWN: usize = 50;

/// What a suite covers: one capture and how it went.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    /// The capture, as given.
    pub capture: String,
    /// Events evaluated.
    pub events: u64,
    /// Events lost in recorded gaps.
    pub lost_events: u64,
    /// Chunks that could not be read.
    pub damaged_chunks: usize,
    /// Seconds the evaluation took.
    pub seconds: f64,
}

/// The JUnit document.
pub fn document(
    rules: &[RuleInfo],
    captures: &[Checked],
    alerts: &[&Alert],
    fail_on: ruleset::Priority,
) -> String {
    let mut suites = String::new();
    let (mut all_tests, mut all_failures) = (0usize, 0usize);
    for c in captures {
        let mut cases = String::new();
        let mut failures = 0;
        for r in rules {
            let hits: Vec<&&Alert> = alerts
                .iter()
                .filter(|a| *a.source == *c.capture && a.rule == r.name)
                .collect();
            let _ = writeln!(
                cases,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"0\">",
                escape(&r.file),
                escape(&r.name)
            );
            if !hits.is_empty() {
                let mut listed = String::new();
                for a in hits.iter().take(SHOWN) {
                    let _ = writeln!(listed, "{}", crate::text_line(a));
                }
                if hits.len() > SHOWN {
                    let _ = writeln!(listed, "... and {} more", hits.len() - SHOWN);
                }
                let listed = escape(&listed);
                if r.priority <= fail_on {
                    failures += 1;
                    let _ = writeln!(
                        cases,
                        "      <failure message=\"{} alert(s), priority {}\" type=\"{}\">{listed}</failure>",
                        hits.len(),
                        r.priority.name(),
                        r.priority.name()
                    );
                } else {
                    let _ = writeln!(cases, "      <system-out>{listed}</system-out>");
                }
            }
            cases.push_str("    </testcase>\n");
        }
        // The capture's own health, as a test case of its own: damage or
        // lost events make the verdict incomplete.
        let _ = writeln!(
            cases,
            "    <testcase classname=\"capture\" name=\"capture integrity\" time=\"0\">"
        );
        if c.damaged_chunks > 0 {
            failures += 1;
            let _ = writeln!(
                cases,
                "      <failure message=\"{} damaged chunk(s): their events were not evaluated\" type=\"damage\"/>",
                c.damaged_chunks
            );
        } else if c.lost_events > 0 {
            let _ = writeln!(
                cases,
                "      <system-out>{} event(s) were lost while recording (recorded gaps)</system-out>",
                c.lost_events
            );
        }
        cases.push_str("    </testcase>\n");
        let tests = rules.len() + 1;
        all_tests += tests;
        all_failures += failures;
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{:.3}\">\n    <properties>\n      <property name=\"events\" value=\"{}\"/>\n      <property name=\"lost_events\" value=\"{}\"/>\n    </properties>\n{cases}  </testsuite>",
            escape(&c.capture),
            c.seconds,
            c.events,
            c.lost_events
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"ferret\" tests=\"{all_tests}\" failures=\"{all_failures}\" errors=\"0\">\n{suites}</testsuites>\n"
    )
}
