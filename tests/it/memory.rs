//! The node keeps neither the log nor the tree in memory: its resident
//! memory stays within a fixed bound while the log grows.
//!
//! The bound is in MiB, not time: after a warm-up (allocator arenas, sled's
//! page cache filling to its configured size) the node's RSS is sampled as
//! batches of statements are appended, and the growth from the warm-up
//! sample to the largest later sample must stay under [`GROWTH_LIMIT_MIB`],
//! though the log grows several times over.

use ed25519_dalek::SigningKey;
use kaitiaki_protocol::statement::KeyAnnounce;
use kaitiaki_protocol::Body;

use crate::support::{checkpoint, post, sign, NodeProc};

/// Leaves appended in all (`KAITIAKI_MEMORY_LEAVES` overrides it, to look
/// at a longer run by hand).
const LEAVES: usize = 6_000;
/// Leaves per POST (one group commit each).
const BATCH: usize = 500;
/// Leaves appended before the baseline sample.
const WARM_UP: usize = 1_500;
/// The most the node's RSS may grow after the warm-up.
const GROWTH_LIMIT_MIB: u64 = 24;

#[test]
fn node_memory_stays_flat_as_the_log_grows() {
    let dir = tempfile::tempdir().unwrap();
    // A small sled cache, so the bound measures what the node itself holds.
    let node = NodeProc::start_with(
        &dir.path().join("node"),
        &[("KAITIAKI_CACHE_BYTES", "4194304")],
    );
    let leaves: usize = std::env::var("KAITIAKI_MEMORY_LEAVES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(LEAVES);
    let mut baseline = None;
    let mut peak = 0u64;
    let mut samples = Vec::new();
    for start in (0..leaves).step_by(BATCH) {
        let envelopes: Vec<_> = (start..start + BATCH)
            .map(|i| {
                let body = Body::KeyAnnounce(KeyAnnounce {
                    display_name: format!("Member {i}"),
                    affiliation: "Memory test".into(),
                });
                // One key per statement keeps each governance record small,
                // so the test measures the log's growth, not one key's history.
                let mut seed = [7u8; 32];
                seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
                sign(&SigningKey::from_bytes(&seed), body).to_dsse()
            })
            .collect();
        let (status, answer) = post(
            &format!("{}/v1/statements", node.url),
            serde_json::to_vec(&envelopes).unwrap(),
        );
        assert_eq!(status, 200, "{answer}");
        let rss = node.rss_kib();
        samples.push((start + BATCH, rss / 1024));
        if start + BATCH >= WARM_UP {
            let base = *baseline.get_or_insert(rss);
            peak = peak.max(rss.saturating_sub(base));
        }
    }
    assert_eq!(checkpoint(&node.url).0, leaves as u64);
    let growth_mib = peak / 1024;
    eprintln!("node RSS (leaves, MiB): {samples:?}; growth after warm-up: {growth_mib} MiB");
    assert!(
        growth_mib < GROWTH_LIMIT_MIB,
        "node memory grew {growth_mib} MiB while the log grew from {WARM_UP} to {leaves} leaves: {samples:?}"
    );
}
