//! Confidential attachments: uploaded only against a commitment, served
//! only to members of the readers body through a signed request, erasable.

use kaitiaki_node::api::attachments::sign_request;
use kaitiaki_protocol::statement::AttachmentCommit;
use kaitiaki_protocol::{Body, ContentHash, StatementId, Timestamp};

use crate::governance::{charter, env, ok, refused, setting, Cast};
use crate::recovery::spawn_crash_child;
use crate::support::{now, tempdir, TestNode, ORIGIN};

#[tokio::test]
async fn only_members_of_the_readers_body_read_an_attachment() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let c = Cast::new();
    let (board, _data, req) = setting(&node, &c).await;

    let secret = b"Korero tuku iho: kept for the board only.".to_vec();
    let hash = ContentHash::of(&secret);
    let path = format!("/v1/attachments/{hash}");

    // Nothing can be uploaded before it is committed to.
    let r = node
        .http
        .put(node.at(&path))
        .body(secret.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    commit(&node, &c, (board, req), &secret).await;

    let r = node
        .http
        .put(node.at(&path))
        .body(b"other bytes".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = node
        .http
        .put(node.at(&path))
        .body(secret.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = node
        .http
        .put(node.at(&path))
        .body(secret.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let get = |header: Option<String>| {
        let mut req = node.http.get(node.at(&path));
        if let Some(h) = header {
            req = req.header("kaitiaki-signature", h);
        }
        req.send()
    };
    let r = get(None).await.unwrap();
    assert_eq!(r.status(), 401);
    let r = get(Some(sign_request(
        &c.researcher,
        ORIGIN,
        "GET",
        &path,
        now(),
    )))
    .await
    .unwrap();
    assert_eq!(r.status(), 403, "the researcher is not on the board");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "forbidden");
    let said = body["message"].as_str().unwrap();
    assert!(
        said.contains("this attachment's readers, may read it"),
        "{said}"
    );
    let stale = Timestamp::from_unix_millis(now().unix_millis() - 3_600_000).unwrap();
    let r = get(Some(sign_request(&c.mere, ORIGIN, "GET", &path, stale)))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "stale_request");
    let r = get(Some(sign_request(
        &c.mere,
        "another.example",
        "GET",
        &path,
        now(),
    )))
    .await
    .unwrap();
    assert_eq!(
        r.status(),
        401,
        "a request signed for another node does not verify here"
    );
    let r = get(Some(sign_request(&c.mere, ORIGIN, "GET", &path, now())))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), secret.as_slice());
    // White space around names and values is ignored, as PROTOCOL.md says.
    let spaced = sign_request(&c.mere, ORIGIN, "GET", &path, now())
        .replace("key=", " key = ")
        .replace("time=", "time =\t")
        .replace("sig=", "sig= ");
    let r = get(Some(spaced)).await.unwrap();
    assert_eq!(r.status(), 200);
    // A header that is there but not text is not called missing.
    let r = node
        .http
        .get(node.at(&path))
        .header(
            "kaitiaki-signature",
            reqwest::header::HeaderValue::from_bytes(b"key=\xc3\xa9").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    let said = body["message"].as_str().unwrap();
    assert!(said.contains("must be plain ASCII"), "{said}");

    // A read signature does not erase; an erase signature does.
    let del = |h: String| {
        node.http
            .delete(node.at(&path))
            .header("kaitiaki-signature", h)
            .send()
    };
    let r = del(sign_request(&c.mere, ORIGIN, "GET", &path, now()))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = del(sign_request(&c.mere, ORIGIN, "DELETE", &path, now()))
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = get(Some(sign_request(&c.aroha, ORIGIN, "GET", &path, now())))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    node.stop().await;
}

