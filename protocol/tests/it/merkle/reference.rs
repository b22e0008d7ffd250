//! A naive RFC 6962 implementation over a list of leaves, compared with the
//! stored-subtree one.
//!
//! The reference recomputes every hash from the leaves on each call, exactly
//! as the RFC's recursive definitions read (MTH, PATH, SUBPROOF), so it is
//! slow but easy to check by eye. The comparison is exhaustive for every
//! size, index and pair of sizes up to [`LIMIT`], which spans several powers
//! of two and so every shape of right edge up to that size.

use kaitiaki_protocol::merkle::{
    consistency_proof, empty_root, inclusion_proof, node_hash, root, CompactRange,
};
use kaitiaki_protocol::Hash;

use super::{leaf_hashes, tree};

/// Trees up to this size are compared exhaustively.
const LIMIT: u64 = 100;

/// The largest power of two strictly less than `n`, for `n >= 2`.
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 6962 §2.1 `MTH(D[n])`, over leaf hashes.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// RFC 6962 §2.1.1 `PATH(m, D[n])`.
fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    if m < k {
        let mut proof = path(m, &leaves[..k]);
        proof.push(mth(&leaves[k..]));
        proof
    } else {
        let mut proof = path(m - k, &leaves[k..]);
        proof.push(mth(&leaves[..k]));
        proof
    }
}

/// RFC 6962 §2.1.2 `SUBPROOF(m, D[n], b)`.
fn subproof(m: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if whole { Vec::new() } else { vec![mth(leaves)] };
    }
    let k = split(n);
    if m <= k {
        let mut proof = subproof(m, &leaves[..k], whole);
        proof.push(mth(&leaves[k..]));
        proof
    } else {
        let mut proof = subproof(m - k, &leaves[k..], false);
        proof.push(mth(&leaves[..k]));
        proof
    }
}

#[test]
fn roots_match_the_reference_at_every_size() {
    let leaves = leaf_hashes(LIMIT);
    let store = tree(LIMIT);
    let mut range = CompactRange::new();
    for n in 0..=LIMIT as usize {
        let want = mth(&leaves[..n]);
        assert_eq!(root(&store, n as u64).unwrap(), want, "root at size {n}");
        assert_eq!(range.root(), want, "compact range root at size {n}");
        if n < leaves.len() {
            range.push(leaves[n]);
        }
    }
}

#[test]
fn inclusion_proofs_match_the_reference() {
    let leaves = leaf_hashes(LIMIT);
    let store = tree(LIMIT);
    for n in 1..=LIMIT as usize {
        for m in 0..n {
            let got = inclusion_proof(&store, m as u64, n as u64).unwrap();
            assert_eq!(got, path(m, &leaves[..n]), "inclusion of {m} in {n}");
        }
    }
}

#[test]
fn consistency_proofs_match_the_reference() {
    let leaves = leaf_hashes(LIMIT);
    let store = tree(LIMIT);
    for n in 1..=LIMIT as usize {
        for m in 1..=n {
            let got = consistency_proof(&store, m as u64, n as u64).unwrap();
            let want = if m == n {
                Vec::new()
            } else {
                subproof(m, &leaves[..n], true)
            };
            assert_eq!(got, want, "consistency from {m} to {n}");
        }
    }
}
