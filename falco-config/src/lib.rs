//! Falco's `falco.yaml`, read into Ferret's settings.
//!
//! Honoured: `rules_files` (and the deprecated `rules_file`), `priority`,
//! `rule_matching`, `json_output`, `json_include_output_property`,
//! `json_include_tags_property`, `json_include_message_property`,
//! `json_include_output_fields_property`, `time_format_iso_8601`,
//! `output_timeout`, `outputs_queue.capacity`, `stdout_output`,
//! `file_output`, `program_output`, `syslog_output`, `http_output` and
//! `append_output`; `${VAR}` in values is the environment variable, as in
//! Falco (`$${VAR}` is the text `${VAR}`). Keys absent take Falco's
//! defaults, with two exceptions made for offline analysis and written in
//! [`Config`]. Keys Falco has that Ferret does not use are listed in
//! [`Config::ignored`]; any other key, and every value of the wrong type, is
//! a [`ruleset::Diagnostic`] with file, line and column. Relative paths are
//! taken from the configuration file's directory, so that a configuration
//! travels with its rules.
//!
//! Text in, settings out: no I/O beyond reading the file, no printing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::{Node, Span};
use outputs::file::FileConfig;
use outputs::http::HttpConfig;
use outputs::program::ProgramConfig;
use outputs::syslog::SyslogConfig;
use ruleset::{Diagnostic, Priority, Severity};

/// Ferret's settings from a `falco.yaml`.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The file read.
    pub path: PathBuf,
    /// Rule files and directories, in load order (`rules_files`).
    pub rules_files: Vec<PathBuf>,
    /// Rules less severe are not loaded (`priority`; Falco's default
    /// `debug` loads every rule).
    pub priority: Priority,
    /// Only the first matching rule alerts (`rule_matching: first`, Falco's
    /// default) or every one (`all`).
    pub first_match_only: bool,
    /// Line and JSON shapes.
    pub format: outputs::Format,
    /// Bound on each delivery attempt (`output_timeout`, ms; default 2000).
    pub output_timeout: Duration,
    /// Alerts queued per output at most (`outputs_queue.capacity`; 0: the
    /// default).
    pub queue_capacity: usize,
    /// Alerts on stdout (`stdout_output.enabled`, default true).
    pub stdout_output: bool,
    /// `file_output`, when enabled.
    pub file_output: Option<FileConfig>,
    /// `program_output`, when enabled.
    pub program_output: Option<ProgramConfig>,
    /// `syslog_output`, when enabled. Falco's default is on; Ferret's is
    /// off unless the file enables it (an offline analysis should not write
    /// into the analyst's own syslog by default).
    pub syslog_output: Option<SyslogConfig>,
    /// `http_output`, when enabled.
    pub http_output: Option<HttpConfig>,
    /// Consecutive timeouts after which an output gives up
    /// (`http_output.max_consecutive_timeouts`, default 5; Ferret applies
    /// it to every queued output).
    pub max_consecutive_timeouts: u32,
    /// `append_output` entries, in order.
    pub append_output: Vec<ruleset::AppendOutput>,
    /// Falco keys present in the file that Ferret does not use.
    pub ignored: Vec<String>,
}

impl Config {
    /// Falco's defaults (see the field docs for Ferret's two exceptions).
    pub fn falco_defaults(path: &Path) -> Config {
        Config {
            path: path.to_path_buf(),
            rules_files: Vec::new(),
            priority: Priority::Debug,
            first_match_only: true,
            format: outputs::Format {
                json: false,
                include_output: true,
                include_tags: true,
                include_message: false,
                include_output_fields: true,
                iso_time: false,
            },
            output_timeout: Duration::from_millis(2000),
            queue_capacity: 0,
            stdout_output: true,
            file_output: None,
            program_output: None,
            syslog_output: None,
            http_output: None,
            max_consecutive_timeouts: 5,
            append_output: Vec::new(),
            ignored: Vec::new(),
        }
    }
}

