//! Kernel struct member offsets from the running kernel's BTF.
//!
//! Aya's Rust eBPF has no CO-RE relocations, so the programs cannot name
//! `task_struct` members. Instead the recorder parses `/sys/kernel/btf/vmlinux`
//! (with the `btfparse` crate), resolves every member the programs read to a
//! byte offset, and hands the table to the kernel side through the `OFFSETS`
//! map. Members renamed across kernel versions are tried under each name.
//! A member this kernel lacks is `u32::MAX` and the programs skip what needs
//! it; members without which lineage cannot be read are an error naming them.

use anyhow::{bail, Context, Result};
use btfparse::{Offset, Readable, TypeInformation};
use recorder_common::KernelOffsets;

/// Where the kernel publishes its own BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

struct Bytes(Vec<u8>);

impl Readable for Bytes {
    fn read(&self, offset: u64, buffer: &mut [u8]) -> btfparse::Result<()> {
        let start = usize::try_from(offset).ok();
        let src = start
            .and_then(|s| Some((s, s.checked_add(buffer.len())?)))
            .and_then(|(s, e)| self.0.get(s..e));
        match src {
            Some(src) => {
                buffer.copy_from_slice(src);
                Ok(())
            }
            None => Err(btfparse::Error::new(
                btfparse::ErrorKind::IOError,
                "read past the end of the BTF data",
            )),
        }
    }
}

struct Types {
    ti: TypeInformation,
}

impl Types {
    fn id(&self, ty: &str) -> Option<u32> {
        self.ti.id_of(ty)
    }

    /// The value of an enum's member.
    fn enum_value(&self, ty: &str, member: &str) -> Option<u32> {
        let btfparse::TypeVariant::Enum(e) = self.ti.from_id(self.id(ty)?)? else {
            return None;
        };
        e.named_value_list()
            .iter()
            .find(|v| v.name == member)
            .map(|v| match v.value {
                btfparse::Integer32Value::Signed(x) => x as u32,
                btfparse::Integer32Value::Unsigned(x) => x,
            })
    }

    /// Byte offset of the first of `paths` that `ty` has, or `u32::MAX`.
    fn off(&self, ty: &str, paths: &[&str]) -> u32 {
        self.try_off(ty, paths).unwrap_or(u32::MAX)
    }

    fn try_off(&self, ty: &str, paths: &[&str]) -> Option<u32> {
        let id = self.id(ty)?;
        paths
            .iter()
            .find_map(|p| match self.ti.offset_of(id, p).ok()?.1 {
                Offset::ByteOffset(b) => Some(b),
                Offset::BitOffsetAndSize(bits, _) if bits % 8 == 0 => Some(bits / 8),
                Offset::BitOffsetAndSize(..) => None,
            })
    }

    /// Bit offset of a bit-field member, or `u32::MAX`.
    fn bit(&self, ty: &str, path: &str) -> u32 {
        self.id(ty)
            .and_then(|id| self.ti.offset_of(id, path).ok())
            .map(|(_, o)| match o {
                Offset::ByteOffset(b) => b * 8,
                Offset::BitOffsetAndSize(bits, _) => bits,
            })
            .unwrap_or(u32::MAX)
    }

    fn size(&self, ty: &str) -> u32 {
        self.id(ty)
            .and_then(|id| self.ti.size_of(id).ok())
            .and_then(|s| u32::try_from(s).ok())
            .unwrap_or(u32::MAX)
    }
}

/// Resolves the offsets from `/sys/kernel/btf/vmlinux`.
pub fn kernel_offsets() -> Result<KernelOffsets> {
    let raw = std::fs::read(VMLINUX_BTF).with_context(|| {
        format!(
            "reading {VMLINUX_BTF}: the recorder locates task_struct members through the \
             kernel's BTF; a kernel built with CONFIG_DEBUG_INFO_BTF=y is needed"
        )
    })?;
    let (mut o, t) = resolve(raw)?;
    choose_cgroup_walks(&mut o, &t, &crate::procfs::cgroup_hierarchies());
    Ok(o)
}

