//! `proc.*`, `thread.*`, `user.*` and `group.*`: the event's process, its
//! ancestors and its credentials.

use super::*;

/// A `proc.*`, `thread.*`, `user.*` or `group.*` field.
pub(super) fn extract<'c>(f: F, r: &FieldRef, cx: &'c EvCtx<'_>) -> Val<'c> {
    let e = cx.e;
    let na = Val::NA;
    match f {
        F::ProcFalse => Val::Bool(false),
        F::ProcAname | F::ProcApid | F::ProcAexe | F::ProcAexepath | F::ProcAcmdline => {
            let n = match r.arg {
                FieldArg::Index(n) => n,
                _ => 1,
            };
            match cx.ancestor(n) {
                Some(a) => proc_field(f, a, cx),
                None => na,
            }
        }
        F::ThreadTid => Val::Int(i64::from(e.tid)),
        F::ThreadIsmain => Val::Bool(e.tid == e.pid),
        _ => super::proc::default(f, r, cx),
    }
}

/// The default of a field without an arm of its own: the process fields
/// of the event's thread, with Falco's defaults for threads it never saw.
pub(super) fn default<'c>(f: F, r: &FieldRef, cx: &'c EvCtx<'_>) -> Val<'c> {
    let v = own_proc_field(f, r, cx);
    if matches!(v, Val::NA) {
        unknown_thread_default(f).unwrap_or(v)
    } else {
        v
    }
}

/// `proc.cmdline` of a process: its name and arguments.
pub(super) fn cmdline_text(p: &Process) -> Option<String> {
    match (&p.comm, &p.args) {
        (Some(c), Some(a)) => {
            let mut out = c.to_string();
            for x in a.iter().skip(1) {
                out.push(' ');
                out.push_str(x);
            }
            Some(out)
        }
        (Some(c), None) => Some(c.to_string()),
        _ => None,
    }
}

fn cmdline(p: &Process) -> Val<'static> {
    cmdline_text(p).map_or(Val::NA, |s| Val::Str(Cow::Owned(s)))
}

pub(super) fn proc_field<'c>(f: F, p: &'c Process, cx: &EvCtx<'_>) -> Val<'c> {
    match f {
        F::ProcName | F::ProcAname => s(p.comm.as_ref()),
        F::ProcPid | F::ProcApid | F::ProcVpid => Val::Int(i64::from(p.pid)),
        F::ProcExe | F::ProcAexe => p
            .args
            .as_ref()
            .and_then(|a| a.first())
            .map(|x| Val::Str(Cow::Borrowed(&**x)))
            .unwrap_or(Val::NA),
        F::ProcExepath | F::ProcAexepath => s(p.exepath.as_ref()),
        F::ProcCmdline | F::ProcAcmdline => cmdline(p),
        _ => {
            let _ = cx;
            Val::NA
        }
    }
}

