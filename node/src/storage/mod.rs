//! Storage under one data directory: segment files for the log, sled for
//! everything derived from it.
//!
//! ```text
//! <data dir>/
//!   node.key        the node's signing seed (owner-only)
//!   log/*.seg       the leaves, written with fdatasync: the source of truth
//!   db/             sled: indexes, tree hashes, checkpoints, governance state
//! ```
//!
//! Read in this order:
//! 1. [`segment`] — the record format, the writer and the readers.
//! 2. This file — the sled key spaces, what each key holds, and [`Storage::commit`],
//!    which applies one sequenced batch to all of them in one atomic batch.
//! 3. [`tree`] — stored subtree hashes and proofs.
//! 4. [`state`] — governance tables on sled.
//! 5. [`recovery`] — start-up: truncate a torn tail, re-index what sled lacks.
//!
//! **Invariant:** sled never learns of a leaf before that leaf is durable in
//! a segment. So after any crash sled is at most *behind* the segments, never
//! ahead, and [`recovery`] only ever has to catch it up.

pub mod recovery;
pub mod segment;
pub mod state;
pub mod tree;

use std::path::{Path, PathBuf};

use kaitiaki_governance::Change;
use kaitiaki_protocol::merkle::Subtree;
use kaitiaki_protocol::{Hash, Leaf, StatementId, Timestamp};
use sled::{Batch, Tree};

pub use segment::{Location, SegmentReader, SegmentWriter};

