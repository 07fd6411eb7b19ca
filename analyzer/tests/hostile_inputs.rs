//! The sharp edges of hostile or odd input, one regression each: special
//! files, empty and foreign `.scap` files, a capture truncated while read,
//! rule files that break Falco's schema or YAML's character rules, a broken
//! stderr, thread counts, and damage outside the chunks.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn analyzer(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("analyzer");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn scratch(name: &str) -> PathBuf {
    let d = ferret_tests::scratch("hostile-inputs");
    std::fs::create_dir_all(&d).expect("dir");
    d.join(name)
}

#[test]
fn special_files_are_refused_at_once_with_what_they_are() {
    let fifo = scratch("fifo");
    let _ = std::fs::remove_file(&fifo);
    let c = std::ffi::CString::new(fifo.to_str().expect("path")).expect("c");
    // SAFETY: mkfifo on a path we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // A directory stands for the captures in it; one without any is refused.
    let dir = scratch("no-captures");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("notes.txt"), "not a capture").expect("write");
    let rules = ferret_tests::workspace().join("rules");
    let rules = rules.to_str().expect("p");
    let out = scratch("never.cap");
    let out = out.to_str().expect("p");
    for (path, what) in [
        (fifo.to_str().expect("p"), "a FIFO"),
        (dir.to_str().expect("p"), "a directory"),
        ("/dev/zero", "a character device"),
    ] {
        for a in [
            vec!["info", path],
            vec!["run", "-r", rules, path],
            vec!["import", path, "-o", out],
        ] {
            // A FIFO without a writer would block an ordinary open forever.
            let (code, _, err) = analyzer(&a);
            assert_eq!(code, 2, "{a:?}: {err}");
            assert!(err.contains(what), "{a:?}: {err}");
            assert!(!Path::new(out).exists(), "{a:?} wrote an output");
        }
    }
}

#[test]
fn empty_and_foreign_scap_files_are_not_imported() {
    let empty = scratch("empty.scap");
    std::fs::write(&empty, b"").expect("write");
    let foreign = scratch("foreign.scap");
    std::fs::write(
        &foreign,
        b"\x11\x22\x33\x44\x20\x00\x00\x00 not a pcapng section header...",
    )
    .expect("write");
    for (f, why) in [
        (&empty, "empty file"),
        (&foreign, "no section header block"),
    ] {
        let out = scratch("imported.cap");
        let _ = std::fs::remove_file(&out);
        let (code, _, err) = analyzer(&[
            "import",
            f.to_str().expect("p"),
            "-o",
            out.to_str().expect("p"),
        ]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(why), "{err}");
        assert!(!out.exists());
    }
}

#[test]
fn a_capture_truncated_while_read_is_an_error_not_a_signal() {
    let big = scratch("big.cap");
    let (code, _, err) = analyzer(&[
        "synth",
        "-o",
        big.to_str().expect("p"),
        "--events",
        "3000000",
        "--force",
    ]);
    assert_eq!(code, 0, "{err}");
    // Truncate it while `events` streams it (repeat until the cut lands
    // during the read: the read takes seconds, the cut a moment).
    let mut seen = false;
    for _ in 0..5 {
        let copy = scratch("cut.cap");
        std::fs::copy(&big, &copy).expect("copy");
        let mut child = Command::new(env!("CARGO_BIN_EXE_analyzer"))
            .args(["events", copy.to_str().expect("p")])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("events");
        std::thread::sleep(std::time::Duration::from_millis(300));
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&copy)
            .expect("open");
        f.set_len(100_000).expect("truncate");
        let st = child.wait().expect("wait");
        let mut err = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err)
            .expect("read");
        assert!(st.code().is_some(), "killed by a signal: {st:?}");
        if st.code() == Some(2) && err.contains("shrank while it was being read") {
            seen = true;
            break;
        }
    }
    assert!(seen, "the truncation was never met while reading");
}

