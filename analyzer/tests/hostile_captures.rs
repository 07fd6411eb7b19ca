//! Captures built to exhaust memory: chunk frames whose hashes are valid
//! and whose payloads are zstd bombs (a few KB that declare and inflate to
//! 256 MiB each). Reading them must stay within the decode budget however
//! many threads run, report each bomb by chunk, and keep every intact event.
//! Peak memory is the child's own (`wait4`), not a time.

use std::path::Path;
use std::process::{Command, Stdio};

use capture::format::{Codec, FrameHeader, FrameKind};
use capture::reader::{walk_frames, WalkItem};

const BOMB: u32 = 256 << 20;

/// The fixture's bytes, where its last chunk frame ends, and that frame's
/// header: frames appended there chain after it (the trailer is dropped, so
/// the file is read by scanning).
fn fixture_to_last_chunk() -> (Vec<u8>, usize, FrameHeader) {
    let data = std::fs::read(ferret_tests::fixture("v1/scenarios.cap")).expect("fixture");
    let mut end = 0usize;
    let mut last: Option<FrameHeader> = None;
    for it in walk_frames(&data) {
        if let WalkItem::Frame { offset, header } = it {
            if header.kind == FrameKind::Chunk {
                end = offset as usize + header.frame_len() as usize;
                last = Some(header);
            }
        }
    }
    (data, end, last.expect("a chunk"))
}

/// The fixture cut after its last chunk (so it is read by scanning), then
/// `n` bomb chunks chained after it.
fn bomb_file(path: &Path, n: u32) {
    let (data, end, last) = fixture_to_last_chunk();
    let mut out = data[..end].to_vec();
    let payload = zstd::bulk::compress(&vec![0u8; BOMB as usize], 19).expect("zstd");
    let (mut prev, mut no, mut seq) = (
        last.hash,
        last.frame_no + 1,
        last.first_seq + u64::from(last.event_count),
    );
    for _ in 0..n {
        let h = FrameHeader {
            kind: FrameKind::Chunk,
            stream: 0,
            codec: Codec::Zstd,
            frame_no: no,
            stored_len: payload.len() as u32,
            raw_len: BOMB,
            event_count: 1,
            first_seq: seq,
            ts_min: last.ts_max,
            ts_max: last.ts_max,
            kinds: last.kinds,
            prev_hash: prev,
            hash: [0; 32],
        };
        let (bytes, hash) = h.seal(&payload);
        out.extend_from_slice(&bytes);
        out.extend_from_slice(&payload);
        prev = hash;
        no += 1;
        seq += 1;
    }
    std::fs::write(path, out).expect("write");
}

/// Runs the analyzer; returns (exit code, stderr, peak RSS in MiB).
// The child is reaped by wait4 (for its own rusage), not by Child::wait.
#[allow(clippy::zombie_processes)]
fn analyzer(args: &[&str]) -> (i32, String, u64) {
    let child = Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("analyzer");
    let pid = child.id() as libc::pid_t;
    let mut err = child.stderr.expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 on our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid, "wait4");
    let text = reader.join().expect("stderr");
    assert!(
        libc::WIFEXITED(status),
        "killed by a signal: {status}\n{text}"
    );
    (libc::WEXITSTATUS(status), text, ru.ru_maxrss as u64 / 1024)
}

#[test]
fn zstd_bombs_stay_within_the_decode_budget_on_many_threads() {
    let dir = ferret_tests::scratch("hostile-captures");
    std::fs::create_dir_all(&dir).expect("dir");
    let f = dir.join("bombs.cap");
    bomb_file(&f, 8);
    let f = f.to_str().expect("path");
    let budget_mib = engine::run::DECODE_BUDGET >> 20;
    for args in [
        vec!["run", "-r", "rules", "--threads", "8", "--quiet", f],
        vec!["info", f],
        vec!["events", f],
    ] {
        let mut a = args.clone();
        let rules = ferret_tests::workspace().join("rules");
        let rules = rules.to_str().expect("path");
        if a[0] == "run" {
            a[2] = rules;
        }
        let (code, err, peak) = analyzer(&a);
        assert_ne!(code, 0, "{a:?}: damage must not exit 0\n{err}");
        let reported = err.matches("chunk").count();
        assert!(
            reported >= 8 || a[0] == "info",
            "{a:?}: each bomb by chunk\n{err}"
        );
        // The budget plus one chunk, the fixture's state and the binary.
        let bound = budget_mib + 256 + 200;
        assert!(peak < bound, "{a:?}: peak {peak} MiB, bound {bound} MiB");
        eprintln!("{:?}: peak {peak} MiB", a[0]);
    }
    // The intact events are all still there.
    let (_, _, _) = analyzer(&["verify", f]);
    let out = Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(["info", "--json", f])
        .output()
        .expect("info");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["events"], 25_214, "every intact event: {v}");
    assert_eq!(v["damaged_chunks"], 8);
}

#[test]
fn a_hash_valid_chunk_of_garbage_is_named_with_what_is_wrong() {
    // A chunk frame whose hash is right but whose payload is not a chunk:
    // the reader must say what it found, by chunk and offset.
    let (data, end, last) = fixture_to_last_chunk();
    let payload: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let h = FrameHeader {
        kind: FrameKind::Chunk,
        stream: 0,
        codec: Codec::None,
        frame_no: last.frame_no + 1,
        stored_len: payload.len() as u32,
        raw_len: payload.len() as u32,
        event_count: 3,
        first_seq: last.first_seq + u64::from(last.event_count),
        ts_min: last.ts_max,
        ts_max: last.ts_max,
        kinds: last.kinds,
        prev_hash: last.hash,
        hash: [0; 32],
    };
    let (bytes, _) = h.seal(&payload);
    let mut out = data[..end].to_vec();
    out.extend_from_slice(&bytes);
    out.extend_from_slice(&payload);
    let f = ferret_tests::scratch("hostile-captures");
    std::fs::create_dir_all(&f).expect("dir");
    let f = f.join("garbage.cap");
    std::fs::write(&f, out).expect("write");
    let (code, err, _) = analyzer(&["events", f.to_str().expect("path")]);
    assert_eq!(code, 1, "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("chunk 2"))
        .unwrap_or_else(|| panic!("the garbage chunk is not named: {err}"));
    assert!(
        !line.contains("without error information") && line.contains("offset"),
        "{line}"
    );
}
