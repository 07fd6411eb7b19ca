//! Falco's `file_output`: alert lines appended to a file, kept open
//! (`keep_alive: true`) or opened and closed for every alert (so that
//! logrotate can move it). Created with mode 0600; a symbolic link is never
//! followed.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use crate::queue::{Failure, Payload, Transport};

/// `file_output` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileConfig {
    /// The file (`filename`).
    pub filename: PathBuf,
    /// Keep the file open between alerts (`keep_alive`).
    pub keep_alive: bool,
}

/// Appends lines to a file.
pub struct FileTransport {
    cfg: FileConfig,
    open: Option<File>,
}

impl FileTransport {
    /// The transport; the file is opened at once so that a path that cannot
    /// be written is reported before the run.
    pub fn new(cfg: FileConfig) -> Result<FileTransport, crate::SinkError> {
        let mut t = FileTransport { cfg, open: None };
        let f = t.open().map_err(|e| crate::SinkError::Config {
            url: t.cfg.filename.display().to_string(),
            reason: e,
        })?;
        if t.cfg.keep_alive {
            t.open = Some(f);
        }
        Ok(t)
    }

    fn open(&self) -> Result<File, String> {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&self.cfg.filename)
            .map_err(|e| e.to_string())
    }
}

impl Transport for FileTransport {
    fn deliver(&mut self, p: &Payload) -> Result<(), Failure> {
        let mut line = Vec::with_capacity(p.line.len() + 1);
        line.extend_from_slice(p.line.as_bytes());
        line.push(b'\n');
        let r = match &mut self.open {
            Some(f) => f.write_all(&line),
            None => self.open().map_err(Failure::Retry)?.write_all(&line),
        };
        r.map_err(|e| {
            // Reopen on the next attempt (the file may have been rotated).
            self.open = None;
            Failure::Retry(e.to_string())
        })?;
        if self.cfg.keep_alive && self.open.is_none() {
            self.open = self.open().ok();
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), String> {
        match self.open.take() {
            Some(f) => f.sync_data().map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }
}
