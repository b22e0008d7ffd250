//! The community pages, served by every node at `/`: what communities,
//! whānau and governance boards see in their browser.
//!
//! Server-rendered HTML (maud, compiled into the binary) that works with
//! JavaScript off; one small script only adds in-browser signing to the
//! concern form. Read in this order:
//! 1. [`labels`] — every interface word, from one file a board can replace.
//! 2. [`layout`] — the frame and the small pieces pages share.
//! 3. The pages, each a view model and a pure `render`: [`overview`],
//!    [`dataset`], [`request`] (with [`concern`]), [`body`], [`search`],
//!    [`verify`], plus [`chart`] (SVG) and [`feed`] (Atom).
//! 4. [`gather`], [`assemble`] and [`story`] — the only code that reads the
//!    node's state, each call bounded by a page of an index or one record's
//!    story.
//! 5. This module — routes, thin handlers, and the router's fallback (an
//!    HTML 404 for any unknown address outside the API).
//!
//! The routes: `/` (the overview); `/datasets` and `/bodies` (every
//! dataset and every board, a page at a time); `/datasets/{id}`,
//! `/bodies/{id}` and `/requests/{id}` (each taking a short id too, and
//! redirecting), with `/datasets/{id}/feed.atom` and
//! `/bodies/{id}/feed.atom` (Atom feeds, which those pages advertise);
//! `/requests` (every request, filtered); `/records/{id}` (any record,
//! checked against the signed log); `/glossary`; and `/assets/…`.
//!
//! **Invariant:** no page does work proportional to the whole log. Lists
//! walk one page of a governance index by cursor; a record's page reads
//! that record's own statements; the overview's recent decisions read a
//! fixed tail of the log; the chart and feeds read a bounded time window.

pub mod assemble;
pub mod body;
pub mod chart;
pub mod concern;
pub mod dataset;
pub mod feed;
pub mod gather;
pub mod labels;
pub mod layout;
pub mod overview;
pub mod request;
pub mod search;
pub mod story;
pub mod summary;
pub mod verify;

use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use kaitiaki_governance::lists::RequestFilter;
use kaitiaki_governance::Cursor;
use kaitiaki_protocol::StatementId;
use maud::Markup;
use serde::Deserialize;

use crate::api::AppState;
use gather::{parse_id, Ctx, Gathered};
use labels::Labels;
use layout::{Nav, NodeInfo};

/// The style sheet.
pub const STYLE: &str = include_str!("../../assets/style.css");
/// The concern form's script.
pub const CONCERN_JS: &str = include_str!("../../assets/concern.js");

/// What the pages allow the browser to load: only this node, no inline
/// script, no framing.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
     connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The pages' routes, to merge into the node's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview))
        .route("/datasets", get(datasets))
        .route("/datasets/{id}", get(dataset))
        .route("/datasets/{id}/feed.atom", get(dataset_feed))
        .route("/requests", get(search))
        .route("/requests/{id}", get(request))
        .route("/bodies", get(bodies))
        .route("/bodies/{id}", get(body))
        .route("/bodies/{id}/feed.atom", get(body_feed))
        .route("/records/{id}", get(record))
        .route("/glossary", get(glossary))
        .route(
            "/assets/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
        .route(
            "/assets/concern.js",
            get(|| async { asset("text/javascript; charset=utf-8", CONCERN_JS) }),
        )
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// `?after=<cursor>` on paged pages.
#[derive(Debug, Default, Deserialize)]
pub struct After {
    /// The cursor of the previous page's end.
    pub after: Option<String>,
}

/// The node as the frame describes it, with the address the browser used
/// (only host characters are kept, so a forged header cannot inject text).
fn node_info(app: &AppState, headers: &HeaderMap) -> NodeInfo {
    let config = &app.shared.config;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() < 256
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| config.listen.to_string());
    let https = headers
        .get("x-forwarded-proto")
        .is_some_and(|p| p.as_bytes() == b"https");
    NodeInfo {
        origin: config.origin.clone(),
        network: config.network.clone(),
        base_url: format!("{}://{host}", if https { "https" } else { "http" }),
        contact: config.pages.contact().map(str::to_owned),
    }
}

fn labels(app: &AppState) -> Arc<Labels> {
    Labels::for_node(&app.shared.config.data_dir)
}

