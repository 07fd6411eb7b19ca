//! Prometheus text exposition (format 0.0.4) with Falco's metric names,
//! for node_exporter's textfile collector: rule matches by rule, priority,
//! source and tags; events and drops per CPU from the capture (its loss
//! records); alerts that outputs could not deliver.

use std::collections::BTreeMap;
use std::fmt::Write;

use engine::Alert;

use crate::Delivery;

/// What the exposition describes besides alerts: per capture host, events
/// and drops per CPU.
#[derive(Clone, Debug, Default)]
pub struct HostCounters {
    /// The host recorded.
    pub hostname: String,
    /// Events per CPU.
    pub events_by_cpu: Vec<(u16, u64)>,
    /// Events lost per CPU (loss records).
    pub drops_by_cpu: Vec<(u16, u64)>,
}

/// A label value: backslash, quote and newline escaped.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The exposition text.
pub fn exposition(
    alerts: &[(&Alert, &str)],
    hosts: &[HostCounters],
    deliveries: &[Delivery],
) -> String {
    let mut s = String::new();
    let mut matches: BTreeMap<(&str, &str, ruleset::Priority, String), u64> = BTreeMap::new();
    for (a, host) in alerts {
        *matches
            .entry((host, a.rule.as_str(), a.priority, a.tags.join(",")))
            .or_default() += 1;
    }
    s.push_str(
        "# HELP falcosecurity_falco_rules_matches_total Number of times each rule matched.\n",
    );
    s.push_str("# TYPE falcosecurity_falco_rules_matches_total counter\n");
    for ((host, rule, prio, tags), n) in &matches {
        let _ = writeln!(
            s,
            "falcosecurity_falco_rules_matches_total{{hostname=\"{}\",priority=\"{}\",rule_name=\"{}\",source=\"syscall\",tags=\"{}\"}} {n}",
            label(host),
            prio.name(),
            label(rule),
            label(tags)
        );
    }
    let per_cpu = |s: &mut String,
                   name: &str,
                   help: &str,
                   pick: &dyn Fn(&HostCounters) -> &Vec<(u16, u64)>| {
        let _ = writeln!(s, "# HELP {name} {help}");
        let _ = writeln!(s, "# TYPE {name} counter");
        for h in hosts {
            for (cpu, n) in pick(h) {
                let _ = writeln!(
                    s,
                    "{name}{{cpu=\"{cpu}\",hostname=\"{}\"}} {n}",
                    label(&h.hostname)
                );
            }
        }
    };
    per_cpu(
        &mut s,
        "falcosecurity_scap_n_evts_cpu_total",
        "Events recorded per CPU.",
        &|h| &h.events_by_cpu,
    );
    per_cpu(
        &mut s,
        "falcosecurity_scap_n_drops_cpu_total",
        "Events lost per CPU (the capture's loss records).",
        &|h| &h.drops_by_cpu,
    );
    for (name, help, pick) in [
        (
            "falcosecurity_scap_n_evts_total",
            "Events recorded.",
            (|h: &HostCounters| h.events_by_cpu.iter().map(|c| c.1).sum::<u64>())
                as fn(&HostCounters) -> u64,
        ),
        (
            "falcosecurity_scap_n_drops_total",
            "Events lost (the capture's loss records).",
            |h: &HostCounters| h.drops_by_cpu.iter().map(|c| c.1).sum::<u64>(),
        ),
    ] {
        let _ = writeln!(s, "# HELP {name} {help}");
        let _ = writeln!(s, "# TYPE {name} counter");
        for h in hosts {
            let _ = writeln!(
                s,
                "{name}{{hostname=\"{}\"}} {}",
                label(&h.hostname),
                pick(h)
            );
        }
    }
    s.push_str("# HELP ferret_outputs_undelivered_total Alerts an output could not deliver.\n");
    s.push_str("# TYPE ferret_outputs_undelivered_total counter\n");
    for d in deliveries {
        let _ = writeln!(
            s,
            "ferret_outputs_undelivered_total{{output=\"{}\"}} {}",
            label(&d.sink),
            d.undelivered
        );
    }
    s
}
