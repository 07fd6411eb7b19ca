//! Loading and attaching the eBPF programs, and filling their maps: syscall
//! specs, configuration (own pid, snap length, tracepoint field offsets) and
//! filters. Checks the host first and says what is missing.

use std::collections::HashMap as StdHashMap;

use anyhow::{bail, Context, Result};
use aya::maps::{Array, HashMap, MapData, PerCpuArray, RingBuf};
use aya::programs::{RawTracePoint, TracePoint};
use aya::{Ebpf, EbpfLoader};
use recorder_common::{
    Config, KernelOffsets, SysSpec, FILTER_CGROUP, FILTER_COMM_EXCLUDE, FILTER_COMM_INCLUDE,
    FILTER_PID, MAX_SYSCALLS, SPEC_GENERIC,
};

use crate::syscalls;

static PROBES: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/ferret-probes.o"));

/// What the kernel side should record.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    /// Record only these processes and their descendants.
    pub pids: Vec<u32>,
    /// Record only these command names.
    pub comms: Vec<String>,
    /// Never record these command names.
    pub exclude_comms: Vec<String>,
    /// Record only these cgroups (paths in the cgroup v2 hierarchy, or ids).
    pub cgroups: Vec<String>,
}

/// The loaded programs and the maps the recorder reads.
pub struct Probes {
    _ebpf: Ebpf,
    /// The event ring buffer.
    pub ring: RingBuf<MapData>,
    /// Per-CPU drop counters.
    pub drops: PerCpuArray<MapData, u64>,
    /// What the kernel's BTF lacked, for the converter.
    pub lacks: crate::convert::KernelLacks,
}

/// Checks what the recorder needs from the host, with a message per lack.
pub fn preflight() -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the recorder must run as root (it loads eBPF programs: CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN are needed)");
    }
    if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        bail!("this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): a kernel built with CONFIG_DEBUG_INFO_BTF=y is needed");
    }
    let rel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut it = rel
        .trim()
        .split(['.', '-'])
        .map(|x| x.parse::<u32>().unwrap_or(0));
    let (maj, min) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    if (maj, min) < (5, 8) {
        bail!(
            "kernel {} is too old: the BPF ring buffer needs Linux 5.8 or later",
            rel.trim()
        );
    }
    if !cfg!(target_arch = "x86_64") {
        bail!("only x86_64 is supported (the probes read x86_64 pt_regs and syscall numbers)");
    }
    ensure_tracefs()
}

