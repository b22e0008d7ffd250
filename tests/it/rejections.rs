//! Bad input over real HTTP: each refusal is a 4xx with its stable code, and
//! the log is exactly as it was before.

use ed25519_dalek::SigningKey;
use kaitiaki_protocol::statement::{
    BodyCharter, Choice, DecisionRule, Member, RequestSubmit, UseCategory, Vote,
};
use kaitiaki_protocol::{Body, Envelope, PublicKey, StatementId};

use crate::story::{request, scene, Scene};
use crate::support::{checkpoint, dsse, post, sign, Cli, NodeProc};

/// A key the CLI made, read from its key file.
fn load_key(cli: &Cli, name: &str) -> SigningKey {
    let text = std::fs::read_to_string(cli.home.join("keys").join(format!("{name}.key"))).unwrap();
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text.trim()[2 * i..2 * i + 2], 16).unwrap();
    }
    SigningKey::from_bytes(&seed)
}

fn id(hex: &str) -> StatementId {
    StatementId::from_hex(hex).unwrap()
}

/// Posts `body` and checks the status, the code, and that the log is unchanged.
fn refused(node: &NodeProc, body: Vec<u8>, status: u16, code: &str) {
    let before = checkpoint(&node.url);
    let (got, answer) = post(&format!("{}/v1/statements", node.url), body);
    assert_eq!(got, status, "{answer}");
    assert_eq!(answer["code"], code, "{answer}");
    assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(
        checkpoint(&node.url),
        before,
        "a refused statement changed the log"
    );
}

#[test]
fn bad_input_is_refused_with_its_code_and_changes_nothing() {
    let Scene {
        dir: _dir,
        node,
        cli,
        b,
    } = scene();
    let req = request(&cli, &b.dataset, "A study");
    let researcher = load_key(&cli, "researcher");
    let iwi_chair = load_key(&cli, "iwi-1");
    let vote = |choice| {
        Body::Vote(Vote {
            subject: id(&req),
            body: id(&b.iwi),
            choice,
            conditions: vec![],
            reason: "Because.".into(),
        })
    };

    // Bad signature: a valid statement with one bit of its signature flipped.
    let good = sign(&iwi_chair, vote(Choice::Approve));
    let mut sig = *good.signature().as_bytes();
    sig[10] ^= 0x01;
    let forged = Envelope::from_parts(
        *good.author(),
        kaitiaki_protocol::Signature::from_array(sig),
        good.payload().to_vec(),
    );
    refused(&node, dsse(&forged), 400, "bad_signature");

    // A vote by someone who is not a member of the body.
    refused(
        &node,
        dsse(&sign(&researcher, vote(Choice::Approve))),
        403,
        "not_a_member",
    );

    // A body whose home is another node cannot be founded here.
    let elsewhere = Body::BodyCharter(BodyCharter {
        name: "A board at home elsewhere".into(),
        description: "Its decisions belong on its own node.".into(),
        home_log: "elsewhere.example".into(),
        members: vec![Member {
            key: PublicKey::of(&iwi_chair),
            role: "chair".into(),
        }],
        rule: DecisionRule::Threshold { k: 1 },
        notice_days: 0,
    });
    refused(
        &node,
        dsse(&sign(&iwi_chair, elsewhere)),
        421,
        "wrong_home_log",
    );

    // A request for a use the dataset excludes.
    let excluded = Body::RequestSubmit(RequestSubmit {
        title: "Pricing".into(),
        datasets: vec![id(&b.dataset)],
        purpose: "Price a product.".into(),
        use_category: UseCategory::Commercial,
        uses: vec!["custom:commercial-use".into()],
        duration_days: 30,
        linkage: "none".into(),
        setting: "office".into(),
        people: "analysts".into(),
        community_benefit: "none".into(),
        outputs_plan: "a price list".into(),
    });
    refused(
        &node,
        dsse(&sign(&researcher, excluded)),
        422,
        "excluded_use",
    );

    // A body larger than the node accepts, and a payload over the protocol's limit.
    // Just over the node's 1 MiB limit: small enough that the client has
    // sent it all before the node answers, so the answer is always read.
    let mut huge = b"[".to_vec();
    huge.extend(std::iter::repeat_n(b' ', (1 << 20) + 1024));
    huge.push(b']');
    refused(&node, huge, 413, "payload_too_large");
    let big = Envelope::sign_payload(&researcher, vec![b'x'; 70_000]);
    refused(&node, dsse(&big), 413, "payload_too_large");

    // Malformed JSON, and JSON with a duplicated key.
    refused(&node, br#"{"payloadType":"#.to_vec(), 400, "malformed");
    let text = String::from_utf8(dsse(&good)).unwrap();
    let duplicated = text.replacen('{', r#"{"payload":"e30=","#, 1);
    refused(&node, duplicated.into_bytes(), 400, "malformed");

    // Through the CLI, a refusal exits with status 3 and says what to do.
    let before = checkpoint(&node.url);
    let out = cli.run(&[
        "--key",
        "researcher",
        "vote",
        &req,
        "approve",
        "--body",
        &b.iwi,
        "--reason",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused (not_a_member, HTTP 403)"), "{err}");
    assert!(err.contains("what to do:"), "{err}");
    assert_eq!(checkpoint(&node.url), before);

    // A node that speaks plain HTTP, asked over HTTPS, is named as such.
    let https = node.url.replacen("http://", "https://", 1);
    let out = cli.run(&["--node", &https, "list", "bodies"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("does not speak HTTPS; try --node {}", node.url)),
        "{err}"
    );

    // And the good statement still goes in afterwards.
    let (status, answer) = post(&format!("{}/v1/statements", node.url), dsse(&good));
    assert_eq!(status, 201, "{answer}");
}
