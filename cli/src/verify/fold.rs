//! The checking stages of an audit.
//!
//! 1. [`check_batch`], in parallel on every core: parse each leaf, verify its
//!    signature strictly, read its statement, and compute its id and leaf
//!    hash. Nothing here depends on any other leaf.
//! 2. [`Fold::push`], on one thread, taking the leaves of every log held
//!    (the node's own log and each mirror) merged by position — sequenced
//!    time, then log, then index — so that each log is read in index order
//!    and governance sees the statements in the order the node met them:
//!    check that its sequenced time does not go back from the leaf before
//!    it, append the leaf hash to its log's tree ([`LogFold`]), compare every
//!    subtree that closes with the hash the node stored, compare the root
//!    with every stored checkpoint, with the checkpoint remembered from
//!    earlier audits and, for a mirror, with the peer's complete
//!    checkpoint; and fold the statement into one fresh governance state
//!    shared by every log.
//! 3. [`Fold::standing`], once every log is folded: a statement's verdict
//!    can change when a statement of another log arrives, so only now is
//!    each verdict final. A statement of the own log
//!    that still waits for a reference refers to something in no log the
//!    node holds; one excluded for a reason its node had to see when it
//!    sequenced it ([`node_must_have_seen`]) is a fault. Exclusions that
//!    knowledge from another log can cause later (a key revoked elsewhere,
//!    say) are notes, and the mirrors' exclusions are counted: their own
//!    nodes answer for them.
//! 4. [`Fold::check_own_index`], for a data directory: the database's id
//!    index, read once in statement-id order, merged with where the fold
//!    placed each statement of the own log.
//!
//! Memory is the O(log n) right edge of each log's tree plus the governance
//! state; leaves are dropped as soon as they are folded.

use std::collections::BTreeMap;

use kaitiaki_governance::{
    apply, lists, Entry, MemStore, RejectionCode, Store as _, Table, Verdict,
};
use kaitiaki_node::storage::mirror::MirrorLog;
use kaitiaki_node::storage::recovery::Recoverable as _;
use kaitiaki_node::storage::segment::Location;
use kaitiaki_node::storage::{Storage, StorageError};
use kaitiaki_protocol::checkpoint::VerifiedCheckpoint;
use kaitiaki_protocol::merkle::{leaf_hash, CompactRange, Subtree};
use kaitiaki_protocol::note::NoteVerifier;
use kaitiaki_protocol::{Hash, Leaf, StatementId};
use rayon::prelude::*;
use serde::Serialize;

use super::source::Raw;
use super::Fault;

/// A leaf that passed every check it can pass on its own.
pub struct Checked {
    index: u64,
    hash: Hash,
    entry: Entry,
    place: Option<String>,
}

impl Checked {
    /// Where the leaf sits: the order the governance fold takes leaves of
    /// different logs in.
    pub fn pos(&self) -> (kaitiaki_protocol::Timestamp, &str, u64) {
        (self.entry.sequenced_at, self.entry.log.as_str(), self.index)
    }
}

/// Checks a batch of leaves of log `origin` on all cores, keeping their
/// order; `mirror` when the log is a mirror of a peer's (it names places).
pub fn check_batch(batch: Vec<Raw>, origin: &str, mirror: bool) -> Vec<Result<Checked, Fault>> {
    batch
        .into_par_iter()
        .map(|raw| check_one(raw, origin, mirror))
        .collect()
}

thread_local! {
    // Each checking thread decodes each author's key once (see KeyCache).
    static KEYS: std::cell::RefCell<kaitiaki_protocol::KeyCache> = Default::default();
}

/// Parses a stored leaf, decoding its author's key through this thread's cache.
fn read_leaf(bytes: &[u8]) -> Result<Leaf, kaitiaki_protocol::envelope::EnvelopeError> {
    KEYS.with(|k| Leaf::from_bytes_with(bytes, &mut k.borrow_mut()))
}

