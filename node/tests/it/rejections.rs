//! Bad input gets a clear 4xx with a stable code, and changes nothing.

use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::{announce, key, sign_for, tempdir, TestNode};
use kaitiaki_protocol::statement::KeyAnnounce;
use kaitiaki_protocol::Body;

async fn check(node: &TestNode, body: Vec<u8>, status: u16, code: &str) {
    let before = node.head().await;
    let (got, err) = node.post_raw(body).await;
    assert_eq!(got, status, "{err}");
    assert_eq!(err["code"], code, "{err}");
    assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(node.head().await, before, "a rejection changed the log");
}

#[tokio::test]
async fn bad_input_is_refused_with_its_code_and_the_log_unchanged() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    node.post(&announce(1, "seed")).await;

    // A signature that does not verify: sign, then change the payload.
    let mut dsse = announce(2, "x").to_dsse();
    let other = announce(2, "y").to_dsse();
    dsse.payload = other.payload;
    check(
        &node,
        serde_json::to_vec(&dsse).unwrap(),
        400,
        "bad_signature",
    )
    .await;

    check(&node, b"{not json".to_vec(), 400, "malformed").await;
    check(&node, b"{\"payloadType\":1}".to_vec(), 400, "malformed").await;
    check(&node, Vec::new(), 400, "malformed").await;

    // Duplicate keys are refused (strict JSON), not resolved silently.
    let d = announce(3, "dup").to_dsse();
    let dup = format!(
        r#"{{"payloadType":"{}","payloadType":"{}","payload":"{}","signatures":[{{"keyid":"{}","sig":"{}"}}]}}"#,
        d.payload_type, d.payload_type, d.payload, d.signatures[0].keyid, d.signatures[0].sig
    );
    check(&node, dup.into_bytes(), 400, "malformed").await;

    let foreign = sign_for(
        "another-network",
        &key(4),
        Body::KeyAnnounce(KeyAnnounce {
            display_name: "Elsewhere".into(),
            affiliation: "Another deployment".into(),
        }),
    );
    check(
        &node,
        serde_json::to_vec(&foreign.to_dsse()).unwrap(),
        400,
        "wrong_network",
    )
    .await;

    // A body over the node's limit is refused before it is parsed.
    let huge = vec![b' '; 2 << 20];
    check(&node, huge, 413, "payload_too_large").await;

    // A payload over the protocol's statement limit, correctly signed.
    let big = kaitiaki_protocol::Envelope::sign_payload(&key(5), vec![b'x'; 70 * 1024]);
    let too_big = json!(big.to_dsse());
    check(
        &node,
        serde_json::to_vec(&too_big).unwrap(),
        413,
        "payload_too_large",
    )
    .await;

    // A payload that is not a statement.
    let junk = kaitiaki_protocol::Envelope::sign_payload(&key(5), b"{\"hello\":1}".to_vec());
    check(
        &node,
        serde_json::to_vec(&junk.to_dsse()).unwrap(),
        400,
        "malformed",
    )
    .await;

    // Base64 that is not base64.
    let mut bad64 = announce(6, "b64").to_dsse();
    bad64.signatures[0].sig = "***".into();
    check(&node, serde_json::to_vec(&bad64).unwrap(), 400, "malformed").await;
    let _ = base64::engine::general_purpose::STANDARD.encode(b"");

    node.stop().await;
}

#[tokio::test]
async fn unknown_paths_and_methods_are_json_errors() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let (status, body) = node.get("/v1/nothing-here").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let r = node
        .http
        .delete(node.at("/v1/checkpoint"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let (status, body) = node.get("/v1/statements/not-an-id").await;
    assert_eq!((status, body["code"].as_str()), (400, Some("malformed")));
    let (status, body) = node.get("/v1/leaves?start=x").await;
    assert_eq!((status, body["code"].as_str()), (400, Some("malformed")));

    // Every path and query a handler cannot read is a JSON `malformed`,
    // whichever part of the API it is.
    let unreadable = [
        ("GET", "/v1/leaves/raw"),
        ("GET", "/v1/leaves/raw?start=-1"),
        ("GET", "/v1/mirrors/x.example/leaves/raw"),
        (
            "GET",
            "/v1/mirrors/x.example/proofs/consistency?old=x&new=2",
        ),
        ("POST", "/v1/peers?url=x"),
        ("POST", "/v1/peers?url=http://x&key=y&witness=maybe"),
        ("DELETE", "/v1/peers/%FF/quarantine"),
        ("GET", "/tlog/tile/%FF"),
        ("GET", "/tlog/tile/entries/%FF"),
        ("GET", "/tlog/mirrors/%FF/checkpoint"),
        ("GET", "/tlog/mirrors/x/tile/%FF"),
        ("GET", "/v1/requests?limit=0"),
        ("GET", "/v1/datasets?limit=0"),
    ];
    for (method, path) in unreadable {
        let r = node
            .http
            .request(method.parse().unwrap(), node.at(path))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}"));
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("malformed")),
            "{method} {path}: {body}"
        );
    }

    // A peer's origin that no log can have is refused before any
    // signature is asked for: `a%2Fquarantine` would otherwise sign the
    // same path as lifting the quarantine of `a`.
    for path in [
        "/v1/peers/a%2Fquarantine",
        "/v1/peers/Upper.example",
        "/v1/peers/a%2Fb/quarantine",
    ] {
        let r = node.http.delete(node.at(path)).send().await.unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{path}: {body}"
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("no peer can be named"),
            "{path}: {body}"
        );
    }

    // A body that does not exist has no members and governs no datasets.
    let nobody = "00".repeat(32);
    for path in [
        format!("/v1/bodies/{nobody}/members"),
        format!("/v1/bodies/{nobody}/datasets"),
    ] {
        let (status, body) = node.get(&path).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }

    // Leaves are `[start, start + limit)`: a limit of 0 asks for none.
    for n in 0..2 {
        let (status, reply) = node.post(&announce(n, "limit")).await;
        assert_eq!(status, 201, "{reply}");
    }
    let (status, body) = node.get("/v1/leaves?start=0&limit=0").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["leaves"], serde_json::json!([]), "{body}");
    let r = node
        .http
        .get(node.at("/v1/leaves/raw?start=0&limit=0"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.bytes().await.unwrap().is_empty());
    node.stop().await;
}

