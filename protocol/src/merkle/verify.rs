//! Checking inclusion and consistency proofs, as RFC 9162 §2.1.3.2 and
//! §2.1.4.2 describe, for clients, witnesses and peers.
//!
//! The verifiers follow the RFC's steps literally, including their two
//! length checks (a proof that outlasts the path, or stops short of it), so
//! that they accept exactly what any other RFC 9162 verifier accepts. Two
//! cases the RFC leaves to the caller are decided here the way C2SP
//! witnesses and the transparency-dev test vectors expect: equal sizes need
//! an empty proof and equal roots, and an old size of zero is rejected.

use super::{node_hash, Hash};

/// Why a proof was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The leaf index is not below the tree size, so no proof can exist.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexBeyondSize {
        /// The claimed leaf index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// The proof has more or fewer hashes than the sizes call for: it is
    /// truncated, padded, or meant for other sizes.
    #[error("the proof has {actual} hashes where {expected} are needed")]
    WrongProofLength {
        /// The length a proof for these sizes has.
        expected: usize,
        /// The length of the proof given.
        actual: usize,
    },
    /// The inclusion proof leads to a different root: the leaf is not at
    /// that index in that tree, or some hash is wrong.
    #[error("the inclusion proof does not lead to the given root")]
    RootMismatch,
    /// The consistency proof does not rebuild the old root: the old tree is
    /// not the one the proof is about.
    #[error("the consistency proof does not lead to the old root")]
    OldRootMismatch,
    /// The consistency proof rebuilds the old root but not the new one: the
    /// new tree does not extend the old one, or some hash is wrong.
    #[error("the consistency proof does not lead to the new root")]
    NewRootMismatch,
    /// Two trees of the same size have different roots. If both roots are
    /// signed by the same log, the log has forked.
    #[error("two trees of size {size} have different roots")]
    RootsDifferAtEqualSize {
        /// The size of both trees.
        size: u64,
    },
    /// The old tree is larger than the new one.
    #[error("old tree size {old} is greater than new tree size {new}")]
    OldSizeGreater {
        /// The claimed old size.
        old: u64,
        /// The claimed new size.
        new: u64,
    },
    /// The old tree is empty. Every tree extends the empty tree, so a
    /// consistency check from it proves nothing; it is rejected so that no
    /// caller mistakes it for a check.
    #[error("there is no consistency proof from the empty tree")]
    EmptyOldTree,
}

/// Checks that `leaf` (a leaf hash) is leaf number `index` of the tree of
/// `size` leaves whose root is `root`, given an inclusion proof listed
/// bottom-up.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    let computed = root_from_inclusion(leaf, index, size, proof)?;
    if computed == *root {
        Ok(())
    } else {
        Err(VerifyError::RootMismatch)
    }
}

/// The root that an inclusion proof leads to from `leaf` at `index` in a
/// tree of `size` leaves (RFC 9162 §2.1.3.2, steps 1–5 without the final
/// comparison). Comparing it with a signed root is the caller's business.
pub fn root_from_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexBeyondSize { index, size });
    }
    let wrong_length = || VerifyError::WrongProofLength {
        expected: inclusion_proof_len(index, size),
        actual: proof.len(),
    };
    // `f` is the position of the running hash on its level and `s` that of
    // the last node on the level; they climb together.
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            // Already at the root with hashes left over.
            return Err(wrong_length());
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            // A last node with no right sibling climbs without hashing.
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        // The proof ran out below the root.
        return Err(wrong_length());
    }
    Ok(r)
}

/// Checks that the tree of `new_size` leaves with root `new_root` extends
/// the tree of `old_size` leaves with root `old_root`, given a consistency
/// proof listed bottom-up.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if old_size > new_size {
        return Err(VerifyError::OldSizeGreater {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == 0 {
        return Err(VerifyError::EmptyOldTree);
    }
    let wrong_length = || VerifyError::WrongProofLength {
        expected: consistency_proof_len(old_size, new_size),
        actual: proof.len(),
    };
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(wrong_length());
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(VerifyError::RootsDifferAtEqualSize { size: old_size })
        };
    }
    // Step 1.
    if proof.is_empty() {
        return Err(wrong_length());
    }
    // Step 2: when the old tree is a complete subtree, its root is the
    // starting point and the proof does not repeat it.
    let (first, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        proof.split_first().ok_or_else(wrong_length)?
    };
    let (fr, sr) = consistency_walk(old_size, new_size, first, rest).ok_or_else(wrong_length)?;
    if fr != *old_root {
        return Err(VerifyError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(VerifyError::NewRootMismatch);
    }
    Ok(())
}