fn html(status: StatusCode, markup: Markup) -> Response {
    let mut r = (status, markup).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

/// The helpful 404 page.
pub fn not_found_page(l: &Labels, node: &NodeInfo, what: &str, path: &str) -> Response {
    let body = layout::not_found(l, what, path);
    html(
        StatusCode::NOT_FOUND,
        layout::page(l, node, &l.text("not_found"), Nav::None, body),
    )
}

/// Addresses that belong to the API and the witness, where an unknown
/// address keeps the API's JSON error (clients parse it).
const API_PREFIXES: &[&str] = &[
    "/v1",
    "/metrics",
    "/healthz",
    "/openapi.json",
    "/add-checkpoint",
    "/tlog",
];

/// Whether `path` is the API's: one of [`API_PREFIXES`] or below it.
pub fn is_api_path(path: &str) -> bool {
    API_PREFIXES.iter().any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The router's fallback: an unknown API address gets the API's JSON
/// `not_found`; any other unknown address is a page a person mistyped,
/// and gets the helpful HTML 404 page.
pub async fn fallback(State(app): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if is_api_path(path) {
        return crate::api::not_found().await.into_response();
    }
    // Echo a long address only in part: the page is for a person.
    let shown: String = match path.char_indices().nth(200) {
        Some((end, _)) => format!("{}…", &path[..end]),
        None => path.to_owned(),
    };
    not_found_page(&labels(&app), &node_info(&app, &headers), "page", &shown)
}

fn error_page(l: &Labels, node: &NodeInfo, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "a community page could not be built");
    let body = maud::html! {
        h1 { (l.ui("error")) }
        p { "This node could not read its records just now. Nothing has been lost: please try again in a minute." }
        p { "If it keeps happening, tell the people who run this node." }
    };
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        layout::page(l, node, &l.text("error"), Nav::None, body),
    )
}

/// Gathers a view model on the blocking pool (sled reads block), then
/// renders it in the frame; `None` from the gatherer is a 404 for `what`.
async fn respond<V: Send + 'static>(
    app: AppState,
    node: NodeInfo,
    nav: Nav,
    (what, path): (&str, String),
    gather: impl Fn(&Ctx<'_>) -> Gathered<Option<V>> + Send + 'static,
    render: impl FnOnce(&Labels, &V) -> (String, Markup),
) -> Response {
    respond_with_feed(app, node, nav, (what, path), None, gather, render).await
}

/// As [`respond`], for a page with an Atom feed at `feed`, which its head
/// advertises under the feed's own title ("Decisions: " and the page's).
async fn respond_with_feed<V: Send + 'static>(
    app: AppState,
    node: NodeInfo,
    nav: Nav,
    (what, path): (&str, String),
    feed: Option<String>,
    gather: impl Fn(&Ctx<'_>) -> Gathered<Option<V>> + Send + 'static,
    render: impl FnOnce(&Labels, &V) -> (String, Markup),
) -> Response {
    let l = labels(&app);
    let shared = Arc::clone(&app.shared);
    let info = node.clone();
    // Gathered between two commits, so that what one page shows agrees.
    let got = tokio::task::spawn_blocking(move || {
        let at = shared.clock.now();
        shared
            .storage
            .consistent(|| gather(&Ctx::new(&shared, at, info.clone())))
    })
    .await;
    match got {
        Ok(Ok(Some(v))) => {
            let (title, body) = render(&l, &v);
            let feed_title = feed_title(&title);
            let feed = feed.as_deref().map(|href| (href, feed_title.as_str()));
            html(
                StatusCode::OK,
                layout::page_with_feed(&l, &node, &title, nav, feed, body),
            )
        }
        Ok(Ok(None)) => {
            // A whole id at another kind's address (a dataset's id under
            // /requests/) leads to its own page, as its start does.
            let elsewhere = path
                .rsplit('/')
                .next()
                .filter(|id| parse_id(id).is_some())
                .and_then(|id| short_id(&app, id))
                .filter(|page| *page != path);
            match elsewhere {
                Some(page) => Redirect::to(&page).into_response(),
                None => not_found_page(&l, &node, what, &path),
            }
        }
        Ok(Err(e)) => error_page(&l, &node, &e),
        Err(e) => error_page(&l, &node, &e),
    }
}

/// The id a record page's path names; a path that cannot be read (not
/// UTF-8) names no record, and gets the page's "not found" like any other.
fn path_id(p: Result<Path<String>, PathRejection>) -> String {
    p.map(|Path(id)| id).unwrap_or_default()
}

/// Where a list page starts: after the cursor given, or at the beginning
/// when none is given or it cannot be read.
fn cursor(q: &Result<Query<After>, QueryRejection>) -> Option<Cursor> {
    q.as_ref()
        .ok()
        .and_then(|q| q.after.as_deref())
        .filter(|a| !a.is_empty())
        .and_then(Cursor::from_hex)
}

async fn overview(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let node = node_info(&app, &headers);
    respond(
        app,
        node,
        Nav::Overview,
        ("page", "/".into()),
        |c| assemble::overview(c).map(Some),
        |l, v| (l.text("overview"), overview::render(l, v)),
    )
    .await
}

