//! Witnessing: every node is a C2SP `tlog-witness`, and every node gets its
//! own checkpoints cosigned by the witnesses it is configured with.
//!
//! Read in this order:
//! 1. This file — [`Witness`]: the witness key, the logs it witnesses, the
//!    witnesses it asks, and its sled trees.
//! 2. [`server`] — `POST /add-checkpoint` exactly as C2SP tlog-witness
//!    defines it, with the size check and the store of the new checkpoint
//!    made atomic by a sled compare-and-swap, and conflicting checkpoints
//!    kept as evidence.
//! 3. [`client`] — the background task that asks each configured witness to
//!    cosign the node's latest checkpoint, learning the size each witness
//!    holds from its 409 answers, with backoff; it never touches the write
//!    path.
//! 4. [`policy`] — which checkpoint `/v1/checkpoint` serves, with which
//!    cosignatures, under the optional k-of-n publish policy.
//!
//! **The witness key is the node key.** A node cosigns with its own Ed25519
//! key under its origin as key name, with the cosignature signature type
//! (0x04), so its witness key id differs from its log key id. This is safe
//! because of the origin rule (PROTOCOL.md §7.5): checkpoint texts,
//! cosigned messages and DSSE payloads are disjoint by their first bytes.
//! It also means a peer known by origin and log public key (what replication
//! needs) is known as a witness too:
//! `CosignatureVerifier::new(origin, log key)`.
//!
//! **Storage.** The witness keeps its own small sled database in
//! `<data dir>/witness/`, apart from the log's, with four trees:
//!
//! | tree | key | value |
//! |---|---|---|
//! | `logs` | origin | the latest checkpoint note cosigned for that log, as received |
//! | `evidence` | SHA-256 of the record's kind and both notes | an [`Evidence`] record, JSON |
//! | `cosigned` | tree size (u64 BE) | this node's checkpoint note at that size, with the cosignature lines collected for it |
//! | `witnessed_by` | witness verifier key text | the size that witness last cosigned for this log (u64 BE) |
//!
//! Everything here is rebuildable or re-learnable except `logs` and
//! `evidence`, which are the witness's memory: losing `logs` would let a
//! log roll back past this witness unnoticed.

pub mod client;
pub mod policy;
pub mod server;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use base64::{engine::general_purpose::STANDARD, Engine as _};
use kaitiaki_protocol::checkpoint::check_origin;
use kaitiaki_protocol::cosignature::{CosignatureVerifier, Cosigner};
use kaitiaki_protocol::note::{NoteSigner, NoteVerifier, Verifier, SIGNER_KEY_PREFIX};
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, WitnessConfig};
use crate::identity::Identity;
use crate::node::NodeError;
use crate::storage::StorageError;

pub use server::routes;

/// The name of the witness's sled directory inside the data directory.
pub const WITNESS_DIR: &str = "witness";

/// A witness this node asks to cosign its checkpoints.
#[derive(Clone, Debug)]
pub struct WitnessPeer {
    /// Its submission prefix, without a trailing `/`.
    pub url: String,
    /// Its cosignature verifier key.
    pub verifier: CosignatureVerifier,
    /// The verifier key text, as configured (the key of its `witnessed_by` entry).
    pub key_text: String,
}

/// Witness counters for `/metrics`.
#[derive(Debug, Default)]
pub struct WitnessMetrics {
    /// `add-checkpoint` requests answered 200 with a cosignature.
    pub cosigned: AtomicU64,
    /// `add-checkpoint` requests answered 409 (size or root conflict).
    pub conflicts: AtomicU64,
    /// `add-checkpoint` requests answered 422 (consistency proof failed).
    pub bad_proofs: AtomicU64,
    /// Evidence records stored (equivocations and failed proofs), all time.
    pub evidence: AtomicU64,
    /// Of which equivocations: two signed checkpoints of one size, two roots.
    pub equivocations: AtomicU64,
    /// Valid cosignatures collected from this node's witnesses since start.
    pub collected: AtomicU64,
    /// Requests to this node's witnesses that failed (network, status, or
    /// an invalid cosignature) since start.
    pub ask_failures: AtomicU64,
}

