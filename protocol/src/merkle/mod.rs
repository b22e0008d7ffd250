//! The RFC 6962 / RFC 9162 Merkle log: hashes, roots, proofs and their checks.
//!
//! Kaitiaki's log is the plain RFC 6962 tree over SHA-256 so that C2SP
//! witnesses and existing transparency tooling can check it unchanged.
//!
//! Read in this order:
//! 1. This file — the two domain-separated hashes ([`leaf_hash`],
//!    [`node_hash`]), the empty root, and the convenience functions
//!    [`root`], [`inclusion_proof`] and [`consistency_proof`].
//! 2. [`Subtree`] and [`TreeStore`] — the only tree hashes a node stores are
//!    those of complete (perfect) subtrees, addressed by level and index.
//! 3. [`CompactRange`] — the append path: it keeps the O(log n) right-edge
//!    subtrees, and hands back every subtree that closes as a leaf is pushed.
//! 4. [`Plan`] — which stored subtrees a root or proof needs, and how to turn
//!    the fetched hashes into the result. This is what lets a store batch its
//!    reads: [`root_plan`], [`inclusion_plan`], [`consistency_plan`].
//! 5. [`verify_inclusion`] and [`verify_consistency`] — the RFC 9162
//!    §2.1.3.2 and §2.1.4.2 verifiers, for clients, witnesses and peers.
//! 6. [`MemoryTree`] — a store in memory, for tests and small logs.
//! 7. [`tiles`] — C2SP tlog-tiles: tile paths, which tiles a tree has, and
//!    entry bundles.
//!
//! Every size and index is a `u64`, and no input, however large or hostile,
//! makes these functions panic or overflow: bad requests return errors.

mod compact;
mod plan;
mod store;
pub mod tiles;
mod verify;

use std::convert::Infallible;

use sha2::{Digest, Sha256};

pub use compact::{CompactRange, TreeFull};
pub use plan::{consistency_plan, inclusion_plan, root_plan, Plan, ProofPlan, RootPlan};
pub use store::{MemoryTree, NotStored, Subtree, TreeStore};
pub use verify::{
    prefix_root_from_consistency, root_from_inclusion, verify_consistency, verify_inclusion,
    VerifyError,
};

use crate::Hash;

/// The byte hashed in front of a leaf's data (RFC 6962 §2.1).
///
/// Leaves and interior nodes get different prefixes so that no leaf can ever
/// be passed off as an interior node, which would let a forger prove the
/// inclusion of data that was never logged.
pub const LEAF_HASH_PREFIX: u8 = 0x00;

/// The byte hashed in front of two child hashes (RFC 6962 §2.1).
pub const NODE_HASH_PREFIX: u8 = 0x01;

/// SHA-256 of the empty string: the root of a tree with no leaves.
const EMPTY_ROOT: Hash = Hash::from_bytes([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// The hash of one leaf: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let digest: [u8; 32] = Sha256::new()
        .chain_update([LEAF_HASH_PREFIX])
        .chain_update(data)
        .finalize()
        .into();
    Hash::from_bytes(digest)
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let digest: [u8; 32] = Sha256::new()
        .chain_update([NODE_HASH_PREFIX])
        .chain_update(left.as_bytes())
        .chain_update(right.as_bytes())
        .finalize()
        .into();
    Hash::from_bytes(digest)
}

/// The root of the empty tree: SHA-256 of the empty string, with no prefix.
pub const fn empty_root() -> Hash {
    EMPTY_ROOT
}

/// Hashes a run of adjacent subtrees, listed left to right with strictly
/// decreasing sizes, into the RFC 6962 hash of the leaves they cover.
///
/// RFC 6962 splits a range at its largest power of two, so the leftmost
/// subtree becomes the left child and the rest of the run, recursively, the
/// right child. That is a fold from the right. An empty run is the empty tree.
fn fold_right(run: &[Hash]) -> Hash {
    let Some((last, rest)) = run.split_last() else {
        return empty_root();
    };
    rest.iter()
        .rev()
        .fold(*last, |acc, left| node_hash(left, &acc))
}

/// Why a root or proof could not be produced.
///
/// `E` is the error type of the [`TreeStore`] the hashes came from; the plan
/// functions, which never touch a store, use the default [`Infallible`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError<E = Infallible> {
    /// An inclusion proof was asked for a leaf the tree does not hold yet.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The requested leaf index.
        index: u64,
        /// The tree size the proof was asked against.
        size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old tree size {old} is greater than new tree size {new}")]
    OldSizeGreater {
        /// The requested old size.
        old: u64,
        /// The requested new size.
        new: u64,
    },
    /// A consistency proof was asked from the empty tree. Every tree extends
    /// the empty tree, so there is nothing to prove, and the verifier rejects
    /// such a proof rather than let a caller believe something was checked.
    #[error("there is no consistency proof from the empty tree")]
    EmptyOldTree,
    /// [`Plan::finish`] was given a different number of hashes than the plan
    /// has subtrees: the caller fetched the wrong list.
    #[error("a plan needing {expected} subtree hashes was given {actual}")]
    HashCount {
        /// The length of [`Plan::subtrees`].
        expected: usize,
        /// The number of hashes supplied.
        actual: usize,
    },
    /// The tree store could not return a subtree hash the result needs; for a
    /// [`MemoryTree`], the size asked for is larger than the tree.
    #[error("reading subtree {at} from the tree store failed")]
    Store {
        /// The subtree that was being read.
        at: Subtree,
        /// What the store reported.
        #[source]
        source: E,
    },
}

