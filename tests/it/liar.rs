//! A node that lies, for the tests of what the CLI must not believe.
//!
//! [`Liar`] stands in front of a real node: every `GET` passes through
//! unchanged, except those the test answers itself. A lie that needs the
//! log's signature is signed with the node's own key, read from its data
//! directory ([`sign_checkpoint`]), exactly as a node that meant to lie
//! would sign it.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use kaitiaki_protocol::checkpoint::Checkpoint;
use kaitiaki_protocol::Hash;
use serde_json::Value;

use crate::support::rt;

/// What a test answers for a path and query; `None` passes the request on.
type Answer = dyn Fn(&str, Option<&str>) -> Option<Response> + Send + Sync;

/// A lying proxy in front of a real node, stopped when dropped.
pub struct Liar {
    /// Its base URL.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Liar {
    /// Starts a proxy in front of the node at `upstream`, answering with
    /// `answer` where it says something.
    pub fn start(
        upstream: &str,
        answer: impl Fn(&str, Option<&str>) -> Option<Response> + Send + Sync + 'static,
    ) -> Liar {
        let upstream = upstream.to_owned();
        let answer: Arc<Answer> = Arc::new(answer);
        let app = Router::new().fallback(move |req: Request| {
            let (answer, upstream) = (Arc::clone(&answer), upstream.clone());
            async move {
                let uri = req.uri();
                match answer(uri.path(), uri.query()) {
                    Some(lie) => lie,
                    None => pass(&upstream, uri).await,
                }
            }
        });
        rt().block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("address");
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            Liar {
                url: format!("http://{addr}"),
                task,
            }
        })
    }
}

impl Drop for Liar {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Passes a `GET` on to the real node and its answer back.
async fn pass(upstream: &str, uri: &axum::http::Uri) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let resp = match reqwest::get(format!("{upstream}{path}")).await {
        Ok(r) => r,
        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
    };
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let kind = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let body = resp.bytes().await.unwrap_or_default();
    (status, [(header::CONTENT_TYPE, kind)], body).into_response()
}

/// A JSON answer.
pub fn json(v: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(v).expect("json"),
    )
        .into_response()
}

/// A byte answer, its length declared.
pub fn bytes(b: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], b).into_response()
}

/// A status with no body.
pub fn status(code: u16) -> Response {
    StatusCode::from_u16(code).expect("status").into_response()
}

/// `body` followed by `pad` spaces, sent in chunks with no declared
/// length, as a node streams an answer of any size.
pub fn streamed(body: Vec<u8>, pad: usize) -> Response {
    const CHUNK: usize = 64 * 1024;
    let mut chunks = vec![body];
    let mut left = pad;
    while left > 0 {
        let n = left.min(CHUNK);
        chunks.push(vec![b' '; n]);
        left -= n;
    }
    let stream = futures::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
    Body::from_stream(stream).into_response()
}

/// A query parameter as a number.
pub fn query_u64(query: Option<&str>, name: &str) -> Option<u64> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))?
        .parse()
        .ok()
}

/// Leaves `[start, start + limit)` of `leaves`, as `/v1/leaves/raw` serves
/// them: each one's length (u32, big-endian), then its bytes.
pub fn raw_page(leaves: &[Vec<u8>], query: Option<&str>) -> Vec<u8> {
    let start = query_u64(query, "start").unwrap_or(0) as usize;
    let limit = query_u64(query, "limit").unwrap_or(4096) as usize;
    let mut out = Vec::new();
    for leaf in leaves.iter().skip(start).take(limit) {
        out.extend_from_slice(&(leaf.len() as u32).to_be_bytes());
        out.extend_from_slice(leaf);
    }
    out
}

/// The first `size` raw leaves of the node at `url`.
pub fn fetch_leaves(url: &str, size: u64) -> Vec<Vec<u8>> {
    let body = rt().block_on(async {
        reqwest::get(format!("{url}/v1/leaves/raw?start=0&limit={size}"))
            .await
            .expect("raw leaves")
            .bytes()
            .await
            .expect("raw leaves body")
    });
    let mut rest = &body[..];
    let mut leaves = Vec::new();
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let (leaf, tail) = tail.split_at(u32::from_be_bytes(*len) as usize);
        leaves.push(leaf.to_vec());
        rest = tail;
    }
    assert_eq!(leaves.len() as u64, size);
    leaves
}

/// A checkpoint of `origin` at `size` with `root`, signed with the key of
/// the node whose data directory is `data`.
pub fn sign_checkpoint(data: &Path, origin: &str, size: u64, root: Hash) -> String {
    let id = kaitiaki_node::identity::Identity::load(data, origin).expect("the node's key");
    let note = Checkpoint::new(origin, size, root)
        .expect("checkpoint")
        .sign(id.signer())
        .expect("sign");
    String::from_utf8(note.to_bytes()).expect("UTF-8")
}
