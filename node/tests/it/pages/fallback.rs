//! Unknown addresses: a person who mistypes a page's address gets the
//! helpful HTML 404 page; a client of the API still gets its JSON error.

use crate::support::{tempdir, TestNode};

use super::html::{assert_accessible, parse};

/// GETs `path`: status, content type, body.
async fn fetch(node: &TestNode, path: &str) -> (u16, String, String) {
    let r = node.http.get(node.at(path)).send().await.expect("GET");
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, ctype, r.text().await.expect("body"))
}

#[tokio::test]
async fn an_unknown_page_gets_the_helpful_html_404() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    for path in [
        "/no-such-page",
        "/datasets/x/y/z",
        "/v1beta",
        "/tlogs",
        "/assets/missing.css",
    ] {
        let (status, ctype, body) = fetch(&node, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(ctype.starts_with("text/html"), "{path}: {ctype}");
        assert_accessible(path, &body);
        let d = parse(&body).expect("parses");
        let text = d.text();
        assert!(
            text.contains("We could not find that page"),
            "{path}: {text}"
        );
        assert!(
            text.contains(&format!("This node has no page at {path}.")),
            "{path}: {text}"
        );
        let hrefs = d.hrefs();
        assert!(
            hrefs.contains(&"/") && hrefs.contains(&"/requests"),
            "{path}"
        );
    }
    node.stop().await;
}

#[tokio::test]
async fn an_unknown_api_address_keeps_the_json_error() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    for path in [
        "/v1/nope",
        "/v1",
        "/v1/statements/abc/extra",
        "/metrics/extra",
        "/healthz/extra",
        "/openapi.json/extra",
        "/add-checkpoint/extra",
        "/tlog",
        "/tlog/tile/",
        "/tlog/checkpoint/",
        "/tlog/mirrors/iwi.example",
    ] {
        let (status, ctype, body) = fetch(&node, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(ctype.starts_with("application/json"), "{path}: {ctype}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(v["code"], "not_found", "{path}: {body}");
    }
    node.stop().await;
}

#[tokio::test]
async fn a_record_address_that_is_not_text_gets_the_html_404() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    for path in [
        "/records/%FF",
        "/datasets/%FF",
        "/requests/%FF",
        "/bodies/%FF",
        "/bodies/%FF/feed.atom",
        "/datasets/%FF/feed.atom",
    ] {
        let (status, ctype, body) = fetch(&node, path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(ctype.starts_with("text/html"), "{path}: {ctype}");
        assert!(body.contains("We could not find"), "{path}: {body}");
    }
    node.stop().await;
}
