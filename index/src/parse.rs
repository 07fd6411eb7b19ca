//! The query language: tantivy's (and Lucene's) syntax with Falco field
//! names, parsed here so that every problem points at its byte in the
//! query and so that a query can combine fields of processes, fds and
//! events (see [`crate::schema::Owner`]).
//!
//! ```text
//! query   := or
//! or      := and ("OR" and)*
//! and     := unary (["AND"] unary)*          adjacent terms are ANDed
//! unary   := ("NOT" | "-") unary | "+" unary | primary
//! primary := "(" or ")" | [FIELD ":"] value | "*"   (FIELD:* : the field has a value)
//! value   := WORD | "\"" PHRASE "\"" | ("[" | "{") LOW " TO " HIGH ("]" | "}")
//! ```
//!
//! A value without a field is free text, searched in command lines, file
//! names and executable paths. Ranges take `*` for an open end; `[` and
//! `]` include the bound, `{` and `}` exclude it.

use std::ops::Bound;

use crate::query::QueryError;
use crate::schema::{self, FieldDef, Kind};

/// A parsed query.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// Every event (`*`).
    All,
    /// A field (or free text) and a value.
    Leaf(Leaf),
    /// Not the inner query.
    Not(Box<Node>),
    /// All of them.
    And(Vec<Node>),
    /// Any of them.
    Or(Vec<Node>),
}

/// One comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Leaf {
    /// The field; `None` is free text.
    pub field: Option<&'static FieldDef>,
    /// The value.
    pub value: Value,
    /// Byte offset of the leaf in the query.
    pub at: usize,
}

/// A leaf's value, as written.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A word.
    Term(String),
    /// A quoted phrase.
    Phrase(String),
    /// A range; `Unbounded` for `*`.
    Range(Bound<String>, Bound<String>),
}

impl Value {
    /// The single value of a term or phrase.
    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Term(s) | Value::Phrase(s) => Some(s),
            Value::Range(..) => None,
        }
    }
}

fn err(message: impl Into<String>, at: usize) -> QueryError {
    QueryError {
        message: message.into(),
        position: Some(at),
    }
}

/// Parses a query; an empty query or `*` is [`Node::All`].
pub fn parse(query: &str) -> Result<Node, QueryError> {
    let mut p = Parser { q: query, i: 0 };
    p.ws();
    if p.i == query.len() {
        return Ok(Node::All);
    }
    let n = p.or()?;
    p.ws();
    if p.i < query.len() {
        return Err(err(
            format!(
                "unexpected '{}'",
                &query[p.i..].chars().next().unwrap_or(' ')
            ),
            p.i,
        ));
    }
    Ok(n)
}

