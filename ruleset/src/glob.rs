//! Glob patterns as Falco matches them: the C library's `fnmatch(3)`, which
//! is what libsinsp calls for `glob` (flags 0: `*` crosses `/`, `\` escapes)
//! and `iglob` (`FNM_CASEFOLD`). Also used for rule-name patterns
//! (`--disable 'Terminal*'`). One matcher, the platform's own, instead of
//! a hand-written one that could drift from it.

use std::ffi::{c_char, c_int, CString};

/// A compiled glob pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pattern {
    text: Box<str>,
    c: CString,
    flags: c_int,
}

impl Pattern {
    /// A pattern; `None` when it holds a NUL byte (C strings end there).
    pub fn new(text: &str, case_insensitive: bool) -> Option<Pattern> {
        Some(Pattern {
            text: text.into(),
            c: CString::new(text).ok()?,
            flags: if case_insensitive {
                libc::FNM_CASEFOLD
            } else {
                0
            },
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `s` matches the whole pattern. As in libsinsp, which passes
    /// C strings, a value is matched up to its first NUL byte.
    pub fn matches(&self, s: &[u8]) -> bool {
        let s = s.split(|&b| b == 0).next().unwrap_or(&[]);
        let mut stack = [0u8; 256];
        let heap;
        let name: *const c_char = if s.len() < stack.len() {
            stack[..s.len()].copy_from_slice(s);
            stack[s.len()] = 0;
            stack.as_ptr().cast()
        } else {
            heap = [s, &[0]].concat();
            heap.as_ptr().cast()
        };
        // SAFETY: both pointers are NUL-terminated and live for the call;
        // fnmatch only reads them.
        unsafe { libc::fnmatch(self.c.as_ptr(), name, self.flags) == 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    fn m(p: &str, s: &str) -> bool {
        Pattern::new(p, false)
            .expect("pattern")
            .matches(s.as_bytes())
    }

    #[test]
    fn matches_like_fnmatch() {
        assert!(m("/etc/*", "/etc/passwd"));
        assert!(m("/etc/*", "/etc/ssh/sshd_config"), "* crosses /");
        assert!(m("*.s[oh]", "lib.so") && m("*.s[oh]", "x.sh") && !m("*.s[oh]", "x.sx"));
        assert!(m("[!a]?c", "xbc") && !m("[!a]?c", "abc"));
        assert!(m("a\\*b", "a*b") && !m("a\\*b", "axb"), "backslash escapes");
        assert!(m("a**b", "a/x/b"));
        assert!(!m("abc", "abcd") && m("", ""));
        assert!(m("x{a,b}", "x{a,b}"), "no brace alternation");
        assert!(Pattern::new("/TMP/*", true).expect("p").matches(b"/tmp/x"));
        assert!(!Pattern::new("/TMP/*", false).expect("p").matches(b"/tmp/x"));
        assert!(Pattern::new("a\0b", false).is_none());
        let long = format!("/{}", "x".repeat(1000));
        assert!(m("/x*x", &long));
        assert!(
            m("ab", "ab\0cd"),
            "a value ends at its first NUL, as a C string"
        );
    }
}