/// Which cgroup hierarchies the probes walk, from the host's mounts: the
/// unified one when it is mounted (v2 and hybrid hosts), and the first
/// mounted v1 controller of pids, memory, cpu, cpuset, devices, freezer
/// (v1 and hybrid hosts, where a runtime may set only v1 paths).
fn choose_cgroup_walks(o: &mut KernelOffsets, t: &Types, h: &crate::procfs::Hierarchies) {
    use recorder_common::{WALK_CGROUP_UNIFIED, WALK_CGROUP_V1};
    let mut walks = 0;
    if h.unified {
        walks |= WALK_CGROUP_UNIFIED;
    }
    let v1 = ["pids", "memory", "cpu", "cpuset", "devices", "freezer"]
        .into_iter()
        .filter(|c| h.v1.iter().any(|m| m == c))
        .find_map(|c| t.enum_value("cgroup_subsys_id", &format!("{c}_cgrp_id")));
    if let (Some(id), false) = (v1, o.css_set_subsys == u32::MAX || o.css_cgroup == u32::MAX) {
        o.css_set_v1_css = KernelOffsets::plus(o.css_set_subsys, id.saturating_mul(8));
        walks |= WALK_CGROUP_V1;
    }
    o.cgroup_walks = if walks == 0 {
        WALK_CGROUP_UNIFIED
    } else {
        walks
    };
}

