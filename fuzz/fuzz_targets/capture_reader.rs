//! Feeds arbitrary bytes to the capture reader: open, load every chunk, decode
//! every argument, verify. The only property checked is "never panics".
//! Inputs are spliced onto a valid file header half of the time so that the
//! fuzzer reaches past the header check.
#![no_main]

use capture::{verify, Bytes, Capture};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut bytes = data.to_vec();
    if data.first().is_some_and(|b| b & 1 == 1) {
        let h = capture::format::FileHeader {
            format_version: capture::FORMAT_VERSION,
            schema_version: capture::SCHEMA_VERSION,
            created_unix_ns: 0,
            file_id: [0; 16],
        };
        let mut with_header = h.encode().to_vec();
        with_header.extend_from_slice(&data[1..]);
        bytes = with_header;
    }
    if let Ok(cap) = Capture::from_bytes(Bytes::Owned(bytes), "fuzz") {
        let _ = cap.snapshot();
        cap.for_each_event(|e| {
            for a in e.args().flatten() {
                if let capture::ArgValue::StrList(l) = a {
                    let _ = l.iter().count();
                }
            }
        });
        let _ = verify(&cap);
    }
});
