//! The rules of notes, checkpoints and cosignatures, case by case.

use kaitiaki_protocol::checkpoint::{
    check_origin, Checkpoint, CheckpointError, VerifiedCheckpoint,
};
use kaitiaki_protocol::cosignature::{
    cosigned_message, require_cosignatures, witness_cosignatures, Cosignature, CosignatureError,
    MAX_TIMESTAMP,
};
use kaitiaki_protocol::note::{
    KeyName, KeyNameError, Note, NoteError, NoteSignature, NoteSigner, NoteVerifier, Verifier,
    VerifyError, MAX_SIGNATURES,
};

use super::{
    cosigned_note, cosigner, example_checkpoint, log_signer, log_verifier, name, witness_verifiers,
    ORIGIN, TIMESTAMPS,
};

const GO_TEXT: &str =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_PETER_LINE: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const GO_PETER_KEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

/// Parses `note` and returns its error code, or "ok".
fn check_note(note: &str) -> &'static str {
    match Note::parse(note.as_bytes()) {
        Ok(n) => {
            assert_eq!(n.to_string(), note, "an accepted note has one spelling");
            "ok"
        }
        Err(e) => e.code(),
    }
}

/// Parses `text` as a checkpoint body and returns its error code, or "ok".
fn check_checkpoint(text: &str) -> &'static str {
    match Checkpoint::parse(text) {
        Ok(c) => {
            assert_eq!(c.to_text(), text, "an accepted checkpoint has one spelling");
            "ok"
        }
        Err(e) => e.code(),
    }
}

#[test]
fn note_syntax() {
    let good = format!("{GO_TEXT}\n{GO_PETER_LINE}");
    let cases: &[(String, &str)] = &[
        (good.clone(), "ok"),
        // The malformed messages of the Go tests.
        (GO_TEXT.to_owned(), "note_missing_signature_block"),
        (format!("{GO_TEXT}\n"), "note_no_signatures"),
        (good.trim_end_matches('\n').to_owned(), "note_missing_final_newline"),
        (format!("\x01{good}"), "note_control_character"),
        (format!("{GO_TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"), "note_malformed_signature_line"),
        (format!("{good}Unexpected line.\n"), "note_malformed_signature_line"),
        // Blank lines inside the text are part of it; the last one separates.
        (format!("a\n\nb\n\n{GO_PETER_LINE}"), "ok"),
        (format!("\n\n{GO_PETER_LINE}"), "ok"),
        (format!("{GO_TEXT}\n{GO_PETER_LINE}\n"), "note_no_signatures"),
        (format!("{GO_TEXT}\n— PeterNeumann\n"), "note_malformed_signature_line"),
        (format!("{GO_TEXT}\n— PeterNeumann \n"), "note_malformed_signature_line"),
        (format!("{GO_TEXT}\n—  PeterNeumann AAAAAAA=\n"), "note_malformed_signature_line"),
        (format!("{GO_TEXT}\n— PeterNeumann AAAAAAA=\n"), "ok"),
        (format!("{GO_TEXT}\n— PeterNeumann AAAAAA==\n"), "note_malformed_signature_line"),
        (format!("{GO_TEXT}\r\n{GO_PETER_LINE}"), "note_control_character"),
        (format!("{GO_TEXT}\n{}", GO_PETER_LINE.repeat(MAX_SIGNATURES)), "ok"),
        (format!("{GO_TEXT}\n{}", GO_PETER_LINE.repeat(MAX_SIGNATURES + 1)), "note_too_many_signatures"),
    ];
    for (note, want) in cases {
        assert_eq!(check_note(note), *want, "{note:?}");
    }
    assert_eq!(
        Note::parse(b"\xff\n\n- x\n").unwrap_err(),
        NoteError::InvalidUtf8
    );
    // Go's "invalid signature" case: four base64 characters inserted into
    // Peter's signature make it 67 bytes, which his key must refuse.
    let peter = NoteVerifier::parse(GO_PETER_KEY).unwrap();
    assert!(Note::open(good.as_bytes(), std::slice::from_ref(&peter)).is_ok());
    let spliced = format!(
        "{GO_TEXT}\n{}ABCD{}",
        &GO_PETER_LINE[..60],
        &GO_PETER_LINE[60..]
    );
    let err = Note::open(spliced.as_bytes(), &[peter]).unwrap_err();
    assert_eq!(err.code(), "note_invalid_signature");

    let huge = vec![b'a'; kaitiaki_protocol::note::MAX_NOTE_BYTES + 1];
    assert_eq!(Note::parse(&huge).unwrap_err().code(), "note_too_large");
}

