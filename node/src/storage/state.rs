//! Governance state on sled, inside the node's `log` tree.
//!
//! The governance crate never touches a disk; it reads through its
//! [`Store`] trait, and the node commits the writes it buffers (in an
//! `Overlay`) in the same atomic commit as the batch's indexes. So the
//! derived state survives restarts and start-up never replays the log.
//!
//! Most tables keep one sled key per entry: `name ‖ 0x00 ‖ key`, where
//! `name` is [`Table::name`] (table names never contain NUL, so no table's
//! space is a prefix of another's). The three tables every statement
//! writes, all keyed by its id first — [`Table::Statements`],
//! [`Table::Verdicts`] and [`Table::Placements`] — share **one sled key per
//! statement** instead: `gov.by-statement ‖ 0x00 ‖ id` holds a
//! [`Group`] of their entries. sled keeps memory for every page of keys it
//! holds (a leaf page holds at most 16), so three keys per statement fewer
//! is memory that no longer grows with the log. Every read of those tables
//! names the id, so a read is one sled lookup as before; a commit reads
//! each touched group (none for a statement stored for the first time),
//! changes it, and writes it back whole. The group
//! also holds where the node keeps the statement (its leaf in the own log,
//! or in a mirror), which would otherwise be a fourth key.

use std::collections::{btree_map, BTreeMap, BTreeSet};
use std::ops::Bound;

use kaitiaki_governance::{Store, Table};
use kaitiaki_protocol::StatementId;
use sled::Tree;

use super::{take, StorageError};

/// The sled key of `key` in `table`.
pub fn key_of(table: Table, key: &[u8]) -> Vec<u8> {
    let name = table.name().as_bytes();
    let mut k = Vec::with_capacity(name.len() + 1 + key.len());
    k.extend_from_slice(name);
    k.push(0);
    k.extend_from_slice(key);
    k
}

/// Tables kept in [`Group`]s, in tag order (a tag is the place in this
/// list; changing it is a change of the on-disk layout).
const GROUPED: [Table; 3] = [Table::Statements, Table::Verdicts, Table::Placements];

/// What a statement's group holds besides governance's entries: where the
/// node keeps the statement — its leaf index in the node's own log (u64
/// BE), or its index and origin in a mirror (u64 BE ‖ origin).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Located {
    /// In the node's own log.
    Own,
    /// In a mirror.
    Mirror,
}

impl Located {
    fn tag(self) -> u8 {
        GROUPED.len() as u8
            + match self {
                Located::Own => 0,
                Located::Mirror => 1,
            }
    }
}

/// Tags in use: the grouped tables', then [`Located`]'s.
const TAGS: u8 = GROUPED.len() as u8 + 2;

/// Length of the statement id every grouped key starts with.
const ID: usize = 32;

/// The space of the groups.
const GROUP_SPACE: &[u8] = b"gov.by-statement\0";

/// What every sled key of the governance state starts with: the groups'
/// space and every table's name ([`Table::name`]).
pub(crate) const GOV_PREFIX: &[u8] = b"gov.";

/// The group tag of `key` in `table`, if the entry lives in a group.
fn tag_of(table: Table, key: &[u8]) -> Option<u8> {
    if key.len() < ID {
        return None;
    }
    GROUPED.iter().position(|t| *t == table).map(|p| p as u8)
}

fn group_key(id: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(GROUP_SPACE.len() + ID);
    k.extend_from_slice(GROUP_SPACE);
    k.extend_from_slice(&id[..ID]);
    k
}

/// The entries of the grouped tables under one statement id, in (tag,
/// rest of key) order. Encoded as a sequence of `u8 tag ‖ u16 length ‖
/// rest of key ‖ u32 length ‖ value`, lengths big-endian.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Group(Vec<(u8, Vec<u8>, Vec<u8>)>);

impl Group {
    fn find(&self, tag: u8, rest: &[u8]) -> Result<usize, usize> {
        self.0
            .binary_search_by(|(t, r, _)| (*t, r.as_slice()).cmp(&(tag, rest)))
    }

    fn get(&self, tag: u8, rest: &[u8]) -> Option<&[u8]> {
        self.find(tag, rest).ok().map(|i| self.0[i].2.as_slice())
    }

    fn set(&mut self, tag: u8, rest: &[u8], value: Option<&[u8]>) {
        match (self.find(tag, rest), value) {
            (Ok(i), Some(v)) => v.clone_into(&mut self.0[i].2),
            (Ok(i), None) => {
                self.0.remove(i);
            }
            (Err(i), Some(v)) => self.0.insert(i, (tag, rest.to_vec(), v.to_vec())),
            (Err(_), None) => {}
        }
    }