/// Conflicting signed checkpoints of a witnessed log, kept as evidence.
///
/// Both notes verify under the log's configured key (the witness checked
/// that before storing), so an `equivocation` record proves, with the
/// protocol crate alone, that the log signed two trees of one size. A
/// `proof_failed` record is weaker: the presented checkpoint came with a
/// consistency proof from the held one that did not verify, which may be
/// the log's fork or only a bad proof from whoever submitted it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// `equivocation` or `proof_failed`.
    pub kind: String,
    /// The log's origin.
    pub origin: String,
    /// The checkpoint note the witness held (and had cosigned).
    pub held: String,
    /// The conflicting checkpoint note that was presented.
    pub presented: String,
    /// The old size the request named.
    pub old_size: u64,
    /// The consistency proof lines the request carried (base64).
    pub proof: Vec<String>,
    /// When the witness received it, Unix seconds.
    pub received_at: u64,
}

/// The witness: its key, the logs it witnesses, the witnesses it asks, and
/// its sled trees. One per node, in the node's shared state.
#[derive(Debug)]
pub struct Witness {
    cosigner: Cosigner,
    // Both grow when a peer is added at run time. A removed peer's log
    // leaves `logs`; its witness leaves an empty slot in `peers`, which is
    // only ever appended to, so an index into it stays valid.
    logs: RwLock<BTreeMap<String, NoteVerifier>>,
    peers: RwLock<Vec<Option<WitnessPeer>>>,
    // How many of the first `peers`, and which `logs`, the configuration
    // names: those are never removed at run time.
    configured_peers: usize,
    configured_logs: std::collections::BTreeSet<String>,
    require: usize,
    db: sled::Db,
    // The database's directory (its file is synced by [`Witness::flush`]).
    dir: std::path::PathBuf,
    held: sled::Tree,
    evidence: sled::Tree,
    cosigned: sled::Tree,
    witnessed_by: sled::Tree,
    // The newest size known to meet the publish policy.
    best: std::sync::Mutex<Option<u64>>,
    /// Counters for `/metrics`.
    pub metrics: WitnessMetrics,
}

fn invalid(field: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        problem: problem.into(),
    }
}

/// The logs to witness, by origin, from the configuration.
fn witnessed_logs(config: &WitnessConfig) -> Result<BTreeMap<String, NoteVerifier>, ConfigError> {
    let mut logs = BTreeMap::new();
    for log in &config.logs {
        let verifier = NoteVerifier::parse(log.key.trim())
            .map_err(|e| invalid("witness.logs.key", format!("{:?}: {e}", log.key)))?;
        let origin = match &log.origin {
            Some(o) => o.clone(),
            None => Verifier::name(&verifier).as_str().to_owned(),
        };
        check_origin(&origin).map_err(|e| invalid("witness.logs.origin", e.to_string()))?;
        if logs.insert(origin.clone(), verifier).is_some() {
            return Err(invalid(
                "witness.logs",
                format!("the log {origin:?} is listed twice"),
            ));
        }
    }
    Ok(logs)
}

/// The witnesses to ask, from the configuration.
fn witness_peers(config: &WitnessConfig) -> Result<Vec<WitnessPeer>, ConfigError> {
    let mut peers: Vec<WitnessPeer> = Vec::new();
    for w in &config.witnesses {
        let key_text = w.key.trim().to_owned();
        let verifier = CosignatureVerifier::parse(&key_text)
            .map_err(|e| invalid("witness.witnesses.key", format!("{:?}: {e}", w.key)))?;
        let url = w.url.trim().trim_end_matches('/').to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(invalid(
                "witness.witnesses.url",
                format!("{:?} is not an http:// or https:// URL", w.url),
            ));
        }
        if peers.iter().any(|p| p.verifier == verifier) {
            return Err(invalid(
                "witness.witnesses",
                format!("the witness {key_text:?} is listed twice"),
            ));
        }
        peers.push(WitnessPeer {
            url,
            verifier,
            key_text,
        });
    }
    Ok(peers)
}

/// Checks the `[witness]` section: key texts, URLs, and `require <= n`.
pub fn check_config(config: &WitnessConfig) -> Result<(), ConfigError> {
    witnessed_logs(config)?;
    let peers = witness_peers(config)?;
    if config.require > peers.len() {
        return Err(invalid(
            "witness.require",
            format!(
                "requires {} cosignatures on each checkpoint it serves, but the configuration \
                 names only {} witnesses: those under [[witness.witnesses]] (url and key) and the \
                 [[peers]] not marked witness = false. Peers added with `kaitiaki peer add` \
                 cosign too, but the policy counts only those the configuration names, so that \
                 removing one at run time cannot stop the node serving checkpoints; name more \
                 there, or lower witness.require",
                config.require,
                peers.len()
            ),
        ));
    }
    Ok(())
}

