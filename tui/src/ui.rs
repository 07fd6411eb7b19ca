//! Rendering: reads the model and draws the screen. Generic over the
//! backend, so tests draw into a `TestBackend`.
//!
//! ```text
//! header: capture, host, events, alerts, work in progress
//! breadcrumb: where pivots came from
//! problems (capture damage, lost events, rule errors), when any
//! body: the view
//! message line (or the line being typed)
//! key hints (always shown)
//! ```

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline, Wrap};
use ratatui::Frame;

use crate::app::{AlertRow, App, Mode, ViewKind};

fn prio_color(p: ruleset::Priority) -> Color {
    use ruleset::Priority::*;
    match p {
        Emergency | Alert | Critical => Color::Red,
        Error => Color::LightRed,
        Warning => Color::Yellow,
        Notice => Color::Cyan,
        _ => Color::Gray,
    }
}

/// Text from a capture or rule file, with control characters shown as
/// escapes: a process named with an escape sequence cannot drive the
/// terminal.
fn esc(s: &str) -> String {
    capture::text::escape_controls(s).into_owned()
}

fn time_of(ns: u64) -> String {
    capture::text::rfc3339(ns)
}

/// The rows to show so that `sel` is visible in `height` rows.
pub fn window(len: usize, sel: usize, height: usize) -> std::ops::Range<usize> {
    if len == 0 || height == 0 {
        return 0..0;
    }
    let start = sel
        .saturating_sub(height / 2)
        .min(len.saturating_sub(height));
    start..(start + height).min(len)
}

