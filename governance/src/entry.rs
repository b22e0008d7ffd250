//! What goes in and what comes out of the fold: sequenced statements in,
//! verdicts out.

use kaitiaki_protocol::{Statement, StatementId, Timestamp, Verified};
use serde::{Deserialize, Serialize};

use crate::codec::{KeyBytes, Pos};
use crate::rejection::Rejection;

/// A statement as sequenced in one log: the unit [`crate::apply`] folds in.
///
/// The caller has already verified the envelope (signature, payload, limits);
/// governance decides only whether the statement counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The statement id (blake3 of its envelope).
    pub id: StatementId,
    /// What it says.
    pub statement: Statement,
    /// The origin of the log it is sequenced in.
    pub log: String,
    /// Its leaf index in that log.
    pub index: u64,
    /// The node's time for that leaf.
    pub sequenced_at: Timestamp,
}

impl Entry {
    /// An entry for a verified statement sequenced at `index` of `log`.
    pub fn new(
        verified: Verified,
        log: impl Into<String>,
        index: u64,
        sequenced_at: Timestamp,
    ) -> Entry {
        let (_, statement, id) = verified.into_parts();
        Entry {
            id,
            statement,
            log: log.into(),
            index,
            sequenced_at,
        }
    }

    /// Where it sits.
    pub fn pos(&self) -> Pos {
        Pos {
            at: self.sequenced_at,
            log: self.log.clone(),
            index: self.index,
        }
    }
}

/// Whether a statement counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Verdict {
    /// It counts.
    Valid,
    /// It refers to a statement not known yet, and waits for it.
    Pending {
        /// The statement it waits for.
        missing: StatementId,
    },
    /// It breaks a rule and is left out of the state.
    Excluded {
        /// Which rule, and what to do about it.
        rejection: Rejection,
    },
}

impl Verdict {
    /// Whether the statement counts.
    pub fn is_valid(&self) -> bool {
        matches!(self, Verdict::Valid)
    }

    pub(crate) fn excluded(rejection: Rejection) -> Verdict {
        Verdict::Excluded { rejection }
    }
}

/// The aggregate a statement belongs to: the unit that is recomputed when
/// one of its statements, or something it depends on, changes.
///
/// The variant order is the order aggregates are recomputed in within one
/// apply: each kind depends only on kinds before it (keys ← bodies ←
/// datasets ← requests ← concerns ← items), so one pass settles them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Agg {
    /// A key: its announcements, rotation and revocation.
    Key(KeyBytes),
    /// A body: its charter, amendments and the votes on them.
    Body(StatementId),
    /// A dataset: its registration and rāhui.
    Dataset(StatementId),
    /// A request and everything decided or filed about it.
    Request(StatementId),
    /// A concern and the responses to it.
    Concern(StatementId),
    /// A statement that stands alone (a question, an answer, an attachment).
    Item(StatementId),
}

impl Agg {
    /// The key prefix of this aggregate in [`crate::Table::Members`].
    pub(crate) fn key(&self) -> [u8; 33] {
        let (tag, bytes) = match self {
            Agg::Key(k) => (0u8, *k.as_bytes()),
            Agg::Body(i) => (1, *i.as_bytes()),
            Agg::Dataset(i) => (2, *i.as_bytes()),
            Agg::Request(i) => (3, *i.as_bytes()),
            Agg::Concern(i) => (4, *i.as_bytes()),
            Agg::Item(i) => (5, *i.as_bytes()),
        };
        let mut out = [0u8; 33];
        out[0] = tag;
        out[1..].copy_from_slice(&bytes);
        out
    }
}

/// What governance remembers about each statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VerdictRecord {
    pub verdict: Verdict,
    /// `None` while the statement waits for what it refers to before it can be routed.
    pub owner: Option<Agg>,
    /// The placement that counts (see the crate docs on time), once known.
    pub pos: Option<Pos>,
    /// Index entries this statement contributes, so they can be removed
    /// exactly when its position or verdict changes.
    pub sides: Vec<Side>,
}

/// One index entry contributed by a statement.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Side {
    pub table: crate::store::Table,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

/// What applying one entry did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The verdict on the entry's statement after applying it.
    pub verdict: Verdict,
    /// The entry's placement was already known: nothing changed.
    pub duplicate: bool,
    /// Every statement whose verdict changed (including this one), in id order:
    /// a late key revocation, for instance, excludes what the key signed after it.
    pub changed: Vec<(StatementId, Verdict)>,
}