fn check_one(raw: Raw, origin: &str, mirror: bool) -> Result<Checked, Fault> {
    let index = raw.index();
    let which = if mirror {
        format!("mirror of {origin}, ")
    } else {
        String::new()
    };
    let (leaf, hash, place) = match raw {
        Raw::Stored {
            segment,
            offset,
            bytes,
            ..
        } => {
            let place = Some(format!(
                "{which}{}, byte {offset}",
                kaitiaki_node::storage::segment::segment_file_name(segment)
            ));
            let leaf = read_leaf(&bytes).map_err(|e| {
                Fault::at(
                    index,
                    place.clone(),
                    format!("the stored leaf is malformed: {e}"),
                )
            })?;
            (leaf, leaf_hash(&bytes), place)
        }
        Raw::Bytes { bytes, .. } => {
            let place = mirror.then(|| format!("mirror of {origin}"));
            let leaf = read_leaf(&bytes).map_err(|e| {
                Fault::at(
                    index,
                    place.clone(),
                    format!("the served leaf is malformed: {e}"),
                )
            })?;
            (leaf, leaf_hash(&bytes), place)
        }
    };
    let sequenced_at = leaf.sequenced_at();
    let verified = leaf.into_envelope().open().map_err(|e| {
        Fault::at(
            index,
            place.clone(),
            format!("the statement does not verify: {e}"),
        )
    })?;
    Ok(Checked {
        index,
        hash,
        entry: Entry::new(verified, origin, index, sequenced_at),
        place,
    })
}

/// What the fold counted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    /// Statements by kind.
    pub kinds: BTreeMap<&'static str, u64>,
    /// Stored subtree hashes compared with recomputed ones.
    pub stored_hashes: u64,
    /// Stored checkpoints whose signature and root were checked.
    pub checkpoints: u64,
    /// Earlier statements whose standing a later one changed (rare; shown, not a fault).
    pub verdict_changes: u64,
    /// Seconds the in-order stage spent on the governance fold: with the
    /// signature checks, where an audit's time goes.
    pub governance_seconds: f64,
}

/// Where a data directory keeps one log's derived data: the hashes of its
/// complete subtrees and its leaf locations, compared with what the leaves
/// say. The own log's are in [`Storage`], a mirror's in its own files.
#[derive(Clone, Copy)]
pub enum Stored<'a> {
    /// The node's own log.
    Own(&'a Storage),
    /// The mirror of a peer's log.
    Mirror(&'a MirrorLog),
}

impl Stored<'_> {
    /// The stored hash of the complete subtree `at`, if stored.
    pub fn subtree_hash(&self, at: &Subtree) -> Result<Option<[u8; 32]>, StorageError> {
        match self {
            Stored::Own(s) => s.subtree_hash(at),
            Stored::Mirror(m) => m.subtree_hash(at),
        }
    }

    /// Where the stored leaf `index` is, per the location index.
    pub fn location(&self, index: u64) -> Result<Option<Location>, StorageError> {
        match self {
            Stored::Own(s) => s.location(index),
            Stored::Mirror(m) => m.location(index),
        }
    }
}

/// One log's part of the sequential stage: its tree, rebuilt leaf by leaf
/// in index order, and what it must match.
pub struct LogFold<'a> {
    origin: String,
    // For a mirror: the size and root of the peer's complete checkpoint,
    // and whether the leaves met it.
    complete: Option<(u64, Hash)>,
    complete_met: bool,
    compact: CompactRange,
    // A data directory's derived data of this log, whose stored hashes
    // are compared with what its leaves say.
    stored: Option<Stored<'a>>,
    // Its stored checkpoints, read in size order alongside the leaves.
    stored_checkpoints: Option<StoredCheckpoints<'a>>,
    verifier: Option<NoteVerifier>,
    // A (size, root) seen in an earlier audit, to be met on the way.
    remembered: Option<(u64, Hash)>,
    // The previous leaf's sequenced time: a log's times never go back.
    last_time: Option<kaitiaki_protocol::Timestamp>,
    stored_hashes: u64,
    checkpoints: u64,
}

