//! What the node benchmarks share: their network, their statements, a
//! base configuration, and the all-core `verify_strict` rate every figure
//! is compared with.

use std::path::Path;
use std::time::Instant;

use ed25519_dalek::SigningKey;
use kaitiaki_node::Config;
use kaitiaki_protocol::statement::KeyAnnounce;
use kaitiaki_protocol::{Body, Envelope, PublicKey, Statement, Timestamp};
use rayon::prelude::*;

/// The network every benchmark node serves.
pub const NETWORK: &str = "kaitiaki-bench";

/// A benchmark node's configuration in `dir`: no rate limit, then any
/// `KAITIAKI_*` variables (`KAITIAKI_CACHE_BYTES` and friends, for
/// experiments).
pub fn config(dir: &Path, origin: &str) -> Config {
    let mut c = Config::in_dir(dir);
    c.network = NETWORK.into();
    c.origin = origin.into();
    c.limits.rate_per_second = 0;
    c.apply_env(std::env::vars())
        .expect("valid KAITIAKI_* variables");
    c
}

/// Envelope `i` of a run: a new participant's `key.announce`, each by its
/// own key, so every statement founds its own governance aggregate (the
/// common case: many people each saying a little).
pub fn envelope(run: &str, i: usize) -> Envelope {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
    seed[8..8 + run.len().min(24)].copy_from_slice(&run.as_bytes()[..run.len().min(24)]);
    let key = &SigningKey::from_bytes(&seed);
    let statement = Statement {
        network: NETWORK.into(),
        author: PublicKey::of(key),
        created_at: Timestamp::parse("2026-11-22T09:00:00Z").unwrap_or(Timestamp::EPOCH),
        body: Body::KeyAnnounce(KeyAnnounce {
            display_name: format!("Bench participant {i} {run}"),
            affiliation: "Benchmark rōpū".into(),
        }),
    };
    Envelope::sign(key, &statement).expect("bench statements are valid")
}

/// Strict signature verifications per second on all cores, over `n`
/// pre-signed envelopes (printed too).
pub fn verify_rate(n: usize) -> f64 {
    let envs: Vec<Envelope> = (0..n)
        .into_par_iter()
        .map(|i| envelope("verify", i))
        .collect();
    let start = Instant::now();
    let ok = envs
        .par_iter()
        .filter(|e| e.verify_signature().is_ok())
        .count();
    let rate = ok as f64 / start.elapsed().as_secs_f64();
    println!("verify_strict, all cores:        {rate:>10.0} /s");
    rate
}

/// Hands `chunks` of verified statements to `node`'s sequencer from eight
/// tasks at once, as concurrent clients would, and returns every outcome.
pub async fn submit_concurrently(
    node: &kaitiaki_node::Node,
    chunks: Vec<Vec<kaitiaki_protocol::Verified>>,
) -> Vec<kaitiaki_node::sequencer::Outcome> {
    let chunks = std::sync::Arc::new(std::sync::Mutex::new(chunks));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (chunks, handle) = (chunks.clone(), node.sequencer());
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            loop {
                let Some(chunk) = chunks.lock().expect("lock").pop() else {
                    break;
                };
                outcomes.extend(handle.submit(chunk).await);
            }
            outcomes
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    all
}
