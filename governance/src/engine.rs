//! The fold itself: record a placement, route the statement to its
//! aggregate, and recompute what changed until nothing more does.
//!
//! Every derived record is a pure function of the statements it is computed
//! from, and every input change marks the aggregates that read it:
//!
//! - a new statement wakes those [`Table::Pending`] on it;
//! - a statement whose verdict changes marks those registered in
//!   [`Table::Dependents`] on it;
//! - a key whose end or lineage changes marks the owners of what it signed
//!   from then on ([`Table::Authored`]);
//! - a body whose charter versions change marks the owners of what was
//!   sequenced for it from then on ([`Table::BodyLog`]), and the requests it
//!   governs submitted from then on, in any log ([`Table::RequestsByBody`]:
//!   their records show the notice period in force at submission);
//! - a dataset whose rāhui change marks the requests voted on from then on
//!   ([`Table::DatasetVotes`]).
//!
//! Marked aggregates are recomputed in [`Agg`] order until none is left, so
//! the result does not depend on the order statements arrived in. A new
//! vote on a request that comes after everything else about it is counted
//! by continuing the request's fold instead ([`crate::requests`]'s `run`
//! module), which writes exactly what the recomputation would.
//!
//! Every write of one apply is buffered (the rules read their own writes
//! from the buffer) and only then written to the caller's store, with the
//! state hash brought up to date in the same pass ([`crate::hash`]). So
//! [`check`] works out a verdict without writing or hashing anything, and
//! [`admit`] checks and applies in one pass, writing nothing when refused.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use kaitiaki_protocol::{Body, Kind, StatementId, Timestamp};

use crate::codec::{self, key, KeyBytes, Pos, Stored};
use crate::entry::{Agg, Applied, Entry, Side, Verdict, VerdictRecord};
use crate::error::StateError;
use crate::hash::{commit, Tx};
use crate::rejection::Rejection;
use crate::store::{KeyValues, Store, StoreWrite, Table};

/// How many entries one store scan asks for at a time.
const CHUNK: usize = 512;

/// Why [`check`] refuses an entry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The statement breaks a rule (or refers to something unknown).
    #[error("{0}")]
    Rejected(Rejection),
    /// The store failed.
    #[error(transparent)]
    State(#[from] StateError),
}

/// Folds one sequenced statement into the state held by `w`.
///
/// Invalid statements are recorded as excluded (see [`crate::lists::excluded`]),
/// statements that refer to something unknown wait in the pending table and
/// are applied when it arrives, and applying the same placement twice changes
/// nothing. All writes go to `w`; a node applies into an [`crate::Overlay`] and
/// commits its changes atomically.
pub fn apply<W: StoreWrite + ?Sized>(entry: &Entry, w: &mut W) -> Result<Applied, StateError> {
    let (applied, changes) = {
        let mut e = Engine::new(&*w);
        let applied = e.apply(entry)?;
        (applied, e.tx.into_changes())
    };
    commit(w, changes)?;
    Ok(applied)
}

/// Applies entries one after another (a convenience for tests and catch-up).
pub fn apply_all<'e, W: StoreWrite + ?Sized>(
    entries: impl IntoIterator<Item = &'e Entry>,
    w: &mut W,
) -> Result<(), StateError> {
    for entry in entries {
        apply(entry, w)?;
    }
    Ok(())
}

/// Whether `entry` would count if it were sequenced now: works out what
/// applying it would do, without writing anything, and reports its verdict.
///
/// A statement that refers to something unknown is refused with
/// [`crate::RejectionCode::UnknownReference`]: a node should not sequence what it
/// cannot check. (Statements from mirrored logs wait instead; see [`apply`].)
pub fn check<S: Store + ?Sized>(entry: &Entry, store: &S) -> Result<(), CheckError> {
    let mut e = Engine::admitting(store, entry);
    let applied = e.apply(entry)?;
    verdict_result(applied.verdict)
}

/// [`check`] and [`apply`] in one pass, for a node sequencing a new
/// statement: if the statement would count, its changes are written to `w`
/// and what applying it did is returned; if not, nothing is written and
/// the rejection says why (as [`check`] would).
pub fn admit<W: StoreWrite + ?Sized>(entry: &Entry, w: &mut W) -> Result<Applied, CheckError> {
    let (applied, changes) = {
        let mut e = Engine::admitting(&*w, entry);
        let applied = e.apply(entry)?;
        verdict_result(applied.verdict.clone())?;
        (applied, e.tx.into_changes())
    };
    commit(w, changes)?;
    Ok(applied)
}

