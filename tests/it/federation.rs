//! Federation through the real binary: two nodes in their own processes,
//! one told to follow the other at run time with `kaitiaki peer add`
//! (signed with its node key), a statement of the followed log shown and
//! checked on the follower, routing hints for a statement sent to the wrong
//! node, and the evidence list.

use serde_json::Value;

use crate::support::{eventually, verifier_key, Cli, NodeProc};

/// The arguments of `kaitiaki peer add <url> --peer-key <key> --data <data>`.
fn peer_add<'a>(url: &'a str, key: &'a str, data: &'a str) -> [&'a str; 7] {
    ["peer", "add", url, "--peer-key", key, "--data", data]
}

#[test]
fn a_node_follows_another_added_at_run_time() {
    let dir = tempfile::tempdir().unwrap();
    let (iwi_data, agency_data) = (dir.path().join("iwi"), dir.path().join("agency"));
    let iwi = NodeProc::start_with(
        &iwi_data,
        &[
            ("KAITIAKI_ORIGIN", "iwi.example"),
            ("KAITIAKI_REPLICATION_POLL_MS", "100"),
        ],
    );
    let agency = NodeProc::start_with(
        &agency_data,
        &[
            ("KAITIAKI_ORIGIN", "agency.example"),
            ("KAITIAKI_REPLICATION_POLL_MS", "100"),
        ],
    );
    let on_iwi = Cli::new(dir.path(), &iwi.url);
    let on_agency = Cli {
        home: on_iwi.home.clone(),
        node: agency.url.clone(),
    };
    on_iwi.key("chair");
    on_iwi.key("member");

    // A board founded on its home node, the iwi node.
    let board = on_iwi.say(&[
        "--key",
        "chair",
        "body",
        "create",
        "--name",
        "Te Poari Raraunga",
        "--description",
        "The iwi's data board.",
        "--member",
        "chair:chair",
        "--member",
        "member",
        "--rule",
        "threshold:1",
    ]);

    // Nobody follows anybody yet.
    let peers = on_agency.json(&["peer", "list"]);
    assert_eq!(peers["peers"], Value::Array(vec![]));

    // The agency's operator adds the iwi node, pinning the key the iwi
    // node's operator gave out; the request is signed with the agency node's key.
    let key_text = verifier_key(&iwi.url, "/v1/checkpoint");
    let agency_dir = agency_data.to_str().unwrap();
    let added = on_agency.json(&peer_add(&iwi.url, &key_text, agency_dir));
    assert_eq!(added["origin"], "iwi.example");
    assert_eq!(added["key"], key_text.as_str());
    // The node says so in its log, as it does at its next start.
    eventually("the node logs the new peer", || {
        let said = agency.logged("following a new peer, as its operator asked");
        (said.len() == 1 && said[0].contains("iwi.example"))
            .then_some(())
            .ok_or(format!("{said:?}"))
    });

    // `peer add` of the iwi log at `url`, to the node at `node`, signed
    // with the key of the node whose data directory is `data`.
    let add_iwi = |cli: &Cli, node: &str, url: &str, data: &std::path::Path| {
        let add = peer_add(url, &key_text, data.to_str().unwrap());
        cli.run(&[&["--node", node][..], &add].concat())
    };
    // Added again the same way, nothing changes, and it says so.
    let again = on_agency.ok(&peer_add(&iwi.url, &key_text, agency_dir));
    assert!(
        again.contains(&format!(
            "Already following iwi.example at {}; nothing changed.",
            iwi.url
        )),
        "{again}"
    );
    // A key that is not the one the node at that address signs with, or an
    // address ending in /v1, is refused before anything is sent.
    let refused_with_key = |key: &str| {
        let out = on_agency.run(&peer_add(&iwi.url, key, agency_dir));
        assert!(!out.status.success(), "added under {key}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = refused_with_key(&verifier_key(&agency.url, "/v1/checkpoint"));
    assert!(
        err.contains(&format!(
            "the node at {} signs its log with the key {key_text}",
            iwi.url
        )),
        "{err}"
    );
    // The iwi node's witness key, the other key it shows, is named as such.
    let err = refused_with_key(&verifier_key(&iwi.url, "/v1/witness"));
    assert!(
        err.contains(&format!(
            "the key given is the witness key of the node at {}",
            iwi.url
        )) && err.contains(&key_text),
        "{err}"
    );
    let v1 = add_iwi(
        &on_agency,
        &agency.url,
        &format!("{}/v1", iwi.url),
        &agency_data,
    );
    let err = String::from_utf8_lossy(&v1.stderr);
    assert!(
        !v1.status.success()
            && err.contains(&format!(
                "give the peer node's own address, without /v1: kaitiaki peer add {}",
                iwi.url
            )),
        "{err}"
    );
    // The node's own address is refused before anything is trusted.
    let own = add_iwi(&on_agency, &agency.url, &agency.url, &agency_data);
    let err = String::from_utf8_lossy(&own.stderr);
    assert!(
        !own.status.success()
            && err.contains(
                "is the node this command talks to (--node): a node does not follow itself"
            )
            && !err.contains("Trusting"),
        "{err}"
    );
    // So is its own address under another name.
    let localhost = agency.url.replace("127.0.0.1", "localhost");
    let own = add_iwi(&on_agency, &agency.url, &localhost, &agency_data);
    let err = String::from_utf8_lossy(&own.stderr);
    assert!(
        !own.status.success()
            && err.contains(&format!(
                "{localhost} is the node this command talks to (--node {}), under another name",
                agency.url
            ))
            && !err.contains("Trusting"),
        "{err}"
    );
    // And its own key, given for an address that does not answer.
    let own_key = verifier_key(&agency.url, "/v1/checkpoint");
    let err = on_agency.run(&peer_add("http://127.0.0.1:9", &own_key, agency_dir));
    let err = String::from_utf8_lossy(&err.stderr);
    assert!(
        err.contains("the key given is the log key of the node this command talks to")
            && !err.contains("adding it anyway"),
        "{err}"
    );
    // Removing a log the node does not follow says how to name one.
    let nothing = on_agency.run(&[
        "peer",
        "remove",
        "nosuch.example",
        "--data",
        agency_data.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&nothing.stderr);
    assert!(
        err.contains("not_found")
            && err.contains("give the log's origin (e.g. iwi.example), not the peer's URL"),
        "{err}"
    );
    // Signed with any other key it is refused.
    let other = add_iwi(&on_iwi, &agency.url, "http://127.0.0.1:9", &iwi_data);
    assert!(!other.status.success());
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("forbidden"),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );

    // The agency node mirrors the iwi log and shows the board's charter,
    // checked against the iwi node's checkpoint under the iwi key.
    let size = crate::support::checkpoint(&iwi.url).0;
    eventually("the agency node mirrors the iwi log", || {
        let p = on_agency.json(&["peer", "list"]);
        let row = &p["peers"][0];
        if row["state"] == "following" && row["mirrored"] == size {
            Ok(())
        } else {
            Err(p.to_string())
        }
    });
    let shown = on_agency.json(&["show", &board]);
    assert_eq!(shown["log"], "iwi.example", "{shown}");
    assert_eq!(shown["kind"], "body.charter");
    let human = on_agency.ok(&["show", &board]);
    assert!(human.contains("iwi.example"), "{human}");
    // A proof of a mirrored statement comes from its own log's node, and
    // the agency node says which, as the command to run.
    let proof = on_agency.run(&["log", "proof", "inclusion", &board]);
    assert_eq!(proof.status.code(), Some(1), "{proof:?}");
    let err = String::from_utf8_lossy(&proof.stderr);
    assert!(
        err.contains(&format!(
            "kaitiaki --node {} log proof inclusion {board}",
            iwi.url
        )),
        "{err}"
    );
    let proof = on_iwi.ok(&["log", "proof", "inclusion", &board]);
    assert!(
        proof.starts_with(&format!("OK: statement {board} is leaf ")),
        "{proof}"
    );

    // The board's own statements belong on its home node: the agency node
    // refuses an amendment and names where to send it.
    let refused = on_agency.run(&[
        "--key",
        "chair",
        "body",
        "amend",
        &board,
        "--description",
        "Amended.",
        "--reason",
        "To test routing.",
    ]);
    assert_eq!(refused.status.code(), Some(3), "{refused:?}");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("wrong_home_log"), "{err}");
    assert!(err.contains(&format!("submit it to: {}", iwi.url)), "{err}");

    // Nothing misbehaved.
    let evidence = on_agency.json(&["evidence"]);
    assert_eq!(evidence["evidence"], Value::Array(vec![]));
    let text = on_agency.ok(&["evidence"]);
    assert!(text.contains("No evidence of misbehaviour"), "{text}");

    // The peer is remembered across a restart of the agency node.
    agency.stop();
    let agency = NodeProc::start_with(&agency_data, &[("KAITIAKI_ORIGIN", "agency.example")]);
    let on_agency = Cli {
        home: on_iwi.home.clone(),
        node: agency.url.clone(),
    };
    let p = on_agency.json(&["peer", "list"]);
    assert_eq!(p["peers"][0]["origin"], "iwi.example", "{p}");
    assert_eq!(p["peers"][0]["mirrored"], size, "{p}");
    eventually("the node logs the peer it follows at start", || {
        let said = agency.logged("a peer this node follows");
        (said.len() == 1 && said[0].contains("iwi.example"))
            .then_some(())
            .ok_or(format!("{said:?}"))
    });

    // The same log at another address is refused at run time, with the
    // way to do it: an entry in the configuration, which takes the place
    // of the one added at run time.
    let moved = add_iwi(&on_agency, &agency.url, "http://127.0.0.1:9", &agency_data);
    assert!(!moved.status.success());
    let err = String::from_utf8_lossy(&moved.stderr);
    assert!(
        err.contains("peer_conflict")
            && err.contains("kaitiaki peer remove iwi.example")
            && err.contains("[[peers]] entry"),
        "{err}"
    );
    // Or removed, and added again at its new address.
    let data = agency_data.to_str().unwrap();
    let removed = on_agency.ok(&["peer", "remove", "iwi.example", "--data", data]);
    eventually("the node logs the removal", || {
        let said = agency.logged("stopped following the peer, as its operator asked");
        (said.len() == 1).then_some(()).ok_or(format!("{said:?}"))
    });
    assert!(
        removed.contains(&format!(
            "No longer following iwi.example at {}. The {size} records copied from it stay",
            iwi.url
        )),
        "{removed}"
    );
    let p = on_agency.json(&["peer", "list"]);
    assert_eq!(p["peers"][0]["state"], "removed", "{p}");
    // Witnessing stopped both ways, and the list says so.
    assert_eq!(p["peers"][0]["witness"], false, "{p}");
    let listed = on_agency.ok(&["peer", "list"]);
    assert!(
        listed.contains("removed")
            && listed.contains(&format!("{size} (kept)"))
            && !listed.contains("both ways")
            && listed.contains("peer add"),
        "{listed}"
    );
    let again = on_agency.run(&["peer", "remove", "iwi.example", "--data", data]);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("not_found"),
        "{again:?}"
    );
    let moved = add_iwi(&on_agency, &agency.url, "http://127.0.0.1:9", &agency_data);
    assert!(moved.status.success(), "{moved:?}");
    let p = on_agency.json(&["peer", "list"]);
    assert_eq!(p["peers"][0]["url"], "http://127.0.0.1:9", "{p}");
    assert_eq!(p["peers"][0]["mirrored"], size, "{p}");
    agency.stop();
    let agency = NodeProc::start_with(
        &agency_data,
        &[
            ("KAITIAKI_ORIGIN", "agency.example"),
            ("KAITIAKI_PEERS", &format!("{key_text}@http://127.0.0.1:9")),
        ],
    );
    let p = crate::support::get_json(&format!("{}/v1/peers", agency.url)).unwrap();
    let peers = p["peers"].as_array().unwrap();
    assert_eq!(peers.len(), 1, "{p}");
    assert_eq!(peers[0]["url"], "http://127.0.0.1:9", "{p}");
    assert_eq!(peers[0]["configured"], true, "{p}");
    agency.stop();
    iwi.stop();
}

