//! The two checking stages of an audit.
//!
//! 1. [`check_batch`], in parallel on every core: parse each leaf, verify its
//!    signature strictly, read its statement, and compute its id and leaf
//!    hash. Nothing here depends on any other leaf.
//! 2. [`Fold::push`], in log order on one thread: append the leaf hash to
//!    the tree's right edge, compare every subtree that closes with the hash
//!    the node stored, compare the root with every stored checkpoint and
//!    with the checkpoint remembered from earlier audits, and fold the
//!    statement into a fresh governance state, where it must be valid.
//!
//! Memory is the O(log n) right edge plus the governance state; leaves are
//! dropped as soon as they are folded.

use std::collections::BTreeMap;

use kaitiaki_governance::{apply, Entry, MemStore, Verdict};
use kaitiaki_node::storage::Storage;
use kaitiaki_protocol::checkpoint::VerifiedCheckpoint;
use kaitiaki_protocol::envelope::Envelope;
use kaitiaki_protocol::merkle::{leaf_hash, CompactRange, Subtree};
use kaitiaki_protocol::note::NoteVerifier;
use kaitiaki_protocol::{Hash, Leaf};
use rayon::prelude::*;
use serde::Serialize;

use super::source::Raw;
use super::Fault;

/// A leaf that passed every check it can pass on its own.
pub struct Checked {
    index: u64,
    hash: Hash,
    entry: Entry,
    place: Option<String>,
}

/// Checks a batch of leaves on all cores, keeping their order.
pub fn check_batch(batch: Vec<Raw>, origin: &str) -> Vec<Result<Checked, Fault>> {
    batch
        .into_par_iter()
        .map(|raw| check_one(raw, origin))
        .collect()
}

fn check_one(raw: Raw, origin: &str) -> Result<Checked, Fault> {
    let index = raw.index();
    let (leaf, hash, place, claimed) = match raw {
        Raw::Stored {
            segment,
            offset,
            bytes,
            ..
        } => {
            let place = Some(format!(
                "{}, byte {offset}",
                kaitiaki_node::storage::segment::segment_file_name(segment)
            ));
            let leaf = Leaf::from_bytes(&bytes).map_err(|e| {
                Fault::at(
                    index,
                    place.clone(),
                    format!("the stored leaf is malformed: {e}"),
                )
            })?;
            (leaf, leaf_hash(&bytes), place, None)
        }
        Raw::Served(view) => {
            let envelope = Envelope::from_dsse(&view.envelope).map_err(|e| {
                Fault::at(
                    index,
                    None,
                    format!("the served envelope is malformed: {e}"),
                )
            })?;
            let leaf = Leaf::new(view.sequenced_at, envelope);
            let hash = leaf.hash();
            (leaf, hash, None, Some((view.id, view.leaf_hash)))
        }
    };
    let sequenced_at = leaf.sequenced_at();
    let verified = leaf.into_envelope().open().map_err(|e| {
        Fault::at(
            index,
            place.clone(),
            format!("the statement does not verify: {e}"),
        )
    })?;
    if let Some((id, claimed_hash)) = claimed {
        if id != verified.id() {
            return Err(Fault::at(
                index,
                None,
                format!("the node says its id is {id}, but it is {}", verified.id()),
            ));
        }
        if claimed_hash != hash {
            return Err(Fault::at(
                index,
                None,
                "the node's leaf hash does not match the leaf".into(),
            ));
        }
    }
    Ok(Checked {
        index,
        hash,
        entry: Entry::new(verified, origin, index, sequenced_at),
        place,
    })
}

/// What the fold counted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    /// Statements by kind.
    pub kinds: BTreeMap<&'static str, u64>,
    /// Stored subtree hashes compared with recomputed ones.
    pub stored_hashes: u64,
    /// Stored checkpoints whose signature and root were checked.
    pub checkpoints: u64,
    /// Earlier statements whose standing a later one changed (rare; shown, not a fault).
    pub verdict_changes: u64,
    /// Seconds the in-order stage spent on the governance fold: with the
    /// signature checks, where an audit's time goes.
    pub governance_seconds: f64,
}

/// The sequential stage of an audit.
pub struct Fold<'a> {
    origin: String,
    compact: CompactRange,
    gov: MemStore,
    // A data directory's storage, whose stored hashes, checkpoints and
    // indexes are compared with what the leaves say.
    stored: Option<&'a Storage>,
    verifier: NoteVerifier,
    // A (size, root) seen in an earlier audit, to be met on the way.
    remembered: Option<(u64, Hash)>,
    /// What was counted.
    pub counts: Counts,
}

