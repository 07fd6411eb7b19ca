//! Building and opening an index.
//!
//! An index lives in a directory (by default `<capture>.index` beside the
//! first capture):
//!
//! - a tantivy index of the *entities*: one document per distinct process
//!   and per distinct fd as the events see them (see [`crate::schema`]);
//! - the event table, `events.bin` and `blocks.bin` ([`crate::store`]);
//! - a manifest, `ferret-index.json`, written last, naming each capture it
//!   covers with its chain head, event count and size, the rule files
//!   whose alerts it holds, the names of the event types, results and
//!   alert sets the table refers to, and the size and BLAKE3 hash of the
//!   table's files.
//!
//! It is used only when all of these still hold; anything else (a capture
//! rewritten or grown, other rule files, a damaged or missing file)
//! rebuilds it. A directory without a manifest is never deleted: it is not
//! an index.
//!
//! The build replays the captures' chunks in parallel from the engine's
//! checkpoints. Each event's process and fd values are extracted borrowed
//! from the state, hashed, and compared with the entities seen so far; only
//! a new entity is copied and handed to tantivy. Events cost a few varints.

use std::collections::HashMap;
use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use capture::Capture;
use engine::eval::{field_values, Val};
use engine::replay::CaptureFacts;
use ruleset::compile::{compile_format, OutputPart};
use ruleset::CompiledRule;
use rustc_hash::{FxHashMap, FxHasher};
use serde::{Deserialize, Serialize};
use tantivy::schema::Field;
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument};

use crate::schema::{self, Kind, ENTITY_FD, ENTITY_PROC, FD_FIELDS, PROC_FIELDS};
use crate::store::{self, BlockMeta, Ev, META_BYTES};

/// The manifest's file name.
pub const MANIFEST: &str = "ferret-index.json";
/// The event table's blocks.
pub const EVENTS_FILE: &str = "events.bin";
/// The event table's block directory.
pub const BLOCKS_FILE: &str = "blocks.bin";

/// Why an index could not be built or opened.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// A capture cannot be read.
    #[error(transparent)]
    Source(#[from] engine::source::SourceError),
    /// The directory exists, is not empty and holds no Ferret index.
    #[error("{0}: exists and is not a Ferret index (no {MANIFEST}); choose another --index-dir")]
    NotAnIndex(PathBuf),
    /// Reading or writing the index directory.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// tantivy refused an operation.
    #[error("index {path}: {source}")]
    Tantivy {
        /// The index directory.
        path: PathBuf,
        /// The cause.
        source: tantivy::TantivyError,
    },
}

/// How to build.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// Where the index lives (default: `<first capture>.index`).
    pub dir: Option<PathBuf>,
    /// Rules whose alerts are indexed (`rule`, `priority`), and the files
    /// they came from (recorded in the manifest).
    pub rules: Vec<CompiledRule>,
    /// The rule files, as given.
    pub rule_files: Vec<String>,
    /// Indexing threads (0: all cores).
    pub threads: usize,
    /// Rebuild even when the index is current.
    pub force: bool,
    /// Counts the events indexed so far, for a caller that shows progress.
    pub progress: Option<Arc<AtomicU64>>,
}

