//! Falco rules as SQL over the exported events ([`crate::schema`]), for
//! engines that already hold a fleet's data (DuckDB, Spark SQL).
//!
//! A rule's compiled condition (macros and lists expanded by the rule
//! compiler) becomes one `SELECT` returning one row per matching event:
//! the rule's name, the event's `capture` and `evt_num`. Falco's semantics
//! are kept where SQL's differ: a check on a value the event cannot supply
//! is false (so `not` of it is true), which `coalesce(check, false)` gives;
//! rules naming no event type skip Ferret's own records, as the engine
//! does. What SQL over this schema cannot express (a field without a
//! column, a transformer other than `tolower`/`toupper`, byte operators,
//! `val()`) makes the rule [`Translated::Unsupported`] with the reason.

use std::fmt::Write;

use rulelang::{Op, Transformer};
use ruleset::compile::{CheckNode, Const, FieldArg, Node, NodeId, Operand, Program};
use ruleset::CompiledRule;

use crate::{column_name, ColType, COLUMNS};

/// SQL dialects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// DuckDB.
    DuckDb,
    /// Spark SQL (3.4 and later).
    Spark,
}

/// One rule's translation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Translated {
    /// The query.
    Query(String),
    /// Why the rule cannot be expressed.
    Unsupported(String),
}

/// Kinds the engine never evaluates rules without event types on.
const INTERNAL: &[&str] = &["ferret_loss", "procfork", "procexec"];

/// Translates a rule into a query over `table`.
pub fn rule_query(r: &CompiledRule, table: &str, d: Dialect) -> Translated {
    let mut t = Tx { d, p: &r.program };
    let cond = match t.node(r.program.root) {
        Ok(c) => c,
        Err(why) => return Translated::Unsupported(why),
    };
    let mut q = format!(
        "SELECT {} AS rule, capture, evt_num FROM {table} WHERE {cond}",
        t.string(&r.name)
    );
    if r.evttypes.is_none() {
        let internal: Vec<String> = INTERNAL.iter().map(|k| t.string(k)).collect();
        let _ = write!(q, " AND evt_type NOT IN ({})", internal.join(", "));
    }
    Translated::Query(q)
}

/// Every rule's query, separated by `;`, with the rules that cannot be
/// expressed listed as comments at the top; and those rules with reasons.
pub fn script(rules: &[CompiledRule], table: &str, d: Dialect) -> (String, Vec<(String, String)>) {
    let mut out = String::new();
    let mut unsupported = Vec::new();
    let mut queries = Vec::new();
    for r in rules {
        match rule_query(r, table, d) {
            Translated::Query(q) => queries.push(q),
            Translated::Unsupported(why) => unsupported.push((r.name.clone(), why)),
        }
    }
    let _ = writeln!(
        out,
        "-- Falco rules as SQL over Ferret's exported events (schema {}), {} dialect: {} queries, {} rule(s) not expressible.",
        crate::SCHEMA_VERSION,
        match d {
            Dialect::DuckDb => "DuckDB",
            Dialect::Spark => "Spark SQL",
        },
        queries.len(),
        unsupported.len()
    );
    for (name, why) in &unsupported {
        let _ = writeln!(
            out,
            "-- not expressible: {}: {why}",
            name.replace('\n', " ")
        );
    }
    for q in queries {
        let _ = writeln!(out, "{q};");
    }
    (out, unsupported)
}

struct Tx<'a> {
    d: Dialect,
    p: &'a Program,
}

