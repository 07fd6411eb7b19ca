//! The rkyv-encoded records of a capture: metadata, state snapshot, event
//! chunks and the trailing index. Their byte form is rkyv 0.8's (little-endian,
//! aligned, 32-bit relative pointers); see FORMAT.md for how they sit in frames.
//!
//! Events are stored column-wise inside a chunk: one vector per field, all of
//! the same length, plus an argument byte stream ([`crate::args`]). Columns
//! compress far better than rows (timestamps as small deltas, pids and kinds as
//! runs) and still read in place without deserialising.

// rkyv's derive generates undocumented items for the fields of enum variants
// (FdTarget); every item written here is documented by hand.
#![allow(missing_docs)]

use rkyv::{Archive, Deserialize, Serialize};

/// Describes the capture: where and how it was made. Stored in the first frame
/// so that a capture cut short still says where it came from.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct CaptureMeta {
    /// Host name of the recorded machine.
    pub hostname: String,
    /// `uname -r` of the recorded kernel.
    pub kernel_release: String,
    /// Machine architecture (`x86_64`, `aarch64`).
    pub arch: String,
    /// Number of CPUs of the recorded machine.
    pub num_cpus: u32,
    /// Wall-clock time (Unix ns) of the event clock's zero: an event's wall time
    /// is `ts + boot_time_unix_ns`. Zero when event timestamps already are Unix
    /// ns (imported captures).
    pub boot_time_unix_ns: u64,
    /// Name and version of the program that wrote the capture.
    pub recorder: String,
    /// Its command line.
    pub command_line: Vec<String>,
    /// Capture filters in force, as `name=value` strings (`pid=42`, `comm!=sshd`).
    pub filters: Vec<String>,
    /// Bytes of I/O data kept per event.
    pub snaplen: u32,
    /// Wall-clock start of the capture (Unix ns).
    pub start_unix_ns: u64,
    /// Position of this file in a rotation (0 for the first or only file).
    pub segment: u32,
    /// Where the events came from (`ferret-recorder`, `synthetic`, `scap:<file>`).
    pub source: String,
}

/// State of the host when the capture started.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Every thread group (process) alive at capture start.
    pub processes: Vec<ProcessInfo>,
    /// The host's users (from /etc/passwd), so user names resolve offline.
    pub users: Vec<UserInfo>,
    /// The host's groups (from /etc/group).
    pub groups: Vec<GroupInfo>,
}

/// A process alive at capture start.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ProcessInfo {
    /// Thread group id.
    pub pid: u32,
    /// Parent's thread group id.
    pub ppid: u32,
    /// Ids of the other threads of the group.
    pub threads: Vec<u32>,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Audit login uid (`u32::MAX` when unset).
    pub loginuid: u32,
    /// Command name (`/proc/pid/comm`).
    pub comm: String,
    /// Executable path (`/proc/pid/exe`), empty when unreadable.
    pub exe: String,
    /// Argument vector (`/proc/pid/cmdline`).
    pub args: Vec<String>,
    /// Current directory.
    pub cwd: String,
    /// Controlling terminal device number (0 when none).
    pub tty: u32,
    /// Start time, in the event clock (ns).
    pub start_ts: u64,
    /// cgroup path (v2 unified hierarchy).
    pub cgroup: String,
    /// Container id derived from the cgroup, empty on the host.
    pub container_id: String,
    /// Effective capabilities bitmask.
    pub cap_effective: u64,
    /// Open file descriptors.
    pub fds: Vec<FdInfo>,
}

/// An open file descriptor at capture start.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FdInfo {
    /// The descriptor number.
    pub fd: i32,
    /// What it refers to.
    pub target: FdTarget,
}

/// What a file descriptor refers to.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum FdTarget {
    /// A file, directory or device, by path.
    File {
        /// The path.
        path: String,
    },
    /// An IPv4 or IPv6 socket.
    Inet {
        /// Protocol (6 tcp, 17 udp, 0 unknown).
        proto: u8,
        /// Local address: 4 or 16 bytes.
        local: Vec<u8>,
        /// Local port.
        local_port: u16,
        /// Remote address: 4 or 16 bytes (zeros when unconnected).
        remote: Vec<u8>,
        /// Remote port.
        remote_port: u16,
        /// Whether the socket listens.
        listening: bool,
    },
    /// A unix socket.
    Unix {
        /// Bound or peer path, when known.
        path: String,
    },
    /// A pipe, by inode.
    Pipe {
        /// Pipe inode.
        ino: u64,
    },
    /// A memfd.
    Memfd {
        /// The name given to memfd_create.
        name: String,
    },
    /// Anything else (eventfd, epoll, signalfd, ...), by its link text.
    Other {
        /// The `/proc/pid/fd` link text.
        desc: String,
    },
}

/// A user account.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct UserInfo {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Login name.
    pub name: String,
    /// Home directory.
    pub home: String,
    /// Login shell.
    pub shell: String,
}

/// A group.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct GroupInfo {
    /// Group id.
    pub gid: u32,
    /// Group name.
    pub name: String,
}

