//! Rendering events as text lines and JSON objects (`analyzer events`).

use std::fmt::Write as _;

use capture::args::{ArgValue, SockAddr};
use capture::kind::ArgType;
use capture::EventRef;
use serde_json::{json, Map, Value};

use capture::text::{escape, rfc3339 as utc};

/// Renders one argument value according to its declared type.
pub fn render(v: &ArgValue<'_>, ty: Option<ArgType>) -> String {
    match (v, ty) {
        (ArgValue::Absent, _) => "<NA>".into(),
        (ArgValue::Int(-100), Some(ArgType::Dirfd)) => "AT_FDCWD".into(),
        (ArgValue::Int(i), _) => i.to_string(),
        (ArgValue::Uint(u), Some(ArgType::Mode)) => format!("0{u:o}"),
        (ArgValue::Uint(u), Some(ArgType::Flags(_) | ArgType::Addr)) => format!("{u:#x}"),
        (ArgValue::Uint(u), _) => u.to_string(),
        (ArgValue::Str(s), _) => escape(s),
        (ArgValue::Bytes(b), _) => escape(b),
        (ArgValue::StrList(l), _) => {
            let items: Vec<String> = l.iter().map(escape).collect();
            items.join(" ")
        }
        (ArgValue::SockAddr(SockAddr::None), _) => "<NA>".into(),
        (ArgValue::SockAddr(a), _) => a.to_string(),
    }
}

/// The event's arguments as `(name, type, value)`, in table order. Arguments
/// beyond the table (a newer writer) are named `argN`.
pub fn named_args<'a>(e: &EventRef<'a>) -> Vec<(String, Option<ArgType>, ArgValue<'a>)> {
    let table = e.info().map(|k| k.args).unwrap_or(&[]);
    e.args()
        .enumerate()
        .map_while(|(i, v)| {
            let v = v.ok()?;
            let (name, ty) = match table.get(i) {
                Some((n, t)) => (n.to_string(), Some(*t)),
                None => (format!("arg{i}"), None),
            };
            Some((name, ty, v))
        })
        .collect()
}

/// One text line: `seq time cpu pid/tid kind ret=R name=value ...`
/// (`ret=` is left out for events without a result).
pub fn line(e: &EventRef<'_>, anchor: u64) -> String {
    let mut s = format!(
        "{} {} {} {}/{} {}",
        e.seq + 1,
        utc(e.ts.wrapping_add(anchor)),
        e.cpu,
        e.pid,
        e.tid,
        e.kind_name(),
    );
    if let Some(r) = e.result() {
        let _ = write!(s, " ret={r}");
    }
    for (name, ty, v) in named_args(e) {
        let _ = write!(s, " {name}={}", render(&v, ty));
    }
    s
}

/// One JSON object with the event's fields and named arguments.
pub fn json(e: &EventRef<'_>, anchor: u64) -> Value {
    let mut args = Map::new();
    for (name, ty, v) in named_args(e) {
        let val = match v {
            ArgValue::Absent => Value::Null,
            ArgValue::Int(i) => json!(i),
            ArgValue::Uint(u) => json!(u),
            ArgValue::StrList(l) => Value::Array(
                l.iter()
                    .map(|s| Value::String(String::from_utf8_lossy(s).into_owned()))
                    .collect(),
            ),
            ArgValue::Str(s) => Value::String(String::from_utf8_lossy(s).into_owned()),
            other => Value::String(render(&other, ty)),
        };
        args.insert(name, val);
    }
    json!({
        "num": e.seq + 1,
        "time": utc(e.ts.wrapping_add(anchor)),
        "ts": e.ts,
        "cpu": e.cpu,
        "pid": e.pid,
        "tid": e.tid,
        "type": e.kind_name(),
        "ret": e.result(),
        "args": Value::Object(args),
    })
}
