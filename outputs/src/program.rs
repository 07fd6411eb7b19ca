//! Falco's `program_output`: alert lines piped to a command run by
//! `sh -c`. With `keep_alive` one process reads every alert; otherwise a
//! process is started per alert and must exit 0. Writes and waits are
//! bounded by the output timeout: a program that stops reading is killed
//! and the attempt counted as timed out. The program's own stdout goes to
//! Ferret's stderr, so that it never mixes with machine output on stdout.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::queue::{Failure, Payload, Transport};

/// `program_output` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramConfig {
    /// The command, run by `sh -c` (`program`).
    pub program: String,
    /// One process for every alert (`keep_alive`).
    pub keep_alive: bool,
}

/// Pipes lines to a program.
pub struct ProgramTransport {
    cfg: ProgramConfig,
    timeout: Duration,
    child: Option<Child>,
}

impl ProgramTransport {
    /// The transport; `timeout` bounds each write and each wait.
    pub fn new(cfg: ProgramConfig, timeout: Duration) -> ProgramTransport {
        ProgramTransport {
            cfg,
            timeout,
            child: None,
        }
    }

    fn spawn(&self) -> Result<Child, Failure> {
        let child = Command::new("/bin/sh")
            .arg("-c")
            .arg(&self.cfg.program)
            .stdin(Stdio::piped())
            .stdout(std::io::stderr())
            // Its own process group, so that a timeout kills everything it
            // started (a shell's children would otherwise outlive it).
            .process_group(0)
            .spawn()
            .map_err(|e| Failure::Retry(format!("cannot start {:?}: {e}", self.cfg.program)))?;
        if let Some(stdin) = &child.stdin {
            set_nonblocking(stdin.as_raw_fd());
        }
        Ok(child)
    }

    /// Writes all of `buf` to the child's stdin within the timeout.
    fn write(&self, child: &mut Child, buf: &[u8]) -> Result<(), Failure> {
        let deadline = Instant::now() + self.timeout;
        let Some(stdin) = child.stdin.as_mut() else {
            return Err(Failure::Retry("the program's input is closed".into()));
        };
        let mut off = 0;
        while off < buf.len() {
            match stdin.write(&buf[off..]) {
                Ok(n) => off += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() || !wait_writable(stdin.as_raw_fd(), left) {
                        return Err(Failure::Timeout(format!(
                            "the program did not read its input within {} ms",
                            self.timeout.as_millis()
                        )));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Failure::Retry(format!("writing to the program: {e}"))),
            }
        }
        Ok(())
    }

    /// Waits for the child to exit within the timeout; kills it otherwise.
    fn wait(&self, mut child: Child) -> Result<(), Failure> {
        drop(child.stdin.take());
        let deadline = Instant::now() + self.timeout;
        loop {
            match child.try_wait() {
                Ok(Some(st)) if st.success() => return Ok(()),
                Ok(Some(st)) => {
                    return Err(Failure::Retry(format!("the program exited with {st}")))
                }
                Ok(None) if Instant::now() >= deadline => {
                    kill(&mut child);
                    return Err(Failure::Timeout(format!(
                        "the program did not exit within {} ms; killed",
                        self.timeout.as_millis()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(e) => return Err(Failure::Retry(e.to_string())),
            }
        }
    }
}

/// Kills the program's process group and reaps it.
fn kill(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: signalling the process group this transport created.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn set_nonblocking(fd: i32) {
    // SAFETY: fcntl on a pipe descriptor this process owns.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl >= 0 {
            libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
    }
}

/// Waits until `fd` can be written, at most `left`.
fn wait_writable(fd: i32, left: Duration) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut p, 1, ms) };
    n > 0
}

impl Transport for ProgramTransport {
    fn deliver(&mut self, p: &Payload) -> Result<(), Failure> {
        let mut buf = Vec::with_capacity(p.line.len() + 1);
        buf.extend_from_slice(p.line.as_bytes());
        buf.push(b'\n');
        if !self.cfg.keep_alive {
            let mut child = self.spawn()?;
            if let Err(f) = self.write(&mut child, &buf) {
                kill(&mut child);
                return Err(f);
            }
            return self.wait(child);
        }
        let mut child = match self.child.take() {
            Some(c) => c,
            None => self.spawn()?,
        };
        match self.write(&mut child, &buf) {
            Ok(()) => {
                self.child = Some(child);
                Ok(())
            }
            Err(f) => {
                // A program that stopped reading or exited is replaced on
                // the next attempt.
                let st = child.try_wait().ok().flatten();
                kill(&mut child);
                Err(match (f, st) {
                    (Failure::Retry(_), Some(st)) => {
                        Failure::Retry(format!("the program exited with {st}"))
                    }
                    (f, _) => f,
                })
            }
        }
    }

    fn close(&mut self) -> Result<(), String> {
        match self.child.take() {
            Some(c) => self.wait(c).map_err(|f| match f {
                Failure::Timeout(r) | Failure::Retry(r) | Failure::Permanent(r) => r,
            }),
            None => Ok(()),
        }
    }
}
