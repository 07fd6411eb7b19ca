//! `analyzer run` as CI uses it: exit codes, text and JSON alerts, JSON lines
//! to a file, HTTP POSTs to a falcosidekick-like endpoint, rule matching
//! modes, and errors.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scenarios() -> String {
    root()
        .join("fixtures/captures/v1/scenarios.cap")
        .display()
        .to_string()
}

fn rules() -> String {
    root().join("rules").display().to_string()
}

fn analyzer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .output()
        .expect("run analyzer")
}

#[test]
fn exit_code_follows_fail_on() {
    let o = analyzer(&["run", "-q", "--rules", &rules(), &scenarios()]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "warnings and worse fail by default"
    );
    let o = analyzer(&[
        "run",
        "-q",
        "--fail-on",
        "emergency",
        "--rules",
        &rules(),
        &scenarios(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.lines()
            .any(|l| l.contains(": Critical Crypto miner launched (process=xmrig")),
        "{text}"
    );
}

#[test]
fn summary_on_stderr_lists_alerts_by_rule() {
    let o = analyzer(&[
        "run",
        "--fail-on",
        "emergency",
        "--rules",
        &rules(),
        &scenarios(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("25214 events"), "{err}");
    assert!(err.contains("Critical      Crypto miner launched"), "{err}");
}

#[test]
fn json_alerts_have_falcos_shape_and_a_json_lines_file() {
    let file = ferret_tests::scratch("alerts.jsonl");
    let o = analyzer(&[
        "run",
        "-q",
        "--json",
        "--json-file",
        file.to_str().expect("path"),
        "--force",
        "--fail-on",
        "emergency",
        "--rules",
        &rules(),
        &scenarios(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert!(!lines.is_empty());
    let miner = lines
        .iter()
        .find(|v| v["rule"] == "Crypto miner launched")
        .expect("miner alert");
    for k in [
        "time",
        "rule",
        "priority",
        "output",
        "output_fields",
        "tags",
        "hostname",
        "source",
        "evt_num",
        "in_gap",
    ] {
        assert!(miner.get(k).is_some(), "missing {k}");
    }
    assert_eq!(miner["priority"], "Critical");
    assert_eq!(miner["source"], "syscall");
    assert_eq!(miner["output_fields"]["proc.name"], "xmrig");
    assert!(miner["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .any(|t| t == "T1496"));
    let from_file = std::fs::read_to_string(&file).expect("json file");
    assert_eq!(from_file.lines().count(), lines.len());
}

#[test]
fn alerts_are_posted_to_an_http_endpoint() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let mut bodies = Vec::new();
        listener.set_nonblocking(false).expect("blocking");
        for stream in listener.incoming().take(3) {
            let mut s = stream.expect("conn");
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let mut len = 0;
            let mut line = String::new();
            loop {
                line.clear();
                r.read_line(&mut line).expect("header");
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().expect("len");
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).expect("body");
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .expect("reply");
            bodies.push(String::from_utf8(body).expect("utf-8"));
        }
        bodies
    });
    let url = format!("http://127.0.0.1:{port}/");
    let o = analyzer(&[
        "run",
        "-q",
        "--http",
        &url,
        "--tag",
        "cryptomining",
        "--tag",
        "kernel",
        "--fail-on",
        "emergency",
        "--rules",
        &rules(),
        &scenarios(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let bodies = server.join().expect("server");
    assert_eq!(
        bodies.len(),
        3,
        "one crypto-miner and two module-load alerts"
    );
    let v: serde_json::Value = serde_json::from_str(&bodies[0]).expect("json body");
    assert!(v["rule"].is_string() && v["output_fields"].is_object());
    assert!(!String::from_utf8_lossy(&o.stderr).contains("failed"));
}

#[test]
fn first_match_reproduces_falcos_one_alert_per_event() {
    let all = analyzer(&[
        "run",
        "-q",
        "--json",
        "--fail-on",
        "emergency",
        "--rules",
        &rules(),
        &scenarios(),
    ]);
    let first = analyzer(&[
        "run",
        "-q",
        "--json",
        "--rule-matching",
        "first",
        "--fail-on",
        "emergency",
        "--rules",
        &rules(),
        &scenarios(),
    ]);
    let nums = |o: &Output| -> Vec<u64> {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).expect("json")["evt_num"]
                    .as_u64()
                    .expect("num")
            })
            .collect()
    };
    let (a, f) = (nums(&all), nums(&first));
    let mut distinct = a.clone();
    distinct.dedup();
    assert_eq!(f, distinct);
    assert!(a.len() > f.len());
}

#[test]
fn rule_errors_exit_2_unless_keep_going() {
    let bad = root().join("analyzer/tests/data/bad_rules.yaml");
    let o = analyzer(&[
        "run",
        "-q",
        "--rules",
        bad.to_str().expect("path"),
        &scenarios(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown field 'proc.nme'"));
    let o = analyzer(&[
        "run",
        "-q",
        "--keep-going",
        "--fail-on",
        "emergency",
        "--rules",
        bad.to_str().expect("path"),
        &scenarios(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let o = analyzer(&["run", "-q", "--rules", &rules(), "/nonexistent.cap"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn output_files_never_follow_links_never_overwrite_and_never_eat_an_input() {
    let dir = ferret_tests::scratch("outputs");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    // The evidence given as the alert file too: refused, the capture intact.
    let evidence = dir.join("evidence.cap");
    std::fs::copy(scenarios(), &evidence).expect("copy");
    let before = std::fs::read(&evidence).expect("read");
    let ev = evidence.to_str().expect("path");
    let o = analyzer(&[
        "run",
        "-q",
        "--rules",
        &rules(),
        "--json-file",
        ev,
        "--force",
        ev,
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("also an input"), "{err}");
    assert_eq!(std::fs::read(&evidence).expect("read"), before);
    // A link planted at the output path is not followed.
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious").expect("write");
    let link = dir.join("alerts.jsonl");
    std::os::unix::fs::symlink(&victim, &link).expect("symlink");
    let o = analyzer(&[
        "run",
        "-q",
        "--rules",
        &rules(),
        "--json-file",
        link.to_str().expect("path"),
        "--force",
        &scenarios(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("symbolic link"));
    assert_eq!(std::fs::read_to_string(&victim).expect("read"), "precious");
    // An existing file is kept without --force; a new one is private.
    let fresh = dir.join("fresh.jsonl");
    let args = |f: &std::path::Path| {
        vec![
            "run".to_string(),
            "-q".into(),
            "--fail-on".into(),
            "emergency".into(),
            "--rules".into(),
            rules(),
            "--json-file".into(),
            f.to_str().expect("path").into(),
            scenarios(),
        ]
    };
    let first = analyzer(&args(&fresh).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&fresh)
        .expect("meta")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let size = std::fs::metadata(&fresh).expect("meta").len();
    assert!(size > 0);
    let again = analyzer(&args(&fresh).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
    assert_eq!(std::fs::metadata(&fresh).expect("meta").len(), size);
}

/// Several captures analysed as one: with --merge their alerts come out in
/// time order, each naming its capture; without it, capture by capture.
/// The same alerts either way.
#[test]
fn merge_orders_alerts_of_several_captures_by_time() {
    let synth = root()
        .join("fixtures/captures/v1/synthetic-20k.cap")
        .display()
        .to_string();
    let parse = |o: &Output| -> Vec<serde_json::Value> {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect()
    };
    let apart = parse(&analyzer(&[
        "run",
        "-q",
        "--json",
        "--fail-on",
        "emergency",
        "--rules",
        &rules(),
        &scenarios(),
        &synth,
    ]));
    let merged = parse(&analyzer(&[
        "run",
        "-q",
        "--json",
        "--merge",
        "--fail-on",
        "emergency",
        "--rules",
        &rules(),
        &scenarios(),
        &synth,
    ]));
    let key = |v: &serde_json::Value| {
        (
            v["time"].as_str().unwrap_or("").to_string(),
            v["capture"].as_str().unwrap_or("").to_string(),
            v["evt_num"].as_u64().unwrap_or(0),
            v["rule"].as_str().unwrap_or("").to_string(),
        )
    };
    let mut a: Vec<_> = apart.iter().map(key).collect();
    let m: Vec<_> = merged.iter().map(key).collect();
    // Apart: the scenarios' alerts first (named first, recorded later);
    // merged: the synthetic capture's (recorded earlier) first.
    assert!(a.first().is_some_and(|k| k.1 == scenarios()));
    assert!(a.iter().any(|k| k.1 == synth), "both captures alert");
    assert!(m.first().is_some_and(|k| k.1 == synth));
    assert!(
        m.windows(2).all(|w| w[0].0 <= w[1].0),
        "merged output is in time order"
    );
    a.sort();
    let mut ms = m.clone();
    ms.sort();
    assert_eq!(a, ms, "the same alerts");
}
