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
