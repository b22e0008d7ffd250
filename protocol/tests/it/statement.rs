//! Statements and envelopes: round trips, strictness, and never panicking.

use kaitiaki_protocol::envelope::{pae, EnvelopeError, STATEMENT_PAYLOAD_TYPE};
use kaitiaki_protocol::statement::{Kind, Statement, StatementError};
use kaitiaki_protocol::{Envelope, Leaf, PublicKey, Signature};
use proptest::prelude::*;

use crate::fixtures::{self, key, public, NETWORK};

#[test]
fn fixtures_cover_every_kind_once() {
    let kinds: Vec<Kind> = fixtures::statements()
        .iter()
        .map(|(_, s)| s.kind())
        .collect();
    assert_eq!(kinds, Kind::ALL.to_vec());
}

#[test]
fn every_kind_round_trips_through_every_form() {
    for env in fixtures::envelopes() {
        let verified = env.clone().open().expect("fixture opens");
        assert_eq!(
            verified.statement().encode().unwrap(),
            env.payload(),
            "encode(decode(p)) == p"
        );
        assert_eq!(Envelope::from_bytes(&env.to_bytes()).unwrap(), env);
        assert_eq!(Envelope::from_dsse(&env.to_dsse()).unwrap(), env);
        let dsse_json = serde_json::to_vec(&env.to_dsse()).unwrap();
        assert_eq!(Envelope::from_dsse_json(&dsse_json).unwrap(), env);
        let leaf = Leaf::new(fixtures::at(5), env.clone());
        assert_eq!(Leaf::from_bytes(&leaf.to_bytes()).unwrap(), leaf);
        assert_eq!(verified.id(), env.id());
    }
}

#[test]
fn the_signature_covers_the_pae_of_the_payload() {
    let env = &fixtures::envelopes()[0];
    let message = pae(STATEMENT_PAYLOAD_TYPE, env.payload());
    assert!(message.starts_with(b"DSSEv1 42 application/vnd.kaitiaki.statement.v1+json "));
    env.author()
        .verify(&message, env.signature())
        .expect("signature over PAE");
}

/// Signs `payload` as it is and asks whether it opens.
fn open_raw(payload: &[u8]) -> Result<(), EnvelopeError> {
    Envelope::sign_payload(&key(1), payload.to_vec())
        .open()
        .map(|_| ())
}

fn valid_payload() -> String {
    String::from_utf8(fixtures::envelopes()[0].payload().to_vec()).unwrap()
}

/// The payload with its author key spelled in upper-case hex: the same
/// key, so without the lowercase rule the same statement under a new id.
fn upper_case_author(payload: &str) -> String {
    let at = payload.find("\"author\":\"").expect("an author") + 10;
    let key = &payload[at..at + 64];
    assert!(
        key.bytes().any(|b| b.is_ascii_lowercase()),
        "the key has letters"
    );
    format!(
        "{}{}{}",
        &payload[..at],
        key.to_ascii_uppercase(),
        &payload[at + 64..]
    )
}

#[test]
fn strict_parsing_refuses_what_two_readers_could_read_differently() {
    let good = valid_payload();
    assert!(open_raw(good.as_bytes()).is_ok());
    let cases: Vec<(&str, String)> = vec![
        (
            "duplicate key",
            good.replacen("{\"network\"", "{\"network\":\"x\",\"network\"", 1),
        ),
        (
            "duplicate nested key",
            good.replacen(
                "\"display_name\"",
                "\"display_name\":\"x\",\"display_name\"",
                1,
            ),
        ),
        (
            "unknown outer field",
            good.replacen("{\"network\"", "{\"extra\":1,\"network\"", 1),
        ),
        (
            "unknown body field",
            good.replacen("\"display_name\"", "\"extra\":1,\"display_name\"", 1),
        ),
        ("trailing bytes", format!("{good}x")),
        ("trailing white space", format!("{good}\n")),
        ("leading white space", format!(" {good}")),
        (
            "wrong type",
            good.replacen("\"affiliation\":\"Ngāti Example\"", "\"affiliation\":7", 1),
        ),
        (
            "unknown kind",
            good.replacen("key.announce", "key.anounce", 1),
        ),
        ("other time zone", good.replacen("Z\"", "+00:00\"", 1)),
        (
            "control character",
            good.replacen("Aroha", "Aro\\u0007ha", 1),
        ),
        ("empty name", good.replacen("Aroha Example", "  ", 1)),
        ("bad network", good.replacen(NETWORK, "Vectors Example", 1)),
        ("upper-case key", upper_case_author(&good)),
    ];
    for (what, payload) in cases {
        assert_ne!(payload, good, "{what}: the mutation did not apply");
        let err = open_raw(payload.as_bytes()).expect_err(what);
        assert!(matches!(err, EnvelopeError::Statement(_)), "{what}: {err}");
    }
}

