//! Recorder benchmark (root only): a syscall storm from several threads,
//! recorded at increasing paced rates, then unpaced. For each level: offered
//! and recorded events/s, drops, the recorder's CPU use, bytes per event, and
//! at full speed the workload's slowdown against an untraced run.
//!
//! A process storm follows: threads that spawn `/bin/true` as fast as they
//! can (fork, exec, exit, wait), untraced and recorded (the recorder follows
//! the benchmark's process tree), for the cost of the kernel facts read at
//! every fork and exec.
//!
//! `cargo bench -p recorder --bench storm` (about a minute and a half);
//! `FERRET_STORM_SECS=N` sets the seconds per level (default 3),
//! `FERRET_STORM_THREADS=N` the storm threads (default 2),
//! `FERRET_STORM_RECORDER=PATH` another recorder binary (before/after).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use capture::kind::id;
use capture::{ArgValue, Capture};

/// The storm: each thread names itself `ferret-storm` (the recorder filters
/// on that comm) and calls close(-1) and read(/dev/zero, 64) in turn, paced
/// to `rate` calls/s in total when given. Returns (calls, seconds).
fn storm(threads: usize, secs: f64, rate: Option<f64>, read_size: usize) -> (u64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (stop, count) = (stop.clone(), count.clone());
            std::thread::spawn(move || {
                // SAFETY: PR_SET_NAME with a NUL-terminated name.
                unsafe {
                    libc::prctl(
                        libc::PR_SET_NAME,
                        c"ferret-storm".as_ptr() as libc::c_ulong,
                        0,
                        0,
                        0,
                    )
                };
                let zero = std::fs::File::open("/dev/zero").expect("/dev/zero");
                let fd = std::os::fd::AsRawFd::as_raw_fd(&zero);
                let mut buf = vec![0u8; read_size];
                let per_thread = rate.map(|r| r / threads as f64);
                let t0 = Instant::now();
                let mut n: u64 = 0;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..500 {
                        // SAFETY: plain syscalls on valid buffers.
                        unsafe {
                            libc::close(-1);
                            libc::read(fd, buf.as_mut_ptr() as *mut _, buf.len());
                        }
                    }
                    n += 1000;
                    if let Some(r) = per_thread {
                        let due = Duration::from_secs_f64(n as f64 / r);
                        let el = t0.elapsed();
                        if due > el {
                            std::thread::sleep(due - el);
                        }
                    }
                }
                count.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("storm thread");
    }
    (count.load(Ordering::Relaxed), start.elapsed().as_secs_f64())
}

fn cpu_ticks(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = s.rfind(')').map(|i| &s[i + 1..]).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    f.get(11).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
}

struct Level {
    offered: f64,
    recorded: f64,
    lost: u64,
    cpu: f64,
    bytes_per_event: f64,
    storm_rate: f64,
}

fn level(threads: usize, secs: f64, rate: Option<f64>, heavy: bool) -> Level {
    let out = std::env::temp_dir().join("ferret-storm.cap");
    let mut rec = Command::new(recorder_bin())
        .args([
            "--out",
            out.to_str().expect("path"),
            "--comm",
            "ferret-storm",
            "--quiet",
        ])
        .args(if heavy {
            ["--snaplen", "4096", "--buffer-size", "8M"]
        } else {
            ["--snaplen", "64", "--buffer-size", "64M"]
        })
        .stderr(Stdio::piped())
        .spawn()
        .expect("recorder");
    let mut err = BufReader::new(rec.stderr.take().expect("stderr"));
    let mut line = String::new();
    while err.read_line(&mut line).expect("read") > 0 && !line.contains("recording") {
        line.clear();
    }
    let c0 = cpu_ticks(rec.id());
    let (calls, el) = storm(threads, secs, rate, if heavy { 4096 } else { 64 });
    std::thread::sleep(Duration::from_millis(300));
    let c1 = cpu_ticks(rec.id());
    // SAFETY: signalling our child.
    unsafe { libc::kill(rec.id() as i32, libc::SIGINT) };
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut err, &mut rest);
    rec.wait().expect("wait");
    let cap = Capture::open(&out).expect("open");
    let (mut recorded, mut lost) = (0u64, 0u64);
    cap.for_each_event(|e| match e.kind {
        id::CLOSE | id::READ => recorded += 1,
        id::LOSS => {
            if let Some(ArgValue::Uint(n)) = e.arg("count") {
                lost += n;
            }
        }
        _ => {}
    });
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let l = Level {
        offered: calls as f64 / el,
        recorded: recorded as f64 / el,
        lost,
        cpu: (c1 - c0) as f64 / hz / (el + 0.3) * 100.0,
        bytes_per_event: cap.bytes().len() as f64 / cap.event_count().max(1) as f64,
        storm_rate: calls as f64 / el,
    };
    let _ = std::fs::remove_file(&out);
    l
}

