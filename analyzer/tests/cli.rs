//! The analyzer's command line as a user runs it: output, JSON shape and exit
//! codes of `info`, `verify` and `synth`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn analyzer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .output()
        .expect("run analyzer")
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/captures/v1/synthetic-20k.cap")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-scratch");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn info_prints_metadata_counts_drops_and_ratio() {
    let o = analyzer(&["info", fixture().to_str().expect("utf-8 path")]);
    assert_eq!(o.status.code(), Some(0));
    let t = text(&o);
    for needle in [
        "synth-web-01",
        "20000 events in 5 chunks",
        "1262 events lost in 3 loss records",
        "ratio",
        "openat",
    ] {
        assert!(t.contains(needle), "missing {needle:?} in:\n{t}");
    }
}

#[test]
fn info_json_has_the_documented_fields() {
    let o = analyzer(&["info", "--json", fixture().to_str().expect("utf-8 path")]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["events"], 20000);
    assert_eq!(v["finished"], true);
    assert_eq!(v["lost_events"], 1262);
    assert_eq!(v["hostname"], "synth-web-01");
    assert!(v["compression_ratio"].as_f64().expect("ratio") > 3.0);
    assert_eq!(v["by_kind"][0]["kind"], "close");
    assert!(v["problems"].as_array().expect("array").is_empty());
}

#[test]
fn verify_reports_intact_then_names_the_damaged_chunk() {
    let good = analyzer(&["verify", fixture().to_str().expect("utf-8 path")]);
    assert_eq!(good.status.code(), Some(0));
    assert!(
        text(&good).contains("intact: 5 chunks, 20000 events, chain head 272e74c6"),
        "{}",
        text(&good)
    );

    let mut bytes = std::fs::read(fixture()).expect("read fixture");
    let v: serde_json::Value = serde_json::from_slice(
        &analyzer(&["verify", "--json", fixture().to_str().expect("path")]).stdout,
    )
    .expect("json");
    assert_eq!(v["intact"], true);
    // Damage the middle of the file: it lies inside one of the chunks.
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    let bad = scratch("cli-damaged.cap");
    std::fs::write(&bad, &bytes).expect("write");
    let o = analyzer(&["verify", "--json", bad.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["intact"], false);
    let first = &v["first_problem"];
    let chunk = first["chunk"].as_u64().expect("chunk named");
    let offset = first["offset"].as_u64().expect("offset named");
    assert!(offset <= at as u64);
    assert!(first["message"]
        .as_str()
        .expect("msg")
        .contains(&format!("chunk {chunk} at offset {offset}")));
    assert_eq!(v["good_chunks"], 4);

    let info = analyzer(&["info", bad.to_str().expect("path")]);
    assert_eq!(info.status.code(), Some(1));
    assert!(text(&info).contains("(1 damaged)"), "{}", text(&info));
}

#[test]
fn info_on_a_cut_capture_shows_what_is_intact() {
    let bytes = std::fs::read(fixture()).expect("read fixture");
    let cut = scratch("cli-cut.cap");
    std::fs::write(&cut, &bytes[..bytes.len() * 3 / 4]).expect("write");
    let o = analyzer(&["info", "--json", cut.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["finished"], false);
    let events = v["events"].as_u64().expect("events");
    assert!(
        events > 0 && events < 20000 && events % 4096 == 0,
        "{events}"
    );
    let problems = v["problems"].to_string();
    assert!(
        problems.contains("not finished") && problems.contains("truncated frame"),
        "{problems}"
    );
}

#[test]
fn synth_writes_a_capture_that_verifies() {
    let out = scratch("cli-synth.cap");
    let o = analyzer(&[
        "synth",
        "--force",
        "-o",
        out.to_str().expect("path"),
        "--events",
        "50000",
        "--seed",
        "3",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("wrote 50000 events"));
    let v = analyzer(&["verify", out.to_str().expect("path")]);
    assert_eq!(v.status.code(), Some(0));
    assert!(text(&v).contains("50000 events"));
}

#[test]
fn missing_files_and_bad_usage_exit_2() {
    assert_eq!(
        analyzer(&["info", "/nonexistent.cap"]).status.code(),
        Some(2)
    );
    assert_eq!(analyzer(&["frobnicate"]).status.code(), Some(2));
}
