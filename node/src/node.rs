//! [`Node`]: opening the data directory, recovering, and running the
//! sequencer; [`serve`] and [`run`]: the HTTP server around it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use kaitiaki_node::{Config, Node};
//! let node = Node::open(Config::in_dir("./kaitiaki-data"))?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! println!("listening on http://{}/", listener.local_addr()?);
//! kaitiaki_node::serve(node, listener, async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await?;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use kaitiaki_protocol::note::NoteVerifier;
use kaitiaki_protocol::{Hash, PublicKey};
use tokio::sync::{broadcast, watch};

use crate::clock::Clock;
use crate::config::{Config, ConfigError};
use crate::events::{Event, EVENT_BUFFER};
use crate::identity::{Identity, IdentityError};
use crate::metrics::Metrics;
use crate::sequencer::{self, Sequencer, SequencerHandle};
use crate::storage::recovery::{recover, RecoveryReport};
use crate::storage::{Storage, StorageError};

/// Why a node could not start or serve.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The node key could not be loaded or created.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// Storage could not be opened or recovered.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Binding, serving or starting threads failed.
    #[error("server I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

/// The latest published checkpoint: what readers may rely on.
#[derive(Clone, Debug)]
pub struct Published {
    /// The tree size.
    pub size: u64,
    /// The root hash at that size.
    pub root: Hash,
    /// The signed note text (C2SP tlog-checkpoint).
    pub note: String,
}

