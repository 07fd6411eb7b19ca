//! CRI-O: each container's OCI `config.json` in containers/storage, whose
//! annotations (`io.kubernetes.cri-o.*`, `io.kubernetes.pod.*`) hold what
//! the kubelet asked for.

use serde_json::Value;

use crate::util::{host_namespaces, rfc3339_ns, spec_mounts, spec_privileged, str_map};
use crate::{ContainerInfo, Host, Runtime};

const STORE: &str = "var/lib/containers/storage/overlay-containers";
const RUN: &str = "run/containers/storage/overlay-containers";

/// A CRI-O container's record; `None` when the id is not CRI-O's (podman
/// shares the store and marks its own with `io.container.manager=libpod`).
pub(crate) fn info(host: &Host, id: &str) -> Option<ContainerInfo> {
    let path = host.path(STORE).join(id).join("userdata/config.json");
    let spec: Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    let ann = str_map(spec.get("annotations"));
    if ann.get("io.container.manager").map(String::as_str) == Some("libpod")
        || !ann.contains_key("io.kubernetes.cri-o.ContainerType")
    {
        return None;
    }
    let mut labels = ann
        .get("io.kubernetes.cri-o.Labels")
        .and_then(|l| serde_json::from_str::<Value>(l).ok())
        .map(|l| str_map(Some(&l)))
        .unwrap_or_default();
    for (k, v) in &ann {
        if k.starts_with("io.kubernetes.pod.") || k == "io.kubernetes.container.name" {
            labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let (host_pid, host_network, host_ipc) = host_namespaces(&spec);
    let sandbox = ann
        .get("io.kubernetes.cri-o.ContainerType")
        .map(String::as_str)
        == Some("sandbox");
    let mut info = ContainerInfo {
        id: id.into(),
        runtime: Some(Runtime::CriO),
        name: ann
            .get("io.kubernetes.container.name")
            .or_else(|| ann.get("io.kubernetes.cri-o.ContainerName"))
            .cloned(),
        image: ann
            .get("io.kubernetes.cri-o.ImageName")
            .or_else(|| ann.get("io.kubernetes.cri-o.Image"))
            .cloned(),
        image_id: ann.get("io.kubernetes.cri-o.ImageRef").cloned(),
        privileged: spec_privileged(&spec),
        mounts: spec_mounts(
            &spec,
            &[
                &host.path(STORE).to_string_lossy(),
                &host.path(RUN).to_string_lossy(),
            ],
        ),
        ip: ann.get("io.kubernetes.cri-o.IP.0").cloned(),
        created_ns: ann
            .get("io.kubernetes.cri-o.Created")
            .and_then(|t| rfc3339_ns(t)),
        host_pid,
        host_network,
        host_ipc,
        is_pod_sandbox: sandbox,
        pod: crate::info::pod_from(&labels, &ann),
        source: format!("CRI-O ({})", path.display()),
        ..ContainerInfo::default()
    };
    if let Some(p) = info.pod.as_mut() {
        p.labels = crate::info::pod_labels(&labels);
    }
    info.labels = labels;
    info.complete();
    Some(info)
}

/// Ids of CRI-O containers that run (have a run directory).
pub(crate) fn running(host: &Host) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(host.path(RUN)) else {
        return Vec::new();
    };
    dir.flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}
