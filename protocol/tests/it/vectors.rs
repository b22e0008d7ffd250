//! Vector files: regenerated from fixed seeds and compared byte for byte.
//!
//! `protocol/vectors/statement/` holds one file per statement kind and one
//! `fail_*.json` per envelope that every verifier must refuse;
//! `protocol/vectors/log/log.json` holds a log of those statements with the
//! root at every size, inclusion proofs and consistency proofs. Set
//! `KAITIAKI_REGENERATE_VECTORS=1` to rewrite the files after a deliberate
//! format change (and change PROTOCOL.md in the same commit).

use std::path::{Path, PathBuf};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use kaitiaki_protocol::envelope::{pae, EnvelopeError, STATEMENT_PAYLOAD_TYPE};
use kaitiaki_protocol::json::JsonError;
use kaitiaki_protocol::merkle::{self, MemoryTree};
use kaitiaki_protocol::statement::StatementError;
use kaitiaki_protocol::{Envelope, Hash, Kind, Leaf};
use serde_json::{json, Value};

use crate::fixtures::{self, at, key, public, NETWORK};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

/// Compares `value` with the file, or rewrites the file when regenerating.
fn check_file(path: &Path, value: &Value) {
    let text = serde_json::to_string_pretty(value).expect("serialisable") + "\n";
    check_text(path, &text);
}

/// Compares `text` with the file, or rewrites the file when
/// `KAITIAKI_REGENERATE_VECTORS` is set.
pub fn check_text(path: &Path, text: &str) {
    if std::env::var_os("KAITIAKI_REGENERATE_VECTORS").is_some() {
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write vector");
        return;
    }
    let stored = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (set KAITIAKI_REGENERATE_VECTORS=1 to create it)",
            path.display()
        )
    });
    assert!(
        stored == text,
        "{} differs from what the code produces now",
        path.display()
    );
}

fn keys_json() -> Value {
    let seeds: std::collections::BTreeSet<u8> = fixtures::statements()
        .iter()
        .map(|(s, _)| *s)
        .chain([9])
        .collect();
    Value::Array(
        seeds
            .into_iter()
            .map(|s| json!({ "seed": hex::encode([s; 32]), "public": public(s).to_hex() }))
            .collect(),
    )
}

fn envelope_json(env: &Envelope) -> Value {
    json!({
        "payload": String::from_utf8(env.payload().to_vec()).expect("our payloads are UTF-8"),
        "pae_base64": STANDARD.encode(pae(STATEMENT_PAYLOAD_TYPE, env.payload())),
        "signature_hex": hex::encode(env.signature().as_bytes()),
        "dsse": serde_json::to_value(env.to_dsse()).expect("serialisable"),
        "envelope_hex": hex::encode(env.to_bytes()),
        "id": env.id().to_hex(),
    })
}

#[test]
fn statement_vectors_match() {
    let dir = vectors_dir().join("statement");
    for ((seed, statement), env) in fixtures::statements()
        .into_iter()
        .zip(fixtures::envelopes())
    {
        let mut v = envelope_json(&env);
        v["kind"] = json!(statement.kind().name());
        v["author_seed"] = json!(hex::encode([seed; 32]));
        v["network"] = json!(NETWORK);
        check_file(&dir.join(format!("{}.json", statement.kind().name())), &v);
    }
    check_file(&dir.join("keys.json"), &keys_json());
}

/// How a failure vector must be refused: this implementation's error for it.
type Refusal = fn(&EnvelopeError) -> bool;

/// The error a payload that is not a valid statement is refused with.
fn statement_error(e: &EnvelopeError) -> Option<&StatementError> {
    match e {
        EnvelopeError::Statement(s) => Some(s),
        _ => None,
    }
}

/// Refused as a malformed envelope, for `why`.
fn malformed(e: &EnvelopeError, why: &str) -> bool {
    matches!(e, EnvelopeError::Malformed(m) if m == why)
}

/// Refused for the shape of the `key.announce` body, for `why`.
fn body_shape(e: &EnvelopeError, why: &str) -> bool {
    matches!(
        statement_error(e),
        Some(StatementError::BodyShape { kind: Kind::KeyAnnounce, source }) if source.to_string() == why
    )
}

/// Refused for the timestamp `time`, which is not RFC 3339 UTC.
fn timestamp(e: &EnvelopeError, time: &str) -> bool {
    let said = format!("timestamp \"{time}\" is not RFC 3339 UTC");
    matches!(
        statement_error(e),
        Some(StatementError::Shape(s)) if s.to_string().starts_with(&said)
    )
}

