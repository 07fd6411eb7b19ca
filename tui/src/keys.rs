//! Key bindings as data: each binding maps keys to an [`Action`] with the
//! help text `?` shows and the views it works in. The handler never looks
//! at keys, and the help screen and the hint bar are generated from here.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::{Action, Mode, ViewKind};

/// One binding.
#[derive(Clone, Debug)]
pub struct Binding {
    /// The keys, as shown in help (`j`, `Down`, `Ctrl-d`).
    pub keys: &'static [&'static str],
    /// What it does.
    pub action: Action,
    /// Help text.
    pub help: &'static str,
    /// Views where it works (empty: everywhere).
    pub views: &'static [ViewKind],
}

use ViewKind::*;

/// The normal-mode bindings.
pub fn bindings() -> Vec<Binding> {
    let b = |keys, action, help, views| Binding {
        keys,
        action,
        help,
        views,
    };
    vec![
        b(&["q"], Action::Quit, "quit", &[]),
        b(&["?", "F1"], Action::Help, "help (this screen)", &[]),
        b(&["1"], Action::Show(Alerts), "alerts by rule", &[]),
        b(&["2"], Action::Show(Timeline), "timeline of events", &[]),
        b(&["3"], Action::Show(Processes), "process tree", &[]),
        b(
            &["!"],
            Action::Show(Problems),
            "every problem: damage, lost events, rule errors",
            &[],
        ),
        b(
            &["]"],
            Action::SwitchCapture(1),
            "next capture (when several are open)",
            &[],
        ),
        b(&["["], Action::SwitchCapture(-1), "previous capture", &[]),
        b(&["Tab"], Action::NextView, "next view", &[]),
        b(&["BackTab"], Action::PrevView, "previous view", &[]),
        b(&["j", "Down"], Action::Move(1), "down", &[]),
        b(&["k", "Up"], Action::Move(-1), "up", &[]),
        b(&["Ctrl-d"], Action::HalfPage(1), "half a page down", &[]),
        b(&["Ctrl-u"], Action::HalfPage(-1), "half a page up", &[]),
        b(
            &["Ctrl-f", "PageDown", " "],
            Action::Page(1),
            "page down",
            &[],
        ),
        b(&["Ctrl-b", "PageUp"], Action::Page(-1), "page up", &[]),
        b(&["g", "Home"], Action::Top, "first row", &[]),
        b(&["G", "End"], Action::Bottom, "last row", &[]),
        b(
            &["Enter"],
            Action::Pivot,
            "open: alert -> event -> process -> its events -> event",
            &[],
        ),
        b(
            &["l", "Right"],
            Action::Expand,
            "expand (a rule's alerts, a process's children)",
            &[Alerts, Processes],
        ),
        b(
            &["h", "Left"],
            Action::Collapse,
            "collapse",
            &[Alerts, Processes],
        ),
        b(
            &["Esc", "Backspace"],
            Action::Back,
            "back to where the last pivot came from",
            &[],
        ),
        b(
            &["/"],
            Action::StartInput(Mode::Search),
            "search text (timeline) or filter the tree (processes)",
            &[Timeline, Processes],
        ),
        b(
            &["f"],
            Action::StartInput(Mode::Filter),
            "filter events by a Falco condition",
            &[Timeline],
        ),
        b(
            &["F"],
            Action::ClearFilter,
            "clear the filter or scope",
            &[Timeline, Processes],
        ),
        b(&["n"], Action::NextHit(1), "next search hit", &[Timeline]),
        b(
            &["N"],
            Action::NextHit(-1),
            "previous search hit",
            &[Timeline],
        ),
        b(
            &["e"],
            Action::NextAlert(1),
            "next event with an alert",
            &[Timeline],
        ),
        b(
            &["E"],
            Action::NextAlert(-1),
            "previous event with an alert",
            &[Timeline],
        ),
        b(
            &["m"],
            Action::StartInput(Mode::Note),
            "bookmark this event with a note",
            &[Timeline, Detail],
        ),
        b(&["'"], Action::NextMark, "next bookmark", &[Timeline]),
        b(
            &["s"],
            Action::Follow,
            "follow the data read and written on the event's fd",
            &[Timeline, Detail],
        ),
        b(
            &["+", "="],
            Action::Zoom(1),
            "zoom the histogram in around the cursor",
            &[Timeline],
        ),
        b(
            &["-"],
            Action::Zoom(-1),
            "zoom the histogram out",
            &[Timeline],
        ),
        b(
            &["x"],
            Action::ToggleHex,
            "show the data as hex or as text",
            &[Stream],
        ),
        b(
            &[":"],
            Action::StartInput(Mode::Command),
            "command (:goto N|TIME, :export FILE.md|FILE.json, :q)",
            &[],
        ),
        b(
            &["Ctrl-c"],
            Action::Cancel,
            "cancel a running search or filter",
            &[],
        ),
        b(
            &["Ctrl-z"],
            Action::Suspend,
            "suspend (fg to come back)",
            &[],
        ),
    ]
}

