//! Bookmarks: events marked with a note, kept in a sidecar file beside the
//! capture (`<capture>.marks.json`, never in the capture, which is
//! evidence), and exported as a Markdown or JSON timeline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One bookmark.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// Event number (1-based, as shown).
    pub evt_num: u64,
    /// The note.
    pub note: String,
    /// The event's line when it was marked.
    pub line: String,
}

/// The sidecar file's content.
#[derive(Serialize, Deserialize)]
struct File {
    /// Format name and version.
    format: String,
    marks: Vec<Mark>,
}

const FORMAT: &str = "ferret.marks/1";

/// The bookmarks of one capture.
#[derive(Clone, Debug, Default)]
pub struct Marks {
    path: PathBuf,
    marks: BTreeMap<u64, Mark>,
}

impl Marks {
    /// The sidecar file of the capture named `capture`.
    pub fn path_for(capture: &str) -> PathBuf {
        PathBuf::from(format!("{capture}.marks.json"))
    }

    /// Reads the bookmarks at `path` (none when the file does not exist).
    pub fn load(path: &Path) -> Result<Marks, String> {
        let mut m = Marks {
            path: path.to_path_buf(),
            marks: BTreeMap::new(),
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(m),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let f: File = serde_json::from_str(&text)
            .map_err(|e| format!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))?;
        if f.format != FORMAT {
            return Err(format!(
                "{}: format {:?}, this build reads {FORMAT}",
                path.display(),
                f.format
            ));
        }
        m.marks = f.marks.into_iter().map(|k| (k.evt_num, k)).collect();
        Ok(m)
    }

    /// Adds or replaces the bookmark of an event.
    pub fn set(&mut self, m: Mark) {
        self.marks.insert(m.evt_num, m);
    }

    /// The bookmark of event `evt_num`.
    pub fn get(&self, evt_num: u64) -> Option<&Mark> {
        self.marks.get(&evt_num)
    }

    /// Every bookmark, in event order.
    pub fn list(&self) -> Vec<&Mark> {
        self.marks.values().collect()
    }

    /// Writes the sidecar file (through a temporary file, so a crash never
    /// leaves half of it).
    pub fn save(&self) -> Result<PathBuf, String> {
        let f = File {
            format: FORMAT.into(),
            marks: self.marks.values().cloned().collect(),
        };
        let text = serde_json::to_string_pretty(&f).map_err(|e| e.to_string())?;
        let tmp = PathBuf::from(format!("{}.tmp", self.path.display()));
        std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| format!("{}: {e}", self.path.display()))?;
        Ok(self.path.clone())
    }

    /// Writes the marked timeline to `to`: Markdown for `.md`, JSON
    /// otherwise. Returns how many bookmarks were written.
    pub fn export(&self, to: &Path) -> Result<usize, String> {
        let text = if to.extension().is_some_and(|e| e == "md") {
            let mut s =
                String::from("# Marked timeline\n\n| event | note | event line |\n|---|---|---|\n");
            for m in self.marks.values() {
                let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
                s.push_str(&format!(
                    "| {} | {} | `{}` |\n",
                    m.evt_num,
                    cell(&m.note),
                    cell(&m.line).replace('`', "'")
                ));
            }
            s
        } else {
            serde_json::to_string_pretty(&File {
                format: FORMAT.into(),
                marks: self.marks.values().cloned().collect(),
            })
            .map_err(|e| e.to_string())?
        };
        std::fs::write(to, text).map_err(|e| format!("{}: {e}", to.display()))?;
        Ok(self.marks.len())
    }
}
