//! The log as C2SP tlog-tiles, under the prefix `/tlog`: the checkpoint,
//! tiles of stored tree hashes, and entry bundles of leaves; and each
//! peer's log this node mirrors, the same way under
//! `/tlog/mirrors/<origin>`, so a community can read a board's log from
//! any node that follows it (tlog-tiles clients take several prefixes).
//!
//! Tiles need no proof endpoint: a client fetches the tiles a proof or a
//! root needs and computes it, and every tile but the checkpoint is
//! immutable, so caches and CDNs can serve them for good. A tile is served
//! once the log's published checkpoint (for a mirror: the leaves it has
//! verified) covers it; each is one read of a tree file
//! ([`crate::storage::files`]) or of 256 segment records.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kaitiaki_protocol::merkle::tiles::{encode_bundle, BundleError, TileKind, TileRef};
use tower_http::compression::CompressionLayer;
use utoipa::OpenApi;

use super::{AppState, Path};
use crate::error::{code, ApiError, ApiResult, ErrorBody};
use crate::node::Shared;
use crate::storage::mirror::MirrorLog;
use crate::storage::StorageError;

/// Tiles never change once served: a year, and `immutable`.
const FOREVER: &str = "public, max-age=31536000, immutable";

/// The tiles' routes. Entry bundles are compressed when the client
/// accepts gzip; hash tiles, being hashes, are not.
pub fn routes() -> Router<AppState> {
    let gzip = || CompressionLayer::new().gzip(true);
    Router::new()
        .route("/tlog/checkpoint", get(checkpoint))
        .route("/tlog/tile/entries/{*bundle}", get(entries).layer(gzip()))
        .route("/tlog/tile/{*tile}", get(hashes))
        .route("/tlog/mirrors/{origin}/checkpoint", get(mirror_checkpoint))
        .route(
            "/tlog/mirrors/{origin}/tile/entries/{*bundle}",
            get(mirror_entries).layer(gzip()),
        )
        .route("/tlog/mirrors/{origin}/tile/{*tile}", get(mirror_hashes))
}

/// Which log a tile request reads.
enum Log {
    Own,
    Mirror(Arc<MirrorLog>),
}

/// The mirror of `origin`; 404 if the node keeps none.
fn mirror(shared: &Shared, origin: &str) -> ApiResult<Arc<MirrorLog>> {
    shared
        .storage
        .existing_mirror(origin)?
        .ok_or_else(|| ApiError::not_found(format!("this node keeps no copy of {origin}")))
}

impl Log {
    /// The own log, or the mirror of `origin`.
    fn open(shared: &Shared, origin: Option<&str>) -> ApiResult<Log> {
        match origin {
            None => Ok(Log::Own),
            Some(origin) => mirror(shared, origin).map(Log::Mirror),
        }
    }

    /// The leaves whose tiles may be served.
    fn size(&self, shared: &Shared) -> Result<u64, StorageError> {
        match self {
            Log::Own => Ok(shared.published().size),
            Log::Mirror(m) => m.size(),
        }
    }

    fn hashes(
        &self,
        shared: &Shared,
        level: u8,
        start: u64,
        count: u64,
    ) -> Result<Vec<u8>, StorageError> {
        match self {
            Log::Own => shared.storage.subtree_hashes(level, start, count),
            Log::Mirror(m) => m.subtree_hashes(level, start, count),
        }
    }

    fn leaves(&self, shared: &Shared, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StorageError> {
        match self {
            // A bundle is whole (at most 256 leaves), whatever its size.
            Log::Own => shared.storage.leaf_bytes_range(start, end, usize::MAX),
            Log::Mirror(m) => m.leaves_raw(start, end, usize::MAX),
        }
    }
}

fn text_note(note: impl Into<Body>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        note.into(),
    )
        .into_response()
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
    Ok(text_note(p.cosigned_note))
}

/// The latest checkpoint of a mirrored log whose whole tree this node
/// holds, as its own node signed it: open it with that node's key.
#[utoipa::path(
    get,
    path = "/tlog/mirrors/{origin}/checkpoint",
    params(("origin" = String, Path, description = "the mirrored log's origin")),
    responses((status = 200, content_type = "text/plain", body = String), (status = 404, body = ErrorBody))
)]
pub async fn mirror_checkpoint(
    State(app): State<AppState>,
    Path(origin): Path<String>,
) -> ApiResult<Response> {
    let shared = app.shared.clone();
    let note = super::blocking(move || -> ApiResult<Vec<u8>> {
        mirror(&shared, &origin)?
            .complete_checkpoint()?
            .ok_or_else(|| ApiError::not_found(format!("no complete checkpoint of {origin} yet")))
    })
    .await?;
    Ok(text_note(note))
}

