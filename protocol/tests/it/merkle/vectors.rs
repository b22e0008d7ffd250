//! Known answers: the transparency-dev RFC 6962 proof vectors, and the
//! roots and subtree hashes of the 8-leaf tree they are drawn from.
//!
//! Every file under `vectors/rfc6962/inclusion` and `.../consistency` is one
//! case; `wantErr` says whether a verifier must reject it. See
//! `vectors/rfc6962/SOURCE.md` for where they come from.

use std::fs;
use std::path::{Path, PathBuf};

use kaitiaki_protocol::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, root, verify_consistency, verify_inclusion,
    CompactRange, MemoryTree, Subtree, TreeStore, VerifyError,
};
use kaitiaki_protocol::Hash;
use serde::Deserialize;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/rfc6962")
}

/// Every JSON file under `dir`, recursively, in a stable order.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Reads a hash a verifier hashes with: a leaf hash or a proof element.
///
/// Values that are not 32 bytes cannot become a [`Hash`], so a Kaitiaki
/// client rejects such a case while decoding it, before verifying.
fn hash(text: &str) -> Option<Hash> {
    Hash::from_base64(text)
}

fn hashes(texts: &Option<Vec<String>>) -> Option<Vec<Hash>> {
    texts.iter().flatten().map(|t| hash(t)).collect()
}

