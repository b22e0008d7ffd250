//! Reading the log: checkpoints, leaves, statements with inclusion proofs,
//! and consistency proofs.
//!
//! Every read is bounded by the latest *published* checkpoint: a reader
//! never sees a leaf that no signed checkpoint covers yet, and every proof
//! is against a checkpoint the reader can fetch.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kaitiaki_protocol::envelope::Dsse;
use kaitiaki_protocol::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use kaitiaki_protocol::{Hash, Leaf, StatementId, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{AppState, Path, Query};
use crate::error::{code, ApiError, ApiResult, ErrorBody};

/// The latest checkpoint, as JSON.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CheckpointView {
    /// The log's origin (first line of the checkpoint).
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The root hash, hex.
    #[schema(value_type = String)]
    pub root: Hash,
    /// The signed note (C2SP tlog-checkpoint), exactly as signed.
    pub note: String,
    /// The node's note verifier key: `<origin>+<key id hex>+<base64 key>`.
    pub verifier_key: String,
    /// Witness cosignature lines on this checkpoint (none until witnesses
    /// cosign it).
    pub cosignatures: Vec<String>,
}

/// Get the latest checkpoint (JSON), with its witnesses' cosignatures
/// (see [`crate::witness::policy`] for which checkpoint that is).
#[utoipa::path(get, path = "/v1/checkpoint", responses((status = 200, body = CheckpointView), (status = 503, body = ErrorBody)))]
pub async fn checkpoint(State(app): State<AppState>) -> ApiResult<Json<CheckpointView>> {
    let p = crate::witness::policy::served(&app.shared)?;
    Ok(Json(CheckpointView {
        origin: app.shared.config.origin.clone(),
        size: p.size,
        root: p.root,
        note: p.note,
        verifier_key: app.shared.identity.verifier().to_string(),
        cosignatures: p.cosignatures,
    }))
}

/// Get the latest checkpoint as a signed note (`text/plain`), with its
/// witnesses' cosignature lines, for witnesses and C2SP tools.
#[utoipa::path(get, path = "/v1/checkpoint/note", responses((status = 200, content_type = "text/plain", body = String), (status = 503, body = ErrorBody)))]
pub async fn checkpoint_note(State(app): State<AppState>) -> ApiResult<Response> {
    let p = crate::witness::policy::served(&app.shared)?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        p.cosigned_note,
    )
        .into_response())
}

/// Get the checkpoint the node signed at exactly `size` (`text/plain`).
#[utoipa::path(
    get,
    path = "/v1/checkpoints/{size}",
    params(("size" = u64, Path, description = "A tree size the node signed, in decimal digits without a sign or leading zeros")),
    responses(
        (status = 200, content_type = "text/plain", body = String),
        (status = 400, body = ErrorBody, description = "the size is not written in plain decimal digits"),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn checkpoint_at(
    State(app): State<AppState>,
    Path(text): Path<String>,
) -> ApiResult<Response> {
    let size = decimal(&text)?;
    if size > app.shared.published().size {
        return Err(ApiError::not_found(format!(
            "no checkpoint at size {size} yet"
        )));
    }
    let note = app.shared.storage.checkpoint_at(size)?.ok_or_else(|| {
        ApiError::not_found(format!("the node signed no checkpoint at size {size}"))
    })?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

/// A size in a path, written one way only: decimal digits, without a sign
/// or leading zeros, so one checkpoint has one address.
fn decimal(text: &str) -> ApiResult<u64> {
    kaitiaki_protocol::merkle::tiles::plain_number(text).ok_or_else(|| {
        ApiError::malformed(format!(
            "{text:?} is not a tree size: write it in decimal digits, without a sign or leading zeros"
        ))
    })
}

/// A page of leaves.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LeavesQuery {
    /// The first leaf index (default 0).
    pub start: Option<u64>,
    /// How many leaves at most (default and maximum: the node's page limit).
    pub limit: Option<u64>,
}

/// One leaf as served.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LeafView {
    /// Its index in the log.
    pub index: u64,
    /// When the node sequenced it.
    #[schema(value_type = String)]
    pub sequenced_at: Timestamp,
    /// The statement id.
    #[schema(value_type = String)]
    pub id: StatementId,
    /// The RFC 6962 leaf hash, hex.
    #[schema(value_type = String)]
    pub leaf_hash: Hash,
    /// The signed statement, as DSSE JSON.
    #[schema(value_type = super::write::DsseEnvelope)]
    pub envelope: Dsse,
}

/// A page of leaves.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LeavesPage {
    /// The leaves, in order.
    pub leaves: Vec<LeafView>,
    /// The index to ask for next, or null at the end of the published log.
    pub next: Option<u64>,
    /// The published tree size the page was read against.
    pub size: u64,
}