/// Envelopes every verifier must refuse, with the reason, and the error
/// this implementation refuses each with (so that each is refused for its
/// own reason, not for another fault the change happened to make).
fn failures() -> Vec<(&'static str, &'static str, Refusal, Value)> {
    let good = fixtures::envelopes().remove(0);
    let payload = String::from_utf8(good.payload().to_vec()).expect("UTF-8");
    let signed = |p: String| Envelope::sign_payload(&key(1), p.into_bytes()).to_dsse();
    let mut out = vec![];
    let mut dsse = |name, why, refusal: Refusal, d: kaitiaki_protocol::envelope::Dsse| {
        out.push((
            name,
            why,
            refusal,
            serde_json::to_value(d).expect("serialisable"),
        ))
    };
    let mut flipped = good.to_dsse();
    let mut sig = STANDARD.decode(&flipped.signatures[0].sig).expect("b64");
    sig[0] ^= 1;
    flipped.signatures[0].sig = STANDARD.encode(&sig);
    dsse(
        "fail_bad_signature",
        "signature does not verify",
        |e| matches!(e, EnvelopeError::BadSignature(k) if **k == public(1)),
        flipped,
    );
    let mut wrong_type = good.to_dsse();
    wrong_type.payload_type = "application/vnd.in-toto+json".into();
    dsse(
        "fail_wrong_payload_type",
        "payloadType is not the Kaitiaki statement type",
        |e| malformed(e, "payloadType is not the Kaitiaki statement type"),
        wrong_type,
    );
    let mut other_key = good.to_dsse();
    other_key.signatures[0].keyid = public(2).to_hex();
    dsse(
        "fail_wrong_keyid",
        "signature does not verify for the named key",
        |e| matches!(e, EnvelopeError::BadSignature(k) if **k == public(2)),
        other_key,
    );
    let mut weak = good.to_dsse();
    weak.signatures[0].keyid = format!("01{}", "00".repeat(31));
    dsse(
        "fail_weak_key",
        "small-order public key",
        |e| {
            malformed(
                e,
                "keyid: the public key is weak (small order) and is not accepted",
            )
        },
        weak,
    );
    let mut spelled = good.to_dsse();
    spelled.signatures[0].keyid = fixtures::NON_CANONICAL_KEY.into();
    dsse(
        "fail_key_not_canonical",
        "a public key whose y coordinate is written as p or more",
        |e| {
            malformed(
                e,
                "keyid: the public key is not in its canonical encoding (its y coordinate is not below p)",
            )
        },
        spelled,
    );
    let small_r = Envelope::from_parts(
        *good.author(),
        fixtures::small_order_r_signature(1, &pae(STATEMENT_PAYLOAD_TYPE, good.payload())),
        good.payload().to_vec(),
    );
    dsse(
        "fail_small_order_r",
        "a signature whose R has small order (valid only under the lenient rules)",
        |e| matches!(e, EnvelopeError::BadSignature(k) if **k == public(1)),
        small_r.to_dsse(),
    );
    let mut two = good.to_dsse();
    two.signatures.push(two.signatures[0].clone());
    dsse(
        "fail_two_signatures",
        "exactly one signature",
        |e| malformed(e, "a statement carries exactly one signature"),
        two,
    );
    dsse(
        "fail_duplicate_key",
        "duplicate member in the payload",
        |e| {
            matches!(
                statement_error(e),
                Some(StatementError::Json(JsonError::Syntax(s))) if s.to_string().starts_with("duplicate key \"network\"")
            )
        },
        signed(payload.replacen("{\"network\"", "{\"network\":\"other\",\"network\"", 1)),
    );
    dsse(
        "fail_unknown_field",
        "unknown member",
        |e| {
            body_shape(
                e,
                "nickname: unknown field `nickname`, expected `display_name` or `affiliation`",
            )
        },
        signed(payload.replacen("\"display_name\"", "\"nickname\":\"x\",\"display_name\"", 1)),
    );
    dsse(
        "fail_trailing_bytes",
        "bytes after the object",
        |e| {
            matches!(
                statement_error(e),
                Some(StatementError::Json(JsonError::Padding))
            )
        },
        signed(format!("{payload}\n")),
    );
    dsse(
        "fail_trailing_garbage",
        "a byte after the object that is not white space",
        |e| {
            matches!(
                statement_error(e),
                Some(StatementError::Json(JsonError::Syntax(s))) if s.to_string().starts_with("trailing characters")
            )
        },
        signed(format!("{payload}x")),
    );
    dsse(
        "fail_wrong_type",
        "affiliation must be a string",
        |e| {
            body_shape(
                e,
                "affiliation: invalid type: integer `1`, expected a string",
            )
        },
        signed(payload.replacen("\"affiliation\":\"Ngāti Example\"", "\"affiliation\":1", 1)),
    );
    dsse(
        "fail_body_as_array",
        "the body is an object, never an array of its members' values",
        |e| body_shape(e, "the value: must be a JSON object"),
        signed(payload.replacen(
            "{\"affiliation\":\"Ngāti Example\",\"display_name\":\"Aroha Example\"}",
            "[\"Ngāti Example\",\"Aroha Example\"]",
            1,
        )),
    );
    dsse(
        "fail_leap_second",
        "no time has a 60th second",
        |e| timestamp(e, "2026-11-01T00:00:60Z"),
        signed(payload.replacen(":00Z\"", ":60Z\"", 1)),
    );
    dsse(
        "fail_unknown_kind",
        "no such kind",
        |e| {
            matches!(
                statement_error(e),
                Some(StatementError::UnknownKind(k)) if k == "key.denounce"
            )
        },
        signed(payload.replacen("key.announce", "key.denounce", 1)),
    );
    dsse(
        "fail_time_offset",
        "created_at must be UTC with Z",
        |e| timestamp(e, "2026-11-01T00:00:00+13:00"),
        signed(payload.replacen("Z\"", "+13:00\"", 1)),
    );
    let other_author = {
        let (_, mut s) = fixtures::statements().remove(0);
        s.author = public(2);
        String::from_utf8(s.encode().expect("valid")).expect("UTF-8")
    };
    dsse(
        "fail_author_mismatch",
        "payload author is not the signer",
        |e| {
            matches!(
                e,
                EnvelopeError::AuthorMismatch { payload, signer }
                    if **payload == public(2) && **signer == public(1)
            )
        },
        signed(other_author),
    );
    out
}

