//! The log as C2SP tlog-tiles, under the prefix `/tlog`: the checkpoint,
//! tiles of stored tree hashes, and entry bundles of leaves.
//!
//! Tiles need no proof endpoint: a client fetches the tiles a proof or a
//! root needs and computes it, and every tile but the checkpoint is
//! immutable, so caches and CDNs can serve them for good. A tile is served
//! once the node's published checkpoint covers it; each is one read of a
//! tree file ([`crate::storage::files`]) or of 256 segment records.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kaitiaki_protocol::merkle::tiles::{encode_bundle, BundleError, TileKind, TileRef};
use tower_http::compression::CompressionLayer;
use utoipa::OpenApi;

use super::AppState;
use crate::error::{code, ApiError, ApiResult, ErrorBody};

/// The prefix the tiles are served under: the log's C2SP URL prefix is
/// the node's address followed by this.
pub const PREFIX: &str = "/tlog";

/// Tiles never change once served: a year, and `immutable`.
const FOREVER: &str = "public, max-age=31536000, immutable";

/// The tiles' routes. Entry bundles are compressed when the client
/// accepts gzip; hash tiles, being hashes, are not.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tlog/checkpoint", get(checkpoint))
        .route(
            "/tlog/tile/entries/{*bundle}",
            get(entries).layer(CompressionLayer::new().gzip(true)),
        )
        .route("/tlog/tile/{*tile}", get(hashes))
}

/// The latest checkpoint the node serves, as a signed note with its
/// witnesses' cosignatures: what `/v1/checkpoint/note` serves.
#[utoipa::path(
    get,
    path = "/tlog/checkpoint",
    responses((status = 200, content_type = "text/plain", body = String), (status = 503, body = ErrorBody))
)]
pub async fn checkpoint(State(app): State<AppState>) -> ApiResult<Response> {
    let p = crate::witness::policy::served(&app.shared)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        p.cosigned_note,
    )
        .into_response())
}

fn parse(path: &str, entries: bool) -> ApiResult<TileRef> {
    let full = if entries {
        format!("entries/{path}")
    } else {
        path.to_owned()
    };
    let tile = TileRef::parse(&full).map_err(|e| ApiError::malformed(e.to_string()))?;
    // `/tlog/tile/entries/…` reaches `entries` only; this keeps a level
    // named "entries" from meaning anything else.
    match (tile.kind(), entries) {
        (TileKind::Entries, true) | (TileKind::Hashes { .. }, false) => Ok(tile),
        _ => Err(ApiError::malformed(format!("not a tile path: {full}"))),
    }
}

fn published(app: &AppState, tile: &TileRef) -> ApiResult<()> {
    let size = app.shared.published().size;
    if tile.exists_at(size) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "{tile} is not in the published log of {size} leaves"
        )))
    }
}

fn immutable(body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, FOREVER),
        ],
        Body::from(body),
    )
        .into_response()
}

/// A tile of stored tree hashes: tile level `L` holds the hashes of tree
/// level `8 L`, 256 to a full tile, each 32 bytes.
#[utoipa::path(
    get,
    path = "/tlog/tile/{tile}",
    params(("tile" = String, Path, description = "`<L>/<N>[.p/<W>]` as C2SP tlog-tiles spells it, e.g. `0/x001/234` or `1/000.p/17`")),
    responses(
        (status = 200, content_type = "application/octet-stream", description = "W hashes of 32 bytes"),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn hashes(State(app): State<AppState>, Path(path): Path<String>) -> ApiResult<Response> {
    let tile = parse(&path, false)?;
    published(&app, &tile)?;
    let level = tile
        .tree_level()
        .ok_or_else(|| ApiError::not_found(format!("{tile} is above the tree's levels")))?;
    let shared = app.shared.clone();
    let body = super::blocking(move || {
        shared
            .storage
            .subtree_hashes(level, tile.first(), u64::from(tile.width()))
    })
    .await?;
    Ok(immutable(body))
}

/// An entry bundle: the leaves a level-0 tile hashes, each as a `u16`
/// big-endian length followed by the leaf's bytes.
#[utoipa::path(
    get,
    path = "/tlog/tile/entries/{bundle}",
    params(("bundle" = String, Path, description = "`<N>[.p/<W>]` as C2SP tlog-tiles spells it, e.g. `x001/234` or `000.p/17`")),
    responses(
        (status = 200, content_type = "application/octet-stream", description = "u16 BE length ‖ leaf bytes, W times"),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 501, body = ErrorBody, description = "`entry_too_large`: a leaf is longer than a bundle can carry"),
    )
)]
pub async fn entries(State(app): State<AppState>, Path(path): Path<String>) -> ApiResult<Response> {
    let tile = parse(&path, true)?;
    published(&app, &tile)?;
    let shared = app.shared.clone();
    let start = tile.first();
    let end = start + u64::from(tile.width());
    let leaves = super::blocking(move || shared.storage.leaf_bytes_range(start, end)).await?;
    if leaves.len() != usize::from(tile.width()) {
        return Err(ApiError::internal(&format!(
            "{tile}: the index holds {} of its leaves",
            leaves.len()
        )));
    }
    let body = encode_bundle(leaves.iter().map(Vec::as_slice)).map_err(|e| match e {
        BundleError::EntryTooLarge { index, len } => ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            code::ENTRY_TOO_LARGE,
            format!(
                "leaf {} is {len} bytes, more than the 65535 an entry bundle can carry; \
                 read it from /v1/leaves/raw",
                start + index as u64
            ),
        ),
        BundleError::Truncated(_) => ApiError::internal(&e),
    })?;
    Ok(immutable(body))
}

/// The tiles' part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(checkpoint, hashes, entries))]
pub struct TilesDoc;
