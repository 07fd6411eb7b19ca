//! Reading rule files: YAML documents of rules, macros and lists, with
//! Falco's append and override semantics, into definitions ready to compile.
//! Every problem becomes a [`Diagnostic`]; a bad item never stops the others.

use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use crate::diag::{Diagnostic, Severity};
use crate::locate::{locate, ItemLoc};

/// The Falco engine version Ferret's loader implements (for
/// `required_engine_version`).
pub const ENGINE_VERSION: (u64, u64, u64) = (0, 58, 0);

/// A place in a rule file: the file's text and the item's location.
#[derive(Clone, Debug)]
pub struct Origin {
    /// File name as given.
    pub file: std::sync::Arc<str>,
    /// File text (for source lines in diagnostics).
    pub src: std::sync::Arc<str>,
    /// Byte offset of each line's start in `src` (a diagnostic's source
    /// line without scanning the file: many diagnostics stay linear).
    pub line_starts: std::sync::Arc<[usize]>,
    /// The item's location.
    pub loc: ItemLoc,
}

impl Origin {
    /// A diagnostic at `key`'s value offset `off` (or at the item).
    #[allow(clippy::too_many_arguments)]
    pub fn diag(
        &self,
        severity: Severity,
        code: &'static str,
        message: String,
        item_type: &str,
        item_name: &str,
        key: Option<&str>,
        off: Option<(usize, usize)>,
    ) -> Diagnostic {
        let (line, column, width) = match key.and_then(|k| self.loc.key(k)) {
            Some(k) => match off {
                Some((s, e)) if !k.value.segs.is_empty() => {
                    let (l, c) = k.value.pos(s);
                    (l, c, e.saturating_sub(s).max(1))
                }
                _ => (k.line + 1, k.col + 1, key.map(str::len).unwrap_or(1)),
            },
            None => (self.loc.line + 1, 1, 1),
        };
        let source_line = self
            .line_starts
            .get(line.saturating_sub(1))
            .and_then(|&start| self.src.get(start..))
            .and_then(|rest| rest.lines().next())
            .unwrap_or("")
            .to_string();
        Diagnostic {
            severity,
            code,
            message,
            file: self.file.to_string(),
            line,
            column,
            width,
            source_line,
            item_type: item_type.to_string(),
            item_name: item_name.to_string(),
        }
    }
}

/// A list definition.
#[derive(Clone, Debug)]
pub struct ListDef {
    /// Name.
    pub name: String,
    /// Items, as written (may name other lists).
    pub items: Vec<String>,
    /// Where it was (last) defined.
    pub origin: Origin,
}

/// A macro definition.
#[derive(Clone, Debug)]
pub struct MacroDef {
    /// Name.
    pub name: String,
    /// Condition text (appends joined with a space).
    pub condition: String,
    /// Where it was defined.
    pub origin: Origin,
}

/// One exception of a rule.
#[derive(Clone, Debug)]
pub struct ExceptionDef {
    /// Its name.
    pub name: String,
    /// Fields: a list, or one field (`single`).
    pub fields: Vec<String>,
    /// Whether `fields` was a single scalar.
    pub single: bool,
    /// Comparison operators, one per field.
    pub comps: Vec<String>,
    /// Value tuples (or, for a single field, single values).
    pub values: Vec<Vec<Value>>,
}

/// A rule definition.
#[derive(Clone, Debug)]
pub struct RuleDef {
    /// Name.
    pub name: String,
    /// Condition text.
    pub condition: String,
    /// Output format.
    pub output: String,
    /// Description.
    pub desc: String,
    /// Priority as written.
    pub priority: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Event source (`syscall` by default).
    pub source: String,
    /// Enabled flag.
    pub enabled: bool,
    /// Exceptions.
    pub exceptions: Vec<ExceptionDef>,
    /// Skip (with a warning) instead of failing on unknown fields.
    pub skip_if_unknown_filter: bool,
    /// Warn when the rule names no event type.
    pub warn_evttypes: bool,
    /// Where it was defined.
    pub origin: Origin,
    /// Where each appended condition part starts in the joined condition,
    /// with the origin of the text (for error positions).
    pub parts: Vec<(usize, Origin)>,
}

