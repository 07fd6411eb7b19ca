//! The state snapshot taken from /proc at capture start (processes, threads,
//! fds with socket tuples, users and groups), and the few /proc reads made
//! while recording (details of a process at exec, cgroup id to path).

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use capture::schema::{FdInfo, FdTarget, GroupInfo, ProcessInfo, Snapshot, UserInfo};

/// Takes a snapshot of every process; `boot_ns_per_tick` converts
/// /proc/pid/stat start times (clock ticks since boot) to ns.
pub fn snapshot(self_pid: u32) -> Snapshot {
    let sockets = socket_table();
    let mut processes = Vec::new();
    if let Ok(rd) = fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if pid == self_pid {
                continue;
            }
            if let Some(p) = process(pid, &sockets) {
                processes.push(p);
            }
        }
    }
    processes.sort_by_key(|p| p.pid);
    Snapshot {
        processes,
        users: users(),
        groups: groups(),
    }
}

fn read(p: impl AsRef<Path>) -> Option<String> {
    fs::read_to_string(p).ok()
}

fn link(p: impl AsRef<Path>) -> String {
    fs::read_link(p)
        .map(|l| l.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Fields of /proc/pid/status: (ppid, [ruid, euid], [rgid, egid], cap_eff).
fn status(pid: u32) -> Option<(u32, [u32; 2], [u32; 2], u64)> {
    let s = read(format!("/proc/{pid}/status"))?;
    let mut ppid = 0;
    let mut uid = [0; 2];
    let mut gid = [0; 2];
    let mut cap = 0;
    for line in s.lines() {
        let (k, v) = line.split_once(':')?;
        let nums = || {
            v.split_whitespace()
                .filter_map(|x| x.parse::<u32>().ok())
                .collect::<Vec<_>>()
        };
        match k {
            "PPid" => ppid = v.trim().parse().unwrap_or(0),
            "Uid" => {
                let n = nums();
                uid = [
                    n.first().copied().unwrap_or(0),
                    n.get(1).copied().unwrap_or(0),
                ];
            }
            "Gid" => {
                let n = nums();
                gid = [
                    n.first().copied().unwrap_or(0),
                    n.get(1).copied().unwrap_or(0),
                ];
            }
            "CapEff" => cap = u64::from_str_radix(v.trim(), 16).unwrap_or(0),
            _ => {}
        }
    }
    Some((ppid, uid, gid, cap))
}

/// tty_nr and starttime (ticks) from /proc/pid/stat.
fn stat(pid: u32) -> (u32, u64) {
    let Some(s) = read(format!("/proc/{pid}/stat")) else {
        return (0, 0);
    };
    // The comm field may contain spaces and parentheses: split after the last ')'.
    let rest = s.rfind(')').map(|i| &s[i + 1..]).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): tty_nr is field 7, starttime field 22.
    let tty = f.get(4).and_then(|x| x.parse::<i64>().ok()).unwrap_or(0) as u32;
    let start = f.get(19).and_then(|x| x.parse().ok()).unwrap_or(0);
    (tty, start)
}

fn loginuid(pid: u32) -> u32 {
    read(format!("/proc/{pid}/loginuid"))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(u32::MAX)
}

/// A process's cgroup: its unified-hierarchy path, unless only a v1
/// hierarchy's path names a container (v1 hosts, or a runtime that sets v1
/// paths only).
fn cgroup(pid: u32) -> String {
    let text = read(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    let path = |l: &str| l.splitn(3, ':').nth(2).map(str::to_string);
    let unified = text.lines().find(|l| l.starts_with("0::")).and_then(path);
    if unified
        .as_deref()
        .is_some_and(|u| container_meta::cgroup::parse(u).is_some())
    {
        return unified.unwrap_or_default();
    }
    text.lines()
        .filter_map(path)
        .find(|p| container_meta::cgroup::parse(p).is_some())
        .or(unified)
        .unwrap_or_default()
}

fn ticks_to_ns(ticks: u64) -> u64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    ticks.saturating_mul(1_000_000_000 / hz)
}

fn process(pid: u32, sockets: &HashMap<u64, FdTarget>) -> Option<ProcessInfo> {
    let (ppid, uid, gid, cap) = status(pid)?;
    let (tty, start) = stat(pid);
    let comm = read(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim_end()
        .to_string();
    let args: Vec<String> = fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default();
    let threads = fs::read_dir(format!("/proc/{pid}/task"))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let cg = cgroup(pid);
    Some(ProcessInfo {
        pid,
        ppid,
        threads,
        uid: uid[0],
        gid: gid[0],
        euid: uid[1],
        egid: gid[1],
        loginuid: loginuid(pid),
        comm,
        exe: link(format!("/proc/{pid}/exe")),
        args,
        cwd: link(format!("/proc/{pid}/cwd")),
        tty,
        start_ts: ticks_to_ns(start),
        container_id: container_meta::cgroup::short_id(&cg),
        cgroup: cg,
        cap_effective: cap,
        fds: fds(pid, sockets),
    })
}

fn fds(pid: u32, sockets: &HashMap<u64, FdTarget>) -> Vec<FdInfo> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return out;
    };
    for e in rd.flatten() {
        let Some(fd) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let l = link(e.path());
        let target = if let Some(ino) = l.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']'))
        {
            ino.parse::<u64>()
                .ok()
                .and_then(|i| sockets.get(&i).cloned())
                .unwrap_or(FdTarget::Other { desc: l.clone() })
        } else if let Some(ino) = l.strip_prefix("pipe:[").and_then(|s| s.strip_suffix(']')) {
            FdTarget::Pipe {
                ino: ino.parse().unwrap_or(0),
            }
        } else if let Some(name) = l.strip_prefix("/memfd:") {
            FdTarget::Memfd {
                name: name.trim_end_matches(" (deleted)").to_string(),
            }
        } else if l.starts_with('/') {
            FdTarget::File { path: l }
        } else {
            FdTarget::Other { desc: l }
        };
        out.push(FdInfo { fd, target });
    }
    out.sort_by_key(|f| f.fd);
    out
}

