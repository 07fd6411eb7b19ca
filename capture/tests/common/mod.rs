//! Helpers shared by the capture crate's integration tests.

use capture::Capture;

/// An owned copy of one event, for comparisons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ev {
    pub seq: u64,
    pub ts: u64,
    pub cpu: u16,
    pub pid: u32,
    pub tid: u32,
    pub kind: u16,
    pub ret: i64,
    pub args: Vec<u8>,
}

/// Every intact event of `cap`, and the errors of the chunks that were not.
pub fn collect(cap: &Capture) -> (Vec<Ev>, Vec<capture::Error>) {
    let mut out = Vec::new();
    let errs = cap.for_each_event(|e| {
        out.push(Ev {
            seq: e.seq,
            ts: e.ts,
            cpu: e.cpu,
            pid: e.pid,
            tid: e.tid,
            kind: e.kind,
            ret: e.ret,
            args: e.args.to_vec(),
        })
    });
    (out, errs)
}