/// The payload of the fixture of `kind`, as a JSON value to change.
fn payload_of(kind: &str) -> serde_json::Value {
    let env = fixtures::envelopes()
        .into_iter()
        .find(|e| e.clone().open().unwrap().statement().kind().name() == kind)
        .expect("a fixture of every kind");
    serde_json::from_slice(env.payload()).unwrap()
}

fn decode_value(v: &serde_json::Value) -> Result<Statement, StatementError> {
    Statement::decode(&serde_json::to_vec(v).unwrap())
}

/// serde's readers take a struct, or a tagged enum, from an array of its
/// values, and a field-less tagged variant ignores other members. The
/// protocol reads objects only, and no member its table does not list, so
/// every one of those is refused, wherever it is.
#[test]
fn arrays_never_stand_for_objects_and_unlisted_members_are_refused() {
    use serde_json::json;
    let charter = payload_of("body.charter");
    let vote = payload_of("vote");
    let amend = payload_of("body.amend");
    assert!(decode_value(&charter).is_ok() && decode_value(&vote).is_ok());
    let arrays = |v: &serde_json::Value| -> serde_json::Value {
        v.as_object().unwrap().values().cloned().collect()
    };
    let mut cases: Vec<(&str, serde_json::Value)> = Vec::new();
    cases.push(("the payload as an array", arrays(&charter)));
    let mut c = charter.clone();
    c["body"] = arrays(&charter["body"]);
    cases.push(("the body as an array", c));
    let mut c = charter.clone();
    c["body"]["members"][0] = arrays(&charter["body"]["members"][0]);
    cases.push(("a member as an array", c));
    let mut c = charter.clone();
    c["body"]["rule"] = json!(["threshold", 2]);
    cases.push(("a decision rule as an array", c));
    let mut c = vote.clone();
    c["body"]["conditions"] = json!([["report_every", 6]]);
    cases.push(("a condition as an array", c));
    let mut c = vote.clone();
    c["body"]["conditions"] = json!([{"type": "final_report", "extra": 1}]);
    cases.push(("a member beside a field-less condition", c));
    let mut c = amend.clone();
    c["body"]["rule"] = json!(["majority", 2]);
    cases.push(("an optional rule as an array", c));
    let mut c = charter.clone();
    c["body"]["extra"] = serde_json::Value::Null;
    cases.push(("an unlisted member, null", c));
    for (what, payload) in cases {
        let err = decode_value(&payload).expect_err(what);
        assert!(
            matches!(
                err,
                StatementError::Shape(_) | StatementError::BodyShape { .. }
            ),
            "{what}: {err}"
        );
    }
}