/// The cosigner for a node key: the same Ed25519 key, named by the origin,
/// with the cosignature signature type. The seed is read from the signer
/// key text (PROTOCOL.md §7.3), the one form `NoteSigner` gives it out in.
pub fn cosigner_for(signer: &NoteSigner) -> Option<Cosigner> {
    let text = signer.to_signer_key_text();
    let rest = text.strip_prefix(SIGNER_KEY_PREFIX)?;
    let mut fields = rest.splitn(3, '+');
    let (_name, _id, b64) = (fields.next()?, fields.next()?, fields.next()?);
    let raw = STANDARD.decode(b64).ok()?;
    let seed: [u8; 32] = raw.get(1..)?.try_into().ok()?;
    Some(Cosigner::from_seed(signer.name().clone(), &seed))
}

impl Witness {
    /// Opens the witness's sled database under `data_dir` and reads its
    /// configuration.
    pub fn open(
        data_dir: &Path,
        config: &WitnessConfig,
        identity: &Identity,
    ) -> Result<Witness, NodeError> {
        let logs = witnessed_logs(config)?;
        let peers = witness_peers(config)?;
        let cosigner = cosigner_for(identity.signer()).ok_or_else(|| {
            NodeError::Storage(StorageError::Corrupt(
                "the node key cannot be read as a witness key".into(),
            ))
        })?;
        let dir = data_dir.join(WITNESS_DIR);
        let db = sled::Config::new()
            .path(&dir)
            .cache_capacity(4 << 20)
            .flush_every_ms(Some(1000))
            .open()
            .map_err(StorageError::from)?;
        let open = |name: &str| db.open_tree(name).map_err(StorageError::from);
        let witness = Witness {
            held: open("logs")?,
            evidence: open("evidence")?,
            cosigned: open("cosigned")?,
            witnessed_by: open("witnessed_by")?,
            db: db.clone(),
            dir: dir.clone(),
            cosigner,
            configured_peers: peers.len(),
            configured_logs: logs.keys().cloned().collect(),
            logs: RwLock::new(logs),
            peers: RwLock::new(peers.into_iter().map(Some).collect()),
            require: config.require,
            best: std::sync::Mutex::new(None),
            metrics: WitnessMetrics::default(),
        };
        *witness.best.lock().unwrap_or_else(|p| p.into_inner()) = witness.find_policy_size()?;
        let mut equivocations = 0;
        for item in witness.evidence.iter() {
            let (_, v) = item.map_err(StorageError::from)?;
            if serde_json::from_slice::<Evidence>(&v).is_ok_and(|e| e.kind == "equivocation") {
                equivocations += 1;
            }
        }
        witness
            .metrics
            .evidence
            .store(witness.evidence.len() as u64, Ordering::Relaxed);
        witness
            .metrics
            .equivocations
            .store(equivocations, Ordering::Relaxed);
        Ok(witness)
    }

    /// The witness's cosigner (the node key, type 0x04).
    pub fn cosigner(&self) -> &Cosigner {
        &self.cosigner
    }

    /// The witness's verifier key: what a log configures to count it.
    pub fn verifier(&self) -> CosignatureVerifier {
        self.cosigner.verifier()
    }

    /// The witnesses this node asks to cosign.
    pub fn peers(&self) -> Vec<WitnessPeer> {
        self.peers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .flatten()
            .cloned()
            .collect()
    }