/// Everything read from the rule files, in definition order.
#[derive(Default)]
pub struct Definitions {
    /// Lists by name (later definitions replace earlier ones).
    pub lists: Vec<ListDef>,
    /// Macros.
    pub macros: Vec<MacroDef>,
    /// Rules.
    pub rules: Vec<RuleDef>,
    /// `required_plugin_versions` entries: (name, version).
    pub required_plugins: Vec<(String, String)>,
    /// Problems found while reading.
    pub diags: Vec<Diagnostic>,
}

/// Expands directories into their `*.yaml`/`*.yml` files (sorted by name, as
/// Falco does) and keeps files in the order given.
pub fn expand_paths(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map(|rd| rd.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            files.retain(|f| {
                f.is_file() && f.extension().is_some_and(|e| e == "yaml" || e == "yml")
            });
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// The text of a scalar YAML value (string, number or boolean).
pub(crate) fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn strings(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Sequence(xs) => xs.iter().map(scalar).collect(),
        Value::Null => Some(Vec::new()),
        _ => None,
    }
}

fn get<'a>(m: &'a Mapping, k: &str) -> Option<&'a Value> {
    m.get(Value::String(k.to_string()))
}

fn parse_version(v: &Value) -> Option<(u64, u64, u64)> {
    match v {
        // A plain number N is the old integer engine version, 0.N.0 in semver.
        Value::Number(n) => n.as_u64().map(|v| (0, v, 0)),
        Value::String(s) => {
            let mut it = s.trim().split('.').map(|x| x.parse::<u64>());
            let a = it.next()?.ok()?;
            let b = it.next().unwrap_or(Ok(0)).ok()?;
            let c = it.next().unwrap_or(Ok(0)).ok()?;
            Some((a, b, c))
        }
        _ => None,
    }
}

