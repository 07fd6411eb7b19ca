//! Diagnostics: every problem in a rule file with file, line, column, the
//! source line and a caret under the spot, and a stable code (Falco's codes).

use serde::Serialize;

/// Error or warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The item is not loaded.
    Error,
    /// The item is loaded; something deserves attention.
    Warning,
}

/// One problem.
#[derive(Clone, Debug, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Falco's code (LOAD_ERR_COMPILE_CONDITION, LOAD_UNUSED_MACRO, ...).
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// The rule file.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
    /// Columns to underline.
    pub width: usize,
    /// The source line, for display.
    #[serde(skip)]
    pub source_line: String,
    /// Item kind: rule, macro, list, exception, rules content, ...
    pub item_type: String,
    /// Item name.
    pub item_name: String,
}

impl Diagnostic {
    /// Renders the diagnostic with its source line and caret.
    pub fn render(&self) -> String {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        // Names and lines come from the rule file: shown, never obeyed.
        use capture::text::escape_controls as esc;
        let mut s = format!("{sev}[{}]: {}\n", self.code, esc(&self.message));
        if self.line > 0 {
            s += &format!("  --> {}:{}:{}\n", esc(&self.file), self.line, self.column);
            let num = self.line.to_string();
            let pad = " ".repeat(num.len());
            s += &format!("{pad} |\n{num} | {}\n", esc(&self.source_line));
            let col = self.column.max(1);
            s += &format!(
                "{pad} | {}{}\n",
                " ".repeat(col - 1),
                "^".repeat(self.width.max(1))
            );
        } else {
            s += &format!("  --> {}\n", esc(&self.file));
        }
        if !self.item_name.is_empty() || !self.item_type.is_empty() {
            s += &format!(
                "  = in {} '{}'\n",
                esc(&self.item_type),
                esc(&self.item_name)
            );
        }
        s
    }
}
