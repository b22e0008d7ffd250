//! Witness cosignatures on the pages: a real node cosigned by a real
//! witness node shows the cosignature as verified; a tampered line shows
//! as an invalid signature and a line from an unknown key as unverifiable,
//! and neither ever counts.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use kaitiaki_node::config::{PeerConfig, WitnessPeer, WitnessedLog};
use kaitiaki_node::pages::labels::Labels;
use kaitiaki_node::pages::layout::{self, Nav, NodeInfo};
use kaitiaki_node::pages::verify::{self, Evidence, LogStatus, WitnessCheck};
use kaitiaki_protocol::cosignature::{CosignatureVerifier, Cosigner};
use kaitiaki_protocol::note::{KeyName, NoteSigner, NoteVerifier};

use super::html::{assert_accessible, parse};
use crate::support::{self, announce, tempdir, TestNode, ORIGIN};

const LOG_SEED: [u8; 32] = [21; 32];
const WITNESS_ORIGIN: &str = "witness-b.example";
const WITNESS_SEED: [u8; 32] = [22; 32];

fn name(s: &str) -> KeyName {
    KeyName::new(s).expect("key name")
}

/// Writes a node key with a known seed, so its keys are known before it starts.
fn write_node_key(dir: &Path, seed: [u8; 32]) {
    std::fs::create_dir_all(dir).expect("dir");
    let path = dir.join("node.key");
    std::fs::write(&path, format!("{}\n", hex::encode(seed))).expect("key");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("mode");
}

fn log_verifier() -> NoteVerifier {
    NoteSigner::from_seed(name(ORIGIN), &LOG_SEED).verifier()
}

fn witness_verifier() -> CosignatureVerifier {
    Cosigner::from_seed(name(WITNESS_ORIGIN), &WITNESS_SEED).verifier()
}

/// A witness node for the test log, and the log's node asking it to cosign.
async fn witnessed_pair(log_dir: &Path, witness_dir: &Path) -> (TestNode, TestNode) {
    witnessed_pair_named(log_dir, witness_dir, (ORIGIN, WITNESS_ORIGIN), false).await
}

/// As [`witnessed_pair`], with the two nodes' origins given; with
/// `follow`, the log's node also keeps a copy of the witness's own log.
async fn witnessed_pair_named(
    log_dir: &Path,
    witness_dir: &Path,
    (log_origin, witness_origin): (&str, &str),
    follow: bool,
) -> (TestNode, TestNode) {
    write_node_key(witness_dir, WITNESS_SEED);
    let mut wc = support::config(witness_dir);
    wc.origin = witness_origin.into();
    wc.witness.logs = vec![WitnessedLog {
        origin: None,
        key: NoteSigner::from_seed(name(log_origin), &LOG_SEED)
            .verifier()
            .to_string(),
    }];
    let witness = TestNode::start_with(wc).await;

    write_node_key(log_dir, LOG_SEED);
    let mut lc = support::config(log_dir);
    lc.origin = log_origin.into();
    lc.witness.witnesses = vec![WitnessPeer {
        url: witness.url.clone(),
        key: Cosigner::from_seed(name(witness_origin), &WITNESS_SEED)
            .verifier()
            .to_string(),
    }];
    if follow {
        lc.peers = vec![PeerConfig {
            url: witness.url.clone(),
            key: NoteSigner::from_seed(name(witness_origin), &WITNESS_SEED)
                .verifier()
                .to_string(),
            witness: false,
        }];
    }
    let log = TestNode::start_with(lc).await;
    log.wait_for_peers_answer().await;
    (log, witness)
}

