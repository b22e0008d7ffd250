//! Governance queries: bodies, members, datasets, requests (filtered and
//! paged), a request's timeline, rāhui in force, overdue reports, open
//! concerns, excluded statements and the state hash.
//!
//! Each handler is a thin call into the governance crate's query functions
//! over the governance tables in sled; time-dependent answers (status,
//! rāhui in force, overdue reports) use the node's clock as `now`. Records
//! are served as governance serialises them. Listings are pages:
//! `{"items": [...], "next": "<cursor>" | null}`; pass `after=<cursor>` for
//! the next page.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use kaitiaki_governance::lists::{self, RequestFilter};
use kaitiaki_governance::{query, Cursor, KeyBytes, Page, RequestStatus, StateError};
use kaitiaki_protocol::{PublicKey, StatementId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{AppState, Path, Query};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::storage::state::StateTrees;

/// The governance routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/state/hash", get(state_hash))
        .route("/v1/bodies", get(bodies))
        .route("/v1/bodies/{id}", get(body))
        .route("/v1/bodies/{id}/members", get(members))
        .route("/v1/bodies/{id}/datasets", get(body_datasets))
        .route("/v1/bodies/{id}/waiting", get(waiting))
        .route("/v1/datasets", get(datasets))
        .route("/v1/datasets/{id}", get(dataset))
        .route("/v1/requests", get(requests))
        .route("/v1/requests/{id}", get(request))
        .route("/v1/rahui", get(rahui))
        .route("/v1/reports/overdue", get(overdue))
        .route("/v1/reports/due", get(due_soon))
        .route("/v1/concerns", get(concerns))
        .route("/v1/concerns/{id}", get(concern))
        .route("/v1/excluded", get(excluded))
        .route("/v1/keys/{key}", get(key))
        .route("/v1/statements/{id}/state", get(statement_state))
}

/// The OpenAPI paths of this module.
#[derive(OpenApi)]
#[openapi(
    paths(
        state_hash,
        bodies,
        body,
        members,
        body_datasets,
        waiting,
        datasets,
        dataset,
        requests,
        request,
        rahui,
        overdue,
        due_soon,
        concerns,
        concern,
        excluded,
        key,
        statement_state,
        statements_starting
    ),
    components(schemas(
        Listing,
        StateHash,
        RequestJson,
        SuspendedBy,
        UnlistedUses,
        UncheckedExclusions,
        Found
    ))
)]
pub struct StateDoc;

/// A request with its status and whole story at the node's `now`, as
/// `GET /v1/requests/{id}` serves it. Only the OpenAPI document uses this
/// type: the handler serves governance's `query::RequestView`, and the
/// schema test checks that the two agree.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RequestJson {
    /// The request's submission id.
    pub id: String,
    /// What was asked for, as signed: purpose, Five Safes, uses, duration.
    #[schema(value_type = Object)]
    pub submit: Value,
    /// Whether the request counts, and why not.
    #[schema(value_type = Object)]
    pub verdict: Value,
    /// Its status now (`submitted`, `under_review`, `approved`, `declined`,
    /// `withdrawn`, `suspended`, `revoked`, `expired`, `completed`), when it
    /// counts.
    pub status: Option<String>,
    /// The derived record: each body's decision and tally (before any vote,
    /// every member yet to vote), the approval, conditions, expiry,
    /// renewals, motions, reports and outputs.
    #[schema(value_type = Object)]
    pub record: Option<Value>,
    /// Reports overdue now.
    #[schema(value_type = Vec<Object>)]
    pub overdue: Vec<Value>,
    /// The next report due, if the schedule asks for more.
    #[schema(value_type = Object)]
    pub next_report: Option<Value>,
    /// Every statement about it, in order, with verdicts.
    #[schema(value_type = Vec<Object>)]
    pub timeline: Vec<Value>,
    /// Why access is paused now: empty unless `status` is `suspended`, and
    /// then every rāhui and every suspension by motion in force.
    pub suspended_by: Vec<SuspendedBy>,
    /// Why no board can vote on it now: empty unless it awaits its decision
    /// (`submitted` or `under-review`), and then every rāhui in force on
    /// its datasets; votes are refused until each has ended or been lifted.
    pub votes_paused_by: Vec<SuspendedBy>,
    /// For each dataset asked for that lists permitted uses, the uses the
    /// request asks for beyond them (codes compared as written), for the
    /// boards to weigh: nothing is refused for this.
    pub unlisted_uses: Vec<UnlistedUses>,
    /// For a request that names no uses: each dataset asked for that lists
    /// uses it never allows, with those uses, which nothing was checked
    /// against; the boards weigh the purpose against them.
    pub unchecked_exclusions: Vec<UncheckedExclusions>,
    /// For each renewal every body approved: `{"renewal", "days"}`, the
    /// days it added (fewer than asked when a board's conditions allow
    /// fewer).
    pub renewals_granted: Vec<Value>,
    /// The ids of carried motions that changed nothing (a suspension by a
    /// body that had already suspended, a reinstatement by one that had
    /// not).
    pub motions_without_effect: Vec<String>,
}

