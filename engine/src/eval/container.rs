//! `container.*` and `k8s.*`: the event's container and pod, from the
//! capture's container records.

use super::*;

/// A `container.*` or `k8s.*` field.
/// Container and Kubernetes fields: of the container a `container` record
/// describes, else of the event's process (`host` for id and name on the
/// host).
pub(super) fn extract<'c>(f: F, r: &FieldRef, cx: &'c EvCtx<'_>) -> Val<'c> {
    let id: Option<&str> = if cx.e.kind == id::CONTAINER {
        match cx.args.get("id") {
            Some(ArgValue::Str(b)) => std::str::from_utf8(b).ok().map(|x| &x[..x.len().min(12)]),
            _ => None,
        }
    } else {
        cx.proc_.and_then(|p| p.container_id.as_deref())
    };
    let Some(id) = id else { return Val::NA };
    if id.is_empty() {
        return match f {
            F::ContainerId | F::ContainerFullId | F::ContainerName => {
                Val::Str(Cow::Borrowed("host"))
            }
            F::ContainerInfo => Val::Str(Cow::Borrowed("host (id=host)")),
            F::ContainerPrivileged
            | F::ContainerHostPid
            | F::ContainerHostNetwork
            | F::ContainerHostIpc => Val::Bool(false),
            _ => Val::NA,
        };
    }
    let c = cx.env.state.containers.get(id).map(|c| &**c);
    let pod = c.and_then(|c| c.pod.as_deref());
    let key = match &r.arg {
        FieldArg::Key(k) => Some(k.as_str()),
        _ => None,
    };
    let pairs = |l: &[(std::sync::Arc<str>, std::sync::Arc<str>)]| {
        Val::Str(Cow::Owned(
            l.iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect::<Vec<_>>()
                .join(", "),
        ))
    };
    let flag = |b: Option<bool>| b.map(Val::Bool).unwrap_or(Val::NA);
    match f {
        F::ContainerId => Val::Str(Cow::Borrowed(id)),
        F::ContainerFullId => match c {
            Some(c) => Val::Str(Cow::Borrowed(&c.full_id)),
            None => Val::Str(Cow::Borrowed(id)),
        },
        F::ContainerName => s(c.and_then(|c| c.name.as_ref())),
        F::ContainerImage => s(c.and_then(|c| c.image.as_ref())),
        F::ContainerImageId => s(c.and_then(|c| c.image_id.as_ref())),
        F::ContainerImageRepository => s(c.and_then(|c| c.image_repository.as_ref())),
        F::ContainerImageTag => s(c.and_then(|c| c.image_tag.as_ref())),
        F::ContainerImageDigest => s(c.and_then(|c| c.image_digest.as_ref())),
        F::ContainerType => s(c.and_then(|c| c.runtime.as_ref())),
        F::ContainerPrivileged => flag(c.and_then(|c| c.privileged)),
        F::ContainerIp | F::K8sPodIp => c.and_then(|c| c.ip).map(Val::Ip).unwrap_or(Val::NA),
        F::ContainerMounts => match c.and_then(|c| c.mounts.as_ref()) {
            // sysdig's form: source:dest:mode:rdwr:propagation, comma-separated.
            Some(ms) => Val::Str(Cow::Owned(
                ms.iter().map(mount_text).collect::<Vec<_>>().join(","),
            )),
            None => Val::NA,
        },
        F::ContainerMount
        | F::ContainerMountSource
        | F::ContainerMountDest
        | F::ContainerMountMode
        | F::ContainerMountRdwr
        | F::ContainerMountPropagation => {
            let Some(ms) = c.and_then(|c| c.mounts.as_ref()) else {
                return Val::NA;
            };
            // The key is an index or a glob over destinations.
            let m = match key {
                Some(k) => match k.parse::<usize>() {
                    Ok(i) => ms.get(i),
                    Err(_) => ruleset::glob::Pattern::new(k, false)
                        .and_then(|g| ms.iter().find(|m| g.matches(m.dest.as_bytes()))),
                },
                None => None,
            };
            let Some(m) = m else { return Val::NA };
            Val::Str(match f {
                F::ContainerMount => Cow::Owned(mount_text(m)),
                F::ContainerMountSource => Cow::Borrowed(&*m.source),
                F::ContainerMountDest => Cow::Borrowed(&*m.dest),
                F::ContainerMountMode => Cow::Borrowed(&*m.mode),
                F::ContainerMountRdwr => Cow::Borrowed(if m.rdwr { "true" } else { "false" }),
                _ => Cow::Borrowed(&*m.propagation),
            })
        }
        F::ContainerHealthcheck => s(c.and_then(|c| c.probes[0].as_ref())),
        F::ContainerLiveness => s(c.and_then(|c| c.probes[1].as_ref())),
        F::ContainerReadiness => s(c.and_then(|c| c.probes[2].as_ref())),
        F::ContainerStartTs => c
            .and_then(|c| c.start_ts)
            .map(|t| Val::Int(t as i64))
            .unwrap_or(Val::NA),
        F::ContainerDuration => match c.and_then(|c| c.start_ts) {
            Some(t) => Val::Int(cx.e.ts.wrapping_add(cx.env.anchor).saturating_sub(t) as i64),
            None => Val::NA,
        },
        F::ContainerCniJson | F::K8sPodCniJson => s(c.and_then(|c| c.cni_json.as_ref())),
        F::ContainerHostPid => flag(c.and_then(|c| c.host_pid)),
        F::ContainerHostNetwork => flag(c.and_then(|c| c.host_network)),
        F::ContainerHostIpc => flag(c.and_then(|c| c.host_ipc)),
        // Falco's %container.info without -pk/-pc.
        F::ContainerInfo => Val::Str(Cow::Owned(format!(
            "{} (id={id})",
            c.and_then(|c| c.name.as_deref()).unwrap_or("<NA>")
        ))),
        F::ContainerLabel => match (c, key) {
            (Some(c), Some(k)) => s(c.label(k)),
            _ => Val::NA,
        },
        F::ContainerLabels => match c {
            Some(c) => pairs(&c.labels),
            None => Val::NA,
        },
        F::K8sNsName => s(pod.and_then(|p| p.namespace.as_ref())),
        F::K8sPodName => s(pod.and_then(|p| p.name.as_ref())),
        F::K8sPodUid => s(pod.and_then(|p| p.uid.as_ref())),
        F::K8sPodFullSandboxId => s(pod.and_then(|p| p.sandbox_id.as_ref())),
        F::K8sPodSandboxId => match pod.and_then(|p| p.sandbox_id.as_deref()) {
            Some(sid) => Val::Str(Cow::Borrowed(&sid[..sid.len().min(12)])),
            None => Val::NA,
        },
        F::K8sPodLabel => match (pod, key) {
            (Some(p), Some(k)) => p
                .labels
                .iter()
                .find(|(l, _)| &**l == k)
                .map(|(_, v)| Val::Str(Cow::Borrowed(&**v)))
                .unwrap_or(Val::NA),
            _ => Val::NA,
        },
        F::K8sPodLabels => match pod {
            Some(p) => pairs(&p.labels),
            None => Val::NA,
        },
        _ => Val::NA,
    }
}

fn mount_text(m: &crate::state::Mount) -> String {
    format!(
        "{}:{}:{}:{}:{}",
        m.source, m.dest, m.mode, m.rdwr, m.propagation
    )
}
