//! Rule files built from the input as graphs of macros and lists that refer
//! to each other (chains, fan-out that doubles at every level, cycles,
//! undefined names), compiled and printed. Checked: never panics, and a
//! compiled condition is never larger than its rule file (macros are shared,
//! lists deduplicated), whatever the expansion would be.
#![no_main]

use ruleset::{load_rules_str, Selection};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let n = (data[0] as usize % 48) + 1;
    let mut text = String::new();
    let mut bytes = data[1..].iter().copied().cycle();
    let mut next = || bytes.next().unwrap_or(0) as usize;
    for i in 0..n {
        // A list of items and earlier (or later: cycles) lists.
        let a = next() % n;
        let b = next() % n;
        text += &format!("- list: l{i}\n  items: [x{i}, l{a}, l{b}]\n");
        // A macro of earlier (or later) macros and a check.
        let (c, d) = (next() % n, next() % n);
        let op = if next() % 2 == 0 { "or" } else { "and" };
        let body = match next() % 4 {
            0 => format!("(m{c} {op} m{d})"),
            1 => format!("(m{c} {op} (m{d} and proc.name in (l{i})))"),
            2 => format!("(evt.type = open {op} m{c})"),
            _ => format!("proc.name in (l{c})"),
        };
        text += &format!("- macro: m{i}\n  condition: {body}\n");
    }
    text += &format!(
        "- rule: r\n  desc: d\n  condition: evt.type = open and m{}\n  output: \"%proc.name\"\n  priority: INFO\n",
        n - 1
    );
    let set = load_rules_str("fuzz.yaml", &text, &Selection::default());
    for d in &set.diagnostics {
        let _ = d.render();
    }
    for r in &set.rules {
        assert!(
            r.program.nodes.len() <= text.len(),
            "{} nodes from {} bytes",
            r.program.nodes.len(),
            text.len()
        );
        let _ = r.program.to_string();
        let _ = r.program.evttypes();
    }
});
