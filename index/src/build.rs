//! Building and opening an index.
//!
//! An index lives in a directory (by default `<capture>.index` beside the
//! first capture) with a manifest, `ferret-index.json`, naming each capture
//! it covers with its chain head, event count and size, and the rule files
//! whose alerts it holds. It is used only when all of these still hold and
//! tantivy opens it with one document per event; anything else (a capture
//! rewritten or grown, a damaged or missing index) rebuilds it. A directory
//! without a manifest is never deleted: it is not an index.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use capture::Capture;
use engine::eval::{format_output_in, Val};
use engine::replay::CaptureFacts;
use ruleset::compile::{compile_format, OutputPart};
use ruleset::CompiledRule;
use serde::{Deserialize, Serialize};
use tantivy::schema::Field;
use tantivy::{DateTime, Index, IndexReader, ReloadPolicy, TantivyDocument};

use crate::schema::{self, Kind, ANCESTORS, FIELDS};

/// The manifest's file name.
pub const MANIFEST: &str = "ferret-index.json";

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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    captures: Vec<CaptureFact>,
    rule_files: Vec<String>,
}

const FORMAT: u32 = 1;

/// An open index over one or more captures.
pub struct EventIndex {
    pub(crate) dir: PathBuf,
    pub(crate) index: Index,
    pub(crate) reader: IndexReader,
    pub(crate) captures: Vec<PathBuf>,
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

fn fact(path: &Path) -> Result<CaptureFact, IndexError> {
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
        let want = Manifest {
            format: FORMAT,
            captures: facts,
            rule_files: opts.rule_files.clone(),
        };
        let reason = if opts.force {
            "a rebuild was asked for".to_string()
        } else {
            match EventIndex::try_open(&dir, captures, &want) {
                Ok(ix) => return Ok((ix, None)),
                Err(why) => why,
            }
        };
        let report = EventIndex::build(&dir, captures, &want, opts, reason)?;
        let ix = EventIndex::try_open(&dir, captures, &want).map_err(|why| IndexError::Io {
            path: dir.clone(),
            source: std::io::Error::other(format!("the index just built does not open: {why}")),
        })?;
        Ok((ix, Some(report)))
    }

    /// Opens `dir` if its manifest is `want` and tantivy agrees; otherwise
    /// says why not.
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
        let events: u64 = want.captures.iter().map(|c| c.events).sum();
        if docs > events {
            return Err(format!(
                "damaged index ({docs} documents for {events} events)"
            ));
        }
        Ok(EventIndex {
            dir: dir.to_path_buf(),
            index,
            reader,
            captures: captures.to_vec(),
        })
    }

    fn build(
        dir: &Path,
        captures: &[PathBuf],
        want: &Manifest,
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
        let mut writer: tantivy::IndexWriter = index
            .writer_with_num_threads(threads, (threads * 96) << 20)
            .map_err(tv_err(dir))?;
        let fields = Fields::new(&sch);
        // One format with every engine field, plus the ancestors.
        let engine_fields: Vec<&str> = FIELDS
            .iter()
            .filter(|(_, _, e)| *e)
            .map(|(n, _, _)| *n)
            .collect();
        let mut fmt: Vec<String> = engine_fields.iter().map(|n| format!("%{n}")).collect();
        for a in 1..=ANCESTORS {
            fmt.push(format!("%proc.aname[{a}]"));
        }
        let parts: Vec<OutputPart> = compile_format(
            &ruleset::load::Definitions::default(),
            "index",
            &fmt.join(" "),
        )
        .map(|(p, _)| p)
        .expect("the index's own format compiles");
        let mut events = 0u64;
        let mut chunk_errors = Vec::new();
        for (ci, path) in captures.iter().enumerate() {
            let opened = engine::source::open(path)?;
            let cap = opened.capture;
            let alerts = alerts_by_event(&cap, opts);
            events += index_capture(
                &cap,
                ci as u64,
                &parts,
                &fields,
                &alerts,
                &writer,
                opts,
                &mut chunk_errors,
            )
            .map_err(tv_err(dir))?;
        }
        writer.commit().map_err(tv_err(dir))?;
        writer.wait_merging_threads().map_err(tv_err(dir))?;
        let manifest = serde_json::to_string_pretty(want).expect("manifest serializes");
        std::fs::write(dir.join(MANIFEST), manifest).map_err(io_err(dir))?;
        Ok(BuildReport {
            reason,
            events,
            elapsed: t0.elapsed(),
            bytes: dir_size(dir),
            chunk_errors,
        })
    }

    /// The index directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The captures it covers, in the order their `ferret.capture` numbers
    /// refer to.
    pub fn captures(&self) -> &[PathBuf] {
        &self.captures
    }

    /// Documents (events) in the index.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether it holds no event.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The schema's fields, resolved once: the engine fields in the order of