fn verdict_result(v: Verdict) -> Result<(), CheckError> {
    match v {
        Verdict::Valid => Ok(()),
        Verdict::Excluded { rejection } => Err(CheckError::Rejected(rejection)),
        Verdict::Pending { missing } => Err(CheckError::Rejected(Rejection::unknown(
            "statement",
            &missing,
        ))),
    }
}

/// `id ‖ time ‖ index ‖ log`: unique per placement.
fn placement_key(id: &StatementId, pos: &Pos) -> Vec<u8> {
    key(&[
        id.as_bytes(),
        &codec::time_key(pos.at),
        &pos.index.to_be_bytes(),
        pos.log.as_bytes(),
    ])
}

/// The position a [`Table::Placements`] key spells.
fn placement_of(k: &[u8]) -> Result<Pos, StateError> {
    let bad = || StateError::corrupt(Table::Placements, "a placement key is malformed");
    let ms: [u8; 8] = k
        .get(32..40)
        .ok_or_else(bad)?
        .try_into()
        .map_err(|_| bad())?;
    let index: [u8; 8] = k
        .get(40..48)
        .ok_or_else(bad)?
        .try_into()
        .map_err(|_| bad())?;
    let at = i64::try_from(u64::from_be_bytes(ms))
        .ok()
        .and_then(|ms| Timestamp::from_unix_millis(ms).ok())
        .ok_or_else(bad)?;
    let log = std::str::from_utf8(&k[48..]).map_err(|_| bad())?;
    Ok(Pos {
        at,
        log: log.to_owned(),
        index: u64::from_be_bytes(index),
    })
}

/// A statement read back from the store with everything known about it.
#[derive(Clone)]
pub(crate) struct Loaded {
    pub id: StatementId,
    pub author: KeyBytes,
    pub created_at: Timestamp,
    pub body: Body,
    /// Every placement, earliest first.
    pub placements: Vec<Pos>,
}

impl Loaded {
    /// The statement's kind.
    pub fn kind(&self) -> Kind {
        self.body.kind()
    }

    /// The earliest placement anywhere.
    pub fn first(&self) -> Option<&Pos> {
        self.placements.first()
    }

    /// The earliest placement in one log.
    pub fn first_in(&self, log: &str) -> Option<&Pos> {
        self.placements.iter().find(|p| p.log == log)
    }
}

/// Records read many times while one aggregate is recomputed (every vote
/// of a request looks up the same body and charter versions). Cleared
/// before each aggregate, and whenever the tables they mirror are written.
#[derive(Default)]
pub(crate) struct Cache {
    pub bodies: RefCell<BTreeMap<StatementId, Option<Rc<crate::bodies::BodyRecord>>>>,
    pub versions: RefCell<BTreeMap<StatementId, Rc<[Rc<crate::rules::Version>]>>>,
    pub keys: RefCell<BTreeMap<KeyBytes, crate::identity::KeyRecord>>,
}

impl Cache {
    pub fn clear(&self) {
        self.bodies.borrow_mut().clear();
        self.versions.borrow_mut().clear();
        self.keys.borrow_mut().clear();
    }
}

/// One apply's working state.
pub(crate) struct Engine<'w, S: Store + ?Sized> {
    pub tx: Tx<'w, S>,
    pub cache: Cache,
    pub work: BTreeSet<Agg>,
    /// The aggregate being recomputed, which need not be marked again.
    current: Option<Agg>,
    changed: BTreeMap<StatementId, Verdict>,
    /// The statement being applied, when it is new: loaded without a read.
    pub fresh: Option<Loaded>,
    /// For [`check`] and [`admit`]: the statement a node is about to
    /// sequence, and its log. That placement must itself be in the home
    /// log of a body the statement acts for, even when a copy already sits
    /// there: a node that sequenced it elsewhere would break the home-log
    /// rule for whoever follows it but not the home log.
    admitting: Option<(StatementId, String)>,
}

impl<'w, S: Store + ?Sized> Engine<'w, S> {
    fn new(s: &'w S) -> Self {
        Engine {
            tx: Tx::new(s),
            cache: Cache::default(),
            work: BTreeSet::new(),
            current: None,
            changed: BTreeMap::new(),
            fresh: None,
            admitting: None,
        }
    }

