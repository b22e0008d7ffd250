//! Events the node publishes as it commits: new leaves, new checkpoints and
//! which governance tables changed. The `/v1/events` stream serves them.
//!
//! Events are sent on a bounded broadcast channel only after the batch they
//! describe is durable and committed, so a listener never hears of a leaf
//! that a crash could take back. A listener that falls behind is told how
//! many events it missed and can catch up from `/v1/leaves`.

use kaitiaki_protocol::{Body, Hash, PublicKey, Statement, StatementId, Timestamp};
use serde::Serialize;

/// How many events the broadcast channel holds for slow listeners.
pub const EVENT_BUFFER: usize = 4096;

/// One event.
#[derive(Clone, Debug, Serialize)]
// Events travel behind an Arc, so the size of the largest variant costs
// one allocation per event, not a copy per listener.
#[allow(clippy::large_enum_variant)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A statement was sequenced and is durable.
    Leaf {
        /// Its leaf index.
        index: u64,
        /// Its statement id.
        id: StatementId,
        /// Its kind, e.g. `vote`.
        kind: String,
        /// Its author.
        author: PublicKey,
        /// When the node sequenced it.
        sequenced_at: Timestamp,
        /// The bodies, datasets, requests and other statements it concerns
        /// (what `?body=` and `?dataset=` filters match against).
        refs: Vec<StatementId>,
    },
    /// A new checkpoint was signed.
    Checkpoint {
        /// The tree size.
        size: u64,
        /// The root hash.
        root: Hash,
    },
    /// Governance state changed in these tables.
    State {
        /// The log size after the change.
        size: u64,
        /// The tables written.
        tables: Vec<String>,
        /// Every id the change concerns (the batch's leaves' refs).
        refs: Vec<StatementId>,
    },
}

impl Event {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Leaf { .. } => "leaf",
            Event::Checkpoint { .. } => "checkpoint",
            Event::State { .. } => "state",
        }
    }

    /// Whether the event concerns `id` (a body or dataset); checkpoints
    /// concern everyone.
    pub fn concerns(&self, id: &StatementId) -> bool {
        match self {
            Event::Leaf { id: own, refs, .. } => own == id || refs.contains(id),
            Event::State { refs, .. } => refs.contains(id),
            Event::Checkpoint { .. } => true,
        }
    }
}

/// The ids a statement refers to, directly, in its body. The sequencer adds
/// what governance knows (a vote's request's datasets, say) on top.
pub fn references(statement: &Statement) -> Vec<StatementId> {
    let mut out = Vec::new();
    match &statement.body {
        Body::BodyAmend(b) => out.push(b.body),
        Body::DatasetRegister(b) => out.extend(&b.governing_bodies),
        Body::RequestSubmit(b) => out.extend(&b.datasets),
        Body::RequestQuestion(b) => out.push(b.request),
        Body::RequestAnswer(b) => out.push(b.question),
        Body::RequestWithdraw(b) => out.push(b.request),
        Body::Vote(b) => out.extend([b.subject, b.body]),
        Body::RahuiPlace(b) => out.extend([b.body, b.dataset]),
        Body::RahuiLift(b) => out.push(b.rahui),
        Body::ApprovalMotion(b) => out.extend([b.request, b.body]),
        Body::RenewalRequest(b) => out.push(b.request),
        Body::UseReport(b) => {
            out.push(b.request);
            out.extend(&b.outputs);
        }
        Body::ReportReview(b) => out.extend([b.report, b.body]),
        Body::OutputSubmit(b) => out.push(b.request),
        Body::OutputReview(b) => out.extend([b.output, b.body]),
        Body::ConcernRaise(b) => out.push(b.subject),
        Body::ConcernRespond(b) => out.extend([b.concern, b.body]),
        Body::AttachmentCommit(b) => out.extend([b.subject, b.readers]),
        _ => {}
    }
    out.sort_unstable();
    out.dedup();
    out
}
