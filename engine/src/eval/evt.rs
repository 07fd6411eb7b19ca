//! `evt.*`: the event itself (time, type, arguments, result, buffers).

use super::*;

/// An `evt.*` field.
pub(super) fn extract<'c>(f: F, r: &FieldRef, cx: &'c EvCtx<'_>) -> Val<'c> {
    let e = cx.e;
    let na = Val::NA;
    match f {
        F::EvtNum => Val::Int(e.seq as i64 + 1),
        F::EvtTime | F::EvtTimeS => {
            let u = utc(e.ts.wrapping_add(cx.env.anchor));
            let hms = &u[11..u.len() - 1];
            Val::Str(Cow::Owned(if f == F::EvtTimeS {
                hms[..8].to_string()
            } else {
                hms.to_string()
            }))
        }
        F::EvtTimeIso | F::EvtDatetime => {
            Val::Str(Cow::Owned(utc(e.ts.wrapping_add(cx.env.anchor))))
        }
        F::EvtRawtime => Val::Int(e.ts.wrapping_add(cx.env.anchor) as i64),
        F::EvtRawtimeS => Val::Int((e.ts.wrapping_add(cx.env.anchor) / 1_000_000_000) as i64),
        F::EvtRawtimeNs => Val::Int((e.ts.wrapping_add(cx.env.anchor) % 1_000_000_000) as i64),
        F::EvtDir => Val::Str(Cow::Borrowed(if e.is_entry_only() { ">" } else { "<" })),
        F::EvtType => Val::Str(e.kind_name()),
        F::EvtCpu => Val::Int(i64::from(e.cpu)),
        F::EvtCount => Val::Int(1),
        F::EvtSource => Val::Str(Cow::Borrowed("syscall")),
        F::EvtHostname => Val::Str(Cow::Borrowed(cx.env.hostname)),
        F::EvtCategory => Val::Str(Cow::Borrowed(
            e.info().map(|k| k.category.name()).unwrap_or("unknown"),
        )),
        F::EvtArgs | F::EvtInfo => {
            let table = e.info().map(|k| k.args).unwrap_or(&[]);
            let parts: Vec<String> = e
                .args()
                .enumerate()
                .map_while(|(i, v)| {
                    let v = v.ok()?;
                    let (n, ty) = table
                        .get(i)
                        .map(|(n, t)| (n.to_string(), Some(*t)))
                        .unwrap_or((format!("arg{i}"), None));
                    Some(format!("{n}={}", render_arg(&v, ty)))
                })
                .collect();
            Val::Str(Cow::Owned(parts.join(" ")))
        }
        F::EvtArg | F::EvtRawarg => {
            let table = e.info().map(|k| k.args).unwrap_or(&[]);
            let idx = match (&r.arg, &r.positions) {
                (FieldArg::Index(i), _) => Some(*i as usize),
                (FieldArg::Key(_), Some(pos)) => match pos.get(e.kind) {
                    ArgPositions::RET => return Val::Int(e.ret),
                    ArgPositions::NONE => None,
                    i => Some(usize::from(i)),
                },
                _ => None,
            };
            let Some(i) = idx else { return na };
            let Some((v, _)) = cx.args.at(i) else {
                return na;
            };
            let ty = table.get(i).map(|(_, t)| *t);
            if f == F::EvtRawarg {
                return match v {
                    ArgValue::Int(x) => Val::Int(x),
                    ArgValue::Uint(x) => Val::Int(x as i64),
                    ArgValue::Str(b) | ArgValue::Bytes(b) => Val::Str(String::from_utf8_lossy(b)),
                    other => Val::Str(Cow::Owned(render_arg(&other, ty))),
                };
            }
            match v {
                ArgValue::Absent => na,
                ArgValue::Str(b)
                    if ty == Some(ArgType::Path) && !b.starts_with(b"/") && !b.is_empty() =>
                {
                    match resolved_path(cx, i, b) {
                        Some(p) => Val::Str(Cow::Borrowed(p)),
                        None => Val::Str(String::from_utf8_lossy(b)),
                    }
                }
                ArgValue::Str(b) => Val::Str(String::from_utf8_lossy(b)),
                ArgValue::Int(x)
                    if !matches!(ty, Some(ArgType::Flags(_) | ArgType::Mode | ArgType::Dirfd)) =>
                {
                    Val::Str(Cow::Owned(x.to_string()))
                }
                ArgValue::Uint(_) | ArgValue::Int(_) if matches!(ty, Some(ArgType::Flags(_))) => {
                    flags(cx, i, ty, v)
                }
                // Rendered once per event however many checks read it.
                other => Val::Str(Cow::Borrowed(cx.rendered(i, || render_arg(&other, ty)))),
            }
        }
        F::EvtBuffer => match cx.args.get("data") {
            Some(ArgValue::Bytes(b)) => Val::Bytes(Cow::Borrowed(b)),
            _ => na,
        },
        F::EvtBuflen => {
            if matches!(
                e.kind,
                id::READ
                    | id::WRITE
                    | id::PREAD64
                    | id::PWRITE64
                    | id::READV
                    | id::WRITEV
                    | id::SENDTO
                    | id::RECVFROM
                    | id::SENDMSG
                    | id::RECVMSG
            ) && e.ret >= 0
            {
                Val::Int(e.ret)
            } else {
                na
            }
        }
        F::EvtRes => match e.result() {
            Some(r) if r >= 0 => Val::Str(Cow::Borrowed("SUCCESS")),
            Some(r) => Val::Str(errno_name(r)),
            None => na,
        },
        F::EvtRawres => e.result().map(Val::Int).unwrap_or(na),
        F::EvtFailed => Val::Bool(e.result().is_some_and(|r| r < 0)),
        F::EvtIsIo | F::EvtIsIoRead | F::EvtIsIoWrite => {
            let read = matches!(
                e.kind,
                id::READ | id::PREAD64 | id::READV | id::RECVFROM | id::RECVMSG
            );
            let write = matches!(
                e.kind,
                id::WRITE | id::PWRITE64 | id::WRITEV | id::SENDTO | id::SENDMSG
            );
            Val::Bool(match f {
                F::EvtIsIo => read || write,
                F::EvtIsIoRead => read,
                _ => write,
            })
        }
        F::EvtIsOpenRead | F::EvtIsOpenWrite | F::EvtIsOpenExec | F::EvtIsOpenCreate => {
            if !matches!(e.kind, id::OPEN | id::OPENAT | id::OPENAT2 | id::CREAT) {
                return Val::Bool(false);
            }
            let flags = if e.kind == id::CREAT {
                0o1101
            } else {
                cx.args.get("flags").and_then(|v| v.as_u64()).unwrap_or(0)
            };
            let mode = cx.args.get("mode").and_then(|v| v.as_u64()).unwrap_or(0);
            Val::Bool(match f {
                F::EvtIsOpenRead => flags & 3 == 0 || flags & 3 == 2,
                F::EvtIsOpenWrite => flags & 3 == 1 || flags & 3 == 2,
                F::EvtIsOpenCreate => flags & 0o100 != 0,
                _ => flags & 0o100 != 0 && mode & 0o111 != 0,
            })
        }
        _ => super::proc::default(f, r, cx),
    }
}

