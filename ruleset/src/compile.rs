//! From definitions to compiled rules: macros and lists expanded (cycles
//! detected), exceptions turned into conditions, fields resolved against the
//! registry, operators checked against field types, constants parsed once,
//! and each condition lowered into a flat [`Program`] the evaluator runs.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;

use rulelang::{parse_condition, Check, Expr, FieldExpr, Op, Rhs, Span, Transformer, Value};
use serde_yaml::Value as Yaml;

use crate::diag::{Diagnostic, Severity};
use crate::evttypes;
use crate::fields::{self, ArgForm, FieldId, FieldType};
use crate::load::{Definitions, ExceptionDef, MacroDef, RuleDef};

/// Rule priorities, most severe first (Falco's order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Priority {
    /// EMERGENCY.
    Emergency,
    /// ALERT.
    Alert,
    /// CRITICAL.
    Critical,
    /// ERROR.
    Error,
    /// WARNING.
    Warning,
    /// NOTICE.
    Notice,
    /// INFORMATIONAL (also INFO).
    Informational,
    /// DEBUG.
    Debug,
}

impl Priority {
    /// Parses a priority, case-insensitively (`INFO` is `Informational`).
    pub fn parse(s: &str) -> Option<Priority> {
        Some(match s.to_ascii_lowercase().as_str() {
            "emergency" => Priority::Emergency,
            "alert" => Priority::Alert,
            "critical" => Priority::Critical,
            "error" => Priority::Error,
            "warning" => Priority::Warning,
            "notice" => Priority::Notice,
            "informational" | "info" => Priority::Informational,
            "debug" => Priority::Debug,
            _ => return None,
        })
    }

    /// Falco's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }
}

/// The argument of a field reference, resolved.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FieldArg {
    /// None.
    None,
    /// An index: `proc.aname[2]`, `evt.arg[0]`.
    Index(u32),
    /// A name or key: `evt.arg.path`, `proc.env[HOME]`.
    Key(String),
}

/// Where a named event argument is, per event kind: its position, the
/// event's return value ([`ArgPositions::RET`]: `res`, and `fd` of the calls
/// that return one) or absent ([`ArgPositions::NONE`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ArgPositions(pub [u8; 256]);

impl ArgPositions {
    /// The kind has no such argument.
    pub const NONE: u8 = u8::MAX;
    /// The value is the event's return value.
    pub const RET: u8 = u8::MAX - 1;

    /// The positions of argument `name` in every kind of the event table.
    pub fn of(name: &str) -> ArgPositions {
        use capture::kind::id;
        let mut t = [Self::NONE; 256];
        for k in capture::kind::KINDS {
            let returns_fd = matches!(
                k.id,
                id::OPEN
                    | id::OPENAT
                    | id::OPENAT2
                    | id::CREAT
                    | id::SOCKET
                    | id::ACCEPT
                    | id::ACCEPT4
            );
            t[(k.id as usize).min(255)] = if name == "res" || (name == "fd" && returns_fd) {
                Self::RET
            } else {
                k.args
                    .iter()
                    .position(|(n, _)| *n == name)
                    .map_or(Self::NONE, |i| i.min(usize::from(Self::RET) - 1) as u8)
            };
        }
        ArgPositions(t)
    }

    /// The position in events of kind `kind`.
    pub fn get(&self, kind: u16) -> u8 {
        self.0[(kind as usize).min(255)]
    }
}

/// A resolved field reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldRef {
    /// Index in the registry.
    pub id: FieldId,
    /// What it extracts, resolved from the registry when compiled.
    pub kind: fields::FieldKind,
    /// For `evt.arg.NAME` and `evt.rawarg.NAME`: where the argument is in
    /// each event kind, resolved when compiled ([`ArgPositions`]).
    pub positions: Option<std::sync::Arc<ArgPositions>>,
    /// The argument.
    pub arg: FieldArg,
    /// Transformers, outermost first.
    pub transformers: Vec<Transformer>,
    /// The type of the value after the transformers.
    pub ty: FieldType,
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in &self.transformers {
            write!(f, "{}(", t.name())?;
        }
        let name = fields::FIELDS[self.id as usize].name;
        match &self.arg {
            FieldArg::None => f.write_str(name)?,
            FieldArg::Index(i) => write!(f, "{name}[{i}]")?,
            FieldArg::Key(k) if name == "evt.arg" || name == "evt.rawarg" => {
                write!(f, "{name}.{k}")?
            }
            FieldArg::Key(k) => write!(f, "{name}[{k}]")?,
        }
        for _ in &self.transformers {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A constant, parsed for the field's type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Const {
    /// Text.
    Str(Box<str>),
    /// Bytes (bcontains, bstartswith).
    Bytes(Box<[u8]>),
    /// A signed number.
    Int(i64),
    /// true/false.
    Bool(bool),
    /// An address.
    Ip(IpAddr),
    /// A network: address and prefix length.
    Net(IpAddr, u8),
}

impl fmt::Display for Const {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = |s: &str| {
            Value {
                text: s.to_string(),
                quoted: false,
                span: Span::default(),
            }
            .to_string()
        };
        match self {
            Const::Str(s) => f.write_str(&v(s)),
            Const::Bytes(b) => {
                f.write_str(&b.iter().map(|x| format!("{x:02x}")).collect::<String>())
            }
            Const::Int(i) => write!(f, "{i}"),
            Const::Bool(b) => write!(f, "{b}"),
            Const::Ip(ip) => write!(f, "{ip}"),
            Const::Net(ip, p) => write!(f, "\"{ip}/{p}\""),
        }
    }
}

/// The right-hand side, compiled.
#[derive(Clone, Debug)]
pub enum Operand {
    /// None (`exists`).
    None,
    /// One constant.
    Const(Const),
    /// A set (`in`, `intersects`); text members also in a hash set.
    Set(Vec<Const>, HashSet<Box<str>, rustc_hash::FxBuildHasher>),
    /// Path prefixes (`pmatch`).
    Prefixes(Vec<Box<str>>),
    /// A glob pattern (`glob`, `iglob`), matched by `fnmatch(3)`.
    Glob(crate::glob::Pattern),
    /// A compiled regular expression.
    Regex(regex::Regex),
    /// Another field (`val()`).
    Field(FieldRef),
}

/// One compiled check.
#[derive(Clone, Debug)]
pub struct CheckNode {
    /// The field.
    pub field: FieldRef,
    /// The operator.
    pub op: Op,
    /// The operand.
    pub operand: Operand,
    /// For `evt.type =`, `!=` and `in` checks: the kind ids named, so the
    /// evaluator compares ids instead of strings.
    pub kinds: Option<capture::KindSet>,
    /// For `contains` and `bcontains` with a constant: the needle's
    /// searcher, built once when the rule is compiled.
    pub finder: Option<Box<memchr::memmem::Finder<'static>>>,
}

/// Checks are the same check when they test the same field with the same
/// operator against the same operand (the event kinds and the substring
/// searcher follow from those): how rules that share a macro share its
/// checks.
impl PartialEq for CheckNode {
    fn eq(&self, o: &Self) -> bool {
        self.field == o.field && self.op == o.op && self.operand == o.operand
    }
}

impl Eq for CheckNode {}

impl std::hash::Hash for CheckNode {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.field.hash(h);
        self.op.hash(h);
        self.operand.hash(h);
    }
}

