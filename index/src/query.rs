//! Queries: field-scoped terms with Falco field names
//! (`proc.name:curl AND fd.name:"/etc/shadow"`), ranges (`fd.sport:[1 TO
//! 1024]`, `evt.time:[2026-11-24T02:00 TO 02:30]`), free words against
//! command lines, paths and executables, results in time order, facets
//! (the top values of exact fields with their counts) and a time
//! histogram.
//!
//! A query is parsed ([`crate::parse`]) and each leaf is resolved once:
//! process and fd leaves by tantivy over the entity documents (the set of
//! processes or fds that hold), event leaves against the type, result and
//! alert tables. The query is then evaluated per event over the event
//! table; a block whose summary decides it (no event can match, every
//! event matches, or the query depends on one dimension whose counts the
//! summary holds) is counted without decoding its events.

use std::collections::{BinaryHeap, HashMap};
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use rustc_hash::{FxHashMap, FxHashSet};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::QueryParser;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::build::{EntityDocs, EventIndex};
use crate::parse::{self, Leaf, Node, Value};
use crate::schema::{self, Kind, Owner, ENTITY_FD, ENTITY_PROC, FIELDS};
use crate::store::{self, BlockMeta, Ev, Summary};

/// A query that cannot run, and where in its text the problem is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    /// What is wrong.
    pub message: String,
    /// Byte offset in the query text, when known.
    pub position: Option<usize>,
}

/// What to search.
#[derive(Clone, Debug, Default)]
pub struct SearchRequest {
    /// The query (`*` or empty: every event).
    pub query: String,
    /// Most events returned (in time order).
    pub limit: usize,
    /// Exact fields to count the top values of.
    pub facets: Vec<String>,
    /// Values per facet (default 10).
    pub facet_size: usize,
    /// Width of the time histogram's buckets, when one is wanted.
    pub histogram: Option<Duration>,
}

/// One event found: where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    /// Index of its capture in [`EventIndex::captures`].
    pub capture: usize,
    /// Chunk in the capture.
    pub chunk: usize,
    /// Position in the chunk.
    pub pos: usize,
    /// Event number (1-based, as `evt.num`).
    pub evt_num: u64,
    /// Wall-clock time (Unix ns).
    pub time_ns: u64,
}

/// What a search found.
#[derive(Clone, Debug, Default)]
pub struct SearchResult {
    /// Events matching the query.
    pub total: usize,
    /// The first `limit` of them, in time order.
    pub hits: Vec<Hit>,
    /// For each requested facet: its top values and their counts.
    pub facets: Vec<(String, Vec<(String, u64)>)>,
    /// Time histogram: (bucket start, Unix ns; events).
    pub histogram: Vec<(u64, u64)>,
}

/// Checks a query: `Err` names the problem and its position.
pub fn prepare(query: &str) -> Result<Node, QueryError> {
    parse::parse(query)
}

fn damaged(what: impl std::fmt::Display) -> QueryError {
    QueryError {
        message: format!("index damaged ({what}); rebuild it with `analyzer index --force`"),
        position: None,
    }
}

/// A query compiled against one index: per event, a predicate over its
/// process, fd, type, result, number, time and alerts.
#[derive(Clone, Debug)]
enum Pred {
    Const(bool),
    Proc(Arc<Vec<bool>>),
    Fd(Arc<Vec<bool>>),
    Kind(Arc<Vec<bool>>),
    Res(Arc<FxHashSet<u32>>),
    Alert(Arc<Vec<bool>>),
    Num(u64, u64),
    Time(u64, u64),
    Not(Box<Pred>),
    And(Vec<Pred>),
    Or(Vec<Pred>),
}

/// The dimensions a predicate reads.
const D_PROC: u8 = 1;
const D_FD: u8 = 2;
const D_KIND: u8 = 4;
const D_RES: u8 = 8;
const D_OTHER: u8 = 16;

fn get(set: &[bool], i: u32) -> bool {
    set.get(i as usize).copied().unwrap_or(false)
}

/// How a block answers a predicate, from its meta and summary alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tri {
    No,
    All,
    Some,
}

