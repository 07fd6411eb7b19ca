//! The OCSF-shaped view (Open Cybersecurity Schema Framework 1.1.0) of a
//! capture, for security lakes that store OCSF (Amazon Security Lake,
//! Splunk, ...): three Parquet files, one per event class, with OCSF's
//! nested objects as Parquet structs.
//!
//! | class | `class_uid` | events | activities |
//! |---|---|---|---|
//! | Process Activity | 1007 | execve, execveat; procexit of a process's last thread; ptrace; setuid, setreuid, setresuid | Launch, Terminate, Inject, Set User ID |
//! | File System Activity | 1001 | open, openat, openat2, creat; mkdir(at), symlink(at), link(at); unlink(at), rmdir; rename(at)(2); chmod, fchmod(at), chown, fchown(at), lchown; mount, umount2 | Open, Create, Delete, Rename, Set Attributes, Mount, Unmount |
//! | Network Activity | 4001 | connect, accept, accept4, listen, shutdown | Open, Fail, Refuse, Listen, Close |
//!
//! Every row carries the common attributes (`time`, `class_uid`,
//! `category_uid`, `activity_id`, `type_uid` = class × 100 + activity,
//! `severity_id`, `status_id` and `status_code` from the call's result,
//! `metadata` with the product and the event's `uid`
//! `<capture>:<evt_num>`, `device.hostname`), the acting process (`actor`:
//! pid, name, command line, executable, user, parent) and the container
//! when there is one; values are the state-resolved Falco fields. What OCSF
//! has no attribute for is in `unmapped` (Falco's `evt.type` and
//! `fd.name`, the capture and the event number, the Kubernetes pod and
//! namespace). Reads and
//! writes of data are not rows: OCSF would make them File System Activity
//! Read/Update events, one per call, which is the volume the Ferret capture
//! exists to avoid; the full events are in the `ferret.events/1` export.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::AtomicU64;
use std::sync::{mpsc, Arc};

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use capture::kind::id;
use capture::Capture;
use engine::eval::{visit_fields, Val};
use engine::replay::CaptureFacts;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_json::{json, Value};

use crate::ExportError;

/// The OCSF version the rows follow.
pub const OCSF_VERSION: &str = "1.1.0";

/// An event class written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// Process Activity (1007).
    Process,
    /// File System Activity (1001).
    File,
    /// Network Activity (4001).
    Network,
}

impl Class {
    /// Every class, in file order.
    pub const ALL: [Class; 3] = [Class::Process, Class::File, Class::Network];

    /// OCSF's `class_uid`.
    pub fn uid(self) -> i64 {
        match self {
            Class::Process => 1007,
            Class::File => 1001,
            Class::Network => 4001,
        }
    }

    /// OCSF's class name.
    pub fn name(self) -> &'static str {
        match self {
            Class::Process => "Process Activity",
            Class::File => "File System Activity",
            Class::Network => "Network Activity",
        }
    }

    /// The file name suffix (`<capture>.<suffix>.parquet`).
    pub fn file_suffix(self) -> &'static str {
        match self {
            Class::Process => "process_activity",
            Class::File => "file_activity",
            Class::Network => "network_activity",
        }
    }

    fn category(self) -> (i64, &'static str) {
        match self {
            Class::Process | Class::File => (1, "System Activity"),
            Class::Network => (4, "Network Activity"),
        }
    }
}

/// The Falco fields a row is made of, in this order.
const FIELDS: &[&str] = &[
    "evt.type",
    "evt.rawres",
    "evt.res",
    "proc.pid",
    "proc.name",
    "proc.cmdline",
    "proc.exepath",
    "proc.ppid",
    "proc.pname",
    "proc.pcmdline",
    "proc.pexepath",
    "user.uid",
    "user.name",
    "fd.name",
    "fd.type",
    "fd.l4proto",
    "fd.cip",
    "fd.cport",
    "fd.sip",
    "fd.sport",
    "container.id",
    "container.name",
    "container.image.repository",
    "container.image.tag",
    "k8s.pod.name",
    "k8s.ns.name",
    // The path arguments, resolved as `evt.arg.NAME` gives them.
    "evt.arg.name",
    "evt.arg.path",
    "evt.arg.filename",
    "evt.arg.pathname",
    "evt.arg.oldpath",
    "evt.arg.newpath",
    "evt.arg.linkpath",
    "evt.arg.dir",
    "evt.arg.uid",
    "evt.arg.euid",
    "evt.arg.pid",
    "proc.start_ts",
];