struct Parser<'a> {
    q: &'a str,
    i: usize,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_')
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.q.as_bytes().get(self.i).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    /// Whether the keyword `kw` (followed by a space or `(`) starts here.
    fn keyword(&self, kw: &str) -> bool {
        let rest = &self.q[self.i..];
        rest.starts_with(kw)
            && rest[kw.len()..]
                .bytes()
                .next()
                .is_some_and(|c| c.is_ascii_whitespace() || c == b'(')
    }

    fn or(&mut self) -> Result<Node, QueryError> {
        let mut parts = vec![self.and()?];
        loop {
            self.ws();
            if self.keyword("OR") {
                self.i += 2;
                self.ws();
                parts.push(self.and()?);
            } else {
                break;
            }
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Node::All)
        } else {
            Node::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Node, QueryError> {
        let mut parts = vec![self.unary()?];
        loop {
            self.ws();
            match self.peek() {
                None | Some(b')') => break,
                _ if self.keyword("OR") => break,
                _ => {}
            }
            if self.keyword("AND") {
                self.i += 3;
                self.ws();
            }
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Node::All)
        } else {
            Node::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Node, QueryError> {
        self.ws();
        if self.keyword("NOT") {
            self.i += 3;
            return Ok(Node::Not(Box::new(self.unary()?)));
        }
        match self.peek() {
            Some(b'-') => {
                self.i += 1;
                Ok(Node::Not(Box::new(self.unary()?)))
            }
            Some(b'+') => {
                self.i += 1;
                self.unary()
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Node, QueryError> {
        self.ws();
        let at = self.i;
        match self.peek() {
            None => return Err(err("the query ends where a term was expected", at)),
            Some(b'(') => {
                self.i += 1;
                let n = self.or()?;
                self.ws();
                if self.peek() != Some(b')') {
                    return Err(err("unclosed '('", at));
                }
                self.i += 1;
                return Ok(n);
            }
            Some(b')') => return Err(err("unexpected ')'", at)),
            _ if self.keyword("AND") || self.keyword("OR") => {
                return Err(err("an operator where a term was expected", at));
            }
            _ => {}
        }
        // FIELD ':'
        let b = self.q.as_bytes();
        let mut field = None;
        if is_ident_start(b[at]) {
            let mut j = at;
            while j < b.len() && is_ident(b[j]) {
                j += 1;
            }
            if j < b.len() && b[j] == b':' {
                let name = &self.q[at..j];
                let Some(d) = schema::field(name) else {
                    return Err(err(
                        format!("unknown field '{name}' (indexed: {})", schema::names()),
                        at,
                    ));
                };
                field = Some(d);
                self.i = j + 1;
            }
        }
        let vat = self.i;
        let value = match self.peek() {
            Some(b'"') => Value::Phrase(self.phrase()?),
            Some(b'[' | b'{') => self.range()?,
            Some(c) if !c.is_ascii_whitespace() && c != b')' && c != b'(' => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| !c.is_ascii_whitespace() && c != b')' && c != b'(')
                {
                    self.i += 1;
                }
                Value::Term(self.q[start..self.i].to_string())
            }
            _ => {
                return Err(err(
                    format!(
                        "a value is expected after '{}:'",
                        field.map_or("", |d| d.name)
                    ),
                    vat,
                ))
            }
        };
        if field.is_none() && value == Value::Term("*".into()) {
            return Ok(Node::All);
        }
        if let (Some(d), Value::Range(..)) = (field, &value) {
            if d.kind == Kind::Exact || d.kind == Kind::Text {
                return Err(err(format!("'{}' takes values, not ranges", d.name), vat));
            }
        }
        if let (Some(d), Some(t)) = (field, value.text()) {
            // `FIELD:*`: the field has a value.
            if d.kind == Kind::Time && !(t == "*" && matches!(value, Value::Term(_))) {
                return Err(err(
                    format!("'{}' takes a range: [START TO END]", d.name),
                    vat,
                ));
            }
        }
        Ok(Node::Leaf(Leaf { field, value, at }))
    }

    fn phrase(&mut self) -> Result<String, QueryError> {
        let at = self.i;
        self.i += 1;
        let mut out = String::new();
        let mut chars = self.q[self.i..].char_indices();
        while let Some((k, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        out.push(n);
                    }
                }
                '"' => {
                    self.i += k + 1;
                    return Ok(out);
                }
                c => out.push(c),
            }
        }
        Err(err("unclosed quote", at))
    }

    fn range(&mut self) -> Result<Value, QueryError> {
        let at = self.i;
        let open = self.q.as_bytes()[at];
        let Some(k) = self.q[at..].find([']', '}']) else {
            return Err(err("unclosed range", at));
        };
        let close = self.q.as_bytes()[at + k];
        let inner = &self.q[at + 1..at + k];
        let Some((lo, hi)) = inner.split_once(" TO ") else {
            return Err(err("a range is [LOW TO HIGH]", at));
        };
        self.i = at + k + 1;
        let bound = |s: &str, inclusive: bool| {
            let s = s.trim().trim_matches('"');
            if s == "*" {
                Bound::Unbounded
            } else if inclusive {
                Bound::Included(s.to_string())
            } else {
                Bound::Excluded(s.to_string())
            }
        };
        Ok(Value::Range(
            bound(lo, open == b'['),
            bound(hi, close == b']'),
        ))
    }
}