impl Pred {
    fn eval(&self, e: &Ev) -> bool {
        match self {
            Pred::Const(b) => *b,
            Pred::Proc(s) => get(s, e.proc_),
            Pred::Fd(s) => get(s, e.fd),
            Pred::Kind(s) => get(s, u32::from(e.kind)),
            Pred::Res(s) => s.contains(&e.res),
            Pred::Alert(s) => get(s, e.alert),
            Pred::Num(lo, hi) => (*lo..=*hi).contains(&e.num),
            Pred::Time(lo, hi) => (*lo..=*hi).contains(&e.time),
            Pred::Not(p) => !p.eval(e),
            Pred::And(ps) => ps.iter().all(|p| p.eval(e)),
            Pred::Or(ps) => ps.iter().any(|p| p.eval(e)),
        }
    }

    fn dims(&self) -> u8 {
        match self {
            Pred::Const(_) => 0,
            Pred::Proc(_) => D_PROC,
            Pred::Fd(_) => D_FD,
            Pred::Kind(_) => D_KIND,
            Pred::Res(_) => D_RES,
            Pred::Alert(_) | Pred::Num(..) | Pred::Time(..) => D_OTHER,
            Pred::Not(p) => p.dims(),
            Pred::And(ps) | Pred::Or(ps) => ps.iter().fold(0, |d, p| d | p.dims()),
        }
    }

    /// The predicate for the events of block `b`: number and time ranges
    /// that hold for all or none of them become constants.
    fn resolve(&self, b: &BlockMeta) -> Pred {
        let range = |lo: u64, hi: u64, min: u64, max: u64, keep: Pred| {
            if lo <= min && max <= hi {
                Pred::Const(true)
            } else if hi < min || max < lo {
                Pred::Const(false)
            } else {
                keep
            }
        };
        match self {
            Pred::Num(lo, hi) => range(*lo, *hi, b.first_num, b.last_num, self.clone()),
            Pred::Time(lo, hi) => range(*lo, *hi, b.tmin, b.tmax, self.clone()),
            Pred::Not(p) => match p.resolve(b) {
                Pred::Const(c) => Pred::Const(!c),
                p => Pred::Not(Box::new(p)),
            },
            Pred::And(ps) | Pred::Or(ps) => {
                // `false` decides an `and`, `true` an `or`.
                let and = matches!(self, Pred::And(_));
                let mut out = Vec::with_capacity(ps.len());
                for p in ps {
                    match p.resolve(b) {
                        Pred::Const(c) if c != and => return Pred::Const(c),
                        Pred::Const(_) => {}
                        p => out.push(p),
                    }
                }
                match (out.is_empty(), and) {
                    (true, _) => Pred::Const(and),
                    (false, true) => Pred::And(out),
                    (false, false) => Pred::Or(out),
                }
            }
            p => p.clone(),
        }
    }

    /// Whether no, all or some events of a block with summary `s` hold.
    fn tri(&self, s: &Summary, count: u32) -> Tri {
        fn of<T: Copy>(l: &[(T, u32)], total: u32, f: impl Fn(T) -> bool) -> Tri {
            let n: u32 = l.iter().filter(|(v, _)| f(*v)).map(|(_, c)| *c).sum();
            match n {
                0 => Tri::No,
                n if n == total => Tri::All,
                _ => Tri::Some,
            }
        }
        match self {
            Pred::Const(true) => Tri::All,
            Pred::Const(false) => Tri::No,
            Pred::Proc(set) => of(&s.procs, count, |v| get(set, v)),
            Pred::Fd(set) => of(&s.fds, count, |v| get(set, v)),
            Pred::Kind(set) => of(&s.kinds, count, |v| get(set, u32::from(v))),
            Pred::Res(set) => of(&s.res, count, |v| set.contains(&v)),
            Pred::Alert(set) => {
                let n = s.alerts.iter().filter(|(_, a)| get(set, *a)).count() as u32;
                match n {
                    0 if !get(set, 0) => Tri::No,
                    n if n == count => Tri::All,
                    _ => Tri::Some,
                }
            }
            Pred::Num(..) | Pred::Time(..) => Tri::Some,
            Pred::Not(p) => match p.tri(s, count) {
                Tri::No => Tri::All,
                Tri::All => Tri::No,
                Tri::Some => Tri::Some,
            },
            Pred::And(ps) | Pred::Or(ps) => {
                // No event decides an `and` (all events an `or`); the other
                // answer everywhere is kept only if every part gives it.
                let (decides, keeps) = match self {
                    Pred::And(_) => (Tri::No, Tri::All),
                    _ => (Tri::All, Tri::No),
                };
                let mut uniform = true;
                for p in ps {
                    match p.tri(s, count) {
                        t if t == decides => return decides,
                        t if t == keeps => {}
                        _ => uniform = false,
                    }
                }
                if uniform {
                    keeps
                } else {
                    Tri::Some
                }
            }
        }
    }
}

