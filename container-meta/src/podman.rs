//! Podman: its bolt database (`libpod/bolt_state.db`: each container's
//! configuration and state as JSON) and containers/storage's `images.json`
//! (digests).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::bolt::{Db, Value as BVal};
use crate::util::{host_namespaces, rfc3339_ns, spec_mounts, str_map, text};
use crate::{ContainerInfo, Host, Runtime};

const RUNNING: u64 = 3;
const PAUSED: u64 = 5;

/// Every container podman's database lists but those `skip` accepts: (id,
/// running, info).
pub(crate) fn all(
    host: &Host,
    skip: &dyn Fn(&str) -> bool,
) -> Result<Vec<(String, bool, ContainerInfo)>, String> {
    let path = host.path("var/lib/containers/storage/libpod/bolt_state.db");
    let db = match Db::open(&path) {
        Ok(Some(db)) => db,
        Ok(None) => return Err(format!("{} is not a bolt database", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let sql = host.path("var/lib/containers/storage/db.sql");
            return Err(if sql.exists() {
                format!(
                    "podman keeps its state in SQLite ({}), which is read through its API socket",
                    sql.display()
                )
            } else {
                "podman is not installed or has no containers".into()
            });
        }
        Err(e) => return Err(format!("reading {}: {e}", path.display())),
    };
    let Some(ctrs) = db.root().bucket(b"ctr") else {
        return Ok(Vec::new());
    };
    let mut digests = None;
    let mut out = Vec::new();
    for (id, v) in ctrs.entries() {
        let BVal::Bucket(b) = v else { continue };
        let id = String::from_utf8_lossy(id).into_owned();
        if skip(&id) {
            continue;
        }
        let digests = digests.get_or_insert_with(|| {
            image_digests(&host.path("var/lib/containers/storage/overlay-images/images.json"))
        });
        let config: Value = b
            .bytes(b"config")
            .and_then(|c| serde_json::from_slice(c).ok())
            .unwrap_or(Value::Null);
        let state: Value = b
            .bytes(b"state")
            .and_then(|c| serde_json::from_slice(c).ok())
            .unwrap_or(Value::Null);
        let st = state.get("state").and_then(|s| s.as_u64()).unwrap_or(0);
        // podman updates a container's state only when one of its commands
        // runs: a container whose process died meanwhile still reads as
        // running, so the process must exist too.
        let pid = state.get("pid").and_then(|p| p.as_u64()).unwrap_or(0);
        let alive = pid > 0 && host.path(&format!("proc/{pid}")).exists();
        let mut info = from_config(&id, &config, &state, digests, &path);
        info.provisional = st < RUNNING;
        out.push((id, (st == RUNNING || st == PAUSED) && alive, info));
    }
    Ok(out)
}

fn image_digests(path: &Path) -> BTreeMap<String, String> {
    let Ok(b) = std::fs::read(path) else {
        return BTreeMap::new();
    };
    let Ok(Value::Array(imgs)) = serde_json::from_slice::<Value>(&b) else {
        return BTreeMap::new();
    };
    imgs.iter()
        .filter_map(|i| Some((text(i, &["id"])?, text(i, &["digest"])?)))
        .collect()
}

fn from_config(
    id: &str,
    c: &Value,
    state: &Value,
    digests: &BTreeMap<String, String>,
    db: &Path,
) -> ContainerInfo {
    let spec = c.get("spec").cloned().unwrap_or(Value::Null);
    let (host_pid, host_network, host_ipc) = host_namespaces(&spec);
    let labels = str_map(c.get("labels"));
    let ann = str_map(spec.get("annotations"));
    let internal: Vec<&str> = [c.get("staticDir"), state.get("runDir")]
        .into_iter()
        .filter_map(|v| v.and_then(|v| v.as_str()))
        .collect();
    let image_id = text(c, &["rootfsImageID"]);
    let ip = state
        .get("networkStatus")
        .and_then(|n| n.as_object())
        .and_then(|nets| {
            nets.values().find_map(|n| {
                n.get("interfaces")?.as_object()?.values().find_map(|i| {
                    let net = i
                        .get("subnets")?
                        .as_array()?
                        .first()?
                        .get("ipnet")?
                        .as_str()?;
                    Some(net.split('/').next()?.to_string())
                })
            })
        });
    let healthcheck = crate::util::health_test(c.pointer("/healthcheck/Test"));
    let mut info = ContainerInfo {
        id: id.into(),
        runtime: Some(Runtime::Podman),
        name: text(c, &["name"]),
        image: text(c, &["RawImageName"]).or_else(|| text(c, &["rootfsImageName"])),
        image_digest: image_id.as_ref().and_then(|i| digests.get(i).cloned()),
        image_id,
        privileged: c.get("privileged").and_then(|p| p.as_bool()).or_else(|| {
            ann.get("io.podman.annotations.privileged")
                .map(|p| p == "TRUE")
        }),
        mounts: spec_mounts(&spec, &internal),
        ip,
        // Falco's container.start_ts is the creation time.
        created_ns: text(c, &["createdTime"])
            .and_then(|t| rfc3339_ns(&t))
            .or_else(|| text(state, &["startedTime"]).and_then(|t| rfc3339_ns(&t))),
        host_pid,
        host_network,
        host_ipc,
        healthcheck,
        pod: crate::info::pod_from(&labels, &ann),
        labels,
        source: format!("podman ({})", db.display()),
        ..ContainerInfo::default()
    };
    if let Some(p) = info.pod.as_mut() {
        p.labels = crate::info::pod_labels(&info.labels);
    }
    if info.ip.is_none() && host_network == Some(true) {
        info.missing.insert(
            "ip".into(),
            "the container shares the host's network".into(),
        );
    }
    info.complete();
    info
}