/// Positions in [`FIELDS`].
mod f {
    pub const RAWRES: usize = 1;
    pub const RES: usize = 2;
    pub const PID: usize = 3;
    pub const NAME: usize = 4;
    pub const CMDLINE: usize = 5;
    pub const EXEPATH: usize = 6;
    pub const PPID: usize = 7;
    pub const PNAME: usize = 8;
    pub const PCMDLINE: usize = 9;
    pub const PEXEPATH: usize = 10;
    pub const UID: usize = 11;
    pub const USER: usize = 12;
    pub const FDNAME: usize = 13;
    pub const FDTYPE: usize = 14;
    pub const L4: usize = 15;
    pub const CIP: usize = 16;
    pub const CPORT: usize = 17;
    pub const SIP: usize = 18;
    pub const SPORT: usize = 19;
    pub const CID: usize = 20;
    pub const CNAME: usize = 21;
    pub const CREPO: usize = 22;
    pub const CTAG: usize = 23;
    pub const POD: usize = 24;
    pub const NS: usize = 25;
    pub const A_NAME: usize = 26;
    pub const A_PATH: usize = 27;
    pub const A_FILENAME: usize = 28;
    pub const A_PATHNAME: usize = 29;
    pub const A_OLD: usize = 30;
    pub const A_NEW: usize = 31;
    pub const A_LINK: usize = 32;
    pub const A_DIR: usize = 33;
    pub const A_UID: usize = 34;
    pub const A_EUID: usize = 35;
    pub const A_PID: usize = 36;
    pub const START: usize = 37;
}

/// The class and activity (id, name) of an event, `None` when it is not in
/// the view.
fn classify(kind: u16, ret: i64, group_dead: bool) -> Option<(Class, i64, &'static str)> {
    Some(match kind {
        id::EXECVE | id::EXECVEAT => (Class::Process, 1, "Launch"),
        id::PROC_EXIT if group_dead => (Class::Process, 2, "Terminate"),
        id::PTRACE => (Class::Process, 4, "Inject"),
        id::SETUID | id::SETREUID | id::SETRESUID => (Class::Process, 5, "Set User ID"),
        id::OPEN | id::OPENAT | id::OPENAT2 => (Class::File, 14, "Open"),
        id::CREAT
        | id::MKDIR
        | id::MKDIRAT
        | id::SYMLINK
        | id::SYMLINKAT
        | id::LINK
        | id::LINKAT => (Class::File, 1, "Create"),
        id::UNLINK | id::UNLINKAT | id::RMDIR => (Class::File, 4, "Delete"),
        id::RENAME | id::RENAMEAT | id::RENAMEAT2 => (Class::File, 5, "Rename"),
        id::CHMOD
        | id::FCHMOD
        | id::FCHMODAT
        | id::CHOWN
        | id::FCHOWN
        | id::FCHOWNAT
        | id::LCHOWN => (Class::File, 6, "Set Attributes"),
        id::MOUNT => (Class::File, 12, "Mount"),
        id::UMOUNT2 => (Class::File, 13, "Unmount"),
        id::CONNECT if ret == -111 => (Class::Network, 5, "Refuse"),
        id::CONNECT if ret < 0 && ret != -115 => (Class::Network, 4, "Fail"),
        id::CONNECT | id::ACCEPT | id::ACCEPT4 => (Class::Network, 1, "Open"),
        id::LISTEN => (Class::Network, 7, "Listen"),
        id::SHUTDOWN => (Class::Network, 2, "Close"),
        _ => return None,
    })
}

