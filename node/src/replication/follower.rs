//! One follower task per peer.
//!
//! A round:
//!
//! 1. `GET <peer>/v1/checkpoint/note`; the note must verify under the
//!    peer's pinned key and name its origin.
//! 2. Compare it with the largest checkpoint the mirror was verified
//!    against ([`MirrorLog::checkpoint`], which a smaller one never
//!    replaces): same size and another root is equivocation; a smaller one
//!    must be a prefix of it; a larger one must come with a consistency
//!    proof from it. Anything else is kept as evidence and the peer is
//!    quarantined.
//! 3. Catch up in batches: `GET <peer>/v1/leaves/raw`, verify every leaf's
//!    signature (in parallel, off the async threads), extend the mirror's
//!    tree with them and check that tree against the new checkpoint with a
//!    consistency proof from the batch's end (`GET <peer>/v1/proofs/consistency`),
//!    then hand the batch to the sequencer, which folds it into governance
//!    and makes it durable. A leaf that does not verify is checked for
//!    inclusion in the signed tree: if included, that is self-verifying
//!    evidence against the peer.
//! 4. Gossip with the peer about third logs ([`super::gossip`]).
//!
//! Failures to reach the peer back off exponentially from 0.5 s to 60 s.
//! The task holds the node only weakly; a round in progress is dropped the
//! moment the node begins closing or the operator removes the peer, and
//! `serve` waits for every follower to end before it closes storage.

// A round fails at most once, and a misbehaviour fault carries the
// evidence itself; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, Weak};
use std::time::Duration;

use kaitiaki_protocol::checkpoint::Checkpoint;
use kaitiaki_protocol::evidence::Evidence;
use kaitiaki_protocol::merkle::prefix_root_from_consistency;
use kaitiaki_protocol::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use kaitiaki_protocol::note::Note;
use kaitiaki_protocol::{Hash, Leaf, Timestamp};
use rayon::prelude::*;
use serde::Deserialize;

use super::bounded;
use super::evidence::{self, leaf_claim, Item};
use super::rules::{self, Refusal};
use super::{Followed, PeerState};
use crate::api::federation::MAX_RAW_LEAVES;
use crate::node::Shared;
use crate::sequencer::mirror::{open_leaf, MirrorLeaf, MirrorOutcome};
use crate::sequencer::SequencerHandle;
use crate::storage::mirror::MirrorLog;
use crate::storage::StorageError;
use crate::witness::unix_now;

/// How long one request to a peer may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The first backoff after a failure; it doubles up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_millis(500);
/// The longest backoff.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Why a round stopped. A fault ends a round once and carries its
/// evidence with it, so its size does not matter.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Fault {
    /// The peer could not be reached or answered nonsense; retry later.
    Unreachable(String),
    /// The peer answers, but its checkpoint does not verify as its log's
    /// under the pinned key; retry later, as for [`Fault::Unreachable`].
    Unverified(String),
    /// The peer answered with more than the endpoint can need (see
    /// [`super::bounded`]); retry later, as for [`Fault::Unreachable`].
    Oversized(String),
    /// The peer misbehaved: keep this and quarantine it.
    Misbehaved { item: Item, reason: String },
    /// This node's own storage or sequencer failed; retry later.
    Local(String),
    /// The node is closing.
    Closed,
}

impl From<StorageError> for Fault {
    fn from(e: StorageError) -> Fault {
        Fault::Local(e.to_string())
    }
}

/// How many leaves a catch-up copies between two progress lines in the log.
const PROGRESS_EVERY: u64 = 10_000;

/// A request that failed, with every cause the error carries ("error
/// sending request" alone hides the refused connection behind it), each
/// said once.
fn unreachable(what: &str, e: impl std::error::Error) -> Fault {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let part = c.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = c.source();
    }
    Fault::Unreachable(format!("{what}: {text}"))
}

/// The pause before the next round after a failed one, doubling the next.
fn next_backoff(backoff: &mut Duration) -> Duration {
    let pause = *backoff;
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
    pause
}

