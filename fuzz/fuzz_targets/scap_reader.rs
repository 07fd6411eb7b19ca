//! Arbitrary bytes through the .scap block reader (and gzip detection); the
//! only property checked is "never panics".
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (bytes, _) = scap::decompress(data.to_vec());
    let f = scap::ScapFile::parse(&bytes);
    for e in &f.events {
        let _ = e.is_enter();
    }
});