/// Nobody can name themselves readers of a file someone else committed, a
/// revoked key reads nothing, and an erasure is not undone by whoever
/// still holds the bytes.
#[tokio::test]
async fn nobody_takes_over_keeps_reading_or_revives_an_attachment() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let c = Cast::new();
    let (board, _data, req) = setting(&node, &c).await;
    let secret = b"Whakapapa notes, for the board alone.".to_vec();
    let path = format!("/v1/attachments/{}", ContentHash::of(&secret));
    commit(&node, &c, (board, req), &secret).await;
    let put = |body: Vec<u8>, signer: Option<&ed25519_dalek::SigningKey>| {
        let mut r = node.http.put(node.at(&path)).body(body);
        if let Some(k) = signer {
            r = r.header(
                "kaitiaki-signature",
                sign_request(k, ORIGIN, "PUT", &path, now()),
            );
        }
        r.send()
    };
    assert_eq!(put(secret.clone(), None).await.unwrap().status(), 201);

    // Mallory founds a body of her own and commits to the same hash, with
    // her body as readers: refused, and she reads nothing.
    let mallory = crate::support::key(666);
    let hers = ok(&node, env(&mallory, charter(ORIGIN, &[&mallory]))).await;
    let takeover = env(
        &mallory,
        Body::AttachmentCommit(AttachmentCommit {
            subject: hers,
            readers: hers,
            content_hash: ContentHash::of(&secret),
            size: secret.len() as u64,
            media_type: "text/plain".into(),
            description: "Mine now".into(),
        }),
    );
    refused(&node, takeover, 409, "attachment_already_committed").await;
    // Nor may she attach a file to a statement of someone else's: a
    // matter of who may, so 403.
    let other = b"Not hers to attach.".to_vec();
    let foreign = env(
        &mallory,
        Body::AttachmentCommit(AttachmentCommit {
            subject: req,
            readers: hers,
            content_hash: ContentHash::of(&other),
            size: other.len() as u64,
            media_type: "text/plain".into(),
            description: "Attached to another's request".into(),
        }),
    );
    refused(&node, foreign, 403, "not_author").await;
    let read = |k: &ed25519_dalek::SigningKey| {
        node.http
            .get(node.at(&path))
            .header(
                "kaitiaki-signature",
                sign_request(k, ORIGIN, "GET", &path, now()),
            )
            .send()
    };
    assert_eq!(read(&mallory).await.unwrap().status(), 403);
    assert_eq!(read(&c.mere).await.unwrap().status(), 200);

    // Mere's key is stolen and she revokes it: it reads nothing more.
    ok(
        &node,
        env(
            &c.mere,
            Body::KeyRevoke(kaitiaki_protocol::statement::KeyRevoke {
                reason: "Laptop stolen.".into(),
            }),
        ),
    )
    .await;
    assert_eq!(read(&c.mere).await.unwrap().status(), 403);
    assert_eq!(read(&c.aroha).await.unwrap().status(), 200);

    // Aroha erases it. The bytes come back only from a reader.
    let r = node
        .http
        .delete(node.at(&path))
        .header(
            "kaitiaki-signature",
            sign_request(&c.aroha, ORIGIN, "DELETE", &path, now()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(put(secret.clone(), None).await.unwrap().status(), 401);
    let r = put(secret.clone(), Some(&c.researcher)).await.unwrap();
    assert_eq!(r.status(), 403);
    let said = r.json::<serde_json::Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        said.contains("may upload it again after its erasure"),
        "{said}"
    );
    assert_eq!(read(&c.aroha).await.unwrap().status(), 404);
    assert_eq!(
        put(secret.clone(), Some(&c.aroha)).await.unwrap().status(),
        201
    );
    assert_eq!(read(&c.aroha).await.unwrap().status(), 200);
    node.stop().await;
}

/// A node in `dir` holding a committed (not yet uploaded) attachment of
/// `bytes` for the board, stopped; the attachment's path.
async fn committed(dir: &std::path::Path, c: &Cast, bytes: &[u8]) -> String {
    let node = TestNode::start(dir).await;
    let (board, _data, req) = setting(&node, c).await;
    commit(&node, c, (board, req), bytes).await;
    node.stop().await;
    format!("/v1/attachments/{}", ContentHash::of(bytes))
}

/// The researcher commits to an attachment of `bytes` on request `req`,
/// readable by `board`.
async fn commit(node: &TestNode, c: &Cast, (board, req): (StatementId, StatementId), bytes: &[u8]) {
    ok(
        node,
        env(
            &c.researcher,
            Body::AttachmentCommit(AttachmentCommit {
                subject: req,
                readers: board,
                content_hash: ContentHash::of(bytes),
                size: bytes.len() as u64,
                media_type: "text/plain".into(),
                description: "Notes from the hui".into(),
            }),
        ),
    )
    .await;
}

