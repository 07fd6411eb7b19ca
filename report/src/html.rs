//! The HTML document: inline CSS and SVG, no script, no external resource.

use std::collections::BTreeMap;
use std::fmt::Write;

use capture::text::rfc3339;
use engine::eval::Val;
use engine::Alert;
use ruleset::Priority;

use crate::{Activity, Input, ANCESTORS};

/// Text from a capture or a rule file, safe inside HTML text and
/// attributes: control characters shown as escapes, markup escaped.
fn esc(s: &str) -> String {
    quick_xml::escape::escape(capture::text::escape_controls(s).as_ref()).into_owned()
}

fn color(p: Priority) -> &'static str {
    match p {
        Priority::Emergency | Priority::Alert => "#7f1d1d",
        Priority::Critical => "#b91c1c",
        Priority::Error => "#dc2626",
        Priority::Warning => "#d97706",
        Priority::Notice => "#2563eb",
        Priority::Informational => "#059669",
        Priority::Debug => "#6b7280",
    }
}

fn badge(p: Priority) -> String {
    format!(
        "<span class=\"badge\" style=\"background:{}\">{}</span>",
        color(p),
        p.name()
    )
}

/// An alert's evidence field, rendered; `None` when it could not be filled.
fn field(a: &Alert, name: &str) -> Option<String> {
    a.output_fields
        .iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| match v {
            Val::NA => None,
            Val::Str(s) if s.is_empty() => None,
            v => Some(v.render()),
        })
}

/// A field for display: its value, or why there is none.
fn shown(a: &Alert, name: &str) -> String {
    match field(a, name) {
        Some(v) => esc(&v),
        None => "<span class=\"na\">not available</span>".into(),
    }
}

