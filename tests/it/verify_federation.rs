//! `log verify` on a federated node: the audit folds the node's own log and
//! every mirror it holds, checks each mirror against its peer's complete
//! checkpoint, says where each peer's key came from, and finds a tampered
//! mirror.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use kaitiaki_node::storage::Storage;

use crate::story::flip;
use crate::support::{copy_dir, get_json, Cli, NodeProc, BIN};

const AGENCY_ORIGIN: &str = "agency.demo.kaitiaki.localhost";

/// Seeds the three demo logs into `data` and leaves the nodes stopped.
pub fn seed(data: &Path) {
    let out = Command::new(BIN)
        .args(["demo", "--seed-only", "--port", "0", "--data"])
        .arg(data)
        .env_remove("KAITIAKI_NODE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// `--peer-key` flags for every mirror the node in `node_dir` holds, with
/// each peer's log key read from that peer's own key file.
pub fn peer_keys(data: &Path, node_dir: &Path) -> Vec<String> {
    let mut flags = Vec::new();
    for entry in std::fs::read_dir(node_dir.join("mirrors")).unwrap() {
        let origin = entry.unwrap().file_name().to_string_lossy().into_owned();
        let peer_dir = data.join(origin.split('.').next().unwrap());
        let id = kaitiaki_node::identity::Identity::load_or_create(&peer_dir, &origin).unwrap();
        flags.push("--peer-key".to_owned());
        flags.push(format!("{origin}={}", id.verifier()));
    }
    flags
}

pub fn args<'a>(head: &[&'a str], flags: &'a [String], target: &'a str) -> Vec<&'a str> {
    let mut v = head.to_vec();
    v.extend(flags.iter().map(String::as_str));
    v.push(target);
    v
}

pub fn mirrors(audit: &Value) -> &Vec<Value> {
    audit["mirrors"].as_array().unwrap()
}