    /// The entries of one table, with their rest of key, in key order.
    fn entries(&self, tag: u8) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.0
            .iter()
            .filter(move |(t, _, _)| *t == tag)
            .map(|(_, r, v)| (r.as_slice(), v.as_slice()))
    }

    fn encode(&self) -> Vec<u8> {
        let size: usize = self.0.iter().map(|(_, r, v)| 7 + r.len() + v.len()).sum();
        let mut out = Vec::with_capacity(size);
        for (t, r, v) in &self.0 {
            out.push(*t);
            // Keys are short (a position or nothing); values are records
            // and statements far below 4 GiB.
            out.extend_from_slice(&(r.len() as u16).to_be_bytes());
            out.extend_from_slice(r);
            out.extend_from_slice(&(v.len() as u32).to_be_bytes());
            out.extend_from_slice(v);
        }
        out
    }

    fn decode(mut b: &[u8]) -> Result<Group, StorageError> {
        let bad = || StorageError::Corrupt("a statement's governance group is malformed".into());
        let mut out: Vec<(u8, Vec<u8>, Vec<u8>)> = Vec::new();
        while !b.is_empty() {
            let tag = take(&mut b, 1).ok_or_else(bad)?[0];
            let rlen = take(&mut b, 2).ok_or_else(bad)?;
            let rlen = usize::from(u16::from_be_bytes([rlen[0], rlen[1]]));
            let rest = take(&mut b, rlen).ok_or_else(bad)?.to_vec();
            let vlen: [u8; 4] = take(&mut b, 4)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?;
            let value = take(&mut b, u32::from_be_bytes(vlen) as usize)
                .ok_or_else(bad)?
                .to_vec();
            if tag >= TAGS
                || out
                    .last()
                    .is_some_and(|(t, r, _)| (*t, r.as_slice()) >= (tag, rest.as_slice()))
            {
                return Err(bad());
            }
            out.push((tag, rest, value));
        }
        Ok(Group(out))
    }
}

fn read_group(tree: &Tree, id: &[u8]) -> Result<Group, StorageError> {
    match tree.get(group_key(id))? {
        Some(v) => Group::decode(&v),
        None => Ok(Group::default()),
    }
}

/// The group of `id` as sled holds it, or a new one if the statement is
/// among the `fresh` ones governance stores in this commit.
fn stored_group(tree: &Tree, fresh: &BTreeSet<&[u8]>, id: &[u8]) -> Result<Group, StorageError> {
    if fresh.contains(id) {
        // What the reasoning above rests on, checked wherever tests run.
        debug_assert!(
            read_group(tree, id).is_ok_and(|g| g.0.is_empty()),
            "a statement governance stores anew already has a group"
        );
        Ok(Group::default())
    } else {
        read_group(tree, id)
    }
}

/// Every statement kept in `which` (the own log or a mirror) and where, as
/// [`push_changes`] recorded it: one pass over the groups in statement-id
/// order, reading sled's pages one after another instead of one lookup per
/// statement.
pub(crate) fn all_located(
    tree: &Tree,
    which: Located,
) -> impl Iterator<Item = Result<(StatementId, Vec<u8>), StorageError>> + '_ {
    let tag = which.tag();
    tree.scan_prefix(GROUP_SPACE).filter_map(move |item| {
        let found = item.map_err(StorageError::from).and_then(|(k, v)| {
            let id = k
                .get(GROUP_SPACE.len()..)
                .and_then(|id| <[u8; ID]>::try_from(id).ok())
                .ok_or_else(|| {
                    StorageError::Corrupt(
                        "a statement's governance group has a malformed key".into(),
                    )
                })?;
            Ok(Group::decode(&v)?
                .get(tag, &[])
                .map(|at| (StatementId::from_bytes(id), at.to_vec())))
        });
        found.transpose()
    })
}

/// Where statement `id` is kept, as [`push_changes`] recorded it.
pub(crate) fn located(
    tree: &Tree,
    id: &StatementId,
    which: Located,
) -> Result<Option<Vec<u8>>, StorageError> {
    Ok(read_group(tree, id.as_bytes())?
        .get(which.tag(), &[])
        .map(<[u8]>::to_vec))
}

