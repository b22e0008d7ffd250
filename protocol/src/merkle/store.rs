//! Stored tree hashes: how a complete subtree is addressed, the trait a store
//! implements, and a store kept in memory.
//!
//! A node never stores the hash of a right-edge node that is still growing;
//! such a hash would go stale with the next leaf. It stores only complete
//! subtrees, which never change once closed. Any root or proof at any size is
//! then a combination of O(log n) of them (see [`super::Plan`]).

use std::fmt;

use super::{CompactRange, Hash};

/// A complete (perfect) subtree: the `2^level` leaves
/// `[index << level, (index + 1) << level)`.
///
/// Level 0 is a single leaf, whose stored hash is its leaf hash. The hash of
/// `(level + 1, i)` is the node hash of `(level, 2i)` and `(level, 2i + 1)`.
/// This is the same numbering as the "level, index" of C2SP tlog-tiles.
///
/// Ordering is by level, then index, which is also the order of
/// [`Subtree::to_key`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subtree {
    // INVARIANT: level <= MAX_LEVEL and (index + 1) << level <= u64::MAX, so
    // that every leaf the subtree covers is below some valid u64 tree size,
    // and `end()` cannot overflow.
    level: u8,
    index: u64,
}

impl Subtree {
    /// The highest level a subtree of a tree with a `u64` size can have.
    pub const MAX_LEVEL: u8 = 63;

    /// The length of [`Subtree::to_key`].
    pub const KEY_LEN: usize = 9;

    /// The subtree at `level` and `index`.
    ///
    /// # Panics
    ///
    /// If no tree of `u64` size can hold it, that is if `level > 63` or if it
    /// would end past leaf `u64::MAX - 1`. Use [`Subtree::try_new`] for
    /// values read from outside.
    pub fn new(level: u8, index: u64) -> Self {
        match Self::try_new(level, index) {
            Some(subtree) => subtree,
            None => panic!("no subtree at level {level}, index {index} fits a u64-sized tree"),
        }
    }

    /// The subtree at `level` and `index`, or `None` if no tree of `u64` size
    /// can hold it.
    pub fn try_new(level: u8, index: u64) -> Option<Self> {
        if level > Self::MAX_LEVEL {
            return None;
        }
        // (index + 1) << level <= u64::MAX  <=>  index + 1 <= u64::MAX >> level.
        let fits = index
            .checked_add(1)
            .is_some_and(|end| end <= u64::MAX >> level);
        fits.then_some(Subtree { level, index })
    }

    /// Builds a subtree the caller already knows to be valid.
    pub(super) fn new_unchecked(level: u32, index: u64) -> Self {
        debug_assert!(Self::try_new(level as u8, index).is_some() && level < 64);
        Subtree {
            level: level as u8,
            index,
        }
    }

    /// The leaf at `index`, as a level-0 subtree; `None` for `u64::MAX`,
    /// which no tree of `u64` size contains.
    pub fn leaf(index: u64) -> Option<Self> {
        Self::try_new(0, index)
    }

    /// The height: the subtree covers `2^level` leaves.
    pub fn level(&self) -> u8 {
        self.level
    }

    /// The position among the subtrees of the same level, from 0 at the left.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The index of the first leaf covered.
    pub fn start(&self) -> u64 {
        self.index << self.level
    }

    /// One past the index of the last leaf covered: the smallest tree size
    /// that contains the whole subtree.
    pub fn end(&self) -> u64 {
        (self.index + 1) << self.level
    }

    /// The number of leaves covered, `2^level`.
    pub fn leaf_count(&self) -> u64 {
        1 << self.level
    }

    /// The subtree one level up that contains this one, if it fits a `u64`
    /// tree size.
    pub fn parent(&self) -> Option<Subtree> {
        Self::try_new(self.level + 1, self.index >> 1)
    }

    /// The two halves of this subtree, left first; `None` for a leaf.
    pub fn children(&self) -> Option<(Subtree, Subtree)> {
        let level = self.level.checked_sub(1)?;
        // Both children end no later than this subtree, so both are valid.
        let left = Subtree {
            level,
            index: self.index << 1,
        };
        let right = Subtree {
            level,
            index: (self.index << 1) | 1,
        };
        Some((left, right))
    }

