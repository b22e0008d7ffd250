//! Federation faults: a peer whose log misbehaves — two histories shown to
//! two followers, a leaf with a forged signature, leaves served that are not
//! the tree it signed — is caught, quarantined with evidence, and no longer
//! followed until an operator lifts the quarantine.
//!
//! The misbehaving peer is the fake log server of [`crate::harness`].

use std::time::{Duration, Instant};

use kaitiaki_node::api::attachments::{sign_request, SIGNATURE_HEADER};
use kaitiaki_node::config::PeerConfig;
use serde_json::Value;

use crate::federation::log_key;
use crate::harness::{
    assert_quarantine_metrics, envelope_of, follower_config, harness_evidence, harness_mirror,
    harness_status, has_statement, history, leaf, listener, metrics, mirror_size, verify_record,
    wait_for_evidence, wait_mirrored, Flooding, Harness, View, COPY_CHECKPOINT, HARNESS,
};
use crate::support::{self, announce, now, tempdir, TestNode};

/// Two followers, X shown history `a` and Y history `b` of the harness
/// log; X follows Y, and Y follows X when `both_ways`. Checks that one of
/// them keeps `kind` evidence against the harness and quarantines it.
async fn fork_is_found(a: Vec<Vec<u8>>, b: Vec<Vec<u8>>, kind: &str, both_ways: bool) {
    let ha = Harness::start(View::honest(a.clone())).await;
    let hb = Harness::start(View::honest(b.clone())).await;
    let origins = ["follower-x.example", "follower-y.example"];
    let seeds = [[62u8; 32], [63u8; 32]];
    let dirs = [tempdir(), tempdir()];
    let (lx, ux) = listener().await;
    let (ly, uy) = listener().await;
    let x = TestNode::start_on(
        follower_config(
            dirs[0].path(),
            origins[0],
            seeds[0],
            vec![
                ha.peer(),
                PeerConfig::new(uy, log_key(origins[1], seeds[1])),
            ],
        ),
        lx,
    )
    .await;
    let y = TestNode::start_on(
        follower_config(
            dirs[1].path(),
            origins[1],
            seeds[1],
            if both_ways {
                vec![
                    hb.peer(),
                    PeerConfig::new(ux, log_key(origins[0], seeds[0])),
                ]
            } else {
                vec![hb.peer()]
            },
        ),
        ly,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let (found, record) = loop {
        let mut hit = None;
        for node in [&x, &y] {
            if let Some(r) = harness_evidence(node)
                .await
                .into_iter()
                .find(|r| r["evidence"]["kind"] == kind)
            {
                hit = Some((node, r));
                break;
            }
        }
        if let Some(h) = hit {
            break h;
        }
        assert!(
            Instant::now() < deadline,
            "no {kind} evidence on either follower: x {} {:?}, y {} {:?}",
            harness_status(&x).await,
            harness_evidence(&x).await,
            harness_status(&y).await,
            harness_evidence(&y).await,
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    verify_record(&record, kind);
    assert_eq!(record["found_by"], "gossip", "{record}");
    // The two histories the evidence holds are the two the harness signed.
    let notes = [
        record["evidence"]["a"].as_str().unwrap(),
        record["evidence"]["b"].as_str().unwrap(),
    ];
    let shown = [View::honest(a).note, View::honest(b).note];
    for n in notes {
        assert!(
            shown.iter().any(|s| s == n),
            "{n} is not a note the harness signed"
        );
    }
    assert_ne!(notes[0], notes[1]);
    let status = harness_status(found).await;
    assert_eq!(status["state"], "quarantined", "{status}");
    assert_eq!(status["quarantine"]["evidence"], record["id"], "{status}");
    assert_quarantine_metrics(found).await;
    x.stop().await;
    y.stop().await;
}

#[tokio::test]
async fn two_histories_of_one_size_shown_to_two_followers_are_found() {
    fork_is_found(
        history(1000, 10, "history a"),
        history(2000, 10, "history b"),
        "equivocation",
        true,
    )
    .await;
}

#[tokio::test]
async fn a_longer_history_with_another_prefix_is_found() {
    fork_is_found(
        history(3000, 8, "history a"),
        history(4000, 12, "history b"),
        "inconsistent",
        true,
    )
    .await;
}

/// Only the follower holding the shorter history (6 leaves) asks the other
/// about it: the consistency proof from the other's mirror carries the
/// prefix root, since 6 is not a power of two.
#[tokio::test]
async fn a_longer_fork_is_found_by_the_follower_holding_the_shorter_history() {
    fork_is_found(
        history(4100, 6, "history a"),
        history(4200, 12, "history b"),
        "inconsistent",
        false,
    )
    .await;
}

/// As above with a shorter history of 8 leaves, a power of two: the proof
/// from the other's mirror then does not carry the prefix root, so the
/// follower must take it from elsewhere (PROTOCOL.md §11.3), such as the
/// `old_root` that `/v1/mirrors/{origin}/proofs/consistency` answers with.
#[tokio::test]
async fn a_longer_fork_past_a_power_of_two_is_found_by_the_follower_holding_the_shorter_history() {
    fork_is_found(
        history(4300, 8, "history a"),
        history(4400, 12, "history b"),
        "inconsistent",
        false,
    )
    .await;
}

/// A log signs a checkpoint of 16 leaves but serves only the first 4, so
/// the follower holds that checkpoint over a mirror of 4 leaves. It then
/// shows its older checkpoint of 8 (consistent with the 16) and serves
/// leaves up to it; then a checkpoint of 16 leaves of another history that
/// shares those 8. The follower must still hold the first checkpoint of 16
/// and find the two of one size: had it taken the checkpoint of 8 as the
/// one held, the fork would pass as consistent with it.
///
/// The follower is stopped while the log changes what it shows, so that
/// no round sees half of one view and half of the next.
#[tokio::test]
async fn a_smaller_checkpoint_does_not_make_the_follower_forget_a_larger_one() {
    let leaves = history(4500, 16, "held");
    let harness = Harness::start(View::honest(leaves.clone()).serving_first(4)).await;
    let dir = tempdir();
    let config = follower_config(
        dir.path(),
        "follower.example",
        [68; 32],
        vec![harness.peer()],
    );
    let node = TestNode::start_with(config.clone()).await;
    wait_mirrored(&node, 4).await;
    node.stop().await;
    let held = View::honest(leaves.clone()).note;

    let older = View::showing(leaves.clone(), 8);
    harness.set(older.clone());
    let node = TestNode::start_with(config.clone()).await;
    wait_mirrored(&node, 8).await;
    let mirror = harness_mirror(&node)
        .await
        .expect("a mirror of the harness");
    assert_eq!(mirror["checkpoint"], held, "{mirror}");
    assert_eq!(mirror["complete"], older.note, "{mirror}");
    node.stop().await;

    let mut fork = leaves[..8].to_vec();
    fork.extend((8..16).map(|i| leaf(i, announce(4600 + i, "fork"))));
    let forked = View::honest(fork);
    harness.set(forked.clone());
    let node = TestNode::start_with(config).await;
    let record = wait_for_evidence(&node, "equivocation", 30).await;
    verify_record(&record, "equivocation");
    assert_eq!(record["found_by"], "replication", "{record}");
    let mut notes = [
        record["evidence"]["a"].as_str().unwrap().to_owned(),
        record["evidence"]["b"].as_str().unwrap().to_owned(),
    ];
    notes.sort();
    let mut shown = [held, forked.note];
    shown.sort();
    assert_eq!(notes, shown);
    let status = harness_status(&node).await;
    assert_eq!(status["state"], "quarantined", "{status}");
    assert_eq!(status["mirrored"], 8, "{status}");
    node.stop().await;
}

/// Leaf bytes with one byte of the envelope's signature flipped.
fn forged(mut bytes: Vec<u8>) -> Vec<u8> {
    // version(1) ‖ sequenced_at(8) ‖ envelope: version(1) ‖ author(32) ‖ signature(64) …
    bytes[1 + 8 + 1 + 32 + 10] ^= 0x01;
    assert!(envelope_of(&bytes).verify_signature().is_err());
    bytes
}

#[tokio::test]
async fn a_leaf_with_a_forged_signature_is_kept_as_evidence() {
    let mut leaves = history(5000, 8, "forged");
    leaves[5] = forged(leaves[5].clone());
    let harness = Harness::start(View::honest(leaves.clone())).await;
    let dir = tempdir();
    let mut config = follower_config(
        dir.path(),
        "follower.example",
        [64; 32],
        vec![harness.peer()],
    );
    config.replication.batch_leaves = 5;
    let node = TestNode::start_with(config).await;

    let record = wait_for_evidence(&node, "bad_leaf", 30).await;
    verify_record(&record, "bad_leaf");
    assert_eq!(record["found_by"], "replication", "{record}");
    assert_eq!(record["evidence"]["index"], 5, "{record}");
    let status = harness_status(&node).await;
    assert_eq!(status["state"], "quarantined", "{status}");
    assert_eq!(status["mirrored"], 5, "{status}");
    assert_quarantine_metrics(&node).await;

    // The first batch of five good leaves was stored and folded in; nothing
    // after it. (Mirrored statements are served by `/v1/statements/{id}`
    // only up to a checkpoint whose whole tree the mirror holds, and the
    // mirror holds no such checkpoint here; so compare the governance state
    // with a node that mirrored exactly those five leaves from an honest log.)
    assert_eq!(mirror_size(&node).await, Some(5));
    for l in &leaves[5..] {
        assert!(!has_statement(&node, l).await);
    }
    let honest = Harness::start(View::honest(leaves[..5].to_vec())).await;
    let reference_dir = tempdir();
    let reference = TestNode::start_with(follower_config(
        reference_dir.path(),
        "reference.example",
        [67; 32],
        vec![honest.peer()],
    ))
    .await;
    wait_mirrored(&reference, 5).await;
    for l in &leaves[..5] {
        assert!(has_statement(&reference, l).await);
    }
    let (status, ours) = node.get("/v1/state/hash").await;
    assert_eq!(status, 200, "{ours}");
    let (status, theirs) = reference.get("/v1/state/hash").await;
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(ours, theirs);
    reference.stop().await;
    node.stop().await;
}

/// Twelve leaves; the harness first shows the first six honestly, then
/// signs all twelve but serves leaf 9 replaced by another valid statement.
#[tokio::test]
async fn rewritten_leaves_are_refused_and_the_mirror_kept() {
    let leaves = history(6000, 12, "rewritten");
    let harness = Harness::start(View::honest(leaves[..6].to_vec())).await;
    let dir = tempdir();
    let node = TestNode::start_with(follower_config(
        dir.path(),
        "follower.example",
        [65; 32],
        vec![harness.peer()],
    ))
    .await;
    wait_mirrored(&node, 6).await;

    let other = leaf(9, announce(6999, "rewritten in"));
    harness.set(View::honest(leaves.clone()).serving(9, other.clone()));
    let record = wait_for_evidence(&node, "rewritten_leaves", 30).await;
    assert_eq!(record["self_verifying"], false, "{record}");
    assert_eq!(record["found_by"], "replication", "{record}");
    assert_eq!(record["evidence"]["origin"], HARNESS, "{record}");
    let status = harness_status(&node).await;
    assert_eq!(status["state"], "quarantined", "{status}");
    assert_eq!(status["mirrored"], 6, "{status}");
    assert_quarantine_metrics(&node).await;

    assert_eq!(mirror_size(&node).await, Some(6));
    for l in &leaves[..6] {
        assert!(has_statement(&node, l).await);
    }
    for l in leaves[6..].iter().chain([&other]) {
        assert!(!has_statement(&node, l).await);
    }
    node.stop().await;
}

#[tokio::test]
async fn quarantine_survives_a_restart_until_the_operator_lifts_it() {
    const ORIGIN: &str = "follower.example";
    const SEED: [u8; 32] = [66; 32];
    let leaves = history(7000, 8, "restart");
    let other = leaf(3, announce(7999, "rewritten in"));
    let harness = Harness::start(View::honest(leaves.clone()).serving(3, other)).await;
    let dir = tempdir();
    let config = follower_config(dir.path(), ORIGIN, SEED, vec![harness.peer()]);
    let node = TestNode::start_with(config.clone()).await;
    let record = wait_for_evidence(&node, "rewritten_leaves", 30).await;
    node.stop().await;

    // After a restart the peer is still quarantined and not asked anything.
    let before = harness.requests();
    let node = TestNode::start_with(config).await;
    let status = harness_status(&node).await;
    assert_eq!(status["state"], "quarantined", "{status}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let status = harness_status(&node).await;
    assert_eq!(status["state"], "quarantined", "{status}");
    assert_eq!(status["mirrored"], 0, "{status}");
    assert_eq!(
        harness.requests(),
        before,
        "a quarantined peer was contacted"
    );
    assert_quarantine_metrics(&node).await;

    // The log mends its ways; only the operator's signed request lifts it.
    harness.set(View::honest(leaves.clone()));
    let path = format!("/v1/peers/{HARNESS}/quarantine");
    let unsigned = node.http.delete(node.at(&path)).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    let stranger = support::key(7001);
    let r = node
        .http
        .delete(node.at(&path))
        .header(
            SIGNATURE_HEADER,
            sign_request(&stranger, ORIGIN, "DELETE", &path, now()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(harness_status(&node).await["state"], "quarantined");

    let own = ed25519_dalek::SigningKey::from_bytes(&SEED);
    let r = node
        .http
        .delete(node.at(&path))
        .header(
            SIGNATURE_HEADER,
            sign_request(&own, ORIGIN, "DELETE", &path, now()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["was_quarantined"], true, "{body}");

    let records = harness_evidence(&node).await;
    assert!(
        records.iter().any(|r| r["id"] == record["id"]),
        "the evidence is gone: {records:?}"
    );
    // Followed again, it now mirrors the honest log.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = harness_status(&node).await;
        if s["mirrored"] == 8 && s["state"] == "following" {
            break;
        }
        assert!(Instant::now() < deadline, "not followed again: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for l in &leaves {
        assert!(has_statement(&node, l).await);
    }
    let text = metrics(&node).await;
    let line = format!("kaitiaki_peer_quarantined{{origin=\"{HARNESS}\"}} 0");
    assert!(text.lines().any(|l| l.trim() == line), "{text}");
    node.stop().await;
}

/// A peer showing a copy of this node's own log, signed with this node's
/// key, that holds another history at the node's own size: the node was
/// restored from a log that is not its own, so it takes no new statement,
/// says why, and still refuses after a restart.
#[tokio::test]
async fn a_peer_holding_another_history_of_this_log_stops_new_statements() {
    use kaitiaki_protocol::checkpoint::Checkpoint;
    use kaitiaki_protocol::note::{KeyName, NoteSigner};
    let (origin, seed) = ("own-log.example", [81u8; 32]);
    let dir = tempdir();
    let harness = Harness::start(View::honest(history(1, 2, "peer"))).await;

    // The node's own log, three records, written before it follows anyone.
    let node = TestNode::start_with(follower_config(dir.path(), origin, seed, vec![])).await;
    for n in 0..3 {
        let (status, body) = node.post(&announce(700 + n, "own")).await;
        assert_eq!(status, 201, "{body}");
    }
    node.stop().await;

    // The peer shows a tree of the same size with another root, signed
    // with this node's key.
    let signer = NoteSigner::from_seed(KeyName::new(origin).unwrap(), &seed);
    let other = Checkpoint::new(origin, 3, kaitiaki_protocol::Hash::from_bytes([7; 32]))
        .unwrap()
        .sign(&signer)
        .unwrap()
        .to_string();
    harness.show_copy_of(origin, other);
    let config = || follower_config(dir.path(), origin, seed, vec![harness.peer()]);
    let node = TestNode::start_with(config()).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let problem = loop {
        let (status, health) = node.get("/healthz").await;
        if status == 503 && health["status"] == "refusing_statements" {
            break health["problem"].as_str().unwrap_or_default().to_owned();
        }
        assert!(Instant::now() < deadline, "never refused: {health}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        problem.contains("holds another history of this log at size 3"),
        "{problem}"
    );
    let (status, body) = node.post(&announce(710, "own")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("unavailable")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("another history"),
        "{body}"
    );
    assert_eq!(node.get("/v1/checkpoint").await.1["size"], 3);
    node.stop().await;

    // Kept in the data directory: a restart does not lift it, even with
    // the peer showing nothing now.
    assert!(dir.path().join("refusing-statements.txt").exists());
    harness.show_copy_of("nobody.example", String::new());
    let node = TestNode::start_with(config()).await;
    let (status, health) = node.get("/healthz").await;
    assert_eq!(
        (status, &health["status"]),
        (503, &Value::from("refusing_statements")),
        "{health}"
    );
    let (status, body) = node.post(&announce(711, "own")).await;
    assert_eq!(status, 503, "{body}");
    node.stop().await;
}

/// A record of this node's own log can stop counting when a peer's log
/// shows an earlier statement that rules it out (here, its author's key
/// revoked the week before). Its page then says it changed nothing, and
/// why, rather than what it asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_own_record_another_log_rules_out_says_so_on_its_page() {
    use kaitiaki_protocol::statement::KeyRevoke;
    use kaitiaki_protocol::Body;

    let dir = tempdir();
    let alone = follower_config(dir.path(), "left-out.example", [72; 32], vec![]);
    let node = TestNode::start_with(alone.clone()).await;
    let said = announce(900, "left out");
    let (status, body) = node.post(&said).await;
    assert_eq!(status, 201, "{body}");
    let page = format!("/records/{}", said.id().to_hex());
    assert!(
        !node.text(&page).await.contains("does not count"),
        "it counts while nothing rules it out"
    );
    node.stop().await;

    // The key's own revocation, sequenced in the harness's log in November.
    let revoke = support::sign_for(
        support::NETWORK,
        &support::key(900),
        Body::KeyRevoke(KeyRevoke {
            reason: "The laptop holding it was stolen.".into(),
        }),
    );
    let harness = Harness::start(View::honest(vec![leaf(0, revoke)])).await;
    let mut following = alone;
    following.peers = vec![harness.peer()];
    let node = TestNode::start_with(following).await;
    wait_mirrored(&node, 1).await;
    let text = node.text(&page).await;
    assert!(
        text.contains(
            "This record does not count under the governance rules, so it changed nothing"
        ) && text.contains("revoked"),
        "{text}"
    );
    node.stop().await;
}

/// The wait for peers holds where statements are sequenced, not only in
/// the HTTP handler, so none slips between the handler's check and a wait
/// that begins meanwhile. The sequencer takes the same statement once the
/// peer has answered, so the wait, and nothing else, held it.
#[tokio::test]
async fn the_sequencer_takes_no_statement_while_the_node_waits_for_its_peers() {
    use kaitiaki_node::sequencer::Outcome;

    let dir = tempdir();
    // A key made before the log, and a peer that answers everything but
    // what it holds of this log (with more than anyone may read).
    let harness = Harness::start(View::honest(vec![])).await;
    harness.flood(COPY_CHECKPOINT, Flooding::Declared);
    let config = follower_config(dir.path(), "held.example", [73; 32], vec![harness.peer()]);
    let node = tokio::task::spawn_blocking(move || kaitiaki_node::Node::open(config))
        .await
        .unwrap()
        .expect("opens");
    let sequencer = node.sequencer();
    let (listener, url) = listener().await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(kaitiaki_node::serve(node, listener, async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let health = || async {
        let r = http.get(format!("{url}/healthz")).send().await.unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    // The peer was asked, and did not answer.
    let deadline = Instant::now() + Duration::from_secs(30);
    while harness.floods_begun() == 0 {
        assert!(Instant::now() < deadline, "the follower never asked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, body) = health().await;
    assert_eq!(
        (status, &body["status"]),
        (503, &Value::from("waiting_for_peers")),
        "{body}"
    );
    let statement = announce(1, "held").open().expect("valid");
    let outcomes = sequencer.submit(vec![statement.clone()]).await;
    assert_eq!(outcomes, vec![Outcome::Unavailable]);
    assert_eq!(health().await.1["size"], 0);

    // It answers (it holds no copy): the wait ends, and the same
    // statement is taken.
    harness.stop_flooding();
    loop {
        if health().await.1["status"] == "ok" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the wait never ended: {}",
            health().await.1
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let outcomes = sequencer.submit(vec![statement]).await;
    assert_eq!(outcomes, vec![Outcome::Created(0)]);
    let _ = stop.send(());
    served.await.unwrap().expect("closes");
}
