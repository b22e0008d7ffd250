//! Operations endpoints: health, metrics, OpenAPI, and the node key file.

use std::os::unix::fs::PermissionsExt;

use crate::support::{announce, tempdir, TestNode};

#[tokio::test]
async fn health_metrics_and_openapi() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    node.post(&announce(1, "ops")).await;

    let (status, h) = node.get("/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(h["status"], "ok");
    assert_eq!(h["size"], 1);

    let text = node.text("/metrics").await;
    for name in [
        "kaitiaki_log_leaves 1",
        "kaitiaki_batch_leaves_count",
        "kaitiaki_fsync_seconds_bucket",
        "kaitiaki_request_seconds_count{route=\"/v1/statements\"}",
        "kaitiaki_witness_cosigned_total",
    ] {
        assert!(text.contains(name), "metrics lack {name}:\n{text}");
    }

    let (status, doc) = node.get("/openapi.json").await;
    assert_eq!(status, 200);
    for path in [
        "/v1/statements",
        "/v1/checkpoint",
        "/v1/leaves",
        "/v1/proofs/consistency",
        "/v1/events",
        "/add-checkpoint",
        "/v1/witness",
        "/tlog/checkpoint",
        "/tlog/tile/{tile}",
        "/tlog/tile/entries/{bundle}",
        "/tlog/mirrors/{origin}/checkpoint",
        "/tlog/mirrors/{origin}/tile/{tile}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "openapi lacks {path}");
    }
    node.stop().await;

    let mode = std::fs::metadata(dir.path().join("node.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// Freed memory goes back to the system as soon as it is freed, not when
/// the allocator gets round to it: a quarter of a GiB freed in small
/// blocks, with the last block still held, stops being resident at once.
#[cfg(target_os = "linux")]
#[test]
fn free_memory_is_given_back_to_the_system() {
    use kaitiaki_node::metrics::rss_bytes;
    const BLOCK: usize = 16 << 10;
    const TOTAL: usize = 256 << 20;
    let mut blocks: Vec<Vec<u8>> = (0..TOTAL / BLOCK).map(|i| vec![i as u8; BLOCK]).collect();
    let last = blocks.pop();
    let held = rss_bytes().expect("RSS is readable on Linux");
    drop(blocks);
    let after = rss_bytes().expect("RSS is readable on Linux");
    assert!(
        held.saturating_sub(after) >= (TOTAL / 2) as u64,
        "RSS went from {} MiB to {} MiB after freeing {} MiB",
        held >> 20,
        after >> 20,
        TOTAL >> 20
    );
    drop(last);
}