impl Tx<'_> {
    /// A string literal. Spark reads backslashes in literals as escapes.
    fn string(&self, s: &str) -> String {
        let mut q = s.replace('\'', "''");
        if self.d == Dialect::Spark {
            q = q.replace('\\', "\\\\");
        }
        format!("'{q}'")
    }

    fn node(&mut self, id: NodeId) -> Result<String, String> {
        match &self.p.nodes[id as usize] {
            Node::And(xs) => self.join(xs, " AND "),
            Node::Or(xs) => self.join(xs, " OR "),
            Node::Not(x) => Ok(format!("(NOT {})", self.node(*x)?)),
            Node::Check(c) => Ok(format!("coalesce({}, false)", self.check(c)?)),
        }
    }

    fn join(&mut self, xs: &[NodeId], sep: &str) -> Result<String, String> {
        let parts: Result<Vec<String>, String> = xs.iter().map(|x| self.node(*x)).collect();
        Ok(format!("({})", parts?.join(sep)))
    }

    /// The column expression of a field, and whether it holds a list
    /// (`proc.aname` without index: every ancestor).
    fn field(
        &self,
        f: &ruleset::compile::FieldRef,
    ) -> Result<(String, Option<ColType>, bool), String> {
        let name = ruleset::fields::FIELDS[f.id as usize].name;
        let (mut expr, ty, list) = match (name, &f.arg) {
            ("proc.aname", FieldArg::None) => ("proc_aname".to_string(), Some(ColType::Str), true),
            ("proc.aname", FieldArg::Index(i)) => (
                match self.d {
                    Dialect::DuckDb => format!("proc_aname[{i}]"),
                    Dialect::Spark => format!("try_element_at(proc_aname, {i})"),
                },
                Some(ColType::Str),
                false,
            ),
            ("evt.num", FieldArg::None) => ("evt_num".into(), Some(ColType::Int), false),
            ("evt.rawtime", FieldArg::None) => ("evt_rawtime".into(), Some(ColType::Int), false),
            ("evt.dir", FieldArg::None) => ("'<'".into(), Some(ColType::Str), false),
            // An argument by name, as the engine gives it (text).
            ("evt.arg", FieldArg::Key(k)) => (
                format!("evt_arg[{}]", self.string(k)),
                Some(ColType::Str),
                false,
            ),
            (n, FieldArg::None) => match COLUMNS.iter().find(|(c, _)| *c == n) {
                Some((c, t)) => (column_name(c), Some(*t), false),
                None => {
                    return Err(format!(
                        "{f}: no column for this field in {}",
                        crate::SCHEMA_VERSION
                    ))
                }
            },
            _ => {
                return Err(format!(
                    "{f}: no column for this field in {}",
                    crate::SCHEMA_VERSION
                ))
            }
        };
        for t in f.transformers.iter().rev() {
            expr = match t {
                Transformer::ToLower if !list => format!("lower({expr})"),
                Transformer::ToUpper if !list => format!("upper({expr})"),
                t => {
                    return Err(format!(
                        "{f}: the {} transformer has no SQL form here",
                        t.name()
                    ))
                }
            };
        }
        Ok((expr, ty, list))
    }

    fn constant(&self, c: &Const, numeric: bool) -> Result<String, String> {
        match c {
            Const::Str(s) if numeric => match (s.parse::<i64>(), s.as_ref()) {
                (Ok(n), _) => Ok(n.to_string()),
                (_, "true") => Ok("1".into()),
                (_, "false") => Ok("0".into()),
                _ => Err(format!("{s:?} compared with a number")),
            },
            Const::Str(s) => Ok(self.string(s)),
            Const::Int(n) if numeric => Ok(n.to_string()),
            Const::Int(n) => Ok(self.string(&n.to_string())),
            Const::Bool(b) => Ok(if numeric {
                i64::from(*b).to_string()
            } else {
                self.string(if *b { "true" } else { "false" })
            }),
            Const::Ip(ip) => Ok(self.string(&ip.to_string())),
            Const::Net(..) => Err("network ranges have no SQL form here".into()),
            Const::Bytes(_) => Err("byte operands have no SQL form here".into()),
        }
    }

    fn starts(&self, col: &str, lit: &str) -> String {
        match self.d {
            Dialect::DuckDb => format!("starts_with({col}, {lit})"),
            Dialect::Spark => format!("startswith({col}, {lit})"),
        }
    }

    fn check(&self, c: &CheckNode) -> Result<String, String> {
        // `fd.ip` and `fd.port` hold when either end does (Falco's
        // semantics): the check on the client's, or on the server's.
        let name = ruleset::fields::FIELDS[c.field.id as usize].name;
        let ends = match name {
            "fd.ip" => Some(["fd.cip", "fd.sip"]),
            "fd.port" => Some(["fd.cport", "fd.sport"]),
            _ => None,
        };
        if let Some(ends) = ends {
            let mut parts = Vec::new();
            for end in ends {
                let id = ruleset::fields::FIELDS
                    .iter()
                    .position(|f| f.name == end)
                    .ok_or_else(|| format!("{end}: not in the field registry"))?;
                let mut one = c.clone();
                one.field.id = id as _;
                parts.push(format!("coalesce({}, false)", self.check(&one)?));
            }
            return Ok(format!("({})", parts.join(" OR ")));
        }
        let (col, ty, list) = self.field(&c.field)?;
        let numeric = ty == Some(ColType::Int);
        let one = |this: &Self| -> Result<String, String> {
            match &c.operand {
                Operand::Const(k) => this.constant(k, numeric),
                _ => Err(format!(
                    "{} {}: unsupported operand",
                    c.field,
                    c.op.as_str()
                )),
            }
        };
        let set = |this: &Self| -> Result<Vec<String>, String> {
            match &c.operand {
                Operand::Set(items, _) => items.iter().map(|k| this.constant(k, numeric)).collect(),
                Operand::Const(k) => Ok(vec![this.constant(k, numeric)?]),
                _ => Err(format!(
                    "{} {}: unsupported operand",
                    c.field,
                    c.op.as_str()
                )),
            }
        };
        if list {
            // Any ancestor.
            let items = match c.op {
                Op::Eq => vec![one(self)?],
                Op::In | Op::Intersects => set(self)?,
                Op::Exists => return Ok(format!("{}{col}) > 0", self.len_fn())),
                op => {
                    return Err(format!(
                        "{}: `{}` over every ancestor has no SQL form here",
                        c.field,
                        op.as_str()
                    ))
                }
            };
            if items.is_empty() {
                return Ok("false".into());
            }
            return Ok(match self.d {
                Dialect::DuckDb => format!("list_has_any({col}, [{}])", items.join(", ")),
                Dialect::Spark => format!("arrays_overlap({col}, array({}))", items.join(", ")),
            });
        }
        Ok(match c.op {
            Op::Eq => format!("{col} = {}", one(self)?),
            Op::Ne => format!("{col} <> {}", one(self)?),
            Op::Lt => format!("{col} < {}", one(self)?),
            Op::Le => format!("{col} <= {}", one(self)?),
            Op::Gt => format!("{col} > {}", one(self)?),
            Op::Ge => format!("{col} >= {}", one(self)?),
            Op::Contains if !numeric => format!("instr({col}, {}) > 0", one(self)?),
            Op::IContains if !numeric => format!("instr(lower({col}), lower({})) > 0", one(self)?),
            Op::StartsWith if !numeric => self.starts(&col, &one(self)?),
            Op::EndsWith if !numeric => {
                let lit = one(self)?;
                format!("right({col}, length({lit})) = {lit}")
            }
            Op::In | Op::Intersects => match set(self)? {
                // `in ()` matches nothing (an empty list to override).
                items if items.is_empty() => "false".into(),
                items => format!("{col} IN ({})", items.join(", ")),
            },
            Op::PMatch => {
                let Operand::Prefixes(ps) = &c.operand else {
                    return Err(format!("{} pmatch: unsupported operand", c.field));
                };
                let alts: Vec<String> = ps
                    .iter()
                    .map(|p| {
                        let p = p.trim_end_matches('/');
                        format!(
                            "{col} = {} OR {}",
                            self.string(p),
                            self.starts(&col, &self.string(&format!("{p}/")))
                        )
                    })
                    .collect();
                format!("({})", alts.join(" OR "))
            }
            Op::Exists => format!("{col} IS NOT NULL"),
            Op::Glob | Op::IGlob => {
                let Operand::Glob(g) = &c.operand else {
                    return Err(format!("{} glob: unsupported operand", c.field));
                };
                let re = self.string(&glob_regex(g.as_str()));
                let target = if c.op == Op::IGlob {
                    format!("lower({col})")
                } else {
                    col.clone()
                };
                let re = if c.op == Op::IGlob {
                    format!("lower({re})")
                } else {
                    re
                };
                match self.d {
                    Dialect::DuckDb => format!("regexp_full_match({target}, {re})"),
                    Dialect::Spark => format!("{target} RLIKE {re}"),
                }
            }
            Op::Regex => {
                let Operand::Regex(r) = &c.operand else {
                    return Err(format!("{} regex: unsupported operand", c.field));
                };
                // Falco's regex matches anywhere in the value.
                let re = self.string(r.as_str());
                match self.d {
                    Dialect::DuckDb => format!("regexp_matches({col}, {re})"),
                    Dialect::Spark => format!("{col} RLIKE {re}"),
                }
            }
            op => return Err(format!("{} {}: no SQL form here", c.field, op.as_str())),
        })
    }

    fn len_fn(&self) -> &'static str {
        match self.d {
            Dialect::DuckDb => "len(",
            Dialect::Spark => "size(",
        }
    }
}