    /// An engine for a node's check of a statement it is about to sequence.
    fn admitting(s: &'w S, entry: &Entry) -> Self {
        let mut e = Engine::new(s);
        e.admitting = Some((entry.id, entry.log.clone()));
        e
    }

    /// The log a statement is being admitted to, when `id` is that statement.
    fn admitting_to(&self, id: &StatementId) -> Option<&str> {
        match &self.admitting {
            Some((a, log)) if a == id => Some(log),
            _ => None,
        }
    }

    /// The earliest placement of `l` in `home`, the home log of a body it
    /// acts for: none when a node is admitting it to another log, whatever
    /// copies `home` holds (see `admitting`).
    pub(crate) fn first_in_home(&self, l: &Loaded, home: &str) -> Option<Pos> {
        match self.admitting_to(&l.id) {
            Some(log) if log != home => None,
            _ => l.first_in(home).cloned(),
        }
    }

    /// The log to name where `l` was sequenced, in a `wrong_home_log` refusal.
    pub(crate) fn placed_in<'l>(&'l self, l: &'l Loaded) -> &'l str {
        self.admitting_to(&l.id)
            .or_else(|| l.first().map(|p| p.log.as_str()))
            .unwrap_or("")
    }

    /// Works out what folding in `entry` changes, buffering every write.
    fn apply(&mut self, entry: &Entry) -> Result<Applied, StateError> {
        let pos = entry.pos();
        let pkey = placement_key(&entry.id, &pos);
        if self.tx.get(Table::Placements, &pkey)?.is_some() {
            let verdict = self.record(&entry.id)?.map(|r| r.verdict).ok_or_else(|| {
                StateError::corrupt(Table::Verdicts, "a placed statement has no verdict")
            })?;
            return Ok(Applied {
                verdict,
                duplicate: true,
                changed: Vec::new(),
            });
        }
        let known = self
            .tx
            .get(Table::Statements, entry.id.as_bytes())?
            .is_some();
        let st = &entry.statement;
        if !known {
            let stored = Stored::encode(&st.author, st.created_at, &st.body)?;
            self.tx
                .put(Table::Statements, entry.id.as_bytes(), &stored)?;
        }
        self.tx.put(Table::Placements, &pkey, &[])?;
        if known {
            if let Some(owner) = self.record(&entry.id)?.and_then(|r| r.owner) {
                self.work.insert(owner);
            }
        } else {
            // The statement is in hand: nothing needs to read it back.
            self.fresh = Some(Loaded {
                id: entry.id,
                author: KeyBytes::of(&st.author),
                created_at: st.created_at,
                body: st.body.clone(),
                placements: vec![pos],
            });
            self.route(&entry.id, &KeyBytes::of(&st.author), &st.body, true)?;
            self.wake(&entry.id)?;
            self.try_fast_vote()?;
        }
        self.run()?;
        // A new statement's verdict always changes (from its placeholder).
        let verdict = match self.changed.get(&entry.id) {
            Some(v) => v.clone(),
            None => self.record(&entry.id)?.map(|r| r.verdict).ok_or_else(|| {
                StateError::corrupt(Table::Verdicts, "an applied statement has no verdict")
            })?,
        };
        let changed = std::mem::take(&mut self.changed).into_iter().collect();
        Ok(Applied {
            verdict,
            duplicate: false,
            changed,
        })
    }

    /// Marks an aggregate for recomputation.
    pub fn mark(&mut self, agg: Agg) {
        if self.current != Some(agg) {
            self.work.insert(agg);
        }
    }

    fn run(&mut self) -> Result<(), StateError> {
        while let Some(agg) = self.work.pop_first() {
            self.current = Some(agg);
            self.cache.clear();
            match agg {
                Agg::Key(k) => self.recompute_key(&k)?,
                Agg::Body(b) => self.recompute_body(&b)?,
                Agg::Dataset(d) => self.recompute_dataset(&d)?,
                Agg::Request(r) => self.recompute_request(&r)?,
                Agg::Concern(c) => self.recompute_concern(&c)?,
                Agg::Item(i) => self.recompute_item(&i)?,
            }
            self.current = None;
        }
        Ok(())
    }

