//! Evaluating compiled conditions on events: field extraction from the event
//! and the [`State`], Falco's renderings of arguments (flag names, modes,
//! errno names), comparisons, and output formatting. A field the capture
//! cannot supply is `<NA>`, and any comparison with it is false, as in Falco.

use std::borrow::Cow;
use std::net::IpAddr;

use capture::args::ArgValue;
use capture::kind::{id, task_flags, ArgType, FlagSet};
use capture::EventRef;
use rulelang::{Op, Transformer};

use capture::text::rfc3339 as utc;
use ruleset::compile::NO_SLOT;
use ruleset::compile::{
    ArgPositions, CheckNode, Const, FieldArg, FieldRef, Node, NodeId, Operand, OutputPart, Program,
};
use ruleset::fields::FieldKind as F;

use crate::state::{Fd, FdKind, Process, State};

mod container;
mod evt;
mod fd;
mod fs;
mod proc;
mod render;

use proc::proc_field;
use render::{caps, errno_name, render_arg};
pub use render::{render_flags, render_mode};

/// An extracted value.
#[derive(Clone, Debug, PartialEq)]
pub enum Val<'a> {
    /// Not available (`<NA>`).
    NA,
    /// Text.
    Str(Cow<'a, str>),
    /// Bytes.
    Bytes(Cow<'a, [u8]>),
    /// A number.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// An address.
    Ip(IpAddr),
}

impl Val<'_> {
    /// Renders the value as Falco prints it in outputs.
    pub fn render(&self) -> String {
        match self {
            Val::NA => "<NA>".into(),
            Val::Str(s) => s.to_string(),
            Val::Bytes(b) => capture::text::escape(b),
            Val::Int(i) => i.to_string(),
            Val::Bool(b) => b.to_string(),
            Val::Ip(ip) => ip.to_string(),
        }
    }
}

/// What the evaluator needs besides the event: the state and capture facts.
pub struct Env<'a> {
    /// Process and fd state (after the event's own effect).
    pub state: &'a State,
    /// Wall-clock anchor of the event clock.
    pub anchor: u64,
    /// Host name of the capture.
    pub hostname: &'a str,
    /// The source alerts name (a capture's path as given).
    pub source: &'a std::sync::Arc<str>,
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Per-event facts computed once and shared by every rule evaluated on the
/// event: its process, fd and (lazily) the path it opens.
pub struct EvCtx<'a> {
    e: &'a EventRef<'a>,
    args: &'a crate::state::Args<'a>,
    env: &'a Env<'a>,
    proc_: Option<&'a Process>,
    fd_num: Option<i64>,
    fd: Option<&'a Fd>,
    is_open: bool,
    path_cell: std::cell::OnceCell<std::sync::Arc<str>>,
    rendered: std::cell::OnceCell<Box<[std::cell::OnceCell<String>; crate::state::MAX_ARGS]>>,
    cmdline_cell: std::cell::OnceCell<Option<String>>,
}