/// Reads a root, which a verifier only ever compares.
///
/// Some vectors carry roots that are not 32 bytes ("" or short strings),
/// including one that must be accepted: the two roots of equal-size trees
/// are the same short string, and a verifier only has to see that they are
/// equal. So that these cases still test the verifier's logic, such a root
/// is replaced by a stand-in derived from its text: equal texts give equal
/// stand-ins, and a stand-in never equals a real tree hash.
fn root_hash(text: &str) -> Hash {
    hash(text).unwrap_or_else(|| leaf_hash(format!("not a hash: {text}").as_bytes()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Inclusion {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Consistency {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    desc: String,
    #[serde(rename = "wantErr")]
    want_err: bool,
}

#[derive(Deserialize)]
struct Roots {
    leaves: Vec<String>,
    roots: Vec<Hash>,
    subtrees: Vec<Vec<Hash>>,
}

fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> T {
    let text = fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn roots() -> Roots {
    read(&vectors_dir().join("roots.json"))
}

/// The 8-leaf tree of `roots.json`, which the happy-path vectors prove into.
fn constants_tree() -> MemoryTree {
    let mut tree = MemoryTree::new();
    for leaf in roots().leaves {
        tree.append(&hex::decode(leaf).unwrap());
    }
    tree
}

/// The error a mutation named by the file must produce, where the name
/// pins it down.
fn expected_error(name: &str) -> Option<fn(&VerifyError) -> bool> {
    let pattern: fn(&VerifyError) -> bool = match name {
        "trailing-garbage" | "preceding-garbage" | "inserted-component" | "removed-component"
        | "truncated-proof" | "empty-proof" => {
            |e| matches!(e, VerifyError::WrongProofLength { .. })
        }
        "wrong-leaf" | "random-root" => |e| matches!(e, VerifyError::RootMismatch),
        // When the old size is a power of two the old root is where the
        // verifier starts, so a wrong one can only show in the new root.
        "wrong-root1" => |e| {
            matches!(
                e,
                VerifyError::OldRootMismatch | VerifyError::NewRootMismatch
            )
        },
        "wrong-root2" => |e| matches!(e, VerifyError::NewRootMismatch),
        "size1-is-greater-than-size2" => |e| matches!(e, VerifyError::OldSizeGreater { .. }),
        _ => return None,
    };
    Some(pattern)
}

fn check(path: &Path, result: Result<(), VerifyError>, want_err: bool, desc: &str) {
    let name = path.file_stem().unwrap().to_string_lossy();
    match (result, want_err) {
        (Ok(()), false) => {}
        (Err(e), true) => {
            if let Some(pattern) = expected_error(&name) {
                assert!(pattern(&e), "{}: wrong error {e:?}", path.display());
            }
        }
        (got, _) => panic!(
            "{} ({desc}): got {got:?}, want_err {want_err}",
            path.display()
        ),
    }
}

#[test]
fn inclusion_vectors() {
    let files = json_files(&vectors_dir().join("inclusion"));
    assert!(
        files.len() >= 80,
        "only {} inclusion vectors found",
        files.len()
    );
    for path in &files {
        let case: Inclusion = read(path);
        let (Some(leaf), Some(proof)) = (hash(&case.leaf_hash), hashes(&case.proof)) else {
            assert!(case.want_err, "{}: undecodable but valid", path.display());
            continue;
        };
        let result = verify_inclusion(
            &leaf,
            case.leaf_idx,
            case.tree_size,
            &proof,
            &root_hash(&case.root),
        );
        check(path, result, case.want_err, &case.desc);
    }
}

#[test]
fn consistency_vectors() {
    let files = json_files(&vectors_dir().join("consistency"));
    assert!(
        files.len() >= 90,
        "only {} consistency vectors found",
        files.len()
    );
    for path in &files {
        let case: Consistency = read(path);
        let Some(proof) = hashes(&case.proof) else {
            assert!(case.want_err, "{}: undecodable but valid", path.display());
            continue;
        };
        let result = verify_consistency(
            case.size1,
            case.size2,
            &root_hash(&case.root1),
            &root_hash(&case.root2),
            &proof,
        );
        check(path, result, case.want_err, &case.desc);
    }
}

#[test]
fn generated_inclusion_proofs_equal_the_happy_paths() {
    let tree = constants_tree();
    let roots = roots().roots;
    for path in json_files(&vectors_dir().join("inclusion")) {
        if !path.ends_with("happy-path.json") {
            continue;
        }
        let case: Inclusion = read(&path);
        let size = case.tree_size;
        let at = Subtree::leaf(case.leaf_idx).unwrap();
        assert_eq!(Some(tree.subtree(at).unwrap()), hash(&case.leaf_hash));
        assert_eq!(hash(&case.root), Some(roots[size as usize]));
        let proof = inclusion_proof(&tree, case.leaf_idx, size).unwrap();
        assert_eq!(Some(proof), hashes(&case.proof), "{}", path.display());
    }
}

#[test]
fn generated_consistency_proofs_equal_the_happy_paths() {
    let tree = constants_tree();
    let roots = roots().roots;
    for path in json_files(&vectors_dir().join("consistency")) {
        if !path.ends_with("happy-path.json") {
            continue;
        }
        let case: Consistency = read(&path);
        assert_eq!(hash(&case.root1), Some(roots[case.size1 as usize]));
        assert_eq!(hash(&case.root2), Some(roots[case.size2 as usize]));
        let proof = consistency_proof(&tree, case.size1, case.size2).unwrap();
        assert_eq!(Some(proof), hashes(&case.proof), "{}", path.display());
    }
}

#[test]
fn known_roots_at_every_size() {
    let known = roots();
    assert_eq!(known.roots.len(), 9);
    let tree = constants_tree();
    let mut range = CompactRange::new();
    for (n, want) in known.roots.iter().enumerate() {
        assert_eq!(root(&tree, n as u64).unwrap(), *want, "root at size {n}");
        assert_eq!(range.root(), *want, "compact range root at size {n}");
        if let Some(leaf) = known.leaves.get(n) {
            range.push(leaf_hash(&hex::decode(leaf).unwrap()));
        }
    }
    assert_eq!(tree.root(), known.roots[8]);
}

#[test]
fn known_subtree_hashes_are_what_is_stored() {
    let known = roots().subtrees;
    let tree = constants_tree();
    let mut count = 0;
    for (at, stored) in tree.stored() {
        let want = known[usize::from(at.level())][at.index() as usize];
        assert_eq!(stored, want, "subtree {at}");
        count += 1;
    }
    assert_eq!(count, 8 + 4 + 2 + 1);
}

/// The worked examples of PROTOCOL.md §6.1, as the text gives them.
#[test]
fn the_hashing_examples_of_the_protocol() {
    use kaitiaki_protocol::merkle::{empty_root, node_hash};
    let hex = |h: Hash| h.to_hex();
    assert_eq!(
        hex(empty_root()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let empty = leaf_hash(b"");
    let zero = leaf_hash(&[0]);
    assert_eq!(
        hex(empty),
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    );
    assert_eq!(
        hex(zero),
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"
    );
    assert_eq!(
        hex(node_hash(&empty, &zero)),
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"
    );
}