/// Operands are equal when they are written the same: a set by its members
/// in order, a regular expression by its pattern.
impl PartialEq for Operand {
    fn eq(&self, o: &Self) -> bool {
        match (self, o) {
            (Operand::None, Operand::None) => true,
            (Operand::Const(a), Operand::Const(b)) => a == b,
            (Operand::Set(a, _), Operand::Set(b, _)) => a == b,
            (Operand::Prefixes(a), Operand::Prefixes(b)) => a == b,
            (Operand::Glob(a), Operand::Glob(b)) => a == b,
            (Operand::Regex(a), Operand::Regex(b)) => a.as_str() == b.as_str(),
            (Operand::Field(a), Operand::Field(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Operand {}

impl std::hash::Hash for Operand {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        std::mem::discriminant(self).hash(h);
        match self {
            Operand::None => {}
            Operand::Const(c) => c.hash(h),
            Operand::Set(v, _) => v.hash(h),
            Operand::Prefixes(v) => v.hash(h),
            Operand::Glob(g) => g.hash(h),
            Operand::Regex(r) => r.as_str().hash(h),
            Operand::Field(f) => f.hash(h),
        }
    }
}

/// Index of a node in a [`Program`].
pub type NodeId = u32;

/// A node of a compiled condition.
#[derive(Clone, Debug)]
pub enum Node {
    /// All children.
    And(Vec<NodeId>),
    /// Any child.
    Or(Vec<NodeId>),
    /// Negation.
    Not(NodeId),
    /// A check.
    Check(CheckNode),
}

/// A compiled condition: nodes in a flat vector, children before parents.
/// A macro is compiled once per condition and every reference to it points
/// at the same node, so the nodes form a DAG as large as the rule text, not
/// a tree as large as its expansion.
#[derive(Clone, Debug, Default)]
pub struct Program {
    /// The nodes.
    pub nodes: Vec<Node>,
    /// The root.
    pub root: NodeId,
    /// For each node with more than one parent, its slot in the evaluator's
    /// per-event memo ([`NO_SLOT`] otherwise): a node reached through many
    /// paths is evaluated once per event.
    pub slots: Vec<u32>,
    /// Number of memo slots.
    pub nslots: u32,
}

/// No memo slot: a node with one parent.
pub const NO_SLOT: u32 = u32::MAX;

impl Program {
    fn push(&mut self, n: Node) -> NodeId {
        self.nodes.push(n);
        (self.nodes.len() - 1) as NodeId
    }

    fn children(n: &Node) -> &[NodeId] {
        match n {
            Node::And(xs) | Node::Or(xs) => xs,
            Node::Not(x) => std::slice::from_ref(x),
            Node::Check(_) => &[],
        }
    }

    /// Gives a memo slot to every node reached through more than one parent.
    pub fn finish(&mut self) {
        let mut parents = vec![0u32; self.nodes.len()];
        for n in &self.nodes {
            for c in Self::children(n) {
                parents[*c as usize] = parents[*c as usize].saturating_add(1);
            }
        }
        self.nslots = 0;
        self.slots = parents
            .iter()
            .map(|&p| {
                if p > 1 {
                    self.nslots += 1;
                    self.nslots - 1
                } else {
                    NO_SLOT
                }
            })
            .collect();
    }

    /// The number of nodes the condition would have with every macro
    /// reference copied (saturating): what printing it costs.
    pub fn expanded_size(&self) -> u64 {
        let mut size = vec![0u64; self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            size[i] = Self::children(n)
                .iter()
                .fold(1u64, |a, c| a.saturating_add(size[*c as usize]));
        }
        size.get(self.root as usize).copied().unwrap_or(0)
    }

    fn fmt_node(&self, id: NodeId, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        let n = &self.nodes[id as usize];
        let prec = match n {
            Node::Or(_) => 1,
            Node::And(_) => 2,
            _ => 3,
        };
        // Nested `and`/`or` are always bracketed: older parsers (sysdig
        // 0.29, Falco before 0.33) reject mixing them without brackets.
        let wrap = prec < min || (prec < 3 && min > 0 && prec != min);
        if wrap {
            f.write_str("(")?;
        }
        match n {
            Node::And(xs) | Node::Or(xs) => {
                let (w, p) = if matches!(n, Node::Or(_)) {
                    (" or ", 1)
                } else {
                    (" and ", 2)
                };
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(w)?;
                    }
                    self.fmt_node(*x, f, p)?;
                }
            }
            Node::Not(x) => {
                f.write_str("not ")?;
                self.fmt_node(*x, f, 3)?;
            }
            Node::Check(c) => {
                write!(f, "{} {}", c.field, c.op.as_str())?;
                match &c.operand {
                    Operand::None => {}
                    Operand::Const(k) => write!(f, " {k}")?,
                    Operand::Set(items, _) => {
                        let s: Vec<String> = items.iter().map(|k| k.to_string()).collect();
                        write!(f, " ({})", s.join(", "))?;
                    }
                    Operand::Prefixes(ps) => {
                        let s: Vec<String> = ps
                            .iter()
                            .map(|k| Const::Str(k.clone()).to_string())
                            .collect();
                        write!(f, " ({})", s.join(", "))?;
                    }
                    Operand::Glob(g) => write!(f, " {}", Const::Str(g.as_str().into()))?,
                    Operand::Regex(r) => write!(f, " {}", Const::Str(r.as_str().into()))?,
                    Operand::Field(x) => write!(f, " val({x})")?,
                }
            }
        }
        if wrap {
            f.write_str(")")?;
        }
        Ok(())
    }

    /// The event types the program can match (`None`: any), as Falco
    /// computes them: `evt.type = x` and `in` restrict, `and` intersects,
    /// `or` unites, and negations do not restrict.
    pub fn evttypes(&self) -> Option<BTreeSet<String>> {
        // Children come before parents: one pass, each node once.
        let mut v: Vec<Option<std::rc::Rc<BTreeSet<String>>>> =
            Vec::with_capacity(self.nodes.len());
        for n in &self.nodes {
            let r = match n {
                Node::Check(c)
                    if fields::FIELDS[c.field.id as usize].name == "evt.type"
                        && c.field.transformers.is_empty() =>
                {
                    match (&c.op, &c.operand) {
                        (Op::Eq, Operand::Const(Const::Str(s))) => {
                            Some(std::rc::Rc::new([s.to_string()].into()))
                        }
                        (Op::In, Operand::Set(items, _)) => Some(std::rc::Rc::new(
                            items.iter().map(|k| k.to_string()).collect(),
                        )),
                        _ => None,
                    }
                }
                Node::Check(_) | Node::Not(_) => None,
                Node::And(xs) => {
                    let mut acc: Option<std::rc::Rc<BTreeSet<String>>> = None;
                    for x in xs {
                        if let Some(s) = &v[*x as usize] {
                            acc = Some(match acc {
                                Some(a) => std::rc::Rc::new(a.intersection(s).cloned().collect()),
                                None => s.clone(),
                            });
                        }
                    }
                    acc
                }
                Node::Or(xs) => {
                    let mut acc = BTreeSet::new();
                    let mut all = true;
                    for x in xs {
                        match &v[*x as usize] {
                            Some(s) => acc.extend(s.iter().cloned()),
                            None => {
                                all = false;
                                break;
                            }
                        }
                    }
                    all.then(|| std::rc::Rc::new(acc))
                }
            };
            v.push(r);
        }
        v.get(self.root as usize)
            .cloned()
            .flatten()
            .map(|s| (*s).clone())
    }
}

/// Most nodes a condition is printed with (`--print-condition`, `run
/// --explain`); a larger expansion is summarised instead.
pub const MAX_PRINTED_NODES: u64 = 100_000;

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nodes.is_empty() {
            return Ok(());
        }
        let n = self.expanded_size();
        if n > MAX_PRINTED_NODES {
            return write!(
                f,
                "(a condition of {n} nodes once every macro is copied in, {} shared: too large to print)",
                self.nodes.len()
            );
        }
        self.fmt_node(self.root, f, 0)
    }
}

/// One piece of an output format.
#[derive(Clone, Debug)]
pub enum OutputPart {
    /// Literal text.
    Text(String),
    /// A field to substitute.
    Field(FieldRef),
}