impl Definitions {
    /// Reads one rule file.
    pub fn read_file(&mut self, path: &Path) {
        let file: std::sync::Arc<str> = path.display().to_string().into();
        let bytes = capture::reader::open_regular(path).and_then(|mut f| {
            let mut b = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut b).map(|_| b)
        });
        match bytes.map(String::from_utf8) {
            Ok(Ok(src)) => self.read_str(file, &src),
            Ok(Err(e)) => {
                // Where the first byte that is not UTF-8 is.
                let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
                let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                let column = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
                self.diags.push(Diagnostic {
                    severity: Severity::Error,
                    code: "LOAD_ERR_READ",
                    message: format!(
                        "rule file is not UTF-8: byte {:#04x} at offset {}",
                        e.as_bytes()[good.len()],
                        good.len()
                    ),
                    file: file.to_string(),
                    line,
                    column,
                    width: 1,
                    source_line: String::from_utf8_lossy(&good[line_start..]).into_owned(),
                    item_type: "rules content".into(),
                    item_name: String::new(),
                });
            }
            Err(e) => self.diags.push(Diagnostic {
                severity: Severity::Error,
                code: "LOAD_ERR_READ",
                message: format!("cannot read rule file: {e}"),
                file: file.to_string(),
                line: 0,
                column: 0,
                width: 0,
                source_line: String::new(),
                item_type: "rules content".into(),
                item_name: String::new(),
            }),
        }
    }

    /// Reads rule-file text; `file` names it in diagnostics.
    pub fn read_str(&mut self, file: std::sync::Arc<str>, text: &str) {
        // A byte-order mark is allowed (as YAML allows it), and skipped.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // Control characters YAML forbids: placed here, since the YAML
        // reader rejects them before it has a position.
        if let Some((off, c)) = text
            .char_indices()
            .find(|&(_, c)| (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{7f}')
        {
            let before = &text[..off];
            let line = before.matches('\n').count() + 1;
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let column = before[line_start..].chars().count() + 1;
            self.diags.push(Diagnostic {
                severity: Severity::Error,
                code: "LOAD_ERR_YAML_PARSE",
                message: format!(
                    "invalid YAML: control character U+{:04X} is not allowed",
                    c as u32
                ),
                file: file.to_string(),
                line,
                column,
                width: 1,
                source_line: text[line_start..].lines().next().unwrap_or("").to_string(),
                item_type: "rules content".into(),
                item_name: String::new(),
            });
            return;
        }
        let src: std::sync::Arc<str> = text.into();
        let line_starts: std::sync::Arc<[usize]> = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let locs = locate(text);
        let whole = Origin {
            file: file.clone(),
            src: src.clone(),
            line_starts: line_starts.clone(),
            loc: ItemLoc::default(),
        };
        let mut docs = Vec::new();
        for doc in serde_yaml::Deserializer::from_str(text) {
            match serde::Deserialize::deserialize(doc) {
                Ok(v) => docs.push(v),
                Err(e) => {
                    let (line, column) = e
                        .location()
                        .map(|l| (l.line(), l.column()))
                        .unwrap_or((0, 0));
                    let source_line = text
                        .lines()
                        .nth(line.saturating_sub(1))
                        .unwrap_or("")
                        .to_string();
                    self.diags.push(Diagnostic {
                        severity: Severity::Error,
                        code: "LOAD_ERR_YAML_PARSE",
                        message: format!("invalid YAML: {e}"),
                        file: file.to_string(),
                        line,
                        column,
                        width: 1,
                        source_line,
                        item_type: "rules content".into(),
                        item_name: String::new(),
                    });
                    return;
                }
            }
        }
        for (di, doc) in docs.into_iter().enumerate() {
            let items = match doc {
                Value::Null => continue,
                Value::Sequence(items) => items,
                Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                    self.diags.push(whole.diag(
                        Severity::Error,
                        "LOAD_ERR_YAML_VALIDATE",
                        "rules content is not YAML (a scalar, not a list of items)".into(),
                        "rules content",
                        "",
                        None,
                        None,
                    ));
                    continue;
                }
                _ => {
                    self.diags.push(whole.diag(
                        Severity::Error,
                        "LOAD_ERR_YAML_VALIDATE",
                        "rules content is not a YAML list of items".into(),
                        "rules content",
                        "",
                        None,
                        None,
                    ));
                    continue;
                }
            };
            let dlocs = locs.get(di).cloned().unwrap_or_default();
            let aligned = dlocs.len() == items.len();
            for (ii, item) in items.into_iter().enumerate() {
                let loc = if aligned {
                    dlocs[ii].clone()
                } else {
                    dlocs.get(ii).cloned().unwrap_or_default()
                };
                let origin = Origin {
                    file: file.clone(),
                    src: src.clone(),
                    line_starts: line_starts.clone(),
                    loc,
                };
                match item {
                    Value::Mapping(m) => self.item(m, origin),
                    _ => self.diags.push(origin.diag(
                        Severity::Error,
                        "LOAD_ERR_YAML_VALIDATE",
                        "unexpected element type: each item should be a YAML mapping".into(),
                        "rules content item",
                        "",
                        None,
                        None,
                    )),
                }
            }
        }
    }

    /// Checks an item's keys against Falco's rule schema
    /// (`falco_rule_schema.json`): a value of the wrong type is an error at
    /// its key and the item is not loaded (`enabled: maybe` is not true,
    /// `tags: shell` is not a list); a key the schema does not know is a
    /// warning. Returns whether the item may be loaded.
    fn schema_ok(&mut self, m: &Mapping, kind: &str, o: &Origin) -> bool {
        #[derive(Clone, Copy, PartialEq)]
        enum T {
            Str,
            Bool,
            Int,
            StrList,
            Items,
            List,
            Map,
            Scalar,
        }
        let known: &[(&str, T)] = &[
            ("rule", T::Scalar),
            ("macro", T::Scalar),
            ("list", T::Scalar),
            ("condition", T::Str),
            ("items", T::Items),
            ("desc", T::Str),
            ("enabled", T::Bool),
            ("output", T::Str),
            ("append", T::Bool),
            ("priority", T::Str),
            ("capture", T::Bool),
            ("capture_duration", T::Int),
            ("source", T::Str),
            ("exceptions", T::List),
            ("override", T::Map),
            ("tags", T::StrList),
            ("warn_evttypes", T::Bool),
            ("skip-if-unknown-filter", T::Bool),
        ];
        let name = get(m, kind).and_then(scalar).unwrap_or_default();
        let mut ok = true;
        for (k, v) in m {
            let Some(key) = scalar(k) else { continue };
            let Some(&(_, t)) = known.iter().find(|(n, _)| *n == key) else {
                self.diags.push(o.diag(
                    Severity::Warning,
                    "LOAD_UNKNOWN_KEY",
                    format!("unknown key '{key}' (not in Falco's rule schema): ignored"),
                    kind,
                    &name,
                    Some(key.as_str()),
                    None,
                ));
                continue;
            };
            let scalar_ok =
                |v: &Value| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
            let fits = match t {
                T::Str => {
                    matches!(v, Value::String(_) | Value::Null)
                        || (key != "condition" && matches!(v, Value::Number(_)))
                }
                T::Scalar => scalar_ok(v),
                T::Bool => matches!(v, Value::Bool(_)),
                T::Int => matches!(v, Value::Number(n) if n.is_i64() || n.is_u64()),
                T::StrList => match v {
                    Value::Sequence(xs) => xs.iter().all(|x| matches!(x, Value::String(_))),
                    Value::Null => true,
                    _ => false,
                },
                T::Items => match v {
                    Value::Sequence(xs) => xs.iter().all(scalar_ok),
                    Value::Null => true,
                    _ => false,
                },
                T::List => matches!(v, Value::Sequence(_) | Value::Null),
                T::Map => matches!(v, Value::Mapping(_)),
            };
            if !fits {
                let want = match t {
                    T::Str => "a string",
                    T::Scalar => "a name",
                    T::Bool => "a boolean (true or false)",
                    T::Int => "an integer",
                    T::StrList => "a list of strings",
                    T::Items => "a list of strings or numbers",
                    T::List => "a list",
                    T::Map => "a mapping",
                };
                let got = match v {
                    Value::Null => "nothing".to_string(),
                    Value::Bool(b) => format!("'{b}'"),
                    Value::Number(n) => format!("'{n}'"),
                    Value::String(x) => format!("'{x}'"),
                    Value::Sequence(_) => "a list".to_string(),
                    Value::Mapping(_) => "a mapping".to_string(),
                    Value::Tagged(_) => "a tagged value".to_string(),
                };
                self.diags.push(o.diag(
                    Severity::Error,
                    "LOAD_ERR_YAML_VALIDATE",
                    format!("'{key}' must be {want}, not {got}: {kind} not loaded"),
                    kind,
                    &name,
                    Some(key.as_str()),
                    None,
                ));
                ok = false;
            }
        }
        ok
    }

    fn item(&mut self, m: Mapping, o: Origin) {
        let err = |this: &mut Self, code, msg: String, ty: &str, name: &str, key: Option<&str>| {
            this.diags
                .push(o.diag(Severity::Error, code, msg, ty, name, key, None));
        };
        if let Some(v) = get(&m, "required_engine_version") {
            match parse_version(v) {
                Some(req) if req > ENGINE_VERSION => err(
                    self,
                    "LOAD_ERR_VALIDATE",
                    format!(
                        "rules require engine version {}.{}.{}, but this engine is {}.{}.{}",
                        req.0, req.1, req.2, ENGINE_VERSION.0, ENGINE_VERSION.1, ENGINE_VERSION.2
                    ),
                    "required_engine_version",
                    "",
                    Some("required_engine_version"),
                ),
                Some(_) => {}
                None => err(
                    self,
                    "LOAD_ERR_YAML_VALIDATE",
                    "can't decode the engine version (expected a version like 0.31.0)".into(),
                    "required_engine_version",
                    "",
                    Some("required_engine_version"),
                ),
            }
            return;
        }
        if let Some(v) = get(&m, "required_plugin_versions") {
            if let Value::Sequence(ps) = v {
                for p in ps {
                    if let Value::Mapping(pm) = p {
                        let name = get(pm, "name").and_then(scalar).unwrap_or_default();
                        let ver = get(pm, "version").and_then(scalar).unwrap_or_default();
                        self.required_plugins.push((name, ver));
                    }
                }
            } else {
                err(
                    self,
                    "LOAD_ERR_YAML_VALIDATE",
                    "required_plugin_versions must be a list".into(),
                    "required_plugin_versions",
                    "",
                    Some("required_plugin_versions"),
                );
            }
            return;
        }
        let kind = ["rule", "macro", "list"]
            .into_iter()
            .find(|k| get(&m, k).is_some());
        let Some(kind) = kind else {
            err(self, "LOAD_ERR_YAML_VALIDATE", "unknown top-level item (expected rule, macro, list, required_engine_version or required_plugin_versions)".into(), "rules content item", "", None);
            return;
        };
        if !self.schema_ok(&m, kind, &o) {
            return;
        }
        let name = match get(&m, kind).and_then(scalar) {
            Some(n) if !n.is_empty() => n,
            _ => {
                err(
                    self,
                    "LOAD_ERR_YAML_VALIDATE",
                    format!("mapping for key '{kind}' is empty"),
                    kind,
                    "",
                    Some(kind),
                );
                return;
            }
        };
        let append = matches!(get(&m, "append"), Some(Value::Bool(true)));
        let overrides: Vec<(String, String)> = match get(&m, "override") {
            Some(Value::Mapping(om)) => om
                .iter()
                .filter_map(|(k, v)| Some((scalar(k)?, scalar(v)?)))
                .collect(),
            _ => Vec::new(),
        };
        for (k, mode) in &overrides {
            if mode != "append" && mode != "replace" {
                err(
                    self,
                    "LOAD_ERR_YAML_VALIDATE",
                    format!("override of '{k}' must be 'append' or 'replace', not '{mode}'"),
                    kind,
                    &name,
                    Some("override"),
                );
                return;
            }
            if get(&m, k).is_none() {
                err(
                    self,
                    "LOAD_ERR_YAML_VALIDATE",
                    format!("override of '{k}' but the item has no '{k}' key"),
                    kind,
                    &name,
                    Some("override"),
                );
                return;
            }
        }
        match kind {
            "list" => self.list(&m, name, append, &overrides, o),
            "macro" => self.macro_(&m, name, append, &overrides, o),
            _ => self.rule(&m, name, append, &overrides, o),
        }
    }

    fn list(
        &mut self,
        m: &Mapping,
        name: String,
        append: bool,
        ov: &[(String, String)],
        o: Origin,
    ) {
        let Some(items_v) = get(m, "items") else {
            self.diags.push(o.diag(
                Severity::Error,
                "LOAD_ERR_YAML_VALIDATE",
                "item has no mapping for key 'items'".into(),
                "list",
                &name,
                None,
                None,
            ));
            return;
        };
        let Some(items) = strings(items_v) else {
            self.diags.push(o.diag(
                Severity::Error,
                "LOAD_ERR_YAML_VALIDATE",
                "list items must be scalars".into(),
                "list",
                &name,
                Some("items"),
                None,
            ));
            return;
        };
        let existing = self.lists.iter().position(|l| l.name == name);
        let mode = ov
            .iter()
            .find(|(k, _)| k == "items")
            .map(|(_, m)| m.as_str());
        if append || mode.is_some() {
            match existing {
                Some(i) if append || mode == Some("append") => self.lists[i].items.extend(items),
                Some(i) => self.lists[i].items = items,
                None => self.diags.push(o.diag(
                    Severity::Error,
                    "LOAD_ERR_VALIDATE",
                    "list has 'append' or 'override' but no list by that name exists yet".into(),
                    "list",
                    &name,
                    Some("list"),
                    None,
                )),
            }
            return;
        }
        let def = ListDef {
            name,
            items,
            origin: o,
        };
        match existing {
            Some(i) => self.lists[i] = def,
            None => self.lists.push(def),
        }
    }

    fn macro_(
        &mut self,
        m: &Mapping,
        name: String,
        append: bool,
        ov: &[(String, String)],
        o: Origin,
    ) {
        let Some(cond) = get(m, "condition").and_then(scalar) else {
            self.diags.push(o.diag(
                Severity::Error,
                "LOAD_ERR_YAML_VALIDATE",
                "item has no mapping for key 'condition'".into(),
                "macro",
                &name,
                None,
                None,
            ));
            return;
        };
        let existing = self.macros.iter().position(|x| x.name == name);
        let mode = ov
            .iter()
            .find(|(k, _)| k == "condition")
            .map(|(_, m)| m.as_str());
        if append || mode.is_some() {
            match existing {
                Some(i) if append || mode == Some("append") => {
                    let c = &mut self.macros[i].condition;
                    c.push(' ');
                    c.push_str(&cond);
                }
                Some(i) => self.macros[i].condition = cond,
                None => self.diags.push(o.diag(
                    Severity::Error,
                    "LOAD_ERR_VALIDATE",
                    "macro has 'append' or 'override' but no macro by that name exists yet".into(),
                    "macro",
                    &name,
                    Some("macro"),
                    None,
                )),
            }
            return;
        }
        let def = MacroDef {
            name,
            condition: cond,
            origin: o,
        };
        match existing {
            Some(i) => self.macros[i] = def,
            None => self.macros.push(def),
        }
    }

    fn exceptions(&mut self, v: &Value, rule: &str, o: &Origin) -> Option<Vec<ExceptionDef>> {
        let Value::Sequence(xs) = v else {
            self.diags.push(o.diag(
                Severity::Error,
                "LOAD_ERR_YAML_VALIDATE",
                "exceptions must be a list".into(),
                "rule",
                rule,
                Some("exceptions"),
                None,
            ));
            return None;
        };
        let mut out = Vec::new();
        for x in xs {
            let Value::Mapping(em) = x else {
                self.diags.push(o.diag(
                    Severity::Error,
                    "LOAD_ERR_YAML_VALIDATE",
                    "each exception must be a mapping".into(),
                    "exception",
                    "",
                    Some("exceptions"),
                    None,
                ));
                return None;
            };
            let Some(name) = get(em, "name").and_then(scalar) else {
                self.diags.push(o.diag(
                    Severity::Error,
                    "LOAD_ERR_YAML_VALIDATE",
                    "item has no mapping for key 'name'".into(),
                    "exception",
                    "",
                    Some("exceptions"),
                    None,
                ));
                return None;
            };
            let (fields, single) = match get(em, "fields") {
                Some(Value::Sequence(fs)) => (fs.iter().filter_map(scalar).collect(), false),
                Some(v) => match scalar(v) {
                    Some(f) => (vec![f], true),
                    None => (Vec::new(), false),
                },
                None => (Vec::new(), false),
            };
            let comps: Vec<String> = match get(em, "comps") {
                Some(Value::Sequence(cs)) => cs.iter().filter_map(scalar).collect(),
                Some(v) => scalar(v).into_iter().collect(),
                None => Vec::new(),
            };
            let values: Vec<Vec<Value>> = match get(em, "values") {
                Some(Value::Sequence(vs)) => vs
                    .iter()
                    .map(|t| match t {
                        Value::Sequence(tuple) if !single => tuple.clone(),
                        other => vec![other.clone()],
                    })
                    .collect(),
                _ => Vec::new(),
            };
            out.push(ExceptionDef {
                name,
                fields,
                single,
                comps,
                values,
            });
        }
        Some(out)
    }

    fn rule(
        &mut self,
        m: &Mapping,
        name: String,
        append: bool,
        ov: &[(String, String)],
        o: Origin,
    ) {
        let existing = self.rules.iter().position(|r| r.name == name);
        let keys: Vec<String> = m.keys().filter_map(scalar).collect();
        // `- rule: X` with only `enabled`: turns an existing rule on or off.
        if !append
            && ov.is_empty()
            && keys.iter().all(|k| k == "rule" || k == "enabled")
            && keys.len() == 2
        {
            if let Some(i) = existing {
                self.rules[i].enabled = !matches!(get(m, "enabled"), Some(Value::Bool(false)));
                return;
            }
        }
        let exceptions = match get(m, "exceptions") {
            Some(v) => match self.exceptions(v, &name, &o) {
                Some(e) => e,
                None => return,
            },
            None => Vec::new(),
        };
        let cond = get(m, "condition").and_then(scalar);
        if append || !ov.is_empty() {
            let Some(i) = existing else {
                self.diags.push(o.diag(
                    Severity::Error,
                    "LOAD_ERR_VALIDATE",
                    "rule has 'append' or 'override' but no rule by that name exists yet".into(),
                    "rule",
                    &name,
                    Some("rule"),
                    None,
                ));
                return;
            };
            if append && cond.is_none() && exceptions.is_empty() {
                self.diags.push(o.diag(
                    Severity::Error,
                    "LOAD_ERR_VALIDATE",
                    "an appended rule must have a condition or exceptions".into(),
                    "rule",
                    &name,
                    Some("rule"),
                    None,
                ));
                return;
            }
            let mode = |k: &str| -> Option<&str> {
                if append {
                    Some("append")
                } else {
                    ov.iter().find(|(x, _)| x == k).map(|(_, m)| m.as_str())
                }
            };
            let r = &mut self.rules[i];
            if let (Some(c), Some(md)) = (cond, mode("condition")) {
                if md == "append" {
                    r.condition.push(' ');
                    r.parts.push((r.condition.len(), o.clone()));
                    r.condition.push_str(&c);
                } else {
                    r.parts = vec![(0, o.clone())];
                    r.condition = c;
                }
            }
            for key in ["output", "desc"] {
                if let (Some(v), Some(md)) = (get(m, key).and_then(scalar), mode(key)) {
                    let target = if key == "output" {
                        &mut r.output
                    } else {
                        &mut r.desc
                    };
                    if md == "append" {
                        target.push(' ');
                        target.push_str(&v);
                    } else {
                        *target = v;
                    }
                }
            }
            if let (Some(v), Some(md)) = (get(m, "tags").and_then(strings), mode("tags")) {
                if md == "append" {
                    r.tags.extend(v);
                } else {
                    r.tags = v;
                }
            }
            if let (Some(v), Some("replace")) =
                (get(m, "priority").and_then(scalar), mode("priority"))
            {
                r.priority = v;
            }
            if let (Some(v), Some("replace")) = (get(m, "enabled"), mode("enabled")) {
                r.enabled = !matches!(v, Value::Bool(false));
            }
            if !exceptions.is_empty() {
                match mode("exceptions") {
                    Some("replace") => r.exceptions = exceptions,
                    _ => {
                        for ex in exceptions {
                            match r.exceptions.iter_mut().find(|e| e.name == ex.name) {
                                Some(e) => e.values.extend(ex.values),
                                None if ex.fields.is_empty() => {
                                    let msg = format!("exception '{}' appends values but the rule has no exception by that name", ex.name);
                                    self.diags.push(o.diag(
                                        Severity::Error,
                                        "LOAD_ERR_VALIDATE",
                                        msg,
                                        "exception",
                                        &ex.name,
                                        Some("exceptions"),
                                        None,
                                    ));
                                    return;
                                }
                                None => r.exceptions.push(ex),
                            }
                        }
                    }
                }
            }
            return;
        }
        for key in ["condition", "output", "desc", "priority"] {
            if get(m, key).is_none() {
                self.diags.push(o.diag(
                    Severity::Error,
                    "LOAD_ERR_YAML_VALIDATE",
                    format!("item has no mapping for key '{key}'"),
                    "rule",
                    &name,
                    None,
                    None,
                ));
                return;
            }
        }
        let def = RuleDef {
            name: name.clone(),
            condition: cond.unwrap_or_default(),
            output: get(m, "output").and_then(scalar).unwrap_or_default(),
            desc: get(m, "desc").and_then(scalar).unwrap_or_default(),
            priority: get(m, "priority").and_then(scalar).unwrap_or_default(),
            tags: get(m, "tags").and_then(strings).unwrap_or_default(),
            source: get(m, "source")
                .and_then(scalar)
                .unwrap_or_else(|| "syscall".into()),
            enabled: !matches!(get(m, "enabled"), Some(Value::Bool(false))),
            exceptions,
            skip_if_unknown_filter: matches!(
                get(m, "skip-if-unknown-filter"),
                Some(Value::Bool(true))
            ),
            warn_evttypes: !matches!(get(m, "warn_evttypes"), Some(Value::Bool(false))),
            parts: vec![(0, o.clone())],
            origin: o,
        };
        match existing {
            Some(i) => self.rules[i] = def,
            None => self.rules.push(def),
        }
    }
}
