//! Evidence of misbehaviour: every kind verifies, every tampering is refused
//! with the right code, the JSON form is strict, the helper that recovers a
//! prefix root agrees with the Merkle module, and the vector files in
//! `vectors/evidence/` are reproduced byte for byte.
//!
//! The logs here are built from the statement fixtures: an honest log, and a
//! fork that shares its first leaves and then sequences the same statements
//! at other times. Set `KAITIAKI_REGENERATE_VECTORS=1` to rewrite the vector
//! files after a deliberate format change.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kaitiaki_protocol::checkpoint::Checkpoint;
use kaitiaki_protocol::evidence::{Evidence, Finding};
use kaitiaki_protocol::merkle::{self, MemoryTree};
use kaitiaki_protocol::note::{KeyName, Note, NoteSigner, NoteVerifier};
use kaitiaki_protocol::{Envelope, Hash, Leaf};
use proptest::prelude::*;
use serde_json::Value;

use crate::fixtures::{self, at, key};

/// The origin, and key name, of the misbehaving log.
const ORIGIN: &str = "evidence.kaitiaki.example/log";
/// The log key's seed.
const LOG_SEED: [u8; 32] = [0x45; 32];
/// How many leaves the honest log and its fork share.
const SHARED: usize = 6;
/// Where the bad leaf sits in its tree, and the size of that tree.
const BAD_INDEX: u64 = 3;
const BAD_SIZE: u64 = 7;

fn signer() -> NoteSigner {
    NoteSigner::from_seed(KeyName::new(ORIGIN).expect("valid name"), &LOG_SEED)
}

fn verifier() -> NoteVerifier {
    signer().verifier()
}

/// The honest log's leaves: the statement fixtures, a minute apart.
fn honest_leaves() -> Vec<Vec<u8>> {
    fixtures::envelopes()
        .into_iter()
        .enumerate()
        .map(|(i, env)| Leaf::new(at(100 + i as i64), env).to_bytes())
        .collect()
}

/// The fork: the first [`SHARED`] honest leaves, then the same statements
/// sequenced at other times.
fn forked_leaves() -> Vec<Vec<u8>> {
    let honest = honest_leaves();
    fixtures::envelopes()
        .into_iter()
        .enumerate()
        .map(|(i, env)| {
            if i < SHARED {
                honest[i].clone()
            } else {
                Leaf::new(at(1000 + i as i64), env).to_bytes()
            }
        })
        .collect()
}

fn tree_of(leaves: &[Vec<u8>]) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for leaf in leaves {
        tree.append(leaf);
    }
    tree
}

fn root(tree: &MemoryTree, size: u64) -> Hash {
    merkle::root(tree, size).expect("size within the tree")
}

/// The signed checkpoint note of `tree` at `size`, as text.
fn signed_at(signer: &NoteSigner, tree: &MemoryTree, size: u64) -> String {
    Checkpoint::new(ORIGIN, size, root(tree, size))
        .expect("valid checkpoint")
        .sign(signer)
        .expect("small note")
        .to_string()
}

fn equivocation() -> Evidence {
    let (honest, forked) = (tree_of(&honest_leaves()), tree_of(&forked_leaves()));
    Evidence::Equivocation {
        origin: ORIGIN.into(),
        a: signed_at(&signer(), &honest, 12),
        b: signed_at(&signer(), &forked, 12),
    }
}

/// A forked checkpoint of size `old` against the honest checkpoint of the
/// whole log, with the honest log's consistency proof.
fn inconsistent(old: u64) -> Evidence {
    let (honest, forked) = (tree_of(&honest_leaves()), tree_of(&forked_leaves()));
    let new = honest.size();
    let proof = merkle::consistency_proof(&honest, old, new).expect("in range");
    let prefix_root = root(&honest, old);
    if !old.is_power_of_two() {
        // A follower learns the prefix root from the proof itself.
        assert_eq!(
            merkle::prefix_root_from_consistency(old, new, &root(&honest, new), &proof),
            Some(prefix_root)
        );
    }
    Evidence::Inconsistent {
        origin: ORIGIN.into(),
        a: signed_at(&signer(), &forked, old),
        b: signed_at(&signer(), &honest, new),
        prefix_root,
        proof,
    }
}

