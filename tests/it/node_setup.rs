//! Setting up a node as an operator does: `kaitiaki node init`, the peers
//! the README tells them to add to the file it wrote, then `node serve`
//! in the same directory.

use std::process::Command;

use crate::support::{get_json, NodeProc, BIN};

/// `node init` in `dir`; returns what it printed as JSON.
fn init(dir: &std::path::Path, origin: &str) -> serde_json::Value {
    std::fs::create_dir_all(dir).unwrap();
    let out = Command::new(BIN)
        .args(["--json", "node", "init", "--origin", origin])
        .args(["--listen", "127.0.0.1:7878"])
        .current_dir(dir)
        .env_remove("KAITIAKI_NETWORK")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_node_set_up_as_the_readme_says_serves_and_follows_its_peer() {
    let dir = tempfile::tempdir().unwrap();
    let (iwi, pacific) = (dir.path().join("iwi"), dir.path().join("pacific"));
    init(&iwi, "iwi.example");
    let partner = init(&pacific, "pacific.example");
    let key = partner["verifier_key"].as_str().unwrap();

    // The file `init` wrote takes the README's `[[peers]]` table as it is.
    let file = iwi.join("kaitiaki.toml");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("# [[peers]]"), "init says how: {written}");
    std::fs::write(
        &file,
        format!("{written}\n[[peers]]\nurl = \"http://127.0.0.1:9\"\nkey = \"{key}\"\n"),
    )
    .unwrap();

    // `node serve` there reads it without being told, and says so.
    let node = NodeProc::start_in(&iwi);
    assert_eq!(
        node.logged("Using the configuration in ./kaitiaki.toml")
            .len(),
        1
    );
    let health = get_json(&format!("{}/healthz", node.url)).unwrap();
    assert_eq!(health["origin"], "iwi.example", "{health}");
    let peers = get_json(&format!("{}/v1/peers", node.url)).unwrap();
    let origins: Vec<&str> = peers["peers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["origin"].as_str())
        .collect();
    assert_eq!(origins, ["pacific.example"], "{peers}");
    node.stop();
}
