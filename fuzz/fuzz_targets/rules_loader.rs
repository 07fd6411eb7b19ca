//! Arbitrary text as a rule file through the loader, resolver and compiler,
//! and every diagnostic rendered; the only property checked is "never panics".
#![no_main]

use ruleset::{load_rules_str, Selection};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let set = load_rules_str("fuzz.yaml", &text, &Selection::default());
    for d in &set.diagnostics {
        let _ = d.render();
    }
    for r in &set.rules {
        let _ = r.program.to_string();
    }
});