/// A configuration file that could not be read at all.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct ReadError {
    /// The file.
    pub path: String,
    /// Why.
    pub source: std::io::Error,
}

/// Falco keys Ferret reads no meaning from (engines, plugins, drivers,
/// servers, logging of the daemon itself).
const IGNORED: &[&str] = &[
    "base_syscalls",
    "buffer_format_base64",
    "buffered_outputs",
    "capture",
    "config_files",
    "container_engines",
    "engine",
    "falco_libs",
    "grpc",
    "grpc_output",
    "libs_logger",
    "load_plugins",
    "log_level",
    "log_stderr",
    "log_syslog",
    "metadata_download",
    "metrics",
    "modern_bpf",
    "outputs",
    "plugins",
    "plugins_hostinfo",
    "rules",
    "syscall_buf_size_preset",
    "syscall_drop_failed_exit",
    "syscall_event_drops",
    "syscall_event_timeouts",
    "watch_config_files",
    "webserver",
];

/// Reads and parses `path`; `env` gives environment variables.
pub fn load(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Config, Vec<Diagnostic>), ReadError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReadError {
        path: path.display().to_string(),
        source,
    })?;
    Ok(parse(path, &text, env))
}

/// Parses the text of `path`: the settings, and every problem found (a
/// setting with an error keeps its default).
pub fn parse(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> (Config, Vec<Diagnostic>) {
    let mut p = Parser {
        file: path.display().to_string(),
        lines: text.lines().collect(),
        base: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        env,
        diags: Vec::new(),
    };
    let mut cfg = Config::falco_defaults(path);
    if text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---"
    }) {
        return (cfg, p.diags);
    }
    let root = match marked_yaml::parse_yaml(0, text) {
        Ok(n) => n,
        Err(e) => {
            let (line, col) = load_error_pos(&e);
            p.push(
                line,
                col,
                1,
                "CONFIG_YAML",
                format!("not valid YAML: {}", yaml_reason(&e)),
                "",
            );
            return (cfg, p.diags);
        }
    };
    let Some(map) = root.as_mapping() else {
        p.at(
            root.span(),
            "CONFIG_YAML",
            "the configuration must be a mapping of keys".into(),
            "",
        );
        return (cfg, p.diags);
    };
    p.top(map, &mut cfg);
    (cfg, p.diags)
}

fn load_error_pos(e: &marked_yaml::LoadError) -> (usize, usize) {
    use marked_yaml::LoadError::*;
    #[allow(deprecated)]
    let m = match e {
        TopLevelMustBeMapping(m)
        | TopLevelMustBeSequence(m)
        | UnexpectedAnchor(m)
        | MappingKeyMustBeScalar(m)
        | UnexpectedTag(m)
        | ScanError(m, _) => Some(*m),
        DuplicateKey(d) => d.key.span().start().copied(),
    };
    m.map(|m| (m.line(), m.column())).unwrap_or((0, 0))
}

fn yaml_reason(e: &marked_yaml::LoadError) -> String {
    use marked_yaml::LoadError::*;
    #[allow(deprecated)]
    match e {
        ScanError(_, se) => se.info().to_string(),
        DuplicateKey(d) => format!("the key {:?} appears twice", d.key.as_str()),
        TopLevelMustBeMapping(_) => "the configuration must be a mapping of keys".into(),
        TopLevelMustBeSequence(_) => "a sequence was expected".into(),
        UnexpectedAnchor(_) => "anchors are not supported".into(),
        MappingKeyMustBeScalar(_) => "keys must be plain values".into(),
        UnexpectedTag(_) => "YAML tags are not supported".into(),
    }
}

struct Parser<'a> {
    file: String,
    lines: Vec<&'a str>,
    base: PathBuf,
    env: &'a dyn Fn(&str) -> Option<String>,
    diags: Vec<Diagnostic>,
}

