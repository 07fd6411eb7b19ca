//! `recorder`: Ferret's flight recorder. Loads the eBPF probes, snapshots
//! /proc, and streams completed syscalls, process lifecycle and drops into a
//! capture file until stopped (SIGINT/SIGTERM, --duration, --max-events).
//!
//! Every sealed chunk is on disk at once (chunks seal at least every second),
//! so a recorder killed with SIGKILL leaves a capture that reads back up to its
//! last second; a clean stop writes the index and prints the chain head.

mod btf;
mod containers;
mod convert;
mod loader;
mod procfs;
mod syscalls;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use capture::schema::CaptureMeta;
use capture::writer::{now_unix_ns, CaptureWriter, CaptureWriterBuilder};
use clap::Parser;

/// Records Linux system calls, process lifecycle and drops into a Ferret capture.
///
/// Needs root on an x86_64 kernel >= 5.8 with BTF. Captures the syscalls of
/// every process except itself (filters below narrow that), with their
/// arguments and return values, plus fork/exec/exit from the scheduler, and
/// writes loss records when the kernel ring buffer overflows.
#[derive(Parser, Debug)]
#[command(name = "recorder", version, about, long_about)]
struct Cli {
    /// Output capture file. With rotation, files are named
    /// `<stem>.<NNNN>.<ext>` beside it. Created new with mode 0600: a
    /// symbolic link at the path is never followed and an existing file is
    /// never overwritten (see --force).
    #[arg(short, long)]
    out: PathBuf,
    /// Replace an existing output file (a regular file only; a symbolic link
    /// is still refused).
    #[arg(long)]
    force: bool,
    /// Record only this process and its descendants (repeatable).
    #[arg(long = "pid")]
    pids: Vec<u32>,
    /// Record only processes with this command name (repeatable; 15 chars max, as the kernel keeps).
    #[arg(long = "comm")]
    comms: Vec<String>,
    /// Never record processes with this command name (repeatable).
    #[arg(long = "exclude-comm")]
    exclude_comms: Vec<String>,
    /// Record only this cgroup (v2): a path in the unified hierarchy (`/system.slice/x.scope`) or a cgroup id (repeatable).
    #[arg(long = "cgroup")]
    cgroups: Vec<String>,
    /// Bytes of read/write/send/recv data kept per event (0..=4096).
    #[arg(long, default_value_t = 80)]
    snaplen: u32,
    /// Stop after this many seconds.
    #[arg(long)]
    duration: Option<f64>,
    /// Stop after this many events.
    #[arg(long)]
    max_events: Option<u64>,
    /// Start a new file when the current one reaches this size (bytes; k, M, G suffixes).
    #[arg(long, value_parser = parse_size)]
    rotate_size: Option<u64>,
    /// Start a new file every this many seconds.
    #[arg(long)]
    rotate_time: Option<u64>,
    /// With rotation, keep only the newest N files (a ring); 0 keeps all.
    #[arg(long, default_value_t = 0)]
    ring: u32,
    /// Record every other syscall as a generic event (number, raw arguments, return).
    #[arg(long)]
    generic: bool,
    /// Kernel ring buffer size in bytes (a power of two multiple of the page size; k, M suffixes).
    #[arg(long, value_parser = parse_size, default_value = "64M")]
    buffer_size: u64,
    /// Do not read container metadata from the runtimes (Docker, Podman,
    /// containerd, CRI-O). By default every running container, and every
    /// container a recorded process starts in, gets a record with its
    /// name, image, labels, mounts, address and Kubernetes pod.
    #[arg(long)]
    no_container_metadata: bool,
    /// fsync every sealed chunk (survives power loss, costs throughput).
    #[arg(long)]
    sync: bool,
    /// No status line.
    #[arg(short, long)]
    quiet: bool,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.trim().chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('m' | 'M') => (&s[..s.len() - 1], 1 << 20),
        Some('g' | 'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.trim()
        .parse::<u64>()
        .map(|n| n * mult)
        .map_err(|e| format!("bad size {s:?}: {e}"))
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("recorder: {e:#}");
        std::process::exit(2);
    }
}

