//! `kaitiaki demo`: seeds once through the real API, reuses its data on the
//! next run and says so, starts afresh with `--reset`, and leaves a log
//! with requests in every state that audits cleanly.

use std::collections::BTreeSet;

use crate::support::{Cli, NodeProc, BIN};

fn demo(data: &std::path::Path, extra: &[&str]) -> String {
    let out = std::process::Command::new(BIN)
        .args(["demo", "--seed-only", "--port", "0", "--data"])
        .arg(data)
        .args(extra)
        .env_remove("KAITIAKI_NODE")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

#[test]
fn demo_seeds_once_reuses_and_resets() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let first = demo(&data, &[]);
    assert!(first.contains("Seeded the example"), "{first}");
    assert!(first.contains("http://127.0.0.1:"), "{first}");
    let again = demo(&data, &[]);
    assert!(again.contains("Reusing the example"), "{again}");

    // Every state the example promises is there, as the node derives it.
    // The demo's log has its own origin and network; a node serving its
    // data must say so.
    let node = NodeProc::start_with(
        &data.join("node"),
        &[
            ("KAITIAKI_ORIGIN", "demo.kaitiaki.localhost"),
            ("KAITIAKI_NETWORK", "kaitiaki-demo"),
        ],
    );
    let cli = Cli::new(dir.path(), &node.url);
    let requests = cli.json(&["list", "requests"]);
    let states: BTreeSet<&str> = requests
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    for state in [
        "approved",
        "declined",
        "under_review",
        "withdrawn",
        "suspended",
        "completed",
    ] {
        assert!(states.contains(state), "no {state} request: {states:?}");
    }
    assert_eq!(cli.json(&["list", "rahui"]).as_array().unwrap().len(), 1);
    assert_eq!(cli.json(&["list", "concerns"]).as_array().unwrap().len(), 1);
    let audit = cli.json(&["log", "verify", &node.url]);
    assert_eq!(audit["result"], "ok", "{audit}");
    node.stop();

    let reset = demo(&data, &["--reset"]);
    assert!(reset.contains("Removed the old demo data"), "{reset}");
    assert!(reset.contains("Seeded the example"), "{reset}");
}