#[test]
fn the_audit_folds_every_log_a_node_holds() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    seed(&data);
    let agency = data.join("agency");
    let target = agency.to_str().unwrap();
    let cli = Cli::new(dir.path(), "http://127.0.0.1:9");

    // Without keys the mirrors are still folded and their roots checked;
    // the summary says their checkpoints' signatures were not.
    let audit = cli.json(&["log", "verify", "--no-remember", target]);
    assert_eq!(audit["result"], "ok", "{audit}");
    assert_eq!(mirrors(&audit).len(), 2, "{audit}");
    for m in mirrors(&audit) {
        assert_eq!(m["root_ok"], true, "{m}");
        assert_eq!(m["key_source"], "unknown", "{m}");
        assert!(m["leaves"].as_u64().unwrap() > 0, "{m}");
    }
    let state = audit["state_hash"].as_str().unwrap().to_owned();
    // --no-remember leaves this computer's record of the log as it was,
    // and says so.
    assert_eq!(audit["history"]["status"], "first_seen", "{audit}");
    assert_eq!(audit["remembered"], false, "{audit}");
    let told = cli.ok(&["log", "verify", "--no-remember", target]);
    assert!(told.contains("nothing was remembered"), "{told}");
    assert!(!told.contains("now remembered"), "{told}");

    // A peer added at run time is kept in peers.toml beside the key: the
    // audit of the directory takes its key from there.
    let keys = peer_keys(&data, &agency);
    let with_file = dir.path().join("with-peers-file");
    copy_dir(&agency, &with_file);
    let (origin, key) = keys[1].split_once('=').unwrap();
    std::fs::write(
        with_file.join("peers.toml"),
        format!("[[following]]\nurl = \"http://127.0.0.1:9\"\nkey = \"{key}\"\n"),
    )
    .unwrap();
    let audit = cli.json(&[
        "log",
        "verify",
        "--no-remember",
        with_file.to_str().unwrap(),
    ]);
    assert_eq!(audit["result"], "ok", "{audit}");
    for m in mirrors(&audit) {
        let expected = if m["origin"] == origin {
            "node"
        } else {
            "unknown"
        };
        assert_eq!(m["key_source"], expected, "{m}");
    }

    // With the peers' keys, every checkpoint is verified.
    let audit = cli.json(&args(&["log", "verify", "--no-remember"], &keys, target));
    assert_eq!(audit["result"], "ok", "{audit}");
    for m in mirrors(&audit) {
        assert_eq!(m["key_source"], "given", "{m}");
    }

    // Over HTTP the same logs fold into the state the node serves.
    let node = NodeProc::start_with(
        &agency,
        &[
            ("KAITIAKI_ORIGIN", AGENCY_ORIGIN),
            ("KAITIAKI_NETWORK", "kaitiaki-demo"),
        ],
    );
    let audit = cli.json(&args(&["log", "verify", "--no-remember"], &keys, &node.url));
    assert_eq!(audit["result"], "ok", "{audit}");
    assert_eq!(mirrors(&audit).len(), 2, "{audit}");
    assert_eq!(audit["state_hash"].as_str(), Some(state.as_str()));
    // The node says which leaves its state hash covers: its own log's and
    // each mirror's, read together with the hash.
    let served = get_json(&format!("{}/v1/state/hash", node.url)).unwrap();
    assert_eq!(
        served["state_hash"].as_str(),
        Some(state.as_str()),
        "{served}"
    );
    assert_eq!(served["size"], audit["size"], "{served}");
    for m in mirrors(&audit) {
        let origin = m["origin"].as_str().unwrap();
        assert_eq!(served["mirrors"][origin], m["leaves"], "{served}");
    }
    assert_eq!(served["mirrors"].as_object().unwrap().len(), 2, "{served}");
    node.stop();

    // A node whose kept state its logs do not support fails the audit,
    // from its data directory and over HTTP, and the place is named.
    let altered = dir.path().join("state-tampered");
    copy_dir(&agency, &altered);
    {
        let storage = Storage::open(&altered, 1 << 20).unwrap();
        storage
            .put_in(b"gov.meta\0", b"state_hash", Some(&[0x42; 32]))
            .unwrap();
    }
    let out = cli.run(&args(
        &["--json", "log", "verify", "--no-remember"],
        &keys,
        altered.to_str().unwrap(),
    ));
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary["fault"]["place"], "stored governance state",
        "{summary}"
    );
    let node = NodeProc::start_with(
        &altered,
        &[
            ("KAITIAKI_ORIGIN", AGENCY_ORIGIN),
            ("KAITIAKI_NETWORK", "kaitiaki-demo"),
        ],
    );
    let out = cli.run(&args(
        &["--json", "log", "verify", "--no-remember"],
        &keys,
        &node.url,
    ));
    node.stop();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary["fault"]["place"], "the node's governance state",
        "{summary}"
    );
    let why = summary["fault"]["why"].as_str().unwrap();
    assert!(why.contains(&"42".repeat(32)), "{why}");

    // The same altered state, marked as built under another state version
    // (as after an upgrade that changed the rules), is not compared: the
    // audit passes and says why. The node then rebuilds it from its logs at
    // start, and serves the state the audit folds.
    let other = kaitiaki_governance::STATE_VERSION + 1;
    {
        let storage = Storage::open(&altered, 1 << 20).unwrap();
        storage.mark_state_version(other).unwrap();
    }
    let out = cli.run(&args(
        &["--json", "log", "verify", "--no-remember"],
        &keys,
        altered.to_str().unwrap(),
    ));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["result"], "ok", "{summary}");
    let said = summary["notes"].to_string();
    assert!(
        said.contains(&format!("state version {other}")) && said.contains("not compared"),
        "{summary}"
    );
    let node = NodeProc::start_with(
        &altered,
        &[
            ("KAITIAKI_ORIGIN", AGENCY_ORIGIN),
            ("KAITIAKI_NETWORK", "kaitiaki-demo"),
        ],
    );
    let said = node.logged("another state version");
    assert!(
        said.iter().any(|l| l.contains(&format!("found={other}"))),
        "the node says it rebuilds, and from which version: {said:?}"
    );
    // It says it is serving only once the rebuild is done, and by default
    // logs its life at info level (here, that it listens) as well.
    let (rebuilt, serving, listening) = (
        node.logged_at("folded the log again"),
        node.logged_at("Serving log"),
        node.logged_at_within("listening"),
    );
    assert!(
        rebuilt.is_some() && rebuilt < serving && listening.is_some(),
        "rebuilt at {rebuilt:?}, serving at {serving:?}, listening at {listening:?}: {:?}",
        node.logged("")
    );
    let served = get_json(&format!("{}/v1/state/hash", node.url)).unwrap();
    assert_eq!(
        served["state_hash"].as_str(),
        Some(state.as_str()),
        "{served}"
    );
    assert_eq!(served["state_version"], kaitiaki_governance::STATE_VERSION);
    let audit = cli.json(&args(&["log", "verify", "--no-remember"], &keys, &node.url));
    node.stop();
    assert_eq!(audit["result"], "ok", "{audit}");
    assert!(
        !audit["notes"].to_string().contains("not compared"),
        "{audit}"
    );

    // One flipped byte in a mirrored leaf is found, and named.
    let copy = dir.path().join("mirror-tampered");
    copy_dir(&agency, &copy);
    let origin = "iwi.demo.kaitiaki.localhost";
    let segment = copy
        .join("mirrors")
        .join(origin)
        .join("log")
        .join("00000000000000000000.seg");
    let len = std::fs::metadata(&segment).unwrap().len();
    flip(&segment, len - 20);
    let out = cli.run(&args(
        &["--json", "log", "verify", "--no-remember"],
        &keys,
        copy.to_str().unwrap(),
    ));
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["result"], "fault", "{summary}");
    let place = summary["fault"]["place"].as_str().unwrap_or_default();
    assert!(place.contains(&format!("mirror of {origin}")), "{summary}");
}
