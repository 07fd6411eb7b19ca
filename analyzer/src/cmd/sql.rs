//! `analyzer sql`: Falco rules as SQL over exported events.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::{enabled_rules, out, SelectionArgs};

/// Arguments of `analyzer sql`.
#[derive(clap::Args)]
pub struct Args {
    /// Rule files or directories (repeatable, loaded in order).
    #[arg(short, long = "rules", required = true)]
    pub rules: Vec<PathBuf>,
    /// The SQL dialect.
    #[arg(long, value_enum)]
    pub dialect: DialectArg,
    /// The table or view holding the exported events.
    #[arg(long, default_value = "events")]
    pub table: String,
    /// Load rules even when some have errors (they are skipped).
    #[arg(long)]
    pub keep_going: bool,
    /// No list of inexpressible rules on stderr (they stay as comments in
    /// the output).
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub sel: SelectionArgs,
}

/// `--dialect` values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum DialectArg {
    /// DuckDB.
    Duckdb,
    /// Spark SQL 3.4 or later.
    Spark,
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    if !a
        .table
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        || a.table.is_empty()
    {
        anyhow::bail!(
            "--table {:?}: a table name is letters, digits, _ and .",
            a.table
        );
    }
    let mut set = ruleset::load_rules(&a.rules, &a.sel.selection());
    let rules = enabled_rules(&mut set, a.quiet, a.keep_going)?;
    let d = match a.dialect {
        DialectArg::Duckdb => export::sql::Dialect::DuckDb,
        DialectArg::Spark => export::sql::Dialect::Spark,
    };
    let (text, unsupported) = export::sql::script(&rules, &a.table, d);
    if !a.quiet {
        for (name, why) in &unsupported {
            say!(
                "analyzer: not expressible in SQL: {}: {}",
                capture::text::escape_controls(name),
                capture::text::escape_controls(why)
            );
        }
        say!(
            "analyzer: {} of {} enabled rule(s) as queries",
            rules.len() - unsupported.len(),
            rules.len()
        );
    }
    out(&text);
    Ok(ExitCode::SUCCESS)
}