impl<'a> EvCtx<'a> {
    /// The context of event `e` in `env`.
    /// `args` are the event's decoded arguments, shared with the state
    /// engine (see [`crate::replay`]).
    pub fn new(
        e: &'a EventRef<'a>,
        args: &'a crate::state::Args<'a>,
        env: &'a Env<'a>,
    ) -> EvCtx<'a> {
        let proc_ = env.state.procs.get(&e.pid);
        let is_open = matches!(e.kind, id::OPEN | id::OPENAT | id::OPENAT2 | id::CREAT);
        let fd_num = match e.kind {
            _ if e.ret == capture::kind::RET_NONE && (is_open || e.kind == id::SOCKET) => None,
            _ if is_open => Some(e.ret),
            id::ACCEPT
            | id::ACCEPT4
            | id::SOCKET
            | id::MEMFD_CREATE
            | id::DUP
            | id::DUP2
            | id::DUP3 => Some(e.ret),
            // Falco gives mmap no fd (its fd argument is often -1).
            id::MMAP => None,
            // sendfile's fd is where it writes, as in Falco.
            id::SENDFILE => args.get("out_fd").and_then(|v| v.as_i64()),
            _ => args.get("fd").and_then(|v| v.as_i64()),
        };
        let fd = fd_num
            .filter(|n| *n >= 0)
            .and_then(|n| proc_.and_then(|p| p.fds.get(&(n as i32))));
        EvCtx {
            e,
            args,
            env,
            proc_,
            fd_num,
            fd,
            is_open,
            path_cell: std::cell::OnceCell::new(),
            rendered: std::cell::OnceCell::new(),
            cmdline_cell: std::cell::OnceCell::new(),
        }
    }

    /// The command line of the event's process, built on first use.
    fn own_cmdline(&self) -> Option<&str> {
        self.cmdline_cell
            .get_or_init(|| self.proc_.and_then(proc::cmdline_text))
            .as_deref()
    }

    /// Argument `i` rendered as text, computed on first use.
    fn rendered(&self, i: usize, f: impl FnOnce() -> String) -> &str {
        let cells = self
            .rendered
            .get_or_init(|| Box::new(std::array::from_fn(|_| std::cell::OnceCell::new())));
        match cells.get(i) {
            Some(c) => c.get_or_init(f),
            None => "",
        }
    }

    /// Wall-clock time of the event clock's zero (Unix ns).
    pub fn anchor(&self) -> u64 {
        self.env.anchor
    }

    /// The source the event comes from.
    pub fn source(&self) -> &std::sync::Arc<str> {
        self.env.source
    }

    /// The path an open-like event names (computed on first use).
    fn path(&self) -> Option<&str> {
        if !self.is_open {
            return None;
        }
        Some(self.path_cell.get_or_init(|| match self.fd {
            Some(f) if self.e.ret >= 0 => f.name.clone(),
            _ => self.env.state.open_path_arc(self.e, self.args),
        }))
    }

    /// The ancestors of the event's process, parent first: the ones
    /// `proc.aname` (and `proc.apid`, ...) without an index test, at most
    /// [`ANY_ANCESTOR_DEPTH`] of them (a parent cycle in a hostile
    /// snapshot ends there).
    pub fn ancestors(&self) -> impl Iterator<Item = &'a Process> + '_ {
        let mut p = self.proc_;
        std::iter::from_fn(move || {
            p = p.and_then(|q| self.parent(q));
            p
        })
        .take(ANY_ANCESTOR_DEPTH)
    }

    /// Appends the name of each of [`EvCtx::ancestors`] (what `proc.aname`
    /// without an index matches any of); an ancestor without a known name
    /// is `NA`.
    pub fn ancestor_names(&self, out: &mut Vec<Val<'a>>) {
        out.extend(self.ancestors().map(|a| {
            a.comm
                .as_deref()
                .map_or(Val::NA, |c| Val::Str(Cow::Borrowed(c)))
        }));
    }

    fn parent(&self, p: &'a Process) -> Option<&'a Process> {
        p.ppid.and_then(|pp| self.env.state.procs.get(&pp))
    }

    /// The n-th ancestor (0: the process itself). Walks at most
    /// [`crate::state::MAX_ANCESTRY`] steps, so a parent cycle in a hostile
    /// snapshot or an absurd index ends.
    fn ancestor(&self, n: u32) -> Option<&'a Process> {
        if n as usize > crate::state::MAX_ANCESTRY {
            return None;
        }
        let mut p = self.proc_?;
        for _ in 0..n {
            p = self.parent(p)?;
        }
        Some(p)
    }

    fn user(
        &self,
        uid: Option<u32>,
    ) -> Option<&'a (
        std::sync::Arc<str>,
        std::sync::Arc<str>,
        std::sync::Arc<str>,
    )> {
        uid.and_then(|u| self.env.state.accounts.users.get(&u))
    }
}

fn s<'a>(x: Option<&'a std::sync::Arc<str>>) -> Val<'a> {
    match x {
        Some(v) => Val::Str(Cow::Borrowed(v)),
        None => Val::NA,
    }
}

fn ep_ip(t: Option<(IpAddr, u16)>) -> Val<'static> {
    t.map(|x| Val::Ip(x.0)).unwrap_or(Val::NA)
}