/// What a build did.
#[derive(Clone, Debug)]
pub struct BuildReport {
    /// Why it was built (missing, stale, damaged: the reason).
    pub reason: String,
    /// Events indexed.
    pub events: u64,
    /// Distinct processes and fds (the entity documents).
    pub entities: (u64, u64),
    /// Wall time.
    pub elapsed: Duration,
    /// Size of the index directory in bytes.
    pub bytes: u64,
    /// Chunks of the captures that could not be read (their events are
    /// not in the index).
    pub chunk_errors: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct CaptureFact {
    path: String,
    chain_head: Option<String>,
    events: u64,
    bytes: u64,
}

/// What the event table refers to, and how to check it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Tables {
    /// Events in the table.
    pub events: u64,
    /// Process and fd entities.
    pub procs: u64,
    pub fds: u64,
    /// `evt.type` of each type code ([`store::type_code`]).
    pub kinds: Vec<(u16, String)>,
    /// `evt.res` of each result code.
    pub res: Vec<(u32, String)>,
    /// Alert sets (id - 1): (rule, priority) pairs.
    pub alert_sets: Vec<Vec<(String, String)>>,
    /// (size, BLAKE3) of `events.bin` and of `blocks.bin`.
    pub events_file: (u64, String),
    pub blocks_file: (u64, String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    captures: Vec<CaptureFact>,
    rule_files: Vec<String>,
    #[serde(default)]
    tables: Tables,
}

const FORMAT: u32 = 2;

/// Entity id to tantivy document, per kind, made the first time a facet
/// needs entity values.
pub(crate) type EntityDocs = [Vec<(u32, u32)>; 2];

/// An open index over one or more captures.
pub struct EventIndex {
    pub(crate) dir: PathBuf,
    pub(crate) index: Index,
    pub(crate) reader: IndexReader,
    pub(crate) captures: Vec<PathBuf>,
    pub(crate) tables: Tables,
    pub(crate) blocks: Vec<BlockMeta>,
    pub(crate) data: Vec<u8>,
    pub(crate) entity_docs: OnceLock<EntityDocs>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> IndexError + '_ {
    move |source| IndexError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn tv_err(path: &Path) -> impl FnOnce(tantivy::TantivyError) -> IndexError + '_ {
    move |source| IndexError::Tantivy {
        path: path.to_path_buf(),
        source,
    }
}

/// The prefix of a .scap trace's identity in the manifest.
const SCAP_ID: &str = "scap-blake3:";

fn fact(path: &Path) -> Result<CaptureFact, IndexError> {
    if engine::source::is_scap(path) {
        // A trace is converted anew (with a new chain head) each time it is
        // read: it is known by the hash of its own bytes, and converting it
        // just to compare would double the work of every search.
        let file = std::fs::File::open(path).map_err(io_err(path))?;
        let mut h = blake3::Hasher::new();
        let bytes = h
            .update_reader(std::io::BufReader::new(file))
            .map_err(io_err(path))?
            .count();
        return Ok(CaptureFact {
            path: path.display().to_string(),
            chain_head: Some(format!("{SCAP_ID}{}", h.finalize().to_hex())),
            events: 0,
            bytes,
        });
    }
    let opened = engine::source::open(path)?;
    // `all.cap#1`, one recording of a merged capture, is read from `all.cap`.
    let file = capture::reader::file_of(path);
    let bytes = std::fs::metadata(&file).map_err(io_err(path))?.len();
    Ok(CaptureFact {
        path: path.display().to_string(),
        chain_head: opened
            .capture
            .chain_head()
            .map(|h| capture::format::hex(&h)),
        events: opened.capture.event_count(),
        bytes,
    })
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Reads `file` of the index and checks its size and hash.
fn read_checked(dir: &Path, file: &str, want: &(u64, String)) -> Result<Vec<u8>, String> {
    let bytes =
        std::fs::read(dir.join(file)).map_err(|e| format!("damaged index ({file}: {e})"))?;
    if bytes.len() as u64 != want.0 || blake3::hash(&bytes).to_hex().as_str() != want.1 {
        return Err(format!(
            "damaged index ({file} does not match its hash in {MANIFEST})"
        ));
    }
    Ok(bytes)
}

impl EventIndex {
    /// The default index directory of `capture`: `<capture>.index`.
    pub fn default_dir(capture: &Path) -> PathBuf {
        let mut s = capture.as_os_str().to_owned();
        s.push(".index");
        PathBuf::from(s)
    }

    /// Opens the index of `captures`, or builds it when it is missing,
    /// stale (a capture's chain head, size or event count differs, or the
    /// rule files do) or damaged. Returns the report of a build, if one ran.
    pub fn open_or_build(
        captures: &[PathBuf],
        opts: &BuildOptions,
    ) -> Result<(EventIndex, Option<BuildReport>), IndexError> {
        let dir = opts.dir.clone().unwrap_or_else(|| {
            captures
                .first()
                .map(|c| EventIndex::default_dir(c))
                .unwrap_or_else(|| PathBuf::from("ferret.index"))
        });
        let facts = captures
            .iter()
            .map(|c| fact(c))
            .collect::<Result<Vec<_>, _>>()?;
        let mut want = Manifest {
            format: FORMAT,
            captures: facts,
            rule_files: opts.rule_files.clone(),
            tables: Tables::default(),
        };
        let reason = if opts.force {
            "a rebuild was asked for".to_string()
        } else {
            match EventIndex::try_open(&dir, captures, &want) {
                Ok(ix) => return Ok((ix, None)),
                Err(why) => why,
            }
        };
        let report = EventIndex::build(&dir, captures, &mut want, opts, reason)?;
        let ix = EventIndex::try_open(&dir, captures, &want).map_err(|why| IndexError::Io {
            path: dir.clone(),
            source: std::io::Error::other(format!("the index just built does not open: {why}")),
        })?;
        Ok((ix, Some(report)))
    }

    /// Opens `dir` if its manifest matches `want` and its files check;
    /// otherwise says why not.
    fn try_open(dir: &Path, captures: &[PathBuf], want: &Manifest) -> Result<EventIndex, String> {
        let text =
            std::fs::read_to_string(dir.join(MANIFEST)).map_err(|_| "no index yet".to_string())?;
        let have: Manifest =
            serde_json::from_str(&text).map_err(|e| format!("damaged manifest ({e})"))?;
        if have.format != want.format {
            return Err(format!(
                "index format {} (this build writes {})",
                have.format, want.format
            ));
        }
        if have.captures != want.captures {
            return Err(
                "a capture changed since it was indexed (chain head, size or events)".into(),
            );
        }
        // No rule files asked for: any index will do (its alerts stay).
        if !want.rule_files.is_empty() && have.rule_files != want.rule_files {
            return Err("indexed with other rule files".into());
        }
        let t = have.tables;
        let data = read_checked(dir, EVENTS_FILE, &t.events_file)?;
        let raw = read_checked(dir, BLOCKS_FILE, &t.blocks_file)?;
        if raw.len() % META_BYTES != 0 {
            return Err(format!(
                "damaged index ({BLOCKS_FILE} has a partial record)"
            ));
        }
        let blocks: Vec<BlockMeta> = raw
            .chunks_exact(META_BYTES)
            .map(|c| BlockMeta::from_bytes(c.try_into().expect("chunks_exact gives META_BYTES")))
            .collect();
        let events: u64 = blocks.iter().map(|b| u64::from(b.count)).sum();
        // A .scap trace's events are known once converted.
        let in_captures: u64 = if want.captures.iter().any(|c| {
            c.chain_head
                .as_deref()
                .is_some_and(|h| h.starts_with(SCAP_ID))
        }) {
            u64::MAX
        } else {
            want.captures.iter().map(|c| c.events).sum()
        };
        let fits = blocks.iter().all(|b| {
            (b.capture as usize) < captures.len()
                && b.off
                    .checked_add(
                        u64::from(b.sum_len) + u64::from(b.pair_len) + u64::from(b.col_len),
                    )
                    .is_some_and(|end| end <= data.len() as u64)
        });
        if events != t.events || events > in_captures || !fits {
            return Err(format!(
                "damaged index ({events} events in its blocks, {} in its manifest, {in_captures} in the captures)",
                t.events
            ));
        }
        let index = Index::open_in_dir(dir).map_err(|e| format!("damaged index ({e})"))?;
        index.tokenizers().register(schema::WORDS, schema::words());
        index.tokenizers().register(schema::ARGS, schema::args());
        if index.schema() != schema::schema() {
            return Err("index schema differs".into());
        }
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| format!("damaged index ({e})"))?;
        let docs = reader.searcher().num_docs();
        if docs != t.procs + t.fds {
            return Err(format!(
                "damaged index ({docs} entity documents, {} in its manifest)",
                t.procs + t.fds
            ));
        }
        Ok(EventIndex {
            dir: dir.to_path_buf(),
            index,
            reader,
            captures: captures.to_vec(),
            tables: t,
            blocks,
            data,
            entity_docs: OnceLock::new(),
        })
    }

    fn build(
        dir: &Path,
        captures: &[PathBuf],
        want: &mut Manifest,
        opts: &BuildOptions,
        reason: String,
    ) -> Result<BuildReport, IndexError> {
        let t0 = Instant::now();
        if dir.exists() {
            let ours = dir.join(MANIFEST).exists();
            let empty = std::fs::read_dir(dir)
                .map_err(io_err(dir))?
                .next()
                .is_none();
            if !ours && !empty {
                return Err(IndexError::NotAnIndex(dir.to_path_buf()));
            }
            std::fs::remove_dir_all(dir).map_err(io_err(dir))?;
        }
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let sch = schema::schema();
        let index = Index::create_in_dir(dir, sch.clone()).map_err(tv_err(dir))?;
        index.tokenizers().register(schema::WORDS, schema::words());
        index.tokenizers().register(schema::ARGS, schema::args());
        let threads = match opts.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
        .clamp(1, 8);
        // Entity documents are few: one tantivy thread keeps up.
        let writer: tantivy::IndexWriter = index
            .writer_with_num_threads(1, 32 << 20)
            .map_err(tv_err(dir))?;
        let shared = Shared::new(&sch);
        // Blocks are written as their chunks finish (in any order: a block
        // names its capture, chunk and position), so the build holds one
        // chunk's events per task, not the whole table.
        let table = Mutex::new(Table {
            events: Out::create(&dir.join(EVENTS_FILE))?,
            blocks: Out::create(&dir.join(BLOCKS_FILE))?,
            count: 0,
            error: None,
        });
        let mut chunk_errors = Vec::new();
        for (ci, path) in captures.iter().enumerate() {
            let opened = engine::source::open(path)?;
            let cap = opened.capture;
            let alerts = alerts_by_event(&cap, opts, threads);
            let facts = CaptureFacts::of(&cap, "");
            let anchor = facts.anchor;
            let par = engine::run::ParOptions {
                threads,
                progress: opts.progress.clone(),
                ..Default::default()
            };
            let done = engine::run::replay_chunks(&cap, facts, &par, |chunk, c, replay| {
                let mut task = Task::new(&shared, &writer);
                let mut evs = Vec::with_capacity(c.len());
                for e in c.events() {
                    let (proc_, fd) = replay.step(&e, |cx| task.entities(cx, &e));
                    let num = e.seq + 1;
                    let alert = alerts.get(&num).map_or(0, |set| shared.alert_set(set));
                    evs.push(Ev {
                        proc_,
                        fd,
                        kind: store::type_code(&e),
                        res: store::res_code(e.result()),
                        num,
                        time: e.ts.wrapping_add(anchor),
                        alert,
                    });
                }
                let blocks: Vec<store::Encoded> = evs
                    .chunks(store::BLOCK)
                    .enumerate()
                    .map(|(k, b)| {
                        store::encode(ci as u32, chunk as u32, (k * store::BLOCK) as u32, b)
                    })
                    .collect();
                if let Ok(mut t) = table.lock() {
                    for b in blocks {
                        t.append(b);
                    }
                }
            });
            chunk_errors.extend(done.chunk_errors.iter().map(|e| e.to_string()));
        }
        let table = table.into_inner().map_err(|_| IndexError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::other("a build task failed"),
        })?;
        if let Some(e) = table.error {
            return Err(e);
        }
        let events = table.count;
        let mut writer = writer;
        writer.commit().map_err(tv_err(dir))?;
        writer.wait_merging_threads().map_err(tv_err(dir))?;
        let (procs, fds) = shared.counts();
        want.tables = Tables {
            events,
            procs,
            fds,
            kinds: shared.kinds.lock().map(|m| sorted(&m)).unwrap_or_default(),
            res: shared.res.lock().map(|m| sorted(&m)).unwrap_or_default(),
            alert_sets: shared
                .alerts
                .lock()
                .map(|a| a.1.clone())
                .unwrap_or_default(),
            events_file: table.events.finish()?,
            blocks_file: table.blocks.finish()?,
        };
        let manifest = serde_json::to_string_pretty(want).expect("manifest serializes");
        std::fs::write(dir.join(MANIFEST), manifest).map_err(io_err(dir))?;
        Ok(BuildReport {
            reason,
            events,
            entities: (procs, fds),
            elapsed: t0.elapsed(),
            bytes: dir_size(dir),
            chunk_errors,
        })
    }

