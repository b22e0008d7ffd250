//! Setting up a node as an operator does: `kaitiaki node init`, the peers
//! the README tells them to add to the file it wrote, then `node serve`
//! in the same directory.

use std::process::Command;

use crate::support::{get_json, NodeProc, BIN};

/// `node init` in `dir`; returns what it printed as JSON.
fn init(dir: &std::path::Path, origin: &str) -> serde_json::Value {
    std::fs::create_dir_all(dir).unwrap();
    init_with(dir, &["--origin", origin, "--listen", "127.0.0.1:7878"])
}

/// `node init` with `args`, run in `cwd`; returns what it printed as JSON.
fn init_with(cwd: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(BIN)
        .args(["--json", "node", "init"])
        .args(args)
        .current_dir(cwd)
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

    // The partner's node is not up: the operator is told once, not at
    // every retry.
    let failures = || -> u64 {
        let text = crate::support::rt().block_on(async {
            reqwest::get(format!("{}/metrics", node.url))
                .await?
                .text()
                .await
        });
        text.unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("kaitiaki_replication_failures_total "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while failures() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the follower never retried"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let said = node.logged("cannot copy the peer's log");
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].contains("WARN") && said[0].contains("pacific.example"),
        "{said:?}"
    );
    node.stop();
}

/// A node served with `--config` from another directory keeps its data
/// where its file says, beside the file: it does not start a second, empty
/// log under the same name with a new key in the working directory. A file
/// `node init` writes elsewhere names the data directory in full.
#[test]
fn a_node_served_from_another_directory_keeps_its_data_beside_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let iwi = dir.path().join("iwi");
    let made = init(&iwi, "iwi.example");
    let node = NodeProc::start_from(dir.path(), &iwi.join("kaitiaki.toml"));
    let cp = get_json(&format!("{}/v1/checkpoint", node.url)).unwrap();
    assert_eq!(cp["verifier_key"], made["verifier_key"], "{cp}");
    drop(node);
    assert!(
        !dir.path().join("kaitiaki-data").exists(),
        "no second data directory where it was started"
    );

    // `init --config` elsewhere: the file names the data directory whole.
    let elsewhere = dir.path().join("etc");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let file = elsewhere.join("pacific.toml");
    let args = [
        "--origin",
        "pacific.example",
        "--data",
        "./pacific-data",
        "--config",
        file.to_str().unwrap(),
    ];
    let made = init_with(dir.path(), &args);
    let data = std::fs::canonicalize(dir.path().join("pacific-data")).unwrap();
    assert_eq!(made["data_dir"], data.display().to_string());
    assert_eq!(made["existing"], false, "{made}");
    // Written again over the same data directory: its key is kept, and
    // `init` says so rather than that it made them.
    let again = init_with(dir.path(), &[&args[..], &["--force"]].concat());
    assert_eq!(
        (&again["existing"], &again["verifier_key"]),
        (&serde_json::Value::Bool(true), &made["verifier_key"]),
        "{again}"
    );
    let node = NodeProc::start_from(&elsewhere, &elsewhere.join("pacific.toml"));
    let cp = get_json(&format!("{}/v1/checkpoint", node.url)).unwrap();
    assert_eq!(cp["verifier_key"], made["verifier_key"], "{cp}");
}