pub(crate) fn leaf_view(index: u64, leaf: &Leaf) -> LeafView {
    LeafView {
        index,
        sequenced_at: leaf.sequenced_at(),
        id: leaf.envelope().id(),
        leaf_hash: leaf_hash(&leaf.to_bytes()),
        envelope: leaf.envelope().to_dsse(),
    }
}

/// List leaves by range.
#[utoipa::path(
    get,
    path = "/v1/leaves",
    params(LeavesQuery),
    responses((status = 200, body = LeavesPage), (status = 400, body = ErrorBody))
)]
pub async fn leaves(
    State(app): State<AppState>,
    Query(q): Query<LeavesQuery>,
) -> ApiResult<Json<LeavesPage>> {
    let size = app.shared.published().size;
    let max = app.shared.config.limits.max_page;
    let start = q.start.unwrap_or(0);
    // `[start, start + limit)`: a limit of 0 asks for no leaves.
    let limit = q.limit.unwrap_or(max).min(max);
    let end = start.saturating_add(limit).min(size);
    let shared = app.shared.clone();
    let leaves = super::blocking(move || {
        if start >= end {
            return Ok(Vec::new());
        }
        shared.storage.leaves(start, end)
    })
    .await?;
    Ok(Json(LeavesPage {
        leaves: leaves.iter().map(|(i, l)| leaf_view(*i, l)).collect(),
        next: (end < size).then_some(end),
        size,
    }))
}

/// A statement with its place in the log and the proof of it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct StatementView {
    /// The leaf.
    #[serde(flatten)]
    pub leaf: LeafView,
    /// The statement payload, parsed (the signed bytes are in `envelope`).
    #[schema(value_type = Object)]
    pub statement: serde_json::Value,
    /// The inclusion proof against `checkpoint`.
    pub proof: InclusionView,
    /// The signed checkpoint note the proof is against.
    pub checkpoint: String,
    /// The origin of the log that holds it: this node's own, or a peer's
    /// log that this node mirrors (then `checkpoint` is the peer's).
    #[serde(default)]
    pub log: String,
}

/// An inclusion proof.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct InclusionView {
    /// The leaf index.
    pub index: u64,
    /// The tree size the proof is for.
    pub size: u64,
    /// The root at that size, hex.
    #[schema(value_type = String)]
    pub root: Hash,
    /// The sibling hashes from the leaf up (RFC 9162 §2.1.3), hex.
    #[schema(value_type = Vec<String>)]
    pub hashes: Vec<Hash>,
}

