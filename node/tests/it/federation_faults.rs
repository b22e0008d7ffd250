//! Federation faults: a peer whose log misbehaves — two histories shown to
//! two followers, a leaf with a forged signature, leaves served that are not
//! the tree it signed — is caught, quarantined with evidence, and no longer
//! followed until an operator lifts the quarantine.
//!
//! The misbehaving peer is a small in-process log server built from the
//! protocol crate alone, so it can sign whatever it likes.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kaitiaki_node::api::attachments::{sign_request, SIGNATURE_HEADER};
use kaitiaki_node::config::PeerConfig;
use kaitiaki_node::Config;
use kaitiaki_protocol::checkpoint::Checkpoint;
use kaitiaki_protocol::evidence::Evidence;
use kaitiaki_protocol::merkle::{self, MemoryTree};
use kaitiaki_protocol::note::{KeyName, NoteSigner, NoteVerifier};
use kaitiaki_protocol::{Envelope, Leaf, Timestamp};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::federation::{log_key, write_node_key};
use crate::support::{self, announce, now, tempdir, TestNode};

/// The origin of the misbehaving log.
const HARNESS: &str = "harness-log.example";
const HARNESS_SEED: [u8; 32] = [61; 32];

fn harness_signer() -> NoteSigner {
    NoteSigner::from_seed(KeyName::new(HARNESS).unwrap(), &HARNESS_SEED)
}

fn harness_verifier() -> NoteVerifier {
    NoteVerifier::parse(&log_key(HARNESS, HARNESS_SEED)).unwrap()
}

/// The leaf bytes of `env`, sequenced `i` minutes after a fixed time.
fn leaf(i: u64, env: Envelope) -> Vec<u8> {
    let base = Timestamp::parse("2026-11-22T10:00:00Z").unwrap();
    let at = Timestamp::from_unix_millis(base.unix_millis() + 60_000 * i as i64).unwrap();
    Leaf::new(at, env).to_bytes()
}

/// `n` leaves of statements by participants `first..first + n`.
fn history(first: u64, n: u64, tag: &str) -> Vec<Vec<u8>> {
    (0..n).map(|i| leaf(i, announce(first + i, tag))).collect()
}

/// The envelope inside leaf bytes.
fn envelope_of(bytes: &[u8]) -> Envelope {
    Leaf::from_bytes(bytes).unwrap().into_envelope()
}

/// What the harness shows: the tree it signs and the leaves it serves.
#[derive(Clone)]
struct View {
    tree: MemoryTree,
    /// What `/v1/leaves/raw` serves; normally the tree's own leaves.
    served: Vec<Vec<u8>>,
    note: String,
}

impl View {
    /// A log whose tree holds `leaves`, served as they are, with a
    /// checkpoint of its whole tree.
    fn honest(leaves: Vec<Vec<u8>>) -> View {
        let mut tree = MemoryTree::new();
        for l in &leaves {
            tree.append(l);
        }
        let note = Checkpoint::new(HARNESS, tree.size(), tree.root())
            .unwrap()
            .sign(&harness_signer())
            .unwrap()
            .to_string();
        View {
            tree,
            served: leaves,
            note,
        }
    }

    /// A log whose tree holds `leaves`, served as they are, showing its
    /// signed checkpoint of the first `size` leaves only (an older one).
    fn showing(leaves: Vec<Vec<u8>>, size: u64) -> View {
        let mut view = View::honest(leaves);
        view.note = Checkpoint::new(HARNESS, size, merkle::root(&view.tree, size).unwrap())
            .unwrap()
            .sign(&harness_signer())
            .unwrap()
            .to_string();
        view
    }

    /// The same signed tree, serving only its first `n` leaves.
    fn serving_first(mut self, n: usize) -> View {
        self.served.truncate(n);
        self
    }

    /// The same signed tree, but serving `bytes` as leaf `index`.
    fn serving(mut self, index: usize, bytes: Vec<u8>) -> View {
        self.served[index] = bytes;
        self
    }
}

struct HarnessState {
    view: Mutex<View>,
    requests: AtomicU64,
}

/// A fake log server on 127.0.0.1:0.
struct Harness {
    url: String,
    state: Arc<HarnessState>,
    stop: Option<oneshot::Sender<()>>,
}

