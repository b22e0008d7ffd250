//! This node's own log against the copies its peers hold of it.
//!
//! A node restored from a copy of its log that is shorter than what its
//! peers hold would sequence new records where they already hold others:
//! two histories under one key, which every peer then quarantines. So each
//! follower, before anything else, asks its peer for the checkpoint of the
//! peer's copy of this node's log (`GET <peer>/tlog/mirrors/<origin>/checkpoint`),
//! signed by this node's own key, and compares it with the log here. If the
//! peer's copy is longer than the log here, or another history, the node
//! refuses new statements (`unavailable`, 503, with the reason) and
//! `/healthz` says so, until its operator restores the fuller copy.
//!
//! After a start whose log was indexed anew from its segment files (a
//! restore, or an index lost), new statements also wait until every peer
//! followed at start has been asked once, answered or not: a statement
//! taken before then could be the one that splits the log. A peer that
//! cannot be asked then is asked again on each round until it answers.

use std::collections::BTreeSet;
use std::sync::Mutex;

use kaitiaki_protocol::checkpoint::Checkpoint;
use kaitiaki_protocol::note::Note;

use crate::error::{code, ApiError};
use crate::node::Shared;

/// What the peers' copies have told about this node's log.
#[derive(Debug, Default)]
pub struct OwnLogCheck {
    /// Peers (by origin) still to be asked before new statements are taken.
    waiting: Mutex<BTreeSet<String>>,
    /// Why new statements are refused, once a peer's copy showed more.
    refused: Mutex<Option<String>>,
}

/// What one peer's copy of this node's log showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// Nothing to compare: the peer holds no copy, or did not answer.
    Nothing,
    /// A prefix of the log here, or all of it.
    Prefix,
    /// More than the log here, or another history: the reason.
    Ahead(String),
}

impl OwnLogCheck {
    /// New statements wait until each of the peers `origins` has been asked.
    pub(crate) fn hold_for(&self, origins: impl IntoIterator<Item = String>) {
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(origins);
    }

    /// The peer `origin` has been asked (whatever it answered).
    pub(crate) fn asked(&self, origin: &str) {
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(origin);
    }

    /// Refuses new statements from now on, for `why`.
    pub(crate) fn refuse(&self, why: String) {
        let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        if refused.is_none() {
            tracing::error!(problem = %why, "refusing new statements");
            *refused = Some(why);
        }
    }

    /// Why new statements are refused for good, if they are.
    pub fn refused(&self) -> Option<String> {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The answer to a new statement now, if it must be refused.
    pub fn refusal(&self) -> Option<ApiError> {
        if let Some(why) = self.refused() {
            return Some(ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                code::UNAVAILABLE,
                format!("this node takes no new statements: {why}"),
            ));
        }
        let waiting = !self
            .waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty();
        waiting.then(|| {
            ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                code::UNAVAILABLE,
                "this node's log was indexed anew from its files at start, and the node is \
                 comparing it with its peers' copies before it takes new statements; retry in a \
                 moment",
            )
        })
    }
}

/// Compares the checkpoint `bytes` that the peer at `url` holds of this
/// node's log with the log here.
pub(crate) fn compare(shared: &Shared, url: &str, bytes: &[u8]) -> Seen {
    let origin = &shared.config.origin;
    let Ok(note) = Note::parse(bytes) else {
        return Seen::Nothing;
    };
    // Only this node's own signature makes the peer's claim worth anything.
    if note.verify(&[shared.identity.verifier()]).is_err() {
        return Seen::Nothing;
    }
    let Ok(theirs) = Checkpoint::from_note(&note) else {
        return Seen::Nothing;
    };
    if theirs.origin() != origin {
        return Seen::Nothing;
    }
    let ours = shared.published();
    let restore = "stop the node and restore its log from the fuller copy (README: \"Backing up \
                   and restoring a node\")";
    if theirs.size() > ours.size {
        return Seen::Ahead(format!(
            "the peer at {url} holds {} records of this log, signed with this node's key, and \
             this node holds {}: it was restored from a shorter copy, and a new record here \
             would split the log in two; {restore}",
            theirs.size(),
            ours.size
        ));
    }
    let here = if theirs.size() == ours.size {
        Ok(ours.root)
    } else {
        shared.storage.root(theirs.size())
    };
    match here {
        Ok(root) if root == *theirs.root() => Seen::Prefix,
        Ok(_) => Seen::Ahead(format!(
            "the peer at {url} holds another history of this log at size {}, signed with this \
             node's key: this node was restored from a copy that is not its log; {restore}",
            theirs.size()
        )),
        // The tree here cannot say; nothing is claimed.
        Err(_) => Seen::Nothing,
    }
}
