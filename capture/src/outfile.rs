//! Creating the files Ferret writes (captures, alert files) safely.
//!
//! Captures hold every process's arguments, environment and data, and the
//! recorder runs as root in directories other users may write to. So an
//! output file is always created new (`O_CREAT | O_EXCL | O_NOFOLLOW`) with
//! mode 0600 unless another is asked: a symbolic link planted at the path is
//! never followed, a file another user prepared is never written into, and an
//! existing file is never truncated. With `force`, an existing *regular file*
//! is removed first and the output created new in its place (still never
//! through a link); a file that is also one of the run's inputs is refused
//! even then. A parent directory that others may write to is accepted only
//! with the sticky bit (as /tmp has), where nobody can swap the file after it
//! was created.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// How to create an output file.
#[derive(Clone, Copy, Debug)]
pub struct OutputOptions {
    /// Replace an existing regular file (never a link, never an input).
    pub force: bool,
    /// Permission bits of the new file.
    pub mode: u32,
}

impl Default for OutputOptions {
    fn default() -> Self {
        OutputOptions {
            force: false,
            mode: 0o600,
        }
    }
}

/// Why an output file was not created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// The path exists and `force` was not given.
    #[error("{0} exists (not overwritten; --force replaces a regular file)")]
    Exists(PathBuf),
    /// The path is a symbolic link.
    #[error("{0} is a symbolic link (never followed for an output)")]
    Symlink(PathBuf),
    /// The path exists and is not a regular file.
    #[error("{0} exists and is not a regular file")]
    NotRegular(PathBuf),
    /// The path names one of the run's inputs.
    #[error("{0} is also an input of this run (it would be destroyed before it is read)")]
    SameAsInput(PathBuf),
    /// The directory lets other users replace files in it.
    #[error("{0} is writable by other users without the sticky bit (they could swap the file)")]
    InsecureDirectory(PathBuf),
    /// The operating system refused.
    #[error("{path}: {source}")]
    Io {
        /// The output path.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Whether `path` exists and is one of `inputs` (device and inode): an
/// output appended to an existing file checks this instead of [`create`].
pub fn is_input(path: &Path, inputs: &[&Path]) -> bool {
    std::fs::metadata(path).is_ok_and(|m| inputs.iter().any(|i| same_file(&m, i)))
}

/// Whether `a` and `b` are the same file (device and inode).
fn same_file(a: &std::fs::Metadata, b: &Path) -> bool {
    std::fs::metadata(b).is_ok_and(|m| m.dev() == a.dev() && m.ino() == a.ino())
}

/// Creates `path` for writing as described in the module documentation;
/// `inputs` are the files the run reads, which the output may never be.
pub fn create(path: &Path, opts: OutputOptions, inputs: &[&Path]) -> Result<File, OutputError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dm = std::fs::metadata(&dir).map_err(io_err(&dir))?;
    let m = dm.permissions().mode();
    if m & 0o002 != 0 && m & 0o1000 == 0 {
        return Err(OutputError::InsecureDirectory(dir));
    }
    match std::fs::symlink_metadata(path) {
        Ok(existing) => {
            if existing.file_type().is_symlink() {
                return Err(OutputError::Symlink(path.to_path_buf()));
            }
            if inputs.iter().any(|i| same_file(&existing, i)) {
                return Err(OutputError::SameAsInput(path.to_path_buf()));
            }
            if !existing.file_type().is_file() {
                return Err(OutputError::NotRegular(path.to_path_buf()));
            }
            if !opts.force {
                return Err(OutputError::Exists(path.to_path_buf()));
            }
            std::fs::remove_file(path).map_err(io_err(path))?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(path)(e)),
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(opts.mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.kind() {
            // Created by someone else between the check and the open.
            io::ErrorKind::AlreadyExists => OutputError::Exists(path.to_path_buf()),
            _ => io_err(path)(e),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ferret-outfile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        d
    }

    #[test]
    fn new_files_are_private_and_existing_ones_are_kept() {
        let d = dir("new");
        let p = d.join("x.cap");
        let f = create(&p, OutputOptions::default(), &[]).expect("create");
        drop(f);
        let mode = std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::write(&p, "evidence").expect("write");
        assert!(matches!(
            create(&p, OutputOptions::default(), &[]),
            Err(OutputError::Exists(_))
        ));
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "evidence");
        let forced = OutputOptions {
            force: true,
            ..OutputOptions::default()
        };
        create(&p, forced, &[]).expect("forced");
        assert_eq!(std::fs::read(&p).expect("read").len(), 0);
    }

    #[test]
    fn links_inputs_and_open_directories_are_refused() {
        let d = dir("links");
        let victim = d.join("victim");
        std::fs::write(&victim, "precious").expect("write");
        let link = d.join("x.cap");
        std::os::unix::fs::symlink(&victim, &link).expect("symlink");
        let forced = OutputOptions {
            force: true,
            ..OutputOptions::default()
        };
        assert!(matches!(
            create(&link, forced, &[]),
            Err(OutputError::Symlink(_))
        ));
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "precious");
        assert!(matches!(
            create(&victim, forced, &[victim.as_path()]),
            Err(OutputError::SameAsInput(_))
        ));
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "precious");
        let open = d.join("open");
        std::fs::create_dir(&open).expect("mkdir");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        assert!(matches!(
            create(&open.join("x"), OutputOptions::default(), &[]),
            Err(OutputError::InsecureDirectory(_))
        ));
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
        create(&open.join("x"), OutputOptions::default(), &[]).expect("sticky is fine");
        assert!(matches!(
            create(&d, forced, &[]),
            Err(OutputError::NotRegular(_))
        ));
    }
}
