//! The append path: a compact range over the whole tree.
//!
//! A tree of size `n` is, left to right, one complete subtree per set bit of
//! `n`, largest first (the "frontier"). Those O(log n) hashes are all that is
//! needed to compute the root and to append: a new leaf merges with the
//! frontier subtrees of equal size, exactly like carrying in binary addition,
//! and each merge closes one more complete subtree that the node stores.

use super::{fold_right, node_hash, root_plan, Hash, ProofError, Subtree, TreeStore};

/// The tree already holds `u64::MAX` leaves, the most a `u64` size can count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the tree is full: it already holds u64::MAX leaves")]
pub struct TreeFull;

/// The right edge of a tree: its size and the hashes of its frontier
/// subtrees. Enough to append leaves and compute the root, nothing more.
///
/// Appending costs one leaf hash plus one node hash per closed subtree,
/// which is under two hashes per leaf on average, and no allocation beyond
/// the at most 64 frontier hashes (see [`CompactRange::push_with`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    // INVARIANT: hashes.len() == size.count_ones(), and hashes[k] is the hash
    // of the k-th frontier subtree of `size` from the left (largest first),
    // that is of the subtrees listed by `root_plan(size).subtrees()`.
    hashes: Vec<Hash>,
}

impl CompactRange {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds the right edge of the tree of the first `size` leaves from a
    /// store, for example after a restart. Reads `size.count_ones()` hashes
    /// and computes none.
    pub fn from_store<S: TreeStore + ?Sized>(
        store: &S,
        size: u64,
    ) -> Result<Self, ProofError<S::Error>> {
        let plan = root_plan(size);
        let hashes = super::fetch(store, plan.subtrees())?;
        Ok(CompactRange { size, hashes })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The frontier hashes, largest subtree first.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The frontier subtrees, in the order of [`CompactRange::hashes`].
    pub fn subtrees(&self) -> impl Iterator<Item = Subtree> {
        frontier(self.size)
    }

    /// The root hash of the tree (RFC 6962 `MTH`), the empty root for size 0.
    pub fn root(&self) -> Hash {
        fold_right(&self.hashes)
    }

    /// Appends a leaf by its leaf hash and returns every subtree that is now
    /// complete: the leaf itself (level 0) first, then each parent that
    /// closes, lowest first. A node stores exactly these.
    ///
    /// # Panics
    ///
    /// If the tree already holds `u64::MAX` leaves. [`CompactRange::try_push`]
    /// returns an error instead.
    pub fn push(&mut self, leaf: Hash) -> Vec<(Subtree, Hash)> {
        match self.try_push(leaf) {
            Ok(closed) => closed,
            Err(full) => panic!("{full}"),
        }
    }

    /// Like [`CompactRange::push`], but returns [`TreeFull`] instead of
    /// panicking; the range is then unchanged.
    pub fn try_push(&mut self, leaf: Hash) -> Result<Vec<(Subtree, Hash)>, TreeFull> {
        // One leaf plus one parent per trailing one bit of the old size.
        let mut closed = Vec::with_capacity(self.size.trailing_ones() as usize + 1);
        self.push_with(leaf, |at, hash| closed.push((at, hash)))?;
        Ok(closed)
    }

    /// Appends a leaf and hands each newly complete subtree to `closed`, in
    /// the order [`CompactRange::push`] returns them, without allocating.
    /// On [`TreeFull`] nothing is appended and `closed` is not called.
    pub fn push_with(
        &mut self,
        leaf: Hash,
        mut closed: impl FnMut(Subtree, Hash),
    ) -> Result<(), TreeFull> {
        let index = self.size;
        let new_size = index.checked_add(1).ok_or(TreeFull)?;
        // The leaf is below a valid size, so every subtree ending at it is
        // valid too.
        closed(Subtree::new_unchecked(0, index), leaf);
        let mut carry = leaf;
        // Each trailing one bit of the old size is a frontier subtree of the
        // same size as `carry`, sitting directly to its left: merge them.
        for level in 1..=index.trailing_ones() {
            // The invariant guarantees one hash per set bit, so this pop
            // cannot fail; stopping early would only leave the range short.
            let Some(left) = self.hashes.pop() else {
                break;
            };
            carry = node_hash(&left, &carry);
            closed(Subtree::new_unchecked(level, index >> level), carry);
        }
        self.hashes.push(carry);
        self.size = new_size;
        Ok(())
    }
}

/// The frontier subtrees of a tree of `size` leaves, largest first.
pub(super) fn frontier(size: u64) -> impl Iterator<Item = Subtree> {
    (0..64u32).rev().filter_map(move |level| {
        let bit = 1u64 << level;
        (size & bit != 0).then(|| {
            // The subtree starts after all larger frontier subtrees, which
            // are exactly the higher set bits of `size`.
            let start = size & !((bit << 1).wrapping_sub(1));
            Subtree::new_unchecked(level, start >> level)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;

    #[test]
    fn frontier_of_seven() {
        let got: Vec<_> = frontier(7).map(|s| (s.level(), s.index())).collect();
        assert_eq!(got, [(2, 0), (1, 2), (0, 6)]);
        assert_eq!(frontier(0).count(), 0);
        assert_eq!(frontier(u64::MAX).count(), 64);
    }

    #[test]
    fn push_reports_closed_subtrees_lowest_first() {
        let mut range = CompactRange::new();
        for i in 0..3u8 {
            range.push(leaf_hash(&[i]));
        }
        let closed = range.push(leaf_hash(&[3]));
        let at: Vec<_> = closed.iter().map(|(s, _)| (s.level(), s.index())).collect();
        assert_eq!(at, [(0, 3), (1, 1), (2, 0)]);
        assert_eq!(range.hashes(), [closed[2].1]);
    }
}