    /// How many witness slots there are, removed ones included: the
    /// indexes [`Witness::peer`] takes.
    pub fn slots(&self) -> usize {
        self.peers.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Witness `index`, unless it was removed.
    pub fn peer(&self, index: usize) -> Option<WitnessPeer> {
        self.peers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(index)
            .cloned()
            .flatten()
    }

    /// The cosignature verifiers of this node's witnesses.
    pub fn peer_verifiers(&self) -> Vec<CosignatureVerifier> {
        self.peers().into_iter().map(|p| p.verifier).collect()
    }

    /// A removed peer: stop asking its witness (its task ends) and stop
    /// witnessing its log `origin`, unless the configuration names either.
    pub(crate) fn retire(&self, origin: &str, verifier: &CosignatureVerifier) {
        let mut peers = self.peers.write().unwrap_or_else(|p| p.into_inner());
        for slot in peers.iter_mut().skip(self.configured_peers) {
            if slot.as_ref().is_some_and(|p| p.verifier == *verifier) {
                *slot = None;
            }
        }
        if !self.configured_logs.contains(origin) {
            self.logs
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(origin);
        }
    }

    /// The log key of a witnessed log.
    pub fn log(&self, origin: &str) -> Option<NoteVerifier> {
        self.logs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(origin)
            .cloned()
    }

    /// The origins of the witnessed logs.
    pub fn log_origins(&self) -> Vec<String> {
        self.logs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// A peer added at run time: witness its log, and ask it to witness
    /// this one. Returns the new witness's index when it was not asked
    /// before (its cosigning task must then be started).
    pub(crate) fn add_peer(&self, log: NoteVerifier, witness: WitnessPeer) -> Option<usize> {
        let origin = Verifier::name(&log).as_str().to_owned();
        self.logs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(origin)
            .or_insert(log);
        let mut peers = self.peers.write().unwrap_or_else(|p| p.into_inner());
        if peers
            .iter()
            .flatten()
            .any(|p| p.verifier == witness.verifier)
        {
            return None;
        }
        peers.push(Some(witness));
        Some(peers.len() - 1)
    }

    /// k of the publish policy (0: off).
    pub fn require(&self) -> usize {
        self.require
    }

    /// How many logs this node witnesses.
    pub fn logs_count(&self) -> usize {
        self.logs.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The latest checkpoint note held for the witnessed log `origin`.
    pub fn held(&self, origin: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.held.get(origin.as_bytes())?.map(|v| v.to_vec()))
    }

    /// Every evidence record stored, in key order.
    pub fn evidence(&self) -> Result<Vec<Evidence>, StorageError> {
        let mut out = Vec::new();
        for item in self.evidence.iter() {
            let (_, v) = item?;
            let e = serde_json::from_slice(&v)
                .map_err(|e| StorageError::Corrupt(format!("evidence record: {e}")))?;
            out.push(e);
        }
        Ok(out)
    }

    /// The witness metrics in the Prometheus text format.
    pub fn render_metrics(&self) -> String {
        let mut out = String::new();
        let m = &self.metrics;
        for (name, kind, help, v) in [
            (
                "kaitiaki_witness_cosigned_total",
                "counter",
                "add-checkpoint requests this node cosigned.",
                &m.cosigned,
            ),
            (
                "kaitiaki_witness_conflicts_total",
                "counter",
                "add-checkpoint requests answered 409.",
                &m.conflicts,
            ),
            (
                "kaitiaki_witness_bad_proofs_total",
                "counter",
                "add-checkpoint requests answered 422.",
                &m.bad_proofs,
            ),
            (
                "kaitiaki_witness_evidence",
                "gauge",
                "Evidence records of conflicting checkpoints stored.",
                &m.evidence,
            ),
            (
                "kaitiaki_witness_equivocations",
                "gauge",
                "Stored evidence of logs that signed two roots for one size.",
                &m.equivocations,
            ),
            (
                "kaitiaki_cosignatures_collected_total",
                "counter",
                "Valid cosignatures collected from this node's witnesses.",
                &m.collected,
            ),
            (
                "kaitiaki_witness_ask_failures_total",
                "counter",
                "Failed requests to this node's witnesses.",
                &m.ask_failures,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {}", v.load(Ordering::Relaxed));
        }
        out
    }

    /// Makes the witness's sled database survive a power cut: a witness
    /// must not forget a checkpoint it cosigned.
    pub async fn flush(&self) -> Result<(), StorageError> {
        let (db, dir) = (self.db.clone(), self.dir.clone());
        tokio::task::spawn_blocking(move || crate::storage::sync_sled(&db, &dir))
            .await
            // The sync never finished: an I/O failure, not damaged data.
            .map_err(|e| StorageError::io(&self.dir, std::io::Error::other(e)))?
    }
}

/// Now, in Unix seconds, by the system clock.
pub(crate) fn unix_now() -> u64 {
    crate::clock::system_secs()
}
