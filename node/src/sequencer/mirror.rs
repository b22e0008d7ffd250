//! Mirrored batches: peers' leaves, verified by replication, folded into
//! governance by the same single writer as the node's own statements.
//!
//! Replication (see `crate::replication`) checks signatures and the
//! peer's checkpoint before it sends a [`MirrorChunk`] here. The sequence
//! thread then applies each statement to governance in a fresh overlay;
//! if the peer sequenced a statement that it could not have believed valid
//! (see [`breaks_peer_rule`]) the chunk is refused whole and nothing is
//! written. Otherwise the leaves go to the mirror's segment, and the commit
//! thread makes them durable (`fdatasync`) before sled learns of them and
//! of their governance writes, in one atomic batch — the same order as for
//! the own log, so recovery is the same too.

use std::collections::HashMap;
use std::sync::Arc;

use kaitiaki_governance::{Entry, Rejection, RejectionCode, Verdict};
use kaitiaki_protocol::merkle::CompactRange;
use kaitiaki_protocol::{Leaf, Timestamp, Verified};
use tokio::sync::oneshot;

use super::gate::{Gate, StateView};
use super::{extend_tree, LeafMeta, Prepared, SequenceLoop};
use crate::node::Shared;
use crate::storage::mirror::{MirrorCommit, MirrorLog};
use crate::storage::segment::Written;
use crate::storage::{CommitBatch, SegmentWriter, StorageError};

/// One verified leaf of a peer's log.
#[derive(Debug)]
pub struct MirrorLeaf {
    /// The leaf's bytes exactly as the peer's tree hashes them.
    pub bytes: Vec<u8>,
    /// Its statement, signature verified.
    pub verified: Verified,
    /// The time the peer sequenced it.
    pub sequenced_at: Timestamp,
}

/// A run of verified leaves of one peer's log, to store and fold in.
#[derive(Debug)]
pub struct MirrorChunk {
    /// The peer log's origin.
    pub origin: String,
    /// The index of the first leaf; must continue the mirror exactly.
    pub first_index: u64,
    /// The leaves, in order.
    pub leaves: Vec<MirrorLeaf>,
    /// The peer's checkpoint note the chunk was verified against.
    pub checkpoint: Option<Vec<u8>>,
    /// Whether the chunk ends exactly at that checkpoint's size.
    pub complete: bool,
    /// Answered once the chunk is durable, or refused.
    pub reply: oneshot::Sender<MirrorOutcome>,
}

/// What became of a [`MirrorChunk`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MirrorOutcome {
    /// Stored and folded in; the mirror now holds this many leaves.
    Stored {
        /// The mirror's size.
        size: u64,
    },
    /// The chunk does not continue the mirror, which holds `size` leaves.
    Gap {
        /// The mirror's size.
        size: u64,
    },
    /// Leaf `index` breaks a rule its log could not have missed; nothing of
    /// the chunk was stored.
    BreaksRule {
        /// The leaf index in the peer's log.
        index: u64,
        /// The rule it breaks.
        rejection: Rejection,
    },
    /// The node could not store it (storage failed, or shutting down).
    Unavailable,
}

/// A mirror's writer and the right edge of its tree, owned by the sequence
/// thread.
#[derive(Debug)]
pub(crate) struct MirrorWriter {
    pub log: Arc<MirrorLog>,
    pub writer: SegmentWriter,
    pub compact: CompactRange,
}

/// What the commit thread does for a mirrored batch.
#[derive(Debug)]
pub(crate) struct MirrorPrepared {
    pub log: Arc<MirrorLog>,
    pub written: Written,
    pub commit: MirrorCommit,
    pub reply: oneshot::Sender<MirrorOutcome>,
}

/// Whether a peer's log breaks a rule by holding this verdict.
///
/// A node sequences only what its own rules admit, and across logs there
/// is no order, so most exclusions of a mirrored statement mean only that
/// this node knows something the peer did not yet (a revocation sequenced
/// elsewhere, say): the statement is kept, excluded, and listed. One rule
/// no knowledge can change: a body's statement counts only in the body's
/// home log, and the peer had to know the body to sequence the statement
/// (nodes refuse unknown references). A peer that sequences a vote for a
/// body homed elsewhere has broken the rules of the federation.
///
/// Rules a leaf breaks by itself, whatever this node knows — a statement
/// of another network, a time before the leaf before it — are checked by
/// replication before a chunk comes here (`crate::replication::rules`).
pub fn breaks_peer_rule(verdict: &Verdict) -> Option<&Rejection> {
    match verdict {
        Verdict::Excluded { rejection } if rejection.code == RejectionCode::WrongHomeLog => {
            Some(rejection)
        }
        _ => None,
    }
}