    /// The index directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The captures it covers, in the order their numbers in hits refer to.
    pub fn captures(&self) -> &[PathBuf] {
        &self.captures
    }

    /// Events in the index.
    pub fn len(&self) -> u64 {
        self.tables.events
    }

    /// Whether it holds no event.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Distinct processes and fds (entity documents) in the index.
    pub fn entities(&self) -> (u64, u64) {
        (self.tables.procs, self.tables.fds)
    }
}

fn sorted<K: Ord + Copy>(m: &HashMap<K, String>) -> Vec<(K, String)> {
    let mut v: Vec<(K, String)> = m.iter().map(|(k, s)| (*k, s.clone())).collect();
    v.sort_by_key(|x| x.0);
    v
}

/// The event table being written: its two files, the events in it, and
/// the first write that failed.
struct Table {
    events: Out,
    blocks: Out,
    count: u64,
    error: Option<IndexError>,
}

impl Table {
    fn append(&mut self, mut b: store::Encoded) {
        if self.error.is_some() {
            return;
        }
        b.meta.off = self.events.len;
        b.meta.sum_len = b.summary.len() as u32;
        b.meta.pair_len = b.pairs.len() as u32;
        b.meta.col_len = b.columns.len() as u32;
        let written = self
            .events
            .write(&b.summary)
            .and_then(|_| self.events.write(&b.pairs))
            .and_then(|_| self.events.write(&b.columns))
            .and_then(|_| self.blocks.write(&b.meta.to_bytes()));
        match written {
            Ok(()) => self.count += u64::from(b.meta.count),
            Err(e) => self.error = Some(e),
        }
    }
}