fn ep_port(t: Option<(IpAddr, u16)>) -> Val<'static> {
    t.map(|x| Val::Int(i64::from(x.1))).unwrap_or(Val::NA)
}

/// Extracts a field: dispatched on the field's class, resolved when the
/// rule was compiled, to one module per class (`evt`, `proc`, `fd`, `fs`,
/// `container`).
fn extract<'c>(r: &FieldRef, cx: &'c EvCtx<'_>) -> Val<'c> {
    let f = r.kind;
    match class_of(f) {
        Class::Evt => evt::extract(f, r, cx),
        Class::Fd => fd::extract(f, r, cx),
        Class::Fs => fs::extract(f, r, cx),
        Class::Container => container::extract(f, r, cx),
        Class::Proc => proc::extract(f, r, cx),
        Class::None => Val::NA,
    }
}

/// The module that extracts a [`FieldKind`](ruleset::fields::FieldKind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Evt,
    Fd,
    Fs,
    Container,
    Proc,
    None,
}

/// The class of every kind, by the kind's name (`EvtType` -> `Evt`): one
/// table built once, one index per extraction.
fn class_of(f: F) -> Class {
    static T: std::sync::OnceLock<Vec<Class>> = std::sync::OnceLock::new();
    let t = T.get_or_init(|| {
        let mut t = vec![Class::Proc; F::Unsupported as usize + 1];
        for id in 0..ruleset::fields::FIELDS.len() {
            let k = ruleset::fields::kind(id as ruleset::fields::FieldId);
            let name = format!("{k:?}");
            t[k as usize] = if k == F::Unsupported {
                Class::None
            } else if name.starts_with("Evt") {
                Class::Evt
            } else if name.starts_with("Fd") {
                Class::Fd
            } else if name.starts_with("Fs") {
                Class::Fs
            } else if name.starts_with("Container") || name.starts_with("K8s") {
                Class::Container
            } else {
                Class::Proc
            };
        }
        t
    });
    t.get(f as usize).copied().unwrap_or(Class::Proc)
}

#[inline]
fn transform<'a>(v: Val<'a>, ts: &[Transformer]) -> Val<'a> {
    if ts.is_empty() {
        return v;
    }
    transform_slow(v, ts)
}

fn transform_slow<'a>(v: Val<'a>, ts: &[Transformer]) -> Val<'a> {
    let mut v = v;
    for t in ts.iter().rev() {
        v = match (v, t) {
            (Val::Str(s), Transformer::ToLower) => Val::Str(Cow::Owned(s.to_lowercase())),
            (Val::Str(s), Transformer::ToUpper) => Val::Str(Cow::Owned(s.to_uppercase())),
            (Val::Str(s), Transformer::Basename) => Val::Str(Cow::Owned(basename(&s).to_string())),
            (Val::Str(s), Transformer::Len) => Val::Int(s.len() as i64),
            (Val::Bytes(b), Transformer::Len) => Val::Int(b.len() as i64),
            (Val::Str(s), Transformer::B64) => match b64(s.as_bytes()) {
                Some(d) => Val::Str(Cow::Owned(String::from_utf8_lossy(&d).into_owned())),
                None => Val::NA,
            },
            (other, _) => other,
        };
    }
    v
}

/// The `b64` transformer: standard or URL-safe base64, padded or not,
/// whitespace ignored (the `base64` crate); `None` when it is not base64.
fn b64(s: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    use base64::engine::DecodePaddingMode;
    use base64::Engine as _;
    let cfg = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let standard = GeneralPurpose::new(&base64::alphabet::STANDARD, cfg);
    let url = GeneralPurpose::new(&base64::alphabet::URL_SAFE, cfg);
    let clean: Vec<u8> = s
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    standard.decode(&clean).or_else(|_| url.decode(&clean)).ok()
}

fn net_contains(net: IpAddr, plen: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = if plen == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(plen.min(32)))
            };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = if plen == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(plen.min(128)))
            };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

