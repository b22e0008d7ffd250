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
//!    as **one value**, under `meta\0pending` — one insert, so atomic;
//! 2. the writes are applied in batches of at most [`CHUNK`] keys, in order;
//! 3. `meta\0pending` is removed.
//!
//! sled recovers a prefix of its operations after a crash, so if any piece
//! of step 2 survived, step 1 did too. At start-up [`finish_pending`]
//! applies a pending list again from the start: the writes are absolute, so
//! applying one twice leaves what applying it once did. Either way sled ends
//! at the state before the commit or after all of it.
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

/// At most this many keys per sled batch.
pub const CHUNK: usize = 64;

/// The key of the pending list.
fn pending_key() -> Vec<u8> {
    key_in(space::META, b"pending")
}

/// A list of writes: each key set to a value, or removed.
#[derive(Debug, Default)]
pub struct Writes(Vec<(Vec<u8>, Option<Vec<u8>>)>);

impl Writes {
    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: Vec<u8>, value: impl Into<Vec<u8>>) {
        self.0.push((key, Some(value.into())));
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: Vec<u8>) {
        self.0.push((key, None));
    }

    /// `u32 count`, then per write `u32 key length ‖ key ‖ u8 (0 remove,
    /// 1 set) ‖ [u32 value length ‖ value]`, all big-endian.
    fn encode(&self) -> Vec<u8> {
        let size: usize = self
            .0
            .iter()
            .map(|(k, v)| 9 + k.len() + v.as_ref().map_or(0, Vec::len))
            .sum();
        let mut out = Vec::with_capacity(4 + size);
        out.extend_from_slice(&(self.0.len() as u32).to_be_bytes());
        for (k, v) in &self.0 {
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

    fn apply_chunks(&self, tree: &Tree) -> Result<(), StorageError> {
        for chunk in self.0.chunks(CHUNK) {
            let mut b = Batch::default();
            for (k, v) in chunk {
                match v {
                    Some(v) => b.insert(k.as_slice(), v.as_slice()),
                    None => b.remove(k.as_slice()),
                }
            }
            tree.apply_batch(b)?;
        }
        Ok(())
    }
}

/// Applies `writes` to `tree` so that a crash leaves either none or all of
/// them (after [`finish_pending`] at the next start), and so that no reader
/// through `gate` sees some of them without the rest.
pub fn commit(tree: &Tree, writes: &Writes, gate: &CommitGate) -> Result<(), StorageError> {
    gate.write(|| {
        if writes.0.len() <= CHUNK {
            // Small enough to be one sled batch, which is atomic by itself.
            return writes.apply_chunks(tree);
        }
        tree.insert(pending_key(), writes.encode())?;
        writes.apply_chunks(tree)?;
        tree.remove(pending_key())?;
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
    let Some(blob) = tree.get(pending_key())? else {
        return Ok(false);
    };
    let writes = Writes::decode(&blob)?;
    writes.apply_chunks(tree)?;
    tree.remove(pending_key())?;
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
        t.insert(pending_key(), w.encode()).unwrap();
        Writes(w.0[..130].to_vec()).apply_chunks(&t).unwrap();
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
