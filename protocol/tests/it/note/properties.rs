//! Properties: parsers never panic, accepted input has one spelling, and a
//! mutated signed checkpoint never verifies unless the mutation only touched
//! a line nobody trusts.

use kaitiaki_protocol::checkpoint::{check_origin, Checkpoint, VerifiedCheckpoint};
use kaitiaki_protocol::cosignature::{
    require_cosignatures, CosignatureVerifier, Cosigner, MAX_TIMESTAMP,
};
use kaitiaki_protocol::note::{KeyId, KeyName, Note, NoteSignature, NoteSigner, NoteVerifier};
use kaitiaki_protocol::Hash;
use proptest::prelude::*;

use super::{cosigned_note, log_verifier, name, witness_verifiers, ORIGIN};

/// Feeds `text` to every parser in these modules; none may panic.
fn parse_everything(text: &str) {
    let _ = Note::parse(text.as_bytes());
    let _ = Checkpoint::parse(text);
    let _ = NoteSignature::parse(text);
    let _ = NoteSignature::parse_lines(text);
    let _ = NoteVerifier::parse(text);
    let _ = NoteSigner::parse(text);
    let _ = CosignatureVerifier::parse(text);
    let _ = Cosigner::parse(text);
    let _ = KeyName::new(text);
}

/// Strings shaped roughly like notes and keys, to get past the first checks.
fn note_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z./]{0,12}\n[0-9+]{0,4}\n[A-Za-z0-9+/=]{0,46}\n(\n|[a-z ]{0,5}\n){0,2}\n(— [a-z+]{0,6} [A-Za-z0-9+/=]{0,100}\n){0,3}",
        "(PRIVATE\\+KEY\\+)?[a-z]{0,6}\\+[0-9a-f]{0,9}\\+[A-Za-z0-9+/=]{0,48}",
    ]
}

/// One edit of an encoded note.
#[derive(Clone, Debug)]
enum Mutation {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Swap(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Mutation::Swap(i, j)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    match *m {
        Mutation::Replace(i, b) => bytes[i % len] = b,
        Mutation::Insert(i, b) => bytes.insert(i % (len + 1), b),
        Mutation::Delete(i) => {
            bytes.remove(i % len);
        }
        Mutation::Swap(i, j) => bytes.swap(i % len, j % len),
    }
}

/// Text without control characters other than newline.
fn line_text() -> impl Strategy<Value = String> {
    "[^\\x00-\\x1f]{0,24}"
}

fn key_name() -> impl Strategy<Value = KeyName> {
    "[^\\x00-\\x20+\\s]{1,16}".prop_filter_map("valid key name", |n| KeyName::new(n).ok())
}

fn note_signature() -> impl Strategy<Value = NoteSignature> {
    (
        key_name(),
        any::<[u8; 4]>(),
        prop::collection::vec(any::<u8>(), 1..80),
    )
        .prop_map(|(n, id, sig)| {
            NoteSignature::new(n, KeyId::from_bytes(id), sig).expect("non-empty")
        })
}

fn checkpoint() -> impl Strategy<Value = Checkpoint> {
    (
        "[^\\x00-\\x1f]{1,32}".prop_filter("allowed origin", |o| check_origin(o).is_ok()),
        any::<u64>(),
        any::<[u8; 32]>(),
        prop::collection::vec("[^\\x00-\\x1f]{1,16}", 0..3),
    )
        .prop_map(|(origin, size, root, ext)| {
            Checkpoint::with_extensions(origin, size, Hash::from_bytes(root), ext)
                .expect("generated checkpoints are valid")
        })
}

proptest! {
    #[test]
    fn random_strings_never_panic(text in any::<String>()) {
        parse_everything(&text);
    }

    #[test]
    fn note_like_strings_never_panic_and_have_one_spelling(text in note_like()) {
        parse_everything(&text);
        if let Ok(note) = Note::parse(text.as_bytes()) {
            prop_assert_eq!(note.to_string(), text.clone());
        }
        if let Ok(c) = Checkpoint::parse(&text) {
            prop_assert_eq!(c.to_text(), text);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = Note::parse(&bytes);
    }

    #[test]
    fn mutated_cosigned_checkpoints_do_not_verify(
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let original = cosigned_note();
        let mut bytes = original.to_bytes();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        if let Ok(note) = Note::parse(&bytes) {
            prop_assert_eq!(note.to_bytes(), bytes.clone(), "one spelling");
        }
        let log = log_verifier();
        let Ok(opened) = VerifiedCheckpoint::open(&bytes, ORIGIN, &[&log]) else {
            return Ok(());
        };
        // It verified, so the mutation left the text and the log's line alone.
        prop_assert_eq!(opened.note().text(), original.text());
        prop_assert!(opened.note().signatures().contains(&original.signatures()[0]));
        let witnesses = witness_verifiers();
        if require_cosignatures(opened.note(), &witnesses, 2).is_ok() {
            for line in &original.signatures()[1..3] {
                prop_assert!(opened.note().signatures().contains(line));
            }
        }
    }

    #[test]
    fn checkpoints_round_trip(c in checkpoint()) {
        let text = c.to_text();
        let back = Checkpoint::parse(&text).expect("formatted checkpoints parse");
        prop_assert_eq!(back.to_text(), text);
        prop_assert_eq!(back, c);
    }

    #[test]
    fn notes_round_trip(
        lines in prop::collection::vec(line_text(), 1..5),
        sigs in prop::collection::vec(note_signature(), 1..5),
    ) {
        let text = lines.join("\n") + "\n";
        let note = Note::new(text, sigs).expect("generated notes are valid");
        let bytes = note.to_bytes();
        let back = Note::parse(&bytes).expect("formatted notes parse");
        prop_assert_eq!(back.to_bytes(), bytes);
        prop_assert_eq!(back, note);
    }

    #[test]
    fn sign_then_verify(seed in any::<[u8; 32]>(), other in any::<[u8; 32]>(), c in checkpoint()) {
        prop_assume!(seed != other);
        let signer = NoteSigner::from_seed(name(ORIGIN), &seed);
        let note = c.sign(&signer).expect("small note");
        let v = signer.verifier();
        prop_assert!(VerifiedCheckpoint::open(&note.to_bytes(), c.origin(), &[&v]).is_ok());
        // Any other key under the same name refuses it.
        let stranger = NoteSigner::from_seed(name(ORIGIN), &other).verifier();
        prop_assert!(note.verify(&[&stranger]).is_err());
        prop_assert_eq!(NoteVerifier::parse(&v.to_string()).expect("round trip"), v);
        let again = NoteSigner::parse(&signer.to_signer_key_text()).expect("round trip");
        prop_assert_eq!(again.verifier(), signer.verifier());
    }

    #[test]
    fn cosign_then_verify(seed in any::<[u8; 32]>(), ts in 0..=MAX_TIMESTAMP, c in checkpoint()) {
        let cosigner = Cosigner::from_seed(name("witness.example/prop"), &seed);
        let line = cosigner.cosign(&c, ts).expect("in range");
        let v = cosigner.verifier();
        prop_assert_eq!(v.verify_cosignature(&c, &line).expect("verifies").timestamp(), ts);
        prop_assert_eq!(CosignatureVerifier::parse(&v.to_string()).expect("round trip"), v);
        let parsed = NoteSignature::parse(&line.to_string()).expect("line round trip");
        prop_assert_eq!(parsed, line);
    }
}
