//! The key-value store the state lives in, and two implementations of it.
//!
//! Governance never holds the whole state in memory: a node keeps millions of
//! statements and must start without replaying its logs, so every record
//! lives in a [`Store`] the caller passes in (the node implements it on sled,
//! one tree per [`Table`]). Reads go through [`Store`]; writes through
//! [`StoreWrite`].
//!
//! - [`MemStore`] is an ordered in-memory map, for tests and tools.
//! - [`Overlay`] reads through to a base store and buffers every write, so a
//!   node can check and apply a whole batch of new statements, make its log
//!   durable, and only then commit [`Overlay::into_changes`] to disk in one
//!   atomic transaction. Dropping an overlay forgets the batch.

use std::collections::{btree_map, BTreeMap};
use std::convert::Infallible;
use std::ops::Bound;

/// A named table of the state. Each has a stable [`Table::name`], which a
/// node may use as the name of a sled tree; renaming one is a format change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Table {
    /// Statement id → the exact payload bytes, so aggregates can be recomputed.
    Statements,
    /// Statement id ‖ position → empty: every log position a statement holds.
    Placements,
    /// Statement id → its verdict (valid, pending or excluded) and the aggregate it belongs to.
    Verdicts,
    /// Aggregate ‖ statement id → empty: the statements each aggregate is computed from.
    Members,
    /// Missing id ‖ waiting id → empty: statements waiting for one they refer to.
    Pending,
    /// Statement id → rejection: statements excluded from the state, for listing.
    Excluded,
    /// Author key ‖ time ‖ statement id → aggregate: who said what when, so a
    /// rotation or revocation finds the statements it invalidates. An
    /// amendment is also listed under each key it removes, whose seat
    /// depends on that key's rotations.
    Authored,
    /// Key → the key's record (name, affiliation, end, predecessors).
    Keys,
    /// New key ‖ old key → empty: rotations into a key.
    RotationsInto,
    /// Body id → the body's record (charter, amendments and their outcomes).
    Bodies,
    /// Body id ‖ inverted home-log index → the charter version in force from that index.
    BodyVersions,
    /// Body id ‖ home-log index → statement id: everything sequenced for a body in its home log.
    BodyLog,
    /// Body id ‖ dataset id → empty: the datasets each body governs.
    DatasetsByBody,
    /// Dataset id → the dataset's record (registration and rāhui).
    Datasets,
    /// Dataset id ‖ time ‖ vote id → request id: votes touching a dataset, so a rāhui finds those it refuses.
    DatasetVotes,
    /// Time ‖ rāhui id → dataset id: every valid rāhui, for the rāhui-in-force list.
    Rahui,
    /// Request id → the request's derived record.
    Requests,
    /// Dataset id ‖ time ‖ request id → empty.
    RequestsByDataset,
    /// Body id ‖ time ‖ request id → empty.
    RequestsByBody,
    /// Requester key ‖ time ‖ request id → empty.
    RequestsByRequester,
    /// Phase ‖ time ‖ request id → empty.
    RequestsByPhase,
    /// Earliest unmet due time ‖ request id → empty: requests owing a use report.
    ReportsDue,
    /// Target id ‖ statement id → empty: questions, answers, concerns and
    /// attachments that refer to a target, recomputed when it changes.
    Dependents,
    /// Concern id → the concern's record (raise and responses).
    Concerns,
    /// Time ‖ concern id → empty: concerns not yet resolved.
    OpenConcerns,
    /// Subject id ‖ time ‖ item id → kind: questions, concerns and attachments by subject, for timelines.
    Thread,
    /// Request id → how far its deliberation has got (the last of its
    /// statements in position order), so a vote sequenced after everything
    /// else is counted without recomputing the request.
    RequestRuns,
    /// Request id ‖ body id ‖ member slot → that member's latest counted
    /// ballot on the request, which the next vote's tally is computed from.
    Ballots,
    /// Small named values: the state hash and counters. Not part of the hash itself.
    Meta,
}

