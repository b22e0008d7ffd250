//! The Merkle log against known answers, a naive reference, and properties.
//!
//! - [`vectors`]: the transparency-dev RFC 6962 proof vectors and the roots
//!   of their 8-leaf tree, read from `vectors/rfc6962/`.
//! - [`reference`]: RFC 6962 §2.1 written as directly as possible, compared
//!   with the stored-subtree implementation.
//! - [`properties`]: every small tree exhaustively, random mutations, resuming
//!   after a restart, and trees far too large to build.
//! - [`api`]: addressing, errors, and the edges of the public API.

mod api;
mod properties;
mod reference;
mod vectors;

use std::convert::Infallible;

use kaitiaki_protocol::merkle::{leaf_hash, node_hash, MemoryTree, Subtree, TreeStore};
use kaitiaki_protocol::Hash;

/// Distinct data for leaf `i`, so that no two subtrees of a test tree share
/// a hash and a proof for one position can never pass for another.
fn leaf_data(i: u64) -> [u8; 8] {
    i.to_be_bytes()
}

/// The leaf hashes of a test tree of `size` leaves.
fn leaf_hashes(size: u64) -> Vec<Hash> {
    (0..size).map(|i| leaf_hash(&leaf_data(i))).collect()
}

/// A test tree of `size` leaves.
fn tree(size: u64) -> MemoryTree {
    MemoryTree::from_leaf_hashes(leaf_hashes(size))
}

/// `hash` with one bit flipped.
fn flip(hash: &Hash, bit: usize) -> Hash {
    let mut bytes = *hash.as_bytes();
    bytes[(bit / 8) % 32] ^= 1 << (bit % 8);
    Hash::from_bytes(bytes)
}

/// A tree of identical leaves, of any size up to `u64::MAX`.
///
/// It is far too large to build, but every complete subtree at level `l` has
/// the same hash (two equal halves hashed together), so it can serve as a
/// store for roots and proofs at sizes near the top of the `u64` range.
struct Uniform {
    levels: [Hash; 64],
}

impl Uniform {
    fn new() -> Self {
        let mut levels = [leaf_hash(b"same"); 64];
        for level in 1..64 {
            levels[level] = node_hash(&levels[level - 1], &levels[level - 1]);
        }
        Uniform { levels }
    }

    fn leaf(&self) -> Hash {
        self.levels[0]
    }
}

impl TreeStore for Uniform {
    type Error = Infallible;

    fn subtree(&self, at: Subtree) -> Result<Hash, Infallible> {
        Ok(self.levels[usize::from(at.level())])
    }
}