/// The uses a dataset never allows, for a request that names none. For
/// the OpenAPI document only, as [`RequestJson`].
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UncheckedExclusions {
    /// The dataset's id.
    pub dataset: String,
    /// The uses it never allows.
    pub excluded: Vec<String>,
}

/// Uses a request asks for that one of its datasets does not list among
/// its permitted uses. For the OpenAPI document only, as [`RequestJson`].
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UnlistedUses {
    /// The dataset's id.
    pub dataset: String,
    /// The uses it lists as permitted.
    pub permitted: Vec<String>,
    /// The uses asked for that it does not list.
    pub asked: Vec<String>,
}

/// One reason an approved request is suspended now: a rāhui in force on
/// one of its datasets (`kind` `rahui`), or a governing body's suspend
/// motion that passed and was not reinstated (`kind` `motion`). For the
/// OpenAPI document only, as [`RequestJson`].
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SuspendedBy {
    /// `rahui` or `motion`.
    pub kind: String,
    /// For a rāhui: the `rahui.place` statement id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rahui: Option<String>,
    /// For a rāhui: the dataset it restricts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// For a motion: the `approval.motion` statement id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motion: Option<String>,
    /// The body that placed the rāhui or passed the motion.
    pub body: String,
    /// Why, in the body's words: the rāhui's reason, or the motion's.
    pub reason: String,
    /// Where it took effect: the rāhui's placement, or the motion's
    /// deciding vote, as `{"at", "log", "index"}` in the body's home log.
    #[schema(value_type = Object)]
    pub since: Value,
    /// For a rāhui: when it ends by itself (RFC 3339), or null until lifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// A page of a listing.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Listing {
    /// The items.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
    /// The cursor of the next page (`after=`), or null on the last page.
    pub next: Option<String>,
}

/// Paging parameters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PageQuery {
    /// The cursor a previous page returned as `next`.
    pub after: Option<String>,
    /// The most items to return: at least 1, at most the node's page limit.
    #[param(minimum = 1)]
    pub limit: Option<usize>,
}

/// Which reports coming due to list, and paging.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DueQuery {
    /// How many days ahead to look: 1 to 366, 42 (six weeks) if not given.
    pub within_days: Option<u32>,
    /// The cursor a previous page returned as `next`.
    pub after: Option<String>,
    /// The most items to return: at least 1, at most the node's page limit.
    #[param(minimum = 1)]
    pub limit: Option<usize>,
}

/// The state hash.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct StateHash {
    /// The governance state hash, hex: equal on two nodes exactly when
    /// their states are.
    pub state_hash: String,
    /// How many of the node's own leaves the state covers. Read together
    /// with the hash, never during a commit; it may briefly run ahead of
    /// the published checkpoint.
    pub size: u64,
    /// How many leaves of each mirror the state covers (mirrors holding
    /// none are left out).
    pub mirrors: BTreeMap<String, u64>,
    /// The version of the governance rules and tables the state was built
    /// under: hashes of states of different versions are not comparable.
    pub state_version: u32,
}

fn id(text: &str) -> ApiResult<StatementId> {
    StatementId::from_hex(text)
        .ok_or_else(|| ApiError::malformed("an id is 64 lowercase hex digits"))
}

fn state_error(e: StateError) -> ApiError {
    ApiError::internal(&e)
}