impl<'a> LogFold<'a> {
    /// The node's own log `origin`, checking stored data if `stored` is given.
    pub fn own(
        origin: &str,
        verifier: NoteVerifier,
        stored: Option<&'a Storage>,
        remembered: Option<(u64, Hash)>,
    ) -> LogFold<'a> {
        LogFold {
            origin: origin.to_owned(),
            complete: None,
            complete_met: false,
            compact: CompactRange::new(),
            stored: stored.map(Stored::Own),
            stored_checkpoints: stored.map(|s| {
                let all: Box<dyn Iterator<Item = _> + 'a> = Box::new(s.checkpoints());
                all.peekable()
            }),
            verifier: Some(verifier),
            remembered,
            last_time: None,
            stored_hashes: 0,
            checkpoints: 0,
        }
    }

    /// The mirror of `origin`, whose leaves must make the root of the
    /// peer's complete checkpoint (`size`, `root`) and, on the way, the
    /// root this computer remembered for that log; checking its stored
    /// tree hashes if `stored` is given.
    pub fn mirror(
        origin: &str,
        complete: (u64, Hash),
        remembered: Option<(u64, Hash)>,
        stored: Option<&'a MirrorLog>,
    ) -> LogFold<'a> {
        LogFold {
            origin: origin.to_owned(),
            complete: Some(complete),
            complete_met: complete.0 == 0,
            compact: CompactRange::new(),
            stored: stored.map(Stored::Mirror),
            stored_checkpoints: None,
            verifier: None,
            remembered,
            last_time: None,
            stored_hashes: 0,
            checkpoints: 0,
        }
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether a mirror met its complete checkpoint's root.
    pub fn complete_met(&self) -> bool {
        self.complete_met
    }

    /// The leaves folded so far.
    pub fn size(&self) -> u64 {
        self.compact.size()
    }

    /// The root of the leaves folded so far.
    pub fn root(&self) -> Hash {
        self.compact.root()
    }

    /// Takes the next leaf into the tree and checks what it closes.
    fn advance(&mut self, leaf: &Checked) -> Result<(), Fault> {
        let index = leaf.index;
        if index != self.compact.size() {
            return Err(Fault::at(
                index,
                leaf.place.clone(),
                format!("expected leaf {} here", self.compact.size()),
            ));
        }
        let at = leaf.entry.sequenced_at;
        if let Some(before) = self.last_time.filter(|before| at < *before) {
            // Governance takes a body's statements in their log's order as
            // their time order (PROTOCOL.md §9.2); a leaf that goes back in
            // time breaks that, and every node refuses such a peer.
            return Err(Fault::at(
                index,
                leaf.place.clone(),
                format!(
                    "it was sequenced at {at}, earlier than the leaf before it ({before}): a node \
                     sequences with times that never go backwards, so the log was backdated or \
                     reordered"
                ),
            ));
        }
        self.last_time = Some(at);
        self.tree(index, leaf.hash, leaf)?;
        let size = self.compact.size();
        if let Some((at, root)) = self.remembered {
            if at == size && root != self.compact.root() {
                return Err(Fault::at(
                    index,
                    leaf.place.clone(),
                    format!(
                        "the log's first {size} leaves differ from those this computer verified before: \
                         the log has been rewritten"
                    ),
                ));
            }
        }
        if let Some((at, root)) = self.complete {
            if at == size {
                if root != self.compact.root() {
                    return Err(Fault::at(
                        index,
                        leaf.place.clone(),
                        format!(
                            "the mirror's first {size} leaves give root {}, but {}'s checkpoint \
                             signs root {root}: the node holds leaves its peer did not sign",
                            self.compact.root(),
                            self.origin
                        ),
                    ));
                }
                self.complete_met = true;
            }
        }
        self.stored_checkpoint(size, index)
    }

    /// Appends to the tree and compares each closed subtree with the node's.
    fn tree(&mut self, index: u64, hash: Hash, leaf: &Checked) -> Result<(), Fault> {
        let stored = self.stored;
        let mut mismatch: Option<Fault> = None;
        let mut compared = 0u64;
        let pushed = self.compact.push_with(hash, |at, computed| {
            let Some(storage) = stored else { return };
            if mismatch.is_some() {
                return;
            }
            compared += 1;
            match storage.subtree_hash(&at) {
                Ok(Some(v)) if Hash::from_slice(&v) == Some(computed) => {}
                Ok(found) => mismatch = Some(subtree_fault(index, at, found.is_some(), leaf)),
                Err(e) => {
                    mismatch = Some(Fault::general(format!(
                        "cannot read stored tree hash {at}: {e}"
                    )))
                }
            }
        });
        self.stored_hashes += compared;
        if pushed.is_err() {
            return Err(Fault::at(index, None, "the tree is full".into()));
        }
        match (mismatch, self.complete) {
            (None, _) => Ok(()),
            (Some(f), None) => Err(f),
            // A mirror's stored tree hash is named as the mirror's.
            (Some(mut f), Some(_)) => {
                let label = format!("mirror of {}", self.origin);
                f.place = Some(match f.place.take() {
                    Some(p) if p.starts_with(&label) => p,
                    Some(p) => format!("{label}, {p}"),
                    None => label,
                });
                Err(f)
            }
        }
    }

    /// Checks the stored checkpoint at `size`, if the node signed one there
    /// (one per batch it committed), and before the first, the one of the
    /// empty log.
    fn stored_checkpoint(&mut self, size: u64, index: u64) -> Result<(), Fault> {
        let (Some(stored), Some(verifier)) = (&mut self.stored_checkpoints, &self.verifier) else {
            return Ok(());
        };
        let unreadable = |e| Fault::general(format!("cannot read stored checkpoints: {e}"));
        // Sizes come one by one from 1 up, so only a checkpoint of the empty
        // log comes before: it is checked against the empty tree.
        let mut due = Vec::new();
        loop {
            match stored.next_if(|c| c.as_ref().map_or(true, |(at, _)| *at <= size)) {
                None => break,
                Some(Err(e)) => return Err(unreadable(e)),
                Some(Ok((0, note))) if size > 0 => {
                    due.push((0, note, kaitiaki_protocol::merkle::empty_root()))
                }
                Some(Ok((at, note))) if at == size => {
                    due.push((size, note, self.compact.root()));
                    break;
                }
                Some(Ok(_)) => {}
            }
        }
        for (at, note, root) in due {
            self.checkpoints += 1;
            signs(&note, &self.origin, verifier, at, &root, index)?;
        }
        Ok(())
    }
}