/// Reads the attachment at `path` as a board member: its status and bytes.
async fn read_as_member(node: &TestNode, c: &Cast, path: &str) -> (u16, Vec<u8>) {
    let r = node
        .http
        .get(node.at(path))
        .header(
            "kaitiaki-signature",
            sign_request(&c.mere, ORIGIN, "GET", path, now()),
        )
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

/// An acknowledged upload survives the node being killed at once, and an
/// interrupted one leaves nothing half-written behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_upload_survives_a_crash() {
    let dir = tempdir();
    let c = Cast::new();
    let secret = b"Whakapapa notes: for the board's eyes only.".repeat(1000);
    let path = committed(dir.path(), &c, &secret).await;

    let (mut child, port) = spawn_crash_child(dir.path()).await;
    let r = reqwest::Client::new()
        .put(format!("http://127.0.0.1:{port}{path}"))
        .body(secret.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // Killed the moment it answered, before any periodic flush.
    child.kill().unwrap();
    child.wait().unwrap();
    let left = dir.path().join("attachments").join(".upload-interrupted");
    std::fs::write(&left, &secret[..100]).unwrap();

    let node = TestNode::start(dir.path()).await;
    let (status, bytes) = read_as_member(&node, &c, &path).await;
    assert_eq!(status, 200, "the acknowledged upload was lost");
    assert_eq!(bytes, secret);
    assert!(
        !left.exists(),
        "an interrupted upload is removed at start-up"
    );
    node.stop().await;
}

/// Attachment bytes an earlier version kept in the database move to their
/// files at start-up, and are served from there.
#[tokio::test]
async fn attachments_kept_in_the_database_move_to_files() {
    let dir = tempdir();
    let c = Cast::new();
    let secret = b"Uploaded before attachments had files of their own.".to_vec();
    let path = committed(dir.path(), &c, &secret).await;
    {
        let db = old_db(dir.path());
        let old = db.open_tree("attachment_blobs").unwrap();
        old.insert(ContentHash::of(&secret).as_bytes(), secret.as_slice())
            .unwrap();
        db.flush().unwrap();
    }

    let node = TestNode::start(dir.path()).await;
    let (status, bytes) = read_as_member(&node, &c, &path).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, secret);
    node.stop().await;
    let file = attachment_file(dir.path(), &secret);
    assert_eq!(std::fs::read(file).unwrap(), secret);
    let db = old_db(dir.path());
    assert!(
        !db.tree_names()
            .iter()
            .any(|n| n.as_ref() == b"attachment_blobs"),
        "the old tree is dropped once its bytes are in files"
    );
}

/// Where a node in `dir` keeps the attachment of `bytes`.
fn attachment_file(dir: &std::path::Path, bytes: &[u8]) -> std::path::PathBuf {
    dir.join("attachments")
        .join(ContentHash::of(bytes).to_hex())
}

/// The node's sled database, opened as the node opens it.
fn old_db(dir: &std::path::Path) -> sled::Db {
    sled::Config::new()
        .path(dir.join("db"))
        .segment_size(8 << 20)
        .open()
        .unwrap()
}

/// A stored file whose bytes were damaged is not served, and an upload of
/// the committed bytes replaces it.
#[tokio::test]
async fn a_damaged_file_is_refused_and_a_matching_upload_repairs_it() {
    let dir = tempdir();
    let c = Cast::new();
    let secret = b"Minutes of the hui, kept for the board.".to_vec();
    let path = committed(dir.path(), &c, &secret).await;
    let node = TestNode::start(dir.path()).await;
    let put = || node.http.put(node.at(&path)).body(secret.clone()).send();
    assert_eq!(put().await.unwrap().status(), 201);
    assert_eq!(put().await.unwrap().status(), 200, "already stored");

    let file = attachment_file(dir.path(), &secret);
    let mut damaged = secret.clone();
    damaged[3] ^= 0x20;
    std::fs::write(&file, &damaged).unwrap();
    let (status, body) = read_as_member(&node, &c, &path).await;
    assert_eq!(status, 500, "damaged bytes are not served");
    assert!(!String::from_utf8_lossy(&body).contains("hui"));

    assert_eq!(put().await.unwrap().status(), 201, "the upload replaced it");
    let (status, bytes) = read_as_member(&node, &c, &path).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, secret);
    node.stop().await;
}
