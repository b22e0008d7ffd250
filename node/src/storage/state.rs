//! Governance state on sled: one key space per governance [`Table`],
//! named by [`Table::name`], inside the node's `log` tree.
//!
//! The governance crate never touches a disk; it reads through its
//! [`Store`] trait, and the node commits the writes it buffers (in an
//! `Overlay`) in the same atomic sled batch as the batch's indexes. So the
//! derived state survives restarts and start-up never replays the log.
//!
//! A table's keys are `name ‖ 0x00 ‖ key`: table names never contain NUL,
//! so no table's space is a prefix of another's.

use std::ops::Bound;

use kaitiaki_governance::{Store, Table};
use sled::Tree;

use super::StorageError;

/// The sled key of `key` in `table`.
pub fn key_of(table: Table, key: &[u8]) -> Vec<u8> {
    let name = table.name().as_bytes();
    let mut k = Vec::with_capacity(name.len() + 1 + key.len());
    k.extend_from_slice(name);
    k.push(0);
    k.extend_from_slice(key);
    k
}

/// Adds governance's buffered writes to a commit's list of writes.
pub(crate) fn push_changes(
    writes: &mut super::redo::Writes,
    changes: &[kaitiaki_governance::Change],
) {
    for change in changes {
        let key = key_of(change.table, &change.key);
        match &change.value {
            Some(v) => writes.insert(key, v.as_slice()),
            None => writes.remove(key),
        }
    }
}

/// Entries read from a table: (key within the table, value).
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// The governance tables.
#[derive(Clone, Debug)]
pub struct StateTrees {
    tree: Tree,
}

impl StateTrees {
    /// The tables kept in `tree`.
    pub fn new(tree: Tree) -> StateTrees {
        StateTrees { tree }
    }

    /// One value.
    pub fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.tree.get(key_of(table, key))?.map(|v| v.to_vec()))
    }

    /// Up to `limit` entries whose key starts with `prefix`, strictly after
    /// `after` if given, in key order.
    pub fn scan(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StorageError> {
        let start = key_of(table, prefix);
        let lower = match after {
            Some(a) if a >= prefix => Bound::Excluded(key_of(table, a)),
            _ => Bound::Included(start.clone()),
        };
        let skip = table.name().len() + 1;
        let mut out = Vec::new();
        for item in self.tree.range((lower, Bound::<Vec<u8>>::Unbounded)) {
            let (k, v) = item?;
            if !k.starts_with(&start) || out.len() == limit {
                break;
            }
            out.push((k[skip..].to_vec(), v.to_vec()));
        }
        Ok(out)
    }
}

/// The committed governance state, for queries.
impl Store for StateTrees {
    type Error = StorageError;

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        StateTrees::get(self, table, key)
    }

    fn scan_prefix(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StorageError> {
        self.scan(table, prefix, after, limit)
    }
}