/// Unix nanoseconds of an RFC 3339 time as a query writes it: seconds and
/// the zone may be left out (UTC); `date` completes a time without one.
pub fn parse_time(t: &str, date: Option<&str>, at: usize) -> Result<u64, QueryError> {
    let t = match (t.contains('T'), date) {
        (true, _) => t.to_string(),
        (false, Some(d)) => format!("{d}T{t}"),
        (false, None) => format!("{t}T00:00"),
    };
    // Split off the zone: Z, +HH:MM or -HH:MM after the date.
    let (dt, offset_s): (&str, i64) = match t.find(['Z', 'z']) {
        Some(k) => (&t[..k], 0),
        None => match t.rfind(['+', '-']).filter(|&k| k > 10) {
            Some(k) => {
                let z = &t[k + 1..];
                let (h, m) = z.split_once(':').unwrap_or((z, "0"));
                let (Ok(h), Ok(m)) = (h.parse::<i64>(), m.parse::<i64>()) else {
                    return Err(err(format!("'{t}': bad zone offset"), at));
                };
                let sign = if &t[k..=k] == "-" { -1 } else { 1 };
                (&t[..k], sign * (h * 3600 + m * 60))
            }
            None => (&t[..], 0),
        },
    };
    let time = dt.split_once('T').map(|(_, h)| h).unwrap_or("");
    let dt = if time.matches(':').count() == 1 {
        format!("{dt}:00Z")
    } else {
        format!("{dt}Z")
    };
    let st = humantime::parse_rfc3339(&dt).map_err(|e| {
        err(
            format!("'{t}' is not a time (YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]): {e}"),
            at,
        )
    })?;
    let ns = st
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| err(format!("'{t}' is before 1970"), at))?
        .as_nanos() as i128
        - i128::from(offset_s) * 1_000_000_000;
    u64::try_from(ns).map_err(|_| err(format!("'{t}' is out of range"), at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(n: &Node) -> &Leaf {
        match n {
            Node::Leaf(l) => l,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn precedence_and_positions() {
        let n = parse("proc.name:curl AND fd.name:\"/etc/shadow\" OR NOT evt.type:openat")
            .expect("parse");
        let Node::Or(parts) = n else { panic!() };
        assert_eq!(parts.len(), 2);
        let Node::And(a) = &parts[0] else { panic!() };
        assert_eq!(leaf(&a[1]).value, Value::Phrase("/etc/shadow".into()));
        assert_eq!(leaf(&a[1]).at, 19);
        let Node::Not(inner) = &parts[1] else {
            panic!()
        };
        assert_eq!(leaf(inner).field.map(|d| d.name), Some("evt.type"));
        let e = parse("proc.name:curl AND nope:x").expect_err("unknown");
        assert_eq!(e.position, Some(19));
        assert_eq!(parse("(a b").expect_err("unclosed").position, Some(0));
        assert_eq!(parse("fd.name:\"x").expect_err("quote").position, Some(8));
        assert_eq!(
            parse("proc.name:[a TO b]").expect_err("range").position,
            Some(10)
        );
        assert_eq!(parse("").expect("empty"), Node::All);
        assert_eq!(parse(" * ").expect("star"), Node::All);
        let r = parse("fd.sport:{1 TO *]").expect("range");
        assert_eq!(
            leaf(&r).value,
            Value::Range(Bound::Excluded("1".into()), Bound::Unbounded)
        );
    }

    #[test]
    fn any_text_parses_or_fails_with_a_position_inside_it() {
        let pieces = [
            "proc.name:",
            "fd.name:\"",
            "evt.time:[",
            " TO ",
            "]",
            "}",
            "{",
            "(",
            ")",
            "AND ",
            "OR ",
            "NOT ",
            "-",
            "+",
            "*",
            "\\",
            "é",
            "x",
            "12",
            "evt.num:",
            "nope:",
            " ",
            "2026-11-24T02:00",
            "+02:00",
            "Z",
        ];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = (x % 9) as usize;
            let q: String = (0..n)
                .map(|k| pieces[((x >> (k * 5)) % pieces.len() as u64) as usize])
                .collect();
            if let Err(e) = parse(&q) {
                assert!(e.position.is_some_and(|p| p <= q.len()), "{q:?}: {e:?}");
            }
            if let Node::Leaf(Leaf {
                field: Some(d),
                value: Value::Range(lo, hi),
                at,
            }) = parse(&q).unwrap_or(Node::All)
            {
                if d.kind == Kind::Time {
                    for b in [lo, hi] {
                        if let Bound::Included(t) | Bound::Excluded(t) = b {
                            let _ = parse_time(&t, Some("2026-11-24"), at);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn times() {
        let a = parse_time("2026-11-24T02:00", None, 0).expect("t");
        assert_eq!(a, 1_795_485_600_000_000_000);
        assert_eq!(
            parse_time("02:30", Some("2026-11-24"), 0).expect("t"),
            a + 1800 * 1_000_000_000
        );
        assert_eq!(parse_time("2026-11-24T04:00+02:00", None, 0).expect("t"), a);
        assert_eq!(
            parse_time("2026-11-24T02:00:00.5Z", None, 0).expect("t"),
            a + 500_000_000
        );
        assert!(parse_time("yesterday", None, 3).is_err());
    }
}
