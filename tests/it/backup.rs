//! Backing up a node and restoring it after its disk is lost. A node's log
//! is its segment files, and every peer that follows it keeps a verified
//! copy laid out the same way; with its key and the fullest copy of its
//! log, the node starts where it was and everything else is rebuilt.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::story::{request, request_args, two_boards, Boards};
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

/// The iwi node with its boards and records, and the agency node that
/// copies its log; the iwi node follows the agency once restarted.
struct Restorable {
    dir: tempfile::TempDir,
    iwi_data: PathBuf,
    cli: Cli,
    boards: Boards,
    agency_data: PathBuf,
    /// `KAITIAKI_PEERS` for each node: the other, by key and URL.
    agency_peers: String,
    iwi_peers: String,
}

impl Restorable {
    /// The two nodes running, the iwi node's log copied by the agency:
    /// the setting, the iwi node, the agency node.
    fn start() -> (Restorable, NodeProc, NodeProc) {
        let dir = tempfile::tempdir().unwrap();
        let iwi_data = dir.path().join("iwi");
        let iwi = NodeProc::start_with(&iwi_data, &env("iwi.example", None));
        let cli = Cli::new(dir.path(), &iwi.url);
        let boards = two_boards(&cli);
        let follow = |url: &str| format!("{}@{url}", verifier_key(url, "/v1/checkpoint"));
        let agency_peers = follow(&iwi.url);
        let agency_data = dir.path().join("agency");
        let agency =
            NodeProc::start_with(&agency_data, &env("agency.example", Some(&agency_peers)));
        let iwi_peers = follow(&agency.url);
        let (size, _) = checkpoint(&iwi.url);
        wait_copied(&agency.url, size);
        let r = Restorable {
            dir,
            iwi_data,
            cli,
            boards,
            agency_data,
            agency_peers,
            iwi_peers,
        };
        (r, iwi, agency)
    }

    /// Starts the iwi node again, on its old address, following the agency.
    fn start_iwi(&self, listen: &str) -> NodeProc {
        NodeProc::start_on(
            &self.iwi_data,
            listen,
            &env("iwi.example", Some(&self.iwi_peers)),
        )
    }

    /// Starts the agency node again, on its old address.
    fn start_agency(&self, listen: &str) -> NodeProc {
        NodeProc::start_on(
            &self.agency_data,
            listen,
            &env("agency.example", Some(&self.agency_peers)),
        )
    }

    /// Files a request that the iwi node must refuse; returns what the
    /// command said.
    fn refused(&self, title: &str) -> String {
        let out = self.cli.run(&request_args(
            "researcher",
            &self.boards.dataset,
            title,
            "research",
        ));
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "taken: {err}");
        err
    }
}

/// A node's environment: its origin and, if given, its peers.
fn env<'a>(origin: &'a str, peers: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("KAITIAKI_ORIGIN", origin),
        ("KAITIAKI_REPLICATION_POLL_MS", "100"),
    ];
    env.extend(peers.map(|p| ("KAITIAKI_PEERS", p)));
    env
}

/// The address a node listens on, to start it there again.
fn listen_of(node: &NodeProc) -> String {
    node.url.trim_start_matches("http://").to_owned()
}

/// Waits until the node at `url` refuses statements because a peer holds
/// more of its log; returns its reason.
fn refusing(url: &str) -> String {
    eventually("the node says its peer holds more", || {
        let (status, health) = get(&format!("{url}/healthz"));
        (status == 503 && health["status"] == "refusing_statements")
            .then(|| health["problem"].as_str().unwrap_or_default().to_owned())
            .ok_or(health.to_string())
    })
}

