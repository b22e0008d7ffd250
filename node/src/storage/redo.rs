//! Committing a batch's writes to sled atomically, in small pieces.
//!
//! A sequenced batch teaches sled thousands of keys at once (ids,
//! governance records, indexes, the new size). Applied as one sled `Batch`,
//! that much costs sled memory it never gives back: measured, one batch of
//! 7 000 keys per 1 000 statements keeps about 4 GiB resident after 700 000
//! keys, against about 100 MiB for the same keys in batches of 70. So a
//! commit is a small redo log instead:
//!
//! 1. the whole list of writes (absolute values or removals) goes into sled
//!    in pieces of at most [`PIECE_BYTES`]: every piece but the first under
//!    `meta\0pending\0<n>`, then the first, which also says how many there
//!    are, under `meta\0pending` — that last insert is the commit point;
//! 2. the writes are applied one by one, in order — not as sled batches,
//!    whose application takes a lock that stops every sled reader in the
//!    process (the sequencer preparing the next batch among them);
//! 3. the pieces are removed.
//!
//! sled recovers a prefix of its operations after a crash, so if any write
//! of step 2 survived, the whole list of step 1 did too; if the first piece
//! did not, nothing of step 2 was done and the other pieces are dropped. At
//! start-up [`finish_pending`] applies a pending list again from the start:
//! the writes are absolute, so applying one twice leaves what applying it
//! once did. Either way sled ends at the state before the commit or after
//! all of it.
//!
//! The list is cut into pieces because sled keeps a value of more than a
//! quarter of its segment in a file of its own, which it neither syncs nor
//! recovers past when a power cut tears it: one big list, a full batch of
//! statements, could cost every later write.
//!
//! Commits come from the single commit thread (or start-up, before it
//! runs), so one pending key suffices. A reader of one key between pieces
//! may see part of a batch's governance writes; a reader of several keys
//! that must agree (a record and its index, the state hash and the sizes it
//! covers) reads through [`CommitGate::read`], which never sees a commit
//! half done. The sequencer needs neither: it reads the batch through its
//! carried writes until the commit returns.

use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::RwLock;

use sled::{Batch, Tree};

use super::{key_in, space, take, StorageError};

/// A commit of at most this many writes goes to sled as one batch, which
/// is atomic by itself, with no list recorded.
pub const SMALL: usize = 64;

/// At most this many bytes of the pending list per sled value: well under
/// sled's blob threshold (a quarter of its 8 MiB segment).
pub const PIECE_BYTES: usize = 256 << 10;

/// The key of the pending list's first piece, the commit point.
fn pending_key() -> Vec<u8> {
    key_in(space::META, b"pending")
}

/// The key of the pending list's piece `n` (from 1).
fn piece_key(n: u32) -> Vec<u8> {
    let mut k = key_in(space::META, b"pending\0");
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// One write: a key set to a value, or removed (`None`).
type Write = (Vec<u8>, Option<Vec<u8>>);

/// `u32 count`, then per write `u32 key length ‖ key ‖ u8 (0 remove,
/// 1 set) ‖ [u32 value length ‖ value]`, all big-endian.
fn encode(writes: &[Write]) -> Vec<u8> {
    let size: usize = writes.iter().map(encoded_len).sum();
    let mut out = Vec::with_capacity(4 + size);
    out.extend_from_slice(&(writes.len() as u32).to_be_bytes());
    for (k, v) in writes {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k);
        match v {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&(v.len() as u32).to_be_bytes());
                out.extend_from_slice(v);
            }
        }
    }
    out
}

/// The bytes one write takes in [`encode`].
fn encoded_len((k, v): &Write) -> usize {
    9 + k.len() + v.as_ref().map_or(0, Vec::len)
}

/// A list of writes: each key set to a value, or removed.
#[derive(Debug, Default)]
pub struct Writes(Vec<Write>);