/// A rule ready to evaluate.
#[derive(Clone, Debug)]
pub struct CompiledRule {
    /// Name.
    pub name: String,
    /// Description.
    pub desc: String,
    /// Priority.
    pub priority: Priority,
    /// Tags.
    pub tags: Vec<String>,
    /// Source.
    pub source: String,
    /// Whether it is enabled (after command-line selection).
    pub enabled: bool,
    /// The condition, compiled.
    pub program: Program,
    /// The event types it can match (`None`: all).
    pub evttypes: Option<BTreeSet<String>>,
    /// The output format, parsed.
    pub output: Vec<OutputPart>,
    /// The output as written.
    pub output_text: String,
    /// Fields added to the JSON `output_fields` only (Falco's
    /// `append_output.extra_fields`): key and format.
    pub extra_fields: Vec<(String, Vec<OutputPart>)>,
    /// File where it was defined.
    pub file: String,
    /// Line where it was defined.
    pub line: usize,
}

/// Where a condition text came from, for positions.
enum Ctx<'a> {
    Rule(&'a RuleDef),
    Macro(&'a MacroDef),
    Exception(&'a RuleDef, &'a str),
    /// A condition or format given on its own (a filter), named `.0`.
    Text(&'a str, &'a str),
}

/// A diagnostic located in a free-standing text called `name`.
fn text_diag(
    name: &str,
    text: &str,
    severity: Severity,
    code: &'static str,
    message: String,
    span: Option<(usize, usize)>,
) -> Diagnostic {
    let (start, end) = span.unwrap_or((0, 0));
    let start = start.min(text.len());
    let before = &text.as_bytes()[..start];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    Diagnostic {
        severity,
        code,
        message,
        file: name.to_string(),
        line,
        column: text
            .get(line_start..start)
            .map_or(1, |t| t.chars().count() + 1),
        width: end.saturating_sub(start).max(1),
        source_line: text[line_start..].lines().next().unwrap_or("").to_string(),
        item_type: String::new(),
        item_name: String::new(),
    }
}

struct Failed;

/// Deepest nesting of macros in macros (real rule files nest a few levels).
pub const MAX_MACRO_DEPTH: usize = 256;
/// Deepest nesting of lists in lists.
pub const MAX_LIST_DEPTH: usize = 256;
/// Most nodes of one compiled condition (macros shared, not copied).
pub const MAX_NODES: usize = 200_000;
/// Most items of one expanded list (nested lists deduplicated).
pub const MAX_LIST_ITEMS: usize = 200_000;

struct Compiler<'a> {
    defs: &'a Definitions,
    /// Macros compiled into the program being built: each is compiled once
    /// per program and shared by every reference (a DAG, not a tree).
    macro_memo: HashMap<String, NodeId>,
    /// Lists expanded so far (without a cycle cut inside: the same from
    /// every reference), deduplicated.
    list_memo: HashMap<String, std::sync::Arc<Vec<String>>>,
    /// A list nested deeper than [`MAX_LIST_DEPTH`] or larger than
    /// [`MAX_LIST_ITEMS`], met while expanding.
    list_limit: Option<String>,
    macros: HashMap<&'a str, (&'a MacroDef, Option<Expr>)>,
    lists: HashMap<&'a str, &'a [String]>,
    used_macros: HashSet<String>,
    used_lists: HashSet<String>,
    diags: Vec<Diagnostic>,
    seen: HashSet<(String, usize, usize, String)>,
    rule: Option<&'a RuleDef>,
    skip_unknown: bool,
    skipped: bool,
}

impl<'a> Compiler<'a> {
    fn diag(
        &mut self,
        ctx: &Ctx<'_>,
        severity: Severity,
        code: &'static str,
        msg: String,
        span: Option<Span>,
    ) {
        let (item_type, item_name) = match self.rule {
            Some(r) => ("rule", r.name.as_str()),
            None => match ctx {
                Ctx::Macro(m) => ("macro", m.name.as_str()),
                _ => ("rule", ""),
            },
        };
        let d = match ctx {
            Ctx::Rule(r) => {
                let off = span.map(|s| s.start).unwrap_or(0);
                let (start, origin) = r
                    .parts
                    .iter()
                    .rev()
                    .find(|(st, _)| *st <= off)
                    .map(|(st, o)| (*st, o))
                    .unwrap_or((0, &r.origin));
                origin.diag(
                    severity,
                    code,
                    msg,
                    item_type,
                    item_name,
                    Some("condition"),
                    span.map(|s| (s.start - start, s.end - start)),
                )
            }
            Ctx::Macro(m) => {
                let msg = if self.rule.is_some() {
                    format!("{msg} (in macro '{}')", m.name)
                } else {
                    msg
                };
                m.origin.diag(
                    severity,
                    code,
                    msg,
                    item_type,
                    item_name,
                    Some("condition"),
                    span.map(|s| (s.start, s.end)),
                )
            }
            Ctx::Exception(r, name) => r.origin.diag(
                severity,
                code,
                msg,
                "exception",
                name,
                Some("exceptions"),
                None,
            ),
            Ctx::Text(name, text) => text_diag(
                name,
                text,
                severity,
                code,
                msg,
                span.map(|s| (s.start, s.end)),
            ),
        };
        let key = (
            d.file.clone(),
            d.line,
            d.column,
            d.message.clone() + d.item_name.as_str(),
        );
        if self.seen.insert(key) {
            self.diags.push(d);
        }
    }

    fn err(
        &mut self,
        ctx: &Ctx<'_>,
        code: &'static str,
        msg: String,
        span: Option<Span>,
    ) -> Failed {
        self.diag(ctx, Severity::Error, code, msg, span);
        Failed
    }

    /// Items of a list, with nested lists expanded and duplicates dropped
    /// (membership is all a list is used for); a reference that would close
    /// a cycle is left as the literal name (as Falco does). Each list is
    /// expanded once: nested lists that double at every level stay linear.
    fn list_items(&mut self, name: &str, stack: &mut Vec<String>) -> Option<Vec<String>> {
        let mut cut = false;
        self.list_expand(name, stack, &mut cut)
            .map(|v| v.as_ref().clone())
    }

    fn list_expand(
        &mut self,
        name: &str,
        stack: &mut Vec<String>,
        cut: &mut bool,
    ) -> Option<std::sync::Arc<Vec<String>>> {
        let items = *self.lists.get(name)?;
        self.used_lists.insert(name.to_string());
        if let Some(v) = self.list_memo.get(name) {
            return Some(v.clone());
        }
        if stack.len() >= MAX_LIST_DEPTH {
            self.list_limit = Some(format!(
                "lists nested more than {MAX_LIST_DEPTH} deep ({} -> ...)",
                stack[..3.min(stack.len())].join(" -> ")
            ));
            // Not remembered: every use past the limit says so.
            *cut = true;
            return Some(Default::default());
        }
        stack.push(name.to_string());
        let mut merged: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut own_cut = false;
        let mut over = false;
        let mut add = |x: &String, merged: &mut Vec<String>| {
            if merged.len() >= MAX_LIST_ITEMS {
                over = true;
            } else if seen.insert(x.clone()) {
                merged.push(x.clone());
            }
        };
        for it in items {
            if self.lists.contains_key(it.as_str()) && !stack.contains(it) {
                let mut inner_cut = false;
                if let Some(v) = self.list_expand(it, stack, &mut inner_cut) {
                    for x in v.iter() {
                        add(x, &mut merged);
                    }
                }
                own_cut |= inner_cut;
            } else {
                // A reference that would close a cycle stays a name.
                own_cut |= self.lists.contains_key(it.as_str());
                add(it, &mut merged);
            }
        }
        stack.pop();
        if over {
            self.list_limit = Some(format!(
                "list '{name}' expands to more than {MAX_LIST_ITEMS} items"
            ));
            own_cut = true;
        }
        let v = std::sync::Arc::new(merged);
        *cut |= own_cut;
        if !own_cut {
            self.list_memo.insert(name.to_string(), v.clone());
        }
        Some(v)
    }

