//! What is known of one container, and its record in a capture: the JSON
//! document of sysdig's and Falco's container events (`{"container": {…}}`),
//! with Ferret's additions under `"ferret"`.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// The runtime that runs a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Runtime {
    /// Docker Engine.
    Docker,
    /// Podman.
    Podman,
    /// containerd (plain, or under the kubelet through CRI).
    Containerd,
    /// CRI-O.
    CriO,
}

impl Runtime {
    /// Falco's name for the type (`container.type`).
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Podman => "podman",
            Runtime::Containerd => "containerd",
            Runtime::CriO => "cri-o",
        }
    }

    /// sysdig's number for the type (`CT_*`), as container records carry it.
    pub fn sysdig_type(self) -> u32 {
        match self {
            Runtime::Docker => 0,
            Runtime::Containerd => 7,
            Runtime::CriO => 8,
            Runtime::Podman => 11,
        }
    }
}

/// One mount, as `docker inspect` lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mount {
    /// Host path.
    pub source: String,
    /// Path in the container.
    pub dest: String,
    /// Mode ("ro", "" ...).
    pub mode: String,
    /// Read-write.
    pub rw: bool,
    /// Propagation ("rprivate", ...).
    pub propagation: String,
}

impl Mount {
    /// A mount from an OCI spec entry's source, destination and options.
    pub fn from_oci(source: &str, dest: &str, options: &[String]) -> Mount {
        let ro = options.iter().any(|o| o == "ro");
        let propagation = options
            .iter()
            .find(|o| {
                matches!(
                    o.as_str(),
                    "rprivate" | "private" | "rshared" | "shared" | "rslave" | "slave"
                )
            })
            .cloned()
            .unwrap_or_default();
        Mount {
            source: source.into(),
            dest: dest.into(),
            mode: if ro { "ro".into() } else { String::new() },
            rw: !ro,
            propagation,
        }
    }
}

/// The Kubernetes pod a container belongs to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pod {
    /// Pod name.
    pub name: Option<String>,
    /// Namespace.
    pub namespace: Option<String>,
    /// Pod uid.
    pub uid: Option<String>,
    /// The pod sandbox's full container id.
    pub sandbox_id: Option<String>,
    /// The pod's labels (without the kubelet's `io.kubernetes.*` keys).
    pub labels: BTreeMap<String, String>,
}

/// What is known of one container.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerInfo {
    /// Full id.
    pub id: String,
    /// Runtime.
    pub runtime: Option<Runtime>,
    /// Name as the runtime names it.
    pub name: Option<String>,
    /// Image as the runtime names it (`docker.io/library/nginx:1.19`).
    pub image: Option<String>,
    /// Image id (`sha256:` stripped, as Docker shows it).
    pub image_id: Option<String>,
    /// Image repository.
    pub image_repository: Option<String>,
    /// Image tag.
    pub image_tag: Option<String>,
    /// Image digest (`sha256:…`).
    pub image_digest: Option<String>,
    /// Privileged.
    pub privileged: Option<bool>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Mounts the user asked for (not the runtime's own).
    pub mounts: Vec<Mount>,
    /// IP address.
    pub ip: Option<String>,
    /// Creation (start) time, ns since the epoch.
    pub created_ns: Option<u64>,
    /// Shares the host's pid namespace.
    pub host_pid: Option<bool>,
    /// Shares the host's network namespace.
    pub host_network: Option<bool>,
    /// Shares the host's IPC namespace.
    pub host_ipc: Option<bool>,
    /// Health check command (Docker, Podman).
    pub healthcheck: Option<String>,
    /// The container is a pod sandbox (`pause`).
    pub is_pod_sandbox: bool,
    /// Kubernetes pod, for containers the kubelet made.
    pub pod: Option<Pod>,
    /// Where the metadata came from (`podman bolt_state.db`, ...).
    pub source: String,
    /// The runtime has not started the container yet when this was read:
    /// what it records at start (address, start time) may still come.
    pub provisional: bool,
    /// Fields that could not be had, with why.
    pub missing: BTreeMap<String, String>,
}

/// An image name's repository, tag and digest:
/// `registry:5000/team/app:1.2@sha256:…`.
pub fn split_image(img: &str) -> (String, Option<String>, Option<String>) {
    let (name, digest) = match img.split_once('@') {
        Some((n, d)) => (n, Some(d.to_string())),
        None => (img, None),
    };
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].rfind(':') {
        Some(i) => (
            name[..slash + i].to_string(),
            Some(name[slash + i + 1..].to_string()),
            digest,
        ),
        None => (name.to_string(), None, digest),
    }
}

impl ContainerInfo {
    /// A container known only by id: every field missing for `why`.
    pub fn unknown(id: &str, runtime: Option<Runtime>, why: &str) -> ContainerInfo {
        let mut c = ContainerInfo {
            id: id.into(),
            runtime,
            ..ContainerInfo::default()
        };
        for f in ["name", "image", "labels"] {
            c.missing.insert(f.into(), why.into());
        }
        c
    }