/// the extraction format (with their kinds), and the ones the builder fills.
struct Fields {
    engine: Vec<(&'static str, Kind, Field)>,
    aname: Field,
    text: Field,
    rule: Field,
    priority: Field,
    num: Field,
    rawtime: Field,
    time: Field,
    capture: Field,
    chunk: Field,
    pos: Field,
}

impl Fields {
    fn new(sch: &tantivy::schema::Schema) -> Fields {
        let f = |n: &str| sch.get_field(n).expect("schema field");
        Fields {
            engine: FIELDS
                .iter()
                .filter(|(_, _, e)| *e)
                .map(|(n, k, _)| (*n, *k, f(n)))
                .collect(),
            aname: f("proc.aname"),
            text: f("text"),
            rule: f("rule"),
            priority: f("priority"),
            num: f("evt.num"),
            rawtime: f("evt.rawtime"),
            time: f("evt.time"),
            capture: f("ferret.capture"),
            chunk: f("ferret.chunk"),
            pos: f("ferret.pos"),
        }
    }
}

/// (rule, priority) of every alert, by event number.
fn alerts_by_event(cap: &Capture, opts: &BuildOptions) -> HashMap<u64, Vec<(String, String)>> {
    engine::run::alerts_by_event(cap, &opts.rules, opts.threads)
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

#[allow(clippy::too_many_arguments)]
fn index_capture(
    cap: &Capture,
    ci: u64,
    parts: &[OutputPart],
    fields: &Fields,
    alerts: &HashMap<u64, Vec<(String, String)>>,
    writer: &tantivy::IndexWriter,
    opts: &BuildOptions,
    chunk_errors: &mut Vec<String>,
) -> tantivy::Result<u64> {
    let facts = CaptureFacts::of(cap, "");
    let anchor = facts.anchor;
    let par = engine::run::ParOptions {
        threads: opts.threads,
        progress: opts.progress.clone(),
        ..Default::default()
    };
    // Chunks are replayed in parallel from the state at their start (the
    // engine's checkpoints); each task hands its documents to tantivy's
    // writer, which indexes them on its own threads.
    let done = engine::run::replay_chunks(cap, facts, &par, |chunk, c, mut replay| {
        let mut n = 0u64;
        for (pos, e) in c.events().enumerate() {
            let vals = replay.step(&e, |cx| format_output_in(parts, cx).1);
            let doc = document(&vals, fields, alerts, &e, anchor, ci, chunk, pos);
            writer.add_document(doc)?;
            n += 1;
        }
        Ok::<u64, tantivy::TantivyError>(n)
    });
    chunk_errors.extend(done.chunk_errors.iter().map(|e| e.to_string()));
    let mut n = 0;
    for r in done.results.into_iter().flatten() {
        n += r?;
    }
    Ok(n)
}

/// One event's document.
#[allow(clippy::too_many_arguments)]
fn document(
    vals: &[(String, Val<'static>)],
    fields: &Fields,
    alerts: &HashMap<u64, Vec<(String, String)>>,
    e: &capture::EventRef<'_>,
    anchor: u64,
    ci: u64,
    chunk: usize,
    pos: usize,
) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    let mut text = String::new();
    for ((name, kind, f), (_, v)) in fields.engine.iter().zip(vals) {
        match (kind, v) {
            (_, Val::NA) => {}
            (_, Val::Str(s)) if s.is_empty() => {}
            (Kind::Exact | Kind::Text, v) => {
                let mut s = v.render();
                if matches!(*name, "fd.name" | "proc.exepath") {
                    text.push_str(&s);
                    text.push(' ');
                }
                if *name == "proc.cmdline" && s.len() > schema::CMDLINE_INDEXED {
                    let mut cut = schema::CMDLINE_INDEXED;
                    while !s.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    s.truncate(cut);
                }
                doc.add_text(*f, &s);
            }
            (Kind::Int, Val::Int(x)) => doc.add_i64(*f, *x),
            (Kind::Int, other) => {
                if let Ok(x) = other.render().parse::<i64>() {
                    doc.add_i64(*f, x);
                }
            }
            _ => {}
        }
    }
    for (_, v) in vals.iter().skip(fields.engine.len()) {
        if !matches!(v, Val::NA) {
            doc.add_text(fields.aname, v.render());
        }
    }
    if !text.is_empty() {
        doc.add_text(fields.text, &text);
    }
    let num = e.seq + 1;
    if let Some(list) = alerts.get(&num) {
        for (rule, prio) in list {
            doc.add_text(fields.rule, rule);
            doc.add_text(fields.priority, prio);
        }
    }
    let wall = e.ts.wrapping_add(anchor);
    doc.add_u64(fields.num, num);
    doc.add_u64(fields.rawtime, wall);
    doc.add_date(fields.time, DateTime::from_timestamp_nanos(wall as i64));
    doc.add_u64(fields.capture, ci);
    doc.add_u64(fields.chunk, chunk as u64);
    doc.add_u64(fields.pos, pos as u64);
    doc
}