/// Monotonic boot-time clock (the eBPF side's `bpf_ktime_get_boot_ns`).
fn boot_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn uname() -> (String, String, String) {
    // SAFETY: utsname is plain data; uname fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    unsafe { libc::uname(&mut u) };
    let s = |f: &[libc::c_char]| {
        let b: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&b).into_owned()
    };
    (s(&u.nodename), s(&u.release), s(&u.machine))
}

struct Segments {
    base: PathBuf,
    rotating: bool,
    ring: u32,
    index: u32,
    files: std::collections::VecDeque<PathBuf>,
}

impl Segments {
    fn path(&self) -> PathBuf {
        if !self.rotating {
            return self.base.clone();
        }
        let stem = self
            .base
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "capture".into());
        let ext = self
            .base
            .extension()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "cap".into());
        self.base
            .with_file_name(format!("{stem}.{:04}.{ext}", self.index))
    }
}

/// Flags that would be accepted and then silently do nothing useful.
fn validate(cli: &Cli) -> Result<()> {
    for c in cli.comms.iter().chain(&cli.exclude_comms) {
        if c.is_empty() || c.len() > 15 {
            bail!(
                "--comm/--exclude-comm {c:?}: the kernel keeps at most 15 bytes of a command name, so this could never match"
            );
        }
    }
    let rotating = cli.rotate_size.is_some() || cli.rotate_time.is_some();
    if cli.ring > 0 && !rotating {
        bail!("--ring needs --rotate-size or --rotate-time (without rotation there is one file)");
    }
    if let Some(sz) = cli.rotate_size {
        if sz < 64 << 10 {
            bail!("--rotate-size must be at least 64k (a file holds a header, metadata and a snapshot before any event)");
        }
    }
    if cli.rotate_time == Some(0) {
        bail!("--rotate-time must be at least 1 second");
    }
    if let Some(d) = cli.duration {
        if !(d.is_finite() && d > 0.0) {
            bail!("--duration must be a positive number of seconds");
        }
    }
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    if cli.snaplen > 4096 {
        bail!("--snaplen must be at most 4096");
    }
    // The kernel caps a BPF ring buffer below 4 GiB; 2 GiB is the largest
    // power of two a u32 size holds.
    let ring_bytes = match u32::try_from(cli.buffer_size) {
        Ok(b) if b.is_power_of_two() && (4096..=1 << 31).contains(&b) => b,
        _ => bail!(
            "--buffer-size must be a power of two between 4k and 2G (got {} bytes)",
            cli.buffer_size
        ),
    };
    validate(&cli)?;
    syscalls::check_table().map_err(anyhow::Error::msg)?;
    loader::preflight()?;
    let filters = loader::Filters {
        pids: cli.pids.clone(),
        comms: cli.comms.clone(),
        exclude_comms: cli.exclude_comms.clone(),
        cgroups: cli.cgroups.clone(),
    };
    let mut probes = loader::load(cli.snaplen, ring_bytes, cli.generic, &filters)?;

    // SAFETY: installing an async-signal-safe handler that only stores an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }

    let (host, release, arch) = uname();
    let mut filter_desc: Vec<String> = cli
        .pids
        .iter()
        .map(|p| format!("pid={p} (and descendants)"))
        .collect();
    filter_desc.extend(cli.comms.iter().map(|c| format!("comm={c}")));
    filter_desc.extend(cli.exclude_comms.iter().map(|c| format!("comm!={c}")));
    filter_desc.extend(cli.cgroups.iter().map(|c| format!("cgroup={c}")));
    let meta_for = |segment: u32| CaptureMeta {
        hostname: host.clone(),
        kernel_release: release.clone(),
        arch: arch.clone(),
        num_cpus: std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1),
        boot_time_unix_ns: now_unix_ns().saturating_sub(boot_ns()),
        recorder: format!("ferret-recorder {}", env!("CARGO_PKG_VERSION")),
        command_line: std::env::args().collect(),
        filters: filter_desc.clone(),
        snaplen: cli.snaplen,
        start_unix_ns: now_unix_ns(),
        segment,
        source: "ferret-recorder".into(),
    };
    let mut seg = Segments {
        base: cli.out.clone(),
        rotating: cli.rotate_size.is_some() || cli.rotate_time.is_some(),
        ring: cli.ring,
        index: 0,
        files: Default::default(),
    };
    let open_segment = |seg: &mut Segments| -> Result<(CaptureWriter<std::fs::File>, Vec<String>)> {
        let path = seg.path();
        let snap = procfs::snapshot(std::process::id());
        let mut cgroups: Vec<String> = snap.processes.iter().map(|p| p.cgroup.clone()).collect();
        cgroups.sort();
        cgroups.dedup();
        let w = CaptureWriterBuilder::new()
            .sync_on_seal(cli.sync)
            .output(capture::outfile::OutputOptions {
                force: cli.force,
                ..Default::default()
            })
            .create(&path, &meta_for(seg.index), Some(&snap))
            .with_context(|| format!("creating {}", path.display()))?;
        seg.files.push_back(path);
        if seg.ring > 0 {
            while seg.files.len() > seg.ring as usize {
                if let Some(old) = seg.files.pop_front() {
                    let _ = std::fs::remove_file(old);
                }
            }
        }
        Ok((w, cgroups))
    };
    let (mut w, cgroups) = open_segment(&mut seg)?;
    let mut conv = convert::Converter::new(cli.generic);
    conv.lacks = probes.lacks.clone();
    if !cli.no_container_metadata {
        let mut t = containers::Tracker::start(container_meta::Host::system());
        for p in t.initial(&cgroups, boot_ns(), &mut w)? {
            eprintln!("recorder: container metadata: {p}");
        }
        conv.containers = Some(t);
    }
    eprintln!(
        "recorder: recording (pid {}) to {}",
        std::process::id(),
        seg.path().display()
    );

    let started = Instant::now();
    let mut seg_started = Instant::now();
    let mut last_tick = Instant::now();
    let mut last_status = Instant::now();
    let ncpu = libc_ncpus();
    let mut last_drops = vec![0u64; ncpu];
    let mut last_drop_ts = boot_ns();
    let mut total = Totals::default();
    let tty = std::io::stderr().is_terminal();
    let status_every = if tty {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(10)
    };
    let mut prev_events = 0u64;
    let mut prev_t = Instant::now();

    loop {
        let mut n = 0;
        let limit = cli.max_events.map(|m| m.saturating_sub(total.events));
        if limit.is_some_and(|l| w.stats().events >= l) {
            break;
        }
        while let Some(item) = probes.ring.next() {
            conv.record(&item, &mut w)?;
            n += 1;
            if n >= 65_536 || limit.is_some_and(|l| w.stats().events >= l) {
                break;
            }
        }
        if last_tick.elapsed() >= Duration::from_millis(100) || STOP.load(Ordering::SeqCst) {
            last_tick = Instant::now();
            let now = boot_ns();
            // Drops: per-CPU counters, turned into loss records.
            if let Ok(v) = probes.drops.get(&0, 0) {
                for (cpu, &c) in v.iter().enumerate().take(ncpu) {
                    if c > last_drops[cpu] {
                        w.push_loss(now, cpu as u16, c - last_drops[cpu], last_drop_ts, now)?;
                        last_drops[cpu] = c;
                    }
                }
            }
            last_drop_ts = now;
            conv.flush_stale(now);
            if let Some(t) = conv.containers.as_mut() {
                t.tick(now, &mut w)?;
            }
            w.seal_if_older(now)?;
            let events = total.events + w.stats().events;
            let stop = STOP.load(Ordering::SeqCst)
                || limit.is_some_and(|l| w.stats().events >= l)
                || cli
                    .duration
                    .is_some_and(|d| started.elapsed().as_secs_f64() >= d)
                || cli.max_events.is_some_and(|m| events >= m);
            if !cli.quiet && last_status.elapsed() >= status_every {
                let dt = prev_t.elapsed().as_secs_f64().max(1e-6);
                let rate = (events - prev_events) as f64 / dt;
                prev_events = events;
                prev_t = Instant::now();
                last_status = Instant::now();
                let st = w.stats();
                let line = format!(
                    "recorder: {events} events ({:.0}/s), {} dropped, {} written, ratio {:.1}",
                    rate,
                    total.lost + st.lost,
                    human(total.bytes + st.file_bytes),
                    st.raw_bytes as f64 / st.file_bytes.max(1) as f64
                );
                let mut e = std::io::stderr().lock();
                let _ = if tty {
                    write!(e, "\r\x1b[K{line}")
                } else {
                    writeln!(e, "{line}")
                };
            }
            if stop {
                break;
            }
            let rotate = cli.rotate_size.is_some_and(|s| w.stats().file_bytes >= s)
                || cli
                    .rotate_time
                    .is_some_and(|t| seg_started.elapsed().as_secs() >= t);
            if rotate {
                conv.finish();
                let (_, sum) = w.finish(now_unix_ns())?;
                total.add(&sum);
                seg.index += 1;
                let (nw, cgroups) = open_segment(&mut seg)?;
                w = nw;
                if let Some(t) = conv.containers.as_mut() {
                    t.initial(&cgroups, boot_ns(), &mut w)?;
                }
                seg_started = Instant::now();
            }
        }
        if n == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    // Drain what the kernel already produced (up to --max-events).
    let limit = cli.max_events.map(|m| m.saturating_sub(total.events));
    while limit.is_none_or(|l| w.stats().events < l) {
        let Some(item) = probes.ring.next() else {
            break;
        };
        conv.record(&item, &mut w)?;
    }
    conv.finish();
    let path = seg.path();
    let (_, sum) = w.finish(now_unix_ns())?;
    total.add(&sum);
    if tty && !cli.quiet {
        eprintln!();
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "recorder: done: {} events in {:.1}s ({:.0}/s), {} lost, {} in {} file(s), {} kernel records ({} with data cut at the snap length or size limits)",
        total.events,
        secs,
        total.events as f64 / secs.max(1e-6),
        total.lost,
        human(total.bytes),
        seg.index + 1,
        conv.stats.records,
        conv.stats.truncated
    );
    if let Some(t) = &conv.containers {
        let c = t.stats;
        eprintln!(
            "recorder: containers: {} record(s) ({} read ahead by the watcher, {} incomplete at first, {} completed later), slowest on-disk lookup {:.1} ms",
            c.containers,
            c.from_watcher,
            c.partial,
            c.completed,
            c.lookup_max_ns as f64 / 1e6
        );
    }
    eprintln!(
        "recorder: {} chain head {}",
        path.display(),
        capture::format::hex(&sum.chain_head)
    );
    Ok(())
}

#[derive(Default)]
struct Totals {
    events: u64,
    lost: u64,
    bytes: u64,
}

impl Totals {
    fn add(&mut self, s: &capture::FinishSummary) {
        self.events += s.stats.events;
        self.lost += s.stats.lost;
        self.bytes += s.stats.file_bytes;
    }
}

fn libc_ncpus() -> usize {
    // Possible CPUs, the size of per-CPU map values.
    aya::util::nr_cpus().unwrap_or_else(|_| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}

fn human(b: u64) -> String {
    let b = b as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.0} kB", b / 1e3)
    }
}
