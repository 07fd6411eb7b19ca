//! A recursive-descent parser that scans as it goes: whether a word is a
//! field, an operator or a bare value depends on where it stands, so the
//! lexing is done by the parser with the grammar in hand.

use crate::ast::{Check, Expr, FieldExpr, Op, Rhs, Span, Transformer, Value};

/// What the parser expected where it failed. Each variant's doc gives an
/// input that triggers it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `evt.type = open and` (nothing after `and`).
    #[error("expected a condition")]
    ExpectedCondition,
    /// `(evt.type = open` (no closing parenthesis).
    #[error("expected ')'")]
    ExpectedCloseParen,
    /// `proc.name =` (no value).
    #[error("expected a value")]
    ExpectedValue,
    /// `proc.name in open` is fine (a list name); `proc.name in (a b)` is not.
    #[error("expected ',' or ')' in a list")]
    ExpectedListSep,
    /// `proc.name = "bash` (no closing quote).
    #[error("unterminated string")]
    UnterminatedString,
    /// `proc.aname[2` (no closing bracket).
    #[error("expected ']'")]
    ExpectedCloseBracket,
    /// `proc.name = bash )` (text after a complete condition).
    #[error("unexpected text after the condition")]
    TrailingInput,
    /// `proc.aname[2]` alone (a field without an operator).
    #[error("expected an operator after the field")]
    ExpectedOperator,
    /// `tolower(proc.name = x` (transformer not closed).
    #[error("expected ')' after the transformer's field")]
    ExpectedTransformerClose,
    /// `val(proc.name` (val not closed) or `val()`.
    #[error("expected a field inside val()")]
    ExpectedValField,
    /// Two hundred nested parentheses.
    #[error("condition nested too deeply (more than 200 levels)")]
    TooDeep,
}

/// A parse error with its place in the condition.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct ParseError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Where.
    pub span: Span,
}

const MAX_DEPTH: usize = 200;

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: usize,
}

/// Parses a condition.
pub fn parse_condition(s: &str) -> Result<Expr, ParseError> {
    let mut p = Parser {
        s,
        b: s.as_bytes(),
        pos: 0,
        depth: 0,
    };
    p.ws();
    if p.pos >= p.b.len() {
        return Err(p.err(ErrorKind::ExpectedCondition, p.pos, p.pos));
    }
    let e = p.or()?;
    p.ws();
    if p.pos < p.b.len() {
        return Err(p.err(ErrorKind::TrailingInput, p.pos, p.b.len()));
    }
    Ok(e)
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')
}

impl<'a> Parser<'a> {
    fn err(&self, kind: ErrorKind, start: usize, end: usize) -> ParseError {
        ParseError {
            kind,
            span: Span::new(start, end.max(start)),
        }
    }