fn eq_const(v: &Val<'_>, k: &Const) -> Option<bool> {
    Some(match (v, k) {
        (Val::Str(s), Const::Str(c)) => s.as_ref() == c.as_ref(),
        (Val::Bytes(b), Const::Str(c)) => b.as_ref() == c.as_bytes(),
        (Val::Int(i), Const::Int(c)) => i == c,
        (Val::Bool(b), Const::Bool(c)) => b == c,
        (Val::Ip(ip), Const::Ip(c)) => ip == c,
        (Val::Ip(ip), Const::Net(n, p)) => net_contains(*n, *p, *ip),
        (Val::Str(s), Const::Int(c)) => s.parse::<i64>().ok() == Some(*c),
        _ => return None,
    })
}

fn cmp_val(v: &Val<'_>, op: Op, operand: &Operand) -> bool {
    if matches!(v, Val::NA) {
        return false;
    }
    let text: Option<Cow<'_, [u8]>> = match v {
        Val::Str(s) => Some(Cow::Borrowed(s.as_bytes())),
        Val::Bytes(b) => Some(Cow::Borrowed(b.as_ref())),
        _ => None,
    };
    match (op, operand) {
        (Op::Eq, Operand::Const(k)) => eq_const(v, k).unwrap_or(false),
        (Op::Ne, Operand::Const(k)) => eq_const(v, k).map(|x| !x).unwrap_or(false),
        (Op::In | Op::Intersects, Operand::Set(items, strs)) => match v {
            Val::Str(s) if !strs.is_empty() => strs.contains(s.as_ref()),
            _ => items.iter().any(|k| eq_const(v, k) == Some(true)),
        },
        (Op::Lt | Op::Le | Op::Gt | Op::Ge, Operand::Const(Const::Int(c))) => {
            let Val::Int(i) = v else { return false };
            match op {
                Op::Lt => i < c,
                Op::Le => i <= c,
                Op::Gt => i > c,
                _ => i >= c,
            }
        }
        (Op::Contains | Op::BContains, Operand::Const(k)) => {
            let needle: &[u8] = match k {
                Const::Str(s) => s.as_bytes(),
                Const::Bytes(b) => b,
                _ => return false,
            };
            text.is_some_and(|t| memfind(&t, needle))
        }
        (Op::IContains, Operand::Const(Const::Str(n))) => text.is_some_and(|t| ifind(&t, n)),
        (Op::StartsWith | Op::BStartsWith, Operand::Const(k)) => {
            let needle: &[u8] = match k {
                Const::Str(s) => s.as_bytes(),
                Const::Bytes(b) => b,
                _ => return false,
            };
            text.is_some_and(|t| t.starts_with(needle))
        }
        (Op::EndsWith, Operand::Const(Const::Str(n))) => {
            text.is_some_and(|t| t.ends_with(n.as_bytes()))
        }
        (Op::Glob | Op::IGlob, Operand::Glob(g)) => text.is_some_and(|t| g.matches(&t)),
        (Op::Regex, Operand::Regex(r)) => {
            text.is_some_and(|t| r.is_match(&String::from_utf8_lossy(&t)))
        }
        (Op::PMatch, Operand::Prefixes(ps)) => text.is_some_and(|t| {
            ps.iter().any(|p| {
                let p = p.trim_end_matches('/').as_bytes();
                t.starts_with(p) && (t.len() == p.len() || t[p.len()] == b'/' || p.is_empty())
            })
        }),
        _ => false,
    }
}

fn memfind(h: &[u8], n: &[u8]) -> bool {
    memchr::memmem::find(h, n).is_some()
}

/// `icontains`: the needle was lowercased when compiled. An ASCII needle
/// is searched case-insensitively in place (no lowercased copy of the
/// text); a non-ASCII one against the text's Unicode lowercase, as before.
fn ifind(h: &[u8], n: &str) -> bool {
    let n = n.as_bytes();
    if n.is_empty() {
        return true;
    }
    if n.is_ascii() {
        let first = n[0];
        let upper = first.to_ascii_uppercase();
        let mut at = 0;
        while let Some(i) = memchr::memchr2(first, upper, &h[at..]) {
            let start = at + i;
            if h.len() - start < n.len() {
                return false;
            }
            if h[start..start + n.len()].eq_ignore_ascii_case(n) {
                return true;
            }
            at = start + 1;
        }
        return false;
    }
    memfind(String::from_utf8_lossy(h).to_lowercase().as_bytes(), n)
}