/// Runs a query on the blocking pool (sled reads block), between two
/// commits so that everything it reads agrees, and serialises it.
async fn run<T: Serialize + Send + 'static>(
    app: &AppState,
    f: impl Fn(&StateTrees) -> Result<T, StateError> + Send + 'static,
) -> ApiResult<Value> {
    let shared = app.shared.clone();
    let out = super::blocking(move || {
        let storage = &shared.storage;
        storage
            .consistent(|| f(storage.state()))
            .map_err(state_error)
    })
    .await?;
    serde_json::to_value(out).map_err(|e| ApiError::internal(&e))
}

/// Like [`run`], for a record that may not exist.
async fn run_one<T: Serialize + Send + 'static>(
    app: &AppState,
    what: &str,
    f: impl Fn(&StateTrees) -> Result<Option<T>, StateError> + Send + 'static,
) -> ApiResult<Json<Value>> {
    match run(app, f).await? {
        Value::Null => Err(ApiError::not_found(format!("no such {what}"))),
        v => Ok(Json(v)),
    }
}

/// The cursor and page size of a listing's `after` and `limit` parameters.
fn paging(
    app: &AppState,
    after: Option<&str>,
    limit: Option<usize>,
) -> ApiResult<(Option<Cursor>, usize)> {
    let after = after
        .map(|c| {
            Cursor::from_hex(c)
                .ok_or_else(|| ApiError::malformed("after is a cursor from a previous page"))
        })
        .transpose()?;
    // A page of nothing, with no next cursor, would read as the end of
    // the list.
    if limit == Some(0) {
        return Err(ApiError::malformed("limit must be at least 1"));
    }
    let max = (app.shared.config.limits.max_page as usize).min(lists::MAX_PAGE);
    Ok((after, limit.unwrap_or(max).min(max)))
}

/// A pair `(id, record)` as one object: the record's fields plus `id`.
#[derive(Serialize)]
struct WithId<T> {
    id: StatementId,
    #[serde(flatten)]
    record: T,
}

fn with_ids<T>(page: Page<(StatementId, T)>) -> Page<WithId<T>> {
    Page {
        items: page
            .items
            .into_iter()
            .map(|(id, record)| WithId { id, record })
            .collect(),
        next: page.next,
    }
}

/// Get the governance state hash, with the log sizes it covers.
#[utoipa::path(get, path = "/v1/state/hash", responses((status = 200, body = StateHash)))]
pub async fn state_hash(State(app): State<AppState>) -> ApiResult<Json<StateHash>> {
    let shared = app.shared.clone();
    let read = super::blocking(move || {
        let storage = &shared.storage;
        storage.consistent(|| -> ApiResult<StateHash> {
            let hash = query::state_hash(storage.state()).map_err(state_error)?;
            let size = storage.indexed_size()?;
            let mut mirrors = BTreeMap::new();
            for m in storage.mirrors()? {
                let held = m.size()?;
                if held > 0 {
                    mirrors.insert(m.origin().to_owned(), held);
                }
            }
            Ok(StateHash {
                state_hash: hex::encode(hash),
                size,
                mirrors,
                state_version: kaitiaki_governance::STATE_VERSION,
            })
        })
    })
    .await?;
    Ok(Json(read))
}

/// List governance bodies.
#[utoipa::path(get, path = "/v1/bodies", params(PageQuery), responses((status = 200, body = Listing)))]
pub async fn bodies(
    State(app): State<AppState>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Listing>> {
    let (after, limit) = paging(&app, q.after.as_deref(), q.limit)?;
    listing_of(&app, move |s| {
        lists::bodies(s, after.as_ref(), limit).map(with_ids)
    })
    .await
}

/// Get a body with its charter versions.
#[utoipa::path(
    get, path = "/v1/bodies/{id}",
    params(("id" = String, Path, description = "The body's charter id")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody))
)]
pub async fn body(State(app): State<AppState>, Path(text): Path<String>) -> ApiResult<Json<Value>> {
    let id = id(&text)?;
    run_one(&app, "body", move |s| query::body(s, &id)).await
}

/// List a body's members under the charter in force.
#[utoipa::path(
    get, path = "/v1/bodies/{id}/members",
    params(("id" = String, Path, description = "The body's charter id")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody))
)]
pub async fn members(
    State(app): State<AppState>,
    Path(text): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = id(&text)?;
    // No body has no members: say so, rather than list none.
    run_one(&app, "body", move |s| match query::body(s, &id)? {
        Some(_) => query::members(s, &id).map(Some),
        None => Ok(None),
    })
    .await
}