/// State shared by the sequencer threads and the HTTP handlers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Config,
    // The time leaves are sequenced at and queries answered at.
    pub clock: crate::clock::Clock,
    pub storage: Storage,
    pub identity: Identity,
    pub metrics: Metrics,
    pub recovery: RecoveryReport,
    pub witness: crate::witness::Witness,
    pub replication: crate::replication::Replication,
    // Readers see the log up to this checkpoint and no further: everything
    // it covers is durable and committed to sled.
    published: RwLock<Arc<Published>>,
    pub events: broadcast::Sender<Arc<Event>>,
    // Set when a write or sync failed: the node then refuses writes until
    // restarted, because it cannot know what reached the disk.
    pub failed: AtomicBool,
    // Why, in words: the first failure (see `Shared::fail_writes`).
    pub failure: std::sync::Mutex<Option<String>>,
    // The last batch the commit thread applied to sled.
    pub committed_seq: AtomicU64,
    // The latest sequenced_at in Unix ms, so the log's time never goes back.
    pub last_time: AtomicI64,
    // Flipped at shutdown so long-lived streams end and the server can drain.
    pub closing: watch::Sender<bool>,
    // What peers' copies of this log say of it: see `replication::own_log`.
    pub own_log: crate::replication::own_log::OwnLogCheck,
    // The first proof made from the tree files that did not verify: the
    // files are damaged, and `/healthz` says so (`api::log`).
    pub tree_damage: std::sync::Mutex<Option<String>>,
    // The mirrors whose damaged tree files a proof has revealed, so that
    // each is logged at error once, not at every request that meets it.
    pub mirror_tree_damage: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl Shared {
    /// The latest published checkpoint.
    pub fn published(&self) -> Arc<Published> {
        Arc::clone(&self.published.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Stops writes after a write or sync failed, keeping the first
    /// failure's words for `/healthz` and refused writers.
    pub fn fail_writes(&self, what: &str, e: &dyn std::fmt::Display) {
        {
            let mut kept = self.failure.lock().unwrap_or_else(|p| p.into_inner());
            if kept.is_none() {
                *kept = Some(e.to_string());
            }
        }
        self.failed.store(true, Ordering::Release);
        tracing::error!(error = %e,
            "{what}; the node takes no more writes until it is restarted (every write it \
             acknowledged is kept): mend the cause, such as a full disk, then restart it");
    }

    /// Why writes stopped, if they did.
    pub fn failure(&self) -> Option<String> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        let kept = self
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Some(kept.unwrap_or_else(|| "a write or sync failed".to_owned()))
    }

    /// What damage to the tree files a proof revealed, if any.
    pub fn tree_damage(&self) -> Option<String> {
        self.tree_damage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records damage to the tree files that a proof revealed: logged the
    /// first time, and kept for `/healthz`.
    pub fn found_tree_damage(&self, problem: &str) {
        let mut kept = self.tree_damage.lock().unwrap_or_else(|p| p.into_inner());
        if kept.is_none() {
            tracing::error!(%problem, "the tree files are damaged");
            *kept = Some(problem.to_owned());
        }
    }

    /// Records damage to a mirror's tree files that a proof revealed:
    /// logged at error the first time for that mirror, at debug after.
    pub fn found_mirror_tree_damage(&self, origin: &str, problem: &str) {
        let first = self
            .mirror_tree_damage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(origin.to_owned());
        if first {
            tracing::error!(%problem, "a mirror's tree files are damaged");
        } else {
            tracing::debug!(%problem, "a mirror's tree files are damaged");
        }
    }

    /// The mirrors whose tree files a proof has found damaged.
    pub fn mirror_tree_damage(&self) -> Vec<String> {
        self.mirror_tree_damage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Publishes a checkpoint (after its leaves are durable and committed).
    pub fn publish(&self, p: Published) {
        *self.published.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(p);
    }
}

/// Refuses to publish a root the tree files give that is not the one the
/// node signed for that size: the stored hashes it was computed from are
/// damaged, and every proof made from them would mislead.
pub(crate) fn signed_root_is(note: &[u8], size: u64, root: &Hash) -> Result<(), StorageError> {
    let in_db = |why: String| {
        StorageError::Corrupt(format!(
            "the checkpoint the database (db/) keeps for size {size} {why}; with the node \
             stopped, move db/ aside and start the node, which rebuilds it from the log"
        ))
    };
    let signed =
        crate::storage::checkpoint_in(note).map_err(|e| in_db(format!("cannot be read ({e})")))?;
    if signed.size() != size {
        return Err(in_db(format!("is of size {}", signed.size())));
    }
    if signed.root() != root {
        return Err(StorageError::Corrupt(format!(
            "the tree files (tree/) give the root {} at size {size}, but the node signed {} \
             for that size: they are damaged. With the node stopped, `kaitiaki log verify` on \
             its data directory names the damaged hash; move tree/ aside and start the node, \
             which rebuilds it from the log",
            root,
            signed.root()
        )));
    }
    Ok(())
}

/// Refuses a node configured with another network than its log's. Every
/// statement in a node's log was signed for its network, and its peers
/// refuse statements of any other: a node started with a mistyped network
/// would take statements that get it quarantined by every peer, for good.
/// Read from the first record in the segments, so a restore with no
/// database is checked too, before it is rebuilt.
fn check_network(storage: &Storage, network: &str) -> Result<(), StorageError> {
    let Some(bytes) = storage.first_record()? else {
        return Ok(());
    };
    let leaf = kaitiaki_protocol::Leaf::from_bytes(&bytes)
        .map_err(|e| StorageError::Corrupt(format!("leaf 0: {e}")))?;
    let verified = leaf
        .into_envelope()
        .open()
        .map_err(|e| StorageError::Corrupt(format!("leaf 0: {e}")))?;
    let found = &verified.statement().network;
    if found != network {
        return Err(StorageError::Mismatch(format!(
            "this data directory holds a log of the network {found:?}, but the node is \
             configured with network {network:?}; set network = {found:?} in its \
             configuration (or KAITIAKI_NETWORK), or use a new data directory"
        )));
    }
    Ok(())
}

/// A running node: storage recovered, sequencer started, ready to serve.
///
/// Opening is blocking (it may re-index a tail after a crash); from async
/// code call it in `spawn_blocking` if start-up time matters.
#[derive(Debug)]
pub struct Node {
    shared: Arc<Shared>,
    sequencer: Sequencer,
}

impl Shared {
    /// Every metric the node keeps, in the Prometheus text format: the
    /// node's own, then the witness's.
    pub(crate) fn metrics_text(&self) -> String {
        let mut text = self.metrics.render();
        text.push_str(&self.witness.render_metrics());
        text.push_str(&self.replication.render_metrics());
        text
    }
}

impl Node {
    /// Opens (or creates) the node in `config.data_dir`: loads or creates
    /// the node key, reconciles sled with the segment files, and starts the
    /// sequencer.
    pub fn open(config: Config) -> Result<Node, NodeError> {
        Node::open_with_clock(config, Clock::system())
    }

    /// Opens a node whose clock is `clock` rather than the system's: see
    /// [`crate::clock`]. Nodes given clones of one clock keep one time.
    pub fn open_with_clock(config: Config, clock: Clock) -> Result<Node, NodeError> {
        config.validate()?;
        if !crate::memory::tuned() {
            tracing::warn!(
                "jemalloc does not run with the node's options (is _RJEM_MALLOC_CONF set? unset \
                 it); memory may not stay flat and writes may be slower"
            );
        }
        // The data directory's lock first: a directory another node holds
        // is said to be in use, whatever else is wrong with it.
        let storage = Storage::open(&config.data_dir, config.storage.cache_bytes)?;
        // Before anything of this start is written or rebuilt.
        check_network(&storage, &config.network)?;
        let recorded = storage.signed_by()?.is_some();
        // Records in the segments, indexed or not (a restore brings them
        // without the database that names their key).
        let holds_records = storage.holds_records()?;
        // A log with no index of it may be a restored copy shorter than
        // what peers hold, and a key found in a directory whose database
        // never recorded it came with no log at all (a restore from the key
        // alone, or a key made before the node's first start): new
        // statements wait until each peer followed has been asked
        // (`replication::own_log`). That is kept on disk before anything of
        // this start is, so a crash or an error here cannot lose it.
        let own_log = crate::replication::own_log::OwnLogCheck::open(&config.data_dir)?;
        let unindexed = storage.indexed_size()? == 0 && holds_records;
        let mut begun_for_records = false;
        if unindexed {
            begun_for_records = own_log.begin(
                "this node's log was found with no index of it (restored, or its database lost)"
                    .to_owned(),
            )?;
        } else if !recorded && config.data_dir.join(crate::identity::KEY_FILE).exists() {
            own_log.begin(
                "this node's key was found in a data directory that held no log of it (restored \
                 from the key alone, or made before the node's first start)"
                    .to_owned(),
            )?;
        }
        // A key is made only for a directory with no log: records with no
        // key beside them were signed with one that must be restored.
        let identity = Identity::load_or_create_for(
            &config.data_dir,
            &config.origin,
            recorded || holds_records,
        )?;
        storage.check_identity(&config.origin, identity.public_key().as_bytes())?;
        if let Some(found) = storage.settle_state_version()? {
            tracing::warn!(
                found,
                current = kaitiaki_governance::STATE_VERSION,
                "the governance state was built under another state version; it is being \
                 rebuilt from the logs, which takes a while on a large log; its progress is \
                 logged at info level"
            );
        }
        let last_time = storage.last_time()?.unix_millis();
        let witness = crate::witness::Witness::open(
            &config.data_dir,
            &with_peers_as_witnesses(&config),
            &identity,
        )?;
        let replication = crate::replication::Replication::open(&config, &storage)?;
        // A restore with no peer to ask takes statements at once: nothing
        // can say that a copy of its log elsewhere holds more.
        if own_log.waits_for_peers()
            && crate::replication::own_log::Peers::still_to_answer(&replication).is_empty()
        {
            tracing::warn!(
                "this node's log looks restored, and it follows no peers, so nothing checks \
                 that no copy of its log elsewhere holds more: a node that takes a statement on \
                 a log shorter than a copy of it is refused by every peer for good. If it had \
                 peers (peers.toml beside node.key, or the configuration), stop it and restore \
                 them first; `kaitiaki log verify` on a peer's copy (mirrors/<origin>/) says how \
                 much of this log it holds"
            );
        }
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let mut shared = Shared {
            config,
            clock,
            storage,
            identity,
            metrics: Metrics::default(),
            recovery: RecoveryReport::default(),
            witness,
            replication,
            published: RwLock::new(Arc::new(Published {
                size: 0,
                root: kaitiaki_protocol::merkle::empty_root(),
                note: String::new(),
            })),
            events,
            failed: AtomicBool::new(false),
            failure: std::sync::Mutex::new(None),
            committed_seq: AtomicU64::new(0),
            last_time: AtomicI64::new(last_time),
            closing: watch::channel(false).0,
            own_log,
            tree_damage: std::sync::Mutex::new(None),
            mirror_tree_damage: std::sync::Mutex::new(std::collections::BTreeSet::new()),
        };

        let indexed = shared.storage.indexed_size()?;
        // The derived files are trusted only up to their last sync; the rest
        // is derived again from the segments, as is whatever sled lacks.
        let start = shared.storage.trim_derived(indexed)?;
        let mut compact = shared.storage.compact_range(start)?;
        let (writer, report) = recover(
            &shared.storage,
            shared.config.storage.segment_bytes,
            start,
            |first, records| sequencer::reindex(&shared, &mut compact, first, records, indexed),
        )?;
        shared.storage.sync_derived()?;
        if report.size != compact.size() {
            return Err(StorageError::Corrupt(format!(
                "recovery found {} leaves but the tree has {}",
                report.size,
                compact.size()
            ))
            .into());
        }
        let size = compact.size();
        let root = compact.root();
        let note = match shared.storage.checkpoint_at(size)? {
            Some(n) => {
                signed_root_is(&n, size, &root)?;
                n
            }
            None => {
                let note = sequencer::sign_checkpoint(&shared, size, root)?;
                if size == 0 {
                    // Kept, so that the data directory of a node that only
                    // follows others has a checkpoint to audit from.
                    shared.storage.keep_empty_checkpoint(&note)?;
                }
                note
            }
        };
        shared.publish(Published {
            size,
            root,
            note: String::from_utf8_lossy(&note).into_owned(),
        });
        shared.last_time = AtomicI64::new(shared.storage.last_time()?.unix_millis());
        shared.metrics.leaves.store(size, Ordering::Relaxed);
        shared
            .metrics
            .reindexed_at_startup
            .store(report.reindexed, Ordering::Relaxed);
        shared.recovery = report;
        tracing::info!(
            origin = %shared.config.origin,
            size,
            reindexed = report.reindexed,
            truncated_bytes = report.truncated_bytes,
            "node opened"
        );

        // A wait begun above for records that recovery found none of (a
        // torn first record, cut off) was needless; the rest, and one kept
        // from an earlier start, wait for whichever peers are followed
        // when a statement comes (see `replication::own_log::Peers`).
        if begun_for_records && report.size == 0 && recorded {
            shared.own_log.abandon();
        }
        let mirrors = sequencer::mirror::recover_mirrors(&shared)?;
        for followed in shared.replication.peers() {
            // Peers added at run time in an earlier life witness both ways
            // too, unless their operator removed them.
            if followed.status().state != crate::replication::PeerState::Removed {
                crate::replication::witness_both_ways(&shared, &followed.peer);
            }
            // Each mirror's size was read before its recovery, which may
            // have folded it again (a state version change) or re-indexed a
            // tail: show what it holds now, not 0 until the next fetch.
            if let Some(m) = mirrors.get(&followed.peer.origin) {
                let size = m.writer.next_leaf();
                followed.update(|s| s.mirrored = size);
            }
            let status = followed.status();
            tracing::info!(origin = %status.origin, url = %status.url, state = ?status.state,
                copied = status.mirrored, "a peer this node follows");
        }

        let shared = Arc::new(shared);
        let sequencer = Sequencer::start(Arc::clone(&shared), writer, compact, mirrors)?;
        Ok(Node { shared, sequencer })
    }

    /// What start-up recovery found and did.
    pub fn recovery(&self) -> RecoveryReport {
        self.shared.recovery
    }

    /// The node's configuration.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The node's public key (it signs checkpoints).
    pub fn public_key(&self) -> PublicKey {
        self.shared.identity.public_key()
    }

    /// The note verifier key of the log: what witnesses and clients use to
    /// check its checkpoints (`<origin>+<key id>+<base64>`).
    pub fn verifier(&self) -> NoteVerifier {
        self.shared.identity.verifier()
    }

    /// The latest published checkpoint.
    pub fn checkpoint(&self) -> Arc<Published> {
        self.shared.published()
    }

    /// A handle that submits statements directly, bypassing HTTP (for
    /// tools and tests that already hold verified statements).
    pub fn sequencer(&self) -> SequencerHandle {
        self.sequencer.handle()
    }

    /// The node's metrics in the Prometheus text format.
    pub fn metrics_text(&self) -> String {
        self.shared.metrics_text()
    }

    /// The node's storage, for tools that read the log in-process (proofs,
    /// audits, benchmarks). Writes go through [`Node::sequencer`] only.
    pub fn storage(&self) -> &Storage {
        &self.shared.storage
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Finishes every write already submitted, stops the sequencer and
    /// flushes sled. If nothing else still holds the node's storage, it then
    /// has sled write a current snapshot ([`crate::storage::snapshot_closed`]),
    /// so that the next start does not replay sled's log. Blocking; see
    /// [`Node::shutdown`] for async callers.
    pub fn close(self) -> Result<(), NodeError> {
        let Node { shared, sequencer } = self;
        let _ = shared.closing.send(true);
        sequencer.stop();
        if !shared.failed.load(Ordering::Acquire) {
            shared.storage.sync_derived()?;
            shared.storage.sync_mirrors()?;
        }
        shared.storage.flush()?;
        let data_dir = shared.config.data_dir.clone();
        let cache_bytes = shared.config.storage.cache_bytes;
        match Arc::try_unwrap(shared) {
            Ok(shared) => {
                // Closes sled: the last handle to it.
                drop(shared);
                let started = std::time::Instant::now();
                match crate::storage::snapshot_closed(&data_dir, cache_bytes) {
                    Ok(()) => tracing::info!(
                        ms = started.elapsed().as_millis() as u64,
                        "storage snapshot written for a quick next start"
                    ),
                    Err(e) => tracing::warn!(
                        error = %e,
                        "could not write a storage snapshot at shutdown; the next start replays sled's log"
                    ),
                }
            }
            Err(_) => tracing::debug!(
                "storage still in use elsewhere in this process; no snapshot at shutdown"
            ),
        }
        Ok(())
    }

    /// [`Node::close`] from async code.
    pub async fn shutdown(self) -> Result<(), NodeError> {
        tokio::task::spawn_blocking(move || self.close())
            .await
            .map_err(|e| NodeError::Io(std::io::Error::other(e)))?
    }
}

/// The `[witness]` section with every configured peer (unless it says
/// `witness = false`) added both ways: this node witnesses the peer's log,
/// and asks the peer to witness its own. A peer's witness key is its log
/// key under the cosignature type (see [`crate::witness`]).
pub(crate) fn with_peers_as_witnesses(config: &Config) -> crate::config::WitnessConfig {
    let mut w = config.witness.clone();
    for peer in config.peers.iter().filter(|p| p.witness) {
        let Ok(p) = crate::replication::Peer::from_config(peer, &config.origin) else {
            continue;
        };
        if !w.logs.iter().any(|l| l.key.trim() == peer.key.trim()) {
            w.logs.push(crate::config::WitnessedLog {
                origin: None,
                key: peer.key.clone(),
            });
        }
        let key = crate::replication::witness_key(&p).to_string();
        if !w.witnesses.iter().any(|x| x.key.trim() == key) {
            w.witnesses.push(crate::config::WitnessPeer {
                url: p.url.clone(),
                key,
            });
        }
    }
    w
}

/// Serves `node` on `listener` until `shutdown` completes, then stops
/// accepting, lets in-flight requests finish (writes included), ends event
/// streams, and closes the node.
pub async fn serve(
    node: Node,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    let app = crate::api::app(&node);
    tracing::info!(addr = %listener.local_addr()?, "listening");
    crate::witness::client::spawn(&node.shared);
    crate::replication::spawn_all(&node.shared, &node.sequencer.handle());
    let closing = node.shared.closing.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight requests");
        // Event streams never end by themselves; tell them to.
        let _ = closing.send(true);
    };
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .await?;
    // The server has stopped; make sure nothing else still holds storage.
    let _ = node.shared.closing.send(true);
    node.shared.replication.stopped().await;
    node.shutdown().await
}
