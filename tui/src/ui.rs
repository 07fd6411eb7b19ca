//! Rendering: reads the model, draws the panes. Generic over the backend so
//! tests draw into a `TestBackend`.

use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Tabs};
use ratatui::Frame;

use crate::app::{App, Pane};

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

/// Draws the whole screen.
pub fn draw(f: &mut Frame<'_>, app: &mut App) {
    let [top, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let titles = vec![
        format!("1 Alerts ({})", app.alerts.len()),
        format!("2 Events ({})", app.events_total),
        format!("3 Processes ({})", app.tree.len()),
    ];
    let sel = match app.pane {
        Pane::Alerts => 0,
        Pane::Events => 1,
        Pane::Processes => 2,
    };
    f.render_widget(
        Tabs::new(titles)
            .select(sel)
            .highlight_style(Style::default().add_modifier(Modifier::REVERSED)),
        top,
    );
    let height = body.height.saturating_sub(2) as usize;
    let lines: Vec<Line<'_>> = match app.pane {
        Pane::Alerts => window(app.alerts.len(), app.alert_sel, height)
            .map(|i| {
                let a = &app.alerts[i];
                let gap = if a.in_gap { " [gap]" } else { "" };
                let l = Line::from(vec![
                    Span::styled(
                        format!("{:<9}", a.priority.name()),
                        Style::default().fg(prio_color(a.priority)),
                    ),
                    Span::raw(esc(&format!(
                        "#{:<8} {}{gap}: {}",
                        a.evt_num, a.rule, a.output
                    ))),
                ]);
                if i == app.alert_sel {
                    l.style(Style::default().add_modifier(Modifier::REVERSED))
                } else {
                    l
                }
            })
            .collect(),
        Pane::Events => {
            let rows: Vec<u64> = window(app.events_total as usize, app.event_sel as usize, height)
                .map(|i| i as u64)
                .collect();
            rows.into_iter()
                .map(|seq| {
                    let text = app
                        .event_line(seq)
                        .unwrap_or_else(|| format!("{} <unreadable>", seq + 1));
                    let l = Line::from(esc(&text));
                    if seq == app.event_sel {
                        l.style(Style::default().add_modifier(Modifier::REVERSED))
                    } else {
                        l
                    }
                })
                .collect()
        }
        Pane::Processes => window(app.tree.len(), app.proc_sel, height)
            .map(|i| {
                let (depth, p) = &app.tree[i];
                let l = Line::from(esc(&format!(
                    "{}{} {}",
                    "  ".repeat(*depth),
                    p.pid,
                    p.cmdline
                )));
                if i == app.proc_sel {
                    l.style(Style::default().add_modifier(Modifier::REVERSED))
                } else {
                    l
                }
            })
            .collect(),
    };
    let title = esc(&format!(" {} — {} ", app.cap.name(), app.alerts_status));
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        body,
    );
    let status_text = if app.searching {
        format!("/{}", app.search)
    } else if !app.message.is_empty() {
        app.message.clone()
    } else {
        "q quit  1/2/3 panes  j/k move  Enter pivot  / search  n next".to_string()
    };
    f.render_widget(Paragraph::new(esc(&status_text)), status);
}

/// Text from a capture or rule file, with control characters shown as
/// escapes: a process named with an escape sequence cannot drive the
/// terminal.
fn esc(s: &str) -> String {
    capture::text::escape_controls(s).into_owned()
}

/// The rows to show so that `sel` is visible in `height` rows.
fn window(len: usize, sel: usize, height: usize) -> std::ops::Range<usize> {
    if len == 0 || height == 0 {
        return 0..0;
    }
    let start = sel
        .saturating_sub(height / 2)
        .min(len.saturating_sub(height));
    start..(start + height).min(len)
}