impl Writes {
    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: Vec<u8>, value: impl Into<Vec<u8>>) {
        self.0.push((key, Some(value.into())));
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: Vec<u8>) {
        self.0.push((key, None));
    }

    /// The whole list encoded (see [`encode`]).
    #[cfg(test)]
    fn encode(&self) -> Vec<u8> {
        encode(&self.0)
    }

    fn decode(mut bytes: &[u8]) -> Result<Writes, StorageError> {
        let bad = || StorageError::Corrupt("the pending commit in sled is malformed".into());
        let u32_of = |b: &mut &[u8]| -> Result<usize, StorageError> {
            let raw: [u8; 4] = take(b, 4).ok_or_else(bad)?.try_into().map_err(|_| bad())?;
            Ok(u32::from_be_bytes(raw) as usize)
        };
        let count = u32_of(&mut bytes)?;
        let mut out = Vec::with_capacity(count.min(1 << 20));
        for _ in 0..count {
            let klen = u32_of(&mut bytes)?;
            let key = take(&mut bytes, klen).ok_or_else(bad)?.to_vec();
            let flag = take(&mut bytes, 1).ok_or_else(bad)?[0];
            let value = match flag {
                0 => None,
                1 => {
                    let vlen = u32_of(&mut bytes)?;
                    Some(take(&mut bytes, vlen).ok_or_else(bad)?.to_vec())
                }
                _ => return Err(bad()),
            };
            out.push((key, value));
        }
        if !bytes.is_empty() {
            return Err(bad());
        }
        Ok(Writes(out))
    }

    /// The list cut into consecutive pieces of at most about
    /// [`PIECE_BYTES`] encoded (a single write larger than that is a piece
    /// of its own); never empty.
    fn pieces(&self) -> Vec<&[Write]> {
        let mut out = Vec::new();
        let (mut from, mut size) = (0, 0);
        for (i, w) in self.0.iter().enumerate() {
            let len = encoded_len(w);
            if size + len > PIECE_BYTES && size > 0 {
                out.push(&self.0[from..i]);
                (from, size) = (i, 0);
            }
            size += len;
        }
        out.push(&self.0[from..]);
        out
    }

    /// Step 1 of a commit: the list in pieces, every piece but the first,
    /// then the first with the count, the commit point. Returns the count.
    fn record(&self, tree: &Tree) -> Result<u32, StorageError> {
        let pieces = self.pieces();
        let count = u32::try_from(pieces.len())
            .map_err(|_| StorageError::Corrupt("a commit too large to record".into()))?;
        for (n, piece) in (1..count).zip(&pieces[1..]) {
            tree.insert(piece_key(n), encode(piece))?;
        }
        let mut first = count.to_be_bytes().to_vec();
        first.extend_from_slice(&encode(pieces[0]));
        tree.insert(pending_key(), first)?;
        Ok(count)
    }

    /// Step 2 of a recorded commit: the writes one by one. The recorded
    /// list makes them atomic, so no sled `Batch` is needed, and none is
    /// wanted: applying a batch takes a lock that stops every sled reader
    /// in the process, the sequencer's among them, until it is done.
    fn apply_each(&self, tree: &Tree) -> Result<(), StorageError> {
        for (k, v) in &self.0 {
            match v {
                Some(v) => {
                    tree.insert(k.as_slice(), v.as_slice())?;
                }
                None => {
                    tree.remove(k.as_slice())?;
                }
            }
        }
        Ok(())
    }

    /// A small commit: one sled batch, atomic by itself.
    fn apply_batch(&self, tree: &Tree) -> Result<(), StorageError> {
        let mut b = Batch::default();
        for (k, v) in &self.0 {
            match v {
                Some(v) => b.insert(k.as_slice(), v.as_slice()),
                None => b.remove(k.as_slice()),
            }
        }
        tree.apply_batch(b)?;
        Ok(())
    }
}

/// Applies `writes` to `tree` so that a crash leaves either none or all of
/// them (after [`finish_pending`] at the next start), and so that no reader
/// through `gate` sees some of them without the rest.
pub fn commit(tree: &Tree, writes: &Writes, gate: &CommitGate) -> Result<(), StorageError> {
    gate.write(|| {
        if writes.0.len() <= SMALL {
            return writes.apply_batch(tree);
        }
        let count = writes.record(tree)?;
        writes.apply_each(tree)?;
        tree.remove(pending_key())?;
        for n in 1..count {
            tree.remove(piece_key(n))?;
        }
        Ok(())
    })
}