/// A block's events by one dimension (`D_PROC`, `D_FD`, `D_KIND` or
/// `D_RES`) as the summary lists them: a stand-in event holding each value
/// of that dimension, and how many of the block's events have it.
fn summary_units(s: &Summary, dim: u8) -> Option<Vec<(Ev, u64)>> {
    let one = |v: u32| Ev {
        proc_: if dim == D_PROC { v } else { 0 },
        fd: if dim == D_FD { v } else { 0 },
        kind: if dim == D_KIND { v as u16 } else { 0 },
        res: if dim == D_RES { v } else { 0 },
        ..Ev::default()
    };
    let l: Vec<(u32, u32)> = match dim {
        D_PROC => s.procs.clone(),
        D_FD => s.fds.clone(),
        D_KIND => s.kinds.iter().map(|(k, n)| (u32::from(*k), *n)).collect(),
        D_RES => s.res.clone(),
        _ => return None,
    };
    Some(l.into_iter().map(|(v, n)| (one(v), u64::from(n))).collect())
}

/// Facet counts by code (type or result) summed under their names from
/// `table`; unknown values (`<NA>`) are not a facet value.
fn named<'a>(
    by: &FxHashMap<u32, u64>,
    table: impl Iterator<Item = (u32, &'a String)>,
) -> HashMap<String, u64> {
    let names: HashMap<u32, &String> = table.collect();
    let mut m = HashMap::new();
    for (v, n) in by {
        if let Some(name) = names.get(v).filter(|n| n.as_str() != "<NA>") {
            *m.entry((*name).clone()).or_default() += n;
        }
    }
    m
}

/// Collects the (kind, id) of the entity documents a query matches.
struct Entities;

struct SegEntities {
    kind: Column<u64>,
    id: Column<u64>,
    out: Vec<(u64, u32)>,
}

impl Collector for Entities {
    type Fruit = Vec<(u64, u32)>;
    type Child = SegEntities;