fn selected(l: Line<'static>, yes: bool) -> Line<'static> {
    if yes {
        l.style(Style::default().add_modifier(Modifier::REVERSED))
    } else {
        l
    }
}

/// Draws the whole screen.
pub fn draw(f: &mut Frame<'_>, app: &mut App) {
    let problems = app.problems.len().min(2) as u16;
    let [header, crumb, probs, body, message, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(problems),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(f.area());

    // Header.
    let host = app
        .cap
        .meta()
        .map(|m| m.hostname.clone())
        .unwrap_or_else(|| "host unknown".into());
    let mut head = format!(
        " {}{}  {}  {} events  {}",
        if app.capture_label.is_empty() {
            String::new()
        } else {
            format!("[{}] ", app.capture_label)
        },
        app.cap.name(),
        host,
        app.events_total,
        app.alerts_status
    );
    for (what, pct) in app.busy() {
        head.push_str(&format!("  | {what} {pct}%"));
    }
    f.render_widget(
        Paragraph::new(esc(&head)).style(Style::default().add_modifier(Modifier::BOLD)),
        header,
    );
    f.render_widget(
        Paragraph::new(esc(&format!(" {}", app.breadcrumb().join(" > "))))
            .style(Style::default().fg(Color::Cyan)),
        crumb,
    );
    if problems > 0 {
        let mut lines: Vec<Line<'_>> = Vec::new();
        let n = app.problems.len();
        lines.push(Line::from(esc(&format!(
            " ! {}{}",
            app.problems[0],
            if n > 1 {
                format!("  ({n} problems: ! lists them)")
            } else {
                String::new()
            }
        ))));
        if n > 1 {
            lines.push(Line::from(esc(&format!(" ! {}", app.problems[1]))));
        }
        f.render_widget(
            Paragraph::new(lines).style(Style::default().fg(Color::LightRed)),
            probs,
        );
    }

    // Body.
    match app.view {
        ViewKind::Alerts => draw_alerts(f, app, body),
        ViewKind::Timeline => draw_timeline(f, app, body),
        ViewKind::Processes => draw_processes(f, app, body),
        ViewKind::Detail => draw_detail(f, app, body),
        ViewKind::Stream => draw_stream(f, app, body),
        ViewKind::Problems => draw_problems(f, app, body),
        ViewKind::Help => draw_help(f, app, body),
    }

    // Message or input line.
    if app.mode != Mode::Normal {
        let prompt = match app.mode {
            Mode::Search if app.view == ViewKind::Processes => "filter tree: ",
            Mode::Search => "search: /",
            Mode::Filter => "filter (Falco condition): ",
            Mode::Note => "note: ",
            Mode::Command => ":",
            Mode::Query => "index query: ",
            Mode::Normal => "",
        };
        let mut spans = vec![
            Span::styled(prompt.to_string(), Style::default().fg(Color::Yellow)),
            Span::raw(esc(&app.input)),
        ];
        if let Some((col, why)) = &app.input_error {
            spans.push(Span::styled(
                format!("   <- column {}: {}", col + 1, esc(why)),
                Style::default().fg(Color::LightRed),
            ));
        }
        f.render_widget(Paragraph::new(Line::from(spans)), message);
        let x = message.x + (prompt.len() + app.input.chars().count()) as u16;
        f.set_cursor_position((x.min(message.right().saturating_sub(1)), message.y));
    } else if !app.message.is_empty() {
        let style = if app.message_is_error {
            Style::default().fg(Color::LightRed)
        } else {
            Style::default().fg(Color::Green)
        };
        f.render_widget(Paragraph::new(esc(&app.message)).style(style), message);
    }
    f.render_widget(
        Paragraph::new(crate::keys::hints(app.view))
            .style(Style::default().bg(Color::DarkGray).fg(Color::White)),
        hints,
    );
}

fn list_area(app: &mut App, area: Rect, title: String) -> (Block<'static>, Rect) {
    let block = Block::default().borders(Borders::ALL).title(esc(&title));
    let inner = block.inner(area);
    app.page = inner.height.max(1) as usize;
    app.body_top = inner.y;
    (block, inner)
}

fn draw_alerts(f: &mut Frame<'_>, app: &mut App, area: Rect) {
    let diags: Vec<String> = app.rule_diags.iter().map(crate::app::diag_line).collect();
    let diag_rows = diags.len().min(6) as u16;
    let [list, diag_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(if diag_rows > 0 { diag_rows + 2 } else { 0 }),
    ])
    .areas(area);
    let title = format!(" Alerts by rule: {} ", app.alerts_status);
    let (block, inner) = list_area(app, list, title);
    let width = inner.width as usize;
    let rule_w = app
        .groups
        .iter()
        .map(|g| g.rule.chars().count())
        .max()
        .unwrap_or(0)
        .min(48);
    let mut lines: Vec<Line<'static>> = Vec::new();
    for i in window(app.alert_rows.len(), app.alert_row, inner.height as usize) {
        let l = match app.alert_rows[i] {
            AlertRow::Group(g) => {
                let gr = &app.groups[g];
                Line::from(vec![
                    Span::raw(if gr.expanded { "v " } else { "> " }),
                    Span::styled(
                        format!("{:<9}", gr.priority.name()),
                        Style::default()
                            .fg(prio_color(gr.priority))
                            .add_modifier(Modifier::BOLD),
                    ),
                    Span::raw(format!("{:>6}  ", gr.alerts.len())),
                    Span::styled(
                        format!("{:<rule_w$.rule_w$}", esc(&gr.rule)),
                        Style::default().add_modifier(Modifier::BOLD),
                    ),
                    Span::raw(format!(
                        "  {} .. {}",
                        time_of(gr.first_ns),
                        time_of(gr.last_ns)
                    )),
                ])
            }
            AlertRow::Alert(g, k) => {
                let a = &app.alerts[app.groups[g].alerts[k]];
                let gap = if a.in_gap { " [in a gap]" } else { "" };
                let text = format!(
                    "      {}  #{:<8}{gap} {}",
                    time_of(a.time_ns),
                    a.evt_num,
                    a.output
                );
                Line::from(
                    esc(&text)
                        .chars()
                        .take(width.max(1) * 3)
                        .collect::<String>(),
                )
            }
        };
        lines.push(selected(l, i == app.alert_row));
    }
    if app.alert_rows.is_empty() {
        lines.push(Line::from(
            if app.busy().iter().any(|(w, _)| w == "rules") {
                "running the rules over the capture...".to_string()
            } else {
                "no alerts".to_string()
            },
        ));
    }
    f.render_widget(Paragraph::new(lines).block(block), list);
    if diag_rows > 0 {
        let errors = app
            .rule_diags
            .iter()
            .filter(|d| d.severity == ruleset::Severity::Error)
            .count();
        let lines: Vec<Line<'_>> = diags.iter().take(6).map(|d| Line::from(esc(d))).collect();
        f.render_widget(
            Paragraph::new(lines).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(format!(
                        " Rules: {errors} errors, {} warnings (analyzer validate lists all) ",
                        diags.len() - errors
                    ))
                    .border_style(Style::default().fg(if errors > 0 {
                        Color::LightRed
                    } else {
                        Color::Yellow
                    })),
            ),
            diag_area,
        );
    }
}

