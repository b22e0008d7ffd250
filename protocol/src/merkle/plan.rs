//! Which stored subtrees a root or proof needs, and how to combine them.
//!
//! Computing a root or proof is split in two so that a store can fetch all
//! the hashes it needs in one batch (one database round trip, one tile
//! request) instead of one call per hash:
//!
//! 1. [`root_plan`], [`inclusion_plan`] or [`consistency_plan`] says which
//!    complete subtrees are needed: [`Plan::subtrees`].
//! 2. The caller fetches those hashes, in that order.
//! 3. [`Plan::finish`] turns them into the root or the proof.
//!
//! Every element of a root or proof is the RFC 6962 hash of some range of
//! leaves `[start, end)` where `start` is a multiple of a power of two at
//! least `end - start`. Such a range is a run of complete subtrees of
//! decreasing size, so it is computed by hashing O(log n) stored values,
//! never by rehashing leaves.

use std::marker::PhantomData;

use super::{fold_right, Hash, ProofError, Subtree};

/// The subtrees needed for a root ([`Plan<Hash>`]) or a proof
/// ([`Plan<Vec<Hash>>`]), and the recipe to combine them.
///
/// `T` is what [`Plan::finish`] produces.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan<T> {
    // The complete subtrees to fetch, in the order `finish` consumes them.
    subtrees: Vec<Subtree>,
    // INVARIANT: the runs sum to subtrees.len(). Output k is the right fold
    // of the next runs[k] subtrees; a root plan has exactly one run, which is
    // empty for the empty tree. A run is at most 64 subtrees long.
    runs: Vec<u8>,
    output: PhantomData<fn() -> T>,
}

/// A plan whose result is a tree root.
pub type RootPlan = Plan<Hash>;

/// A plan whose result is a proof: a list of hashes, bottom-up.
pub type ProofPlan = Plan<Vec<Hash>>;

impl<T> Clone for Plan<T> {
    fn clone(&self) -> Self {
        Plan {
            subtrees: self.subtrees.clone(),
            runs: self.runs.clone(),
            output: PhantomData,
        }
    }
}

impl<T> Plan<T> {
    fn new() -> Self {
        Plan {
            subtrees: Vec::new(),
            runs: Vec::new(),
            output: PhantomData,
        }
    }

    /// The complete subtrees whose stored hashes [`Plan::finish`] needs, in
    /// the order it needs them. A subtree may appear only once.
    pub fn subtrees(&self) -> &[Subtree] {
        &self.subtrees
    }

    /// Adds one output: the hash of leaves `[start, end)`, as a run of
    /// complete subtrees, largest first.
    ///
    /// The caller guarantees `start <= end` and that `start` is a multiple of
    /// the largest power of two not above `end - start`, so every piece is
    /// aligned and the fold of the run is the RFC 6962 hash of the range.
    fn push_range(&mut self, mut start: u64, end: u64) {
        let mut run = 0u8;
        while start < end {
            let width = end - start;
            // The largest power of two that fits, and that `start` is aligned
            // to (the alignment bound only matters if a caller broke the
            // contract; it keeps every subtree valid regardless).
            let level = (63 - width.leading_zeros()).min(start.trailing_zeros());
            self.subtrees
                .push(Subtree::new_unchecked(level, start >> level));
            start += 1 << level;
            run += 1;
        }
        self.runs.push(run);
    }

    /// Checks the fetched list against the plan and yields one hash per run.
    fn outputs<'a>(
        &'a self,
        fetched: &'a [Hash],
    ) -> Result<impl Iterator<Item = Hash> + 'a, ProofError> {
        if fetched.len() != self.subtrees.len() {
            return Err(ProofError::HashCount {
                expected: self.subtrees.len(),
                actual: fetched.len(),
            });
        }
        let mut rest = fetched;
        Ok(self.runs.iter().map(move |&run| {
            let (now, later) = rest.split_at(usize::from(run));
            rest = later;
            fold_right(now)
        }))
    }
}

impl Plan<Hash> {
    /// The root, from the hashes of [`Plan::subtrees`] in order.
    pub fn finish(&self, fetched: &[Hash]) -> Result<Hash, ProofError> {
        let root = self.outputs(fetched)?.next();
        // A root plan always has exactly one run.
        Ok(root.unwrap_or_else(super::empty_root))
    }
}

impl Plan<Vec<Hash>> {
    /// The number of hashes in the finished proof.
    pub fn proof_len(&self) -> usize {
        self.runs.len()
    }

    /// The proof, bottom-up, from the hashes of [`Plan::subtrees`] in order.
    pub fn finish(&self, fetched: &[Hash]) -> Result<Vec<Hash>, ProofError> {
        Ok(self.outputs(fetched)?.collect())
    }
}

