//! The HTTP API: routes, shared handler state and the middleware every
//! request passes through.
//!
//! Read in this order: [`write`] (the one write path), [`log`] (checkpoints,
//! leaves, statements and proofs), [`state`] (governance queries),
//! [`events`] (the SSE stream), [`attachments`] (confidential files and the
//! signed read request), [`ops`] (health, metrics, OpenAPI).
//!
//! Middleware, outermost first: request metrics and tracing → per-client
//! rate limit → request timeout (not on the event stream) → handler.
//! Errors from any of them are JSON `{"code","message"}` ([`crate::error`]).

pub mod attachments;
pub mod events;
pub mod federation;
pub mod log;
pub mod ops;
pub mod state;
pub mod tiles;
pub mod write;

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{code, ApiError, ApiResult};
use crate::node::{Node, Shared};
use crate::sequencer::SequencerHandle;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub(crate) shared: Arc<Shared>,
    pub(crate) sequencer: SequencerHandle,
    limiter: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    /// The separate budget for the log's tiles (`/tlog/…`).
    tile_limiter: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    /// The state for `node`'s handlers.
    pub fn new(node: &Node) -> AppState {
        let limits = &node.config().limits;
        AppState {
            shared: Arc::clone(node.shared()),
            sequencer: node.sequencer(),
            limiter: keyed_limiter(limits.rate_per_second, limits.rate_burst),
            tile_limiter: keyed_limiter(limits.tile_rate_per_second, limits.tile_rate_burst),
        }
    }
}

/// A per-address limiter of `rate` a second with bursts of `burst` (at
/// least `rate`), or none when `rate` is 0.
fn keyed_limiter(rate: u32, burst: u32) -> Option<Arc<DefaultKeyedRateLimiter<IpAddr>>> {
    let rate = NonZeroU32::new(rate)?;
    let burst = NonZeroU32::new(burst).unwrap_or(rate);
    Some(Arc::new(RateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    )))
}

/// The whole API as a router, ready to serve. Client addresses (for the
/// rate limit) come from `ConnectInfo<SocketAddr>`, so serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()`; without it the
/// rate limit is not applied.
pub fn app(node: &Node) -> Router {
    router(AppState::new(node))
}

/// The router over an [`AppState`].
pub fn router(state: AppState) -> Router {
    let limits = state.shared.config.limits.clone();
    let api = Router::new()
        .route(
            "/v1/statements",
            get(state::statements_starting).post(write::submit),
        )
        .route("/v1/statements/{id}", get(log::statement))
        .route("/v1/checkpoint", get(log::checkpoint))
        .route("/v1/checkpoint/note", get(log::checkpoint_note))
        .route("/v1/checkpoints/{size}", get(log::checkpoint_at))
        .route("/v1/leaves", get(log::leaves))
        .route("/v1/proofs/inclusion", get(log::inclusion))
        .route("/v1/proofs/consistency", get(log::consistency))
        .route("/v1/leaves/raw", get(federation::leaves_raw))
        .route(
            "/v1/peers",
            get(federation::peers).post(federation::add_peer),
        )
        .route(
            "/v1/peers/{origin}",
            axum::routing::delete(federation::remove_peer),
        )
        .route(
            "/v1/peers/{origin}/quarantine",
            axum::routing::delete(federation::forgive),
        )
        .route("/v1/mirrors", get(federation::mirrors))
        .route(
            "/v1/mirrors/{origin}/leaves/raw",
            get(federation::mirror_leaves_raw),
        )
        .route(
            "/v1/mirrors/{origin}/proofs/consistency",
            get(federation::mirror_consistency),
        )
        .route("/v1/evidence", get(federation::evidence))
        .merge(state::routes())
        .merge(crate::pages::routes())
        .merge(crate::witness::routes())
        .merge(tiles::routes())
        .route("/v1/events", get(events::stream))
        .route(
            "/v1/attachments/{hash}",
            put(attachments::upload)
                .get(attachments::download)
                .delete(attachments::erase)
                .layer(DefaultBodyLimit::max(limits.max_attachment_bytes)),
        )
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .fallback(crate::pages::fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), timeout))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(middleware::from_fn_with_state(state.clone(), observe));
    api.with_state(state)
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see /openapi.json")
}

/// Runs `f` on the blocking pool, where storage reads and the syncs of
/// what must be durable before an answer belong, and turns its error (or
/// a task that stopped) into the API's.
pub(crate) async fn blocking<T, E>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> ApiResult<T>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(Into::into)
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        code::METHOD_NOT_ALLOWED,
        "this endpoint does not accept that method; see /openapi.json",
    )
}