    fn for_segment(&self, _: SegmentOrdinal, seg: &SegmentReader) -> tantivy::Result<SegEntities> {
        let ff = seg.fast_fields();
        Ok(SegEntities {
            kind: ff.u64("ferret.kind")?,
            id: ff.u64("ferret.entity")?,
            out: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<(u64, u32)>>) -> tantivy::Result<Vec<(u64, u32)>> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for SegEntities {
    type Fruit = Vec<(u64, u32)>;

    fn collect(&mut self, doc: DocId, _: Score) {
        if let (Some(k), Some(id)) = (self.kind.first(doc), self.id.first(doc)) {
            self.out.push((k, id as u32));
        }
    }

    fn harvest(self) -> Vec<(u64, u32)> {
        self.out
    }
}

/// A value as tantivy's query syntax writes it.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn number(s: &str, at: usize) -> Result<i128, QueryError> {
    s.parse::<i128>().map_err(|_| QueryError {
        message: format!("'{s}' is not a number"),
        position: Some(at),
    })
}

/// An inclusive u64 range from a parsed range of numbers or times.
fn bounds(
    lo: &Bound<String>,
    hi: &Bound<String>,
    at: usize,
    time: bool,
) -> Result<(u64, u64), QueryError> {
    let date = match lo {
        Bound::Included(s) | Bound::Excluded(s) => s.split_once('T').map(|(d, _)| d.to_string()),
        Bound::Unbounded => None,
    };
    let val = |s: &str| -> Result<i128, QueryError> {
        if time {
            parse::parse_time(s, date.as_deref(), at).map(i128::from)
        } else {
            number(s, at)
        }
    };
    let lo = match lo {
        Bound::Included(s) => val(s)?,
        Bound::Excluded(s) => val(s)? + 1,
        Bound::Unbounded => 0,
    };
    let hi = match hi {
        Bound::Included(s) => val(s)?,
        Bound::Excluded(s) => val(s)? - 1,
        Bound::Unbounded => i128::from(u64::MAX),
    };
    let clamp = |v: i128| v.clamp(0, i128::from(u64::MAX)) as u64;
    Ok((clamp(lo), clamp(hi)))
}

impl EventIndex {
    fn entity_sets(
        &self,
        text: &str,
        free: bool,
        at: usize,
    ) -> Result<(Vec<bool>, Vec<bool>), QueryError> {
        let sch = self.index.schema();
        let defaults = if free {
            ["text", "proc.cmdline"]
                .iter()
                .filter_map(|n| sch.get_field(n).ok())
                .collect()
        } else {
            Vec::new()
        };
        let mut p = QueryParser::for_index(&self.index, defaults);
        p.set_conjunction_by_default();
        let q = p.parse_query(text).map_err(|e| QueryError {
            message: format!("{e}"),
            position: Some(at),
        })?;
        self.entities_of(&*q, at)
    }

    /// The processes and fds whose documents `q` matches.
    fn entities_of(
        &self,
        q: &dyn tantivy::query::Query,
        at: usize,
    ) -> Result<(Vec<bool>, Vec<bool>), QueryError> {
        let found = self
            .reader
            .searcher()
            .search(q, &Entities)
            .map_err(|e| QueryError {
                message: e.to_string(),
                position: Some(at),
            })?;
        let mut procs = vec![false; self.tables.procs as usize + 1];
        let mut fds = vec![false; self.tables.fds as usize + 1];
        for (k, id) in found {
            let set = if k == ENTITY_PROC {
                &mut procs
            } else {
                &mut fds
            };
            if let Some(x) = set.get_mut(id as usize) {
                *x = true;
            }
        }
        Ok((procs, fds))
    }

    fn leaf(&self, l: &Leaf) -> Result<Pred, QueryError> {
        let at = l.at;
        let Some(d) = l.field else {
            let Some(t) = l.value.text() else {
                return Err(QueryError {
                    message: "a range needs a field (FIELD:[LOW TO HIGH])".into(),
                    position: Some(at),
                });
            };
            let (p, f) = self.entity_sets(&quoted(t), true, at)?;
            return Ok(Pred::Or(vec![
                Pred::Proc(Arc::new(p)),
                Pred::Fd(Arc::new(f)),
            ]));
        };
        // FIELD:* — the field has a value.
        let exists = matches!(&l.value, Value::Term(t) if t == "*");
        match d.owner {
            Owner::Proc | Owner::Fd if exists => {
                let (p, f) = if d.kind == Kind::Text {
                    // Not a fast field: any of its terms.
                    let field = self
                        .index
                        .schema()
                        .get_field(d.name)
                        .map_err(|e| QueryError {
                            message: e.to_string(),
                            position: Some(at),
                        })?;
                    let q = tantivy::query::RegexQuery::from_pattern(".+", field).map_err(|e| {
                        QueryError {
                            message: e.to_string(),
                            position: Some(at),
                        }
                    })?;
                    self.entities_of(&q, at)?
                } else {
                    let q = tantivy::query::ExistsQuery::new(d.name.to_string(), false);
                    self.entities_of(&q, at)?
                };
                Ok(if d.owner == Owner::Proc {
                    Pred::Proc(Arc::new(p))
                } else {
                    Pred::Fd(Arc::new(f))
                })
            }
            Owner::Event if exists => {
                let t = &self.tables;
                Ok(match d.name {
                    // Every event has a result unless the call gave none
                    // (code 0, `store::res_code`).
                    "evt.res" => Pred::Res(Arc::new(
                        t.res
                            .iter()
                            .filter(|(c, _)| *c != 0)
                            .map(|(c, _)| *c)
                            .collect(),
                    )),
                    // Events with an alert.
                    "rule" | "priority" => {
                        let mut set = vec![true; t.alert_sets.len() + 1];
                        set[0] = false;
                        Pred::Alert(Arc::new(set))
                    }
                    // Every event has a number, a time and a type.
                    _ => Pred::Const(true),
                })
            }
            Owner::Proc | Owner::Fd => {
                let value = match (&l.value, d.kind) {
                    (Value::Range(lo, hi), _) => {
                        let lo = match lo {
                            Bound::Included(s) => format!("[{}", number(s, at)?),
                            Bound::Excluded(s) => format!("{{{}", number(s, at)?),
                            Bound::Unbounded => "[*".to_string(),
                        };
                        let hi = match hi {
                            Bound::Included(s) => format!("{}]", number(s, at)?),
                            Bound::Excluded(s) => format!("{}}}", number(s, at)?),
                            Bound::Unbounded => "*]".to_string(),
                        };
                        format!("{lo} TO {hi}")
                    }
                    (v, Kind::Int) => {
                        let s = v.text().unwrap_or_default();
                        number(s, at)?;
                        s.to_string()
                    }
                    (v, _) => quoted(v.text().unwrap_or_default()),
                };
                let (p, f) = self.entity_sets(&format!("{}:{value}", d.name), false, at)?;
                Ok(if d.owner == Owner::Proc {
                    Pred::Proc(Arc::new(p))
                } else {
                    Pred::Fd(Arc::new(f))
                })
            }
            Owner::Event => {
                let t = &self.tables;
                match (d.name, &l.value) {
                    ("evt.num" | "evt.rawtime", Value::Range(lo, hi)) => {
                        let (lo, hi) = bounds(lo, hi, at, false)?;
                        Ok(if d.name == "evt.num" {
                            Pred::Num(lo, hi)
                        } else {
                            Pred::Time(lo, hi)
                        })
                    }
                    ("evt.time", Value::Range(lo, hi)) => {
                        let (lo, hi) = bounds(lo, hi, at, true)?;
                        Ok(Pred::Time(lo, hi))
                    }
                    ("evt.num" | "evt.rawtime", v) => {
                        let n = number(v.text().unwrap_or_default(), at)?;
                        let n = n.clamp(0, i128::from(u64::MAX)) as u64;
                        Ok(if d.name == "evt.num" {
                            Pred::Num(n, n)
                        } else {
                            Pred::Time(n, n)
                        })
                    }
                    ("evt.type", v) => {
                        let want = v.text().unwrap_or_default();
                        let mut set = vec![false; usize::from(u16::MAX) + 1];
                        for (k, name) in &t.kinds {
                            if name == want {
                                set[usize::from(*k)] = true;
                            }
                        }
                        Ok(Pred::Kind(Arc::new(set)))
                    }
                    ("evt.res", v) => {
                        let want = v.text().unwrap_or_default();
                        let set = t
                            .res
                            .iter()
                            .filter(|(_, n)| n == want)
                            .map(|(c, _)| *c)
                            .collect();
                        Ok(Pred::Res(Arc::new(set)))
                    }
                    ("rule" | "priority", v) => {
                        let want = v.text().unwrap_or_default();
                        let mut set = vec![false; t.alert_sets.len() + 1];
                        for (i, s) in t.alert_sets.iter().enumerate() {
                            set[i + 1] = s.iter().any(|(rule, prio)| {
                                if d.name == "rule" {
                                    rule == want
                                } else {
                                    prio.eq_ignore_ascii_case(want)
                                }
                            });
                        }
                        Ok(Pred::Alert(Arc::new(set)))
                    }
                    (name, _) => Err(QueryError {
                        message: format!("'{name}' takes values, not ranges"),
                        position: Some(at),
                    }),
                }
            }
        }
    }

    fn compile(&self, n: &Node) -> Result<Pred, QueryError> {
        Ok(match n {
            Node::All => Pred::Const(true),
            Node::Leaf(l) => self.leaf(l)?,
            Node::Not(p) => Pred::Not(Box::new(self.compile(p)?)),
            Node::And(ps) => Pred::And(
                ps.iter()
                    .map(|p| self.compile(p))
                    .collect::<Result<_, _>>()?,
            ),
            Node::Or(ps) => Pred::Or(
                ps.iter()
                    .map(|p| self.compile(p))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    fn summary(&self, b: &BlockMeta) -> Result<Summary, QueryError> {
        let s = b.off as usize;
        let frame = self
            .data
            .get(s..s + b.sum_len as usize)
            .ok_or_else(|| damaged("a block past the end of events.bin"))?;
        store::decode_summary(b, frame).map_err(|e| damaged(e.0))
    }

    fn pairs(&self, b: &BlockMeta, s: &Summary) -> Result<Vec<(u32, u32, u32)>, QueryError> {
        let start = b.off as usize + b.sum_len as usize;
        let frame = self
            .data
            .get(start..start + b.pair_len as usize)
            .ok_or_else(|| damaged("a block past the end of events.bin"))?;
        store::decode_pairs(b, s, frame).map_err(|e| damaged(e.0))
    }

    fn events(&self, b: &BlockMeta, s: &Summary) -> Result<Vec<Ev>, QueryError> {
        let start = b.off as usize + b.sum_len as usize + b.pair_len as usize;
        let frame = self
            .data
            .get(start..start + b.col_len as usize)
            .ok_or_else(|| damaged("a block past the end of events.bin"))?;
        store::decode_events(b, s, frame).map_err(|e| damaged(e.0))
    }

    /// Entity id to tantivy document, per kind.
    fn entity_docs(&self) -> &EntityDocs {
        self.entity_docs.get_or_init(|| {
            let searcher = self.reader.searcher();
            let mut out: EntityDocs = [
                vec![(u32::MAX, 0); self.tables.procs as usize + 1],
                vec![(u32::MAX, 0); self.tables.fds as usize + 1],
            ];
            for (so, seg) in searcher.segment_readers().iter().enumerate() {
                let ff = seg.fast_fields();
                let (Ok(kind), Ok(id)) = (ff.u64("ferret.kind"), ff.u64("ferret.entity")) else {
                    continue;
                };
                for doc in seg.doc_ids_alive() {
                    if let (Some(k), Some(i)) = (kind.first(doc), id.first(doc)) {
                        let k = usize::from(k == ENTITY_FD);
                        if let Some(slot) = out[k].get_mut(i as usize) {
                            *slot = (so as u32, doc);
                        }
                    }
                }
            }
            out
        })
    }

    /// The values of exact field `name` of each entity in `counts`, summed.
    fn entity_values(
        &self,
        owner: Owner,
        name: &str,
        counts: &FxHashMap<u32, u64>,
    ) -> Result<HashMap<String, u64>, QueryError> {
        let docs = &self.entity_docs()[usize::from(owner == Owner::Fd)];
        let searcher = self.reader.searcher();
        // Per segment: the events of each term ordinal of the field.
        let mut cols = HashMap::new();
        let mut per_seg: FxHashMap<u32, FxHashMap<u64, u64>> = FxHashMap::default();
        for (id, n) in counts {
            let Some(&(seg, doc)) = docs.get(*id as usize) else {
                continue;
            };
            if seg == u32::MAX {
                continue;
            }
            let col = match cols.entry(seg) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => v.insert(
                    searcher
                        .segment_reader(seg)
                        .fast_fields()
                        .str(name)
                        .map_err(damaged)?,
                ),
            };
            let Some(col) = col else {
                continue;
            };
            let mut ords: Vec<u64> = col.term_ords(doc).collect();
            ords.sort_unstable();
            ords.dedup();
            let m = per_seg.entry(seg).or_default();
            for ord in ords {
                *m.entry(ord).or_default() += n;
            }
        }
        // Ordinals to text in one sorted pass over each dictionary.
        let mut out: HashMap<String, u64> = HashMap::new();
        for (seg, m) in per_seg {
            let Some(Some(col)) = cols.get(&seg) else {
                continue;
            };
            let mut v: Vec<(u64, u64)> = m.into_iter().collect();
            v.sort_unstable();
            let ords: Vec<u64> = v.iter().map(|x| x.0).collect();
            let mut i = 0;
            col.dictionary()
                .sorted_ords_to_term_cb(&ords, |bytes| {
                    if let Some((_, n)) = v.get(i) {
                        *out.entry(String::from_utf8_lossy(bytes).into_owned())
                            .or_default() += n;
                    }
                    i += 1;
                })
                .map_err(damaged)?;
        }
        Ok(out)
    }

    /// Runs a search.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResult, QueryError> {
        let node = parse::parse(&req.query)?;
        let mut facets = Vec::new();
        for f in &req.facets {
            match schema::field(f) {
                Some(d) if d.kind == Kind::Exact => facets.push(d),
                _ => {
                    return Err(QueryError {
                        message: format!(
                            "cannot facet on '{f}': facets are counted on exact fields ({})",
                            FIELDS
                                .iter()
                                .filter(|d| d.kind == Kind::Exact)
                                .map(|d| d.name)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        position: None,
                    })
                }
            }
        }
        let pred = self.compile(&node)?;
        let hist_ns = req.histogram.map(|w| (w.as_nanos() as u64).max(1));
        // Per facet: counts by entity (process and fd fields), by kind,
        // result or alert set (event fields).
        let mut by: Vec<FxHashMap<u32, u64>> = vec![FxHashMap::default(); facets.len()];
        let mut hist: FxHashMap<u64, u64> = FxHashMap::default();
        let mut total = 0u64;
        let mut heap: BinaryHeap<(u64, u32, u64, usize)> = BinaryHeap::new();
        // Blocks counted without decoding, with their predicate and summary.
        let mut candidates: Vec<(usize, Pred, Summary)> = Vec::new();
        let facet_dim = |d: &schema::FieldDef| match (d.owner, d.name) {
            (Owner::Proc, _) => D_PROC,
            (Owner::Fd, _) => D_FD,
            (_, "evt.type") => D_KIND,
            (_, "evt.res") => D_RES,
            _ => D_OTHER,
        };
        let value_of = |d: &schema::FieldDef, e: &Ev| match facet_dim(d) {
            D_PROC => e.proc_,
            D_FD => e.fd,
            D_KIND => u32::from(e.kind),
            D_RES => e.res,
            _ => e.alert,
        };
        let push_hit =
            |heap: &mut BinaryHeap<(u64, u32, u64, usize)>, e: &Ev, b: &BlockMeta, bi: usize| {
                if req.limit == 0 {
                    return;
                }
                let key = (e.time, b.capture, e.num, bi);
                if heap.len() < req.limit {
                    heap.push(key);
                } else if heap.peek().is_some_and(|top| key < *top) {
                    heap.pop();
                    heap.push(key);
                }
            };
        for (bi, b) in self.blocks.iter().enumerate() {
            let p = pred.resolve(b);
            if matches!(p, Pred::Const(false)) {
                continue;
            }
            let s = self.summary(b)?;
            let tri = p.tri(&s, b.count);
            if tri == Tri::No {
                continue;
            }
            let dims = p.dims();
            // What the summary alone can tell. `units` are the matching
            // events as (a stand-in with the dimensions in `have`, their
            // number): pairs when the query reads processes and fds only,
            // the summary's list when it reads one dimension only.
            let matching = |u: Vec<(Ev, u64)>| -> Vec<(Ev, u64)> {
                u.into_iter().filter(|(e, _)| p.eval(e)).collect()
            };
            let (have, units): (u8, Option<Vec<(Ev, u64)>>) = match tri {
                Tri::All => (0, None),
                _ if matches!(dims, D_PROC | D_FD | D_KIND | D_RES) => {
                    (dims, summary_units(&s, dims).map(matching))
                }
                _ if dims & !(D_PROC | D_FD) == 0 => {
                    let pairs = self.pairs(b, &s)?;
                    let stand_ins = pairs
                        .iter()
                        .map(|(pr, f, n)| {
                            let e = Ev {
                                proc_: *pr,
                                fd: *f,
                                ..Ev::default()
                            };
                            (e, u64::from(*n))
                        })
                        .collect();
                    (D_PROC | D_FD, Some(matching(stand_ins)))
                }
                _ => (0, None),
            };
            let count: Option<u64> = match (tri, &units) {
                (Tri::All, _) => Some(u64::from(b.count)),
                (_, Some(u)) => Some(u.iter().map(|x| x.1).sum()),
                _ => None,
            };
            let facet_from_summary = |d: &schema::FieldDef| -> Option<Vec<(u32, u64)>> {
                let fd = facet_dim(d);
                let values =
                    |u: &[(Ev, u64)]| u.iter().map(|(e, n)| (value_of(d, e), *n)).collect();
                match (tri, &units) {
                    (Tri::All, _) => summary_units(&s, fd).map(|u| values(&u)),
                    (_, Some(u)) if have & fd != 0 => Some(values(u)),
                    _ => None,
                }
            };
            let hist_whole = match (tri, hist_ns) {
                (_, None) => true,
                (Tri::All, Some(w)) => b.tmin / w == b.tmax / w,
                _ => false,
            };
            let facet_counts: Vec<Option<Vec<(u32, u64)>>> =
                facets.iter().map(|d| facet_from_summary(d)).collect();
            let decode = count.is_none() || !hist_whole || facet_counts.iter().any(Option::is_none);
            if decode {
                let evs = self.events(b, &s)?;
                for e in evs.iter().filter(|e| p.eval(e)) {
                    total += 1;
                    for (k, d) in facets.iter().enumerate() {
                        if facet_counts[k].is_none() {
                            *by[k].entry(value_of(d, e)).or_default() += 1;
                        }
                    }
                    if let Some(w) = hist_ns {
                        *hist.entry(e.time / w * w).or_default() += 1;
                    }
                    push_hit(&mut heap, e, b, bi);
                }
            } else {
                let n = count.unwrap_or(0);
                if n == 0 {
                    continue;
                }
                total += n;
                if let Some(w) = hist_ns {
                    *hist.entry(b.tmin / w * w).or_default() += n;
                }
            }
            for (k, fc) in facet_counts.into_iter().enumerate() {
                for (v, n) in fc.unwrap_or_default() {
                    *by[k].entry(v).or_default() += n;
                }
            }
            if !decode && req.limit > 0 {
                candidates.push((bi, p, s));
            }
        }
        // Hits from the blocks counted without decoding: in time order,
        // until no block can hold an earlier event.
        candidates.sort_by_key(|c| self.blocks[c.0].tmin);
        for (bi, p, s) in candidates {
            let b = &self.blocks[bi];
            if heap.len() >= req.limit && heap.peek().is_some_and(|top| b.tmin > top.0) {
                break;
            }
            for e in self.events(b, &s)?.iter().filter(|e| p.eval(e)) {
                push_hit(&mut heap, e, b, bi);
            }
        }
        let mut hits: Vec<(u64, u32, u64, usize)> = heap.into_vec();
        hits.sort_unstable();
        let hits = hits
            .into_iter()
            .map(|(time, capture, num, bi)| {
                let b = &self.blocks[bi];
                Hit {
                    capture: capture as usize,
                    chunk: b.chunk as usize,
                    pos: b.first_pos as usize + (num - b.first_num) as usize,
                    evt_num: num,
                    time_ns: time,
                }
            })
            .collect();
        let size = req.facet_size.max(1);
        let mut facet_out = Vec::new();
        for (k, d) in facets.iter().enumerate() {
            let values: HashMap<String, u64> = match facet_dim(d) {
                D_PROC | D_FD => self.entity_values(d.owner, d.name, &by[k])?,
                D_KIND => named(
                    &by[k],
                    self.tables.kinds.iter().map(|(k, n)| (u32::from(*k), n)),
                ),
                D_RES => named(&by[k], self.tables.res.iter().map(|(k, n)| (*k, n))),
                _ => {
                    let mut m = HashMap::new();
                    for (v, n) in &by[k] {
                        let Some(set) = self.tables.alert_sets.get((*v as usize).wrapping_sub(1))
                        else {
                            continue;
                        };
                        let mut seen = FxHashSet::default();
                        for (rule, prio) in set {
                            let key = if d.name == "rule" { rule } else { prio };
                            if seen.insert(key) {
                                *m.entry(key.clone()).or_default() += n;
                            }
                        }
                    }
                    m
                }
            };
            let mut values: Vec<(String, u64)> =
                values.into_iter().filter(|(_, n)| *n > 0).collect();
            values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            values.truncate(size);
            facet_out.push((d.name.to_string(), values));
        }
        let mut histogram: Vec<(u64, u64)> = hist.into_iter().filter(|(_, n)| *n > 0).collect();
        histogram.sort_unstable();
        Ok(SearchResult {
            total: total as usize,
            hits,
            facets: facet_out,
            histogram,
        })
    }
}