/// Leaf bytes that are not a valid signed statement, each with its reason.
fn bad_leaves() -> Vec<(&'static str, Vec<u8>)> {
    let good = honest_leaves().remove(BAD_INDEX as usize);
    let mut bad_signature = good.clone();
    // 1 leaf version byte, 8 time bytes, 1 envelope version byte and 32 key
    // bytes come before the signature.
    bad_signature[9 + 1 + 32] ^= 1;
    let not_a_statement =
        Leaf::new(at(103), Envelope::sign_payload(&key(1), b"{}".to_vec())).to_bytes();
    vec![
        ("bad_signature", bad_signature),
        ("not_a_statement", not_a_statement),
        ("not_a_leaf", b"not a leaf".to_vec()),
        ("unknown_version", [&[2u8][..], &good[1..]].concat()),
    ]
}

/// The first of [`bad_leaves`]: a leaf whose envelope signature fails.
fn bad_signature_leaf() -> Vec<u8> {
    bad_leaves().remove(0).1
}

/// A log whose leaf [`BAD_INDEX`] is `leaf`, and the evidence of it.
fn bad_leaf(leaf: Vec<u8>) -> Evidence {
    let mut leaves = honest_leaves();
    leaves.truncate(BAD_SIZE as usize);
    leaves[BAD_INDEX as usize] = leaf.clone();
    let tree = tree_of(&leaves);
    Evidence::BadLeaf {
        origin: ORIGIN.into(),
        checkpoint: signed_at(&signer(), &tree, BAD_SIZE),
        index: BAD_INDEX,
        proof: merkle::inclusion_proof(&tree, BAD_INDEX, BAD_SIZE).expect("in range"),
        leaf,
    }
}

fn code(evidence: &Evidence) -> &'static str {
    code_under(evidence, &verifier())
}

fn code_under(evidence: &Evidence, log: &NoteVerifier) -> &'static str {
    match evidence.verify(log) {
        Ok(finding) => panic!("accepted: {finding}"),
        Err(e) => e.code(),
    }
}

/// Flips one bit of a hash.
fn flip(h: &Hash) -> Hash {
    let mut bytes = *h.as_bytes();
    bytes[0] ^= 1;
    Hash::from_bytes(bytes)
}

#[test]
fn equivocation_verifies_either_way_round() {
    let evidence = equivocation();
    let finding = evidence.verify(&verifier()).expect("valid evidence");
    assert_eq!(finding, Finding::Equivocation { size: 12 });
    assert_eq!(
        finding.to_string(),
        "the log signed two different trees of size 12"
    );
    let Evidence::Equivocation { origin, a, b } = evidence else {
        unreachable!()
    };
    let swapped = Evidence::Equivocation { origin, a: b, b: a };
    assert_eq!(swapped.verify(&verifier()).expect("valid"), finding);
}

#[test]
fn inconsistent_verifies_at_every_old_size_after_the_fork() {
    let new = honest_leaves().len() as u64;
    for old in SHARED as u64 + 1..new {
        let finding = inconsistent(old)
            .verify(&verifier())
            .expect("valid evidence");
        assert_eq!(
            finding,
            Finding::Inconsistent {
                old_size: old,
                new_size: new
            }
        );
    }
    assert_eq!(
        inconsistent(10).verify(&verifier()).expect("valid").to_string(),
        format!("the log signed a tree of size {new} that does not extend the tree of size 10 it also signed")
    );
}

#[test]
fn bad_leaf_verifies_for_every_way_a_leaf_can_be_bad() {
    for (name, leaf) in bad_leaves() {
        let finding = bad_leaf(leaf)
            .verify(&verifier())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            matches!(
                finding,
                Finding::BadLeaf {
                    index: BAD_INDEX,
                    size: BAD_SIZE,
                    ..
                }
            ),
            "{name}: {finding:?}"
        );
    }
}

#[test]
fn a_valid_leaf_is_not_evidence() {
    let good = honest_leaves().remove(BAD_INDEX as usize);
    assert_eq!(code(&bad_leaf(good)), "evidence_leaf_is_valid");
}

#[test]
fn equal_roots_and_consistent_trees_are_not_evidence() {
    let honest = tree_of(&honest_leaves());
    let same = signed_at(&signer(), &honest, 12);
    let twice = Evidence::Equivocation {
        origin: ORIGIN.into(),
        a: same.clone(),
        b: same.clone(),
    };
    assert_eq!(code(&twice), "evidence_not_conflicting");
    let sizes_differ = Evidence::Equivocation {
        origin: ORIGIN.into(),
        a: same,
        b: signed_at(&signer(), &honest, 13),
    };
    assert_eq!(code(&sizes_differ), "evidence_not_conflicting");

    // An honest pair with the honest proof: the prefix root is a's root.
    let (old, new) = (10, honest.size());
    let consistent = Evidence::Inconsistent {
        origin: ORIGIN.into(),
        a: signed_at(&signer(), &honest, old),
        b: signed_at(&signer(), &honest, new),
        prefix_root: root(&honest, old),
        proof: merkle::consistency_proof(&honest, old, new).expect("in range"),
    };
    assert_eq!(code(&consistent), "evidence_not_conflicting");
}

