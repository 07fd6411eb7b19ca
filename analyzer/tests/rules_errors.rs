//! A bad rule file yields every problem with file, line, column and a caret,
//! and the good rules still load; `analyzer validate` reports them, with
//! exit codes, JSON and expanded conditions.

use std::path::{Path, PathBuf};
use std::process::Command;

use ruleset::{load_rules, load_rules_str, Selection, Severity};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn every_problem_is_reported_with_its_position_and_good_rules_load() {
    let set = load_rules(&[data("bad_rules.yaml")], &Selection::default());
    let got: Vec<(&str, Severity, usize, usize, &str)> = set
        .diagnostics
        .iter()
        .map(|d| (d.code, d.severity, d.line, d.column, d.item_name.as_str()))
        .collect();
    let e = Severity::Error;
    let w = Severity::Warning;
    let want = vec![
        ("LOAD_ERR_COMPILE_CONDITION", e, 15, 34, "bad field"),
        ("LOAD_ERR_COMPILE_CONDITION", e, 23, 22, "bad syntax"),
        ("LOAD_ERR_COMPILE_CONDITION", e, 29, 34, "bad operator"),
        ("LOAD_ERR_COMPILE_OUTPUT", e, 36, 22, "bad output"),
        ("LOAD_ERR_VALIDATE", e, 43, 13, "bad priority"),
        ("LOAD_ERR_VALIDATE", e, 47, 34, "undefined macro"),
        ("LOAD_NO_EVTTYPE", w, 53, 3, "no event type"),
        ("LOAD_ERR_COMPILE_CONDITION", e, 59, 48, "bad number"),
        ("LOAD_UNUSED_MACRO", w, 63, 3, "unused_macro"),
    ];
    assert_eq!(got, want);
    let names: Vec<&str> = set.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["good rule", "no event type"]);
    let good = &set.rules[0];
    assert_eq!(
        good.evttypes
            .as_ref()
            .map(|s| s.iter().cloned().collect::<Vec<_>>()),
        Some(vec!["execve".to_string()])
    );
    assert_eq!(
        good.program.to_string(),
        "evt.type = execve and evt.dir = < and proc.name in (bash, sh)"
    );
    let rendered = set.diagnostics[0].render();
    assert!(rendered.contains("bad_rules.yaml:15:34"), "{rendered}");
    assert!(
        rendered.contains("15 |   condition: evt.type = open and proc.nme = bash"),
        "{rendered}"
    );
    assert!(
        rendered.contains(&format!("{}^^^^^^^^\n", " ".repeat(33))),
        "{rendered}"
    );
}

#[test]
fn append_override_exceptions_and_selection_compose() {
    let text = r#"
- list: bins
  items: [cat, less]
- list: more_bins
  items: [bins, head]
- macro: opens
  condition: evt.type in (open, openat)
- rule: r1
  desc: d
  condition: opens and proc.name in (more_bins)
  output: "%proc.name opened %fd.name"
  priority: NOTICE
  tags: [file, t1]
  exceptions:
    - name: trusted
      fields: [proc.name, fd.directory]
      comps: [=, in]
      values:
        - [cat, [/tmp, /var/tmp]]
- rule: r1
  condition: and fd.name startswith /etc
  append: true
- macro: opens
  condition: or evt.type = creat
  append: true
- list: bins
  items: [tail]
  override:
    items: append
- rule: r1
  exceptions:
    - name: trusted
      values:
        - [less, [/home]]
  override:
    exceptions: append
- rule: r2
  desc: d
  condition: evt.type = execve
  output: x
  priority: DEBUG
  enabled: false
  tags: [t2]
- rule: r3
  desc: d
  condition: evt.type = execve
  output: x
  priority: INFO
  exceptions:
    - name: single
      fields: proc.name
      values: [sshd, cron]
"#;
    let set = load_rules_str("inline.yaml", text, &Selection::default());
    assert_eq!(set.errors(), 0, "{:#?}", set.diagnostics);
    let r1 = &set.rules[0];
    assert_eq!(
        r1.program.to_string(),
        "(evt.type in (open, openat) or evt.type = creat) and proc.name in (cat, less, tail, head) and fd.name startswith /etc \
         and not ((proc.name = cat and fd.directory in (/tmp, /var/tmp)) or (proc.name = less and fd.directory in (/home)))"
    );
    assert_eq!(r1.evttypes.as_ref().map(|s| s.len()), Some(3));
    assert!(!set.rules[1].enabled);
    assert_eq!(
        set.rules[2].program.to_string(),
        "evt.type = execve and not proc.name in (sshd, cron)"
    );

    let sel = Selection {
        disable_tags: vec!["file".into()],
        enable: vec!["r2".into()],
        ..Selection::default()
    };
    let set = load_rules_str("inline.yaml", text, &sel);
    let enabled: Vec<&str> = set.enabled().map(|r| r.name.as_str()).collect();
    assert_eq!(enabled, ["r2", "r3"]);
    let only = Selection {
        only_tags: vec!["t1".into()],
        ..Selection::default()
    };
    let set = load_rules_str("inline.yaml", text, &only);
    assert_eq!(
        set.enabled().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["r1"]
    );
}