fn ensure_tracefs() -> Result<()> {
    if std::path::Path::new("/sys/kernel/tracing/events/sched").exists() {
        return Ok(());
    }
    let src = c"nodev";
    let dst = c"/sys/kernel/tracing";
    let fs = c"tracefs";
    // SAFETY: valid NUL-terminated strings, null data.
    let r = unsafe { libc::mount(src.as_ptr(), dst.as_ptr(), fs.as_ptr(), 0, std::ptr::null()) };
    if r != 0 {
        bail!(
            "tracefs is not mounted and mounting it on /sys/kernel/tracing failed: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// Field offsets of a tracepoint, from its tracefs format file.
fn tp_fields(cat: &str, name: &str) -> Result<StdHashMap<String, u32>> {
    let path = format!("/sys/kernel/tracing/events/{cat}/{name}/format");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let mut m = StdHashMap::new();
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("field:") else {
            continue;
        };
        let mut parts = rest.split(';');
        let decl = parts.next().unwrap_or("");
        let field = decl
            .split_whitespace()
            .last()
            .unwrap_or("")
            .split('[')
            .next()
            .unwrap_or("")
            .to_string();
        let off = parts
            .find_map(|p| p.trim().strip_prefix("offset:"))
            .and_then(|v| v.parse().ok());
        if let Some(off) = off {
            m.insert(field, off);
        }
    }
    Ok(m)
}

fn field(m: &StdHashMap<String, u32>, name: &str, tp: &str) -> Result<u32> {
    m.get(name)
        .copied()
        .with_context(|| format!("tracepoint {tp} has no field {name}"))
}

fn comm_key(s: &str) -> [u8; 16] {
    let mut k = [0u8; 16];
    let b = s.as_bytes();
    let n = b.len().min(15);
    k[..n].copy_from_slice(&b[..n]);
    k
}

/// Loads the programs, fills the maps and attaches everything.
pub fn load(snaplen: u32, ring_bytes: u32, generic: bool, filters: &Filters) -> Result<Probes> {
    let mut ebpf = EbpfLoader::new()
        .map_max_entries("EVENTS", ring_bytes)
        .load(PROBES)
        .context("loading the eBPF object")?;

    let exit = tp_fields("sched", "sched_process_exit")?;
    let mut cfg = Config {
        self_tgid: std::process::id(),
        snaplen: snaplen.min(4096),
        filters: 0,
        exit_pid_off: field(&exit, "pid", "sched_process_exit")?,
        exit_group_dead_off: exit.get("group_dead").copied().unwrap_or(u32::MAX),
    };

    {
        let mut pids: HashMap<_, u32, u8> =
            HashMap::try_from(ebpf.map_mut("PIDS").context("map PIDS")?)?;
        for p in &filters.pids {
            pids.insert(p, 1, 0)?;
            cfg.filters |= FILTER_PID;
        }
    }
    {
        let mut comms: HashMap<_, [u8; 16], u8> =
            HashMap::try_from(ebpf.map_mut("COMMS").context("map COMMS")?)?;
        for c in &filters.comms {
            comms.insert(comm_key(c), 1, 0)?;
            cfg.filters |= FILTER_COMM_INCLUDE;
        }
        for c in &filters.exclude_comms {
            comms.insert(comm_key(c), 2, 0)?;
            cfg.filters |= FILTER_COMM_EXCLUDE;
        }
    }
    {
        use std::os::unix::fs::MetadataExt;
        let mut cgs: HashMap<_, u64, u8> =
            HashMap::try_from(ebpf.map_mut("CGROUPS").context("map CGROUPS")?)?;
        for c in &filters.cgroups {
            let id = match c.parse::<u64>() {
                Ok(id) => id,
                Err(_) => {
                    let p = crate::procfs::cgroup2_root().join(c.trim_start_matches('/'));
                    std::fs::metadata(&p)
                        .with_context(|| format!("cgroup {c} ({})", p.display()))?
                        .ino()
                }
            };
            cgs.insert(id, 1, 0)?;
            cfg.filters |= FILTER_CGROUP;
        }
    }
    {
        let mut specs: Array<_, SysSpec> =
            Array::try_from(ebpf.map_mut("SPECS").context("map SPECS")?)?;
        for nr in 0..MAX_SYSCALLS {
            let spec = match syscalls::by_nr(nr) {
                Some(s) => syscalls::spec_for(s),
                None if generic => SysSpec {
                    flags: SPEC_GENERIC,
                    ..SysSpec::default()
                },
                None => continue,
            };
            specs.set(nr, spec, 0)?;
        }
    }
    {
        let mut c: Array<_, Config> =
            Array::try_from(ebpf.map_mut("CONFIG").context("map CONFIG")?)?;
        c.set(0, cfg, 0)?;
    }
    let lacks;
    {
        let offsets = crate::btf::kernel_offsets()?;
        lacks = crate::convert::KernelLacks::of(&offsets);
        for m in crate::btf::missing(&offsets) {
            eprintln!("recorder: warning: this kernel's BTF has no {m}; the process facts that need it are recorded as missing");
        }
        let mut m: Array<_, KernelOffsets> =
            Array::try_from(ebpf.map_mut("OFFSETS").context("map OFFSETS")?)?;
        m.set(0, offsets, 0)?;
    }

    for (prog, tp) in [
        ("sys_enter", "sys_enter"),
        ("sys_exit", "sys_exit"),
        ("sched_process_fork", "sched_process_fork"),
        ("sched_process_exec", "sched_process_exec"),
    ] {
        let p: &mut RawTracePoint = ebpf.program_mut(prog).context(prog)?.try_into()?;
        p.load()
            .with_context(|| format!("loading {prog} (verifier)"))?;
        p.attach(tp).with_context(|| format!("attaching {prog}"))?;
    }
    {
        let name = "sched_process_exit";
        let p: &mut TracePoint = ebpf.program_mut(name).context(name)?.try_into()?;
        p.load()
            .with_context(|| format!("loading {name} (verifier)"))?;
        p.attach("sched", name)
            .with_context(|| format!("attaching {name}"))?;
    }
    let ring = RingBuf::try_from(ebpf.take_map("EVENTS").context("map EVENTS")?)?;
    let drops = PerCpuArray::try_from(ebpf.take_map("DROPS").context("map DROPS")?)?;
    Ok(Probes {
        _ebpf: ebpf,
        ring,
        drops,
        lacks,
    })
}
