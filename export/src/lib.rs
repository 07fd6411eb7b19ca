//! Ferret events as rows for other engines (Spark, DuckDB, Trino, pandas):
//! one row per event with the state-resolved Falco fields, written as
//! Parquet (zstd, one row group per capture chunk, in chunk order) or JSON
//! lines.
//!
//! The schema is [`SCHEMA_VERSION`] and is only ever extended: columns are
//! Falco field names with `.` as `_` ([`COLUMNS`]), plus `capture`,
//! `hostname`, `evt_num`, `evt_time` (UTC timestamp in microseconds, the
//! finest Spark reads), `evt_rawtime` (ns since the epoch), `ferret_chunk`,
//! `ferret_pos` (where the event is in its capture), `proc_aname` (every
//! known ancestor's name, parent first), `rules` (the rules that alerted
//! on the event, when rules are given) and `evt_arg` (each argument's text
//! as `evt.arg.NAME` gives it, by name). A value the capture cannot supply
//! is null. Parquet files carry the schema version, the capture, its host
//! and chain head as key-value metadata.
//!
//! Chunks are replayed in parallel from the engine's checkpoints
//! ([`engine::run::replay_chunks`]); each task builds its chunk's rows and a
//! writer thread writes them in chunk order. A damaged chunk is skipped and
//! named in [`ExportResult::chunk_errors`]; every intact one is written.

pub mod ocsf;
pub mod scap;
pub mod sql;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::atomic::AtomicU64;
use std::sync::{mpsc, Arc};

use arrow_array::builder::{
    Int64Builder, ListBuilder, MapBuilder, MapFieldNames, StringBuilder, StringDictionaryBuilder,
    UInt64Builder,
};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, Int64Array, RecordBatch, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use capture::Capture;
use engine::eval::{visit_fields, Val};
use engine::replay::CaptureFacts;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowRowGroupWriterFactory};
use parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

/// The schema's name and version, written into every file.
pub const SCHEMA_VERSION: &str = "ferret.events/1";

/// A column's type. Falco's booleans are integers (1 true, 0 false).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColType {
    /// Text (UTF-8; bytes that are not are escaped).
    Str,
    /// Text that repeats from event to event (a process's command line,
    /// a container's image): dictionary-encoded, so that each distinct
    /// value is held and written once per row group. Engines read it as
    /// text.
    Dict,
    /// A signed 64-bit integer.
    Int,
}

/// The Falco fields exported, in column order, each as `name` with `.`
/// replaced by `_` ([`column_name`]).
pub const COLUMNS: &[(&str, ColType)] = &[
    ("evt.type", ColType::Dict),
    ("evt.res", ColType::Dict),
    ("evt.rawres", ColType::Int),
    ("evt.cpu", ColType::Int),
    ("evt.args", ColType::Str),
    ("thread.tid", ColType::Int),
    ("proc.pid", ColType::Int),
    ("proc.ppid", ColType::Int),
    ("proc.name", ColType::Dict),
    ("proc.exepath", ColType::Dict),
    ("proc.cmdline", ColType::Dict),
    ("proc.args", ColType::Dict),
    ("proc.cwd", ColType::Dict),
    ("proc.tty", ColType::Int),
    ("proc.sid", ColType::Int),
    ("proc.pname", ColType::Dict),
    ("proc.pcmdline", ColType::Dict),
    ("user.uid", ColType::Int),
    ("user.name", ColType::Dict),
    ("user.loginuid", ColType::Int),
    ("user.loginname", ColType::Dict),
    ("group.gid", ColType::Int),
    ("group.name", ColType::Dict),
    ("fd.num", ColType::Int),
    ("fd.type", ColType::Dict),
    ("fd.name", ColType::Str),
    ("fd.directory", ColType::Dict),
    ("fd.filename", ColType::Str),
    ("fd.l4proto", ColType::Dict),
    ("fd.sockfamily", ColType::Dict),
    ("fd.cip", ColType::Str),
    ("fd.cport", ColType::Int),
    ("fd.sip", ColType::Str),
    ("fd.sport", ColType::Int),
    ("fd.lip", ColType::Str),
    ("fd.lport", ColType::Int),
    ("fd.rip", ColType::Str),
    ("fd.rport", ColType::Int),
    ("container.id", ColType::Dict),
    ("container.name", ColType::Dict),
    ("container.image", ColType::Dict),
    ("container.image.repository", ColType::Dict),
    ("container.image.tag", ColType::Dict),
    ("k8s.ns.name", ColType::Dict),
    ("k8s.pod.name", ColType::Dict),
    // Added within ferret.events/1 (columns are only ever added).
    ("evt.is_open_read", ColType::Int),
    ("evt.is_open_write", ColType::Int),
    ("evt.is_open_exec", ColType::Int),
    ("proc.exe", ColType::Dict),
    ("proc.pexe", ColType::Dict),
    ("proc.is_exe_from_memfd", ColType::Int),
    ("proc.is_exe_upper_layer", ColType::Int),
    ("fd.typechar", ColType::Dict),
    ("fd.connected", ColType::Int),
    ("container.privileged", ColType::Int),
    ("fd.nameraw", ColType::Str),
    ("fd.name_changed", ColType::Int),
    ("fd.sip.name", ColType::Str),
    ("proc.duration", ColType::Int),
    ("thread.cap_effective", ColType::Dict),
    ("thread.cap_permitted", ColType::Dict),
    ("thread.cap_inheritable", ColType::Dict),
    ("proc.vpid", ColType::Int),
    ("proc.vpgid", ColType::Int),
    ("proc.is_vpgid_leader", ColType::Int),
];

