//! Where alerts go.
//!
//! - Shapes: Falco-style text lines ([`text_line`]) and Falco `json_output`
//!   objects ([`json`]), both following Falco's formatting settings
//!   ([`Format`]), plus Ferret's `evt_num`, `in_gap` and `capture`.
//! - Live sinks ([`Sink`]): lines to any writer ([`LineSink`]: stdout, a
//!   JSON-lines file), and Falco's outputs behind a bounded queue with
//!   timeouts, bounded retries and a give-up rule ([`queue::Queued`]):
//!   files ([`file`]), programs ([`program`]), the local syslog socket
//!   ([`syslog`]) and HTTP(S) to falcosidekick or any collector ([`http`]).
//!   Every sink ends with a [`Delivery`] account: nothing is lost silently.
//! - Documents written once at the end: SARIF 2.1.0 ([`sarif`]), JUnit XML
//!   ([`junit`]), a Markdown summary ([`markdown`]) and Prometheus text
//!   exposition with Falco's metric names ([`metrics`]).
//!
//! Nothing here prints or parses command lines.

pub mod file;
pub mod http;
pub mod junit;
pub mod markdown;
pub mod metrics;
pub mod program;
pub mod queue;
pub mod sarif;
pub mod syslog;

use std::collections::BTreeMap;
use std::io::Write;

use capture::text::rfc3339 as utc;
use engine::eval::Val;
use engine::Alert;
use serde::Serialize;
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
    /// A sink's settings are not usable (address, certificate, program).
    #[error("{url}: {reason}")]
    Config {
        /// The setting as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Falco's formatting settings (`json_output`, `json_include_*_property`,
/// `time_format_iso_8601`). The default is Ferret's command line: text
/// lines, RFC 3339 times, `output` and `tags` in JSON, no `message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Format {
    /// Lines are JSON objects (`json_output`).
    pub json: bool,
    /// JSON has `output`, the full text line (`json_include_output_property`).
    pub include_output: bool,
    /// JSON has `tags` (`json_include_tags_property`).
    pub include_tags: bool,
    /// JSON has `message`, the output without time and priority
    /// (`json_include_message_property`).
    pub include_message: bool,
    /// JSON has `output_fields` (`json_include_output_fields_property`).
    pub include_output_fields: bool,
    /// Text times are RFC 3339 (`time_format_iso_8601: true`); otherwise
    /// Falco's `HH:MM:SS.nnnnnnnnn`, in UTC (a capture is read far from the
    /// host and the analyst's zone would mislead).
    pub iso_time: bool,
}

impl Default for Format {
    fn default() -> Self {
        Format {
            json: false,
            include_output: true,
            include_tags: true,
            include_message: false,
            include_output_fields: true,
            iso_time: true,
        }
    }
}

/// One alert as every sink receives it: the alert, its JSON (built once)
/// and its line (text or JSON, per [`Format::json`]).
pub struct Rendered<'a> {
    /// The alert.
    pub alert: &'a Alert,
    /// Its JSON object.
    pub doc: &'a Value,
    /// Its line, without newline.
    pub line: &'a str,
}

/// A destination for alerts.
pub trait Sink {
    /// The sink's name in messages (`stdout`, a path, a URL).
    fn name(&self) -> &str;
    /// Delivers one alert, or queues it. An error means the sink cannot go
    /// on (a closed stdout, a full disk); queued sinks never return one and
    /// account for failures in [`Sink::finish`].
    fn send(&mut self, r: &Rendered<'_>) -> Result<(), SinkError>;
    /// Delivers what is buffered or queued and says what became of every
    /// alert sent.
    fn finish(&mut self) -> Result<Delivery, SinkError>;
}

/// What a sink did with the alerts it was given.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Delivery {
    /// The sink.
    pub sink: String,
    /// Alerts delivered.
    pub delivered: u64,
    /// Alerts that could not be delivered.
    pub undelivered: u64,
    /// Why, with how many alerts each reason cost.
    pub reasons: BTreeMap<String, u64>,
    /// Set when the sink stopped trying (too many consecutive failures).
    pub gave_up: Option<String>,
    /// What went wrong when the sink was closed (a program that exited
    /// with an error after reading its alerts).
    pub close_error: Option<String>,
}

/// Alerts as lines to a writer.
pub struct LineSink<W: Write> {
    name: String,
    w: W,
    sent: u64,
}

impl<W: Write> LineSink<W> {
    /// Lines to `w`, called `name` in errors.
    pub fn new(name: &str, w: W) -> LineSink<W> {
        LineSink {
            name: name.into(),
            w,
            sent: 0,
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
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&mut self, r: &Rendered<'_>) -> Result<(), SinkError> {
        writeln!(self.w, "{}", r.line).map_err(|e| self.io(e))?;
        self.sent += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<Delivery, SinkError> {
        self.w.flush().map_err(|e| self.io(e))?;
        Ok(Delivery {
            sink: self.name.clone(),
            delivered: self.sent,
            ..Delivery::default()
        })
    }
}

/// The time of an alert as text lines show it.
pub fn text_time(time_ns: u64, f: &Format) -> String {
    if f.iso_time {
        return utc(time_ns);
    }
    let secs = time_ns / 1_000_000_000;
    let day = secs % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:09}",
        day / 3600,
        day / 60 % 60,
        day % 60,
        time_ns % 1_000_000_000
    )
}

/// Falco's text line, `<time>: <Priority> <output>`, with
/// ` [in a recorded gap…]` appended when events were lost around it.
/// Values from the capture are escaped: control characters are shown,
/// never obeyed.
pub fn text_line_with(a: &Alert, f: &Format) -> String {
    let gap = if a.in_gap {
        " [in a recorded gap: events were lost around this time]"
    } else {
        ""
    };
    let line = format!(
        "{}: {} {}{gap}",
        text_time(a.time_ns, f),
        a.priority.name(),
        a.output
    );
    capture::text::escape_controls(&line).into_owned()
}

