//! Falco rule files for Ferret: loading ([`load`]), positions ([`locate`]),
//! the field registry ([`fields`]), compilation of conditions and outputs into
//! [`Program`]s ([`compile`]), one filter and format compiled against loaded
//! macros and lists ([`filter`]) and diagnostics ([`diag`]).
//!
//! Text in, programs and diagnostics out: no I/O beyond reading rule files,
//! no printing, no evaluation (that is the `engine` crate's). [`load_rules`]
//! is the entry point of `analyzer validate` and, with the engine, of
//! `analyzer run`.

pub mod compile;
pub mod diag;
pub mod evttypes;
pub mod fields;
pub mod filter;
pub mod glob;
pub mod load;
pub mod locate;

use std::path::PathBuf;

pub use compile::{CompiledRule, Priority, Program};
pub use diag::{Diagnostic, Severity};

/// Which rules to enable beyond their own `enabled` flag.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Disable rules whose name matches one of these (exact, or a glob with `*`).
    pub disable: Vec<String>,
    /// Enable rules whose name matches one of these (even if `enabled: false`).
    pub enable: Vec<String>,
    /// Disable rules carrying one of these tags.
    pub disable_tags: Vec<String>,
    /// When not empty, only rules carrying one of these tags stay enabled.
    pub only_tags: Vec<String>,
    /// Rules less severe than this are not loaded (Falco's `priority`
    /// setting; `--enable` does not override it, as in Falco).
    pub min_priority: Option<Priority>,
}

/// Whether rule `name` matches `pat`: exact, or with `*` standing for any
/// text (the only special character: `?` and `[` in rule names are
/// literal, so they are escaped before [`glob::Pattern`] sees them).
fn name_matches(pat: &str, name: &str) -> bool {
    if !pat.contains('*') {
        return pat == name;
    }
    let mut escaped = String::with_capacity(pat.len() + 4);
    for c in pat.chars() {
        if matches!(c, '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    glob::Pattern::new(&escaped, false).is_some_and(|p| p.matches(name.as_bytes()))
}

impl Selection {
    /// Applies the selection to one rule.
    pub fn apply(&self, r: &mut CompiledRule) {
        if !self.only_tags.is_empty() {
            r.enabled = r.tags.iter().any(|t| self.only_tags.contains(t));
        }
        if r.tags.iter().any(|t| self.disable_tags.contains(t)) {
            r.enabled = false;
        }
        if self.enable.iter().any(|p| name_matches(p, &r.name)) {
            r.enabled = true;
        }
        if self.disable.iter().any(|p| name_matches(p, &r.name)) {
            r.enabled = false;
        }
        if self.min_priority.is_some_and(|m| r.priority > m) {
            r.enabled = false;
        }
    }
}

/// Falco's `append_output` entry: text appended to the output of the rules
/// it matches, and extra fields for their JSON `output_fields`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppendOutput {
    /// Only rules of this source (`syscall`).
    pub source: Option<String>,
    /// Only rules carrying this tag.
    pub tag: Option<String>,
    /// Only the rule with this name.
    pub rule: Option<String>,
    /// Appended to the output line, after a space (a `%field` format).
    pub extra_output: String,
    /// (key, format) pairs added to `output_fields` only: a bare field
    /// name has itself as key and `%name` as format.
    pub extra_fields: Vec<(String, String)>,
}

impl AppendOutput {
    /// Whether the entry applies to `r`.
    pub fn matches(&self, r: &CompiledRule) -> bool {
        self.source.as_ref().is_none_or(|s| *s == r.source)
            && self.tag.as_ref().is_none_or(|t| r.tags.contains(t))
            && self.rule.as_ref().is_none_or(|n| *n == r.name)
    }
}

/// Loaded and compiled rules with every diagnostic.
pub struct RuleSet {
    /// Compiled rules, in load order (enabled or not).
    pub rules: Vec<CompiledRule>,
    /// Every problem, in file order per phase.
    pub diagnostics: Vec<Diagnostic>,
    /// Files read, in order.
    pub files: Vec<PathBuf>,
    /// Number of macros and lists defined.
    pub macros: usize,
    /// Number of lists defined.
    pub lists: usize,
    /// Rule definitions read (compiled or not).
    pub rule_defs: usize,
    /// `required_plugin_versions` entries (name, version), reported, not enforced.
    pub required_plugins: Vec<(String, String)>,
}

impl RuleSet {
    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }

    /// Applies Falco's `append_output` entries in order: each matching
    /// rule's output gains the extra text and its JSON the extra fields.
    /// `label` names where the entries come from in diagnostics; a format
    /// that does not compile is an error and is not applied.
    pub fn append_output(&mut self, label: &str, entries: &[AppendOutput]) -> Vec<Diagnostic> {
        let defs = load::Definitions::default();
        let mut diags = Vec::new();
        let mut compile = |what: &str, text: &str| match compile::compile_format(&defs, label, text)
        {
            Ok((parts, d)) => {
                diags.extend(d);
                Some(parts)
            }
            Err(d) => {
                diags.extend(d.into_iter().map(|mut d| {
                    d.item_type = "append_output".into();
                    d.item_name = what.into();
                    d
                }));
                None
            }
        };
        for a in entries {
            let extra = if a.extra_output.is_empty() {
                Some(Vec::new())
            } else {
                compile("extra_output", &a.extra_output)
            };
            let fields: Vec<_> = a
                .extra_fields
                .iter()
                .filter_map(|(k, f)| compile(k, f).map(|p| (k.clone(), p)))
                .collect();
            let Some(extra) = extra else { continue };
            for r in self.rules.iter_mut().filter(|r| a.matches(r)) {
                if !extra.is_empty() {
                    r.output.push(compile::OutputPart::Text(" ".into()));
                    r.output.extend(extra.iter().cloned());
                    r.output_text = format!("{} {}", r.output_text, a.extra_output);
                }
                r.extra_fields.extend(fields.iter().cloned());
            }
        }
        diags
    }

    /// The enabled rules.
    pub fn enabled(&self) -> impl Iterator<Item = &CompiledRule> {
        self.rules.iter().filter(|r| r.enabled)
    }

    /// Takes the enabled rules out of the set (the disabled ones stay),
    /// for a consumer that only runs them: no copy of their programs.
    pub fn take_enabled(&mut self) -> Vec<CompiledRule> {
        let (on, off) = std::mem::take(&mut self.rules)
            .into_iter()
            .partition(|r| r.enabled);
        self.rules = off;
        on
    }
}