const CSS: &str = r#"
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111827; margin: 0; background: #f9fafb; }
main { max-width: 1200px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 2px solid #e5e7eb; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
.meta { color: #4b5563; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 16px 0; }
.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 10px 14px; min-width: 120px; }
.card .n { font-size: 22px; font-weight: 700; }
table { border-collapse: collapse; width: 100%; background: #fff; margin: 6px 0 12px; }
th, td { border: 1px solid #e5e7eb; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; word-break: break-all; }
.badge { color: #fff; border-radius: 4px; padding: 1px 6px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.bad { color: #b91c1c; font-weight: 600; }
.good { color: #047857; font-weight: 600; }
.na { color: #9ca3af; font-style: italic; }
.tree, .tree ul { list-style: none; margin: 0; padding-left: 18px; }
.tree li { margin: 2px 0; border-left: 1px solid #d1d5db; padding-left: 8px; }
.tree .alert { color: #374151; }
.evidence { background: #fff; border: 1px solid #e5e7eb; border-left: 6px solid; border-radius: 6px; padding: 8px 12px; margin: 10px 0; break-inside: avoid; }
.evidence table { margin: 4px 0 0; }
.evidence th { width: 170px; }
svg { background: #fff; border: 1px solid #e5e7eb; }
@media print {
  body { background: #fff; font-size: 11px; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  tr, .card { break-inside: avoid; }
}
"#;

/// The report.
pub fn html(inp: &Input<'_>) -> String {
    let mut s = String::with_capacity(64 << 10);
    let _ = writeln!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{CSS}</style></head><body><main>",
        esc(&inp.title)
    );
    let _ = writeln!(
        s,
        "<h1>{}</h1><div class=\"meta\">Ferret incident report, made {} by ferret {} with rules from {}</div>",
        esc(&inp.title),
        rfc3339(inp.generated_ns),
        env!("CARGO_PKG_VERSION"),
        esc(&inp.rule_files.join(", "))
    );
    overview(&mut s, inp);
    captures(&mut s, inp);
    alerts_by_rule(&mut s, inp);
    timeline(&mut s, inp);
    process_tree(&mut s, inp);
    activity(&mut s, inp);
    evidence(&mut s, inp);
    s.push_str("</main></body></html>\n");
    s
}

fn overview(s: &mut String, inp: &Input<'_>) {
    let mut by_prio: BTreeMap<Priority, usize> = BTreeMap::new();
    for a in &inp.alerts {
        *by_prio.entry(a.priority).or_default() += 1;
    }
    let events: u64 = inp.captures.iter().map(|c| c.summary.events).sum();
    let lost: u64 = inp.captures.iter().map(|c| c.summary.lost_events).sum();
    let damaged: usize = inp.captures.iter().map(|c| c.damage.len()).sum();
    s.push_str("<div class=\"cards\">");
    let _ = write!(
        s,
        "<div class=\"card\"><div class=\"n\">{}</div>alerts</div>",
        inp.alerts.len()
    );
    for (p, n) in &by_prio {
        let _ = write!(
            s,
            "<div class=\"card\" style=\"border-color:{}\"><div class=\"n\" style=\"color:{}\">{n}</div>{}</div>",
            color(*p),
            color(*p),
            p.name()
        );
    }
    let _ = writeln!(
        s,
        "<div class=\"card\"><div class=\"n\">{events}</div>events in {} capture(s)</div>\
         <div class=\"card\"><div class=\"n{}\">{lost}</div>events lost while recording</div>\
         <div class=\"card\"><div class=\"n{}\">{damaged}</div>damaged chunks</div></div>",
        inp.captures.len(),
        if lost > 0 { " bad" } else { "" },
        if damaged > 0 { " bad" } else { "" }
    );
}

fn captures(s: &mut String, inp: &Input<'_>) {
    s.push_str("<h2>Captures and their integrity</h2>\n");
    for c in &inp.captures {
        let m = c.summary;
        let opt = |v: &Option<String>| {
            v.as_deref()
                .map(esc)
                .unwrap_or_else(|| "<span class=\"na\">not recorded</span>".into())
        };
        let _ = writeln!(
            s,
            "<h3 class=\"mono\">{}</h3><table>\
             <tr><th>Host</th><td>{}</td><th>Kernel</th><td>{} ({})</td></tr>\
             <tr><th>Recorder</th><td>{}</td><th>Source</th><td>{}</td></tr>\
             <tr><th>First event</th><td>{}</td><th>Last event</th><td>{}</td></tr>\
             <tr><th>Events</th><td class=\"num\">{}</td><th>Size</th><td class=\"num\">{} bytes</td></tr>\
             <tr><th>Chain head</th><td colspan=\"3\" class=\"mono\">{}</td></tr>\
             </table>",
            esc(&m.file),
            opt(&m.hostname),
            opt(&m.kernel_release),
            opt(&m.arch),
            opt(&m.recorder),
            opt(&m.source),
            opt(&m.first_event),
            opt(&m.last_event),
            m.events,
            m.file_bytes,
            match &m.chain_head {
                Some(h) => format!("{} <span class=\"good\">finished: trailer and index present</span>", esc(h)),
                None => "<span class=\"bad\">unfinished: no trailer (the recorder stopped without closing the file); every intact chunk was read</span>".into(),
            }
        );
        if c.damage.is_empty() && m.problems.is_empty() {
            s.push_str("<p class=\"good\">Every chunk was read intact.</p>\n");
        } else {
            s.push_str("<p class=\"bad\">Damage: the events of these chunks are missing from everything below.</p><ul>");
            let mut seen = std::collections::BTreeSet::new();
            for p in m.problems.iter().chain(&c.damage) {
                if seen.insert(p) {
                    let _ = write!(s, "<li class=\"mono\">{}</li>", esc(p));
                }
            }
            s.push_str("</ul>\n");
        }
        if c.gaps.is_empty() {
            s.push_str("<p class=\"good\">No events were lost while recording.</p>\n");
        } else {
            let lost: u64 = c.gaps.iter().map(|g| g.count).sum();
            let _ = write!(
                s,
                "<p class=\"bad\">{lost} event(s) were lost while recording, in {} recorded gap(s); alerts inside a gap are marked.</p>\
                 <table><tr><th>CPU</th><th>Events lost</th><th>From</th><th>To</th></tr>",
                c.gaps.len()
            );
            for g in c.gaps.iter().take(50) {
                let _ = write!(
                    s,
                    "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                    g.cpu,
                    g.count,
                    rfc3339(g.first_ts.wrapping_add(c.anchor)),
                    rfc3339(g.last_ts.wrapping_add(c.anchor))
                );
            }
            if c.gaps.len() > 50 {
                let _ = write!(
                    s,
                    "<tr><td colspan=\"4\">… and {} more</td></tr>",
                    c.gaps.len() - 50
                );
            }
            s.push_str("</table>\n");
        }
    }
}

fn alerts_by_rule(s: &mut String, inp: &Input<'_>) {
    s.push_str("<h2>Alerts by priority and rule</h2>\n");
    if inp.alerts.is_empty() {
        s.push_str("<p>No rule alerted.</p>\n");
        return;
    }
    let desc: BTreeMap<&str, &str> = inp
        .rules
        .iter()
        .map(|r| (r.name.as_str(), r.desc.as_str()))
        .collect();
    s.push_str("<table><tr><th>Priority</th><th>Rule</th><th>Alerts</th><th>First seen</th><th>Last seen</th><th>What it detects</th></tr>");
    for ((p, rule), t) in engine::run::tally_by_rule(inp.alerts.iter().copied()) {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            badge(p),
            esc(rule),
            t.count,
            rfc3339(t.first_ns),
            rfc3339(t.last_ns),
            esc(&desc.get(rule).copied().unwrap_or("").replace('\n', " "))
        );
    }
    s.push_str("</table>\n");
}

fn timeline(s: &mut String, inp: &Input<'_>) {
    let mut per_bin: BTreeMap<u64, u64> = BTreeMap::new();
    let bin_ns = inp.captures.first().map_or(1, |c| c.activity.bin_ns.max(1));
    for c in &inp.captures {
        for (b, n) in &c.activity.per_bin {
            *per_bin.entry(*b).or_default() += n;
        }
    }
    s.push_str("<h2>Timeline</h2>\n");
    let (Some((&lo, _)), Some((&hi, _))) = (per_bin.first_key_value(), per_bin.last_key_value())
    else {
        s.push_str("<p>No events.</p>\n");
        return;
    };
    let (w, h, left, top) = (1100.0f64, 220.0f64, 70.0f64, 20.0f64);
    let bins = hi - lo + 1;
    let max = per_bin.values().copied().max().unwrap_or(1).max(1);
    let plot_w = w - left - 10.0;
    let bar_h = 120.0;
    let bw = plot_w / bins as f64;
    let t0 = lo * bin_ns;
    let span_ns = (bins * bin_ns) as f64;
    let _ = write!(
        s,
        "<p class=\"meta\">Events per {} (bars) and alerts (marks, by priority) from {} to {}.</p>\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100%\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"timeline of events and alerts\">",
        human_duration(bin_ns),
        rfc3339(t0),
        rfc3339((hi + 1) * bin_ns)
    );
    for (b, n) in &per_bin {
        let bh = (*n as f64 / max as f64) * bar_h;
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{bh:.1}\" fill=\"#93c5fd\"><title>{n} events from {}</title></rect>",
            left + (b - lo) as f64 * bw,
            top + bar_h - bh,
            (bw * 0.9).max(0.5),
            rfc3339(b * bin_ns)
        );
    }
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{max}</text>\
         <line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#9ca3af\"/>",
        left - 4.0,
        top + 10.0,
        top + bar_h,
        w - 10.0,
        top + bar_h
    );
    // Alert marks: one row per priority that alerted.
    let mut prios: Vec<Priority> = inp.alerts.iter().map(|a| a.priority).collect();
    prios.sort();
    prios.dedup();
    for (row, p) in prios.iter().enumerate() {
        let y = top + bar_h + 18.0 + row as f64 * 14.0;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\" fill=\"{}\">{}</text>",
            left - 4.0,
            y + 4.0,
            color(*p),
            p.name()
        );
        for a in inp.alerts.iter().filter(|a| a.priority == *p) {
            let x = left + (a.time_ns.saturating_sub(t0) as f64 / span_ns) * plot_w;
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"3\" height=\"10\" fill=\"{}\"><title>{} {}</title></rect>",
                x - 1.5,
                y - 5.0,
                color(*p),
                rfc3339(a.time_ns),
                esc(&a.rule)
            );
        }
    }
    s.push_str("</svg>\n");
}

/// A bar width for people: 10 ms, 2.5 s, 3 min.
fn human_duration(ns: u64) -> String {
    let ms = ns as f64 / 1e6;
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 120_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{:.1} min", ms / 60_000.0)
    }
}

/// A process of the tree: by pid and name (a process that executes
/// another program appears once per program it ran).
type Key = (i64, String);

/// The process tree of the alerting processes: every process named in an
/// alert's ancestry, linked to its parent.
#[derive(Default)]
struct Tree {
    cmdline: BTreeMap<Key, String>,
    parent: BTreeMap<Key, Key>,
    children: BTreeMap<Key, Vec<Key>>,
    alerts: BTreeMap<Key, Vec<usize>>,
}

impl Tree {
    fn build(alerts: &[&Alert]) -> Tree {
        let mut t = Tree::default();
        for (i, a) in alerts.iter().enumerate() {
            let mut chain: Vec<(Key, Option<String>)> = Vec::new();
            for k in (1..=ANCESTORS).rev() {
                let pid = field(a, &format!("proc.apid[{k}]")).and_then(|p| p.parse().ok());
                if let Some(pid) = pid {
                    chain.push((
                        (
                            pid,
                            field(a, &format!("proc.aname[{k}]")).unwrap_or_default(),
                        ),
                        field(a, &format!("proc.acmdline[{k}]")),
                    ));
                }
            }
            chain.push((
                (
                    field(a, "proc.pid")
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(-1),
                    field(a, "proc.name").unwrap_or_default(),
                ),
                field(a, "proc.cmdline"),
            ));
            for w in chain.windows(2) {
                // The first parent seen wins (a reused pid keeps its place).
                if !t.parent.contains_key(&w[1].0) && w[1].0 != w[0].0 {
                    t.parent.insert(w[1].0.clone(), w[0].0.clone());
                }
            }
            for (k, cmd) in &chain {
                if let Some(c) = cmd {
                    t.cmdline.entry(k.clone()).or_insert_with(|| c.clone());
                }
                t.alerts.entry(k.clone()).or_default();
            }
            if let Some((k, _)) = chain.last() {
                t.alerts.entry(k.clone()).or_default().push(i);
            }
        }
        for (child, parent) in &t.parent {
            t.children
                .entry(parent.clone())
                .or_default()
                .push(child.clone());
        }
        t
    }

    fn roots(&self) -> Vec<&Key> {
        self.alerts
            .keys()
            .filter(|k| !self.parent.contains_key(*k))
            .collect()
    }

    fn total(&self, k: &Key, depth: usize) -> usize {
        if depth > 64 {
            return 0;
        }
        self.alerts.get(k).map_or(0, Vec::len)
            + self
                .children
                .get(k)
                .map_or(0, |c| c.iter().map(|c| self.total(c, depth + 1)).sum())
    }
}

fn process_tree(s: &mut String, inp: &Input<'_>) {
    s.push_str("<h2>Processes that alerted, with their ancestors</h2>\n");
    if inp.alerts.is_empty() {
        s.push_str("<p>No rule alerted.</p>\n");
        return;
    }
    let t = Tree::build(&inp.alerts);
    let _ = write!(
        s,
        "<p class=\"meta\">Up to {ANCESTORS} ancestors of each alerting process; counts include descendants.</p><ul class=\"tree\">"
    );
    for k in t.roots() {
        tree_node(s, inp, &t, k, 0);
    }
    s.push_str("</ul>\n");
}

fn tree_node(s: &mut String, inp: &Input<'_>, t: &Tree, key: &Key, depth: usize) {
    let total = t.total(key, 0);
    let _ = write!(
        s,
        "<li><b>{}</b> <span class=\"meta\">pid {}</span> <code>{}</code>{}",
        esc(&key.1),
        if key.0 < 0 {
            "?".to_string()
        } else {
            key.0.to_string()
        },
        esc(t.cmdline.get(key).map_or("", String::as_str)),
        if total > 0 {
            format!(" <span class=\"bad\">{total} alert(s)</span>")
        } else {
            String::new()
        }
    );
    let own = t.alerts.get(key).map_or(&[][..], Vec::as_slice);
    let kids = t.children.get(key).map_or(&[][..], Vec::as_slice);
    if (!own.is_empty() || !kids.is_empty()) && depth < 64 {
        s.push_str("<ul>");
        for ((p, rule), tally) in engine::run::tally_by_rule(own.iter().map(|&i| inp.alerts[i])) {
            let _ = write!(
                s,
                "<li class=\"alert\">{} {} ×{}</li>",
                badge(p),
                esc(rule),
                tally.count
            );
        }
        for c in kids {
            tree_node(s, inp, t, c, depth + 1);
        }
        s.push_str("</ul>");
    }
    s.push_str("</li>");
}

fn activity(s: &mut String, inp: &Input<'_>) {
    for (title, pick, what) in [
        (
            "Files opened most",
            (|a: &Activity| &a.files)
                as fn(&Activity) -> &rustc_hash::FxHashMap<String, crate::Use>,
            "File",
        ),
        (
            "Connections made or accepted most",
            |a: &Activity| &a.connections,
            "Connection",
        ),
    ] {
        let _ = writeln!(s, "<h2>{title}</h2>");
        let mut merged: rustc_hash::FxHashMap<String, crate::Use> = Default::default();
        for c in &inp.captures {
            for (k, u) in pick(c.activity) {
                let e = merged.entry(k.clone()).or_default();
                e.count += u.count;
                for p in &u.procs {
                    if e.procs.len() < crate::Use::MAX_PROCS && !e.procs.contains(p) {
                        e.procs.push(p.clone());
                    }
                }
            }
        }
        if merged.is_empty() {
            s.push_str("<p>None in the captures.</p>\n");
            continue;
        }
        let _ = write!(
            s,
            "<p class=\"meta\">{} distinct; the 25 most used.</p><table><tr><th>{what}</th><th>Calls</th><th>Processes</th></tr>",
            merged.len()
        );
        for (k, u) in Activity::top(&merged, 25) {
            let _ = write!(
                s,
                "<tr><td class=\"mono\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                esc(k),
                u.count,
                esc(&u.procs.join(", "))
            );
        }
        s.push_str("</table>\n");
    }
    s.push_str("<h2>Containers</h2>\n");
    let mut alerts_by: BTreeMap<String, usize> = BTreeMap::new();
    for a in &inp.alerts {
        if let Some(id) = field(a, "container.id") {
            *alerts_by.entry(id).or_default() += 1;
        }
    }
    let containers: Vec<&engine::summary::ContainerSummary> = inp
        .captures
        .iter()
        .flat_map(|c| &c.summary.containers)
        .collect();
    if containers.is_empty() {
        s.push_str("<p>The captures describe no container.</p>\n");
    } else {
        s.push_str("<table><tr><th>Id</th><th>Name</th><th>Image</th><th>Runtime</th><th>Pod</th><th>Alerts</th><th>Not recorded</th></tr>");
        for c in containers {
            let short: String = c.id.chars().take(12).collect();
            let opt = |v: &Option<String>| {
                v.as_deref()
                    .map(esc)
                    .unwrap_or_else(|| "<span class=\"na\">not available</span>".into())
            };
            let _ = write!(
                s,
                "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                esc(&short),
                opt(&c.name),
                opt(&c.image),
                opt(&c.runtime),
                opt(&c.pod),
                alerts_by.get(&short).copied().unwrap_or(0),
                esc(&c.missing.iter().map(|(f, why)| format!("{f}: {why}")).collect::<Vec<_>>().join("; "))
            );
        }
        s.push_str("</table>\n");
    }
    if let Some(n) = alerts_by.get("host") {
        let _ = writeln!(
            s,
            "<p>{n} alert(s) came from processes on the host (outside any container).</p>"
        );
    }
}

fn evidence(s: &mut String, inp: &Input<'_>) {
    s.push_str("<h2>Evidence</h2>\n");
    if inp.alerts.is_empty() {
        s.push_str("<p>No rule alerted.</p>\n");
        return;
    }
    let mut order: Vec<&Alert> = inp.alerts.clone();
    order.sort_by_key(|a| (a.priority, a.time_ns));
    if order.len() > inp.evidence_limit {
        let _ = writeln!(
            s,
            "<p class=\"meta\">The {} most severe of {} alerts (all are counted above).</p>",
            inp.evidence_limit,
            order.len()
        );
    }
    for a in order.iter().take(inp.evidence_limit) {
        let mut ancestry = String::new();
        for k in 1..=ANCESTORS {
            if let Some(pid) = field(a, &format!("proc.apid[{k}]")) {
                let _ = write!(
                    ancestry,
                    "<div>{} {} <span class=\"meta\">pid {}</span> <code>{}</code></div>",
                    "↑".repeat(k),
                    esc(&field(a, &format!("proc.aname[{k}]")).unwrap_or_default()),
                    esc(&pid),
                    esc(&field(a, &format!("proc.acmdline[{k}]")).unwrap_or_default())
                );
            }
        }
        if ancestry.is_empty() {
            ancestry = "<span class=\"na\">not available (the process started before the capture, or its parent is unknown)</span>".into();
        }
        let pod = match (field(a, "k8s.ns.name"), field(a, "k8s.pod.name")) {
            (Some(ns), Some(pod)) => esc(&format!("{ns}/{pod}")),
            _ => "<span class=\"na\">none</span>".into(),
        };
        let _ = writeln!(
            s,
            "<div class=\"evidence\" style=\"border-left-color:{}\">\
             <div>{} <b>{}</b> <span class=\"meta\">{} · {} event {}{}</span></div>\
             <div class=\"mono\">{}</div><table>\
             <tr><th>Event</th><td><code>{} {}</code></td></tr>\
             <tr><th>Process</th><td>{} <span class=\"meta\">pid {}</span> <code>{}</code><br>exe {} · cwd {} · user {}</td></tr>\
             <tr><th>Ancestry</th><td>{ancestry}</td></tr>\
             <tr><th>File or connection</th><td><code>{}</code> <span class=\"meta\">{}</span></td></tr>\
             <tr><th>Container</th><td>{} {} <span class=\"meta\">{}</span></td></tr>\
             <tr><th>Pod</th><td>{pod}</td></tr>\
             </table></div>",
            color(a.priority),
            badge(a.priority),
            esc(&a.rule),
            rfc3339(a.time_ns),
            esc(&a.source),
            a.evt_num,
            if a.in_gap { " · <span class=\"bad\">in a recorded gap</span>" } else { "" },
            esc(&a.output),
            shown(a, "evt.type"),
            shown(a, "evt.args"),
            shown(a, "proc.name"),
            shown(a, "proc.pid"),
            shown(a, "proc.cmdline"),
            shown(a, "proc.exepath"),
            shown(a, "proc.cwd"),
            shown(a, "user.name"),
            shown(a, "fd.name"),
            shown(a, "fd.type"),
            shown(a, "container.id"),
            shown(a, "container.name"),
            shown(a, "container.image"),
        );
    }
}
