//! `POST /v1/statements`: the one way into the log.
//!
//! A statement passes, in order: the body limit (413), strict DSSE JSON
//! (400 `malformed`), the signature and payload checks (400
//! `bad_signature` / `malformed`, run here in parallel, never in the
//! sequencer), the node's network (400 `wrong_network`), the duplicate
//! check (200 with the existing leaf), then the sequencer's governance check
//! (4xx with governance's code) and group commit (201 once durable).
//!
//! The body is one DSSE envelope, or a JSON array of them for bulk
//! clients; an array is answered 200 with one result per envelope.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kaitiaki_protocol::envelope::{Dsse, EnvelopeError};
use kaitiaki_protocol::statement::{limits, StatementError};
use kaitiaki_protocol::{Envelope, StatementId, Verified};
use serde::Serialize;
use utoipa::ToSchema;

use super::{AppState, Body};
use crate::error::{code, ApiError, ErrorBody};
use crate::sequencer::Outcome;

/// The DSSE JSON envelope a client signs (documentation schema).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct DsseEnvelope {
    /// Always `application/vnd.kaitiaki.statement.v1+json`.
    #[schema(rename = "payloadType")]
    payload_type: String,
    /// The statement payload bytes, standard base64.
    payload: String,
    /// Exactly one signature.
    signatures: Vec<DsseSignatureSchema>,
}

/// One DSSE signature (documentation schema).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct DsseSignatureSchema {
    /// The author's public key, 64 hex digits.
    keyid: String,
    /// The Ed25519 signature over the DSSE PAE, standard base64.
    sig: String,
}

/// A statement accepted into the log.
#[derive(Clone, Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct Accepted {
    /// The statement id.
    #[schema(value_type = String)]
    pub id: StatementId,
    /// Its leaf index.
    pub index: u64,
    /// `created` (sequenced now) or `existing` (already in the log).
    pub status: String,
}

/// One envelope's result in a batch submission.
#[derive(Clone, Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct BatchItem {
    /// The statement id, when the envelope could be read.
    #[schema(value_type = Option<String>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<StatementId>,
    /// The leaf index, when accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// `created`, `existing` or `rejected`.
    pub status: String,
    /// Why it was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

/// The answer to a batch submission.
#[derive(Clone, Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct BatchResult {
    /// One result per envelope, in the order sent.
    pub results: Vec<BatchItem>,
}

/// Submit a signed statement (or an array of them).
#[utoipa::path(
    post,
    path = "/v1/statements",
    request_body(content = DsseEnvelope, description = "One DSSE envelope, or a JSON array of them"),
    responses(
        (status = 201, description = "Sequenced and durable", body = Accepted),
        (status = 200, description = "Already in the log (single), or per-envelope results (array)", body = BatchResult),
        (status = 400, description = "malformed, bad_signature or wrong_network", body = ErrorBody),
        (status = 403, description = "Governance: the author may not say this", body = ErrorBody),
        (status = 409, description = "Governance: not allowed in the current state", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 421, description = "wrong_home_log: submit to the body's home node", body = ErrorBody),
        (status = 422, description = "Governance: refers to something unknown or unfit", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody),
        (status = 503, description = "unavailable or timeout", body = ErrorBody),
    )
)]
pub async fn submit(State(app): State<AppState>, Body(bytes): Body) -> Response {
    if let Some(refused) = app.shared.own_log.refusal(&app.shared.replication) {
        return refused.into_response();
    }
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => submit_many(app, &bytes).await.into_response(),
        _ => submit_one(app, &bytes).await.into_response(),
    }
}

async fn submit_one(app: AppState, bytes: &[u8]) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let value = kaitiaki_protocol::json::parse_strict(bytes)
        .map_err(|e| ApiError::malformed(format!("the body is not strict JSON: {e}")))?;
    let envelope = envelope_from_value(value)?;
    // One verification is ~50 µs: cheaper inline than a hop to another thread.
    let verified = check(&app, envelope)?;
    let id = verified.id();
    if let Some(index) = app.shared.storage.index_of(&id)? {
        return Ok((StatusCode::OK, Json(accepted(id, index, "existing"))));
    }
    let outcome = app.sequencer.submit(vec![verified]).await.pop();
    match outcome {
        Some(Outcome::Created(index)) => {
            Ok((StatusCode::CREATED, Json(accepted(id, index, "created"))))
        }
        Some(Outcome::Existing(index)) => {
            Ok((StatusCode::OK, Json(accepted(id, index, "existing"))))
        }
        Some(Outcome::Rejected(r)) => Err(rejected(&app, &r)),
        Some(Outcome::Unavailable) | None => Err(unavailable(&app)),
    }
}

/// Why a statement could not be sequenced: the storage's if it failed,
/// else the node's reason if it waits for its peers or refuses statements.
fn unavailable(app: &AppState) -> ApiError {
    if let Some(why) = app.shared.failure() {
        return ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            crate::error::code::UNAVAILABLE,
            format!(
                "the node stopped taking writes after a storage failure ({why}); its operator \
                 must mend it and restart the node. Nothing it acknowledged is lost; re-submit \
                 once it is back (re-submitting is safe)"
            ),
        );
    }
    app.shared
        .own_log
        .refusal(&app.shared.replication)
        .unwrap_or_else(ApiError::unavailable)
}

/// A governance rejection, with the URL of the right node when this node
/// follows the home log the rejection names.
fn rejected(app: &AppState, r: &kaitiaki_governance::Rejection) -> ApiError {
    let url = r
        .home_log
        .as_deref()
        .and_then(|origin| app.shared.replication.url_of(origin));
    ApiError::rejected(r).with_home_url(url)
}

