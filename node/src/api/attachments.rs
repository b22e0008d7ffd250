//! Confidential attachments: files kept off the log, committed to by hash
//! in an `attachment.commit` statement, served only to members of the body
//! the commitment names as readers, and erasable without breaking anything
//! the log proves.
//!
//! Reads and erasures carry a *signed read request* in the
//! `Kaitiaki-Signature` header:
//!
//! ```text
//! Kaitiaki-Signature: key=<64 hex>, time=<RFC 3339 UTC>, sig=<base64 Ed25519 signature>
//! ```
//!
//! The signature (strict Ed25519) is over [`signed_request_message`]:
//!
//! ```text
//! kaitiaki signed request v1\n
//! <log origin>\n
//! <METHOD>\n
//! <path, e.g. /v1/attachments/<hash>>\n
//! <time, exactly as in the header>\n
//! ```
//!
//! Who may read is decided by the first commitment to the content hash in
//! this node's log: the sequencer refuses a second one
//! (`attachment_already_committed`), so nobody can name themselves as
//! readers of a file someone else committed. The signer must hold a seat of
//! the readers body now, directly or through rotation, with a key that is
//! neither revoked nor rotated away. Anyone holding the bytes may upload
//! them once committed, except after an erasure: then only a reader may,
//! with a signed request for `PUT`.
//!
//! The origin stops a request made for one node being replayed to another;
//! the method stops a read being replayed as an erasure; the time, checked
//! against the node's clock within `limits.read_request_max_skew_secs`,
//! bounds how long a captured header is worth anything.

use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use kaitiaki_governance::KeyBytes;
use kaitiaki_protocol::statement::AttachmentCommit;
use kaitiaki_protocol::{
    Body, ContentHash, PublicKey, Signature, Statement, StatementId, Timestamp,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AppState, Body as RequestBody, Path};
use crate::error::{code, ApiError, ApiResult, ErrorBody};
use crate::storage::StorageError;

/// The name of the signed-request header.
pub const SIGNATURE_HEADER: &str = "kaitiaki-signature";
/// The first line of every signed request message.
pub const SIGNED_REQUEST_CONTEXT: &str = "kaitiaki signed request v1";

/// The exact bytes a signed request signs.
pub fn signed_request_message(origin: &str, method: &str, path: &str, time: &str) -> Vec<u8> {
    format!("{SIGNED_REQUEST_CONTEXT}\n{origin}\n{method}\n{path}\n{time}\n").into_bytes()
}

/// Builds the `Kaitiaki-Signature` header value for a request (for clients
/// and tests).
pub fn sign_request(
    key: &ed25519_dalek::SigningKey,
    origin: &str,
    method: &str,
    path: &str,
    time: Timestamp,
) -> String {
    let time = time.to_rfc3339();
    let sig = Signature::sign(key, &signed_request_message(origin, method, path, &time));
    format!(
        "key={}, time={time}, sig={}",
        PublicKey::of(key).to_hex(),
        base64::engine::general_purpose::STANDARD.encode(sig.as_bytes())
    )
}

/// An attachment as stored.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AttachmentStored {
    /// Its content hash.
    pub hash: String,
    /// Its size in bytes.
    pub size: u64,
    /// The `attachment.commit` that committed to it.
    #[schema(value_type = String)]
    pub commit: StatementId,
}

/// The commitment behind an attachment: the statement and its body.
fn commitment(app: &AppState, hash: &ContentHash) -> ApiResult<(StatementId, AttachmentCommit)> {
    let not_committed = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            code::NOT_COMMITTED,
            format!("no attachment.commit in this log commits to {hash}"),
        )
    };
    let id = app
        .shared
        .storage
        .attachment_commit(hash.as_bytes())?
        .ok_or_else(not_committed)?;
    let index = app
        .shared
        .storage
        .index_of(&id)?
        .ok_or_else(not_committed)?;
    if index >= app.shared.published().size {
        return Err(not_committed());
    }
    let leaf = app.shared.storage.leaf(index)?.ok_or_else(not_committed)?;
    let statement =
        Statement::decode(leaf.envelope().payload()).map_err(|e| ApiError::internal(&e))?;
    match statement.body {
        Body::AttachmentCommit(c) => Ok((id, c)),
        _ => Err(ApiError::internal(&format!(
            "leaf {index} is not an attachment.commit"
        ))),
    }
}

fn parse_hash(text: &str) -> ApiResult<ContentHash> {
    ContentHash::from_hex(text)
        .ok_or_else(|| ApiError::malformed("a content hash is 64 lowercase hex digits"))
}