fn draw_timeline(f: &mut Frame<'_>, app: &mut App, area: Rect) {
    let [hist, list] = Layout::vertical([Constraint::Length(2), Constraint::Min(3)]).areas(area);
    let h = app.histogram(hist.width as usize);
    let [h1, h2] = Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(hist);
    f.render_widget(
        Sparkline::default()
            .data(h.events.iter().copied())
            .style(Style::default().fg(Color::Blue)),
        h1,
    );
    let mut marks: String = h
        .alerts
        .iter()
        .map(|&n| if n > 0 { '!' } else { ' ' })
        .collect();
    if let Some(c) = h.cursor {
        marks.replace_range(
            marks
                .char_indices()
                .nth(c)
                .map_or(0..0, |(i, ch)| i..i + ch.len_utf8()),
            "^",
        );
    }
    f.render_widget(
        Paragraph::new(marks).style(Style::default().fg(Color::LightRed)),
        h2,
    );
    let span_text = format!(
        "{} .. {}{}",
        time_of(h.from_ns),
        time_of(h.to_ns),
        if app.zoom > 0 {
            format!(" (zoom 1/{}, - zooms out)", 1u64 << app.zoom)
        } else {
            String::new()
        }
    );
    let title = format!(
        " {} ({} events)  {span_text}{} ",
        app.label(),
        app.timeline_len(),
        if app.columns.is_empty() {
            String::new()
        } else {
            format!("  columns: {}", app.columns.join(" "))
        }
    );
    let (block, inner) = list_area(app, list, title);
    let search = app.search.as_ref().map(|(t, _)| t.to_lowercase());
    let mut lines: Vec<Line<'static>> = Vec::new();
    let range = window(
        app.timeline_len() as usize,
        app.timeline_row as usize,
        inner.height as usize,
    );
    for row in range {
        let Some(seq) = app.timeline_seq(row as u64) else {
            continue;
        };
        let mark = if app.marks.get(seq + 1).is_some() {
            "*"
        } else {
            " "
        };
        let alert = if app.alerts_on(seq).next().is_some() {
            "!"
        } else {
            " "
        };
        let text = match app.event_line(seq) {
            Ok(line) => {
                // num time cpu pid/tid type rest
                let mut it = line.splitn(6, ' ');
                let num = it.next().unwrap_or("");
                let time = it.next().unwrap_or("");
                let _cpu = it.next();
                let pidtid = it.next().unwrap_or("");
                let kind = it.next().unwrap_or("");
                let rest = it.next().unwrap_or("").to_string();
                let comm = app.event_comm(seq).unwrap_or_default();
                let clock = time.split('T').nth(1).unwrap_or(time).trim_end_matches('Z');
                let cols = match app.column_values(seq) {
                    Some(v) => v.iter().map(|c| format!("{c:<32.32} ")).collect::<String>(),
                    None => app
                        .columns
                        .iter()
                        .map(|_| format!("{:<32} ", "..."))
                        .collect(),
                };
                format!("{mark}{alert}{num:>8} {clock:<18} {comm:<15.15} {pidtid:<13} {cols}{kind:<12} {rest}")
            }
            Err(why) => format!("{mark}{alert}{:>8} <{why}>", seq + 1),
        };
        let text = esc(&text);
        let gap = text.contains(" ferret_loss ");
        let mut l = match &search {
            Some(s) if !s.is_empty() => highlight(&text, s),
            _ => Line::from(text),
        };
        if alert == "!" {
            l = l.style(Style::default().fg(Color::LightRed));
        } else if gap {
            // A recorded gap: events were lost here.
            l = l.style(
                Style::default()
                    .fg(Color::Yellow)
                    .add_modifier(Modifier::BOLD),
            );
        }
        lines.push(selected(l, row as u64 == app.timeline_row));
    }
    if app.timeline_len() == 0 {
        lines.push(Line::from("no events here (F shows every event)"));
    }
    f.render_widget(Paragraph::new(lines).block(block), list);
}