/// Checks a stored checkpoint `note` of `origin`: signed under `verifier`,
/// of size `size`, signing `root` (what the audited leaves give there).
fn signs(
    note: &[u8],
    origin: &str,
    verifier: &NoteVerifier,
    size: u64,
    root: &Hash,
    index: u64,
) -> Result<(), Fault> {
    let place = Some(format!("stored checkpoint at size {size}"));
    let v =
        VerifiedCheckpoint::open(note, origin, std::slice::from_ref(verifier)).map_err(|e| {
            Fault::at(
                index,
                place.clone(),
                format!("its signature does not verify: {e}"),
            )
        })?;
    let cp = v.checkpoint();
    if cp.size() != size || cp.root() != root {
        return Err(Fault::at(
            index,
            place,
            format!(
                "it signs root {} for size {}, but the leaves give root {root}",
                cp.root(),
                cp.size(),
            ),
        ));
    }
    Ok(())
}

/// A data directory's stored checkpoints, in size order.
type StoredCheckpoints<'a> = std::iter::Peekable<
    Box<dyn Iterator<Item = Result<(u64, Vec<u8>), kaitiaki_node::storage::StorageError>> + 'a>,
>;

/// The sequential stage of an audit: one governance state, into which the
/// statements of every log are folded in position order (sequenced time,
/// then log, then index), as the node folded them when they arrived.
pub struct Fold {
    // The audited node's own log.
    own: String,
    gov: MemStore,
    // Own-log statements that waited, at their place, for a reference: it
    // must then be in a mirror, not later in the own log.
    own_waiting: Vec<(u64, kaitiaki_protocol::StatementId)>,
    /// What was counted.
    pub counts: Counts,
}

