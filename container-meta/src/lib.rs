//! Container and Kubernetes metadata from the runtimes on a host.
//!
//! A process's cgroup names its container ([`cgroup::parse`], every
//! runtime's layout); the runtime's own state tells what that container is
//! ([`Host::lookup`]): name, image, labels, mounts, address, start time and,
//! for containers the kubelet made, the pod. Sources, each used when present:
//!
//! - **Podman**: its bolt database (`/var/lib/containers/storage/libpod/bolt_state.db`).
//! - **containerd**: the OCI bundles of running tasks under
//!   `/run/containerd/io.containerd.runtime.v2.task/<namespace>/<id>/` (the
//!   CRI's `io.kubernetes.cri.*` annotations) and its metadata database
//!   (`meta.db`: image, labels, creation time) and content store (digests).
//! - **CRI-O**: each container's `config.json` in containers/storage
//!   (`io.kubernetes.cri-o.*` annotations).
//! - **Docker**: `/var/lib/docker/containers/<id>/`, and the Engine API on
//!   its socket or podman's ([`Host::lookup_api`]), which the caller runs
//!   where a slow socket cannot hold anything up.
//!
//! Kubernetes facts come from the labels and annotations the kubelet's CRI
//! sets; no API server is needed. The runtimes' databases are read without
//! their locks (the runtimes hold them while they run) and every length in
//! them is bounded ([`bolt`]). What could not be had is listed in
//! [`ContainerInfo::missing`] with the reason.

pub mod bolt;
pub mod cgroup;
mod containerd;
mod crio;
mod docker;
mod info;
mod podman;
mod util;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use cgroup::{CgroupContainer, Layout};
pub use info::{pod_from, pod_labels, split_image, ContainerInfo, Mount, Pod, Runtime};

/// The runtimes of one host: where their state lives.
#[derive(Clone, Debug)]
pub struct Host {
    root: PathBuf,
    api_sockets: Vec<PathBuf>,
    api_timeout: Duration,
}

/// The running containers of a host, and the sources that failed.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    /// Running containers.
    pub containers: Vec<ContainerInfo>,
    /// Sources that exist but could not be read, with why.
    pub problems: Vec<String>,
}

impl Host {
    /// This machine, with the Engine API sockets of Docker
    /// (`/var/run/docker.sock`) and podman (`/run/podman/podman.sock`), and
    /// a timeout of 1 s for each step of an API call.
    pub fn system() -> Host {
        Host::at("/")
    }

    /// A host whose file system is mounted at `root` (a node's disk examined
    /// from elsewhere).
    pub fn at(root: impl Into<PathBuf>) -> Host {
        let root = root.into();
        Host {
            api_sockets: vec![
                root.join("var/run/docker.sock"),
                root.join("run/podman/podman.sock"),
            ],
            root,
            api_timeout: Duration::from_secs(1),
        }
    }

    /// Uses these Engine API sockets instead.
    pub fn with_api_sockets(mut self, socks: Vec<PathBuf>) -> Host {
        self.api_sockets = socks;
        self
    }

