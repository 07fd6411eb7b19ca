//! A Markdown summary for CI job summaries (`$GITHUB_STEP_SUMMARY`,
//! GitLab's and others' Markdown reports): captures checked, alerts by
//! priority and rule with first and last seen, and the first alerts.

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
    let _ = writeln!(s, "\n| Priority | Rule | Alerts | First seen | Last seen |");
    let _ = writeln!(s, "|---|---|---:|---|---|");
    for ((p, rule), t) in engine::run::tally_by_rule(alerts.iter().copied()) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            p.name(),
            cell(rule),
            t.count,
            capture::text::rfc3339(t.first_ns),
            capture::text::rfc3339(t.last_ns)
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
