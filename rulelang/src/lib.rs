//! The Falco condition language: parse a condition into a syntax tree, print
//! it back canonically. No I/O, no YAML, no knowledge of fields: macros and
//! lists are expanded, fields checked and the tree compiled by the analyzer.
//!
//! Grammar (the subset of libsinsp's filter grammar that rule files use, which
//! is all of it):
//!
//! ```text
//! expr      = or
//! or        = and { "or" and }
//! and       = not { "and" not }
//! not       = "not" not | primary
//! primary   = "(" expr ")" | check | macro
//! macro     = word                      (a word not followed by an operator)
//! check     = field_expr ( "exists"
//!                        | cmp_op ( value | "val(" field_expr ")" )
//!                        | list_op ( "(" [ value { "," value } ] ")" | value ) )
//! field_expr= transformer "(" field_expr ")" | word [ "[" any-but-"]" "]" ]
//! transformer = "tolower" | "toupper" | "b64" | "basename" | "len"
//! cmp_op    = "=" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "contains"
//!           | "icontains" | "bcontains" | "startswith" | "bstartswith"
//!           | "endswith" | "glob" | "iglob" | "regex"
//! list_op   = "in" | "intersects" | "pmatch"
//! value     = quoted string ('...' or "...", backslash escapes) | bare word
//!             (up to whitespace, "(", ")" or ",")
//! word      = letters, digits, "_", ".", "-"
//! ```
//!
//! Nesting is limited to 200 levels so that hostile input cannot exhaust the
//! stack.

pub mod ast;
pub mod parse;

pub use ast::{Check, Expr, FieldExpr, Op, Rhs, Span, Transformer, Value};
pub use parse::{parse_condition, ErrorKind, ParseError};