/// The plan for the root of the tree of the first `size` leaves: its
/// frontier subtrees, at most 64 of them.
pub fn root_plan(size: u64) -> RootPlan {
    let mut plan = Plan::new();
    plan.push_range(0, size);
    plan
}

/// The plan for the inclusion proof of leaf `index` in the tree of the first
/// `size` leaves (RFC 9162 §2.1.3.1).
///
/// The proof lists, from the leaf up, the sibling of each node on the path
/// to the root. A node with no sibling (it is the last at its level, with an
/// odd count) is carried up unchanged and contributes nothing. A sibling on
/// the right edge may be incomplete; it is then the hash of a run of
/// complete subtrees.
pub fn inclusion_plan(index: u64, size: u64) -> Result<ProofPlan, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let last = size - 1;
    let mut plan = Plan::new();
    for level in 0..64u32 {
        // Once the leaf and the last leaf share an ancestor at this level,
        // that ancestor is the root.
        let last_node = last >> level;
        if last_node == 0 {
            break;
        }
        let sibling = (index >> level) ^ 1;
        if sibling > last_node {
            continue;
        }
        // `sibling <= last >> level`, so `start <= last` and nothing here can
        // overflow; the sibling is cut short at the tree's right edge.
        let start = sibling << level;
        let width = (size - start).min(1 << level);
        plan.push_range(start, start + width);
    }
    Ok(plan)
}

/// The plan for the consistency proof from the tree of the first `old`
/// leaves to the tree of the first `new` leaves (RFC 9162 §2.1.4.1).
///
/// The proof is empty when `old == new`. There is no proof from the empty
/// tree ([`ProofError::EmptyOldTree`]): every tree extends it.
pub fn consistency_plan(old: u64, new: u64) -> Result<ProofPlan, ProofError> {
    if old > new {
        return Err(ProofError::OldSizeGreater { old, new });
    }
    if old == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    // RFC 9162 SUBPROOF(m, D[start:start+len], whole), walked from the top
    // down. Each step emits one range; the proof lists them bottom-up, so
    // they are collected here and reversed. At most 64 steps are taken, and
    // the old tree's own range may follow them: at most 65 ranges.
    let mut ranges: Vec<(u64, u64)> = Vec::with_capacity(64);
    let (mut start, mut len, mut m) = (0u64, new, old);
    // Whether the old tree is a complete subtree of the new tree: its root is
    // then already known to the verifier and is left out of the proof.
    let mut whole = true;
    while m < len {
        // The largest power of two strictly below `len` (which is at least 2
        // here, since 1 <= m < len).
        let k = 1u64 << (63 - (len - 1).leading_zeros());
        if m <= k {
            // The old tree lies in the left half; the right half is new.
            ranges.push((start + k, start + len));
            len = k;
        } else {
            // The left half is shared by both trees; continue on the right.
            ranges.push((start, start + k));
            start += k;
            len -= k;
            m -= k;
            whole = false;
        }
    }
    if !whole {
        ranges.push((start, start + len));
    }
    let mut plan = Plan::new();
    for &(from, to) in ranges.iter().rev() {
        plan.push_range(from, to);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(plan: &ProofPlan) -> Vec<(u8, u64)> {
        plan.subtrees()
            .iter()
            .map(|s| (s.level(), s.index()))
            .collect()
    }

    #[test]
    fn inclusion_of_leaf_one_in_five() {
        let plan = inclusion_plan(1, 5).unwrap();
        assert_eq!(shape(&plan), [(0, 0), (1, 1), (0, 4)]);
        assert_eq!(plan.proof_len(), 3);
    }

    #[test]
    fn consistency_six_to_eight() {
        let plan = consistency_plan(6, 8).unwrap();
        assert_eq!(shape(&plan), [(1, 2), (1, 3), (2, 0)]);
    }

    #[test]
    fn right_edge_sibling_is_a_run() {
        // Leaf 0 of 7: siblings are leaf 1, node (1,1), and leaves 4..7,
        // which is (1,2) followed by leaf 6.
        let plan = inclusion_plan(0, 7).unwrap();
        assert_eq!(shape(&plan), [(0, 1), (1, 1), (1, 2), (0, 6)]);
        assert_eq!(plan.proof_len(), 3);
    }

    #[test]
    fn extreme_sizes_do_not_overflow() {
        assert_eq!(root_plan(u64::MAX).subtrees().len(), 64);
        assert_eq!(
            inclusion_plan(u64::MAX - 1, u64::MAX).unwrap().proof_len(),
            63
        );
        assert_eq!(inclusion_plan(0, u64::MAX).unwrap().proof_len(), 64);
        assert!(consistency_plan(u64::MAX - 1, u64::MAX).is_ok());
        assert!(consistency_plan(1, u64::MAX).is_ok());
        assert!(inclusion_plan(u64::MAX, u64::MAX).is_err());
    }
}
