//! Rendering events as text lines and JSON objects (`analyzer events`).

use std::fmt::Write as _;

use capture::args::{ArgValue, SockAddr};
use capture::kind::ArgType;
use capture::EventRef;
use serde_json::{json, Map, Value};

use crate::timefmt::utc;

/// Escapes bytes for display: printable ASCII as is, the rest as `\xNN`.
pub fn escape(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for &c in b {
        match c {
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(c as char),
            _ => {
                let _ = write!(s, "\\x{c:02x}");
            }
        }
    }
    s
}

/// Makes text from a capture or a rule file safe for a terminal: control
/// characters (C0, DEL and C1, which carry escape sequences that clear the
/// screen, write the clipboard or move the cursor, and newlines that forge
/// lines) become visible escapes (`\n`, `\t`, `\r`, `\x1b`, `\u{9b}`);
/// printable text, Unicode included, is kept. Borrows when nothing changes.
pub fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 && c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

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

#[cfg(test)]
mod tests {
    use super::escape_controls;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(escape_controls("plain ünïcode"), "plain ünïcode");
        assert_eq!(escape_controls("\u{1b}[2J"), "\\x1b[2J");
        assert_eq!(
            escape_controls("\u{1b}]52;c;aGk=\u{7}"),
            "\\x1b]52;c;aGk=\\x07"
        );
        assert_eq!(escape_controls("a\nb\r\t"), "a\\nb\\r\\t");
        assert_eq!(escape_controls("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape_controls("\u{7f}"), "\\x7f");
    }
}