/// Waits until the node's latest checkpoint, of `size`, carries one
/// cosignature; returns the cosigned note.
async fn cosigned_note(node: &TestNode, size: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, c) = node.get("/v1/checkpoint").await;
        if status == 200
            && c["size"] == size
            && c["cosignatures"].as_array().is_some_and(|a| a.len() == 1)
        {
            let r = node.http.get(node.at("/v1/checkpoint/note")).send().await;
            return r.expect("GET").text().await.expect("note");
        }
        assert!(Instant::now() < deadline, "not cosigned: {status} {c}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A served page, checked as HTML, as text.
async fn page_text(node: &TestNode, path: &str) -> String {
    let r = node.http.get(node.at(path)).send().await.expect("GET");
    assert_eq!(r.status().as_u16(), 200, "{path}");
    let body = r.text().await.expect("body");
    assert_accessible(path, &body);
    parse(&body).expect("parses").text()
}

/// The log status section alone, for a note checked against `trusted`.
fn rendered_status(note: &str, trusted: &[CosignatureVerifier]) -> (Vec<WitnessCheck>, String) {
    let checked =
        verify::open_checkpoint(note, ORIGIN, &log_verifier(), trusted).expect("log signature");
    let l = Labels::built_in();
    let status = LogStatus {
        origin: ORIGIN.into(),
        size: checked.size,
        root: checked.root.to_hex(),
        latest: None,
        signed: Ok(()),
        witnesses: checked.witnesses.clone(),
        trusted: checked.trusted,
        evidence: Evidence::NotCollected,
        peers: vec![],
        verifier_key: log_verifier().to_string(),
    };
    let node = NodeInfo {
        origin: ORIGIN.into(),
        network: support::NETWORK.into(),
        base_url: "https://test-node.example".into(),
        contact: None,
    };
    let main = maud::html! { h1 { "Overview" } (verify::log_status(&l, &status)) };
    let html = layout::page(&l, &node, "Overview", Nav::None, main).into_string();
    assert_accessible("log status", &html);
    let text = parse(&html).expect("parses").text();
    (
        checked.witnesses.iter().map(|w| w.check.clone()).collect(),
        text,
    )
}

/// Flips one base64 character inside the signature of the witness's line.
fn tamper(note: &str) -> String {
    let prefix = format!("— {WITNESS_ORIGIN} ");
    note.lines()
        .map(|line| match line.strip_prefix(&prefix) {
            Some(b64) => {
                // 4 bytes of key id and 8 of time are the first 16
                // characters; character 40 is inside the signature.
                let mut chars: Vec<char> = b64.chars().collect();
                chars[40] = if chars[40] == 'A' { 'B' } else { 'A' };
                format!("{prefix}{}\n", chars.into_iter().collect::<String>())
            }
            None => format!("{line}\n"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_verify_real_witness_cosignatures_and_refuse_tampered_ones() {
    let (log_dir, witness_dir) = (tempdir(), tempdir());
    let (log, witness) = witnessed_pair(log_dir.path(), witness_dir.path()).await;
    let first = announce(1, "witnessed");
    for env in [&first, &announce(2, "witnessed")] {
        let (status, reply) = log.post(env).await;
        assert_eq!(status, 201, "{reply}");
    }
    let note = cosigned_note(&log, 2).await;

    // The served pages check the real cosignature and say so.
    let record = format!("/records/{}", first.id().to_hex());
    for path in ["/", record.as_str()] {
        let text = page_text(&log, path).await;
        assert!(
            text.contains("Cosigned by 1 of 1 witness this node trusts."),
            "{path}: {text}"
        );
        assert!(
            text.contains(&format!("{WITNESS_ORIGIN} (key id ")),
            "{path}: {text}"
        );
        assert!(text.contains("✓ verified, cosigned on "), "{path}: {text}");
        assert!(text.contains(" UTC"), "{path}: {text}");
        assert!(!text.contains("invalid signature"), "{path}: {text}");
        assert!(
            !text.contains("does not trust this witness"),
            "{path}: {text}"
        );
    }

    // The same note, checked and rendered by the pages' own functions.
    let trusted = [witness_verifier()];
    let (checks, text) = rendered_status(&note, &trusted);
    assert!(
        matches!(checks[..], [WitnessCheck::Verified { .. }]),
        "{checks:?}"
    );
    assert!(text.contains("Cosigned by 1 of 1 witness this node trusts."));

    // One flipped character in the signature: invalid, not counted.
    let tampered = tamper(&note);
    assert_ne!(tampered, note);
    let (checks, text) = rendered_status(&tampered, &trusted);
    assert_eq!(checks, vec![WitnessCheck::Invalid]);
    assert!(
        text.contains("Cosigned by 0 of 1 witness this node trusts."),
        "{text}"
    );
    assert!(text.contains("✗ invalid signature"), "{text}");
    assert!(text.contains("Warning:"), "{text}");
    assert!(!text.contains("verified, cosigned"), "{text}");

    // A real line from a key this node does not trust: not verified either.
    let stranger = Cosigner::from_seed(name("stranger.example"), &[23; 32]).verifier();
    let (checks, text) = rendered_status(&note, &[stranger]);
    assert_eq!(checks, vec![WitnessCheck::UnknownKey]);
    assert!(
        text.contains("Cosigned by 0 of 1 witness this node trusts."),
        "{text}"
    );
    assert!(
        text.contains("(key id ")
            && text.contains("): not counted, as this node does not trust this witness"),
        "{text}"
    );
    // Not a fault: nothing is marked wrong.
    assert!(!text.contains('✗'), "{text}");
    assert!(!text.contains("verified, cosigned"), "{text}");

    log.stop().await;
    witness.stop().await;
}

/// At 320 CSS pixels, a phone's width, the overview and a record page
/// reflow (WCAG 1.4.10) even when every name is one long word: the node's
/// own name in the header and footer, a witness's name and the name of a
/// log this node copies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_reflow_at_320_px_with_long_names() {
    // No hyphen or space in either, where a line could break.
    const LOG: &str = "whanauoracommunitydatagovernance.iwiexample.nz";
    const WITNESS: &str = "pacificcommunitiesindependentwitness.example.org.nz";
    let (log_dir, witness_dir) = (tempdir(), tempdir());
    let (log, witness) =
        witnessed_pair_named(log_dir.path(), witness_dir.path(), (LOG, WITNESS), true).await;
    let first = announce(1, "reflow");
    let (status, reply) = log.post(&first).await;
    assert_eq!(status, 201, "{reply}");
    cosigned_note(&log, 1).await;

    let record = format!("/records/{}", first.id().to_hex());
    // The long names are on the pages: in the header, as a witness, and
    // as a log copied here.
    for path in ["/", record.as_str()] {
        let text = page_text(&log, path).await;
        assert!(
            text.contains(&format!("{WITNESS} (key id ")),
            "{path}: {text}"
        );
        assert!(text.contains(LOG), "{path}: {text}");
    }
    let overview = page_text(&log, "/").await;
    assert!(overview.contains(&format!("{WITNESS} — ")), "{overview}");

    super::browser::assert_reflows_at_320(&[log.at("/"), log.at(&record)]).await;
    log.stop().await;
    witness.stop().await;
}
