//! `fd.*`: the file descriptor an event uses (names, types, socket tuples).

use super::*;

/// An `fd.*` field.
pub(super) fn extract<'c>(f: F, r: &FieldRef, cx: &'c EvCtx<'_>) -> Val<'c> {
    let t = cx.fd.and_then(|f| f.tuple.as_ref());
    let na = Val::NA;
    match f {
        F::FdNum => cx.fd_num.map(Val::Int).unwrap_or(na),
        F::FdName => match (cx.path(), cx.fd) {
            (Some(pth), _) => Val::Str(Cow::Borrowed(pth)),
            (None, Some(fd)) => match &fd.tuple {
                Some(t) if matches!(fd.kind, FdKind::Ipv4 | FdKind::Ipv6) => {
                    Val::Str(Cow::Owned(crate::state::tuple_name(t)))
                }
                _ => Val::Str(Cow::Borrowed(&fd.name)),
            },
            _ => na,
        },
        F::FdType | F::FdTypechar => {
            let kind = if cx.is_open {
                Some(cx.fd.map(|f| f.kind.clone()).unwrap_or(FdKind::File))
            } else {
                cx.fd.map(|f| f.kind.clone())
            };
            match kind {
                Some(k) => Val::Str(Cow::Borrowed(if f == F::FdType {
                    k.type_name()
                } else {
                    k.typechar()
                })),
                None => na,
            }
        }
        F::FdDirectory | F::FdFilename => {
            // A part of the name: borrowed, never copied.
            let name: Option<&str> = match (cx.path(), cx.fd) {
                (Some(pth), _) => Some(pth),
                (None, Some(fd)) if matches!(fd.kind, FdKind::File | FdKind::Dir) => Some(&fd.name),
                _ => None,
            };
            match name {
                Some(n) if n.starts_with('/') => {
                    let (dir, file) = n.rsplit_once('/').unwrap_or(("", n));
                    Val::Str(Cow::Borrowed(if f == F::FdDirectory {
                        if dir.is_empty() {
                            "/"
                        } else {
                            dir
                        }
                    } else {
                        file
                    }))
                }
                _ => na,
            }
        }
        F::FdIp | F::FdNet => ep_ip(t.and_then(|t| t.remote).or(t.and_then(|t| t.local))),
        F::FdCip | F::FdCnet => ep_ip(t.and_then(|t| if t.server { t.remote } else { t.local })),
        F::FdSip | F::FdSnet => ep_ip(t.and_then(|t| if t.server { t.local } else { t.remote })),
        F::FdLip | F::FdLnet => ep_ip(t.and_then(|t| t.local)),
        F::FdRip | F::FdRnet => ep_ip(t.and_then(|t| t.remote)),
        F::FdPort => ep_port(t.and_then(|t| t.remote).or(t.and_then(|t| t.local))),
        F::FdCport => ep_port(t.and_then(|t| if t.server { t.remote } else { t.local })),
        F::FdSport => ep_port(t.and_then(|t| if t.server { t.local } else { t.remote })),
        F::FdLport => ep_port(t.and_then(|t| t.local)),
        F::FdRport => ep_port(t.and_then(|t| t.remote)),
        F::FdL4proto => match t.map(|t| t.proto) {
            Some(6) => Val::Str(Cow::Borrowed("tcp")),
            Some(17) => Val::Str(Cow::Borrowed("udp")),
            Some(_) => Val::Str(Cow::Borrowed("unknown")),
            None => na,
        },
        F::FdSockfamily => match cx.fd.map(|f| &f.kind) {
            Some(FdKind::Ipv4 | FdKind::Ipv6) => Val::Str(Cow::Borrowed("ip")),
            Some(FdKind::Unix) => Val::Str(Cow::Borrowed("unix")),
            _ => na,
        },
        F::FdIsServer => t.map(|t| Val::Bool(t.server)).unwrap_or(na),
        F::FdConnected => t.map(|t| Val::Bool(t.connected)).unwrap_or(na),
        F::FdNameChanged => Val::Bool(false),
        _ => super::proc::default(f, r, cx),
    }
}
