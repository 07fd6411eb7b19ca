//! SARIF 2.1.0 (OASIS), the format CI systems and code-scanning dashboards
//! read: one run, Ferret as the tool with every enabled rule (description,
//! priority as default level, tags), one result per alert with the rule's
//! output as message and the event as location (the capture as artifact,
//! the event number as logical location), and the alert's time, host and
//! output fields as properties.

use std::collections::BTreeMap;

use engine::Alert;
use serde_json::{json, Value};

use crate::RuleInfo;

/// SARIF's level for a Falco priority: error for Error and worse, warning
/// for Warning, note for the rest.
pub fn level(p: ruleset::Priority) -> &'static str {
    use ruleset::Priority::*;
    match p {
        Emergency | Alert | Critical | Error => "error",
        Warning => "warning",
        Notice | Informational | Debug => "note",
    }
}

/// A path as a URI reference: RFC 3986 unreserved characters and `/` kept,
/// everything else percent-encoded.
pub fn uri(path: &str) -> String {
    let mut s = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// The SARIF log of a run over captures: `rules` are the enabled rules,
/// `alerts` with the hostname of their capture.
pub fn document(rules: &[RuleInfo], alerts: &[(&Alert, &str)]) -> Value {
    let index: BTreeMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.as_str(), i))
        .collect();
    let mut artifacts: Vec<&str> = alerts.iter().map(|(a, _)| a.source.as_ref()).collect();
    artifacts.sort_unstable();
    artifacts.dedup();
    let rules_json: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.name,
                "name": r.name,
                "shortDescription": {"text": r.name},
                "fullDescription": {"text": if r.desc.is_empty() { &r.name } else { &r.desc }},
                "defaultConfiguration": {"level": level(r.priority)},
                "properties": {
                    "priority": r.priority.name(),
                    "tags": r.tags,
                    "file": r.file,
                    "line": r.line,
                },
            })
        })
        .collect();
    let results: Vec<Value> = alerts
        .iter()
        .map(|(a, host)| {
            let mut fields = serde_json::Map::new();
            for (k, v) in &a.output_fields {
                fields.insert(k.clone(), crate::val_json(v));
            }
            let art = artifacts.binary_search(&a.source.as_ref()).unwrap_or(0);
            let mut r = json!({
                "ruleId": a.rule,
                "level": level(a.priority),
                "message": {"text": a.output},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&a.source), "index": art},
                    },
                    "logicalLocations": [{
                        "name": format!("event {}", a.evt_num),
                        "fullyQualifiedName": format!("{}#event={}", a.source, a.evt_num),
                        "kind": "event",
                    }],
                }],
                "partialFingerprints": {
                    "ferretEvent/v1": format!("{}:{}:{}", a.rule, a.time_ns, a.evt_num),
                },
                "properties": {
                    "time": capture::text::rfc3339(a.time_ns),
                    "priority": a.priority.name(),
                    "hostname": host,
                    "evt_num": a.evt_num,
                    "in_gap": a.in_gap,
                    "tags": a.tags,
                    "output_fields": fields,
                },
            });
            if let Some(i) = index.get(a.rule.as_str()) {
                r["ruleIndex"] = json!(i);
            }
            r
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "ferret",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://falco.org/docs/rules/",
                "rules": rules_json,
            }},
            "artifacts": artifacts.iter().map(|p| json!({"location": {"uri": uri(p)}})).collect::<Vec<_>>(),
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    })
}
