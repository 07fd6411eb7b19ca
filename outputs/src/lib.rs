//! Where alerts go: Falco-style text lines, Falco `json_output` objects
//! (plus Ferret's `evt_num`, `in_gap` and `capture`), JSON lines to any
//! writer (stdout, a file), and HTTP POSTs to a falcosidekick-compatible
//! endpoint (plain HTTP, loopback or LAN). Every sink implements [`Sink`]
//! and says when it cannot deliver ([`SinkError`]); nothing here prints.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use capture::text::rfc3339 as utc;
use engine::eval::Val;
use engine::Alert;
use serde_json::{json, Map, Value};

/// Why a sink could not deliver.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Writing to a stream or file failed.
    #[error("{sink}: {source}")]
    Io {
        /// The sink.
        sink: String,
        /// The cause.
        source: std::io::Error,
    },
    /// An HTTP endpoint refused or could not be reached.
    #[error("{sink}: {reason}")]
    Http {
        /// The sink.
        sink: String,
        /// What went wrong.
        reason: String,
    },
    /// A sink's address is not usable.
    #[error("{url}: {reason}")]
    Config {
        /// The address as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A destination for alerts. `doc` is the alert's JSON ([`json`]), built
/// once per alert and shared by every sink.
pub trait Sink {
    /// Delivers one alert.
    fn send(&mut self, alert: &Alert, doc: &Value) -> Result<(), SinkError>;
    /// Delivers what is buffered.
    fn flush(&mut self) -> Result<(), SinkError>;
}

/// Alerts as text lines ([`text_line`]) or JSON lines to a writer.
pub struct LineSink<W: Write> {
    name: String,
    w: W,
    json: bool,
}

impl<W: Write> LineSink<W> {
    /// Text lines to `w`, called `name` in errors.
    pub fn text(name: &str, w: W) -> LineSink<W> {
        LineSink {
            name: name.into(),
            w,
            json: false,
        }
    }

    /// JSON lines to `w`, called `name` in errors.
    pub fn json(name: &str, w: W) -> LineSink<W> {
        LineSink {
            name: name.into(),
            w,
            json: true,
        }
    }

    fn io(&self, source: std::io::Error) -> SinkError {
        SinkError::Io {
            sink: self.name.clone(),
            source,
        }
    }
}

impl<W: Write> Sink for LineSink<W> {
    fn send(&mut self, alert: &Alert, doc: &Value) -> Result<(), SinkError> {
        let r = if self.json {
            writeln!(self.w, "{doc}")
        } else {
            writeln!(self.w, "{}", text_line(alert))
        };
        r.map_err(|e| self.io(e))
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.w.flush().map_err(|e| self.io(e))
    }
}

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
    capture::text::escape_controls(&line).into_owned()
}

fn val_json(v: &Val<'_>) -> Value {
    match v {
        Val::NA => Value::Null,
        Val::Str(s) => Value::String(s.to_string()),
        Val::Bytes(b) => Value::String(capture::text::escape(b)),
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
        "capture": a.source.as_ref(),
    })
}

/// Posts JSON documents to `url` (`http://host:port/path`), one request each.
pub struct HttpSink {
    url: String,
    host: String,
    path: String,
    /// Requests that failed.
    pub failures: u64,
    /// Last failure, for the summary.
    pub last_error: Option<SinkError>,
}