/// Opens the writer of a mirror the node has never stored a leaf of.
pub(crate) fn new_writer(shared: &Shared, origin: &str) -> Result<MirrorWriter, StorageError> {
    let log = shared.storage.mirror(origin)?;
    if log.size()? != 0 || log.tree().compact_range(0).is_err() {
        return Err(StorageError::Corrupt(format!(
            "the mirror of {origin} was not recovered at start-up"
        )));
    }
    SegmentWriter::create_segment(log_dir(&log), 0)?;
    let writer = SegmentWriter::open(
        log_dir(&log),
        0,
        crate::storage::segment::SEGMENT_MAGIC.len() as u64,
        0,
        shared.config.storage.segment_bytes,
    )?;
    Ok(MirrorWriter {
        log,
        writer,
        compact: CompactRange::new(),
    })
}

fn log_dir(log: &MirrorLog) -> &std::path::Path {
    crate::storage::recovery::Recoverable::log_dir(log)
}

impl SequenceLoop {
    /// Prepares one mirrored chunk, or answers it at once (gap, broken
    /// rule). Errors are storage failures; the chunk is answered first.
    pub(super) fn prepare_mirror(
        &mut self,
        chunk: MirrorChunk,
        mirrors: &mut HashMap<String, MirrorWriter>,
    ) -> Result<Option<Prepared>, StorageError> {
        let shared = Arc::clone(&self.shared);
        let MirrorChunk {
            origin,
            first_index,
            leaves,
            checkpoint,
            complete,
            reply,
        } = chunk;
        if !mirrors.contains_key(&origin) {
            match new_writer(&shared, &origin) {
                Ok(w) => {
                    mirrors.insert(origin.clone(), w);
                }
                Err(e) => {
                    let _ = reply.send(MirrorOutcome::Unavailable);
                    return Err(e);
                }
            }
        }
        let Some(m) = mirrors.get_mut(&origin) else {
            let _ = reply.send(MirrorOutcome::Unavailable);
            return Ok(None);
        };
        let size = m.writer.next_leaf();
        if first_index != size {
            let _ = reply.send(MirrorOutcome::Gap { size });
            return Ok(None);
        }

        self.carry.prune(
            shared
                .committed_seq
                .load(std::sync::atomic::Ordering::Acquire),
        );
        let view = StateView::new(&shared.storage, Some(&self.carry));
        let mut gate = Gate::new(&view);
        let mut bytes = Vec::with_capacity(leaves.len());
        let mut metas = Vec::with_capacity(leaves.len());
        let mut last_time = Timestamp::EPOCH;
        for (i, leaf) in leaves.into_iter().enumerate() {
            let index = first_index + i as u64;
            let entry = Entry::new(leaf.verified, origin.clone(), index, leaf.sequenced_at);
            let verdict = match gate.mirror(&entry) {
                Ok(v) => v,
                Err(e) => {
                    let _ = reply.send(MirrorOutcome::Unavailable);
                    return Err(e);
                }
            };
            if let Some(rejection) = breaks_peer_rule(&verdict) {
                let _ = reply.send(MirrorOutcome::BreaksRule {
                    index,
                    rejection: rejection.clone(),
                });
                return Ok(None);
            }
            metas.push(LeafMeta::of(index, entry.id, &entry.statement));
            last_time = leaf.sequenced_at;
            bytes.push(leaf.bytes);
        }
        let written = match m.writer.append(&bytes) {
            Ok(w) => w,
            Err(e) => {
                let _ = reply.send(MirrorOutcome::Unavailable);
                return Err(e);
            }
        };
        let mut commit = MirrorCommit {
            first_index,
            checkpoint,
            complete,
            ..MirrorCommit::default()
        };
        extend_tree(&mut m.compact, &bytes, &mut commit.subtrees);
        commit.leaves = metas
            .iter()
            .map(|meta| meta.id)
            .zip(written.locations.iter().copied())
            .collect();
        let state = gate.into_changes();
        self.seq += 1;
        self.carry.record(self.seq, HashMap::new(), &state);
        let own = CommitBatch {
            first_index: self.writer.next_leaf(),
            last_time,
            state,
            ..CommitBatch::default()
        };
        Ok(Some(Prepared {
            seq: self.seq,
            written: None,
            commit: own,
            root: self.compact.root(),
            replies: Vec::new(),
            leaves: Vec::new(),
            mirror: Some(MirrorPrepared {
                log: Arc::clone(&m.log),
                written,
                commit,
                reply,
            }),
            mirror_leaves: metas,
        }))
    }
}

