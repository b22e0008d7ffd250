//! Evidence records and quarantine.
//!
//! An [`EvidenceRecord`] holds either a protocol
//! [`Evidence`](kaitiaki_protocol::evidence::Evidence) — which anyone can
//! check with the log's key and the protocol crate alone (PROTOCOL.md §11)
//! — or a [`Claim`]: what this node saw that it cannot prove to others on
//! its own (leaves served that do not make the signed tree, a proof that
//! did not verify, a statement breaking a home-log rule, which needs the
//! governance rules to check). Records are stored in sled under
//! `evidence\0 ‖ id`, where the id is the BLAKE3 hash of the record's
//! `evidence` JSON, so the same evidence found twice is kept once.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use kaitiaki_protocol::evidence::Evidence;
use serde::{Deserialize, Serialize};

use crate::node::Shared;
use crate::storage::{space, Storage, StorageError};
use crate::witness::unix_now;

/// What this node saw but cannot prove with the protocol crate alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// `rewritten_leaves`, `proof_failed` or `breaks_rule`.
    pub kind: String,
    /// The log's origin.
    pub origin: String,
    /// The log's signed checkpoint the claim is about.
    pub checkpoint: String,
    /// The leaf index concerned, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// The leaf bytes served, base64, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf: Option<String>,
    /// What was wrong, in plain words.
    pub detail: String,
}

/// Self-verifying evidence, or a claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Item {
    /// Checkable with the protocol crate alone.
    Proof(Evidence),
    /// What this node saw.
    Claim(Claim),
}

impl Item {
    /// The kind, e.g. `equivocation`.
    pub fn kind(&self) -> String {
        match self {
            Item::Proof(e) => e.kind().to_owned(),
            Item::Claim(c) => c.kind.clone(),
        }
    }

    /// The log the item is about.
    pub fn origin(&self) -> &str {
        match self {
            Item::Proof(e) => e.origin(),
            Item::Claim(c) => &c.origin,
        }
    }
}

/// One stored piece of evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRecord {
    /// BLAKE3 of the `evidence` JSON, hex.
    pub id: String,
    /// The misbehaving log's origin.
    pub origin: String,
    /// When this node found it, Unix seconds.
    pub found_at: u64,
    /// How it was found: `replication`, `gossip` or `witness`.
    pub found_by: String,
    /// Whether `evidence` verifies with the protocol crate alone.
    pub self_verifying: bool,
    /// The evidence.
    pub evidence: Item,
}

impl EvidenceRecord {
    /// A record of `item`, found now by `found_by`.
    pub fn new(item: Item, found_by: &str) -> EvidenceRecord {
        let json = serde_json::to_vec(&item).unwrap_or_default();
        EvidenceRecord {
            id: blake3::hash(&json).to_hex().to_string(),
            origin: item.origin().to_owned(),
            found_at: unix_now(),
            found_by: found_by.to_owned(),
            self_verifying: matches!(item, Item::Proof(_)),
            evidence: item,
        }
    }
}

/// A quarantine: why, since when, and the evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Quarantine {
    /// The reason, in plain words.
    pub reason: String,
    /// Since when, Unix seconds.
    pub since: u64,
    /// The id of the evidence record.
    pub evidence: String,
}

/// Every stored record, oldest id first.
pub fn all(storage: &Storage) -> Result<Vec<EvidenceRecord>, StorageError> {
    let mut out = Vec::new();
    for (_, v) in storage.scan_in(space::EVIDENCE)? {
        match serde_json::from_slice::<EvidenceRecord>(&v) {
            Ok(r) => out.push(r),
            Err(e) => tracing::warn!(error = %e, "skipping an unreadable evidence record"),
        }
    }
    out.sort_by(|a, b| (a.found_at, &a.id).cmp(&(b.found_at, &b.id)));
    Ok(out)
}