/// What waits for a body's vote at the node's `now`: the requests it has
/// not decided (with a notice period still running, or a rāhui holding up
/// the votes), the renewals it has not answered, the motions put to it and
/// the changes to its charter not decided yet, oldest first in each list;
/// `more` is true when the body has more than 10,000 requests, of which
/// only the oldest were read.
#[utoipa::path(
    get, path = "/v1/bodies/{id}/waiting",
    params(("id" = String, Path, description = "The body's charter id")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody))
)]
pub async fn waiting(
    State(app): State<AppState>,
    Path(text): Path<String>,
) -> ApiResult<Json<Value>> {
    let (id, now) = (id(&text)?, app.shared.clock.now());
    run_one(&app, "body", move |s| lists::waiting(s, &id, now)).await
}

/// List the datasets a body governs.
#[utoipa::path(
    get, path = "/v1/bodies/{id}/datasets",
    params(("id" = String, Path, description = "The body's charter id"), PageQuery),
    responses((status = 200, body = Listing), (status = 404, body = ErrorBody))
)]
pub async fn body_datasets(
    State(app): State<AppState>,
    Path(text): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Listing>> {
    let id = id(&text)?;
    let (after, limit) = paging(&app, q.after.as_deref(), q.limit)?;
    // Bodies are never removed, so one that exists now still does below.
    let _exists = run_one(
        &app,
        "body",
        move |s| Ok(query::body(s, &id)?.map(|_| true)),
    )
    .await?;
    listing_of(&app, move |s| {
        lists::datasets_of_body(s, &id, after.as_ref(), limit).map(with_ids)
    })
    .await
}

/// List datasets.
#[utoipa::path(get, path = "/v1/datasets", params(PageQuery), responses((status = 200, body = Listing)))]
pub async fn datasets(
    State(app): State<AppState>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Listing>> {
    let (after, limit) = paging(&app, q.after.as_deref(), q.limit)?;
    listing_of(&app, move |s| {
        lists::datasets(s, after.as_ref(), limit).map(with_ids)
    })
    .await
}

/// Get a dataset, its rāhui in force and its thread.
#[utoipa::path(
    get, path = "/v1/datasets/{id}",
    params(("id" = String, Path, description = "The dataset's registration id")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody))
)]
pub async fn dataset(
    State(app): State<AppState>,
    Path(text): Path<String>,
) -> ApiResult<Json<Value>> {
    let (id, now) = (id(&text)?, app.shared.clock.now());
    run_one(&app, "dataset", move |s| query::dataset(s, &id, now)).await
}

/// Request filters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct RequestsQuery {
    /// Only this status: submitted, under_review, approved, declined,
    /// withdrawn, suspended, revoked, expired, completed.
    pub status: Option<String>,
    /// Only requests for this dataset.
    pub dataset: Option<String>,
    /// Only requests this body must decide.
    pub body: Option<String>,
    /// Only requests by this key (hex), or by the one requester whose key
    /// begins with these hex digits (at least 8).
    pub requester: Option<String>,
    /// The cursor a previous page returned.
    pub after: Option<String>,
    /// The most items to return: at least 1, at most the node's page limit.
    #[param(minimum = 1)]
    pub limit: Option<usize>,
}

/// List requests, filtered.
#[utoipa::path(get, path = "/v1/requests", params(RequestsQuery), responses((status = 200, body = Listing), (status = 400, body = ErrorBody)))]
pub async fn requests(
    State(app): State<AppState>,
    Query(q): Query<RequestsQuery>,
) -> ApiResult<Json<Listing>> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            serde_json::from_value::<RequestStatus>(Value::String(s.to_owned()))
                .map_err(|_| ApiError::malformed(format!("unknown request status {s:?}")))
        })
        .transpose()?;
    let requester = match q.requester.as_deref() {
        None => None,
        Some(k) if k.len() == 64 => Some(
            PublicKey::from_hex(k)
                .map(|k| KeyBytes::of(&k))
                .map_err(|e| ApiError::malformed(format!("requester: {e}")))?,
        ),
        Some(k) => Some(requester_by_prefix(&app, k).await?),
    };
    let filter = RequestFilter {
        status,
        dataset: q.dataset.as_deref().map(id).transpose()?,
        body: q.body.as_deref().map(id).transpose()?,
        requester,
    };
    let (after, limit) = paging(&app, q.after.as_deref(), q.limit)?;
    let now = app.shared.clock.now();
    listing_of(&app, move |s| {
        lists::requests(s, &filter, now, after.as_ref(), limit)
    })
    .await
}