/// Leaf bytes → (leaf, statement) for a mirrored leaf, checking the
/// envelope's signature strictly. A leaf that fails is handed back with
/// the reason, for the evidence.
pub fn open_leaf(bytes: Vec<u8>) -> Result<MirrorLeaf, (Vec<u8>, String)> {
    thread_local! {
        // Each verifying thread decodes each author's key once (see KeyCache).
        static KEYS: std::cell::RefCell<kaitiaki_protocol::KeyCache> = Default::default();
    }
    let opened = KEYS
        .with(|k| Leaf::from_bytes_with(&bytes, &mut k.borrow_mut()))
        .map_err(|e| format!("the leaf does not parse: {e}"))
        .and_then(|leaf| {
            let sequenced_at = leaf.sequenced_at();
            leaf.into_envelope()
                .open()
                .map(|verified| (verified, sequenced_at))
                .map_err(|e| format!("the statement does not verify: {e}"))
        });
    match opened {
        Ok((verified, sequenced_at)) => Ok(MirrorLeaf {
            bytes,
            verified,
            sequenced_at,
        }),
        Err(problem) => Err((bytes, problem)),
    }
}

/// Opens every mirror on disk at start-up: reconciles each with its
/// segments exactly as the own log is (torn tail cut, derived files and
/// sled caught up — re-folding into governance what sled lost), and
/// returns the writers the sequence thread continues them with.
pub(crate) fn recover_mirrors(
    shared: &Shared,
) -> Result<HashMap<String, MirrorWriter>, StorageError> {
    let mut out = HashMap::new();
    for origin in shared.storage.mirror_origins()? {
        let log = shared.storage.mirror(&origin)?;
        let indexed = log.size()?;
        let start = log.trim_derived(indexed)?;
        let mut compact = log.tree().compact_range(start)?;
        let (writer, report) = crate::storage::recovery::recover(
            &*log,
            shared.config.storage.segment_bytes,
            start,
            |first, records| reindex_mirror(shared, &log, &mut compact, first, records, indexed),
        )?;
        log.sync_derived()?;
        if report.size != compact.size() {
            return Err(StorageError::Corrupt(format!(
                "the mirror of {origin} has {} leaves but its tree has {}",
                report.size,
                compact.size()
            )));
        }
        if report.reindexed > 0 || report.truncated_bytes > 0 {
            tracing::warn!(
                origin,
                reindexed = report.reindexed,
                truncated_bytes = report.truncated_bytes,
                "recovered the tail of a mirror"
            );
        }
        out.insert(
            origin,
            MirrorWriter {
                log,
                writer,
                compact,
            },
        );
    }
    Ok(out)
}

/// The mirror's counterpart of [`super::reindex`].
fn reindex_mirror(
    shared: &Shared,
    log: &MirrorLog,
    compact: &mut CompactRange,
    first_index: u64,
    records: Vec<(crate::storage::Location, Vec<u8>)>,
    sled_from: u64,
) -> Result<(), StorageError> {
    let (first_index, rest) =
        super::derive_before(compact, first_index, records, sled_from, |f, l, s| {
            log.derive(f, l, s)
        })?;
    if rest.is_empty() {
        return Ok(());
    }
    let view = StateView::new(&shared.storage, None);
    let mut gate = Gate::new(&view);
    let mut commit = MirrorCommit {
        first_index,
        ..MirrorCommit::default()
    };
    let mut bytes_only = Vec::with_capacity(rest.len());
    for (i, (loc, bytes)) in rest.into_iter().enumerate() {
        let index = first_index + i as u64;
        let leaf = open_leaf(bytes).map_err(|(_, e)| {
            StorageError::Corrupt(format!(
                "leaf {index} of the mirror of {}: {e}",
                log.origin()
            ))
        })?;
        let entry = Entry::new(leaf.verified, log.origin(), index, leaf.sequenced_at);
        gate.mirror(&entry)?;
        commit.leaves.push((entry.id, loc));
        bytes_only.push(leaf.bytes);
    }
    extend_tree(compact, &bytes_only, &mut commit.subtrees);
    let changes = gate.into_changes();
    log.commit(&commit, &changes)
}
