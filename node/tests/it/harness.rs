//! A fake log server for federation tests: a small in-process log built
//! from the protocol crate alone, so it can sign whatever it likes — two
//! histories, forged leaves, leaves that are not its tree, answers of any
//! size — and the helpers to watch a follower of it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::StreamExt;
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
use crate::support::{self, announce, TestNode};

/// The origin of the misbehaving log.
pub(crate) const HARNESS: &str = "harness-log.example";
pub(crate) const HARNESS_SEED: [u8; 32] = [61; 32];

fn harness_signer() -> NoteSigner {
    NoteSigner::from_seed(KeyName::new(HARNESS).unwrap(), &HARNESS_SEED)
}

pub(crate) fn harness_verifier() -> NoteVerifier {
    NoteVerifier::parse(&log_key(HARNESS, HARNESS_SEED)).unwrap()
}

/// The leaf bytes of `env`, sequenced `i` minutes after a fixed time.
pub(crate) fn leaf(i: u64, env: Envelope) -> Vec<u8> {
    let base = Timestamp::parse("2026-11-22T10:00:00Z").unwrap();
    let at = Timestamp::from_unix_millis(base.unix_millis() + 60_000 * i as i64).unwrap();
    Leaf::new(at, env).to_bytes()
}

/// `n` leaves of statements by participants `first..first + n`.
pub(crate) fn history(first: u64, n: u64, tag: &str) -> Vec<Vec<u8>> {
    (0..n).map(|i| leaf(i, announce(first + i, tag))).collect()
}

/// The envelope inside leaf bytes.
pub(crate) fn envelope_of(bytes: &[u8]) -> Envelope {
    Leaf::from_bytes(bytes).unwrap().into_envelope()
}

/// What the harness shows: the tree it signs and the leaves it serves.
#[derive(Clone)]
pub(crate) struct View {
    tree: MemoryTree,
    /// What `/v1/leaves/raw` serves; normally the tree's own leaves.
    served: Vec<Vec<u8>>,
    /// The signed checkpoint note `/v1/checkpoint/note` serves.
    pub(crate) note: String,
}

impl View {
    /// A log whose tree holds `leaves`, served as they are, with a
    /// checkpoint of its whole tree.
    pub(crate) fn honest(leaves: Vec<Vec<u8>>) -> View {
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
    pub(crate) fn showing(leaves: Vec<Vec<u8>>, size: u64) -> View {
        let mut view = View::honest(leaves);
        view.note = Checkpoint::new(HARNESS, size, merkle::root(&view.tree, size).unwrap())
            .unwrap()
            .sign(&harness_signer())
            .unwrap()
            .to_string();
        view
    }

    /// The same signed tree, serving only its first `n` leaves.
    pub(crate) fn serving_first(mut self, n: usize) -> View {
        self.served.truncate(n);
        self
    }

    /// The same signed tree, but serving `bytes` as leaf `index`.
    pub(crate) fn serving(mut self, index: usize, bytes: Vec<u8>) -> View {
        self.served[index] = bytes;
        self
    }
}

/// What a flooding answer offers: far more than any endpoint may take.
pub(crate) const FLOOD_BYTES: u64 = 128 << 20;
/// The `Content-Length` a flooding answer may declare.
pub(crate) const FLOOD_DECLARED: u64 = 1_500_000_000;
static FLOOD_CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];

/// How a flooding answer comes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Flooding {
    /// [`FLOOD_BYTES`] without a `Content-Length`, produced only as fast
    /// as the reader takes them.
    Endless,
    /// A `Content-Length` of [`FLOOD_DECLARED`], a first chunk, then
    /// nothing: only a reader that believes the length gives up at once.
    Declared,
}

/// Answers too large to read whole, counting the bytes the server was
/// asked for: what the reader took, plus what the sockets buffer.
#[derive(Clone, Debug, Default)]
pub(crate) struct Flood {
    sent: Arc<AtomicU64>,
    /// Flooding answers begun.
    begun: Arc<AtomicU64>,
    /// Flooding answers whose body is gone: read to its end, or dropped
    /// by the server when the reader went away.
    ended: Arc<AtomicU64>,
}

/// Counts a flooding answer as ended when its body is dropped.
struct Ends(Arc<AtomicU64>);