/// A relative path argument as libsinsp shows it in `evt.arg.*`: joined
/// onto the directory its call resolves it from (the `*at` calls' dirfd,
/// else the process's cwd), for the arguments scap types as paths
/// (`PT_FSPATH`, `PT_FSRELPATH`); `None` where the base is unknown or the
/// argument is plain text in scap (chdir's and getcwd's path, a symlink's
/// target, mount's device).
fn resolved_path<'c>(cx: &'c EvCtx<'_>, i: usize, raw: &[u8]) -> Option<&'c str> {
    let e = cx.e;
    let table = e.info()?.args;
    let name = table.get(i)?.0;
    if matches!(e.kind, id::CHDIR | id::GETCWD | id::MOUNT) || name == "target" {
        return None;
    }
    let p = cx.proc_?;
    let dirfd_names: &[&str] = match name {
        "oldpath" => &["olddirfd", "olddir"],
        "newpath" => &["newdirfd", "newdir"],
        "linkpath" => &["linkdirfd"],
        _ => &["dirfd"],
    };
    let dirfd = dirfd_names
        .iter()
        .find_map(|n| cx.args.get(n))
        .and_then(|v| v.as_i64());
    let base = match dirfd {
        None | Some(-100) => p.cwd.clone()?,
        Some(fd) => p.fds.get(&(fd as i32))?.name.clone(),
    };
    Some(cx.rendered(i, || {
        crate::state::resolve(Some(&base), &String::from_utf8_lossy(raw))
    }))
}

/// A flags argument as text: from the per-thread table of flags texts, or
/// rendered once for the event when the table is full.
fn flags<'c>(cx: &'c EvCtx<'_>, i: usize, ty: Option<ArgType>, v: ArgValue<'_>) -> Val<'c> {
    let raw = match v {
        ArgValue::Uint(x) => Some(x),
        ArgValue::Int(x) => Some(x as u64),
        _ => None,
    };
    match (ty, raw) {
        (Some(ArgType::Flags(set)), Some(x)) => match super::render::flags_text(set, x) {
            Some(s) => Val::Str(Cow::Borrowed(s)),
            None => Val::Str(Cow::Borrowed(cx.rendered(i, || render_arg(&v, ty)))),
        },
        _ => Val::Str(Cow::Borrowed(cx.rendered(i, || render_arg(&v, ty)))),
    }
}