/// Ancestors listed in `proc_aname` at most.
pub const ANCESTORS: usize = 16;

/// A Falco field's column name: `proc.aname` is `proc_aname`.
pub fn column_name(field: &str) -> String {
    field.replace('.', "_")
}

fn dict_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// `evt_arg`'s type: a map from argument names to their text.
fn arg_map_type() -> DataType {
    DataType::Map(
        Arc::new(Field::new(
            "entries",
            DataType::Struct(
                vec![
                    Field::new("keys", DataType::Utf8, false),
                    Field::new("values", DataType::Utf8, true),
                ]
                .into(),
            ),
            false,
        )),
        false,
    )
}

/// The Arrow schema of every export.
pub fn schema() -> SchemaRef {
    let mut f = vec![
        Field::new("capture", dict_type(), false),
        Field::new("hostname", dict_type(), true),
        Field::new("evt_num", DataType::UInt64, false),
        // Microseconds: Spark reads no finer timestamp; the exact time is
        // evt_rawtime.
        Field::new(
            "evt_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("evt_rawtime", DataType::Int64, false),
        Field::new("ferret_chunk", DataType::Int64, false),
        Field::new("ferret_pos", DataType::Int64, false),
    ];
    for (name, t) in COLUMNS {
        let dt = match t {
            ColType::Str => DataType::Utf8,
            ColType::Dict => dict_type(),
            ColType::Int => DataType::Int64,
        };
        f.push(Field::new(column_name(name), dt, true));
    }
    let list = || DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    f.push(Field::new("proc_aname", list(), false));
    f.push(Field::new("rules", list(), false));
    // Added within ferret.events/1: every argument as `evt.arg.NAME` gives
    // it (a relative path resolved, flags by name), keyed by name.
    f.push(Field::new("evt_arg", arg_map_type(), false));
    Arc::new(Schema::new(f))
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet, zstd, a row group per chunk.
    Parquet,
    /// One JSON object per line, keys as the column names.
    Jsonl,
}

/// Options of an export.
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// Worker threads (0: all cores).
    pub threads: usize,
    /// Counts the events replayed, for a caller that shows progress.
    pub progress: Option<Arc<AtomicU64>>,
    /// Rules whose alerts fill the `rules` column (none: empty lists).
    pub rules: Vec<ruleset::CompiledRule>,
}

/// What an export did.
#[derive(Clone, Debug, Default)]
pub struct ExportResult {
    /// Rows written.
    pub rows: u64,
    /// Row groups (Parquet) or chunks (JSON lines) written.
    pub groups: u64,
    /// Chunks that could not be read: their events are missing.
    pub chunk_errors: Vec<String>,
    /// Alerts that filled the `rules` column.
    pub alerts: u64,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing the output failed.
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    /// The Parquet or Arrow library refused the data.
    #[error("encoding the export: {0}")]
    Encode(String),
    /// The field list did not compile (a bug: the fields are fixed).
    #[error("the export's fields do not compile: {0}")]
    Fields(String),
}

