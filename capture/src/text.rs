//! Text for people: bytes and control characters made safe for a terminal,
//! and wall-clock times in RFC 3339.

use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

/// Escapes bytes for display: printable ASCII as is, the rest as `\xNN`.
pub fn escape(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for &c in b {
        match c {
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(c as char),
            _ => {
                let _ = write!(s, "\\x{c:02x}");
            }
        }
    }
    s
}

/// Makes text from a capture or a rule file safe for a terminal: control
/// characters (C0, DEL and C1, which carry escape sequences that clear the
/// screen, write the clipboard or move the cursor, and newlines that forge
/// lines) become visible escapes (`\n`, `\t`, `\r`, `\x1b`, `\u{9b}`);
/// printable text, Unicode included, is kept. Borrows when nothing changes.
pub fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 && c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Formats Unix nanoseconds as RFC 3339 UTC with nanoseconds
/// (`2026-09-21T14:13:20.123456789Z`, Falco's `time` format), through
/// `humantime`.
pub fn rfc3339(unix_ns: u64) -> String {
    humantime::format_rfc3339_nanos(UNIX_EPOCH + Duration::from_nanos(unix_ns)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339(951_782_400_000_000_001),
            "2000-02-29T00:00:00.000000001Z"
        );
        assert_eq!(
            rfc3339(1_790_000_000_123_456_789),
            "2026-09-21T14:13:20.123456789Z"
        );
    }

    #[test]
    fn escapes_controls_and_bytes() {
        assert_eq!(escape(b"a\n\x1b\xff\\"), r"a\n\x1b\xff\\");
        assert_eq!(escape_controls("ok"), "ok");
        assert_eq!(escape_controls("a\u{1b}[2J\n\u{9b}"), r"a\x1b[2J\n\u{9b}");
    }

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(escape_controls("plain ünïcode"), "plain ünïcode");
        assert_eq!(escape_controls("\u{1b}[2J"), "\\x1b[2J");
        assert_eq!(
            escape_controls("\u{1b}]52;c;aGk=\u{7}"),
            "\\x1b]52;c;aGk=\\x07"
        );
        assert_eq!(escape_controls("a\nb\r\t"), "a\\nb\\r\\t");
        assert_eq!(escape_controls("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape_controls("\u{7f}"), "\\x7f");
    }
}