impl Parser<'_> {
    fn push(
        &mut self,
        line: usize,
        column: usize,
        width: usize,
        code: &'static str,
        message: String,
        key: &str,
    ) {
        self.diags.push(Diagnostic {
            severity: Severity::Error,
            code,
            message,
            file: self.file.clone(),
            line,
            column,
            width,
            source_line: line
                .checked_sub(1)
                .and_then(|l| self.lines.get(l))
                .map(|s| s.to_string())
                .unwrap_or_default(),
            item_type: if key.is_empty() {
                String::new()
            } else {
                "key".into()
            },
            item_name: key.into(),
        });
    }

    fn at(&mut self, span: &Span, code: &'static str, message: String, key: &str) {
        let (line, col, width) = match (span.start(), span.end()) {
            (Some(s), Some(e)) if e.line() == s.line() && e.column() > s.column() => {
                (s.line(), s.column(), e.column() - s.column())
            }
            (Some(s), _) => (s.line(), s.column(), 1),
            _ => (0, 0, 1),
        };
        self.push(line, col, width, code, message, key);
    }

    fn key_at(&mut self, k: &MarkedScalarNode, code: &'static str, message: String, key: &str) {
        let (line, col) = k
            .span()
            .start()
            .map(|m| (m.line(), m.column()))
            .unwrap_or((0, 0));
        self.push(
            line,
            col,
            k.as_str().chars().count().max(1),
            code,
            message,
            key,
        );
    }

    /// `${VAR}` expanded; `$${VAR}` is the literal `${VAR}`.
    fn expand(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(t) = tail.strip_prefix("$${") {
                if let Some(end) = t.find('}') {
                    out.push_str("${");
                    out.push_str(&t[..=end]);
                    rest = &t[end + 1..];
                    continue;
                }
            }
            if let Some(t) = tail.strip_prefix("${") {
                if let Some(end) = t.find('}') {
                    out.push_str(&(self.env)(&t[..end]).unwrap_or_default());
                    rest = &t[end + 1..];
                    continue;
                }
            }
            out.push('$');
            rest = &tail[1..];
        }
        out.push_str(rest);
        out
    }

    fn string(&mut self, n: &Node, key: &str) -> Option<String> {
        match n.as_scalar() {
            Some(s) => Some(self.expand(s.as_str())),
            None => {
                self.at(
                    n.span(),
                    "CONFIG_BAD_VALUE",
                    format!("{key}: a text value is expected"),
                    key,
                );
                None
            }
        }
    }

    fn boolean(&mut self, n: &Node, key: &str) -> Option<bool> {
        let b = n.as_scalar().and_then(|s| {
            match self.expand(s.as_str()).to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" => Some(true),
                "false" | "no" | "off" => Some(false),
                _ => None,
            }
        });
        if b.is_none() {
            self.at(
                n.span(),
                "CONFIG_BAD_VALUE",
                format!("{key}: true or false is expected"),
                key,
            );
        }
        b
    }

    fn number(&mut self, n: &Node, key: &str) -> Option<u64> {
        let v = n
            .as_scalar()
            .and_then(|s| self.expand(s.as_str()).trim().parse::<u64>().ok());
        if v.is_none() {
            self.at(
                n.span(),
                "CONFIG_BAD_VALUE",
                format!("{key}: a whole number is expected"),
                key,
            );
        }
        v
    }

    fn path(&mut self, n: &Node, key: &str) -> Option<PathBuf> {
        let s = self.string(n, key)?;
        if s.is_empty() {
            return None;
        }
        let p = PathBuf::from(s);
        Some(if p.is_relative() {
            self.base.join(p)
        } else {
            p
        })
    }

    fn unknown(&mut self, k: &MarkedScalarNode, full: &str, known: &[&str]) {
        self.key_at(
            k,
            "CONFIG_UNKNOWN_KEY",
            format!("unknown key {full:?} (known here: {})", known.join(", ")),
            full,
        );
    }

    fn top(&mut self, map: &MarkedMappingNode, cfg: &mut Config) {
        const KNOWN: &[&str] = &[
            "rules_files",
            "rules_file",
            "priority",
            "rule_matching",
            "json_output",
            "json_include_output_property",
            "json_include_tags_property",
            "json_include_message_property",
            "json_include_output_fields_property",
            "time_format_iso_8601",
            "output_timeout",
            "outputs_queue",
            "stdout_output",
            "file_output",
            "program_output",
            "syslog_output",
            "http_output",
            "append_output",
        ];
        for (k, v) in map.iter() {
            let key = k.as_str();
            match key {
                "rules_files" | "rules_file" => {
                    let items: Vec<&Node> = match v.as_sequence() {
                        Some(seq) => seq.iter().collect(),
                        None => vec![v],
                    };
                    for item in items {
                        if let Some(p) = self.path(item, key) {
                            cfg.rules_files.push(p);
                        }
                    }
                }
                "priority" => {
                    if let Some(s) = self.string(v, key) {
                        match Priority::parse(&s) {
                            Some(p) => cfg.priority = p,
                            None => self.at(v.span(), "CONFIG_BAD_VALUE", format!("priority: {s:?} is not a priority (emergency, alert, critical, error, warning, notice, informational, debug)"), key),
                        }
                    }
                }
                "rule_matching" => {
                    if let Some(s) = self.string(v, key) {
                        match s.as_str() {
                            "first" => cfg.first_match_only = true,
                            "all" => cfg.first_match_only = false,
                            _ => self.at(
                                v.span(),
                                "CONFIG_BAD_VALUE",
                                format!("rule_matching: {s:?} is neither first nor all"),
                                key,
                            ),
                        }
                    }
                }
                "json_output" => set(&mut cfg.format.json, self.boolean(v, key)),
                "json_include_output_property" => {
                    set(&mut cfg.format.include_output, self.boolean(v, key))
                }
                "json_include_tags_property" => {
                    set(&mut cfg.format.include_tags, self.boolean(v, key))
                }
                "json_include_message_property" => {
                    set(&mut cfg.format.include_message, self.boolean(v, key))
                }
                "json_include_output_fields_property" => {
                    set(&mut cfg.format.include_output_fields, self.boolean(v, key))
                }
                "time_format_iso_8601" => set(&mut cfg.format.iso_time, self.boolean(v, key)),
                "output_timeout" => {
                    if let Some(ms) = self.number(v, key) {
                        cfg.output_timeout = Duration::from_millis(ms.max(1));
                    }
                }
                "outputs_queue" => self.section(v, key, &["capacity"], |p, sub, n| {
                    if sub == "capacity" {
                        if let Some(c) = p.number(n, "outputs_queue.capacity") {
                            cfg.queue_capacity = usize::try_from(c).unwrap_or(usize::MAX);
                        }
                    }
                }),
                "stdout_output" => {
                    let mut on = true;
                    self.section(v, key, &["enabled"], |p, _, n| {
                        set(&mut on, p.boolean(n, "stdout_output.enabled"))
                    });
                    cfg.stdout_output = on;
                }
                "file_output" => {
                    let (mut on, mut keep, mut file) = (false, true, None);
                    self.section(
                        v,
                        key,
                        &["enabled", "keep_alive", "filename"],
                        |p, sub, n| match sub {
                            "enabled" => set(&mut on, p.boolean(n, "file_output.enabled")),
                            "keep_alive" => set(&mut keep, p.boolean(n, "file_output.keep_alive")),
                            _ => file = p.path(n, "file_output.filename"),
                        },
                    );
                    if on {
                        match file {
                            Some(filename) => {
                                cfg.file_output = Some(FileConfig {
                                    filename,
                                    keep_alive: keep,
                                })
                            }
                            None => self.key_at(
                                k,
                                "CONFIG_BAD_VALUE",
                                "file_output is enabled without a filename".into(),
                                key,
                            ),
                        }
                    }
                }
                "program_output" => {
                    let (mut on, mut keep, mut prog) = (false, true, None);
                    self.section(
                        v,
                        key,
                        &["enabled", "keep_alive", "program"],
                        |p, sub, n| match sub {
                            "enabled" => set(&mut on, p.boolean(n, "program_output.enabled")),
                            "keep_alive" => {
                                set(&mut keep, p.boolean(n, "program_output.keep_alive"))
                            }
                            _ => {
                                prog = p
                                    .string(n, "program_output.program")
                                    .filter(|s| !s.is_empty())
                            }
                        },
                    );
                    if on {
                        match prog {
                            Some(program) => {
                                cfg.program_output = Some(ProgramConfig {
                                    program,
                                    keep_alive: keep,
                                })
                            }
                            None => self.key_at(
                                k,
                                "CONFIG_BAD_VALUE",
                                "program_output is enabled without a program".into(),
                                key,
                            ),
                        }
                    }
                }
                "syslog_output" => {
                    let (mut on, mut s) = (false, SyslogConfig::default());
                    self.section(v, key, &["enabled", "socket"], |p, sub, n| match sub {
                        "enabled" => set(&mut on, p.boolean(n, "syslog_output.enabled")),
                        _ => {
                            if let Some(path) = p.path(n, "syslog_output.socket") {
                                s.socket = path;
                            }
                        }
                    });
                    cfg.syslog_output = on.then_some(s);
                }
                "http_output" => self.http(k, v, cfg),
                "append_output" => self.append(v, cfg),
                k if IGNORED.contains(&k) => cfg.ignored.push(k.to_string()),
                _ => self.unknown(k, key, KNOWN),
            }
        }
    }

    /// Walks a `key: {sub: value}` section, reporting unknown sub-keys.
    fn section(
        &mut self,
        v: &Node,
        key: &str,
        known: &[&str],
        mut f: impl FnMut(&mut Self, &str, &Node),
    ) {
        let Some(m) = v.as_mapping() else {
            if !v.as_scalar().is_some_and(|s| s.as_str().is_empty()) {
                self.at(
                    v.span(),
                    "CONFIG_BAD_VALUE",
                    format!("{key}: a mapping of settings is expected"),
                    key,
                );
            }
            return;
        };
        for (k, n) in m.iter() {
            if known.contains(&k.as_str()) {
                f(self, k.as_str(), n);
            } else {
                let full = format!("{key}.{}", k.as_str());
                self.unknown(k, &full, known);
            }
        }
    }

    fn http(&mut self, k: &MarkedScalarNode, v: &Node, cfg: &mut Config) {
        const KNOWN: &[&str] = &[
            "enabled",
            "url",
            "user_agent",
            "insecure",
            "ca_cert",
            "ca_bundle",
            "ca_path",
            "mtls",
            "client_cert",
            "client_key",
            "echo",
            "compress_uploads",
            "keep_alive",
            "max_consecutive_timeouts",
        ];
        let mut on = false;
        let mut h = HttpConfig::default();
        let mut ca_path = None;
        self.section(v, "http_output", KNOWN, |p, sub, n| {
            let full = format!("http_output.{sub}");
            match sub {
                "enabled" => set(&mut on, p.boolean(n, &full)),
                "url" => h.url = p.string(n, &full).unwrap_or_default(),
                "user_agent" => h.user_agent = p.string(n, &full).filter(|s| !s.is_empty()),
                "insecure" => set(&mut h.insecure, p.boolean(n, &full)),
                "ca_cert" | "ca_bundle" => {
                    if let Some(c) = p.path(n, &full) {
                        h.ca_cert = Some(c);
                    }
                }
                "ca_path" => ca_path = p.path(n, &full),
                "mtls" => set(&mut h.mtls, p.boolean(n, &full)),
                "client_cert" => h.client_cert = p.path(n, &full),
                "client_key" => h.client_key = p.path(n, &full),
                "compress_uploads" => set(&mut h.compress_uploads, p.boolean(n, &full)),
                "keep_alive" => set(&mut h.keep_alive, p.boolean(n, &full)),
                "max_consecutive_timeouts" => {
                    if let Some(m) = p.number(n, &full) {
                        cfg.max_consecutive_timeouts = u32::try_from(m).unwrap_or(u32::MAX).max(1);
                    }
                }
                // `echo` prints the collector's answer, a debugging aid of
                // Falco's that Ferret does not need.
                _ => {}
            }
        });
        // Falco's stock ca_path (/etc/falco/certs/) rarely exists on the
        // machine that analyses a capture: a missing directory is ignored.
        h.ca_path = ca_path.filter(|d| d.is_dir());
        if on {
            if h.url.is_empty() {
                self.key_at(
                    k,
                    "CONFIG_BAD_VALUE",
                    "http_output is enabled without a url".into(),
                    "http_output",
                );
            } else {
                cfg.http_output = Some(h);
            }
        }
    }

    fn append(&mut self, v: &Node, cfg: &mut Config) {
        let Some(seq) = v.as_sequence() else {
            self.at(
                v.span(),
                "CONFIG_BAD_VALUE",
                "append_output: a list of entries is expected".into(),
                "append_output",
            );
            return;
        };
        for item in seq.iter() {
            let mut a = ruleset::AppendOutput::default();
            self.section(item, "append_output", &["match", "extra_output", "extra_fields", "suppress_output_format"], |p, sub, n| match sub {
                "match" => p.section(n, "append_output.match", &["source", "tag", "rule"], |p, m, n| {
                    let s = p.string(n, &format!("append_output.match.{m}"));
                    match m {
                        "source" => a.source = s,
                        "tag" => a.tag = s,
                        _ => a.rule = s,
                    }
                }),
                "extra_output" => a.extra_output = p.string(n, "append_output.extra_output").unwrap_or_default(),
                "extra_fields" => {
                    let Some(fields) = n.as_sequence() else {
                        p.at(n.span(), "CONFIG_BAD_VALUE", "append_output.extra_fields: a list is expected".into(), "append_output.extra_fields");
                        return;
                    };
                    for f in fields.iter() {
                        if let Some(s) = f.as_scalar() {
                            let name = p.expand(s.as_str());
                            a.extra_fields.push((name.clone(), format!("%{name}")));
                        } else if let Some(m) = f.as_mapping() {
                            for (k, val) in m.iter() {
                                if let Some(text) = p.string(val, &format!("append_output.extra_fields.{}", k.as_str())) {
                                    a.extra_fields.push((k.as_str().to_string(), text));
                                }
                            }
                        } else {
                            p.at(f.span(), "CONFIG_BAD_VALUE", "append_output.extra_fields: a field name or a name: value pair is expected".into(), "append_output.extra_fields");
                        }
                    }
                }
                // Falco 0.41's suppress_output_format drops the rule's own
                // output; not supported: reported, not silently ignored.
                _ => p.at(n.span(), "CONFIG_UNSUPPORTED", "append_output.suppress_output_format is not supported by Ferret".into(), "append_output.suppress_output_format"),
            });
            cfg.append_output.push(a);
        }
    }
}