/// Why storage failed. These are the node's own faults, never a client's,
/// and the API reports them as `internal` without detail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// A file operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// sled failed.
    #[error("database error: {0}")]
    Sled(#[from] sled::Error),
    /// Governance could not read or update its state.
    #[error("governance state: {0}")]
    State(#[from] kaitiaki_governance::StateError),
    /// Stored data fails its own checks; the node refuses to guess.
    #[error("storage is corrupt: {0}")]
    Corrupt(String),
}

impl StorageError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> StorageError {
        StorageError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Key spaces of the `log` tree. Every key is `space ‖ key`; each space
/// name ends in a NUL byte so that no space is a prefix of another.
pub mod space {
    /// statement id (32) → leaf index (u64 BE).
    pub const IDS: &[u8] = b"ids\0";
    /// leaf index (u64 BE) → [`super::Location`] (20 bytes).
    pub const LOCATIONS: &[u8] = b"locations\0";
    /// [`kaitiaki_protocol::merkle::Subtree::to_key`] (9) → hash (32):
    /// every complete subtree.
    pub const SUBTREES: &[u8] = b"subtrees\0";
    /// tree size (u64 BE) → the signed checkpoint note, one per batch.
    pub const CHECKPOINTS: &[u8] = b"checkpoints\0";
    /// attachment content hash (32) → the committing statement's id (32).
    pub const ATTACHMENTS: &[u8] = b"attachments\0";
    /// Small named values (see `meta`).
    pub const META: &[u8] = b"meta\0";
}

/// Keys of the `meta` space.
mod meta {
    /// The number of leaves indexed in sled (u64 BE).
    pub const SIZE: &[u8] = b"size";
    /// The latest sequenced_at, Unix ms (i64 BE), so time never runs backwards.
    pub const LAST_TIME: &[u8] = b"last_time";
    /// The latest signed checkpoint note.
    pub const CHECKPOINT: &[u8] = b"checkpoint";
}

/// `space ‖ key`.
pub(crate) fn key_in(space: &[u8], key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(space.len() + key.len());
    k.extend_from_slice(space);
    k.extend_from_slice(key);
    k
}

/// One sequenced batch, everything sled must learn about it, applied at once.
#[derive(Debug)]
pub struct CommitBatch {
    /// The index of the batch's first leaf; the batch continues the log.
    pub first_index: u64,
    /// Per leaf, in order: its id and location.
    pub leaves: Vec<(StatementId, Location)>,
    /// Subtrees the batch closed, with their hashes.
    pub subtrees: Vec<(Subtree, Hash)>,
    /// Governance writes, as the governance overlay buffered them.
    pub state: Vec<Change>,
    /// Attachments committed by the batch: content hash → committing statement.
    pub attachments: Vec<([u8; 32], StatementId)>,
    /// The sequenced_at of the last leaf.
    pub last_time: Timestamp,
    /// The signed checkpoint note for the new size.
    pub checkpoint: Vec<u8>,
}

impl Default for CommitBatch {
    fn default() -> Self {
        CommitBatch {
            first_index: 0,
            leaves: Vec::new(),
            subtrees: Vec::new(),
            state: Vec::new(),
            attachments: Vec::new(),
            last_time: Timestamp::EPOCH,
            checkpoint: Vec::new(),
        }
    }
}

/// The node's storage: the sled database and the segment readers.
///
/// sled holds one tree, `log`, for everything derived from the log —
/// indexes, tree hashes, checkpoints, governance tables — in named key
/// spaces ([`space`], and one per governance table named by its
/// `Table::name()`). One tree, because a sled `Batch` is atomic only within
/// a tree: a batch's indexes, tree hashes and governance writes land
/// together or not at all, without sled transactions, which read every key
/// they write and block all readers while they run. Attachment bytes,
/// which are not part of any batch, have their own tree.
#[derive(Debug)]
pub struct Storage {
    db: sled::Db,
    log: Tree,
    blobs: Tree,
    state: state::StateTrees,
    reader: SegmentReader,
    log_dir: PathBuf,
}

impl Storage {
    /// Opens (creating if needed) `log/` and `db/` under `data_dir`, with
    /// sled's page cache bounded to `cache_bytes`.
    ///
    /// This does not reconcile sled with the segments; [`recovery::recover`]
    /// does, and must run before anything is sequenced.
    pub fn open(data_dir: &Path, cache_bytes: u64) -> Result<Storage, StorageError> {
        let log_dir = data_dir.join("log");
        std::fs::create_dir_all(&log_dir).map_err(|e| StorageError::io(&log_dir, e))?;
        let db_dir = data_dir.join("db");
        let db = sled::Config::new()
            .path(&db_dir)
            .cache_capacity(cache_bytes)
            .mode(sled::Mode::HighThroughput)
            // The segments are the durable copy; sled's own periodic flush
            // only shortens recovery, so it need not be frequent.
            .flush_every_ms(Some(1000))
            .open()?;
        let log = db.open_tree("log")?;
        let blobs = db.open_tree("attachment_blobs")?;
        Ok(Storage {
            reader: SegmentReader::new(&log_dir),
            state: state::StateTrees::new(log.clone()),
            db,
            log,
            blobs,
            log_dir,
        })
    }

    fn get(&self, space: &[u8], key: &[u8]) -> Result<Option<sled::IVec>, StorageError> {
        Ok(self.log.get(key_in(space, key))?)
    }

    /// The directory of the segment files.
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// The governance tables.
    pub fn state(&self) -> &state::StateTrees {
        &self.state
    }

    /// The number of leaves sled has indexed.
    pub fn indexed_size(&self) -> Result<u64, StorageError> {
        Ok(self
            .get(space::META, meta::SIZE)?
            .map(|v| read_u64(&v))
            .transpose()?
            .unwrap_or(0))
    }

    /// The latest sequenced_at recorded, or the epoch.
    pub fn last_time(&self) -> Result<Timestamp, StorageError> {
        let Some(v) = self.get(space::META, meta::LAST_TIME)? else {
            return Ok(Timestamp::EPOCH);
        };
        let ms = i64::try_from(read_u64(&v)?).unwrap_or(0);
        Ok(Timestamp::from_unix_millis(ms).unwrap_or(Timestamp::EPOCH))
    }

    /// The latest signed checkpoint note sled holds, if any.
    pub fn latest_checkpoint(&self) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.get(space::META, meta::CHECKPOINT)?.map(|v| v.to_vec()))
    }

    /// The checkpoint note stored for exactly `size`, if one was signed.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .get(space::CHECKPOINTS, &size.to_be_bytes())?
            .map(|v| v.to_vec()))
    }

    /// The leaf index of a statement, if it is in the log.
    pub fn index_of(&self, id: &StatementId) -> Result<Option<u64>, StorageError> {
        self.get(space::IDS, id.as_bytes())?
            .map(|v| read_u64(&v))
            .transpose()
    }

    /// Where leaf `index` is stored.
    pub fn location(&self, index: u64) -> Result<Option<Location>, StorageError> {
        match self.get(space::LOCATIONS, &index.to_be_bytes())? {
            None => Ok(None),
            Some(v) => Location::from_bytes(&v)
                .map(Some)
                .ok_or_else(|| StorageError::Corrupt(format!("location of leaf {index}"))),
        }
    }

    /// The raw bytes of leaf `index`, read from its segment.
    pub fn leaf_bytes(&self, index: u64) -> Result<Option<Vec<u8>>, StorageError> {
        match self.location(index)? {
            None => Ok(None),
            Some(loc) => self.reader.read(loc).map(Some),
        }
    }

    /// Leaf `index`, parsed.
    pub fn leaf(&self, index: u64) -> Result<Option<Leaf>, StorageError> {
        match self.leaf_bytes(index)? {
            None => Ok(None),
            Some(bytes) => Leaf::from_bytes(&bytes)
                .map(Some)
                .map_err(|e| StorageError::Corrupt(format!("leaf {index}: {e}"))),
        }
    }

    /// Leaves `[start, end)`, parsed, in order; stops early at a gap.
    pub fn leaves(&self, start: u64, end: u64) -> Result<Vec<(u64, Leaf)>, StorageError> {
        let mut out = Vec::new();
        let range = key_in(space::LOCATIONS, &start.to_be_bytes())
            ..key_in(space::LOCATIONS, &end.to_be_bytes());
        for item in self.log.range(range) {
            let (k, v) = item?;
            let index = read_u64(&k[space::LOCATIONS.len()..])?;
            let loc = Location::from_bytes(&v)
                .ok_or_else(|| StorageError::Corrupt(format!("location of leaf {index}")))?;
            let bytes = self.reader.read(loc)?;
            let leaf = Leaf::from_bytes(&bytes)
                .map_err(|e| StorageError::Corrupt(format!("leaf {index}: {e}")))?;
            out.push((index, leaf));
        }
        Ok(out)
    }

    /// Applies one sequenced batch to sled as one atomic `Batch`, so a crash
    /// leaves sled either before or after the whole batch.
    ///
    /// The caller has made the batch's leaves durable first.
    pub fn commit(&self, batch: &CommitBatch) -> Result<(), StorageError> {
        let size = batch.first_index + batch.leaves.len() as u64;
        let mut b = Batch::default();
        for (i, (id, loc)) in batch.leaves.iter().enumerate() {
            let index = batch.first_index + i as u64;
            b.insert(key_in(space::IDS, id.as_bytes()), &index.to_be_bytes());
            b.insert(
                key_in(space::LOCATIONS, &index.to_be_bytes()),
                &loc.to_bytes(),
            );
        }
        for (at, hash) in &batch.subtrees {
            b.insert(key_in(space::SUBTREES, &at.to_key()), hash.as_bytes());
        }
        for (hash, id) in &batch.attachments {
            b.insert(key_in(space::ATTACHMENTS, hash), id.as_bytes());
        }
        for change in &batch.state {
            let key = state::key_of(change.table, &change.key);
            match &change.value {
                Some(v) => b.insert(key, v.as_slice()),
                None => b.remove(key),
            }
        }
        b.insert(key_in(space::META, meta::SIZE), &size.to_be_bytes());
        // INVARIANT of Timestamp: never negative.
        b.insert(
            key_in(space::META, meta::LAST_TIME),
            &(batch.last_time.unix_millis() as u64).to_be_bytes(),
        );
        b.insert(
            key_in(space::META, meta::CHECKPOINT),
            batch.checkpoint.as_slice(),
        );
        b.insert(
            key_in(space::CHECKPOINTS, &size.to_be_bytes()),
            batch.checkpoint.as_slice(),
        );
        self.log.apply_batch(b)?;
        Ok(())
    }

    /// The stored hash of a complete subtree, if stored.
    pub fn subtree_hash(&self, at: &Subtree) -> Result<Option<sled::IVec>, StorageError> {
        self.get(space::SUBTREES, &at.to_key())
    }

    /// Stores the bytes of a committed attachment.
    pub fn put_attachment(&self, hash: &[u8; 32], bytes: &[u8]) -> Result<(), StorageError> {
        self.blobs.insert(hash, bytes)?;
        Ok(())
    }

    /// Erases an attachment's bytes; its commitment stays in the log.
    pub fn erase_attachment(&self, hash: &[u8; 32]) -> Result<bool, StorageError> {
        Ok(self.blobs.remove(hash)?.is_some())
    }

    /// The bytes of an attachment, if uploaded and not erased.
    pub fn attachment(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.blobs.get(hash)?.map(|v| v.to_vec()))
    }

    /// The id of the statement that committed to an attachment.
    pub fn attachment_commit(&self, hash: &[u8; 32]) -> Result<Option<StatementId>, StorageError> {
        match self.get(space::ATTACHMENTS, hash)? {
            None => Ok(None),
            Some(v) => {
                let bytes: [u8; 32] = v
                    .as_ref()
                    .try_into()
                    .map_err(|_| StorageError::Corrupt("attachment commit".into()))?;
                Ok(Some(StatementId::from_bytes(bytes)))
            }
        }
    }

    /// Writes sled's buffers to disk (at shutdown; not a durability point).
    pub fn flush(&self) -> Result<(), StorageError> {
        self.db.flush()?;
        Ok(())
    }

    /// Bytes sled uses on disk, for metrics.
    pub fn db_size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}

/// Reads a stored big-endian u64.
pub(crate) fn read_u64(bytes: &[u8]) -> Result<u64, StorageError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|_| StorageError::Corrupt("a stored number is not 8 bytes".into()))
}
