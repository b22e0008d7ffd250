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
/// Measured in a process of its own, so that other tests' allocations on
/// other threads cannot move the figures.
#[cfg(target_os = "linux")]
#[test]
fn free_memory_is_given_back_to_the_system() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "ops::free_memory_child",
            "--test-threads=1",
        ])
        .env(MEMORY_CHILD, "1")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("1 passed"), "the child ran no test: {said}");
}

/// Set for the child process of [`free_memory_is_given_back_to_the_system`].
#[cfg(target_os = "linux")]
const MEMORY_CHILD: &str = "KAITIAKI_IT_MEMORY_CHILD";

/// The child side of [`free_memory_is_given_back_to_the_system`].
#[cfg(target_os = "linux")]
#[test]
#[ignore = "runs only as the child process of free_memory_is_given_back_to_the_system"]
fn free_memory_child() {
    use kaitiaki_node::metrics::rss_bytes;
    if std::env::var_os(MEMORY_CHILD).is_none() {
        return;
    }
    // Else a failure below would blame the allocator's options rather than
    // their not having been taken.
    assert!(
        kaitiaki_node::memory::tuned(),
        "jemalloc does not run with the node's options in this process"
    );
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
