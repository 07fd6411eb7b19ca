//! Container ids in cgroup paths, for every runtime's layout, as Falco's
//! container plugin matches them:
//!
//! | runtime | cgroupfs driver | systemd driver |
//! |---|---|---|
//! | Docker | `/docker/<id>` | `/system.slice/docker-<id>.scope` |
//! | Podman | `/libpod_parent/libpod-<id>` | `/machine.slice/libpod-<id>.scope[/container]` |
//! | containerd (CRI) | `/kubepods/<qos>/pod<uid>/<id>` | `/kubepods.slice/…/cri-containerd-<id>.scope` |
//! | CRI-O | `/kubepods/<qos>/pod<uid>/<id>` | `/kubepods.slice/…/crio-<id>.scope` |
//! | containerd | `/<namespace>/<id>` (`ctr run`) | — |
//!
//! The runtime monitors' own cgroups (`libpod-conmon-<id>`,
//! `crio-conmon-<id>`) are not the container. On cgroup v1 and hybrid hosts
//! every hierarchy carries the same path; the caller passes one of them.

/// What a cgroup path says of the runtime, before any metadata is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// `docker-<id>.scope`, `/docker/<id>`.
    Docker,
    /// `libpod-<id>`.
    Podman,
    /// `cri-containerd-<id>.scope`.
    CriContainerd,
    /// `crio-<id>.scope`, `/crio-<id>`.
    CriO,
    /// `/kubepods…/pod<uid>/<id>`: a kubelet pod, runtime unknown.
    Kubepods,
    /// `/<namespace>/<id>`: plain containerd.
    Containerd,
}

impl Layout {
    /// The runtime the layout names, when it names one (`/<ns>/<id>` and
    /// kubelet paths do not say which runtime made them).
    pub fn runtime(self) -> Option<crate::Runtime> {
        match self {
            Layout::Docker => Some(crate::Runtime::Docker),
            Layout::Podman => Some(crate::Runtime::Podman),
            Layout::CriO => Some(crate::Runtime::CriO),
            Layout::CriContainerd => Some(crate::Runtime::Containerd),
            Layout::Containerd | Layout::Kubepods => None,
        }
    }
}

/// A container found in a cgroup path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CgroupContainer {
    /// The full (64 hex digit) id.
    pub id: String,
    /// The layout it was found in.
    pub layout: Layout,
    /// The Kubernetes pod uid, for kubelet layouts.
    pub pod_uid: Option<String>,
}

impl CgroupContainer {
    /// The 12-character id Falco shows.
    pub fn short_id(&self) -> &str {
        &self.id[..12]
    }
}

fn is_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The pod uid in `pod<uid>` or `kubepods-<qos>-pod<uid>.slice` (systemd
/// writes the uid's dashes as underscores).
fn pod_uid(part: &str) -> Option<String> {
    let p = part.strip_suffix(".slice").unwrap_or(part);
    let uid = match p.strip_prefix("pod") {
        Some(u) => u,
        None if p.starts_with("kubepods") => &p[p.rfind("-pod")? + 4..],
        None => return None,
    };
    (uid.len() >= 32
        && uid
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b'_'))
    .then(|| uid.replace('_', "-"))
}

/// The container a cgroup path belongs to, or `None` on the host.
pub fn parse(path: &str) -> Option<CgroupContainer> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let kube = parts.iter().any(|p| p.starts_with("kubepods"));
    let pod = if kube {
        parts.iter().find_map(|p| pod_uid(p))
    } else {
        None
    };
    // The innermost component that names a container wins (docker in
    // docker nests `/docker/<a>/docker/<b>`).
    for (i, part) in parts.iter().enumerate().rev() {
        let p = part.strip_suffix(".scope").unwrap_or(part);
        let prefixed = [
            ("docker-", Layout::Docker),
            ("libpod-", Layout::Podman),
            ("cri-containerd-", Layout::CriContainerd),
            ("crio-", Layout::CriO),
        ];
        for (prefix, layout) in prefixed {
            if let Some(id) = p.strip_prefix(prefix) {
                if is_id(id) {
                    return Some(CgroupContainer {
                        id: id.to_ascii_lowercase(),
                        layout,
                        pod_uid: pod.clone(),
                    });
                }
            }
        }
        if is_id(p) {
            let parent = if i > 0 { parts[i - 1] } else { "" };
            let layout = if kube {
                Layout::Kubepods
            } else if parent == "docker" {
                Layout::Docker
            } else if parent.starts_with("crio") {
                Layout::CriO
            } else {
                Layout::Containerd
            };
            return Some(CgroupContainer {
                id: p.to_ascii_lowercase(),
                layout,
                pod_uid: pod.clone(),
            });
        }
    }
    None
}

/// The 12-character container id of a cgroup path, empty on the host.
pub fn short_id(path: &str) -> String {
    parse(path)
        .map(|c| c.short_id().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "d4996259de7402082ac86bde29dcc2c03c4eeacf9a538c21971ada0091b892af";

    #[test]
    fn every_layout() {
        let uid = "0b5e1f2a-1111-2222-3333-444455556666";
        let cases = [
            (format!("/docker/{ID}"), Layout::Docker, None),
            (format!("/system.slice/docker-{ID}.scope"), Layout::Docker, None),
            (format!("/libpod_parent/libpod-{ID}"), Layout::Podman, None),
            (
                format!("/machine.slice/libpod-{ID}.scope/container"),
                Layout::Podman,
                None,
            ),
            (
                format!("/kubepods/besteffort/pod{uid}/{ID}"),
                Layout::Kubepods,
                Some(uid),
            ),
            (
                format!(
                    "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{}.slice/cri-containerd-{ID}.scope",
                    uid.replace('-', "_")
                ),
                Layout::CriContainerd,
                Some(uid),
            ),
            (
                format!("/kubepods.slice/kubepods-pod{}.slice/crio-{ID}.scope", uid.replace('-', "_")),
                Layout::CriO,
                Some(uid),
            ),
            (format!("/k8s.io/{ID}"), Layout::Containerd, None),
            (format!("/default/{ID}"), Layout::Containerd, None),
            (format!("/docker/{}/docker/{ID}", "a".repeat(64)), Layout::Docker, None),
        ];
        for (path, layout, pod) in cases {
            let c = parse(&path).unwrap_or_else(|| panic!("{path}"));
            assert_eq!(c.id, ID, "{path}");
            assert_eq!(c.layout, layout, "{path}");
            assert_eq!(c.pod_uid.as_deref(), pod, "{path}");
            assert_eq!(short_id(&path), &ID[..12]);
        }
    }

    #[test]
    fn host_and_monitor_cgroups_are_not_containers() {
        for path in [
            "/",
            "/user.slice/user-1000.slice/session-3.scope",
            "/system.slice/containerd.service",
            &format!("/machine.slice/libpod-conmon-{ID}.scope"),
            &format!("/system.slice/crio-conmon-{ID}.scope"),
            "/kubepods/besteffort/pod0b5e1f2a-1111-2222-3333-444455556666",
            &format!("/docker/{}", &ID[..63]),
        ] {
            assert_eq!(parse(path), None, "{path}");
        }
    }
}
