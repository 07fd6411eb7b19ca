//! Alerts per second through each output against a local receiver:
//! stdout-style lines, file_output (kept open, and reopened per alert),
//! program_output (one process, and one per alert), syslog_output (a local
//! datagram socket drained by a thread, as a daemon would) and http_output
//! (a local HTTP/1.1 server, with and without keep-alive). Each is the
//! median of 3 runs; numbers go to the README and the closing notes.
//!
//! `cargo bench -p outputs --bench delivery`

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use engine::eval::Val;
use engine::Alert;
use outputs::queue::{Policy, Queued, Transport};
use outputs::{Rendered, Sink};

fn alerts(n: usize) -> Vec<Alert> {
    (0..n)
        .map(|i| Alert {
            source: "bench.cap".into(),
            evt_num: i as u64 + 1,
            ts: i as u64,
            time_ns: 1_790_000_000_000_000_000 + i as u64 * 1000,
            rule: "Terminal shell in container".into(),
            priority: ruleset::Priority::Notice,
            output: format!(
                "A shell was spawned in a container with an attached terminal (evt_type=execve user=root user_uid=0 process=bash proc_exepath=/usr/bin/bash parent=containerd-shim command=bash -i terminal=34816 container_id=3ad2c1f0e9b1 container_name=web-{i})"
            ),
            output_fields: vec![
                ("proc.name".into(), Val::Str("bash".into())),
                ("proc.cmdline".into(), Val::Str("bash -i".into())),
                ("user.uid".into(), Val::Int(0)),
                ("container.id".into(), Val::Str("3ad2c1f0e9b1".into())),
            ],
            tags: vec!["container".into(), "shell".into(), "mitre_execution".into(), "T1059".into()],
            in_gap: false,
        })
        .collect()
}

/// Sends every alert through `sink` and waits for delivery; alerts/s.
fn through(sink: &mut dyn Sink, alerts: &[Alert]) -> f64 {
    let fmt = outputs::Format::default();
    let t = Instant::now();
    for a in alerts {
        let doc = outputs::json_with(a, "bench-host", &fmt);
        let line = doc.to_string();
        sink.send(&Rendered {
            alert: a,
            doc: &doc,
            line: &line,
        })
        .expect("send");
    }
    let d = sink.finish().expect("finish");
    assert_eq!(d.undelivered, 0, "{d:?}");
    assert_eq!(d.delivered, alerts.len() as u64);
    alerts.len() as f64 / t.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn queued(name: &str, t: impl Transport) -> Queued {
    Queued::start(name, t, Policy::default())
}

/// A local HTTP server answering 200 to every request, on every connection.
fn http_server() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/", l.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut w = s.try_clone().expect("clone");
                let mut r = BufReader::new(s);
                loop {
                    let mut len = 0;
                    loop {
                        let mut line = String::new();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    if r.read_exact(&mut body).is_err()
                        || w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                            .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    url
}

fn main() {
    let many = alerts(20_000);
    let few = alerts(500);
    let dir = std::env::temp_dir().join(format!("ferret-bench-delivery-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let timeout = Duration::from_secs(2);
    let mut rows: Vec<(String, f64)> = Vec::new();
    let mut run = |name: &str, n: &[Alert], mk: &mut dyn FnMut() -> Box<dyn Sink>| {
        let r = median((0..3).map(|_| through(mk().as_mut(), n)).collect());
        eprintln!("{name:<44} {r:>12.0} alerts/s");
        rows.push((name.to_string(), r));
    };
    run("lines to memory (stdout's path)", &many, &mut || {
        Box::new(outputs::LineSink::new("mem", std::io::sink()))
    });
    let f = dir.join("alerts.txt");
    run("file_output, keep_alive", &many, &mut || {
        let _ = std::fs::remove_file(&f);
        Box::new(queued(
            "file",
            outputs::file::FileTransport::new(outputs::file::FileConfig {
                filename: f.clone(),
                keep_alive: true,
            })
            .expect("file"),
        ))
    });
    run("file_output, reopened per alert", &many, &mut || {
        let _ = std::fs::remove_file(&f);
        Box::new(queued(
            "file",
            outputs::file::FileTransport::new(outputs::file::FileConfig {
                filename: f.clone(),
                keep_alive: false,
            })
            .expect("file"),
        ))
    });
    run("program_output, keep_alive (cat)", &many, &mut || {
        Box::new(queued(
            "program",
            outputs::program::ProgramTransport::new(
                outputs::program::ProgramConfig {
                    program: "cat > /dev/null".into(),
                    keep_alive: true,
                },
                timeout,
            ),
        ))
    });
    run("program_output, a process per alert", &few, &mut || {
        Box::new(queued(
            "program",
            outputs::program::ProgramTransport::new(
                outputs::program::ProgramConfig {
                    program: "cat > /dev/null".into(),
                    keep_alive: false,
                },
                timeout,
            ),
        ))
    });
    let sock = dir.join("log.sock");
    let _ = std::fs::remove_file(&sock);
    let rx = std::os::unix::net::UnixDatagram::bind(&sock).expect("bind");
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        while rx.recv(&mut buf).is_ok() {}
    });
    run("syslog_output (local datagram socket)", &many, &mut || {
        Box::new(queued(
            "syslog",
            outputs::syslog::SyslogTransport::new(
                outputs::syslog::SyslogConfig {
                    socket: sock.clone(),
                },
                timeout,
            ),
        ))
    });
    let url = http_server();
    for keep_alive in [true, false] {
        run(
            &format!("http_output, keep_alive {keep_alive}"),
            &many,
            &mut || {
                Box::new(queued(
                    "http",
                    outputs::http::HttpTransport::new(
                        &outputs::http::HttpConfig {
                            url: url.clone(),
                            keep_alive,
                            ..Default::default()
                        },
                        timeout,
                    )
                    .expect("http"),
                ))
            },
        );
    }
    run("http_output, keep_alive, gzip", &many, &mut || {
        Box::new(queued(
            "http",
            outputs::http::HttpTransport::new(
                &outputs::http::HttpConfig {
                    url: url.clone(),
                    keep_alive: true,
                    compress_uploads: true,
                    ..Default::default()
                },
                timeout,
            )
            .expect("http"),
        ))
    });
    let _ = std::fs::remove_dir_all(&dir);
    println!("output,alerts_per_s");
    for (n, r) in rows {
        println!("{n},{r:.0}");
    }
}