/// The recorder under test.
fn recorder_bin() -> String {
    std::env::var("FERRET_STORM_RECORDER").unwrap_or_else(|_| env!("CARGO_BIN_EXE_recorder").into())
}

/// Threads spawning `/bin/true` and waiting for it; returns (spawns, seconds).
fn proc_storm(threads: usize, secs: f64) -> (u64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (stop, count) = (stop.clone(), count.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let st = Command::new("/bin/true").status().expect("spawn /bin/true");
                    assert!(st.success());
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("join");
    }
    (count.load(Ordering::Relaxed), start.elapsed().as_secs_f64())
}

/// The process storm, untraced and recorded.
fn run_procs(threads: usize, secs: f64) {
    let (n0, e0) = proc_storm(threads, secs);
    let untraced = n0 as f64 / e0;
    let out = std::env::temp_dir().join("ferret-proc-storm.cap");
    let me = std::process::id().to_string();
    let mut rec = Command::new(recorder_bin())
        .args([
            "--out",
            out.to_str().expect("path"),
            "--pid",
            &me,
            "--quiet",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .expect("recorder");
    let mut err = BufReader::new(rec.stderr.take().expect("stderr"));
    let mut line = String::new();
    while err.read_line(&mut line).expect("read") > 0 && !line.contains("recording") {
        line.clear();
    }
    let c0 = cpu_ticks(rec.id());
    let (n1, e1) = proc_storm(threads, secs);
    std::thread::sleep(Duration::from_millis(300));
    let c1 = cpu_ticks(rec.id());
    // SAFETY: signalling our child.
    unsafe { libc::kill(rec.id() as i32, libc::SIGINT) };
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut err, &mut rest);
    rec.wait().expect("wait");
    let cap = Capture::open(&out).expect("open");
    let (mut forks, mut execs, mut lost) = (0u64, 0u64, 0u64);
    cap.for_each_event(|e| match e.kind {
        id::PROC_FORK => forks += 1,
        id::PROC_EXEC if e.arg("filename") == Some(ArgValue::Str(b"/bin/true")) => execs += 1,
        id::LOSS => {
            if let Some(ArgValue::Uint(n)) = e.arg("count") {
                lost += n;
            }
        }
        _ => {}
    });
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    println!();
    println!("processes: {threads} threads spawning /bin/true, {secs} s");
    println!(
        "untraced {:.0} spawns/s; recorded {:.0} spawns/s ({:.1}% of untraced); {} forks and {} execs of /bin/true recorded for {} spawns; {} lost; recorder CPU {:.0}%; {:.1} B/event",
        untraced,
        n1 as f64 / e1,
        (n1 as f64 / e1) * 100.0 / untraced,
        forks,
        execs,
        n1,
        lost,
        (c1 - c0) as f64 / hz / (e1 + 0.3) * 100.0,
        cap.bytes().len() as f64 / cap.event_count().max(1) as f64,
    );
    let _ = std::fs::remove_file(&out);
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("storm benchmark skipped: needs root (it loads the recorder's eBPF programs)");
        return;
    }
    let secs: f64 = std::env::var("FERRET_STORM_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    let threads: usize = std::env::var("FERRET_STORM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    for heavy in [false, true] {
        run(threads, secs, heavy);
    }
    run_procs(threads, secs);
}

fn run(threads: usize, secs: f64, heavy: bool) {
    let (calls, el) = storm(threads, secs, None, if heavy { 4096 } else { 64 });
    let untraced = calls as f64 / el;
    println!();
    if heavy {
        println!("heavy: read(4096) with snaplen 4096 and an 8 MiB ring buffer");
    } else {
        println!("light: close(-1) + read(64), snaplen 64, 64 MiB ring buffer");
    }
    println!(
        "storm threads {threads}, {secs} s per level, untraced {:.2} M calls/s",
        untraced / 1e6
    );
    println!(
        "{:>10} {:>10} {:>10} {:>10} {:>8} {:>8}",
        "offered/s", "recorded/s", "lost", "loss %", "rec CPU%", "B/event"
    );
    let rates: &[Option<f64>] = if heavy {
        &[
            Some(200e3),
            Some(400e3),
            Some(600e3),
            Some(800e3),
            Some(1e6),
            None,
        ]
    } else {
        &[Some(250e3), Some(500e3), Some(1e6), Some(1.5e6), None]
    };
    for &rate in rates {
        let l = level(threads, secs, rate, heavy);
        let total = l.recorded * secs + l.lost as f64;
        println!(
            "{:>10.0} {:>10.0} {:>10} {:>9.2}% {:>8.0} {:>8.2}{}",
            l.offered,
            l.recorded,
            l.lost,
            if total > 0.0 {
                l.lost as f64 * 100.0 / total
            } else {
                0.0
            },
            l.cpu,
            l.bytes_per_event,
            if rate.is_none() {
                format!(
                    "   (unpaced: workload at {:.1}% of untraced speed)",
                    l.storm_rate * 100.0 / untraced
                )
            } else {
                String::new()
            }
        );
    }
}
