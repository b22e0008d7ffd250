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
//! prints both summaries' rates and ratios. Two logs: the worst case for
//! an audit, where every statement is a new person's key announcement (so
//! every author key is decoded), and a log of research requests to two
//! boards' dataset by a few hundred researchers, as a node sees them.

use ed25519_dalek::SigningKey;
use kaitiaki_protocol::statement::{KeyAnnounce, RequestSubmit, UseCategory};
use kaitiaki_protocol::{Body, StatementId};

use crate::story::two_boards;
use crate::support::{checkpoint, post, sign, Cli, NodeProc};

/// Researchers who submit the requests of the second log.
const RESEARCHERS: usize = 300;

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

fn key(n: usize, salt: u8) -> SigningKey {
    let mut seed = [salt; 32];
    seed[..8].copy_from_slice(&(n as u64).to_be_bytes());
    SigningKey::from_bytes(&seed)
}

/// Fills a node with statements until the log holds [`LEAVES`] leaves:
/// `setup` makes the first (through the CLI) and returns the dataset the
/// rest may refer to, `statement(i, dataset)` gives the signer and body of
/// each further one (1 000 per request). Then audits the log over HTTP and
/// from its data directory, and prints both.
fn measure(
    label: &str,
    setup: impl FnOnce(&Cli) -> Option<String>,
    statement: impl Fn(usize, Option<&str>) -> (SigningKey, Body),
) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let node = NodeProc::start(&data);
    let cli = Cli::new(dir.path(), &node.url);
    let dataset = setup(&cli);
    let mut n = checkpoint(&node.url).0 as usize;
    while n < LEAVES {
        let batch: Vec<_> = (n..(n + 1000).min(LEAVES))
            .map(|i| {
                let (signer, body) = statement(i, dataset.as_deref());
                sign(&signer, body).to_dsse()
            })
            .collect();
        let (status, answer) = post(
            &format!("{}/v1/statements", node.url),
            serde_json::to_vec(&batch).unwrap(),
        );
        assert_eq!(status, 200, "{answer}");
        n += batch.len();
    }

    let over_http = cli.json(&["log", "verify", "--bench", "--no-remember", &node.url]);
    assert_eq!(over_http["result"], "ok");
    assert_eq!(over_http["leaves_checked"], LEAVES);
    report(&format!("{label}, over HTTP"), &over_http);
    node.stop();
    let from_disk = cli.json(&[
        "log",
        "verify",
        "--bench",
        "--no-remember",
        data.to_str().unwrap(),
    ]);
    assert_eq!(from_disk["result"], "ok");
    report(&format!("{label}, data directory"), &from_disk);
    if std::env::var_os("KAITIAKI_KEEP_SPEED_LOG").is_some() {
        // Keep the log, to measure again by hand.
        eprintln!("log kept in {}", dir.keep().display());
    }
}

#[test]
#[ignore = "a measurement: run with --release --ignored --nocapture"]
fn audit_rate_against_signature_rate() {
    measure(
        "every statement by a new key",
        |_| None,
        |i, _| {
            let body = Body::KeyAnnounce(KeyAnnounce {
                display_name: format!("Person {i}"),
                affiliation: "Audit speed test".into(),
            });
            (key(i, 9), body)
        },
    );
    measure(
        "requests by a few hundred researchers",
        |cli| Some(two_boards(cli).dataset),
        |i, dataset| {
            let dataset = StatementId::from_hex(dataset.unwrap_or_default()).expect("dataset id");
            let body = Body::RequestSubmit(RequestSubmit {
                title: format!("Study {i} of service access"),
                datasets: vec![dataset],
                purpose: "Understand service access for rangatahi.".into(),
                use_category: UseCategory::Research,
                uses: vec![],
                duration_days: 365,
                linkage: "none".into(),
                setting: "Secure data lab".into(),
                people: "Two accredited researchers".into(),
                community_benefit: "Better services".into(),
                outputs_plan: "Aggregate tables, reviewed".into(),
            });
            (key(i % RESEARCHERS, 7), body)
        },
    );
}
