//! Restarts: what a node acknowledged is there after it stops or crashes,
//! the derived state is the same, and a clean start does not replay the log.

use std::path::Path;

use kaitiaki_node::storage::Storage;

use crate::story::{request, two_boards};
use crate::support::{checkpoint, get_json, Cli, NodeProc};

/// The governance state hash the node keeps on disk (the node must be stopped).
fn stored_state_hash(data: &Path) -> [u8; 32] {
    let storage = Storage::open(data, 1 << 20).unwrap();
    kaitiaki_governance::state_hash(storage.state()).unwrap()
}

/// The governance state hash the node serves.
fn served_state_hash(url: &str) -> String {
    let v = get_json(&format!("{url}/v1/state/hash")).unwrap();
    v["state_hash"].as_str().unwrap().to_owned()
}

fn all_present(url: &str, ids: &[String]) {
    for id in ids {
        let s = get_json(&format!("{url}/v1/statements/{id}"))
            .unwrap_or_else(|e| panic!("{id} lost: {e}"));
        assert_eq!(s["id"].as_str(), Some(id.as_str()));
    }
}

#[test]
fn stop_and_crash_keep_every_acknowledged_statement() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let node = NodeProc::start(&data);
    let cli = Cli::new(dir.path(), &node.url);
    let b = two_boards(&cli);
    let mut ids = vec![b.iwi.clone(), b.pacific.clone(), b.dataset.clone()];
    for i in 0..4 {
        ids.push(request(&cli, &b.dataset, &format!("Study {i}")));
    }
    let before = checkpoint(&node.url);
    let served_before = served_state_hash(&node.url);
    node.stop();
    let state_before = stored_state_hash(&data);

    // A clean restart: same checkpoint, same state, nothing replayed.
    let node = NodeProc::start(&data);
    assert_eq!(checkpoint(&node.url), before);
    all_present(&node.url, &ids);
    let health = get_json(&format!("{}/healthz", node.url)).unwrap();
    assert_eq!(health["reindexed_at_startup"].as_u64(), Some(0), "{health}");
    assert_eq!(served_state_hash(&node.url), served_before);
    assert_eq!(served_before, hex(&state_before));
    node.stop();
    assert_eq!(stored_state_hash(&data), state_before);

    // A crash straight after acknowledgements: every acknowledged statement
    // survives (recovery may re-index a tail sled had not flushed).
    let node = NodeProc::start(&data);
    let cli = Cli {
        node: node.url.clone(),
        ..cli
    };
    for i in 0..5 {
        ids.push(request(&cli, &b.dataset, &format!("After restart {i}")));
    }
    let acked = checkpoint(&node.url);
    node.kill();
    let node = NodeProc::start(&data);
    assert_eq!(checkpoint(&node.url), acked);
    all_present(&node.url, &ids);
    // And the recovered log still audits, state and all.
    let audit = cli.json(&["log", "verify", &node.url]);
    assert_eq!(audit["result"], "ok", "{audit}");
    node.stop();
    let audit = cli.json(&["log", "verify", data.to_str().unwrap()]);
    assert_eq!(audit["result"], "ok", "{audit}");
    assert_eq!(
        audit["state_hash"].as_str(),
        Some(hex(&stored_state_hash(&data)).as_str())
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_second_node_on_a_held_data_directory_is_told_the_directory_not_the_port() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let node = NodeProc::start(&data);
    let listen = node.url.trim_start_matches("http://").to_owned();

    // The same directory and the same port, as a second start by mistake.
    let said = NodeProc::refused(&data, &listen);
    assert!(said.contains("is in use by another running node"), "{said}");
    assert!(!said.contains("cannot listen"), "{said}");

    // Another directory on the taken port: the port is the cause, and the
    // directory opened on the way is closed again, so it serves next time.
    let other = dir.path().join("other");
    let said = NodeProc::refused(&other, &listen);
    assert!(
        said.contains(&format!("cannot listen on {listen}")),
        "{said}"
    );
    let second = NodeProc::start(&other);
    assert_eq!(checkpoint(&second.url).0, 0);
    second.stop();
    node.stop();
}

/// A mistake in `peers.toml`, which operators may edit, is told as that:
/// which file, and to correct the entry. It is not called damaged storage,
/// whose advice (move `db/`, `tree/` and `mirrors/` aside) would throw
/// away the node's evidence and copies for a typo.
#[test]
fn a_typo_in_peers_toml_is_not_called_damaged_storage() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let node = NodeProc::start(&data);
    node.stop();
    for text in [
        "[[following]]\nurl = \"http://127.0.0.1:9\"\nkey = \"x\"\nthis is not toml\n",
        "[[following]]\nurl = \"127.0.0.1:9\"\nkey = \"not a key\"\n",
    ] {
        std::fs::write(data.join("peers.toml"), text).unwrap();
        let said = NodeProc::refused(&data, "127.0.0.1:0");
        assert!(said.contains("peers.toml"), "{said}");
        assert!(said.contains("correct"), "{said}");
        assert!(
            !said.contains("corrupt") && !said.contains("move those three"),
            "{said}"
        );
    }
}

/// A node restored from its key and segments with no peer to ask takes
/// statements at once, so its log says that nothing checked the restore
/// against a copy elsewhere, and what to restore first; a plain restart
/// says nothing of the sort.
#[test]
fn a_restore_with_no_peers_to_ask_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let node = NodeProc::start(&data);
    let cli = Cli::new(dir.path(), &node.url);
    let b = two_boards(&cli);
    request(&cli, &b.dataset, "Before the restore");
    node.stop();
    let node = NodeProc::start(&data);
    assert!(node.logged("follows no peers").is_empty());
    node.stop();

    let restored = dir.path().join("restored");
    std::fs::create_dir_all(restored.join("log")).unwrap();
    std::fs::copy(data.join("node.key"), restored.join("node.key")).unwrap();
    for entry in std::fs::read_dir(data.join("log")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, restored.join("log").join(path.file_name().unwrap())).unwrap();
    }
    let node = NodeProc::start(&restored);
    let said = node.logged("follows no peers");
    assert!(said.iter().any(|l| l.contains("peers.toml")), "{said:?}");
    node.stop();
}
