//! The index's fields. Their names are Falco's, so a query reads like a
//! rule condition (`proc.name:curl AND fd.name:"/etc/shadow"`).
//!
//! - Exact fields keep the whole value as one term (raw tokenizer) and a
//!   fast column, so they match exactly and give facets: names, paths,
//!   addresses, container and pod, rule names.
//! - Text fields are tokenized into lower-cased terms of up to 255 bytes
//!   (tantivy's default drops words over 40): `proc.cmdline` into its
//!   whitespace-separated arguments (its first [`CMDLINE_INDEXED`] bytes;
//!   no positions: a process's command line repeats on each of its events,
//!   and positions made the index 40 times the capture), and `text`, which
//!   holds the fd name and the executable path split into words with
//!   positions (paths searchable by component and phrase). Both are the
//!   default fields of free-text queries.
//! - Numbers are indexed and fast (ranges: `fd.sport:[1 TO 1024]`).
//! - `evt.time` is a date with nanoseconds (`evt.time:[2026-11-24T02:00:00Z
//!   TO 2026-11-24T02:30:00Z]`), `evt.rawtime` the same instant as a number,
//!   used to sort by time.
//! - `ferret.capture`, `ferret.chunk`, `ferret.pos` point back at the event
//!   in its capture; nothing is stored.

use tantivy::schema::{
    DateOptions, DateTimePrecision, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing,
    TextOptions,
};
use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};

/// How a field is indexed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The whole value is one term; fast (facets, sorting).
    Exact,
    /// Tokenized into words.
    Text,
    /// A signed number.
    Int,
    /// An unsigned number.
    Uint,
    /// A date.
    Time,
}

/// Tokenizer of `text` (paths): words, with positions (phrases of path
/// components work).
pub const WORDS: &str = "ferret_words";
/// Tokenizer of `proc.cmdline`: whitespace-separated arguments, so
/// `proc.cmdline:--no-check-certificate` or `needle_word` is one term.
pub const ARGS: &str = "ferret_args";

/// The indexed fields: name, kind, and whether it is an engine field
/// extracted per event (`true`) or one the builder fills itself.
pub const FIELDS: &[(&str, Kind, bool)] = &[
    ("evt.type", Kind::Exact, true),
    ("evt.res", Kind::Exact, true),
    ("proc.name", Kind::Exact, true),
    ("proc.exepath", Kind::Exact, true),
    ("proc.pname", Kind::Exact, true),
    ("proc.aname", Kind::Exact, false),
    ("user.name", Kind::Exact, true),
    ("container.id", Kind::Exact, true),
    ("container.image.repository", Kind::Exact, true),
    ("k8s.pod.name", Kind::Exact, true),
    ("k8s.ns.name", Kind::Exact, true),
    ("fd.name", Kind::Exact, true),
    ("fd.directory", Kind::Exact, true),
    ("fd.sip", Kind::Exact, true),
    ("fd.cip", Kind::Exact, true),
    ("fd.l4proto", Kind::Exact, true),
    ("rule", Kind::Exact, false),
    ("priority", Kind::Exact, false),
    ("proc.cmdline", Kind::Text, true),
    ("text", Kind::Text, false),
    ("proc.pid", Kind::Int, true),
    ("proc.ppid", Kind::Int, true),
    ("user.uid", Kind::Int, true),
    ("fd.sport", Kind::Int, true),
    ("evt.num", Kind::Uint, false),
    ("evt.rawtime", Kind::Uint, false),
    ("evt.time", Kind::Time, false),
    ("ferret.capture", Kind::Uint, false),
    ("ferret.chunk", Kind::Uint, false),
    ("ferret.pos", Kind::Uint, false),
];

/// Bytes of a command line indexed per event.
pub const CMDLINE_INDEXED: usize = 1024;

/// Ancestors indexed in `proc.aname` (parent first).
pub const ANCESTORS: u32 = 8;

/// The kind of field `name`, if it is indexed.
pub fn kind(name: &str) -> Option<Kind> {
    FIELDS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, k, _)| *k)
}

/// The tantivy schema.
pub fn schema() -> Schema {
    let mut b = Schema::builder();
    // Documents only: no positions (a process's command line repeats on
    // each of its events), no field norms (nothing is ranked by length).
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(WORDS)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions)
            .set_fieldnorms(false),
    );
    let args = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ARGS)
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(false),
    );
    let exact = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_index_option(IndexRecordOption::Basic)
                .set_fieldnorms(false),
        )
        .set_fast("raw");
    let num = NumericOptions::default().set_indexed().set_fast();
    for (name, kind, _) in FIELDS {
        match kind {
            Kind::Exact => b.add_text_field(name, exact.clone()),
            Kind::Text if *name == "proc.cmdline" => b.add_text_field(name, args.clone()),
            Kind::Text => b.add_text_field(name, words.clone()),
            Kind::Int => b.add_i64_field(name, num.clone()),
            Kind::Uint => b.add_u64_field(name, num.clone()),
            Kind::Time => b.add_date_field(
                name,
                DateOptions::default()
                    .set_indexed()
                    .set_fast()
                    .set_precision(DateTimePrecision::Nanoseconds),
            ),
        };
    }
    b.build()
}

/// The tokenizer of command lines: arguments split on whitespace,
/// lower-cased, up to 255 bytes.
pub fn args() -> TextAnalyzer {
    TextAnalyzer::builder(tantivy::tokenizer::WhitespaceTokenizer::default())
        .filter(RemoveLongFilter::limit(256))
        .filter(LowerCaser)
        .build()
}

/// The tokenizer of `text`: words (runs of letters and digits),
/// lower-cased, up to 255 bytes.
pub fn words() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(256))
        .filter(LowerCaser)
        .build()
}