/// Lets a reader of several keys see sled as it stood between two commits.
///
/// A commit lands in pieces, and even one sled batch is only atomic key by
/// key to a reader: a reader of two keys could pair a request's new record
/// with its old place in an index, or the state hash after a batch with the
/// log size before it. So commits count themselves (the count is odd while
/// one runs) and a reader runs optimistically, again if a commit began or
/// ended meanwhile. A reader that loses that race [`CommitGate::TRIES`]
/// times takes the gate's lock instead, which holds the next commit back
/// until it has read: a steady stream of writes cannot starve a reader, and
/// a commit waits only for readers who lost the race that often. Readers
/// never wait for each other.
#[derive(Debug, Default)]
pub struct CommitGate {
    count: AtomicU64,
    lock: RwLock<()>,
}

impl CommitGate {
    /// Optimistic attempts before a reader takes the lock.
    pub const TRIES: usize = 4;

    /// Runs the commit `f`, marking it for readers.
    pub fn write<T>(&self, f: impl FnOnce() -> T) -> T {
        let _held = self.lock.write().unwrap_or_else(|p| p.into_inner());
        self.count.fetch_add(1, Ordering::SeqCst);
        let out = f();
        self.count.fetch_add(1, Ordering::SeqCst);
        out
    }

    /// Runs the read `f` (perhaps more than once: it must only read) and
    /// returns what it read while no commit ran.
    pub fn read<T>(&self, mut f: impl FnMut() -> T) -> T {
        for _ in 0..Self::TRIES {
            let before = self.count.load(Ordering::SeqCst);
            if before % 2 == 1 {
                std::thread::yield_now();
                continue;
            }
            let out = f();
            fence(Ordering::SeqCst);
            if self.count.load(Ordering::SeqCst) == before {
                return out;
            }
        }
        let _held = self.lock.read().unwrap_or_else(|p| p.into_inner());
        f()
    }
}