impl ProofError {
    /// Re-types an error that cannot hold a store error, so that plan errors
    /// pass through functions that also read a store.
    fn widen<E>(self) -> ProofError<E> {
        match self {
            ProofError::IndexOutOfRange { index, size } => {
                ProofError::IndexOutOfRange { index, size }
            }
            ProofError::OldSizeGreater { old, new } => ProofError::OldSizeGreater { old, new },
            ProofError::EmptyOldTree => ProofError::EmptyOldTree,
            ProofError::HashCount { expected, actual } => {
                ProofError::HashCount { expected, actual }
            }
            ProofError::Store { source, .. } => match source {},
        }
    }
}

/// Reads every subtree a plan needs, in the plan's order.
fn fetch<S: TreeStore + ?Sized>(
    store: &S,
    subtrees: &[Subtree],
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    subtrees
        .iter()
        .map(|&at| {
            store
                .subtree(at)
                .map_err(|source| ProofError::Store { at, source })
        })
        .collect()
}

/// The root of the first `size` leaves of the tree in `store`, from at most
/// 64 stored subtree hashes.
pub fn root<S: TreeStore + ?Sized>(store: &S, size: u64) -> Result<Hash, ProofError<S::Error>> {
    let plan = root_plan(size);
    let fetched = fetch(store, plan.subtrees())?;
    plan.finish(&fetched).map_err(ProofError::widen)
}

/// The inclusion proof of leaf `index` in the tree of the first `size`
/// leaves: sibling hashes from the leaf upwards (RFC 9162 §2.1.3.1).
pub fn inclusion_proof<S: TreeStore + ?Sized>(
    store: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    let plan = inclusion_plan(index, size).map_err(ProofError::widen)?;
    let fetched = fetch(store, plan.subtrees())?;
    plan.finish(&fetched).map_err(ProofError::widen)
}

/// The consistency proof from the tree of the first `old` leaves to the tree
/// of the first `new` leaves (RFC 9162 §2.1.4.1), bottom-up. It is empty when
/// `old == new`.
pub fn consistency_proof<S: TreeStore + ?Sized>(
    store: &S,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    let plan = consistency_plan(old, new).map_err(ProofError::widen)?;
    let fetched = fetch(store, plan.subtrees())?;
    plan.finish(&fetched).map_err(ProofError::widen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        let digest: [u8; 32] = Sha256::digest(b"").into();
        assert_eq!(empty_root(), Hash::from_bytes(digest));
    }

    #[test]
    fn fold_right_nests_to_the_right() {
        let [a, b, c] = [leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")];
        assert_eq!(fold_right(&[a, b, c]), node_hash(&a, &node_hash(&b, &c)));
        assert_eq!(fold_right(&[a]), a);
        assert_eq!(fold_right(&[]), empty_root());
    }
}
