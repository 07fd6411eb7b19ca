//! `analyzer merge` from the command line, without root: a damaged source
//! is merged without its bad chunk, which is named on stderr, in `info` and
//! by the exit codes of every command that reads the result; each recording
//! of the merge is read, listed and exported on its own.

use std::path::Path;
use std::process::{Command, Output};

fn analyzer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .output()
        .expect("run analyzer")
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn a_damaged_source_is_merged_without_its_bad_chunk_and_says_so() {
    let dir = ferret_tests::scratch_dir("merge-cli");
    let synth = dir.join("synth.cap");
    let o = analyzer(&[
        "synth",
        "-q",
        "--force",
        "-o",
        &s(&synth),
        "--events",
        "50000",
        "--chunk-events",
        "5000",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let victim = capture::Capture::open(&synth).expect("open").chunks()[3];
    let mut bytes = std::fs::read(&synth).expect("read");
    bytes[victim.offset as usize + capture::format::FRAME_HEADER_LEN + 40] ^= 0x20;
    std::fs::write(&synth, &bytes).expect("write");
    let fixture = ferret_tests::scenarios();
    let fixture_events = capture::Capture::open(&fixture)
        .expect("fixture")
        .event_count();

    let merged = dir.join("all.cap");
    let _ = std::fs::remove_file(&merged);
    let o = analyzer(&["merge", "-o", &s(&merged), &fixture, &s(&synth)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("not merged") && err.contains(&format!("offset {}", victim.offset)),
        "{err}"
    );
    // The output is never replaced without --force.
    let o = analyzer(&["merge", "-o", &s(&merged), &fixture]);
    assert_eq!(o.status.code(), Some(2));

    // Every intact event, each named by its recording and host.
    let m = s(&merged);
    let o = analyzer(&["events", "--json", &m]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the damage is said by the exit code"
    );
    let mut per: std::collections::BTreeMap<String, u64> = Default::default();
    for l in String::from_utf8_lossy(&o.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("json");
        *per.entry(format!(
            "{} {}",
            v["capture"].as_str().unwrap_or(""),
            v["hostname"].as_str().unwrap_or("")
        ))
        .or_default() += 1;
    }
    let want: std::collections::BTreeMap<String, u64> = [
        (format!("{m}#0 vm"), fixture_events),
        (
            format!("{m}#1 synth-web-01"),
            50_000 - u64::from(victim.event_count),
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(per, want);

    let o = analyzer(&[
        "run",
        "-q",
        "--fail-on",
        "emergency",
        "-r",
        &ferret_tests::default_rules(),
        &m,
    ]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = analyzer(&["info", &m]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("merged from   stream 1 of this file") && text.contains("not merged:"),
        "{text}"
    );
    // The file alone is not a recording; one stream is.
    let o = analyzer(&["search", &m, "evt.type:openat"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("#N"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // One recording of it is indexed and searched like a capture of its own.
    let one = format!("{m}#0");
    let o = analyzer(&[
        "search",
        "-q",
        "--json",
        "--limit",
        "1",
        &one,
        "evt.type:openat",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let hit: serde_json::Value =
        serde_json::from_str(text.lines().next().unwrap_or("")).expect("a json line");
    assert_eq!(hit["capture"], one.as_str(), "{hit}");

    let out = dir.join("export");
    let _ = std::fs::remove_dir_all(&out);
    let o = analyzer(&["export", "--format", "jsonl", "-q", "-o", &s(&out), &m]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for (name, n) in [
        ("all#0.jsonl", fixture_events),
        ("all#1.jsonl", 50_000 - u64::from(victim.event_count)),
    ] {
        let text =
            std::fs::read_to_string(out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(text.lines().count() as u64, n, "{name}");
    }
}

#[test]
fn events_of_several_captures_merge_by_time() {
    let dir = ferret_tests::scratch_dir("merge-events");
    let mut caps = Vec::new();
    for seed in ["1", "2"] {
        let p = dir.join(format!("s{seed}.cap"));
        let o = analyzer(&[
            "synth",
            "-q",
            "--force",
            "-o",
            &s(&p),
            "--events",
            "4000",
            "--seed",
            seed,
        ]);
        assert!(o.status.success());
        caps.push(s(&p));
    }
    let lines = |extra: &[&str]| -> Vec<serde_json::Value> {
        let mut args = vec!["events", "--json"];
        args.extend(extra);
        args.extend(caps.iter().map(String::as_str));
        let o = analyzer(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect()
    };
    let apart = lines(&[]);
    let merged = lines(&["--merge"]);
    assert_eq!(apart.len(), 8000);
    assert_eq!(merged.len(), 8000);
    let times: Vec<&str> = merged
        .iter()
        .map(|v| v["time"].as_str().unwrap_or(""))
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in time order");
    // The two recordings interleave (they cover the same span).
    let switches = merged
        .windows(2)
        .filter(|w| w[0]["capture"] != w[1]["capture"])
        .count();
    assert!(switches > 100, "{switches}");
    // The same events, each still numbered by its own capture.
    let key = |v: &serde_json::Value| format!("{} {}", v["capture"], v["num"]);
    let mut a: Vec<String> = apart.iter().map(key).collect();
    let mut b: Vec<String> = merged.iter().map(key).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    let first = lines(&["--merge", "--limit", "10"]);
    assert_eq!(
        first.iter().map(key).collect::<Vec<_>>(),
        merged[..10].iter().map(key).collect::<Vec<_>>()
    );
}