    fn field(&mut self, fe: &FieldExpr, ctx: &Ctx<'_>) -> Result<FieldRef, Failed> {
        let Some((id, info, dotted)) = fields::lookup(&fe.name) else {
            if self.skip_unknown {
                self.skipped = true;
                self.diag(
                    ctx,
                    Severity::Warning,
                    "LOAD_UNKNOWN_FIELD",
                    format!(
                        "unknown field '{}': rule skipped (skip-if-unknown-filter)",
                        fe.name
                    ),
                    Some(fe.span),
                );
                return Err(Failed);
            }
            return Err(self.err(
                ctx,
                "LOAD_ERR_COMPILE_CONDITION",
                format!("unknown field '{}'", fe.name),
                Some(fe.span),
            ));
        };
        if !fields::fillable(id) && fe.span != Span::default() {
            self.diag(
                ctx,
                Severity::Warning,
                "LOAD_UNFILLED_FIELD",
                unfilled(&fe.name),
                Some(fe.span),
            );
        }
        let raw = dotted.or_else(|| fe.arg.clone());
        let arg = match (info.arg, raw) {
            (ArgForm::None, None) => FieldArg::None,
            (ArgForm::None, Some(a)) => {
                return Err(self.err(
                    ctx,
                    "LOAD_ERR_COMPILE_CONDITION",
                    format!("field '{}' takes no argument (got '{a}')", info.name),
                    Some(fe.span),
                ))
            }
            (ArgForm::OptIndex, None) | (ArgForm::OptKey, None) => FieldArg::None,
            (ArgForm::OptIndex, Some(a)) => match a.trim().parse::<u32>() {
                Ok(i) => FieldArg::Index(i),
                Err(_) => {
                    return Err(self.err(
                        ctx,
                        "LOAD_ERR_COMPILE_CONDITION",
                        format!("field '{}' needs a numeric index, got '{a}'", info.name),
                        Some(fe.span),
                    ))
                }
            },
            (ArgForm::ArgRef, Some(a)) => match a.trim().parse::<u32>() {
                Ok(i) => FieldArg::Index(i),
                Err(_) => FieldArg::Key(a),
            },
            (ArgForm::ArgRef | ArgForm::Key, None) => {
                return Err(self.err(
                    ctx,
                    "LOAD_ERR_COMPILE_CONDITION",
                    format!("field '{}' needs an argument", info.name),
                    Some(fe.span),
                ))
            }
            (ArgForm::OptKey | ArgForm::Key, Some(a)) => FieldArg::Key(a),
        };
        let mut ty = info.ty;
        for t in fe.transformers.iter().rev() {
            if !ty.is_text() {
                return Err(self.err(
                    ctx,
                    "LOAD_ERR_COMPILE_CONDITION",
                    format!(
                        "transformer {}() needs a text field, '{}' is {}",
                        t.name(),
                        info.name,
                        ty.name()
                    ),
                    Some(fe.span),
                ));
            }
            if *t == Transformer::Len {
                ty = FieldType::Uint;
            }
        }
        let positions = match (&arg, info.name) {
            (FieldArg::Key(k), "evt.arg" | "evt.rawarg") => {
                Some(std::sync::Arc::new(ArgPositions::of(k)))
            }
            _ => None,
        };
        Ok(FieldRef {
            id,
            kind: fields::kind(id),
            positions,
            arg,
            transformers: fe.transformers.clone(),
            ty,
        })
    }

