//! The commit thread: makes each prepared batch durable, commits it to
//! sled, signs and publishes the checkpoint, and only then answers.
//!
//! The order inside one batch is the durability argument of the node:
//! `fdatasync` → sled transaction → publish checkpoint → 2xx → events.
//! A checkpoint never covers a leaf that is not on stable storage, and a
//! client never hears "created" for one either.

use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Instant;

use kaitiaki_protocol::checkpoint::Checkpoint;
use kaitiaki_protocol::Hash;

use super::mirror::MirrorOutcome;
use super::{Outcome, Prepared};
use crate::events::Event;
use crate::node::{Published, Shared};
use crate::storage::StorageError;

pub(super) fn run(shared: Arc<Shared>, rx: Receiver<Prepared>) {
    for batch in rx {
        if shared.failed.load(Ordering::Acquire) {
            fail(batch);
            continue;
        }
        if let Err(e) = commit(&shared, batch) {
            shared.fail_writes("committing a batch failed", &e);
        }
    }
}

/// Answers every waiter of a batch that will not be committed.
fn fail(batch: Prepared) {
    for (reply, outcomes) in batch.replies {
        let _ = reply.send(vec![Outcome::Unavailable; outcomes.len()]);
    }
    if let Some(m) = batch.mirror {
        let _ = m.reply.send(MirrorOutcome::Unavailable);
    }
}

/// A mirrored batch: `fdatasync` of the mirror's segment, then sled (its
/// index, size, checkpoint and governance writes at once), then the answer.
fn commit_mirror(shared: &Shared, mut batch: Prepared) -> Result<(), StorageError> {
    let Some(m) = batch.mirror.take() else {
        return Ok(());
    };
    let size = m.commit.first_index + m.commit.leaves.len() as u64;
    let done = m
        .written
        .sync()
        .and_then(|()| m.log.commit(&m.commit, &batch.commit.state));
    if let Err(e) = done {
        let _ = m.reply.send(MirrorOutcome::Unavailable);
        return Err(e);
    }
    shared.committed_seq.store(batch.seq, Ordering::Release);
    shared
        .metrics
        .state_writes
        .fetch_add(batch.commit.state.len() as u64, Ordering::Relaxed);
    let _ = m.reply.send(MirrorOutcome::Stored { size });
    let mut refs = Vec::new();
    for leaf in batch.mirror_leaves {
        refs.extend(leaf.refs.iter().copied());
        refs.push(leaf.id);
    }
    state_event(shared, shared.published().size, &batch.commit.state, refs);
    Ok(())
}

/// Tells event listeners which tables a batch changed and which statements
/// it concerned (nothing when it changed no state).
fn state_event(
    shared: &Shared,
    size: u64,
    changes: &[kaitiaki_governance::Change],
    mut refs: Vec<kaitiaki_protocol::StatementId>,
) {
    if changes.is_empty() {
        return;
    }
    let mut tables: Vec<String> = changes.iter().map(|c| c.table.name().to_owned()).collect();
    tables.sort_unstable();
    tables.dedup();
    refs.sort_unstable();
    refs.dedup();
    // Nobody listening is not an error.
    let _ = shared
        .events
        .send(Arc::new(Event::State { size, tables, refs }));
}

fn commit(shared: &Shared, mut batch: Prepared) -> Result<(), StorageError> {
    if batch.mirror.is_some() {
        return commit_mirror(shared, batch);
    }
    let size = batch.commit.first_index + batch.commit.leaves.len() as u64;
    if let Some(written) = &batch.written {
        let start = Instant::now();
        if let Err(e) = written.sync() {
            fail(batch);
            return Err(e);
        }
        shared
            .metrics
            .fsync_seconds
            .observe_duration(start.elapsed());

        let start = Instant::now();
        let note = match sign_checkpoint(shared, size, batch.root) {
            Ok(n) => n,
            Err(e) => {
                fail(batch);
                return Err(e);
            }
        };
        batch.commit.checkpoint = note.clone();
        if let Err(e) = shared.storage.commit(&batch.commit) {
            fail(batch);
            return Err(e);
        }
        shared
            .metrics
            .commit_seconds
            .observe_duration(start.elapsed());
        shared.publish(Published {
            size,
            root: batch.root,
            note: String::from_utf8_lossy(&note).into_owned(),
        });
        let n = batch.commit.leaves.len() as u64;
        shared.metrics.batch_leaves.observe(n as f64);
        shared.metrics.appended.fetch_add(n, Ordering::Relaxed);
        shared
            .metrics
            .state_writes
            .fetch_add(batch.commit.state.len() as u64, Ordering::Relaxed);
        shared.metrics.leaves.store(size, Ordering::Relaxed);
        if !batch.commit.leaves.is_empty() {
            shared.own_log.took_statements(&shared.replication);
        }
    }
    // Only now may the sequencer stop carrying this batch's writes.
    shared.committed_seq.store(batch.seq, Ordering::Release);

    for (reply, outcomes) in batch.replies {
        let _ = reply.send(outcomes);
    }

    if batch.leaves.is_empty() {
        return Ok(());
    }
    // Nobody listening is not an error.
    let mut all_refs = Vec::new();
    for leaf in batch.leaves {
        all_refs.extend(leaf.refs.iter().copied());
        all_refs.push(leaf.id);
        let _ = shared.events.send(Arc::new(Event::Leaf {
            index: leaf.index,
            id: leaf.id,
            kind: leaf.kind.to_owned(),
            author: leaf.author,
            sequenced_at: batch.commit.last_time,
            refs: leaf.refs,
        }));
    }
    state_event(shared, size, &batch.commit.state, all_refs);
    let _ = shared.events.send(Arc::new(Event::Checkpoint {
        size,
        root: batch.root,
    }));
    Ok(())
}

/// Signs the checkpoint for `size` and `root` with the node's key; returns
/// the note's bytes.
pub(crate) fn sign_checkpoint(
    shared: &Shared,
    size: u64,
    root: Hash,
) -> Result<Vec<u8>, StorageError> {
    let checkpoint = Checkpoint::new(shared.config.origin.clone(), size, root)
        .map_err(|e| StorageError::Corrupt(format!("checkpoint for {size}: {e}")))?;
    let note = checkpoint
        .sign(shared.identity.signer())
        .map_err(|e| StorageError::Corrupt(format!("signing checkpoint {size}: {e}")))?;
    Ok(note.to_bytes())
}