impl serde::Serialize for Table {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Table {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Table::from_name(&name).ok_or_else(|| serde::de::Error::custom("unknown table name"))
    }
}

impl Table {
    /// Where the table sits in [`Table::ALL`].
    pub(crate) fn position(self) -> usize {
        // `ALL` lists the variants in declaration order.
        self as usize
    }

    /// The table with this [`Table::name`].
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.iter().copied().find(|t| t.name() == name)
    }

    /// Every table, in a fixed order.
    pub const ALL: &'static [Table] = &[
        Table::Statements,
        Table::Placements,
        Table::Verdicts,
        Table::Members,
        Table::Pending,
        Table::Excluded,
        Table::Authored,
        Table::Keys,
        Table::RotationsInto,
        Table::Bodies,
        Table::BodyVersions,
        Table::BodyLog,
        Table::DatasetsByBody,
        Table::Datasets,
        Table::DatasetVotes,
        Table::Rahui,
        Table::Requests,
        Table::RequestsByDataset,
        Table::RequestsByBody,
        Table::RequestsByRequester,
        Table::RequestsByPhase,
        Table::ReportsDue,
        Table::Dependents,
        Table::Concerns,
        Table::OpenConcerns,
        Table::Thread,
        Table::RequestRuns,
        Table::Ballots,
        Table::Meta,
    ];

    /// The table's stable name (also a valid sled tree name).
    pub const fn name(self) -> &'static str {
        match self {
            Table::Statements => "gov.statements",
            Table::Placements => "gov.placements",
            Table::Verdicts => "gov.verdicts",
            Table::Members => "gov.members",
            Table::Pending => "gov.pending",
            Table::Excluded => "gov.excluded",
            Table::Authored => "gov.authored",
            Table::Keys => "gov.keys",
            Table::RotationsInto => "gov.rotations-into",
            Table::Bodies => "gov.bodies",
            Table::BodyVersions => "gov.body-versions",
            Table::BodyLog => "gov.body-log",
            Table::DatasetsByBody => "gov.datasets-by-body",
            Table::Datasets => "gov.datasets",
            Table::DatasetVotes => "gov.dataset-votes",
            Table::Rahui => "gov.rahui",
            Table::Requests => "gov.requests",
            Table::RequestsByDataset => "gov.requests-by-dataset",
            Table::RequestsByBody => "gov.requests-by-body",
            Table::RequestsByRequester => "gov.requests-by-requester",
            Table::RequestsByPhase => "gov.requests-by-phase",
            Table::ReportsDue => "gov.reports-due",
            Table::Dependents => "gov.dependents",
            Table::Concerns => "gov.concerns",
            Table::OpenConcerns => "gov.open-concerns",
            Table::Thread => "gov.thread",
            Table::RequestRuns => "gov.request-runs",
            Table::Ballots => "gov.ballots",
            Table::Meta => "gov.meta",
        }
    }
}

/// Key-value pairs, in key order, as a scan returns them.
pub type KeyValues = Vec<(Vec<u8>, Vec<u8>)>;

/// Reading the state.
pub trait Store {
    /// What can go wrong underneath (I/O, corruption); governance passes it on.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The value under `key`, if any.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, Self::Error>;

    /// Up to `limit` entries whose key starts with `prefix`, in ascending key
    /// order, starting strictly after `after` when it is given (`after` is a
    /// whole key, normally one this call returned before).
    fn scan_prefix(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<KeyValues, Self::Error>;
}

/// Writing the state. Governance only writes through this trait, and every
/// write of one [`crate::apply`] must be committed together or not at all.
pub trait StoreWrite: Store {
    /// Sets `key` to `value`.
    fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<(), Self::Error>;
    /// Removes `key` (a missing key is not an error).
    fn delete(&mut self, table: Table, key: &[u8]) -> Result<(), Self::Error>;