#[test]
fn swapped_notes_are_refused() {
    let Evidence::Inconsistent {
        origin,
        a,
        b,
        prefix_root,
        proof,
    } = inconsistent(10)
    else {
        unreachable!()
    };
    let swapped = Evidence::Inconsistent {
        origin,
        a: b,
        b: a,
        prefix_root,
        proof,
    };
    assert_eq!(code(&swapped), "evidence_not_conflicting");
}

#[test]
fn every_changed_proof_hash_is_refused() {
    for old in [8, 10] {
        let Evidence::Inconsistent {
            origin,
            a,
            b,
            prefix_root,
            proof,
        } = inconsistent(old)
        else {
            unreachable!()
        };
        let with = |prefix_root: Hash, proof: Vec<Hash>| Evidence::Inconsistent {
            origin: origin.clone(),
            a: a.clone(),
            b: b.clone(),
            prefix_root,
            proof,
        };
        for i in 0..proof.len() {
            let mut changed = proof.clone();
            changed[i] = flip(&changed[i]);
            assert_eq!(code(&with(prefix_root, changed)), "evidence_bad_proof");
        }
        assert_eq!(
            code(&with(prefix_root, proof[1..].to_vec())),
            "evidence_bad_proof"
        );
        assert_eq!(
            code(&with(prefix_root, [&proof[..], &proof[..1]].concat())),
            "evidence_bad_proof"
        );
        assert_eq!(code(&with(flip(&prefix_root), proof)), "evidence_bad_proof");
    }

    let (_, leaf) = bad_leaves().remove(0);
    let Evidence::BadLeaf {
        origin,
        checkpoint,
        index,
        leaf: _,
        proof,
    } = bad_leaf(leaf.clone())
    else {
        unreachable!()
    };
    let with = |index: u64, leaf: Vec<u8>, proof: Vec<Hash>| Evidence::BadLeaf {
        origin: origin.clone(),
        checkpoint: checkpoint.clone(),
        index,
        leaf,
        proof,
    };
    for i in 0..proof.len() {
        let mut changed = proof.clone();
        changed[i] = flip(&changed[i]);
        assert_eq!(
            code(&with(index, leaf.clone(), changed)),
            "evidence_bad_proof"
        );
    }
    assert_eq!(
        code(&with(index + 1, leaf.clone(), proof.clone())),
        "evidence_bad_proof"
    );
    assert_eq!(
        code(&with(BAD_SIZE, leaf.clone(), proof.clone())),
        "evidence_bad_proof"
    );
    // A leaf that is bad, but not the one in the tree.
    assert_eq!(
        code(&with(index, b"another bad leaf".to_vec(), proof)),
        "evidence_bad_proof"
    );
}

#[test]
fn another_key_or_origin_is_refused() {
    let other_key = NoteSigner::from_seed(KeyName::new(ORIGIN).expect("valid"), &[0x46; 32]);
    let other_name = NoteSigner::from_seed(
        KeyName::new("other.kaitiaki.example/log").expect("valid"),
        &LOG_SEED,
    );
    let all = [
        equivocation(),
        inconsistent(10),
        bad_leaf(bad_signature_leaf()),
    ];
    for evidence in &all {
        assert_eq!(
            code_under(evidence, &other_key.verifier()),
            "evidence_wrong_key"
        );
        assert_eq!(
            code_under(evidence, &other_name.verifier()),
            "evidence_wrong_origin"
        );
    }

    // The origin member is not the key's name.
    let Evidence::Equivocation { a, b, .. } = equivocation() else {
        unreachable!()
    };
    let renamed = Evidence::Equivocation {
        origin: "other.kaitiaki.example/log".into(),
        a: a.clone(),
        b: b.clone(),
    };
    assert_eq!(code(&renamed), "evidence_wrong_origin");

    // A checkpoint of another origin, signed by this log's key.
    let honest = tree_of(&honest_leaves());
    let elsewhere = Checkpoint::new("other.kaitiaki.example/log", 12, root(&honest, 12))
        .expect("valid")
        .sign(&signer())
        .expect("small")
        .to_string();
    let with_b = |b: String| Evidence::Equivocation {
        origin: ORIGIN.into(),
        a: a.clone(),
        b,
    };
    assert_eq!(code(&with_b(elsewhere)), "evidence_wrong_origin");

    // b signed by another key only.
    let forked = tree_of(&forked_leaves());
    assert_eq!(
        code(&with_b(signed_at(&other_key, &forked, 12))),
        "evidence_wrong_key"
    );

    // b's signature line from the log key altered: a forged note.
    let mut note = Note::parse(b.as_bytes()).expect("valid note");
    let text = note.text().to_owned();
    let forged = other_key.sign_text(&text);
    let line = kaitiaki_protocol::note::NoteSignature::new(
        signer().name().clone(),
        signer().key_id(),
        forged.signature().to_vec(),
    )
    .expect("valid line");
    note = Note::new(text, vec![line]).expect("valid note");
    assert_eq!(code(&with_b(note.to_string())), "evidence_wrong_key");
}

