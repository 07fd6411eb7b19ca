//! containerd: the OCI bundles of its running tasks
//! (`/run/containerd/io.containerd.runtime.v2.task/<namespace>/<id>/config.json`,
//! whose annotations carry the CRI's `io.kubernetes.cri.*` keys) and its
//! metadata database (`meta.db`: image name, labels, creation time), with
//! the image's digest and id from its content store.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use crate::bolt::{Db, Value as BVal};
use crate::util::{go_time_ns, host_namespaces, spec_mounts, spec_privileged, str_map, text};
use crate::{ContainerInfo, Host, Runtime};

const TASKS: &str = "run/containerd/io.containerd.runtime.v2.task";
const META: &str = "var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db";
const BLOBS: &str = "var/lib/containerd/io.containerd.content.v1.content/blobs";

/// The bundle directories of running tasks: (namespace, id, dir).
pub(crate) fn bundles(host: &Host) -> Vec<(String, String, PathBuf)> {
    let mut out = Vec::new();
    let Ok(nss) = std::fs::read_dir(host.path(TASKS)) else {
        return out;
    };
    for ns in nss.flatten() {
        let Ok(ids) = std::fs::read_dir(ns.path()) else {
            continue;
        };
        for id in ids.flatten() {
            out.push((
                ns.file_name().to_string_lossy().into_owned(),
                id.file_name().to_string_lossy().into_owned(),
                id.path(),
            ));
        }
    }
    out
}

/// What containerd knows of one container, from its bundle and metadata.
pub(crate) struct Meta {
    db: Option<Db>,
    why_no_db: String,
    host_blobs: PathBuf,
}

impl Meta {
    pub(crate) fn open(host: &Host) -> Meta {
        let path = host.path(META);
        let (db, why) = match Db::open(&path) {
            Ok(Some(db)) => (Some(db), String::new()),
            Ok(None) => (None, format!("{} is not a bolt database", path.display())),
            Err(e) => (None, format!("reading {}: {e}", path.display())),
        };
        Meta {
            db,
            why_no_db: why,
            host_blobs: host.path(BLOBS),
        }
    }

    /// Every container of the metadata database: (namespace, id).
    pub(crate) fn ids(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let Some(v1) = self.db.as_ref().and_then(|d| d.root().bucket(b"v1")) else {
            return out;
        };
        for (ns, b) in v1.entries() {
            let BVal::Bucket(b) = b else { continue };
            let Some(ctrs) = b.bucket(b"containers") else {
                continue;
            };
            for (id, _) in ctrs.entries() {
                out.push((
                    String::from_utf8_lossy(ns).into_owned(),
                    String::from_utf8_lossy(id).into_owned(),
                ));
            }
        }
        out
    }

