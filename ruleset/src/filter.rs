//! sysdig-style event selection for `analyzer events`: a filter written in
//! Falco's condition language (with the macros and lists of rule files, so
//! `spawned_process and not user_known_x` works) and a `%field` output
//! format, both compiled by the rule compiler and evaluated with process and
//! fd state like a rule.
//!
//! The filter and the format are compiled as one synthetic rule appended to
//! the rule files; problems in them are reported against the text the user
//! typed (`--filter:1:14`), problems in the rule files are not (their rules
//! are never evaluated here, only their macros and lists are used).

use std::path::PathBuf;
use std::sync::Arc;

use crate::compile::OutputPart;
use crate::{load, Diagnostic, Program, Severity};

/// The name of the synthetic rule.
const RULE: &str = "ferret events filter";
/// The name diagnostics give to the synthetic file.
const FILE: &str = "<events filter>";

/// A compiled filter and format.
#[derive(Debug)]
pub struct EventFilter {
    /// The condition, when one was given.
    pub program: Option<Program>,
    /// The output format, when one was given.
    pub format: Option<Vec<OutputPart>>,
}

/// Indents every line of `text` for a YAML block scalar.
fn block(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}\n"))
        .collect::<String>()
}

/// Compiles `filter` and `format` with the macros and lists of `rules`.
/// Errors come back as diagnostics located in the filter or format text.
pub fn compile(
    rules: &[PathBuf],
    filter: Option<&str>,
    format: Option<&str>,
) -> Result<EventFilter, Vec<Diagnostic>> {
    let cond = filter.unwrap_or("evt.num > 0");
    let fmt = format.unwrap_or("-");
    // Line 4 holds the condition and the format follows it, so positions
    // map back to what the user typed.
    let cond_lines = cond.lines().count().max(1);
    // The first line goes in without its indentation (YAML takes a block's
    // indentation from its first line); columns on it are shifted back.
    let lead = |t: &str| t.len() - t.trim_start_matches([' ', '\t']).len();
    let (cond_lead, fmt_lead) = (lead(cond), lead(fmt));
    let text = format!(
        "- rule: {RULE}\n  desc: the filter of analyzer events\n  condition: |2-\n{}  output: |2-\n{}  priority: INFO\n",
        block(if cond.trim().is_empty() {
            "\"\""
        } else {
            &cond[cond_lead..]
        }),
        block(&fmt[fmt_lead..])
    );
    let mut defs = load::Definitions::default();
    for f in load::expand_paths(rules) {
        defs.read_file(&f);
    }
    defs.read_str(Arc::from(FILE), &text);
    let (compiled, diags) = crate::compile::compile(&defs);
    // Problems of the filter and format, and reading errors of the rule
    // files (a missing file would silently drop macros the filter uses).
    let mut errors: Vec<Diagnostic> = defs
        .diags
        .iter()
        .chain(&diags)
        .filter(|d| {
            d.severity == Severity::Error
                && (d.file == FILE || d.file.is_empty() || d.code == "LOAD_ERR_READ")
        })
        .cloned()
        .collect();
    for d in &mut errors {
        if d.file != FILE || d.line < 4 {
            continue;
        }
        let (what, first, src, shift) = if d.line < 4 + cond_lines {
            ("--filter", 4, cond, cond_lead)
        } else {
            ("--format", 5 + cond_lines, fmt, fmt_lead)
        };
        d.line = d.line + 1 - first;
        d.column = d.column.saturating_sub(4) + if d.line == 1 { shift } else { 0 };
        d.source_line = src.lines().nth(d.line - 1).unwrap_or("").to_string();
        d.file = what.to_string();
        d.item_type = String::new();
        d.item_name = String::new();
    }
    let Some(rule) = compiled.into_iter().find(|r| r.name == RULE) else {
        if errors.is_empty() {
            errors.push(Diagnostic {
                severity: Severity::Error,
                code: "LOAD_ERR_COMPILE_CONDITION",
                message: "the filter did not compile".into(),
                file: "--filter".into(),
                line: 0,
                column: 0,
                width: 0,
                source_line: String::new(),
                item_type: String::new(),
                item_name: String::new(),
            });
        }
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(EventFilter {
        program: filter.map(|_| rule.program),
        format: format.map(|_| rule.output),
    })
}