impl Fold {
    /// A fresh fold for the node whose own log is `own`.
    pub fn new(own: &str) -> Fold {
        Fold {
            own: own.to_owned(),
            gov: MemStore::new(),
            own_waiting: Vec::new(),
            counts: Counts::default(),
        }
    }

    /// The governance state hash of the statements folded so far.
    pub fn state_hash(&self) -> Result<[u8; 32], Fault> {
        kaitiaki_governance::state_hash(&self.gov)
            .map_err(|e| Fault::general(format!("governance state: {e}")))
    }

    /// Folds the next leaf of `log` in.
    pub fn push(&mut self, log: &mut LogFold<'_>, leaf: Checked) -> Result<(), Fault> {
        log.advance(&leaf)?;
        self.counts.stored_hashes += std::mem::take(&mut log.stored_hashes);
        self.counts.checkpoints += std::mem::take(&mut log.checkpoints);
        self.govern(leaf, log.complete.is_none())
    }

    /// Folds the statement into the governance state; it must count.
    fn govern(&mut self, leaf: Checked, own: bool) -> Result<(), Fault> {
        let Checked {
            index,
            entry,
            place,
            ..
        } = leaf;
        if own {
            let kind = entry.statement.kind().name();
            *self.counts.kinds.entry(kind).or_default() += 1;
        }
        let started = std::time::Instant::now();
        let applied = apply(&entry, &mut self.gov).map_err(|e| {
            Fault::at(
                index,
                place.clone(),
                format!("governance state failed: {e}"),
            )
        })?;
        self.counts.governance_seconds += started.elapsed().as_secs_f64();
        // Whether the statement counts is settled only once every log held
        // is folded (see [`Fold::standing`]): its references, or news that
        // excludes it, may sit in a log read later.
        if let (true, Verdict::Pending { missing }) = (own, &applied.verdict) {
            self.own_waiting.push((index, *missing));
        }
        self.counts.verdict_changes += applied
            .changed
            .iter()
            .filter(|(id, _)| *id != entry.id)
            .count() as u64;
        Ok(())
    }
}

/// Exclusions the sequencing node had to see when it sequenced the
/// statement: they follow from the statement itself and from statements it
/// refers to, which the node must have held (nodes refuse unknown
/// references), or from the body's home log, which is the node's own. No
/// statement in another log can cause them later. Anything else (a key
/// revoked or rotated elsewhere, a withdrawal or rāhui placed earlier on
/// another node, a reference excluded for such a reason) may be news the
/// node could not have had.
pub fn node_must_have_seen(code: RejectionCode) -> bool {
    matches!(
        code,
        RejectionCode::WrongHomeLog
            | RejectionCode::WrongReference
            | RejectionCode::NotGoverningBody
            | RejectionCode::ExcludedUse
            | RejectionCode::NoticePeriod
            | RejectionCode::ConditionsMismatch
            | RejectionCode::InvalidAmendment
            | RejectionCode::RahuiAlreadyLifted
            | RejectionCode::NotAuthor
    )
}