/// How many hex digits of a requester's key, at least, `requester` takes
/// in place of the whole key (as the pages show keys).
const REQUESTER_PREFIX: usize = 8;

/// The one requester whose key begins with the hex digits `prefix`: 404
/// when no request was made with such a key, 400 naming the keys when
/// more than one begins so.
async fn requester_by_prefix(app: &AppState, prefix: &str) -> ApiResult<KeyBytes> {
    if prefix.len() < REQUESTER_PREFIX || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::malformed(format!(
            "requester: a key is 64 hex digits, or at least its first {REQUESTER_PREFIX} when \
             they belong to one requester"
        )));
    }
    let lower = prefix.to_ascii_lowercase();
    let shared = app.shared.clone();
    let found = super::blocking(move || {
        let storage = &shared.storage;
        storage
            .consistent(|| lists::requesters_with_prefix(storage.state(), &lower, 6))
            .map_err(state_error)
    })
    .await?;
    match found.as_slice() {
        [] => Err(ApiError::not_found(format!(
            "no request here was made with a key that begins with {prefix}"
        ))),
        [one] => Ok(*one),
        many => Err(ApiError::malformed(format!(
            "more than one requester's key begins with {prefix} ({}{}); give more of it",
            many.iter()
                .take(5)
                .map(KeyBytes::to_hex)
                .collect::<Vec<_>>()
                .join(", "),
            if many.len() > 5 { ", …" } else { "" }
        ))),
    }
}

/// Get a request with its status, full timeline and, when suspended, what suspends it.
#[utoipa::path(
    get, path = "/v1/requests/{id}",
    params(("id" = String, Path, description = "The request's submission id")),
    responses((status = 200, body = RequestJson), (status = 404, body = ErrorBody))
)]
pub async fn request(
    State(app): State<AppState>,
    Path(text): Path<String>,
) -> ApiResult<Json<Value>> {
    let (id, now) = (id(&text)?, app.shared.clock.now());
    run_one(&app, "request", move |s| query::request(s, &id, now)).await
}

/// List rāhui in force now.
#[utoipa::path(get, path = "/v1/rahui", params(PageQuery), responses((status = 200, body = Listing)))]
pub async fn rahui(
    State(app): State<AppState>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Listing>> {
    let (after, limit) = paging(&app, q.after.as_deref(), q.limit)?;
    let now = app.shared.clock.now();
    listing_of(&app, move |s| {
        lists::rahui_in_force(s, now, after.as_ref(), limit)
    })
    .await
}

/// List requests with use reports overdue now.
#[utoipa::path(get, path = "/v1/reports/overdue", params(PageQuery), responses((status = 200, body = Listing)))]
pub async fn overdue(
    State(app): State<AppState>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Listing>> {
    let (after, limit) = paging(&app, q.after.as_deref(), q.limit)?;
    let now = app.shared.clock.now();
    listing_of(&app, move |s| {
        lists::overdue_reports(s, now, after.as_ref(), limit)
    })
    .await
}

/// List requests with nothing overdue whose next use report falls due
/// within the coming days, soonest first.
#[utoipa::path(get, path = "/v1/reports/due", params(DueQuery), responses((status = 200, body = Listing)))]
pub async fn due_soon(
    State(app): State<AppState>,
    Query(q): Query<DueQuery>,
) -> ApiResult<Json<Listing>> {
    let days = q.within_days.unwrap_or(lists::DUE_SOON_DAYS);
    if !(1..=366).contains(&days) {
        return Err(ApiError::malformed(
            "within_days is a number of days from 1 to 366",
        ));
    }
    let (after, limit) = paging(&app, q.after.as_deref(), q.limit)?;
    let now = app.shared.clock.now();
    let until = now.plus_days(days);
    listing_of(&app, move |s| {
        lists::reports_due_soon(s, now, until, after.as_ref(), limit)
    })
    .await
}

/// A short id to look up.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PrefixQuery {
    /// The first hex digits of an id (8 to 64, lowercase), as the pages
    /// show a short id.
    pub prefix: String,
}

/// A statement found by the start of its id.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Found {
    /// Its whole id.
    pub id: String,
    /// Its kind, e.g. `request.submit`.
    pub kind: String,
}

