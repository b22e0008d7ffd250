//! Reading the log: pages of leaves, statements with inclusion proofs that
//! verify, consistency proofs that verify, and stored checkpoints.

use kaitiaki_protocol::merkle::{verify_consistency, verify_inclusion};
use kaitiaki_protocol::note::Note;
use kaitiaki_protocol::Hash;
use serde_json::Value;

use crate::support::{announce, tempdir, TestNode, ORIGIN};

fn hash(v: &Value) -> Hash {
    Hash::from_hex(v.as_str().unwrap()).unwrap()
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(hash).collect()
}

#[tokio::test]
async fn leaves_statements_and_proofs_verify() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let (_, empty) = node.get("/v1/checkpoint").await;
    assert_eq!(empty["size"], 0);
    let mut ids = Vec::new();
    for i in 0..13 {
        let env = announce(i, "read");
        node.post(&env).await;
        ids.push(env.id().to_hex());
    }

    let (status, c) = node.get("/v1/checkpoint").await;
    assert_eq!(status, 200);
    assert_eq!(c["size"], 13);
    assert_eq!(c["origin"], ORIGIN);
    let note = Note::parse(c["note"].as_str().unwrap().as_bytes()).unwrap();
    assert!(note.text().starts_with(&format!("{ORIGIN}\n13\n")));
    let text = node.text("/v1/checkpoint/note").await;
    assert_eq!(text, c["note"].as_str().unwrap());
    let root = hash(&c["root"]);

    let (_, page) = node.get("/v1/leaves?start=10&limit=5").await;
    let leaves = page["leaves"].as_array().unwrap();
    assert_eq!(leaves.len(), 3);
    assert_eq!(leaves[0]["index"], 10);
    assert_eq!(leaves[0]["id"], ids[10]);
    assert_eq!(page["next"], Value::Null);
    let (_, page) = node.get("/v1/leaves?limit=4").await;
    assert_eq!(page["next"], 4);

    for (i, id) in ids.iter().enumerate() {
        let (status, s) = node.get(&format!("/v1/statements/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(s["index"], i as u64);
        assert_eq!(s["statement"]["kind"], "key.announce");
        assert_eq!(s["proof"]["size"], 13);
        verify_inclusion(
            &hash(&s["leaf_hash"]),
            i as u64,
            13,
            &hashes(&s["proof"]["hashes"]),
            &root,
        )
        .unwrap();
    }
    let (status, _) = node
        .get(&format!("/v1/statements/{}", "ab".repeat(32)))
        .await;
    assert_eq!(status, 404);

    for old in 1..13 {
        let (status, p) = node.get(&format!("/v1/proofs/consistency?old={old}")).await;
        assert_eq!(status, 200, "{p}");
        verify_consistency(old, 13, &hash(&p["old_root"]), &root, &hashes(&p["hashes"])).unwrap();
        let stored = node
            .http
            .get(node.at(&format!("/v1/checkpoints/{old}")))
            .send()
            .await
            .unwrap();
        // Sizes signed depend on how writes were batched; any stored one matches its root.
        if stored.status() == 200 {
            let text = stored.text().await.unwrap();
            assert!(text.contains(&hash(&p["old_root"]).to_base64()));
        }
    }
    let (status, p) = node.get("/v1/proofs/inclusion?index=3&size=7").await;
    assert_eq!(status, 200);
    assert_eq!(p["hashes"].as_array().unwrap().len(), 3);
    let (status, e) = node.get("/v1/proofs/consistency?old=9&new=4").await;
    assert_eq!((status, e["code"].as_str()), (400, Some("malformed")));
    let (status, _) = node.get("/v1/proofs/consistency?old=1&new=99").await;
    assert_eq!(status, 400);
    let (status, _) = node.get("/v1/checkpoints/99").await;
    assert_eq!(status, 404);
    // A size has one spelling: no sign, no leading zeros, no overflow.
    for odd in ["+1", "01", "-1", "1.0", "18446744073709551616"] {
        let (status, e) = node.get(&format!("/v1/checkpoints/{odd}")).await;
        assert_eq!(
            (status, e["code"].as_str()),
            (400, Some("malformed")),
            "{odd}: {e}"
        );
    }
    // The empty log's checkpoint is kept from the first start.
    let r = node
        .http
        .get(node.at("/v1/checkpoints/0"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "0 is a size");
    assert!(
        r.text().await.unwrap().contains("\n0\n"),
        "a checkpoint of size 0"
    );
    node.stop().await;
}

/// Large leaves: one `/v1/leaves/raw` answer stops once it passes its size
/// cap, with the leaves in order and whole, and asking again from where
/// it ended gives the rest.
#[tokio::test]
async fn raw_leaves_stop_at_the_answers_size_cap() {
    use kaitiaki_node::api::federation::MAX_RAW_BYTES;
    use kaitiaki_protocol::statement::KeyRevoke;
    use kaitiaki_protocol::Body;
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    // Each statement is about 32 KiB (8 000 four-byte characters).
    let n = (MAX_RAW_BYTES / (32 << 10)) as u64 + 20;
    for i in 0..n {
        let env = crate::support::sign_for(
            crate::support::NETWORK,
            &crate::support::key(1000 + i),
            Body::KeyRevoke(KeyRevoke {
                reason: "🌿".repeat(8_000),
            }),
        );
        let (status, reply) = node.post(&env).await;
        assert_eq!(status, 201, "{reply}");
    }
    let size = node.get("/v1/checkpoint").await.1["size"].as_u64().unwrap();
    assert_eq!(size, n);

    let mut leaves = Vec::new();
    let mut answers = 0;
    while (leaves.len() as u64) < size {
        let at = leaves.len();
        let body = node
            .http
            .get(node.at(&format!("/v1/leaves/raw?start={at}&limit=4096")))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let mut rest = &body[..];
        let mut got = 0;
        while !rest.is_empty() {
            let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            leaves.push(rest[4..4 + len].to_vec());
            rest = &rest[4 + len..];
            got += 1;
        }
        assert!(got > 0, "an answer from {at} carried no leaf");
        assert!(
            body.len() <= MAX_RAW_BYTES + 4 * got,
            "{} bytes in one answer",
            body.len()
        );
        answers += 1;
    }
    assert!(answers >= 2, "one answer carried all {size} leaves");
    // Every leaf came once, in order: each is the statement at its index.
    for (i, bytes) in leaves.iter().enumerate() {
        let leaf = kaitiaki_protocol::Leaf::from_bytes(bytes).unwrap();
        let id = leaf.envelope().id().to_hex();
        let v = node.get(&format!("/v1/statements/{id}")).await.1;
        assert_eq!(v["index"].as_u64(), Some(i as u64), "{v}");
    }
    node.stop().await;
}