    /// Every entry under `prefix`, strictly after `after` if given.
    pub fn scan_all(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
    ) -> Result<KeyValues, StateError> {
        scan_all(self.tx.r(), table, prefix, after)
    }

    pub fn record(&self, id: &StatementId) -> Result<Option<VerdictRecord>, StateError> {
        read_record(self.tx.r(), id)
    }

    /// Loads a statement and its placements; `None` if it is not known.
    pub fn load(&self, id: &StatementId) -> Result<Option<Loaded>, StateError> {
        if let Some(f) = self.fresh.as_ref().filter(|f| f.id == *id) {
            return Ok(Some(f.clone()));
        }
        load(self.tx.r(), id)
    }

    /// The kind of a stored statement, read without decoding its body.
    pub fn kind_of(&self, id: &StatementId) -> Result<Option<Kind>, StateError> {
        if let Some(f) = self.fresh.as_ref().filter(|f| f.id == *id) {
            return Ok(Some(f.kind()));
        }
        match self.tx.get(Table::Statements, id.as_bytes())? {
            None => Ok(None),
            Some(b) => Stored::kind(&b).map(Some),
        }
    }

    /// The statements an aggregate is computed from, in id order.
    pub fn members(&self, agg: &Agg) -> Result<Vec<Loaded>, StateError> {
        let prefix = agg.key();
        let mut out = Vec::new();
        for (k, _) in self.scan_all(Table::Members, &prefix, None)? {
            let id = codec::id_at(Table::Members, &k, prefix.len())?;
            let loaded = self.load(&id)?.ok_or_else(|| {
                StateError::corrupt(Table::Members, "a member statement is not stored")
            })?;
            out.push(loaded);
        }
        Ok(out)
    }

    pub(crate) fn write_record(
        &mut self,
        id: &StatementId,
        rec: &VerdictRecord,
    ) -> Result<(), StateError> {
        let bytes = crate::binary::verdict_to_bytes(id, rec);
        self.tx.put(Table::Verdicts, id.as_bytes(), &bytes)
    }

    /// Sets a statement's verdict, its position and the index entries it
    /// contributes, and marks whatever depends on it if the verdict changed.
    pub fn set_verdict(
        &mut self,
        id: &StatementId,
        author: &KeyBytes,
        owner: Option<Agg>,
        pos: Option<Pos>,
        verdict: Verdict,
        mut sides: Vec<Side>,
    ) -> Result<(), StateError> {
        let old_bytes = self.tx.get(Table::Verdicts, id.as_bytes())?;
        if let Some(p) = &pos {
            // Every positioned statement is findable by its author and time,
            // so a late rotation or revocation finds what it invalidates.
            sides.push(authored_side(author, p, id, owner)?);
        }
        sides.sort();
        sides.dedup();
        let new = VerdictRecord {
            verdict,
            owner,
            pos,
            sides,
        };
        // Most recomputations change nothing: compare bytes before decoding anything.
        let new_bytes = crate::binary::verdict_to_bytes(id, &new);
        if old_bytes.as_deref() == Some(new_bytes.as_slice()) {
            return Ok(());
        }
        let old: Option<VerdictRecord> = old_bytes
            .map(|b| crate::binary::verdict_from_bytes(id, &b))
            .transpose()?;
        let old_sides = old.as_ref().map(|o| o.sides.clone()).unwrap_or_default();
        for s in &old_sides {
            if !new
                .sides
                .iter()
                .any(|n| n.table == s.table && n.key == s.key)
            {
                self.tx.delete(s.table, &s.key)?;
            }
        }
        for s in &new.sides {
            self.tx.put(s.table, &s.key, &s.value)?;
        }
        let old_verdict = old.as_ref().map(|o| &o.verdict);
        // The pending and excluded tables mirror the verdict, so only what
        // the old verdict put there needs removing. (A statement's own id
        // as `missing` marks the placeholder of a statement being routed,
        // which is in neither table.)
        if let Some(Verdict::Pending { missing }) = old_verdict {
            if missing != id && new.verdict != (Verdict::Pending { missing: *missing }) {
                self.tx
                    .delete(Table::Pending, &key(&[missing.as_bytes(), id.as_bytes()]))?;
            }
        }
        let was_excluded = matches!(old_verdict, Some(Verdict::Excluded { .. }));
        match &new.verdict {
            Verdict::Pending { missing } => {
                self.tx.put(
                    Table::Pending,
                    &key(&[missing.as_bytes(), id.as_bytes()]),
                    &[],
                )?;
            }
            Verdict::Excluded { rejection } => {
                self.tx
                    .put_record(Table::Excluded, id.as_bytes(), rejection)?;
            }
            Verdict::Valid => {}
        }
        if was_excluded && !matches!(new.verdict, Verdict::Excluded { .. }) {
            self.tx.delete(Table::Excluded, id.as_bytes())?;
        }
        let verdict_changed = old_verdict != Some(&new.verdict);
        self.tx.put(Table::Verdicts, id.as_bytes(), &new_bytes)?;
        if verdict_changed {
            self.changed.insert(*id, new.verdict.clone());
            for (_, v) in self.scan_all(Table::Dependents, id.as_bytes(), None)? {
                let agg: Agg = codec::decode(Table::Dependents, &v)?;
                self.mark(agg);
            }
        }
        Ok(())
    }