/// How many ancestors `proc.aname` without an index looks at.
pub const ANY_ANCESTOR_DEPTH: usize = 64;

fn is_ancestor_any(r: &FieldRef) -> bool {
    matches!(
        r.kind,
        F::ProcAname | F::ProcApid | F::ProcAexe | F::ProcAexepath | F::ProcAcmdline
    ) && r.arg == FieldArg::None
}

/// Evaluates a node; a node with several parents (a shared macro) is
/// evaluated once per event and remembered in `memo` (0 unknown, 1 false,
/// 2 true), so a condition costs at most its number of nodes.
fn eval_node(prog: &Program, id: NodeId, cx: &EvCtx<'_>, memo: &mut [u8]) -> bool {
    let slot = prog.slots.get(id as usize).copied().unwrap_or(NO_SLOT);
    if slot != NO_SLOT {
        match memo.get(slot as usize) {
            Some(1) => return false,
            Some(2) => return true,
            _ => {}
        }
    }
    let r = eval_node_once(prog, id, cx, memo);
    if let Some(m) = memo.get_mut(slot as usize) {
        *m = 1 + u8::from(r);
    }
    r
}

fn eval_node_once(prog: &Program, id: NodeId, cx: &EvCtx<'_>, memo: &mut [u8]) -> bool {
    match &prog.nodes[id as usize] {
        Node::And(xs) => xs.iter().all(|x| eval_node(prog, *x, cx, memo)),
        Node::Or(xs) => xs.iter().any(|x| eval_node(prog, *x, cx, memo)),
        Node::Not(x) => !eval_node(prog, *x, cx, memo),
        Node::Check(c) => check(c, cx),
    }
}

/// Evaluates one check on an event.
pub fn check(c: &CheckNode, cx: &EvCtx<'_>) -> bool {
    if let Some(ks) = &c.kinds {
        let hit = ks.contains(cx.e.kind);
        return if c.op == Op::Ne { !hit } else { hit };
    }
    if is_ancestor_any(&c.field) {
        // proc.aname without an index: any ancestor (parent and up).
        return cx.ancestors().any(|a| {
            let v = transform(proc_field(c.field.kind, a, cx), &c.field.transformers);
            c.op == Op::Exists || cmp_val(&v, c.op, &c.operand)
        });
    }
    let v = transform(extract(&c.field, cx), &c.field.transformers);
    match (&c.op, &c.operand) {
        (Op::Exists, _) => !matches!(v, Val::NA),
        (_, Operand::Field(other)) => {
            let w = transform(extract(other, cx), &other.transformers);
            if matches!(v, Val::NA) || matches!(w, Val::NA) {
                return false;
            }
            let k = match w {
                Val::Str(s) => Const::Str(s.as_ref().into()),
                Val::Int(i) => Const::Int(i),
                Val::Bool(b) => Const::Bool(b),
                Val::Ip(ip) => Const::Ip(ip),
                Val::Bytes(b) => Const::Bytes(b.as_ref().into()),
                Val::NA => return false,
            };
            let op = match c.op {
                Op::Lt
                | Op::Le
                | Op::Gt
                | Op::Ge
                | Op::Eq
                | Op::Ne
                | Op::Contains
                | Op::StartsWith
                | Op::EndsWith => c.op,
                _ => Op::Eq,
            };
            cmp_val(&v, op, &Operand::Const(k))
        }
        (Op::Contains | Op::BContains, _) if c.finder.is_some() => {
            let t: &[u8] = match &v {
                Val::Str(s) => s.as_bytes(),
                Val::Bytes(b) => b.as_ref(),
                _ => return false,
            };
            c.finder.as_ref().is_some_and(|f| f.find(t).is_some())
        }
        (op, operand) => cmp_val(&v, *op, operand),
    }
}

