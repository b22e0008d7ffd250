//! Properties: generated proofs verify, tampered ones do not, resuming the
//! append path changes nothing, and sizes up to `u64::MAX` behave.
//!
//! Small trees (up to [`MAX`] leaves) are checked exhaustively where that is
//! cheap, and by random sampling for mutations. Huge trees use the
//! identical-leaf [`Uniform`] store.

use std::sync::OnceLock;

use kaitiaki_protocol::merkle::{
    consistency_plan, consistency_proof, inclusion_plan, inclusion_proof, leaf_hash, root,
    verify_consistency, verify_inclusion, CompactRange, MemoryTree, TreeFull, VerifyError,
};
use kaitiaki_protocol::Hash;
use proptest::prelude::*;

use super::{flip, leaf_hashes, tree, Uniform};

/// The largest small tree.
const MAX: u64 = 300;

/// One tree of [`MAX`] leaves, its leaf hashes, and its root at every size.
struct Fixture {
    tree: MemoryTree,
    leaves: Vec<Hash>,
    roots: Vec<Hash>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let tree = tree(MAX);
        let roots = (0..=MAX).map(|n| root(&tree, n).unwrap()).collect();
        Fixture {
            tree,
            leaves: leaf_hashes(MAX),
            roots,
        }
    })
}

/// A tree size and a leaf index in it.
fn size_and_index() -> impl Strategy<Value = (u64, u64)> {
    (1..=MAX).prop_flat_map(|size| (Just(size), 0..size))
}

/// Two tree sizes, old then new, with `1 <= old <= new`.
fn old_and_new() -> impl Strategy<Value = (u64, u64)> {
    (1..=MAX).prop_flat_map(|new| (1..=new, Just(new)))
}

/// Any `u64`, with the extremes much more likely than chance would give.
fn big() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(u64::MAX),
        Just(u64::MAX - 1),
        (0..=64u32).prop_map(|b| 1u64.checked_shl(b).unwrap_or(u64::MAX)),
        any::<u64>(),
    ]
}

#[test]
fn every_inclusion_proof_of_small_trees_verifies() {
    let f = fixture();
    for size in 1..=MAX {
        for index in 0..size {
            let proof = inclusion_proof(&f.tree, index, size).unwrap();
            let leaf = &f.leaves[index as usize];
            verify_inclusion(leaf, index, size, &proof, &f.roots[size as usize])
                .unwrap_or_else(|e| panic!("leaf {index} of {size}: {e}"));
        }
    }
}

#[test]
fn every_consistency_proof_of_small_trees_verifies() {
    let f = fixture();
    for new in 1..=MAX {
        for old in 1..=new {
            let proof = consistency_proof(&f.tree, old, new).unwrap();
            let (old_root, new_root) = (&f.roots[old as usize], &f.roots[new as usize]);
            verify_consistency(old, new, old_root, new_root, &proof)
                .unwrap_or_else(|e| panic!("from {old} to {new}: {e}"));
        }
    }
}

