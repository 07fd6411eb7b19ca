//! The syntax tree of a condition, and its canonical printed form.
//!
//! Printing is canonical: `and`/`or` chains flattened, parentheses only where
//! needed, values quoted when they would not read back as one bare word, so
//! that parse -> print -> parse gives the same tree (spans aside).

use std::fmt;

/// A byte range in the condition text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
}

/// A boolean expression.
#[derive(Clone, Debug)]
pub enum Expr {
    /// All of these.
    And(Vec<Expr>),
    /// Any of these.
    Or(Vec<Expr>),
    /// Not this.
    Not(Box<Expr>),
    /// A macro reference (an identifier not followed by an operator).
    Macro {
        /// The macro's name.
        name: String,
        /// Where it is.
        span: Span,
    },
    /// A field check.
    Check(Check),
}

/// One comparison: `lhs op rhs`.
#[derive(Clone, Debug)]
pub struct Check {
    /// The field, possibly under transformers.
    pub lhs: FieldExpr,
    /// The operator.
    pub op: Op,
    /// The right-hand side.
    pub rhs: Rhs,
    /// The whole check.
    pub span: Span,
}

/// A field reference: `name`, `name[arg]`, under zero or more transformers
/// (outermost first).
#[derive(Clone, Debug)]
pub struct FieldExpr {
    /// Transformers applied, outermost first: `tolower(basename(f))` is
    /// `[ToLower, Basename]`.
    pub transformers: Vec<Transformer>,
    /// The field name, e.g. `proc.aname`.
    pub name: String,
    /// The bracket argument, e.g. `2` in `proc.aname[2]`.
    pub arg: Option<String>,
    /// Where the field name (with its argument) is.
    pub span: Span,
}

/// A transformer applied to a field value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transformer {
    /// Lowercase.
    ToLower,
    /// Uppercase.
    ToUpper,
    /// Base64-decode.
    B64,
    /// The last path component.
    Basename,
    /// The length.
    Len,
}

impl Transformer {
    /// The transformer's name in the language.
    pub fn name(self) -> &'static str {
        match self {
            Transformer::ToLower => "tolower",
            Transformer::ToUpper => "toupper",
            Transformer::B64 => "b64",
            Transformer::Basename => "basename",
            Transformer::Len => "len",
        }
    }

    /// Looks a transformer up by name.
    pub fn from_name(s: &str) -> Option<Transformer> {
        Some(match s {
            "tolower" => Transformer::ToLower,
            "toupper" => Transformer::ToUpper,
            "b64" => Transformer::B64,
            "basename" => Transformer::Basename,
            "len" => Transformer::Len,
            _ => return None,
        })
    }
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=` or `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `contains`.
    Contains,
    /// `icontains`.
    IContains,
    /// `bcontains` (hex bytes).
    BContains,
    /// `startswith`.
    StartsWith,
    /// `bstartswith` (hex bytes).
    BStartsWith,
    /// `endswith`.
    EndsWith,
    /// `in (list)`.
    In,
    /// `intersects (list)`.
    Intersects,
    /// `pmatch (list of path prefixes)`.
    PMatch,
    /// `glob`.
    Glob,
    /// `iglob`.
    IGlob,
    /// `regex`.
    Regex,
    /// `exists` (unary).
    Exists,
}

impl Op {
    /// The operator as written canonically.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "contains",
            Op::IContains => "icontains",
            Op::BContains => "bcontains",
            Op::StartsWith => "startswith",
            Op::BStartsWith => "bstartswith",
            Op::EndsWith => "endswith",
            Op::In => "in",
            Op::Intersects => "intersects",
            Op::PMatch => "pmatch",
            Op::Glob => "glob",
            Op::IGlob => "iglob",
            Op::Regex => "regex",
            Op::Exists => "exists",
        }
    }

    /// Word operators by name.
    pub fn from_word(s: &str) -> Option<Op> {
        Some(match s {
            "contains" => Op::Contains,
            "icontains" => Op::IContains,
            "bcontains" => Op::BContains,
            "startswith" => Op::StartsWith,
            "bstartswith" => Op::BStartsWith,
            "endswith" => Op::EndsWith,
            "in" => Op::In,
            "intersects" => Op::Intersects,
            "pmatch" => Op::PMatch,
            "glob" => Op::Glob,
            "iglob" => Op::IGlob,
            "regex" => Op::Regex,
            "exists" => Op::Exists,
            _ => return None,
        })
    }

    /// An operator written on its own (`=`, `==`, `!=`, `<=`, `contains`, ...),
    /// as exceptions' `comps` give them.
    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "=" | "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            w => return Op::from_word(w),
        })
    }

    /// Whether the right-hand side is a list.
    pub fn takes_list(self) -> bool {
        matches!(self, Op::In | Op::Intersects | Op::PMatch)
    }
}

