//! Backing up a node and restoring it after its disk is lost. A node's log
//! is its segment files, and every peer that follows it keeps a verified
//! copy laid out the same way; with its key and the fullest copy of its
//! log, the node starts where it was and everything else is rebuilt.

use std::path::Path;

use serde_json::Value;

use crate::story::{request, two_boards};
use crate::support::{checkpoint, eventually, get_json, Cli, NodeProc};

/// Copies the segment files (`*.seg`) of the log directory `from` into `to`.
fn copy_segments(from: &Path, to: &Path) -> usize {
    std::fs::create_dir_all(to).unwrap();
    let mut n = 0;
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "seg") {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
            n += 1;
        }
    }
    n
}

/// The peer list of the node at `url`, as JSON.
fn peers(url: &str) -> Result<Value, String> {
    get_json(&format!("{url}/v1/peers")).map_err(|e| e.to_string())
}

#[test]
fn a_lost_node_is_restored_from_its_key_and_a_peers_copy_of_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let iwi_data = dir.path().join("iwi");
    let iwi_env = [("KAITIAKI_ORIGIN", "iwi.example")];
    let iwi = NodeProc::start_with(&iwi_data, &iwi_env);
    let cli = Cli::new(dir.path(), &iwi.url);
    let boards = two_boards(&cli);
    let key = get_json(&format!("{}/v1/checkpoint", iwi.url)).unwrap()["verifier_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let agency_data = dir.path().join("agency");
    let agency = NodeProc::start_with(
        &agency_data,
        &[
            ("KAITIAKI_ORIGIN", "agency.example"),
            ("KAITIAKI_PEERS", &format!("{key}@{}", iwi.url)),
            ("KAITIAKI_REPLICATION_POLL_MS", "100"),
        ],
    );

    // The steward's backup, taken while the node runs: its key and its log.
    let backup = dir.path().join("backup");
    std::fs::create_dir_all(&backup).unwrap();
    std::fs::copy(iwi_data.join("node.key"), backup.join("node.key")).unwrap();
    assert!(copy_segments(&iwi_data.join("log"), &backup.join("log")) > 0);
    let (backed_up, _) = checkpoint(&iwi.url);

    // Work goes on after the backup, and the peer copies it.
    let later = request(&cli, &boards.dataset, "Filed after the backup");
    let (size, root) = checkpoint(&iwi.url);
    assert!(size > backed_up);
    let state = get_json(&format!("{}/v1/state/hash", iwi.url)).unwrap()["state_hash"].clone();
    eventually("the peer copies the whole log", || {
        let p = peers(&agency.url)?;
        (p["peers"][0]["mirrored"] == size)
            .then_some(())
            .ok_or(p.to_string())
    });

    // The disk is lost.
    let listen = iwi.url.trim_start_matches("http://").to_owned();
    iwi.kill();
    std::fs::remove_dir_all(&iwi_data).unwrap();

    // Restored from the key in the backup and the fuller copy of the log,
    // the peer's, taken while the peer runs.
    std::fs::create_dir_all(&iwi_data).unwrap();
    std::fs::copy(backup.join("node.key"), iwi_data.join("node.key")).unwrap();
    let mirror = agency_data.join("mirrors").join("iwi.example").join("log");
    assert!(copy_segments(&mirror, &iwi_data.join("log")) > 0);
    let iwi = NodeProc::start_on(&iwi_data, &listen, &iwi_env);

    // The same log, the same state, every record there.
    assert_eq!(checkpoint(&iwi.url), (size, root));
    let restored = get_json(&format!("{}/v1/state/hash", iwi.url)).unwrap();
    assert_eq!(restored["state_hash"], state, "{restored}");
    let shown = cli.json(&["show", &later]);
    assert_eq!(shown["id"], later.as_str(), "{shown}");

    // It carries on from there: the peer follows the new record as the
    // same history, with no fork to quarantine.
    request(&cli, &boards.dataset, "Filed after the restore");
    eventually("the peer follows the restored node", || {
        let p = peers(&agency.url)?;
        let peer = &p["peers"][0];
        (peer["mirrored"] == size + 1 && peer["state"] == "following")
            .then_some(())
            .ok_or(p.to_string())
    });
    let audit = cli.json(&["log", "verify", &iwi.url]);
    assert_eq!(audit["result"], "ok", "{audit}");
    agency.stop();
    iwi.stop();
}
