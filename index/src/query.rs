//! Queries: tantivy's query language with Falco field names
//! (`proc.name:curl AND fd.name:"/etc/shadow"`, `fd.sport:[1 TO 1024]`,
//! `evt.time:[2026-11-24T02:00 TO 02:30]`, free words against the command
//! line, paths and executable), results in time order, facets (the top
//! values of exact fields with their counts) and a time histogram, all from
//! one pass through tantivy's collectors and aggregations.

use std::time::Duration;

use serde_json::{json, Value};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::AggregationCollector;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{AllQuery, Query, QueryParser};
use tantivy::Order;

use crate::build::EventIndex;
use crate::schema::{self, Kind, FIELDS};

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

/// Checks the field names of a query and completes shorthand times; returns
/// the text tantivy parses.
pub fn prepare(query: &str) -> Result<String, QueryError> {
    let b = query.as_bytes();
    let mut out = String::with_capacity(query.len() + 16);
    let mut i = 0;
    let mut in_quotes = false;
    while i < b.len() {
        let c = b[i];
        if c == b'"' {
            in_quotes = !in_quotes;
            out.push('"');
            i += 1;
            continue;
        }
        let starts_word = !in_quotes
            && (c.is_ascii_alphabetic() || c == b'_')
            && (i == 0
                || !(b[i - 1].is_ascii_alphanumeric() || matches!(b[i - 1], b'.' | b'_' | b'\\')));
        if starts_word {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'.' | b'_')) {
                j += 1;
            }
            if j < b.len() && b[j] == b':' {
                let name = &query[i..j];
                if schema::kind(name).is_none() || name.starts_with("ferret.") {
                    return Err(QueryError {
                        message: format!(
                            "unknown field '{name}' (indexed: {})",
                            FIELDS
                                .iter()
                                .filter(|(n, _, _)| !n.starts_with("ferret."))
                                .map(|(n, _, _)| *n)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        position: Some(i),
                    });
                }
                out.push_str(name);
                out.push(':');
                i = j + 1;
                if name == "evt.time" && i < b.len() && matches!(b[i], b'[' | b'{') {
                    let close = query[i..]
                        .find([']', '}'])
                        .map(|k| i + k)
                        .ok_or(QueryError {
                            message: "unclosed time range".into(),
                            position: Some(i),
                        })?;
                    out.push_str(&time_range(&query[i..=close], i)?);
                    i = close + 1;
                }
                continue;
            }
            out.push_str(&query[i..j]);
            i = j;
            continue;
        }
        let ch = query[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    if in_quotes {
        return Err(QueryError {
            message: "unclosed quote".into(),
            position: query.rfind('"'),
        });
    }
    Ok(out)
}

/// `[2026-11-24T02:00 TO 02:30]` -> `[2026-11-24T02:00:00Z TO
/// 2026-11-24T02:30:00Z]`: seconds and `Z` added where missing, an end
/// without a date takes the start's.
fn time_range(r: &str, at: usize) -> Result<String, QueryError> {
    let (open, close) = (&r[..1], &r[r.len() - 1..]);
    let inner = &r[1..r.len() - 1];
    let Some((a, z)) = inner.split_once(" TO ") else {
        return Err(QueryError {
            message: "a time range is [START TO END]".into(),
            position: Some(at),
        });
    };
    let (a, z) = (a.trim(), z.trim());
    let full = |t: &str, date: Option<&str>| -> Result<String, QueryError> {
        if t == "*" {
            return Ok("*".into());
        }
        let t = match (t.contains('T'), date) {
            (true, _) => t.to_string(),
            (false, Some(d)) => format!("{d}T{t}"),
            (false, None) => format!("{t}T00:00"),
        };
        let (dt, zone) = match t
            .find(['Z', '+'])
            .or_else(|| t.rfind('-').filter(|&k| k > 10))
        {
            Some(k) => (t[..k].to_string(), t[k..].to_string()),
            None => (t.clone(), "Z".into()),
        };
        let time = dt.split_once('T').map(|(_, h)| h).unwrap_or("");
        let dt = if time.matches(':').count() == 1 {
            format!("{dt}:00")
        } else {
            dt
        };
        let s = format!("{dt}{zone}");
        if s.len() < 20 || !s.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
            return Err(QueryError {
                message: format!("'{s}' is not a time (YYYY-MM-DDTHH:MM[:SS][Z])"),
                position: Some(at),
            });
        }
        Ok(s)
    };
    let start = full(a, None)?;
    let date = a.split_once('T').map(|(d, _)| d);
    let end = full(z, date)?;
    Ok(format!("{open}{start} TO {end}{close}"))
}

