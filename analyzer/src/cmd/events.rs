//! `analyzer events`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::{add_scap_num, open_input, out};

/// Arguments of `analyzer events`.
#[derive(clap::Args)]
pub struct Args {
    /// Capture files (Ferret captures or sysdig/Falco .scap traces). The
    /// files of one rotated recording are listed in segment order as one
    /// state; others one after the other, each from its own snapshot.
    #[arg(required = true)]
    pub captures: Vec<PathBuf>,
    /// Only these event types (comma-separated names: openat,execve).
    #[arg(long, value_delimiter = ',')]
    pub kind: Vec<String>,
    /// Only events of this process (tgid).
    #[arg(long)]
    pub pid: Option<u32>,
    /// Stop after this many events.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Print JSON lines (fields: num, time, ts, cpu, pid, tid, type, ret
    /// (null without a result), args, capture, hostname; with --format,
    /// {"num", "output", "capture", "hostname"}; on a .scap trace also
    /// scap_evt_num, sysdig's number for the event).
    #[arg(long)]
    pub json: bool,
    /// Only events matching this condition, in Falco's rule language
    /// (sysdig's filter): 'evt.type=openat and fd.name startswith /etc'.
    /// Macros and lists of --rules files may be used.
    #[arg(long, short = 'f')]
    pub filter: Option<String>,
    /// Print each event with this format instead ('%evt.num %proc.name
    /// %fd.name', like sysdig -p); missing values print as <NA>.
    #[arg(long, short = 'p')]
    pub format: Option<String>,
    /// Rule files or directories whose macros and lists --filter may use
    /// (their rules are not evaluated).
    #[arg(long)]
    pub rules: Vec<PathBuf>,
    /// With several captures (hosts), list the events of all of them in
    /// wall-clock order (each recording still has its own state). The
    /// selected events are held until the last capture is read, then
    /// printed; --limit then takes the first by time.
    #[arg(long)]
    pub merge: bool,
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    // Directories and merged captures stand for the recordings they hold.
    let a = Args {
        captures: engine::source::expand_inputs(&a.captures)?,
        ..a
    };
    let Args {
        captures,
        kind,
        pid,
        limit,
        json,
        filter,
        format,
        rules,
        merge,
    } = a;
    let selector = if filter.is_some() || format.is_some() {
        match ruleset::filter::compile(&rules, filter.as_deref(), format.as_deref()) {
            Ok(f) => Some(f),
            Err(diags) => {
                for d in &diags {
                    say_part!("{}", d.render());
                }
                return Ok(ExitCode::from(2));
            }
        }
    } else {
        None
    };
    let mut kinds = capture::KindSet::EMPTY;
    // Calls without a kind of their own are generic events named
    // by their number.
    let mut generic: Vec<&str> = Vec::new();
    for k in &kind {
        match capture::kind_by_name(k) {
            Some(info) => kinds.insert(info.id),
            None if capture::syscalls::x86_64_number(k).is_some() => {
                kinds.insert(capture::kind::id::GENERIC);
                generic.push(k);
            }
            None => anyhow::bail!("unknown event type {k:?}"),
        }
    }
    let filter_kinds = !kind.is_empty();
    let plan = crate::plan_captures(&captures, true)?;
    let mut ends: std::collections::HashMap<usize, engine::state::State> = Default::default();
    let mut printed = 0u64;
    let mut held: Vec<(u64, usize, String)> = Vec::new();
    let mut text = String::new();
    let mut bad = 0;
    let mut any_damaged = false;
    'captures: for &ci in &plan.order {
        let path = &captures[ci];
        let (cap, damaged, import) = open_input(path, true)?;
        // What the file lost outside its chunks (metadata, snapshot,
        // index): said before the events, which are all still listed.
        for p in cap.problems() {
            say!("analyzer: {p}");
        }
        any_damaged |= damaged || !cap.problems().is_empty();
        // State (processes, fds) is replayed from the start when the
        // filter or format may need it, so every chunk is read then.
        let sel = cap.select_chunks(
            if filter_kinds && selector.is_none() {
                &kinds
            } else {
                &capture::KindSet::ALL
            },
            0,
            u64::MAX,
        );
        let anchor = cap.meta().map(|m| m.boot_time_unix_ns).unwrap_or(0);
        // The state engine runs only when a filter or format needs it; the
        // next file of a rotated recording continues its state.
        let mut replay = selector.as_ref().map(|_| {
            let snap = cap.snapshot().ok().flatten().unwrap_or_default();
            let facts = engine::replay::CaptureFacts::of(&cap, &path.display().to_string());
            match plan.continues[ci].and_then(|p| ends.remove(&p)) {
                Some(st) => engine::replay::Replay::from_state(st.continue_with(&snap), facts),
                None => engine::replay::Replay::new(&snap, facts),
            }
        });
        let source = path.display().to_string();
        let host = cap.meta().map(|m| m.hostname.clone()).unwrap_or_default();
        for i in sel {
            let c = match cap.load_chunk(i) {
                Ok(c) => c,
                Err(e) => {
                    say!("analyzer: skipping damaged chunk: {e}");
                    bad += 1;
                    continue;
                }
            };
            for e in c.events() {
                let generic_ok = e.kind != capture::kind::id::GENERIC
                    || generic.is_empty()
                    || generic.contains(&e.kind_name().as_ref());
                let wanted = (!filter_kinds || kinds.contains(e.kind))
                    && generic_ok
                    && pid.is_none_or(|p| p == e.pid);
                // None: not listed; Some(None): the event's own line;
                // Some(Some(text)): the --format text.
                let shown: Option<Option<String>> = match (&selector, &mut replay) {
                    (Some(sel), Some(r)) => r.step(&e, |cx| {
                        let hit = wanted
                            && sel
                                .program
                                .as_ref()
                                .is_none_or(|p| engine::eval::matches_in(p, cx));
                        hit.then(|| {
                            sel.format
                                .as_ref()
                                .map(|f| engine::eval::format_output_in(f, cx).0)
                        })
                    }),
                    _ if !wanted => None,
                    _ => Some(None),
                };
                let line = shown.map(|formatted| match (formatted, json) {
                    (Some(out), false) => capture::text::escape_controls(&out).into_owned(),
                    (None, false) => engine::print::line(&e, anchor),
                    (formatted, true) => {
                        let mut v = match formatted {
                            Some(out) => serde_json::json!({"num": e.seq + 1, "output": out}),
                            None => engine::print::json(&e, anchor),
                        };
                        add_scap_num(&mut v, import.as_ref(), e.seq);
                        if let Some(o) = v.as_object_mut() {
                            o.insert("capture".into(), source.as_str().into());
                            o.insert("hostname".into(), host.as_str().into());
                        }
                        v.to_string()
                    }
                });
                let Some(line) = line else { continue };
                if merge {
                    held.push((e.ts.wrapping_add(anchor), held.len(), line));
                    continue;
                }
                if limit.is_some_and(|l| printed >= l) {
                    break 'captures;
                }
                text += &line;
                text.push('\n');
                printed += 1;
                if text.len() > 1 << 16 {
                    out(&text);
                    text.clear();
                }
            }
        }
        if plan.has_next[ci] {
            if let Some(r) = replay.take() {
                ends.insert(ci, r.state().clone());
            }
        }
    }
    if merge {
        // Stable: events of one instant keep their capture order.
        held.sort_by_key(|(t, i, _)| (*t, *i));
        let n = limit.map_or(held.len(), |l| (l as usize).min(held.len()));
        for (_, _, line) in held.into_iter().take(n) {
            text += &line;
            text.push('\n');
            if text.len() > 1 << 16 {
                out(&text);
                text.clear();
            }
        }
    }
    out(&text);
    Ok(if bad > 0 || any_damaged {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