/// Upload the bytes of a committed attachment.
#[utoipa::path(
    put,
    path = "/v1/attachments/{hash}",
    params(
        ("hash" = String, Path, description = "The content hash an attachment.commit names"),
        ("Kaitiaki-Signature" = Option<String>, Header, description = "Needed only after the bytes were erased: a signed request (PUT) by a member of the readers body"),
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 201, body = AttachmentStored),
        (status = 200, description = "Already stored", body = AttachmentStored),
        (status = 400, description = "malformed or hash_mismatch", body = ErrorBody),
        (status = 401, description = "after an erasure: unauthorized, stale_request or bad_signature", body = ErrorBody),
        (status = 403, description = "after an erasure: forbidden, not a member of the readers body", body = ErrorBody),
        (status = 404, description = "not_committed", body = ErrorBody),
        (status = 413, body = ErrorBody),
    )
)]
pub async fn upload(
    State(app): State<AppState>,
    Path(hash_text): Path<String>,
    headers: HeaderMap,
    RequestBody(bytes): RequestBody,
) -> ApiResult<(StatusCode, Json<AttachmentStored>)> {
    let hash = parse_hash(&hash_text)?;
    let (id, commit) = commitment(&app, &hash)?;
    // Once erased, the bytes come back only from a member of the readers:
    // whoever read them before must not be able to undo the erasure.
    if app.shared.storage.attachment_erased(hash.as_bytes()) {
        authorise(&app, &headers, Method::PUT, &hash_text, &commit)?;
    }
    if ContentHash::of(&bytes) != hash || bytes.len() as u64 != commit.size {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            code::HASH_MISMATCH,
            "the bytes do not have the content hash and size the commitment names",
        ));
    }
    let stored = AttachmentStored {
        hash: hash.to_hex(),
        size: commit.size,
        commit: id,
    };
    // Acknowledged only once the bytes are on stable storage. Bytes that
    // match the commitment also replace a stored copy that no longer does.
    let shared = app.shared.clone();
    let created = super::blocking(move || {
        match shared.storage.attachment(hash.as_bytes()) {
            Ok(Some(_)) => {
                // Acknowledged only once durable, whoever wrote it.
                shared.storage.attachment_durable(hash.as_bytes())?;
                return Ok(false);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "replacing a stored attachment with an upload"),
        }
        shared.storage.put_attachment(hash.as_bytes(), &bytes)?;
        Ok::<_, StorageError>(true)
    })
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(stored)))
}

/// Download an attachment (members of its readers body only).
#[utoipa::path(
    get,
    path = "/v1/attachments/{hash}",
    params(
        ("hash" = String, Path, description = "Content hash"),
        ("Kaitiaki-Signature" = String, Header, description = "key=<hex>, time=<RFC 3339>, sig=<base64>"),
    ),
    responses(
        (status = 200, content_type = "application/octet-stream", description = "The bytes"),
        (status = 401, description = "unauthorized or stale_request", body = ErrorBody),
        (status = 403, description = "forbidden: not a member of the readers body", body = ErrorBody),
        (status = 404, description = "not_committed, or not_found (never uploaded, or erased)", body = ErrorBody),
    )
)]
pub async fn download(
    State(app): State<AppState>,
    Path(hash_text): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let hash = parse_hash(&hash_text)?;
    let (_, commit) = commitment(&app, &hash)?;
    authorise(&app, &headers, Method::GET, &hash_text, &commit)?;
    let shared = app.shared.clone();
    let bytes = super::blocking(move || shared.storage.attachment(hash.as_bytes()))
        .await?
        .ok_or_else(|| {
            ApiError::not_found("the attachment was never uploaded here, or has been erased")
        })?;
    let media_type = header::HeaderValue::from_str(&commit.media_type)
        .unwrap_or(header::HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, media_type),
            (
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("private, no-store"),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Erase an attachment's bytes (members of its readers body only). The
/// commitment stays in the log and still verifies.
#[utoipa::path(
    delete,
    path = "/v1/attachments/{hash}",
    params(
        ("hash" = String, Path, description = "Content hash"),
        ("Kaitiaki-Signature" = String, Header, description = "key=<hex>, time=<RFC 3339>, sig=<base64>"),
    ),
    responses(
        (status = 204, description = "Erased"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn erase(
    State(app): State<AppState>,
    Path(hash_text): Path<String>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let hash = parse_hash(&hash_text)?;
    let (_, commit) = commitment(&app, &hash)?;
    authorise(&app, &headers, Method::DELETE, &hash_text, &commit)?;
    let shared = app.shared.clone();
    let erased = super::blocking(move || shared.storage.erase_attachment(hash.as_bytes())).await?;
    if erased {
        tracing::info!(hash = %hash, "erased a confidential attachment");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("the attachment is not stored here"))
    }
}

/// Checks a signed request's `Kaitiaki-Signature` header for `method` and
/// `path` (see the module docs) and returns the key that signed it.
pub(crate) fn signed_by(
    app: &AppState,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
) -> ApiResult<PublicKey> {
    let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, code::UNAUTHORIZED, m);
    let value = headers
        .get(SIGNATURE_HEADER)
        .ok_or_else(|| {
            unauthorized("this request must be signed; send a Kaitiaki-Signature header")
        })?
        .to_str()
        .map_err(|_| {
            unauthorized("Kaitiaki-Signature must be plain ASCII: key=…, time=…, sig=…")
        })?;
    let mut key = None;
    let mut time = None;
    let mut sig = None;
    for part in value.split(',') {
        // White space around each name and value is ignored (PROTOCOL.md §8.7).
        match part.split_once('=').map(|(n, v)| (n.trim(), v)) {
            Some(("key", v)) => key = Some(v.trim()),
            Some(("time", v)) => time = Some(v.trim()),
            Some(("sig", v)) => sig = Some(v.trim()),
            _ => {
                return Err(unauthorized(
                    "Kaitiaki-Signature must be key=…, time=…, sig=…",
                ))
            }
        }
    }
    let (Some(key), Some(time), Some(sig)) = (key, time, sig) else {
        return Err(unauthorized(
            "Kaitiaki-Signature must have key, time and sig",
        ));
    };
    let key = PublicKey::from_hex(key).map_err(|e| unauthorized(&format!("key: {e}")))?;
    let at = Timestamp::parse(time).map_err(|e| unauthorized(&format!("time: {e}")))?;
    // Signed reads are fresh by the system clock, which their signers keep.
    let now = crate::clock::system_millis();
    let skew = i64::try_from(app.shared.config.limits.read_request_max_skew_secs)
        .unwrap_or(i64::MAX / 2000)
        .saturating_mul(1000);
    if (now - at.unix_millis()).abs() > skew {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            code::STALE_REQUEST,
            "the signed request's time is too far from the node's clock; sign a fresh one",
        ));
    }
    let sig = base64::engine::general_purpose::STANDARD
        .decode(sig)
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
        .ok_or_else(|| unauthorized("sig must be a base64 Ed25519 signature"))?;
    let message = signed_request_message(&app.shared.config.origin, method.as_str(), path, time);
    key.verify(&message, &sig).map_err(|_| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            code::BAD_SIGNATURE,
            "the request signature does not verify",
        )
    })?;
    Ok(key)
}