/// An inclusion proof only ties a leaf to a root; the size is tied to the
/// root by the signed checkpoint. A proof that is valid for one size can
/// therefore pass unchanged for another size when both take the same path,
/// as RFC 9162 allows. This guards against "fixing" that by rejecting such
/// proofs, which would break interoperability; see `spec/merkle.md`.
#[test]
fn inclusion_proof_does_not_bind_the_size_alone() {
    let f = fixture();
    let proof = inclusion_proof(&f.tree, 0, 3).unwrap();
    assert!(verify_inclusion(&f.leaves[0], 0, 4, &proof, &f.roots[3]).is_ok());
    // With the root that really belongs to size 4, it fails.
    assert!(verify_inclusion(&f.leaves[0], 0, 4, &proof, &f.roots[4]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn inclusion_rejects_a_flipped_bit((size, index) in size_and_index(), pick: usize, bit in 0..256usize) {
        let f = fixture();
        let mut proof = inclusion_proof(&f.tree, index, size).unwrap();
        prop_assume!(!proof.is_empty());
        let at = pick % proof.len();
        proof[at] = flip(&proof[at], bit);
        let result = verify_inclusion(&f.leaves[index as usize], index, size, &proof, &f.roots[size as usize]);
        prop_assert_eq!(result, Err(VerifyError::RootMismatch));
    }

    #[test]
    fn inclusion_rejects_another_index((size, index) in size_and_index(), other in 0..MAX + 5) {
        prop_assume!(other != index);
        let f = fixture();
        let proof = inclusion_proof(&f.tree, index, size).unwrap();
        let leaf = &f.leaves[index as usize];
        prop_assert!(verify_inclusion(leaf, other, size, &proof, &f.roots[size as usize]).is_err());
        // Nor does another leaf pass at this index.
        let wrong_leaf = leaf_hash(b"not in the tree");
        prop_assert!(verify_inclusion(&wrong_leaf, index, size, &proof, &f.roots[size as usize]).is_err());
    }

    #[test]
    fn inclusion_rejects_another_size_with_its_root((size, index) in size_and_index(), other in 0..=MAX + 5) {
        prop_assume!(other != size);
        let f = fixture();
        let proof = inclusion_proof(&f.tree, index, size).unwrap();
        let other_root = f.roots.get(other as usize).copied().unwrap_or_else(|| leaf_hash(b"x"));
        let result = verify_inclusion(&f.leaves[index as usize], index, other, &proof, &other_root);
        prop_assert!(result.is_err());
    }

    #[test]
    fn inclusion_rejects_another_root((size, index) in size_and_index(), bit in 0..256usize) {
        let f = fixture();
        let proof = inclusion_proof(&f.tree, index, size).unwrap();
        let root = flip(&f.roots[size as usize], bit);
        let result = verify_inclusion(&f.leaves[index as usize], index, size, &proof, &root);
        prop_assert_eq!(result, Err(VerifyError::RootMismatch));
    }

    #[test]
    fn consistency_rejects_a_flipped_bit((old, new) in old_and_new(), pick: usize, bit in 0..256usize) {
        let f = fixture();
        let mut proof = consistency_proof(&f.tree, old, new).unwrap();
        prop_assume!(!proof.is_empty());
        let at = pick % proof.len();
        proof[at] = flip(&proof[at], bit);
        let result = verify_consistency(old, new, &f.roots[old as usize], &f.roots[new as usize], &proof);
        prop_assert!(result.is_err());
    }

    #[test]
    fn consistency_rejects_other_sizes_with_their_roots(
        (old, new) in old_and_new(),
        other_old in 0..=MAX,
        other_new in 0..=MAX,
    ) {
        prop_assume!((other_old, other_new) != (old, new));
        let f = fixture();
        let proof = consistency_proof(&f.tree, old, new).unwrap();
        let (old_root, new_root) = (&f.roots[other_old as usize], &f.roots[other_new as usize]);
        prop_assert!(verify_consistency(other_old, new, old_root, &f.roots[new as usize], &proof).is_err() || other_old == old);
        prop_assert!(verify_consistency(old, other_new, &f.roots[old as usize], new_root, &proof).is_err() || other_new == new);
        let moved = verify_consistency(other_old, other_new, old_root, new_root, &proof);
        if old == new {
            // The proof is empty, and RFC 9162 §2.1.4.2 makes the empty
            // proof prove every size of at least 1 consistent with itself
            // (its two roots being the same), and nothing else.
            prop_assert!(proof.is_empty());
            prop_assert_eq!(moved.is_ok(), other_old == other_new && other_old > 0);
        } else {
            prop_assert!(moved.is_err());
        }
    }

    #[test]
    fn consistency_rejects_other_roots((old, new) in old_and_new(), bit in 0..256usize) {
        let f = fixture();
        let proof = consistency_proof(&f.tree, old, new).unwrap();
        let (old_root, new_root) = (f.roots[old as usize], f.roots[new as usize]);
        prop_assert!(verify_consistency(old, new, &flip(&old_root, bit), &new_root, &proof).is_err());
        prop_assert!(verify_consistency(old, new, &old_root, &flip(&new_root, bit), &proof).is_err());
    }

    /// Resuming from the store after a restart gives the same frontier, the
    /// same roots and the same stored subtrees as never having stopped.
    #[test]
    fn resuming_from_the_store_changes_nothing(stop in 0..=MAX, more in 0..=MAX / 2) {
        let f = fixture();
        let leaves = leaf_hashes(stop + more);
        let before = MemoryTree::from_leaf_hashes(leaves[..stop as usize].iter().copied());

        let mut straight = CompactRange::new();
        let mut straight_closed = Vec::new();
        for (i, leaf) in leaves.iter().enumerate() {
            let closed = straight.push(*leaf);
            if i as u64 >= stop {
                straight_closed.extend(closed);
            }
        }

        let mut resumed = CompactRange::from_store(&before, stop).unwrap();
        prop_assert_eq!(resumed.root(), root(&before, stop).unwrap());
        let mut resumed_closed = Vec::new();
        for (i, leaf) in leaves.iter().enumerate().skip(stop as usize) {
            resumed_closed.extend(resumed.push(*leaf));
            let size = i as u64 + 1;
            if size <= MAX {
                prop_assert_eq!(resumed.root(), f.roots[size as usize]);
            }
        }
        prop_assert_eq!(&resumed, &straight);
        prop_assert_eq!(&resumed_closed, &straight_closed);

        // What was stored before the restart plus what closed after it is
        // exactly what an uninterrupted tree stores.
        let mut stored: Vec<_> = before.stored().chain(resumed_closed).collect();
        let mut whole: Vec<_> = MemoryTree::from_leaf_hashes(leaves).stored().collect();
        stored.sort_by_key(|(at, _)| *at);
        whole.sort_by_key(|(at, _)| *at);
        prop_assert_eq!(stored, whole);
    }

    #[test]
    fn huge_inclusion_proofs_verify(size in big(), pick: u64, bit in 0..256usize) {
        prop_assume!(size > 0);
        let index = pick % size;
        let store = Uniform::new();
        let root = root(&store, size).unwrap();
        let mut proof = inclusion_proof(&store, index, size).unwrap();
        prop_assert_eq!(verify_inclusion(&store.leaf(), index, size, &proof, &root), Ok(()));
        if let Some(first) = proof.first_mut() {
            *first = flip(first, bit);
            prop_assert!(verify_inclusion(&store.leaf(), index, size, &proof, &root).is_err());
        }
    }

    #[test]
    fn huge_consistency_proofs_verify(a in big(), b in big(), bit in 0..256usize) {
        let (old, new) = (a.min(b).max(1), a.max(b).max(1));
        let store = Uniform::new();
        let (old_root, new_root) = (root(&store, old).unwrap(), root(&store, new).unwrap());
        let mut proof = consistency_proof(&store, old, new).unwrap();
        prop_assert_eq!(verify_consistency(old, new, &old_root, &new_root, &proof), Ok(()));
        if let Some(last) = proof.last_mut() {
            *last = flip(last, bit);
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof).is_err());
        }
    }

    #[test]
    fn huge_compact_ranges_resume_and_append(size in big()) {
        let store = Uniform::new();
        let mut range = CompactRange::from_store(&store, size).unwrap();
        prop_assert_eq!(range.root(), root(&store, size).unwrap());
        match size.checked_add(1) {
            Some(next) => {
                range.push(store.leaf());
                prop_assert_eq!(range.root(), root(&store, next).unwrap());
            }
            None => prop_assert_eq!(range.try_push(store.leaf()), Err(TreeFull)),
        }
    }

    /// Arbitrary claims never panic, and a proof of the wrong length is
    /// always reported with the length the plan functions produce.
    #[test]
    fn arbitrary_input_never_panics(
        index in big(),
        size in big(),
        old in big(),
        new in big(),
        proof in prop::collection::vec(any::<[u8; 32]>().prop_map(Hash::from_bytes), 0..80),
        root in any::<[u8; 32]>().prop_map(Hash::from_bytes),
    ) {
        let included = verify_inclusion(&root, index, size, &proof, &root);
        // A one-leaf tree's root is its leaf, so that claim is true.
        prop_assert!(included.is_err() || (size == 1 && index == 0 && proof.is_empty()));
        let consistent = verify_consistency(old, new, &root, &root, &proof);
        prop_assert!(consistent.is_err() || (old == new && old > 0 && proof.is_empty()));

        if let Ok(plan) = inclusion_plan(index, size) {
            let too_long = vec![root; plan.proof_len() + 1];
            let expected = plan.proof_len();
            prop_assert_eq!(
                verify_inclusion(&root, index, size, &too_long, &root),
                Err(VerifyError::WrongProofLength { expected, actual: expected + 1 })
            );
        }
        if let Ok(plan) = consistency_plan(old, new) {
            let expected = plan.proof_len();
            let too_short = vec![root; expected.saturating_sub(1)];
            if expected > 0 {
                prop_assert_eq!(
                    verify_consistency(old, new, &root, &root, &too_short),
                    Err(VerifyError::WrongProofLength { expected, actual: expected - 1 })
                );
            }
        }
    }
}