fn set<T>(slot: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *slot = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        (k == "RULES").then(|| "/r".to_string())
    }

    fn parse_str(text: &str) -> (Config, Vec<Diagnostic>) {
        parse(Path::new("/etc/ferret/falco.yaml"), text, &env)
    }

    #[test]
    fn falco_keys_are_honoured() {
        let (c, d) = parse_str(
            "rules_files:\n  - ${RULES}/a.yaml\n  - local.yaml\npriority: warning\nrule_matching: all\njson_output: true\njson_include_tags_property: false\njson_include_message_property: true\ntime_format_iso_8601: true\noutput_timeout: 300\nstdout_output:\n  enabled: false\nfile_output:\n  enabled: true\n  keep_alive: false\n  filename: ./events.txt\nprogram_output:\n  enabled: true\n  program: \"jq '{text: .output}' | cat\"\nsyslog_output:\n  enabled: true\nhttp_output:\n  enabled: true\n  url: https://sidekick:2801/\n  insecure: true\n  compress_uploads: true\n  max_consecutive_timeouts: 2\n  ca_path: /nonexistent/certs/\nappend_output:\n  - match:\n      tag: shell\n    extra_output: \"on CPU %evt.cpu\"\n    extra_fields:\n      - evt.hostname\n      - home: \"${RULES}\"\nplugins: []\nlog_level: info\n",
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            c.rules_files,
            [
                PathBuf::from("/r/a.yaml"),
                PathBuf::from("/etc/ferret/local.yaml")
            ]
        );
        assert_eq!(c.priority, Priority::Warning);
        assert!(!c.first_match_only);
        assert!(
            c.format.json
                && !c.format.include_tags
                && c.format.include_message
                && c.format.iso_time
        );
        assert_eq!(c.output_timeout, Duration::from_millis(300));
        assert!(!c.stdout_output);
        assert_eq!(
            c.file_output,
            Some(FileConfig {
                filename: "/etc/ferret/./events.txt".into(),
                keep_alive: false
            })
        );
        assert_eq!(c.program_output.as_ref().map(|p| p.keep_alive), Some(true));
        assert_eq!(c.syslog_output, Some(SyslogConfig::default()));
        let h = c.http_output.as_ref().expect("http");
        assert!(h.insecure && h.compress_uploads && h.ca_path.is_none());
        assert_eq!(c.max_consecutive_timeouts, 2);
        assert_eq!(c.append_output.len(), 1);
        assert_eq!(c.append_output[0].tag.as_deref(), Some("shell"));
        assert_eq!(
            c.append_output[0].extra_fields,
            [
                ("evt.hostname".to_string(), "%evt.hostname".to_string()),
                ("home".into(), "/r".into())
            ]
        );
        assert_eq!(c.ignored, ["plugins", "log_level"]);
    }

    #[test]
    fn absent_keys_take_falco_defaults() {
        let (c, d) = parse_str("# nothing\n");
        assert!(d.is_empty());
        assert_eq!(
            c,
            Config::falco_defaults(Path::new("/etc/ferret/falco.yaml"))
        );
        assert!(c.first_match_only && !c.format.iso_time && c.stdout_output);
    }

    #[test]
    fn every_problem_has_its_position() {
        let (_, d) = parse_str(
            "json_output: maybe\nhttp_ouput:\n  enabled: true\nfile_output:\n  enabled: true\n  filenam: x\npriority: loud\nrule_matching: some\n",
        );
        let got: Vec<(usize, usize, &str)> = d.iter().map(|d| (d.line, d.column, d.code)).collect();
        assert_eq!(
            got,
            [
                (1, 14, "CONFIG_BAD_VALUE"),
                (2, 1, "CONFIG_UNKNOWN_KEY"),
                (6, 3, "CONFIG_UNKNOWN_KEY"),
                (4, 1, "CONFIG_BAD_VALUE"),
                (7, 11, "CONFIG_BAD_VALUE"),
                (8, 16, "CONFIG_BAD_VALUE"),
            ],
            "{d:#?}"
        );
        assert!(d[1].message.contains("http_ouput"));
        assert_eq!(d[2].item_name, "file_output.filenam");
        assert!(d[1].render().contains("--> /etc/ferret/falco.yaml:2:1"));
    }

    #[test]
    fn broken_yaml_is_positioned() {
        let (_, d) = parse_str("json_output: true\nfile_output:\n  enabled: [true\n");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, "CONFIG_YAML");
        assert!(d[0].line >= 3, "{:?}", d[0]);
    }

    #[test]
    fn dollar_escapes() {
        let (c, _) = parse_str(
            "program_output:\n  enabled: true\n  program: \"echo $${RULES} ${RULES} $ x\"\n",
        );
        assert_eq!(
            c.program_output.map(|p| p.program).as_deref(),
            Some("echo ${RULES} /r $ x")
        );
    }
}