/// How the statements of each log stand once every log is folded.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Standing {
    /// The own log's statements excluded for reasons another log's later
    /// knowledge can cause, by rejection code (notes, not faults).
    pub own_excluded: BTreeMap<&'static str, u64>,
    /// Per mirrored log: its statements excluded, by rejection code.
    pub mirror_excluded: BTreeMap<String, BTreeMap<&'static str, u64>>,
    /// Per mirrored log: its statements still waiting for a reference.
    pub mirror_pending: BTreeMap<String, u64>,
}

/// A placement key's statement id, leaf index and log origin. The key is
/// id (32) ‖ time (8) ‖ index (8) ‖ log origin.
fn placement(key: &[u8]) -> Option<([u8; 32], u64, &[u8])> {
    let id = key.get(..32)?.try_into().ok()?;
    let index = u64::from_be_bytes(key.get(40..48)?.try_into().ok()?);
    Some((id, index, key.get(48..)?))
}

/// Where the id index is kept, to name it in a fault.
const ID_INDEX: &str = "the database's id index";

impl Fold {
    /// Compares the database's id index with the own log's first `folded`
    /// leaves, as placed in the folded state: every statement must be
    /// indexed at its leaf, and nothing else indexed below `folded`. Both
    /// sides are read in statement-id order and merged, so the database is
    /// read once, in order, rather than looked up leaf by leaf. Fails on the
    /// lowest leaf that does not match.
    ///
    /// Only the leaves the database says it indexed are compared: after the
    /// node's process was killed, the database may lag its synced
    /// segments, and the node indexes the rest at its next start.
    pub fn check_own_index(&self, storage: &Storage, folded: u64) -> Result<(), Fault> {
        let indexed = storage
            .indexed_size()
            .map_err(|e| Fault::general(format!("cannot read {ID_INDEX}: {e}")))?;
        let bound = folded.min(indexed);
        let placed = self
            .gov
            .entries(Table::Placements)
            .filter_map(|(k, _)| placement(k))
            .filter(|(_, index, log)| *log == self.own.as_bytes() && *index < bound)
            .map(|(id, index, _)| (id, index));
        index_fault(placed, storage.own_index(), bound)
    }
}

/// Merges the own log's placements (statement id and leaf, in id order)
/// with the id index's entries (in id order) and fails on the lowest leaf
/// where they disagree, ignoring index entries at or beyond `folded`.
fn index_fault<E: std::fmt::Display>(
    placed: impl Iterator<Item = ([u8; 32], u64)>,
    indexed: impl Iterator<Item = Result<(StatementId, u64), E>>,
    folded: u64,
) -> Result<(), Fault> {
    let at = |index: u64, why: String| Fault::at(index, Some(ID_INDEX.to_owned()), why);
    let unreadable = |e: &E| Fault::general(format!("cannot read {ID_INDEX}: {e}"));
    // The leaves are the log; the index is derived from them, and the
    // node rebuilds it.
    const REBUILD: &str = "with the node stopped, move db/ out of the data directory and start \
                           the node: it rebuilds the index from the segments";
    let stray = |other: &StatementId| {
        format!("it places statement {other} at this leaf, but the log does not hold it; {REBUILD}")
    };
    let mut first: Option<Fault> = None;
    let mut keep = |f: Fault| {
        if first.as_ref().is_none_or(|g| f.leaf < g.leaf) {
            first = Some(f);
        }
    };
    let mut indexed = indexed.peekable();
    // The statement of the previous placement: the same statement placed
    // twice (a repeated leaf) has one index entry, met twice.
    let mut last: Option<[u8; 32]> = None;
    for (id, index) in placed {
        while let Some(next) = indexed.peek() {
            match next {
                Ok((other, _)) if other.as_bytes() >= &id => break,
                Ok((other, i)) if last != Some(*other.as_bytes()) && *i < folded => {
                    keep(at(*i, stray(other)))
                }
                Ok(_) => {}
                Err(e) => return Err(unreadable(e)),
            }
            indexed.next();
        }
        let found = match indexed.peek() {
            Some(Ok((other, i))) if other.as_bytes() == &id => Some(*i),
            _ => None,
        };
        match found {
            Some(i) if i == index => {}
            Some(i) => keep(at(
                index,
                format!("it places this leaf's statement at leaf {i}; {REBUILD}"),
            )),
            None => keep(at(
                index,
                format!("it has no entry for this leaf's statement; {REBUILD}"),
            )),
        }
        last = Some(id);
    }
    for rest in indexed {
        match rest {
            Ok((other, i)) if last != Some(*other.as_bytes()) && i < folded => {
                keep(at(i, stray(&other)))
            }
            Ok(_) => {}
            Err(e) => return Err(unreadable(&e)),
        }
    }
    first.map_or(Ok(()), Err)
}