/// Starts the follower of one peer.
pub(crate) fn spawn(shared: &Arc<Shared>, sequencer: SequencerHandle, followed: Arc<Followed>) {
    let http = match reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the replication HTTP client");
            return;
        }
    };
    let f = Follower {
        shared: Arc::downgrade(shared),
        sequencer,
        followed,
        http,
        poll: Duration::from_millis(shared.config.replication.poll_ms),
        batch: shared.config.replication.batch_leaves,
        network: shared.config.network.clone(),
        max_skew_ms: i64::try_from(shared.config.replication.max_future_skew_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000),
        clock: shared.clock.clone(),
        own_log_problem: std::sync::Mutex::new(None),
    };
    // The follower stops when the node begins closing, or when its peer
    // is removed: one signal for both.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut closing = shared.closing.subscribe();
    let mut retired = f.followed.retired();
    tokio::spawn(async move {
        // Either ends this (a dropped sender too).
        tokio::select! {
            _ = closing.wait_for(|c| *c) => {}
            _ = retired.wait_for(|r| *r) => {}
        }
        stop.send_replace(true);
    });
    let running = Running::new(Arc::clone(&f.followed));
    let task = tokio::spawn(async move {
        let _running = running;
        f.run(stopped).await;
    });
    shared.replication.track(task);
}

/// Says a follower task runs for as long as it lives, however the task
/// ends, so a removal waiting for it to stop is not kept waiting.
struct Running(Arc<Followed>);

impl Running {
    fn new(followed: Arc<Followed>) -> Running {
        followed.set_running(true);
        Running(followed)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.set_running(false);
    }
}

pub(crate) struct Follower {
    pub(crate) shared: Weak<Shared>,
    sequencer: SequencerHandle,
    pub(crate) followed: Arc<Followed>,
    pub(crate) http: reqwest::Client,
    poll: Duration,
    batch: u64,
    /// This node's network: a peer's statements must be for it.
    network: String,
    /// How far ahead of this node's clock a peer's leaf may be sequenced.
    max_skew_ms: i64,
    /// This node's clock.
    clock: crate::Clock,
    /// Why the peer last failed to say what it holds of this node's log,
    /// so that the same problem is logged once, not every round.
    own_log_problem: std::sync::Mutex<Option<String>>,
}

/// A checkpoint note, verified under a peer's key, with its parsed body.
#[derive(Clone, Debug)]
pub(crate) struct Signed {
    pub note: String,
    pub checkpoint: Checkpoint,
}

impl Signed {
    pub fn size(&self) -> u64 {
        self.checkpoint.size()
    }
    pub fn root(&self) -> Hash {
        *self.checkpoint.root()
    }
}

/// Parses and verifies a checkpoint note of `origin` under its key.
pub(crate) fn open_checkpoint(
    bytes: &[u8],
    followed: &Followed,
    origin: &str,
) -> Result<Signed, String> {
    let note = Note::parse(bytes).map_err(|e| format!("not a signed note: {e}"))?;
    note.verify(std::slice::from_ref(&followed.peer.verifier))
        .map_err(|e| format!("not signed by the pinned key of {origin}: {e}"))?;
    let checkpoint = Checkpoint::from_note(&note).map_err(|e| format!("not a checkpoint: {e}"))?;
    if checkpoint.origin() != origin {
        return Err(format!(
            "a checkpoint of {:?}, not of {origin:?}",
            checkpoint.origin()
        ));
    }
    Ok(Signed {
        note: String::from_utf8_lossy(&note.to_bytes()).into_owned(),
        checkpoint,
    })
}

#[derive(Deserialize)]
pub(crate) struct ConsistencyAnswer {
    pub hashes: Vec<Hash>,
    /// The root the answering node holds at the old size.
    #[serde(default)]
    pub old_root: Option<Hash>,
}

impl ConsistencyAnswer {
    /// The root at `old` of the tree whose root at `new` is `new_root`, as
    /// this proof shows it: reconstructed from the proof, or — when `old` is
    /// a complete subtree, which the proof then does not carry — the
    /// answer's own `old_root`, if the proof verifies from it. `None` when
    /// the proof shows nothing about the signed tree.
    pub fn prefix_root(&self, old: u64, new: u64, new_root: &Hash) -> Option<Hash> {
        prefix_root_from_consistency(old, new, new_root, &self.hashes).or_else(|| {
            self.old_root
                .filter(|r| verify_consistency(old, new, r, new_root, &self.hashes).is_ok())
        })
    }
}