/// Records latency by route and logs each request.
async fn observe(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().clone();
    let response = next.run(req).await;
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    app.shared.metrics.observe_request(&route, status, elapsed);
    tracing::debug!(%method, route, status, micros = elapsed.as_micros() as u64, "request");
    response
}

/// Per-client-address rate limit (GCRA), answered with 429 `rate_limited`.
/// The log's tiles are counted against a budget of their own, so that a
/// monitor reading them neither runs into the API's limit nor uses it up.
async fn rate_limit(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let limiter = if req.uri().path().starts_with("/tlog/") {
        app.tile_limiter.as_ref()
    } else {
        app.limiter.as_ref()
    };
    if let (Some(limiter), Some(ConnectInfo(addr))) =
        (limiter, req.extensions().get::<ConnectInfo<SocketAddr>>())
    {
        if limiter.check_key(&addr.ip()).is_err() {
            return ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                code::RATE_LIMITED,
                "too many requests from this address; slow down and retry",
            )
            .into_response();
        }
        // The limiter keeps one small entry per address; forget idle ones
        // now and then so a scan of many addresses cannot grow it forever.
        if limiter.len() > 10_000 {
            limiter.retain_recent();
        }
    }
    next.run(req).await
}

/// Answers when a request runs too long: with 408 `body_timeout` when its
/// body had not all arrived (the client was slow, and nothing was written),
/// else with 503 `timeout`. The event stream is exempt: it is meant to
/// stay open.
///
/// A write that times out with its body received may still be sequenced;
/// re-submitting it is safe and returns its leaf.
async fn timeout(State(app): State<AppState>, req: Request, next: Next) -> Response {
    if req.uri().path() == "/v1/events" {
        return next.run(req).await;
    }
    let limit = Duration::from_millis(app.shared.config.limits.request_timeout_ms);
    let (req, received) = watch_body(req);
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_)
            if received
                .as_ref()
                .is_some_and(|r| !r.load(std::sync::atomic::Ordering::Acquire)) =>
        {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                code::BODY_TIMEOUT,
                format!(
                    "the request's body did not all arrive within {} ms; nothing was written",
                    limit.as_millis()
                ),
            )
            .into_response()
        }
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            code::TIMEOUT,
            "the request took too long; retry (re-submitting a statement is safe)",
        )
        .into_response(),
    }
}

/// Whether a request's body has all been read: set by [`Body`] once it
/// has read it, for [`timeout`] to tell a slow client from a slow node.
/// Every handler that takes a body reads it through [`Body`]. A mark on the
/// request rather than a wrapper around its body: the body keeps its size
/// hint, so reading it still allocates once.
#[derive(Clone, Debug)]
struct BodyReceived(Arc<std::sync::atomic::AtomicBool>);

/// `req` with an unset [`BodyReceived`] mark when it declares a body, and
/// that mark; a request without one (most reads, every tile) costs nothing.
fn watch_body(mut req: Request) -> (Request, Option<Arc<std::sync::atomic::AtomicBool>>) {
    let headers = req.headers();
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > 0)
        || headers.contains_key(axum::http::header::TRANSFER_ENCODING);
    if !declared {
        return (req, None);
    }
    let received = Arc::new(std::sync::atomic::AtomicBool::new(false));
    req.extensions_mut()
        .insert(BodyReceived(Arc::clone(&received)));
    (req, Some(received))
}

/// A request body read under the route's size limit, with the limit and
/// read failures reported as API errors.
#[derive(Debug)]
pub struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        use axum::body::HttpBody;
        use axum::RequestExt;
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                code::PAYLOAD_TOO_LARGE,
                "the request body is larger than this node accepts",
            )
        };
        let mark = req.extensions().get::<BodyReceived>().cloned();
        // A body whose declared length is over the route's limit is refused
        // before any of it is read, so a client cannot hold the connection
        // open sending it: the limited body's hint is capped at the limit.
        let declared = req.body().size_hint().lower();
        let req = req.with_limited_body();
        if req
            .body()
            .size_hint()
            .upper()
            .is_some_and(|cap| declared > cap)
        {
            return Err(too_large());
        }
        match Bytes::from_request(req, state).await {
            Ok(bytes) => {
                if let Some(BodyReceived(m)) = mark {
                    m.store(true, std::sync::atomic::Ordering::Release);
                }
                Ok(Body(bytes))
            }
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(too_large()),
            Err(e) => Err(ApiError::malformed(format!(
                "could not read the request body: {e}"
            ))),
        }
    }
}

/// Query-string parsing with failures reported as `malformed`.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S>
    for Query<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| ApiError::malformed(e.body_text()))
    }
}

/// Path parsing with failures reported as `malformed`.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequestParts<S>
    for Path<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| ApiError::malformed(e.body_text()))
    }
}
