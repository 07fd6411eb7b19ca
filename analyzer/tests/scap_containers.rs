//! Container and Kubernetes fields of imported .scap traces against sysdig
//! 0.29: for every trace of ../shared/corpus/scap that sysdig reads, the
//! distinct (container, name, image, image id, type, privileged, pod,
//! namespace, mounts) tuples of the events in containers must be the same.
//! sysdig learns pods of dockershim-era traces from the container names
//! (`k8s_<container>_<pod>_<namespace>_<uid>_<attempt>`), as Ferret does.
//!
//! Ferret also fills `container.image.repository` and `.tag` from the image
//! name where an old record has none (sysdig leaves them `<NA>`); they are
//! checked to spell the image.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const FIELDS: &str = "%container.id|%container.name|%container.image|%container.image.id|%container.type|%container.privileged|%k8s.pod.name|%k8s.ns.name|%container.mounts";

fn sysdig(trace: &Path) -> Option<BTreeSet<String>> {
    let out = Command::new("sysdig")
        .args([
            "-r",
            trace.to_str()?,
            "-p",
            &format!("*{FIELDS}"),
            "container.id != host",
        ])
        .output()
        .ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    })
}

fn ferret(trace: &Path, format: &str, filter: &str) -> BTreeSet<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args([
            "events",
            trace.to_str().expect("path"),
            "-f",
            filter,
            "-p",
            format,
        ])
        .output()
        .expect("analyzer");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn container_and_k8s_fields_agree_with_sysdig() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/scap");
    if ferret_tests::skip_unless(
        corpus.join("INVENTORY.tsv").exists(),
        "../shared/corpus/scap",
    ) || ferret_tests::skip_unless(
        Command::new("sysdig").arg("--version").output().is_ok(),
        "sysdig",
    ) {
        return;
    }
    let inv = std::fs::read_to_string(corpus.join("INVENTORY.tsv")).expect("inventory");
    let mut compared = 0;
    let mut pods = 0;
    let mut misses = Vec::new();
    for line in inv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.get(7) != Some(&"yes") {
            continue;
        }
        let trace = corpus.join(cols[0]);
        let Some(want) = sysdig(&trace) else {
            misses.push(format!("{}: sysdig failed", cols[0]));
            continue;
        };
        // Containers known from the trace's header are state to both (sysdig
        // does not show them); container events in the stream are events.
        let got = ferret(
            &trace,
            FIELDS,
            "container.id != host and not (evt.type = container and evt.arg.initial = 1)",
        );
        if got != want {
            misses.push(format!(
                "{}: only sysdig {:?}; only Ferret {:?}",
                cols[0],
                want.difference(&got).collect::<Vec<_>>(),
                got.difference(&want).collect::<Vec<_>>()
            ));
        }
        compared += want.len();
        pods += want
            .iter()
            .filter(|l| l.split('|').nth(6) != Some("<NA>"))
            .count();
        for l in ferret(
            &trace,
            "%container.image|%container.image.repository|%container.image.tag",
            "container.id != host and container.image exists",
        ) {
            let f: Vec<&str> = l.split('|').collect();
            if f[0] != "incomplete" && (!f[0].starts_with(f[1]) || f[2].contains('/')) {
                misses.push(format!(
                    "{}: repository {} and tag {} of {}",
                    cols[0], f[1], f[2], f[0]
                ));
            }
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
    assert!(compared >= 20, "only {compared} container tuples compared");
    assert!(pods >= 3, "only {pods} tuples with a pod");
}