/// The stored quarantine of a peer, if any.
pub fn quarantine_of(storage: &Storage, origin: &str) -> Result<Option<Quarantine>, StorageError> {
    storage
        .get_in(space::QUARANTINE, origin.as_bytes())?
        .map(|v| {
            serde_json::from_slice(&v)
                .map_err(|e| StorageError::Corrupt(format!("quarantine of {origin}: {e}")))
        })
        .transpose()
}

/// Keeps the evidence and quarantines the peer of its log.
pub(crate) fn quarantine(
    shared: &Shared,
    item: Item,
    found_by: &str,
    reason: &str,
) -> Result<Quarantine, StorageError> {
    let record = EvidenceRecord::new(item, found_by);
    let q = Quarantine {
        reason: reason.to_owned(),
        since: unix_now(),
        evidence: record.id.clone(),
    };
    // The peer stops being followed at once; the evidence (kept once) and
    // the quarantine are stored together, so whoever sees one sees both.
    if let Some(f) = shared.replication.peer(&record.origin) {
        f.update(|s| {
            s.set_state(super::PeerState::Quarantined);
            s.quarantine = Some(q.clone());
        });
    }
    let corrupt = |what: &str, e: serde_json::Error| StorageError::Corrupt(format!("{what}: {e}"));
    let quarantine = serde_json::to_vec(&q).map_err(|e| corrupt("quarantine", e))?;
    let key = hex::decode(&record.id).unwrap_or_else(|_| record.id.as_bytes().to_vec());
    let new = shared.storage.get_in(space::EVIDENCE, &key)?.is_none();
    let evidence = serde_json::to_vec(&record).map_err(|e| corrupt("evidence record", e))?;
    let mut writes = vec![(
        space::QUARANTINE,
        record.origin.as_bytes(),
        Some(&quarantine[..]),
    )];
    if new {
        writes.push((space::EVIDENCE, &key[..], Some(&evidence[..])));
    }
    // Counted before it can be seen, so the count never lags what is shown.
    let counted = u64::from(new);
    let counter = &shared.replication.metrics.evidence;
    counter.fetch_add(counted, std::sync::atomic::Ordering::Relaxed);
    if let Err(e) = shared.storage.put_all_in(&writes) {
        counter.fetch_sub(counted, std::sync::atomic::Ordering::Relaxed);
        return Err(e);
    }
    // A peer no longer followed is no longer waited for: a wait it alone
    // held up ends, once its quarantine is stored (a crash before then
    // follows it again at the next start, and the wait is still kept).
    shared.own_log.peers_changed(&shared.replication);
    if new {
        tracing::warn!(
            origin = %record.origin,
            kind = %record.evidence.kind(),
            id = %record.id,
            "kept evidence of a peer's misbehaviour"
        );
    }
    tracing::warn!(origin = %record.origin, reason, "quarantined a peer");
    Ok(q)
}

/// Lifts a quarantine (operator action); the evidence stays.
pub(crate) fn forgive(shared: &Shared, origin: &str) -> Result<bool, StorageError> {
    let had = quarantine_of(&shared.storage, origin)?.is_some();
    shared
        .storage
        .put_in(space::QUARANTINE, origin.as_bytes(), None)?;
    if let Some(f) = shared.replication.peer(origin) {
        f.update(|s| {
            if s.state != super::PeerState::Removed {
                s.state = super::PeerState::Starting;
            }
            s.quarantine = None;
        });
        // Followed again, it is waited for if the node still waits for
        // its peers and this one never answered (`own_log::Peers`).
    }
    Ok(had)
}

/// A claim about a leaf.
pub fn leaf_claim(
    kind: &str,
    origin: &str,
    checkpoint: &str,
    index: u64,
    leaf: Option<&[u8]>,
    detail: String,
) -> Item {
    Item::Claim(Claim {
        kind: kind.to_owned(),
        origin: origin.to_owned(),
        checkpoint: checkpoint.to_owned(),
        index: Some(index),
        leaf: leaf.map(|b| STANDARD.encode(b)),
        detail,
    })
}