/// [`text_line_with`] in Ferret's default format (RFC 3339 times).
pub fn text_line(a: &Alert) -> String {
    text_line_with(a, &Format::default())
}

pub(crate) fn val_json(v: &Val<'_>) -> Value {
    match v {
        Val::NA => Value::Null,
        Val::Str(s) => Value::String(s.to_string()),
        Val::Bytes(b) => Value::String(capture::text::escape(b)),
        Val::Int(i) => json!(i),
        Val::Bool(b) => json!(b),
        Val::Ip(ip) => Value::String(ip.to_string()),
    }
}

/// The alert in Falco's `json_output` shape, per `f`: `time` (RFC 3339,
/// always, as Falco), `rule`, `priority`, `output`, `output_fields` (with
/// `evt.time` in ns, as Falco puts it there), `tags`, `hostname`, `source`,
/// optionally `message`; plus Ferret's `evt_num`, `in_gap` and `capture`.
pub fn json_with(a: &Alert, hostname: &str, f: &Format) -> Value {
    let mut o = Map::new();
    o.insert("time".into(), utc(a.time_ns).into());
    o.insert("rule".into(), a.rule.clone().into());
    o.insert("priority".into(), a.priority.name().into());
    if f.include_output {
        o.insert(
            "output".into(),
            format!(
                "{}: {} {}",
                text_time(a.time_ns, f),
                a.priority.name(),
                a.output
            )
            .into(),
        );
    }
    if f.include_message {
        o.insert("message".into(), a.output.clone().into());
    }
    if f.include_output_fields {
        let mut fields = Map::new();
        fields.insert("evt.time".into(), json!(a.time_ns));
        for (k, v) in &a.output_fields {
            fields.insert(k.clone(), val_json(v));
        }
        o.insert("output_fields".into(), Value::Object(fields));
    }
    if f.include_tags {
        o.insert("tags".into(), json!(a.tags));
    }
    o.insert("hostname".into(), hostname.into());
    o.insert("source".into(), "syscall".into());
    o.insert("evt_num".into(), json!(a.evt_num));
    o.insert("in_gap".into(), json!(a.in_gap));
    o.insert("capture".into(), json!(a.source.as_ref()));
    Value::Object(o)
}

/// [`json_with`] in Ferret's default format.
pub fn json(a: &Alert, hostname: &str) -> Value {
    json_with(a, hostname, &Format::default())
}

/// The line of an alert per `f`: its JSON (`doc`) or its text line.
pub fn line(a: &Alert, doc: &Value, f: &Format) -> String {
    if f.json {
        doc.to_string()
    } else {
        text_line_with(a, f)
    }
}

/// Rule facts the end-of-run documents need: what each rule is and how
/// severe, whether or not it fired.
#[derive(Clone, Debug)]
pub struct RuleInfo {
    /// Name.
    pub name: String,
    /// Description.
    pub desc: String,
    /// Priority.
    pub priority: ruleset::Priority,
    /// Tags.
    pub tags: Vec<String>,
    /// Rule file and line.
    pub file: String,
    /// Line of the definition.
    pub line: usize,
}

impl From<&ruleset::CompiledRule> for RuleInfo {
    fn from(r: &ruleset::CompiledRule) -> Self {
        RuleInfo {
            name: r.name.clone(),
            desc: r.desc.clone(),
            priority: r.priority,
            tags: r.tags.clone(),
            file: r.file.clone(),
            line: r.line,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn alert(in_gap: bool) -> Alert {
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
        let falco = Format {
            iso_time: false,
            ..Format::default()
        };
        assert_eq!(
            text_line_with(&alert(false), &falco),
            "14:13:20.123456789: Warning shell \\x1b[2J in bash"
        );
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
        assert_eq!(j["output_fields"]["evt.time"], 1_790_000_000_123_456_789u64);
        assert!(j["output_fields"]["fd.name"].is_null());
        assert!(j.get("message").is_none());
        assert_eq!(j["tags"][0], "t");
    }

    #[test]
    fn json_follows_the_include_settings() {
        let f = Format {
            include_output: false,
            include_tags: false,
            include_message: true,
            include_output_fields: false,
            ..Format::default()
        };
        let j = json_with(&alert(false), "h", &f);
        assert!(j.get("output").is_none());
        assert!(j.get("tags").is_none());
        assert!(j.get("output_fields").is_none());
        assert_eq!(j["message"], "shell \u{1b}[2J in bash");
    }

    #[test]
    fn line_sinks_write_one_line_per_alert_and_report_failures() {
        let a = alert(false);
        let doc = json(&a, "h");
        let l = line(&a, &doc, &Format::default());
        let r = Rendered {
            alert: &a,
            doc: &doc,
            line: &l,
        };
        let mut buf = Vec::new();
        {
            let mut s = LineSink::new("mem", &mut buf);
            s.send(&r).expect("send");
            s.send(&r).expect("send");
            let d = s.finish().expect("flush");
            assert_eq!(d.delivered, 2);
        }
        let text = String::from_utf8(buf).expect("utf8");
        assert_eq!(text.lines().count(), 2);
        // A full disk: the sink says so, naming itself.
        if let Ok(f) = std::fs::OpenOptions::new().write(true).open("/dev/full") {
            let mut s = LineSink::new("/dev/full", std::io::BufWriter::with_capacity(0, f));
            let err = s.send(&r).expect_err("ENOSPC");
            assert!(err.to_string().starts_with("/dev/full: "), "{err}");
        }
    }
}