    /// Uses this timeout for connecting, writing and reading an API call.
    pub fn with_api_timeout(mut self, t: Duration) -> Host {
        self.api_timeout = t;
        self
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Every running container of every runtime, from on-disk state.
    pub fn running(&self) -> Listing {
        self.list(false, &|_| false)
    }

    /// Every container the runtimes know, created or running, except those
    /// `known` accepts (by full id), which are not read again: what a
    /// watcher reads ahead of a container's first process.
    pub fn known_except(&self, known: &dyn Fn(&str) -> bool) -> Listing {
        self.list(true, known)
    }

    fn list(&self, all: bool, skip: &dyn Fn(&str) -> bool) -> Listing {
        let mut l = Listing::default();
        match podman::all(self, skip) {
            Ok(cs) => l
                .containers
                .extend(cs.into_iter().filter(|c| all || c.1).map(|c| c.2)),
            Err(e) if self.path("var/lib/containers/storage/libpod").exists() => l.problems.push(e),
            Err(_) => {}
        }
        let meta = containerd::Meta::open(self);
        // A task's bundle stays after its process exits, until the task is
        // deleted: running means its init process is alive.
        let mut tasks: Vec<(String, String)> = containerd::bundles(self)
            .into_iter()
            .filter(|b| {
                all || std::fs::read_to_string(b.2.join("init.pid"))
                    .ok()
                    .and_then(|p| p.trim().parse::<u32>().ok())
                    .is_some_and(|pid| self.path(&format!("proc/{pid}")).exists())
            })
            .map(|b| (b.0, b.1))
            .collect();
        if all {
            tasks.extend(meta.ids());
            tasks.sort();
            tasks.dedup();
        }
        tasks.retain(|t| !skip(&t.1));
        for (ns, id) in tasks {
            if let Some(mut c) = meta.info(self, &ns, &id) {
                containerd::fill_pod_labels(&meta, self, &ns, &mut c);
                // No task bundle yet: the runtime has not created it.
                c.provisional = !self
                    .path("run/containerd/io.containerd.runtime.v2.task")
                    .join(&ns)
                    .join(&id)
                    .exists();
                l.containers.push(c);
            }
        }
        for id in crio::running(self) {
            if skip(&id) {
                continue;
            }
            if let Some(c) = crio::info(self, &id) {
                l.containers.push(c);
            }
        }
        for (id, running) in docker::all(self, skip) {
            if all || running {
                if let Some(c) = docker::from_disk(self, &id) {
                    l.containers.push(c);
                }
            }
        }
        l.containers.sort_by(|a, b| a.id.cmp(&b.id));
        l.containers.dedup_by(|a, b| a.id == b.id);
        l
    }

    /// The container of a cgroup, from on-disk state (fast, no sockets):
    /// the runtime its layout names first, then every other; the error says
    /// why each source could not tell.
    pub fn lookup(&self, c: &CgroupContainer) -> Result<ContainerInfo, String> {
        #[derive(Clone, Copy, PartialEq)]
        enum Src {
            Podman,
            Containerd,
            CriO,
            Docker,
        }
        let first = match c.layout {
            Layout::Podman => Src::Podman,
            Layout::Docker => Src::Docker,
            Layout::CriO => Src::CriO,
            Layout::CriContainerd | Layout::Containerd | Layout::Kubepods => Src::Containerd,
        };
        let mut order = vec![first];
        for s in [Src::Podman, Src::Containerd, Src::CriO, Src::Docker] {
            if s != first {
                order.push(s);
            }
        }
        let mut why = Vec::new();
        for s in order {
            match s {
                Src::Podman => match podman::all(self, &|id| id != c.id) {
                    Ok(all) => match all.into_iter().find(|x| x.0 == c.id) {
                        Some(x) => return Ok(x.2),
                        None => why.push("not in podman's database".to_string()),
                    },
                    Err(e) => why.push(e),
                },
                Src::Containerd => {
                    let meta = containerd::Meta::open(self);
                    let ns = containerd::bundles(self)
                        .into_iter()
                        .find(|b| b.1 == c.id)
                        .map(|b| b.0)
                        .or_else(|| meta.ids().into_iter().find(|x| x.1 == c.id).map(|x| x.0));
                    match ns.and_then(|ns| meta.info(self, &ns, &c.id).map(|i| (ns, i))) {
                        Some((ns, mut i)) => {
                            containerd::fill_pod_labels(&meta, self, &ns, &mut i);
                            return Ok(i);
                        }
                        None => why.push("not among containerd's tasks or metadata".into()),
                    }
                }
                Src::CriO => match crio::info(self, &c.id) {
                    Some(i) => return Ok(i),
                    None => why.push("not a CRI-O container in containers/storage".into()),
                },
                Src::Docker => match docker::from_disk(self, &c.id) {
                    Some(i) => return Ok(i),
                    None => why.push("not in Docker's state directory".into()),
                },
            }
        }
        Err(why.join("; "))
    }

    /// The container from an Engine API socket (Docker's, or podman's
    /// `system service`); each step bounded by the API timeout.
    pub fn lookup_api(&self, id: &str) -> Result<ContainerInfo, String> {
        let mut why = Vec::new();
        for s in &self.api_sockets {
            if !s.exists() {
                continue;
            }
            match docker::from_api(s, id, self.api_timeout) {
                Ok(mut i) => {
                    // podman's API names itself in the image's origin only;
                    // its cgroup layout says which runtime it was.
                    if s.ends_with("podman.sock") {
                        i.runtime = Some(Runtime::Podman);
                    }
                    return Ok(i);
                }
                Err(e) => why.push(e),
            }
        }
        if why.is_empty() {
            why.push("no Engine API socket on this host".into());
        }
        Err(why.join("; "))
    }

    /// A value that changes whenever a runtime creates or removes a
    /// container (modification times and sizes of the state files and
    /// directories); cheap enough to poll.
    pub fn state_stamp(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut mix = |p: &Path| {
            if let Ok(m) = std::fs::metadata(p) {
                use std::os::unix::fs::MetadataExt;
                for v in [m.mtime() as u64, m.mtime_nsec() as u64, m.size(), m.ino()] {
                    h ^= v;
                    h = h.wrapping_mul(0x0100_0000_01b3);
                }
            }
        };
        for p in [
            "var/lib/containers/storage/libpod/bolt_state.db",
            "var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db",
            "run/containers/storage/overlay-containers",
            "var/lib/docker/containers",
            "run/containerd/io.containerd.runtime.v2.task",
        ] {
            mix(&self.path(p));
        }
        if let Ok(d) = std::fs::read_dir(self.path("run/containerd/io.containerd.runtime.v2.task"))
        {
            for e in d.flatten() {
                mix(&e.path());
            }
        }
        h
    }
}