#[test]
fn rule_files_are_checked_against_falcos_schema_and_characters() {
    let f = scratch("schema.yaml");
    std::fs::write(
        &f,
        "- list: a\n  items: [b, x]\n- list: b\n  items: [a, y]\n\
         - rule: r\n  desc: d\n  condition: evt.type=open and proc.name in (a)\n  output: [a, b]\n  priority: INFO\n  enabled: maybe\n  tags: shell\n  colour: red\n",
    )
    .expect("write");
    let (code, out, _) = analyzer(&["validate", "--json", f.to_str().expect("p")]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let diags = v["diagnostics"].as_array().expect("diagnostics");
    let at = |needle: &str| {
        diags
            .iter()
            .find(|d| d["message"].as_str().is_some_and(|m| m.contains(needle)))
            .map(|d| {
                (
                    d["severity"].as_str().unwrap_or("").to_string(),
                    d["line"].as_u64().unwrap_or(0),
                )
            })
            .unwrap_or_else(|| panic!("no diagnostic with {needle:?}: {diags:?}"))
    };
    assert_eq!(at("'output' must be a string"), ("error".into(), 8));
    assert_eq!(at("'enabled' must be a boolean"), ("error".into(), 10));
    assert_eq!(at("'tags' must be a list of strings"), ("error".into(), 11));
    assert_eq!(at("unknown key 'colour'"), ("warning".into(), 12));
    // Both lists of the cycle are named, each at its own definition.
    let cyc: Vec<u64> = diags
        .iter()
        .filter(|d| {
            d["message"]
                .as_str()
                .is_some_and(|m| m.contains("refers to itself"))
        })
        .map(|d| d["line"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(cyc, [2, 4], "{diags:?}");
    assert_eq!(v["rules"], 0, "the bad rule is not loaded");

    let bom = scratch("bom.yaml");
    std::fs::write(&bom, "\u{feff}- list: a\n  items: [x]\n").expect("write");
    let (code, _, err) = analyzer(&["validate", bom.to_str().expect("p")]);
    assert_eq!(code, 0, "{err}");
    for (name, bytes, why) in [
        (
            "ctl.yaml",
            &b"- list: a\n  items: [x\x01]\n"[..],
            "control character U+0001",
        ),
        (
            "latin1.yaml",
            &b"- list: a\n  items: [x\xff]\n"[..],
            "not UTF-8",
        ),
    ] {
        let p = scratch(name);
        std::fs::write(&p, bytes).expect("write");
        let (code, out, _) = analyzer(&["validate", "--json", p.to_str().expect("p")]);
        assert_eq!(code, 1);
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        let d = &v["diagnostics"][0];
        assert!(d["message"].as_str().expect("m").contains(why), "{d}");
        assert_eq!(
            (d["line"].as_u64(), d["column"].as_u64()),
            (Some(2), Some(12)),
            "{d}"
        );
    }
}

#[test]
fn a_broken_stderr_does_not_panic_and_threads_are_bounded() {
    let cap = ferret_tests::fixture("v1/scenarios.cap");
    let rules = ferret_tests::workspace().join("rules");
    let mut child = Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args([
            "run",
            "-r",
            rules.to_str().expect("p"),
            cap.to_str().expect("p"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    drop(child.stderr.take()); // the reader goes away: writes get EPIPE
    let st = child.wait().expect("wait");
    assert_eq!(st.code(), Some(1), "alerts, not a panic (101): {st:?}");
    let (code, _, err) = analyzer(&[
        "run",
        "-r",
        rules.to_str().expect("p"),
        "--threads",
        "100000",
        cap.to_str().expect("p"),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("at most"), "{err}");
}

#[test]
fn damage_outside_the_chunks_is_named_by_every_command() {
    let src = std::fs::read(ferret_tests::fixture("v1/scenarios.cap")).expect("fixture");
    let mut d = src.clone();
    // A byte of the metadata frame's payload (after the 64-byte file header
    // and the 152-byte frame header).
    d[64 + 152 + 10] ^= 0xff;
    let f = scratch("meta-damaged.cap");
    std::fs::write(&f, &d).expect("write");
    let p = f.to_str().expect("p");
    for a in [
        vec!["verify", p],
        vec!["events", p, "--limit", "1"],
        vec!["info", p],
    ] {
        let (code, out, err) = analyzer(&a);
        assert_eq!(code, 1, "{a:?}");
        assert!(
            (out.clone() + &err).contains("metadata frame damaged"),
            "{a:?}: {out}{err}"
        );
    }
    // `run` does not let damage pass for "no alert": 3, where the intact
    // capture gives 0.
    let rules = ferret_tests::workspace().join("rules");
    let rules = rules.to_str().expect("p");
    let intact = ferret_tests::fixture("v1/scenarios.cap");
    let (code, _, err) = analyzer(&[
        "run",
        "-r",
        rules,
        "--fail-on",
        "emergency",
        "--quiet",
        intact.to_str().expect("p"),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = analyzer(&["run", "-r", rules, "--fail-on", "emergency", "--quiet", p]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("metadata frame damaged"), "{err}");
}