    /// Sets `key` to `value`, or removes it when `value` is `None`, and
    /// returns what was there before. Governance writes through this (it
    /// needs the old value to keep the state hash); the default reads, then
    /// writes, and a store that can do both in one step should.
    fn replace(
        &mut self,
        table: Table,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>, Self::Error> {
        let old = self.get(table, key)?;
        if old.as_deref() != value {
            match value {
                Some(v) => self.put(table, key, v)?,
                None => self.delete(table, key)?,
            }
        }
        Ok(old)
    }

    /// [`StoreWrite::replace`] with a value the store may keep without copying it.
    fn replace_owned(
        &mut self,
        table: Table,
        key: &[u8],
        value: Option<Vec<u8>>,
    ) -> Result<Option<Vec<u8>>, Self::Error> {
        self.replace(table, key, value.as_deref())
    }
}

/// One buffered write, as [`Overlay::into_changes`] hands it to the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The table written.
    pub table: Table,
    /// The key written.
    pub key: Vec<u8>,
    /// The new value, or `None` for a deletion.
    pub value: Option<Vec<u8>>,
}

/// An in-memory store: one ordered map per table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemStore {
    // One map per table, in `Table::ALL` order.
    tables: Vec<BTreeMap<Key, Vec<u8>>>,
}

impl Default for MemStore {
    fn default() -> MemStore {
        MemStore {
            tables: Table::ALL.iter().map(|_| BTreeMap::new()).collect(),
        }
    }
}

impl MemStore {
    /// An empty store.
    pub fn new() -> MemStore {
        MemStore::default()
    }

    fn table(&self, table: Table) -> &BTreeMap<Key, Vec<u8>> {
        &self.tables[table.position()]
    }

    fn table_mut(&mut self, table: Table) -> &mut BTreeMap<Key, Vec<u8>> {
        &mut self.tables[table.position()]
    }

    /// Every entry of one table, in key order (for tests and snapshots).
    pub fn entries(&self, table: Table) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.table(table)
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    /// How many entries a table holds.
    pub fn len(&self, table: Table) -> usize {
        self.table(table).len()
    }

    /// Whether the store holds nothing at all.
    pub fn is_empty(&self) -> bool {
        self.tables.iter().all(BTreeMap::is_empty)
    }

    /// Applies buffered changes (what a node does with its sled transaction).
    pub fn commit(&mut self, changes: impl IntoIterator<Item = Change>) {
        for c in changes {
            let t = self.table_mut(c.table);
            match c.value {
                Some(v) => {
                    t.insert(Key::new(&c.key), v);
                }
                None => {
                    t.remove(c.key.as_slice());
                }
            }
        }
    }
}

/// A key of a [`MemStore`] table. Keys are short (ids, times, indexes), so
/// most live inline in the map's nodes: a lookup compares bytes already in
/// the node instead of following a pointer per comparison.
#[derive(Clone)]
enum Key {
    Inline(u8, [u8; Key::INLINE]),
    Heap(Box<[u8]>),
}

impl Key {
    const INLINE: usize = 86;

    fn new(k: &[u8]) -> Key {
        if k.len() <= Key::INLINE {
            let mut buf = [0u8; Key::INLINE];
            buf[..k.len()].copy_from_slice(k);
            Key::Inline(k.len() as u8, buf)
        } else {
            Key::Heap(k.into())
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Key::Inline(n, buf) => &buf[..usize::from(*n)],
            Key::Heap(b) => b,
        }
    }
}

impl std::borrow::Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for Key {
    fn eq(&self, o: &Key) -> bool {
        self.as_slice() == o.as_slice()
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Key {
    fn cmp(&self, o: &Key) -> std::cmp::Ordering {
        self.as_slice().cmp(o.as_slice())
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02x?}", self.as_slice())
    }
}

/// The range of keys starting with `prefix`, strictly after `after` if given.
fn range_of<'k>(prefix: &'k [u8], after: Option<&'k [u8]>) -> (Bound<&'k [u8]>, Bound<&'k [u8]>) {
    let lower = match after {
        Some(a) if a >= prefix => Bound::Excluded(a),
        _ => Bound::Included(prefix),
    };
    (lower, Bound::Unbounded)
}

