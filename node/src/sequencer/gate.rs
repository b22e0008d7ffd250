//! The bridge from the sequencer to the governance rules.
//!
//! The sequencer asks one question per statement — may this author say
//! this, now, given everything before it? — and, if so, keeps the
//! statement's effect on the governance tables. The answer must see the
//! effects of every earlier statement, including those earlier in the same
//! batch and in batches not yet committed to sled, so governance reads
//! through three layers:
//!
//! ```text
//! batch Overlay → StateView (Carry → sled)
//! ```
//!
//! A statement governance refuses leaves nothing behind (`admit` checks and
//! applies in one pass and writes only when the statement counts). An
//! admitted one's writes go into the batch overlay, whose changes the commit
//! thread applies to sled in the batch's transaction.

use kaitiaki_governance::{
    apply, Change, CheckError, Entry, Overlay, Rejection, Store, Table, Verdict,
};

use super::pending::Carry;
use crate::storage::state::Entries;
use crate::storage::{Storage, StorageError};

/// Committed state as the sequencer sees it: the carried writes of batches
/// in flight (see [`Carry`]) over sled.
#[derive(Clone, Copy, Debug)]
pub struct StateView<'a> {
    storage: &'a Storage,
    carry: Option<&'a Carry>,
}

impl<'a> StateView<'a> {
    /// A view of sled with, if given, the carried batches on top.
    pub fn new(storage: &'a Storage, carry: Option<&'a Carry>) -> Self {
        StateView { storage, carry }
    }
}

impl Store for StateView<'_> {
    type Error = StorageError;

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        if let Some(v) = self.carry.and_then(|c| c.get(table, key)) {
            return Ok(v.map(<[u8]>::to_vec));
        }
        self.storage.state().get(table, key)
    }

    /// sled's entries with the carried writes merged in.
    fn scan_prefix(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StorageError> {
        let Some(carry) = self
            .carry
            .filter(|c| c.range(table, prefix, after).next().is_some())
        else {
            return self.storage.state().scan(table, prefix, after, limit);
        };
        kaitiaki_governance::merge_scan(
            limit,
            after,
            |cursor, n| self.storage.state().scan(table, prefix, cursor, n),
            |cursor| carry.range(table, prefix, cursor),
        )
    }
}

/// One batch's pass through governance.
#[derive(Debug)]
pub struct Gate<'a> {
    batch: Overlay<'a, StateView<'a>>,
}

impl<'a> Gate<'a> {
    /// A gate over `view`.
    pub fn new(view: &'a StateView<'a>) -> Self {
        Gate {
            batch: Overlay::new(view),
        }
    }

    /// Checks a statement's authority and, if it counts, keeps its effects.
    /// A refused statement leaves no trace. A statement that refers to one
    /// this node does not know is refused too: a node sequences only what
    /// it can check.
    pub fn admit(&mut self, entry: &Entry) -> Result<Result<(), Rejection>, StorageError> {
        // Governance's `admit` checks and applies in one pass and writes
        // nothing when it refuses, so no trial overlay is needed.
        match kaitiaki_governance::admit(entry, &mut self.batch) {
            Ok(_) => Ok(Ok(())),
            Err(CheckError::Rejected(rejection)) => Ok(Err(rejection)),
            Err(CheckError::State(e)) => Err(e.into()),
            Err(other) => Err(StorageError::Corrupt(format!("governance: {other}"))),
        }
    }

    /// Applies a statement that is already in the log (start-up re-index).
    /// It was admitted when it was sequenced, so its verdict is not asked.
    pub fn replay(&mut self, entry: &Entry) -> Result<(), StorageError> {
        apply(entry, &mut self.batch)?;
        Ok(())
    }

    /// Applies a statement from a peer's log (replication) and returns its
    /// verdict: a mirrored statement that breaks a rule is kept, excluded,
    /// and the state goes on without it.
    pub fn mirror(&mut self, entry: &Entry) -> Result<Verdict, StorageError> {
        Ok(apply(entry, &mut self.batch)?.verdict)
    }

    /// The batch's governance writes, in table and key order.
    pub fn into_changes(self) -> Vec<Change> {
        self.batch.into_changes()
    }
}