/// A file of the index being written, with its size and hash.
struct Out {
    path: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
    hash: blake3::Hasher,
    len: u64,
}

impl Out {
    fn create(path: &Path) -> Result<Out, IndexError> {
        Ok(Out {
            path: path.to_path_buf(),
            file: std::io::BufWriter::new(std::fs::File::create(path).map_err(io_err(path))?),
            hash: blake3::Hasher::new(),
            len: 0,
        })
    }

    fn write(&mut self, b: &[u8]) -> Result<(), IndexError> {
        self.file.write_all(b).map_err(io_err(&self.path))?;
        self.hash.update(b);
        self.len += b.len() as u64;
        Ok(())
    }

    fn finish(mut self) -> Result<(u64, String), IndexError> {
        self.file.flush().map_err(io_err(&self.path))?;
        self.file.get_ref().sync_all().map_err(io_err(&self.path))?;
        Ok((self.len, self.hash.finalize().to_hex().to_string()))
    }
}

/// An alert set: the (rule, priority) of each alert on one event.
type AlertSet = Vec<(String, String)>;

/// Alert sets by content, and in id order (id - 1).
type AlertSets = (HashMap<AlertSet, u32>, Vec<AlertSet>);

/// The entities of every task, and the names the event table refers to.
struct Shared {
    proc_parts: Vec<OutputPart>,
    fd_parts: Vec<OutputPart>,
    name_parts: Vec<OutputPart>,
    /// Where `proc.cmdline` is among [`PROC_FIELDS`].
    cmdline_at: usize,
    procs: Mutex<Interner>,
    fds: Mutex<Interner>,
    kinds: Mutex<HashMap<u16, String>>,
    res: Mutex<HashMap<u32, String>>,
    alerts: Mutex<AlertSets>,
    fields: DocFields,
}