/// A `fnmatch(3)` pattern (without flags) as an anchored regular
/// expression: `*` any text, `?` one character, `[...]` a class.
fn glob_regex(g: &str) -> String {
    let mut re = String::from("^");
    let mut chars = g.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '[' => {
                re.push('[');
                if chars.peek() == Some(&'!') {
                    chars.next();
                    re.push('^');
                }
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                    if c == '\\' {
                        re.push_str("\\\\");
                    } else {
                        re.push(c);
                    }
                }
                re.push(']');
            }
            '\\' => {
                if let Some(n) = chars.next() {
                    re.push_str(&regex_escape(n));
                }
            }
            c => re.push_str(&regex_escape(c)),
        }
    }
    re.push('$');
    re
}

fn regex_escape(c: char) -> String {
    if ".+()|{}^$[]\\*?/".contains(c) && c != '/' {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<CompiledRule> {
        let set = ruleset::load_rules_str("t.yaml", text, &ruleset::Selection::default());
        assert_eq!(set.errors(), 0, "{:?}", set.diagnostics);
        set.rules
    }

    #[test]
    fn checks_become_null_safe_sql() {
        let r = rules(
            "- list: shells\n  items: [bash, sh]\n- macro: spawned\n  condition: evt.type = execve and evt.dir = <\n- rule: R\n  desc: d\n  condition: spawned and proc.name in (shells) and not fd.name startswith '/etc' and proc.aname[2] = sshd and proc.cmdline contains \"it's\"\n  output: o\n  priority: WARNING\n",
        );
        let Translated::Query(q) = rule_query(&r[0], "events", Dialect::DuckDb) else {
            panic!("expressible");
        };
        assert!(
            q.starts_with("SELECT 'R' AS rule, capture, evt_num FROM events WHERE "),
            "{q}"
        );
        assert!(q.contains("coalesce(evt_type = 'execve', false)"), "{q}");
        assert!(
            q.contains("coalesce(proc_name IN ('bash', 'sh'), false)"),
            "{q}"
        );
        assert!(
            q.contains("(NOT coalesce(starts_with(fd_name, '/etc'), false))"),
            "{q}"
        );
        assert!(q.contains("proc_aname[2] = 'sshd'"), "{q}");
        assert!(q.contains("'it''s'"), "{q}");
        assert!(
            !q.contains("NOT IN ('ferret_loss'"),
            "a rule with event types"
        );
        let Translated::Query(s) = rule_query(&r[0], "events", Dialect::Spark) else {
            panic!("expressible");
        };
        assert!(s.contains("try_element_at(proc_aname, 2) = 'sshd'"), "{s}");
    }

    #[test]
    fn what_sql_cannot_say_is_reported_with_the_reason() {
        let r = rules(
            "- rule: R\n  desc: d\n  condition: evt.type = open and proc.env[HOME] = /root\n  output: o\n  priority: WARNING\n- rule: S\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: WARNING\n",
        );
        let (text, bad) = script(&r, "events", Dialect::DuckDb);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].1.contains("proc.env[HOME]: no column"), "{bad:?}");
        assert!(text.contains("-- not expressible: R: "));
        assert!(
            text.contains("AND evt_type NOT IN ('ferret_loss', 'procfork', 'procexec');"),
            "{text}"
        );
    }

    #[test]
    fn globs_become_anchored_regexes() {
        assert_eq!(glob_regex("/etc/*.conf"), "^/etc/.*\\.conf$");
        assert_eq!(glob_regex("a?[!x]"), "^a.[^x]$");
    }
}