    /// Marks the owners of the entries under `prefix` from `from` on.
    pub fn mark_owners(
        &mut self,
        table: Table,
        prefix: &[u8],
        from: Option<&[u8]>,
    ) -> Result<(), StateError> {
        let after = from.map(|f| key(&[prefix, f]));
        // `after` is exclusive, and every full key is longer than prefix ‖ from,
        // so entries exactly at `from` are included.
        let found = self.scan_all(table, prefix, after.as_deref())?;
        for (_, v) in found {
            let owner: Option<Agg> = codec::decode(table, &v)?;
            if let Some(o) = owner {
                self.mark(o);
            }
        }
        Ok(())
    }
}

/// The side entry finding a statement by a key and its time, so a late
/// rotation or revocation of the key marks `owner`.
pub(crate) fn authored_side(
    author: &KeyBytes,
    pos: &Pos,
    id: &StatementId,
    owner: Option<Agg>,
) -> Result<Side, StateError> {
    Ok(Side {
        table: Table::Authored,
        key: key(&[author.as_bytes(), &codec::time_key(pos.at), id.as_bytes()]),
        value: codec::encode(Table::Authored, &owner)?,
    })
}

/// A side entry registering that the owner of a statement depends on `target`.
pub(crate) fn depends_on(
    target: &StatementId,
    id: &StatementId,
    owner: Agg,
) -> Result<Side, StateError> {
    Ok(Side {
        table: Table::Dependents,
        key: key(&[target.as_bytes(), id.as_bytes()]),
        value: codec::encode(Table::Dependents, &owner)?,
    })
}

pub(crate) fn scan_all<S: Store + ?Sized>(
    s: &S,
    table: Table,
    prefix: &[u8],
    after: Option<&[u8]>,
) -> Result<KeyValues, StateError> {
    let mut out = Vec::new();
    let mut cursor = after.map(<[u8]>::to_vec);
    loop {
        let chunk = s
            .scan_prefix(table, prefix, cursor.as_deref(), CHUNK)
            .map_err(StateError::store)?;
        let done = chunk.len() < CHUNK;
        cursor = chunk.last().map(|(k, _)| k.clone());
        out.extend(chunk);
        if done {
            return Ok(out);
        }
    }
}

pub(crate) fn read_record<S: Store + ?Sized>(
    s: &S,
    id: &StatementId,
) -> Result<Option<VerdictRecord>, StateError> {
    s.get(Table::Verdicts, id.as_bytes())
        .map_err(StateError::store)?
        .map(|b| crate::binary::verdict_from_bytes(id, &b))
        .transpose()
}

pub(crate) fn load<S: Store + ?Sized>(
    s: &S,
    id: &StatementId,
) -> Result<Option<Loaded>, StateError> {
    let Some(bytes) = s
        .get(Table::Statements, id.as_bytes())
        .map_err(StateError::store)?
    else {
        return Ok(None);
    };
    let st = Stored::decode(&bytes)?;
    let mut placements = Vec::new();
    for (k, _) in scan_all(s, Table::Placements, id.as_bytes(), None)? {
        placements.push(placement_of(&k)?);
    }
    placements.sort();
    Ok(Some(Loaded {
        id: *id,
        author: st.author,
        created_at: st.created_at,
        body: st.body,
        placements,
    }))
}
