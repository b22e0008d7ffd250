//! Replication: each node follows its peers, keeps a verified mirror of
//! each peer's log, folds the mirrors into its governance state, and keeps
//! evidence when a peer misbehaves.
//!
//! Read in this order:
//! 1. This file — [`Peer`] (URL and pinned log key), the peer registry with
//!    each peer's status, and starting the followers.
//! 2. [`follower`] — one task per peer: poll its checkpoint, check it
//!    against the last one verified, fetch new leaves in batches, verify
//!    every signature (in parallel) and the tree they make against the
//!    peer's signed checkpoint, then hand them to the sequencer to store
//!    and fold (see `crate::sequencer::mirror`). Backs off from a peer that
//!    does not answer; never blocks the node's own writes.
//! 3. [`gossip`] — after each round, compare the peer's view of every
//!    third log with this node's own mirror of it: two followers shown two
//!    histories find out.
//! 4. [`evidence`] — evidence records and quarantine.
//! 5. [`rules`] — what a peer's leaves must be beyond a valid signature:
//!    for this network, and sequenced in order and not far in the future.
//! 6. [`bounded`] — every answer from a peer or witness is read with a cap
//!    on its size, so a peer cannot exhaust this node's memory.
//!
//! **Quarantine.** A peer whose log proves it misbehaved — a checkpoint
//! that contradicts one it signed before, a leaf whose signature does not
//! verify, leaves that do not make the tree it signed, a statement
//! sequenced outside its body's home log, a statement of another network,
//! a leaf sequenced before the one before it — is quarantined: the evidence is
//! kept ([`evidence`]), the peer is no longer followed, and its mirror
//! stays exactly as it was last verified. Quarantine lasts until an
//! operator removes it (`kaitiaki peer forgive`), because a log that
//! equivocated once cannot be trusted by waiting.

pub mod bounded;
pub mod evidence;
pub mod follower;
pub mod gossip;
pub mod own_log;
pub mod peer_file;
mod rules;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use kaitiaki_protocol::note::{NoteVerifier, Verifier};
use kaitiaki_protocol::statement::limits::check_network;
use serde::{Deserialize, Serialize};

use crate::config::PeerConfig;
use crate::node::Shared;
use crate::storage::{space, StorageError};

/// A peer: where it is, and the key its checkpoints must be signed with.
#[derive(Clone, Debug)]
pub struct Peer {
    /// Base URL, without a trailing `/`.
    pub url: String,
    /// Its log's origin (the name of its key).
    pub origin: String,
    /// Its log key.
    pub verifier: NoteVerifier,
    /// The configuration it came from.
    pub config: PeerConfig,
}

impl Peer {
    /// Parses and checks a peer's configuration against this node's origin.
    pub fn from_config(config: &PeerConfig, own_origin: &str) -> Result<Peer, String> {
        let verifier = NoteVerifier::parse(&config.key).map_err(|e| {
            format!(
                "the key of peer {} is not a note verifier key: {e}",
                config.url
            )
        })?;
        let origin = verifier.name().as_str().to_owned();
        // Mirrors live in a directory named by the origin, and charters
        // name home logs under the same rule.
        check_network(&origin).map_err(|e| {
            format!(
                "peer {} has origin {origin:?}, which is not a valid log name: {}",
                config.url, e.problem
            )
        })?;
        if origin == own_origin {
            return Err(format!(
                "peer {} has this node's own origin {origin:?}",
                config.url
            ));
        }
        let url = config.url.trim_end_matches('/').to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "peer URL {url:?} must start with http:// or https://"
            ));
        }
        Ok(Peer {
            url,
            origin,
            verifier,
            config: config.clone(),
        })
    }
}

/// Checks a peer's configuration (used by `Config::validate`).
pub fn check_peer(peer: &PeerConfig, own_origin: &str) -> Result<(), String> {
    Peer::from_config(peer, own_origin).map(|_| ())
}

/// Where a peer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeerState {
    /// Not contacted yet.
    Starting,
    /// Reachable; the mirror is caught up or catching up.
    Following,
    /// The last attempt failed; retrying with backoff.
    Unreachable,
    /// It answers, but its checkpoint does not verify as its log's under
    /// the key this node holds for it (another key, or another log at that
    /// address); retrying with backoff. Not a quarantine: nothing it
    /// signed is wrong, it is only not the log this node follows there.
    Unverified,
    /// Misbehaved; evidence kept, no longer followed.
    Quarantined,
    /// Removed by this node's operator: no longer followed or witnessed;
    /// what was copied is kept, and still counts.
    Removed,
}

