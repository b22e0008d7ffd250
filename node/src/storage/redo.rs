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
//! runs), so one pending key suffices. A reader between pieces may see part
//! of a batch's governance writes; the sequencer never does (it reads the
//! batch through its carried writes until the commit returns).

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
/// them (after [`finish_pending`] at the next start).
pub fn commit(tree: &Tree, writes: &Writes) -> Result<(), StorageError> {
    if writes.0.len() <= CHUNK {
        // Small enough to be one sled batch, which is atomic by itself.
        return writes.apply_chunks(tree);
    }
    tree.insert(pending_key(), writes.encode())?;
    writes.apply_chunks(tree)?;
    tree.remove(pending_key())?;
    Ok(())
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
        commit(&t, &writes(1000)).unwrap();
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
}
