//! Which checkpoint the node serves at `/v1/checkpoint` and
//! `/v1/checkpoint/note`, and with which cosignatures.
//!
//! Without a policy (`witness.require = 0`) it is the latest published
//! checkpoint, with whatever cosignatures the node's witnesses have given
//! it so far (none at first; they arrive within a round trip).
//!
//! With `witness.require = k`, it is the newest checkpoint that at least
//! `k` distinct configured witnesses have cosigned, checked with
//! [`require_cosignatures`]; until one exists the two endpoints answer 503
//! `witness_policy_unmet`. The policy is applied on the read side: the
//! sequencer still publishes every checkpoint at once (so writes never wait
//! for witnesses), and the log's other reads (leaves, proofs, statements)
//! are still bounded by the latest published checkpoint, which is always
//! available at `/v1/checkpoints/{size}`. A client that wants only
//! witnessed state should read the checkpoint first and bound its reads by
//! that size.

use axum::http::StatusCode;
use kaitiaki_protocol::checkpoint::Checkpoint;
use kaitiaki_protocol::cosignature::require_cosignatures;
use kaitiaki_protocol::note::{Note, NoteSignature, Verifier};
use kaitiaki_protocol::Hash;

use super::Witness;
use crate::error::ApiError;
use crate::node::Shared;
use crate::storage::StorageError;

/// The code of a 503 while no checkpoint meets the publish policy.
pub const POLICY_UNMET: &str = "witness_policy_unmet";

/// A checkpoint as served, with its cosignatures.
#[derive(Clone, Debug)]
pub struct Served {
    /// The tree size.
    pub size: u64,
    /// The root at that size.
    pub root: Hash,
    /// The note as the node signed it (its own signature line only).
    pub note: String,
    /// The witnesses' cosignature lines, each without its newline.
    pub cosignatures: Vec<String>,
    /// The note with the cosignature lines appended.
    pub cosigned_note: String,
}

/// The checkpoint to serve now; 503 `witness_policy_unmet` while the
/// policy is on and no checkpoint meets it.
pub(crate) fn served(shared: &Shared) -> Result<Served, ApiError> {
    let witness = &shared.witness;
    let log_key = shared.identity.verifier();
    let is_log_line = |s: &NoteSignature| s.is_from(log_key.name(), log_key.key_id());
    let split = |note: &Note| -> Served {
        let checkpoint = Checkpoint::from_note(note).ok();
        let own: Vec<NoteSignature> = note
            .signatures()
            .iter()
            .filter(|s| is_log_line(s))
            .cloned()
            .collect();
        let signed = Note::new(note.text(), own)
            .map(|n| n.to_string())
            .unwrap_or_else(|_| note.to_string());
        Served {
            size: checkpoint.as_ref().map_or(0, Checkpoint::size),
            root: checkpoint.map_or(kaitiaki_protocol::merkle::empty_root(), |c| *c.root()),
            note: signed,
            cosignatures: note
                .signatures()
                .iter()
                .filter(|s| !is_log_line(s))
                .map(ToString::to_string)
                .collect(),
            cosigned_note: note.to_string(),
        }
    };
    if witness.require() == 0 {
        let p = shared.published();
        if let Some(note) = witness.cosigned_note(p.size)? {
            if Note::parse(p.note.as_bytes()).is_ok_and(|n| n.text() == note.text()) {
                return Ok(split(&note));
            }
        }
        return Ok(Served {
            size: p.size,
            root: p.root,
            note: p.note.clone(),
            cosignatures: Vec::new(),
            cosigned_note: p.note.clone(),
        });
    }
    let best = witness.policy_size();
    match best.map(|size| witness.cosigned_note(size)).transpose()? {
        Some(Some(note)) => Ok(split(&note)),
        _ => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            POLICY_UNMET,
            format!(
                "no checkpoint has been cosigned by {} of this node's witnesses yet; retry later",
                witness.require()
            ),
        )),
    }
}

impl Witness {
    /// This node's checkpoint note at `size` with the cosignatures
    /// collected for it, if any were.
    pub fn cosigned_note(&self, size: u64) -> Result<Option<Note>, StorageError> {
        Ok(self
            .cosigned
            .get(size.to_be_bytes())?
            .and_then(|bytes| Note::parse(&bytes).ok()))
    }

    /// Whether `note` meets the publish policy.
    pub fn meets_policy(&self, note: &Note) -> bool {
        require_cosignatures(note, &self.peer_verifiers(), self.require).is_ok()
    }

    /// The newest size known to meet the publish policy.
    pub fn policy_size(&self) -> Option<u64> {
        *self.best.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a verified cosignature line to this node's checkpoint at `size`
    /// (whose signed note is `note`), advances the policy size if it is now
    /// met, and forgets cosignatures of checkpoints that will never be
    /// served again.
    pub fn store_cosignature(
        &self,
        size: u64,
        note: &str,
        line: &NoteSignature,
    ) -> Result<(), StorageError> {
        let stored = self
            .cosigned
            .update_and_fetch(size.to_be_bytes(), |old| {
                let mut n = old
                    .and_then(|b| Note::parse(b).ok())
                    .or_else(|| Note::parse(note.as_bytes()).ok())?;
                // Only fails past 100 lines, which configured witnesses cannot reach.
                let _ = n.add_signature(line.clone());
                Some(n.to_bytes())
            })?
            .and_then(|b| Note::parse(&b).ok());
        let mut floor = size;
        if self.require > 0 {
            let mut best = self.best.lock().unwrap_or_else(|p| p.into_inner());
            if stored.as_ref().is_some_and(|n| self.meets_policy(n))
                && best.is_none_or(|b| b < size)
            {
                *best = Some(size);
            }
            floor = best.unwrap_or(0);
        }
        // Older checkpoints are never served again.
        for key in self.cosigned.range(..floor.to_be_bytes()).keys() {
            self.cosigned.remove(key?)?;
        }
        Ok(())
    }

    /// Finds the newest stored checkpoint meeting the policy (at start-up).
    pub(crate) fn find_policy_size(&self) -> Result<Option<u64>, StorageError> {
        if self.require == 0 {
            return Ok(None);
        }
        for item in self.cosigned.iter().rev() {
            let (key, value) = item?;
            if Note::parse(&value).is_ok_and(|n| self.meets_policy(&n)) {
                return Ok(Some(crate::storage::read_u64(&key)?));
            }
        }
        Ok(None)
    }
}