/// Start-up: finishes a commit a crash interrupted. Returns whether there
/// was one.
pub fn finish_pending(tree: &Tree) -> Result<bool, StorageError> {
    let pieces_prefix = key_in(space::META, b"pending\0");
    let Some(first) = tree.get(pending_key())? else {
        // Pieces without their first were never committed: drop them.
        for k in tree.scan_prefix(&pieces_prefix).keys() {
            tree.remove(k?)?;
        }
        return Ok(false);
    };
    let bad = || StorageError::Corrupt("the pending commit in sled is malformed".into());
    let (count, rest) = first.split_at_checked(4).ok_or_else(bad)?;
    let count = u32::from_be_bytes(count.try_into().map_err(|_| bad())?);
    let mut writes = Writes::decode(rest)?;
    for n in 1..count {
        let piece = tree.get(piece_key(n))?.ok_or_else(|| {
            StorageError::Corrupt(format!(
                "piece {n} of the pending commit in sled is missing"
            ))
        })?;
        writes.0.extend(Writes::decode(&piece)?.0);
    }
    writes.apply_each(tree)?;
    tree.remove(pending_key())?;
    for n in 1..count {
        tree.remove(piece_key(n))?;
    }
    tracing::warn!(
        writes = writes.0.len(),
        "finished a commit that was interrupted"
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, Tree) {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let t = db.open_tree("t").unwrap();
        (dir, t)
    }

    /// Every value a commit writes to sled stays far below sled's blob
    /// threshold, and the pieces put back together are the list.
    #[test]
    fn a_big_commit_is_recorded_in_small_pieces() {
        let mut w = Writes::default();
        for i in 0..4000u32 {
            w.insert(format!("statement{i:06}").into_bytes(), vec![7u8; 2000]);
        }
        let pieces = w.pieces();
        assert!(pieces.len() > 20, "{} pieces", pieces.len());
        assert!(pieces.iter().all(|p| encode(p).len() <= PIECE_BYTES + 4));
        let joined: Vec<_> = pieces.concat();
        assert_eq!(joined, w.0);
        let (_d, t) = tree();
        commit(&t, &w, &CommitGate::default()).unwrap();
        assert_eq!(t.get(b"statement003999").unwrap().unwrap().len(), 2000);
        assert_eq!(t.scan_prefix(key_in(space::META, b"pending")).count(), 0);
    }

    /// A crash while the pieces were being written, before the first (the
    /// commit point): nothing of the commit is applied, and the pieces go.
    #[test]
    fn pieces_without_their_first_are_dropped() {
        let (_d, t) = tree();
        let mut w = Writes::default();
        for i in 0..600u32 {
            w.insert(format!("k{i:05}").into_bytes(), vec![1u8; 1000]);
        }
        for (n, p) in (1u32..).zip(&w.pieces()[1..]) {
            t.insert(piece_key(n), encode(p)).unwrap();
        }
        assert!(!finish_pending(&t).unwrap());
        assert_eq!(t.scan_prefix(key_in(space::META, b"pending")).count(), 0);
        assert!(t.get(b"k00599").unwrap().is_none());
    }

    fn writes(n: usize) -> Writes {
        let mut w = Writes::default();
        for i in 0..n {
            w.insert(format!("k{i:05}").into_bytes(), vec![i as u8; i % 7]);
        }
        w.remove(b"gone".to_vec());
        w
    }

    #[test]
    fn the_encoding_round_trips_and_refuses_damage() {
        let w = writes(300);
        let bytes = w.encode();
        assert_eq!(Writes::decode(&bytes).unwrap().0, w.0);
        assert!(Writes::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Writes::decode(&longer).is_err());
    }

    #[test]
    fn a_large_commit_lands_whole_and_leaves_nothing_pending() {
        let (_d, t) = tree();
        t.insert(b"gone", b"x").unwrap();
        commit(&t, &writes(1000), &CommitGate::default()).unwrap();
        assert_eq!(t.get(b"k00999").unwrap().unwrap().len(), 999 % 7);
        assert!(t.get(b"gone").unwrap().is_none());
        assert!(t.get(pending_key()).unwrap().is_none());
        assert!(!finish_pending(&t).unwrap());
    }

    #[test]
    fn an_interrupted_commit_is_finished_at_start_up() {
        let (_d, t) = tree();
        t.insert(b"gone", b"x").unwrap();
        let w = writes(1000);
        // The crash: the list is recorded and only the first pieces landed.
        w.record(&t).unwrap();
        Writes(w.0[..130].to_vec()).apply_each(&t).unwrap();
        assert!(t.get(b"k00500").unwrap().is_none());
        assert!(finish_pending(&t).unwrap());
        for i in [0, 129, 130, 500, 999] {
            let k = format!("k{i:05}");
            assert_eq!(t.get(k.as_bytes()).unwrap().unwrap().len(), i % 7, "{k}");
        }
        assert!(t.get(b"gone").unwrap().is_none());
        assert!(t.get(pending_key()).unwrap().is_none());
    }

    /// Commits that set 300 keys (five sled pieces) to one value, the
    /// next commit to the next value, while readers read all 300 keys:
    /// through the gate every reading is one commit's value throughout.
    #[test]
    fn readers_through_the_gate_never_see_a_commit_half_done() {
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;

        const KEYS: usize = 300;
        const COMMITS: u32 = 200;
        let (_d, t) = tree();
        let gate = Arc::new(CommitGate::default());
        let done = Arc::new(AtomicBool::new(false));
        let commit_all = |t: &Tree, gate: &CommitGate, n: u32| {
            let mut w = Writes::default();
            for k in 0..KEYS {
                w.insert(format!("k{k:05}").into_bytes(), n.to_be_bytes().to_vec());
            }
            commit(t, &w, gate).unwrap();
        };
        commit_all(&t, &gate, 0);
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (t, gate, done) = (t.clone(), Arc::clone(&gate), Arc::clone(&done));
                std::thread::spawn(move || {
                    let mut reads = 0u64;
                    while !done.load(Ordering::Acquire) {
                        let values: Vec<Vec<u8>> = gate.read(|| {
                            (0..KEYS)
                                .map(|k| {
                                    let key = format!("k{k:05}");
                                    t.get(key.as_bytes()).unwrap().unwrap().to_vec()
                                })
                                .collect()
                        });
                        let first = &values[0];
                        assert!(
                            values.iter().all(|v| v == first),
                            "a reading mixed two commits"
                        );
                        reads += 1;
                    }
                    reads
                })
            })
            .collect();
        for n in 1..=COMMITS {
            commit_all(&t, &gate, n);
        }
        done.store(true, Ordering::Release);
        for r in readers {
            assert!(r.join().unwrap() > 0, "a reader never finished a reading");
        }
        assert_eq!(
            t.get(b"k00299").unwrap().unwrap().as_ref(),
            COMMITS.to_be_bytes().as_slice()
        );
    }
}
