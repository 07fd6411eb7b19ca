//! `analyzer list-fields`.

use std::process::ExitCode;

use anyhow::Result;

use crate::out;

/// Arguments of `analyzer list-fields`.
#[derive(clap::Args)]
pub struct Args {
    /// Print JSON: [{name, type, arg, desc}].
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let Args { json } = a;
    use ruleset::fields::{ArgForm, FIELDS};
    let arg = |a: ArgForm| match a {
        ArgForm::None => "",
        ArgForm::OptIndex => "[N] optional",
        ArgForm::ArgRef => ".NAME or [N] required",
        ArgForm::OptKey => "[KEY] optional",
        ArgForm::Key => "[KEY] required",
    };
    if json {
        let v: Vec<_> = FIELDS
            .iter()
            .map(|f| serde_json::json!({"name": f.name, "type": f.ty.name(), "arg": arg(f.arg), "desc": f.desc}))
            .collect();
        out(&format!("{}\n", serde_json::to_string_pretty(&v)?));
    } else {
        let mut text = String::new();
        for f in FIELDS {
            text += &format!(
                "{:<40} {:<8} {:<22} {}\n",
                f.name,
                f.ty.name(),
                arg(f.arg),
                f.desc
            );
        }
        out(&text);
    }
    Ok(ExitCode::SUCCESS)
}
