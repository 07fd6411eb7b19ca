//! `analyzer search`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use index::SearchRequest;

use crate::{out, SelectionArgs};

/// Arguments of `analyzer search`.
#[derive(clap::Args)]
pub struct Args {
    /// The capture (its index is built first when missing or stale).
    pub capture: PathBuf,
    /// The query: Falco field names in Lucene's syntax (AND, OR, NOT or -,
    /// parentheses; adjacent terms are ANDed), `proc.name:curl AND
    /// fd.name:"/etc/shadow"`, ranges with `*` for an open end
    /// (`fd.sport:[1 TO 1024]`, `evt.num:{100 TO *]`,
    /// `evt.time:[2026-11-24T02:00 TO 02:30]`, a time without a zone is
    /// UTC), free words (matched in command lines, file names and
    /// executable paths), `*` for all. Indexed fields: evt.type evt.res
    /// evt.num evt.rawtime evt.time rule priority proc.name proc.exepath
    /// proc.pname proc.aname proc.cmdline proc.pid proc.ppid user.name
    /// user.uid container.id container.image.repository k8s.pod.name
    /// k8s.ns.name fd.name fd.directory fd.sip fd.cip fd.l4proto fd.sport.
    pub query: String,
    /// Most events printed (the first in time).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Count the top values of an exact field among the matches
    /// (repeatable): proc.name, fd.name, fd.sip, rule, ...
    #[arg(long)]
    pub facet: Vec<String>,
    /// Values shown per facet.
    #[arg(long, default_value_t = 10)]
    pub facet_size: usize,
    /// A time histogram of the matches with buckets this wide (30s, 1m,
    /// 5m, 1h).
    #[arg(long, value_parser = parse_interval)]
    pub histogram: Option<Duration>,
    /// Print JSON lines: each event in the shape of `analyzer events
    /// --json`, then {"total"}, {"facet", "values": [{"value", "count"}]}
    /// and {"histogram": [{"start", "count"}]}.
    #[arg(long)]
    pub json: bool,
    /// Where the index lives (default: <capture>.index).
    #[arg(long, value_name = "DIR")]
    pub index_dir: Option<PathBuf>,
    /// Rule files whose alerts the index holds (`rule:`, `priority:`).
    #[arg(short, long = "rules")]
    pub rules: Vec<PathBuf>,
    /// No progress or summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub sel: SelectionArgs,
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n
        .parse()
        .map_err(|_| format!("'{s}': expected a number and s, m or h"))?;
    let secs = match unit {
        "s" | "" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("'{s}': the unit is s, m or h")),
    };
    if secs == 0 {
        return Err("the interval must be positive".into());
    }
    Ok(Duration::from_secs(secs))
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let opts = super::index::build_options(a.index_dir.clone(), &a.rules, &a.sel, 0)?;
    let captures = [a.capture.clone()];
    let ix = super::index::open(&captures, opts, false, a.quiet)?;
    let req = SearchRequest {
        query: a.query.clone(),
        limit: a.limit,
        facets: a.facet.clone(),
        facet_size: a.facet_size,
        histogram: a.histogram,
    };
    let t = std::time::Instant::now();
    let res = match ix.search(&req) {
        Ok(r) => r,
        Err(e) => {
            say!("analyzer: query: {e}");
            if let Some(p) = e.position {
                say!("  {}", capture::text::escape_controls(&a.query));
                say!(
                    "  {}^",
                    " ".repeat(a.query[..p.min(a.query.len())].chars().count())
                );
            }
            return Ok(ExitCode::from(2));
        }
    };
    let took = t.elapsed();
    let opened = engine::source::open(&a.capture)?;
    let cap = opened.capture;
    let anchor = cap.meta().map(|m| m.boot_time_unix_ns).unwrap_or(0);
    let source = a.capture.display().to_string();
    let host = cap.meta().map(|m| m.hostname.clone()).unwrap_or_default();
    let mut text = String::new();
    let mut cached: Option<(usize, capture::LoadedChunk)> = None;
    for h in &res.hits {
        if cached.as_ref().is_none_or(|(i, _)| *i != h.chunk) {
            cached = cap.load_chunk(h.chunk).ok().map(|c| (h.chunk, c));
        }
        let Some(e) = cached.as_ref().and_then(|(_, c)| c.event(h.pos)) else {
            say!(
                "analyzer: event {} is not readable in the capture (damaged chunk {})",
                h.evt_num,
                h.chunk
            );
            continue;
        };
        if a.json {
            // The shape of `analyzer events --json`.
            let mut v = engine::print::json(&e, anchor);
            if let Some(o) = v.as_object_mut() {
                o.insert("capture".into(), source.as_str().into());
                o.insert("hostname".into(), host.as_str().into());
            }
            text += &v.to_string();
        } else {
            text += &engine::print::line(&e, anchor);
        }
        text.push('\n');
    }
    if a.json {
        text += &serde_json::json!({"total": res.total, "shown": res.hits.len()}).to_string();
        text.push('\n');
        for (f, values) in &res.facets {
            let v: Vec<_> = values
                .iter()
                .map(|(k, n)| serde_json::json!({"value": k, "count": n}))
                .collect();
            text += &serde_json::json!({"facet": f, "values": v}).to_string();
            text.push('\n');
        }
        if a.histogram.is_some() {
            let v: Vec<_> = res
                .histogram
                .iter()
                .map(|(s, n)| serde_json::json!({"start": capture::text::rfc3339(*s), "count": n}))
                .collect();
            text += &serde_json::json!({"histogram": v}).to_string();
            text.push('\n');
        }
    } else {
        for (f, values) in &res.facets {
            text += &format!("-- {f}\n");
            for (k, n) in values {
                text += &format!("{n:>10}  {}\n", capture::text::escape_controls(k));
            }
        }
        if a.histogram.is_some() {
            text += "-- histogram\n";
            for (s, n) in &res.histogram {
                text += &format!("{}  {n}\n", capture::text::rfc3339(*s));
            }
        }
    }
    out(&text);
    if !a.quiet {
        say!(
            "analyzer: {} event(s) match, {} shown, in {:.1} ms",
            res.total,
            res.hits.len(),
            took.as_secs_f64() * 1e3
        );
    }
    Ok(ExitCode::SUCCESS)
}
