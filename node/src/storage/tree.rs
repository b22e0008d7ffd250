//! Stored tree hashes: the per-level files of complete subtrees (see
//! [`super::files`]), read as a protocol [`TreeStore`].
//!
//! Each leaf closes its own level-0 subtree and, on average, one parent, so
//! the tree costs about two 32-byte entries per leaf, in flat files. Any root or proof at
//! any size is then O(log n) point reads, whatever the size of the log, and
//! nothing about the tree is held in memory beyond the O(log n) right edge
//! (the [`CompactRange`] the sequencer owns).

use kaitiaki_protocol::merkle::{self, CompactRange, ProofError, Subtree, TreeStore};
use kaitiaki_protocol::Hash;

use super::files::DerivedFiles;
use super::{Storage, StorageError};

/// The stored subtree hashes of one log (the node's own, or a mirror), as
/// a [`TreeStore`].
#[derive(Clone, Copy, Debug)]
pub struct StoredTree<'a> {
    files: &'a DerivedFiles,
}

impl<'a> StoredTree<'a> {
    /// The tree hashes kept in `files`.
    pub fn new(files: &'a DerivedFiles) -> Self {
        StoredTree { files }
    }

    /// The right edge of the first `size` leaves, rebuilt from stored hashes
    /// (`size.count_ones()` reads; no leaf is re-hashed).
    pub fn compact_range(&self, size: u64) -> Result<CompactRange, StorageError> {
        CompactRange::from_store(self, size).map_err(|e| match split(e) {
            ProofFailure::Storage(s) => s,
            ProofFailure::Request(r) => StorageError::Corrupt(r),
        })
    }

    /// The root of the first `size` leaves.
    pub fn root(&self, size: u64) -> Result<Hash, ProofFailure> {
        merkle::root(self, size).map_err(split)
    }

    /// The inclusion proof of leaf `index` in the tree of size `size`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofFailure> {
        merkle::inclusion_proof(self, index, size).map_err(split)
    }

    /// The consistency proof from size `old` to size `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofFailure> {
        merkle::consistency_proof(self, old, new).map_err(split)
    }
}

impl TreeStore for StoredTree<'_> {
    type Error = StorageError;

    fn subtree(&self, at: Subtree) -> Result<Hash, StorageError> {
        let value = self
            .files
            .hash(&at)?
            .ok_or_else(|| StorageError::Corrupt(format!("subtree {at} is not stored")))?;
        Ok(Hash::from_bytes(value))
    }
}

/// Why a proof could not be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofFailure {
    /// The request asks for something no tree of that size has.
    #[error("{0}")]
    Request(String),
    /// Storage failed or is missing a hash it should hold.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn split(e: ProofError<StorageError>) -> ProofFailure {
    match e {
        ProofError::Store { source, .. } => ProofFailure::Storage(source),
        other => ProofFailure::Request(other.to_string()),
    }
}

impl Storage {
    /// The stored tree of the node's own log.
    pub fn tree(&self) -> StoredTree<'_> {
        StoredTree::new(&self.files)
    }

    /// The right edge of the first `size` leaves, rebuilt from stored hashes
    /// at start-up (`size.count_ones()` reads; no leaf is re-hashed).
    pub fn compact_range(&self, size: u64) -> Result<CompactRange, StorageError> {
        self.tree().compact_range(size)
    }

    /// The root of the first `size` leaves.
    pub fn root(&self, size: u64) -> Result<Hash, ProofFailure> {
        self.tree().root(size)
    }

    /// The inclusion proof of leaf `index` in the tree of size `size`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofFailure> {
        self.tree().inclusion_proof(index, size)
    }

    /// The consistency proof from size `old` to size `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofFailure> {
        self.tree().consistency_proof(old, new)
    }
}