/// Adds governance's buffered writes, and where each new leaf's statement
/// is kept, to a commit's list of writes. Entries of grouped tables are
/// merged into their statements' groups as `tree` holds them now; commits
/// run one at a time, so nothing changes a group between this read and the
/// commit's write.
pub(crate) fn push_changes(
    tree: &Tree,
    writes: &mut super::redo::Writes,
    changes: &[kaitiaki_governance::Change],
    placed: &[(Located, StatementId, Vec<u8>)],
) -> Result<(), StorageError> {
    // Governance stores a statement once, when it first sees it, and keeps
    // nothing about a statement before that: its placements and verdict
    // come with it or later, and where it is kept comes with its leaf in
    // this same commit. So the group of a statement stored now is new, and
    // need not be read (at a million statements, reading it costs a page
    // of sled's that is rarely still cached).
    let fresh: BTreeSet<&[u8]> = changes
        .iter()
        .filter(|c| c.table == Table::Statements && c.value.is_some() && c.key.len() == ID)
        .map(|c| c.key.as_slice())
        .collect();
    let mut groups: BTreeMap<&[u8], Group> = BTreeMap::new();
    for (which, id, value) in placed {
        let id = id.as_bytes().as_slice();
        let group = match groups.entry(id) {
            btree_map::Entry::Occupied(e) => e.into_mut(),
            btree_map::Entry::Vacant(e) => e.insert(stored_group(tree, &fresh, id)?),
        };
        group.set(which.tag(), &[], Some(value));
    }
    for change in changes {
        let Some(tag) = tag_of(change.table, &change.key) else {
            let key = key_of(change.table, &change.key);
            match &change.value {
                Some(v) => writes.insert(key, v.as_slice()),
                None => writes.remove(key),
            }
            continue;
        };
        let (id, rest) = change.key.split_at(ID);
        let group = match groups.entry(id) {
            btree_map::Entry::Occupied(e) => e.into_mut(),
            btree_map::Entry::Vacant(e) => e.insert(stored_group(tree, &fresh, id)?),
        };
        group.set(tag, rest, change.value.as_deref());
    }
    for (id, group) in groups {
        if group.0.is_empty() {
            writes.remove(group_key(id));
        } else {
            writes.insert(group_key(id), group.encode());
        }
    }
    Ok(())
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
        if let Some(tag) = tag_of(table, key) {
            let (id, rest) = key.split_at(ID);
            return Ok(read_group(&self.tree, id)?
                .get(tag, rest)
                .map(<[u8]>::to_vec));
        }
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
        let Some(tag) = GROUPED.iter().position(|t| *t == table).map(|p| p as u8) else {
            return self.scan_keys(table, prefix, after, limit);
        };
        let later = |k: &[u8]| k.starts_with(prefix) && after.is_none_or(|a| k > a);
        if prefix.len() >= ID {
            // Every key with this prefix is in one group.
            let group = read_group(&self.tree, &prefix[..ID])?;
            return Ok(group
                .entries(tag)
                .map(|(rest, v)| ([&prefix[..ID], rest].concat(), v.to_vec()))
                .filter(|(k, _)| later(k))
                .take(limit)
                .collect());
        }
        // A prefix shorter than an id spans groups (and any key shorter
        // than an id, kept outside them): walk the groups in id order.
        let mut out = self.scan_keys(table, prefix, after, limit)?;
        let start = group_key(&[prefix, &[0u8; ID][prefix.len()..]].concat());
        let mut found = 0;
        let upper = prefix_end(&[GROUP_SPACE, prefix].concat());
        for item in self.tree.range((Bound::Included(start), upper)) {
            let (k, v) = item?;
            let Some(id) = k.strip_prefix(GROUP_SPACE) else {
                break;
            };
            if !id.starts_with(prefix) || found >= limit {
                break;
            }
            for (rest, value) in Group::decode(&v)?.entries(tag) {
                let key = [id, rest].concat();
                if later(&key) && found < limit {
                    out.push((key, value.to_vec()));
                    found += 1;
                }
            }
        }
        out.sort();
        out.truncate(limit);
        Ok(out)
    }

    /// [`StateTrees::scan`] over one-key-per-entry tables.
    fn scan_keys(
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
        // Bounded above: an open range with no key under the prefix (as
        // for most lookups of waiting statements) reads on into the next
        // page, which nothing else reads, so sled has mostly evicted it
        // and reads it back from disk. That read was most of the
        // sequencer's time.
        let upper = prefix_end(&start);
        for item in self.tree.range((lower, upper)) {
            let (k, v) = item?;
            if !k.starts_with(&start) || out.len() == limit {
                break;
            }
            out.push((k[skip..].to_vec(), v.to_vec()));
        }
        Ok(out)
    }
}

/// The upper bound of the keys that start with `prefix`: below the least
/// key greater than all of them, or none if there is no such key.
fn prefix_end(prefix: &[u8]) -> Bound<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Bound::Excluded(end);
        }
    }
    Bound::Unbounded
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

