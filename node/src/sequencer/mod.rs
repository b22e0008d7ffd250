//! The sequencer: the single writer of the node's log, with group commit.
//!
//! Handlers verify signatures in parallel and send verified statements
//! here. Two threads then turn them into durable leaves, in a pipeline:
//!
//! ```text
//!  handlers ──mpsc──▶ sequence thread ──(≤ 1 batch queued)──▶ commit thread
//!                     drain a batch                           fdatasync
//!                     dedupe, governance (Overlay)            sled commit (one transaction)
//!                     assign indices, write()                 sign + publish checkpoint
//!                     extend the tree                         answer 2xx, emit events
//! ```
//!
//! While the commit thread waits for `fdatasync` on batch N, the sequence
//! thread already prepares batch N+1 — safely, because:
//! - batch N+1 sees batch N's governance writes and ids through the
//!   [`pending::Carry`] until sled holds them;
//! - batches are synced and committed strictly in order, and `fdatasync` of a
//!   file covers every earlier write to it, so nothing of N+1 is acknowledged
//!   before N is durable;
//! - if any write or sync fails, both threads stop and every waiting client
//!   gets `unavailable`: the node fails closed rather than acknowledge on top
//!   of a batch whose durability is unknown (the next start-up truncates or
//!   re-indexes, whichever the disk says).
//!
//! No lock is held across I/O; the two threads share only channels and a
//! few atomics.

mod commit;
pub mod gate;
pub mod mirror;
pub mod pending;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use kaitiaki_governance::{Entry, Rejection, RejectionCode};
use kaitiaki_protocol::merkle::{leaf_hash, CompactRange, Subtree};
use kaitiaki_protocol::{
    Body, Envelope, Hash, Leaf, PublicKey, Statement, StatementId, Timestamp, Verified,
};
use tokio::sync::{mpsc, oneshot};

use crate::events::references;
use crate::node::Shared;
use crate::storage::segment::Written;
use crate::storage::{CommitBatch, Location, SegmentWriter, StorageError};
pub(crate) use commit::sign_checkpoint;
pub use gate::{Gate, StateView};
use pending::Carry;

/// What happened to one submitted statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Sequenced now, at this leaf index; durable.
    Created(u64),
    /// Already in the log at this leaf index (durable).
    Existing(u64),
    /// Refused by governance; nothing was written.
    Rejected(Rejection),
    /// The node could not make it durable (storage failed, or shutting down).
    Unavailable,
}

/// Statements from one request, answered together once durable.
#[derive(Debug)]
pub struct Submission {
    /// Verified statements, in the order the client sent them.
    pub items: Vec<Verified>,
    /// One outcome per item, in order.
    pub reply: oneshot::Sender<Vec<Outcome>>,
}

pub(crate) enum Msg {
    Submit(Submission),
    Mirror(mirror::MirrorChunk),
    Stop,
}

/// The running sequencer: how handlers reach it, and its threads.
#[derive(Debug)]
pub struct Sequencer {
    tx: mpsc::Sender<Msg>,
    threads: Vec<JoinHandle<()>>,
}

/// Clonable access to the sequencer for handlers.
#[derive(Clone, Debug)]
pub struct SequencerHandle {
    tx: mpsc::Sender<Msg>,
}

impl SequencerHandle {
    /// Submits statements and waits until they are durable (or refused).
    pub async fn submit(&self, items: Vec<Verified>) -> Vec<Outcome> {
        let n = items.len();
        let (reply, rx) = oneshot::channel();
        if self
            .tx
            .send(Msg::Submit(Submission { items, reply }))
            .await
            .is_err()
        {
            return vec![Outcome::Unavailable; n];
        }
        rx.await.unwrap_or_else(|_| vec![Outcome::Unavailable; n])
    }

    /// Stores a verified run of a peer's leaves and folds it into
    /// governance; waits until it is durable (or refused).
    pub async fn mirror(
        &self,
        origin: String,
        first_index: u64,
        leaves: Vec<mirror::MirrorLeaf>,
        checkpoint: Vec<u8>,
        complete: bool,
    ) -> mirror::MirrorOutcome {
        let (reply, rx) = oneshot::channel();
        let chunk = mirror::MirrorChunk {
            origin,
            first_index,
            leaves,
            checkpoint: Some(checkpoint),
            complete,
            reply,
        };
        if self.tx.send(Msg::Mirror(chunk)).await.is_err() {
            return mirror::MirrorOutcome::Unavailable;
        }
        rx.await.unwrap_or(mirror::MirrorOutcome::Unavailable)
    }
}