#[test]
fn cycles_are_reported_not_followed() {
    let text = "- macro: a\n  condition: b\n- macro: b\n  condition: a\n- rule: r\n  desc: d\n  condition: evt.type = open and a\n  output: o\n  priority: INFO\n";
    let set = load_rules_str("cycle.yaml", text, &Selection::default());
    assert!(
        set.diagnostics
            .iter()
            .any(|d| d.message.contains("refers to itself")),
        "{:#?}",
        set.diagnostics
    );
    assert!(set.rules.is_empty());
}

#[test]
fn hostile_rule_text_never_panics() {
    let pieces = [
        "- rule: ",
        "- macro: ",
        "- list: ",
        "  condition: ",
        "  items: [",
        "]",
        "evt.type = open",
        "(",
        ")",
        "and ",
        "not ",
        "\"",
        "'",
        "\n",
        "  output: %",
        "  priority: INFO",
        "  append: true",
        "  exceptions:\n    - name: x\n      fields: [",
        "  override:\n    condition: append",
        ":",
        "-",
        "{",
        "}",
        "%proc.name",
        "proc.aname[",
        "\t",
        "é",
    ];
    let mut x: u64 = 99;
    for _ in 0..3000 {
        let mut s = String::new();
        for _ in 0..(x % 24) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.push_str(pieces[(x % pieces.len() as u64) as usize]);
        }
        let set = load_rules_str("fuzz.yaml", &s, &Selection::default());
        for d in &set.diagnostics {
            let _ = d.render();
        }
    }
}

fn analyzer(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .output()
        .expect("run analyzer")
}

#[test]
fn validate_command_exit_codes_json_and_conditions() {
    let bad = data("bad_rules.yaml");
    let o = analyzer(&["validate", bad.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("7 error(s), 2 warning(s)"), "{text}");

    let o = analyzer(&[
        "validate",
        "--json",
        "--print-condition",
        "good rule",
        bad.to_str().expect("path"),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["errors"], 7);
    assert_eq!(v["diagnostics"][0]["line"], 15);
    assert_eq!(v["diagnostics"][0]["column"], 34);
    assert_eq!(v["diagnostics"][0]["code"], "LOAD_ERR_COMPILE_CONDITION");
    assert_eq!(
        v["conditions"][0]["condition"],
        "evt.type = execve and evt.dir = < and proc.name in (bash, sh)"
    );

    let dir = ferret_tests::scratch("validate-ok");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("a.yaml"),
        "- rule: r\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: INFO\n",
    )
    .expect("write");
    let o = analyzer(&["validate", dir.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(0), "warnings alone pass");
    let o = analyzer(&["validate", "--strict", dir.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(1), "--strict fails on warnings");
}

#[test]
fn list_fields_lists_types_and_descriptions() {
    let o = analyzer(&["list-fields", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let arr = v.as_array().expect("array");
    assert!(arr.len() > 200);
    let aname = arr
        .iter()
        .find(|f| f["name"] == "proc.aname")
        .expect("proc.aname");
    assert_eq!(aname["type"], "CHARBUF");
    assert_eq!(aname["arg"], "[N] optional");
}

#[test]
fn quoted_list_items_keep_their_escapes_meaning() {
    // Falco substitutes list items as text: '"sh -c \"x\""' is the
    // quoted string sh -c "x" once in the condition.
    let text = r#"
- list: cmds
  items: ['"sh -c \"x\""', plain]
- rule: r
  desc: d
  condition: proc.cmdline in (cmds)
  output: x
  priority: INFO
"#;
    let set = load_rules_str("inline.yaml", text, &Selection::default());
    assert_eq!(set.errors(), 0, "{:#?}", set.diagnostics);
    assert_eq!(
        set.rules[0].program.to_string(),
        r#"proc.cmdline in ("sh -c \"x\"", plain)"#
    );
}
