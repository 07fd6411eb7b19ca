//! A Markdown summary for CI job summaries (`$GITHUB_STEP_SUMMARY`,
//! GitLab's and others' Markdown reports): captures checked, alerts by
//! priority and rule with first and last seen, and the first alerts.

use std::collections::BTreeMap;
use std::fmt::Write;

use engine::Alert;

use crate::junit::Checked;

/// Alerts listed in full at most.
const SHOWN: usize = 20;

/// Markdown table cells: `|` and newlines would break the table, and HTML
/// in values from the capture must not render.
fn cell(s: &str) -> String {
    capture::text::escape_controls(s)
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('`', "\\`")
}

/// The summary.
pub fn document(captures: &[Checked], alerts: &[&Alert], fail_on: ruleset::Priority) -> String {
    let mut s = String::new();
    let failing = alerts.iter().filter(|a| a.priority <= fail_on).count();
    let verdict = if failing > 0 {
        format!("**{failing} alert(s) at or above {}**", fail_on.name())
    } else {
        format!("no alert at or above {}", fail_on.name())
    };
    let _ = writeln!(s, "## Ferret: {} alert(s), {verdict}\n", alerts.len());
    let _ = writeln!(s, "| Capture | Events | Lost events | Damaged chunks |");
    let _ = writeln!(s, "|---|---:|---:|---:|");
    for c in captures {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            cell(&c.capture),
            c.events,
            c.lost_events,
            c.damaged_chunks
        );
    }
    if alerts.is_empty() {
        return s;
    }
    let mut by_rule: BTreeMap<(ruleset::Priority, &str), (u64, u64, u64)> = BTreeMap::new();
    for a in alerts {
        let e = by_rule
            .entry((a.priority, a.rule.as_str()))
            .or_insert((0, u64::MAX, 0));
        e.0 += 1;
        e.1 = e.1.min(a.time_ns);
        e.2 = e.2.max(a.time_ns);
    }
    let _ = writeln!(s, "\n| Priority | Rule | Alerts | First seen | Last seen |");
    let _ = writeln!(s, "|---|---|---:|---|---|");
    for ((p, rule), (n, first, last)) in &by_rule {
        let _ = writeln!(
            s,
            "| {} | {} | {n} | {} | {} |",
            p.name(),
            cell(rule),
            capture::text::rfc3339(*first),
            capture::text::rfc3339(*last)
        );
    }
    let mut first: Vec<&&Alert> = alerts.iter().collect();
    first.sort_by_key(|a| (a.priority, a.time_ns));
    let _ = writeln!(
        s,
        "\n<details><summary>Most severe alerts (first {} of {})</summary>\n",
        SHOWN.min(alerts.len()),
        alerts.len()
    );
    for a in first.iter().take(SHOWN) {
        let _ = writeln!(s, "- {}", cell(&crate::text_line(a)));
    }
    s.push_str("\n</details>\n");
    s
}