/// Get a statement by id, with its leaf index and inclusion proof.
#[utoipa::path(
    get,
    path = "/v1/statements/{id}",
    params(("id" = String, Path, description = "Statement id, 64 hex digits")),
    responses((status = 200, body = StatementView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn statement(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<StatementView>> {
    let id = StatementId::from_hex(&id)
        .ok_or_else(|| ApiError::malformed("a statement id is 64 lowercase hex digits"))?;
    let published = app.shared.published();
    let shared = app.shared.clone();
    let found = super::blocking(move || find_statement(&shared, &published, &id)).await?;
    let Some(found) = found else {
        return Err(ApiError::not_found(format!(
            "statement {id} is not in this log or any log this node mirrors"
        )));
    };
    let statement =
        serde_json::from_slice(found.leaf.envelope().payload()).unwrap_or(serde_json::Value::Null);
    Ok(Json(StatementView {
        leaf: leaf_view(found.index, &found.leaf),
        statement,
        proof: InclusionView {
            index: found.index,
            size: found.size,
            root: found.root,
            hashes: found.hashes,
        },
        checkpoint: found.note,
        log: found.log,
    }))
}

/// A statement found in the own log or a mirror, with its proof.
struct Found {
    log: String,
    index: u64,
    leaf: Leaf,
    size: u64,
    root: Hash,
    hashes: Vec<Hash>,
    note: String,
}

/// Whose tree a proof was made from: the node's own log's, or the copy of
/// a peer's log it keeps.
pub(crate) enum TreeOf<'a> {
    Own,
    Mirror(&'a str),
}

/// Serves nothing from a proof that does not verify: a proof made from the
/// stored tree hashes that fails its own check means the tree files are
/// damaged (README: they are rebuilt), and the node says so, rather than
/// hand out a proof that misleads. Damage to the own log's tree is kept
/// for `/healthz`; a mirror's is logged and answered.
pub(crate) fn checked(
    shared: &crate::node::Shared,
    tree: TreeOf<'_>,
    verified: Result<(), String>,
    what: &str,
) -> ApiResult<()> {
    let Err(why) = verified else {
        return Ok(());
    };
    let problem = match tree {
        TreeOf::Own => format!(
            "{what} made from this node's stored tree hashes does not verify ({why}): its tree \
             files (tree/) are damaged; its operator can stop it and run `kaitiaki log verify` \
             on its data directory, which names the damaged hash, then move tree/ aside and \
             start it, which rebuilds them from the log"
        ),
        TreeOf::Mirror(origin) => format!(
            "{what} made from this node's copy of {origin} does not verify ({why}): that copy's \
             tree files (mirrors/{origin}/tree/) are damaged; its operator can stop the node, \
             move mirrors/{origin}/tree/ aside and start it, which rebuilds them from the copy's \
             log"
        ),
    };
    match tree {
        TreeOf::Own => shared.found_tree_damage(&problem),
        TreeOf::Mirror(origin) => shared.found_mirror_tree_damage(origin, &problem),
    }
    Err(ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        code::TREE_DAMAGED,
        problem,
    ))
}

/// The root the node signed for `size`, if it signed a checkpoint of that
/// size: the latest, or one kept from the end of an earlier batch.
fn signed_root(
    shared: &crate::node::Shared,
    published: &crate::node::Published,
    size: u64,
) -> ApiResult<Option<Hash>> {
    if size == published.size {
        return Ok(Some(published.root));
    }
    let Some(note) = shared.storage.checkpoint_at(size)? else {
        return Ok(None);
    };
    Ok(crate::storage::checkpoint_in(&note)
        .ok()
        .filter(|c| c.size() == size)
        .map(|c| *c.root()))
}

/// An inclusion proof's own check, in words.
pub(crate) fn inclusion_holds(
    leaf: &Hash,
    index: u64,
    size: u64,
    hashes: &[Hash],
    root: &Hash,
) -> Result<(), String> {
    verify_inclusion(leaf, index, size, hashes, root).map_err(|e| e.to_string())
}

/// A consistency proof's own check, in words: the proof between the two
/// roots, and the newer root against `signed` (the root of a signed
/// checkpoint of that size), if given.
pub(crate) fn consistency_holds(
    old: u64,
    new: u64,
    view: (&Hash, &Hash, &[Hash]),
    signed: Option<&Hash>,
) -> Result<(), String> {
    let (old_root, new_root, hashes) = view;
    if signed.is_some_and(|s| s != new_root) {
        return Err(format!(
            "the root it gives at size {new} is not the signed checkpoint's"
        ));
    }
    if old > 0 && old < new {
        verify_consistency(old, new, old_root, new_root, hashes).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Looks a statement up in the own log (up to the published checkpoint),
/// then in the mirror that holds it (up to the peer's latest checkpoint
/// whose whole tree the mirror holds).
fn find_statement(
    shared: &crate::node::Shared,
    published: &crate::node::Published,
    id: &StatementId,
) -> ApiResult<Option<Found>> {
    let Some(place) = shared.storage.locate(id)? else {
        return Ok(None);
    };
    let index = place.index;
    let Some(origin) = place.log else {
        if index >= published.size {
            return Ok(None);
        }
        let leaf = shared.storage.leaf(index)?.ok_or_else(|| {
            ApiError::internal(&format!("leaf {index} is indexed but not stored"))
        })?;
        let hashes = shared.storage.inclusion_proof(index, published.size)?;
        checked(
            shared,
            TreeOf::Own,
            inclusion_holds(
                &leaf.hash(),
                index,
                published.size,
                &hashes,
                &published.root,
            ),
            &format!("the inclusion proof of leaf {index}"),
        )?;
        return Ok(Some(Found {
            log: shared.config.origin.clone(),
            index,
            hashes,
            leaf,
            size: published.size,
            root: published.root,
            note: published.note.clone(),
        }));
    };
    let Some(mirror) = shared.storage.existing_mirror(&origin)? else {
        return Ok(None);
    };
    let Some(note) = mirror.complete_checkpoint()? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&note).into_owned();
    let checkpoint = crate::storage::checkpoint_in(&note).map_err(|e| ApiError::internal(&e))?;
    if index >= checkpoint.size() {
        return Ok(None);
    }
    let bytes = mirror.leaf_bytes(index)?.ok_or_else(|| {
        ApiError::internal(&format!("mirrored leaf {index} of {origin} is not stored"))
    })?;
    let leaf = Leaf::from_bytes(&bytes).map_err(|e| ApiError::internal(&e))?;
    let hashes = mirror.tree().inclusion_proof(index, checkpoint.size())?;
    checked(
        shared,
        TreeOf::Mirror(&origin),
        inclusion_holds(
            &leaf.hash(),
            index,
            checkpoint.size(),
            &hashes,
            checkpoint.root(),
        ),
        &format!("the inclusion proof of leaf {index}"),
    )?;
    Ok(Some(Found {
        hashes,
        log: origin,
        index,
        leaf,
        size: checkpoint.size(),
        root: *checkpoint.root(),
        note: text,
    }))
}

/// Parameters of an inclusion proof.
#[derive(Debug, Deserialize, IntoParams)]
pub struct InclusionQuery {
    /// The leaf index.
    pub index: u64,
    /// The tree size (default: the latest checkpoint's).
    pub size: Option<u64>,
}

/// Get the inclusion proof of a leaf in a tree size.
#[utoipa::path(
    get,
    path = "/v1/proofs/inclusion",
    params(InclusionQuery),
    responses((status = 200, body = InclusionView), (status = 400, body = ErrorBody))
)]
pub async fn inclusion(
    State(app): State<AppState>,
    Query(q): Query<InclusionQuery>,
) -> ApiResult<Json<InclusionView>> {
    let published = app.shared.published();
    let size = q.size.unwrap_or(published.size);
    if size > published.size {
        return Err(ApiError::malformed(format!(
            "the log has {} leaves",
            published.size
        )));
    }
    let shared = app.shared.clone();
    let (root, hashes) = super::blocking(move || -> ApiResult<_> {
        // At the latest size, the signed checkpoint's root, not one the
        // tree files give; below it, theirs.
        // The signed root at that size when the node signed one (the latest,
        // or the end of an earlier batch), rather than one the tree files
        // give; theirs otherwise.
        let root = match signed_root(&shared, &published, size)? {
            Some(root) => root,
            None => shared.storage.root(size)?,
        };
        let hashes = shared.storage.inclusion_proof(q.index, size)?;
        // The leaf's hash from the leaf itself, not from the tree files
        // the proof is checked against.
        // Hashed as stored, with no parsing (the bytes are the leaf).
        if let Some(bytes) = shared.storage.leaf_bytes(q.index)? {
            checked(
                &shared,
                TreeOf::Own,
                inclusion_holds(&leaf_hash(&bytes), q.index, size, &hashes, &root),
                &format!("the inclusion proof of leaf {}", q.index),
            )?;
        }
        Ok((root, hashes))
    })
    .await?;
    Ok(Json(InclusionView {
        index: q.index,
        size,
        root,
        hashes,
    }))
}

/// Parameters of a consistency proof.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ConsistencyQuery {
    /// The older tree size.
    pub old: u64,
    /// The newer tree size (default: the latest checkpoint's).
    pub new: Option<u64>,
}