/// A client that sends headers and then only part of its body is told its
/// body did not arrive (408), not that the node timed out on a write
/// (503); a body that did arrive is not affected.
#[tokio::test]
async fn a_body_that_never_arrives_is_the_clients_timeout() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let dir = tempdir();
    let mut c = crate::support::config(dir.path());
    c.limits.request_timeout_ms = 300;
    let node = TestNode::start_with(c).await;
    let addr = node.url.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tcp.write_all(
        b"POST /v1/statements HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\nConnection: close\r\n\r\n{\"a\"",
    )
    .await
    .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"body_timeout\""), "{answer}");
    assert!(answer.contains("nothing was written"), "{answer}");
    // A whole body is read and answered as usual, however short the limit.
    let (status, reply) = node.post(&announce(1, "whole")).await;
    assert_eq!(status, 201, "{reply}");
    node.stop().await;
}

/// A body declared larger than the route accepts is refused as too large
/// at once, before any of it arrives: the client is not left to time out
/// (with the node's default limit, as deployed), on each route that takes
/// a body.
#[tokio::test]
async fn a_body_declared_too_large_is_refused_before_it_arrives() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let addr = node.url.trim_start_matches("http://").to_owned();
    let before = node.get("/v1/checkpoint").await.1["size"].clone();
    let attachment = format!("/v1/attachments/{}", "ab".repeat(32));
    for (method, path) in [
        ("POST", "/v1/statements"),
        ("PUT", attachment.as_str()),
        ("POST", "/add-checkpoint"),
    ] {
        let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000000\r\n\
             Connection: close\r\n\r\n{{}}"
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        // The body was not read, so the connection carries nothing more.
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("\r\nconnection: close\r\n"),
            "{path}: {answer}"
        );
        assert!(
            answer.contains("\"code\":\"payload_too_large\""),
            "{path}: {answer}"
        );
    }
    assert_eq!(node.get("/v1/checkpoint").await.1["size"], before);
    node.stop().await;
}

#[tokio::test]
async fn a_client_over_its_rate_is_told_to_slow_down() {
    let dir = tempdir();
    let mut config = crate::support::config(dir.path());
    config.limits.rate_per_second = 1;
    config.limits.rate_burst = 3;
    let node = TestNode::start_with(config).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(node.get("/v1/checkpoint").await);
    }
    let limited = statuses
        .iter()
        .find(|(s, _)| *s == 429)
        .expect("some request is limited");
    assert_eq!(limited.1["code"], "rate_limited");
    node.stop().await;
}

/// Tiles have a budget of their own: a monitor reading many of them is not
/// refused at the API's rate, nor does it use up the API's budget; past the
/// tiles' own rate it is told to slow down in the same way.
#[tokio::test]
async fn tiles_are_counted_apart_from_the_api() {
    async fn answer(node: &TestNode, path: &str) -> (u16, Option<String>) {
        let r = node.http.get(node.at(path)).send().await.unwrap();
        let status = r.status().as_u16();
        let code = r
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned));
        (status, code)
    }
    let dir = tempdir();
    let mut config = crate::support::config(dir.path());
    config.limits.rate_per_second = 1;
    config.limits.rate_burst = 2;
    config.limits.tile_rate_per_second = 1;
    config.limits.tile_rate_burst = 6;
    let node = TestNode::start_with(config).await;
    let (status, body) = node.post(&announce(1, "tiles")).await;
    assert_eq!(status, 201, "{body}");

    // Six tile reads fit the tiles' burst though the API allows two, and
    // the API's budget is untouched by them.
    for _ in 0..6 {
        assert_eq!(answer(&node, "/tlog/checkpoint").await.0, 200);
    }
    assert_eq!(answer(&node, "/v1/checkpoint").await.0, 200);
    // The seventh tile read is over the tiles' budget.
    assert_eq!(
        answer(&node, "/tlog/tile/0/000.p/1").await,
        (429, Some("rate_limited".to_owned()))
    );
    node.stop().await;
}