#[test]
fn malformed_notes_are_refused() {
    let Evidence::Equivocation { a, .. } = equivocation() else {
        unreachable!()
    };
    let with_b = |b: String| Evidence::Equivocation {
        origin: ORIGIN.into(),
        a: a.clone(),
        b,
    };
    assert_eq!(code(&with_b("not a note".into())), "evidence_bad_note");
    assert_eq!(code(&with_b(a.replace('\n', "\r\n"))), "evidence_bad_note");
    let not_a_checkpoint = Note::sign("hello\n", &signer()).expect("valid").to_string();
    assert_eq!(code(&with_b(not_a_checkpoint)), "evidence_not_a_checkpoint");
}

#[test]
fn witness_cosignatures_on_the_notes_are_ignored() {
    let witness = NoteSigner::from_seed(KeyName::new("witness.example").expect("valid"), &[7; 32]);
    let Evidence::Equivocation { origin, a, b } = equivocation() else {
        unreachable!()
    };
    let mut note = Note::parse(b.as_bytes()).expect("valid");
    let line = witness.sign_text(note.text());
    note.add_signature(line).expect("room for one more");
    let evidence = Evidence::Equivocation {
        origin,
        a,
        b: note.to_string(),
    };
    assert_eq!(
        evidence.verify(&verifier()).expect("valid"),
        Finding::Equivocation { size: 12 }
    );
}

#[test]
fn json_round_trips_and_is_strict() {
    for evidence in [
        equivocation(),
        inconsistent(10),
        bad_leaf(bad_signature_leaf()),
    ] {
        let json = evidence.to_json();
        assert_eq!(Evidence::from_json(&json).expect("round trip"), evidence);
        assert_eq!(
            Evidence::from_json(&format!("{json}\n")).expect("trailing newline"),
            evidence
        );
        let value: Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(value["kind"], evidence.kind());
        assert_eq!(value["origin"], evidence.origin());

        let mut extra = value.clone();
        extra["comment"] = "hello".into();
        let refused = Evidence::from_json(&extra.to_string()).expect_err("unknown member");
        assert_eq!(refused.code(), "evidence_bad_json");

        let mut missing = value.clone();
        missing.as_object_mut().expect("object").remove("origin");
        assert!(Evidence::from_json(&missing.to_string()).is_err());

        let mut kind = value.clone();
        kind["kind"] = "perjury".into();
        assert!(Evidence::from_json(&kind.to_string()).is_err());

        let duplicate = json.replacen('{', &format!("{{\"origin\":\"{ORIGIN}\","), 1);
        assert!(Evidence::from_json(&duplicate).is_err());

        // The members in order, as an array: serde would read it; the protocol does not.
        let array: Value = value
            .as_object()
            .expect("object")
            .values()
            .cloned()
            .collect();
        let refused = Evidence::from_json(&array.to_string()).expect_err("an array");
        assert_eq!(refused.code(), "evidence_bad_json");
    }
    let bad = bad_leaf(bad_signature_leaf()).to_json();
    let value: Value = serde_json::from_str(&bad).expect("JSON");
    let leaf = value["leaf"].as_str().expect("base64 string").to_owned();
    assert!(Evidence::from_json(&bad.replace(&leaf, "not base64!")).is_err());
    assert!(Evidence::from_json(&bad.replace(&leaf, leaf.trim_end_matches('='))).is_err());
}

// The prefix-root helper.