/// Listing page size when walking the final state.
const WALK: usize = 500;

impl Fold {
    /// The logs (and the leaf indices in them) where the governance state
    /// places a statement.
    fn placements(&self, id: &kaitiaki_protocol::StatementId) -> Result<Vec<(String, u64)>, Fault> {
        let rows = self
            .gov
            .scan_prefix(Table::Placements, id.as_bytes(), None, 64)
            .map_err(|e| Fault::general(format!("governance state: {e}")))?;
        Ok(rows
            .iter()
            .filter_map(|(k, _)| {
                let (_, index, log) = placement(k)?;
                Some((std::str::from_utf8(log).ok()?.to_owned(), index))
            })
            .collect())
    }

    /// After every log is folded: how each statement stands. Fails on the
    /// own log's first (lowest) statement that cannot stand.
    pub fn standing(&self) -> Result<Standing, Fault> {
        let state =
            |e: kaitiaki_governance::StateError| Fault::general(format!("governance state: {e}"));
        let mut out = Standing::default();
        let mut first: Option<Fault> = None;
        let mut keep = |f: Fault| {
            if first.as_ref().is_none_or(|g| f.leaf < g.leaf) {
                first = Some(f);
            }
        };
        for (index, missing) in &self.own_waiting {
            let placed = self.placements(missing)?;
            if !placed.is_empty() && placed.iter().all(|(log, _)| *log == self.own) {
                keep(Fault::at(
                    *index,
                    None,
                    format!(
                        "the node sequenced a statement that refers to {missing}, which is not \
                         before it in the log (it comes later, and no mirror holds it)"
                    ),
                ));
            }
        }
        let mut after = None;
        loop {
            let page = lists::excluded(&self.gov, after.as_ref(), WALK).map_err(state)?;
            for x in page.items {
                let code = x.rejection.code;
                let placed = self.placements(&x.id)?;
                match placed.iter().find(|(log, _)| *log == self.own) {
                    Some((_, index)) if node_must_have_seen(code) => keep(Fault::at(
                        *index,
                        None,
                        format!(
                            "the node sequenced a {} that the governance rules refuse ({}): {}",
                            x.kind,
                            code.as_str(),
                            x.rejection.message
                        ),
                    )),
                    Some(_) => *out.own_excluded.entry(code.as_str()).or_default() += 1,
                    None => {
                        let log = placed
                            .first()
                            .map_or_else(|| "?".to_owned(), |(l, _)| l.clone());
                        *out.mirror_excluded
                            .entry(log)
                            .or_default()
                            .entry(code.as_str())
                            .or_default() += 1;
                    }
                }
            }
            match page.next {
                Some(c) => after = Some(c),
                None => break,
            }
        }
        let mut after = None;
        loop {
            let page = lists::pending(&self.gov, after.as_ref(), WALK).map_err(state)?;
            for p in page.items {
                let placed = self.placements(&p.id)?;
                match placed.iter().find(|(log, _)| *log == self.own) {
                    Some((_, index)) => keep(Fault::at(
                        *index,
                        None,
                        format!(
                            "the node sequenced a statement that refers to {}, which is in no log the \
                             node holds (neither before it in its own log nor in any mirror)",
                            p.missing
                        ),
                    )),
                    None => {
                        let log = placed.first().map_or_else(|| "?".to_owned(), |(l, _)| l.clone());
                        *out.mirror_pending.entry(log).or_default() += 1;
                    }
                }
            }
            match page.next {
                Some(c) => after = Some(c),
                None => break,
            }
        }
        match first {
            Some(f) => Err(f),
            None => Ok(out),
        }
    }
}