    /// A container's record: bundle spec (when running) and metadata.
    pub(crate) fn info(&self, host: &Host, ns: &str, id: &str) -> Option<ContainerInfo> {
        let bundle = host.path(TASKS).join(ns).join(id).join("config.json");
        let spec_file: Option<Value> = std::fs::read(&bundle)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let rec = self.db.as_ref().and_then(|d| {
            d.root()
                .path(&[b"v1", ns.as_bytes(), b"containers", id.as_bytes()])
        });
        if spec_file.is_none() && rec.is_none() {
            return None;
        }
        // The spec from the bundle, or from the metadata (a protobuf Any
        // whose value is the spec's JSON).
        let spec = spec_file.unwrap_or_else(|| {
            rec.and_then(|r| r.bytes(b"spec"))
                .and_then(|b| b.iter().position(|&c| c == b'{').map(|i| &b[i..]))
                .and_then(|j| serde_json::from_slice(j).ok())
                .unwrap_or(Value::Null)
        });
        let ann = str_map(spec.get("annotations"));
        let mut labels: BTreeMap<String, String> = rec
            .and_then(|r| r.bucket(b"labels"))
            .map(|l| {
                l.entries()
                    .into_iter()
                    .filter_map(|(k, v)| match v {
                        BVal::Bytes(v) => Some((
                            String::from_utf8_lossy(k).into_owned(),
                            String::from_utf8_lossy(v).into_owned(),
                        )),
                        BVal::Bucket(_) => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let image = rec
            .and_then(|r| r.bytes(b"image"))
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .filter(|s| !s.is_empty())
            .or_else(|| ann.get("io.kubernetes.cri.image-name").cloned());
        let (host_pid, host_network, host_ipc) = host_namespaces(&spec);
        let sandbox = ann
            .get("io.kubernetes.cri.container-type")
            .map(String::as_str)
            == Some("sandbox");
        let name = ann
            .get("io.kubernetes.cri.container-name")
            .or_else(|| labels.get("io.kubernetes.container.name"))
            .cloned()
            .or_else(|| {
                ann.get("io.kubernetes.cri.sandbox-name")
                    .filter(|_| sandbox)
                    .cloned()
            })
            .unwrap_or_else(|| id.to_string());
        let mut info = ContainerInfo {
            id: id.into(),
            runtime: Some(Runtime::Containerd),
            name: Some(name),
            privileged: spec_privileged(&spec),
            mounts: spec_mounts(&spec, &[]),
            created_ns: rec.and_then(|r| r.bytes(b"createdat")).and_then(go_time_ns),
            host_pid,
            host_network,
            host_ipc,
            is_pod_sandbox: sandbox,
            pod: crate::info::pod_from(&labels, &ann),
            source: format!("containerd (namespace {ns})"),
            ..ContainerInfo::default()
        };
        if let Some(img) = &image {
            match self.image(ns, img) {
                Ok((digest, config)) => {
                    info.image_digest = Some(digest);
                    info.image_id = config;
                }
                Err(why) => {
                    info.missing.insert("image.digest".into(), why.clone());
                    info.missing.insert("image.id".into(), why);
                }
            }
        }
        info.image = image;
        if rec.is_none() {
            info.missing.insert(
                "labels".into(),
                if self.db.is_some() {
                    "containerd's metadata has no record of it".into()
                } else {
                    self.why_no_db.clone()
                },
            );
        }
        // Kubernetes keys given only as annotations are labels to Falco.
        for (k, v) in &ann {
            if k.starts_with("io.kubernetes.pod.") || k == "io.kubernetes.container.name" {
                labels.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        info.labels = labels;
        if info.ip.is_none() {
            info.missing.insert(
                "ip".into(),
                if host_network == Some(true) {
                    "the container shares the host's network".into()
                } else {
                    "containerd records no address (the CNI result lives in the CRI plugin's memory)".into()
                },
            );
        }
        info.complete();
        Some(info)
    }

    /// An image's manifest digest and config digest (its id).
    fn image(&self, ns: &str, name: &str) -> Result<(String, Option<String>), String> {
        let db = self.db.as_ref().ok_or_else(|| self.why_no_db.clone())?;
        let target = db
            .root()
            .path(&[b"v1", ns.as_bytes(), b"images", name.as_bytes(), b"target"])
            .ok_or_else(|| {
                format!("containerd's metadata has no image {name} in namespace {ns}")
            })?;
        let digest = target
            .bytes(b"digest")
            .map(|d| String::from_utf8_lossy(d).into_owned())
            .ok_or_else(|| format!("image {name} has no digest in containerd's metadata"))?;
        Ok((digest.clone(), self.config_digest(&digest, 0)))
    }

    /// The config digest of a manifest, following an index to its first
    /// manifest for this machine's architecture.
    fn config_digest(&self, digest: &str, depth: usize) -> Option<String> {
        let (alg, hex) = digest.split_once(':')?;
        if depth > 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) || alg != "sha256" {
            return None;
        }
        let blob = std::fs::read(self.host_blobs.join(alg).join(hex)).ok()?;
        let v: Value = serde_json::from_slice(&blob).ok()?;
        if let Some(c) = text(&v, &["config", "digest"]) {
            return Some(c);
        }
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            a => a,
        };
        let ms = v.get("manifests")?.as_array()?;
        let m = ms
            .iter()
            .find(|m| m.pointer("/platform/architecture").and_then(|a| a.as_str()) == Some(arch))
            .or_else(|| ms.first())?;
        self.config_digest(&text(m, &["digest"])?, depth + 1)
    }
}

/// The pod labels of a CRI sandbox: the sandbox container's own labels.
pub(crate) fn fill_pod_labels(meta: &Meta, host: &Host, ns: &str, info: &mut ContainerInfo) {
    let Some(pod) = info.pod.as_mut() else { return };
    let sandbox = if info.is_pod_sandbox {
        Some(info.labels.clone())
    } else {
        pod.sandbox_id
            .as_ref()
            .and_then(|sid| meta.info(host, ns, sid))
            .map(|s| s.labels)
    };
    match sandbox {
        Some(l) => pod.labels = crate::info::pod_labels(&l),
        None => {
            info.missing.insert(
                "k8s.pod.labels".into(),
                "the pod's sandbox container is not in containerd's metadata".into(),
            );
        }
    }
}
