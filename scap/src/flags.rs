//! libscap's flag encodings (`PPM_O_*`, `PPM_CL_*`, `PPM_MAP_*`,
//! `PPM_FCNTL_*`) and the kernel's, both ways: the importer turns scap's
//! into the kernel values Ferret stores, the exporter turns them back.
//!
//! The bit positions were checked against sysdig 0.29's own rendering of
//! every bit (an event per bit, read back with `sysdig -p %evt.args`).
//! Kernel bits scap has no encoding for (`O_NOFOLLOW`, `O_PATH`,
//! `CLONE_PIDFD`, ...) are dropped on export.

/// `(PPM_O_* bit, kernel O_* value)`, access mode excluded.
const OPEN: &[(u64, u64)] = &[
    (1 << 2, 0o100),       // CREAT
    (1 << 3, 0o2000),      // APPEND
    (1 << 4, 0o10000),     // DSYNC
    (1 << 5, 0o200),       // EXCL
    (1 << 6, 0o4000),      // NONBLOCK
    (1 << 7, 0o4000000),   // SYNC (__O_SYNC; O_SYNC adds DSYNC)
    (1 << 8, 0o1000),      // TRUNC
    (1 << 9, 0o40000),     // DIRECT
    (1 << 10, 0o200000),   // DIRECTORY
    (1 << 11, 0o100000),   // LARGEFILE
    (1 << 12, 0o2000000),  // CLOEXEC
    (1 << 13, 0o20000000), // TMPFILE (__O_TMPFILE; O_TMPFILE adds DIRECTORY)
];

/// `PPM_O_*` open flags to the kernel's `O_*`.
pub fn open_flags(p: u64) -> u64 {
    let acc = match p & 3 {
        2 => 1, // WRONLY
        3 => 2, // RDWR
        _ => 0, // RDONLY
    };
    let mut k = OPEN
        .iter()
        .filter(|(ppm, _)| p & ppm != 0)
        .fold(acc, |a, (_, k)| a | k);
    // The kernel's O_SYNC and O_TMPFILE include DSYNC and DIRECTORY.
    if k & 0o4000000 != 0 {
        k |= 0o10000;
    }
    if k & 0o20000000 != 0 {
        k |= 0o200000;
    }
    k
}

/// The kernel's `O_*` open flags to `PPM_O_*`.
pub fn to_ppm_open(k: u64) -> u64 {
    let acc = match k & 3 {
        1 => 2, // WRONLY
        2 => 3, // RDWR
        _ => 1, // RDONLY
    };
    OPEN.iter()
        .filter(|(_, kb)| k & kb != 0)
        .fold(acc, |a, (ppm, _)| a | ppm)
}

/// `(PPM_CL_* bit, kernel CLONE_* value)`.
const CLONE: &[(u32, u64)] = &[
    (0, 0x400),        // FILES
    (1, 0x200),        // FS
    (2, 0x8000_0000),  // IO
    (3, 0x0800_0000),  // NEWIPC
    (4, 0x4000_0000),  // NEWNET
    (5, 0x2_0000),     // NEWNS
    (6, 0x2000_0000),  // NEWPID
    (7, 0x0400_0000),  // NEWUTS
    (8, 0x8000),       // PARENT
    (9, 0x10_0000),    // PARENT_SETTID
    (10, 0x2000),      // PTRACE
    (11, 0x800),       // SIGHAND
    (12, 0x4_0000),    // SYSVSEM
    (13, 0x1_0000),    // THREAD
    (14, 0x80_0000),   // UNTRACED
    (15, 0x100),       // VM
    (20, 0x1000_0000), // NEWUSER
    (23, 0x20_0000),   // CHILD_CLEARTID
    (24, 0x100_0000),  // CHILD_SETTID
    (25, 0x8_0000),    // SETTLS
    (27, 0x4000),      // VFORK
    (28, 0x0200_0000), // NEWCGROUP
];

/// `PPM_CL_*` clone flags to the kernel's `CLONE_*`.
pub fn clone_flags(p: u64) -> u64 {
    CLONE
        .iter()
        .filter(|(bit, _)| p & (1 << bit) != 0)
        .fold(0, |a, (_, k)| a | k)
}

/// The kernel's `CLONE_*` flags to `PPM_CL_*`.
pub fn to_ppm_clone(k: u64) -> u64 {
    CLONE
        .iter()
        .filter(|(_, kb)| k & kb != 0)
        .fold(0, |a, (bit, _)| a | (1 << bit))
}