/// Checks the signed request header and the signer's membership of the
/// commitment's readers body.
fn authorise(
    app: &AppState,
    headers: &HeaderMap,
    method: Method,
    hash: &str,
    commit: &AttachmentCommit,
) -> ApiResult<()> {
    let key = signed_by(app, headers, &method, &format!("/v1/attachments/{hash}"))?;
    if !is_member(app, &commit.readers, &key)? {
        let act = match method {
            Method::PUT => "upload it again after its erasure",
            Method::DELETE => "erase it",
            _ => "read it",
        };
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            code::FORBIDDEN,
            format!(
                "only members of body {}, this attachment's readers, may {act}; sign with the \
                 key of a seat of that body",
                commit.readers
            ),
        ));
    }
    Ok(())
}

/// Whether `key` holds a seat of `body` now (governance's rule: a rotated
/// member's new key does, a revoked or rotated-away key does not).
fn is_member(app: &AppState, body: &StatementId, key: &PublicKey) -> ApiResult<bool> {
    kaitiaki_governance::query::holds_seat(app.shared.storage.state(), body, &KeyBytes::of(key))
        .map_err(|e| ApiError::internal(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The known answers in `protocol/vectors/request/`: the message each
    /// request signs and the header that carries the signature, from a
    /// fixed key. `KAITIAKI_REGENERATE_VECTORS=1` rewrites the file after a
    /// deliberate change (of PROTOCOL.md §8.7 too).
    #[test]
    fn signed_requests_match_their_vectors() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let time = Timestamp::parse("2026-11-01T09:30:00Z").expect("time");
        let cases = [
            (
                "iwi.example",
                "GET",
                format!("/v1/attachments/{}", "ab".repeat(32)),
            ),
            (
                "agency.example",
                "DELETE",
                "/v1/peers/iwi.example/quarantine".to_owned(),
            ),
            (
                "agency.example",
                "POST",
                "/v1/peers?url=http%3A%2F%2Fiwi.example%3A7878&key=iwi.example%2Bab12cd34%2BAQ"
                    .to_owned(),
            ),
        ];
        let vectors: Vec<serde_json::Value> = cases
            .iter()
            .map(|(origin, method, path)| {
                let message = signed_request_message(origin, method, path, &time.to_rfc3339());
                let header = sign_request(&key, origin, method, path, time);
                // The header's signature verifies over the message, strictly.
                let sig = header.rsplit("sig=").next().expect("sig");
                let sig = base64::engine::general_purpose::STANDARD
                    .decode(sig)
                    .expect("base64");
                let sig = Signature::from_slice(&sig).expect("64 bytes");
                PublicKey::of(&key)
                    .verify(&message, &sig)
                    .expect("verifies");
                serde_json::json!({
                    "seed": hex::encode([7u8; 32]),
                    "key": PublicKey::of(&key).to_hex(),
                    "origin": origin,
                    "method": method,
                    "path": path,
                    "time": time.to_rfc3339(),
                    "message": String::from_utf8(message).expect("UTF-8"),
                    "header": header,
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&vectors).expect("JSON") + "\n";
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../protocol/vectors/request/signed_request.json");
        if std::env::var_os("KAITIAKI_REGENERATE_VECTORS").is_some() {
            std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
            std::fs::write(&file, &text).expect("write");
        }
        let stored = std::fs::read_to_string(&file).expect("the vector file");
        assert_eq!(stored, text, "{} differs", file.display());
    }
}