/// A consistency proof.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsistencyView {
    /// The older size.
    pub old: u64,
    /// The newer size.
    pub new: u64,
    /// The root at the older size, hex.
    #[schema(value_type = String)]
    pub old_root: Hash,
    /// The root at the newer size, hex.
    #[schema(value_type = String)]
    pub new_root: Hash,
    /// The proof hashes (RFC 9162 §2.1.4), hex.
    #[schema(value_type = Vec<String>)]
    pub hashes: Vec<Hash>,
}

/// Get a consistency proof between two tree sizes.
#[utoipa::path(
    get,
    path = "/v1/proofs/consistency",
    params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyView), (status = 400, body = ErrorBody))
)]
pub async fn consistency(
    State(app): State<AppState>,
    Query(q): Query<ConsistencyQuery>,
) -> ApiResult<Json<ConsistencyView>> {
    let published = app.shared.published();
    let new = q.new.unwrap_or(published.size);
    if new > published.size {
        return Err(ApiError::malformed(format!(
            "the log has {} leaves",
            published.size
        )));
    }
    let shared = app.shared.clone();
    let old = q.old;
    let view = super::blocking(move || -> ApiResult<_> {
        let view = ConsistencyView {
            old,
            new,
            hashes: shared.storage.consistency_proof(old, new)?,
            old_root: shared.storage.root(old)?,
            new_root: shared.storage.root(new)?,
        };
        // The roots come from the tree files too: the newest is checked
        // against the signed checkpoint, and the proof between them.
        checked(
            &shared,
            TreeOf::Own,
            consistency_holds(
                old,
                new,
                (&view.old_root, &view.new_root, &view.hashes),
                signed_root(&shared, &published, new)?.as_ref(),
            ),
            &format!("the consistency proof from size {old} to {new}"),
        )?;
        let signed_old = signed_root(&shared, &published, old)?;
        checked(
            &shared,
            TreeOf::Own,
            match signed_old {
                Some(root) if old > 0 && root != view.old_root => Err(format!(
                    "the root it gives at size {old} is not the signed checkpoint's"
                )),
                _ => Ok(()),
            },
            &format!("the consistency proof from size {old} to {new}"),
        )?;
        Ok(view)
    })
    .await?;
    Ok(Json(view))
}