    fn constant(
        &mut self,
        v: &Value,
        f: &FieldRef,
        op: Op,
        ctx: &Ctx<'_>,
    ) -> Result<Const, Failed> {
        let t = v.text.as_str();
        let bad = |this: &mut Self, what: &str| {
            this.err(
                ctx,
                "LOAD_ERR_COMPILE_CONDITION",
                format!("'{t}' is not {what} (field '{f}' is {})", f.ty.name()),
                Some(v.span),
            )
        };
        if matches!(op, Op::BContains | Op::BStartsWith) {
            let clean: String = t.chars().filter(|c| !c.is_whitespace()).collect();
            if clean.len() % 2 != 0 {
                return Err(bad(self, "a hex byte string"));
            }
            let bytes: Result<Vec<u8>, _> = (0..clean.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&clean[i..i + 2], 16))
                .collect();
            return bytes
                .map(|b| Const::Bytes(b.into()))
                .map_err(|_| bad(self, "a hex byte string"));
        }
        Ok(match f.ty {
            FieldType::Str | FieldType::Path | FieldType::Bytes => {
                if fields::FIELDS[f.id as usize].name == "evt.type"
                    && f.transformers.is_empty()
                    && !evttypes::is_known(t)
                {
                    return Err(self.err(
                        ctx,
                        "LOAD_ERR_COMPILE_CONDITION",
                        format!("unknown event type {t}"),
                        Some(v.span),
                    ));
                }
                Const::Str(t.into())
            }
            FieldType::Int
            | FieldType::Uint
            | FieldType::Port
            | FieldType::Time
            | FieldType::Duration => match t.parse::<i64>() {
                Ok(n) => Const::Int(n),
                Err(_) => match t.parse::<u64>() {
                    Ok(n) => Const::Int(n as i64),
                    Err(_) => return Err(bad(self, "a number")),
                },
            },
            FieldType::Bool => match t.to_ascii_lowercase().as_str() {
                "true" => Const::Bool(true),
                "false" => Const::Bool(false),
                _ => return Err(bad(self, "true or false")),
            },
            FieldType::Ip => match t.parse::<IpAddr>() {
                Ok(ip) => Const::Ip(ip),
                Err(_) => return Err(bad(self, "an IP address")),
            },
            FieldType::Net => {
                let (a, p) = t.split_once('/').unwrap_or((t, ""));
                let Ok(ip) = a.parse::<IpAddr>() else {
                    return Err(bad(self, "a network (a.b.c.d/n)"));
                };
                let max = if ip.is_ipv4() { 32 } else { 128 };
                let plen = if p.is_empty() {
                    Ok(max)
                } else {
                    p.parse::<u8>()
                };
                match plen {
                    Ok(n) if n <= max => Const::Net(ip, n),
                    _ => return Err(bad(self, "a network (a.b.c.d/n)")),
                }
            }
        })
    }

    fn check(&mut self, c: &Check, ctx: &Ctx<'_>, prog: &mut Program) -> Result<NodeId, Failed> {
        let field = self.field(&c.lhs, ctx)?;
        let text_only = matches!(
            c.op,
            Op::Contains
                | Op::IContains
                | Op::StartsWith
                | Op::EndsWith
                | Op::Glob
                | Op::IGlob
                | Op::Regex
                | Op::PMatch
                | Op::BContains
                | Op::BStartsWith
        );
        let ordered = matches!(c.op, Op::Lt | Op::Le | Op::Gt | Op::Ge);
        if (text_only && !field.ty.is_text()) || (ordered && !field.ty.is_numeric()) {
            return Err(self.err(
                ctx,
                "LOAD_ERR_COMPILE_CONDITION",
                format!(
                    "operator '{}' cannot be used with field '{field}' of type {}",
                    c.op.as_str(),
                    field.ty.name()
                ),
                Some(c.span),
            ));
        }
        let operand = match &c.rhs {
            Rhs::None => Operand::None,
            Rhs::Field(fe) => {
                let other = self.field(fe, ctx)?;
                // The evaluator compares a field with another field's value
                // for these operators only; anything else would otherwise
                // silently become `=`.
                if !matches!(
                    c.op,
                    Op::Eq
                        | Op::Ne
                        | Op::Lt
                        | Op::Le
                        | Op::Gt
                        | Op::Ge
                        | Op::Contains
                        | Op::StartsWith
                        | Op::EndsWith
                ) {
                    return Err(self.err(
                        ctx,
                        "LOAD_ERR_COMPILE_CONDITION",
                        format!(
                            "operator '{}' does not take a field value (val({other})): use =, !=, <, <=, >, >=, contains, startswith or endswith",
                            c.op.as_str()
                        ),
                        Some(c.span),
                    ));
                }
                let compatible = other.ty == field.ty
                    || (other.ty.is_text() && field.ty.is_text())
                    || (other.ty.is_numeric() && field.ty.is_numeric());
                if !compatible {
                    return Err(self.err(
                        ctx,
                        "LOAD_ERR_COMPILE_CONDITION",
                        format!(
                            "cannot compare '{field}' ({}) with '{other}' ({})",
                            field.ty.name(),
                            other.ty.name()
                        ),
                        Some(c.span),
                    ));
                }
                Operand::Field(other)
            }
            Rhs::Value(v) => match c.op {
                Op::Glob | Op::IGlob => match crate::glob::Pattern::new(&v.text, c.op == Op::IGlob)
                {
                    Some(p) => Operand::Glob(p),
                    None => {
                        return Err(self.err(
                            ctx,
                            "LOAD_ERR_COMPILE_CONDITION",
                            "a glob pattern cannot hold a NUL byte".into(),
                            Some(v.span),
                        ))
                    }
                },
                Op::Regex => match regex::Regex::new(&v.text) {
                    Ok(r) => Operand::Regex(r),
                    Err(e) => {
                        return Err(self.err(
                            ctx,
                            "LOAD_ERR_COMPILE_CONDITION",
                            format!("invalid regular expression: {e}"),
                            Some(v.span),
                        ))
                    }
                },
                Op::IContains => Operand::Const(Const::Str(v.text.to_lowercase().into())),
                _ => Operand::Const(self.constant(v, &field, c.op, ctx)?),
            },
            Rhs::List(items) => {
                let mut values: Vec<Value> = Vec::new();
                for it in items {
                    if !it.quoted && self.lists.contains_key(it.text.as_str()) {
                        let expanded = self
                            .list_items(&it.text, &mut Vec::new())
                            .unwrap_or_default();
                        if let Some(why) = self.list_limit.take() {
                            return Err(self.err(ctx, "LOAD_ERR_VALIDATE", why, Some(it.span)));
                        }
                        // Falco substitutes list items as text, so an item written
                        // with quotes ('"10.0.0.0/8"') is a quoted string.
                        values.extend(expanded.into_iter().map(|t| Value {
                            text: unquote(&t),
                            quoted: true,
                            span: it.span,
                        }));
                    } else {
                        values.push(it.clone());
                    }
                }
                if c.op == Op::PMatch {
                    Operand::Prefixes(values.into_iter().map(|v| v.text.into()).collect())
                } else {
                    let mut consts = Vec::with_capacity(values.len());
                    for v in &values {
                        consts.push(self.constant(v, &field, c.op, ctx)?);
                    }
                    let strs = consts
                        .iter()
                        .filter_map(|k| {
                            if let Const::Str(s) = k {
                                Some(s.clone())
                            } else {
                                None
                            }
                        })
                        .collect();
                    Operand::Set(consts, strs)
                }
            }
        };
        let is_evt_type =
            fields::FIELDS[field.id as usize].name == "evt.type" && field.transformers.is_empty();
        let kinds = (is_evt_type && matches!(c.op, Op::Eq | Op::Ne | Op::In))
            .then(|| {
                let names: Vec<&str> = match &operand {
                    Operand::Const(Const::Str(n)) => vec![n.as_ref()],
                    Operand::Set(items, _) => items
                        .iter()
                        .filter_map(|k| {
                            if let Const::Str(n) = k {
                                Some(n.as_ref())
                            } else {
                                None
                            }
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                // A call without a kind of its own is a generic event named by
                // its number: only the rendered name can tell it apart.
                if names.iter().any(|n| {
                    capture::kind_by_name(n).is_none()
                        && capture::syscalls::x86_64_number(n).is_some()
                }) {
                    return None;
                }
                Some(
                    names
                        .into_iter()
                        .filter_map(capture::kind_by_name)
                        .map(|k| k.id)
                        .collect(),
                )
            })
            .flatten();
        // A substring search is prepared once here, not for every event.
        let finder = match (c.op, &operand) {
            (Op::Contains | Op::BContains, Operand::Const(Const::Str(s))) => Some(Box::new(
                memchr::memmem::Finder::new(s.as_bytes()).into_owned(),
            )),
            (Op::Contains | Op::BContains, Operand::Const(Const::Bytes(b))) => Some(Box::new(
                memchr::memmem::Finder::new(b.as_ref()).into_owned(),
            )),
            _ => None,
        };
        Ok(prog.push(Node::Check(CheckNode {
            field,
            op: c.op,
            operand,
            kinds,
            finder,
        })))
    }

    fn expr(
        &mut self,
        e: &Expr,
        ctx: &Ctx<'_>,
        prog: &mut Program,
        stack: &mut Vec<String>,
    ) -> Result<NodeId, Failed> {
        Ok(match e {
            Expr::And(xs) | Expr::Or(xs) => {
                let mut kids = Vec::with_capacity(xs.len());
                let mut failed = false;
                for x in xs {
                    match self.expr(x, ctx, prog, stack) {
                        Ok(k) => kids.push(k),
                        Err(_) => failed = true,
                    }
                }
                if failed {
                    return Err(Failed);
                }
                // A shared macro used twice side by side is one child.
                let mut seen = HashSet::new();
                kids.retain(|k| seen.insert(*k));
                if kids.len() == 1 {
                    return Ok(kids[0]);
                }
                prog.push(if matches!(e, Expr::And(_)) {
                    Node::And(kids)
                } else {
                    Node::Or(kids)
                })
            }
            Expr::Not(x) => {
                let k = self.expr(x, ctx, prog, stack)?;
                prog.push(Node::Not(k))
            }
            Expr::Check(c) => self.check(c, ctx, prog)?,
            Expr::Macro { name, span } => {
                let Some((def, ast)) = self.macros.get(name.as_str()).map(|(d, a)| (*d, a.clone()))
                else {
                    return Err(self.err(
                        ctx,
                        "LOAD_ERR_VALIDATE",
                        format!("undefined macro '{name}' used in filter"),
                        Some(*span),
                    ));
                };
                self.used_macros.insert(name.clone());
                if let Some(&id) = self.macro_memo.get(name.as_str()) {
                    return Ok(id);
                }
                if stack.len() >= MAX_MACRO_DEPTH {
                    return Err(self.err(
                        ctx,
                        "LOAD_ERR_VALIDATE",
                        format!(
                            "macros nested more than {MAX_MACRO_DEPTH} deep ({} -> ... -> {name})",
                            stack[..3.min(stack.len())].join(" -> ")
                        ),
                        Some(*span),
                    ));
                }
                if stack.contains(name) {
                    return Err(self.err(
                        ctx,
                        "LOAD_ERR_VALIDATE",
                        format!(
                            "macro '{name}' refers to itself ({} -> {name})",
                            stack.join(" -> ")
                        ),
                        Some(*span),
                    ));
                }
                let Some(ast) = ast else {
                    return Err(self.err(
                        ctx,
                        "LOAD_ERR_VALIDATE",
                        format!("macro '{name}' has errors (reported at the macro)"),
                        Some(*span),
                    ));
                };
                stack.push(name.clone());
                let r = self.expr(&ast, &Ctx::Macro(def), prog, stack);
                stack.pop();
                let id = r?;
                self.macro_memo.insert(name.clone(), id);
                id
            }
        })
    }

    fn exception_expr(
        &mut self,
        r: &'a RuleDef,
        ex: &ExceptionDef,
    ) -> Result<Option<Expr>, Failed> {
        let ctx = Ctx::Exception(r, &ex.name);
        if ex.fields.is_empty() {
            return Err(self.err(
                &ctx,
                "LOAD_ERR_YAML_VALIDATE",
                "item has no mapping for key 'fields'".into(),
                None,
            ));
        }
        for f in &ex.fields {
            if fields::lookup(f).is_none() {
                return Err(self.err(
                    &ctx,
                    "LOAD_ERR_VALIDATE",
                    format!("'{f}' is not a supported filter field"),
                    None,
                ));
            }
        }
        let comps: Vec<String> = if ex.comps.is_empty() {
            vec![if ex.single { "in" } else { "=" }.to_string(); ex.fields.len()]
        } else {
            ex.comps.clone()
        };
        if comps.len() != ex.fields.len() {
            return Err(self.err(
                &ctx,
                "LOAD_ERR_VALIDATE",
                "fields and comps lists must have equal length".into(),
                None,
            ));
        }
        let mut ops = Vec::new();
        for c in &comps {
            let op = match Op::parse(c) {
                Some(op) if op != Op::Exists => op,
                _ => {
                    return Err(self.err(
                        &ctx,
                        "LOAD_ERR_VALIDATE",
                        format!("'{c}' is not a supported comparison operator"),
                        None,
                    ))
                }
            };
            ops.push(op);
        }
        if ex.values.is_empty() {
            return Ok(None);
        }
        let field_expr = |name: &str| FieldExpr {
            transformers: Vec::new(),
            name: name.to_string(),
            arg: None,
            span: Span::default(),
        };
        let yaml_values = |y: &Yaml| -> Vec<Value> {
            match y {
                Yaml::Sequence(xs) => xs
                    .iter()
                    .filter_map(crate::load::scalar)
                    .map(|t| Value {
                        text: t,
                        quoted: true,
                        span: Span::default(),
                    })
                    .collect(),
                other => crate::load::scalar(other)
                    .map(|t| {
                        vec![Value {
                            text: t,
                            quoted: false,
                            span: Span::default(),
                        }]
                    })
                    .unwrap_or_default(),
            }
        };
        let mut alts = Vec::new();
        if ex.single {
            let items: Vec<Value> = ex
                .values
                .iter()
                .flat_map(|t| t.iter().flat_map(yaml_values))
                .collect();
            if ops[0].takes_list() {
                alts.push(Expr::Check(Check {
                    lhs: field_expr(&ex.fields[0]),
                    op: ops[0],
                    rhs: Rhs::List(items),
                    span: Span::default(),
                }));
            } else {
                // A non-list comparison on a single field: one check per value.
                for v in items {
                    alts.push(Expr::Check(Check {
                        lhs: field_expr(&ex.fields[0]),
                        op: ops[0],
                        rhs: Rhs::Value(v),
                        span: Span::default(),
                    }));
                }
            }
        } else {
            for tuple in &ex.values {
                if tuple.len() != ex.fields.len() {
                    return Err(self.err(
                        &ctx,
                        "LOAD_ERR_VALIDATE",
                        "fields and values lists must have equal length".into(),
                        None,
                    ));
                }
                let mut conj = Vec::new();
                for ((f, op), v) in ex.fields.iter().zip(&ops).zip(tuple) {
                    let vals = yaml_values(v);
                    let rhs = if op.takes_list() {
                        Rhs::List(vals)
                    } else {
                        Rhs::Value(vals.into_iter().next().unwrap_or(Value {
                            text: String::new(),
                            quoted: true,
                            span: Span::default(),
                        }))
                    };
                    conj.push(Expr::Check(Check {
                        lhs: field_expr(f),
                        op: *op,
                        rhs,
                        span: Span::default(),
                    }));
                }
                alts.push(if conj.len() == 1 {
                    conj.remove(0)
                } else {
                    Expr::And(conj)
                });
            }
        }
        Ok(Some(if alts.len() == 1 {
            alts.remove(0)
        } else {
            Expr::Or(alts)
        }))
    }

    fn output(&mut self, r: &RuleDef) -> Result<Vec<OutputPart>, Failed> {
        self.format(&r.output, &Ctx::Rule(r))
    }

    /// A diagnostic at bytes `at` of an output format.
    fn format_diag(
        &mut self,
        ctx: &Ctx<'_>,
        severity: Severity,
        code: &'static str,
        msg: String,
        at: (usize, usize),
    ) {
        let d = match ctx {
            Ctx::Rule(r) => r.origin.diag(
                severity,
                code,
                msg,
                "rule",
                &r.name,
                Some("output"),
                Some(at),
            ),
            Ctx::Text(name, text) => text_diag(name, text, severity, code, msg, Some(at)),
            Ctx::Macro(_) | Ctx::Exception(..) => return,
        };
        self.diags.push(d);
    }

    /// Compiles an output format (`%field` references and text).
    fn format(&mut self, s: &str, ctx: &Ctx<'_>) -> Result<Vec<OutputPart>, Failed> {
        let b = s.as_bytes();
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%'
                && i + 1 < b.len()
                && (b[i + 1].is_ascii_alphabetic() || b[i + 1] == b'(')
            {
                let paren = b[i + 1] == b'(';
                let mut j = i + 1 + usize::from(paren);
                while j < b.len() && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'.' | b'_')) {
                    j += 1;
                }
                let name = &s[i + 1 + usize::from(paren)..j];
                let mut arg = None;
                if j < b.len() && b[j] == b'[' {
                    if let Some(close) = s[j..].find(']') {
                        arg = Some(s[j + 1..j + close].to_string());
                        j += close + 1;
                    }
                }
                if paren && j < b.len() && b[j] == b')' {
                    j += 1;
                }
                let fe = FieldExpr {
                    transformers: Vec::new(),
                    name: name.trim_end_matches('.').to_string(),
                    arg,
                    span: Span::default(),
                };
                match fields::lookup(&fe.name) {
                    Some(_) => {
                        let saved = self.skip_unknown;
                        self.skip_unknown = false;
                        let f = self.field(&fe, ctx);
                        self.skip_unknown = saved;
                        let f = f?;
                        if !fields::fillable(f.id) {
                            self.format_diag(
                                ctx,
                                Severity::Warning,
                                "LOAD_UNFILLED_FIELD",
                                unfilled(&fe.name),
                                (i, j),
                            );
                        }
                        if !text.is_empty() {
                            parts.push(OutputPart::Text(std::mem::take(&mut text)));
                        }
                        parts.push(OutputPart::Field(f));
                        let trailing = &name[fe.name.len()..];
                        text.push_str(trailing);
                    }
                    None => {
                        self.format_diag(
                            ctx,
                            Severity::Error,
                            "LOAD_ERR_COMPILE_OUTPUT",
                            format!("invalid output field '%{name}'"),
                            (i, j),
                        );
                        return Err(Failed);
                    }
                }
                i = j;
            } else {
                let ch = s[i..].chars().next().unwrap_or(' ');
                text.push(ch);
                i += ch.len_utf8();
            }
        }
        if !text.is_empty() {
            parts.push(OutputPart::Text(text));
        }
        Ok(parts)
    }

    fn rule(&mut self, r: &'a RuleDef) -> Option<CompiledRule> {
        self.rule = Some(r);
        self.skip_unknown = r.skip_if_unknown_filter;
        self.skipped = false;
        let ctx = Ctx::Rule(r);
        let priority = match Priority::parse(&r.priority) {
            Some(p) => p,
            None => {
                let d = r.origin.diag(Severity::Error, "LOAD_ERR_VALIDATE", format!("invalid priority '{}' (expected emergency, alert, critical, error, warning, notice, informational or debug)", r.priority), "rule", &r.name, Some("priority"), Some((0, r.priority.len())));
                self.diags.push(d);
                return None;
            }
        };
        let ast = match parse_condition(&r.condition) {
            Ok(a) => a,
            Err(e) => {
                self.err(
                    &ctx,
                    "LOAD_ERR_COMPILE_CONDITION",
                    e.to_string(),
                    Some(e.span),
                );
                return None;
            }
        };
        let mut prog = Program::default();
        self.macro_memo.clear();
        let mut ok = true;
        let root = match self.expr(&ast, &ctx, &mut prog, &mut Vec::new()) {
            Ok(n) => Some(n),
            Err(_) => {
                ok = false;
                None
            }
        };
        let mut exc_nodes = Vec::new();
        for ex in &r.exceptions {
            match self.exception_expr(r, ex) {
                Ok(Some(e)) => {
                    match self.expr(&e, &Ctx::Exception(r, &ex.name), &mut prog, &mut Vec::new()) {
                        Ok(n) => exc_nodes.push(n),
                        Err(_) => ok = false,
                    }
                }
                Ok(None) => {}
                Err(_) => ok = false,
            }
        }
        let output = self.output(r);
        let (Some(mut root), true, Ok(output)) = (root, ok, output) else {
            return None;
        };
        if !exc_nodes.is_empty() {
            let any = if exc_nodes.len() == 1 {
                exc_nodes[0]
            } else {
                prog.push(Node::Or(exc_nodes))
            };
            let not = prog.push(Node::Not(any));
            root = prog.push(Node::And(vec![root, not]));
        }
        prog.root = root;
        if prog.nodes.len() > MAX_NODES {
            self.diag(
                &ctx,
                Severity::Error,
                "LOAD_ERR_VALIDATE",
                format!(
                    "condition too large: {} nodes after expanding macros and exceptions (at most {MAX_NODES})",
                    prog.nodes.len()
                ),
                None,
            );
            return None;
        }
        prog.finish();
        let evttypes = prog.evttypes();
        if evttypes.is_none() && r.warn_evttypes {
            self.diag(&ctx, Severity::Warning, "LOAD_NO_EVTTYPE", "rule matches too many evt.type values (names no event type): it is evaluated on every event".into(), None);
        }
        Some(CompiledRule {
            name: r.name.clone(),
            desc: r.desc.clone(),
            priority,
            tags: r.tags.clone(),
            source: r.source.clone(),
            enabled: r.enabled,
            program: prog,
            evttypes,
            output,
            output_text: r.output.clone(),
            extra_fields: Vec::new(),
            file: r.origin.file.to_string(),
            line: r.origin.loc.line + 1,
        })
    }
}