    /// A 9-byte storage key: the level, then the index as big-endian `u64`.
    ///
    /// Keys sort like subtrees do, so one level's hashes are contiguous and in
    /// leaf order in an ordered key-value store.
    pub fn to_key(&self) -> [u8; Self::KEY_LEN] {
        let mut key = [0u8; Self::KEY_LEN];
        key[0] = self.level;
        key[1..].copy_from_slice(&self.index.to_be_bytes());
        key
    }

    /// Reads a key written by [`Subtree::to_key`]; `None` if it has the wrong
    /// length or names no valid subtree.
    pub fn from_key(key: &[u8]) -> Option<Self> {
        let (&level, index) = key.split_first()?;
        let index = u64::from_be_bytes(index.try_into().ok()?);
        Self::try_new(level, index)
    }
}

impl fmt::Display for Subtree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(level {}, index {})", self.level, self.index)
    }
}

/// Where complete-subtree hashes are kept: a database table in the node, a
/// [`MemoryTree`] in tests.
///
/// Implementations return the hash stored for `at`, which must be the
/// RFC 6962 hash of the leaves it covers; they never compute hashes
/// themselves. A store is asked only for subtrees inside the tree size the
/// caller passed, so a store that has not yet seen those leaves should
/// report an error rather than make a hash up.
pub trait TreeStore {
    /// Why a hash could not be read.
    type Error;

    /// The stored hash of the complete subtree `at`.
    fn subtree(&self, at: Subtree) -> Result<Hash, Self::Error>;
}

impl<S: TreeStore + ?Sized> TreeStore for &S {
    type Error = S::Error;

    fn subtree(&self, at: Subtree) -> Result<Hash, Self::Error> {
        (**self).subtree(at)
    }
}

/// A [`MemoryTree`] was asked for a subtree it does not hold: the subtree
/// reaches past the last leaf appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("subtree {at} is not stored: it reaches past the last leaf")]
pub struct NotStored {
    at: Subtree,
}

impl NotStored {
    /// The subtree that was asked for.
    pub fn subtree(&self) -> Subtree {
        self.at
    }
}

/// A whole tree in memory: every complete subtree's hash, filled by a
/// [`CompactRange`] exactly as the node fills its database.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    // INVARIANT: levels[l] holds the hashes of subtrees (l, 0..size >> l),
    // in index order, with no empty level at the end.
    levels: Vec<Vec<Hash>>,
    // The right edge, kept so that appending costs O(1) amortised hashes.
    frontier: CompactRange,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of the given leaf hashes, in order.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = Self::new();
        for leaf in leaves {
            tree.push_leaf_hash(leaf);
        }
        tree
    }

    /// Appends a leaf whose data is `data`; returns its index.
    pub fn append(&mut self, data: &[u8]) -> u64 {
        self.push_leaf_hash(super::leaf_hash(data))
    }

    /// Appends a leaf by its leaf hash; returns its index.
    pub fn push_leaf_hash(&mut self, leaf: Hash) -> u64 {
        let index = self.frontier.size();
        let levels = &mut self.levels;
        let pushed = self.frontier.push_with(leaf, |at, hash| {
            let level = usize::from(at.level());
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            // Subtrees close in index order on each level, so this appends
            // exactly at position `at.index()`.
            levels[level].push(hash);
        });
        // Memory runs out long before 2^64 - 1 leaves, so a full tree cannot
        // be reached here; if it ever were, the leaf is simply not added.
        debug_assert!(pushed.is_ok());
        index
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// The right edge of the tree, as the node would hold it.
    pub fn compact_range(&self) -> &CompactRange {
        &self.frontier
    }

    /// Every stored subtree with its hash, level by level from the leaves up.
    pub fn stored(&self) -> impl Iterator<Item = (Subtree, Hash)> + '_ {
        self.levels.iter().enumerate().flat_map(|(level, hashes)| {
            hashes.iter().enumerate().map(move |(index, hash)| {
                (Subtree::new_unchecked(level as u32, index as u64), *hash)
            })
        })
    }
}

impl TreeStore for MemoryTree {
    type Error = NotStored;

    fn subtree(&self, at: Subtree) -> Result<Hash, NotStored> {
        usize::try_from(at.index())
            .ok()
            .and_then(|index| self.levels.get(usize::from(at.level()))?.get(index))
            .copied()
            .ok_or(NotStored { at })
    }
}