async fn submit_many(app: AppState, bytes: &[u8]) -> Result<Json<BatchResult>, ApiError> {
    let value = kaitiaki_protocol::json::parse_strict(bytes)
        .map_err(|e| ApiError::malformed(format!("the body is not strict JSON: {e}")))?;
    let serde_json::Value::Array(items) = value else {
        return Err(ApiError::malformed(
            "expected a DSSE envelope or an array of them",
        ));
    };
    let max = app.shared.config.limits.max_statements_per_request;
    if items.len() > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            code::PAYLOAD_TOO_LARGE,
            format!("a batch may hold at most {max} envelopes; split it"),
        ));
    }
    // Signatures are checked on the rayon pool, all cores at once, so the
    // sequencer only ever sees verified statements.
    let checker = app.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    rayon::spawn(move || {
        use rayon::prelude::*;
        let checked: Vec<Result<Verified, ApiError>> = items
            .into_par_iter()
            .map(|item| check(&checker, envelope_from_value(item)?))
            .collect();
        let _ = tx.send(checked);
    });
    let checked = rx
        .await
        .map_err(|_| ApiError::internal(&"the verification pool stopped"))?;

    let mut results: Vec<Option<BatchItem>> = Vec::with_capacity(checked.len());
    let mut to_submit = Vec::new();
    let mut ids = Vec::new();
    for item in checked {
        match item {
            Ok(v) => {
                ids.push(v.id());
                to_submit.push(v);
                results.push(None);
            }
            Err(e) => results.push(Some(rejected_item(None, e))),
        }
    }
    let outcomes = if to_submit.is_empty() {
        Vec::new()
    } else {
        app.sequencer.submit(to_submit).await
    };
    let mut outcomes = ids.into_iter().zip(outcomes);
    for slot in results.iter_mut().filter(|r| r.is_none()) {
        let Some((id, outcome)) = outcomes.next() else {
            *slot = Some(rejected_item(None, ApiError::unavailable()));
            continue;
        };
        *slot = Some(match outcome {
            Outcome::Created(index) => item(id, index, "created"),
            Outcome::Existing(index) => item(id, index, "existing"),
            Outcome::Rejected(r) => rejected_item(Some(id), rejected(&app, &r)),
            Outcome::Unavailable => rejected_item(Some(id), unavailable(&app)),
        });
    }
    Ok(Json(BatchResult {
        results: results.into_iter().flatten().collect(),
    }))
}

/// Reads a DSSE envelope from parsed JSON, telling an oversized payload
/// (413) apart from a malformed one (400).
fn envelope_from_value(value: serde_json::Value) -> Result<Envelope, ApiError> {
    let dsse: Dsse = kaitiaki_protocol::json::from_value_exact(&value)
        .map_err(|e| ApiError::malformed(format!("not a DSSE envelope: {e}")))?;
    // Base64 is 4 characters per 3 bytes: anything this long decodes to
    // more than the protocol's payload limit.
    if dsse.payload.len() / 4 * 3 > limits::MAX_PAYLOAD + 3 {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            code::PAYLOAD_TOO_LARGE,
            format!(
                "a statement payload may be at most {} bytes",
                limits::MAX_PAYLOAD
            ),
        ));
    }
    thread_local! {
        // Each worker thread decodes each author's key once (see KeyCache).
        static KEYS: std::cell::RefCell<kaitiaki_protocol::KeyCache> = Default::default();
    }
    KEYS.with(|k| Envelope::from_dsse_with(&dsse, &mut k.borrow_mut()))
        .map_err(|e| envelope_error(&e))
}

/// Everything a statement must pass before the sequencer sees it.
fn check(app: &AppState, envelope: Envelope) -> Result<Verified, ApiError> {
    let verified = envelope.open().map_err(|e| envelope_error(&e))?;
    let network = &verified.statement().network;
    if *network != app.shared.config.network {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            code::WRONG_NETWORK,
            format!(
                "the statement is for network {network:?}; this node serves {:?}",
                app.shared.config.network
            ),
        ));
    }
    Ok(verified)
}

/// Maps the protocol's envelope errors to API codes.
fn envelope_error(e: &EnvelopeError) -> ApiError {
    match e {
        EnvelopeError::BadSignature(_) | EnvelopeError::BadRotationProof => {
            ApiError::new(StatusCode::BAD_REQUEST, code::BAD_SIGNATURE, e.to_string())
        }
        EnvelopeError::AuthorMismatch { .. } => {
            ApiError::new(StatusCode::BAD_REQUEST, code::BAD_SIGNATURE, e.to_string())
        }
        EnvelopeError::Statement(StatementError::TooLarge(_)) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            code::PAYLOAD_TOO_LARGE,
            e.to_string(),
        ),
        other => ApiError::malformed(other.to_string()),
    }
}

fn accepted(id: StatementId, index: u64, status: &str) -> Accepted {
    Accepted {
        id,
        index,
        status: status.to_owned(),
    }
}

fn item(id: StatementId, index: u64, status: &str) -> BatchItem {
    BatchItem {
        id: Some(id),
        index: Some(index),
        status: status.to_owned(),
        error: None,
    }
}

fn rejected_item(id: Option<StatementId>, e: ApiError) -> BatchItem {
    BatchItem {
        id,
        index: None,
        status: "rejected".to_owned(),
        error: Some(e.into_body()),
    }
}