impl Store for MemStore {
    type Error = Infallible;

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, Infallible> {
        Ok(self.table(table).get(key).cloned())
    }

    fn scan_prefix(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<KeyValues, Infallible> {
        Ok(self
            .table(table)
            .range::<[u8], _>(range_of(prefix, after))
            .take_while(|(k, _)| k.as_slice().starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.as_slice().to_vec(), v.clone()))
            .collect())
    }
}

impl StoreWrite for MemStore {
    fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<(), Infallible> {
        self.replace(table, key, Some(value)).map(|_| ())
    }

    fn delete(&mut self, table: Table, key: &[u8]) -> Result<(), Infallible> {
        self.replace(table, key, None).map(|_| ())
    }

    fn replace(
        &mut self,
        table: Table,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>, Infallible> {
        self.replace_owned(table, key, value.map(<[u8]>::to_vec))
    }

    fn replace_owned(
        &mut self,
        table: Table,
        key: &[u8],
        value: Option<Vec<u8>>,
    ) -> Result<Option<Vec<u8>>, Infallible> {
        let t = self.table_mut(table);
        Ok(match value {
            // One walk down the tree whether the key is new or not.
            Some(v) => match t.entry(Key::new(key)) {
                btree_map::Entry::Occupied(mut e) => Some(std::mem::replace(e.get_mut(), v)),
                btree_map::Entry::Vacant(e) => {
                    e.insert(v);
                    None
                }
            },
            None => t.remove(key),
        })
    }
}

/// A base store seen through a buffer of uncommitted writes.
///
/// Reads see the buffered writes first; the base is never changed. The node
/// applies a batch into an overlay, makes its log durable, then commits
/// [`Overlay::into_changes`] atomically; [`crate::check`] uses a throwaway
/// overlay to find out what applying a statement would do.
#[derive(Debug)]
pub struct Overlay<'a, S: Store + ?Sized> {
    base: &'a S,
    // Per table; `None` records a deletion that hides a base entry.
    writes: BTreeMap<Table, BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
}

impl<'a, S: Store + ?Sized> Overlay<'a, S> {
    /// An empty overlay over `base`.
    pub fn new(base: &'a S) -> Self {
        Overlay {
            base,
            writes: BTreeMap::new(),
        }
    }

    /// How many keys the overlay has written.
    pub fn len(&self) -> usize {
        self.writes.values().map(BTreeMap::len).sum()
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.writes.values().all(BTreeMap::is_empty)
    }

    /// The buffered writes, in table and key order, for the caller to commit atomically.
    pub fn into_changes(self) -> Vec<Change> {
        self.writes
            .into_iter()
            .flat_map(|(table, w)| {
                w.into_iter()
                    .map(move |(key, value)| Change { table, key, value })
            })
            .collect()
    }
}

impl<S: Store + ?Sized> Store for Overlay<'_, S> {
    type Error = S::Error;

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, S::Error> {
        match self.writes.get(&table).and_then(|w| w.get(key)) {
            Some(v) => Ok(v.clone()),
            None => self.base.get(table, key),
        }
    }

    fn scan_prefix(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<KeyValues, S::Error> {
        let Some(writes) = self.writes.get(&table).filter(|w| !w.is_empty()) else {
            return self.base.scan_prefix(table, prefix, after, limit);
        };
        merge_scan(
            limit,
            after,
            |cursor, n| self.base.scan_prefix(table, prefix, cursor, n),
            |cursor| {
                writes
                    .range::<[u8], _>(range_of(prefix, cursor))
                    .take_while(move |(k, _)| k.starts_with(prefix))
                    .map(|(k, v)| (k.as_slice(), v.as_deref()))
            },
        )
    }
}

