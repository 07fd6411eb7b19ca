//! Container records while recording: every container a recorded process
//! runs in gets a `container` record before (or with) that process's first
//! event that shows it, with what the runtimes say of it.
//!
//! A watcher thread polls the runtimes' state (a few `stat`s every 20 ms)
//! and reads every new container as soon as the runtime writes it, before
//! its first process runs; the converter looks a container up there, or on
//! disk itself when the watcher has not seen it (a few ms at most), and
//! never waits on a socket: Engine API lookups run on the watcher thread,
//! and a container whose metadata could not be had is recorded at once with
//! the reasons, then recorded again when the metadata arrives.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use capture::kind::id;
use capture::writer::{CaptureWriter, EventHeader, Sink};
use container_meta::{cgroup, ContainerInfo, Host};

/// How long a container without metadata is looked up again.
const RETRY_FOR: Duration = Duration::from_secs(10);
/// How often the watcher polls the runtimes' state.
const POLL: Duration = Duration::from_millis(20);

/// Counters of the container tracking, for the recorder's summary.
#[derive(Clone, Copy, Debug, Default)]
pub struct TrackStats {
    /// Containers recorded.
    pub containers: u64,
    /// Of which the watcher had read before their first process was seen.
    pub from_watcher: u64,
    /// Recorded without (some) metadata at first.
    pub partial: u64,
    /// Recorded again once their metadata arrived.
    pub completed: u64,
    /// Longest synchronous on-disk lookup, ns.
    pub lookup_max_ns: u64,
}

#[derive(Default)]
struct Shared {
    found: HashMap<String, ContainerInfo>,
}

/// Tracks the containers of a recording.
pub struct Tracker {
    host: Host,
    shared: Arc<Mutex<Shared>>,
    api: Sender<String>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Recorded containers by full id; `Some(since)` while incomplete.
    known: HashMap<String, Option<Instant>>,
    /// Cgroup paths already seen, with their container (`None`: host).
    paths: HashMap<Vec<u8>, Option<cgroup::CgroupContainer>>,
    last_retry: Instant,
    /// Counters.
    pub stats: TrackStats,
}

impl Tracker {
    /// Starts the watcher of `host`'s runtimes.
    pub fn start(host: Host) -> Tracker {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = channel();
        let thread = {
            let (host, shared, stop) = (host.clone(), shared.clone(), stop.clone());
            std::thread::Builder::new()
                .name("container-watch".into())
                .spawn(move || watch(host, shared, stop, rx))
                .ok()
        };
        Tracker {
            host,
            shared,
            api: tx,
            stop,
            thread,
            known: HashMap::new(),
            paths: HashMap::new(),
            last_retry: Instant::now(),
            stats: TrackStats::default(),
        }
    }

    /// Records every running container (at the start of a capture file):
    /// what the runtimes list, and the containers of `cgroups` (the
    /// snapshot's processes) they do not.
    pub fn initial<W: Sink>(
        &mut self,
        cgroups: &[String],
        ts: u64,
        w: &mut CaptureWriter<W>,
    ) -> capture::Result<Vec<String>> {
        let listing = self.host.running();
        let mut ids = Vec::new();
        {
            let mut sh = lock(&self.shared);
            for c in listing.containers {
                ids.push(c.id.clone());
                sh.found.insert(c.id.clone(), c);
            }
        }
        for cg in cgroups {
            if let Some(c) = cgroup::parse(cg) {
                if !ids.contains(&c.id) {
                    ids.push(c.id);
                }
            }
        }
        self.known.clear();
        for full in &ids {
            let info = self.resolve(full, None);
            self.write(&info, ts, 0, true, w)?;
        }
        Ok(listing.problems)
    }

    fn resolve(&mut self, full: &str, c: Option<&cgroup::CgroupContainer>) -> ContainerInfo {
        let cached = lock(&self.shared).found.get(full).cloned();
        match cached {
            Some(i) if !i.provisional => {
                self.stats.from_watcher += 1;
                return i;
            }
            // Read before the runtime started it: read again now, and keep
            // the watcher's copy if that fails (the container may be gone).
            Some(i) => {
                let again = self.host.lookup(c.unwrap_or(&by_id(full)));
                self.stats.from_watcher += 1;
                return again.unwrap_or(i);
            }
            None => {}
        }
        let t = Instant::now();
        let c = c.cloned().unwrap_or_else(|| by_id(full));
        let r = self.host.lookup(&c);
        self.stats.lookup_max_ns = self.stats.lookup_max_ns.max(t.elapsed().as_nanos() as u64);
        match r {
            Ok(i) => i,
            Err(why) => {
                let _ = self.api.send(full.to_string());
                let mut i = ContainerInfo::unknown(full, c.layout.runtime(), &why);
                if let Some(uid) = &c.pod_uid {
                    i.pod = Some(container_meta::Pod {
                        uid: Some(uid.clone()),
                        ..Default::default()
                    });
                }
                i
            }
        }
    }

