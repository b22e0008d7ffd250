//! How fast `kaitiaki log verify` audits, against this computer's all-core
//! strict signature rate. Not part of the normal run (it wants a release
//! build and a quiet machine):
//!
//! ```text
//! cargo test --release -p kaitiaki-e2e --test it verify_speed -- --ignored --nocapture
//! ```
//!
//! It fills a node with [`LEAVES`] statements, then audits the log over
//! HTTP and from the stopped node's data directory with `--bench`, and
//! prints both summaries' rates and ratios.

use ed25519_dalek::SigningKey;
use kaitiaki_protocol::statement::KeyAnnounce;
use kaitiaki_protocol::Body;

use crate::support::{post, sign, Cli, NodeProc};

/// Statements in the log audited.
const LEAVES: usize = 20_000;

fn report(label: &str, v: &serde_json::Value) {
    let rate = v["leaves_per_sec"].as_f64().unwrap_or(0.0);
    let reference = v["reference"]["verifications_per_sec"]
        .as_f64()
        .unwrap_or(f64::NAN);
    eprintln!(
        "{label}: {} leaves in {:.2} s = {rate:.0} leaves/s (governance fold {:.2} s of it); \
         all-core verify_strict {reference:.0}/s on {} threads; ratio {:.2}",
        v["leaves_checked"],
        v["seconds"].as_f64().unwrap_or(0.0),
        v["counts"]["governance_seconds"].as_f64().unwrap_or(0.0),
        v["reference"]["threads"],
        rate / reference
    );
}

#[test]
#[ignore = "a measurement: run with --release --ignored --nocapture"]
fn audit_rate_against_signature_rate() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let node = NodeProc::start(&data);
    for start in (0..LEAVES).step_by(1000) {
        let batch: Vec<_> = (start..start + 1000)
            .map(|i| {
                let mut seed = [9u8; 32];
                seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
                let body = Body::KeyAnnounce(KeyAnnounce {
                    display_name: format!("Person {i}"),
                    affiliation: "Audit speed test".into(),
                });
                sign(&SigningKey::from_bytes(&seed), body).to_dsse()
            })
            .collect();
        let (status, answer) = post(
            &format!("{}/v1/statements", node.url),
            serde_json::to_vec(&batch).unwrap(),
        );
        assert_eq!(status, 200, "{answer}");
    }
    let cli = Cli::new(dir.path(), &node.url);

    let over_http = cli.json(&["log", "verify", "--bench", "--no-remember", &node.url]);
    assert_eq!(over_http["result"], "ok");
    report("over HTTP", &over_http);
    node.stop();
    let from_disk = cli.json(&[
        "log",
        "verify",
        "--bench",
        "--no-remember",
        data.to_str().unwrap(),
    ]);
    assert_eq!(from_disk["result"], "ok");
    report("data directory", &from_disk);
    if std::env::var_os("KAITIAKI_KEEP_SPEED_LOG").is_some() {
        // Keep the log, to measure again by hand.
        eprintln!("log kept in {}", dir.keep().display());
    }
}