/// A batch prepared by the sequence thread, handed to the commit thread.
pub(crate) struct Prepared {
    seq: u64,
    written: Option<Written>,
    commit: CommitBatch,
    root: Hash,
    replies: Vec<(oneshot::Sender<Vec<Outcome>>, Vec<Outcome>)>,
    // What the events of each new leaf say.
    leaves: Vec<LeafMeta>,
    // A mirrored batch instead: its own segment write and sled commit.
    mirror: Option<mirror::MirrorPrepared>,
    // What the mirrored leaves refer to, for the state event.
    mirror_leaves: Vec<LeafMeta>,
}

/// What an event says about a new leaf.
#[derive(Debug)]
pub(crate) struct LeafMeta {
    index: u64,
    id: StatementId,
    kind: &'static str,
    author: PublicKey,
    refs: Vec<StatementId>,
}

impl LeafMeta {
    fn of(index: u64, id: StatementId, statement: &Statement) -> LeafMeta {
        LeafMeta {
            index,
            id,
            kind: statement.kind().name(),
            author: statement.author,
            refs: references(statement),
        }
    }
}

/// Whether `statement` commits to a content hash this log already commits
/// to: earlier in this batch (`batch`), in a batch in flight, or on disk.
/// The first commitment binds the readers, so a second is refused.
fn rebinds(
    statement: &Statement,
    batch: &[([u8; 32], StatementId)],
    carry: &Carry,
    storage: &crate::storage::Storage,
) -> Result<bool, StorageError> {
    let Some(hash) = attachment_of(statement) else {
        return Ok(false);
    };
    Ok(batch.iter().any(|(a, _)| *a == hash)
        || carry.commits_attachment(&hash)
        || storage.attachment_commit(&hash)?.is_some())
}

/// The content hash an `attachment.commit` commits to, if it is one.
fn attachment_of(statement: &Statement) -> Option<[u8; 32]> {
    match &statement.body {
        Body::AttachmentCommit(a) => Some(*a.content_hash.as_bytes()),
        _ => None,
    }
}

impl Sequencer {
    /// Starts the two threads. `writer` and `compact` continue the log
    /// exactly where recovery left it.
    pub(crate) fn start(
        shared: Arc<Shared>,
        writer: SegmentWriter,
        compact: CompactRange,
        mirrors: HashMap<String, mirror::MirrorWriter>,
    ) -> std::io::Result<Sequencer> {
        // Enough queued submissions to fill several batches; beyond that,
        // handlers wait, which is the back-pressure clients feel.
        let (tx, rx) = mpsc::channel(shared.config.limits.max_batch_leaves.max(1024) * 4);
        // One batch may wait while another syncs: the pipeline depth is two.
        let (ctx, crx) = sync_channel::<Prepared>(1);
        let seq_shared = Arc::clone(&shared);
        let sequence = std::thread::Builder::new()
            .name("kaitiaki-sequence".into())
            .spawn(move || {
                let mut s = SequenceLoop {
                    shared: seq_shared,
                    writer,
                    compact,
                    seq: 0,
                    carry: Carry::default(),
                };
                s.run(rx, ctx, mirrors);
            })?;
        let commit = std::thread::Builder::new()
            .name("kaitiaki-commit".into())
            .spawn(move || commit::run(shared, crx))?;
        Ok(Sequencer {
            tx,
            threads: vec![sequence, commit],
        })
    }

    /// A handle for handlers.
    pub fn handle(&self) -> SequencerHandle {
        SequencerHandle {
            tx: self.tx.clone(),
        }
    }