    fn write<W: Sink>(
        &mut self,
        info: &ContainerInfo,
        ts: u64,
        pid: u32,
        initial: bool,
        w: &mut CaptureWriter<W>,
    ) -> capture::Result<()> {
        let incomplete = info.provisional
            || info.missing.contains_key("image")
            || info.missing.contains_key("name");
        if incomplete && !self.known.contains_key(&info.id) {
            self.stats.partial += 1;
        }
        self.known
            .insert(info.id.clone(), incomplete.then(Instant::now));
        self.stats.containers += 1;
        let h = EventHeader {
            ts,
            cpu: 0,
            pid,
            tid: pid,
            kind: id::CONTAINER,
            ret: 0,
        };
        let json = info.to_json();
        w.push(&h, |a| {
            a.str(info.id.as_bytes())
                .str(info.name.as_deref().unwrap_or("").as_bytes())
                .str(info.image.as_deref().unwrap_or("").as_bytes())
                .uint(u64::from(info.privileged == Some(true)))
                .str(json.as_bytes())
                .uint(u64::from(initial));
        })?;
        Ok(())
    }

    /// A process was seen in `cgroup` (a fork or exec record): records its
    /// container first when it is new.
    pub fn observe<W: Sink>(
        &mut self,
        cgroup_path: &[u8],
        ts: u64,
        pid: u32,
        w: &mut CaptureWriter<W>,
    ) -> capture::Result<()> {
        let c = match self.paths.get(cgroup_path) {
            Some(c) => c.clone(),
            None => {
                let c = std::str::from_utf8(cgroup_path)
                    .ok()
                    .and_then(cgroup::parse);
                if self.paths.len() > 65_536 {
                    self.paths.clear();
                }
                self.paths.insert(cgroup_path.to_vec(), c.clone());
                c
            }
        };
        let Some(c) = c else { return Ok(()) };
        if self.known.contains_key(&c.id) {
            return Ok(());
        }
        let full = c.id.clone();
        let info = self.resolve(&full, Some(&c));
        self.write(&info, ts, pid, false, w)
    }

    /// Records again the containers whose metadata has arrived since
    /// (called on the recorder's tick).
    pub fn tick<W: Sink>(&mut self, ts: u64, w: &mut CaptureWriter<W>) -> capture::Result<()> {
        if self.last_retry.elapsed() < Duration::from_millis(200) {
            return Ok(());
        }
        self.last_retry = Instant::now();
        let waiting: Vec<(String, Instant)> = self
            .known
            .iter()
            .filter_map(|(k, v)| v.map(|s| (k.clone(), s)))
            .collect();
        for (full, since) in waiting {
            let found = lock(&self.shared)
                .found
                .get(&full)
                .filter(|i| !i.provisional)
                .cloned();
            let found = found.or_else(|| self.host.lookup(&by_id(&full)).ok());
            match found {
                Some(i) if !i.provisional || since.elapsed() > RETRY_FOR => {
                    self.stats.completed += 1;
                    self.write(&i, ts, 0, false, w)?;
                    self.known.insert(full, None);
                }
                Some(_) => {}
                None if since.elapsed() > RETRY_FOR => {
                    self.known.insert(full, None);
                }
                None => {}
            }
        }
        Ok(())
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A container known only by its id (one recorded before, one a snapshot
/// process is in): the layout names no runtime, so every source is asked,
/// containerd's first.
fn by_id(full: &str) -> cgroup::CgroupContainer {
    cgroup::CgroupContainer {
        id: full.to_string(),
        layout: container_meta::Layout::Containerd,
        pod_uid: None,
    }
}

fn lock(m: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The watcher: reads new containers as the runtimes write them, and asks
/// the Engine API sockets for the ones nothing on disk describes.
fn watch(host: Host, shared: Arc<Mutex<Shared>>, stop: Arc<AtomicBool>, api: Receiver<String>) {
    let mut stamp = 0;
    while !stop.load(Ordering::SeqCst) {
        let now = host.state_stamp();
        if now != stamp {
            stamp = now;
            // Only containers not read before (or read before the runtime
            // started them): a busy runtime changes its state files with
            // every command.
            let seen: std::collections::HashSet<String> = lock(&shared)
                .found
                .iter()
                .filter(|(_, i)| !i.provisional)
                .map(|(k, _)| k.clone())
                .collect();
            let l = host.known_except(&|id| seen.contains(id));
            let mut sh = lock(&shared);
            for c in l.containers {
                sh.found.insert(c.id.clone(), c);
            }
        }
        while let Ok(id) = api.try_recv() {
            if let Ok(i) = host.lookup_api(&id) {
                lock(&shared).found.insert(id, i);
            }
        }
        std::thread::sleep(POLL);
    }
}