fn big_tree() -> &'static MemoryTree {
    static TREE: OnceLock<MemoryTree> = OnceLock::new();
    TREE.get_or_init(|| {
        let leaves: Vec<Vec<u8>> = (0u32..300).map(|i| i.to_be_bytes().to_vec()).collect();
        tree_of(&leaves)
    })
}

/// Checks the helper on the real proof from `old` to `new`.
fn check_prefix_root(old: u64, new: u64) {
    let tree = big_tree();
    let proof = merkle::consistency_proof(tree, old, new).expect("in range");
    let new_root = root(tree, new);
    let got = merkle::prefix_root_from_consistency(old, new, &new_root, &proof);
    if old == new || old.is_power_of_two() {
        assert_eq!(got, None, "{old} -> {new}");
    } else {
        let old_root = root(tree, old);
        assert_eq!(got, Some(old_root), "{old} -> {new}");
        merkle::verify_consistency(old, new, &old_root, &new_root, &proof).expect("verifies");
    }
    assert_eq!(
        merkle::prefix_root_from_consistency(old, new, &flip(&new_root), &proof),
        None
    );
}

#[test]
fn prefix_root_agrees_with_the_tree_for_small_sizes() {
    for new in 1..=64 {
        for old in 1..=new {
            check_prefix_root(old, new);
        }
    }
    let r = root(big_tree(), 5);
    assert_eq!(merkle::prefix_root_from_consistency(0, 5, &r, &[]), None);
    assert_eq!(merkle::prefix_root_from_consistency(6, 5, &r, &[r]), None);
    assert_eq!(merkle::prefix_root_from_consistency(3, 5, &r, &[]), None);
}

proptest! {
    #[test]
    fn prefix_root_agrees_with_the_tree(new in 1u64..=300, old_seed in any::<u64>()) {
        let old = 1 + old_seed % new;
        check_prefix_root(old, new);
    }

    #[test]
    fn prefix_root_refuses_changed_proofs(
        new in 2u64..=300,
        old_seed in any::<u64>(),
        at_seed in any::<usize>(),
        extra in any::<bool>(),
    ) {
        let old = 1 + old_seed % (new - 1);
        let tree = big_tree();
        let mut proof = merkle::consistency_proof(tree, old, new).expect("in range");
        if extra {
            proof.push(proof[0]);
        } else {
            let i = at_seed % proof.len();
            proof[i] = flip(&proof[i]);
        }
        prop_assert_eq!(
            merkle::prefix_root_from_consistency(old, new, &root(tree, new), &proof),
            None
        );
    }
}

// Vector files.

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/evidence")
}

/// Compares `text` with the file, or rewrites the file when regenerating.
fn check_file(path: &Path, text: &str) {
    crate::vectors::check_text(path, text);
}

fn pretty(evidence: &Evidence) -> String {
    let value = serde_json::to_value(evidence).expect("serialisable");
    serde_json::to_string_pretty(&value).expect("serialisable") + "\n"
}

#[test]
fn evidence_vectors_match_and_verify() {
    let dir = vectors_dir();
    check_file(&dir.join("verifier_key.txt"), &format!("{}\n", verifier()));
    let cases = [
        ("equivocation.json", equivocation()),
        ("inconsistent.json", inconsistent(10)),
        ("bad_leaf.json", bad_leaf(bad_signature_leaf())),
    ];
    for (file, evidence) in &cases {
        check_file(&dir.join(file), &pretty(evidence));
    }

    // Whatever produced them, the stored files must verify under the stored key.
    let key_text = std::fs::read_to_string(dir.join("verifier_key.txt")).expect("key file");
    let log = NoteVerifier::parse(key_text.trim_end()).expect("valid key text");
    let expected = [
        Finding::Equivocation { size: 12 },
        Finding::Inconsistent {
            old_size: 10,
            new_size: 22,
        },
    ];
    for ((file, _), expected) in cases.iter().zip(expected.iter().map(Some).chain([None])) {
        let text = std::fs::read_to_string(dir.join(file)).expect("vector file");
        let evidence = Evidence::from_json(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let finding = evidence
            .verify(&log)
            .unwrap_or_else(|e| panic!("{file}: {}", e.code()));
        match expected {
            Some(expected) => assert_eq!(&finding, expected, "{file}"),
            None => assert!(
                matches!(
                    finding,
                    Finding::BadLeaf {
                        index: BAD_INDEX,
                        size: BAD_SIZE,
                        ..
                    }
                ),
                "{file}: {finding:?}"
            ),
        }
    }
}
