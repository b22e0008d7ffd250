//! Federation endpoints: raw leaves for followers, peers and their status,
//! the mirrors this node holds (for gossip), and the evidence it keeps.
//!
//! Adding a peer and lifting a quarantine change what the node trusts, so
//! they must be signed with the node's own key, as a signed request (see
//! [`super::attachments`]) over the exact path and query.

use axum::body::Body;
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::log::ConsistencyView;
use super::{AppState, Path, Query};
use crate::config::PeerConfig;
use crate::error::{code, ApiError, ApiResult, ErrorBody};
use crate::replication::evidence::{self, EvidenceRecord, Item};
use crate::replication::gossip::{MirrorView, MirrorsView};
use crate::replication::{AddPeerError, PeerStatus, RemovePeerError};

/// The most leaves one `/v1/leaves/raw` answer carries.
pub const MAX_RAW_LEAVES: u64 = 4096;

/// The size past which a `/v1/leaves/raw` answer carries no further leaf
/// (it always carries one): 4096 leaves of the largest size would be
/// 268 MB held for one request.
pub const MAX_RAW_BYTES: usize = 8 << 20;

/// Which leaves.
#[derive(Debug, Deserialize, IntoParams)]
pub struct RawQuery {
    /// The first leaf index.
    pub start: u64,
    /// How many (at most 4096; fewer at the end of the log, or once the
    /// answer passes 8 MiB).
    pub limit: Option<u64>,
}

/// Leaves exactly as the tree hashes them, for followers: each leaf as a
/// 4-byte big-endian length followed by the leaf's bytes (PROTOCOL.md §3),
/// in index order, up to the published checkpoint.
#[utoipa::path(
    get,
    path = "/v1/leaves/raw",
    params(RawQuery),
    responses((status = 200, content_type = "application/octet-stream", description = "u32 BE length ‖ leaf bytes, repeated"))
)]
pub async fn leaves_raw(
    State(app): State<AppState>,
    Query(q): Query<RawQuery>,
) -> ApiResult<Response> {
    let size = app.shared.published().size;
    let limit = q.limit.unwrap_or(MAX_RAW_LEAVES).min(MAX_RAW_LEAVES);
    let end = q.start.saturating_add(limit).min(size);
    let shared = app.shared.clone();
    let start = q.start;
    let body = super::blocking(move || -> ApiResult<Vec<u8>> {
        let leaves = shared.storage.leaf_bytes_range(start, end, MAX_RAW_BYTES)?;
        if leaves.is_empty() && start < end {
            return Err(ApiError::internal(&format!("leaf {start} is missing")));
        }
        Ok(raw_body(leaves))
    })
    .await?;
    Ok(octets(body))
}

/// Leaves as a `/v1/leaves/raw` body: u32 BE length ‖ bytes, repeated.
fn raw_body(leaves: Vec<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::with_capacity(leaves.iter().map(|l| 4 + l.len()).sum());
    for bytes in leaves {
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

fn octets(body: Vec<u8>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from(body),
    )
        .into_response()
}

/// Every peer this node follows.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PeersView {
    /// The peers, by origin.
    pub peers: Vec<PeerStatus>,
}

/// The peers this node follows, with each one's status.
#[utoipa::path(get, path = "/v1/peers", responses((status = 200, body = PeersView)))]
pub async fn peers(State(app): State<AppState>) -> Json<PeersView> {
    Json(PeersView {
        peers: app
            .shared
            .replication
            .peers()
            .iter()
            .map(|f| f.status())
            .collect(),
    })
}

/// A peer to add.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AddPeerQuery {
    /// The peer's base URL.
    pub url: String,
    /// The peer's log key (note verifier key text).
    pub key: String,
    /// Whether to witness each other (default true).
    pub witness: Option<bool>,
}