/// A card of a list page, gathered a page at a time.
type Cards<T> = (Vec<T>, Option<String>);

/// A list page, `/datasets` or `/bodies`: one page of cards from `gather`,
/// after the query's cursor, drawn by `draw` under the label `title`.
async fn list_page<T: Send + 'static>(
    app: AppState,
    headers: HeaderMap,
    q: Result<Query<After>, QueryRejection>,
    (path, title, nav): (&'static str, &'static str, Nav),
    gather: fn(&Ctx<'_>, Option<Cursor>) -> Gathered<Cards<T>>,
    draw: fn(&Labels, &[T], Option<&str>, Option<&str>) -> Markup,
) -> Response {
    let node = node_info(&app, &headers);
    let after = cursor(&q);
    let shown = after.as_ref().map(Cursor::to_hex);
    respond(
        app,
        node,
        nav,
        ("page", path.into()),
        move |c| gather(c, after.clone()).map(Some),
        move |l, (items, next)| {
            (
                l.text(title),
                draw(l, items, shown.as_deref(), next.as_deref()),
            )
        },
    )
    .await
}

async fn datasets(
    State(app): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<After>, QueryRejection>,
) -> Response {
    let place = ("/datasets", "datasets", Nav::Datasets);
    list_page(app, headers, q, place, assemble::datasets, dataset::list).await
}

async fn bodies(
    State(app): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<After>, QueryRejection>,
) -> Response {
    let place = ("/bodies", "bodies", Nav::Bodies);
    list_page(app, headers, q, place, assemble::bodies, body::list).await
}

/// A record page's node, path (`base/id`) and the id it names; or, when
/// `id` is not a statement id, the helpful 404 for a `what`.
fn by_id(
    app: &AppState,
    headers: &HeaderMap,
    what: &str,
    base: &str,
    id: &str,
) -> Result<(NodeInfo, String, StatementId), Box<Response>> {
    let node = node_info(app, headers);
    let path = format!("{base}/{id}");
    match parse_id(id) {
        Some(sid) => Ok((node, path, sid)),
        None => match short_id(app, id) {
            Some(page) => Err(Box::new(Redirect::to(&page).into_response())),
            None => Err(Box::new(not_found_page(&labels(app), &node, what, &path))),
        },
    }
}

/// The page of the one statement whose id starts with `prefix`, for a
/// short id copied from a page (`/requests/85ebf668`); `None` when no
/// statement, or more than one, starts so. A single prefix scan.
fn short_id(app: &AppState, prefix: &str) -> Option<String> {
    let storage = &app.shared.storage;
    let found = storage
        .consistent(|| kaitiaki_governance::query::ids_starting(storage.state(), prefix, 2))
        .ok()?;
    let [(id, kind)] = found.as_slice() else {
        return None;
    };
    let base = match kind {
        kaitiaki_protocol::Kind::RequestSubmit => "/requests",
        kaitiaki_protocol::Kind::DatasetRegister => "/datasets",
        kaitiaki_protocol::Kind::BodyCharter => "/bodies",
        _ => "/records",
    };
    Some(format!("{base}/{}", id.to_hex()))
}

async fn dataset(
    State(app): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<After>, QueryRejection>,
) -> Response {
    let id = path_id(id);
    let (node, path, did) = match by_id(&app, &headers, "dataset", "/datasets", &id) {
        Ok(found) => found,
        Err(missing) => return *missing,
    };
    // A cursor that cannot be read starts the list from the beginning,
    // as on `/datasets`: the dataset is there either way.
    let after = cursor(&q);
    let feed = format!("{path}/feed.atom");
    respond_with_feed(
        app,
        node,
        Nav::None,
        ("dataset", path),
        Some(feed),
        move |c| assemble::dataset(c, &did, after.clone()),
        |l, v| (v.name.clone(), dataset::render(l, v)),
    )
    .await
}

async fn request(
    State(app): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let id = path_id(id);
    let (node, path, rid) = match by_id(&app, &headers, "request", "/requests", &id) {
        Ok(found) => found,
        Err(missing) => return *missing,
    };
    respond(
        app,
        node,
        Nav::Requests,
        ("request", path),
        move |c| assemble::request(c, &rid),
        |l, v| (v.submit.title.clone(), request::render(l, v)),
    )
    .await
}

async fn body(
    State(app): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<After>, QueryRejection>,
) -> Response {
    let id = path_id(id);
    let (node, path, bid) = match by_id(&app, &headers, "governance board", "/bodies", &id) {
        Ok(found) => found,
        Err(missing) => return *missing,
    };
    // As on a dataset's page.
    let after = cursor(&q);
    let feed = format!("{path}/feed.atom");
    respond_with_feed(
        app,
        node,
        Nav::None,
        ("governance board", path),
        Some(feed),
        move |c| assemble::body(c, &bid, after.clone()),
        |l, v| (v.name.clone(), body::render(l, v)),
    )
    .await
}

