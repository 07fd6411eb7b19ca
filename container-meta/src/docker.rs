//! Docker: its on-disk state (`/var/lib/docker/containers/<id>/config.v2.json`
//! and `hostconfig.json`) and the Engine API (`GET /containers/<id>/json`)
//! on its socket, which podman's `system service` also speaks.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::util::{rfc3339_ns, str_map, text};
use crate::{ContainerInfo, Host, Mount, Runtime};

const STATE: &str = "var/lib/docker/containers";

/// Ids of the containers in Docker's state directory but those `skip`
/// accepts: (id, running).
pub(crate) fn all(host: &Host, skip: &dyn Fn(&str) -> bool) -> Vec<(String, bool)> {
    let Ok(dir) = std::fs::read_dir(host.path(STATE)) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let id = e.file_name().to_string_lossy().into_owned();
            if skip(&id) {
                return None;
            }
            let v: Value =
                serde_json::from_slice(&std::fs::read(e.path().join("config.v2.json")).ok()?)
                    .ok()?;
            let running = v.pointer("/State/Running").and_then(|r| r.as_bool()) == Some(true);
            Some((id, running))
        })
        .collect()
}

/// A mount as Docker describes it (state directory and Engine API alike).
fn mount(p: &Value) -> Mount {
    Mount {
        source: text(p, &["Source"]).unwrap_or_default(),
        dest: text(p, &["Destination"]).unwrap_or_default(),
        mode: text(p, &["Mode"]).unwrap_or_default(),
        rw: p.get("RW").and_then(|x| x.as_bool()).unwrap_or(false),
        propagation: text(p, &["Propagation"]).unwrap_or_default(),
    }
}

/// A container's record from Docker's state directory.
pub(crate) fn from_disk(host: &Host, id: &str) -> Option<ContainerInfo> {
    let dir = host.path(STATE).join(id);
    let v: Value = serde_json::from_slice(&std::fs::read(dir.join("config.v2.json")).ok()?).ok()?;
    let hc: Value = std::fs::read(dir.join("hostconfig.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    let mounts = v
        .get("MountPoints")
        .and_then(|m| m.as_object())
        .map(|m| m.values().map(mount).collect())
        .unwrap_or_default();
    let ip = v
        .pointer("/NetworkSettings/Networks")
        .and_then(|n| n.as_object())
        .and_then(|n| n.values().find_map(|x| text(x, &["IPAddress"])));
    Some(build(
        id,
        &v,
        &hc,
        mounts,
        ip,
        format!("docker ({})", dir.display()),
    ))
}

fn build(
    id: &str,
    v: &Value,
    hc: &Value,
    mounts: Vec<Mount>,
    ip: Option<String>,
    source: String,
) -> ContainerInfo {
    let labels = str_map(v.pointer("/Config/Labels"));
    let mode = |k: &str| text(hc, &[k]).map(|m| m == "host");
    let mut info = ContainerInfo {
        id: id.into(),
        runtime: Some(Runtime::Docker),
        name: text(v, &["Name"]).map(|n| n.trim_start_matches('/').to_string()),
        image: text(v, &["Config", "Image"]),
        image_id: text(v, &["Image"]),
        privileged: hc.get("Privileged").and_then(|p| p.as_bool()),
        mounts,
        ip,
        // Falco's container.start_ts is the creation time.
        created_ns: text(v, &["Created"])
            .and_then(|t| rfc3339_ns(&t))
            .or_else(|| text(v, &["State", "StartedAt"]).and_then(|t| rfc3339_ns(&t))),
        host_pid: mode("PidMode"),
        host_network: mode("NetworkMode"),
        host_ipc: mode("IpcMode"),
        healthcheck: crate::util::health_test(v.pointer("/Config/Healthcheck/Test")),
        pod: crate::info::pod_from(&labels, &Default::default()),
        source,
        ..ContainerInfo::default()
    };
    if let Some(p) = info.pod.as_mut() {
        p.labels = crate::info::pod_labels(&labels);
    }
    info.labels = labels;
    info.complete();
    info
}

/// A container's record from an Engine API socket, within `timeout` for
/// connecting and for each read and write.
pub(crate) fn from_api(sock: &Path, id: &str, timeout: Duration) -> Result<ContainerInfo, String> {
    let body = get(sock, &format!("/containers/{id}/json"), timeout)?;
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| format!("{}: the reply is not JSON: {e}", sock.display()))?;
    let full = text(&v, &["Id"]).unwrap_or_else(|| id.to_string());
    let mounts = v
        .get("Mounts")
        .and_then(|m| m.as_array())
        .map(|m| m.iter().map(mount).collect())
        .unwrap_or_default();
    let ip = text(&v, &["NetworkSettings", "IPAddress"]).or_else(|| {
        v.pointer("/NetworkSettings/Networks")
            .and_then(|n| n.as_object())
            .and_then(|n| n.values().find_map(|x| text(x, &["IPAddress"])))
    });
    let hc = v.get("HostConfig").cloned().unwrap_or(Value::Null);
    let mut info = build(
        &full,
        &v,
        &hc,
        mounts,
        ip,
        format!("Engine API ({})", sock.display()),
    );
    // The API gives the image's digests separately.
    if let Some(img) = &info.image_id {
        if let Ok(b) = get(sock, &format!("/images/{img}/json"), timeout) {
            if let Ok(iv) = serde_json::from_slice::<Value>(&b) {
                if let Some(d) = iv
                    .get("RepoDigests")
                    .and_then(|d| d.as_array())
                    .and_then(|d| d.first())
                    .and_then(|d| d.as_str())
                    .and_then(|d| d.split_once('@'))
                {
                    info.image_digest = Some(d.1.to_string());
                    info.missing.remove("image.digest");
                }
            }
        }
    }
    if v.pointer("/Config/Labels").is_some() {
        info.missing.remove("labels");
    }
    Ok(info)
}

/// One HTTP/1.0 GET on a unix socket (1.0: no chunked replies).
fn get(sock: &Path, path: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    let err = |what: &str, e: std::io::Error| format!("{}: {what}: {e}", sock.display());
    let mut s = UnixStream::connect(sock).map_err(|e| err("connecting", e))?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| err("setting a timeout", e))?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| err("setting a timeout", e))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n").map_err(|e| err("writing", e))?;
    let mut buf = Vec::new();
    // A reply is small; 16 MiB bounds a hostile or broken server.
    s.take(16 << 20)
        .read_to_end(&mut buf)
        .map_err(|e| err("reading", e))?;
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{}: a reply without headers", sock.display()))?;
    let head = String::from_utf8_lossy(&buf[..split]);
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        return Err(format!(
            "{}: GET {path}: {}",
            sock.display(),
            head.lines().next().unwrap_or("")
        ));
    }
    Ok(buf[split + 4..].to_vec())
}