/// Asserts that the node at `url` holds no evidence against any log.
fn no_evidence(url: &str) {
    let evidence = get_json(&format!("{url}/v1/evidence")).unwrap();
    assert_eq!(evidence["evidence"], Value::Array(vec![]), "{evidence}");
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
    let listen = listen_of(&iwi);
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
    let (r, iwi, agency) = Restorable::start();

    // A backup, then more work that the peer copies but the backup lacks.
    let backup = r.dir.path().join("backup");
    assert!(copy_segments(&r.iwi_data.join("log"), &backup.join("log")) > 0);
    std::fs::copy(r.iwi_data.join("node.key"), backup.join("node.key")).unwrap();
    let (short, _) = checkpoint(&iwi.url);
    request(&r.cli, &r.boards.dataset, "Filed after the backup");
    let (size, root) = checkpoint(&iwi.url);
    wait_copied(&agency.url, size);

    // The disk is lost, and the node restored from its own, shorter,
    // backup while the peer is down.
    let (listen, agency_listen) = (listen_of(&iwi), listen_of(&agency));
    iwi.kill();
    agency.stop();
    let restore = |log_from: &Path| {
        std::fs::remove_dir_all(&r.iwi_data).unwrap();
        std::fs::create_dir_all(&r.iwi_data).unwrap();
        std::fs::copy(backup.join("node.key"), r.iwi_data.join("node.key")).unwrap();
        assert!(copy_segments(log_from, &r.iwi_data.join("log")) > 0);
        r.start_iwi(&listen)
    };
    let iwi = restore(&backup.join("log"));
    assert_eq!(checkpoint(&iwi.url).0, short);

    // Until its peer answers, it takes nothing, and names the peer.
    let err = r.refused("Filed while the peer is down");
    assert!(err.contains("still to answer: agency.example"), "{err}");

    // The peer back, it refuses new statements, and says why.
    let agency = r.start_agency(&agency_listen);
    let said = refusing(&iwi.url);
    assert!(
        said.contains(&format!("holds {size} records of this log"))
            && said.contains(&format!("this node holds {short}")),
        "{said}"
    );
    let err = r.refused("Filed after the restore");
    assert!(
        err.contains("unavailable") && err.contains("restored from a shorter copy"),
        "{err}"
    );
    assert_eq!(checkpoint(&iwi.url).0, short);
    // A restart does not lift it: the node says so from its first answer.
    iwi.stop();
    let iwi = r.start_iwi(&listen);
    let (status, health) = get(&format!("{}/healthz", iwi.url));
    assert_eq!(
        (status, &health["status"]),
        (503, &Value::from("refusing_statements")),
        "{health}"
    );
    let err = r.refused("Filed after a restart");
    assert!(err.contains("restored from a shorter copy"), "{err}");
    // Nothing was split: the peer, in touch again, follows the log it
    // holds, with no evidence against it.
    eventually("the peer follows the restored node", || {
        let p = peers(&agency.url)?;
        let peer = &p["peers"][0];
        (peer["state"] == "following" && peer["mirrored"] == size && peer["remote_size"] == short)
            .then_some(())
            .ok_or(p.to_string())
    });
    no_evidence(&agency.url);

    // Restored again from the peer's fuller copy, it takes statements.
    iwi.stop();
    let mirror = r
        .agency_data
        .join("mirrors")
        .join("iwi.example")
        .join("log");
    let iwi = restore(&mirror);
    assert_eq!(checkpoint(&iwi.url), (size, root));
    eventually("the restored node takes statements", || {
        let out = r.cli.run(&request_args(
            "researcher",
            &r.boards.dataset,
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
    let (r, iwi, agency) = Restorable::start();
    let (size, _) = checkpoint(&iwi.url);

    // The disk is lost; the key was kept apart, and the node is started
    // again from it alone while its peer is down.
    let backup = r.dir.path().join("node.key");
    std::fs::copy(r.iwi_data.join("node.key"), &backup).unwrap();
    let (listen, agency_listen) = (listen_of(&iwi), listen_of(&agency));
    iwi.kill();
    agency.stop();
    std::fs::remove_dir_all(&r.iwi_data).unwrap();
    std::fs::create_dir_all(&r.iwi_data).unwrap();
    std::fs::copy(&backup, r.iwi_data.join("node.key")).unwrap();
    let held = |iwi: &NodeProc| {
        assert_eq!(checkpoint(&iwi.url).0, 0);
        let err = r.refused("Filed while the peer is down");
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
    let iwi = r.start_iwi(&listen);
    held(&iwi);
    iwi.stop();

    // Its operator writes its configuration again, which opens the data
    // directory once more, with no peer to ask: the wait outlasts that.
    let init = r.cli.run(&[
        "node",
        "init",
        "--data",
        r.iwi_data.to_str().unwrap(),
        "--origin",
        "iwi.example",
        "--config",
        r.dir.path().join("iwi.toml").to_str().unwrap(),
    ]);
    assert!(init.status.success(), "{init:?}");
    let iwi = r.start_iwi(&listen);
    held(&iwi);

    // The peer back, the node learns that the peer holds its log.
    let agency = r.start_agency(&agency_listen);
    let said = refusing(&iwi.url);
    assert!(
        said.contains(&format!("holds {size} records of this log"))
            && said.contains("this node holds 0"),
        "{said}"
    );
    let err = r.refused("Filed after the peer answered");
    assert!(err.contains("restored from a shorter copy"), "{err}");
    assert_eq!(checkpoint(&iwi.url).0, 0);
    // The peer keeps the log it holds, and holds nothing against the node.
    let p = peers(&agency.url).unwrap();
    assert_eq!(p["peers"][0]["mirrored"], size, "{p}");
    no_evidence(&agency.url);
    agency.stop();
    iwi.stop();
}

/// The peers an operator added with `kaitiaki peer add` are kept in
/// `peers.toml` beside the key, so a node restored from its key, that file
/// and its log follows them again and waits for them before it takes a
/// statement, though its configuration names no peer.
#[test]
fn a_node_restored_with_its_peers_file_waits_for_the_peers_added_at_run_time() {
    let (r, iwi, agency) = Restorable::start();
    // The iwi node runs with no peer in its configuration; its operator
    // adds the agency at run time.
    let agency_key = verifier_key(&agency.url, "/v1/checkpoint");
    let data = r.iwi_data.to_str().unwrap();
    let added = r.cli.run(&[
        "peer",
        "add",
        &agency.url,
        "--peer-key",
        &agency_key,
        "--data",
        data,
    ]);
    assert!(added.status.success(), "{added:?}");
    let kept = std::fs::read_to_string(r.iwi_data.join("peers.toml")).unwrap();
    assert!(kept.contains(&agency_key), "{kept}");
    let (size, root) = checkpoint(&iwi.url);

    // The backup: the key, the peers file and the log, nothing else.
    let backup = r.dir.path().join("backup");
    std::fs::create_dir_all(&backup).unwrap();
    for file in ["node.key", "peers.toml"] {
        std::fs::copy(r.iwi_data.join(file), backup.join(file)).unwrap();
    }
    assert!(copy_segments(&r.iwi_data.join("log"), &backup.join("log")) > 0);
    let (listen, agency_listen) = (listen_of(&iwi), listen_of(&agency));
    iwi.kill();
    agency.stop();
    std::fs::remove_dir_all(&r.iwi_data).unwrap();
    std::fs::create_dir_all(&r.iwi_data).unwrap();
    for file in ["node.key", "peers.toml"] {
        std::fs::copy(backup.join(file), r.iwi_data.join(file)).unwrap();
    }
    copy_segments(&backup.join("log"), &r.iwi_data.join("log"));

    // Restored with no peer in its configuration, while the agency is down:
    // it follows the agency again, and waits for it.
    let iwi = NodeProc::start_on(&r.iwi_data, &listen, &env("iwi.example", None));
    assert_eq!(checkpoint(&iwi.url), (size, root));
    let p = peers(&iwi.url).unwrap();
    assert_eq!(p["peers"][0]["origin"], "agency.example", "{p}");
    assert_eq!(p["peers"][0]["configured"], false, "{p}");
    let err = r.refused("Filed while the peer is down");
    assert!(err.contains("still to answer: agency.example"), "{err}");
    let (status, health) = get(&format!("{}/healthz", iwi.url));
    assert_eq!(
        (status, &health["status"]),
        (503, &Value::from("waiting_for_peers")),
        "{health}"
    );

    // The agency back, holding no more of the log than the node: it takes
    // statements again, and the agency follows them as the same history.
    let agency = r.start_agency(&agency_listen);
    eventually("the node takes statements again", || {
        let (status, health) = get(&format!("{}/healthz", iwi.url));
        (status == 200).then_some(()).ok_or(health.to_string())
    });
    request(&r.cli, &r.boards.dataset, "Filed after the restore");
    wait_copied(&agency.url, size + 1);
    no_evidence(&agency.url);
    agency.stop();
    iwi.stop();
}
