//! `GET /v1/events`: a Server-Sent Events stream of new leaves, checkpoints
//! and governance state changes, optionally filtered to one body or dataset.
//!
//! Each SSE event is named `leaf`, `checkpoint` or `state` and carries the
//! JSON of [`crate::events::Event`]. A listener too slow to keep up gets a
//! `lagged` event with the number of events it missed, and can catch up
//! from `/v1/leaves`. Streams end when the node shuts down.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use kaitiaki_protocol::StatementId;
use serde::Deserialize;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use utoipa::IntoParams;

use super::{AppState, Query};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::events::Event;

/// Stream filters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct EventsQuery {
    /// Only events concerning this body (its charter id).
    pub body: Option<String>,
    /// Only events concerning this dataset (its registration id).
    pub dataset: Option<String>,
}

/// Subscribe to new leaves, checkpoints and state changes (SSE).
#[utoipa::path(
    get,
    path = "/v1/events",
    params(EventsQuery),
    responses(
        (status = 200, content_type = "text/event-stream", description = "Events named leaf, checkpoint, state or lagged"),
        (status = 400, body = ErrorBody),
    )
)]
pub async fn stream(
    State(app): State<AppState>,
    Query(q): Query<EventsQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let parse = |s: Option<String>, what: &str| -> ApiResult<Option<StatementId>> {
        s.map(|s| {
            StatementId::from_hex(&s).ok_or_else(|| {
                ApiError::malformed(format!(
                    "{what} must be a statement id (64 lowercase hex digits)"
                ))
            })
        })
        .transpose()
    };
    let filters: Vec<StatementId> = [parse(q.body, "body")?, parse(q.dataset, "dataset")?]
        .into_iter()
        .flatten()
        .collect();

    let mut closing = app.shared.closing.subscribe();
    let ended = async move {
        let _ = closing.wait_for(|c| *c).await;
    };
    let events = BroadcastStream::new(app.shared.events.subscribe())
        .filter_map(move |item| {
            let out = match item {
                Ok(event) if filters.iter().all(|f| event.concerns(f)) => Some(Ok(to_sse(&event))),
                Ok(_) => None,
                Err(BroadcastStreamRecvError::Lagged(n)) => {
                    Some(Ok(SseEvent::default().event("lagged").data(n.to_string())))
                }
            };
            futures::future::ready(out)
        })
        .take_until(ended);
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

fn to_sse(event: &Event) -> SseEvent {
    let sse = SseEvent::default().event(event.name());
    let sse = match event {
        Event::Leaf { index, .. } => sse.id(index.to_string()),
        _ => sse,
    };
    match serde_json::to_string(event) {
        Ok(json) => sse.data(json),
        // Events are plain data and always serialise; say so if one did not.
        Err(_) => SseEvent::default().comment("an event could not be encoded"),
    }
}
