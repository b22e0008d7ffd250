//! Confidential attachments: uploaded only against a commitment, served
//! only to members of the readers body through a signed request, erasable.

use kaitiaki_node::api::attachments::sign_request;
use kaitiaki_protocol::statement::AttachmentCommit;
use kaitiaki_protocol::{Body, ContentHash, Timestamp};

use crate::governance::{env, ok, setting, Cast};
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

    ok(
        &node,
        env(
            &c.researcher,
            Body::AttachmentCommit(AttachmentCommit {
                subject: req,
                readers: board,
                content_hash: hash,
                size: secret.len() as u64,
                media_type: "text/plain".into(),
                description: "Notes from the hui".into(),
            }),
        ),
    )
    .await;

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