fn parse(path: &str, entries: bool) -> ApiResult<TileRef> {
    let full = if entries {
        format!("entries/{path}")
    } else {
        path.to_owned()
    };
    let tile = TileRef::parse(&full).map_err(|e| ApiError::malformed(e.to_string()))?;
    // `…/tile/entries/…` reaches the bundles only; this keeps a hash-tile
    // path from naming a bundle, and a bundle path from naming a level.
    match (tile.kind(), entries) {
        (TileKind::Entries, true) | (TileKind::Hashes { .. }, false) => Ok(tile),
        _ => Err(ApiError::malformed(format!("not a tile path: {full}"))),
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

/// Reads tile `path` of the own log (`origin` `None`) or of a mirror.
async fn serve(
    app: AppState,
    origin: Option<String>,
    path: String,
    entries: bool,
) -> ApiResult<Response> {
    let tile = parse(&path, entries)?;
    let shared = app.shared.clone();
    let body = super::blocking(move || -> ApiResult<Vec<u8>> {
        let log = Log::open(&shared, origin.as_deref())?;
        let size = log.size(&shared)?;
        if !tile.exists_at(size) {
            return Err(ApiError::not_found(format!(
                "{tile} is not in the log's first {size} leaves"
            )));
        }
        let (start, width) = (tile.first(), u64::from(tile.width()));
        if !entries {
            // exists_at has checked that the level is one a tree has.
            let level = tile.tree_level().unwrap_or_default();
            return Ok(log.hashes(&shared, level, start, width)?);
        }
        let leaves = log.leaves(&shared, start, start + width)?;
        if leaves.len() as u64 != width {
            return Err(ApiError::internal(&format!(
                "{tile}: the index holds {} of its leaves",
                leaves.len()
            )));
        }
        encode_bundle(leaves.iter().map(Vec::as_slice)).map_err(|e| match e {
            BundleError::EntryTooLarge { index, len } => {
                let leaf = start + index as u64;
                let raw = match origin.as_deref() {
                    None => "/v1/leaves/raw".to_owned(),
                    Some(o) => format!("/v1/mirrors/{o}/leaves/raw"),
                };
                ApiError::new(
                    StatusCode::NOT_IMPLEMENTED,
                    code::ENTRY_TOO_LARGE,
                    format!(
                        "leaf {leaf} is {len} bytes, more than the 65535 an entry bundle can \
                         carry; read it from {raw}?start={leaf}&limit=1"
                    ),
                )
            }
            BundleError::Truncated(_) => ApiError::internal(&e),
        })
    })
    .await?;
    Ok(immutable(body))
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
pub async fn hashes(State(app): State<AppState>, Path(tile): Path<String>) -> ApiResult<Response> {
    serve(app, None, tile, false).await
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
pub async fn entries(
    State(app): State<AppState>,
    Path(bundle): Path<String>,
) -> ApiResult<Response> {
    serve(app, None, bundle, true).await
}

/// A tile of a mirrored log's stored tree hashes, as `/tlog/tile/{tile}`.
#[utoipa::path(
    get,
    path = "/tlog/mirrors/{origin}/tile/{tile}",
    params(
        ("origin" = String, Path, description = "the mirrored log's origin"),
        ("tile" = String, Path, description = "`<L>/<N>[.p/<W>]`"),
    ),
    responses(
        (status = 200, content_type = "application/octet-stream", description = "W hashes of 32 bytes"),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn mirror_hashes(
    State(app): State<AppState>,
    Path((origin, tile)): Path<(String, String)>,
) -> ApiResult<Response> {
    serve(app, Some(origin), tile, false).await
}

/// An entry bundle of a mirrored log, as `/tlog/tile/entries/{bundle}`.
#[utoipa::path(
    get,
    path = "/tlog/mirrors/{origin}/tile/entries/{bundle}",
    params(
        ("origin" = String, Path, description = "the mirrored log's origin"),
        ("bundle" = String, Path, description = "`<N>[.p/<W>]`"),
    ),
    responses(
        (status = 200, content_type = "application/octet-stream", description = "u16 BE length ‖ leaf bytes, W times"),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 501, body = ErrorBody, description = "`entry_too_large`: a leaf is longer than a bundle can carry"),
    )
)]
pub async fn mirror_entries(
    State(app): State<AppState>,
    Path((origin, bundle)): Path<(String, String)>,
) -> ApiResult<Response> {
    serve(app, Some(origin), bundle, true).await
}

/// The tiles' part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(
    checkpoint,
    hashes,
    entries,
    mirror_checkpoint,
    mirror_hashes,
    mirror_entries
))]
pub struct TilesDoc;
