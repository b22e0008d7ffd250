//! Operations: health, Prometheus metrics and the OpenAPI document.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::AppState;
use crate::error::ErrorBody;
use crate::replication::own_log::Held;

/// The node's health.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`; `failed` when the node refuses writes after a storage fault;
    /// `refusing_statements` when a peer's copy of its log holds more than
    /// it does; `waiting_for_peers` when, having found its log with no
    /// index or its key with no log (at this start or an earlier one), it
    /// takes no statement until the peers it follows have said what they
    /// hold of its log (see `problem`); `log_damaged` once a read found a
    /// record of its log damaged on disk; `tree_damaged` once a proof made
    /// from its tree files did not verify.
    pub status: String,
    /// What is wrong, in words, whenever `status` is not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The log's origin.
    pub origin: String,
    /// The network served.
    pub network: String,
    /// The published tree size.
    pub size: u64,
    /// Leaves re-indexed from the segments at the last start-up (0 after a
    /// clean stop: start-up never replays the log).
    pub reindexed_at_startup: u64,
    /// Origins of the mirrors whose tree files a proof, or whose segments
    /// a read, found damaged since the node started: it serves nothing
    /// from that damage and is healthy otherwise. For the tree files, stop
    /// the node, move `mirrors/<origin>/tree/` aside and start it: it
    /// rebuilds them; for the segments, see README on a mirror's damage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub damaged_mirrors: Vec<String>,
}

/// Health check: 200 when all is well; 503 when the node does not accept
/// writes (failed, refusing, waiting for its peers) or found its own log's
/// tree files damaged (it still accepts writes then, but serves no proof
/// from the damage).
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn healthz(State(app): State<AppState>) -> (StatusCode, Json<Health>) {
    let failed = app.shared.failed.load(Ordering::Acquire);
    let held = app.shared.own_log.holding(&app.shared.replication);
    let segment_damage = app.shared.storage.segment_damage().map(|d| {
        format!(
            "{d}: a leaf of this node's log is damaged on disk, and is served to no one; stop \
             the node, run `kaitiaki log verify` on its data directory, which names the leaf, and \
             restore the log from a backup or a peer's copy (README: \"Backing up and restoring \
             a node\")"
        )
    });
    let (status, problem) = match (held, segment_damage, app.shared.tree_damage()) {
        (_, Some(damage), _) => ("log_damaged", Some(damage)),
        (Some(Held::Refused(why)), None, _) => ("refusing_statements", Some(why)),
        (Some(Held::Waiting(why)), None, _) => ("waiting_for_peers", Some(why)),
        (None, None, Some(damage)) => ("tree_damaged", Some(damage)),
        (None, None, None) => ("ok", None),
    };
    let problem = match app.shared.failure() {
        Some(why) if failed => Some(format!(
            "{why}: the node stopped taking writes so as never to acknowledge one it cannot keep; \
             every write it acknowledged is kept. Mend the cause (free disk space, say) and \
             restart the node"
        )),
        _ => problem,
    };
    let health = Health {
        status: if failed { "failed" } else { status }.to_owned(),
        problem,
        origin: app.shared.config.origin.clone(),
        network: app.shared.config.network.clone(),
        size: app.shared.published().size,
        reindexed_at_startup: app.shared.recovery.reindexed,
        damaged_mirrors: {
            let mut d = app.shared.mirror_tree_damage();
            d.extend(app.shared.storage.damaged_mirror_segments());
            d.sort();
            d.dedup();
            d
        },
    };
    let status = if health.status != "ok" {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, Json(health))
}

/// Metrics in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(app): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.shared.metrics_text(),
    )
        .into_response()
}

/// The OpenAPI document, generated from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kaitiaki node API",
        description = "A federated, signed, append-only log of data access requests, governance decisions and use reports."
    ),
    paths(
        super::write::submit,
        super::log::checkpoint,
        super::log::checkpoint_note,
        super::log::checkpoint_at,
        super::log::leaves,
        super::log::statement,
        super::log::inclusion,
        super::log::consistency,
        super::events::stream,
        super::attachments::upload,
        super::attachments::download,
        super::attachments::erase,
        healthz,
        metrics,
        openapi,
    ),
    components(schemas(ErrorBody))
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn openapi() -> Response {
    let mut doc = ApiDoc::openapi();
    doc.merge(super::state::StateDoc::openapi());
    doc.merge(super::federation::FederationDoc::openapi());
    doc.merge(crate::witness::server::WitnessDoc::openapi());
    doc.merge(super::tiles::TilesDoc::openapi());
    match doc.to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(e) => crate::error::ApiError::internal(&e).into_response(),
    }
}