/// One chunk's rows, built and encoded in a task: a Parquet row group's
/// compressed column chunks, or JSON lines; with the number of rows.
enum Rows {
    Group(Vec<ArrowColumnChunk>, u64),
    Lines(String, u64),
}

/// Where the rows go.
enum Sink<W: Write + Send> {
    Parquet(Box<SerializedFileWriter<W>>),
    Lines(std::io::BufWriter<W>),
}

pub(crate) fn encode_err(e: impl std::fmt::Display) -> ExportError {
    ExportError::Encode(e.to_string())
}

/// Encodes a batch into a row group's column chunks (compressed), on the
/// calling thread.
fn encode(
    factory: &ArrowRowGroupWriterFactory,
    schema: &SchemaRef,
    batch: &RecordBatch,
) -> Result<Vec<ArrowColumnChunk>, String> {
    let mut writers = factory
        .create_column_writers(0)
        .map_err(|e| e.to_string())?;
    let mut next = writers.iter_mut();
    for (arr, field) in batch.columns().iter().zip(schema.fields()) {
        for leaf in compute_leaves(field, arr).map_err(|e| e.to_string())? {
            next.next()
                .ok_or("more leaves than column writers")?
                .write(&leaf)
                .map_err(|e| e.to_string())?;
        }
    }
    writers
        .into_iter()
        .map(|w| w.close().map_err(|e| e.to_string()))
        .collect()
}

