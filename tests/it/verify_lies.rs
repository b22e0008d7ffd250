//! What `log verify`, `log proof` and `show` must not believe: a node that
//! lies in its answers (a [`Liar`] in front of a real node, signing with
//! the node's own key) and data directories altered behind a stopped
//! node's back. Each case is a fault (exit status 4) or a refusal, never OK.

use std::path::Path;
use std::process::Output;

use ed25519_dalek::SigningKey;
use kaitiaki_protocol::statement::KeyAnnounce;
use kaitiaki_protocol::{Body, Leaf, Timestamp};
use serde_json::{json, Value};

use crate::liar::{self, bytes, raw_page, sign_checkpoint, Liar};
use crate::support::{dsse, get_json, post, sign, Cli, NodeProc};

/// A statement no other test uses: person `n` announcing a name.
fn announcement(n: u8) -> kaitiaki_protocol::Envelope {
    let key = SigningKey::from_bytes(&[n; 32]);
    let body = Body::KeyAnnounce(KeyAnnounce {
        display_name: format!("Person {n}"),
        affiliation: "A test of the audit".into(),
    });
    sign(&key, body)
}

/// A node over `data` holding `n` announcements, each sequenced on its own.
fn small_log(data: &Path, n: u8) -> (NodeProc, String) {
    let node = NodeProc::start(data);
    for i in 0..n {
        let (status, answer) = post(
            &format!("{}/v1/statements", node.url),
            dsse(&announcement(i + 1)),
        );
        assert!(status == 200 || status == 201, "{status}: {answer}");
    }
    let origin = get_json(&format!("{}/v1/checkpoint", node.url)).unwrap()["origin"]
        .as_str()
        .unwrap()
        .to_owned();
    (node, origin)
}

/// The JSON summary of a failed audit, which must exit with the fault status.
fn faulted(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(4),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON summary")
}

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    Timestamp::from_unix_millis(ms as i64).unwrap()
}

#[test]
fn a_mirror_of_the_audited_log_itself_is_a_fault() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let (node, origin) = small_log(&data, 3);
    let cli = Cli::new(dir.path(), &node.url);
    // An honest audit first: this computer now knows the log's key.
    cli.json(&["log", "verify", &node.url]);

    // A second history of the log, listed as a mirror of itself: one other
    // statement, signed with the log's own key as its tree of size 1.
    let other = Leaf::new(now(), announcement(9)).to_bytes();
    let note = sign_checkpoint(
        &data,
        &origin,
        1,
        kaitiaki_protocol::merkle::leaf_hash(&other),
    );
    let mirrors = json!({"mirrors": [
        {"origin": origin, "size": 1, "checkpoint": note, "complete": note}
    ]});
    let leaves_path = format!("/v1/mirrors/{origin}/leaves/raw");
    let leaves = vec![other];
    let liar = Liar::start(&node.url, move |path, query| match path {
        "/v1/mirrors" => Some(liar::json(&mirrors)),
        p if p == leaves_path => Some(bytes(raw_page(&leaves, query))),
        _ => None,
    });
    let summary = faulted(&cli.run(&["--json", "log", "verify", &liar.url]));
    assert_eq!(
        summary["fault"]["place"],
        format!("mirror of {origin}"),
        "{summary}"
    );
    let why = summary["fault"]["why"].as_str().unwrap();
    assert!(why.contains("the audited log itself"), "{why}");
}