/// The schema's fields, resolved once.
struct DocFields {
    proc_: Vec<(Kind, Field)>,
    aname: Field,
    fd: Vec<(Kind, Field)>,
    text: Field,
    entity: Field,
    kind: Field,
}

fn compile(names: &[String]) -> Vec<OutputPart> {
    let fmt: Vec<String> = names.iter().map(|n| format!("%{n}")).collect();
    compile_format(
        &ruleset::load::Definitions::default(),
        "index",
        &fmt.join(" "),
    )
    .map(|(p, _)| p)
    .expect("the index's own formats compile")
}

impl Shared {
    fn new(sch: &tantivy::schema::Schema) -> Shared {
        let pnames: Vec<String> = PROC_FIELDS.iter().map(|s| s.to_string()).collect();
        let fnames: Vec<String> = FD_FIELDS.iter().map(|s| s.to_string()).collect();
        let f = |n: &str| sch.get_field(n).expect("schema field");
        let kinds = |names: &[&str]| {
            names
                .iter()
                .map(|n| (schema::kind(n).expect("indexed field"), f(n)))
                .collect()
        };
        Shared {
            proc_parts: compile(&pnames),
            fd_parts: compile(&fnames),
            name_parts: compile(&["evt.type".into(), "evt.res".into()]),
            cmdline_at: PROC_FIELDS
                .iter()
                .position(|n| *n == "proc.cmdline")
                .expect("proc.cmdline is a process field"),
            procs: Mutex::new(Interner::default()),
            fds: Mutex::new(Interner::default()),
            kinds: Mutex::new(HashMap::new()),
            res: Mutex::new(HashMap::new()),
            alerts: Mutex::new(Default::default()),
            fields: DocFields {
                proc_: kinds(PROC_FIELDS),
                aname: f("proc.aname"),
                fd: kinds(FD_FIELDS),
                text: f("text"),
                entity: f("ferret.entity"),
                kind: f("ferret.kind"),
            },
        }
    }