    /// Finishes every submission already queued, then stops both threads.
    pub fn stop(self) {
        // If the channel is full, block until there is room: everything
        // ahead of the stop message is still answered.
        let _ = self.tx.blocking_send(Msg::Stop);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

struct SequenceLoop {
    shared: Arc<Shared>,
    writer: SegmentWriter,
    compact: CompactRange,
    seq: u64,
    carry: Carry,
}

impl SequenceLoop {
    fn run(
        &mut self,
        mut rx: mpsc::Receiver<Msg>,
        commit: SyncSender<Prepared>,
        mut mirrors: HashMap<String, mirror::MirrorWriter>,
    ) {
        let max = self.shared.config.limits.max_batch_leaves;
        // A mirrored chunk met while gathering a batch waits for the batch.
        let mut held: Option<mirror::MirrorChunk> = None;
        'outer: loop {
            let msg = match held.take() {
                Some(chunk) => Msg::Mirror(chunk),
                None => match rx.blocking_recv() {
                    Some(m) => m,
                    None => break,
                },
            };
            let first = match msg {
                Msg::Submit(first) => first,
                Msg::Mirror(chunk) => {
                    if self.shared.failed.load(Ordering::Acquire) {
                        let _ = chunk.reply.send(mirror::MirrorOutcome::Unavailable);
                        continue;
                    }
                    match self.prepare_mirror(chunk, &mut mirrors) {
                        Ok(None) => {}
                        Ok(Some(prepared)) => {
                            if commit.send(prepared).is_err() {
                                break 'outer;
                            }
                        }
                        Err(e) => {
                            self.shared
                                .fail_writes("storing a mirrored batch failed", &e);
                        }
                    }
                    continue;
                }
                Msg::Stop => break,
            };
            let mut n = first.items.len();
            let mut subs = vec![first];
            let mut stop = false;
            // Group commit: take everything already waiting, up to the limit.
            while n < max {
                match rx.try_recv() {
                    Ok(Msg::Submit(s)) => {
                        n += s.items.len();
                        subs.push(s);
                    }
                    Ok(Msg::Mirror(chunk)) => {
                        held = Some(chunk);
                        break;
                    }
                    Ok(Msg::Stop) => {
                        stop = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            // After a storage fault nothing is sequenced. Nor while the node
            // waits for its peers or refuses statements
            // (`replication::own_log`): the handlers refuse those first, and
            // asked again here, where statements are sequenced, one that
            // passed a handler just before a wait began (a peer added at
            // run time to a restored node) waits too.
            if self.shared.failed.load(Ordering::Acquire)
                || self.shared.own_log.holds_back(&self.shared.replication)
            {
                fail_all(subs);
                if stop {
                    break;
                }
                continue;
            }
            let start = std::time::Instant::now();
            let prepared = self.prepare(subs);
            self.shared
                .metrics
                .sequence_seconds
                .observe_duration(start.elapsed());
            match prepared {
                Ok(prepared) => {
                    if commit.send(prepared).is_err() {
                        break 'outer;
                    }
                }
                Err(e) => {
                    self.shared.fail_writes("the sequencer failed", &e);
                }
            }
            if stop {
                break;
            }
        }
        // Anything still queued is answered, not silently dropped.
        rx.close();
        if let Some(chunk) = held {
            let _ = chunk.reply.send(mirror::MirrorOutcome::Unavailable);
        }
        while let Ok(msg) = rx.try_recv() {
            match msg {
                Msg::Submit(s) => fail_all(vec![s]),
                Msg::Mirror(chunk) => {
                    let _ = chunk.reply.send(mirror::MirrorOutcome::Unavailable);
                }
                Msg::Stop => {}
            }
        }
    }

    /// Sequences one batch: dedupe, governance, indices, segment write, tree.
    ///
    /// On a storage error every submission in the batch is answered with
    /// [`Outcome::Unavailable`] before the error is returned.
    fn prepare(&mut self, subs: Vec<Submission>) -> Result<Prepared, StorageError> {
        let shared = Arc::clone(&self.shared);
        let first_index = self.writer.next_leaf();
        let now = shared.clock.now();
        let last = shared.last_time.load(Ordering::Relaxed);
        // Time never runs backwards in the log, even if the clock does.
        let sequenced_at = if now.unix_millis() < last {
            Timestamp::from_unix_millis(last).unwrap_or(now)
        } else {
            now
        };
        shared
            .last_time
            .store(sequenced_at.unix_millis(), Ordering::Relaxed);

        self.carry
            .prune(shared.committed_seq.load(Ordering::Acquire));
        let view = StateView::new(&shared.storage, Some(&self.carry));
        let mut gate = Gate::new(&view);
        let origin = &shared.config.origin;
        let mut in_batch: HashMap<StatementId, u64> = HashMap::new();
        let mut leaf_bytes: Vec<Vec<u8>> = Vec::new();
        let mut metas: Vec<LeafMeta> = Vec::new();
        let mut attachments = Vec::new();
        let mut replies = Vec::with_capacity(subs.len());
        let mut next = first_index;
        let mut failure = None;

        for Submission { items, reply } in subs {
            let n = items.len();
            let mut outcomes = Vec::with_capacity(n);
            for item in items {
                if failure.is_some() {
                    break;
                }
                let id = item.id();
                let existing = match in_batch.get(&id) {
                    Some(&i) => Ok(Some(i)),
                    None => match self.carry.index_of(&id) {
                        Some(i) => Ok(Some(i)),
                        None => shared.storage.index_of(&id),
                    },
                };
                // Only a statement new to the log can bind a content hash anew.
                let seen = match existing {
                    Ok(None) => {
                        rebinds(item.statement(), &attachments, &self.carry, &shared.storage)
                            .map(|again| (None, again))
                    }
                    other => other.map(|found| (found, false)),
                };
                let outcome = match seen {
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                    Ok((Some(index), _)) => {
                        shared.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
                        Outcome::Existing(index)
                    }
                    Ok((None, true)) => {
                        shared.metrics.rejected.fetch_add(1, Ordering::Relaxed);
                        Outcome::Rejected(Rejection::new(
                            RejectionCode::AttachmentAlreadyCommitted,
                            "This log already holds a commitment to this content hash, and its \
                             readers are the ones who may read the file. To share the file with \
                             other readers, ask a member of those readers' body to pass it on."
                                .to_owned(),
                        ))
                    }
                    Ok((None, false)) => {
                        let (envelope, statement, id) = item.into_parts();
                        let entry = Entry {
                            id,
                            statement,
                            log: origin.clone(),
                            index: next,
                            sequenced_at,
                        };
                        match gate.admit(&entry) {
                            Err(e) => {
                                failure = Some(e);
                                break;
                            }
                            Ok(Err(rejection)) => {
                                shared.metrics.rejected.fetch_add(1, Ordering::Relaxed);
                                Outcome::Rejected(rejection)
                            }
                            Ok(Ok(())) => {
                                leaf_bytes.push(Leaf::new(sequenced_at, envelope).to_bytes());
                                in_batch.insert(id, next);
                                metas.push(LeafMeta::of(next, id, &entry.statement));
                                if let Some(hash) = attachment_of(&entry.statement) {
                                    attachments.push((hash, id));
                                }
                                next += 1;
                                Outcome::Created(next - 1)
                            }
                        }
                    }
                };
                outcomes.push(outcome);
            }
            replies.push((reply, n, outcomes));
        }

        let written = match failure {
            Some(e) => Err(e),
            None if leaf_bytes.is_empty() => Ok(None),
            None => self.writer.append(&leaf_bytes).map(Some),
        };
        let written = match written {
            Ok(w) => w,
            Err(e) => {
                for (reply, n, _) in replies {
                    let _ = reply.send(vec![Outcome::Unavailable; n]);
                }
                return Err(e);
            }
        };

        let locations = written
            .as_ref()
            .map(|w| w.locations.clone())
            .unwrap_or_default();
        let mut commit = CommitBatch {
            first_index,
            last_time: sequenced_at,
            ..CommitBatch::default()
        };
        extend_tree(&mut self.compact, &leaf_bytes, &mut commit.subtrees);
        commit.leaves = metas.iter().map(|m| m.id).zip(locations).collect();
        commit.attachments = attachments;
        commit.state = gate.into_changes();

        self.seq += 1;
        self.carry.record(self.seq, in_batch, &commit.state);
        for (hash, _) in &commit.attachments {
            self.carry.record_attachment(self.seq, *hash);
        }
        let root = self.compact.root();
        Ok(Prepared {
            seq: self.seq,
            written,
            commit,
            root,
            replies: replies.into_iter().map(|(r, _, o)| (r, o)).collect(),
            leaves: metas,
            mirror: None,
            mirror_leaves: Vec::new(),
        })
    }
}

/// Pushes each leaf's hash onto the right edge, collecting closed subtrees.
fn extend_tree(compact: &mut CompactRange, leaves: &[Vec<u8>], out: &mut Vec<(Subtree, Hash)>) {
    for bytes in leaves {
        // A u64-sized tree cannot fill up in practice; if it ever did, the
        // missing subtrees would make proofs fail loudly rather than lie.
        let _ = compact.push_with(leaf_hash(bytes), |at, hash| out.push((at, hash)));
    }
}

/// Answers every item of every submission with `unavailable`.
fn fail_all(subs: Vec<Submission>) {
    for s in subs {
        let n = s.items.len();
        let _ = s.reply.send(vec![Outcome::Unavailable; n]);
    }
}

/// Re-derives durable leaves from the segments at start-up: every leaf
/// gets its location and tree hashes in the derived files; those from
/// `sled_from` on, which sled lacks, are also re-indexed in sled — the same
/// steps as a sequenced batch, minus the checks, which passed when the
/// leaves were first sequenced.
pub(crate) fn reindex(
    shared: &Shared,
    compact: &mut CompactRange,
    first_index: u64,
    records: Vec<(Location, Vec<u8>)>,
    sled_from: u64,
) -> Result<(), StorageError> {
    let (first_index, rest) =
        derive_before(compact, first_index, records, sled_from, |f, l, s| {
            shared.storage.derive(f, l, s)
        })?;
    if rest.is_empty() {
        return Ok(());
    }
    // Nothing is signed over a damaged right edge: the root the stored
    // hashes give where sled stopped must be the one signed there.
    if compact.size() == sled_from && sled_from > 0 {
        if let Some(note) = shared.storage.checkpoint_at(sled_from)? {
            crate::node::signed_root_is(&note, sled_from, &compact.root())?;
        }
    }
    let mut commit = CommitBatch {
        first_index,
        ..CommitBatch::default()
    };
    let view = StateView::new(&shared.storage, None);
    let mut gate = Gate::new(&view);
    let mut bytes_only = Vec::with_capacity(rest.len());
    for (i, (loc, bytes)) in rest.into_iter().enumerate() {
        let index = first_index + i as u64;
        let leaf = Leaf::from_bytes(&bytes)
            .map_err(|e| StorageError::Corrupt(format!("leaf {index} in the segments: {e}")))?;
        let at = leaf.sequenced_at();
        let verified = open_logged(leaf.into_envelope(), index)?;
        let entry = Entry::new(verified, shared.config.origin.clone(), index, at);
        gate.replay(&entry)?;
        if let Some(hash) = attachment_of(&entry.statement) {
            commit.attachments.push((hash, entry.id));
        }
        commit.leaves.push((entry.id, loc));
        commit.last_time = at;
        bytes_only.push(bytes);
    }
    extend_tree(compact, &bytes_only, &mut commit.subtrees);
    commit.state = gate.into_changes();
    commit.checkpoint = sign_checkpoint(shared, compact.size(), compact.root())?;
    shared.storage.commit(&commit)
}

/// Durable leaves read back from the segments at start-up: where each is,
/// and its bytes.
pub(crate) type Records = Vec<(Location, Vec<u8>)>;

/// Start-up, for the own log and mirrors alike: the durable leaves
/// `records` (from `first_index`) before `sled_from` lack only their
/// derived files — their locations and the subtrees they close go to
/// `derive`, extending `compact`, with no parsing, governance or sled.
/// Returns the index and records of the rest, which sled lacks too.
pub(crate) fn derive_before(
    compact: &mut CompactRange,
    first_index: u64,
    mut records: Records,
    sled_from: u64,
    derive: impl FnOnce(u64, &[Location], &[(Subtree, Hash)]) -> Result<(), StorageError>,
) -> Result<(u64, Records), StorageError> {
    let split = usize::try_from(sled_from.saturating_sub(first_index))
        .unwrap_or(usize::MAX)
        .min(records.len());
    let rest = records.split_off(split);
    if !records.is_empty() {
        let mut subtrees = Vec::new();
        let mut locations = Vec::with_capacity(records.len());
        for (loc, bytes) in &records {
            let _ = compact.push_with(leaf_hash(bytes), |at, hash| subtrees.push((at, hash)));
            locations.push(*loc);
        }
        derive(first_index, &locations, &subtrees)?;
    }
    Ok((first_index + split as u64, rest))
}

/// Opens an envelope that is already in the log. It was verified when it
/// was sequenced; failing now means the segment was altered.
fn open_logged(envelope: Envelope, index: u64) -> Result<Verified, StorageError> {
    envelope
        .open()
        .map_err(|e| StorageError::Corrupt(format!("leaf {index} no longer verifies: {e}")))
}
