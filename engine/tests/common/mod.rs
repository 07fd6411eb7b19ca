//! Helpers shared by the engine's integration tests.

use engine::state::State;

/// The state as text, independent of hash order.
pub fn canonical(s: &State) -> String {
    let mut pids: Vec<&u32> = s.procs.keys().collect();
    pids.sort();
    let mut out = String::new();
    for pid in pids {
        let p = &s.procs[pid];
        let mut q = p.clone();
        q.fds = Default::default();
        let vtids = q.vtids.take().map(|m| {
            let mut v: Vec<(u32, u32)> = m.iter().map(|(a, b)| (*a, *b)).collect();
            v.sort_unstable();
            v
        });
        let mut fds: Vec<_> = p.fds.iter().collect();
        fds.sort_by_key(|(n, _)| **n);
        out.push_str(&format!("{q:?} vtids={vtids:?} fds={fds:?}\n"));
    }
    let mut cs: Vec<_> = s.containers.iter().collect();
    cs.sort_by(|a, b| a.0.cmp(b.0));
    out.push_str(&format!("{cs:?}"));
    out
}
