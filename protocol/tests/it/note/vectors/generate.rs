//! Builds every generated vector file from the fixed seeds in `note.rs`.
//!
//! The `checkpoint_*.json` files and `fail_key_texts.json` are built here;
//! the other fail vectors in [`super::fails`].

use base64::{engine::general_purpose::STANDARD, Engine as _};
use kaitiaki_protocol::checkpoint::Checkpoint;
use kaitiaki_protocol::cosignature::SIG_TYPE_COSIGNATURE_V1;
use kaitiaki_protocol::note::{KeyId, Note, SIG_TYPE_ED25519};
use kaitiaki_protocol::Hash;
use serde_json::Value;

use super::super::{
    cosigned_note, cosigner, example_checkpoint, example_root, log_signer, log_verifier, name,
    witness_verifiers, LOG_SEED, ORIGIN, SIZE, TIMESTAMPS, WITNESSES,
};
use super::{
    CheckpointFields, CheckpointVector, ExpectedCosigner, KeyFailCase, KeyFailVectors, WitnessKeys,
};

/// Every generated file and its contents.
pub(super) fn all() -> Vec<(String, Value)> {
    let mut out = checkpoints();
    out.extend(super::fails::all());
    out.push(("fail_key_texts.json".into(), to_value(&key_fails())));
    out
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("serialisable")
}

fn fields(c: &Checkpoint) -> CheckpointFields {
    CheckpointFields {
        origin: c.origin().to_owned(),
        size: c.size(),
        root_hex: c.root().to_hex(),
        root_base64: c.root().to_base64(),
        extensions: c.extensions().to_vec(),
    }
}

fn witness_keys(i: usize) -> WitnessKeys {
    let c = cosigner(i);
    WitnessKeys {
        name: WITNESSES[i].0.to_owned(),
        seed_hex: hex::encode(WITNESSES[i].1),
        signer_key: c.to_signer_key_text(),
        verifier_key: c.verifier().to_string(),
    }
}

fn checkpoint_vector(description: &str, c: &Checkpoint, note: &Note) -> CheckpointVector {
    CheckpointVector {
        description: description.to_owned(),
        log_seed_hex: hex::encode(LOG_SEED),
        log_signer_key: log_signer().to_signer_key_text(),
        log_verifier_keys: vec![log_verifier().to_string()],
        origin: ORIGIN.to_owned(),
        checkpoint: fields(c),
        note: note.to_string(),
        witnesses: Vec::new(),
        witness_verifier_keys: Vec::new(),
        expected_cosigners: Vec::new(),
    }
}

