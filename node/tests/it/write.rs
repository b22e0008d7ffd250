//! The write path: created, idempotent resubmission, batches, and many
//! concurrent clients, all durable across a restart.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::support::{announce, tempdir, TestNode};

#[tokio::test]
async fn a_statement_is_created_once_then_found_again() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let env = announce(1, "first");

    let (status, body) = node.post(&env).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["index"], 0);
    assert_eq!(body["status"], "created");
    assert_eq!(body["id"], env.id().to_hex());

    let (status, again) = node.post(&env).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["index"], 0);
    assert_eq!(again["status"], "existing");
    assert_eq!(node.head().await.0, 1);
    node.stop().await;
}

#[tokio::test]
async fn a_batch_is_answered_per_envelope() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let first = announce(1, "batch");
    node.post(&first).await;

    let mut items: Vec<Value> = (0..20)
        .map(|i| json!(announce(2, &format!("b{i}")).to_dsse()))
        .collect();
    items.push(json!(first.to_dsse())); // already in the log
    items.push(json!(announce(2, "b0").to_dsse())); // a repeat within the batch
    items.push(json!({"payloadType": "nonsense"})); // malformed
    let (status, body) = node.post_raw(serde_json::to_vec(&items).unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 23);
    let created: BTreeSet<u64> = results[..20]
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(created, (1..=20).collect());
    assert_eq!(results[20]["status"], "existing");
    assert_eq!(results[20]["index"], 0);
    assert_eq!(results[21]["status"], "existing");
    assert_eq!(results[21]["index"], results[0]["index"]);
    assert_eq!(results[22]["status"], "rejected");
    assert_eq!(results[22]["error"]["code"], "malformed");
    assert_eq!(node.head().await.0, 21);
    node.stop().await;
}

/// Hundreds of submissions from many tasks at once: every one acknowledged
/// with its own index, and every one still there, at the same index, after
/// a restart that re-indexes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_submissions_are_all_acknowledged_and_survive_restart() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let mut tasks = Vec::new();
    for client in 0..40u64 {
        let http = node.http.clone();
        let url = node.at("/v1/statements");
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..10 {
                let env = announce(100 + client, &format!("c{i}"));
                let r = http
                    .post(&url)
                    .body(serde_json::to_vec(&env.to_dsse()).unwrap())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 201);
                let body: Value = r.json().await.unwrap();
                acked.push((env.id().to_hex(), body["index"].as_u64().unwrap()));
            }
            acked
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert_eq!(acked.len(), 400);
    let indices: BTreeSet<u64> = acked.iter().map(|(_, i)| *i).collect();
    assert_eq!(indices, (0..400).collect(), "indices are dense and unique");
    let head = node.head().await;
    assert_eq!(head.0, 400);

    // Group commit happened: fewer batches than statements.
    let metrics = node.text("/metrics").await;
    let batches: u64 = metrics
        .lines()
        .find(|l| l.starts_with("kaitiaki_batch_leaves_count"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(batches < 400, "{batches} batches for 400 statements");
    node.stop().await;

    let node = TestNode::start(dir.path()).await;
    assert_eq!(
        node.recovery.reindexed, 0,
        "a clean restart replays nothing"
    );
    assert_eq!(node.head().await, head);
    for (id, index) in &acked {
        let (status, s) = node.get(&format!("/v1/statements/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(s["index"].as_u64(), Some(*index));
    }
    node.stop().await;
}
