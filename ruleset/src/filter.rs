//! sysdig-style event selection for `analyzer events`: a filter written in
//! Falco's condition language (with the macros and lists of rule files, so
//! `spawned_process and not user_known_x` works) and a `%field` output
//! format, compiled directly ([`compile_condition`], [`compile_format`]).
//! Problems in them are reported against the text the user typed
//! (`--filter:1:14`); problems in the rule files are not (their rules are
//! never evaluated here, only their macros and lists are used), except
//! files that cannot be read, which would silently drop macros.

use std::path::PathBuf;

use crate::compile::{compile_condition, compile_format, OutputPart};
use crate::{load, Diagnostic, Program, Severity};

/// A compiled filter and format.
#[derive(Debug)]
pub struct EventFilter {
    /// The condition, when one was given.
    pub program: Option<Program>,
    /// The output format, when one was given.
    pub format: Option<Vec<OutputPart>>,
}

/// The macros and lists of `rules`, read once for any number of filters,
/// and the read errors that stop every filter compiling.
pub struct FilterDefinitions {
    defs: load::Definitions,
    errors: Vec<Diagnostic>,
}

impl FilterDefinitions {
    /// Reads the macros and lists of `rules`.
    pub fn read(rules: &[PathBuf]) -> FilterDefinitions {
        let mut defs = load::Definitions::default();
        for f in load::expand_paths(rules) {
            defs.read_file(&f);
        }
        let errors = defs
            .diags
            .iter()
            .filter(|d| {
                d.severity == Severity::Error && (d.code == "LOAD_ERR_READ" || d.file.is_empty())
            })
            .cloned()
            .collect();
        FilterDefinitions { defs, errors }
    }

    /// Compiles `filter` and `format` against these definitions.
    pub fn compile(
        &self,
        filter: Option<&str>,
        format: Option<&str>,
    ) -> Result<EventFilter, Vec<Diagnostic>> {
        compile_with(&self.defs, self.errors.clone(), filter, format)
    }
}

/// Compiles `filter` and `format` with the macros and lists of `rules`.
/// Errors come back as diagnostics located in the filter or format text
/// (named `--filter` and `--format`).
pub fn compile(
    rules: &[PathBuf],
    filter: Option<&str>,
    format: Option<&str>,
) -> Result<EventFilter, Vec<Diagnostic>> {
    FilterDefinitions::read(rules).compile(filter, format)
}

fn compile_with(
    defs: &load::Definitions,
    mut errors: Vec<Diagnostic>,
    filter: Option<&str>,
    format: Option<&str>,
) -> Result<EventFilter, Vec<Diagnostic>> {
    let program = match filter {
        Some(text) => match compile_condition(defs, "--filter", text) {
            Ok((p, _)) => Some(p),
            Err(d) => {
                errors.extend(d.into_iter().filter(|d| d.severity == Severity::Error));
                None
            }
        },
        None => None,
    };
    let format = match format {
        Some(text) => match compile_format(defs, "--format", text) {
            Ok((f, _)) => Some(f),
            Err(d) => {
                errors.extend(d.into_iter().filter(|d| d.severity == Severity::Error));
                None
            }
        },
        None => None,
    };
    if errors.is_empty() {
        Ok(EventFilter { program, format })
    } else {
        Err(errors)
    }
}