fn checkpoints() -> Vec<(String, Value)> {
    let signed = example_checkpoint();
    let empty = Checkpoint::new(ORIGIN, 0, Hash::from_bytes(sha256(b""))).expect("valid");
    let extended = Checkpoint::with_extensions(
        ORIGIN,
        SIZE,
        example_root(),
        vec!["kaitiaki extension line".to_owned()],
    )
    .expect("valid");
    let sign = |c: &Checkpoint| c.sign(&log_signer()).expect("small note");

    let mut cosigned = checkpoint_vector(
        "The size-7 checkpoint signed by the log (seed 0x01 x 32) and cosigned by \
         witnesses w1 (seed 0x02 x 32) and w2 (seed 0x03 x 32), followed by a line \
         from an unknown key that verifiers must ignore. w3 (seed 0x04 x 32) is \
         trusted but did not cosign.",
        &signed,
        &with_unknown_line(cosigned_note()),
    );
    cosigned.witnesses = (0..WITNESSES.len()).map(witness_keys).collect();
    cosigned.witness_verifier_keys = witness_verifiers().iter().map(|w| w.to_string()).collect();
    cosigned.expected_cosigners = (0..TIMESTAMPS.len())
        .map(|i| ExpectedCosigner {
            name: WITNESSES[i].0.to_owned(),
            timestamp: TIMESTAMPS[i],
        })
        .collect();

    vec![
        (
            "checkpoint_signed.json".into(),
            to_value(&checkpoint_vector(
                "A size-7 checkpoint signed by the log key derived from seed 0x01 x 32. \
                 The root is SHA-256(\"kaitiaki checkpoint vector\"), an arbitrary value.",
                &signed,
                &sign(&signed),
            )),
        ),
        (
            "checkpoint_empty_tree.json".into(),
            to_value(&checkpoint_vector(
                "The empty tree: size 0, root SHA-256 of the empty string (RFC 6962).",
                &empty,
                &sign(&empty),
            )),
        ),
        (
            "checkpoint_extension.json".into(),
            to_value(&checkpoint_vector(
                "A checkpoint with one extension line, which is signed like the rest.",
                &extended,
                &sign(&extended),
            )),
        ),
        ("checkpoint_cosigned.json".into(), to_value(&cosigned)),
    ]
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// Appends a line from a key nobody trusts, signed over the note's text.
fn with_unknown_line(mut note: Note) -> Note {
    let stranger =
        kaitiaki_protocol::note::NoteSigner::from_seed(name("stranger.example"), &[9; 32]);
    note.add_signature(stranger.sign_text(note.text()))
        .expect("room");
    note
}

fn key_fails() -> KeyFailVectors {
    let vkey = log_verifier().to_string();
    let wkey = cosigner(0).verifier().to_string();
    let skey = log_signer().to_signer_key_text();
    let (n, rest) = vkey.split_once('+').expect("name+");
    let (id, b64) = rest.split_once('+').expect("id+");
    let raw = STANDARD.decode(b64).expect("base64");
    let with = |id: &str, raw: &[u8]| format!("{n}+{id}+{}", STANDARD.encode(raw));
    let id_for = |t: u8, key: &[u8]| KeyId::compute(&name(n), t, key).to_string();
    // The identity point: a valid encoding of a small-order point.
    let mut weak = vec![SIG_TYPE_ED25519, 1];
    weak.extend_from_slice(&[0; 31]);
    let mut as_cosig = raw.clone();
    as_cosig[0] = SIG_TYPE_COSIGNATURE_V1;
    let case = |kind: &str, key: String, expected: &str| KeyFailCase {
        kind: kind.to_owned(),
        key,
        expected_error: expected.to_owned(),
    };
    KeyFailVectors {
        description: "Key texts that must be refused. kind: note_verifier, note_signer, \
                      cosignature_verifier or cosigner."
            .to_owned(),
        cases: vec![
            case("note_verifier", with("00000000", &raw), "key_id_mismatch"),
            case("note_verifier", format!("{n}+{id}"), "key_missing_field"),
            case(
                "note_verifier",
                format!("{n}+{}+{b64}", &id[..7]),
                "key_invalid_key_id",
            ),
            case(
                "note_verifier",
                format!("{n}+{id}+{}", &b64[..b64.len() - 1]),
                "key_invalid_base64",
            ),
            case(
                "note_verifier",
                format!("bad name+{id}+{b64}"),
                "key_invalid_name",
            ),
            case(
                "note_verifier",
                with(&id_for(SIG_TYPE_COSIGNATURE_V1, &raw[1..]), &as_cosig),
                "key_signature_type",
            ),
            case(
                "note_verifier",
                with(&id_for(SIG_TYPE_ED25519, &raw[1..32]), &raw[..32]),
                "key_length",
            ),
            case(
                "note_verifier",
                with(&id_for(SIG_TYPE_ED25519, &weak[1..]), &weak),
                "key_invalid_public_key",
            ),
            case(
                "note_signer",
                skey.trim_start_matches("PRIVATE+KEY+").to_owned(),
                "key_missing_private_prefix",
            ),
            case(
                "note_signer",
                skey.replace(id, "00000000"),
                "key_id_mismatch",
            ),
            case("cosignature_verifier", vkey.clone(), "key_signature_type"),
            case("note_verifier", wkey, "key_signature_type"),
            case("cosigner", skey, "key_signature_type"),
        ],
    }
}
