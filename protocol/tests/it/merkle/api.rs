//! The edges of the public API: subtree addressing and keys, the errors a
//! caller acts on, and plans used by hand as a batching store would.

use std::error::Error as _;

use kaitiaki_protocol::merkle::{
    consistency_plan, consistency_proof, inclusion_plan, inclusion_proof, root, root_plan,
    verify_consistency, CompactRange, MemoryTree, NotStored, ProofError, Subtree, TreeStore,
    VerifyError,
};

use super::{tree, Uniform};

#[test]
fn subtree_covers_its_leaves() {
    let at = Subtree::new(3, 5);
    assert_eq!((at.level(), at.index()), (3, 5));
    assert_eq!((at.start(), at.end(), at.leaf_count()), (40, 48, 8));
    assert_eq!(at.parent(), Some(Subtree::new(4, 2)));
    assert_eq!(
        at.children(),
        Some((Subtree::new(2, 10), Subtree::new(2, 11)))
    );
    assert_eq!(Subtree::new(0, 7).children(), None);
    assert_eq!(at.to_string(), "(level 3, index 5)");
}

#[test]
fn subtree_limits_are_those_of_a_u64_size() {
    // The last leaf of the largest tree, and the largest subtrees.
    assert_eq!(Subtree::leaf(u64::MAX - 1).map(|s| s.end()), Some(u64::MAX));
    assert_eq!(Subtree::leaf(u64::MAX), None);
    assert_eq!(Subtree::try_new(63, 0).map(|s| s.end()), Some(1 << 63));
    assert_eq!(Subtree::try_new(63, 1), None);
    assert_eq!(Subtree::try_new(64, 0), None);
    assert_eq!(
        Subtree::try_new(1, (1 << 63) - 2).map(|s| s.end()),
        Some(u64::MAX - 1)
    );
    assert_eq!(Subtree::try_new(1, (1 << 63) - 1), None);
    assert_eq!(Subtree::new(63, 0).parent(), None);
    assert_eq!(Subtree::new(0, u64::MAX - 1).parent(), None);
}

#[test]
#[should_panic(expected = "no subtree")]
fn subtree_new_panics_on_a_caller_bug() {
    let _ = Subtree::new(64, 0);
}

#[test]
fn subtree_keys_round_trip_and_sort_like_subtrees() {
    let mut subtrees = vec![
        Subtree::new(0, 0),
        Subtree::new(0, 300),
        Subtree::new(1, 2),
        Subtree::new(2, 1),
        Subtree::new(63, 0),
        Subtree::new(0, u64::MAX - 1),
    ];
    for at in &subtrees {
        assert_eq!(Subtree::from_key(&at.to_key()), Some(*at));
    }
    let mut keys: Vec<_> = subtrees.iter().map(Subtree::to_key).collect();
    subtrees.sort();
    keys.sort();
    assert_eq!(
        keys,
        subtrees.iter().map(Subtree::to_key).collect::<Vec<_>>()
    );
    assert_eq!(Subtree::new(2, 1).to_key(), [2, 0, 0, 0, 0, 0, 0, 0, 1]);

    assert_eq!(Subtree::from_key(&[0; 8]), None);
    assert_eq!(Subtree::from_key(&[0; 10]), None);
    assert_eq!(Subtree::from_key(&[64, 0, 0, 0, 0, 0, 0, 0, 0]), None);
    assert_eq!(
        Subtree::from_key(&[0, 255, 255, 255, 255, 255, 255, 255, 255]),
        None
    );
}

#[test]
fn requests_outside_the_tree_are_errors() {
    let store = tree(5);
    assert!(matches!(
        inclusion_proof(&store, 5, 5),
        Err(ProofError::IndexOutOfRange { index: 5, size: 5 })
    ));
    assert!(matches!(
        inclusion_proof(&store, 0, 0),
        Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
    ));
    assert!(matches!(
        consistency_proof(&store, 4, 3),
        Err(ProofError::OldSizeGreater { old: 4, new: 3 })
    ));
    assert!(matches!(
        consistency_proof(&store, 0, 3),
        Err(ProofError::EmptyOldTree)
    ));
    assert_eq!(consistency_proof(&store, 3, 3).unwrap(), []);
}