fn owned(v: &Val<'_>) -> Val<'static> {
    use std::borrow::Cow;
    match v {
        Val::NA => Val::NA,
        Val::Str(s) => Val::Str(Cow::Owned(s.to_string())),
        Val::Bytes(b) => Val::Bytes(Cow::Owned(b.to_vec())),
        Val::Int(n) => Val::Int(*n),
        Val::Bool(b) => Val::Bool(*b),
        Val::Ip(ip) => Val::Ip(*ip),
    }
}

fn text(v: &Val<'_>) -> Option<String> {
    match v {
        Val::NA => None,
        Val::Str(s) if s == "<NA>" => None,
        Val::Str(s) => Some(s.to_string()),
        v => Some(v.render()),
    }
}

fn int(v: &Val<'_>) -> Option<i64> {
    match v {
        Val::Int(n) => Some(*n),
        Val::Bool(b) => Some(i64::from(*b)),
        Val::Str(s) => s.parse().ok(),
        _ => None,
    }
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn parent_folder(p: &str) -> Option<&str> {
    match p.rfind('/') {
        Some(0) => Some("/"),
        Some(i) => Some(&p[..i]),
        None => None,
    }
}

/// An OCSF File object for `path`.
fn file(path: &str, ty: Option<&str>) -> Value {
    json!({
        "path": path,
        "name": basename(path),
        "parent_folder": parent_folder(path),
        "type": ty,
    })
}

/// Where a row comes from: its capture, host, event number and time.
struct Origin<'a> {
    source: &'a str,
    host: Option<&'a str>,
    num: u64,
    time_ms: i64,
}

/// One event as an OCSF row of its class.
fn row(class: Class, activity: (i64, &str), kind: u16, v: &[Val<'_>], at: &Origin<'_>) -> Value {
    let Origin {
        source,
        host,
        num,
        time_ms,
    } = *at;
    let t = |i: usize| text(&v[i]);
    let n = |i: usize| int(&v[i]);
    let (cat_uid, cat_name) = class.category();
    let rawres = n(f::RAWRES);
    let failed = rawres.is_some_and(|r| r < 0 && r != -115);
    let user = json!({"uid": n(f::UID).map(|u| u.to_string()), "name": t(f::USER)});
    let exe_file = |i: usize| {
        t(i).filter(|p| !p.is_empty())
            .map(|p| file(&p, Some("Regular File")))
    };
    let actor_process = json!({
        "pid": n(f::PID),
        "name": t(f::NAME),
        "cmd_line": t(f::CMDLINE),
        "file": exe_file(f::EXEPATH),
        "created_time": n(f::START).map(|s| s / 1_000_000),
        "user": user,
        "parent_process": {
            "pid": n(f::PPID),
            "name": t(f::PNAME),
            "cmd_line": t(f::PCMDLINE),
            "file": exe_file(f::PEXEPATH),
        },
    });
    let container = t(f::CID).filter(|c| c != "host" && !c.is_empty()).map(|c| {
        json!({
            "uid": c,
            "name": t(f::CNAME),
            "image": {"name": t(f::CREPO), "tag": t(f::CTAG)},
        })
    });
    let mut r = json!({
        "time": time_ms,
        "class_uid": class.uid(),
        "class_name": class.name(),
        "category_uid": cat_uid,
        "category_name": cat_name,
        "activity_id": activity.0,
        "activity_name": activity.1,
        "type_uid": class.uid() * 100 + activity.0,
        "severity_id": 1,
        "severity": "Informational",
        "status_id": if failed { 2 } else { 1 },
        "status": if failed { "Failure" } else { "Success" },
        "status_code": t(f::RES),
        "metadata": {
            "version": OCSF_VERSION,
            "uid": format!("{source}:{num}"),
            "log_name": source,
            "product": {"name": "Ferret", "vendor_name": "Ferret", "version": env!("CARGO_PKG_VERSION")},
        },
        "device": {"hostname": host, "type_id": 0},
        "actor": {"process": actor_process, "user": user},
        "container": container,
        "unmapped": {
            "evt_type": t(0),
            "ferret_capture": source,
            "ferret_evt_num": num,
            "k8s_pod_name": t(f::POD),
            "k8s_ns_name": t(f::NS),
            "fd_name": t(f::FDNAME),
        },
    });
    let o = r.as_object_mut().expect("object");
    match class {
        Class::Process => {
            // The process the activity is about: the new image of an exec,
            // the one that ended, the ptrace target, or the actor itself.
            let target = match kind {
                id::PTRACE => json!({"pid": n(f::A_PID)}),
                _ => o["actor"]["process"].clone(),
            };
            o.insert("process".into(), target);
            if matches!(kind, id::SETUID | id::SETREUID | id::SETRESUID) {
                let uid = n(f::A_UID).or(n(f::A_EUID));
                o.insert("user".into(), json!({"uid": uid.map(|u| u.to_string())}));
            }
            if matches!(kind, id::EXECVE | id::EXECVEAT) {
                // The launcher is the parent.
                o.insert(
                    "actor".into(),
                    json!({"process": o["process"]["parent_process"].clone(), "user": user}),
                );
            }
        }
        Class::File => {
            let path = match kind {
                id::OPEN | id::OPENAT | id::OPENAT2 | id::CREAT => {
                    t(f::FDNAME).filter(|p| !p.is_empty()).or(t(f::A_NAME))
                }
                id::RENAME | id::RENAMEAT | id::RENAMEAT2 => t(f::A_OLD),
                id::SYMLINK | id::SYMLINKAT => t(f::A_LINK),
                id::LINK | id::LINKAT => t(f::A_NEW),
                id::MOUNT => t(f::A_DIR),
                _ => t(f::A_PATH)
                    .or(t(f::A_NAME))
                    .or(t(f::A_FILENAME))
                    .or(t(f::A_PATHNAME))
                    .or(t(f::FDNAME)),
            };
            let ty = match (kind, t(f::FDTYPE).as_deref()) {
                (id::MKDIR | id::MKDIRAT | id::RMDIR, _) | (_, Some("directory")) => "Folder",
                (id::SYMLINK | id::SYMLINKAT, _) => "Symbolic Link",
                _ => "Regular File",
            };
            o.insert(
                "file".into(),
                path.map(|p| file(&p, Some(ty))).unwrap_or(Value::Null),
            );
            if matches!(kind, id::RENAME | id::RENAMEAT | id::RENAMEAT2) {
                o.insert(
                    "file_result".into(),
                    t(f::A_NEW)
                        .map(|p| file(&p, Some(ty)))
                        .unwrap_or(Value::Null),
                );
            }
        }
        Class::Network => {
            let ep = |ip: usize, port: usize| t(ip).map(|a| json!({"ip": a, "port": n(port)}));
            o.insert(
                "src_endpoint".into(),
                ep(f::CIP, f::CPORT).unwrap_or(Value::Null),
            );
            o.insert(
                "dst_endpoint".into(),
                ep(f::SIP, f::SPORT).unwrap_or(Value::Null),
            );
            let direction = match kind {
                id::ACCEPT | id::ACCEPT4 | id::LISTEN => (1, "Inbound"),
                id::CONNECT => (2, "Outbound"),
                _ => (0, "Unknown"),
            };
            o.insert(
                "connection_info".into(),
                json!({
                    "protocol_name": t(f::L4),
                    "direction_id": direction.0,
                    "direction": direction.1,
                }),
            );
        }
    }
    r
}

fn utf8() -> DataType {
    DataType::Utf8
}

fn st(fields: Vec<Field>) -> DataType {
    DataType::Struct(Fields::from(fields))
}

fn fld(name: &str, t: DataType) -> Field {
    Field::new(name, t, true)
}

fn file_type() -> DataType {
    st(vec![
        fld("path", utf8()),
        fld("name", utf8()),
        fld("parent_folder", utf8()),
        fld("type", utf8()),
    ])
}

fn user_type() -> DataType {
    st(vec![fld("uid", utf8()), fld("name", utf8())])
}

fn process_type() -> DataType {
    st(vec![
        fld("pid", DataType::Int64),
        fld("name", utf8()),
        fld("cmd_line", utf8()),
        fld("file", file_type()),
        fld("created_time", DataType::Int64),
        fld("user", user_type()),
        fld(
            "parent_process",
            st(vec![
                fld("pid", DataType::Int64),
                fld("name", utf8()),
                fld("cmd_line", utf8()),
                fld("file", file_type()),
            ]),
        ),
    ])
}

/// The Arrow schema of a class's file.
pub fn schema(class: Class) -> SchemaRef {
    let mut f = vec![
        Field::new(
            "time",
            DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into())),
            false,
        ),
        fld("class_uid", DataType::Int64),
        fld("class_name", utf8()),
        fld("category_uid", DataType::Int64),
        fld("category_name", utf8()),
        fld("activity_id", DataType::Int64),
        fld("activity_name", utf8()),
        fld("type_uid", DataType::Int64),
        fld("severity_id", DataType::Int64),
        fld("severity", utf8()),
        fld("status_id", DataType::Int64),
        fld("status", utf8()),
        fld("status_code", utf8()),
        fld(
            "metadata",
            st(vec![
                fld("version", utf8()),
                fld("uid", utf8()),
                fld("log_name", utf8()),
                fld(
                    "product",
                    st(vec![
                        fld("name", utf8()),
                        fld("vendor_name", utf8()),
                        fld("version", utf8()),
                    ]),
                ),
            ]),
        ),
        fld(
            "device",
            st(vec![
                fld("hostname", utf8()),
                fld("type_id", DataType::Int64),
            ]),
        ),
        fld(
            "actor",
            st(vec![
                fld("process", process_type()),
                fld("user", user_type()),
            ]),
        ),
        fld(
            "container",
            st(vec![
                fld("uid", utf8()),
                fld("name", utf8()),
                fld("image", st(vec![fld("name", utf8()), fld("tag", utf8())])),
            ]),
        ),
        fld(
            "unmapped",
            st(vec![
                fld("evt_type", utf8()),
                fld("ferret_capture", utf8()),
                fld("ferret_evt_num", DataType::UInt64),
                fld("k8s_pod_name", utf8()),
                fld("k8s_ns_name", utf8()),
                fld("fd_name", utf8()),
            ]),
        ),
    ];
    match class {
        Class::Process => {
            f.push(fld("process", process_type()));
            f.push(fld("user", user_type()));
        }
        Class::File => {
            f.push(fld("file", file_type()));
            f.push(fld("file_result", file_type()));
        }
        Class::Network => {
            let ep = || st(vec![fld("ip", utf8()), fld("port", DataType::Int64)]);
            f.push(fld("src_endpoint", ep()));
            f.push(fld("dst_endpoint", ep()));
            f.push(fld(
                "connection_info",
                st(vec![
                    fld("protocol_name", utf8()),
                    fld("direction_id", DataType::Int64),
                    fld("direction", utf8()),
                ]),
            ));
        }
    }
    Arc::new(Schema::new(f))
}

