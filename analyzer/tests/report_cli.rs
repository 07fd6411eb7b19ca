//! `analyzer report`: the HTML incident report, checked against the
//! alerts of `analyzer run` on the same capture and rendered by a real
//! browser (headless Chromium): the DOM it builds, a screenshot, and the
//! PDF it prints. Damage and recorded gaps are shown, not hidden.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ferret_tests::skip_unless;
use serde_json::Value;

fn analyzer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .output()
        .expect("run analyzer")
}

fn dir(name: &str) -> PathBuf {
    ferret_tests::scratch_dir(&format!("report-{name}"))
}

fn rules() -> String {
    ferret_tests::default_rules()
}

fn fixture() -> String {
    ferret_tests::scenarios()
}

/// Alerts per rule from `analyzer run --json`, the ground truth.
fn alerts_by_rule(cap: &str) -> BTreeMap<String, usize> {
    let o = analyzer(&[
        "run",
        "-q",
        "--json",
        "--fail-on",
        "emergency",
        "-r",
        &rules(),
        cap,
    ]);
    let mut m = BTreeMap::new();
    for l in String::from_utf8_lossy(&o.stdout).lines() {
        let v: Value = serde_json::from_str(l).expect("json");
        *m.entry(v["rule"].as_str().expect("rule").to_string())
            .or_default() += 1;
    }
    m
}

fn report(cap: &str, out: &Path) -> (Output, String) {
    let o = analyzer(&[
        "report",
        "-q",
        "-r",
        &rules(),
        cap,
        "-o",
        &out.display().to_string(),
    ]);
    let html = std::fs::read_to_string(out).unwrap_or_default();
    (o, html)
}

/// HTML text as the report escapes it.
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

fn headless(browser: &str, profile: &Path, args: &[&str], url: &str) -> Output {
    Command::new("timeout")
        .arg("120")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .expect("run the browser")
}

#[test]
fn the_report_holds_every_alert_and_renders_in_a_real_browser() {
    let d = dir("fixture");
    let out = d.join("report.html");
    let (o, html) = report(&fixture(), &out);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Self-contained: no script, no resource fetched from anywhere.
    assert!(!html.contains("<script"), "no script");
    for bad in [
        "src=\"http",
        "href=\"http",
        "url(http",
        "@import",
        "<link",
        "<img",
    ] {
        assert!(!html.contains(bad), "external resource: {bad}");
    }
    // Every rule that alerted, with its count, in the table by rule.
    let want = alerts_by_rule(&fixture());
    assert!(!want.is_empty());
    for (rule, n) in &want {
        let row = format!("</td><td>{}</td><td class=\"num\">{n}</td>", escaped(rule));
        assert!(html.contains(&row), "row for {rule} with {n} alert(s)");
    }
    let total: usize = want.values().sum();
    assert!(html.contains(&format!("<div class=\"n\">{total}</div>alerts")));
    // The capture's integrity: its chain head, and no damage.
    let info: Value =
        serde_json::from_slice(&analyzer(&["info", "--json", &fixture()]).stdout).expect("info");
    assert!(html.contains(info["chain_head"].as_str().expect("head")));
    assert!(html.contains("Every chunk was read intact."));
    // Evidence: the crypto miner's process and ancestry.
    assert!(html.contains("xmrig"), "the miner is named");
    assert!(
        html.contains("09-crypto-miner.sh"),
        "its parent script is in the ancestry"
    );

    let Some(browser) = chromium() else {
        assert!(!skip_unless(false, "chromium (Debian's chromium)"));
        return;
    };
    let url = format!("file://{}", out.display());
    let profile = d.join("profile");
    // The DOM the browser built from the file.
    let dom = headless(browser, &profile, &["--dump-dom"], &url);
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom_text.contains("Alerts by priority and rule"),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    for rule in want.keys() {
        assert!(dom_text.contains(&escaped(rule)), "{rule} in the DOM");
    }
    assert!(dom_text.contains("<svg"), "the timeline");
    // A screenshot (kept beside the report for a person to look at).
    let png = d.join("report.png");
    let shot = headless(
        browser,
        &profile,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,2400",
        ],
        &url,
    );
    let bytes = std::fs::read(&png).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}): {}",
            String::from_utf8_lossy(&shot.stderr)
        )
    });
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(bytes[16..20].try_into().expect("width"));
    let height = u32::from_be_bytes(bytes[20..24].try_into().expect("height"));
    assert_eq!((width, height), (1280, 2400));
    assert!(
        bytes.len() > 100_000,
        "a rendered page, not a blank one ({} bytes)",
        bytes.len()
    );
    // Printed to PDF: several pages.
    let pdf = d.join("report.pdf");
    let printed = headless(
        browser,
        &profile,
        &[
            &format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer",
        ],
        &url,
    );
    let bytes = std::fs::read(&pdf)
        .unwrap_or_else(|e| panic!("no PDF ({e}): {}", String::from_utf8_lossy(&printed.stderr)));
    assert!(bytes.starts_with(b"%PDF-"));
    let text = String::from_utf8_lossy(&bytes);
    // Skia writes one "/Type /Page" object per page (and "/Type /Pages"
    // for the page tree).
    let pages = text.matches("/Type /Page").count() - text.matches("/Type /Pages").count();
    assert!(pages >= 2, "{pages} page(s)");
}

#[test]
fn damage_and_recorded_gaps_are_shown() {
    let d = dir("damage");
    // A chunk damaged in the middle of the fixture.
    let mut bytes = std::fs::read(fixture()).expect("fixture");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    let damaged = d.join("damaged.cap");
    std::fs::write(&damaged, &bytes).expect("write");
    let damaged = damaged.display().to_string();
    let v: Value =
        serde_json::from_slice(&analyzer(&["verify", "--json", &damaged]).stdout).expect("verify");
    let first = &v["problems"][0];
    let chunk = first["chunk"].as_u64().expect("chunk");
    let (o, html) = report(&damaged, &d.join("damaged.html"));
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(html.contains("Damage: the events of these chunks are missing"));
    assert!(
        html.contains(&format!("chunk {chunk} ")),
        "the damaged chunk is named"
    );
    assert!(html.contains("<div class=\"n bad\">1</div>damaged chunks"));

    // A synthetic capture with loss records: its gaps and lost events.
    let synth = d.join("synth.cap");
    let o = analyzer(&[
        "synth",
        "-q",
        "--events",
        "100000",
        "--out",
        &synth.display().to_string(),
    ]);
    assert!(o.status.success());
    let synth = synth.display().to_string();
    let info: Value =
        serde_json::from_slice(&analyzer(&["info", "--json", &synth]).stdout).expect("info");
    let lost = info["lost_events"].as_u64().expect("lost");
    assert!(lost > 0);
    let (o, html) = report(&synth, &d.join("synth.html"));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        html.contains(&format!("{lost} event(s) were lost while recording")),
        "lost events stated"
    );
    assert!(html.contains(&format!(
        "<div class=\"n bad\">{lost}</div>events lost while recording"
    )));
}