impl PeerState {
    /// Whether the peer is followed (and asked) in this state: not once
    /// quarantined or removed.
    pub fn is_followed(self) -> bool {
        !matches!(self, PeerState::Quarantined | PeerState::Removed)
    }
}

/// A peer's status, as `GET /v1/peers` shows it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PeerStatus {
    /// The peer's URL.
    pub url: String,
    /// Its log's origin.
    pub origin: String,
    /// Its log key (note verifier key text).
    pub key: String,
    /// Where it stands.
    pub state: PeerState,
    /// Whether the two witness each other's checkpoints (never, once
    /// removed).
    #[serde(default)]
    pub witness: bool,
    /// Whether the node's configuration names it (then only a change there
    /// changes or removes it).
    #[serde(default)]
    pub configured: bool,
    /// Leaves of its log this node has verified and stored.
    pub mirrored: u64,
    /// The size of its latest checkpoint seen.
    pub remote_size: u64,
    /// The last problem, in plain words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When it last answered, Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_contact: Option<u64>,
    /// Why it is quarantined, and the evidence id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<evidence::Quarantine>,
}

impl PeerStatus {
    /// Moves to `state`, except out of a quarantine: only an operator lifts
    /// one (gossip about this peer may set it while its own round runs).
    pub(crate) fn set_state(&mut self, state: PeerState) {
        // Only adding the peer again brings back a removed one (as a new
        // entry).
        if self.state == PeerState::Removed {
            return;
        }
        if self.state != PeerState::Quarantined || state == PeerState::Quarantined {
            self.state = state;
        }
    }
}

/// One followed peer, shared by its follower task and the API.
#[derive(Debug)]
pub struct Followed {
    /// The peer.
    pub peer: Peer,
    status: Mutex<PeerStatus>,
    /// Set when an operator removes the peer: its follower stops.
    retired: tokio::sync::watch::Sender<bool>,
    /// Whether its follower task is running, so a removal can wait for it
    /// to stop before saying it has.
    running: tokio::sync::watch::Sender<bool>,
    /// Whether the peer has answered what it holds of this node's own log
    /// (see [`own_log`]); its follower asks each round until it has.
    pub(crate) own_log_answered: std::sync::atomic::AtomicBool,
}

