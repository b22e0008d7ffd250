//! The HTTP client of a node's `/v1` API.
//!
//! The response types here are this client's own reading of the API
//! (PROTOCOL.md §8 and `/openapi.json`), not the node's structs: the CLI is an
//! independent client, so an end-to-end test through it catches a change of
//! the wire format that a shared struct would hide. Unknown fields are
//! ignored, so a newer node still works.
//!
//! Every non-2xx answer with the node's `{"code","message"}` body becomes a
//! [`Rejected`] error, which the binary prints with the explanation table.
//!
//! A node decides how long its answers are, and one that means harm could
//! answer without end; so every answer is read with a cap on its length
//! ([`read_capped`]): a JSON answer at most [`JSON_CAP`], a signed note at
//! most [`NOTE_CAP`], an attachment at most [`ATTACHMENT_CAP`], an error
//! body (or any other answer the CLI throws away) at most [`ERROR_CAP`].

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use kaitiaki_protocol::envelope::Dsse;
use kaitiaki_protocol::{ContentHash, Envelope, Hash, StatementId, Timestamp};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::rejections::Rejected;

pub use kaitiaki_node::replication::bounded::{raw_leaves_cap, NOTE_CAP};

/// The longest JSON answer read: a page of the longest listing the CLI
/// asks for, a statement near the payload limit with its proof, or a
/// node's evidence, with room to spare.
pub const JSON_CAP: usize = 8 << 20;

/// The longest error body read; only its code and first words are shown.
/// Also the cap on an answer whose body is thrown away (an erasure's).
pub const ERROR_CAP: usize = 64 << 10;

/// The longest confidential attachment read (1 GiB). A node refuses an
/// upload above its `max_attachment_bytes`, 16 MiB unless its operator
/// raised it; this cap leaves room for any node configured with sense,
/// while a node answering without end is stopped before it fills the
/// memory. An answer beyond it is refused, not read on.
pub const ATTACHMENT_CAP: usize = 1 << 30;

/// Reads the body of a node's answer to `what`, at most `cap` bytes: an
/// answer that declares or runs to more is refused, not read on.
pub async fn read_capped(resp: reqwest::Response, cap: usize, what: &str) -> Result<Vec<u8>> {
    use kaitiaki_node::replication::bounded::{read, ReadError};
    read(resp, cap).await.map_err(|e| match e {
        ReadError::Read(e) => {
            anyhow::Error::new(e).context(format!("the node's answer to {what} broke off"))
        }
        over => anyhow!(
            "the node's answer to {what} is too long ({over}); a node that answers at such \
             length is not answering as the API does"
        ),
    })
}

/// Reads a node's JSON answer to `what` (at most [`JSON_CAP`]) as `T`.
async fn read_json<T: DeserializeOwned>(resp: reqwest::Response, what: &str) -> Result<T> {
    let body = read_capped(resp, JSON_CAP, what).await?;
    serde_json::from_slice(&body)
        .with_context(|| format!("the node's answer to {what} is not what this CLI expects"))
}

/// The default node URL, where `kaitiaki node serve` and the demo listen.
pub const DEFAULT_NODE: &str = "http://127.0.0.1:7878";

/// What `/healthz` says about a node.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Health {
    /// `ok`; `failed` when the node refuses writes after a storage fault;
    /// `refusing_statements` when a peer holds more of its log than it does;
    /// `waiting_for_peers` while, after a restore, it waits to hear what
    /// its peers hold of its log.
    pub status: String,
    /// Why the node refuses new statements, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The log's origin.
    pub origin: String,
    /// The network served.
    pub network: String,
    /// The published tree size.
    pub size: u64,
    /// Leaves re-indexed at the last start-up.
    #[serde(default)]
    pub reindexed_at_startup: u64,
}

/// The answer to a statement submission.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Accepted {
    /// The statement id.
    pub id: StatementId,
    /// Its leaf index.
    pub index: u64,
    /// `created` or `existing`.
    pub status: String,
}

/// The latest checkpoint as JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckpointView {
    /// The log's origin.
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The root hash.
    pub root: Hash,
    /// The signed note, exactly as signed.
    pub note: String,
    /// The node's note verifier key.
    pub verifier_key: String,
    /// Witness cosignature lines.
    #[serde(default)]
    pub cosignatures: Vec<String>,
}