/// Evaluates a program with an event context shared across rules.
pub fn matches_in(prog: &Program, cx: &EvCtx<'_>) -> bool {
    match prog.nslots {
        0 => eval_node(prog, prog.root, cx, &mut []),
        n if n <= 64 => eval_node(prog, prog.root, cx, &mut [0u8; 64]),
        n => eval_node(prog, prog.root, cx, &mut vec![0u8; n as usize]),
    }
}

/// Visits the value of every field of `parts` (the `%field`s of a
/// format), in order, borrowed from the event and the state: no copy, no
/// allocation beyond what a derived value needs (a consumer that keeps
/// values, like an exporter, copies only what it keeps).
pub fn visit_fields(parts: &[OutputPart], cx: &EvCtx<'_>, mut visit: impl FnMut(&Val<'_>)) {
    for p in parts {
        if let OutputPart::Field(f) = p {
            visit(&transform(extract(f, cx), &f.transformers));
        }
    }
}

/// The values of every field of `parts`, in order, borrowed from the event
/// and the state (for a consumer that compares or hashes several values of
/// one event before deciding what to keep).
pub fn field_values<'c>(parts: &[OutputPart], cx: &'c EvCtx<'_>, out: &mut Vec<Val<'c>>) {
    for p in parts {
        if let OutputPart::Field(f) = p {
            out.push(transform(extract(f, cx), &f.transformers));
        }
    }
}

/// Formats an output with the event's context, and collects the fields it
/// names with their values (for JSON alerts).
pub fn format_output_in(
    parts: &[OutputPart],
    cx: &EvCtx<'_>,
) -> (String, Vec<(String, Val<'static>)>) {
    let mut text = String::new();
    let mut fields = Vec::new();
    for p in parts {
        match p {
            OutputPart::Text(t) => text.push_str(t),
            OutputPart::Field(f) => {
                let v = transform(extract(f, cx), &f.transformers);
                text.push_str(&v.render());
                let owned = match v {
                    Val::NA => Val::NA,
                    Val::Str(s) => Val::Str(Cow::Owned(s.into_owned())),
                    Val::Bytes(b) => Val::Bytes(Cow::Owned(b.into_owned())),
                    Val::Int(i) => Val::Int(i),
                    Val::Bool(b) => Val::Bool(b),
                    Val::Ip(ip) => Val::Ip(ip),
                };
                fields.push((f.to_string(), owned));
            }
        }
    }
    (text, fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_modes_render_like_falco() {
        assert_eq!(
            render_flags(FlagSet::Open, 0o1101),
            "O_WRONLY|O_CREAT|O_TRUNC"
        );
        assert_eq!(render_flags(FlagSet::Open, 0), "O_RDONLY");
        assert_eq!(render_flags(FlagSet::Ptrace, 16), "PTRACE_ATTACH");
        assert_eq!(
            render_mode(0o4755),
            "S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR|S_ISUID"
        );
        assert_eq!(errno_name(-2), "ENOENT");
    }

    #[test]
    fn networks_contain_addresses() {
        let n: IpAddr = "10.0.0.0".parse().expect("ip");
        assert!(net_contains(n, 8, "10.1.2.3".parse().expect("ip")));
        assert!(!net_contains(n, 8, "11.0.0.1".parse().expect("ip")));
        assert_eq!(b64(b"aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(b64(b"aGVsbG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(b64(b"aGVs\nbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(b64(b"_-8").as_deref(), Some(&[0xff, 0xef][..]));
        assert_eq!(b64(b"not base64!"), None);
    }
}

#[cfg(test)]
mod fillable_tests {
    use ruleset::fields::{fillable, lookup};

    #[test]
    fn container_and_pod_fields_are_filled_and_api_server_fields_are_not() {
        let filled = |n: &str| fillable(lookup(n).expect(n).0);
        for f in [
            "container.id",
            "container.image.repository",
            "container.mount.dest",
            "container.label",
            "container.info",
            "k8s.pod.name",
            "k8s.ns.name",
            "k8s.pod.labels",
        ] {
            assert!(filled(f), "{f}");
        }
        for f in ["k8s.deployment.name", "k8s.svc.name", "fd.sip.name"] {
            assert!(!filled(f), "{f}");
        }
    }
}