/// One page (at most `limit` entries after `after`) of a base store's
/// sorted entries with buffered writes merged in: `Some(value)` replaces or
/// adds an entry, `None` hides it.
///
/// `base(cursor, n)` returns up to `n` base entries after `cursor`;
/// `buffered(cursor)` yields the buffered writes after `cursor`, in key
/// order, within the same prefix. Buffered deletions can hide base entries,
/// so one chunk of `limit` from the base may not fill the page: the base is
/// read in chunks, merging the writes up to the end of each. Shared by
/// [`Overlay`] and by any store that keeps writes in front of another (the
/// node's view of batches not yet committed to disk).
pub fn merge_scan<'w, E, I>(
    limit: usize,
    after: Option<&[u8]>,
    mut base: impl FnMut(Option<&[u8]>, usize) -> Result<KeyValues, E>,
    mut buffered: impl FnMut(Option<&[u8]>) -> I,
) -> Result<KeyValues, E>
where
    I: Iterator<Item = (&'w [u8], Option<&'w [u8]>)>,
{
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    let mut cursor: Option<Vec<u8>> = after.map(<[u8]>::to_vec);
    loop {
        let chunk = base(cursor.as_deref(), limit)?;
        let upto: Option<Vec<u8>> = if chunk.len() < limit {
            None
        } else {
            chunk.last().map(|(k, _)| k.clone())
        };
        let mut writes = buffered(cursor.as_deref())
            .take_while(|(k, _)| upto.as_deref().is_none_or(|u| *k <= u))
            .peekable();
        let mut base_entries = chunk.into_iter().peekable();
        loop {
            let take_write = match (base_entries.peek(), writes.peek()) {
                (None, None) => break,
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some((bk, _)), Some((wk, _))) => *wk <= bk.as_slice(),
            };
            if take_write {
                if let Some((k, v)) = writes.next() {
                    if base_entries
                        .peek()
                        .is_some_and(|(bk, _)| bk.as_slice() == k)
                    {
                        base_entries.next();
                    }
                    if let Some(v) = v {
                        out.push((k.to_vec(), v.to_vec()));
                    }
                }
            } else if let Some(item) = base_entries.next() {
                out.push(item);
            }
            if out.len() == limit {
                return Ok(out);
            }
        }
        match upto {
            None => return Ok(out),
            Some(u) => cursor = Some(u),
        }
    }
}

