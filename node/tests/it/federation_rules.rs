//! What a peer's leaves must be beyond a valid signature: statements for
//! this network, and times that never go backwards and are not far ahead
//! of this node's clock. A peer's log that holds a statement of another
//! deployment or a backdated leaf broke the rules: the batch is refused and
//! the peer quarantined with a `breaks_rule` claim. A leaf dated too far
//! ahead is only refused for now.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use kaitiaki_protocol::statement::KeyAnnounce;
use kaitiaki_protocol::{Body, Leaf, Timestamp};
use serde_json::Value;

use crate::harness::{
    follower_config, harness_evidence, harness_status, history, leaf, wait_for_error,
    wait_for_evidence, wait_mirrored, Harness, View, HARNESS,
};
use crate::support::{key, now, sign_for, tempdir, TestNode};

/// The leaf of a statement by participant `n`, sequenced `minute` minutes
/// after the harness's fixed time.
fn leaf_at_minute(minute: u64, n: u64) -> Vec<u8> {
    leaf(minute, crate::support::announce(n, "rules"))
}

/// A follower of `harness`, fetching `batch` leaves at a time.
async fn follower(harness: &Harness, batch: u64, dir: &tempfile::TempDir) -> TestNode {
    let mut config = follower_config(
        dir.path(),
        "follower.example",
        [73; 32],
        vec![harness.peer()],
    );
    config.replication.batch_leaves = batch;
    TestNode::start_with(config).await
}

/// Checks `record`, a `breaks_rule` claim found by replication about leaf
/// `index` of `leaves`, whose detail names `code`; and the quarantine.
async fn assert_breaks_rule(
    node: &TestNode,
    record: &Value,
    leaves: &[Vec<u8>],
    index: u64,
    code: &str,
) {
    assert_eq!(record["self_verifying"], false, "{record}");
    assert_eq!(record["found_by"], "replication", "{record}");
    let claim = &record["evidence"];
    assert_eq!(claim["origin"], HARNESS, "{record}");
    assert_eq!(claim["index"], index, "{record}");
    assert_eq!(
        claim["leaf"],
        STANDARD.encode(&leaves[index as usize]),
        "{record}"
    );
    assert_eq!(claim["checkpoint"], View::honest(leaves.to_vec()).note);
    let detail = claim["detail"].as_str().unwrap();
    assert!(detail.starts_with(&format!("{code}: ")), "{record}");
    let status = harness_status(node).await;
    assert_eq!(status["state"], "quarantined", "{status}");
    assert_eq!(status["quarantine"]["evidence"], record["id"], "{status}");
    let reason = status["quarantine"]["reason"].as_str().unwrap();
    assert!(
        reason.ends_with(&format!("breaks a rule: {code}")),
        "{status}"
    );
}

/// Leaf 5 is sequenced before leaf 4, which the follower already holds:
/// the batch that brings it is refused and the peer quarantined.
#[tokio::test]
async fn a_leaf_sequenced_before_the_leaf_held_breaks_the_rules() {
    let mut leaves = history(9000, 8, "backdated");
    leaves[5] = leaf_at_minute(2, 9005);
    let harness = Harness::start(View::honest(leaves[..5].to_vec())).await;
    let dir = tempdir();
    let node = follower(&harness, 1000, &dir).await;
    wait_mirrored(&node, 5).await;

    harness.set(View::honest(leaves.clone()));
    let record = wait_for_evidence(&node, "breaks_rule", 30).await;
    assert_breaks_rule(&node, &record, &leaves, 5, "sequenced_backwards").await;
    assert_eq!(harness_status(&node).await["mirrored"], 5);
    node.stop().await;
}

/// Within one batch: nothing of it is stored, not even the leaves before
/// the backdated one.
#[tokio::test]
async fn a_batch_whose_times_go_backwards_is_refused_whole() {
    let mut leaves = history(9100, 8, "backdated");
    leaves[6] = leaf_at_minute(4, 9106);
    let harness = Harness::start(View::honest(leaves.clone())).await;
    let dir = tempdir();
    let node = follower(&harness, 1000, &dir).await;
    let record = wait_for_evidence(&node, "breaks_rule", 30).await;
    assert_breaks_rule(&node, &record, &leaves, 6, "sequenced_backwards").await;
    assert_eq!(harness_status(&node).await["mirrored"], 0);
    node.stop().await;
}

/// A statement signed for another deployment, replayed into the peer's
/// log, is refused with its batch, and the peer quarantined.
#[tokio::test]
async fn a_statement_for_another_network_breaks_the_rules() {
    let mut leaves = history(9200, 6, "replayed");
    let elsewhere = sign_for(
        "another-deployment",
        &key(9203),
        Body::KeyAnnounce(KeyAnnounce {
            display_name: "Participant of another deployment".into(),
            affiliation: "Elsewhere".into(),
        }),
    );
    leaves[3] = leaf(3, elsewhere);
    let harness = Harness::start(View::honest(leaves.clone())).await;
    let dir = tempdir();
    let node = follower(&harness, 2, &dir).await;
    let record = wait_for_evidence(&node, "breaks_rule", 30).await;
    assert_breaks_rule(&node, &record, &leaves, 3, "wrong_network").await;
    let detail = record["evidence"]["detail"].as_str().unwrap();
    assert!(detail.contains("another-deployment"), "{record}");
    // The batch before it (leaves 0 and 1) was stored; its own was not.
    assert_eq!(harness_status(&node).await["mirrored"], 2);
    node.stop().await;
}

/// A leaf an hour ahead of this node's clock: the leaves before it are
/// kept, it is refused as the peer failing the round (no evidence), and a
/// node that allows more skew takes it.
#[tokio::test]
async fn a_leaf_sequenced_too_far_ahead_waits() {
    let mut leaves = history(9300, 5, "ahead");
    let ahead = Timestamp::from_unix_millis(now().unix_millis() + 3_600_000).unwrap();
    leaves[4] = Leaf::new(ahead, crate::support::announce(9304, "ahead")).to_bytes();
    let harness = Harness::start(View::honest(leaves.clone())).await;
    let dir = tempdir();
    let mut config = follower_config(
        dir.path(),
        "follower.example",
        [74; 32],
        vec![harness.peer()],
    );
    let node = TestNode::start_with(config.clone()).await;
    wait_mirrored(&node, 4).await;
    let status = wait_for_error(&node, "its leaf 4 was sequenced at").await;
    assert_ne!(status["state"], "quarantined", "{status}");
    assert_eq!(status["mirrored"], 4, "{status}");
    assert!(harness_evidence(&node).await.is_empty());
    node.stop().await;

    config.replication.max_future_skew_secs = 7200;
    let node = TestNode::start_with(config).await;
    wait_mirrored(&node, 5).await;
    assert!(harness_evidence(&node).await.is_empty());
    node.stop().await;
}