/// One leaf as served.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LeafView {
    /// Its index.
    pub index: u64,
    /// When the node sequenced it.
    pub sequenced_at: Timestamp,
    /// The statement id, as the node computed it.
    pub id: StatementId,
    /// The leaf hash, as the node computed it.
    pub leaf_hash: Hash,
    /// The signed statement.
    pub envelope: Dsse,
}

/// An inclusion proof.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InclusionView {
    /// The leaf index.
    pub index: u64,
    /// The tree size.
    pub size: u64,
    /// The root at that size.
    pub root: Hash,
    /// Sibling hashes, from the leaf up.
    pub hashes: Vec<Hash>,
}

/// A statement with its leaf and proof.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StatementView {
    /// The leaf.
    #[serde(flatten)]
    pub leaf: LeafView,
    /// The payload, parsed.
    pub statement: serde_json::Value,
    /// The inclusion proof against `checkpoint`.
    pub proof: InclusionView,
    /// The signed checkpoint note the proof is against.
    pub checkpoint: String,
    /// The origin of the log holding it: the node's own, or a peer's log
    /// the node mirrors (then `checkpoint` is that peer's).
    #[serde(default)]
    pub log: String,
}

/// A consistency proof.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConsistencyView {
    /// The older size.
    pub old: u64,
    /// The newer size.
    pub new: u64,
    /// The root at the older size.
    pub old_root: Hash,
    /// The root at the newer size.
    pub new_root: Hash,
    /// The proof.
    pub hashes: Vec<Hash>,
}

impl ConsistencyView {
    /// The proof, if it is for the sizes asked for: a node that answers
    /// for others is not answering the question.
    fn for_sizes(self, old: u64, new: u64) -> Result<ConsistencyView> {
        if self.old != old || self.new != new {
            return Err(anyhow!(
                "the node answered a consistency proof for sizes {} to {}, not {old} to {new}",
                self.old,
                self.new
            ));
        }
        Ok(self)
    }
}

/// One mirror a node holds (`GET /v1/mirrors`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MirrorView {
    /// The mirrored log's origin.
    pub origin: String,
    /// Leaves the mirror holds.
    pub size: u64,
    /// The peer's largest checkpoint note the mirror was verified against.
    #[serde(default)]
    pub checkpoint: Option<String>,
    /// The peer's latest checkpoint note whose whole tree the mirror holds.
    #[serde(default)]
    pub complete: Option<String>,
}

/// `GET /v1/mirrors`.
#[derive(Deserialize)]
struct MirrorsView {
    mirrors: Vec<MirrorView>,
}

/// The error body every node refusal carries.
#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
    #[serde(default)]
    home_log: Option<String>,
    #[serde(default)]
    home_url: Option<String>,
}

/// A node URL that cannot be right, with what to give instead. The CLI
/// prints it as it is, without the "is a node running?" advice.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UrlMistake(pub String);

/// Marks a refusal as the answer to a read.
fn of_read(e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<Rejected>() {
        Ok(r) => r.of_read().into(),
        Err(e) => e,
    }
}

/// A client of one node.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    // Whether `--node` (or KAITIAKI_NODE) gave the URL, so that advice to
    // point `--node` elsewhere is given only where it helps.
    from_node_flag: bool,
}

impl Client {
    /// A client of the node at `base` (e.g. `http://127.0.0.1:7878`), as
    /// `--node` or `KAITIAKI_NODE` gives it.
    pub fn new(base: &str) -> Result<Client> {
        Client::build(base, "--node or KAITIAKI_NODE", true)
    }

    /// A client of the node at `base`, which `source` gave (for messages).
    pub fn named_by(base: &str, source: &str) -> Result<Client> {
        Client::build(base, source, false)
    }

