//! The one place errors become HTTP responses.
//!
//! Every error a client sees is `{"code": "...", "message": "..."}` with a
//! stable code and the right status. Internal failures are logged here in
//! full and reported to the client as `internal` without detail: storage
//! paths and database errors are the operator's business.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::storage::tree::ProofFailure;
use crate::storage::StorageError;
use kaitiaki_governance::Rejection;

/// The JSON body of every error response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub code: String,
    /// What was wrong, for a person.
    pub message: String,
    /// For `wrong_home_log`: the origin of the log that must sequence it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_log: Option<String>,
    /// For `wrong_home_log`, when this node follows that log: the URL of
    /// the node that runs it, where the statement should be submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_url: Option<String>,
}

/// An error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

/// The stable codes the node itself produces (governance adds its own).
pub mod code {
    /// The envelope's signature does not verify.
    pub const BAD_SIGNATURE: &str = "bad_signature";
    /// The request body or a parameter is not of the expected form.
    pub const MALFORMED: &str = "malformed";
    /// The body is larger than the node accepts.
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    /// The statement is for another network.
    pub const WRONG_NETWORK: &str = "wrong_network";
    /// Nothing is there.
    pub const NOT_FOUND: &str = "not_found";
    /// The client sent too many requests; retry later.
    pub const RATE_LIMITED: &str = "rate_limited";
    /// The request took too long.
    pub const TIMEOUT: &str = "timeout";
    /// The request's body did not arrive in time.
    pub const BODY_TIMEOUT: &str = "body_timeout";
    /// The node cannot accept writes now (storage failed, or shutting down).
    pub const UNAVAILABLE: &str = "unavailable";
    /// Something failed inside the node; details are in its log.
    pub const INTERNAL: &str = "internal";
    /// A signed read request is missing or invalid.
    pub const UNAUTHORIZED: &str = "unauthorized";
    /// The signed read request is valid, but the key may not read this.
    pub const FORBIDDEN: &str = "forbidden";
    /// A signed read request's time is too far from the node's clock.
    pub const STALE_REQUEST: &str = "stale_request";
    /// Uploaded bytes do not hash to the content hash in the path.
    pub const HASH_MISMATCH: &str = "hash_mismatch";
    /// The method is not allowed on this path.
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    /// The request is valid but conflicts with the log (e.g. an upload of
    /// an attachment nobody committed to).
    pub const NOT_COMMITTED: &str = "not_committed";
    /// 409: a peer with that log's origin is followed already, at another URL or key.
    pub const PEER_CONFLICT: &str = "peer_conflict";
    /// 501: an entry bundle would hold a leaf longer than its `u16` length can say.
    pub const ENTRY_TOO_LARGE: &str = "entry_too_large";
    /// 500: a proof made from the node's stored tree hashes does not verify:
    /// its tree files are damaged, and it serves no proof it cannot stand by.
    pub const TREE_DAMAGED: &str = "tree_damaged";

    /// Every code above, for clients that must explain each one.
    pub const ALL: &[&str] = &[
        BAD_SIGNATURE,
        MALFORMED,
        PAYLOAD_TOO_LARGE,
        WRONG_NETWORK,
        NOT_FOUND,
        RATE_LIMITED,
        TIMEOUT,
        BODY_TIMEOUT,
        UNAVAILABLE,
        INTERNAL,
        UNAUTHORIZED,
        FORBIDDEN,
        STALE_REQUEST,
        HASH_MISMATCH,
        METHOD_NOT_ALLOWED,
        NOT_COMMITTED,
        PEER_CONFLICT,
        ENTRY_TOO_LARGE,
        TREE_DAMAGED,
    ];
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                code: code.to_owned(),
                message: message.into(),
                home_log: None,
                home_url: None,
            },
        }
    }

    /// 400 `malformed`.
    pub fn malformed(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code::MALFORMED, message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, code::NOT_FOUND, message)
    }

    /// 413 `payload_too_large`.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            code::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than this node accepts ({limit} bytes)"),
        )
    }

    /// 503 `unavailable`.
    pub fn unavailable() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            code::UNAVAILABLE,
            "the node cannot make writes durable right now; retry later (re-submitting is safe)",
        )
    }

    /// 500 `internal`, after logging the cause.
    pub fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error while serving a request");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL,
            "the node failed to serve this request; the operator can find details in its log",
        )
    }

    /// A governance rejection: 403 for authority (who may say this), 409 for
    /// state (what may be said now), 422 for a statement that refers to
    /// what is unknown or of the wrong kind.
    pub fn rejected(r: &Rejection) -> ApiError {
        let status = match r.code.as_str() {
            "not_a_member" | "not_requester" | "not_author" | "not_governing_body"
            | "not_placing_body" | "key_revoked" | "key_rotated" => StatusCode::FORBIDDEN,
            "wrong_home_log" => StatusCode::MISDIRECTED_REQUEST,
            "unknown_reference"
            | "wrong_reference"
            | "excluded_reference"
            | "conditions_mismatch"
            | "invalid_amendment"
            | "excluded_use" => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::CONFLICT,
        };
        ApiError {
            status,
            body: ErrorBody {
                code: r.code.as_str().to_owned(),
                message: r.message.clone(),
                home_log: r.home_log.clone(),
                home_url: None,
            },
        }
    }

    /// Names the URL of the node that runs the right home log, so a
    /// client can resubmit there.
    pub fn with_home_url(mut self, url: Option<String>) -> ApiError {
        if let Some(url) = url {
            self.body.message = format!("{} It runs at {url}.", self.body.message);
            self.body.home_url = Some(url);
        }
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body.
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }

    /// Takes the body out.
    pub fn into_body(self) -> ErrorBody {
        self.body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("1"));
        }
        // A body refused as too large was not read to its end, so the
        // connection cannot carry another request: say so, or a client
        // would send its next request on a connection about to close.
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        response
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        ApiError::internal(&e)
    }
}

impl From<ProofFailure> for ApiError {
    fn from(e: ProofFailure) -> Self {
        match e {
            ProofFailure::Request(m) => ApiError::malformed(m),
            ProofFailure::Storage(s) => ApiError::internal(&s),
        }
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
