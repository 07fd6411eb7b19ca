//! Key bindings as data: a key maps to an [`Action`]; the handler never
//! looks at keys.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::{Action, Pane};

/// The normal-mode bindings: (key, action, help text).
pub fn bindings() -> Vec<(KeyCode, Action, &'static str)> {
    vec![
        (KeyCode::Char('q'), Action::Quit, "quit"),
        (KeyCode::Char('1'), Action::Focus(Pane::Alerts), "alerts"),
        (KeyCode::Char('2'), Action::Focus(Pane::Events), "events"),
        (
            KeyCode::Char('3'),
            Action::Focus(Pane::Processes),
            "processes",
        ),
        (KeyCode::Tab, Action::NextPane, "next pane"),
        (KeyCode::Down, Action::Move(1), "down"),
        (KeyCode::Char('j'), Action::Move(1), "down"),
        (KeyCode::Up, Action::Move(-1), "up"),
        (KeyCode::Char('k'), Action::Move(-1), "up"),
        (KeyCode::PageDown, Action::Move(20), "page down"),
        (KeyCode::PageUp, Action::Move(-20), "page up"),
        (KeyCode::Home, Action::Top, "top"),
        (KeyCode::Char('g'), Action::Top, "top"),
        (KeyCode::End, Action::Bottom, "bottom"),
        (KeyCode::Char('G'), Action::Bottom, "bottom"),
        (KeyCode::Enter, Action::Pivot, "pivot"),
        (KeyCode::Char('/'), Action::StartSearch, "search"),
        (KeyCode::Char('n'), Action::SearchNext, "next match"),
    ]
}

/// Maps a key to an action; `searching` selects the search-mode bindings.
pub fn action(key: KeyEvent, searching: bool) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    if searching {
        return match key.code {
            KeyCode::Enter => Some(Action::SearchSubmit),
            KeyCode::Esc => Some(Action::SearchCancel),
            KeyCode::Backspace => Some(Action::SearchBackspace),
            KeyCode::Char(c) => Some(Action::SearchChar(c)),
            _ => None,
        };
    }
    bindings()
        .into_iter()
        .find(|(k, _, _)| *k == key.code)
        .map(|(_, a, _)| a)
}