/// Socket inode to tuple, from /proc/net/{tcp,tcp6,udp,udp6,unix}.
fn socket_table() -> HashMap<u64, FdTarget> {
    let mut m = HashMap::new();
    for (file, proto, v6) in [
        ("tcp", 6u8, false),
        ("tcp6", 6, true),
        ("udp", 17, false),
        ("udp6", 17, true),
    ] {
        let Some(s) = read(format!("/proc/net/{file}")) else {
            continue;
        };
        for line in s.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                continue;
            }
            let (Some((la, lp)), Some((ra, rp))) = (hexaddr(f[1], v6), hexaddr(f[2], v6)) else {
                continue;
            };
            let Ok(ino) = f[9].parse::<u64>() else {
                continue;
            };
            let listening = proto == 6 && f[3] == "0A";
            m.insert(
                ino,
                FdTarget::Inet {
                    proto,
                    local: la,
                    local_port: lp,
                    remote: ra,
                    remote_port: rp,
                    listening,
                },
            );
        }
    }
    if let Some(s) = read("/proc/net/unix") {
        for line in s.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() >= 7 {
                if let Ok(ino) = f[6].parse::<u64>() {
                    m.insert(
                        ino,
                        FdTarget::Unix {
                            path: f.get(7).unwrap_or(&"").to_string(),
                        },
                    );
                }
            }
        }
    }
    m
}

/// Decodes `0100007F:1F90` (address bytes in host order per 32-bit word).
fn hexaddr(s: &str, v6: bool) -> Option<(Vec<u8>, u16)> {
    let (a, p) = s.split_once(':')?;
    let port = u16::from_str_radix(p, 16).ok()?;
    let words = if v6 { 4 } else { 1 };
    if a.len() != words * 8 {
        return None;
    }
    let mut out = Vec::with_capacity(words * 4);
    for w in 0..words {
        let v = u32::from_str_radix(&a[w * 8..w * 8 + 8], 16).ok()?;
        out.extend_from_slice(&v.to_le_bytes());
    }
    Some((out, port))
}

fn users() -> Vec<UserInfo> {
    read("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(UserInfo {
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
                name: f.first()?.to_string(),
                home: f.get(5).unwrap_or(&"").to_string(),
                shell: f.get(6).unwrap_or(&"").to_string(),
            })
        })
        .collect()
}

fn groups() -> Vec<GroupInfo> {
    read("/etc/group")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(GroupInfo {
                gid: f.get(2)?.parse().ok()?,
                name: f.first()?.to_string(),
            })
        })
        .collect()
}

/// The cgroup hierarchies this host mounts.
#[derive(Clone, Debug, Default)]
pub struct Hierarchies {
    /// The unified (v2) hierarchy is mounted.
    pub unified: bool,
    /// Controllers of mounted v1 hierarchies (`pids`, `memory`, ...).
    pub v1: Vec<String>,
}

/// The cgroup hierarchies of `/proc/self/mountinfo`: a `cgroup2` mount, and
/// the controllers of `cgroup` mounts (their super options).
pub fn cgroup_hierarchies() -> Hierarchies {
    let mut h = Hierarchies::default();
    for l in read("/proc/self/mountinfo").unwrap_or_default().lines() {
        // ... - fstype source super-options
        let Some((_, tail)) = l.split_once(" - ") else {
            continue;
        };
        let mut f = tail.split(' ');
        match (f.next(), f.next(), f.next()) {
            (Some("cgroup2"), _, _) => h.unified = true,
            (Some("cgroup"), _, Some(opts)) => h.v1.extend(
                opts.split(',')
                    .filter(|o| !matches!(*o, "rw" | "ro") && !o.contains('='))
                    .map(str::to_string),
            ),
            _ => {}
        }
    }
    h
}

/// Where the cgroup v2 (unified) hierarchy is mounted: `/sys/fs/cgroup`, or
/// `/sys/fs/cgroup/unified` on a hybrid (v1 + v2) host.
pub fn cgroup2_root() -> std::path::PathBuf {
    let unified = Path::new("/sys/fs/cgroup/unified");
    if unified.join("cgroup.procs").exists() {
        unified.to_path_buf()
    } else {
        Path::new("/sys/fs/cgroup").to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_addresses_decode() {
        assert_eq!(
            hexaddr("0100007F:1F90", false),
            Some((vec![127, 0, 0, 1], 8080))
        );
        assert_eq!(hexaddr("zz:1", false), None);
    }

    #[test]
    fn snapshot_of_this_host_has_this_test_process() {
        let s = snapshot(0);
        let me = std::process::id();
        let p = s
            .processes
            .iter()
            .find(|p| p.pid == me)
            .expect("own process");
        assert!(p
            .exe
            .ends_with(&format!("/{}", p.exe.rsplit('/').next().unwrap_or(""))));
        assert!(!p.cwd.is_empty());
        assert!(p.fds.iter().any(|f| f.fd == 0));
        assert!(s.users.iter().any(|u| u.uid == 0 && u.name == "root"));
    }
}