/// Compiles a list of `%field`s into the parts [`visit_fields`] walks.
pub(crate) fn compile_fields(
    fields: &[String],
) -> Result<Vec<ruleset::compile::OutputPart>, ExportError> {
    let defs = ruleset::load::Definitions::default();
    ruleset::compile::compile_format(&defs, "export", &fields.join(" "))
        .map(|(parts, _)| parts)
        .map_err(|d| {
            ExportError::Fields(
                d.iter()
                    .map(|d| d.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })
}

/// Exports one capture (named `source` in the `capture` column) to `out`.
pub fn export<W: Write + Send>(
    cap: &Capture,
    source: &str,
    format: Format,
    out: W,
    opts: &ExportOptions,
) -> Result<ExportResult, ExportError> {
    let mut fields: Vec<String> = COLUMNS.iter().map(|(n, _)| format!("%{n}")).collect();
    for a in 1..=ANCESTORS {
        fields.push(format!("%proc.aname[{a}]"));
    }
    let parts = compile_fields(&fields)?;
    // Each kind's arguments as `evt.arg.NAME` gives them.
    let mut by_kind: Vec<Option<(Vec<&'static str>, Vec<ruleset::compile::OutputPart>)>> =
        (0..=capture::kind::MAX_KIND_ID).map(|_| None).collect();
    for k in capture::kind::KINDS {
        if k.args.is_empty() {
            continue;
        }
        let names: Vec<&'static str> = k.args.iter().map(|(n, _)| *n).collect();
        let text: Vec<String> = names.iter().map(|n| format!("%evt.arg.{n}")).collect();
        by_kind[k.id as usize] = Some((names, compile_fields(&text)?));
    }
    let alerts: HashMap<u64, Vec<String>> =
        engine::run::alerts_by_event(cap, &opts.rules, opts.threads)
            .into_iter()
            .map(|(n, a)| (n, a.into_iter().map(|a| a.rule).collect()))
            .collect();
    let n_alerts = alerts.values().map(|v| v.len() as u64).sum();
    let host = cap.meta().map(|m| m.hostname.clone());
    let schema = schema();
    let facts = CaptureFacts::of(cap, source);
    let anchor = facts.anchor;
    let par = engine::run::ParOptions {
        threads: opts.threads,
        progress: opts.progress.clone(),
        ..Default::default()
    };
    let (tx, rx) = mpsc::channel::<(usize, Result<Rows, String>)>();
    let mut result = ExportResult {
        alerts: n_alerts,
        ..ExportResult::default()
    };
    let meta = vec![
        KeyValue::new("ferret.schema".into(), SCHEMA_VERSION.to_string()),
        KeyValue::new("ferret.capture".into(), source.to_string()),
        KeyValue::new("ferret.hostname".into(), host.clone().unwrap_or_default()),
        KeyValue::new(
            "ferret.chain_head".into(),
            cap.chain_head()
                .map(|h| capture::format::hex(&h))
                .unwrap_or_default(),
        ),
    ];
    let (sink, factory) = match format {
        Format::Parquet => {
            let mut props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(
                    ZstdLevel::try_new(3).map_err(encode_err)?,
                ))
                .set_key_value_metadata(Some(meta))
                .build();
            // Arrow readers get the exact types back (the time zone).
            add_encoded_arrow_schema_to_metadata(&schema, &mut props);
            let parquet_schema = ArrowSchemaConverter::new()
                .with_coerce_types(props.coerce_types())
                .convert(&schema)
                .map_err(encode_err)?;
            let w =
                SerializedFileWriter::new(out, parquet_schema.root_schema_ptr(), Arc::new(props))
                    .map_err(encode_err)?;
            let f = ArrowRowGroupWriterFactory::new(&w, schema.clone());
            (Sink::Parquet(Box::new(w)), Some(f))
        }
        Format::Jsonl => (
            Sink::Lines(std::io::BufWriter::with_capacity(1 << 20, out)),
            None,
        ),
    };
    let written = std::thread::scope(|scope| {
        let writer = scope.spawn(move || write_in_order(rx, sink));
        let done = engine::run::replay_chunks(cap, facts, &par, |chunk, c, replay| {
            let mut b = ChunkRows::new(c.len());
            for (pos, e) in c.events().enumerate() {
                let num = e.seq + 1;
                b.start(
                    source,
                    host.as_deref(),
                    num,
                    e.ts.wrapping_add(anchor),
                    chunk,
                    pos,
                );
                replay.step(&e, |cx| {
                    let mut i = 0;
                    visit_fields(&parts, cx, |v| {
                        b.value(i, v);
                        i += 1;
                    });
                    if let Some(Some((names, kparts))) = by_kind.get(e.kind as usize) {
                        let mut j = 0;
                        visit_fields(kparts, cx, |v| {
                            b.arg(names[j], v);
                            j += 1;
                        });
                    }
                });
                b.finish_row(alerts.get(&num).map(Vec::as_slice).unwrap_or(&[]));
            }
            // Encoding (and Parquet's compression) happens here, in
            // parallel; the writer thread only appends in order.
            let rows = b.batch(&schema).and_then(|batch| {
                let n = batch.num_rows() as u64;
                match &factory {
                    Some(f) => encode(f, &schema, &batch).map(|g| Rows::Group(g, n)),
                    None => Ok(Rows::Lines(lines(&batch), n)),
                }
            });
            let _ = tx.send((chunk, rows));
        });
        drop(tx);
        result.chunk_errors = done.chunk_errors.iter().map(|e| e.to_string()).collect();
        writer
            .join()
            .unwrap_or_else(|_| Err(ExportError::Encode("the writer thread failed".into())))
    })?;
    result.rows = written.0;
    result.groups = written.1;
    Ok(result)
}

/// Writes rows in chunk order as they arrive; rows waiting behind a chunk
/// that never comes (a damaged one: which they are is only known at the
/// end) are written at the end, still in order. Returns (rows, groups).
fn write_in_order<W: Write + Send>(
    rx: mpsc::Receiver<(usize, Result<Rows, String>)>,
    mut sink: Sink<W>,
) -> Result<(u64, u64), ExportError> {
    let mut waiting: BTreeMap<usize, Rows> = BTreeMap::new();
    let mut next = 0usize;
    let (mut rows, mut groups) = (0u64, 0u64);
    let mut first_err: Option<ExportError> = None;
    let mut put = |r: Rows, sink: &mut Sink<W>| -> Result<(), ExportError> {
        match (r, sink) {
            (Rows::Group(chunks, n), Sink::Parquet(w)) => {
                let mut rg = w.next_row_group().map_err(encode_err)?;
                for c in chunks {
                    c.append_to_row_group(&mut rg).map_err(encode_err)?;
                }
                rg.close().map_err(encode_err)?;
                rows += n;
            }
            (Rows::Lines(text, n), Sink::Lines(w)) => {
                w.write_all(text.as_bytes())?;
                rows += n;
            }
            _ => return Err(ExportError::Encode("rows of the wrong format".into())),
        }
        groups += 1;
        Ok(())
    };
    for (chunk, r) in rx {
        match r {
            Ok(r) => {
                waiting.insert(chunk, r);
            }
            Err(e) => {
                first_err.get_or_insert(ExportError::Encode(e));
            }
        }
        while let Some(r) = waiting.remove(&next) {
            put(r, &mut sink)?;
            next += 1;
        }
    }
    for (_, r) in std::mem::take(&mut waiting) {
        put(r, &mut sink)?;
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    match sink {
        Sink::Parquet(w) => {
            w.close().map_err(encode_err)?;
        }
        Sink::Lines(mut w) => w.flush()?,
    }
    Ok((rows, groups))
}

/// Column builders for one chunk.
struct ChunkRows {
    capture: StringDictionaryBuilder<Int32Type>,
    hostname: StringDictionaryBuilder<Int32Type>,
    num: UInt64Builder,
    time: Vec<i64>,
    chunk: Int64Builder,
    pos: Int64Builder,
    cols: Vec<Col>,
    aname: ListBuilder<StringBuilder>,
    ancestors_done: bool,
    rules: ListBuilder<StringBuilder>,
    args: MapBuilder<StringBuilder, StringBuilder>,
}

enum Col {
    Str(StringBuilder),
    Dict(StringDictionaryBuilder<Int32Type>),
    Int(Int64Builder),
}

impl ChunkRows {
    fn new(n: usize) -> ChunkRows {
        ChunkRows {
            capture: StringDictionaryBuilder::new(),
            hostname: StringDictionaryBuilder::new(),
            num: UInt64Builder::with_capacity(n),
            time: Vec::with_capacity(n),
            chunk: Int64Builder::with_capacity(n),
            pos: Int64Builder::with_capacity(n),
            cols: COLUMNS
                .iter()
                .map(|(_, t)| match t {
                    ColType::Str => Col::Str(StringBuilder::with_capacity(n, n * 16)),
                    ColType::Dict => Col::Dict(StringDictionaryBuilder::new()),
                    ColType::Int => Col::Int(Int64Builder::with_capacity(n)),
                })
                .collect(),
            aname: ListBuilder::new(StringBuilder::new()),
            ancestors_done: false,
            rules: ListBuilder::new(StringBuilder::new()),
            args: MapBuilder::new(
                Some(MapFieldNames {
                    entry: "entries".into(),
                    key: "keys".into(),
                    value: "values".into(),
                }),
                StringBuilder::new(),
                StringBuilder::new(),
            ),
        }
    }

    /// An argument of the row's event, as `evt.arg.NAME` gives it.
    fn arg(&mut self, name: &str, v: &Val<'_>) {
        self.args.keys().append_value(name);
        match v {
            Val::NA => self.args.values().append_null(),
            Val::Str(s) => self.args.values().append_value(s),
            v => self.args.values().append_value(v.render()),
        }
    }

    /// Starts a row with the event's own columns.
    fn start(
        &mut self,
        source: &str,
        host: Option<&str>,
        num: u64,
        time: u64,
        chunk: usize,
        pos: usize,
    ) {
        self.capture.append_value(source);
        match host {
            Some(h) => self.hostname.append_value(h),
            None => self.hostname.append_null(),
        }
        self.num.append_value(num);
        self.time.push(i64::try_from(time).unwrap_or(i64::MAX));
        self.chunk.append_value(chunk as i64);
        self.pos.append_value(pos as i64);
        self.ancestors_done = false;
    }

    /// The value of field `i` of the export's format: a column of
    /// [`COLUMNS`], then the ancestors' names.
    fn value(&mut self, i: usize, v: &Val<'_>) {
        let missing = match v {
            Val::NA => true,
            // The engine's text for a value it could not fill.
            Val::Str(s) => s == "<NA>",
            _ => false,
        };
        match self.cols.get_mut(i) {
            Some(Col::Str(b)) if missing => b.append_null(),
            Some(Col::Str(b)) => match v {
                Val::Str(s) => b.append_value(s),
                v => b.append_value(v.render()),
            },
            Some(Col::Dict(b)) if missing => b.append_null(),
            Some(Col::Dict(b)) => match v {
                Val::Str(s) => {
                    b.append_value(s);
                }
                v => {
                    b.append_value(v.render());
                }
            },
            Some(Col::Int(b)) => match v {
                Val::Int(n) => b.append_value(*n),
                Val::Bool(x) => b.append_value(i64::from(*x)),
                _ => b.append_null(),
            },
            None => {
                // Ancestors, parent first, up to the first unknown one.
                let empty = matches!(v, Val::Str(s) if s.is_empty());
                if missing || empty {
                    self.ancestors_done = true;
                }
                if !self.ancestors_done {
                    self.aname.values().append_value(v.render());
                }
            }
        }
    }

    /// Ends the row with the rules that alerted on it.
    fn finish_row(&mut self, rules: &[String]) {
        self.aname.append(true);
        // A map is never null; an event without arguments has none.
        let _ = self.args.append(true);
        for r in rules {
            self.rules.values().append_value(r);
        }
        self.rules.append(true);
    }

    fn batch(mut self, schema: &SchemaRef) -> Result<RecordBatch, String> {
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(self.capture.finish()),
            Arc::new(self.hostname.finish()),
            Arc::new(self.num.finish()),
            Arc::new(
                TimestampMicrosecondArray::from(
                    self.time.iter().map(|t| t / 1000).collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
            Arc::new(Int64Array::from(std::mem::take(&mut self.time))),
            Arc::new(self.chunk.finish()),
            Arc::new(self.pos.finish()),
        ];
        for c in &mut self.cols {
            arrays.push(match c {
                Col::Str(b) => Arc::new(b.finish()),
                Col::Dict(b) => Arc::new(b.finish()),
                Col::Int(b) => Arc::new(b.finish()),
            });
        }
        arrays.push(Arc::new(self.aname.finish()));
        arrays.push(Arc::new(self.rules.finish()));
        arrays.push(Arc::new(self.args.finish()));
        RecordBatch::try_new(schema.clone(), arrays).map_err(|e| e.to_string())
    }
}

/// A batch as JSON lines: column names as keys, nulls kept, times as
/// RFC 3339 with nanoseconds.
fn lines(b: &RecordBatch) -> String {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int64Type, TimestampMicrosecondType, UInt64Type};
    use arrow_array::Array;
    let schema = b.schema();
    let mut out = String::with_capacity(b.num_rows() * 512);
    for row in 0..b.num_rows() {
        let mut o = serde_json::Map::new();
        for (i, f) in schema.fields().iter().enumerate() {
            let col = b.column(i);
            let v = if col.is_null(row) {
                serde_json::Value::Null
            } else {
                match f.data_type() {
                    DataType::Utf8 => col.as_string::<i32>().value(row).into(),
                    DataType::Dictionary(..) => {
                        let d = col.as_dictionary::<Int32Type>();
                        let k = d.keys().value(row) as usize;
                        d.values().as_string::<i32>().value(k).into()
                    }
                    DataType::Int64 => col.as_primitive::<Int64Type>().value(row).into(),
                    DataType::UInt64 => col.as_primitive::<UInt64Type>().value(row).into(),
                    DataType::Timestamp(..) => capture::text::rfc3339(
                        col.as_primitive::<TimestampMicrosecondType>().value(row) as u64 * 1000,
                    )
                    .into(),
                    DataType::Map(..) => {
                        let m = col.as_map().value(row);
                        let (k, v) = (
                            m.column(0).as_string::<i32>(),
                            m.column(1).as_string::<i32>(),
                        );
                        let o: serde_json::Map<String, serde_json::Value> = (0..k.len())
                            .map(|j| {
                                let val = if v.is_null(j) {
                                    serde_json::Value::Null
                                } else {
                                    v.value(j).into()
                                };
                                (k.value(j).to_string(), val)
                            })
                            .collect();
                        serde_json::Value::Object(o)
                    }
                    DataType::List(_) => {
                        let l = col.as_list::<i32>().value(row);
                        let s = l.as_string::<i32>();
                        (0..s.len())
                            .map(|j| serde_json::Value::from(s.value(j)))
                            .collect()
                    }
                    _ => serde_json::Value::Null,
                }
            };
            o.insert(f.name().clone(), v);
        }
        out.push_str(&serde_json::Value::Object(o).to_string());
        out.push('\n');
    }
    out
}
