//! `analyzer validate`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::{out, SelectionArgs};

/// Arguments of `analyzer validate`.
#[derive(clap::Args)]
pub struct Args {
    /// Rule files or directories (*.yaml, *.yml, sorted by name).
    #[arg(required = true)]
    pub rules: Vec<PathBuf>,
    /// Print JSON: {files, rules, enabled, macros, lists, errors, warnings,
    /// required_plugin_versions, diagnostics: [{severity, code, message,
    /// file, line, column, width, item_type, item_name}], conditions}.
    #[arg(long)]
    pub json: bool,
    /// Treat warnings as failures.
    #[arg(long)]
    pub strict: bool,
    /// Print the expanded condition (macros and lists inlined) of this rule (repeatable).
    #[arg(long = "print-condition", value_name = "RULE")]
    pub print_condition: Vec<String>,
    #[command(flatten)]
    pub sel: SelectionArgs,
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let Args {
        rules,
        json,
        strict,
        print_condition,
        sel,
    } = a;
    let t = std::time::Instant::now();
    let set = ruleset::load_rules(&rules, &sel.selection());
    let elapsed = t.elapsed();
    let conditions: Vec<(String, Option<String>)> = print_condition
        .iter()
        .map(|n| {
            (
                n.clone(),
                set.rules
                    .iter()
                    .find(|r| &r.name == n)
                    .map(|r| r.program.to_string()),
            )
        })
        .collect();
    if json {
        let v = serde_json::json!({
            "files": set.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
            "rules": set.rules.len(),
            "enabled": set.enabled().count(),
            "macros": set.macros,
            "lists": set.lists,
            "errors": set.errors(),
            "warnings": set.warnings(),
            "required_plugin_versions": set.required_plugins.iter().map(|(n, v)| serde_json::json!({"name": n, "version": v})).collect::<Vec<_>>(),
            "diagnostics": set.diagnostics,
            "conditions": conditions.iter().map(|(n, c)| serde_json::json!({"rule": n, "condition": c})).collect::<Vec<_>>(),
            "elapsed_ms": elapsed.as_secs_f64() * 1e3,
        });
        out(&format!("{}\n", serde_json::to_string_pretty(&v)?));
    } else {
        let mut text = String::new();
        for d in &set.diagnostics {
            text += &d.render();
            text.push('\n');
        }
        for (n, c) in &conditions {
            match c {
                Some(c) => {
                    text += &format!(
                        "{}: {}\n",
                        capture::text::escape_controls(n),
                        capture::text::escape_controls(c)
                    )
                }
                None => {
                    text += &format!(
                        "{}: no such rule (or it did not compile)\n",
                        capture::text::escape_controls(n)
                    )
                }
            }
        }
        for (n, v) in &set.required_plugins {
            text += &format!("note: rules require plugin {n} {v} (not enforced: Ferret reads syscall captures)\n");
        }
        text += &format!(
            "{} file(s): {} rules ({} enabled, {} definitions), {} macros, {} lists; {} error(s), {} warning(s) in {:.1} ms\n",
            set.files.len(),
            set.rules.len(),
            set.enabled().count(),
            set.rule_defs,
            set.macros,
            set.lists,
            set.errors(),
            set.warnings(),
            elapsed.as_secs_f64() * 1e3
        );
        out(&text);
    }
    let fail = set.errors() > 0
        || (strict && set.warnings() > 0)
        || conditions.iter().any(|(_, c)| c.is_none());
    Ok(if fail {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