/// Resolves the offsets from raw BTF bytes (cgroup walks: the unified
/// hierarchy only).
fn resolve(raw: Vec<u8>) -> Result<(KernelOffsets, Types)> {
    let ti = TypeInformation::new(&Bytes(raw))
        .map_err(|e| anyhow::anyhow!("parsing {VMLINUX_BTF}: {e:?}"))?;
    let t = Types { ti };
    let o = KernelOffsets {
        task_pid: t.off("task_struct", &["pid"]),
        task_tgid: t.off("task_struct", &["tgid"]),
        task_real_parent: t.off("task_struct", &["real_parent"]),
        task_cred: t.off("task_struct", &["real_cred"]),
        task_fs: t.off("task_struct", &["fs"]),
        task_mm: t.off("task_struct", &["mm"]),
        task_signal: t.off("task_struct", &["signal"]),
        task_loginuid: t.off("task_struct", &["loginuid"]),
        task_sessionid: t.off("task_struct", &["sessionid"]),
        task_cgroups: t.off("task_struct", &["cgroups"]),
        task_thread_pid: t.off("task_struct", &["thread_pid"]),
        task_start_boottime: t.off("task_struct", &["start_boottime", "real_start_time"]),
        task_vfork_done: t.off("task_struct", &["vfork_done"]),
        cred_uid: t.off("cred", &["uid"]),
        cred_gid: t.off("cred", &["gid"]),
        cred_euid: t.off("cred", &["euid"]),
        cred_egid: t.off("cred", &["egid"]),
        cred_fsuid: t.off("cred", &["fsuid"]),
        cred_fsgid: t.off("cred", &["fsgid"]),
        cred_cap_inheritable: t.off("cred", &["cap_inheritable"]),
        cred_cap_permitted: t.off("cred", &["cap_permitted"]),
        cred_cap_effective: t.off("cred", &["cap_effective"]),
        fs_root: t.off("fs_struct", &["root"]),
        fs_pwd: t.off("fs_struct", &["pwd"]),
        path_mnt: t.off("path", &["mnt"]),
        path_dentry: t.off("path", &["dentry"]),
        dentry_parent: t.off("dentry", &["d_parent"]),
        dentry_name: t.off("dentry", &["d_name.name"]),
        vfsmount_root: t.off("vfsmount", &["mnt_root"]),
        mount_mnt: t.off("mount", &["mnt"]),
        mount_parent: t.off("mount", &["mnt_parent"]),
        mount_mountpoint: t.off("mount", &["mnt_mountpoint"]),
        mm_exe_file: t.off("mm_struct", &["exe_file"]),
        file_path: t.off("file", &["f_path"]),
        file_inode: t.off("file", &["f_inode"]),
        inode_mode: t.off("inode", &["i_mode"]),
        inode_uid: t.off("inode", &["i_uid"]),
        inode_gid: t.off("inode", &["i_gid"]),
        inode_sb: t.off("inode", &["i_sb"]),
        inode_ino: t.off("inode", &["i_ino"]),
        inode_size: t.size("inode"),
        sb_magic: t.off("super_block", &["s_magic"]),
        signal_tty: t.off("signal_struct", &["tty"]),
        signal_pids: t.off("signal_struct", &["pids"]),
        signal_subreaper_bit: t.bit("signal_struct", "is_child_subreaper"),
        tty_index: t.off("tty_struct", &["index"]),
        tty_driver: t.off("tty_struct", &["driver"]),
        driver_major: t.off("tty_driver", &["major"]),
        driver_minor_start: t.off("tty_driver", &["minor_start"]),
        pid_level: t.off("pid", &["level"]),
        pid_numbers: t.off("pid", &["numbers"]),
        upid_size: t.size("upid"),
        upid_ns: t.off("upid", &["ns"]),
        pidns_child_reaper: t.off("pid_namespace", &["child_reaper"]),
        css_set_dfl_cgrp: t.off("css_set", &["dfl_cgrp"]),
        cgroup_kn: t.off("cgroup", &["kn"]),
        kernfs_name: t.off("kernfs_node", &["name"]),
        kernfs_parent: t.off("kernfs_node", &["__parent", "parent"]),
        kernfs_id: t.off("kernfs_node", &["id"]),
        binprm_filename: t.off("linux_binprm", &["filename"]),
        fs_root_dentry: 0,
        fs_root_mnt: 0,
        fs_pwd_dentry: 0,
        fs_pwd_mnt: 0,
        file_dentry: 0,
        file_mnt: 0,
        signal_pid_tgid: 0,
        signal_pid_pgid: 0,
        signal_pid_sid: 0,
        signal_subreaper_byte: 0,
        task_files: t.off("task_struct", &["files"]),
        files_fdt: t.off("files_struct", &["fdt"]),
        fdtable_fd: t.off("fdtable", &["fd"]),
        fdtable_max_fds: t.off("fdtable", &["max_fds"]),
        file_private_data: t.off("file", &["private_data"]),
        socket_sk: t.off("socket", &["sk"]),
        socket_type: t.off("socket", &["type"]),
        skc_family: t.off("sock_common", &["skc_family"]),
        skc_num: t.off("sock_common", &["skc_num"]),
        skc_dport: t.off("sock_common", &["skc_dport"]),
        skc_rcv_saddr: t.off("sock_common", &["skc_rcv_saddr"]),
        skc_daddr: t.off("sock_common", &["skc_daddr"]),
        skc_v6_rcv_saddr: t.off("sock_common", &["skc_v6_rcv_saddr"]),
        skc_v6_daddr: t.off("sock_common", &["skc_v6_daddr"]),
        unix_addr: t.off("unix_sock", &["addr"]),
        unix_peer: t.off("unix_sock", &["peer"]),
        unix_path: KernelOffsets::plus(t.off("unix_address", &["name"]), 2),
        css_set_subsys: t.off("css_set", &["subsys"]),
        css_cgroup: t.off("cgroup_subsys_state", &["cgroup"]),
        css_set_v1_css: u32::MAX,
        cgroup_walks: recorder_common::WALK_CGROUP_UNIFIED,
        pad2: 0,
    };
    let mut o = o;
    let plus = KernelOffsets::plus;
    o.fs_root_dentry = plus(o.fs_root, o.path_dentry);
    o.fs_root_mnt = plus(o.fs_root, o.path_mnt);
    o.fs_pwd_dentry = plus(o.fs_pwd, o.path_dentry);
    o.fs_pwd_mnt = plus(o.fs_pwd, o.path_mnt);
    o.file_dentry = plus(o.file_path, o.path_dentry);
    o.file_mnt = plus(o.file_path, o.path_mnt);
    // signal->pids[] is indexed by enum pid_type: PID, TGID, PGID, SID.
    o.signal_pid_tgid = plus(o.signal_pids, 8);
    o.signal_pid_pgid = plus(o.signal_pids, 16);
    o.signal_pid_sid = plus(o.signal_pids, 24);
    o.signal_subreaper_byte = if o.signal_subreaper_bit == u32::MAX {
        u32::MAX
    } else {
        o.signal_subreaper_bit / 8
    };
    // Without these, lineage and identity cannot be read at all.
    let essential = [
        ("task_struct.pid", o.task_pid),
        ("task_struct.tgid", o.task_tgid),
        ("task_struct.real_parent", o.task_real_parent),
        ("task_struct.real_cred", o.task_cred),
        ("task_struct.thread_pid", o.task_thread_pid),
        ("pid.numbers", o.pid_numbers),
    ];
    let lacking: Vec<&str> = essential
        .iter()
        .filter(|(_, v)| *v == u32::MAX)
        .map(|(n, _)| *n)
        .collect();
    if !lacking.is_empty() {
        bail!(
            "this kernel's BTF lacks {} (needed to read process lineage)",
            lacking.join(", ")
        );
    }
    Ok((o, t))
}