/// A literal value.
#[derive(Clone, Debug)]
pub struct Value {
    /// The text, unquoted and unescaped.
    pub text: String,
    /// Whether it was quoted (a quoted value is never a list name).
    pub quoted: bool,
    /// Where it is.
    pub span: Span,
}

/// The right-hand side of a check.
#[derive(Clone, Debug)]
pub enum Rhs {
    /// Nothing (`exists`).
    None,
    /// One value.
    Value(Value),
    /// A parenthesised list; bare items may name lists, expanded later.
    List(Vec<Value>),
    /// Another field: `val(field)`.
    Field(FieldExpr),
}

fn needs_quotes(s: &str) -> bool {
    s.is_empty()
        || s.chars()
            .any(|c| c.is_whitespace() || matches!(c, '(' | ')' | ',' | '"' | '\'' | '\\'))
        || matches!(s, "and" | "or" | "not")
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.quoted || needs_quotes(&self.text) {
            f.write_str(&quote(&self.text))
        } else {
            f.write_str(&self.text)
        }
    }
}

impl fmt::Display for FieldExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in &self.transformers {
            write!(f, "{}(", t.name())?;
        }
        f.write_str(&self.name)?;
        if let Some(a) = &self.arg {
            write!(f, "[{a}]")?;
        }
        for _ in &self.transformers {
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.lhs, self.op.as_str())?;
        match &self.rhs {
            Rhs::None => Ok(()),
            Rhs::Value(v) => write!(f, " {v}"),
            Rhs::Field(x) => write!(f, " val({x})"),
            Rhs::List(items) => {
                f.write_str(" (")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl Expr {
    fn prec(&self) -> u8 {
        match self {
            Expr::Or(_) => 1,
            Expr::And(_) => 2,
            _ => 3,
        }
    }

    fn fmt_in(&self, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        let paren = self.prec() < min;
        if paren {
            f.write_str("(")?;
        }
        match self {
            Expr::Or(xs) | Expr::And(xs) => {
                let (word, p) = if matches!(self, Expr::Or(_)) {
                    (" or ", 1)
                } else {
                    (" and ", 2)
                };
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(word)?;
                    }
                    x.fmt_in(f, p)?;
                }
            }
            Expr::Not(x) => {
                f.write_str("not ")?;
                x.fmt_in(f, 3)?;
            }
            Expr::Macro { name, .. } => f.write_str(name)?,
            Expr::Check(c) => write!(f, "{c}")?,
        }
        if paren {
            f.write_str(")")?;
        }
        Ok(())
    }

    /// Calls `f` on every check, depth first.
    pub fn visit_checks<'a>(&'a self, f: &mut impl FnMut(&'a Check)) {
        match self {
            Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| x.visit_checks(f)),
            Expr::Not(x) => x.visit_checks(f),
            Expr::Check(c) => f(c),
            Expr::Macro { .. } => {}
        }
    }

    /// Calls `f` on every macro reference.
    pub fn visit_macros<'a>(&'a self, f: &mut impl FnMut(&'a str, Span)) {
        match self {
            Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| x.visit_macros(f)),
            Expr::Not(x) => x.visit_macros(f),
            Expr::Macro { name, span } => f(name, *span),
            Expr::Check(_) => {}
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_in(f, 0)
    }
}

/// Structural equality ignoring spans, for round-trip tests.
pub fn same(a: &Expr, b: &Expr) -> bool {
    a.to_string() == b.to_string()
}