#[test]
fn key_names() {
    assert!(KeyName::new("example.com/log42").is_ok());
    assert!(KeyName::new("ngā-iwi/ō").is_ok());
    assert_eq!(KeyName::new("").unwrap_err(), KeyNameError::Empty);
    assert_eq!(KeyName::new("a b").unwrap_err(), KeyNameError::WhiteSpace);
    assert_eq!(
        KeyName::new("a\u{a0}b").unwrap_err(),
        KeyNameError::WhiteSpace
    );
    assert_eq!(KeyName::new("a+b").unwrap_err(), KeyNameError::Plus);
    assert_eq!(
        KeyName::new("a\u{7f}b").unwrap_err(),
        KeyNameError::ControlCharacter
    );
}

#[test]
fn note_construction() {
    let signer = log_signer();
    assert_eq!(
        Note::sign("no newline", &signer).unwrap_err(),
        NoteError::MissingFinalNewline
    );
    assert_eq!(
        Note::new("text\n", vec![]).unwrap_err(),
        NoteError::NoSignatures
    );
    let line = signer.sign_text("text\n");
    let too_many = vec![line.clone(); MAX_SIGNATURES + 1];
    assert_eq!(
        Note::new("text\n", too_many).unwrap_err().code(),
        "note_too_many_signatures"
    );
    assert!(NoteSignature::new(name("a"), line.key_id(), Vec::new()).is_none());

    // Re-signing replaces the signer's own line instead of adding another.
    let mut note = Note::sign("text\n", &signer).unwrap();
    note.add_signature(signer.sign_text("text\n")).unwrap();
    assert_eq!(note.signatures().len(), 1);
}

#[test]
fn verification_rules() {
    let log = log_verifier();
    let other = NoteSigner::from_seed(name("other.example"), &[0x06; 32]);
    let mut note = example_checkpoint().sign(&log_signer()).unwrap();
    note.add_signature(other.sign_text(note.text())).unwrap();

    // Unknown lines are kept, and ignored.
    assert_eq!(note.signatures().len(), 2);
    assert_eq!(note.verify(&[&log]).unwrap(), vec![&&log]);
    assert_eq!(
        note.signers::<&NoteVerifier>(&[]).unwrap(),
        Vec::<&&NoteVerifier>::new()
    );
    assert_eq!(
        note.verify::<&NoteVerifier>(&[]).unwrap_err(),
        VerifyError::NoKnownSignature
    );

    // Two trusted keys sharing a name and id cannot be told apart.
    let err = note.verify(&[&log, &log]).unwrap_err();
    assert!(matches!(err, VerifyError::AmbiguousKey { .. }), "{err:?}");

    // A known key's bad line rejects the note even when another known key
    // signed it validly, and even if the bad line is a duplicate.
    let mut spoiled = note.clone();
    let text = spoiled.text().to_owned();
    let mut bad = log_signer().sign_text(&text).signature().to_vec();
    bad[0] ^= 1;
    let bad = NoteSignature::new(log.name().clone(), log.key_id(), bad).unwrap();
    let mut lines = spoiled.signatures().to_vec();
    lines.push(bad);
    spoiled = Note::new(text, lines).unwrap();
    let other_v = other.verifier();
    let err = spoiled.verify(&[&log, &other_v]).unwrap_err();
    assert_eq!(err.code(), "note_invalid_signature");
    assert_eq!(
        err.to_string(),
        format!("invalid signature from known key {ORIGIN}+{}", log.key_id())
    );

    // A mixed list of note keys and witness keys, through `dyn Verifier`.
    let cosigned = cosigned_note();
    let witnesses = witness_verifiers();
    let mixed: Vec<&dyn Verifier> = vec![&log, &witnesses[0], &witnesses[1], &witnesses[2]];
    let signed: Vec<String> = cosigned
        .verify(&mixed)
        .unwrap()
        .iter()
        .map(|v| v.name().to_string())
        .collect();
    assert_eq!(signed, [ORIGIN, "witness.example/w1", "witness.example/w2"]);
}

#[test]
fn signer_debug_hides_the_secret() {
    let signer = log_signer();
    let secret = signer.to_signer_key_text();
    let seed_b64 = secret.rsplit('+').next().unwrap();
    assert!(!format!("{signer:?}").contains(seed_b64));
    let witness_secret = cosigner(0).to_signer_key_text();
    let witness_seed = witness_secret.rsplit('+').next().unwrap();
    assert!(!format!("{:?}", cosigner(0)).contains(witness_seed));
}