#[derive(Deserialize)]
struct RawQ {
    start: u64,
    limit: Option<u64>,
}

#[derive(Deserialize)]
struct ConsistencyQ {
    old: u64,
    new: u64,
}

#[derive(Deserialize)]
struct InclusionQ {
    index: u64,
    size: u64,
}

type Shared = State<Arc<HarnessState>>;

fn view_of(s: &HarnessState) -> View {
    s.requests.fetch_add(1, Ordering::Relaxed);
    s.view.lock().unwrap().clone()
}

fn bad(e: impl std::fmt::Display) -> Response {
    (StatusCode::BAD_REQUEST, e.to_string()).into_response()
}

async fn checkpoint_note(State(s): Shared) -> Response {
    (
        [("content-type", "text/plain; charset=utf-8")],
        view_of(&s).note,
    )
        .into_response()
}

async fn leaves_raw(State(s): Shared, Query(q): Query<RawQ>) -> Response {
    let v = view_of(&s);
    let served = v.served.len() as u64;
    let start = q.start.min(served) as usize;
    let end = q.start.saturating_add(q.limit.unwrap_or(4096)).min(served) as usize;
    let mut out = Vec::new();
    for l in &v.served[start..end] {
        out.extend_from_slice(&(l.len() as u32).to_be_bytes());
        out.extend_from_slice(l);
    }
    ([("content-type", "application/octet-stream")], out).into_response()
}

async fn consistency(State(s): Shared, Query(q): Query<ConsistencyQ>) -> Response {
    let v = view_of(&s);
    let answer = (|| -> Result<Value, String> {
        Ok(json!({
            "old": q.old,
            "new": q.new,
            "old_root": merkle::root(&v.tree, q.old).map_err(|e| e.to_string())?,
            "new_root": merkle::root(&v.tree, q.new).map_err(|e| e.to_string())?,
            "hashes": merkle::consistency_proof(&v.tree, q.old, q.new).map_err(|e| e.to_string())?,
        }))
    })();
    match answer {
        Ok(a) => Json(a).into_response(),
        Err(e) => bad(e),
    }
}

async fn inclusion(State(s): Shared, Query(q): Query<InclusionQ>) -> Response {
    let v = view_of(&s);
    let answer = (|| -> Result<Value, String> {
        Ok(json!({
            "index": q.index,
            "size": q.size,
            "root": merkle::root(&v.tree, q.size).map_err(|e| e.to_string())?,
            "hashes": merkle::inclusion_proof(&v.tree, q.index, q.size).map_err(|e| e.to_string())?,
        }))
    })();
    match answer {
        Ok(a) => Json(a).into_response(),
        Err(e) => bad(e),
    }
}

async fn mirrors(State(s): Shared) -> Json<Value> {
    s.requests.fetch_add(1, Ordering::Relaxed);
    Json(json!({ "mirrors": [] }))
}

