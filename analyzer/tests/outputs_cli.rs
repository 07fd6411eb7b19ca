//! `analyzer run` with a Falco configuration and every output, against
//! real receivers: local HTTP servers that accept, refuse, hang, fail and
//! fail then recover; an HTTPS server with a CA and client certificates
//! made by openssl; a real rsyslogd; real programs. Every output's alerts
//! are compared with the alerts of a plain `--json` run on the same capture
//! (the ground truth), and SARIF, JUnit and Prometheus output are checked
//! with their published schema or a real parser.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferret_tests::skip_unless;
use serde_json::Value;

fn scenarios() -> String {
    ferret_tests::scenarios()
}

fn rules() -> String {
    ferret_tests::default_rules()
}

fn analyzer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .output()
        .expect("run analyzer")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn dir(name: &str) -> PathBuf {
    ferret_tests::scratch_dir(&format!("outputs-{name}"))
}

/// The ground truth: the alerts of a plain run, as JSON.
fn truth(extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["run", "-q", "--json", "--fail-on", "emergency", "--rules"];
    let r = rules();
    args.push(&r);
    args.extend_from_slice(extra);
    let s = scenarios();
    args.push(&s);
    let o = analyzer(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    json_lines(&String::from_utf8_lossy(&o.stdout))
}

fn json_lines(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn key(v: &Value) -> (u64, String) {
    (
        v["evt_num"].as_u64().expect("evt_num"),
        v["rule"].as_str().expect("rule").to_string(),
    )
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write");
}

/// Waits until `f` holds, at most `secs`.
fn wait_for(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// What falcosidekick requires of a payload.
fn assert_sidekick_payload(v: &Value) {
    for k in ["priority", "rule", "time", "source", "hostname"] {
        assert!(
            v[k].as_str().is_some_and(|s| !s.is_empty()),
            "{k} missing or empty: {v}"
        );
    }
    assert!(v["tags"].is_array(), "{v}");
    assert!(
        v["output_fields"]
            .as_object()
            .is_some_and(|o| !o.is_empty()),
        "{v}"
    );
    let t = v["time"].as_str().expect("time");
    assert!(
        t.len() == 30 && t.ends_with('Z') && &t[10..11] == "T",
        "RFC 3339 with nanoseconds: {t}"
    );
}

#[test]
fn falco_configuration_drives_rules_and_outputs() {
    let d = dir("config");
    let events = d.join("events.txt");
    let piped = d.join("piped.txt");
    let cfg = d.join("falco.yaml");
    write(
        &cfg,
        &format!(
            "# a Falco configuration as a node would have it\n\
             rules_files:\n  - {rules}\n\
             priority: warning\n\
             json_output: true\n\
             json_include_message_property: true\n\
             json_include_tags_property: false\n\
             time_format_iso_8601: false\n\
             stdout_output:\n  enabled: true\n\
             file_output:\n  enabled: true\n  keep_alive: false\n  filename: ./events.txt\n\
             program_output:\n  enabled: true\n  keep_alive: true\n  program: \"cat >> {piped}\"\n\
             append_output:\n  - match:\n      tag: T1059\n    extra_output: \"(cpu %evt.cpu)\"\n    extra_fields:\n      - evt.hostname\n      - analyst: \"${{FERRET_TEST_ANALYST}}\"\n\
             plugins: []\nload_plugins: []\nwebserver:\n  enabled: false\n",
            rules = rules(),
            piped = piped.display()
        ),
    );
    let o = Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(["run", "--config", &cfg.display().to_string(), &scenarios()])
        .env("FERRET_TEST_ANALYST", "ir-team")
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("Falco settings Ferret does not use: plugins, load_plugins, webserver"),
        "{err}"
    );
    let got = json_lines(&String::from_utf8_lossy(&o.stdout));
    // Falco's defaults with a configuration: first match only; and the
    // configured minimum priority.
    let want = truth(&["--rule-matching", "first", "--min-priority", "warning"]);
    assert!(!want.is_empty());
    assert_eq!(
        got.iter().map(key).collect::<Vec<_>>(),
        want.iter().map(key).collect::<Vec<_>>()
    );
    let all = truth(&[]);
    assert!(
        all.iter().any(|a| a["priority"] == "Notice"),
        "the fixture has less severe alerts, which the configuration dropped"
    );
    for (g, w) in got.iter().zip(&want) {
        assert!(g.get("tags").is_none(), "json_include_tags_property: false");
        assert!(g["message"].is_string());
        let tagged = w["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .any(|t| t == "T1059");
        let out = g["output"].as_str().expect("output");
        // Falco's time format: HH:MM:SS.nnnnnnnnn
        assert_eq!(&out[2..3], ":", "{out}");
        assert_eq!(&out[18..20], ": ", "{out}");
        assert_eq!(out.contains("(cpu "), tagged, "{out}");
        assert_eq!(
            g["output_fields"]["analyst"] == "ir-team",
            tagged,
            "extra fields only on matching rules: {g}"
        );
        if tagged {
            assert_eq!(g["output_fields"]["evt.hostname"], "vm");
            assert!(g["output_fields"]["evt.cpu"].is_u64());
        }
        assert_eq!(
            g["message"].as_str().map(|m| out.ends_with(m)),
            Some(true),
            "{g}"
        );
    }
    // The file and the program got the same lines as stdout.
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        std::fs::read_to_string(d.join("events.txt")).expect("file"),
        stdout
    );
    assert_eq!(std::fs::read_to_string(&piped).expect("piped"), stdout);
    assert!(
        err.contains(&format!("file_output {}", events.display())) || err.contains("events.txt")
    );
}

#[test]
fn flags_override_the_configuration() {
    let d = dir("override");
    let cfg = d.join("falco.yaml");
    write(
        &cfg,
        "rules_files: [/nonexistent/rules.yaml]\njson_output: true\nrule_matching: first\n",
    );
    let o = analyzer(&[
        "run",
        "-q",
        "--config",
        &cfg.display().to_string(),
        "--rules",
        &rules(),
        "--format",
        "text",
        "--rule-matching",
        "all",
        "--fail-on",
        "emergency",
        &scenarios(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(text.lines().count(), truth(&[]).len());
    assert!(text.lines().all(|l| !l.starts_with('{')));
    // Without --rules, the configuration's missing rule file is an error.
    let o = analyzer(&[
        "run",
        "-q",
        "--config",
        &cfg.display().to_string(),
        &scenarios(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn configuration_problems_name_file_line_and_column() {
    let d = dir("badconfig");
    let cfg = d.join("falco.yaml");
    write(
        &cfg,
        &format!(
            "rules_files: [{}]\njson_output: perhaps\nhttp_ouptut:\n  enabled: true\nfile_output:\n  enabled: true\n  filname: x.txt\n",
            rules()
        ),
    );
    let o = analyzer(&["run", "--config", &cfg.display().to_string(), &scenarios()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    let f = cfg.display().to_string();
    for (pos, what) in [
        ("2:14", "json_output: true or false is expected"),
        ("3:1", "unknown key \"http_ouptut\""),
        ("7:3", "unknown key \"file_output.filname\""),
        ("5:1", "file_output is enabled without a filename"),
    ] {
        assert!(err.contains(&format!("{f}:{pos}")), "{pos} missing:\n{err}");
        assert!(err.contains(what), "{what} missing:\n{err}");
    }
    assert!(err.contains("4 problem(s)"), "{err}");
    assert!(o.stdout.is_empty());
}

/// How a test HTTP server answers.
#[derive(Clone, Copy)]
enum Behaviour {
    Accept,
    Fail,
    /// 503 for the first N requests, then 200.
    FailFirst(usize),
    /// Reads the request and never answers.
    Hang,
}

struct Received {
    requests: usize,
    bodies: Vec<Value>,
    headers: Vec<String>,
}

/// A local HTTP/1.1 server on its own threads; keeps connections alive.
fn serve(b: Behaviour) -> (String, Arc<Mutex<Received>>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/alerts", l.local_addr().expect("addr"));
    let got = Arc::new(Mutex::new(Received {
        requests: 0,
        bodies: Vec::new(),
        headers: Vec::new(),
    }));
    let g = got.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let g = g.clone();
            std::thread::spawn(move || connection(s, b, &g));
        }
    });
    (url, got)
}

fn connection(s: TcpStream, b: Behaviour, got: &Mutex<Received>) {
    let mut w = s.try_clone().expect("clone");
    let mut r = BufReader::new(s);
    loop {
        let mut head = Vec::new();
        let mut len = 0;
        loop {
            let mut line = String::new();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().expect("length");
            }
            head.push(line.trim_end().to_string());
        }
        let mut body = vec![0; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let n = {
            let mut g = got.lock().expect("lock");
            g.requests += 1;
            g.requests
        };
        let ok = match b {
            Behaviour::Accept => true,
            Behaviour::Fail => false,
            Behaviour::FailFirst(k) => n > k,
            Behaviour::Hang => {
                std::thread::sleep(Duration::from_secs(30));
                return;
            }
        };
        if ok {
            let mut g = got.lock().expect("lock");
            g.bodies
                .push(serde_json::from_slice(&body).expect("JSON body"));
            g.headers.extend(head);
        }
        let answer: &[u8] = if ok {
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        } else {
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
        };
        if w.write_all(answer).is_err() {
            return;
        }
    }
}

/// Runs the fixture with a configuration of every rule, no stdout, 300 ms
/// timeouts, giving up after 2, and `outputs` (YAML ending with the
/// `http_output` section, which takes `http` first); returns the run and
/// its wall time.
fn run_outputs(d: &Path, http: &str, outputs: &str) -> (Output, Duration) {
    let cfg = d.join("falco.yaml");
    write(
        &cfg,
        &format!(
            "rules_files: [{}]\nrule_matching: all\nstdout_output:\n  enabled: false\noutput_timeout: 300\n{outputs}http_output:\n{http}  max_consecutive_timeouts: 2\n",
            rules()
        ),
    );
    let t = Instant::now();
    let o = analyzer(&[
        "run",
        "-q",
        "--config",
        &cfg.display().to_string(),
        &scenarios(),
    ]);
    (o, t.elapsed())
}

/// Runs the fixture with an http_output to `url` and `extra` settings of
/// it; returns the run and its wall time.
fn run_http(d: &Path, url: &str, extra: &str) -> (Output, Duration) {
    run_outputs(d, &format!("  enabled: true\n  url: {url}\n{extra}"), "")
}

#[test]
fn http_output_delivers_every_alert_in_falcosidekicks_shape() {
    let want = truth(&[]);
    for keep_alive in [false, true] {
        let d = dir(&format!("http-accept-{keep_alive}"));
        let (url, got) = serve(Behaviour::Accept);
        let (o, _) = run_http(
            &d,
            &url,
            &format!("  keep_alive: {keep_alive}\n  user_agent: \"falcosecurity/falco\"\n"),
        );
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let g = got.lock().expect("lock");
        let mut keys: Vec<_> = g.bodies.iter().map(key).collect();
        keys.sort();
        let mut wkeys: Vec<_> = want.iter().map(key).collect();
        wkeys.sort();
        assert_eq!(keys, wkeys, "every alert posted once");
        for b in &g.bodies {
            assert_sidekick_payload(b);
        }
        assert!(g
            .headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case("user-agent: falcosecurity/falco")));
        assert!(g
            .headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case("content-type: application/json")));
    }
}

#[test]
fn http_output_retries_a_failing_receiver_then_delivers() {
    let d = dir("http-flaky");
    let (url, got) = serve(Behaviour::FailFirst(2));
    let (o, _) = run_http(&d, &url, "");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let g = got.lock().expect("lock");
    let n = truth(&[]).len();
    assert_eq!(g.bodies.len(), n);
    assert_eq!(g.requests, n + 2, "two 503s, each retried");
}

#[test]
fn receivers_that_fail_hang_or_refuse_never_hang_the_run_and_are_counted() {
    let n = truth(&[]).len();
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}/", l.local_addr().expect("addr"))
    };
    let (fail, _) = serve(Behaviour::Fail);
    let (hang, _) = serve(Behaviour::Hang);
    for (what, url, reason) in [
        ("refused", closed, "connect"),
        ("5xx", fail, "HTTP status 503"),
        ("hang", hang, "timed out"),
    ] {
        let d = dir(&format!("http-{what}"));
        let (o, took) = run_http(&d, &url, "");
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(4), "{what}: {err}");
        assert!(
            err.contains(&format!("{n} of {n} alert(s) NOT delivered")),
            "{what}: {err}"
        );
        assert!(
            err.to_lowercase().contains(&reason.to_lowercase()),
            "{what}: {err}"
        );
        assert!(err.contains("gave up after 2 consecutive"), "{what}: {err}");
        // 2 x (3 attempts x 300 ms + backoff) at most, plus the run.
        assert!(took < Duration::from_secs(15), "{what} took {took:?}");
    }
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn sh(cmd: &str, cwd: &Path) {
    let o = Command::new("sh")
        .args(["-c", cmd])
        .current_dir(cwd)
        .output()
        .expect("sh");
    assert!(
        o.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate.
fn certificates(d: &Path) {
    sh(
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=ferret-test-ca 2>/dev/null && \
         openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null && \
         printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && \
         openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile san.ext 2>/dev/null && \
         openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=ferret-client 2>/dev/null && \
         printf 'extendedKeyUsage=clientAuth\n' > client.ext && \
         openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2 -extfile client.ext 2>/dev/null && \
         openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client-v1.crt -days 2 2>/dev/null",
        d,
    );
}

/// An HTTPS server (Python's ssl) that asks for a client certificate
/// (optional), gunzips bodies, and logs one JSON line per request: the
/// body, the encoding and the client certificate's subject.
const HTTPS_SERVER: &str = r#"
import gzip, http.server, json, ssl, sys
d = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        enc = self.headers.get("Content-Encoding", "")
        if enc == "gzip":
            body = gzip.decompress(body)
        cert = self.connection.getpeercert() or {}
        cn = [v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"]
        with open(d + "/log.jsonl", "a") as f:
            f.write(json.dumps({"body": json.loads(body), "enc": enc, "client": cn}) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + "/server.crt", d + "/server.key")
ctx.load_verify_locations(d + "/ca.crt")
ctx.verify_mode = ssl.CERT_OPTIONAL
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

#[test]
fn https_output_with_a_private_ca_client_certificates_and_gzip() {
    if skip_unless(have("openssl") && have("python3"), "openssl and python3") {
        return;
    }
    let d = dir("https");
    certificates(&d);
    write(&d.join("server.py"), HTTPS_SERVER);
    let mut server = Command::new("python3")
        .arg(d.join("server.py"))
        .arg(&d)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut port = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut port)
        .expect("port");
    let url = format!("https://127.0.0.1:{}/", port.trim());
    let n = truth(&[]).len();
    let log = d.join("log.jsonl");
    let read_log = || -> Vec<Value> {
        std::fs::read_to_string(&log)
            .map(|s| json_lines(&s))
            .unwrap_or_default()
    };
    // 1. The private CA, a client certificate, gzip.
    let (o, _) = run_http(
        &d,
        &url,
        &format!(
            "  ca_cert: {d}/ca.crt\n  mtls: true\n  client_cert: {d}/client.crt\n  client_key: {d}/client.key\n  compress_uploads: true\n",
            d = d.display()
        ),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let got = read_log();
    assert_eq!(got.len(), n);
    for g in &got {
        assert_eq!(g["enc"], "gzip");
        assert_eq!(g["client"][0], "ferret-client");
        assert_sidekick_payload(&g["body"]);
    }
    // 2. The CA in a directory (ca_path), no client certificate.
    std::fs::create_dir_all(d.join("cas")).expect("mkdir");
    std::fs::copy(d.join("ca.crt"), d.join("cas/ca.pem")).expect("copy");
    let (o, _) = run_http(&d, &url, &format!("  ca_path: {}/cas\n", d.display()));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let got = read_log();
    assert_eq!(got.len(), 2 * n);
    assert!(got[n..]
        .iter()
        .all(|g| g["client"].as_array().is_some_and(|c| c.is_empty()) && g["enc"] == ""));
    // 3. Without the CA the server is not trusted: nothing is sent, and
    // the run says so.
    let (o, _) = run_http(&d, &url, "");
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("NOT delivered"), "{}", stderr(&o));
    assert_eq!(read_log().len(), 2 * n);
    // 4. insecure: true trusts it anyway.
    let (o, _) = run_http(&d, &url, "  insecure: true\n");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(read_log().len(), 3 * n);
    // A client key that does not exist is a configuration error before the run.
    let (o, _) = run_http(
        &d,
        &url,
        "  mtls: true\n  client_cert: /nonexistent.crt\n  client_key: /nonexistent.key\n",
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("/nonexistent.crt"), "{}", stderr(&o));
    // A certificate TLS cannot use (X.509 version 1) is one as well, with
    // the reason, never a crash in the middle of the run.
    let (o, _) = run_http(
        &d,
        &url,
        &format!(
            "  ca_cert: {d}/ca.crt\n  mtls: true\n  client_cert: {d}/client-v1.crt\n  client_key: {d}/client.key\n",
            d = d.display()
        ),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("client-v1.crt"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn syslog_output_reaches_a_real_rsyslogd_with_falcos_severities() {
    if skip_unless(
        Path::new("/usr/sbin/rsyslogd").exists(),
        "rsyslogd (Debian's rsyslog)",
    ) {
        return;
    }
    let d = dir("syslog");
    let sock = d.join("log.sock");
    let out = d.join("out.log");
    write(
        &d.join("rsyslog.conf"),
        &format!(
            "global(workDirectory=\"{d}\")\n\
             module(load=\"imuxsock\" SysSock.Use=\"off\")\n\
             input(type=\"imuxsock\" Socket=\"{sock}\")\n\
             template(name=\"t\" type=\"string\" string=\"%syslogfacility-text%.%syslogseverity-text% %programname%: %msg%\\n\")\n\
             *.* action(type=\"omfile\" file=\"{out}\" template=\"t\")\n",
            d = d.display(),
            sock = sock.display(),
            out = out.display()
        ),
    );
    let mut daemon = Command::new("/usr/sbin/rsyslogd")
        .args(["-n", "-f"])
        .arg(d.join("rsyslog.conf"))
        .arg("-i")
        .arg(d.join("rsyslogd.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("rsyslogd");
    assert!(
        wait_for(10, || sock.exists()),
        "rsyslogd did not open its socket"
    );
    let cfg = d.join("falco.yaml");
    write(
        &cfg,
        &format!(
            "rules_files: [{}]\nrule_matching: all\ntime_format_iso_8601: true\nstdout_output:\n  enabled: false\nsyslog_output:\n  enabled: true\n  socket: {}\n",
            rules(),
            sock.display()
        ),
    );
    let o = analyzer(&[
        "run",
        "-q",
        "--config",
        &cfg.display().to_string(),
        &scenarios(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let want = truth(&[]);
    let read = || std::fs::read_to_string(&out).unwrap_or_default();
    let complete = wait_for(10, || read().lines().count() >= want.len());
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert!(
        complete,
        "rsyslogd wrote {} of {} lines",
        read().lines().count(),
        want.len()
    );
    let sev = |p: &str| match p {
        "Emergency" => "emerg",
        "Alert" => "alert",
        "Critical" => "crit",
        "Error" => "err",
        "Warning" => "warning",
        "Notice" => "notice",
        "Informational" => "info",
        _ => "debug",
    };
    let lines: Vec<String> = read().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), want.len());
    for (l, w) in lines.iter().zip(&want) {
        let prefix = format!("user.{} ferret: ", sev(w["priority"].as_str().expect("p")));
        assert!(l.starts_with(&prefix), "{l} should start with {prefix}");
        // rsyslog may add a leading space to %msg%.
        let out = w["output"].as_str().expect("output");
        assert_eq!(l[prefix.len()..].trim_start(), out, "{l}");
    }
}

#[test]
fn program_outputs_that_fail_or_hang_are_bounded_and_counted() {
    let n = truth(&[]).len();
    let d = dir("programs");
    let each = d.join("each.txt");
    for (what, program, keep, code, check) in [
        (
            "per alert",
            format!("cat >> {}", each.display()),
            false,
            1,
            "",
        ),
        (
            "failing",
            "cat >/dev/null; exit 3".to_string(),
            false,
            4,
            "exit status: 3",
        ),
        (
            "not reading",
            "sleep 20".to_string(),
            false,
            4,
            "did not exit within 300 ms",
        ),
        // Kept alive and never reading: the lines fit in the pipe, but the
        // program never finishes them; killed at the end, and said so.
        (
            "kept, not reading",
            "sleep 20".to_string(),
            true,
            4,
            "did not exit within 300 ms",
        ),
    ] {
        let (o, took) = run_outputs(
            &d,
            "",
            &format!(
                "program_output:\n  enabled: true\n  keep_alive: {keep}\n  program: \"{program}\"\n"
            ),
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(code), "{what}: {err}");
        assert!(err.contains(check), "{what}: {err}");
        assert!(took < Duration::from_secs(20), "{what} took {took:?}");
        if code == 4 && !keep {
            assert!(err.contains("NOT delivered"), "{what}: {err}");
        }
    }
    // Per alert: one process each, every line arrived.
    assert_eq!(
        std::fs::read_to_string(&each)
            .expect("each")
            .lines()
            .count(),
        n
    );
}

/// serde-sarif's copy of the OASIS SARIF 2.1.0 schema (a dev-dependency
/// of this crate, so cargo has unpacked it in its registry).
fn sarif_schema() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let mut found: Vec<PathBuf> = std::fs::read_dir(home.join("registry/src"))
        .ok()?
        .flatten()
        .flat_map(|index| {
            std::fs::read_dir(index.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .filter(|p| {
            p.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with("serde-sarif-0.8."))
        })
        .map(|p| p.path().join("src/schema.json"))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.pop()
}

fn python_ok(code: &str, args: &[&str]) -> Result<String, String> {
    let o = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).into_owned())
    }
}

#[test]
fn sarif_validates_against_the_published_schema_and_holds_every_alert() {
    let have_jsonschema = python_ok("import jsonschema", &[]).is_ok();
    let schema = sarif_schema();
    if skip_unless(
        have_jsonschema && schema.is_some(),
        "python3-jsonschema and serde-sarif's SARIF schema",
    ) {
        return;
    }
    let schema = schema.expect("schema");
    let d = dir("sarif");
    let file = d.join("run.sarif");
    let o = analyzer(&[
        "run",
        "-q",
        "--format",
        "sarif",
        "--write",
        &format!("sarif={}", file.display()),
        "--rules",
        &rules(),
        &scenarios(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&file).expect("file"),
        o.stdout,
        "stdout and --write agree"
    );
    python_ok(
        "import json, sys, jsonschema\n\
         schema = json.load(open(sys.argv[1]))\n\
         doc = json.load(open(sys.argv[2]))\n\
         jsonschema.validators.validator_for(schema)(schema).validate(doc)\n",
        &[&schema.display().to_string(), &file.display().to_string()],
    )
    .unwrap_or_else(|e| panic!("SARIF does not validate: {e}"));
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    let run = &v["runs"][0];
    let want = truth(&[]);
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), want.len());
    let rules_json = run["tool"]["driver"]["rules"].as_array().expect("rules");
    for (r, w) in results.iter().zip(&want) {
        assert_eq!(r["ruleId"], w["rule"]);
        let i = r["ruleIndex"].as_u64().expect("index") as usize;
        assert_eq!(rules_json[i]["id"], w["rule"]);
        assert!(!rules_json[i]["fullDescription"]["text"]
            .as_str()
            .unwrap_or("")
            .is_empty());
        let level = match w["priority"].as_str().expect("p") {
            "Emergency" | "Alert" | "Critical" | "Error" => "error",
            "Warning" => "warning",
            _ => "note",
        };
        assert_eq!(r["level"], level);
        assert_eq!(r["properties"]["evt_num"], w["evt_num"]);
        assert_eq!(
            r["locations"][0]["logicalLocations"][0]["name"],
            format!("event {}", w["evt_num"])
        );
        assert_eq!(r["properties"]["tags"], w["tags"]);
    }
}

#[test]
fn junit_has_a_test_case_per_rule_and_fails_the_alerting_ones() {
    let d = dir("junit");
    let file = d.join("junit.xml");
    let o = analyzer(&[
        "run",
        "-q",
        "--write",
        &format!("junit={}", file.display()),
        "--rules",
        &rules(),
        &scenarios(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let listed = python_ok(
        "import sys, xml.etree.ElementTree as ET\n\
         root = ET.parse(sys.argv[1]).getroot()\n\
         for tc in root.iter('testcase'):\n\
         \x20   f = tc.find('failure')\n\
         \x20   print(('FAIL ' if f is not None else 'PASS ') + tc.get('name'))\n",
        &[&file.display().to_string()],
    )
    .expect("JUnit parses");
    let want = truth(&[]);
    let mut failing: BTreeMap<String, bool> = BTreeMap::new();
    for w in &want {
        let severe = matches!(
            w["priority"].as_str(),
            Some("Emergency" | "Alert" | "Critical" | "Error" | "Warning")
        );
        failing.insert(w["rule"].as_str().expect("rule").into(), severe);
    }
    let validate: Value =
        serde_json::from_slice(&analyzer(&["validate", "--json", &rules()]).stdout)
            .expect("validate --json");
    let enabled = validate["enabled"].as_u64().expect("enabled") as usize;
    let cases: Vec<(&str, &str)> = listed
        .lines()
        .map(|l| l.split_once(' ').expect("line"))
        .collect();
    assert!(cases.iter().any(|c| c.1 == "capture integrity"));
    for (verdict, name) in &cases {
        let should_fail = failing.get(*name).copied().unwrap_or(false);
        assert_eq!(*verdict == "FAIL", should_fail, "{name}");
    }
    assert_eq!(
        cases.len(),
        enabled + 1,
        "a case per enabled rule, and the capture's integrity"
    );
    assert!(
        enabled > failing.len(),
        "rules without alerts are passing cases too"
    );
}

#[test]
fn markdown_summary_is_appended_for_ci_job_summaries() {
    let d = dir("markdown");
    let file = d.join("summary.md");
    write(&file, "# Job\n");
    for _ in 0..2 {
        let o = analyzer(&[
            "run",
            "-q",
            "--write",
            &format!("markdown={}", file.display()),
            "--rules",
            &rules(),
            &scenarios(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    }
    let md = std::fs::read_to_string(&file).expect("md");
    assert!(md.starts_with("# Job\n"));
    assert_eq!(md.matches("## Ferret: ").count(), 2);
    let want = truth(&[]);
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for w in &want {
        *per_rule
            .entry(w["rule"].as_str().expect("rule"))
            .or_default() += 1;
    }
    for (rule, n) in per_rule {
        let row = md
            .lines()
            .find(|l| l.contains(&format!("| {rule} | ")))
            .unwrap_or_else(|| panic!("no row for {rule}"));
        assert!(row.contains(&format!(" | {n} | ")), "{row}");
    }
}

#[test]
fn metrics_parse_as_prometheus_text_and_count_what_the_capture_holds() {
    if skip_unless(
        python_ok("import prometheus_client", &[]).is_ok(),
        "python3-prometheus-client",
    ) {
        return;
    }
    let d = dir("metrics");
    // A synthetic capture with loss records, and the fixture.
    let synth = d.join("synth.cap");
    let o = analyzer(&[
        "synth",
        "-q",
        "--events",
        "200000",
        "--out",
        &synth.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let prom = d.join("ferret.prom");
    let o = analyzer(&[
        "run",
        "-q",
        "--json",
        "--metrics-file",
        &prom.display().to_string(),
        "--fail-on",
        "emergency",
        "--rules",
        &rules(),
        &scenarios(),
        &synth.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let alerts = json_lines(&String::from_utf8_lossy(&o.stdout));
    let parsed = python_ok(
        "import sys\n\
         from prometheus_client.parser import text_string_to_metric_families\n\
         for fam in text_string_to_metric_families(open(sys.argv[1]).read()):\n\
         \x20   for s in fam.samples:\n\
         \x20       print(s.name + '\\t' + '\\t'.join(k + '=' + v for k, v in sorted(s.labels.items())) + '\\t' + str(int(s.value)))\n",
        &[&prom.display().to_string()],
    )
    .expect("the exposition parses");
    let mut matches: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_name: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    for l in parsed.lines() {
        let parts: Vec<&str> = l.split('\t').collect();
        let (name, value) = (
            parts[0],
            parts[parts.len() - 1].parse::<u64>().expect("value"),
        );
        let labels = parts[1..parts.len() - 1].join(",");
        if name == "falcosecurity_falco_rules_matches_total" {
            let rule = parts
                .iter()
                .find_map(|p| p.strip_prefix("rule_name="))
                .expect("rule_name");
            *matches.entry(rule.to_string()).or_default() += value;
            assert!(labels.contains("source=syscall") && labels.contains("priority="));
        }
        by_name
            .entry(name.to_string())
            .or_default()
            .push((labels, value));
    }
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for a in &alerts {
        *want
            .entry(a["rule"].as_str().expect("rule").into())
            .or_default() += 1;
    }
    assert_eq!(matches, want);
    // Events and drops per CPU against `info`.
    for cap in [scenarios(), synth.display().to_string()] {
        let info: Value =
            serde_json::from_slice(&analyzer(&["info", "--json", &cap]).stdout).expect("info");
        let host = info["hostname"].as_str().expect("host").to_string();
        let sum = |name: &str| -> u64 {
            by_name
                .get(name)
                .map(|v| {
                    v.iter()
                        .filter(|(l, _)| l.contains(&format!("hostname={host}")))
                        .map(|x| x.1)
                        .sum()
                })
                .unwrap_or(0)
        };
        assert_eq!(
            sum("falcosecurity_scap_n_evts_cpu_total"),
            info["events"].as_u64().expect("events")
        );
        assert_eq!(
            sum("falcosecurity_scap_n_evts_total"),
            info["events"].as_u64().expect("events")
        );
        assert_eq!(
            sum("falcosecurity_scap_n_drops_cpu_total"),
            info["lost_events"].as_u64().expect("lost")
        );
        assert_eq!(
            sum("falcosecurity_scap_n_drops_total"),
            info["lost_events"].as_u64().expect("lost")
        );
    }
    let synth_info: Value =
        serde_json::from_slice(&analyzer(&["info", "--json", &synth.display().to_string()]).stdout)
            .expect("info");
    assert!(
        synth_info["lost_events"].as_u64().unwrap_or(0) > 0,
        "the synthetic capture has drops"
    );
}
