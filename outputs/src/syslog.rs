//! Falco's `syslog_output`: alert lines to the local syslog socket
//! (`/dev/log`), facility `user`, severity from the rule's priority (Falco's
//! eight priorities are syslog's eight severities), tagged `ferret[pid]`.
//! The socket path is a Ferret addition (`syslog_output.socket`) so that a
//! chroot or a test can point elsewhere.

use std::io::Write;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::PathBuf;
use std::time::Duration;

use crate::queue::{Failure, Payload, Transport};

/// `syslog_output` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyslogConfig {
    /// The local socket (default `/dev/log`).
    pub socket: PathBuf,
}

impl Default for SyslogConfig {
    fn default() -> Self {
        SyslogConfig {
            socket: "/dev/log".into(),
        }
    }
}

/// Sends lines to the local syslog daemon.
pub struct SyslogTransport {
    cfg: SyslogConfig,
    timeout: Duration,
    dgram: Option<UnixDatagram>,
}

/// The syslog severity of a Falco priority (emerg = 0 … debug = 7).
pub fn severity(p: ruleset::Priority) -> u8 {
    use ruleset::Priority::*;
    match p {
        Emergency => 0,
        Alert => 1,
        Critical => 2,
        Error => 3,
        Warning => 4,
        Notice => 5,
        Informational => 6,
        Debug => 7,
    }
}

/// Facility `user` (1), as Falco logs.
const FACILITY_USER: u8 = 1;

impl SyslogTransport {
    /// The transport; `timeout` bounds each send.
    pub fn new(cfg: SyslogConfig, timeout: Duration) -> SyslogTransport {
        SyslogTransport {
            cfg,
            timeout,
            dgram: None,
        }
    }

    fn message(p: &Payload) -> Vec<u8> {
        let pri = FACILITY_USER * 8 + severity(p.priority);
        // The daemon stamps the time (rsyslog ignores a local socket's
        // timestamp by default); no newline inside one message.
        let line = p.line.replace('\n', " ");
        format!("<{pri}>ferret[{}]: {line}", std::process::id()).into_bytes()
    }
}

impl Transport for SyslogTransport {
    fn deliver(&mut self, p: &Payload) -> Result<(), Failure> {
        let msg = Self::message(p);
        let path = &self.cfg.socket;
        let fail = |e: std::io::Error| {
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) {
                Failure::Timeout(format!("{}: {e}", path.display()))
            } else {
                Failure::Retry(format!("{}: {e}", path.display()))
            }
        };
        if self.dgram.is_none() {
            let s = UnixDatagram::unbound().map_err(fail)?;
            match s.connect(path) {
                Ok(()) => {
                    s.set_write_timeout(Some(self.timeout)).map_err(fail)?;
                    self.dgram = Some(s);
                }
                // A stream socket (some daemons): one connection per
                // message, NUL-terminated as glibc sends it.
                Err(e) if e.raw_os_error() == Some(libc::EPROTOTYPE) => {
                    let mut s = UnixStream::connect(path).map_err(fail)?;
                    s.set_write_timeout(Some(self.timeout)).map_err(fail)?;
                    let mut m = msg;
                    m.push(0);
                    return s.write_all(&m).map_err(fail);
                }
                Err(e) => return Err(fail(e)),
            }
        }
        let s = self
            .dgram
            .as_ref()
            .ok_or_else(|| Failure::Retry("no socket".into()))?;
        s.send(&msg).map(|_| ()).map_err(|e| {
            // The daemon may have restarted: reconnect next time.
            self.dgram = None;
            fail(e)
        })
    }
}