/// `text` with every occurrence of `needle` (lowercase) highlighted.
fn highlight(text: &str, needle: &str) -> Line<'static> {
    let lower = text.to_lowercase();
    if lower.len() != text.len() {
        return Line::from(text.to_string());
    }
    let mut spans = Vec::new();
    let mut at = 0;
    while let Some(i) = lower[at..].find(needle) {
        let s = at + i;
        spans.push(Span::raw(text[at..s].to_string()));
        spans.push(Span::styled(
            text[s..s + needle.len()].to_string(),
            Style::default().bg(Color::Yellow).fg(Color::Black),
        ));
        at = s + needle.len();
    }
    spans.push(Span::raw(text[at..].to_string()));
    Line::from(spans)
}

fn draw_processes(f: &mut Frame<'_>, app: &mut App, area: Rect) {
    let title = match (&app.tree, app.tree_filter.is_empty()) {
        (None, _) => " Processes (building the tree...) ".to_string(),
        (Some(t), true) => format!(" Processes ({}) ", t.nodes.len()),
        (Some(_), false) => format!(
            " Processes matching '{}' ({} rows) ",
            app.tree_filter,
            app.proc_rows.len()
        ),
    };
    let (block, inner) = list_area(app, area, title);
    let mut lines: Vec<Line<'static>> = Vec::new();
    if let Some(tree) = &app.tree {
        for i in window(app.proc_rows.len(), app.proc_row, inner.height as usize) {
            let r = app.proc_rows[i];
            let n = &tree.nodes[r.node];
            let fold = if n.children.is_empty() {
                "  "
            } else if app.collapsed.contains(&r.node) {
                "> "
            } else {
                "v "
            };
            let last = n.last();
            let execs = n.execs.iter().filter(|x| x.seq.is_some()).count();
            let ended = if n.end_seq.is_some() { " (ended)" } else { "" };
            let mut spans = vec![
                Span::raw(format!("{}{fold}", "  ".repeat(r.depth))),
                Span::styled(
                    esc(&format!(
                        "{}({})",
                        last.map(|x| x.comm.as_str()).unwrap_or("?"),
                        n.pid
                    )),
                    Style::default().add_modifier(Modifier::BOLD),
                ),
            ];
            if n.alerts > 0 {
                spans.push(Span::styled(
                    format!(" {} alerts", n.alerts),
                    Style::default().fg(Color::LightRed),
                ));
            }
            spans.push(Span::raw(format!(
                " [{} ev, {} files, {} conns, {} children{}{ended}] ",
                n.events,
                n.files,
                n.conns,
                n.children.len(),
                if execs > 1 {
                    format!(", {execs} execs")
                } else {
                    String::new()
                }
            )));
            // Every program it ran, oldest first.
            let progs: Vec<String> = n
                .execs
                .iter()
                .map(|x| {
                    if x.cmdline.is_empty() {
                        x.exe.clone()
                    } else {
                        x.cmdline.clone()
                    }
                })
                .collect();
            spans.push(Span::raw(esc(&progs.join("  ->  "))));
            lines.push(selected(Line::from(spans), i == app.proc_row));
        }
    } else {
        lines.push(Line::from(
            "reading the fork, exec and exit records... (the other views work meanwhile)",
        ));
    }
    f.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_detail(f: &mut Frame<'_>, app: &mut App, area: Rect) {
    let Some(d) = &app.detail else {
        f.render_widget(Paragraph::new("no event selected"), area);
        return;
    };
    let mut lines: Vec<Line<'static>> = Vec::new();
    let bold = Style::default().add_modifier(Modifier::BOLD);
    for a in app.alerts_on(d.seq) {
        lines.push(Line::from(vec![
            Span::styled(
                format!("{} ", a.priority.name()),
                Style::default()
                    .fg(prio_color(a.priority))
                    .add_modifier(Modifier::BOLD),
            ),
            Span::styled(esc(&a.rule), bold),
            Span::raw(if a.in_gap {
                "  (inside a recorded gap)"
            } else {
                ""
            }),
        ]));
        lines.push(Line::from(esc(&format!("  {}", a.output))));
        for (k, v) in &a.output_fields {
            lines.push(Line::from(esc(&format!("    {k} = {}", v.render()))));
        }
        lines.push(Line::from(""));
    }
    lines.push(Line::from(Span::styled("event", bold)));
    lines.push(Line::from(esc(&format!("  {}", d.line))));
    lines.push(Line::from(""));
    match &d.fields {
        Ok(fields) => {
            lines.push(Line::from(Span::styled(
                "fields (state at this event)",
                bold,
            )));
            let mut ancestry: Vec<(String, String, String)> = Vec::new();
            let mut rest: Vec<&(String, String)> = Vec::new();
            for kv in fields {
                let (k, v) = kv;
                if let Some(i) = k.strip_prefix("proc.aname[") {
                    ancestry.push((
                        i.trim_end_matches(']').to_string(),
                        v.clone(),
                        String::new(),
                    ));
                } else if let Some(i) = k.strip_prefix("proc.apid[") {
                    let i = i.trim_end_matches(']');
                    if let Some(a) = ancestry.iter_mut().find(|a| a.0 == i) {
                        a.2 = v.clone();
                    }
                } else if let Some(i) = k.strip_prefix("proc.acmdline[") {
                    let i = i.trim_end_matches(']');
                    if let Some(a) = ancestry.iter_mut().find(|a| a.0 == i) {
                        a.1 = format!("{} ({})", a.1, v);
                    }
                } else if crate::data::DETAIL_FIELDS.contains(&k.as_str()) {
                    lines.push(Line::from(esc(&format!("  {k:<28} {v}"))));
                } else {
                    rest.push(kv);
                }
            }
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled("ancestry (nearest first)", bold)));
            for (i, name, pid) in ancestry {
                if name.starts_with("<NA>") || name.is_empty() {
                    break;
                }
                lines.push(Line::from(esc(&format!("  {i:>2}. pid {pid:<8} {name}"))));
            }
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                "every other field, by class (<NA>: no value for this event)",
                bold,
            )));
            let mut class = "";
            for (k, v) in rest {
                let c = k.split('.').next().unwrap_or("");
                if c != class {
                    class = c;
                    lines.push(Line::from(Span::styled(format!("  {c}"), bold)));
                }
                lines.push(Line::from(esc(&format!("    {k:<30} {v}"))));
            }
        }
        Err(why) => lines.push(Line::from(esc(&format!("fields not available: {why}")))),
    }
    let title = format!(" Event {} ", d.seq + 1);
    let scroll = d.scroll;
    let n = lines.len();
    let (block, _) = list_area(app, area, title);
    app.detail_rows = n;
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((scroll as u16, 0)),
        area,
    );
}

