//! Known answers and the vector files in `vectors/note/`.
//!
//! `go_sumdb_note.json` holds facts from the Go `sumdb/note` tests (see
//! `SOURCE.md` there). Every other file is generated here from fixed seeds;
//! Ed25519 signing is deterministic, so [`vector_files_are_reproducible`]
//! rebuilds them and fails on any difference. Run with
//! `KAITIAKI_REGENERATE_VECTORS=1` to rewrite them after a deliberate change.
//!
//! Independently of how they were made, every `checkpoint_*.json` file must
//! be accepted with exactly the stated contents, and every `fail_*.json`
//! case must be rejected with exactly the stated error code.

use std::path::{Path, PathBuf};

use kaitiaki_protocol::checkpoint::VerifiedCheckpoint;
use kaitiaki_protocol::cosignature::{
    require_cosignatures, witness_cosignatures, CosignatureVerifier, Cosigner,
};
use kaitiaki_protocol::note::{Note, NoteSigner, NoteVerifier, Verifier};
use serde::{Deserialize, Serialize};

mod fails;
mod generate;

/// A signed (and maybe cosigned) checkpoint that must be accepted.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(super) struct CheckpointVector {
    description: String,
    log_seed_hex: String,
    log_signer_key: String,
    log_verifier_keys: Vec<String>,
    origin: String,
    checkpoint: CheckpointFields,
    note: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    witnesses: Vec<WitnessKeys>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    witness_verifier_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    expected_cosigners: Vec<ExpectedCosigner>,
}

/// The fields a checkpoint vector's note text must parse to.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(super) struct CheckpointFields {
    origin: String,
    size: u64,
    root_hex: String,
    root_base64: String,
    extensions: Vec<String>,
}

/// A witness's keys, derived from its seed.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(super) struct WitnessKeys {
    name: String,
    seed_hex: String,
    signer_key: String,
    verifier_key: String,
}

/// A trusted witness that validly cosigned, with its timestamp.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(super) struct ExpectedCosigner {
    name: String,
    timestamp: u64,
}

/// A signed checkpoint that must be rejected with `expected_error`.
///
/// It is opened as a checkpoint of `origin` under `log_verifier_keys`; if
/// that succeeds, `required_cosignatures` of `witness_verifier_keys` are
/// required. `note_hex` replaces `note` for bytes that are not UTF-8.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(super) struct FailVector {
    description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note_hex: Option<String>,
    origin: String,
    log_verifier_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    witness_verifier_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    required_cosignatures: Option<usize>,
    expected_error: String,
}

/// Key texts that must be refused; `kind` says which parser reads them.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(super) struct KeyFailVectors {
    description: String,
    cases: Vec<KeyFailCase>,
}

/// One refused key text.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(super) struct KeyFailCase {
    kind: String,
    key: String,
    expected_error: String,
}

/// The Go `sumdb/note` known answer.
#[derive(Deserialize, Debug)]
struct GoVector {
    signer_key: String,
    verifier_keys: Vec<String>,
    text: String,
    note: String,
    doubly_signed_note: String,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/note")
}