fn subtree_fault(index: u64, at: Subtree, present: bool, leaf: &Checked) -> Fault {
    let damage = |what: &str| {
        if present {
            format!("{what} does not match the leaves under it: the stored hash, or a leaf, was altered")
        } else {
            format!("{what} is missing from the database")
        }
    };
    if at.level() == 0 {
        return Fault::at(
            index,
            leaf.place.clone(),
            damage(&format!("its stored tree hash {at}")),
        );
    }
    Fault {
        leaf: None,
        place: Some(format!(
            "stored tree hash {at}, covering leaves {}..{}",
            at.start(),
            at.end() - 1
        )),
        why: damage("the stored hash"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> [u8; 32] {
        [n; 32]
    }

    fn check(placed: &[(u8, u64)], indexed: &[(u8, u64)], folded: u64) -> Option<(u64, String)> {
        let placed = placed.iter().map(|&(n, i)| (id(n), i));
        let indexed = indexed
            .iter()
            .map(|&(n, i)| Ok::<_, String>((StatementId::from_bytes(id(n)), i)));
        index_fault(placed, indexed, folded)
            .err()
            .map(|f| (f.leaf.expect("a leaf"), f.why))
    }

    #[test]
    fn an_index_that_matches_the_leaves_passes() {
        let both = [(1, 2), (4, 0), (9, 1)];
        assert_eq!(check(&both, &both, 3), None);
    }

    #[test]
    fn the_lowest_disagreeing_leaf_is_named() {
        // Statement 4 (leaf 0) indexed at leaf 2; statement 9 (leaf 1) missing.
        let f = check(&[(1, 2), (4, 0), (9, 1)], &[(1, 2), (4, 2)], 3).unwrap();
        assert_eq!(f.0, 0);
        assert!(f.1.contains("at leaf 2"), "{}", f.1);
        let f = check(&[(1, 2), (4, 0), (9, 1)], &[(1, 2), (4, 0)], 3).unwrap();
        assert_eq!(f.0, 1);
        assert!(f.1.contains("no entry"), "{}", f.1);
    }

    #[test]
    fn an_indexed_statement_the_log_lacks_is_named_below_the_folded_size() {
        let placed = [(1, 0), (9, 1)];
        let f = check(&placed, &[(1, 0), (5, 1), (9, 1)], 2).unwrap();
        assert_eq!(f.0, 1);
        assert!(f.1.contains("does not hold it"), "{}", f.1);
        let f = check(&placed, &[(1, 0), (9, 1), (12, 0)], 2).unwrap();
        assert_eq!(f.0, 0);
        // At or beyond the leaves folded (a fold stopped early): not judged.
        assert_eq!(check(&placed, &[(1, 0), (9, 1), (12, 7)], 2), None);
    }

    #[test]
    fn a_repeated_statement_fails_at_the_leaf_not_indexed() {
        // Statement 3 at leaves 1 and 4, indexed at 1.
        let f = check(&[(3, 1), (3, 4), (7, 0)], &[(3, 1), (7, 0)], 5).unwrap();
        assert_eq!(f.0, 4);
    }

    #[test]
    fn an_unreadable_index_is_a_fault_of_its_own() {
        let placed = [(id(1), 0)].into_iter();
        let indexed = [Err::<(StatementId, u64), _>("disk on fire")].into_iter();
        let f = index_fault(placed, indexed, 1).unwrap_err();
        assert_eq!(f.leaf, None);
        assert!(f.why.contains("disk on fire"), "{}", f.why);
    }
}