/// Bytes as text: printable ASCII kept, newlines break lines, the rest
/// shown as `.`.
fn printable(b: &[u8]) -> Vec<String> {
    let text: String = b
        .iter()
        .map(|&c| match c {
            b'\n' => '\n',
            0x20..=0x7e => c as char,
            _ => '.',
        })
        .collect();
    text.split('\n').map(str::to_string).collect()
}

/// Bytes as a hex dump: offset, 16 bytes, their text.
fn hexdump(b: &[u8]) -> Vec<String> {
    b.chunks(16)
        .enumerate()
        .map(|(i, row)| {
            let hex: Vec<String> = row.iter().map(|c| format!("{c:02x}")).collect();
            let text: String = row
                .iter()
                .map(|&c| {
                    if (0x20..=0x7e).contains(&c) {
                        c as char
                    } else {
                        '.'
                    }
                })
                .collect();
            format!("{:08x}  {:<47}  {text}", i * 16, hex.join(" "))
        })
        .collect()
}

fn draw_stream(f: &mut Frame<'_>, app: &mut App, area: Rect) {
    let Some(sv) = &app.stream else {
        f.render_widget(Paragraph::new("no fd followed (s on an event)"), area);
        return;
    };
    let st = &sv.stream;
    let mut lines: Vec<Line<'static>> = Vec::new();
    let bytes_in: usize = st
        .transfers
        .iter()
        .filter(|t| !t.outgoing)
        .map(|t| t.data.len())
        .sum();
    let bytes_out: usize = st
        .transfers
        .iter()
        .filter(|t| t.outgoing)
        .map(|t| t.data.len())
        .sum();
    lines.push(Line::from(esc(&format!(
        "fd {} of pid {}{}: events {}..{}; {} bytes in, {} bytes out recorded (within the snap length)",
        st.fd,
        st.pid,
        if sv.name.is_empty() {
            String::new()
        } else {
            format!(" ({})", sv.name)
        },
        st.from + 1,
        st.to.map_or("the end".to_string(), |t| (t + 1).to_string()),
        bytes_in,
        bytes_out
    ))));
    for t in &st.transfers {
        let (arrow, color) = if t.outgoing {
            ("out ->", Color::LightRed)
        } else {
            ("<- in ", Color::LightBlue)
        };
        let cut = if t.size > t.data.len() as i64 {
            format!(" ({} of {} bytes recorded)", t.data.len(), t.size)
        } else {
            String::new()
        };
        lines.push(Line::from(Span::styled(
            format!("{arrow} event {}  {} bytes{cut}", t.seq + 1, t.size.max(0)),
            Style::default().fg(color).add_modifier(Modifier::BOLD),
        )));
        let body = if sv.hex {
            hexdump(&t.data)
        } else {
            printable(&t.data)
        };
        for l in body {
            lines.push(Line::from(Span::styled(
                format!("  {l}"),
                Style::default().fg(color),
            )));
        }
    }
    if st.transfers.is_empty() {
        lines.push(Line::from("no reads or writes on this fd in that span"));
    }
    let title = format!(
        " {} ({}) ",
        app.label(),
        if sv.hex { "hex" } else { "text" }
    );
    let scroll = sv.scroll;
    let n = lines.len();
    let (block, _) = list_area(app, area, title);
    if let Some(sv) = &mut app.stream {
        sv.rows = n;
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((scroll as u16, 0)),
        area,
    );
}