/// Members the last resolution could not find, for the start-up report.
pub fn missing(o: &KernelOffsets) -> Vec<&'static str> {
    let named = [
        ("task_struct.loginuid", o.task_loginuid),
        ("task_struct.sessionid", o.task_sessionid),
        ("task_struct.cgroups", o.task_cgroups),
        ("task_struct.start_boottime", o.task_start_boottime),
        ("fs_struct.pwd", o.fs_pwd),
        ("mm_struct.exe_file", o.mm_exe_file),
        ("signal_struct.tty", o.signal_tty),
        ("signal_struct.is_child_subreaper", o.signal_subreaper_bit),
        ("kernfs_node.parent", o.kernfs_parent),
        ("linux_binprm.filename", o.binprm_filename),
        ("task_struct.files", o.task_files),
        ("fdtable.fd", o.fdtable_fd),
        ("file.private_data", o.file_private_data),
        ("socket.sk", o.socket_sk),
        ("sock_common.skc_num", o.skc_num),
        ("sock_common.skc_rcv_saddr", o.skc_rcv_saddr),
        ("sock_common.skc_v6_rcv_saddr", o.skc_v6_rcv_saddr),
        ("unix_sock.addr", o.unix_addr),
        ("unix_address.name", o.unix_path),
    ];
    named
        .iter()
        .filter(|(_, v)| *v == u32::MAX)
        .map(|(n, _)| *n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_this_kernels_members() {
        let Ok(raw) = std::fs::read(VMLINUX_BTF) else {
            eprintln!("skipped: no {VMLINUX_BTF}");
            return;
        };
        let (o, _) = resolve(raw).expect("offsets");
        assert!(missing(&o).is_empty(), "{:?}", missing(&o));
        // Layout facts that hold on every kernel: struct path is {mnt, dentry}.
        assert_eq!((o.path_mnt, o.path_dentry), (0, 8));
        assert!(o.task_tgid > o.task_pid && o.task_tgid - o.task_pid == 4);
        assert_eq!(o.upid_size, 16);
        // struct sock starts with its sock_common; skc_daddr and
        // skc_rcv_saddr are the first two words of it.
        assert_eq!((o.skc_daddr, o.skc_rcv_saddr), (0, 4));
        eprintln!("{o:?}");
    }

    #[test]
    fn cgroup_walks_follow_the_hosts_hierarchies() {
        let Ok(raw) = std::fs::read(VMLINUX_BTF) else {
            eprintln!("skipped: no {VMLINUX_BTF}");
            return;
        };
        let (base, t) = resolve(raw).expect("offsets");
        let pids = t
            .enum_value("cgroup_subsys_id", "pids_cgrp_id")
            .expect("pids id");
        let cpu = t
            .enum_value("cgroup_subsys_id", "cpu_cgrp_id")
            .expect("cpu id");
        assert_ne!(pids, cpu);
        let h = |unified: bool, v1: &[&str]| crate::procfs::Hierarchies {
            unified,
            v1: v1.iter().map(|s| s.to_string()).collect(),
        };
        use recorder_common::{WALK_CGROUP_UNIFIED as U, WALK_CGROUP_V1 as V};
        for (hier, walks, id) in [
            (h(true, &[]), U, None),
            (h(true, &["cpu", "pids"]), U | V, Some(pids)),
            (h(false, &["cpu", "blkio"]), V, Some(cpu)),
            (h(false, &[]), U, None),
        ] {
            let mut o = base;
            choose_cgroup_walks(&mut o, &t, &hier);
            assert_eq!(o.cgroup_walks, walks);
            assert_eq!(
                o.css_set_v1_css,
                id.map_or(u32::MAX, |i| o.css_set_subsys + 8 * i)
            );
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(resolve(vec![0u8; 64]).is_err());
        assert!(resolve(Vec::new()).is_err());
    }
}