#[test]
fn witness_response_lines() {
    let checkpoint = example_checkpoint();
    let body: String = (0..2)
        .map(|i| {
            cosigner(i)
                .cosign(&checkpoint, TIMESTAMPS[i])
                .unwrap()
                .to_line()
        })
        .collect();
    let lines = NoteSignature::parse_lines(&body).unwrap();
    assert_eq!(lines.len(), 2);
    let w = witness_verifiers();
    assert_eq!(
        w[1].verify_cosignature(&checkpoint, &lines[1])
            .unwrap()
            .timestamp(),
        TIMESTAMPS[1]
    );
    assert_eq!(
        w[0].verify_cosignature(&checkpoint, &lines[1])
            .unwrap_err()
            .code(),
        "cosignature_wrong_key"
    );
    assert_eq!(
        NoteSignature::parse_lines(body.trim_end())
            .unwrap_err()
            .code(),
        "note_missing_final_newline"
    );
}

#[test]
fn checkpoint_syntax() {
    let root = example_checkpoint().root().to_base64();
    let cases: &[(String, &str)] = &[
        (format!("{ORIGIN}\n7\n{root}\n"), "ok"),
        (format!("{ORIGIN}\n0\n{root}\n"), "ok"),
        (format!("{ORIGIN}\n18446744073709551615\n{root}\n"), "ok"),
        (format!("{ORIGIN}\n7\n{root}\next one\next two\n"), "ok"),
        (
            format!("origin with spaces and ngā tohu\n7\n{root}\n"),
            "ok",
        ),
        (
            format!("{ORIGIN}\n7\n{root}"),
            "checkpoint_missing_final_newline",
        ),
        (format!("{ORIGIN}\n7\n"), "checkpoint_too_few_lines"),
        (format!("\n7\n{root}\n"), "checkpoint_empty_origin"),
        (
            format!("{ORIGIN}\n\n{root}\n"),
            "checkpoint_size_not_decimal",
        ),
        (
            format!("{ORIGIN}\n-1\n{root}\n"),
            "checkpoint_size_not_decimal",
        ),
        (
            format!("{ORIGIN}\n 7\n{root}\n"),
            "checkpoint_size_not_decimal",
        ),
        (
            format!("{ORIGIN}\n٧\n{root}\n"),
            "checkpoint_size_not_decimal",
        ),
        (
            format!("{ORIGIN}\n00\n{root}\n"),
            "checkpoint_size_leading_zero",
        ),
        (
            format!("{ORIGIN}\n18446744073709551616\n{root}\n"),
            "checkpoint_size_out_of_range",
        ),
        (format!("{ORIGIN}\n7\n\n"), "checkpoint_root_length"),
        (
            format!("{ORIGIN}\n7\n{root} \n"),
            "checkpoint_root_not_base64",
        ),
        (format!("{ORIGIN}\n7\nAAAA\n"), "checkpoint_root_length"),
        (
            format!("{ORIGIN}\n7\n{root}\n\n"),
            "checkpoint_empty_extension",
        ),
        (
            format!("{ORIGIN}\n7\n{root}\na\tb\n"),
            "checkpoint_control_character",
        ),
        (
            format!("DSSEv1\n7\n{root}\n"),
            "checkpoint_forbidden_origin",
        ),
        (
            format!("cosignature/v2\n7\n{root}\n"),
            "checkpoint_forbidden_origin",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(check_checkpoint(text), *want, "{text:?}");
    }
}

#[test]
fn the_origin_rule() {
    for bad in [
        "DSSEv1",
        "DSSEv1 32 application/x 5 hello",
        "cosignature/",
        "cosignature/v1",
    ] {
        assert!(
            matches!(
                check_origin(bad),
                Err(CheckpointError::ForbiddenOrigin { .. })
            ),
            "{bad}"
        );
        assert!(Checkpoint::new(bad, 1, *example_checkpoint().root()).is_err());
    }
    // The rule is about the exact leading bytes that are signed.
    for good in [
        "dssev1",
        "xDSSEv1",
        "cosignature",
        "example.com/cosignature/v1",
    ] {
        assert_eq!(check_origin(good), Ok(()), "{good}");
    }
    assert_eq!(
        check_origin("a\nb"),
        Err(CheckpointError::ControlCharacter { line: 1 })
    );
    let ext =
        Checkpoint::with_extensions(ORIGIN, 1, *example_checkpoint().root(), vec!["a\nb".into()]);
    assert_eq!(
        ext.unwrap_err(),
        CheckpointError::ControlCharacter { line: 4 }
    );
}

#[test]
fn opening_checkpoints() {
    let note = cosigned_note();
    let log = log_verifier();
    let opened = VerifiedCheckpoint::open(&note.to_bytes(), ORIGIN, &[&log]).unwrap();
    assert_eq!(opened.checkpoint(), &example_checkpoint());
    assert_eq!(opened.note(), &note);
    let err = VerifiedCheckpoint::open(&note.to_bytes(), "elsewhere", &[&log]).unwrap_err();
    assert_eq!(err.code(), "checkpoint_origin_mismatch");
    // A note that verifies but is not a checkpoint.
    let plain = Note::sign("hello\n", &log_signer()).unwrap();
    let err = VerifiedCheckpoint::from_note(plain, ORIGIN, &[&log]).unwrap_err();
    assert_eq!(err.code(), "checkpoint_too_few_lines");
}

#[test]
fn cosignature_message_matches_the_spec_example() {
    // The example in c2sp.org/tlog-cosignature.
    let checkpoint = Checkpoint::parse(
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    )
    .unwrap();
    let message = cosigned_message(&checkpoint, 1679315147);
    assert_eq!(
        String::from_utf8(message).unwrap(),
        "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
    // Its example cosignature line: key id, then the timestamp big-endian.
    let line = NoteSignature::parse("— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==").unwrap();
    assert_eq!(line.key_id().to_string(), "8d66cf3f");
    assert_eq!(
        Cosignature::from_bytes(line.signature())
            .unwrap()
            .timestamp(),
        1679315147
    );
}

#[test]
fn cosignature_rules() {
    let checkpoint = example_checkpoint();
    let c = cosigner(0);
    assert_eq!(
        c.cosign(&checkpoint, MAX_TIMESTAMP + 1).unwrap_err(),
        CosignatureError::TimestampOutOfRange {
            timestamp: MAX_TIMESTAMP + 1
        }
    );
    let line = c.cosign(&checkpoint, MAX_TIMESTAMP).unwrap();
    let v = c.verifier();
    assert_eq!(
        v.verify_cosignature(&checkpoint, &line)
            .unwrap()
            .timestamp(),
        MAX_TIMESTAMP
    );
    let other = Checkpoint::new(ORIGIN, 8, *checkpoint.root()).unwrap();
    assert_eq!(
        v.verify_cosignature(&other, &line).unwrap_err().code(),
        "cosignature_invalid_signature"
    );
    assert_eq!(
        Cosignature::from_bytes(&[0; 71]).unwrap_err(),
        CosignatureError::Length { len: 71 }
    );
    let c0 = Cosignature::from_bytes(line.signature()).unwrap();
    assert_eq!(c0.to_bytes().as_slice(), line.signature());

    // Cosignature keys and note keys differ only in the type byte, which
    // changes the key id: a witness's line never passes for a log's.
    let same_key = NoteSigner::from_seed(c.name().clone(), &super::WITNESSES[0].1);
    assert_ne!(same_key.key_id(), c.key_id());
    assert_eq!(same_key.public_key(), c.public_key());
}

#[test]
fn counting_witnesses() {
    let note = cosigned_note();
    let w = witness_verifiers();
    let got = witness_cosignatures(&note, &w).unwrap();
    let names: Vec<String> = got.iter().map(|c| c.witness().name().to_string()).collect();
    assert_eq!(names, ["witness.example/w1", "witness.example/w2"]);
    assert_eq!(got[0].timestamp(), TIMESTAMPS[0]);
    assert!(require_cosignatures(&note, &w, 0).is_ok());
    assert!(require_cosignatures(&note, &w, 2).is_ok());
    assert_eq!(
        require_cosignatures(&note, &w, 3).unwrap_err(),
        CosignatureError::NotEnoughCosignatures {
            found: 2,
            required: 3
        }
    );

    // The same witness cosigning twice counts once, with its latest time.
    let mut twice = note.clone();
    let later = cosigner(0)
        .cosign(&example_checkpoint(), TIMESTAMPS[0] + 5)
        .unwrap();
    let mut lines = twice.signatures().to_vec();
    lines.push(later);
    twice = Note::new(twice.text(), lines).unwrap();
    let got = witness_cosignatures(&twice, &w).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].timestamp(), TIMESTAMPS[0] + 5);

    // Cosignatures only make sense on a checkpoint.
    let plain = Note::sign("hello\n", &log_signer()).unwrap();
    assert_eq!(
        witness_cosignatures(&plain, &w).unwrap_err().code(),
        "checkpoint_too_few_lines"
    );
}