/// The name of a key as bindings spell it.
pub fn key_name(k: &KeyEvent) -> String {
    let base = match k.code {
        KeyCode::Char(' ') => " ".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Backspace => "Backspace".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "BackTab".into(),
        KeyCode::Up => "Up".into(),
        KeyCode::Down => "Down".into(),
        KeyCode::Left => "Left".into(),
        KeyCode::Right => "Right".into(),
        KeyCode::PageUp => "PageUp".into(),
        KeyCode::PageDown => "PageDown".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::F(n) => format!("F{n}"),
        KeyCode::Delete => "Delete".into(),
        KeyCode::Insert => "Insert".into(),
        other => format!("{other:?}"),
    };
    if k.modifiers.contains(KeyModifiers::CONTROL) {
        format!("Ctrl-{base}")
    } else if k.modifiers.contains(KeyModifiers::ALT) {
        format!("Alt-{base}")
    } else {
        base
    }
}

/// What a key does in normal mode in `view`: the action, or `Err` with the
/// key's name when nothing is bound to it there.
pub fn action(key: &KeyEvent, view: ViewKind) -> Result<Action, String> {
    let name = key_name(key);
    bindings()
        .into_iter()
        .find(|b| {
            b.keys.contains(&name.as_str()) && (b.views.is_empty() || b.views.contains(&view))
        })
        .map(|b| b.action)
        .ok_or(name)
}

/// What a key does while a line is typed (search, filter, note, command).
pub fn input_action(key: &KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            KeyCode::Char('c') => Some(Action::InputCancel),
            KeyCode::Char('u') => Some(Action::InputClear),
            _ => None,
        };
    }
    match key.code {
        KeyCode::Enter => Some(Action::InputSubmit),
        KeyCode::Esc => Some(Action::InputCancel),
        KeyCode::Backspace => Some(Action::InputBackspace),
        KeyCode::Char(c) => Some(Action::InputChar(c)),
        _ => None,
    }
}

/// The hint bar for a view: the few keys a newcomer needs there.
pub fn hints(view: ViewKind) -> &'static str {
    match view {
        Alerts => "Enter open  l/h expand/collapse  j/k move  Tab view  : cmd  ? help  q quit",
        Timeline => "Enter detail  f filter  / search  n/N hits  e/E alerts  s fd data  m mark  Esc back  ? help  q quit",
        Processes => "Enter events  l/h expand/collapse  / filter  Esc back  ? help  q quit",
        Detail => "Enter process  s fd data  m mark  Esc back  j/k scroll  ? help  q quit",
        Stream => "x hex/text  j/k scroll  Esc back  ? help  q quit",
        Problems => "j/k move  Esc back  ? help  q quit",
        Help => "Esc back  q quit",
    }
}