    /// Fills repository, tag and digest from the image name where absent,
    /// and notes the fields that stay empty.
    pub fn complete(&mut self) {
        if let Some(img) = &self.image {
            let (repo, tag, digest) = split_image(img);
            if self.image_repository.is_none() {
                self.image_repository = Some(repo);
            }
            if self.image_tag.is_none() {
                self.image_tag = tag;
            }
            if self.image_digest.is_none() {
                self.image_digest = digest;
            }
        }
        if let Some(id) = &self.image_id {
            if let Some(s) = id.strip_prefix("sha256:") {
                self.image_id = Some(s.to_string());
            }
        }
        let src = self.source.clone();
        let mut note = |field: &str, set: bool| {
            if !set && !self.missing.contains_key(field) {
                self.missing
                    .insert(field.into(), format!("{src} does not record it"));
            }
        };
        note("name", self.name.is_some());
        note("image", self.image.is_some());
        note("image.id", self.image_id.is_some());
        note("image.digest", self.image_digest.is_some());
        note("privileged", self.privileged.is_some());
        note("ip", self.ip.is_some());
        note("start_ts", self.created_ns.is_some());
    }

    /// The record's JSON: sysdig's container document and Ferret's notes.
    pub fn to_json(&self) -> String {
        let opt = |v: &Option<String>| v.clone().map(Value::String).unwrap_or(Value::Null);
        let map = |m: &BTreeMap<String, String>| {
            Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect::<Map<_, _>>(),
            )
        };
        let mounts: Vec<Value> = self
            .mounts
            .iter()
            .map(|m| {
                json!({"Source": m.source, "Destination": m.dest, "Mode": m.mode,
                       "RW": m.rw, "Propagation": m.propagation})
            })
            .collect();
        let mut c = json!({
            "id": self.id.get(..12).unwrap_or(&self.id),
            "full_id": self.id,
            "type": self.runtime.map(|r| r.sysdig_type()),
            "name": opt(&self.name),
            "image": opt(&self.image),
            "imageid": opt(&self.image_id),
            "imagerepo": opt(&self.image_repository),
            "imagetag": opt(&self.image_tag),
            "imagedigest": opt(&self.image_digest),
            "privileged": self.privileged,
            "labels": map(&self.labels),
            "Mounts": mounts,
            "ip": opt(&self.ip),
            "created_time": self.created_ns.map(|n| n / 1_000_000_000),
            "host_pid": self.host_pid,
            "host_network": self.host_network,
            "host_ipc": self.host_ipc,
            "is_pod_sandbox": self.is_pod_sandbox,
        });
        if let Some(h) = &self.healthcheck {
            c["health_probes"] = json!({"Healthcheck": {"exe": h}});
        }
        if let Some(p) = &self.pod {
            c["pod_sandbox_id"] = opt(&p.sandbox_id);
            c["pod_sandbox_labels"] = map(&p.labels);
        }
        c["ferret"] = json!({
            "source": self.source,
            "provisional": self.provisional,
            "created_ns": self.created_ns,
            "missing": map(&self.missing),
            "k8s": self.pod.as_ref().map(|p| json!({
                "pod_name": opt(&p.name),
                "namespace": opt(&p.namespace),
                "pod_uid": opt(&p.uid),
            })),
        });
        json!({ "container": c }).to_string()
    }
}

/// Kubernetes pod facts from the labels and annotations the kubelet's CRI
/// sets (`io.kubernetes.pod.*`, `io.kubernetes.cri.sandbox-*`,
/// `io.kubernetes.cri-o.*`); `None` when the container is not a pod's.
pub fn pod_from(labels: &BTreeMap<String, String>, ann: &BTreeMap<String, String>) -> Option<Pod> {
    let get = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| labels.get(*k).or_else(|| ann.get(*k)))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let pod = Pod {
        name: get(&["io.kubernetes.pod.name", "io.kubernetes.cri.sandbox-name"]),
        namespace: get(&[
            "io.kubernetes.pod.namespace",
            "io.kubernetes.cri.sandbox-namespace",
        ]),
        uid: get(&["io.kubernetes.pod.uid", "io.kubernetes.cri.sandbox-uid"]),
        sandbox_id: get(&[
            "io.kubernetes.cri.sandbox-id",
            "io.kubernetes.cri-o.SandboxID",
        ]),
        labels: BTreeMap::new(),
    };
    (pod.name.is_some() || pod.namespace.is_some() || pod.uid.is_some()).then_some(pod)
}

/// Labels that are the pod's own (not the kubelet's or the runtime's).
pub fn pod_labels(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(k, _)| {
            !k.starts_with("io.kubernetes.")
                && !k.starts_with("io.cri-containerd.")
                && !k.starts_with("io.containerd.")
                && !k.starts_with("annotation.")
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_split() {
        let s = |x: &str| split_image(x);
        assert_eq!(
            s("docker.io/library/nginx:1.19"),
            ("docker.io/library/nginx".into(), Some("1.19".into()), None)
        );
        assert_eq!(
            s("registry:5000/team/app:1.2@sha256:ab"),
            (
                "registry:5000/team/app".into(),
                Some("1.2".into()),
                Some("sha256:ab".into())
            )
        );
        assert_eq!(
            s("registry:5000/app"),
            ("registry:5000/app".into(), None, None)
        );
    }

    #[test]
    fn json_carries_every_field_and_what_is_missing() {
        let mut c = ContainerInfo {
            id: "ab".repeat(32),
            runtime: Some(Runtime::Podman),
            name: Some("web".into()),
            image: Some("localhost/nginx:1.19".into()),
            source: "test".into(),
            ..Default::default()
        };
        c.complete();
        let v: Value = serde_json::from_str(&c.to_json()).expect("json");
        let c = &v["container"];
        assert_eq!(c["id"], "abababababab");
        assert_eq!(c["type"], 11);
        assert_eq!(c["imagerepo"], "localhost/nginx");
        assert_eq!(c["imagetag"], "1.19");
        assert_eq!(c["ferret"]["missing"]["ip"], "test does not record it");
        assert!(c["ferret"]["missing"].get("name").is_none());
    }
}