#[derive(Deserialize)]
struct InclusionAnswer {
    root: Hash,
    hashes: Vec<Hash>,
}

/// Splits a `/v1/leaves/raw` body into leaves.
pub fn split_raw(mut body: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let Some((len, rest)) = body.split_first_chunk::<4>() else {
            return Err("a raw leaf length is cut short".into());
        };
        let len = u32::from_be_bytes(*len) as usize;
        if rest.len() < len {
            return Err("a raw leaf is cut short".into());
        }
        out.push(rest[..len].to_vec());
        body = &rest[len..];
    }
    Ok(out)
}

impl Follower {
    fn shared(&self) -> Result<Arc<Shared>, Fault> {
        self.shared.upgrade().ok_or(Fault::Closed)
    }

    fn origin(&self) -> &str {
        &self.followed.peer.origin
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.followed.peer.url)
    }

    async fn run(self, mut closing: tokio::sync::watch::Receiver<bool>) {
        let mut backoff = MIN_BACKOFF;
        loop {
            if *closing.borrow() {
                return;
            }
            if self.followed.status().state == PeerState::Quarantined {
                // Nothing more is taken from this peer until an operator
                // forgives it; look again now and then.
                if wait(&mut closing, Duration::from_secs(5)).await {
                    return;
                }
                continue;
            }
            // A round holds the mirror (and so the database) open; it is
            // dropped as soon as the node begins closing, so a stalled peer
            // cannot keep the data directory locked after shutdown.
            let outcome = tokio::select! {
                r = self.round() => r,
                _ = closing.changed() => return,
            };
            let pause = match outcome {
                Ok(true) => {
                    backoff = MIN_BACKOFF;
                    Duration::ZERO
                }
                Ok(false) => {
                    backoff = MIN_BACKOFF;
                    self.poll
                }
                Err(Fault::Closed) => return,
                Err(Fault::Misbehaved { item, reason }) => {
                    let Some(shared) = self.shared.upgrade() else {
                        return;
                    };
                    // Stored durably (an fsync): off the async workers.
                    let stored = tokio::task::spawn_blocking(move || {
                        evidence::quarantine(&shared, item, "replication", &reason)
                    })
                    .await;
                    match stored {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::error!(error = %e, "could not store evidence"),
                        Err(e) => tracing::error!(error = %e, "storing evidence stopped"),
                    }
                    continue;
                }
                Err(Fault::Unverified(problem)) => {
                    self.failed(PeerState::Unverified, problem);
                    next_backoff(&mut backoff)
                }
                Err(Fault::Unreachable(problem))
                | Err(Fault::Oversized(problem))
                | Err(Fault::Local(problem)) => {
                    self.failed(PeerState::Unreachable, problem);
                    next_backoff(&mut backoff)
                }
            };
            if !pause.is_zero() && wait(&mut closing, pause).await {
                return;
            }
        }
    }

    /// Records a failed round: the peer's state and why, said once when a
    /// peer stops answering, or answers something else wrong; every retry
    /// after is debug.
    fn failed(&self, state: PeerState, problem: String) {
        if let Some(shared) = self.shared.upgrade() {
            shared
                .replication
                .metrics
                .failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let mut news = false;
        self.followed.update(|s| {
            news = s.state != state || s.last_error.as_deref() != Some(problem.as_str());
            s.set_state(state);
            s.last_error = Some(problem.clone());
        });
        let (peer, origin) = (&self.followed.peer.url, self.origin());
        match (news, state) {
            (true, PeerState::Unverified) => tracing::warn!(%peer, %origin, %problem,
                "the peer answers, but not as the log this node follows there under that key; \
                 check the peer's address and key (`kaitiaki peer list`); retrying with backoff"),
            (true, _) => tracing::warn!(%peer, %origin, %problem,
                "cannot copy the peer's log; retrying with backoff"),
            (false, _) => tracing::debug!(%peer, %problem, "replication round failed"),
        }
    }

    /// One round; true when there is more to fetch at once.
    async fn round(&self) -> Result<bool, Fault> {
        if !self
            .followed
            .own_log_answered
            .load(std::sync::atomic::Ordering::Acquire)
        {
            self.check_own_log().await?;
        }
        let bytes = self
            .get_bytes("/v1/checkpoint/note", bounded::NOTE_CAP)
            .await?;
        let new = open_checkpoint(&bytes, &self.followed, self.origin())
            .map_err(|e| Fault::Unverified(format!("its checkpoint is {e}")))?;
        self.followed.update(|s| {
            if matches!(s.state, PeerState::Unreachable | PeerState::Unverified) {
                tracing::info!(peer = %self.followed.peer.url, origin = %self.origin(),
                    "the peer answers again; copying its log");
            }
            s.remote_size = new.size();
            s.last_contact = Some(unix_now());
            s.last_error = None;
            s.set_state(PeerState::Following);
        });
        let mirror = self.shared()?.storage.mirror(self.origin())?;
        let size = mirror.size()?;
        if let Some(held) = held(&mirror, &self.followed, self.origin())? {
            self.check_against(&mirror, &held, &new).await?;
        }
        let more = if new.size() > size {
            self.catch_up(&mirror, size, &new).await?
        } else {
            if new.size() == size {
                self.complete_at(&mirror, &new).await?;
            }
            false
        };
        if !more {
            super::gossip::round(self).await?;
        }
        Ok(more)
    }

    /// Makes `new`, which is of the mirror's own size, the mirror's
    /// complete checkpoint if the one held is smaller. The leaves were
    /// verified against a checkpoint of this size before they were stored,
    /// but a crash before the commit that held it leaves recovery to
    /// re-index them from the segments, which hold no checkpoint: until
    /// the peer grew again, its statements there were folded into the
    /// state but served as unknown (no proof without a checkpoint).
    async fn complete_at(&self, mirror: &MirrorLog, new: &Signed) -> Result<(), Fault> {
        let complete = mirror
            .complete_checkpoint()?
            .as_deref()
            .and_then(crate::storage::mirror::checkpoint_size)
            .unwrap_or(0);
        if complete >= new.size() {
            return Ok(());
        }
        let root = mirror
            .tree()
            .root(new.size())
            .map_err(|e| Fault::Local(format!("the copy of {}: {e}", self.origin())))?;
        if root != new.root() {
            return Err(Fault::Local(format!(
                "the copy of {} holds {} leaves whose root is {root}, but the peer signed {} for \
                 that size: the copy's tree files may be damaged (`kaitiaki log verify` on the \
                 data directory names the place)",
                self.origin(),
                new.size(),
                new.root()
            )));
        }
        let note = new.note.clone().into_bytes();
        let task = {
            let (sequencer, origin, size) =
                (self.sequencer.clone(), self.origin().to_owned(), new.size());
            tokio::spawn(
                async move { sequencer.mirror(origin, size, Vec::new(), note, true).await },
            )
        };
        self.stored(task, new.size(), 0, new).await?;
        tracing::info!(peer = %self.followed.peer.url, origin = %self.origin(), size = new.size(),
            "the copy recovered after a crash is complete again at the peer's checkpoint");
        Ok(())
    }

    /// Asks the peer what it holds of this node's own log, and compares
    /// (see [`super::own_log`]). Until the peer answers (a copy, or none),
    /// it is asked again each round.
    async fn check_own_log(&self) -> Result<(), Fault> {
        let own = self.shared()?.config.origin.clone();
        let path = format!("/tlog/mirrors/{own}/checkpoint");
        // Unreachable, the round fails here as its next request would.
        let response = self
            .http
            .get(self.url(&path))
            .send()
            .await
            .map_err(|e| unreachable(&path, e))?;
        let status = response.status();
        let answer = if status == reqwest::StatusCode::NOT_FOUND {
            Ok(None)
        } else if !status.is_success() {
            Err(format!("{path} answered {status}"))
        } else {
            match bounded::read(response, bounded::NOTE_CAP).await {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.is_oversized() => Err(format!("{path}: {e}")),
                // The connection failed part way: as unreachable.
                Err(e) => return Err(unreachable(&path, e)),
            }
        };
        let held = match answer {
            Ok(held) => held,
            Err(problem) => {
                // An answer that is not one: its own log can still be
                // copied, and this is asked again each round (said once).
                let mut last = self
                    .own_log_problem
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                if last.as_deref() != Some(problem.as_str()) {
                    tracing::warn!(peer = %self.followed.peer.url, %problem,
                        "the peer did not say what it holds of this node's log; asking again each round");
                    *last = Some(problem);
                }
                return Ok(());
            }
        };
        let shared = self.shared()?;
        let seen = match held {
            Some(bytes) => {
                match super::own_log::compare(&shared, &self.followed.peer.url, &bytes) {
                    Some(seen) => seen,
                    // This node could not tell: asked again next round.
                    None => return Ok(()),
                }
            }
            None => super::own_log::Seen::Nothing,
        };
        let followed = Arc::clone(&self.followed);
        // A refusal is written durably (an fsync): off the async workers.
        tokio::task::spawn_blocking(move || {
            shared
                .own_log
                .answered(&followed.own_log_answered, seen, &shared.replication)
        })
        .await
        .map_err(|e| Fault::Local(format!("recording the peer's answer stopped: {e}")))
    }

    /// Checks a newly fetched checkpoint against the one held.
    async fn check_against(
        &self,
        mirror: &MirrorLog,
        held: &Signed,
        new: &Signed,
    ) -> Result<(), Fault> {
        if new.size() == held.size() {
            if new.root() != held.root() {
                return Err(Fault::Misbehaved {
                    item: Item::Proof(Evidence::Equivocation {
                        origin: self.origin().to_owned(),
                        a: held.note.clone(),
                        b: new.note.clone(),
                    }),
                    reason: format!("it signed two different trees of size {}", new.size()),
                });
            }
            return Ok(());
        }
        let (small, big) = if new.size() < held.size() {
            (new, held)
        } else {
            (held, new)
        };
        if small.size() == 0 {
            return Ok(());
        }
        let local = mirror.size()? >= big.size();
        let (prefix_root, proof) = if local {
            let tree = mirror.tree();
            let root = tree
                .root(small.size())
                .map_err(|e| Fault::Local(e.to_string()))?;
            let proof = tree
                .consistency_proof(small.size(), big.size())
                .map_err(|e| Fault::Local(e.to_string()))?;
            (Some(root), proof)
        } else {
            let answer = self.consistency(small.size(), big.size()).await?;
            let prefix = answer.prefix_root(small.size(), big.size(), &big.root());
            (prefix, answer.hashes)
        };
        if verify_consistency(small.size(), big.size(), &small.root(), &big.root(), &proof).is_ok()
        {
            return Ok(());
        }
        let reason = format!(
            "its checkpoints of sizes {} and {} cannot both be true",
            small.size(),
            big.size()
        );
        let item = match prefix_root {
            Some(prefix_root) if prefix_root != small.root() => {
                Item::Proof(Evidence::Inconsistent {
                    origin: self.origin().to_owned(),
                    a: small.note.clone(),
                    b: big.note.clone(),
                    prefix_root,
                    proof,
                })
            }
            _ => Item::Claim(evidence::Claim {
                kind: "proof_failed".into(),
                origin: self.origin().to_owned(),
                checkpoint: big.note.clone(),
                index: None,
                leaf: None,
                detail: format!(
                    "the consistency proof it served from size {} (the checkpoint held here: {}) \
                     to size {} does not verify",
                    small.size(),
                    small.note.replace('\n', " / "),
                    big.size()
                ),
            }),
        };
        Err(Fault::Misbehaved { item, reason })
    }

    /// Fetches, verifies and stores leaves from `size` toward `new`; true
    /// when the batch limit stopped it before `new`.
    ///
    /// Two batches are in flight at once: while the sequencer folds and
    /// makes durable batch k, batch k+1 is fetched and its signatures
    /// checked. Batch k+1 is handed over only once batch k is stored, and
    /// is dropped if batch k was refused.
    async fn catch_up(&self, mirror: &MirrorLog, size: u64, new: &Signed) -> Result<bool, Fault> {
        let mut compact = mirror.tree().compact_range(size)?;
        let mut previous = last_time(mirror, size)?;
        let mut next = size;
        let mut storing: Option<(tokio::task::JoinHandle<MirrorOutcome>, u64, u64)> = None;
        // A few batches per round, so gossip and status stay fresh.
        for _ in 0..8 {
            // Gossip may find this log forked while it is being fetched.
            if next >= new.size() || self.followed.status().state == PeerState::Quarantined {
                break;
            }
            let fetched = self
                .fetch_batch(&mut compact, &mut previous, next, new)
                .await;
            // The batch before is verified: let it land even if this one
            // turns out bad, so the mirror keeps all that was verified.
            if let Some((task, from, n)) = storing.take() {
                self.stored(task, from, n, new).await?;
            }
            let (leaves, end) = fetched?;
            let sequencer = self.sequencer.clone();
            let origin = self.origin().to_owned();
            let note = new.note.clone().into_bytes();
            let complete = end == new.size();
            let task = tokio::spawn(async move {
                sequencer.mirror(origin, next, leaves, note, complete).await
            });
            storing = Some((task, next, end - next));
            next = end;
        }
        if let Some((task, from, n)) = storing.take() {
            self.stored(task, from, n, new).await?;
        }
        Ok(next < new.size())
    }

    /// Fetches leaves from `at`, checks every signature, the rules of
    /// [`rules`] (`previous` is the time of the leaf before `at`), and that
    /// they extend `compact` (the tree so far) to a prefix of the signed
    /// tree `new`. Returns the leaves and the size they bring the tree to;
    /// `compact` and `previous` then describe that tree. A leaf dated too
    /// far ahead ends the batch before it, so what comes before is kept.
    async fn fetch_batch(
        &self,
        compact: &mut kaitiaki_protocol::merkle::CompactRange,
        previous: &mut Option<Timestamp>,
        at: u64,
        new: &Signed,
    ) -> Result<(Vec<MirrorLeaf>, u64), Fault> {
        // A peer serves at most this many at once (PROTOCOL.md §8.11): asking
        // for more would only raise the cap on the answer.
        let limit = self.batch.min(new.size() - at).min(MAX_RAW_LEAVES);
        let body = self
            .get_bytes(
                &format!("/v1/leaves/raw?start={at}&limit={limit}"),
                bounded::raw_leaves_cap(limit),
            )
            .await?;
        let raw = split_raw(&body).map_err(|e| Fault::Unreachable(format!("its leaves: {e}")))?;
        if raw.is_empty() || raw.len() as u64 > limit {
            return Err(Fault::Unreachable(format!(
                "it served {} leaves where {limit} were asked for",
                raw.len()
            )));
        }
        // Signature checks are the bulk of the work: in parallel, off the
        // async threads.
        let opened = tokio::task::spawn_blocking(move || {
            raw.into_par_iter()
                .map(|bytes| (leaf_hash(&bytes), open_leaf(bytes)))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| Fault::Local(e.to_string()))?;
        let mut leaves: Vec<MirrorLeaf> = Vec::with_capacity(opened.len());
        let mut hashes = Vec::with_capacity(opened.len());
        for (i, (hash, result)) in opened.into_iter().enumerate() {
            let index = at + i as u64;
            match result {
                Ok(leaf) => leaves.push(leaf),
                Err((bytes, problem)) => {
                    return Err(self.bad_leaf(new, index, &bytes, &problem).await)
                }
            }
            hashes.push(hash);
        }
        // A leaf that breaks a rule is blamed on the peer only once it is
        // proven part of the tree the peer signed: the tree is checked up
        // to it. A leaf dated too far ahead is left for later.
        let latest = rules::latest(self.clock.now_millis(), self.max_skew_ms);
        let refusal = rules::check(&leaves, at, *previous, &self.network, latest).err();
        let keep = match &refusal {
            None => leaves.len(),
            Some(Refusal::BreaksRule { index, .. }) => (index - at) as usize + 1,
            Some(Refusal::Early { index, detail }) => {
                if *index == at {
                    return Err(Fault::Unreachable(detail.clone()));
                }
                (index - at) as usize
            }
        };
        leaves.truncate(keep);
        hashes.truncate(keep);
        let end = at + keep as u64;
        let mut candidate = compact.clone();
        for hash in hashes {
            let _ = candidate.push_with(hash, |_, _| {});
        }
        let tree_ok = if end == new.size() {
            candidate.root() == new.root()
        } else {
            let answer = self.consistency(end, new.size()).await?;
            verify_consistency(
                end,
                new.size(),
                &candidate.root(),
                &new.root(),
                &answer.hashes,
            )
            .is_ok()
        };
        if !tree_ok {
            return Err(Fault::Misbehaved {
                item: leaf_claim(
                    "rewritten_leaves",
                    self.origin(),
                    &new.note,
                    at,
                    None,
                    format!(
                        "the leaves it served from index {at} to {end} do not make the tree \
                         of its signed checkpoint of size {}",
                        new.size()
                    ),
                ),
                reason: format!("it served leaves {at}..{end} that are not in the tree it signed"),
            });
        }
        if let Some(Refusal::BreaksRule {
            index,
            code,
            detail,
        }) = refusal
        {
            let bytes = leaves.last().map(|l| l.bytes.as_slice());
            return Err(self.breaks_rule(new, index, bytes, code, &detail));
        }
        *compact = candidate;
        if let Some(last) = leaves.last() {
            *previous = Some(last.sequenced_at);
        }
        Ok((leaves, end))
    }

    /// A leaf of the peer's signed tree that breaks a rule of the
    /// federation: a claim, and the reason to quarantine the peer.
    fn breaks_rule(
        &self,
        new: &Signed,
        index: u64,
        bytes: Option<&[u8]>,
        code: &str,
        detail: &str,
    ) -> Fault {
        Fault::Misbehaved {
            item: leaf_claim(
                "breaks_rule",
                self.origin(),
                &new.note,
                index,
                bytes,
                format!("{code}: {detail}"),
            ),
            reason: format!("it sequenced leaf {index}, which breaks a rule: {code}"),
        }
    }

    /// Waits for a batch handed to the sequencer and turns its outcome into
    /// progress or a fault.
    async fn stored(
        &self,
        task: tokio::task::JoinHandle<MirrorOutcome>,
        from: u64,
        n: u64,
        new: &Signed,
    ) -> Result<(), Fault> {
        let outcome = task.await.unwrap_or(MirrorOutcome::Unavailable);
        match outcome {
            MirrorOutcome::Stored { size } => {
                if let Some(shared) = self.shared.upgrade() {
                    shared
                        .replication
                        .metrics
                        .leaves
                        .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                }
                self.followed.update(|s| s.mirrored = size);
                // A long catch-up says how far it has got, every
                // PROGRESS_EVERY leaves, so an operator sees it move.
                if size < new.size()
                    && size / PROGRESS_EVERY > size.saturating_sub(n) / PROGRESS_EVERY
                {
                    tracing::info!(peer = %self.followed.peer.url, origin = %self.origin(),
                        copied = size, of = new.size(), "copying the peer's log");
                }
                Ok(())
            }
            MirrorOutcome::Gap { size } => Err(Fault::Local(format!(
                "the mirror holds {size} leaves, not {from}; starting again from there"
            ))),
            MirrorOutcome::BreaksRule { index, rejection } => {
                let bytes = self.leaf_at(index).await.ok();
                Err(self.breaks_rule(
                    new,
                    index,
                    bytes.as_deref(),
                    rejection.code.as_str(),
                    &rejection.message,
                ))
            }
            MirrorOutcome::Unavailable => {
                if self.shared.upgrade().is_none() {
                    return Err(Fault::Closed);
                }
                Err(Fault::Local(
                    "the node could not store mirrored leaves".into(),
                ))
            }
        }
    }

    /// A leaf that does not verify: evidence if the signed tree includes it.
    async fn bad_leaf(&self, new: &Signed, index: u64, bytes: &[u8], problem: &str) -> Fault {
        let included = match self
            .get_json::<InclusionAnswer>(&format!(
                "/v1/proofs/inclusion?index={index}&size={}",
                new.size()
            ))
            .await
        {
            Ok(a)
                if a.root == new.root()
                    && verify_inclusion(
                        &leaf_hash(bytes),
                        index,
                        new.size(),
                        &a.hashes,
                        &new.root(),
                    )
                    .is_ok() =>
            {
                Some(a.hashes)
            }
            _ => None,
        };
        let reason = format!("its leaf {index} is not a valid signed statement: {problem}");
        match included {
            Some(proof) => Fault::Misbehaved {
                item: Item::Proof(Evidence::BadLeaf {
                    origin: self.origin().to_owned(),
                    checkpoint: new.note.clone(),
                    index,
                    leaf: bytes.to_vec(),
                    proof,
                }),
                reason,
            },
            None => Fault::Misbehaved {
                item: leaf_claim(
                    "rewritten_leaves",
                    self.origin(),
                    &new.note,
                    index,
                    Some(bytes),
                    format!("it served leaf {index}, which is not in its signed tree: {problem}"),
                ),
                reason,
            },
        }
    }

    async fn leaf_at(&self, index: u64) -> Result<Vec<u8>, Fault> {
        let body = self
            .get_bytes(
                &format!("/v1/leaves/raw?start={index}&limit=1"),
                bounded::raw_leaves_cap(1),
            )
            .await?;
        split_raw(&body)
            .ok()
            .and_then(|mut v| v.pop())
            .ok_or_else(|| Fault::Unreachable("no leaf".into()))
    }

    pub(crate) async fn consistency(&self, old: u64, new: u64) -> Result<ConsistencyAnswer, Fault> {
        self.get_json(&format!("/v1/proofs/consistency?old={old}&new={new}"))
            .await
    }

    /// `GET path` from the peer: the body of a successful answer, read up
    /// to `cap` bytes (see [`bounded`]).
    pub(crate) async fn get_bytes(&self, path: &str, cap: usize) -> Result<Vec<u8>, Fault> {
        let response = self
            .http
            .get(self.url(path))
            .send()
            .await
            .map_err(|e| unreachable(path, e))?;
        if !response.status().is_success() {
            return Err(Fault::Unreachable(format!(
                "{path} answered {}",
                response.status()
            )));
        }
        bounded::read(response, cap).await.map_err(|e| {
            if !e.is_oversized() {
                return unreachable(path, e);
            }
            // Not evidence (nothing in it is signed), but more than a
            // dropped connection: the round fails, and says so once.
            Fault::Oversized(format!("{path}: {e}"))
        })
    }

    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<T, Fault> {
        let bytes = self.get_bytes(path, bounded::JSON_CAP).await?;
        serde_json::from_slice(&bytes).map_err(|e| unreachable(path, e))
    }
}

/// The largest checkpoint the mirror was verified against.
pub(crate) fn held(
    mirror: &MirrorLog,
    followed: &Followed,
    origin: &str,
) -> Result<Option<Signed>, Fault> {
    match mirror.checkpoint()? {
        None => Ok(None),
        Some(bytes) => open_checkpoint(&bytes, followed, origin)
            .map(Some)
            .map_err(|e| Fault::Local(format!("the held checkpoint of {origin} is {e}"))),
    }
}

/// The time of leaf `size - 1` of the mirror, if it holds any.
fn last_time(mirror: &MirrorLog, size: u64) -> Result<Option<Timestamp>, Fault> {
    let Some(index) = size.checked_sub(1) else {
        return Ok(None);
    };
    let bytes = mirror
        .leaf_bytes(index)?
        .ok_or_else(|| Fault::Local(format!("the mirror lacks its leaf {index}")))?;
    Leaf::from_bytes(&bytes)
        .map(|leaf| Some(leaf.sequenced_at()))
        .map_err(|e| Fault::Local(format!("the mirror's leaf {index} does not parse: {e}")))
}

/// Sleeps for `d`; true if the node began closing meanwhile.
async fn wait(closing: &mut tokio::sync::watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => *closing.borrow(),
        r = closing.changed() => r.is_err() || *closing.borrow(),
    }
}