#[test]
fn failure_vectors_match_and_are_refused() {
    let dir = vectors_dir().join("statement");
    let good = fixtures::envelopes().remove(0).to_dsse();
    for (name, why, refused_as_expected, dsse) in failures() {
        let bytes = serde_json::to_vec(&dsse).expect("serialisable");
        assert_ne!(
            serde_json::to_value(&good).expect("serialisable"),
            dsse,
            "{name}: the change did not apply"
        );
        let opened = Envelope::from_dsse_json(&bytes).and_then(|e| e.open());
        let err = opened
            .err()
            .unwrap_or_else(|| panic!("{name} was accepted"));
        assert!(
            refused_as_expected(&err),
            "{name} ({why}) was refused for another reason: {err:?}"
        );
        check_file(
            &dir.join(format!("{name}.json")),
            &json!({ "reason": why, "dsse": dsse }),
        );
    }
}

#[test]
fn log_vectors_match_and_verify() {
    let leaves: Vec<Leaf> = fixtures::envelopes()
        .into_iter()
        .enumerate()
        .map(|(i, env)| Leaf::new(at(100 + i as i64), env))
        .collect();
    assert!(leaves.len() >= 12);
    let mut tree = MemoryTree::new();
    let mut leaf_json = vec![];
    let mut roots =
        vec![json!({ "size": 0, "root": merkle::root(&tree, 0).expect("empty").to_hex() })];
    for leaf in &leaves {
        let bytes = leaf.to_bytes();
        tree.append(&bytes);
        leaf_json.push(json!({ "leaf_hex": hex::encode(&bytes), "leaf_hash": merkle::leaf_hash(&bytes).to_hex() }));
        let size = tree.size();
        roots.push(
            json!({ "size": size, "root": merkle::root(&tree, size).expect("root").to_hex() }),
        );
    }
    let n = tree.size();
    let hexes = |p: Vec<Hash>| p.iter().map(Hash::to_hex).collect::<Vec<_>>();
    let mut inclusion = vec![];
    for size in [1, 7, 12, 16, n] {
        for index in 0..size {
            let proof = merkle::inclusion_proof(&tree, index, size).expect("in range");
            let root = merkle::root(&tree, size).expect("root");
            merkle::verify_inclusion(&leaves[index as usize].hash(), index, size, &proof, &root)
                .expect("verifies");
            inclusion.push(json!({ "index": index, "size": size, "proof": hexes(proof) }));
        }
    }
    let mut consistency = vec![];
    for (old, new) in [
        (1, 2),
        (1, n),
        (3, 7),
        (4, 8),
        (5, 12),
        (7, 16),
        (12, n),
        (16, n),
        (n, n),
    ] {
        let proof = merkle::consistency_proof(&tree, old, new).expect("in range");
        let (r1, r2) = (
            merkle::root(&tree, old).expect("root"),
            merkle::root(&tree, new).expect("root"),
        );
        merkle::verify_consistency(old, new, &r1, &r2, &proof).expect("verifies");
        consistency.push(json!({ "old_size": old, "new_size": new, "proof": hexes(proof) }));
    }
    let value = json!({
        "description": "The statements of protocol/vectors/statement as a log: leaf i sequenced at 2026-11-01T01:40:00Z plus i minutes.",
        "leaves": leaf_json,
        "roots": roots,
        "inclusion": inclusion,
        "consistency": consistency,
    });
    check_file(&vectors_dir().join("log").join("log.json"), &value);
}
