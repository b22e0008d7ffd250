//! Gossip: comparing views of third logs.
//!
//! A log that shows one history to one follower and another history to
//! another cannot be caught by either alone. So after each round with a
//! peer, the follower asks it for the checkpoints it holds of every log it
//! mirrors (`GET <peer>/v1/mirrors`) and compares each with its own mirror
//! of the same log, verified under the key this node pinned for that log
//! (a peer cannot forge a third log's checkpoint):
//!
//! - same size, different roots: equivocation, self-verifying evidence;
//! - different sizes: the smaller must be a prefix of the larger. The proof
//!   comes from whichever node holds the larger tree — this node's own
//!   mirror, or the peer's (`GET <peer>/v1/mirrors/<origin>/proofs/consistency`).
//!   A proof that reconstructs the larger, signed root but a different
//!   prefix root is self-verifying evidence that the log forked; a proof
//!   that reconstructs nothing proves nothing, and is ignored (the peer may
//!   simply be lying).
//!
//! The log found forking is quarantined, not the peer that told.

use kaitiaki_protocol::evidence::Evidence;
use kaitiaki_protocol::merkle::verify_consistency;
use serde::{Deserialize, Serialize};

use super::evidence::{self, Item};
use super::follower::{held, open_checkpoint, ConsistencyAnswer, Fault, Follower, Signed};

/// One entry of `GET /v1/mirrors`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MirrorView {
    /// The mirrored log's origin.
    pub origin: String,
    /// Leaves held.
    pub size: u64,
    /// The largest of the log's checkpoints the mirror was verified against.
    pub checkpoint: String,
    /// The log's latest checkpoint whose whole tree the mirror holds (for
    /// audits: the mirror's leaves up to its size make exactly its root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete: Option<String>,
}

/// `GET /v1/mirrors`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MirrorsView {
    /// Every mirror this node holds.
    pub mirrors: Vec<MirrorView>,
}

pub(crate) async fn round(f: &Follower) -> Result<(), Fault> {
    let theirs = match f.get_json::<MirrorsView>("/v1/mirrors").await {
        Ok(theirs) => theirs,
        // Too large an answer fails the round, as from any endpoint.
        Err(e @ Fault::Oversized(_)) => return Err(e),
        // An older or partial peer: nothing to compare.
        Err(_) => return Ok(()),
    };
    for view in theirs.mirrors {
        let shared = f.shared.upgrade().ok_or(Fault::Closed)?;
        if view.origin == shared.config.origin || view.origin == f.followed.peer.origin {
            continue;
        }
        let Some(third) = shared.replication.peer(&view.origin) else {
            continue;
        };
        if !third.status().state.is_followed() {
            continue;
        }
        let Some(mirror) = shared.storage.existing_mirror(&view.origin)? else {
            continue;
        };
        let Some(ours) = held(&mirror, &third, &view.origin)? else {
            continue;
        };
        let Ok(their) = open_checkpoint(view.checkpoint.as_bytes(), &third, &view.origin) else {
            continue;
        };
        let ours_size = mirror.size()?;
        drop(shared);
        let found = compare(f, &view.origin, &ours, ours_size, &mirror, &their).await?;
        if let Some((item, reason)) = found {
            let shared = f.shared.upgrade().ok_or(Fault::Closed)?;
            // Stored durably (an fsync): off the async workers.
            tokio::task::spawn_blocking(move || {
                evidence::quarantine(&shared, item, "gossip", &reason)
            })
            .await
            .map_err(|e| Fault::Local(format!("storing evidence stopped: {e}")))??;
        }
    }
    Ok(())
}

async fn compare(
    f: &Follower,
    origin: &str,
    ours: &Signed,
    ours_size: u64,
    mirror: &crate::storage::mirror::MirrorLog,
    their: &Signed,
) -> Result<Option<(Item, String)>, Fault> {
    if ours.size() == their.size() {
        if ours.root() == their.root() {
            return Ok(None);
        }
        return Ok(Some((
            Item::Proof(Evidence::Equivocation {
                origin: origin.to_owned(),
                a: ours.note.clone(),
                b: their.note.clone(),
            }),
            format!(
                "it showed two different trees of size {} to two nodes",
                ours.size()
            ),
        )));
    }
    let (small, big, big_is_ours) = if ours.size() < their.size() {
        (ours, their, false)
    } else {
        (their, ours, true)
    };
    if small.size() == 0 {
        return Ok(None);
    }
    let (prefix, proof) = if big_is_ours && ours_size >= big.size() {
        let tree = mirror.tree();
        let prefix = tree
            .root(small.size())
            .map_err(|e| Fault::Local(e.to_string()))?;
        let proof = tree
            .consistency_proof(small.size(), big.size())
            .map_err(|e| Fault::Local(e.to_string()))?;
        (Some(prefix), proof)
    } else if !big_is_ours {
        let answer = match f
            .get_json::<ConsistencyAnswer>(&format!(
                "/v1/mirrors/{origin}/proofs/consistency?old={}&new={}",
                small.size(),
                big.size()
            ))
            .await
        {
            Ok(answer) => answer,
            Err(e @ Fault::Oversized(_)) => return Err(e),
            Err(_) => return Ok(None),
        };
        let prefix = answer.prefix_root(small.size(), big.size(), &big.root());
        (prefix, answer.hashes)
    } else {
        return Ok(None);
    };
    if verify_consistency(small.size(), big.size(), &small.root(), &big.root(), &proof).is_ok() {
        return Ok(None);
    }
    match prefix {
        Some(prefix_root) if prefix_root != small.root() => Ok(Some((
            Item::Proof(Evidence::Inconsistent {
                origin: origin.to_owned(),
                a: small.note.clone(),
                b: big.note.clone(),
                prefix_root,
                proof,
            }),
            format!(
                "it showed two histories to two nodes: its trees of sizes {} and {} cannot both be true",
                small.size(),
                big.size()
            ),
        ))),
        _ => Ok(None),
    }
}
