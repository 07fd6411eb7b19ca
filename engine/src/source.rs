//! What the engine reads: Ferret captures, sysdig/Falco `.scap` traces
//! (plain or gzip), converted in memory ([`scap::import`]) so that every
//! consumer works on them unchanged (and, for a run, evaluated while they
//! convert: [`open_streaming`]), and several sources analysed as one
//! ([`merge_by_time`](crate::run::merge_by_time) merges their alerts by time).

use std::io::Read;
use std::path::Path;

use capture::Capture;

/// Why a source could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A Ferret capture that cannot be opened (the error names the file).
    #[error(transparent)]
    Capture(#[from] capture::Error),
    /// A .scap trace that cannot be read or converted.
    #[error(transparent)]
    Scap(#[from] scap::import::OpenError),
    /// An input that names no capture (an unreadable or empty directory).
    #[error("{0}")]
    Input(String),
}

/// An opened source: a capture, with what the conversion said when it was
/// a .scap.
pub struct Opened {
    /// The capture.
    pub capture: Capture,
    /// Problems reading a .scap trace (the events before each are kept).
    pub scap_problems: Vec<String>,
    /// The conversion report of a .scap trace.
    pub import: Option<scap::import::ImportReport>,
}

/// Whether the file at `path` is a .scap trace (by its first bytes).
pub fn is_scap(path: &Path) -> bool {
    let mut head = [0u8; 4];
    capture::reader::open_regular(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|_| scap::import::looks_like_scap(&head))
}

/// Opens a Ferret capture or a .scap trace.
pub fn open(path: &Path) -> Result<Opened, SourceError> {
    if is_scap(path) {
        Ok(Opened::imported(path, scap::import::open(path)?))
    } else {
        Ok(Opened {
            capture: Capture::open(path)?,
            scap_problems: Vec::new(),
            import: None,
        })
    }
}

impl Opened {
    /// A .scap trace's conversion as an opened source.
    pub fn imported(path: &Path, imp: scap::import::Imported) -> Opened {
        Opened {
            capture: imp.capture,
            scap_problems: scap_problems(path, &imp.problems),
            import: Some(imp.report),
        }
    }
}

/// Problems reading a .scap trace, as said to a user.
pub fn scap_problems(path: &Path, problems: &[scap::ScapError]) -> Vec<String> {
    let shown = path.display();
    problems
        .iter()
        .map(|p| format!("{shown}: {p} (the events before it are kept)"))
        .collect()
}

/// A source being opened: a Ferret capture (open), or a .scap trace
/// converting on a thread of its own, whose chunks can be evaluated as the
/// conversion seals them ([`crate::run::run_feed`]).
pub enum Opening {
    /// A Ferret capture, open.
    Ready(Box<Opened>),
    /// A .scap trace, converting.
    Converting(scap::import::Converting),
}

/// Opens a Ferret capture, or starts converting a .scap trace on a thread
/// of its own (which reads its header too), its chunks sized for their
/// consumer (`handover`, e.g. [`crate::run::feed_handover`]); the
/// converted capture is kept when `keep` (for what needs it whole once the
/// rules ran).
pub fn open_streaming(
    path: &Path,
    keep: bool,
    handover: scap::import::Handover,
) -> Result<Opening, SourceError> {
    if is_scap(path) {
        Ok(Opening::Converting(scap::import::open_converting(
            path, keep, handover,
        )?))
    } else {
        Ok(Opening::Ready(Box::new(open(path)?)))
    }
}

/// A one-line account of a conversion.
pub fn import_line(r: &scap::import::ImportReport) -> String {
    let internal: u64 = r.internal.values().sum();
    let unknown: u64 = r.unknown.values().sum();
    let mut s = format!(
        "{} scap events -> {} events: {} entry/exit pairs merged, {} exits without entry, \
         {} entry-only, {} entries without exit dropped, {} internal skipped",
        r.scap_events,
        r.written,
        r.merged,
        r.exits_alone,
        r.entries_alone,
        r.entries_dropped,
        internal
    );
    if unknown > 0 {
        let codes: Vec<String> = r.unknown.iter().map(|(c, n)| format!("{c}:{n}")).collect();
        s.push_str(&format!(
            ", {unknown} of unknown codes skipped ({})",
            codes.join(" ")
        ));
    }
    s
}

/// The recordings named by `paths`: a directory stands for the captures and
/// .scap traces under it (recursively, in name order; other files are
/// skipped; a directory with none is an error), and a merged capture of
/// several recordings for each of them (`all.cap#0`, `all.cap#1`...). Other
/// paths are kept as given (opening them says what is wrong).
pub fn expand_inputs(paths: &[std::path::PathBuf]) -> Result<Vec<std::path::PathBuf>, SourceError> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<(), SourceError> {
        let unreadable = |e: std::io::Error| {
            SourceError::Input(format!("cannot read directory {}: {e}", dir.display()))
        };
        let mut entries: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
            .map_err(unreadable)?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()
            .map_err(unreadable)?;
        entries.sort();
        for p in entries {
            let Ok(m) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if m.is_dir() {
                walk(&p, out)?;
            } else if m.is_file() && looks_like_capture(&p) {
                out.push(p);
            }
        }
        Ok(())
    }
    fn looks_like_capture(p: &Path) -> bool {
        let mut head = [0u8; 8];
        let ok = capture::reader::open_regular(p)
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok();
        ok && (head == capture::format::FILE_MAGIC || is_scap(p))
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let before = out.len();
            walk(p, &mut out)?;
            if out.len() == before {
                return Err(SourceError::Input(format!(
                    "{}: a directory with no capture or .scap trace in it",
                    p.display()
                )));
            }
        } else {
            out.push(p.clone());
        }
    }
    Ok(out
        .into_iter()
        .flat_map(|p| Capture::stream_paths(&p))
        .collect())
}
