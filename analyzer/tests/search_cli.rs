//! `analyzer index` and `analyzer search` as a responder uses them: the
//! index is built beside the capture on first use, JSON lines come in the
//! shape of `analyzer events --json` followed by totals and facets, and a
//! query error points at its position with exit code 2.

use std::path::PathBuf;
use std::process::{Command, Output};

fn analyzer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .output()
        .expect("run analyzer")
}

fn capture(name: &str) -> PathBuf {
    let d = ferret_tests::scratch(&format!("search-cli-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("dir");
    let p = d.join("scenarios.cap");
    std::fs::copy(ferret_tests::fixture("v1/scenarios.cap"), &p).expect("copy");
    p
}

#[test]
fn search_builds_the_index_and_prints_events_and_facets() {
    let cap = capture("json");
    let c = cap.display().to_string();
    let o = analyzer(&[
        "search",
        &c,
        "proc.name:curl AND evt.type:connect",
        "--json",
        "--facet",
        "fd.sip",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(cap
        .with_extension("cap.index")
        .join("ferret-index.json")
        .exists());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let events: Vec<_> = lines.iter().filter(|v| v.get("num").is_some()).collect();
    assert!(!events.is_empty());
    for e in &events {
        assert_eq!(e["type"], "connect");
        // As `analyzer events --json`: each event names its capture.
        assert_eq!(e["capture"], c.as_str(), "{e}");
        assert!(e["hostname"].is_string(), "{e}");
    }
    let total = lines
        .iter()
        .find(|v| v.get("total").is_some())
        .expect("total");
    assert_eq!(total["total"].as_u64(), Some(events.len() as u64));
    let facet = lines
        .iter()
        .find(|v| v.get("facet").is_some())
        .expect("facet");
    assert_eq!(facet["facet"], "fd.sip");
    let counted: u64 = facet["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|v| v["count"].as_u64().unwrap_or(0))
        .sum();
    // Connections to an address are counted by it (unix sockets have none).
    assert!(
        counted > 0 && counted <= events.len() as u64,
        "{counted} of {}",
        events.len()
    );
    // The second search opens the index instead of rebuilding it.
    let o = analyzer(&["search", &c, "proc.name:curl"]);
    assert!(o.status.success());
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("indexed"),
        "not rebuilt"
    );
}

#[test]
fn a_query_error_points_at_its_position() {
    let cap = capture("error");
    let o = analyzer(&[
        "search",
        &cap.display().to_string(),
        "proc.name:curl AND fd.nmae:x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown field 'fd.nmae'"), "{err}");
    let caret = err
        .lines()
        .find(|l| l.trim_end().ends_with('^'))
        .expect("caret line");
    assert_eq!(caret.find('^'), Some(2 + 19), "{err}");
}