impl<S: Store + ?Sized> StoreWrite for Overlay<'_, S> {
    fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<(), S::Error> {
        let w = self.writes.entry(table).or_default();
        match w.get_mut(key) {
            Some(slot) => match slot {
                Some(v) => {
                    v.clear();
                    v.extend_from_slice(value);
                }
                None => *slot = Some(value.to_vec()),
            },
            None => {
                w.insert(key.to_vec(), Some(value.to_vec()));
            }
        }
        Ok(())
    }

    fn delete(&mut self, table: Table, key: &[u8]) -> Result<(), S::Error> {
        let w = self.writes.entry(table).or_default();
        match w.get_mut(key) {
            Some(slot) => *slot = None,
            None => {
                w.insert(key.to_vec(), None);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {

    /// Deletions that hide a whole base chunk must not cut the page short,
    /// and puts land in key order whether they replace or add.
    #[test]
    fn merge_scan_reads_past_hidden_chunks() {
        use std::convert::Infallible;
        let base: Vec<(Vec<u8>, Vec<u8>)> = (0u8..10).map(|i| (vec![i], vec![i])).collect();
        let writes: Vec<(Vec<u8>, Option<Vec<u8>>)> = vec![
            (vec![0], None),
            (vec![1], None),
            (vec![2], None),
            (vec![3], Some(vec![33])),
            (vec![5], None),
            (vec![11], Some(vec![11])),
        ];
        let page = |after: Option<&[u8]>, limit| {
            merge_scan::<Infallible, _>(
                limit,
                after,
                |c, n| {
                    Ok(base
                        .iter()
                        .filter(|(k, _)| c.is_none_or(|c| k.as_slice() > c))
                        .take(n)
                        .cloned()
                        .collect())
                },
                |c| {
                    writes
                        .iter()
                        .filter(move |(k, _)| c.is_none_or(|c| k.as_slice() > c))
                        .map(|(k, v)| (k.as_slice(), v.as_deref()))
                        .collect::<Vec<_>>()
                        .into_iter()
                },
            )
            .unwrap_or_else(|e| match e {})
        };
        let keys = |p: Vec<(Vec<u8>, Vec<u8>)>| {
            p.into_iter().map(|(k, v)| (k[0], v[0])).collect::<Vec<_>>()
        };
        assert_eq!(keys(page(None, 2)), vec![(3, 33), (4, 4)]);
        assert_eq!(keys(page(Some(&[4]), 3)), vec![(6, 6), (7, 7), (8, 8)]);
        assert_eq!(keys(page(Some(&[8]), 5)), vec![(9, 9), (11, 11)]);
        assert!(page(None, 0).is_empty());
    }

    use super::*;

    fn keys(v: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<Vec<u8>> {
        v.into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn tables_are_listed_in_declaration_order_with_distinct_names() {
        for (i, t) in Table::ALL.iter().enumerate() {
            assert_eq!(t.position(), i, "{}", t.name());
            assert_eq!(Table::from_name(t.name()), Some(*t));
        }
    }

    #[test]
    fn mem_store_keys_of_any_length_sort_as_bytes() {
        let mut s = MemStore::new();
        let long = vec![7u8; 200];
        for k in [&[7u8, 0][..], &long, &[7], &[6, 255], &[]] {
            s.put(Table::Meta, k, k).unwrap();
        }
        let keys: Vec<&[u8]> = s.entries(Table::Meta).map(|(k, _)| k).collect();
        assert_eq!(keys, vec![&[][..], &[6, 255], &[7], &[7, 0], &long]);
        assert_eq!(s.get(Table::Meta, &long).unwrap(), Some(long.clone()));
        assert_eq!(
            s.replace(Table::Meta, &long, None).unwrap(),
            Some(long.clone())
        );
        assert_eq!(s.len(Table::Meta), 4);
    }

    #[test]
    fn overlay_merges_puts_and_hides_deletes_across_chunks() {
        let mut base = MemStore::new();
        for i in 0u8..20 {
            base.put(Table::Meta, &[1, i], &[i]).unwrap();
        }
        base.put(Table::Meta, &[2, 0], &[0]).unwrap();
        let mut o = Overlay::new(&base);
        for i in 0u8..10 {
            o.delete(Table::Meta, &[1, i]).unwrap();
        }
        o.put(Table::Meta, &[1, 50], &[50]).unwrap();
        o.put(Table::Meta, &[1, 15], &[99]).unwrap();
        let got = o.scan_prefix(Table::Meta, &[1], None, 3).unwrap();
        assert_eq!(keys(got), vec![vec![1, 10], vec![1, 11], vec![1, 12]]);
        let got = o
            .scan_prefix(Table::Meta, &[1], Some(&[1, 14]), 100)
            .unwrap();
        assert_eq!(got[0], (vec![1, 15], vec![99]));
        assert_eq!(keys(got).last(), Some(&vec![1, 50]));

        // The overlay's view equals the base after committing its changes.
        let mut committed = base.clone();
        let view = o.scan_prefix(Table::Meta, &[], None, 1000).unwrap();
        committed.commit(o.into_changes());
        assert_eq!(
            view,
            committed.scan_prefix(Table::Meta, &[], None, 1000).unwrap()
        );
    }
}