/// Every text and name member of §3.3 keeps its rule, optional ones and
/// those inside lists and conditions included; `add_members` is "as
/// `members`", so no key twice.
#[test]
fn every_text_and_name_keeps_its_rule() {
    use serde_json::json;
    let cases: Vec<(&str, &str, serde_json::Value, &str)> = vec![
        ("body.amend", "description", json!("  "), "body.description"),
        (
            "dataset.register",
            "labels",
            json!([{"code": "TK_A", "text": " "}]),
            "body.labels[0].text",
        ),
        (
            "dataset.register",
            "permitted_uses",
            json!(["DUO:0000042", "two\nlines"]),
            "body.permitted_uses[1]",
        ),
        (
            "dataset.register",
            "excluded_uses",
            json!([""]),
            "body.excluded_uses[0]",
        ),
        ("request.submit", "uses", json!(["\t"]), "body.uses[0]"),
        (
            "vote",
            "conditions",
            json!([{"type": "final_report"}, {"type": "no_linkage", "with": ""}]),
            "body.conditions[1].with",
        ),
        (
            "vote",
            "conditions",
            json!([{"type": "acknowledge", "who": " "}]),
            "body.conditions[0].who",
        ),
        (
            "vote",
            "conditions",
            json!([{"type": "other", "text": "\n"}]),
            "body.conditions[0].text",
        ),
        (
            "report.file",
            "incidents",
            json!(["none", " "]),
            "body.incidents[1]",
        ),
        ("output.submit", "link", json!(" "), "body.link"),
        (
            "output.submit",
            "link",
            json!("javascript:alert(1)"),
            "body.link",
        ),
        (
            "output.submit",
            "link",
            json!("data:text/html,<b>hi</b>"),
            "body.link",
        ),
        ("output.submit", "link", json!("https://"), "body.link"),
        (
            "output.submit",
            "link",
            json!("https://x.example/a b"),
            "body.link",
        ),
    ];
    for (kind, member, value, field) in cases {
        let mut p = payload_of(kind);
        p["body"][member] = value;
        match decode_value(&p) {
            Err(StatementError::Limit(e)) => assert_eq!(e.field, field, "{kind}.{member}"),
            other => panic!("{kind}.{member}: {other:?}"),
        }
    }
    for good in ["https://data.example/outputs/7", "HTTP://archive.example"] {
        let mut p = payload_of("output.submit");
        p["body"]["link"] = json!(good);
        decode_value(&p).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    let mut p = payload_of("body.amend");
    let member = json!({"key": public(9).to_hex(), "role": "member"});
    p["body"]["add_members"] = json!([member, member]);
    match decode_value(&p) {
        Err(StatementError::Limit(e)) => assert_eq!(e.field, "body.add_members[1]"),
        other => panic!("a key twice: {other:?}"),
    }
}

/// The DSSE JSON form is read as objects only, too.
#[test]
fn a_dsse_envelope_is_an_object_of_objects() {
    let env = &fixtures::envelopes()[0];
    let dsse = serde_json::to_value(env.to_dsse()).unwrap();
    let as_array = |v: &serde_json::Value| -> serde_json::Value {
        v.as_object().unwrap().values().cloned().collect()
    };
    let mut signature_as_array = dsse.clone();
    signature_as_array["signatures"][0] = as_array(&dsse["signatures"][0]);
    for (what, v) in [
        ("the envelope as an array", as_array(&dsse)),
        ("a signature as an array", signature_as_array),
    ] {
        let err = Envelope::from_dsse_json(&serde_json::to_vec(&v).unwrap()).expect_err(what);
        assert!(matches!(err, EnvelopeError::Malformed(_)), "{what}: {err}");
    }
    assert!(Envelope::from_dsse_json(&serde_json::to_vec(&dsse).unwrap()).is_ok());
}

/// An optional member given as `null` means the same as the member absent,
/// lists included.
#[test]
fn null_optional_members_mean_absent() {
    let amend = payload_of("body.amend");
    let mut nulls = amend.clone();
    let mut absent = amend.clone();
    for member in ["remove_members", "description"] {
        nulls["body"][member] = serde_json::Value::Null;
        absent["body"].as_object_mut().unwrap().remove(member);
    }
    let (nulls, absent) = (
        decode_value(&nulls).unwrap(),
        decode_value(&absent).unwrap(),
    );
    assert_eq!(nulls, absent);
    let kaitiaki_protocol::Body::BodyAmend(b) = &nulls.body else {
        panic!("an amendment")
    };
    assert!(b.remove_members.is_empty() && b.description.is_none());

    for (kind, member) in [
        ("dataset.register", "labels"),
        ("request.submit", "uses"),
        ("vote", "conditions"),
        ("report.file", "incidents"),
    ] {
        let mut p = payload_of(kind);
        p["body"][member] = serde_json::Value::Null;
        decode_value(&p).unwrap_or_else(|e| panic!("{kind} with {member}: null: {e}"));
    }
    // A required member may not be null.
    let mut p = payload_of("vote");
    p["body"]["reason"] = serde_json::Value::Null;
    // serde refuses it as a string that is null; the error names the member.
    let err = decode_value(&p).unwrap_err();
    assert!(
        matches!(
            &err,
            StatementError::BodyShape {
                kind: Kind::Vote,
                source: kaitiaki_protocol::json::ShapeError::At { at, .. },
            } if at == "reason"
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .ends_with("reason: invalid type: null, expected a string"),
        "{err}"
    );
    // Inside a list too, with the place in it.
    let mut p = payload_of("body.charter");
    p["body"]["members"][0]["role"] = serde_json::Value::Null;
    let err = decode_value(&p).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("members[0].role: invalid type: null, expected a string"),
        "{err}"
    );
}

#[test]
fn the_payload_author_must_be_the_signer() {
    let (_, mut s) = fixtures::statements().remove(0);
    s.author = public(2);
    let payload = s.encode().unwrap();
    let err = Envelope::sign_payload(&key(1), payload).open().unwrap_err();
    assert!(matches!(err, EnvelopeError::AuthorMismatch { .. }), "{err}");
    assert!(Envelope::sign(&key(1), &s).is_err());
}

#[test]
fn a_rotation_needs_the_new_keys_consent() {
    let (seed, mut s) = fixtures::statements().remove(1);
    if let kaitiaki_protocol::Body::KeyRotate(r) = &mut s.body {
        r.new_key = public(10);
    }
    let err = Envelope::sign(&key(seed), &s).unwrap().open().unwrap_err();
    assert!(matches!(err, EnvelopeError::BadRotationProof), "{err}");
}

#[test]
fn signatures_are_verified_strictly() {
    let env = fixtures::envelopes().remove(0);
    // A flipped bit in the signature fails.
    let mut sig = *env.signature().as_bytes();
    sig[10] ^= 1;
    let forged = Envelope::from_parts(
        *env.author(),
        Signature::from_array(sig),
        env.payload().to_vec(),
    );
    assert!(matches!(forged.open(), Err(EnvelopeError::BadSignature(_))));
    // S + L (non-canonical scalar) is refused.
    let mut sig = *env.signature().as_bytes();
    add_group_order(&mut sig[32..]);
    let malleated = Envelope::from_parts(
        *env.author(),
        Signature::from_array(sig),
        env.payload().to_vec(),
    );
    assert!(malleated.open().is_err());
    // The identity point is a weak key and is refused on sight.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(PublicKey::from_bytes(&identity).is_err());
    // A signature whose R has small order satisfies the equation without
    // the cofactor: only the lenient rules accept it.
    let message = pae(STATEMENT_PAYLOAD_TYPE, env.payload());
    let sig = fixtures::small_order_r_signature(1, &message);
    assert!(public(1).verify_lenient(&message, &sig));
    assert!(public(1).verify(&message, &sig).is_err());
    let forged = Envelope::from_parts(*env.author(), sig, env.payload().to_vec());
    assert!(matches!(forged.open(), Err(EnvelopeError::BadSignature(_))));
}

#[test]
fn a_key_has_one_spelling() {
    // y + p names the same point as y = 3, which is a valid key.
    let mut three = [0u8; 32];
    three[0] = 3;
    assert!(PublicKey::from_bytes(&three).is_ok());
    assert_eq!(
        PublicKey::from_hex(fixtures::NON_CANONICAL_KEY).unwrap_err(),
        kaitiaki_protocol::keys::KeyError::NotCanonical
    );
    // Below p, every y with the top bits set is read as written.
    let mut below = hex::decode(fixtures::NON_CANONICAL_KEY).unwrap();
    below[0] = 0xec;
    assert_ne!(
        PublicKey::from_bytes(&below).err(),
        Some(kaitiaki_protocol::keys::KeyError::NotCanonical)
    );
}

/// Adds the Ed25519 group order L to a little-endian scalar in place.
fn add_group_order(s: &mut [u8]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (b, l) in s.iter_mut().zip(L) {
        let sum = u16::from(*b) + u16::from(l) + carry;
        *b = sum as u8;
        carry = sum >> 8;
    }
}

#[test]
fn a_statement_signed_elsewhere_cannot_pass_as_another_payload_type() {
    let env = fixtures::envelopes().remove(0);
    let other = pae("application/vnd.in-toto+json", env.payload());
    assert!(env.author().verify(&other, env.signature()).is_err());
}

#[test]
fn oversize_payloads_are_refused_before_parsing() {
    let big = vec![b' '; kaitiaki_protocol::statement::limits::MAX_PAYLOAD + 1];
    assert!(matches!(
        Statement::decode(&big),
        Err(StatementError::TooLarge(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Statement::decode(&bytes);
        let _ = Envelope::from_bytes(&bytes);
        let _ = Envelope::from_dsse_json(&bytes);
        let _ = Leaf::from_bytes(&bytes);
    }

    #[test]
    fn mutated_envelopes_never_open(index in 0usize..22, at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let env = fixtures::envelopes().swap_remove(index);
        let mut bytes = env.to_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        if let Ok(mutated) = Envelope::from_bytes(&bytes) {
            prop_assert!(mutated.open().is_err(), "a flipped bit at {} still opened", i);
        }
    }

    #[test]
    fn mutated_payloads_are_rejected_or_mean_something_else(index in 0usize..22, at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let (_, original) = fixtures::statements().swap_remove(index);
        let mut payload = original.encode().unwrap();
        let i = at.index(payload.len());
        prop_assume!(payload[i] != byte);
        payload[i] = byte;
        // Either refused, or a different statement whose own encoding is canonical again.
        if let Ok(s) = Statement::decode(&payload) {
            prop_assert_ne!(&s, &original);
            let again = s.encode().unwrap();
            prop_assert_eq!(Statement::decode(&again).unwrap(), s);
        }
    }

    #[test]
    fn encode_decode_encode_is_identity(index in 0usize..22, minutes in 0i64..10_000_000, text in "[a-zA-Z0-9 āēīōū.,]{1,80}") {
        let (_, mut s) = fixtures::statements().swap_remove(index);
        s.created_at = fixtures::at(minutes);
        if let kaitiaki_protocol::Body::KeyAnnounce(b) = &mut s.body {
            b.display_name = format!("x{text}");
        }
        let bytes = s.encode().unwrap();
        let decoded = Statement::decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, &s);
        prop_assert_eq!(decoded.encode().unwrap(), bytes);
    }
}

#[test]
fn the_key_cache_decodes_exactly_what_the_key_parser_does() {
    use kaitiaki_protocol::KeyCache;
    let mut cache = KeyCache::default();
    let leaves: Vec<Vec<u8>> = fixtures::envelopes()
        .into_iter()
        .map(|e| kaitiaki_protocol::Leaf::new(fixtures::at(1), e).to_bytes())
        .collect();
    for bytes in &leaves {
        // Twice: once decoded, once from the cache.
        for _ in 0..2 {
            let cached = kaitiaki_protocol::Leaf::from_bytes_with(bytes, &mut cache).unwrap();
            assert_eq!(cached, kaitiaki_protocol::Leaf::from_bytes(bytes).unwrap());
        }
    }
    let key = *fixtures::envelopes()[0].author();
    assert_eq!(cache.get_hex(&key.to_hex()).unwrap(), key);
    // The same refusals as the parser: upper case, wrong length, not a point.
    assert!(cache.get_hex(&key.to_hex().to_ascii_uppercase()).is_err());
    assert!(cache.get(&key.as_bytes()[..31]).is_err());
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    not_a_point[31] = 0x7f;
    assert_eq!(
        cache.get(&not_a_point).is_err(),
        kaitiaki_protocol::PublicKey::from_bytes(&not_a_point).is_err()
    );
    // Full: it starts afresh and keeps working.
    for i in 0..(KeyCache::CAPACITY + 10) as u32 {
        let mut seed = [1u8; 32];
        seed[..4].copy_from_slice(&i.to_be_bytes());
        let k = ed25519_dalek::SigningKey::from_bytes(&seed);
        let public = kaitiaki_protocol::PublicKey::of(&k);
        assert_eq!(cache.get(public.as_bytes()).unwrap(), public);
    }
}
