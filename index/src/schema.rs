//! The index's fields. Their names are Falco's, so a query reads like a
//! rule condition (`proc.name:curl AND fd.name:"/etc/shadow"`).
//!
//! Each field belongs to one of three owners, which is where its value
//! lives in the index:
//!
//! - [`Owner::Proc`]: a process as the events see it (name, executable,
//!   command line, parent, ancestors, user, container, pod). Every distinct
//!   combination of these values is one tantivy document (an *entity*),
//!   shared by all the events that have it.
//! - [`Owner::Fd`]: a file descriptor as the events see it (name,
//!   directory, addresses, protocol, port): one document per distinct
//!   combination, shared by every event on such an fd, in any process.
//! - [`Owner::Event`]: what differs from event to event (type, result,
//!   number, time, alerts), kept in the event table ([`crate::store`]), a
//!   few bytes per event.
//!
//! A query is evaluated per event over the three (see [`crate::query`]):
//! `proc.name:curl AND fd.name:"/etc/shadow" AND evt.type:openat` holds for
//! an event whose process entity, fd entity and type hold their parts.
//!
//! In the entity documents:
//! - Exact fields keep the whole value as one term (raw tokenizer) and a
//!   fast column (facets read their values from it).
//! - Text fields are tokenized into lower-cased terms of up to 255 bytes
//!   (tantivy's default drops words over 40): `proc.cmdline` into its
//!   whitespace-separated arguments (its first [`CMDLINE_INDEXED`] bytes),
//!   and `text`, which holds the executable path (process documents) or the
//!   fd name (fd documents) split into words with positions (paths
//!   searchable by component and phrase). Both are the default fields of
//!   free-text queries.
//! - Numbers are indexed and fast (ranges: `fd.sport:[1 TO 1024]`).
//! - `ferret.entity` and `ferret.kind` name the entity the document is.

use tantivy::schema::{IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};

/// Where a field's value lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    /// The process entity of the event.
    Proc,
    /// The fd entity of the event.
    Fd,
    /// The event itself.
    Event,
}

/// How a field is indexed and queried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The whole value is one term; facets count its values.
    Exact,
    /// Tokenized into words.
    Text,
    /// A signed number (ranges).
    Int,
    /// An unsigned number kept per event (`evt.num`, `evt.rawtime`).
    Num,
    /// A time kept per event (`evt.time`, ranges in RFC 3339).
    Time,
}

/// Tokenizer of `text` (paths): words, with positions (phrases of path
/// components work).
pub const WORDS: &str = "ferret_words";
/// Tokenizer of `proc.cmdline`: whitespace-separated arguments, so
/// `proc.cmdline:--no-check-certificate` or `needle_word` is one term.
pub const ARGS: &str = "ferret_args";

/// A queryable field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldDef {
    /// Its name (Falco's).
    pub name: &'static str,
    /// How it is indexed.
    pub kind: Kind,
    /// Where its value lives.
    pub owner: Owner,
}

const fn f(name: &'static str, kind: Kind, owner: Owner) -> FieldDef {
    FieldDef { name, kind, owner }
}

/// Every queryable field.
pub const FIELDS: &[FieldDef] = &[
    f("evt.type", Kind::Exact, Owner::Event),
    f("evt.res", Kind::Exact, Owner::Event),
    f("rule", Kind::Exact, Owner::Event),
    f("priority", Kind::Exact, Owner::Event),
    f("evt.num", Kind::Num, Owner::Event),
    f("evt.rawtime", Kind::Num, Owner::Event),
    f("evt.time", Kind::Time, Owner::Event),
    f("proc.name", Kind::Exact, Owner::Proc),
    f("proc.exepath", Kind::Exact, Owner::Proc),
    f("proc.pname", Kind::Exact, Owner::Proc),
    f("proc.aname", Kind::Exact, Owner::Proc),
    f("user.name", Kind::Exact, Owner::Proc),
    f("container.id", Kind::Exact, Owner::Proc),
    f("container.image.repository", Kind::Exact, Owner::Proc),
    f("k8s.pod.name", Kind::Exact, Owner::Proc),
    f("k8s.ns.name", Kind::Exact, Owner::Proc),
    f("proc.cmdline", Kind::Text, Owner::Proc),
    f("proc.pid", Kind::Int, Owner::Proc),
    f("proc.ppid", Kind::Int, Owner::Proc),
    f("user.uid", Kind::Int, Owner::Proc),
    f("fd.name", Kind::Exact, Owner::Fd),
    f("fd.directory", Kind::Exact, Owner::Fd),
    f("fd.sip", Kind::Exact, Owner::Fd),
    f("fd.cip", Kind::Exact, Owner::Fd),
    f("fd.l4proto", Kind::Exact, Owner::Fd),
    f("fd.sport", Kind::Int, Owner::Fd),
];

/// The engine fields extracted for a process entity, in this order;
/// `proc.aname` holds the names of the ancestors a rule sees, after them.
pub const PROC_FIELDS: &[&str] = &[
    "proc.name",
    "proc.exepath",
    "proc.pname",
    "user.name",
    "container.id",
    "container.image.repository",
    "k8s.pod.name",
    "k8s.ns.name",
    "proc.cmdline",
    "proc.pid",
    "proc.ppid",
    "user.uid",
];

/// The engine fields extracted for an fd entity, in this order.
pub const FD_FIELDS: &[&str] = &[
    "fd.name",
    "fd.directory",
    "fd.sip",
    "fd.cip",
    "fd.l4proto",
    "fd.sport",
];

/// Bytes of a command line indexed per process.
pub const CMDLINE_INDEXED: usize = 1024;

/// The field named `name`, if it is queryable.
pub fn field(name: &str) -> Option<&'static FieldDef> {
    FIELDS.iter().find(|d| d.name == name)
}

/// The kind of field `name`, if it is queryable.
pub fn kind(name: &str) -> Option<Kind> {
    field(name).map(|d| d.kind)
}

/// The names of every queryable field, for messages.
pub fn names() -> String {
    FIELDS.iter().map(|d| d.name).collect::<Vec<_>>().join(", ")
}

/// `ferret.kind` of a process document.
pub const ENTITY_PROC: u64 = 0;
/// `ferret.kind` of an fd document.
pub const ENTITY_FD: u64 = 1;

/// The tantivy schema of the entity documents.
pub fn schema() -> Schema {
    let mut b = Schema::builder();
    // Documents only: no field norms (nothing is ranked by length).
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
    for d in FIELDS.iter().filter(|d| d.owner != Owner::Event) {
        match d.kind {
            Kind::Exact => b.add_text_field(d.name, exact.clone()),
            Kind::Text => b.add_text_field(d.name, args.clone()),
            _ => b.add_i64_field(d.name, num.clone()),
        };
    }
    b.add_text_field("text", words);
    b.add_u64_field("ferret.entity", NumericOptions::default().set_fast());
    b.add_u64_field("ferret.kind", num);
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