    fn counts(&self) -> (u64, u64) {
        let n = |m: &Mutex<Interner>| m.lock().map_or(0, |i| i.count as u64);
        (n(&self.procs), n(&self.fds))
    }

    /// The id of an alert set (1-based).
    fn alert_set(&self, set: &[(String, String)]) -> u32 {
        let Ok(mut a) = self.alerts.lock() else {
            return 0;
        };
        if let Some(id) = a.0.get(set) {
            return *id;
        }
        a.1.push(set.to_vec());
        let id = a.1.len() as u32;
        a.0.insert(set.to_vec(), id);
        id
    }

    /// The tantivy document of a new entity.
    fn document(&self, kind: u64, id: u32, vals: &[Val<'static>]) -> TantivyDocument {
        let mut doc = TantivyDocument::new();
        let fields = if kind == ENTITY_PROC {
            &self.fields.proc_
        } else {
            &self.fields.fd
        };
        let mut text = String::new();
        for (i, ((k, f), v)) in fields.iter().zip(vals).enumerate() {
            match (k, v) {
                // Unknown: the engine's NA, or its text for one.
                (_, Val::NA) => {}
                (_, Val::Str(s)) if s.is_empty() || s == "<NA>" => {}
                (Kind::Int, Val::Int(x)) => doc.add_i64(*f, *x),
                (Kind::Int, other) => {
                    if let Ok(x) = other.render().parse::<i64>() {
                        doc.add_i64(*f, x);
                    }
                }
                (_, v) => {
                    let s = v.render();
                    // The executable path (processes) or the fd name (fds)
                    // is searchable by word.
                    if (kind == ENTITY_PROC && i == 1) || (kind == ENTITY_FD && i == 0) {
                        text = s.clone();
                    }
                    doc.add_text(*f, &s);
                }
            }
        }
        if kind == ENTITY_PROC {
            for v in vals.iter().skip(fields.len()) {
                if !matches!(v, Val::NA) && !matches!(v, Val::Str(s) if s == "<NA>") {
                    doc.add_text(self.fields.aname, v.render());
                }
            }
        }
        if !text.is_empty() {
            doc.add_text(self.fields.text, &text);
        }
        doc.add_u64(self.fields.entity, u64::from(id));
        doc.add_u64(self.fields.kind, kind);
        doc
    }
}

/// Entities by content: the values of their fields in one canonical byte
/// string each (a few hundred bytes, where the values themselves would take
/// a kilobyte and more).
#[derive(Default)]
struct Interner {
    map: FxHashMap<Box<[u8]>, u32>,
    count: u32,
}

/// The canonical bytes of `vals`, in pieces: per value a tag, then its
/// length and bytes (text, bytes) or its fixed-size encoding.
fn canonical(vals: &[Val<'_>], mut out: impl FnMut(&[u8])) {
    for v in vals {
        match v {
            Val::NA => out(&[0]),
            Val::Str(s) => {
                out(&[1]);
                out(&(s.len() as u32).to_le_bytes());
                out(s.as_bytes());
            }
            Val::Bytes(b) => {
                out(&[2]);
                out(&(b.len() as u32).to_le_bytes());
                out(b);
            }
            Val::Int(x) => {
                out(&[3]);
                out(&x.to_le_bytes());
            }
            Val::Bool(x) => out(&[4, u8::from(*x)]),
            Val::Ip(std::net::IpAddr::V4(a)) => {
                out(&[5]);
                out(&a.octets());
            }
            Val::Ip(std::net::IpAddr::V6(a)) => {
                out(&[6]);
                out(&a.octets());
            }
        }
    }
}

/// The canonical bytes of `vals`: an entity's key.
fn key_bytes(vals: &[Val<'_>]) -> Box<[u8]> {
    let mut out = Vec::with_capacity(vals.len() * 16);
    canonical(vals, |b| out.extend_from_slice(b));
    out.into_boxed_slice()
}

/// The hash of the canonical bytes of `vals`, without making them.
fn hash(vals: &[Val<'_>]) -> u64 {
    let mut h = FxHasher::default();
    canonical(vals, |b| h.write(b));
    h.finish()
}

fn owned(v: &Val<'_>) -> Val<'static> {
    match v {
        Val::NA => Val::NA,
        Val::Str(s) => Val::Str(std::borrow::Cow::Owned(s.to_string())),
        Val::Bytes(b) => Val::Bytes(std::borrow::Cow::Owned(b.to_vec())),
        Val::Int(i) => Val::Int(*i),
        Val::Bool(b) => Val::Bool(*b),
        Val::Ip(ip) => Val::Ip(*ip),
    }
}

/// One chunk task: a cache of the entities it has seen (most events repeat
/// an entity of the same chunk), in front of the shared interners.
struct Task<'a> {
    shared: &'a Shared,
    writer: &'a tantivy::IndexWriter,
    procs: FxHashMap<u64, Vec<(Vec<Val<'static>>, u32)>>,
    fds: FxHashMap<u64, Vec<(Vec<Val<'static>>, u32)>>,
    kinds: rustc_hash::FxHashSet<u16>,
    res: rustc_hash::FxHashSet<u32>,
}

impl<'a> Task<'a> {
    fn new(shared: &'a Shared, writer: &'a tantivy::IndexWriter) -> Task<'a> {
        Task {
            shared,
            writer,
            procs: Default::default(),
            fds: Default::default(),
            kinds: Default::default(),
            res: Default::default(),
        }
    }

    /// The process and fd entities of the event in `cx` (0: none), and the
    /// names of its kind and result the first time they are seen.
    fn entities(&mut self, cx: &engine::eval::EvCtx<'_>, e: &capture::EventRef<'_>) -> (u32, u32) {
        let (code, res) = (store::type_code(e), store::res_code(e.result()));
        let new_kind = self.kinds.insert(code);
        if self.res.insert(res) || new_kind {
            let mut v = Vec::with_capacity(2);
            field_values(&self.shared.name_parts, cx, &mut v);
            if let (Ok(mut k), Ok(mut r)) = (self.shared.kinds.lock(), self.shared.res.lock()) {
                k.entry(code).or_insert_with(|| v[0].render());
                r.entry(res).or_insert_with(|| v[1].render());
            }
        }
        let mut pv = Vec::with_capacity(PROC_FIELDS.len() + 8);
        field_values(&self.shared.proc_parts, cx, &mut pv);
        // The ancestors' names, parent first, as `proc.aname` sees them.
        cx.ancestor_names(&mut pv);
        // Only the first CMDLINE_INDEXED bytes of a command line are indexed.
        if let Val::Str(s) = &mut pv[self.shared.cmdline_at] {
            if s.len() > schema::CMDLINE_INDEXED {
                let mut cut = schema::CMDLINE_INDEXED;
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                match s {
                    std::borrow::Cow::Borrowed(b) => *s = std::borrow::Cow::Borrowed(&b[..cut]),
                    std::borrow::Cow::Owned(o) => o.truncate(cut),
                }
            }
        }
        let p = self.intern(ENTITY_PROC, &pv);
        let mut fv = Vec::with_capacity(FD_FIELDS.len());
        field_values(&self.shared.fd_parts, cx, &mut fv);
        let f = self.intern(ENTITY_FD, &fv);
        (p, f)
    }

    fn intern(&mut self, kind: u64, vals: &[Val<'_>]) -> u32 {
        if vals
            .iter()
            .all(|v| matches!(v, Val::NA) || matches!(v, Val::Str(s) if s.is_empty()))
        {
            return 0;
        }
        let h = hash(vals);
        let local = if kind == ENTITY_PROC {
            &mut self.procs
        } else {
            &mut self.fds
        };
        if let Some(c) = local.get(&h) {
            if let Some((_, id)) = c.iter().find(|(v, _)| v.as_slice() == vals) {
                return *id;
            }
        }
        let own: Vec<Val<'static>> = vals.iter().map(owned).collect();
        let shared = if kind == ENTITY_PROC {
            &self.shared.procs
        } else {
            &self.shared.fds
        };
        let (id, new) = {
            let Ok(mut g) = shared.lock() else {
                return 0;
            };
            let key = key_bytes(vals);
            match g.map.get(&key) {
                Some(id) => (*id, false),
                None => {
                    g.count += 1;
                    let id = g.count;
                    g.map.insert(key, id);
                    (id, true)
                }
            }
        };
        if new {
            // A failed add surfaces at commit.
            let _ = self
                .writer
                .add_document(self.shared.document(kind, id, &own));
        }
        local.entry(h).or_default().push((own, id));
        id
    }
}

/// (rule, priority) of every alert, by event number.
fn alerts_by_event(
    cap: &Capture,
    opts: &BuildOptions,
    threads: usize,
) -> HashMap<u64, Vec<(String, String)>> {
    if opts.rules.is_empty() {
        return HashMap::new();
    }
    engine::run::alerts_by_event(cap, &opts.rules, threads)
        .into_iter()
        .map(|(n, alerts)| {
            let named = alerts
                .into_iter()
                .map(|a| (a.rule, a.priority.name().to_string()))
                .collect();
            (n, named)
        })
        .collect()
}
