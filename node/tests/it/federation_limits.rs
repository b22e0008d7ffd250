//! Answers too large: a peer or witness that answers with more than the
//! endpoint can need — with or without declaring it — fails its round and
//! is tried again later. The node reads no further than the endpoint's
//! cap, so it cannot be made to hold the answer; and nothing in such an
//! answer is signed, so it is not evidence.

use std::time::{Duration, Instant};

use axum::routing::post;
use axum::Router;
use kaitiaki_node::config::WitnessPeer;
use kaitiaki_protocol::cosignature::Cosigner;
use kaitiaki_protocol::note::KeyName;

use crate::harness::{
    follower_config, harness_evidence, harness_status, history, listener, wait_for_error,
    wait_mirrored, Flood, Flooding, Harness, View, FLOOD_BYTES, FLOOD_DECLARED,
};
use crate::support::{self, tempdir, TestNode};

/// At most this much of a flood may be produced: what the node read (a
/// cap of at most a few hundred KiB here) and what the sockets between
/// the two buffer. Reading the whole flood would take [`FLOOD_BYTES`].
const READ_AT_MOST: u64 = FLOOD_BYTES / 4;

/// A follower of a harness that shows `before` of `leaves` leaves, then
/// all of them, and from then on answers `path` with a flood (the follower
/// fetches `batch` leaves at a time): the round fails, counted and shown,
/// with no evidence and no more leaves mirrored, and the node read only a
/// little of the flood.
async fn flood_fails_the_round(
    path: &'static str,
    how: Flooding,
    leaves: u64,
    before: u64,
    batch: u64,
) {
    let leaves = history(8000, leaves, "flood");
    let harness = Harness::start(View::honest(leaves[..before as usize].to_vec())).await;
    let dir = tempdir();
    let mut config = follower_config(
        dir.path(),
        "follower.example",
        [69; 32],
        vec![harness.peer()],
    );
    config.replication.batch_leaves = batch;
    if before == 0 {
        harness.flood(path, how);
    }
    let node = TestNode::start_with(config).await;
    if before > 0 {
        wait_mirrored(&node, before).await;
        harness.flood(path, how);
    }
    harness.set(View::honest(leaves));
    let words = match how {
        Flooding::Endless => "allowed for it".to_owned(),
        Flooding::Declared => format!("declares {FLOOD_DECLARED} bytes"),
    };
    let status = wait_for_error(&node, &words).await;
    let error = status["last_error"].as_str().unwrap();
    assert!(error.contains(path.split('?').next().unwrap()), "{status}");
    assert!(
        node.metric("kaitiaki_replication_failures_total").await >= 1,
        "not counted"
    );
    assert!(harness_evidence(&node).await.is_empty());
    let status = harness_status(&node).await;
    assert_ne!(status["state"], "quarantined", "{status}");
    assert_eq!(status["mirrored"], before, "{status}");
    // With the node gone, every flooding answer ends and the count is final.
    node.stop().await;
    let flooded = harness.flooded().await;
    eprintln!("{path}: {flooded} bytes of flood produced");
    assert!(
        flooded < READ_AT_MOST,
        "{flooded} bytes of the flood were produced"
    );
}

#[tokio::test]
async fn an_endless_checkpoint_note_fails_the_round() {
    flood_fails_the_round("/v1/checkpoint/note", Flooding::Endless, 4, 0, 1000).await;
}

/// The declared length is refused before any of the body is read; a node
/// that read on would wait for a body that never comes.
#[tokio::test]
async fn a_checkpoint_note_declared_too_long_is_refused_unread() {
    flood_fails_the_round("/v1/checkpoint/note", Flooding::Declared, 4, 0, 1000).await;
}

/// Raw leaves may be as long as the batch asked for allows (two leaves
/// here), and no longer.
#[tokio::test]
async fn endless_raw_leaves_fail_the_round() {
    flood_fails_the_round("/v1/leaves/raw", Flooding::Endless, 8, 2, 2).await;
}

#[tokio::test]
async fn an_endless_consistency_proof_fails_the_round() {
    flood_fails_the_round("/v1/proofs/consistency", Flooding::Endless, 8, 4, 4).await;
}

/// Gossip's list of the peer's mirrors comes after the leaves: the leaves
/// are kept, and the round fails.
#[tokio::test]
async fn an_endless_list_of_mirrors_fails_the_round() {
    flood_fails_the_round("/v1/mirrors", Flooding::Endless, 4, 4, 1000).await;
}

/// A witness asked to cosign that answers without end: the request fails
/// (and is counted), and the node read no more than a cosignature needs.
#[tokio::test]
async fn an_endless_answer_from_a_witness_fails_the_request() {
    let flood = Flood::default();
    let answer = flood.clone();
    let app = Router::new().route(
        "/add-checkpoint",
        post(move || {
            let answer = answer.clone();
            async move { answer.answer(Flooding::Endless) }
        }),
    );
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempdir();
    let mut c = support::config(dir.path());
    c.witness.witnesses = vec![WitnessPeer {
        url,
        key: Cosigner::from_seed(KeyName::new("flooding-witness.example").unwrap(), &[70; 32])
            .verifier()
            .to_string(),
    }];
    let node = TestNode::start_with(c).await;
    let (status, body) = node.post(&support::announce(1, "flooded witness")).await;
    assert_eq!(status, 201, "{body}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while node.metric("kaitiaki_witness_ask_failures_total").await == 0 {
        assert!(
            Instant::now() < deadline,
            "the witness request did not fail"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // With the node gone, every flooding answer ends and the count is final.
    node.stop().await;
    let flooded = flood.sent_in_all().await;
    eprintln!("witness: {flooded} bytes of flood produced");
    assert!(
        flooded < READ_AT_MOST,
        "{flooded} bytes of the flood were produced"
    );
    server.abort();
}

/// A peer that answers, but whose checkpoint does not verify under the key
/// this node holds for it, is `unverified`, not `unreachable`: its
/// operator is told the address answers and the key or address is what to
/// check. Nothing is copied, and it is not quarantined: once the key is
/// put right, the node follows it.
#[tokio::test]
async fn a_peer_under_another_key_is_unverified_not_unreachable() {
    let harness = Harness::start(View::honest(history(8100, 3, "other-key"))).await;
    let dir = tempdir();
    let mut wrong = harness.peer();
    wrong.key = crate::federation::log_key(crate::harness::HARNESS, [70; 32]);
    let config = follower_config(dir.path(), "follower.example", [71; 32], vec![wrong]);
    let node = TestNode::start_with(config).await;
    let status = wait_for_error(&node, "not signed by the pinned key").await;
    assert_eq!(status["state"], "unverified", "{status}");
    assert_eq!(status["mirrored"], 0, "{status}");
    assert!(status["quarantine"].is_null(), "{status}");
    assert!(harness_evidence(&node).await.is_empty());
    let page = node.text("/").await;
    assert!(
        page.contains("answering, but not as the node this one follows there"),
        "{page}"
    );
    node.stop().await;

    let config = follower_config(
        dir.path(),
        "follower.example",
        [71; 32],
        vec![harness.peer()],
    );
    let node = TestNode::start_with(config).await;
    wait_mirrored(&node, 3).await;
    assert_eq!(harness_status(&node).await["state"], "following");
    node.stop().await;
}
