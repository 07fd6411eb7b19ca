//! Time to load and compile Falco's three upstream rule files together
//! (falco_rules.yaml, falco-incubating_rules.yaml, falco-sandbox_rules.yaml)
//! from ../shared/corpus. Goal: under 50 ms.
//!
//! `cargo bench -p ruleset --bench rules_load`

use std::path::Path;
use std::time::Instant;

use ruleset::{load_rules, Selection};

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/falco-rules");
    if !dir.join("falco_rules.yaml").exists() {
        eprintln!("rules_load benchmark skipped: ../shared/corpus/falco-rules is missing");
        return;
    }
    let files: Vec<_> = [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ]
    .iter()
    .map(|f| dir.join(f))
    .collect();
    let mut times = Vec::new();
    let mut rules = 0;
    for _ in 0..20 {
        let t = Instant::now();
        let set = load_rules(&files, &Selection::default());
        times.push(t.elapsed().as_secs_f64() * 1e3);
        rules = set.rules.len();
        assert_eq!(set.errors(), 0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "load + compile 3 upstream files ({rules} rules): min {:.1} ms, median {:.1} ms, max {:.1} ms (20 runs)",
        times[0],
        times[times.len() / 2],
        times[times.len() - 1]
    );
}