    fn ws(&mut self) {
        while self.pos < self.b.len() && self.b[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    /// The word at the cursor (letters, digits, `_`, `.`, `-`), not consumed.
    fn word_at(&self, at: usize) -> &'a str {
        let mut e = at;
        while e < self.b.len() && is_word(self.b[e]) {
            e += 1;
        }
        &self.s[at..e]
    }

    /// Consumes keyword `kw` if it stands at the cursor as a whole word.
    fn keyword(&mut self, kw: &str) -> bool {
        self.ws();
        if self.word_at(self.pos) == kw {
            self.pos += kw.len();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut xs = vec![self.and()?];
        while self.keyword("or") {
            xs.push(self.and()?);
        }
        Ok(if xs.len() == 1 {
            xs.remove(0)
        } else {
            Expr::Or(flatten(xs, true))
        })
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut xs = vec![self.not()?];
        while self.keyword("and") {
            xs.push(self.not()?);
        }
        Ok(if xs.len() == 1 {
            xs.remove(0)
        } else {
            Expr::And(flatten(xs, false))
        })
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.keyword("not") {
            self.enter()?;
            let x = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(x)));
        }
        self.primary()
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(ErrorKind::TooDeep, self.pos, self.pos + 1));
        }
        Ok(())
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        self.ws();
        let start = self.pos;
        match self.peek() {
            Some(b'(') => {
                self.pos += 1;
                self.enter()?;
                let e = self.or()?;
                self.depth -= 1;
                self.ws();
                if self.peek() != Some(b')') {
                    return Err(self.err(ErrorKind::ExpectedCloseParen, self.pos, self.pos + 1));
                }
                self.pos += 1;
                Ok(e)
            }
            Some(c) if is_word(c) => {
                let w = self.word_at(start);
                if matches!(w, "and" | "or") {
                    return Err(self.err(ErrorKind::ExpectedCondition, start, start + w.len()));
                }
                let field = self.field_expr()?;
                self.ws();
                match self.operator() {
                    Some(op) => self.check(field, op, start),
                    None if field.transformers.is_empty() && field.arg.is_none() => {
                        Ok(Expr::Macro {
                            name: field.name,
                            span: field.span,
                        })
                    }
                    None => Err(self.err(ErrorKind::ExpectedOperator, self.pos, self.pos + 1)),
                }
            }
            _ => Err(self.err(ErrorKind::ExpectedCondition, start, start + 1)),
        }
    }

    /// A field, possibly under transformers: `tolower(basename(fd.name))`.
    fn field_expr(&mut self) -> Result<FieldExpr, ParseError> {
        self.ws();
        let start = self.pos;
        let w = self.word_at(start);
        if let Some(t) = Transformer::from_name(w) {
            let after = start + w.len();
            let mut q = after;
            while q < self.b.len() && self.b[q].is_ascii_whitespace() {
                q += 1;
            }
            if self.b.get(q) == Some(&b'(') {
                self.pos = q + 1;
                self.enter()?;
                let mut inner = self.field_expr()?;
                self.depth -= 1;
                self.ws();
                if self.peek() != Some(b')') {
                    return Err(self.err(
                        ErrorKind::ExpectedTransformerClose,
                        self.pos,
                        self.pos + 1,
                    ));
                }
                self.pos += 1;
                inner.transformers.insert(0, t);
                return Ok(inner);
            }
        }
        if w.is_empty() {
            return Err(self.err(ErrorKind::ExpectedCondition, start, start + 1));
        }
        self.pos = start + w.len();
        let mut arg = None;
        if self.peek() == Some(b'[') {
            let open = self.pos;
            match self.s[open..].find(']') {
                Some(rel) => {
                    arg = Some(self.s[open + 1..open + rel].to_string());
                    self.pos = open + rel + 1;
                }
                None => return Err(self.err(ErrorKind::ExpectedCloseBracket, open, self.b.len())),
            }
        }
        Ok(FieldExpr {
            transformers: Vec::new(),
            name: w.to_string(),
            arg,
            span: Span::new(start, self.pos),
        })
    }

    fn operator(&mut self) -> Option<Op> {
        let rest = &self.b[self.pos..];
        let sym = |s: &[u8]| rest.starts_with(s);
        let (op, len) = if sym(b"==") {
            (Op::Eq, 2)
        } else if sym(b"!=") {
            (Op::Ne, 2)
        } else if sym(b"<=") {
            (Op::Le, 2)
        } else if sym(b">=") {
            (Op::Ge, 2)
        } else if sym(b"=") {
            (Op::Eq, 1)
        } else if sym(b"<") {
            (Op::Lt, 1)
        } else if sym(b">") {
            (Op::Gt, 1)
        } else {
            let w = self.word_at(self.pos);
            let op = Op::from_word(w)?;
            (op, w.len())
        };
        self.pos += len;
        Some(op)
    }

    fn check(&mut self, lhs: FieldExpr, op: Op, start: usize) -> Result<Expr, ParseError> {
        let rhs = if op == Op::Exists {
            Rhs::None
        } else if op.takes_list() {
            self.ws();
            if self.peek() == Some(b'(') {
                Rhs::List(self.list()?)
            } else {
                // A bare list name: `proc.name in shell_binaries`.
                Rhs::List(vec![self.value()?])
            }
        } else {
            self.ws();
            if self.word_at(self.pos) == "val"
                && self.s[self.pos + 3..].trim_start().starts_with('(')
            {
                let open = self.pos
                    + 3
                    + (self.s[self.pos + 3..].len() - self.s[self.pos + 3..].trim_start().len());
                self.pos = open + 1;
                let f = self
                    .field_expr()
                    .map_err(|_| self.err(ErrorKind::ExpectedValField, open, open + 1))?;
                self.ws();
                if self.peek() != Some(b')') {
                    return Err(self.err(ErrorKind::ExpectedValField, self.pos, self.pos + 1));
                }
                self.pos += 1;
                Rhs::Field(f)
            } else {
                Rhs::Value(self.value()?)
            }
        };
        Ok(Expr::Check(Check {
            lhs,
            op,
            rhs,
            span: Span::new(start, self.pos),
        }))
    }

    fn list(&mut self) -> Result<Vec<Value>, ParseError> {
        self.pos += 1; // '('
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b')') {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            items.push(self.value()?);
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                }
                Some(b')') => {
                    self.pos += 1;
                    return Ok(items);
                }
                None => return Err(self.err(ErrorKind::ExpectedCloseParen, self.pos, self.pos)),
                _ => return Err(self.err(ErrorKind::ExpectedListSep, self.pos, self.pos + 1)),
            }
        }
    }

    /// A quoted string or a bare word (up to whitespace, `(`, `)` or `,`).
    fn value(&mut self) -> Result<Value, ParseError> {
        self.ws();
        let start = self.pos;
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => {
                let mut text = String::new();
                let mut i = start + 1;
                let mut chars = self.s[i..].char_indices();
                loop {
                    let Some((off, c)) = chars.next() else {
                        return Err(self.err(ErrorKind::UnterminatedString, start, self.b.len()));
                    };
                    if c as u32 == q as u32 {
                        i += off + 1;
                        break;
                    }
                    if c == '\\' {
                        match chars.next() {
                            Some((_, 'n')) => text.push('\n'),
                            Some((_, 't')) => text.push('\t'),
                            Some((_, e)) => text.push(e),
                            None => {
                                return Err(self.err(
                                    ErrorKind::UnterminatedString,
                                    start,
                                    self.b.len(),
                                ))
                            }
                        }
                    } else {
                        text.push(c);
                    }
                }
                self.pos = i;
                Ok(Value {
                    text,
                    quoted: true,
                    span: Span::new(start, i),
                })
            }
            Some(c) if !matches!(c, b')' | b'(' | b',') => {
                let mut e = start;
                while e < self.b.len()
                    && !self.b[e].is_ascii_whitespace()
                    && !matches!(self.b[e], b')' | b'(' | b',')
                {
                    e += 1;
                }
                // Keep multi-byte characters whole.
                while !self.s.is_char_boundary(e) {
                    e += 1;
                }
                self.pos = e;
                Ok(Value {
                    text: self.s[start..e].to_string(),
                    quoted: false,
                    span: Span::new(start, e),
                })
            }
            _ => Err(self.err(ErrorKind::ExpectedValue, start, start + 1)),
        }
    }
}

fn flatten(xs: Vec<Expr>, or: bool) -> Vec<Expr> {
    let mut out = Vec::with_capacity(xs.len());
    for x in xs {
        match x {
            Expr::Or(inner) if or => out.extend(inner),
            Expr::And(inner) if !or => out.extend(inner),
            x => out.push(x),
        }
    }
    out
}