/// A chunk of events, stored column-wise. Row `i` of every column belongs to
/// event `first_seq + i`. All columns have `len()` rows except `ts_far` (one
/// entry per escaped delta), `arg_len` (one per row) and `args` (the
/// concatenated argument streams, `sum(arg_len)` bytes).
#[derive(Archive, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Chunk {
    /// Sequence number of the first event (event numbers are global to a capture).
    pub first_seq: u64,
    /// Timestamp (event clock, ns) the first delta is taken from.
    pub ts_base: u64,
    /// Timestamp of each event minus the previous one's (the first: minus
    /// `ts_base`); [`TS_ESCAPE`] means "take the next value of `ts_far`".
    pub ts_delta: Vec<i32>,
    /// Absolute timestamps for escaped deltas.
    pub ts_far: Vec<u64>,
    /// CPU the event was recorded on.
    pub cpu: Vec<u16>,
    /// Thread group id.
    pub pid: Vec<u32>,
    /// Thread id.
    pub tid: Vec<u32>,
    /// Kind id ([`crate::kind`]).
    pub kind: Vec<u16>,
    /// Return value (syscalls), or 0.
    pub ret: Vec<i64>,
    /// Length in bytes of each event's argument stream.
    pub arg_len: Vec<u32>,
    /// The argument streams, concatenated.
    pub args: Vec<u8>,
}

/// The delta value that escapes to `ts_far`.
pub const TS_ESCAPE: i32 = i32::MIN;

impl Chunk {
    /// Bytes of the fixed per-event columns (`ts_delta`, `cpu`, `pid`,
    /// `tid`, `kind`, `ret`, `arg_len`).
    pub const FIXED_BYTES_PER_EVENT: usize = 4 + 2 + 4 + 4 + 2 + 8 + 4;

    /// An upper bound of its rkyv archive's size in bytes: the columns'
    /// bytes, each column's alignment padding and the archived struct.
    pub fn serialized_estimate(&self) -> usize {
        self.ts_delta.len() * Self::FIXED_BYTES_PER_EVENT
            + self.ts_far.len() * 8
            + self.args.len()
            + 256
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.kind.len()
    }

    /// Whether the chunk holds no event.
    pub fn is_empty(&self) -> bool {
        self.kind.is_empty()
    }

    /// Empties every column, keeping their capacity.
    pub fn clear(&mut self) {
        self.ts_delta.clear();
        self.ts_far.clear();
        self.cpu.clear();
        self.pid.clear();
        self.tid.clear();
        self.kind.clear();
        self.ret.clear();
        self.arg_len.clear();
        self.args.clear();
    }
}

/// One chunk's entry in the index: enough to skip it without reading it.
#[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChunkEntry {
    /// File offset of the chunk's frame header.
    pub offset: u64,
    /// Bytes of the frame (header and payload).
    pub frame_len: u32,
    /// Bytes of the payload once decompressed.
    pub raw_len: u32,
    /// Number of events.
    pub event_count: u32,
    /// Sequence number of the first event.
    pub first_seq: u64,
    /// Smallest timestamp.
    pub ts_min: u64,
    /// Largest timestamp.
    pub ts_max: u64,
    /// Kind ids present, as a 256-bit bitmap.
    pub kinds: [u64; 4],
}

/// The trailing index, written when a capture is finished.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct CaptureIndex {
    /// Wall-clock end of the capture (Unix ns).
    pub end_unix_ns: u64,
    /// Every event chunk, in file order.
    pub chunks: Vec<ChunkEntry>,
    /// Total events written.
    pub event_count: u64,
    /// Events the recorder knows it lost (sum of loss records).
    pub lost_events: u64,
}

/// The recordings a merged capture holds (`analyzer merge`), in the frame
/// that follows its file header. Stream `i` of the file is `sources[i]`.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Sources {
    /// One entry per stream, in stream order.
    pub sources: Vec<SourceFile>,
}

/// Where one stream of a merged capture came from: enough to prove which
/// recording it was, long after the source file is gone.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct SourceFile {
    /// The file's name as given to the merge.
    pub name: String,
    /// The source file's header id.
    pub file_id: [u8; 16],
    /// The source's chain head (its trailer's); all zero when it was not
    /// finished (`finished` false).
    pub chain_head: [u8; 32],
    /// Whether the source had a valid trailer and index.
    pub finished: bool,
    /// Host name of the recorded machine (from the source's metadata).
    pub hostname: String,
    /// Events copied from the source.
    pub events: u64,
    /// Events the source's recorder knew it lost.
    pub lost_events: u64,
    /// Wall-clock end of the source (Unix ns), 0 when unknown.
    pub end_unix_ns: u64,
    /// What of the source could not be copied (damaged frames, a broken
    /// chain), one sentence each; empty for an intact source.
    pub damage: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The archive of chunks of several shapes fits the estimate a writer
    /// reserves before serializing.
    #[test]
    fn archive_fits_the_serialized_estimate() {
        for (events, far, arg_bytes) in [(0, 0, 0), (1, 1, 3), (7, 0, 13), (4096, 5, 100_001)] {
            let chunk = Chunk {
                first_seq: 9,
                ts_base: 1,
                ts_delta: vec![1; events],
                ts_far: vec![2; far],
                cpu: vec![3; events],
                pid: vec![4; events],
                tid: vec![5; events],
                kind: vec![6; events],
                ret: vec![7; events],
                arg_len: vec![8; events],
                args: vec![9; arg_bytes],
            };
            let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&chunk).expect("serializes");
            assert!(
                bytes.len() <= chunk.serialized_estimate(),
                "{events} events, {far} far, {arg_bytes} argument bytes: {} > {}",
                bytes.len(),
                chunk.serialized_estimate()
            );
        }
    }
}