impl Followed {
    fn new(peer: Peer) -> Followed {
        let status = PeerStatus {
            url: peer.url.clone(),
            origin: peer.origin.clone(),
            key: peer.config.key.clone(),
            state: PeerState::Starting,
            witness: peer.config.witness,
            configured: false,
            mirrored: 0,
            remote_size: 0,
            last_error: None,
            last_contact: None,
            quarantine: None,
        };
        Followed {
            peer,
            status: Mutex::new(status),
            retired: tokio::sync::watch::channel(false).0,
            running: tokio::sync::watch::channel(false).0,
            own_log_answered: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// A receiver that turns true when the peer is removed.
    pub(crate) fn retired(&self) -> tokio::sync::watch::Receiver<bool> {
        self.retired.subscribe()
    }

    /// Says whether the follower task runs; it sets this itself.
    pub(crate) fn set_running(&self, running: bool) {
        self.running.send_replace(running);
    }

    /// A copy of the status.
    pub fn status(&self) -> PeerStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut PeerStatus)) {
        f(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

/// Replication counters for `/metrics`.
#[derive(Debug, Default)]
pub struct ReplicationMetrics {
    /// Mirrored leaves verified and stored since start.
    pub leaves: AtomicU64,
    /// Rounds that failed to reach a peer since start (no answer, an
    /// error, or an answer too large).
    pub failures: AtomicU64,
    /// Evidence records stored by replication and gossip, all time.
    pub evidence: AtomicU64,
}

/// Every peer this node follows.
#[derive(Debug, Default)]
pub struct Replication {
    peers: RwLock<BTreeMap<String, Arc<Followed>>>,
    // Held while an operator adds or removes a peer, so that one change
    // (its records, its follower, its witness slot) is whole before the
    // next begins.
    changing: tokio::sync::Mutex<()>,
    // The follower tasks, awaited at shutdown.
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Counters for `/metrics`.
    pub metrics: ReplicationMetrics,
}

impl Replication {
    /// The peers from the configuration and those added at run time
    /// (`peer_file`), each with its stored quarantine, if any.
    pub(crate) fn open(
        config: &crate::config::Config,
        storage: &crate::storage::Storage,
    ) -> Result<Replication, StorageError> {
        let run_time = peer_file::RunTimePeers::load(storage)?;
        let mut configs: Vec<PeerConfig> = config.peers.clone();
        let named = configs.len();
        configs.extend(run_time.following);
        let r = Replication::default();
        // A run-time peer that cannot be followed stops the start: skipped,
        // a restored node would not wait for it before taking statements.
        let unusable = |problem: String| {
            StorageError::PeersFile(format!(
                "{} names a peer this node cannot follow ({problem}); with the node stopped, \
                 correct or remove that entry; nothing else in the data directory needs to change",
                peer_file::path_in(storage.data_dir()).display()
            ))
        };
        for (i, c) in configs.into_iter().enumerate() {
            match Peer::from_config(&c, &config.origin) {
                Ok(peer) => {
                    let (followed, new) = r.insert(peer, storage, false)?;
                    if new && i < named {
                        followed.update(|s| s.configured = true);
                    }
                }
                // The configuration's own were checked when it was read.
                Err(e) if i < named => tracing::warn!(problem = %e, "skipping a configured peer"),
                Err(e) => return Err(unusable(e)),
            }
        }
        // Peers removed by the operator stay listed, unfollowed, unless
        // followed again (then they were inserted above).
        for c in &run_time.removed {
            match Peer::from_config(c, &config.origin) {
                Ok(peer) => {
                    let (followed, new) = r.insert(peer, storage, false)?;
                    if new {
                        followed.update(|s| {
                            s.state = PeerState::Removed;
                            s.witness = false;
                        });
                    }
                }
                // Removed peers are not followed, nor waited for: only
                // their listing is lost.
                Err(e) => {
                    tracing::warn!(problem = %e, file = %peer_file::path_in(storage.data_dir()).display(),
                    "skipping a removed peer's entry")
                }
            }
        }
        r.metrics.evidence.store(
            storage.scan_in(space::EVIDENCE)?.len() as u64,
            Ordering::Relaxed,
        );
        Ok(r)
    }

    /// Adds a peer (if its origin is new, or in place of a removed one:
    /// `replace`) and returns it. What it reads from disk (its quarantine,
    /// how much of its log is copied) is read before the peer list is
    /// locked for writing: the sequencer, `/healthz` and the write handlers
    /// read that list during a restore wait; and a peer replaced is listed
    /// throughout, as the old entry and then the new.
    fn insert(
        &self,
        peer: Peer,
        storage: &crate::storage::Storage,
        replace: bool,
    ) -> Result<(Arc<Followed>, bool), StorageError> {
        if let Some(existing) = self.peer(&peer.origin).filter(|_| !replace) {
            return Ok((existing, false));
        }
        let followed = Arc::new(Followed::new(peer));
        let quarantine = evidence::quarantine_of(storage, &followed.peer.origin)?;
        let mirrored = match storage.existing_mirror(&followed.peer.origin)? {
            Some(m) => m.size()?,
            None => 0,
        };
        followed.update(|s| {
            s.mirrored = mirrored;
            if quarantine.is_some() {
                s.state = PeerState::Quarantined;
            }
            s.quarantine = quarantine;
        });
        let mut map = self.peers.write().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = map.get(&followed.peer.origin).filter(|_| !replace) {
            return Ok((Arc::clone(existing), false));
        }
        map.insert(followed.peer.origin.clone(), Arc::clone(&followed));
        Ok((followed, true))
    }

    pub(crate) fn track(&self, task: tokio::task::JoinHandle<()>) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }

    /// Waits until every follower task has ended (they end when the node
    /// begins closing).
    pub(crate) async fn stopped(&self) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for t in tasks {
            let _ = t.await;
        }
    }

    /// Every followed peer, by origin.
    pub fn peers(&self) -> Vec<Arc<Followed>> {
        self.peers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// The followed peer of `origin`.
    pub fn peer(&self, origin: &str) -> Option<Arc<Followed>> {
        self.peers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(origin)
            .cloned()
    }

    /// The URL of the peer whose log is `origin`, for routing hints.
    pub fn url_of(&self, origin: &str) -> Option<String> {
        self.peer(origin).map(|f| f.peer.url.clone())
    }

    /// The Prometheus lines for replication.
    pub fn render_metrics(&self) -> String {
        let mut out = String::new();
        let peers = self.peers();
        let _ = writeln!(
            out,
            "# HELP kaitiaki_replicated_leaves_total Peers' leaves verified and stored in mirrors since start.\n\
             # TYPE kaitiaki_replicated_leaves_total counter\n\
             kaitiaki_replicated_leaves_total {}",
            self.metrics.leaves.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP kaitiaki_replication_failures_total Replication rounds that failed since start: a peer did not answer, or answered an error, nonsense or more than the endpoint allows.\n\
             # TYPE kaitiaki_replication_failures_total counter\n\
             kaitiaki_replication_failures_total {}",
            self.metrics.failures.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP kaitiaki_replication_evidence_total Evidence of peers' misbehaviour kept by replication and gossip.\n\
             # TYPE kaitiaki_replication_evidence_total counter\n\
             kaitiaki_replication_evidence_total {}",
            self.metrics.evidence.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP kaitiaki_peer_mirrored_leaves Leaves of each peer's log held in its mirror.\n\
             # TYPE kaitiaki_peer_mirrored_leaves gauge"
        );
        for f in &peers {
            let s = f.status();
            let _ = writeln!(
                out,
                "kaitiaki_peer_mirrored_leaves{{origin=\"{}\"}} {}",
                s.origin, s.mirrored
            );
        }
        let _ = writeln!(
            out,
            "# HELP kaitiaki_peer_quarantined Whether each peer is quarantined (1) or not (0).\n\
             # TYPE kaitiaki_peer_quarantined gauge"
        );
        for f in &peers {
            let s = f.status();
            let q = u8::from(s.state == PeerState::Quarantined);
            let _ = writeln!(
                out,
                "kaitiaki_peer_quarantined{{origin=\"{}\"}} {q}",
                s.origin
            );
        }
        out
    }
}

/// Starts a follower task for every peer. Call from within a tokio
/// runtime; [`crate::serve`] does.
pub(crate) fn spawn_all(shared: &Arc<Shared>, sequencer: &crate::sequencer::SequencerHandle) {
    for followed in shared.replication.peers() {
        if followed.status().state != PeerState::Removed {
            follower::spawn(shared, sequencer.clone(), followed);
        }
    }
}

/// Adds a peer at run time: stores it (so it is followed after a restart)
/// and starts following it. Returns its status, and whether it was new.
pub(crate) fn add_peer(
    shared: &Arc<Shared>,
    sequencer: &crate::sequencer::SequencerHandle,
    config: PeerConfig,
) -> Result<(PeerStatus, bool), AddPeerError> {
    // Called off the async workers (it syncs storage), so it may block here.
    let _changing = shared.replication.changing.blocking_lock();
    let peer = Peer::from_config(&config, &shared.config.origin).map_err(AddPeerError::Invalid)?;
    let existing = shared.replication.peer(&peer.origin);
    let again = existing
        .as_ref()
        .is_some_and(|f| f.status().state == PeerState::Removed);
    if let Some(removed) = existing
        .as_ref()
        .filter(|f| again && f.peer.config.key != peer.config.key)
    {
        // The copy kept was checked under the old key; another key's
        // checkpoints could never extend it.
        return Err(AddPeerError::Conflict(format!(
            "this node keeps a copy of the log {} checked under key {}; it can follow that log \
             again only under the same key",
            peer.origin, removed.peer.config.key
        )));
    }
    if let Some(existing) = existing.filter(|_| !again) {
        let differs = existing.peer.url != peer.url || existing.peer.config.key != peer.config.key;
        if differs && existing.status().configured {
            return Err(AddPeerError::Conflict(format!(
                "the node's configuration names the log {} at {} with key {}; to follow it at \
                 another address or under another key, change its [[peers]] entry and restart \
                 the node",
                peer.origin, existing.peer.url, existing.peer.config.key
            )));
        }
        if differs {
            return Err(AddPeerError::Conflict(format!(
                "this node already follows the log {} at {} with key {}; to follow it at another \
                 address, remove it first (kaitiaki peer remove {}) and add it again, or give it \
                 a [[peers]] entry with that URL in the node's configuration and restart the node \
                 (an entry there takes the place of one added at run time)",
                peer.origin, existing.peer.url, existing.peer.config.key, peer.origin
            )));
        }
        return Ok((existing.status(), false));
    }
    // The peer's entry, and (followed again) the removed record gone, in
    // one durable write.
    let mut run_time = peer_file::RunTimePeers::load(&shared.storage)?;
    run_time.follow(&peer.origin, config);
    run_time.save(shared.storage.data_dir())?;
    let (followed, new) = shared.replication.insert(peer, &shared.storage, again)?;
    if new {
        // A node still waiting to hear what its peers hold of its log (a
        // restore whose run-time peers are added again) waits for this one
        // too, as for every peer followed (`own_log::Peers`).
        follower::spawn(shared, sequencer.clone(), Arc::clone(&followed));
        if let Some(index) = witness_both_ways(shared, &followed.peer) {
            crate::witness::client::spawn_one(shared, index);
        }
        tracing::info!(origin = %followed.peer.origin, url = %followed.peer.url,
            witness = followed.peer.config.witness, "following a new peer, as its operator asked");
    }
    Ok((followed.status(), new))
}

/// Stops following the peer whose log is `origin`, for good: it is
/// recorded as removed, its follower stops (this waits for that, up to a
/// few seconds), and it no longer witnesses this node nor is witnessed by
/// it. It stays listed, as removed, with the key its mirror was verified
/// under: what was copied of its log stays, and what it said still counts
/// (the state is a fold of every leaf held). A peer the configuration
/// names is refused.
pub(crate) async fn remove_peer(
    shared: &Arc<Shared>,
    origin: &str,
) -> Result<PeerStatus, RemovePeerError> {
    let _changing = shared.replication.changing.lock().await;
    let Some(followed) = shared
        .replication
        .peer(origin)
        .filter(|f| f.status().state != PeerState::Removed)
    else {
        return Err(RemovePeerError::NotFollowed(format!(
            "this node does not follow a log named {origin:?}; `kaitiaki peer list` shows those it does"
        )));
    };
    if followed.status().configured {
        return Err(RemovePeerError::Refused(format!(
            "the node's configuration names {origin} (a [[peers]] entry in its configuration \
             file, or KAITIAKI_PEERS): remove it there and restart the node"
        )));
    }
    let storage_shared = Arc::clone(shared);
    let key = origin.to_owned();
    // Recorded durably, in one write, before the answer: off the async
    // workers.
    let removed = Arc::clone(&followed);
    tokio::task::spawn_blocking(move || {
        let mut run_time = peer_file::RunTimePeers::load(&storage_shared.storage)?;
        run_time.remove(&key, removed.peer.config.clone());
        run_time.save(storage_shared.storage.data_dir())?;
        // No longer followed, so no longer waited for: a wait that only
        // it held up is over if another peer answered.
        removed.update(|s| {
            s.state = PeerState::Removed;
            s.witness = false;
        });
        storage_shared
            .own_log
            .peers_changed(&storage_shared.replication);
        Ok::<_, StorageError>(())
    })
    .await
    .map_err(|e| RemovePeerError::Storage(StorageError::Corrupt(e.to_string())))??;
    // Only peers added at run time are removed, and `retire` leaves what
    // the configuration names (enough for `witness.require`) in place.
    shared.witness.retire(origin, &witness_key(&followed.peer));
    followed.retired.send_replace(true);
    let mut running = followed.running.subscribe();
    let stopped = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        running.wait_for(|r| !*r),
    )
    .await
    .is_ok();
    if !stopped {
        tracing::warn!(%origin, "the peer's follower is still storing a batch; it stops after it");
    }
    tracing::info!(%origin, url = %followed.peer.url, "stopped following the peer, as its operator asked");
    Ok(followed.status())
}

/// Why a peer could not be removed.
#[derive(Debug, thiserror::Error)]
pub enum RemovePeerError {
    /// No followed peer has that origin.
    #[error("{0}")]
    NotFollowed(String),
    /// The configuration names it.
    #[error("{0}")]
    Refused(String),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A peer's witness key: its log key under the cosignature type.
pub(crate) fn witness_key(peer: &Peer) -> kaitiaki_protocol::cosignature::CosignatureVerifier {
    kaitiaki_protocol::cosignature::CosignatureVerifier::new(
        peer.verifier.name().clone(),
        *peer.verifier.public_key(),
    )
}

/// Makes a peer (unless configured with `witness = false`) a witnessed log
/// and a witness of this node; returns the new witness's index if it was
/// not one already. A peer's witness key is its log key under the
/// cosignature type (see [`crate::witness`]).
pub(crate) fn witness_both_ways(shared: &Shared, peer: &Peer) -> Option<usize> {
    if !peer.config.witness {
        return None;
    }
    let verifier = witness_key(peer);
    shared.witness.add_peer(
        peer.verifier.clone(),
        crate::witness::WitnessPeer {
            url: peer.url.clone(),
            key_text: verifier.to_string(),
            verifier,
        },
    )
}

/// Why a peer could not be added.
#[derive(Debug, thiserror::Error)]
pub enum AddPeerError {
    /// The URL or key is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// Another peer with this origin is followed already.
    #[error("{0}")]
    Conflict(String),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}