fn own_key_only(app: &AppState, headers: &HeaderMap, method: &Method, uri: &str) -> ApiResult<()> {
    let key = super::attachments::signed_by(app, headers, method, uri)?;
    if key != app.shared.identity.public_key() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            code::FORBIDDEN,
            "only the node's own key may change its peers",
        ));
    }
    Ok(())
}

/// Follows a new peer from now on (and after restarts). Signed by the
/// node's own key over `POST` and the exact path with its query.
#[utoipa::path(
    post,
    path = "/v1/peers",
    params(AddPeerQuery),
    responses(
        (status = 201, body = PeerStatus, description = "now following"),
        (status = 200, body = PeerStatus, description = "already followed"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
pub async fn add_peer(
    State(app): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Query(q): Query<AddPeerQuery>,
) -> ApiResult<Response> {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    own_key_only(&app, &headers, &Method::POST, &path)?;
    let mut config = PeerConfig::new(q.url, q.key);
    config.witness = q.witness.unwrap_or(true);
    let shared = app.shared.clone();
    let sequencer = app.sequencer.clone();
    // Stored durably (an fsync) before the answer: off the async workers.
    let added = super::blocking(move || {
        Ok::<_, ApiError>(crate::replication::add_peer(&shared, &sequencer, config))
    })
    .await?;
    match added {
        Ok((status, true)) => Ok((StatusCode::CREATED, Json(status)).into_response()),
        Ok((status, false)) => Ok((StatusCode::OK, Json(status)).into_response()),
        Err(AddPeerError::Invalid(m)) => Err(ApiError::malformed(m)),
        Err(AddPeerError::Conflict(m)) => {
            Err(ApiError::new(StatusCode::CONFLICT, code::PEER_CONFLICT, m))
        }
        Err(AddPeerError::Storage(e)) => Err(ApiError::internal(&e)),
    }
}

/// Stops following a peer that was added at run time, for good: the node
/// no longer copies its log, witnesses it or asks it to witness. What was
/// copied stays. Signed by the node's own key over `DELETE` and the exact
/// path.
#[utoipa::path(
    delete,
    path = "/v1/peers/{origin}",
    params(("origin" = String, Path, description = "the peer log's origin")),
    responses(
        (status = 200, body = PeerStatus, description = "no longer followed; its last status"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the configuration names it")
    )
)]
pub async fn remove_peer(
    State(app): State<AppState>,
    Path(origin): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<PeerStatus>> {
    peer_origin(&origin)?;
    own_key_only(
        &app,
        &headers,
        &Method::DELETE,
        &format!("/v1/peers/{origin}"),
    )?;
    // On a task of its own: a client that goes away mid-way must not leave
    // the removal half done (recorded, but its follower still running).
    let shared = app.shared.clone();
    let removal =
        tokio::spawn(async move { crate::replication::remove_peer(&shared, &origin).await });
    let removed = removal
        .await
        .map_err(|e| ApiError::internal(&format!("the removal stopped: {e}")))?;
    match removed {
        Ok(status) => Ok(Json(status)),
        Err(RemovePeerError::NotFollowed(m)) => Err(ApiError::not_found(m)),
        Err(RemovePeerError::Refused(m)) => {
            Err(ApiError::new(StatusCode::CONFLICT, code::PEER_CONFLICT, m))
        }
        Err(RemovePeerError::Storage(e)) => Err(ApiError::internal(&e)),
    }
}

/// Refuses a path's origin that no peer can have, before its signature is
/// checked: the two signed `DELETE` paths are then never the same bytes
/// (`a%2Fquarantine` decodes to a `/`, which no origin holds).
fn peer_origin(origin: &str) -> ApiResult<()> {
    kaitiaki_protocol::statement::limits::check_network(origin).map_err(|e| {
        ApiError::not_found(format!(
            "no peer can be named {origin:?}: a log's name {}",
            e.problem
        ))
    })
}

/// The answer to lifting a quarantine.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Forgiven {
    /// Whether the peer was quarantined.
    pub was_quarantined: bool,
}

/// Lifts a peer's quarantine (its evidence stays). Signed by the node's
/// own key over `DELETE` and the exact path.
#[utoipa::path(
    delete,
    path = "/v1/peers/{origin}/quarantine",
    params(("origin" = String, Path, description = "the peer log's origin")),
    responses((status = 200, body = Forgiven), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn forgive(
    State(app): State<AppState>,
    Path(origin): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Forgiven>> {
    peer_origin(&origin)?;
    own_key_only(
        &app,
        &headers,
        &Method::DELETE,
        &format!("/v1/peers/{origin}/quarantine"),
    )?;
    if app.shared.replication.peer(&origin).is_none() {
        return Err(ApiError::not_found(format!(
            "this node does not follow a log named {origin}"
        )));
    }
    let shared = app.shared.clone();
    let was = super::blocking(move || evidence::forgive(&shared, &origin)).await?;
    Ok(Json(Forgiven {
        was_quarantined: was,
    }))
}

/// The mirrors this node holds, each with the checkpoint it was verified
/// against (what followers compare in gossip).
#[utoipa::path(get, path = "/v1/mirrors", responses((status = 200, body = MirrorsView)))]
pub async fn mirrors(State(app): State<AppState>) -> ApiResult<Json<MirrorsView>> {
    let shared = app.shared.clone();
    let view = super::blocking(move || -> ApiResult<MirrorsView> {
        let mut mirrors = Vec::new();
        for m in shared.storage.mirrors()? {
            let Some(note) = m.checkpoint()? else {
                continue;
            };
            mirrors.push(MirrorView {
                origin: m.origin().to_owned(),
                size: m.size()?,
                checkpoint: String::from_utf8_lossy(&note).into_owned(),
                complete: m
                    .complete_checkpoint()?
                    .map(|n| String::from_utf8_lossy(&n).into_owned()),
            });
        }
        Ok(MirrorsView { mirrors })
    })
    .await?;
    Ok(Json(view))
}

/// A mirror's leaves exactly as its log's tree hashes them, in the form of
/// `GET /v1/leaves/raw`, up to the mirror's size (for audits that fold
/// every log a node holds).
#[utoipa::path(
    get,
    path = "/v1/mirrors/{origin}/leaves/raw",
    params(("origin" = String, Path, description = "the mirrored log's origin"), RawQuery),
    responses((status = 200, content_type = "application/octet-stream", description = "u32 BE length ‖ leaf bytes, repeated"), (status = 404, body = ErrorBody))
)]
pub async fn mirror_leaves_raw(
    State(app): State<AppState>,
    Path(origin): Path<String>,
    Query(q): Query<RawQuery>,
) -> ApiResult<Response> {
    let shared = app.shared.clone();
    let body = super::blocking(move || -> ApiResult<Vec<u8>> {
        let m = shared
            .storage
            .existing_mirror(&origin)?
            .ok_or_else(|| ApiError::not_found(format!("no mirror of {origin}")))?;
        let size = m.size()?;
        let limit = q.limit.unwrap_or(MAX_RAW_LEAVES).min(MAX_RAW_LEAVES);
        let end = q.start.saturating_add(limit).min(size);
        if q.start >= end {
            return Ok(Vec::new());
        }
        Ok(raw_body(m.leaves_raw(q.start, end, MAX_RAW_BYTES)?))
    })
    .await?;
    Ok(octets(body))
}

/// Sizes for a mirror's consistency proof.
#[derive(Debug, Deserialize, IntoParams)]
pub struct MirrorConsistencyQuery {
    /// The smaller size.
    pub old: u64,
    /// The larger size, at most the mirror's size.
    pub new: u64,
}

/// A consistency proof between two sizes of a mirrored log, computed from
/// this node's mirror (so that a third node can compare histories).
#[utoipa::path(
    get,
    path = "/v1/mirrors/{origin}/proofs/consistency",
    params(("origin" = String, Path, description = "the mirrored log's origin"), MirrorConsistencyQuery),
    responses((status = 200, body = ConsistencyView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn mirror_consistency(
    State(app): State<AppState>,
    Path(origin): Path<String>,
    Query(q): Query<MirrorConsistencyQuery>,
) -> ApiResult<Json<ConsistencyView>> {
    let shared = app.shared.clone();
    let view = super::blocking(move || -> ApiResult<ConsistencyView> {
        let m = shared
            .storage
            .existing_mirror(&origin)?
            .ok_or_else(|| ApiError::not_found(format!("no mirror of {origin}")))?;
        let size = m.size()?;
        if q.new > size || q.old > q.new {
            return Err(ApiError::malformed(format!(
                "the mirror of {origin} holds {size} leaves; ask for old ≤ new ≤ {size}"
            )));
        }
        let tree = m.tree();
        let view = ConsistencyView {
            old: q.old,
            new: q.new,
            hashes: tree.consistency_proof(q.old, q.new)?,
            old_root: tree.root(q.old)?,
            new_root: tree.root(q.new)?,
        };
        super::log::checked(
            &shared,
            super::log::TreeOf::Mirror(&origin),
            super::log::consistency_holds(
                q.old,
                q.new,
                (&view.old_root, &view.new_root, &view.hashes),
                None,
            ),
            &format!("the consistency proof from size {} to {}", q.old, q.new),
        )?;
        Ok(view)
    })
    .await?;
    Ok(Json(view))
}

/// Everything this node keeps as evidence of misbehaviour.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EvidenceView {
    /// The records, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub evidence: Vec<EvidenceRecord>,
}

/// Evidence of misbehaviour: found by replication and gossip, and
/// conflicting checkpoints presented to this node as a witness. Records
/// whose `self_verifying` is true verify with the log's key and the
/// protocol crate alone (PROTOCOL.md §11).
#[utoipa::path(get, path = "/v1/evidence", responses((status = 200, body = EvidenceView)))]
pub async fn evidence(State(app): State<AppState>) -> ApiResult<Json<EvidenceView>> {
    let shared = app.shared.clone();
    let view = super::blocking(move || -> ApiResult<EvidenceView> {
        Ok(EvidenceView {
            evidence: all_evidence(&shared)?,
        })
    })
    .await?;
    Ok(Json(view))
}

/// Replication's records and the witness's, in one list, oldest first.
pub(crate) fn all_evidence(
    shared: &crate::node::Shared,
) -> Result<Vec<EvidenceRecord>, crate::storage::StorageError> {
    let mut out = evidence::all(&shared.storage)?;
    for w in shared.witness.evidence()? {
        let item = if w.kind == "equivocation" {
            Item::Proof(kaitiaki_protocol::evidence::Evidence::Equivocation {
                origin: w.origin.clone(),
                a: w.held.clone(),
                b: w.presented.clone(),
            })
        } else {
            Item::Claim(evidence::Claim {
                kind: w.kind.clone(),
                origin: w.origin.clone(),
                checkpoint: w.presented.clone(),
                index: None,
                leaf: None,
                detail: format!(
                    "a checkpoint presented for witnessing came with a consistency proof from \
                     size {} that does not verify against the checkpoint held here",
                    w.old_size
                ),
            })
        };
        let mut record = EvidenceRecord::new(item, "witness");
        record.found_at = w.received_at;
        out.push(record);
    }
    out.sort_by(|a, b| (a.found_at, &a.id).cmp(&(b.found_at, &b.id)));
    Ok(out)
}

/// The federation endpoints' part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        leaves_raw,
        peers,
        add_peer,
        remove_peer,
        forgive,
        mirrors,
        mirror_leaves_raw,
        mirror_consistency,
        evidence
    ),
    components(schemas(PeersView, PeerStatus, Forgiven, MirrorsView, MirrorView, EvidenceView))
)]
pub struct FederationDoc;