impl<'a> Fold<'a> {
    /// A fold of the log `origin`, checking stored data if `stored` is given.
    pub fn new(
        origin: &str,
        verifier: NoteVerifier,
        stored: Option<&'a Storage>,
        remembered: Option<(u64, Hash)>,
    ) -> Fold<'a> {
        Fold {
            origin: origin.to_owned(),
            compact: CompactRange::new(),
            gov: MemStore::new(),
            stored,
            verifier,
            remembered,
            counts: Counts::default(),
        }
    }

    /// The leaves folded so far.
    pub fn size(&self) -> u64 {
        self.compact.size()
    }

    /// The root of the leaves folded so far.
    pub fn root(&self) -> Hash {
        self.compact.root()
    }

    /// The governance state hash of the statements folded so far.
    pub fn state_hash(&self) -> Result<[u8; 32], Fault> {
        kaitiaki_governance::state_hash(&self.gov)
            .map_err(|e| Fault::general(format!("governance state: {e}")))
    }

    /// Folds the next leaf in.
    pub fn push(&mut self, leaf: Checked) -> Result<(), Fault> {
        let index = leaf.index;
        if index != self.compact.size() {
            return Err(Fault::at(
                index,
                leaf.place,
                format!("expected leaf {} here", self.compact.size()),
            ));
        }
        self.tree(index, leaf.hash, &leaf)?;
        let size = self.compact.size();
        if let Some((at, root)) = self.remembered {
            if at == size && root != self.compact.root() {
                return Err(Fault::at(
                    index,
                    leaf.place,
                    format!(
                        "the log's first {size} leaves differ from those this computer audited before: \
                         the log has been rewritten"
                    ),
                ));
            }
        }
        self.stored_checkpoint(size, index)?;
        self.govern(leaf)
    }

    /// Appends to the tree and compares each closed subtree with the node's.
    fn tree(&mut self, index: u64, hash: Hash, leaf: &Checked) -> Result<(), Fault> {
        let stored = self.stored;
        let mut mismatch: Option<Fault> = None;
        let mut compared = 0u64;
        let pushed = self.compact.push_with(hash, |at, computed| {
            let Some(storage) = stored else { return };
            if mismatch.is_some() {
                return;
            }
            compared += 1;
            match storage.subtree_hash(&at) {
                Ok(Some(v)) if Hash::from_slice(&v) == Some(computed) => {}
                Ok(found) => mismatch = Some(subtree_fault(index, at, found.is_some(), leaf)),
                Err(e) => {
                    mismatch = Some(Fault::general(format!(
                        "cannot read stored tree hash {at}: {e}"
                    )))
                }
            }
        });
        self.counts.stored_hashes += compared;
        if pushed.is_err() {
            return Err(Fault::at(index, None, "the tree is full".into()));
        }
        mismatch.map_or(Ok(()), Err)
    }

    /// Checks the stored checkpoint at `size`, if the node signed one there
    /// (one per batch it committed).
    fn stored_checkpoint(&mut self, size: u64, index: u64) -> Result<(), Fault> {
        let Some(storage) = self.stored else {
            return Ok(());
        };
        let note = match storage.checkpoint_at(size) {
            Ok(Some(note)) => note,
            Ok(None) => return Ok(()),
            Err(e) => {
                return Err(Fault::general(format!(
                    "cannot read stored checkpoints: {e}"
                )))
            }
        };
        self.counts.checkpoints += 1;
        let place = Some(format!("stored checkpoint at size {size}"));
        let v = VerifiedCheckpoint::open(&note, &self.origin, std::slice::from_ref(&self.verifier))
            .map_err(|e| {
                Fault::at(
                    index,
                    place.clone(),
                    format!("its signature does not verify: {e}"),
                )
            })?;
        let cp = v.checkpoint();
        if cp.size() != size || *cp.root() != self.compact.root() {
            return Err(Fault::at(
                index,
                place,
                format!(
                    "it signs root {} for size {}, but the leaves give root {}",
                    cp.root(),
                    cp.size(),
                    self.compact.root()
                ),
            ));
        }
        Ok(())
    }

    /// Folds the statement into the governance state; it must count.
    fn govern(&mut self, leaf: Checked) -> Result<(), Fault> {
        let Checked {
            index,
            entry,
            place,
            ..
        } = leaf;
        if let Some(storage) = self.stored {
            match storage.index_of(&entry.id) {
                Ok(Some(i)) if i == index => {}
                Ok(other) => {
                    return Err(Fault::at(
                        index,
                        place,
                        format!("the database's id index points at {other:?} for this statement"),
                    ))
                }
                Err(e) => return Err(Fault::general(format!("cannot read the id index: {e}"))),
            }
        }
        let kind = entry.statement.kind().name();
        *self.counts.kinds.entry(kind).or_default() += 1;
        let started = std::time::Instant::now();
        let applied = apply(&entry, &mut self.gov).map_err(|e| {
            Fault::at(
                index,
                place.clone(),
                format!("governance state failed: {e}"),
            )
        })?;
        self.counts.governance_seconds += started.elapsed().as_secs_f64();
        match applied.verdict {
            Verdict::Valid => {}
            Verdict::Excluded { rejection } => {
                return Err(Fault::at(
                    index,
                    place,
                    format!(
                        "the node sequenced a {kind} that the governance rules refuse ({}): {}",
                        rejection.code, rejection.message
                    ),
                ))
            }
            Verdict::Pending { missing } => {
                return Err(Fault::at(
                    index,
                    place,
                    format!("the node sequenced a {kind} that refers to {missing}, which is not before it in the log"),
                ))
            }
        }
        self.counts.verdict_changes += applied
            .changed
            .iter()
            .filter(|(id, _)| *id != entry.id)
            .count() as u64;
        Ok(())
    }
}

fn subtree_fault(index: u64, at: Subtree, present: bool, leaf: &Checked) -> Fault {
    let damage = |what: &str| {
        if present {
            format!("{what} does not match the leaves under it: the stored hash, or a leaf, was altered")
        } else {
            format!("{what} is missing from the database")
        }
    };
    if at.level() == 0 {
        return Fault::at(
            index,
            leaf.place.clone(),
            damage(&format!("its stored tree hash {at}")),
        );
    }
    Fault {
        leaf: None,
        place: Some(format!(
            "stored tree hash {at}, covering leaves {}..{}",
            at.start(),
            at.end() - 1
        )),
        why: damage("the stored hash"),
    }
}