/// Rows encoded at once.
const BATCH: usize = 512;

/// What an OCSF export did.
#[derive(Clone, Debug, Default)]
pub struct OcsfResult {
    /// Rows written per class.
    pub rows: BTreeMap<Class, u64>,
    /// Events read.
    pub events: u64,
    /// Chunks that could not be read: their events are missing.
    pub chunk_errors: Vec<String>,
}

/// Writes the OCSF view of `cap` (named `source`) to three writers, one
/// per class in [`Class::ALL`] order, in parallel over chunks.
pub fn export_ocsf<W: Write + Send>(
    cap: &Capture,
    source: &str,
    outs: [W; 3],
    threads: usize,
    progress: Option<Arc<AtomicU64>>,
) -> Result<OcsfResult, ExportError> {
    let fields: Vec<String> = FIELDS.iter().map(|n| format!("%{n}")).collect();
    let parts = crate::compile_fields(&fields)?;
    let host = cap.meta().map(|m| m.hostname.clone());
    let facts = CaptureFacts::of(cap, source);
    let anchor = facts.anchor;
    let schemas: Vec<SchemaRef> = Class::ALL.iter().map(|c| schema(*c)).collect();
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).map_err(crate::encode_err)?,
        ))
        .build();
    let mut writers = Vec::new();
    for (out, s) in outs.into_iter().zip(&schemas) {
        writers.push(
            ArrowWriter::try_new(out, s.clone(), Some(props.clone())).map_err(crate::encode_err)?,
        );
    }
    let par = engine::run::ParOptions {
        threads,
        progress,
        ..Default::default()
    };
    // Each chunk's rows, per class, in batches of at most BATCH rows (a
    // row's command line may be 64 kB: a whole chunk's rows at once could
    // take gigabytes before Parquet's dictionary folds them).
    type Batches = Result<Vec<Vec<RecordBatch>>, String>;
    let (tx, rx) = mpsc::channel::<(usize, Batches)>();
    let mut result = OcsfResult::default();
    let written = std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> Result<BTreeMap<Class, u64>, ExportError> {
            let mut waiting: BTreeMap<usize, Vec<Vec<RecordBatch>>> = BTreeMap::new();
            let mut rows: BTreeMap<Class, u64> = BTreeMap::new();
            let mut put = |bs: Vec<Vec<RecordBatch>>,
                           ws: &mut Vec<ArrowWriter<W>>|
             -> Result<(), ExportError> {
                for ((bs, w), c) in bs.into_iter().zip(ws.iter_mut()).zip(Class::ALL) {
                    if bs.is_empty() {
                        continue;
                    }
                    for b in bs {
                        *rows.entry(c).or_default() += b.num_rows() as u64;
                        w.write(&b).map_err(crate::encode_err)?;
                    }
                    // A row group per capture chunk.
                    w.flush().map_err(crate::encode_err)?;
                }
                Ok(())
            };
            let mut next = 0;
            let mut err = None;
            for (chunk, r) in rx {
                match r {
                    Ok(b) => {
                        waiting.insert(chunk, b);
                    }
                    Err(e) => {
                        err.get_or_insert(ExportError::Encode(e));
                    }
                }
                while let Some(b) = waiting.remove(&next) {
                    put(b, &mut writers)?;
                    next += 1;
                }
            }
            for (_, b) in std::mem::take(&mut waiting) {
                put(b, &mut writers)?;
            }
            if let Some(e) = err {
                return Err(e);
            }
            for w in writers {
                w.close().map_err(crate::encode_err)?;
            }
            Ok(rows)
        });
        let done = engine::run::replay_chunks(cap, facts, &par, |chunk, c, replay| {
            let mut pending: [Vec<Value>; 3] = Default::default();
            let mut out: [Vec<RecordBatch>; 3] = Default::default();
            let mut failed: Option<String> = None;
            // Rows become Arrow as soon as BATCH of a class wait.
            let mut encode = |i: usize, rows: &mut Vec<Value>, out: &mut [Vec<RecordBatch>; 3]| {
                if rows.is_empty() {
                    return;
                }
                let r = arrow_json::ReaderBuilder::new(schemas[i].clone())
                    .with_batch_size(rows.len())
                    .build_decoder()
                    .and_then(|mut d| {
                        d.serialize(rows)?;
                        d.flush()
                    });
                match r {
                    Ok(Some(b)) => out[i].push(b),
                    Ok(None) => {}
                    Err(e) => {
                        failed.get_or_insert(e.to_string());
                    }
                }
                rows.clear();
            };
            for e in c.events() {
                let group_dead = e.kind == id::PROC_EXIT
                    && e.arg("group_dead").and_then(|v| v.as_u64()) == Some(1);
                let Some((class, aid, aname)) = classify(e.kind, e.ret, group_dead) else {
                    replay.advance(&e);
                    continue;
                };
                let num = e.seq + 1;
                let time_ms = (e.ts.wrapping_add(anchor) / 1_000_000) as i64;
                let r = replay.step(&e, |cx| {
                    let mut vals: Vec<Val<'static>> = Vec::with_capacity(FIELDS.len());
                    visit_fields(&parts, cx, |v| vals.push(owned(v)));
                    let at = Origin {
                        source,
                        host: host.as_deref(),
                        num,
                        time_ms,
                    };
                    row(class, (aid, aname), e.kind, &vals, &at)
                });
                let i = Class::ALL.iter().position(|c| *c == class).unwrap_or(0);
                pending[i].push(r);
                if pending[i].len() >= BATCH {
                    encode(i, &mut pending[i], &mut out);
                }
            }
            for (i, rows) in pending.iter_mut().enumerate() {
                encode(i, rows, &mut out);
            }
            let batches: Batches = match failed {
                Some(e) => Err(e),
                None => Ok(out.into_iter().collect()),
            };
            let _ = tx.send((chunk, batches));
        });
        drop(tx);
        result.events = done.events;
        result.chunk_errors = done.chunk_errors.iter().map(|e| e.to_string()).collect();
        writer
            .join()
            .unwrap_or_else(|_| Err(ExportError::Encode("the writer thread failed".into())))
    })?;
    result.rows = written;
    Ok(result)
}
