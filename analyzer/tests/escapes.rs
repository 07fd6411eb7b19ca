//! Terminal escape injection: a process named or run with escape sequences
//! (clear screen, OSC 52 clipboard writes) or newlines (forged alert lines),
//! a hostile hostname and a hostile rule name are shown escaped by `run`,
//! `events --format`, `info` and `validate`, never passed to the terminal.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use capture::kind::id;
use capture::schema::CaptureMeta;
use capture::{CaptureWriterBuilder, EventHeader};

const CLEAR: &str = "\u{1b}[2J";
const CLIPBOARD: &str = "\u{1b}]52;c;aGVsbG8=\u{7}";
const FORGED: &str = "\n2026-01-01T00:00:00Z: Emergency forged alert";

fn analyzer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .output()
        .expect("run analyzer")
}

fn hostile_capture() -> PathBuf {
    let dir = ferret_tests::scratch("escapes");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let path = dir.join("hostile.cap");
    let meta = CaptureMeta {
        hostname: format!("node{CLEAR}{FORGED}"),
        ..CaptureMeta::default()
    };
    let mut w = CaptureWriterBuilder::new()
        .create(&path, &meta, None)
        .expect("create");
    let name = format!("sh{CLEAR}");
    let h = EventHeader {
        ts: 10,
        pid: 42,
        tid: 42,
        kind: id::PROC_EXEC,
        ..EventHeader::default()
    };
    w.push(&h, |a| {
        a.str(format!("/tmp/{name}"))
            .str_list([name.as_str(), CLIPBOARD, FORGED])
            .str(&name);
    })
    .expect("push");
    w.finish(0).expect("finish");
    path
}

fn assert_clean(what: &str, o: &Output) {
    for (stream, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        let t = String::from_utf8_lossy(bytes);
        assert!(
            !t.contains('\u{1b}') && !t.contains('\u{7}'),
            "{what} {stream} passes an escape sequence through: {t:?}"
        );
        assert!(
            !t.lines().any(|l| l.starts_with("2026-01-01T00:00:00Z")),
            "{what} {stream} prints a forged line: {t:?}"
        );
    }
}

fn rules(dir: &Path) -> PathBuf {
    let p = dir.join("rules.yaml");
    std::fs::write(
        &p,
        "- rule: \"Exec \\e[2J seen\"\n  desc: every exec\n  condition: evt.type = procexec\n  output: \"exec by %proc.name cmdline=%proc.cmdline\"\n  priority: WARNING\n",
    )
    .expect("rules");
    p
}

#[test]
fn no_output_obeys_escapes_from_the_capture_or_the_rules() {
    let cap = hostile_capture();
    let c = cap.to_str().expect("path");
    let r = rules(cap.parent().expect("dir"));
    let r = r.to_str().expect("path");

    let run = analyzer(&["run", "--rules", r, c]);
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("\\x1b[2J"));
    assert_clean("run", &run);

    let ev = analyzer(&[
        "events",
        c,
        "--filter",
        "evt.type = procexec",
        "--format",
        "%proc.name %proc.cmdline",
    ]);
    assert!(String::from_utf8_lossy(&ev.stdout).contains("\\x1b]52"));
    assert_clean("events --format", &ev);

    let plain = analyzer(&["events", c]);
    assert_clean("events", &plain);

    let info = analyzer(&["info", c]);
    assert!(String::from_utf8_lossy(&info.stdout).contains("node\\x1b[2J\\n"));
    assert_clean("info", &info);

    let val = analyzer(&["validate", r]);
    assert_clean("validate", &val);
}
