//! The direct API: one condition or one `%field` format compiled against
//! loaded macros and lists, with diagnostics located in the text itself.

use std::sync::Arc;

use ruleset::compile::{compile_condition, compile_format, OutputPart};
use ruleset::load::Definitions;
use ruleset::Severity;

fn defs() -> Definitions {
    let mut d = Definitions::default();
    d.read_str(
        Arc::from("lib.yaml"),
        "- list: shells\n  items: [sh, bash]\n- macro: spawned_process\n  condition: evt.type in (execve, execveat) and evt.dir = <\n- macro: broken\n  condition: proc.name = (\n",
    );
    d
}

#[test]
fn a_condition_uses_the_macros_and_lists_of_loaded_files() {
    let (prog, warnings) = compile_condition(
        &defs(),
        "--filter",
        "spawned_process and proc.name in (shells)",
    )
    .expect("compiles");
    assert!(warnings.iter().all(|w| w.severity == Severity::Warning));
    let types = prog.evttypes().expect("event types from the macro");
    assert!(
        types.contains("execve") && types.contains("execveat"),
        "{types:?}"
    );
    // The list is expanded.
    assert!(
        prog.to_string().contains("sh") && prog.to_string().contains("bash"),
        "{prog}"
    );
}

#[test]
fn errors_are_located_in_the_text_on_its_own_lines() {
    let errs = compile_condition(&defs(), "--filter", "evt.type = open and\n  proc.nme = sh")
        .expect_err("unknown field");
    let e = errs
        .iter()
        .find(|d| d.severity == Severity::Error)
        .expect("an error");
    assert_eq!(
        (e.file.as_str(), e.line, e.column),
        ("--filter", 2, 3),
        "{e:?}"
    );
    assert_eq!(e.source_line, "  proc.nme = sh");
    assert!(e.message.contains("proc.nme"), "{}", e.message);
    // A syntax error: where the parser stopped.
    let errs = compile_condition(&defs(), "--filter", "proc.name = sh and (").expect_err("syntax");
    assert_eq!(errs[0].code, "LOAD_ERR_COMPILE_CONDITION");
    assert_eq!((errs[0].line, errs[0].column), (1, 21));
    // A macro with its own errors is reported where the text uses it.
    let errs = compile_condition(&defs(), "--filter", "evt.type = open and broken")
        .expect_err("bad macro");
    assert!(
        errs.iter()
            .any(|d| d.file == "--filter" && d.message.contains("broken")),
        "{errs:?}"
    );
}

#[test]
fn a_format_resolves_fields_and_warns_about_fields_never_filled() {
    let (parts, warnings) =
        compile_format(&defs(), "--format", "%proc.name opened %fd.name").expect("format");
    let fields: Vec<String> = parts
        .iter()
        .filter_map(|p| match p {
            OutputPart::Field(f) => Some(f.to_string()),
            OutputPart::Text(_) => None,
        })
        .collect();
    assert_eq!(fields, ["proc.name", "fd.name"]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let (_, warnings) =
        compile_format(&defs(), "--format", "%proc.name %k8s.svc.name").expect("format");
    let w = warnings
        .iter()
        .find(|d| d.code == "LOAD_UNFILLED_FIELD")
        .expect("unfilled warning");
    assert_eq!((w.line, w.column), (1, 12));
    let errs = compile_format(&defs(), "--format", "%proc.name %nope").expect_err("unknown");
    assert_eq!((errs[0].line, errs[0].column, errs[0].width), (1, 12, 5));
}

#[test]
fn val_with_an_operator_it_does_not_support_is_an_error_where_it_is_written() {
    let ok = compile_condition(
        &defs(),
        "--filter",
        "proc.name = val(proc.pname) or fd.name startswith val(proc.cwd)",
    );
    assert!(ok.is_ok(), "{ok:?}");
    for (text, op) in [
        ("evt.type = open and fd.name glob val(proc.cwd)", "glob"),
        ("fd.name icontains val(proc.name)", "icontains"),
        (
            "fd.name endswith val(proc.name) or fd.name iglob val(proc.cwd)",
            "iglob",
        ),
    ] {
        let errs = compile_condition(&defs(), "--filter", text).expect_err(text);
        let e = &errs[0];
        assert!(
            e.message
                .contains(&format!("operator '{op}' does not take a field value")),
            "{text}: {}",
            e.message
        );
        assert_eq!(e.line, 1);
        assert!(e.column >= 1 && e.width > 1, "{e:?}");
    }
}