/// The old root that a consistency proof implies, when the proof reaches
/// `new_root`.
///
/// Read `proof` as an RFC 9162 consistency proof from a tree of `old_size`
/// leaves to the tree of `new_size` leaves whose root is `new_root`. When
/// `old_size` is not a power of two, the proof carries everything needed to
/// rebuild both roots; if the rebuilt new root is `new_root`, the rebuilt old
/// root is returned. That is the root the log's own tree had at `old_size`,
/// which a follower compares with the root the log signed for that size.
///
/// `None` when the proof does not reach `new_root` (wrong hashes or wrong
/// length), when `old_size` is zero or not smaller than `new_size`, and when
/// `old_size` is a power of two: the old tree is then one complete subtree
/// of the new one, the proof starts from the old root without carrying it,
/// and so implies no old root of its own.
pub fn prefix_root_from_consistency(
    old_size: u64,
    new_size: u64,
    new_root: &Hash,
    proof: &[Hash],
) -> Option<Hash> {
    if old_size == 0 || old_size >= new_size || old_size.is_power_of_two() {
        return None;
    }
    let (first, rest) = proof.split_first()?;
    let (fr, sr) = consistency_walk(old_size, new_size, first, rest)?;
    (sr == *new_root).then_some(fr)
}

/// Steps 3 to 7 of RFC 9162 §2.1.4.2 without the final comparisons, for
/// `0 < old_size < new_size`: the old and new roots that `first` followed by
/// `rest` rebuild, or `None` when the proof is too long or too short.
fn consistency_walk(
    old_size: u64,
    new_size: u64,
    first: &Hash,
    rest: &[Hash],
) -> Option<(Hash, Hash)> {
    // Steps 3 and 4: skip the levels where the old tree's last node is a
    // right child, whose hashes are inside `first` already.
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    // Step 5: `fr` rebuilds the old root and `sr` the new one.
    let (mut fr, mut sr) = (*first, *first);
    // Step 6.
    for c in rest {
        if s == 0 {
            return None;
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    // Step 7, first part: the proof must end exactly at the root.
    if s != 0 {
        return None;
    }
    Some((fr, sr))
}

/// The length of the inclusion proof of `index` in a tree of `size` leaves,
/// for `index < size`: one hash per level below the point where the leaf's
/// path meets the right edge, plus one per left sibling above it.
fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// The length of the consistency proof from `old` to `new` leaves, for
/// `0 < old <= new`.
fn consistency_proof_len(old: u64, new: u64) -> usize {
    if old == new {
        return 0;
    }
    // Above the old tree's lowest complete subtree the proof is the inclusion
    // proof of that subtree's hash, preceded by the hash itself unless it is
    // the whole old tree (whose root the verifier already has).
    let level = old.trailing_zeros();
    let node = (old - 1) >> level;
    let nodes = ((new - 1) >> level) + 1;
    inclusion_proof_len(node, nodes) + usize::from(node != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_lengths_of_known_cases() {
        assert_eq!(inclusion_proof_len(0, 1), 0);
        assert_eq!(inclusion_proof_len(1, 5), 3);
        assert_eq!(inclusion_proof_len(2, 3), 1);
        assert_eq!(inclusion_proof_len(0, u64::MAX), 64);
        assert_eq!(consistency_proof_len(6, 8), 3);
        assert_eq!(consistency_proof_len(2, 5), 2);
        assert_eq!(consistency_proof_len(6, 7), 3);
        assert_eq!(consistency_proof_len(1, u64::MAX), 64);
    }
}