#[cfg(test)]
mod tests {
    use super::*;
    use kaitiaki_governance::Change;

    #[test]
    fn every_governance_key_starts_with_the_governance_prefix() {
        assert!(GROUP_SPACE.starts_with(GOV_PREFIX));
        for t in Table::ALL.iter() {
            assert!(key_of(*t, b"k").starts_with(GOV_PREFIX), "{}", t.name());
        }
        // And nothing else the node keeps in the same tree does.
        for space in [
            super::super::space::CHECKPOINTS,
            super::super::space::ATTACHMENTS,
            super::super::space::META,
            super::super::space::PEERS,
            super::super::space::QUARANTINE,
            super::super::space::EVIDENCE,
            super::super::mirror::MIRROR,
        ] {
            assert!(!space.starts_with(GOV_PREFIX));
        }
    }

    fn trees() -> (tempfile::TempDir, StateTrees) {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        (dir, StateTrees::new(db.open_tree("log").unwrap()))
    }

    /// A change to commit: table, key, new value or removal.
    type Write<'a> = (Table, Vec<u8>, Option<&'a [u8]>);

    fn commit(s: &StateTrees, changes: &[Write<'_>]) {
        let changes: Vec<Change> = changes
            .iter()
            .map(|(table, key, value)| Change {
                table: *table,
                key: key.clone(),
                value: value.map(<[u8]>::to_vec),
            })
            .collect();
        let mut w = super::super::redo::Writes::default();
        push_changes(&s.tree, &mut w, &changes, &[]).unwrap();
        super::super::redo::commit(&s.tree, &w, &Default::default()).unwrap();
    }

    fn id(n: u8) -> Vec<u8> {
        vec![n; ID]
    }

    fn placement(n: u8, at: u8) -> Vec<u8> {
        [id(n), vec![at; 3]].concat()
    }

    #[test]
    fn a_statements_tables_share_one_sled_key_and_read_back_as_tables() {
        let (_d, s) = trees();
        commit(
            &s,
            &[
                (Table::Statements, id(1), Some(b"stored")),
                (Table::Verdicts, id(1), Some(b"valid")),
                (Table::Placements, placement(1, 9), Some(b"")),
                (Table::Placements, placement(1, 2), Some(b"")),
                (Table::Statements, id(2), Some(b"other")),
                (Table::Keys, id(1), Some(b"a key record")),
            ],
        );
        // Two groups and the key record: three sled keys for six entries.
        assert_eq!(s.tree.len(), 3);
        assert_eq!(
            s.get(Table::Statements, &id(1)).unwrap().unwrap(),
            b"stored"
        );
        assert_eq!(s.get(Table::Verdicts, &id(1)).unwrap().unwrap(), b"valid");
        assert_eq!(s.get(Table::Verdicts, &id(2)).unwrap(), None);
        assert_eq!(
            s.get(Table::Keys, &id(1)).unwrap().unwrap(),
            b"a key record"
        );
        let placed = s.scan(Table::Placements, &id(1), None, 10).unwrap();
        assert_eq!(
            placed,
            vec![(placement(1, 2), vec![]), (placement(1, 9), vec![])]
        );
        let after = s
            .scan(Table::Placements, &id(1), Some(&placement(1, 2)), 10)
            .unwrap();
        assert_eq!(after, vec![(placement(1, 9), vec![])]);
        assert!(s
            .scan(Table::Placements, &id(2), None, 10)
            .unwrap()
            .is_empty());

        // A change rewrites the group; removing every entry removes it.
        commit(
            &s,
            &[
                (Table::Verdicts, id(1), Some(b"excluded")),
                (Table::Statements, id(2), None),
            ],
        );
        assert_eq!(
            s.get(Table::Verdicts, &id(1)).unwrap().unwrap(),
            b"excluded"
        );
        assert_eq!(
            s.get(Table::Statements, &id(1)).unwrap().unwrap(),
            b"stored"
        );
        assert_eq!(s.get(Table::Statements, &id(2)).unwrap(), None);
        assert_eq!(s.tree.len(), 2);
    }

    #[test]
    fn where_a_statement_is_kept_lives_in_its_group() {
        let (_d, s) = trees();
        let (one, two) = (
            StatementId::from_bytes([1; 32]),
            StatementId::from_bytes([2; 32]),
        );
        let mut w = super::super::redo::Writes::default();
        let changes = [Change {
            table: Table::Statements,
            key: id(1),
            value: Some(b"stored".to_vec()),
        }];
        let placed = [
            (Located::Own, one, 7u64.to_be_bytes().to_vec()),
            (Located::Mirror, two, b"mirror".to_vec()),
        ];
        push_changes(&s.tree, &mut w, &changes, &placed).unwrap();
        super::super::redo::commit(&s.tree, &w, &Default::default()).unwrap();
        assert_eq!(s.tree.len(), 2, "one key per statement");
        assert_eq!(
            located(&s.tree, &one, Located::Own).unwrap(),
            Some(7u64.to_be_bytes().to_vec())
        );
        assert_eq!(located(&s.tree, &one, Located::Mirror).unwrap(), None);
        assert_eq!(
            located(&s.tree, &two, Located::Mirror).unwrap(),
            Some(b"mirror".to_vec())
        );
        // Governance's view of the group is unchanged by the location.
        assert_eq!(
            s.get(Table::Statements, &id(1)).unwrap().unwrap(),
            b"stored"
        );
        assert!(s
            .scan(Table::Placements, &id(1), None, 9)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_scan_shorter_than_an_id_walks_the_groups_in_key_order() {
        let (_d, s) = trees();
        commit(
            &s,
            &[
                (Table::Verdicts, id(3), Some(b"3")),
                (Table::Verdicts, id(1), Some(b"1")),
                (Table::Statements, id(2), Some(b"not a verdict")),
                (Table::Verdicts, [7u8, 7].to_vec(), Some(b"short")),
                (Table::Verdicts, id(9), Some(b"9")),
            ],
        );
        let all = s.scan(Table::Verdicts, &[], None, 10).unwrap();
        let keys: Vec<Vec<u8>> = all.into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![id(1), id(3), vec![7, 7], id(9)]);
        let page = s.scan(Table::Verdicts, &[], Some(&id(1)), 2).unwrap();
        assert_eq!(page[0].0, id(3));
        assert_eq!(page[1].0, vec![7, 7]);
        assert_eq!(page.len(), 2);
        let threes = s.scan(Table::Verdicts, &[3], None, 10).unwrap();
        assert_eq!(threes, vec![(id(3), b"3".to_vec())]);
    }

    #[test]
    fn a_damaged_group_is_reported_not_guessed() {
        let (_d, s) = trees();
        commit(&s, &[(Table::Statements, id(1), Some(b"stored"))]);
        let k = group_key(&id(1));
        let mut v = s.tree.get(&k).unwrap().unwrap().to_vec();
        v.pop();
        s.tree.insert(&k, v).unwrap();
        assert!(matches!(
            s.get(Table::Statements, &id(1)),
            Err(StorageError::Corrupt(_))
        ));
        let g = Group(vec![(1, vec![], vec![1]), (0, vec![], vec![0])]);
        assert!(Group::decode(&g.encode()).is_err(), "out of order");
        let g = Group(vec![(0, vec![1], vec![]), (2, vec![], vec![9; 300])]);
        assert_eq!(Group::decode(&g.encode()).unwrap(), g);
    }

    #[test]
    fn a_scan_ends_where_its_prefix_ends() {
        assert_eq!(prefix_end(b"ab"), Bound::Excluded(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff, 0xff]), Bound::Excluded(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), Bound::Unbounded);
        assert_eq!(prefix_end(&[]), Bound::Unbounded);
        let (_d, s) = trees();
        let members = [vec![4, 0xff, 1], vec![4, 0xff, 0xff], vec![5, 0]];
        for k in &members {
            commit(&s, &[(Table::Members, k.clone(), Some(b""))]);
        }
        commit(&s, &[(Table::Pending, vec![0], Some(b""))]);
        let got: Vec<Vec<u8>> = s
            .scan(Table::Members, &[4, 0xff], None, 10)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(got, members[..2].to_vec());
        let after = s.scan(Table::Members, &[4], Some(&members[0]), 10).unwrap();
        assert_eq!(after, vec![(members[1].clone(), Vec::new())]);
        assert!(s.scan(Table::Members, &[6], None, 10).unwrap().is_empty());
        // The same for a table kept in statements' groups.
        let (mut low, high) = (vec![4u8; ID], vec![5u8; ID]);
        low[1] = 0xff;
        for k in [&low, &high] {
            commit(&s, &[(Table::Verdicts, k.clone(), Some(b"v"))]);
        }
        let got = s.scan(Table::Verdicts, &[4, 0xff], None, 10).unwrap();
        assert_eq!(got, vec![(low.clone(), b"v".to_vec())]);
        assert!(s
            .scan(Table::Verdicts, &[4, 0xff], Some(&low), 10)
            .unwrap()
            .is_empty());
    }
}