/// Loads rule files and directories in order, compiles every rule and
/// applies the selection. Never fails: problems are in `diagnostics`, and
/// every rule without an error is compiled.
pub fn load_rules(paths: &[PathBuf], sel: &Selection) -> RuleSet {
    let files = load::expand_paths(paths);
    let mut defs = load::Definitions::default();
    for f in &files {
        defs.read_file(f);
    }
    compile_selected(defs, files, sel)
}

/// Loads rules from text (tests, fuzzing): `name` labels diagnostics.
pub fn load_rules_str(name: &str, text: &str, sel: &Selection) -> RuleSet {
    let mut defs = load::Definitions::default();
    defs.read_str(name.into(), text);
    compile_selected(defs, Vec::new(), sel)
}

/// Compiles read definitions, applies the selection and gathers every
/// diagnostic (reading problems first).
fn compile_selected(mut defs: load::Definitions, files: Vec<PathBuf>, sel: &Selection) -> RuleSet {
    let (mut rules, diags) = compile::compile(&defs);
    for r in &mut rules {
        sel.apply(r);
    }
    let mut diagnostics = std::mem::take(&mut defs.diags);
    diagnostics.extend(diags);
    RuleSet {
        rules,
        diagnostics,
        files,
        macros: defs.macros.len(),
        lists: defs.lists.len(),
        rule_defs: defs.rules.len(),
        required_plugins: defs.required_plugins.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::name_matches;

    #[test]
    fn rule_name_patterns() {
        assert!(name_matches(
            "Read sensitive*",
            "Read sensitive file untrusted"
        ));
        assert!(name_matches("*shell*", "Run shell untrusted"));
        assert!(!name_matches("*shell", "Run shell untrusted"));
        assert!(name_matches("exact", "exact"));
        assert!(name_matches(
            "Launch * [deprecated]",
            "Launch a [deprecated]"
        ));
        assert!(!name_matches("Launch * [deprecated]", "Launch a d"));
        assert!(name_matches("What?*", "What? now"));
        assert!(!name_matches("What?*", "Whatx now"));
    }
}