#[test]
fn sizes_beyond_the_store_report_the_missing_subtree() {
    let store = tree(5);
    let Err(ProofError::Store { at, source }) = root(&store, 6) else {
        panic!("size 6 of a 5-leaf tree must fail");
    };
    // Size 6 is (level 2, index 0) then (level 1, index 2); only the second
    // needs leaf 5.
    assert_eq!(at, Subtree::new(1, 2));
    assert_eq!(source.subtree(), at);

    let err = consistency_proof(&store, 2, 6).unwrap_err();
    let source = err.source().expect("the store error is the source");
    assert!(source.downcast_ref::<NotStored>().is_some());
    assert!(CompactRange::from_store(&store, 7).is_err());
}

#[test]
fn plans_finish_from_hashes_fetched_in_a_batch() {
    let store = tree(13);
    // A store that fetches a whole plan at once, here simply in a loop.
    let fetch = |plan: &[Subtree]| -> Vec<_> {
        plan.iter().map(|at| store.subtree(*at).unwrap()).collect()
    };

    let plan = root_plan(13);
    assert_eq!(plan.subtrees().len(), 3);
    assert_eq!(plan.finish(&fetch(plan.subtrees())).unwrap(), store.root());

    let plan = inclusion_plan(4, 13).unwrap();
    let proof = plan.finish(&fetch(plan.subtrees())).unwrap();
    assert_eq!(proof.len(), plan.proof_len());
    assert_eq!(proof, inclusion_proof(&store, 4, 13).unwrap());

    let plan = consistency_plan(6, 13).unwrap();
    let proof = plan.finish(&fetch(plan.subtrees())).unwrap();
    assert_eq!(proof, consistency_proof(&store, 6, 13).unwrap());

    assert!(matches!(
        plan.finish(&[]),
        Err(ProofError::HashCount { expected, actual: 0 }) if expected == plan.subtrees().len()
    ));
    assert_eq!(root_plan(0).subtrees(), []);
    assert_eq!(
        root_plan(0).finish(&[]).unwrap(),
        root(&MemoryTree::new(), 0).unwrap()
    );
}

#[test]
fn plans_read_each_subtree_once_and_few_of_them() {
    let size = u64::MAX;
    for index in [0, 1, size / 2, size - 2, size - 1] {
        let plan = inclusion_plan(index, size).unwrap();
        let mut seen = plan.subtrees().to_vec();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), plan.subtrees().len());
        assert!(plan.subtrees().len() <= 128);
    }
    let plan = consistency_plan(size / 3, size - 1).unwrap();
    assert!(plan.subtrees().len() <= 128);
}

#[test]
fn the_full_tree_refuses_more_leaves() {
    let store = Uniform::new();
    let mut range = CompactRange::from_store(&store, u64::MAX).unwrap();
    assert_eq!(range.hashes().len(), 64);
    let before = range.clone();
    assert!(range.try_push(store.leaf()).is_err());
    assert!(range
        .push_with(store.leaf(), |_, _| panic!("nothing closes"))
        .is_err());
    assert_eq!(range, before);
}

#[test]
fn equal_sizes_with_different_roots_are_a_fork() {
    let (a, b) = (tree(3).root(), tree(4).root());
    assert_eq!(
        verify_consistency(3, 3, &a, &b, &[]),
        Err(VerifyError::RootsDifferAtEqualSize { size: 3 })
    );
    assert_eq!(verify_consistency(3, 3, &a, &a, &[]), Ok(()));
    assert_eq!(
        verify_consistency(3, 3, &a, &a, &[a]),
        Err(VerifyError::WrongProofLength {
            expected: 0,
            actual: 1
        })
    );
}

#[test]
fn frontier_is_the_root_plan() {
    for size in [0, 1, 6, 7, 8, 300] {
        let range = tree(size).compact_range().clone();
        let frontier: Vec<_> = range.subtrees().collect();
        assert_eq!(frontier, root_plan(size).subtrees());
        assert_eq!(range.hashes().len(), frontier.len());
        assert_eq!(range.size(), size);
    }
}
