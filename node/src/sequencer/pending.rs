//! Writes the sequencer has made but sled has not yet committed.
//!
//! The sequencer prepares batch N+1 while batch N is being synced. Batch
//! N+1's duplicate checks and governance checks must see batch N's effects,
//! which reach sled only after N's `fdatasync`. So the sequence thread
//! *carries* each batch's statement ids and governance writes, tagged with
//! the batch's number, and every read it makes looks here first, then in
//! sled.
//!
//! An entry may be dropped once the commit thread reports its batch
//! committed (`committed_seq`): sled then holds it, or a newer value from a
//! later batch that is still carried. Only the sequence thread touches the
//! carry, so it needs no lock.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use kaitiaki_protocol::StatementId;

use kaitiaki_governance::{Change, Table};

/// A carried governance write: the batch that made it and the value (or
/// `None` for a deletion).
type Carried = (u64, Option<Vec<u8>>);

/// Uncommitted effects of the batches in flight.
#[derive(Debug, Default)]
pub struct Carry {
    // id → (batch, leaf index)
    ids: HashMap<StatementId, (u64, u64)>,
    // (table, key) → (batch, value or deletion)
    state: BTreeMap<(Table, Vec<u8>), Carried>,
    // attachment content hash → batch that committed to it
    attachments: HashMap<[u8; 32], u64>,
}

impl Carry {
    /// Forgets everything sled now holds: batches up to `committed`.
    pub fn prune(&mut self, committed: u64) {
        self.ids.retain(|_, (seq, _)| *seq > committed);
        self.state.retain(|_, (seq, _)| *seq > committed);
        self.attachments.retain(|_, seq| *seq > committed);
    }

    /// Records that batch `seq` commits to the attachment `hash`.
    pub fn record_attachment(&mut self, seq: u64, hash: [u8; 32]) {
        self.attachments.entry(hash).or_insert(seq);
    }

    /// Whether a batch in flight commits to the attachment `hash`.
    pub fn commits_attachment(&self, hash: &[u8; 32]) -> bool {
        self.attachments.contains_key(hash)
    }

    /// Records batch `seq`'s new leaves and governance writes.
    pub fn record<'a>(
        &mut self,
        seq: u64,
        ids: impl IntoIterator<Item = (StatementId, u64)>,
        state: impl IntoIterator<Item = &'a Change>,
    ) {
        for (id, index) in ids {
            self.ids.insert(id, (seq, index));
        }
        for c in state {
            self.state
                .insert((c.table, c.key.clone()), (seq, c.value.clone()));
        }
    }

    /// The leaf index of `id` if a batch in flight sequenced it.
    pub fn index_of(&self, id: &StatementId) -> Option<u64> {
        self.ids.get(id).map(|(_, index)| *index)
    }

    /// The carried value of a key: `None` if not carried (ask sled),
    /// `Some(None)` if carried as deleted.
    pub fn get(&self, table: Table, key: &[u8]) -> Option<Option<&[u8]>> {
        self.state
            .get(&(table, key.to_vec()))
            .map(|(_, v)| v.as_deref())
    }

    /// Carried entries of `table` under `prefix`, strictly after `after` if
    /// given, in key order.
    pub fn range<'s>(
        &'s self,
        table: Table,
        prefix: &'s [u8],
        after: Option<&[u8]>,
    ) -> impl Iterator<Item = (&'s [u8], Option<&'s [u8]>)> + 's {
        let lower = match after {
            Some(a) if a >= prefix => Bound::Excluded((table, a.to_vec())),
            _ => Bound::Included((table, prefix.to_vec())),
        };
        self.state
            .range((lower, Bound::Unbounded))
            .take_while(move |((t, k), _)| *t == table && k.starts_with(prefix))
            .map(|((_, k), (_, v))| (k.as_slice(), v.as_deref()))
    }

    /// Whether nothing is carried.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.state.is_empty() && self.attachments.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_keeps_only_uncommitted_batches() {
        let mut c = Carry::default();
        let id = StatementId::from_bytes([1; 32]);
        let change = |value: Option<&[u8]>| Change {
            table: Table::Meta,
            key: b"a".to_vec(),
            value: value.map(<[u8]>::to_vec),
        };
        c.record(1, [(id, 0)], [&change(Some(b"1"))]);
        c.record(2, [], [&change(None)]);
        assert_eq!(c.get(Table::Meta, b"a"), Some(None));
        c.prune(1);
        assert_eq!(c.index_of(&id), None);
        assert_eq!(c.get(Table::Meta, b"a"), Some(None));
        c.prune(2);
        assert!(c.is_empty());
    }
}
