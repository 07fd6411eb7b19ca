//! Alert outputs: Falco-style text lines, Falco `json_output` objects (plus
//! Ferret's `evt_num` and `in_gap`), JSON lines to a file, and HTTP POSTs to a
//! falcosidekick-compatible endpoint (plain HTTP, loopback or LAN).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::engine::Alert;
use crate::eval::Val;
use crate::timefmt::utc;

/// A text line: `<time> <Priority> <output>`, with ` (in a recorded gap)`
/// appended when events were lost around it.
pub fn text_line(a: &Alert) -> String {
    let gap = if a.in_gap {
        " [in a recorded gap: events were lost around this time]"
    } else {
        ""
    };
    // The output holds values from the capture (names, arguments, paths):
    // escape sequences and newlines in them are shown, never obeyed.
    let line = format!(
        "{}: {} {}{gap}",
        utc(a.time_ns),
        a.priority.name(),
        a.output
    );
    crate::print::escape_controls(&line).into_owned()
}

fn val_json(v: &Val<'_>) -> Value {
    match v {
        Val::NA => Value::Null,
        Val::Str(s) => Value::String(s.to_string()),
        Val::Bytes(b) => Value::String(crate::print::escape(b)),
        Val::Int(i) => json!(i),
        Val::Bool(b) => json!(b),
        Val::Ip(ip) => Value::String(ip.to_string()),
    }
}

/// The alert in Falco's `json_output` shape: time, rule, priority, output,
/// output_fields, tags, hostname, source; plus `evt_num` and `in_gap`.
pub fn json(a: &Alert, hostname: &str) -> Value {
    let mut fields = Map::new();
    for (k, v) in &a.output_fields {
        fields.insert(k.clone(), val_json(v));
    }
    json!({
        "time": utc(a.time_ns),
        "rule": a.rule,
        "priority": a.priority.name(),
        "output": format!("{}: {} {}", utc(a.time_ns), a.priority.name(), a.output),
        "output_fields": Value::Object(fields),
        "tags": a.tags,
        "hostname": hostname,
        "source": "syscall",
        "evt_num": a.evt_num,
        "in_gap": a.in_gap,
    })
}

/// Posts JSON documents to `url` (`http://host:port/path`), one request each.
pub struct HttpSink {
    host: String,
    path: String,
    /// Requests that failed.
    pub failures: u64,
    /// Last failure, for the summary.
    pub last_error: Option<String>,
}

impl HttpSink {
    /// Parses the URL; only `http://` is supported (falcosidekick listens on
    /// plain HTTP by default).
    pub fn new(url: &str) -> Result<HttpSink, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or("only http:// URLs are supported")?;
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if host.is_empty() {
            return Err("missing host".into());
        }
        let host = if host.contains(':') {
            host.to_string()
        } else {
            format!("{host}:80")
        };
        Ok(HttpSink {
            host,
            path: path.to_string(),
            failures: 0,
            last_error: None,
        })
    }

    /// Posts one document; failures are counted, not fatal.
    pub fn post(&mut self, body: &Value) {
        if let Err(e) = self.try_post(body) {
            self.failures += 1;
            self.last_error = Some(e);
        }
    }

    fn try_post(&self, body: &Value) -> Result<(), String> {
        let body = body.to_string();
        let mut s =
            TcpStream::connect(&self.host).map_err(|e| format!("connect {}: {e}", self.host))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        let req = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nUser-Agent: ferret-analyzer\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.path,
            self.host,
            body.len()
        );
        s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
        let mut resp = Vec::new();
        let _ = s.take(4096).read_to_end(&mut resp);
        let status = String::from_utf8_lossy(&resp);
        let code = status
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok())
            .unwrap_or(0);
        if (200..300).contains(&code) {
            Ok(())
        } else {
            Err(format!("HTTP status {code}"))
        }
    }
}