fn read_json<T: serde::de::DeserializeOwned>(file: &str) -> T {
    let path = dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn files_with_prefix(prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .expect("vectors/note exists")
        .map(|e| {
            e.expect("readable entry")
                .file_name()
                .into_string()
                .expect("UTF-8 name")
        })
        .filter(|n| n.starts_with(prefix) && n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

#[test]
fn vector_files_are_reproducible() {
    let regenerate = std::env::var_os("KAITIAKI_REGENERATE_VECTORS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (file, value) in generate::all() {
        let path = dir().join(&file);
        if regenerate {
            let text = serde_json::to_string_pretty(&value).expect("serialisable") + "\n";
            // Write then rename, so tests reading the files concurrently
            // never see half a file.
            let tmp = path.with_extension("json.tmp");
            std::fs::write(&tmp, text).unwrap_or_else(|e| panic!("{file}: {e}"));
            std::fs::rename(&tmp, &path).unwrap_or_else(|e| panic!("{file}: {e}"));
            continue;
        }
        // Compare values, not text, so the order serde_json happens to give
        // object keys in one build cannot make this test flaky.
        let stored: serde_json::Value = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}")),
            Err(_) => serde_json::Value::Null,
        };
        if stored != value {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "vector files differ from what the seeds produce: {stale:?}; \
         rerun with KAITIAKI_REGENERATE_VECTORS=1 if the change is deliberate"
    );
}

#[test]
fn go_sumdb_note_known_answer() {
    let v: GoVector = read_json("go_sumdb_note.json");
    let peter = NoteVerifier::parse(&v.verifier_keys[0]).expect("Peter's key parses");
    let enoch = NoteVerifier::parse(&v.verifier_keys[1]).expect("Enoch's key parses");
    assert_eq!(peter.to_string(), v.verifier_keys[0]);
    assert_eq!(enoch.to_string(), v.verifier_keys[1]);
    assert_eq!(format!("{}", peter.key_id()), "c74f20a3");

    // Our signer, fed Go's signer key, writes Go's note byte for byte.
    let signer = NoteSigner::parse(&v.signer_key).expect("Go signer key parses");
    assert_eq!(signer.to_signer_key_text(), v.signer_key);
    assert_eq!(signer.verifier(), peter);
    let signed = Note::sign(v.text.clone(), &signer).expect("valid text");
    assert_eq!(signed.to_string(), v.note);

    let (note, signers) =
        Note::open(v.note.as_bytes(), std::slice::from_ref(&peter)).expect("verifies");
    assert_eq!(note.text(), v.text);
    assert_eq!(signers, vec![&peter]);

    let both = Note::parse(v.doubly_signed_note.as_bytes()).expect("parses");
    let signed_by = |keys: &[&NoteVerifier]| -> Vec<String> {
        both.verify(keys)
            .expect("verifies")
            .iter()
            .map(|k| k.name().to_string())
            .collect()
    };
    assert_eq!(signed_by(&[&peter, &enoch]), ["PeterNeumann", "EnochRoot"]);
    assert_eq!(signed_by(&[&enoch]), ["EnochRoot"]);
    assert_eq!(
        both.verify::<&NoteVerifier>(&[]).unwrap_err().code(),
        "note_no_known_signature"
    );
}

fn verifiers<V, E: std::fmt::Debug>(keys: &[String], parse: fn(&str) -> Result<V, E>) -> Vec<V> {
    keys.iter()
        .map(|k| parse(k).expect("vector keys parse"))
        .collect()
}

#[test]
fn checkpoint_vectors_are_accepted() {
    let files = files_with_prefix("checkpoint_");
    assert!(
        files.len() >= 3,
        "expected checkpoint vectors, found {files:?}"
    );
    for file in files {
        let v: CheckpointVector = read_json(&file);
        let logs = verifiers(&v.log_verifier_keys, NoteVerifier::parse);
        let opened = VerifiedCheckpoint::open(v.note.as_bytes(), &v.origin, &logs)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let c = opened.checkpoint();
        assert_eq!(c.origin(), v.checkpoint.origin, "{file}");
        assert_eq!(c.size(), v.checkpoint.size, "{file}");
        assert_eq!(c.root().to_hex(), v.checkpoint.root_hex, "{file}");
        assert_eq!(c.root().to_base64(), v.checkpoint.root_base64, "{file}");
        assert_eq!(c.extensions(), v.checkpoint.extensions, "{file}");
        assert_eq!(
            opened.note().to_string(),
            v.note,
            "{file}: canonical spelling"
        );

        // The log key round-trips through its signer key text.
        let signer = NoteSigner::parse(&v.log_signer_key).expect("log signer key parses");
        assert_eq!(signer.verifier(), logs[0], "{file}");

        let witnesses = verifiers(&v.witness_verifier_keys, CosignatureVerifier::parse);
        let got: Vec<ExpectedCosigner> = witness_cosignatures(opened.note(), &witnesses)
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .iter()
            .map(|w| ExpectedCosigner {
                name: w.witness().name().to_string(),
                timestamp: w.timestamp(),
            })
            .collect();
        assert_eq!(got, v.expected_cosigners, "{file}");
        for w in &v.witnesses {
            let cosigner = Cosigner::parse(&w.signer_key).expect("witness signer key parses");
            assert_eq!(cosigner.verifier().to_string(), w.verifier_key, "{file}");
        }
    }
}

/// Runs a fail vector and gives the code of the error it met.
fn rejection(v: &FailVector) -> Result<(), String> {
    let bytes = match (&v.note, &v.note_hex) {
        (_, Some(h)) => hex::decode(h).expect("note_hex is hex"),
        (Some(n), None) => n.clone().into_bytes(),
        (None, None) => panic!("a fail vector needs note or note_hex"),
    };
    let logs = verifiers(&v.log_verifier_keys, NoteVerifier::parse);
    let opened =
        VerifiedCheckpoint::open(&bytes, &v.origin, &logs).map_err(|e| e.code().to_owned())?;
    let witnesses = verifiers(&v.witness_verifier_keys, CosignatureVerifier::parse);
    let required = v.required_cosignatures.unwrap_or(0);
    require_cosignatures(opened.note(), &witnesses, required).map_err(|e| e.code().to_owned())?;
    Ok(())
}

#[test]
fn fail_vectors_are_rejected() {
    let files = files_with_prefix("fail_");
    assert!(files.len() >= 20, "expected fail vectors, found {files:?}");
    for file in files {
        if file == "fail_key_texts.json" {
            continue;
        }
        let v: FailVector = read_json(&file);
        match rejection(&v) {
            Ok(()) => panic!("{file} was accepted: {}", v.description),
            Err(code) => assert_eq!(code, v.expected_error, "{file}: {}", v.description),
        }
    }
}

#[test]
fn fail_key_texts_are_rejected() {
    let v: KeyFailVectors = read_json("fail_key_texts.json");
    assert!(!v.cases.is_empty());
    for case in &v.cases {
        let result = match case.kind.as_str() {
            "note_verifier" => NoteVerifier::parse(&case.key).map(drop),
            "note_signer" => NoteSigner::parse(&case.key).map(drop),
            "cosignature_verifier" => CosignatureVerifier::parse(&case.key).map(drop),
            "cosigner" => Cosigner::parse(&case.key).map(drop),
            other => panic!("unknown key kind {other}"),
        };
        match result {
            Ok(()) => panic!("{} {:?} was accepted", case.kind, case.key),
            Err(e) => assert_eq!(e.code(), case.expected_error, "{:?}", case.key),
        }
    }
}