impl EventIndex {
    fn parser(&self) -> QueryParser {
        let sch = self.index.schema();
        let defaults = ["text", "proc.cmdline"]
            .iter()
            .filter_map(|n| sch.get_field(n).ok())
            .collect();
        let mut p = QueryParser::for_index(&self.index, defaults);
        p.set_conjunction_by_default();
        p
    }

    /// Parses a query: `Err` names the problem and, where it can, its
    /// position.
    pub fn parse(&self, query: &str) -> Result<Box<dyn Query>, QueryError> {
        let q = query.trim();
        if q.is_empty() || q == "*" {
            return Ok(Box::new(AllQuery));
        }
        let text = prepare(q)?;
        self.parser().parse_query(&text).map_err(|e| QueryError {
            message: format!("{e}"),
            position: None,
        })
    }

    /// Runs a search.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResult, QueryError> {
        let query = self.parse(&req.query)?;
        for f in &req.facets {
            if schema::kind(f) != Some(Kind::Exact) {
                return Err(QueryError {
                    message: format!(
                        "cannot facet on '{f}': facets are counted on exact fields ({})",
                        FIELDS
                            .iter()
                            .filter(|(_, k, _)| *k == Kind::Exact)
                            .map(|(n, _, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    position: None,
                });
            }
        }
        let searcher = self.reader.searcher();
        let fail = |e: tantivy::TantivyError| QueryError {
            message: e.to_string(),
            position: None,
        };
        let mut aggs = serde_json::Map::new();
        for f in &req.facets {
            aggs.insert(
                f.clone(),
                json!({"terms": {"field": f, "size": req.facet_size.max(1)}}),
            );
        }
        if let Some(w) = req.histogram {
            aggs.insert(
                "_histogram".into(),
                json!({"date_histogram": {"field": "evt.time", "fixed_interval": format!("{}ms", w.as_millis().max(1))}}),
            );
        }
        let agg_req: Aggregations =
            serde_json::from_value(Value::Object(aggs)).map_err(|e| QueryError {
                message: format!("aggregation: {e}"),
                position: None,
            })?;
        let top =
            TopDocs::with_limit(req.limit.max(1)).order_by_u64_field("evt.rawtime", Order::Asc);
        let collector = (
            Count,
            top,
            AggregationCollector::from_aggs(agg_req, Default::default()),
        );
        let (total, docs, agg) = searcher.search(&*query, &collector).map_err(fail)?;
        let mut hits = Vec::with_capacity(docs.len());
        if req.limit > 0 {
            for (_, addr) in docs {
                let ff = searcher.segment_reader(addr.segment_ord).fast_fields();
                let get = |name: &str| -> Result<u64, QueryError> {
                    ff.u64(name)
                        .map_err(fail)?
                        .first(addr.doc_id)
                        .ok_or_else(|| QueryError {
                            message: format!("index damaged: document without {name}"),
                            position: None,
                        })
                };
                hits.push(Hit {
                    capture: get("ferret.capture")? as usize,
                    chunk: get("ferret.chunk")? as usize,
                    pos: get("ferret.pos")? as usize,
                    evt_num: get("evt.num")?,
                    time_ns: get("evt.rawtime")?,
                });
            }
        }
        let agg = serde_json::to_value(agg).unwrap_or(Value::Null);
        let buckets = |name: &str| agg[name]["buckets"].as_array().cloned().unwrap_or_default();
        let facets = req
            .facets
            .iter()
            .map(|f| {
                let values = buckets(f)
                    .iter()
                    .map(|b| {
                        let key = match &b["key"] {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        (key, b["doc_count"].as_u64().unwrap_or(0))
                    })
                    .collect();
                (f.clone(), values)
            })
            .collect();
        let histogram = buckets("_histogram")
            .iter()
            .map(|b| {
                // Keys are milliseconds since the epoch.
                let ms = b["key"].as_f64().unwrap_or(0.0);
                ((ms * 1e6) as u64, b["doc_count"].as_u64().unwrap_or(0))
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        Ok(SearchResult {
            total,
            hits,
            facets,
            histogram,
        })
    }
}
