//! Backing up a node and restoring it after its disk is lost. A node's log
//! is its segment files, and every peer that follows it keeps a verified
//! copy laid out the same way; with its key and the fullest copy of its
//! log, the node starts where it was and everything else is rebuilt.

use std::path::Path;

use serde_json::Value;

use crate::story::{request, request_args, two_boards};
use crate::support::{checkpoint, eventually, get, get_json, verifier_key, Cli, NodeProc};

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

/// Waits until the node at `url` has copied `size` records of the one
/// log it follows, and follows it.
fn wait_copied(url: &str, size: u64) {
    eventually("the peer copies the whole log", || {
        let p = peers(url)?;
        let peer = &p["peers"][0];
        (peer["mirrored"] == size && peer["state"] == "following")
            .then_some(())
            .ok_or(p.to_string())
    });
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
    let key = verifier_key(&iwi.url, "/v1/checkpoint");
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
    wait_copied(&agency.url, size);

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

/// A node restored from a copy of its log shorter than the one a peer
/// holds takes no new statement, says why, and splits nothing: the peer
/// keeps following it. Restored from the peer's fuller copy, it takes
/// statements again.
#[test]
fn a_node_restored_from_a_short_copy_takes_no_statement_until_restored_in_full() {
    let dir = tempfile::tempdir().unwrap();
    let iwi_data = dir.path().join("iwi");
    let iwi = NodeProc::start_with(&iwi_data, &[("KAITIAKI_ORIGIN", "iwi.example")]);
    let cli = Cli::new(dir.path(), &iwi.url);
    let boards = two_boards(&cli);
    let key_of = |url: &str| verifier_key(url, "/v1/checkpoint");
    let iwi_key = key_of(&iwi.url);
    let agency_data = dir.path().join("agency");
    let agency_env = [
        ("KAITIAKI_ORIGIN", "agency.example"),
        ("KAITIAKI_PEERS", &format!("{iwi_key}@{}", iwi.url)),
        ("KAITIAKI_REPLICATION_POLL_MS", "100"),
    ];
    let agency = NodeProc::start_with(&agency_data, &agency_env);
    let agency_listen = agency.url.trim_start_matches("http://").to_owned();
    // Both follow each other once the iwi node is back.
    let iwi_env = [
        ("KAITIAKI_ORIGIN", "iwi.example"),
        (
            "KAITIAKI_PEERS",
            &format!("{}@{}", key_of(&agency.url), agency.url),
        ),
        ("KAITIAKI_REPLICATION_POLL_MS", "100"),
    ];

    // A backup, then more work that the peer copies but the backup lacks.
    let backup = dir.path().join("backup");
    assert!(copy_segments(&iwi_data.join("log"), &backup.join("log")) > 0);
    std::fs::copy(iwi_data.join("node.key"), backup.join("node.key")).unwrap();
    let (short, _) = checkpoint(&iwi.url);
    request(&cli, &boards.dataset, "Filed after the backup");
    let (size, root) = checkpoint(&iwi.url);
    wait_copied(&agency.url, size);

    // The disk is lost, and the node restored from its own, shorter,
    // backup while the peer is down.
    let listen = iwi.url.trim_start_matches("http://").to_owned();
    iwi.kill();
    agency.stop();
    let restore = |log_from: &Path| {
        std::fs::remove_dir_all(&iwi_data).unwrap();
        std::fs::create_dir_all(&iwi_data).unwrap();
        std::fs::copy(backup.join("node.key"), iwi_data.join("node.key")).unwrap();
        assert!(copy_segments(log_from, &iwi_data.join("log")) > 0);
        NodeProc::start_on(&iwi_data, &listen, &iwi_env)
    };
    let iwi = restore(&backup.join("log"));
    assert_eq!(checkpoint(&iwi.url).0, short);
    let submit = |title: &str| {
        let out = cli.run(&request_args(
            "researcher",
            &boards.dataset,
            title,
            "research",
        ));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    // Until its peer answers, it takes nothing, and names the peer.
    let (taken, err) = submit("Filed while the peer is down");
    assert!(!taken, "{err}");
    assert!(err.contains("still to answer: agency.example"), "{err}");

    // The peer back, it refuses new statements, and says why.
    let agency = NodeProc::start_on(&agency_data, &agency_listen, &agency_env);
    let said = eventually("the node says its peer holds more", || {
        let (status, health) = get(&format!("{}/healthz", iwi.url));
        (status == 503 && health["status"] == "refusing_statements")
            .then(|| health["problem"].as_str().unwrap_or_default().to_owned())
            .ok_or(health.to_string())
    });
    assert!(
        said.contains(&format!("holds {size} records of this log"))
            && said.contains(&format!("this node holds {short}")),
        "{said}"
    );
    let (taken, err) = submit("Filed after the restore");
    assert!(!taken, "{err}");
    assert!(
        err.contains("unavailable") && err.contains("restored from a shorter copy"),
        "{err}"
    );
    assert_eq!(checkpoint(&iwi.url).0, short);
    // A restart does not lift it: the node says so from its first answer.
    iwi.stop();
    let iwi = NodeProc::start_on(&iwi_data, &listen, &iwi_env);
    let (status, health) = get(&format!("{}/healthz", iwi.url));
    assert_eq!(
        (status, &health["status"]),
        (503, &Value::from("refusing_statements")),
        "{health}"
    );
    let (taken, err) = submit("Filed after a restart");
    assert!(
        !taken && err.contains("restored from a shorter copy"),
        "{err}"
    );
    // Nothing was split: the peer, in touch again, follows the log it
    // holds, with no evidence against it.
    eventually("the peer follows the restored node", || {
        let p = peers(&agency.url)?;
        let peer = &p["peers"][0];
        (peer["state"] == "following" && peer["mirrored"] == size && peer["remote_size"] == short)
            .then_some(())
            .ok_or(p.to_string())
    });
    let evidence = get_json(&format!("{}/v1/evidence", agency.url)).unwrap();
    assert_eq!(evidence["evidence"], Value::Array(vec![]), "{evidence}");

    // Restored again from the peer's fuller copy, it takes statements.
    iwi.stop();
    let mirror = agency_data.join("mirrors").join("iwi.example").join("log");
    let iwi = restore(&mirror);
    assert_eq!(checkpoint(&iwi.url), (size, root));
    eventually("the restored node takes statements", || {
        let out = cli.run(&request_args(
            "researcher",
            &boards.dataset,
            "Filed after the full restore",
            "research",
        ));
        out.status
            .success()
            .then_some(())
            .ok_or(String::from_utf8_lossy(&out.stderr).into_owned())
    });
    eventually("the peer follows the new record", || {
        let p = peers(&agency.url)?;
        let peer = &p["peers"][0];
        (peer["mirrored"] == size + 1 && peer["state"] == "following")
            .then_some(())
            .ok_or(p.to_string())
    });
    let (status, health) = get(&format!("{}/healthz", iwi.url));
    assert_eq!(
        (status, &health["status"]),
        (200, &Value::from("ok")),
        "{health}"
    );
    agency.stop();
    iwi.stop();
}

/// A node whose disk is lost and whose operator starts it again from its
/// key alone holds an empty log where its peers hold its records: it takes
/// no statement until the peer it follows answers, then refuses them, and
/// the peer keeps what it holds.
#[test]
fn a_node_restored_from_its_key_alone_takes_no_statement() {
    let dir = tempfile::tempdir().unwrap();
    let iwi_data = dir.path().join("iwi");
    let iwi = NodeProc::start_with(&iwi_data, &[("KAITIAKI_ORIGIN", "iwi.example")]);
    let cli = Cli::new(dir.path(), &iwi.url);
    let boards = two_boards(&cli);
    let agency_data = dir.path().join("agency");
    let agency_env = [
        ("KAITIAKI_ORIGIN", "agency.example"),
        (
            "KAITIAKI_PEERS",
            &format!("{}@{}", verifier_key(&iwi.url, "/v1/checkpoint"), iwi.url),
        ),
        ("KAITIAKI_REPLICATION_POLL_MS", "100"),
    ];
    let agency = NodeProc::start_with(&agency_data, &agency_env);
    let agency_listen = agency.url.trim_start_matches("http://").to_owned();
    let iwi_env = [
        ("KAITIAKI_ORIGIN", "iwi.example"),
        (
            "KAITIAKI_PEERS",
            &format!(
                "{}@{}",
                verifier_key(&agency.url, "/v1/checkpoint"),
                agency.url
            ),
        ),
        ("KAITIAKI_REPLICATION_POLL_MS", "100"),
    ];
    let (size, _) = checkpoint(&iwi.url);
    wait_copied(&agency.url, size);

    // The disk is lost; the key was kept apart, and the node is started
    // again from it alone while its peer is down.
    let key = std::fs::read(iwi_data.join("node.key")).unwrap();
    let listen = iwi.url.trim_start_matches("http://").to_owned();
    iwi.kill();
    agency.stop();
    std::fs::remove_dir_all(&iwi_data).unwrap();
    std::fs::create_dir_all(&iwi_data).unwrap();
    std::fs::write(iwi_data.join("node.key"), key).unwrap();
    std::fs::set_permissions(
        iwi_data.join("node.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let submit = |title: &str| {
        let out = cli.run(&request_args(
            "researcher",
            &boards.dataset,
            title,
            "research",
        ));
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let held = |iwi: &NodeProc| {
        assert_eq!(checkpoint(&iwi.url).0, 0);
        let err = submit("Filed while the peer is down");
        assert!(
            err.contains("key was found in a data directory that held no log of it")
                && err.contains("still to answer: agency.example"),
            "{err}"
        );
        let (status, health) = get(&format!("{}/healthz", iwi.url));
        assert_eq!(
            (status, &health["status"]),
            (503, &Value::from("waiting_for_peers")),
            "{health}"
        );
    };
    let iwi = NodeProc::start_on(&iwi_data, &listen, &iwi_env);
    held(&iwi);
    iwi.stop();

    // Its operator writes its configuration again, which opens the data
    // directory once more, with no peer to ask: the wait outlasts that.
    let init = cli.run(&[
        "node",
        "init",
        "--data",
        iwi_data.to_str().unwrap(),
        "--origin",
        "iwi.example",
        "--config",
        dir.path().join("iwi.toml").to_str().unwrap(),
    ]);
    assert!(init.status.success(), "{init:?}");
    let iwi = NodeProc::start_on(&iwi_data, &listen, &iwi_env);
    held(&iwi);

    // The peer back, the node learns that the peer holds its log.
    let agency = NodeProc::start_on(&agency_data, &agency_listen, &agency_env);
    let said = eventually("the node says its peer holds more", || {
        let (status, health) = get(&format!("{}/healthz", iwi.url));
        (status == 503 && health["status"] == "refusing_statements")
            .then(|| health["problem"].as_str().unwrap_or_default().to_owned())
            .ok_or(health.to_string())
    });
    assert!(
        said.contains(&format!("holds {size} records of this log"))
            && said.contains("this node holds 0"),
        "{said}"
    );
    let err = submit("Filed after the peer answered");
    assert!(err.contains("restored from a shorter copy"), "{err}");
    assert_eq!(checkpoint(&iwi.url).0, 0);
    // The peer keeps the log it holds, and holds nothing against the node.
    let p = peers(&agency.url).unwrap();
    assert_eq!(p["peers"][0]["mirrored"], size, "{p}");
    let evidence = get_json(&format!("{}/v1/evidence", agency.url)).unwrap();
    assert_eq!(evidence["evidence"], Value::Array(vec![]), "{evidence}");
    agency.stop();
    iwi.stop();
}