/// A node that only follows others holds no statement of its own, yet its
/// data directory audits, with the mirror checked against its peer: the
/// empty log's checkpoint is kept like any other.
#[test]
fn a_node_that_only_follows_audits_from_its_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let source = NodeProc::start(&dir.path().join("source"));
    let cli = Cli::new(dir.path(), &source.url);
    crate::story::two_boards(&cli);
    let key = verifier_key(&source.url, "/v1/checkpoint");
    let size = crate::support::checkpoint(&source.url).0;
    let follower_dir = dir.path().join("follower");
    let follower = NodeProc::start_with(
        &follower_dir,
        &[
            ("KAITIAKI_ORIGIN", "follower.example"),
            ("KAITIAKI_PEERS", &format!("{key}@{}", source.url)),
        ],
    );
    eventually("the follower copies the source's log", || {
        let p = crate::support::get_json(&format!("{}/v1/peers", follower.url))
            .map_err(|e| e.to_string())?;
        if p["peers"][0]["mirrored"] == size {
            Ok(())
        } else {
            Err(p.to_string())
        }
    });
    follower.stop();
    source.stop();
    let audit = cli.json(&[
        "log",
        "verify",
        "--peer-key",
        &format!("{}={key}", key.split('+').next().unwrap()),
        follower_dir.to_str().unwrap(),
    ]);
    assert_eq!(audit["result"], "ok", "{audit}");
    assert_eq!(audit["leaves_checked"], 0, "{audit}");
    let mirrors = audit["mirrors"].as_array().unwrap();
    assert_eq!(mirrors.len(), 1, "{audit}");
    assert_eq!(
        (&mirrors[0]["leaves"], &mirrors[0]["root_ok"]),
        (&Value::from(size), &Value::Bool(true)),
        "{audit}"
    );
}