    /// A client of the node at `base`, given by `source`, which is
    /// `--node` when `from_node_flag`.
    fn build(base: &str, source: &str, from_node_flag: bool) -> Result<Client> {
        let given = base;
        let base = base.trim_end_matches('/').to_owned();
        let rest = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("https://"));
        match rest {
            None if !(given.starts_with("http://") || given.starts_with("https://")) => {
                anyhow::bail!(
                    "the node URL {given:?} must start with http:// or https:// ({source})"
                )
            }
            None | Some("") => anyhow::bail!("the node URL {given:?} names no host ({source})"),
            Some(_) => {}
        }
        // The API's paths all start with /v1, so a node URL ending in it
        // would be asked for /v1/v1/… and answer "not found".
        if let Some(root) = base.strip_suffix("/v1") {
            return Err(UrlMistake(format!(
                "the node URL {base} ends in /v1; give the node's own address, without /v1: \
                 --node {root} (or KAITIAKI_NODE={root})"
            ))
            .into());
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("kaitiaki-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(Client {
            http,
            base,
            from_node_flag,
        })
    }

    /// The node's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request and turns a refusal into [`Rejected`].
    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> Result<reqwest::Response> {
        let req = req.build().context("cannot build the HTTP request")?;
        // A refused read (GET) is not a refused statement: it is explained
        // and exits differently (see `Rejected::of_read`).
        let read = req.method() == reqwest::Method::GET;
        let resp = self.execute(req, what).await?;
        let checked = self.send_checked(resp, what).await;
        if read {
            checked.map_err(of_read)
        } else {
            checked
        }
    }

    /// `GET path`, once a success; `None` when the node has nothing there
    /// (404, with or without its error body: a node too old to serve the
    /// path has nothing there either).
    async fn get_optional(&self, path: &str, what: &str) -> Result<Option<reqwest::Response>> {
        let req = self
            .http
            .get(self.url(path))
            .build()
            .context("cannot build the HTTP request")?;
        let resp = self.execute(req, what).await?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let resp = self.send_checked(resp, what).await.map_err(of_read)?;
        Ok(Some(resp))
    }

    /// Sends a request; the answer as it came, whatever its status.
    async fn execute(&self, req: reqwest::Request, what: &str) -> Result<reqwest::Response> {
        match self.http.execute(req).await {
            Ok(r) => Ok(r),
            Err(e) => Err(self.unreachable(e, what).await),
        }
    }

    /// Explains why the node could not be reached. A node that speaks
    /// plain HTTP, asked over HTTPS, fails the TLS handshake with words no
    /// person can act on; if the same address answers over HTTP, say so.
    async fn unreachable(&self, e: reqwest::Error, what: &str) -> anyhow::Error {
        if let Some(rest) = self.base.strip_prefix("https://") {
            let plain = format!("http://{rest}");
            let answered = self
                .http
                .get(format!("{plain}/healthz"))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .is_ok();
            if answered {
                return UrlMistake(format!(
                    "the node at {} does not speak HTTPS; try --node {plain}",
                    self.base
                ))
                .into();
            }
        }
        // Nothing listening there: the usual reason is that no node was
        // started, which every command, reading or signing, says alike.
        let advice = match (e.is_connect(), self.from_node_flag) {
            (true, true) => {
                "; is a node running there? Start one with `kaitiaki node serve` or `kaitiaki \
                 demo`, or point at another with --node URL"
            }
            (true, false) => "; is a node running there? Check the address",
            (false, _) => "",
        };
        anyhow::Error::new(e).context(format!(
            "cannot reach the node at {} ({what}){advice}",
            self.base
        ))
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str, what: &str) -> Result<T> {
        let resp = self.send(self.http.get(self.url(path)), what).await?;
        read_json(resp, what).await
    }

    /// `GET path`, as JSON.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, what: &str) -> Result<T> {
        self.get_json(path, what).await
    }

    /// A signed request (`Kaitiaki-Signature: header`) with no body; the
    /// answer as it came, once it is a success.
    async fn signed_send(
        &self,
        method: &str,
        path_and_query: &str,
        header: &str,
        what: &str,
    ) -> Result<reqwest::Response> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let req = self
            .http
            .request(method, self.url(path_and_query))
            .header(kaitiaki_node::api::attachments::SIGNATURE_HEADER, header);
        self.send(req, what).await
    }

    /// A signed request with no body, as JSON.
    pub async fn signed<T: DeserializeOwned>(
        &self,
        method: &str,
        path_and_query: &str,
        header: &str,
        what: &str,
    ) -> Result<T> {
        let resp = self
            .signed_send(method, path_and_query, header, what)
            .await?;
        read_json(resp, what).await
    }

    /// [`Client::signed`], with the status of the answer (which tells, for
    /// some requests, whether anything changed: 201 or 200).
    pub async fn signed_with_status<T: DeserializeOwned>(
        &self,
        method: &str,
        path_and_query: &str,
        header: &str,
        what: &str,
    ) -> Result<(reqwest::StatusCode, T)> {
        let resp = self
            .signed_send(method, path_and_query, header, what)
            .await?;
        let status = resp.status();
        Ok((status, read_json(resp, what).await?))
    }

    /// A signed request with no body, answered with bytes (or nothing): at
    /// most `cap` of them, as every answer (see [`read_capped`]).
    pub async fn signed_bytes(
        &self,
        method: &str,
        path_and_query: &str,
        header: &str,
        cap: usize,
        what: &str,
    ) -> Result<Vec<u8>> {
        let resp = self
            .signed_send(method, path_and_query, header, what)
            .await?;
        read_capped(resp, cap, what).await
    }

    /// `GET /healthz`. A node that answers 503 with its health is up and
    /// says what it will not do (take writes); that is its health too,
    /// and the node's refusal of a statement then tells the rest.
    pub async fn health(&self) -> Result<Health> {
        let what = "the health check";
        let req = self
            .http
            .get(self.url("/healthz"))
            .build()
            .context("cannot build the HTTP request")?;
        let resp = self.execute(req, what).await?;
        if resp.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE {
            let body = read_capped(resp, JSON_CAP, what).await?;
            return serde_json::from_slice(&body).with_context(|| {
                format!("the node answered HTTP 503 to {what}, and not with its health")
            });
        }
        let resp = self.send_checked(resp, what).await.map_err(of_read)?;
        read_json(resp, what).await
    }

    /// `POST /v1/statements` with one envelope.
    pub async fn submit(&self, envelope: &Envelope) -> Result<Accepted> {
        let body = serde_json::to_vec(&envelope.to_dsse())?;
        self.submit_raw(body).await
    }

    /// `POST /v1/statements` with bytes as they are (for tests of refusals).
    pub async fn submit_raw(&self, body: Vec<u8>) -> Result<Accepted> {
        let req = self
            .http
            .post(self.url("/v1/statements"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        let resp = self.send(req, "the statement").await?;
        read_json(resp, "the statement").await
    }

    /// `GET /v1/checkpoint`.
    pub async fn checkpoint(&self) -> Result<CheckpointView> {
        self.get_json("/v1/checkpoint", "the checkpoint").await
    }

    /// `GET /v1/checkpoints/{size}`: the note signed at exactly `size`, if any.
    pub async fn checkpoint_at(&self, size: u64) -> Result<Option<String>> {
        let what = "a checkpoint";
        let path = format!("/v1/checkpoints/{size}");
        let Some(resp) = self.get_optional(&path, what).await? else {
            return Ok(None);
        };
        let note = read_capped(resp, NOTE_CAP, what).await?;
        Ok(Some(
            String::from_utf8(note).context("the node's checkpoint is not UTF-8")?,
        ))
    }

    async fn send_checked(&self, resp: reqwest::Response, what: &str) -> Result<reqwest::Response> {
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let text = read_capped(resp, ERROR_CAP, what)
            .await
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        match serde_json::from_str::<ErrorBody>(&text) {
            Ok(e) => Err(Rejected::new(status, e.code, e.message, e.home_log)
                .with_home_url(e.home_url)
                .into()),
            Err(_) => Err(anyhow!(
                "the node answered HTTP {status} to {what} without an error code: {}",
                text.chars().take(200).collect::<String>()
            )),
        }
    }

    /// `GET /v1/statements/{id}`; `None` if the log does not hold it.
    pub async fn statement(&self, id: &StatementId) -> Result<Option<StatementView>> {
        let what = "a statement";
        let path = format!("/v1/statements/{id}");
        let Some(resp) = self.get_optional(&path, what).await? else {
            return Ok(None);
        };
        Ok(Some(read_json(resp, what).await?))
    }

    /// `GET /v1/proofs/inclusion?index&size`.
    pub async fn inclusion(&self, index: u64, size: u64) -> Result<InclusionView> {
        self.get_json(
            &format!("/v1/proofs/inclusion?index={index}&size={size}"),
            "an inclusion proof",
        )
        .await
    }

    /// `GET /v1/proofs/consistency?old&new`.
    pub async fn consistency(&self, old: u64, new: u64) -> Result<ConsistencyView> {
        self.consistency_at("/v1", old, new, "a consistency proof")
            .await
    }

    /// `GET {prefix}/proofs/consistency?old&new`, checked to be between
    /// those sizes: every consistency proof goes through here.
    async fn consistency_at(
        &self,
        prefix: &str,
        old: u64,
        new: u64,
        what: &str,
    ) -> Result<ConsistencyView> {
        let p: ConsistencyView = self
            .get_json(
                &format!("{prefix}/proofs/consistency?old={old}&new={new}"),
                what,
            )
            .await?;
        p.for_sizes(old, new)
    }

    /// `GET /v1/mirrors`: every mirror the node holds.
    pub async fn mirrors(&self) -> Result<Vec<MirrorView>> {
        let list: MirrorsView = self.get_json("/v1/mirrors", "the node's mirrors").await?;
        Ok(list.mirrors)
    }

    /// `GET /v1/mirrors/{origin}/proofs/consistency?old&new`: a consistency
    /// proof computed from the node's mirror of the log `origin`.
    pub async fn mirror_consistency(
        &self,
        origin: &str,
        old: u64,
        new: u64,
    ) -> Result<ConsistencyView> {
        self.consistency_at(
            &format!("/v1/mirrors/{origin}"),
            old,
            new,
            "a consistency proof of a mirror",
        )
        .await
    }

    /// Any JSON read under the API (governance queries), with a query string
    /// built from `params` (empty values are left out).
    pub async fn query(&self, path: &str, params: &[(&str, String)]) -> Result<serde_json::Value> {
        let params: Vec<_> = params.iter().filter(|(_, v)| !v.is_empty()).collect();
        let req = self.http.get(self.url(path)).query(&params);
        let resp = self.send(req, path).await?;
        read_json(resp, path).await
    }

    /// [`Client::query`] of a read that may have nothing there: `None` for
    /// a 404 (see `get_optional`).
    pub async fn query_optional(&self, path: &str) -> Result<Option<serde_json::Value>> {
        match self.get_optional(path, path).await? {
            Some(resp) => read_json(resp, path).await.map(Some),
            None => Ok(None),
        }
    }

    /// `PUT /v1/attachments/{hash}`: uploads the bytes of a committed attachment.
    pub async fn put_attachment(&self, hash: &ContentHash, bytes: Vec<u8>) -> Result<()> {
        let req = self
            .http
            .put(self.url(&format!("/v1/attachments/{hash}")))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes);
        self.send(req, "the attachment upload").await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A node URL that cannot be one is refused as it was typed, naming
    /// where it came from.
    #[test]
    fn a_url_that_is_no_node_says_so_as_typed() {
        let err = |url: &str, source: &str| {
            crate::output::error_text(&Client::named_by(url, source).unwrap_err())
        };
        assert_eq!(
            err("http://", "--node or KAITIAKI_NODE"),
            "the node URL \"http://\" names no host (--node or KAITIAKI_NODE)"
        );
        assert_eq!(
            err("notaurl", "the peer's URL"),
            "the node URL \"notaurl\" must start with http:// or https:// (the peer's URL)"
        );
        assert!(Client::new("http://127.0.0.1:7878/").is_ok());
    }

    /// A proof for sizes other than those asked for is refused, whatever
    /// it proves.
    #[test]
    fn a_consistency_proof_for_other_sizes_is_refused() {
        let root = Hash::from_bytes([7; 32]);
        let proof = |old, new| ConsistencyView {
            old,
            new,
            old_root: root,
            new_root: root,
            hashes: vec![root],
        };
        assert!(proof(3, 9).for_sizes(3, 9).is_ok());
        let e = proof(3, 8).for_sizes(3, 9).unwrap_err().to_string();
        assert!(e.contains("for sizes 3 to 8, not 3 to 9"), "{e}");
        assert!(proof(2, 9).for_sizes(3, 9).is_err());
    }
}
