//! Builds the `fail_*.json` note and checkpoint vectors.
//!
//! Each takes the valid example apart and spoils exactly one thing,
//! re-signing where needed so that the spoiled thing is the only reason for
//! rejection (a body rule is tested on a body the log validly signed).

use base64::{engine::general_purpose::STANDARD, Engine as _};
use ed25519_dalek::{Signer as _, SigningKey};
use kaitiaki_protocol::checkpoint::Checkpoint;
use kaitiaki_protocol::cosignature::{cosigned_message, Cosigner};
use kaitiaki_protocol::note::{KeyId, Note, NoteSignature, NoteSigner};
use serde_json::Value;

use super::super::{
    cosigned_note, cosigner, example_checkpoint, example_root, log_signer, log_verifier, name,
    witness_verifiers, ORIGIN, SIZE, TIMESTAMPS, WITNESSES,
};
use super::FailVector;

type Case = (&'static str, FailVector);

/// Every fail vector file and its contents.
pub(super) fn all() -> Vec<(String, Value)> {
    [signatures(), syntax(), bodies(), cosignatures()]
        .into_iter()
        .flatten()
        .map(|(file, v)| {
            let value = serde_json::to_value(&v).expect("serialisable");
            (format!("{file}.json"), value)
        })
        .collect()
}

/// A fail vector opened as a checkpoint of `origin` under the log key only.
fn fail(description: &str, note: impl Into<String>, origin: &str, expected: &str) -> FailVector {
    FailVector {
        description: description.to_owned(),
        note: Some(note.into()),
        note_hex: None,
        origin: origin.to_owned(),
        log_verifier_keys: vec![log_verifier().to_string()],
        witness_verifier_keys: Vec::new(),
        required_cosignatures: None,
        expected_error: expected.to_owned(),
    }
}

/// A fail vector that passes the log check, then needs `k` of w1, w2, w3.
fn fail_witnesses(description: &str, note: &Note, k: usize, expected: &str) -> FailVector {
    FailVector {
        witness_verifier_keys: witness_verifiers().iter().map(|w| w.to_string()).collect(),
        required_cosignatures: Some(k),
        ..fail(description, note.to_string(), ORIGIN, expected)
    }
}

/// The log's signature line on the example checkpoint.
fn log_line() -> NoteSignature {
    log_signer().sign_text(&example_checkpoint().to_text())
}

/// The example checkpoint text with these signature lines.
fn with_lines(lines: &[NoteSignature]) -> String {
    let note = Note::new(example_checkpoint().to_text(), lines.to_vec()).expect("valid");
    note.to_string()
}

fn flip_signature_byte(line: &NoteSignature, at: usize) -> NoteSignature {
    let mut sig = line.signature().to_vec();
    sig[at] ^= 0x01;
    NoteSignature::new(line.name().clone(), line.key_id(), sig).expect("non-empty")
}

fn signatures() -> Vec<Case> {
    let line = log_line();
    let other_id = KeyId::from_bytes(line.key_id().as_bytes().map(|b| b ^ 0xff));
    let wrong_id = NoteSignature::new(line.name().clone(), other_id, line.signature().to_vec());
    let other_name = name("kaitiaki.example/other");
    let wrong_name = NoteSignature::new(other_name, line.key_id(), line.signature().to_vec());
    let other_log = NoteSigner::from_seed(name(ORIGIN), &[0x05; 32]);
    let text = example_checkpoint().to_text();
    let by_other_log = Note::sign(text.clone(), &other_log).expect("valid");
    let cosig = cosigner(0).cosign(&example_checkpoint(), TIMESTAMPS[0]);
    let only_witness = Note::new(text, vec![cosig.expect("in range")]).expect("valid");
    vec![
        (
            "fail_bad_signature",
            fail(
                "One bit of the log's Ed25519 signature is flipped.",
                with_lines(&[flip_signature_byte(&line, 10)]),
                ORIGIN,
                "note_invalid_signature",
            ),
        ),
        (
            "fail_wrong_key_id",
            fail(
                "The log's signature carries another key id, so it is from an unknown key and \
             the note has no trusted signature.",
                with_lines(&[wrong_id.expect("non-empty")]),
                ORIGIN,
                "note_no_known_signature",
            ),
        ),
        (
            "fail_wrong_key_name",
            fail(
                "The log's signature carries another key name: an unknown key.",
                with_lines(&[wrong_name.expect("non-empty")]),
                ORIGIN,
                "note_no_known_signature",
            ),
        ),
        (
            "fail_signed_by_other_key",
            fail(
                "Signed by another key under the log's name (seed 0x05 x 32): its key id differs, \
             so the line is unknown.",
                by_other_log.to_string(),
                ORIGIN,
                "note_no_known_signature",
            ),
        ),
        (
            "fail_only_cosigned",
            fail(
                "Cosigned by a witness but not signed by the log.",
                only_witness.to_string(),
                ORIGIN,
                "note_no_known_signature",
            ),
        ),
        (
            "fail_wrong_origin",
            fail(
                "A valid checkpoint, opened as a checkpoint of another log.",
                with_lines(&[line]),
                "kaitiaki.example/other",
                "checkpoint_origin_mismatch",
            ),
        ),
    ]
}

/// Turns on the padding bits of the last signature's base64, which spells
/// the same bytes another way.
fn non_canonical(note: &str) -> String {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let unpadded = note.trim_end_matches('\n').trim_end_matches('=');
    let padding = &note.trim_end_matches('\n')[unpadded.len()..];
    let last = unpadded.chars().last().expect("non-empty");
    let value = ALPHABET.find(last).expect("base64 character");
    let spoiled = ALPHABET.as_bytes()[value | 0x03] as char;
    format!("{}{spoiled}{padding}\n", &unpadded[..unpadded.len() - 1])
}

fn syntax() -> Vec<Case> {
    let text = example_checkpoint().to_text();
    let line = log_line();
    let good = with_lines(std::slice::from_ref(&line));
    let mut bad_utf8 = good.clone().into_bytes();
    bad_utf8[3] = 0xff;
    let short = STANDARD.encode(line.key_id().as_bytes());
    let many = format!("{text}\n{}", format!("{line}\n").repeat(101));
    vec![
        (
            "fail_missing_final_newline",
            fail(
                "The last signature line has no newline.",
                good.trim_end_matches('\n'),
                ORIGIN,
                "note_missing_final_newline",
            ),
        ),
        (
            "fail_missing_blank_line",
            fail(
                "No blank line between the text and the signature.",
                format!("{text}{line}\n"),
                ORIGIN,
                "note_missing_signature_block",
            ),
        ),
        (
            "fail_hyphen_instead_of_em_dash",
            fail(
                "The signature line starts with a hyphen-minus, not an em dash.",
                good.replace("— ", "- "),
                ORIGIN,
                "note_malformed_signature_line",
            ),
        ),
        (
            "fail_line_after_signatures",
            fail(
                "A line that is not a signature follows the signatures.",
                format!("{good}Unexpected line.\n"),
                ORIGIN,
                "note_malformed_signature_line",
            ),
        ),
        (
            "fail_key_name_with_plus",
            fail(
                "The key name contains '+'.",
                good.replace(ORIGIN, "kaitiaki.example/log+1"),
                "kaitiaki.example/log+1",
                "note_malformed_signature_line",
            ),
        ),
        (
            "fail_signature_too_short",
            fail(
                "The signature decodes to only the 4-byte key id.",
                format!("{text}\n— {ORIGIN} {short}\n"),
                ORIGIN,
                "note_malformed_signature_line",
            ),
        ),
        (
            "fail_signature_not_canonical_base64",
            fail(
                "The base64 signature has non-zero padding bits: the right bytes, spelled \
             another way, are refused.",
                non_canonical(&good),
                ORIGIN,
                "note_malformed_signature_line",
            ),
        ),
        (
            "fail_control_character",
            fail(
                "A tab at the end of the origin line.",
                good.replacen('\n', "\t\n", 1),
                ORIGIN,
                "note_control_character",
            ),
        ),
        (
            "fail_invalid_utf8",
            FailVector {
                note: None,
                note_hex: Some(hex::encode(bad_utf8)),
                ..fail(
                    "A byte that is not UTF-8 in the origin.",
                    "",
                    ORIGIN,
                    "note_invalid_utf8",
                )
            },
        ),
        (
            "fail_too_many_signatures",
            fail(
                "101 signature lines; at most 100 are accepted.",
                many,
                ORIGIN,
                "note_too_many_signatures",
            ),
        ),
    ]
}

/// Bodies that break one checkpoint rule, each validly signed by the log.
fn bodies() -> Vec<Case> {
    let r = example_root().to_base64();
    let dsse_origin = format!("DSSEv1 {ORIGIN}");
    let table: [(&'static str, &str, String, &str, &str); 10] = [
        (
            "fail_origin_dsse",
            "The origin begins with DSSEv1, reserved for statement signatures.",
            format!("{dsse_origin}\n{SIZE}\n{r}\n"),
            &dsse_origin,
            "checkpoint_forbidden_origin",
        ),
        (
            "fail_origin_cosignature",
            "The origin begins with cosignature/, reserved for cosigned messages.",
            format!("cosignature/v1\n{SIZE}\n{r}\n"),
            "cosignature/v1",
            "checkpoint_forbidden_origin",
        ),
        (
            "fail_size_leading_zero",
            "The size has a leading zero.",
            format!("{ORIGIN}\n07\n{r}\n"),
            ORIGIN,
            "checkpoint_size_leading_zero",
        ),
        (
            "fail_size_plus_sign",
            "The size has a plus sign.",
            format!("{ORIGIN}\n+7\n{r}\n"),
            ORIGIN,
            "checkpoint_size_not_decimal",
        ),
        (
            "fail_size_overflow",
            "The size is 2^64.",
            format!("{ORIGIN}\n18446744073709551616\n{r}\n"),
            ORIGIN,
            "checkpoint_size_out_of_range",
        ),
        (
            "fail_root_wrong_length",
            "The root is 31 bytes.",
            format!("{ORIGIN}\n{SIZE}\n{}\n", STANDARD.encode([7u8; 31])),
            ORIGIN,
            "checkpoint_root_length",
        ),
        (
            "fail_root_unpadded",
            "The root is base64 without its '=' padding.",
            format!("{ORIGIN}\n{SIZE}\n{}\n", r.trim_end_matches('=')),
            ORIGIN,
            "checkpoint_root_not_base64",
        ),
        (
            "fail_root_hex",
            "The root is written in hex; read as base64 that is 48 bytes.",
            format!("{ORIGIN}\n{SIZE}\n{}\n", example_root().to_hex()),
            ORIGIN,
            "checkpoint_root_length",
        ),
        (
            "fail_too_few_lines",
            "Only origin and size.",
            format!("{ORIGIN}\n{SIZE}\n"),
            ORIGIN,
            "checkpoint_too_few_lines",
        ),
        (
            "fail_empty_extension_line",
            "An empty line after the root (an empty extension line).",
            format!("{ORIGIN}\n{SIZE}\n{r}\n\n"),
            ORIGIN,
            "checkpoint_empty_extension",
        ),
    ];
    table
        .into_iter()
        .map(|(file, description, body, origin, expected)| {
            let note = Note::sign(body, &log_signer()).expect("valid note text");
            (file, fail(description, note.to_string(), origin, expected))
        })
        .collect()
}

/// A cosignature by witness `i` at any timestamp, range checks bypassed.
fn cosign_raw(i: usize, timestamp: u64) -> NoteSignature {
    let c = cosigner(i);
    let key = SigningKey::from_bytes(&WITNESSES[i].1);
    let sig = key.sign(&cosigned_message(&example_checkpoint(), timestamp));
    let mut bytes = timestamp.to_be_bytes().to_vec();
    bytes.extend_from_slice(&sig.to_bytes());
    NoteSignature::new(c.name().clone(), c.key_id(), bytes).expect("non-empty")
}

fn cosignatures() -> Vec<Case> {
    let cosigned = cosigned_note();
    let replaced = |line: NoteSignature| {
        let mut note = cosigned.clone();
        note.add_signature(line).expect("replaces w1's line");
        note
    };
    let w1_line = cosigned.signatures()[1].clone();
    let bigger = Checkpoint::new(ORIGIN, SIZE + 1, example_root()).expect("valid");
    let stale = cosigner(0)
        .cosign(&bigger, TIMESTAMPS[0])
        .expect("in range");
    let mut only_w1 = example_checkpoint().sign(&log_signer()).expect("small");
    only_w1
        .add_signature(
            cosigner(0)
                .cosign(&example_checkpoint(), TIMESTAMPS[0])
                .expect("in range"),
        )
        .expect("room");
    vec![
        (
            "fail_cosignature_invalid",
            fail_witnesses(
                "One bit of w1's cosignature is flipped; w1 is trusted, so the note is refused.",
                &replaced(flip_signature_byte(&w1_line, 20)),
                1,
                "cosignature_invalid_signature",
            ),
        ),
        (
            "fail_cosignature_other_checkpoint",
            fail_witnesses(
                "w1's line cosigns a different checkpoint (size 8).",
                &replaced(stale),
                1,
                "cosignature_invalid_signature",
            ),
        ),
        (
            "fail_cosignature_timestamp_too_large",
            fail_witnesses(
                "w1's cosignature is correctly signed but its timestamp is 2^63, above the \
             allowed 2^63 - 1.",
                &replaced(cosign_raw(0, 1 << 63)),
                1,
                "cosignature_invalid_signature",
            ),
        ),
        (
            "fail_not_enough_cosignatures",
            fail_witnesses(
                "Only w1 cosigned; 2 of the 3 witnesses are required.",
                &only_w1,
                2,
                "cosignature_not_enough",
            ),
        ),
        (
            "fail_three_of_three",
            fail_witnesses(
                "w1 and w2 cosigned, w3 did not; 3 of 3 are required.",
                &cosigned,
                3,
                "cosignature_not_enough",
            ),
        ),
        ("fail_one_key_two_names", one_key_two_names()),
    ]
}

/// One witness key trusted under two names, cosigning under both: it must
/// count once toward the threshold, since the message does not name it.
fn one_key_two_names() -> FailVector {
    let alias = Cosigner::from_seed(name("witness.example/w1-alias"), &WITNESSES[0].1);
    let mut note = example_checkpoint().sign(&log_signer()).expect("small");
    for c in [cosigner(0), alias.clone()] {
        let line = c
            .cosign(&example_checkpoint(), TIMESTAMPS[0])
            .expect("in range");
        note.add_signature(line).expect("room");
    }
    FailVector {
        witness_verifier_keys: vec![
            cosigner(0).verifier().to_string(),
            alias.verifier().to_string(),
        ],
        required_cosignatures: Some(2),
        ..fail(
            "w1's key is trusted under two names and cosigns under both; one key is one \
             witness, so 2 are not reached.",
            note.to_string(),
            ORIGIN,
            "cosignature_not_enough",
        )
    }
}