impl Drop for Ends {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl Flood {
    pub(crate) fn answer(&self, how: Flooding) -> Response {
        self.begun.fetch_add(1, Ordering::Relaxed);
        let ends = Ends(Arc::clone(&self.ended));
        let first = FLOOD_CHUNK.len() as u64;
        self.sent.fetch_add(first, Ordering::Relaxed);
        let first = futures::stream::once(async { chunk() });
        let body = match how {
            Flooding::Endless => {
                let sent = Arc::clone(&self.sent);
                let rest = futures::stream::iter(1..FLOOD_BYTES / FLOOD_CHUNK.len() as u64).map(
                    move |_| {
                        sent.fetch_add(FLOOD_CHUNK.len() as u64, Ordering::Relaxed);
                        chunk()
                    },
                );
                first.chain(rest).boxed()
            }
            Flooding::Declared => first.chain(futures::stream::pending()).boxed(),
        };
        // The body holds `ends` for as long as the server holds the body.
        let body = Body::from_stream(body.map(move |c| {
            let _held = &ends;
            c
        }));
        let mut response = Response::new(body);
        if let Flooding::Declared = how {
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, FLOOD_DECLARED.into());
        }
        response
    }

    /// Bytes produced so far.
    pub(crate) fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// The bytes produced in all, once every flooding answer begun has
    /// ended: call it when no reader is left (the node stopped), so that
    /// nothing more can be produced.
    pub(crate) async fn sent_in_all(&self) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (begun, ended) = (
                self.begun.load(Ordering::Relaxed),
                self.ended.load(Ordering::Relaxed),
            );
            if begun == ended {
                return self.sent();
            }
            assert!(
                Instant::now() < deadline,
                "{} of {begun} flooding answers still being sent",
                begun - ended
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn chunk() -> Result<Bytes, Infallible> {
    Ok(Bytes::from_static(&FLOOD_CHUNK))
}

struct HarnessState {
    view: Mutex<View>,
    requests: AtomicU64,
    /// The endpoint that floods instead of answering, if any.
    flooding: Mutex<Option<(&'static str, Flooding)>>,
    flood: Flood,
    /// What it shows as its copy of a follower's own log: the follower's
    /// origin and a checkpoint note (none: it holds no copy, 404).
    copy: Mutex<Option<(String, String)>>,
}

impl HarnessState {
    /// The flood to answer `path` with, if it floods.
    fn flood(&self, path: &str) -> Option<Response> {
        let flooding = *self.flooding.lock().unwrap();
        match flooding {
            Some((p, how)) if p == path => Some(self.flood.answer(how)),
            _ => None,
        }
    }
}

/// A fake log server on 127.0.0.1:0.
pub(crate) struct Harness {
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
    if let Some(flood) = s.flood("/v1/checkpoint/note") {
        return flood;
    }
    (
        [("content-type", "text/plain; charset=utf-8")],
        view_of(&s).note,
    )
        .into_response()
}

async fn leaves_raw(State(s): Shared, Query(q): Query<RawQ>) -> Response {
    if let Some(flood) = s.flood("/v1/leaves/raw") {
        return flood;
    }
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
    if let Some(flood) = s.flood("/v1/proofs/consistency") {
        return flood;
    }
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
    if let Some(flood) = s.flood("/v1/proofs/inclusion") {
        return flood;
    }
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

/// The checkpoint of its copy of another log, if it shows one.
/// The path under which the harness shows its copy of another log's
/// checkpoint, as [`Harness::flood`] names it.
pub(crate) const COPY_CHECKPOINT: &str = "/tlog/mirrors/{origin}/checkpoint";

async fn copy_checkpoint(
    State(s): Shared,
    axum::extract::Path(origin): axum::extract::Path<String>,
) -> Response {
    if let Some(flood) = s.flood(COPY_CHECKPOINT) {
        return flood;
    }
    match s.copy.lock().unwrap().clone() {
        Some((of, note)) if of == origin => note.into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn mirrors(State(s): Shared) -> Response {
    s.requests.fetch_add(1, Ordering::Relaxed);
    if let Some(flood) = s.flood("/v1/mirrors") {
        return flood;
    }
    Json(json!({ "mirrors": [] })).into_response()
}

impl Harness {
    pub(crate) async fn start(view: View) -> Harness {
        let state = Arc::new(HarnessState {
            view: Mutex::new(view),
            requests: AtomicU64::new(0),
            flooding: Mutex::new(None),
            flood: Flood::default(),
            copy: Mutex::new(None),
        });
        let app = Router::new()
            .route("/v1/checkpoint/note", get(checkpoint_note))
            .route("/v1/leaves/raw", get(leaves_raw))
            .route("/v1/proofs/consistency", get(consistency))
            .route("/v1/proofs/inclusion", get(inclusion))
            .route("/v1/mirrors", get(mirrors))
            .route(COPY_CHECKPOINT, get(copy_checkpoint))
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

    /// From now on shows `note` as its copy of the log `origin`.
    pub(crate) fn show_copy_of(&self, origin: &str, note: String) {
        *self.state.copy.lock().unwrap() = Some((origin.to_owned(), note));
    }

    pub(crate) fn set(&self, view: View) {
        *self.state.view.lock().unwrap() = view;
    }

    /// From now on answers `path` with a flood.
    pub(crate) fn flood(&self, path: &'static str, how: Flooding) {
        *self.state.flooding.lock().unwrap() = Some((path, how));
    }

    /// From now on answers every path as it should.
    pub(crate) fn stop_flooding(&self) {
        *self.state.flooding.lock().unwrap() = None;
    }

    /// Flooding answers begun so far.
    pub(crate) fn floods_begun(&self) -> u64 {
        self.state.flood.begun.load(Ordering::Relaxed)
    }

    /// Bytes of flood produced in all, once every flooding answer has
    /// ended (see [`Flood::sent_in_all`]).
    pub(crate) async fn flooded(&self) -> u64 {
        self.state.flood.sent_in_all().await
    }

    pub(crate) fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// This harness as a peer (not asked to witness: it cannot).
    pub(crate) fn peer(&self) -> PeerConfig {
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
pub(crate) fn follower_config(
    dir: &Path,
    origin: &str,
    seed: [u8; 32],
    peers: Vec<PeerConfig>,
) -> Config {
    write_node_key(dir, seed);
    let mut c = support::config(dir);
    c.origin = origin.into();
    c.replication.poll_ms = 50;
    c.peers = peers;
    c
}

pub(crate) async fn listener() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    (l, url)
}

/// The status of the harness peer in `node`'s `/v1/peers`.
pub(crate) async fn harness_status(node: &TestNode) -> Value {
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

/// Waits until the harness peer of `node` shows an error containing
/// `words`; returns its status.
pub(crate) async fn wait_for_error(node: &TestNode, words: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = harness_status(node).await;
        if s["last_error"].as_str().is_some_and(|e| e.contains(words)) {
            return s;
        }
        assert!(Instant::now() < deadline, "no error with {words:?}: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `node`'s evidence records about the harness log.
pub(crate) async fn harness_evidence(node: &TestNode) -> Vec<Value> {
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
pub(crate) async fn wait_for_evidence(node: &TestNode, kind: &str, secs: u64) -> Value {
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
pub(crate) async fn wait_mirrored(node: &TestNode, n: u64) {
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
pub(crate) fn verify_record(record: &Value, kind: &str) {
    assert_eq!(record["self_verifying"], true, "{record}");
    assert_eq!(record["origin"], HARNESS, "{record}");
    assert_eq!(record["evidence"]["kind"], kind, "{record}");
    assert_eq!(record["evidence"]["origin"], HARNESS, "{record}");
    let evidence = Evidence::from_json(&record["evidence"].to_string()).unwrap();
    assert_eq!(evidence.kind(), kind);
    let finding = evidence.verify(&harness_verifier()).unwrap();
    assert!(!finding.to_string().is_empty());
}

pub(crate) async fn metrics(node: &TestNode) -> String {
    node.text("/metrics").await
}

/// The node's metrics show the evidence and the harness quarantined.
pub(crate) async fn assert_quarantine_metrics(node: &TestNode) {
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
pub(crate) async fn has_statement(node: &TestNode, leaf: &[u8]) -> bool {
    let id = envelope_of(leaf).id();
    let (status, body) = node.get(&format!("/v1/statements/{id}")).await;
    match status {
        200 => true,
        404 => false,
        other => panic!("GET /v1/statements/{id} answered {other}: {body}"),
    }
}

/// `node`'s mirror of the harness log in its `/v1/mirrors`, if it has one.
pub(crate) async fn harness_mirror(node: &TestNode) -> Option<Value> {
    let (status, body) = node.get("/v1/mirrors").await;
    assert_eq!(status, 200, "{body}");
    body["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["origin"] == HARNESS)
        .cloned()
}

pub(crate) async fn mirror_size(node: &TestNode) -> Option<u64> {
    harness_mirror(node)
        .await
        .map(|m| m["size"].as_u64().unwrap())
}