/// Fields of the event's own process (and its ancestors by index).
fn own_proc_field<'c>(f: F, r: &FieldRef, cx: &'c EvCtx<'_>) -> Val<'c> {
    let e = cx.e;
    let p = cx.proc_;
    let na = Val::NA;
    let Some(p) = p else { return na };
    let user = |uid: Option<u32>| cx.user(uid);
    match f {
        F::ProcPid => Val::Int(i64::from(p.pid)),
        F::ProcVpid => Val::Int(i64::from(p.vpid.unwrap_or(p.pid))),
        F::ProcName => s(p.comm.as_ref()),
        F::ProcExe => p
            .args
            .as_ref()
            .and_then(|a| a.first())
            .map(|x| Val::Str(Cow::Borrowed(&**x)))
            .unwrap_or(na),
        F::ProcSid => p.sid.map(|x| Val::Int(i64::from(x))).unwrap_or(na),
        F::ProcVpgid => p.vpgid.map(|x| Val::Int(i64::from(x))).unwrap_or(na),
        F::ProcIsSidLeader => match (p.sid, p.vpid) {
            (Some(sid), Some(vpid)) => Val::Bool(sid == vpid),
            _ => na,
        },
        F::ProcIsVpgidLeader => match (p.vpgid, p.vpid) {
            (Some(g), Some(vpid)) => Val::Bool(g == vpid),
            _ => na,
        },
        F::ProcIsExeWritable | F::ProcIsExeUpperLayer => {
            let bit = match f {
                F::ProcIsExeWritable => task_flags::EXE_WRITABLE,
                _ => task_flags::EXE_UPPER_LAYER,
            };
            p.task_flags.map(|t| Val::Bool(t & bit != 0)).unwrap_or(na)
        }
        F::ThreadVtid => {
            if e.tid == e.pid {
                p.vpid.map(|v| Val::Int(i64::from(v))).unwrap_or(na)
            } else {
                p.vtids
                    .as_ref()
                    .and_then(|m| m.get(&e.tid))
                    .map(|v| Val::Int(i64::from(*v)))
                    .unwrap_or(na)
            }
        }
        F::ThreadCapPerm => caps(p.cap_permitted),
        F::ThreadCapInh => caps(p.cap_inheritable),
        F::ProcExepath => s(p.exepath.as_ref()),
        F::ProcArgs => match &p.args {
            Some(a) => Val::Str(Cow::Owned(
                a.iter().skip(1).map(|x| &**x).collect::<Vec<_>>().join(" "),
            )),
            None => na,
        },
        F::ProcExeline => match &p.args {
            Some(a) => Val::Str(Cow::Owned(
                a.iter().map(|x| &**x).collect::<Vec<_>>().join(" "),
            )),
            None => na,
        },
        // The event's own command line: built once per event, however many
        // checks read it.
        F::ProcCmdline => cx.own_cmdline().map_or(na, |c| Val::Str(Cow::Borrowed(c))),
        F::ProcEnv => match (&p.env, &r.arg) {
            (Some(env), FieldArg::Key(k)) => env
                .iter()
                .find_map(|kv| {
                    kv.strip_prefix(k.as_str())
                        .and_then(|r| r.strip_prefix('='))
                        .map(|v| Val::Str(Cow::Owned(v.to_string())))
                })
                .unwrap_or(na),
            (Some(env), _) => Val::Str(Cow::Owned(
                env.iter().map(|x| &**x).collect::<Vec<_>>().join(" "),
            )),
            _ => na,
        },
        // As libsinsp renders it: a directory with its trailing slash.
        F::ProcCwd => match p.cwd.as_deref() {
            Some(c) if !c.is_empty() && !c.ends_with('/') => Val::Str(Cow::Owned(format!("{c}/"))),
            _ => s(p.cwd.as_ref()),
        },
        F::ProcPpid | F::ProcPvpid => p.ppid.map(|x| Val::Int(i64::from(x))).unwrap_or(na),
        F::ProcPname | F::ProcPexe | F::ProcPexepath | F::ProcPcmdline => {
            let Some(pp) = cx.parent(p) else { return na };
            let g = match f {
                F::ProcPname => F::ProcName,
                F::ProcPexe => F::ProcExe,
                F::ProcPexepath => F::ProcExepath,
                _ => F::ProcCmdline,
            };
            proc_field(g, pp, cx)
        }
        F::ProcDuration => p
            .start_ts
            .map(|st| Val::Int(e.ts.saturating_sub(st) as i64))
            .unwrap_or(na),
        F::ProcStartTs => p
            .start_ts
            .map(|st| Val::Int(st.wrapping_add(cx.env.anchor) as i64))
            .unwrap_or(na),
        F::ProcTty => p.tty.map(|x| Val::Int(i64::from(x))).unwrap_or(na),
        F::ProcIsExeFromMemfd => Val::Bool(p.exe_from_memfd),
        F::ProcFdopencount => Val::Int(p.fds.len() as i64),
        F::ThreadCapEff => caps(p.cap_effective),
        F::UserUid => p.uid.map(|x| Val::Int(i64::from(x))).unwrap_or(na),
        F::UserName => user(p.uid)
            .map(|u| Val::Str(Cow::Borrowed(&*u.0)))
            .unwrap_or(na),
        F::UserHomedir => user(p.uid)
            .map(|u| Val::Str(Cow::Borrowed(&*u.1)))
            .unwrap_or(na),
        F::UserShell => user(p.uid)
            .map(|u| Val::Str(Cow::Borrowed(&*u.2)))
            .unwrap_or(na),
        F::UserLoginuid => p
            .loginuid
            .map(|x| Val::Int(if x == u32::MAX { -1 } else { i64::from(x) }))
            .unwrap_or(na),
        F::UserLoginname => match p.loginuid {
            Some(u32::MAX) => Val::Str(Cow::Borrowed("<NA>")),
            l => user(l)
                .map(|u| Val::Str(Cow::Borrowed(&*u.0)))
                .unwrap_or(na),
        },
        F::GroupGid => p.gid.map(|x| Val::Int(i64::from(x))).unwrap_or(na),
        F::GroupName => p
            .gid
            .and_then(|g| cx.env.state.accounts.groups.get(&g))
            .map(|n| Val::Str(Cow::Borrowed(&**n)))
            .unwrap_or(na),
        _ => na,
    }
}

/// What Falco's libraries give the fields of a thread they know nothing
/// about (they create it on the fly with these values), so that rules
/// behave the same: `proc.name != foo` holds and `proc.name != <NA>` (the
/// `proc_name_exists` macro) does not. Parent fields stay missing.
fn unknown_thread_default(f: F) -> Option<Val<'static>> {
    Some(match f {
        F::ProcName | F::ProcExe | F::ProcCmdline => Val::Str(Cow::Borrowed("<NA>")),
        F::ProcExepath | F::ProcArgs | F::ProcCwd | F::ProcEnv => Val::Str(Cow::Borrowed("")),
        F::ProcPpid => Val::Int(-1),
        F::UserUid | F::GroupGid => Val::Int(i64::from(u32::MAX)),
        F::UserLoginuid => Val::Int(-1),
        F::ProcTty => Val::Int(0),
        _ => return None,
    })
}