impl<'a> Compiler<'a> {
    /// A compiler over `defs` with every macro parsed and checked (undefined
    /// references and cycles are errors on the macro, as in Falco).
    fn prepare(defs: &'a Definitions) -> Compiler<'a> {
        let mut c = Compiler {
            defs,
            macros: HashMap::new(),
            lists: defs
                .lists
                .iter()
                .map(|l| (l.name.as_str(), l.items.as_slice()))
                .collect(),
            macro_memo: HashMap::new(),
            list_memo: HashMap::new(),
            list_limit: None,
            used_macros: HashSet::new(),
            used_lists: HashSet::new(),
            diags: Vec::new(),
            seen: HashSet::new(),
            rule: None,
            skip_unknown: false,
            skipped: false,
        };
        for m in &defs.macros {
            let ast = match parse_condition(&m.condition) {
                Ok(a) => Some(a),
                Err(e) => {
                    c.err(
                        &Ctx::Macro(m),
                        "LOAD_ERR_COMPILE_CONDITION",
                        e.to_string(),
                        Some(e.span),
                    );
                    None
                }
            };
            c.macros.insert(m.name.as_str(), (m, ast));
        }
        // Every macro is checked on its own, used or not: undefined references
        // and reference cycles are errors on the macro (as in Falco).
        let cycles = macro_cycles(&c.macros);
        for m in &defs.macros {
            let Some(Some(ast)) = c.macros.get(m.name.as_str()).map(|(_, a)| a.clone()) else {
                continue;
            };
            let mut bad = false;
            let mut refs = Vec::new();
            ast.visit_macros(&mut |name, span| refs.push((name.to_string(), span)));
            for (name, span) in refs {
                if !c.macros.contains_key(name.as_str()) {
                    c.err(
                        &Ctx::Macro(m),
                        "LOAD_ERR_VALIDATE",
                        format!("undefined macro '{name}' used in filter"),
                        Some(span),
                    );
                    bad = true;
                }
            }
            if !bad {
                if let Some(path) = cycles.get(m.name.as_str()) {
                    c.err(
                        &Ctx::Macro(m),
                        "LOAD_ERR_VALIDATE",
                        format!(
                            "macro '{}' refers to itself ({})",
                            m.name,
                            path.join(" -> ")
                        ),
                        None,
                    );
                    bad = true;
                }
            }
            if bad {
                if let Some(e) = c.macros.get_mut(m.name.as_str()) {
                    e.1 = None;
                }
            }
        }
        c
    }
}

/// For every macro on a reference cycle, a path from it back to itself.
fn macro_cycles(macros: &HashMap<&str, (&MacroDef, Option<Expr>)>) -> HashMap<String, Vec<String>> {
    let names: Vec<&str> = {
        let mut n: Vec<&str> = macros.keys().copied().collect();
        n.sort_unstable();
        n
    };
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let edges: Vec<Vec<usize>> = names
        .iter()
        .map(|n| {
            let mut out = Vec::new();
            if let Some((_, Some(ast))) = macros.get(n) {
                ast.visit_macros(&mut |r, _| {
                    if let Some(&j) = index.get(r) {
                        out.push(j);
                    }
                });
            }
            out.sort_unstable();
            out.dedup();
            out
        })
        .collect();
    graph_cycles(&names, &edges)
}

/// For every node of a directed graph that lies on a cycle, a path from it
/// back to itself (at most 12 names shown). One pass over the graph
/// (Tarjan's strongly connected components, iterative: no recursion however
/// long a chain is), then a breadth-first search inside each cyclic
/// component.
fn graph_cycles(names: &[&str], edges: &[Vec<usize>]) -> HashMap<String, Vec<String>> {
    // Iterative Tarjan.
    let n = names.len();
    let (mut idx, mut low, mut on) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
    let (mut stack, mut comp, mut next) = (Vec::new(), vec![usize::MAX; n], 0);
    let mut ncomp = 0;
    for root in 0..n {
        if idx[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(&mut (v, ref mut ei)) = work.last_mut() {
            if *ei == 0 && idx[v] == usize::MAX {
                idx[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on[v] = true;
            }
            if let Some(&w) = edges[v].get(*ei) {
                *ei += 1;
                if idx[w] == usize::MAX {
                    work.push((w, 0));
                } else if on[w] {
                    low[v] = low[v].min(idx[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(p, _)) = work.last() {
                low[p] = low[p].min(low[v]);
            }
            if low[v] == idx[v] {
                while let Some(w) = stack.pop() {
                    on[w] = false;
                    comp[w] = ncomp;
                    if w == v {
                        break;
                    }
                }
                ncomp += 1;
            }
        }
    }
    let mut size = vec![0usize; ncomp];
    for &c in &comp {
        size[c] += 1;
    }
    // One cycle per component (breadth-first from its first member), shown
    // from each member on it; members on other cycles of a component of
    // at most 1000 macros get their own search.
    let shortest_back = |v: usize| -> Vec<usize> {
        let mut prev = vec![usize::MAX; n];
        let mut queue = std::collections::VecDeque::from([v]);
        while let Some(u) = queue.pop_front() {
            for &w in &edges[u] {
                if comp[w] != comp[v] {
                    continue;
                }
                if w == v {
                    let mut cyc = vec![u];
                    let mut at = u;
                    while at != v && cyc.len() <= n {
                        at = prev[at];
                        if at == usize::MAX {
                            break;
                        }
                        cyc.push(at);
                    }
                    cyc.reverse();
                    // cyc starts at v (or is cut); v -> ... -> u.
                    if cyc.first() != Some(&v) {
                        cyc.insert(0, v);
                    }
                    return cyc;
                }
                if prev[w] == usize::MAX {
                    prev[w] = u;
                    queue.push_back(w);
                }
            }
        }
        vec![v]
    };
    // The cycle from `cyc[k]` back to itself, at most 12 names shown.
    let show = |cyc: &[usize], k: usize| -> Vec<String> {
        let len = cyc.len();
        let at = |i: usize| names[cyc[(k + i) % len]].to_string();
        if len <= 11 {
            (0..=len).map(at).collect()
        } else {
            let mut v: Vec<String> = (0..5).map(at).collect();
            v.push(format!("... ({len} macros) ..."));
            v.extend((len - 4..=len).map(at));
            v
        }
    };
    let mut out = HashMap::new();
    let mut first_cycle: HashMap<usize, (Vec<usize>, HashMap<usize, usize>)> = HashMap::new();
    for v in 0..n {
        let cyclic = size[comp[v]] > 1 || edges[v].contains(&v);
        if !cyclic {
            continue;
        }
        let (cyc, pos) = first_cycle.entry(comp[v]).or_insert_with(|| {
            let c = shortest_back(v);
            let pos = c.iter().enumerate().map(|(i, &x)| (x, i)).collect();
            (c, pos)
        });
        let path = if let Some(&k) = pos.get(&v) {
            show(cyc, k)
        } else if size[comp[v]] <= 1000 {
            show(&shortest_back(v), 0)
        } else {
            vec![names[v].to_string(), "...".into(), names[v].to_string()]
        };
        out.insert(names[v].to_string(), path);
    }
    out
}

fn unquote(t: &str) -> String {
    let b = t.as_bytes();
    if b.len() < 2 || !(b[0] == b'"' || b[0] == b'\'') || b[b.len() - 1] != b[0] {
        return t.to_string();
    }
    // The item is a quoted string of the condition language once
    // substituted, so its escapes mean what they mean there.
    let mut out = String::with_capacity(t.len());
    let mut chars = t[1..t.len() - 1].chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(e) => out.push(e),
            None => out.push('\\'),
        }
    }
    out
}

/// Compiles every rule of `defs`. Returns the compiled rules (rules with
/// errors left out) and all diagnostics, the definitions' own first.
pub fn compile(defs: &Definitions) -> (Vec<CompiledRule>, Vec<Diagnostic>) {
    let mut c = Compiler::prepare(defs);
    // Cycles between lists, used or not, in one pass over their references
    // (expanding them would copy every nested list into every enclosing one).
    let list_cycles = {
        let mut names: Vec<&str> = c.lists.keys().copied().collect();
        names.sort_unstable();
        let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let edges: Vec<Vec<usize>> = names
            .iter()
            .map(|n| {
                let mut out: Vec<usize> = c.lists[n]
                    .iter()
                    .filter_map(|it| index.get(it.as_str()).copied())
                    .collect();
                out.sort_unstable();
                out.dedup();
                out
            })
            .collect();
        graph_cycles(&names, &edges)
    };
    let mut out = Vec::new();
    for r in &defs.rules {
        if r.source != "syscall" {
            let d = r.origin.diag(
                Severity::Warning,
                "LOAD_UNKNOWN_SOURCE",
                format!("rule source '{}' is not supported: rule skipped", r.source),
                "rule",
                &r.name,
                Some("source"),
                None,
            );
            c.diags.push(d);
            continue;
        }
        if let Some(cr) = c.rule(r) {
            out.push(cr);
        }
    }
    c.rule = None;
    // As in Falco, a reference from any macro or list counts as a use.
    let asts: Vec<Expr> = c.macros.values().filter_map(|(_, a)| a.clone()).collect();
    for a in &asts {
        a.visit_macros(&mut |m, _| {
            c.used_macros.insert(m.to_string());
        });
        let mut refs = Vec::new();
        a.visit_checks(&mut |ch| {
            if let Rhs::List(items) = &ch.rhs {
                refs.extend(items.iter().filter(|v| !v.quoted).map(|v| v.text.clone()));
            }
        });
        for r in refs {
            if c.lists.contains_key(r.as_str()) {
                c.list_items(&r, &mut Vec::new());
            }
        }
    }
    for l in &c.defs.lists {
        for it in &l.items {
            if c.lists.contains_key(it.as_str()) && it != &l.name {
                c.used_lists.insert(it.clone());
            }
        }
    }
    for m in &c.defs.macros {
        if !c.used_macros.contains(&m.name) {
            let d = m.origin.diag(
                Severity::Warning,
                "LOAD_UNUSED_MACRO",
                "macro not referred to by any rule or macro".into(),
                "macro",
                &m.name,
                Some("macro"),
                None,
            );
            c.diags.push(d);
        }
    }
    for l in &c.defs.lists {
        if let Some(path) = list_cycles.get(l.name.as_str()) {
            let d = l.origin.diag(
                Severity::Warning,
                "LOAD_LIST_CYCLE",
                format!(
                    "list '{}' refers to itself ({}): where the reference would close the cycle, the item is kept as the literal name (as Falco does)",
                    l.name,
                    path.join(" -> ")
                ),
                "list",
                &l.name,
                Some("items"),
                None,
            );
            c.diags.push(d);
        }
    }
    // Lists referenced only from other lists were marked while expanding.
    for l in &c.defs.lists {
        if !c.used_lists.contains(&l.name) {
            let d = l.origin.diag(
                Severity::Warning,
                "LOAD_UNUSED_LIST",
                "list not referred to by any rule, macro or list".into(),
                "list",
                &l.name,
                Some("list"),
                None,
            );
            c.diags.push(d);
        }
    }
    (out, c.diags)
}

/// The warning for a field Ferret never fills.
fn unfilled(name: &str) -> String {
    let why = if name.starts_with("k8s.") {
        "it needs the Kubernetes API server, which a capture does not record"
    } else {
        "the recorder does not capture what it needs"
    };
    format!("field '{name}' is never filled by Ferret ({why}): it is always <NA>, so comparisons with it are false")
}

/// Compiles one condition written on its own (a filter: `spawned_process
/// and proc.name = sh`) against the macros and lists of `defs`. `name`
/// names the text in diagnostics (`--filter`), whose lines and columns are
/// positions in `text`. Returns the program and its warnings, or every
/// error.
pub fn compile_condition(
    defs: &Definitions,
    name: &str,
    text: &str,
) -> Result<(Program, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut c = Compiler::prepare(defs);
    // Problems of the macros themselves belong to the rule files; the text
    // reports the ones it meets ("macro 'x' has errors").
    c.diags.clear();
    let ctx = Ctx::Text(name, text);
    let ast = match parse_condition(text) {
        Ok(a) => a,
        Err(e) => {
            c.err(
                &ctx,
                "LOAD_ERR_COMPILE_CONDITION",
                e.to_string(),
                Some(e.span),
            );
            return Err(c.diags);
        }
    };
    let mut prog = Program::default();
    let root = c.expr(&ast, &ctx, &mut prog, &mut Vec::new());
    let errors = c.diags.iter().any(|d| d.severity == Severity::Error);
    match root {
        Ok(root) if !errors => {
            prog.root = root;
            if prog.nodes.len() > MAX_NODES {
                c.err(
                    &ctx,
                    "LOAD_ERR_VALIDATE",
                    format!(
                        "condition too large: {} nodes (at most {MAX_NODES})",
                        prog.nodes.len()
                    ),
                    None,
                );
                return Err(c.diags);
            }
            prog.finish();
            Ok((prog, c.diags))
        }
        _ => Err(c.diags),
    }
}

/// Compiles one output format written on its own (`%proc.name %fd.name`)
/// against the field registry; `name` names it in diagnostics. Returns the
/// parts and their warnings, or every error.
pub fn compile_format(
    defs: &Definitions,
    name: &str,
    text: &str,
) -> Result<(Vec<OutputPart>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut c = Compiler::prepare(defs);
    c.diags.clear();
    match c.format(text, &Ctx::Text(name, text)) {
        Ok(parts) if !c.diags.iter().any(|d| d.severity == Severity::Error) => Ok((parts, c.diags)),
        _ => Err(c.diags),
    }
}