impl Harness {
    async fn start(view: View) -> Harness {
        let state = Arc::new(HarnessState {
            view: Mutex::new(view),
            requests: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/v1/checkpoint/note", get(checkpoint_note))
            .route("/v1/leaves/raw", get(leaves_raw))
            .route("/v1/proofs/consistency", get(consistency))
            .route("/v1/proofs/inclusion", get(inclusion))
            .route("/v1/mirrors", get(mirrors))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Harness {
            url: format!("http://{addr}"),
            state,
            stop: Some(stop),
        }
    }

    fn set(&self, view: View) {
        *self.state.view.lock().unwrap() = view;
    }

    fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// This harness as a peer (not asked to witness: it cannot).
    fn peer(&self) -> PeerConfig {
        let mut p = PeerConfig::new(self.url.clone(), log_key(HARNESS, HARNESS_SEED));
        p.witness = false;
        p
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// A follower's configuration: its own origin and key, polling fast.
fn follower_config(dir: &Path, origin: &str, seed: [u8; 32], peers: Vec<PeerConfig>) -> Config {
    write_node_key(dir, seed);
    let mut c = support::config(dir);
    c.origin = origin.into();
    c.replication.poll_ms = 50;
    c.peers = peers;
    c
}

async fn listener() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    (l, url)
}

/// The status of the harness peer in `node`'s `/v1/peers`.
async fn harness_status(node: &TestNode) -> Value {
    let (status, peers) = node.get("/v1/peers").await;
    assert_eq!(status, 200, "{peers}");
    peers["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["origin"] == HARNESS)
        .cloned()
        .unwrap_or_else(|| panic!("the harness is not a peer: {peers}"))
}

/// `node`'s evidence records about the harness log.
async fn harness_evidence(node: &TestNode) -> Vec<Value> {
    let (status, body) = node.get("/v1/evidence").await;
    assert_eq!(status, 200, "{body}");
    body["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["origin"] == HARNESS)
        .cloned()
        .collect()
}

/// Waits until `node` holds a record of `kind` about the harness.
async fn wait_for_evidence(node: &TestNode, kind: &str, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let records = harness_evidence(node).await;
        if let Some(r) = records.iter().find(|r| r["evidence"]["kind"] == kind) {
            return r.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no {kind} evidence: {records:?}; peer {}",
            harness_status(node).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `node` has mirrored `n` leaves of the harness.
async fn wait_mirrored(node: &TestNode, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = harness_status(node).await;
        if s["mirrored"] == n {
            return;
        }
        assert!(Instant::now() < deadline, "not mirrored {n}: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Checks a self-verifying record with the protocol crate and the log key alone.
fn verify_record(record: &Value, kind: &str) {
    assert_eq!(record["self_verifying"], true, "{record}");
    assert_eq!(record["origin"], HARNESS, "{record}");
    assert_eq!(record["evidence"]["kind"], kind, "{record}");
    assert_eq!(record["evidence"]["origin"], HARNESS, "{record}");
    let evidence = Evidence::from_json(&record["evidence"].to_string()).unwrap();
    assert_eq!(evidence.kind(), kind);
    let finding = evidence.verify(&harness_verifier()).unwrap();
    assert!(!finding.to_string().is_empty());
}

async fn metrics(node: &TestNode) -> String {
    node.text("/metrics").await
}

/// The node's metrics show the evidence and the harness quarantined.
async fn assert_quarantine_metrics(node: &TestNode) {
    let text = metrics(node).await;
    let total: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("kaitiaki_replication_evidence_total "))
        .unwrap_or_else(|| panic!("no evidence counter: {text}"))
        .trim()
        .parse()
        .unwrap();
    assert!(total >= 1, "{text}");
    let line = format!("kaitiaki_peer_quarantined{{origin=\"{HARNESS}\"}} 1");
    assert!(text.lines().any(|l| l.trim() == line), "{text}");
}

/// Whether `node` serves the statement of `leaf`.
async fn has_statement(node: &TestNode, leaf: &[u8]) -> bool {
    let id = envelope_of(leaf).id();
    let (status, body) = node.get(&format!("/v1/statements/{id}")).await;
    match status {
        200 => true,
        404 => false,
        other => panic!("GET /v1/statements/{id} answered {other}: {body}"),
    }
}

async fn mirror_size(node: &TestNode) -> Option<u64> {
    let (status, body) = node.get("/v1/mirrors").await;
    assert_eq!(status, 200, "{body}");
    body["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["origin"] == HARNESS)
        .map(|m| m["size"].as_u64().unwrap())
}

/// Two followers, X shown history `a` and Y history `b` of the harness
/// log; X follows Y, and Y follows X when `both_ways`. Checks that one of
/// them keeps `kind` evidence against the harness and quarantines it.
async fn fork_is_found(a: Vec<Vec<u8>>, b: Vec<Vec<u8>>, kind: &str, both_ways: bool) {
    let ha = Harness::start(View::honest(a.clone())).await;
    let hb = Harness::start(View::honest(b.clone())).await;
    let origins = ["follower-x.example", "follower-y.example"];
    let seeds = [[62u8; 32], [63u8; 32]];
    let dirs = [tempdir(), tempdir()];
    let (lx, ux) = listener().await;
    let (ly, uy) = listener().await;
    let x = TestNode::start_on(
        follower_config(
            dirs[0].path(),
            origins[0],
            seeds[0],
            vec![
                ha.peer(),
                PeerConfig::new(uy, log_key(origins[1], seeds[1])),
            ],
        ),
        lx,
    )
    .await;
    let y = TestNode::start_on(
        follower_config(
            dirs[1].path(),
            origins[1],
            seeds[1],
            if both_ways {
                vec![
                    hb.peer(),
                    PeerConfig::new(ux, log_key(origins[0], seeds[0])),
                ]
            } else {
                vec![hb.peer()]
            },
        ),
        ly,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let (found, record) = loop {
        let mut hit = None;
        for node in [&x, &y] {
            if let Some(r) = harness_evidence(node)
                .await
                .into_iter()
                .find(|r| r["evidence"]["kind"] == kind)
            {
                hit = Some((node, r));
                break;
            }
        }
        if let Some(h) = hit {
            break h;
        }
        assert!(
            Instant::now() < deadline,
            "no {kind} evidence on either follower: x {} {:?}, y {} {:?}",
            harness_status(&x).await,
            harness_evidence(&x).await,
            harness_status(&y).await,
            harness_evidence(&y).await,
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    verify_record(&record, kind);
    assert_eq!(record["found_by"], "gossip", "{record}");
    // The two histories the evidence holds are the two the harness signed.
    let notes = [
        record["evidence"]["a"].as_str().unwrap(),
        record["evidence"]["b"].as_str().unwrap(),
    ];
    let shown = [View::honest(a).note, View::honest(b).note];
    for n in notes {
        assert!(
            shown.iter().any(|s| s == n),
            "{n} is not a note the harness signed"
        );
    }
    assert_ne!(notes[0], notes[1]);
    let status = harness_status(found).await;
    assert_eq!(status["state"], "quarantined", "{status}");
    assert_eq!(status["quarantine"]["evidence"], record["id"], "{status}");
    assert_quarantine_metrics(found).await;
    x.stop().await;
    y.stop().await;
}

#[tokio::test]
async fn two_histories_of_one_size_shown_to_two_followers_are_found() {
    fork_is_found(
        history(1000, 10, "history a"),
        history(2000, 10, "history b"),
        "equivocation",
        true,
    )
    .await;
}

#[tokio::test]
async fn a_longer_history_with_another_prefix_is_found() {
    fork_is_found(
        history(3000, 8, "history a"),
        history(4000, 12, "history b"),
        "inconsistent",
        true,
    )
    .await;
}

/// Only the follower holding the shorter history (6 leaves) asks the other
/// about it: the consistency proof from the other's mirror carries the
/// prefix root, since 6 is not a power of two.
#[tokio::test]
async fn a_longer_fork_is_found_by_the_follower_holding_the_shorter_history() {
    fork_is_found(
        history(4100, 6, "history a"),
        history(4200, 12, "history b"),
        "inconsistent",
        false,
    )
    .await;
}

/// As above with a shorter history of 8 leaves, a power of two: the proof
/// from the other's mirror then does not carry the prefix root, so the
/// follower must take it from elsewhere (PROTOCOL.md §11.3), such as the
/// `old_root` that `/v1/mirrors/{origin}/proofs/consistency` answers with.
#[tokio::test]
async fn a_longer_fork_past_a_power_of_two_is_found_by_the_follower_holding_the_shorter_history() {
    fork_is_found(
        history(4300, 8, "history a"),
        history(4400, 12, "history b"),
        "inconsistent",
        false,
    )
    .await;
}

/// A log signs a checkpoint of 16 leaves but serves only the first 4, so
/// the follower holds that checkpoint over a mirror of 4 leaves. It then
/// shows its older checkpoint of 8 (consistent with the 16) and serves
/// leaves up to it; then a checkpoint of 16 leaves of another history that
/// shares those 8. The follower must still hold the first checkpoint of 16
/// and find the two of one size: had it taken the checkpoint of 8 as the
/// one held, the fork would pass as consistent with it.
#[tokio::test]
async fn a_smaller_checkpoint_does_not_make_the_follower_forget_a_larger_one() {
    let leaves = history(4500, 16, "held");
    let harness = Harness::start(View::honest(leaves.clone()).serving_first(4)).await;
    let dir = tempdir();
    let node = TestNode::start_with(follower_config(
        dir.path(),
        "follower.example",
        [68; 32],
        vec![harness.peer()],
    ))
    .await;
    wait_mirrored(&node, 4).await;
    let held = View::honest(leaves.clone()).note;

    harness.set(View::showing(leaves.clone(), 8));
    wait_mirrored(&node, 8).await;
    let (status, body) = node.get("/v1/mirrors").await;
    assert_eq!(status, 200, "{body}");
    let mirror = body["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["origin"] == HARNESS)
        .cloned()
        .unwrap();
    assert_eq!(mirror["checkpoint"], held, "{mirror}");
    assert_eq!(mirror["complete"], View::showing(leaves.clone(), 8).note);

    let mut fork = leaves[..8].to_vec();
    fork.extend((8..16).map(|i| leaf(i, announce(4600 + i, "fork"))));
    let forked = View::honest(fork);
    harness.set(forked.clone());
    let record = wait_for_evidence(&node, "equivocation", 30).await;
    verify_record(&record, "equivocation");
    assert_eq!(record["found_by"], "replication", "{record}");
    let mut notes = [
        record["evidence"]["a"].as_str().unwrap().to_owned(),
        record["evidence"]["b"].as_str().unwrap().to_owned(),
    ];
    notes.sort();
    let mut shown = [held, forked.note];
    shown.sort();
    assert_eq!(notes, shown);
    let status = harness_status(&node).await;
    assert_eq!(status["state"], "quarantined", "{status}");
    assert_eq!(status["mirrored"], 8, "{status}");
    node.stop().await;
}

/// Leaf bytes with one byte of the envelope's signature flipped.
fn forged(mut bytes: Vec<u8>) -> Vec<u8> {
    // version(1) ‖ sequenced_at(8) ‖ envelope: version(1) ‖ author(32) ‖ signature(64) …
    bytes[1 + 8 + 1 + 32 + 10] ^= 0x01;
    assert!(envelope_of(&bytes).verify_signature().is_err());
    bytes
}

#[tokio::test]
async fn a_leaf_with_a_forged_signature_is_kept_as_evidence() {
    let mut leaves = history(5000, 8, "forged");
    leaves[5] = forged(leaves[5].clone());
    let harness = Harness::start(View::honest(leaves.clone())).await;
    let dir = tempdir();
    let mut config = follower_config(
        dir.path(),
        "follower.example",
        [64; 32],
        vec![harness.peer()],
    );
    config.replication.batch_leaves = 5;
    let node = TestNode::start_with(config).await;

    let record = wait_for_evidence(&node, "bad_leaf", 30).await;
    verify_record(&record, "bad_leaf");
    assert_eq!(record["found_by"], "replication", "{record}");
    assert_eq!(record["evidence"]["index"], 5, "{record}");
    let status = harness_status(&node).await;
    assert_eq!(status["state"], "quarantined", "{status}");
    assert_eq!(status["mirrored"], 5, "{status}");
    assert_quarantine_metrics(&node).await;

    // The first batch of five good leaves was stored and folded in; nothing
    // after it. (Mirrored statements are served by `/v1/statements/{id}`
    // only up to a checkpoint whose whole tree the mirror holds, and the
    // mirror holds no such checkpoint here; so compare the governance state
    // with a node that mirrored exactly those five leaves from an honest log.)
    assert_eq!(mirror_size(&node).await, Some(5));
    for l in &leaves[5..] {
        assert!(!has_statement(&node, l).await);
    }
    let honest = Harness::start(View::honest(leaves[..5].to_vec())).await;
    let reference_dir = tempdir();
    let reference = TestNode::start_with(follower_config(
        reference_dir.path(),
        "reference.example",
        [67; 32],
        vec![honest.peer()],
    ))
    .await;
    wait_mirrored(&reference, 5).await;
    for l in &leaves[..5] {
        assert!(has_statement(&reference, l).await);
    }
    let (status, ours) = node.get("/v1/state/hash").await;
    assert_eq!(status, 200, "{ours}");
    let (status, theirs) = reference.get("/v1/state/hash").await;
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(ours, theirs);
    reference.stop().await;
    node.stop().await;
}

/// Twelve leaves; the harness first shows the first six honestly, then
/// signs all twelve but serves leaf 9 replaced by another valid statement.
#[tokio::test]
async fn rewritten_leaves_are_refused_and_the_mirror_kept() {
    let leaves = history(6000, 12, "rewritten");
    let harness = Harness::start(View::honest(leaves[..6].to_vec())).await;
    let dir = tempdir();
    let node = TestNode::start_with(follower_config(
        dir.path(),
        "follower.example",
        [65; 32],
        vec![harness.peer()],
    ))
    .await;
    wait_mirrored(&node, 6).await;

    let other = leaf(9, announce(6999, "rewritten in"));
    harness.set(View::honest(leaves.clone()).serving(9, other.clone()));
    let record = wait_for_evidence(&node, "rewritten_leaves", 30).await;
    assert_eq!(record["self_verifying"], false, "{record}");
    assert_eq!(record["found_by"], "replication", "{record}");
    assert_eq!(record["evidence"]["origin"], HARNESS, "{record}");
    let status = harness_status(&node).await;
    assert_eq!(status["state"], "quarantined", "{status}");
    assert_eq!(status["mirrored"], 6, "{status}");
    assert_quarantine_metrics(&node).await;

    assert_eq!(mirror_size(&node).await, Some(6));
    for l in &leaves[..6] {
        assert!(has_statement(&node, l).await);
    }
    for l in leaves[6..].iter().chain([&other]) {
        assert!(!has_statement(&node, l).await);
    }
    node.stop().await;
}

#[tokio::test]
async fn quarantine_survives_a_restart_until_the_operator_lifts_it() {
    const ORIGIN: &str = "follower.example";
    const SEED: [u8; 32] = [66; 32];
    let leaves = history(7000, 8, "restart");
    let other = leaf(3, announce(7999, "rewritten in"));
    let harness = Harness::start(View::honest(leaves.clone()).serving(3, other)).await;
    let dir = tempdir();
    let config = follower_config(dir.path(), ORIGIN, SEED, vec![harness.peer()]);
    let node = TestNode::start_with(config.clone()).await;
    let record = wait_for_evidence(&node, "rewritten_leaves", 30).await;
    node.stop().await;

    // After a restart the peer is still quarantined and not asked anything.
    let before = harness.requests();
    let node = TestNode::start_with(config).await;
    let status = harness_status(&node).await;
    assert_eq!(status["state"], "quarantined", "{status}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let status = harness_status(&node).await;
    assert_eq!(status["state"], "quarantined", "{status}");
    assert_eq!(status["mirrored"], 0, "{status}");
    assert_eq!(
        harness.requests(),
        before,
        "a quarantined peer was contacted"
    );
    assert_quarantine_metrics(&node).await;

    // The log mends its ways; only the operator's signed request lifts it.
    harness.set(View::honest(leaves.clone()));
    let path = format!("/v1/peers/{HARNESS}/quarantine");
    let unsigned = node.http.delete(node.at(&path)).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    let stranger = support::key(7001);
    let r = node
        .http
        .delete(node.at(&path))
        .header(
            SIGNATURE_HEADER,
            sign_request(&stranger, ORIGIN, "DELETE", &path, now()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(harness_status(&node).await["state"], "quarantined");

    let own = ed25519_dalek::SigningKey::from_bytes(&SEED);
    let r = node
        .http
        .delete(node.at(&path))
        .header(
            SIGNATURE_HEADER,
            sign_request(&own, ORIGIN, "DELETE", &path, now()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["was_quarantined"], true, "{body}");

    let records = harness_evidence(&node).await;
    assert!(
        records.iter().any(|r| r["id"] == record["id"]),
        "the evidence is gone: {records:?}"
    );
    // Followed again, it now mirrors the honest log.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = harness_status(&node).await;
        if s["mirrored"] == 8 && s["state"] == "following" {
            break;
        }
        assert!(Instant::now() < deadline, "not followed again: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for l in &leaves {
        assert!(has_statement(&node, l).await);
    }
    let text = metrics(&node).await;
    let line = format!("kaitiaki_peer_quarantined{{origin=\"{HARNESS}\"}} 0");
    assert!(text.lines().any(|l| l.trim() == line), "{text}");
    node.stop().await;
}