impl HttpSink {
    /// Parses the URL; only `http://` is supported (falcosidekick listens on
    /// plain HTTP by default).
    pub fn new(url: &str) -> Result<HttpSink, SinkError> {
        let bad = |reason: &str| SinkError::Config {
            url: url.into(),
            reason: reason.into(),
        };
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| bad("only http:// URLs are supported"))?;
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if host.is_empty() {
            return Err(bad("missing host"));
        }
        let host = if host.contains(':') {
            host.to_string()
        } else {
            format!("{host}:80")
        };
        Ok(HttpSink {
            url: url.into(),
            host,
            path: path.to_string(),
            failures: 0,
            last_error: None,
        })
    }

    /// Posts one document; failures are counted (and the last kept), not
    /// fatal: one unreachable collector must not stop an analysis.
    pub fn post(&mut self, body: &Value) {
        let _ = self.deliver(body);
    }

    /// Posts one document, counting and keeping a failure, and returns it.
    fn deliver(&mut self, body: &Value) -> Result<(), SinkError> {
        let reason = match self.try_post(body) {
            Ok(()) => return Ok(()),
            Err(reason) => reason,
        };
        self.failures += 1;
        let err = |reason: String| SinkError::Http {
            sink: self.url.clone(),
            reason,
        };
        self.last_error = Some(err(reason.clone()));
        Err(err(reason))
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

impl Sink for HttpSink {
    /// Posts the alert; a failure is counted (see [`HttpSink::failures`])
    /// and returned.
    fn send(&mut self, _alert: &Alert, doc: &Value) -> Result<(), SinkError> {
        self.deliver(doc)
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(in_gap: bool) -> Alert {
        Alert {
            source: "a.cap".into(),
            evt_num: 7,
            ts: 5,
            time_ns: 1_790_000_000_123_456_789,
            rule: "R".into(),
            priority: ruleset::Priority::Warning,
            output: "shell \u{1b}[2J in bash".into(),
            output_fields: vec![
                ("proc.name".into(), Val::Str("bash".into())),
                ("fd.name".into(), Val::NA),
            ],
            tags: vec!["t".into()],
            in_gap,
        }
    }

    #[test]
    fn text_lines_mark_gaps_and_escape_controls() {
        assert_eq!(
            text_line(&alert(false)),
            "2026-09-21T14:13:20.123456789Z: Warning shell \\x1b[2J in bash"
        );
        assert!(text_line(&alert(true))
            .ends_with("[in a recorded gap: events were lost around this time]"));
    }

    #[test]
    fn json_has_falco_keys_and_ferret_extras() {
        let j = json(&alert(true), "h");
        assert_eq!(j["rule"], "R");
        assert_eq!(j["priority"], "Warning");
        assert_eq!(j["hostname"], "h");
        assert_eq!(j["source"], "syscall");
        assert_eq!(j["in_gap"], true);
        assert_eq!(j["evt_num"], 7);
        assert_eq!(j["capture"], "a.cap");
        assert_eq!(j["output_fields"]["proc.name"], "bash");
        assert!(j["output_fields"]["fd.name"].is_null());
    }

    #[test]
    fn line_sinks_write_one_line_per_alert_and_report_failures() {
        let mut buf = Vec::new();
        {
            let mut s = LineSink::json("mem", &mut buf);
            let a = alert(false);
            s.send(&a, &json(&a, "h")).expect("send");
            s.send(&a, &json(&a, "h")).expect("send");
            s.flush().expect("flush");
        }
        let text = String::from_utf8(buf).expect("utf8");
        assert_eq!(text.lines().count(), 2);
        // A full disk: the sink says so, naming itself.
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full");
        if let Ok(f) = full {
            let mut s = LineSink::text("/dev/full", std::io::BufWriter::with_capacity(0, f));
            let a = alert(false);
            let err = s.send(&a, &json(&a, "h")).expect_err("ENOSPC");
            assert!(err.to_string().starts_with("/dev/full: "), "{err}");
        }
    }

    #[test]
    fn http_sink_reports_an_unreachable_collector() {
        assert!(HttpSink::new("https://x/").is_err());
        assert!(HttpSink::new("http:///p").is_err());
        // A port nothing listens on (bound, then closed).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("port");
        let mut h = HttpSink::new(&format!("http://127.0.0.1:{port}/")).expect("url");
        let a = alert(false);
        let err = h.send(&a, &json(&a, "h")).expect_err("refused");
        assert_eq!(h.failures, 1);
        assert!(err.to_string().contains("connect 127.0.0.1"), "{err}");
    }
}