/// `(PPM_MAP_* bit, kernel MAP_* value)`.
const MAP: &[(u32, u64)] = &[
    (0, 0x1),      // SHARED
    (1, 0x2),      // PRIVATE
    (2, 0x10),     // FIXED
    (3, 0x20),     // ANONYMOUS
    (4, 0x40),     // 32BIT
    (6, 0x4000),   // NORESERVE
    (7, 0x8000),   // POPULATE
    (8, 0x1_0000), // NONBLOCK
    (9, 0x100),    // GROWSDOWN
    (10, 0x800),   // DENYWRITE
    (11, 0x1000),  // EXECUTABLE
    (14, 0x2000),  // LOCKED
];

/// `PPM_MAP_*` mmap flags to the kernel's `MAP_*`.
pub fn map_flags(p: u64) -> u64 {
    MAP.iter()
        .filter(|(bit, _)| p & (1 << bit) != 0)
        .fold(0, |a, (_, k)| a | k)
}

/// The kernel's `MAP_*` flags to `PPM_MAP_*`.
pub fn to_ppm_map(k: u64) -> u64 {
    MAP.iter()
        .filter(|(_, kb)| k & kb != 0)
        .fold(0, |a, (bit, _)| a | (1 << bit))
}

/// `(PPM_FCNTL_* code, kernel F_* command)`.
const FCNTL: &[(u64, u64)] = &[
    (1, 0),     // F_DUPFD
    (2, 1),     // F_GETFD
    (3, 2),     // F_SETFD
    (4, 3),     // F_GETFL
    (5, 4),     // F_SETFL
    (6, 5),     // F_GETLK
    (8, 6),     // F_SETLK
    (9, 7),     // F_SETLKW
    (10, 8),    // F_SETOWN
    (12, 9),    // F_GETOWN
    (13, 10),   // F_SETSIG
    (15, 11),   // F_GETSIG
    (21, 15),   // F_SETOWN_EX
    (22, 16),   // F_GETOWN_EX
    (23, 1024), // F_SETLEASE
    (24, 1025), // F_GETLEASE
    (25, 1029), // F_CANCELLK
    (26, 1030), // F_DUPFD_CLOEXEC
    (27, 1026), // F_NOTIFY
    (28, 1031), // F_SETPIPE_SZ
    (29, 1032), // F_GETPIPE_SZ
];

/// `PPM_FCNTL_*` commands to the kernel's `F_*`; unknown ones become
/// 0xffff, which no state change acts on.
pub fn fcntl_cmd(p: u64) -> u64 {
    FCNTL
        .iter()
        .find(|(ppm, _)| *ppm == p)
        .map_or(0xffff, |(_, k)| *k)
}

/// The kernel's `F_*` command to `PPM_FCNTL_*` (0, unknown, when scap has
/// no code for it).
pub fn to_ppm_fcntl(k: u64) -> u64 {
    FCNTL
        .iter()
        .find(|(_, kc)| *kc == k)
        .map_or(0, |(ppm, _)| *ppm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translation() {
        // O_NONBLOCK|O_RDONLY in sysdig's encoding (65).
        assert_eq!(open_flags(65), 0o4000);
        // O_WRONLY|O_CREAT|O_TRUNC.
        assert_eq!(open_flags(2 | 4 | 256), 0o1101);
        assert_eq!(open_flags(3), 2);
        // O_CLOEXEC|O_DIRECTORY, as sysdig renders 4096 and 1024.
        assert_eq!(open_flags(1 | 4096 | 1024), 0o2200000);
        // CLONE_THREAD|CLONE_VM|CLONE_FILES.
        assert_eq!(
            clone_flags((1 << 13) | (1 << 15) | 1),
            0x1_0000 | 0x100 | 0x400
        );
        // sysdig renders bit 27 as CLONE_VFORK and 23 as CHILD_CLEARTID.
        assert_eq!(clone_flags(1 << 27), 0x4000);
        assert_eq!(clone_flags(1 << 23), 0x20_0000);
        assert_eq!(map_flags(0b1010), 0x22);
        assert_eq!(fcntl_cmd(26), 1030);
    }

    #[test]
    fn both_ways() {
        for k in [
            0u64,
            1,
            2,
            0o100 | 1,
            0o1101,
            0o2000000,
            0o4010000,
            0o20200002,
            0o200000 | 0o2000000,
        ] {
            assert_eq!(open_flags(to_ppm_open(k)), k, "open {k:o}");
        }
        for k in [0x1200011u64, 0x4111, 0x3d0f00, 0x7e02_0000] {
            // 0x11 is the exit signal, which scap does not keep.
            assert_eq!(clone_flags(to_ppm_clone(k)), k & !0xff, "clone {k:x}");
        }
        for k in [0x22u64, 0x812, 0x1_4001] {
            assert_eq!(map_flags(to_ppm_map(k)), k, "map {k:x}");
        }
        for k in [0u64, 1, 2, 3, 4, 1030] {
            assert_eq!(fcntl_cmd(to_ppm_fcntl(k)), k);
        }
    }
}