fn draw_problems(f: &mut Frame<'_>, app: &mut App, area: Rect) {
    let all = app.problem_lines();
    let title = format!(" Problems ({}) ", all.len());
    let (block, inner) = list_area(app, area, title);
    let mut lines: Vec<Line<'static>> = Vec::new();
    for i in window(all.len(), app.problems_row, inner.height as usize) {
        lines.push(selected(Line::from(esc(&all[i])), i == app.problems_row));
    }
    if all.is_empty() {
        lines.push(Line::from(
            "none: the capture is intact, nothing was lost, the rules loaded cleanly",
        ));
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

fn draw_help(f: &mut Frame<'_>, app: &mut App, area: Rect) {
    let mut lines: Vec<Line<'static>> = vec![
        Line::from(Span::styled(
            "Keys (from the key map; views in brackets)",
            Style::default().add_modifier(Modifier::BOLD),
        )),
        Line::from(""),
    ];
    for b in crate::keys::bindings() {
        let keys = b
            .keys
            .iter()
            .map(|k| if *k == " " { "Space" } else { k })
            .collect::<Vec<_>>()
            .join(", ");
        let views = if b.views.is_empty() {
            String::new()
        } else {
            format!(
                "  [{}]",
                b.views
                    .iter()
                    .map(|v| v.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        lines.push(Line::from(format!("  {keys:<24} {}{views}", b.help)));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(
        "  Mouse: wheel scrolls, click selects.  While typing: Enter submits, Esc cancels, Ctrl-u clears.",
    ));
    let (block, _) = list_area(app, area, " Help ".into());
    f.render_widget(Paragraph::new(lines).block(block), area);
}