async fn record(
    State(app): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let id = path_id(id);
    let (node, path, sid) = match by_id(&app, &headers, "record", "/records", &id) {
        Ok(found) => found,
        Err(missing) => return *missing,
    };
    let info = node.clone();
    respond(
        app,
        node,
        Nav::None,
        ("record in its own log", path),
        move |c| {
            let Some(mut check) = c.check(&sid) else {
                return Ok(None);
            };
            let concern = assemble::concern_record(c, &sid, &check.kind)?;
            // The words are a help; the check is the page's work, and is
            // shown even when a record they refer to cannot be read.
            let words = match (&concern, check.statement.take()) {
                (None, Some(s)) => summary::record_summary(c, &sid, s).ok().flatten(),
                _ => None,
            };
            Ok(Some((check, concern, words)))
        },
        move |l, (check, concern, words)| {
            (
                format!("Record {}", check.ordinal()),
                verify::record_page(l, &info, check, concern.as_ref(), words.as_ref()),
            )
        },
    )
    .await
}

/// Why the filters in a request list's address could not be read, in
/// words: serde names a filter given twice; anything else is said plainly.
fn unreadable_filters(why: &str) -> String {
    let twice = why
        .split("duplicate field `")
        .nth(1)
        .and_then(|rest| rest.split('`').next());
    match twice {
        Some(name) => format!(
            "The address gives the filter “{name}” more than once: choose one value of each."
        ),
        None => "The address's filters could not be read.".to_owned(),
    }
}

async fn search(
    State(app): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<search::Filters>, QueryRejection>,
) -> Response {
    let node = node_info(&app, &headers);
    let filters = q.map(|q| q.0).unwrap_or_else(|rejection| search::Filters {
        unreadable: Some(unreadable_filters(&rejection.body_text())),
        ..search::Filters::default()
    });
    respond(
        app,
        node,
        Nav::Requests,
        ("page", "/requests".into()),
        move |c| assemble::search(c, filters.clone()).map(Some),
        |l, v| (l.text("requests"), search::render(l, v)),
    )
    .await
}

async fn glossary(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let node = node_info(&app, &headers);
    let l = labels(&app);
    html(
        StatusCode::OK,
        layout::page(
            &l,
            &node,
            &l.text("glossary"),
            Nav::Glossary,
            search::glossary(&l),
        ),
    )
}

/// The title of the feed of the dataset or board called `name`.
fn feed_title(name: &str) -> String {
    format!("Decisions: {name}")
}

async fn feed_response(app: AppState, headers: HeaderMap, id: String, of_body: bool) -> Response {
    let node = node_info(&app, &headers);
    let kind = if of_body { "bodies" } else { "datasets" };
    let path = format!("/{kind}/{id}");
    let Some(fid) = parse_id(&id) else {
        return not_found_page(&labels(&app), &node, "feed", &format!("{path}/feed.atom"));
    };
    let shared = Arc::clone(&app.shared);
    let info = node.clone();
    let page_path = path.clone();
    let got = tokio::task::spawn_blocking(move || {
        let at = shared.clock.now();
        let gather = || -> Gathered<Option<feed::Feed>> {
            let ctx = Ctx::new(&shared, at, info.clone());
            let (filter, name) = if of_body {
                let name = ctx.body_record(&fid)?.map(|b| b.name);
                (
                    RequestFilter {
                        body: Some(fid),
                        ..RequestFilter::default()
                    },
                    name,
                )
            } else {
                let name = ctx.dataset_record(&fid)?.map(|d| d.name);
                (
                    RequestFilter {
                        dataset: Some(fid),
                        ..RequestFilter::default()
                    },
                    name,
                )
            };
            let Some(name) = name else { return Ok(None) };
            assemble::decisions_feed(&ctx, &filter, &fid, feed_title(&name), &page_path).map(Some)
        };
        shared.storage.consistent(gather)
    })
    .await;
    let l = labels(&app);
    match got {
        Ok(Ok(Some(f))) => (
            [
                (header::CONTENT_TYPE, "application/atom+xml; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            feed::render(&f),
        )
            .into_response(),
        Ok(Ok(None)) => not_found_page(&l, &node, "feed", &format!("{path}/feed.atom")),
        Ok(Err(e)) => error_page(&l, &node, &e),
        Err(e) => error_page(&l, &node, &e),
    }
}

async fn dataset_feed(
    State(app): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let id = path_id(id);
    feed_response(app, headers, id, false).await
}

async fn body_feed(
    State(app): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let id = path_id(id);
    feed_response(app, headers, id, true).await
}