/// The statements found by the start of an id.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct FoundList {
    /// At most ten, in id order.
    pub items: Vec<Found>,
}

/// The most statements a short id lists.
const FOUND_MAX: usize = 10;

/// Statements the state holds whose id starts with `prefix`: the whole id
/// for a short one copied from a page.
#[utoipa::path(
    get, path = "/v1/statements", params(PrefixQuery),
    responses((status = 200, body = FoundList), (status = 400, body = ErrorBody))
)]
pub async fn statements_starting(
    State(app): State<AppState>,
    Query(q): Query<PrefixQuery>,
) -> ApiResult<Json<FoundList>> {
    let prefix = q.prefix;
    let digits = query::SHORT_ID_DIGITS;
    if !(digits..=64).contains(&prefix.len())
        || !prefix
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(ApiError::malformed(format!(
            "prefix is {digits} to 64 lowercase hex digits"
        )));
    }
    let found = run(&app, move |s| {
        Ok(query::ids_starting(s, &prefix, FOUND_MAX)?
            .into_iter()
            .map(|(id, kind)| Found {
                id: id.to_hex(),
                kind: kind.name().to_owned(),
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(FoundList {
        items: serde_json::from_value(found).map_err(|e| ApiError::internal(&e))?,
    }))
}

/// List open concerns.
#[utoipa::path(get, path = "/v1/concerns", params(PageQuery), responses((status = 200, body = Listing)))]
pub async fn concerns(
    State(app): State<AppState>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Listing>> {
    let (after, limit) = paging(&app, q.after.as_deref(), q.limit)?;
    listing_of(&app, move |s| {
        lists::open_concerns(s, after.as_ref(), limit)
    })
    .await
}

/// Get a concern and the responses to it.
#[utoipa::path(
    get, path = "/v1/concerns/{id}",
    params(("id" = String, Path, description = "The concern's id")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody))
)]
pub async fn concern(
    State(app): State<AppState>,
    Path(text): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = id(&text)?;
    run_one(&app, "concern", move |s| query::concern(s, &id)).await
}

/// List statements excluded from the state, with the rule each broke.
#[utoipa::path(get, path = "/v1/excluded", params(PageQuery), responses((status = 200, body = Listing)))]
pub async fn excluded(
    State(app): State<AppState>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Listing>> {
    let (after, limit) = paging(&app, q.after.as_deref(), q.limit)?;
    listing_of(&app, move |s| lists::excluded(s, after.as_ref(), limit)).await
}

/// Get what the state knows about a key: name, affiliation, end, lineage.
#[utoipa::path(
    get, path = "/v1/keys/{key}",
    params(("key" = String, Path, description = "A public key, 64 hex digits")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody))
)]
pub async fn key(State(app): State<AppState>, Path(text): Path<String>) -> ApiResult<Json<Value>> {
    let key = PublicKey::from_hex(&text).map_err(|e| ApiError::malformed(format!("key: {e}")))?;
    run_one(&app, "key", move |s| query::key(s, &KeyBytes::of(&key))).await
}

/// Get whether a statement counts, and why not.
#[utoipa::path(
    get, path = "/v1/statements/{id}/state",
    params(("id" = String, Path, description = "Statement id")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody))
)]
pub async fn statement_state(
    State(app): State<AppState>,
    Path(text): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = id(&text)?;
    run_one(&app, "statement", move |s| query::statement_state(s, &id)).await
}

async fn listing_of<T: Serialize + Send + 'static>(
    app: &AppState,
    f: impl Fn(&StateTrees) -> Result<Page<T>, StateError> + Send + 'static,
) -> ApiResult<Json<Listing>> {
    let page = run(app, f).await?;
    Ok(Json(
        serde_json::from_value(page).map_err(|e| ApiError::internal(&e))?,
    ))
}
