//! Storage under one data directory: segment files for the log; flat
//! files and sled for everything derived from it.
//!
//! # Storage layout
//!
//! ```text
//! <data dir>/
//!   node.key          the node's signing seed (owner-only)
//!   peers.toml        the peers added or removed at run time
//!                     (`replication::peer_file`)
//!   log/*.seg         the leaves, written with fdatasync: the source of truth
//!   tree/locations    leaf i → segment, offset, length: 16 bytes at 16·i
//!   tree/level-NN     hash of subtree (NN, i) at 32·i, one file per level
//!   tree/checkpoint   the latest signed checkpoint, unsynced (`files`)
//!   db/               sled: statement id → leaf index, checkpoints (one per
//!                     batch), attachment commitments, meta, governance tables
//!                     (all in its `log` tree), and the state version (in its
//!                     default tree)
//!   attachments/      confidential attachment bytes, one file per content
//!                     hash, synced before an upload is acknowledged
//!   refusing-statements.txt, waiting-for-peers.txt
//!                     why new statements are refused, or wait for peers,
//!                     after a restore (`replication::own_log`)
//! ```
//!
//! What grows with every leaf and never changes lives in flat files, not in
//! sled: sled keeps per-page metadata in memory for every key, so a per-leaf
//! key there costs memory forever, while a positioned read of a flat file
//! costs one system call and leaves the caching to the operating system's
//! page cache, outside the node's resident memory. Per leaf, sled holds
//! only the id → index key (it must be looked up by key) and whatever
//! governance writes.
//!
//! Both `tree/` and `db/` are derived from the segments and rebuilt from
//! them at start-up when behind. Neither is synced per batch: only the
//! segments are (DESIGN.md, principle 4). The derived files are synced every
//! [`files::SYNC_EVERY`] leaves and at shutdown, and sled records how many
//! leaves they then covered; start-up trusts them no further than that (nor
//! than sled, nor than their own lengths) and derives the rest again. A
//! missing or short file is therefore simply re-derived; a wrong byte inside
//! the synced part is what `kaitiaki log verify` finds, naming the level and
//! index of the stored hash.
//!
//! Read in this order:
//! 1. [`segment`] — the record format, the writer and the readers.
//! 2. This file — the sled key spaces, what each key holds, and [`Storage::commit`],
//!    which applies one sequenced batch: the derived files, then sled in one
//!    atomic batch.
//! 3. [`files`] — the flat files of locations and subtree hashes.
//! 4. [`tree`] — stored subtree hashes as a tree store: roots and proofs.
//! 5. [`state`] — governance tables on sled.
//! 6. [`recovery`] — start-up: truncate a torn tail, re-derive what the
//!    files and sled lack.
//!
//! **Invariant:** neither sled nor the derived files learn of a leaf before
//! that leaf is durable in a segment. So after any crash they are at most
//! *behind* the segments, never ahead, and [`recovery`] only ever has to
//! catch them up.

pub mod attachments;
pub mod files;
pub mod mirror;
pub mod recovery;
pub mod redo;
pub mod segment;
pub mod state;
pub mod tree;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

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
    /// The data directory belongs to another log or key.
    #[error("wrong data directory: {0}")]
    Mismatch(String),
    /// `peers.toml`, which an operator may edit by hand, cannot be used;
    /// the message names the file and the entry. Nothing derived is
    /// damaged: the file is to be mended, not the data directory.
    #[error("{0}")]
    PeersFile(String),
    /// Another process holds the database's lock: a node seems to be
    /// running on this data directory.
    #[error(
        "a node seems to be running on the data directory {}; stop it first",
        path.display()
    )]
    InUse {
        /// The data directory.
        path: PathBuf,
    },
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
    /// tree size (u64 BE) → the signed checkpoint note, one per batch.
    pub const CHECKPOINTS: &[u8] = b"checkpoints\0";
    /// attachment content hash (32) → the committing statement's id (32).
    pub const ATTACHMENTS: &[u8] = b"attachments\0";
    /// Small named values (see `meta`).
    pub const META: &[u8] = b"meta\0";
    /// peer origin → the peer's configuration (JSON), for peers added at
    /// run time. No longer written: those are kept in their own file
    /// (`replication::peer_file`), and moved there from here at start.
    pub const PEERS: &[u8] = b"peers\0";
    /// peer origin → the configuration (JSON) of a peer its operator
    /// removed. No longer written, as [`PEERS`].
    pub const REMOVED_PEERS: &[u8] = b"removed-peers\0";
    /// peer origin → its quarantine record (JSON), if quarantined.
    pub const QUARANTINE: &[u8] = b"quarantine\0";
    /// evidence id (32) → an evidence record (JSON).
    pub const EVIDENCE: &[u8] = b"evidence\0";
}

/// Keys of the `meta` space.
mod meta {
    /// The number of leaves indexed in sled (u64 BE).
    pub const SIZE: &[u8] = b"size";
    /// The latest sequenced_at, Unix ms (i64 BE), so time never runs backwards.
    pub const LAST_TIME: &[u8] = b"last_time";
    /// The latest signed checkpoint note.
    pub const CHECKPOINT: &[u8] = b"checkpoint";
    /// The number of leaves the derived files covered when last synced
    /// (u64 BE): recovery trusts them up to here (see [`super::files`]).
    pub const FILES_SYNCED: &[u8] = b"files_synced";
    /// The log's origin, recorded at first start.
    pub const ORIGIN: &[u8] = b"origin";
    /// The node's public key (32 bytes), recorded at first start.
    pub const KEY: &[u8] = b"key";
    /// How sled's keys are laid out ([`super::LAYOUT`], u32 BE), recorded
    /// at first start.
    pub const LAYOUT: &[u8] = b"layout";
}

/// The key, in sled's default tree rather than the `log` tree, of the
/// governance state version the stored state was built under
/// ([`kaitiaki_governance::STATE_VERSION`], u32 BE). Not among the `log`
/// tree's meta keys: one key more there changes where that tree's pages
/// split, and in the sequencer benchmark (50 000 leaves, a 16 MiB cache)
/// that made most runs two to four times slower.
const STATE_VERSION_KEY: &[u8] = b"state_version";

/// The version of the layout of sled's keys. 2: each statement's
/// governance entries and locations share one key ([`state`]).
pub const LAYOUT: u32 = 2;

/// The raw bytes of leaves `[start, end)` of a log laid out in `files`
/// and the segments `reader` reads (the own log's or a mirror's), in
/// order, stopping at the end of its index.
pub(crate) fn read_leaves(
    files: &files::DerivedFiles,
    reader: &segment::SegmentReader,
    start: u64,
    end: u64,
    max_bytes: usize,
) -> Result<Vec<Vec<u8>>, StorageError> {
    let mut total = 0usize;
    let mut out = Vec::new();
    for loc in files.locations(start, end)? {
        total = total.saturating_add(loc.len as usize);
        if total > max_bytes && !out.is_empty() {
            break;
        }
        out.push(reader.read(loc)?);
    }
    Ok(out)
}

/// The next `n` bytes of `b`, moving `b` past them; `None` if fewer remain.
pub(crate) fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, rest) = (b.get(..n)?, b.get(n..)?);
    *b = rest;
    Some(head)
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

/// The node's storage: the sled database, the derived files and the
/// segment readers.
///
/// sled holds one tree, `log`, for what is looked up by key — the id
/// index, checkpoints, governance tables — in named key spaces ([`space`],
/// and one per governance table named by its `Table::name()`); locations
/// and tree hashes are in the derived files ([`files`]). One tree, because
/// a sled `Batch` is atomic only within a tree: a batch's ids, checkpoint
/// and governance writes land
/// together or not at all, without sled transactions, which read every key
/// they write and block all readers while they run. Attachment bytes
/// are not in sled but in files of their own ([`attachments`]).
#[derive(Debug)]
pub struct Storage {
    db: sled::Db,
    log: Tree,
    blobs: attachments::Attachments,
    state: state::StateTrees,
    reader: SegmentReader,
    files: files::DerivedFiles,
    log_dir: PathBuf,
    data_dir: PathBuf,
    mirrors: RwLock<BTreeMap<String, Arc<mirror::MirrorLog>>>,
    // Every commit to `log`, the own log's and the mirrors', passes here.
    gate: Arc<redo::CommitGate>,
    // Set once keeping the latest checkpoint beside sled failed (said once).
    checkpoint_unkept: std::sync::atomic::AtomicBool,
}

/// How the node opens its sled database under `data_dir`.
fn db_config(data_dir: &Path, cache_bytes: u64) -> sled::Config {
    sled::Config::new()
        .path(data_dir.join(DB_DIR))
        .cache_capacity(cache_bytes)
        .mode(sled::Mode::HighThroughput)
        // The segments are the durable copy; sled's own periodic flush
        // only shortens recovery, so it need not be frequent.
        .flush_every_ms(Some(1000))
        // Large enough that a commit's pending list (see `redo`) is
        // written inline, not as a separate blob file.
        .segment_size(8 << 20)
}

/// Opens the database under `data_dir`, telling a lock another process
/// holds ([`StorageError::InUse`]) from any other failure.
///
/// sled allows one process per database and reports its file lock as an
/// I/O error of kind `Other` whose only mark is its text ("could not
/// acquire lock on …"), so this is the one place that text is read.
fn open_db(data_dir: &Path, cache_bytes: u64) -> Result<sled::Db, StorageError> {
    db_config(data_dir, cache_bytes)
        .open()
        .map_err(|e| match e {
            sled::Error::Io(io)
                if io.kind() == std::io::ErrorKind::Other
                    && io.to_string().contains("could not acquire lock") =>
            {
                StorageError::InUse {
                    path: data_dir.to_owned(),
                }
            }
            e => StorageError::Sled(e),
        })
}

/// Opens the database under `data_dir` once more after the node has closed
/// it, and closes it again: a checkpoint at shutdown.
///
/// sled 0.34 writes the snapshot of its page table only while it opens, and
/// every start replays sled's log from the last snapshot. Without this, a
/// start replays everything written since the previous start — seconds for
/// a node that took in 10⁶ statements. After a clean stop the next start
/// reads a current snapshot instead. A crash skips this step, and the next
/// start replays as before; nothing is lost either way.
///
/// sled's background threads may hold the database's file lock for a moment
/// after the last handle is dropped, so opening is retried for up to a second.
pub fn snapshot_closed(data_dir: &Path, cache_bytes: u64) -> Result<(), StorageError> {
    let mut tries = 0;
    loop {
        match db_config(data_dir, cache_bytes).open() {
            Ok(db) => {
                drop(db);
                return Ok(());
            }
            Err(sled::Error::Io(_)) if tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Creates `dir` and any missing parents, and makes each new directory
/// entry durable by syncing the directory that holds it: a file synced in
/// a directory whose own entry a power cut lost is lost with it.
pub(crate) fn create_dir_durably(dir: &Path) -> Result<(), StorageError> {
    let mut missing = Vec::new();
    let mut at = dir;
    while !at.exists() {
        missing.push(at);
        match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => at = p,
            _ => break,
        }
    }
    for d in missing.into_iter().rev() {
        match std::fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(StorageError::io(d, e)),
        }
        let parent = d.parent().filter(|p| !p.as_os_str().is_empty());
        segment::sync_dir(parent.unwrap_or(Path::new(".")))?;
    }
    Ok(())
}

/// The directory of a data directory that holds the log's segments.
pub const LOG_DIR: &str = "log";
/// The directory of a data directory that holds sled's database.
pub const DB_DIR: &str = "db";

impl Storage {
    /// Opens (creating if needed) `log/` and `db/` under `data_dir`, with
    /// sled's page cache bounded to `cache_bytes`.
    ///
    /// This does not reconcile sled with the segments; [`recovery::recover`]
    /// does, and must run before anything is sequenced.
    pub fn open(data_dir: &Path, cache_bytes: u64) -> Result<Storage, StorageError> {
        let log_dir = data_dir.join(LOG_DIR);
        create_dir_durably(&log_dir)?;
        create_dir_durably(&data_dir.join(DB_DIR))?;
        let db = open_db(data_dir, cache_bytes)?;
        let log = db.open_tree("log")?;
        // A commit a crash interrupted is finished before anything reads.
        redo::finish_pending(&log)?;
        let blobs = attachments::Attachments::open(data_dir)?;
        move_attachments_out_of_sled(&db, &blobs)?;
        Ok(Storage {
            reader: SegmentReader::new(&log_dir),
            state: state::StateTrees::new(log.clone()),
            files: files::DerivedFiles::open(data_dir)?,
            db,
            log,
            blobs,
            log_dir,
            data_dir: data_dir.to_owned(),
            mirrors: RwLock::new(BTreeMap::new()),
            gate: Arc::default(),
            checkpoint_unkept: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The mirror of `origin`, opened (and created) on first use. The
    /// origin names a directory, so only log names (lowercase letters,
    /// digits, `-`, and `.` between them) are accepted.
    pub fn mirror(&self, origin: &str) -> Result<Arc<mirror::MirrorLog>, StorageError> {
        if !mirror::is_log_name(origin) {
            return Err(StorageError::Mismatch(format!(
                "{origin:?} is not a log name a mirror can be kept under"
            )));
        }
        if let Some(m) = self
            .mirrors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(origin)
        {
            return Ok(Arc::clone(m));
        }
        let mut map = self.mirrors.write().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = map.get(origin) {
            return Ok(Arc::clone(m));
        }
        let m = Arc::new(mirror::MirrorLog::open(
            &self.data_dir,
            origin,
            self.log.clone(),
            Arc::clone(&self.gate),
        )?);
        map.insert(origin.to_owned(), Arc::clone(&m));
        Ok(m)
    }

    /// The mirror of `origin` if it exists (on disk or opened).
    pub fn existing_mirror(
        &self,
        origin: &str,
    ) -> Result<Option<Arc<mirror::MirrorLog>>, StorageError> {
        if !mirror::is_log_name(origin) {
            return Ok(None);
        }
        let known = self
            .mirrors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(origin)
            || self
                .data_dir
                .join(mirror::MIRRORS_DIR)
                .join(origin)
                .is_dir();
        if known {
            self.mirror(origin).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The origins of every mirror on disk.
    pub fn mirror_origins(&self) -> Result<Vec<String>, StorageError> {
        mirror::mirror_dirs(&self.data_dir)
    }

    /// Every mirror on disk, opened, in origin order.
    pub fn mirrors(&self) -> Result<Vec<Arc<mirror::MirrorLog>>, StorageError> {
        let mut out = Vec::new();
        for origin in self.mirror_origins()? {
            out.extend(self.existing_mirror(&origin)?);
        }
        Ok(out)
    }

    /// Where a statement is: the own log first, else the mirror it was
    /// first stored in.
    pub fn locate(&self, id: &StatementId) -> Result<Option<mirror::Placement>, StorageError> {
        if let Some(index) = self.index_of(id)? {
            return Ok(Some(mirror::Placement { log: None, index }));
        }
        state::located(&self.log, id, state::Located::Mirror)?
            .map(|v| mirror::decode_mid(&v))
            .transpose()
    }

    /// One value of a small key space ([`space::PEERS`], [`space::QUARANTINE`],
    /// [`space::EVIDENCE`]).
    pub fn get_in(&self, space: &[u8], key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.get(space, key)?.map(|v| v.to_vec()))
    }

    /// Sets (or, with `None`, removes) one value of a small key space, and
    /// makes it durable before returning: peers added at run time, evidence
    /// and quarantines cannot be derived again from the log. Blocking (an
    /// `fsync`); these are rare.
    pub fn put_in(
        &self,
        space: &[u8],
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<(), StorageError> {
        self.put_all_in(&[(space, key, value)])
    }

    /// Keeps the signed checkpoint of the empty log, as the latest and as
    /// the one of size 0, durably: what a commit does for every later size.
    pub fn keep_empty_checkpoint(&self, note: &[u8]) -> Result<(), StorageError> {
        self.put_all_in(&[
            (space::CHECKPOINTS, &0u64.to_be_bytes(), Some(note)),
            (space::META, meta::CHECKPOINT, Some(note)),
        ])
    }

    /// [`Storage::put_in`] for several values at once: readers see all of
    /// them or none, and one `fsync` makes them durable.
    pub fn put_all_in(&self, writes: &[SmallWrite<'_>]) -> Result<(), StorageError> {
        let mut batch = sled::Batch::default();
        for (space, key, value) in writes {
            match value {
                Some(v) => batch.insert(key_in(space, key), *v),
                None => batch.remove(key_in(space, key)),
            }
        }
        self.log.apply_batch(batch)?;
        self.flush_durably()
    }

    /// Flushes sled so that what it holds survives a power cut (see
    /// [`sync_sled`]).
    pub fn flush_durably(&self) -> Result<(), StorageError> {
        sync_sled(&self.db, &self.data_dir.join(DB_DIR))
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Every (key, value) of a small key space, in key order.
    pub fn scan_in(&self, space: &[u8]) -> Result<state::Entries, StorageError> {
        let mut out = Vec::new();
        for item in self.log.scan_prefix(space) {
            let (k, v) = item?;
            out.push((k[space.len()..].to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    fn get(&self, space: &[u8], key: &[u8]) -> Result<Option<sled::IVec>, StorageError> {
        Ok(self.log.get(key_in(space, key))?)
    }

    /// The directory of the segment files.
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// The first record of the own log a read found damaged, if any (see
    /// `segment::SegmentReader::damage`).
    pub fn segment_damage(&self) -> Option<String> {
        self.reader.damage()
    }

    /// The origins of the copies of peers' logs open now whose segments a
    /// read found damaged.
    pub fn damaged_mirror_segments(&self) -> Vec<String> {
        self.mirrors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(_, m)| m.segment_damage().is_some())
            .map(|(origin, _)| origin.clone())
            .collect()
    }

    /// The governance tables.
    pub fn state(&self) -> &state::StateTrees {
        &self.state
    }

    /// The first whole record of the log, read from its first segment, if
    /// it holds one: what the log is, before anything is indexed.
    pub fn first_record(&self) -> Result<Option<Vec<u8>>, StorageError> {
        let Some(&first) = segment::list_segments(&self.log_dir)?.first() else {
            return Ok(None);
        };
        let Some(mut scanner) = segment::SegmentScanner::open(&self.log_dir, first, 0)? else {
            return Ok(None);
        };
        Ok(match scanner.next_record()? {
            segment::Scanned::Record(_, bytes) => Some(bytes),
            segment::Scanned::End | segment::Scanned::Bad(_) => None,
        })
    }

    /// Whether the segment files hold anything past their opening magic:
    /// records, or the start of one.
    pub fn holds_records(&self) -> Result<bool, StorageError> {
        for first in segment::list_segments(&self.log_dir)? {
            let path = self.log_dir.join(segment::segment_file_name(first));
            let len = std::fs::metadata(&path)
                .map_err(|e| StorageError::io(&path, e))?
                .len();
            if len > segment::SEGMENT_MAGIC.len() as u64 {
                return Ok(true);
            }
        }
        Ok(false)
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

    /// Every statement the database's id index places in the own log, with
    /// its leaf index, in statement-id order. One sequential pass over the
    /// database: an audit compares it with the leaves this way rather than
    /// looking up each statement, which on a large node costs a random
    /// read per leaf.
    pub fn own_index(&self) -> impl Iterator<Item = Result<(StatementId, u64), StorageError>> + '_ {
        state::all_located(&self.log, state::Located::Own)
            .map(|item| item.and_then(|(id, at)| Ok((id, read_u64(&at)?))))
    }

    /// Every stored checkpoint (one per committed batch), with its size, in
    /// size order: one pass over the database, for an audit.
    pub fn checkpoints(&self) -> impl Iterator<Item = Result<(u64, Vec<u8>), StorageError>> + '_ {
        self.log.scan_prefix(space::CHECKPOINTS).map(|item| {
            let (k, v) = item?;
            Ok((read_u64(&k[space::CHECKPOINTS.len()..])?, v.to_vec()))
        })
    }

    /// The leaf index of a statement, if it is in the log.
    pub fn index_of(&self, id: &StatementId) -> Result<Option<u64>, StorageError> {
        state::located(&self.log, id, state::Located::Own)?
            .map(|v| read_u64(&v))
            .transpose()
    }

    /// Where leaf `index` is stored.
    pub fn location(&self, index: u64) -> Result<Option<Location>, StorageError> {
        self.files.location(index)
    }

    /// The raw bytes of leaf `index`, read from its segment.
    pub fn leaf_bytes(&self, index: u64) -> Result<Option<Vec<u8>>, StorageError> {
        match self.location(index)? {
            None => Ok(None),
            Some(loc) => self.reader.read(loc).map(Some),
        }
    }

    /// The raw bytes of leaves `[start, end)`, in order, stopping at the
    /// end of the index, or before the leaf that would take them past
    /// `max_bytes` (the first leaf is always read).
    pub fn leaf_bytes_range(
        &self,
        start: u64,
        end: u64,
        max_bytes: usize,
    ) -> Result<Vec<Vec<u8>>, StorageError> {
        read_leaves(&self.files, &self.reader, start, end, max_bytes)
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
        for (index, loc) in (start..).zip(self.files.locations(start, end)?) {
            let bytes = self.reader.read(loc)?;
            let leaf = Leaf::from_bytes(&bytes)
                .map_err(|e| StorageError::Corrupt(format!("leaf {index}: {e}")))?;
            out.push((index, leaf));
        }
        Ok(out)
    }

    /// Applies one sequenced batch: its locations and subtree hashes to the
    /// derived files, then everything else to sled as one atomic commit
    /// ([`redo`]), so a crash leaves sled either before or after the whole
    /// batch.
    ///
    /// The caller has made the batch's leaves durable first.
    pub fn commit(&self, batch: &CommitBatch) -> Result<(), StorageError> {
        let size = batch.first_index + batch.leaves.len() as u64;
        let locations: Vec<Location> = batch.leaves.iter().map(|(_, loc)| *loc).collect();
        let mut b = redo::Writes::default();
        if let Some(synced) =
            self.files
                .append_batch(batch.first_index, &locations, &batch.subtrees)?
        {
            b.insert(
                key_in(space::META, meta::FILES_SYNCED),
                synced.to_be_bytes(),
            );
        }
        let placed: Vec<_> = (batch.first_index..)
            .zip(&batch.leaves)
            .map(|(index, (id, _))| (state::Located::Own, *id, index.to_be_bytes().to_vec()))
            .collect();
        // The first commitment to a content hash binds it: the sequencer
        // refuses later ones, and a later one that reached a batch anyway
        // (re-indexed after a crash, say) must not hand the file to other
        // readers.
        let mut bound = std::collections::HashSet::new();
        for (hash, id) in &batch.attachments {
            if bound.insert(*hash) && self.attachment_commit(hash)?.is_none() {
                b.insert(key_in(space::ATTACHMENTS, hash), id.as_bytes().as_slice());
            }
        }
        state::push_changes(&self.log, &mut b, &batch.state, &placed)?;
        b.insert(key_in(space::META, meta::SIZE), size.to_be_bytes());
        // INVARIANT of Timestamp: never negative.
        b.insert(
            key_in(space::META, meta::LAST_TIME),
            (batch.last_time.unix_millis() as u64).to_be_bytes(),
        );
        b.insert(
            key_in(space::META, meta::CHECKPOINT),
            batch.checkpoint.as_slice(),
        );
        b.insert(
            key_in(space::CHECKPOINTS, &size.to_be_bytes()),
            batch.checkpoint.as_slice(),
        );
        redo::commit(&self.log, &b, &self.gate)?;
        // A help for audits after a crash, not part of the log: the batch
        // is committed whatever becomes of it.
        if let Err(e) = self.files.keep_checkpoint(&batch.checkpoint) {
            // Once, not every batch.
            if !self
                .checkpoint_unkept
                .swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                tracing::warn!(error = %e, "could not keep the latest checkpoint beside the database");
            }
        }
        Ok(())
    }

    /// The latest checkpoint the node kept beside sled, unchecked (see
    /// [`files::CHECKPOINT_FILE`]): after the node's process was killed, it
    /// may cover more than [`Storage::latest_checkpoint`].
    pub fn kept_checkpoint(&self) -> Option<Vec<u8>> {
        files::DerivedFiles::kept_checkpoint(&self.data_dir)
    }

    /// Runs the read `f` against sled as it stood between two commits (of
    /// the own log or a mirror), never during one: for reads of several
    /// keys that must agree. `f` may run more than once, so it must only
    /// read. See [`redo::CommitGate`].
    pub fn consistent<T>(&self, f: impl FnMut() -> T) -> T {
        self.gate.read(f)
    }

    /// Appends to the derived files only: locations and subtree hashes of
    /// leaves `first..` that sled already indexes (start-up re-derivation).
    pub fn derive(
        &self,
        first: u64,
        locations: &[Location],
        subtrees: &[(Subtree, Hash)],
    ) -> Result<(), StorageError> {
        self.files.append(first, locations, subtrees)
    }

    /// The number of leaves the derived files cover.
    pub fn derived_size(&self) -> u64 {
        self.files.len()
    }

    /// Start-up: cuts the derived files back to what can be trusted
    /// ([`files::DerivedFiles::trim_trusted`] with the recorded watermark)
    /// and returns that size. The caller re-derives the rest.
    pub fn trim_derived(&self, upto: u64) -> Result<u64, StorageError> {
        let watermark = self
            .get(space::META, meta::FILES_SYNCED)?
            .map(|v| read_u64(&v))
            .transpose()?
            .unwrap_or(0);
        self.files.trim_trusted(watermark, upto)
    }

    /// Syncs the derived files and records in sled how many leaves they
    /// cover (after recovery, and at shutdown).
    pub fn sync_derived(&self) -> Result<(), StorageError> {
        let synced = self.files.sync()?;
        self.log.insert(
            key_in(space::META, meta::FILES_SYNCED),
            &synced.to_be_bytes(),
        )?;
        Ok(())
    }

    /// The public key the log in this directory was signed with, once a
    /// node has opened it.
    pub fn signed_by(&self) -> Result<Option<[u8; 32]>, StorageError> {
        Ok(self
            .get(space::META, meta::KEY)?
            .and_then(|k| <[u8; 32]>::try_from(k.as_ref()).ok()))
    }

    /// Records the log's origin and the node's key at first start, and
    /// afterwards refuses a different origin or key: a data directory holds
    /// one log, signed by one key.
    pub fn check_identity(&self, origin: &str, key: &[u8; 32]) -> Result<(), StorageError> {
        let stored_origin = self.get(space::META, meta::ORIGIN)?;
        let stored_key = self.get(space::META, meta::KEY)?;
        if let Some(o) = &stored_origin {
            if o.as_ref() != origin.as_bytes() {
                return Err(StorageError::Mismatch(format!(
                    "this data directory holds the log of origin {:?}, but the node is configured \
                     with origin {origin:?}; use that origin, or a new data directory",
                    String::from_utf8_lossy(o)
                )));
            }
        }
        if let Some(k) = &stored_key {
            if k.as_ref() != key.as_slice() {
                return Err(StorageError::Mismatch(format!(
                    "this data directory's log was signed by key {}, but node.key now holds key \
                     {}; restore the original node.key, or use a new data directory",
                    hex::encode(k),
                    hex::encode(key)
                )));
            }
        }
        let layout = self.get(space::META, meta::LAYOUT)?;
        if stored_origin.is_none() && stored_key.is_none() && layout.is_none() {
            let mut b = Batch::default();
            b.insert(key_in(space::META, meta::ORIGIN), origin.as_bytes());
            b.insert(key_in(space::META, meta::KEY), key.as_slice());
            b.insert(key_in(space::META, meta::LAYOUT), &LAYOUT.to_be_bytes());
            self.log.apply_batch(b)?;
            return Ok(());
        }
        let found = layout.map_or(1, |v| {
            <[u8; 4]>::try_from(v.as_ref()).map_or(0, u32::from_be_bytes)
        });
        if found != LAYOUT {
            return Err(StorageError::Mismatch(format!(
                "this data directory was written by another version of kaitiaki (storage \
                 layout {found}, this version reads layout {LAYOUT}); start the node on a new \
                 data directory (for the demo: kaitiaki demo --reset)"
            )));
        }
        if stored_origin.is_none() || stored_key.is_none() {
            let mut b = Batch::default();
            b.insert(key_in(space::META, meta::ORIGIN), origin.as_bytes());
            b.insert(key_in(space::META, meta::KEY), key.as_slice());
            self.log.apply_batch(b)?;
        }
        Ok(())
    }

    /// The governance state version the stored state was built under, if
    /// one is recorded (directories written before versions were recorded
    /// have none).
    pub fn state_version(&self) -> Result<Option<u32>, StorageError> {
        self.db
            .get(STATE_VERSION_KEY)?
            .map(|v| {
                <[u8; 4]>::try_from(v.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| StorageError::Corrupt("the state version is not 4 bytes".into()))
            })
            .transpose()
    }

    /// Records `version` as the state version the stored state was built
    /// under. A node of another version rebuilds that state at its next
    /// start; tools and tests use this to take that path on purpose.
    pub fn mark_state_version(&self, version: u32) -> Result<(), StorageError> {
        self.db.insert(STATE_VERSION_KEY, &version.to_be_bytes())?;
        self.flush_durably()
    }

    /// Makes the stored governance state one this version of the rules
    /// built ([`kaitiaki_governance::STATE_VERSION`]), before recovery runs.
    ///
    /// State built under another version (or under none recorded) is not
    /// what these rules fold the logs into: a node serving it would show
    /// what its logs do not say. So it is forgotten — every governance
    /// entry (with each statement's recorded place in a log, which shares
    /// its key), and how far the own log and each mirror were folded — and the
    /// recovery that follows folds every log again from its segments, as
    /// after losing `db/`, keeping what sled holds that the logs cannot
    /// give back (checkpoints, peers, evidence). The version is recorded
    /// only once the old state is gone, so a crash part way starts over.
    /// Returns the version found when the state was forgotten.
    pub fn settle_state_version(&self) -> Result<Option<u32>, StorageError> {
        let current = kaitiaki_governance::STATE_VERSION;
        let found = self.state_version()?;
        if found == Some(current) {
            return Ok(None);
        }
        let holds_state = self.log.scan_prefix(state::GOV_PREFIX).next().is_some();
        // A new directory (or one that never folded a statement) has no
        // state to forget, only a version to record.
        let rebuilt = if found.is_some() || holds_state {
            let mut b = Batch::default();
            b.remove(key_in(space::META, meta::SIZE));
            for key in mirror::folded_size_keys(&self.log)? {
                b.remove(key);
            }
            self.log.apply_batch(b)?;
            // Key by key: the version, written last, is what makes this
            // step final, and sled batches of many keys cost memory and
            // stop its readers (see `redo`).
            for item in self.log.scan_prefix(state::GOV_PREFIX) {
                self.log.remove(item?.0)?;
            }
            Some(found.unwrap_or(0))
        } else {
            None
        };
        self.mark_state_version(current)?;
        Ok(rebuilt)
    }

    /// The stored hash of a complete subtree, if stored.
    pub fn subtree_hash(&self, at: &Subtree) -> Result<Option<[u8; 32]>, StorageError> {
        self.files.hash(at)
    }

    /// The stored hashes of subtrees `(level, start .. start + count)`,
    /// concatenated (see [`files::DerivedFiles::hashes`]).
    pub fn subtree_hashes(
        &self,
        level: u8,
        start: u64,
        count: u64,
    ) -> Result<Vec<u8>, StorageError> {
        self.files.hashes(level, start, count)
    }

    /// The file and byte offset where the hash of `at` is stored (for
    /// audits and tests that inspect or damage it on purpose).
    pub fn subtree_place(&self, at: &Subtree) -> (PathBuf, u64) {
        (
            self.files.level_path(at.level()),
            at.index().saturating_mul(files::HASH_LEN),
        )
    }

    /// Stores the bytes of a committed attachment durably: when this
    /// returns, they survive a crash or a power cut.
    pub fn put_attachment(&self, hash: &[u8; 32], bytes: &[u8]) -> Result<(), StorageError> {
        self.blobs.put(hash, bytes)
    }

    /// Makes an attachment's stored bytes durable, file and name (for an
    /// upload that finds them already there).
    pub fn attachment_durable(&self, hash: &[u8; 32]) -> Result<(), StorageError> {
        self.blobs.make_durable(hash)
    }

    /// Erases an attachment's bytes; its commitment stays in the log.
    pub fn erase_attachment(&self, hash: &[u8; 32]) -> Result<bool, StorageError> {
        self.blobs.erase(hash)
    }

    /// Whether an attachment's bytes were erased and not uploaded again since.
    pub fn attachment_erased(&self, hash: &[u8; 32]) -> bool {
        self.blobs.is_erased(hash)
    }

    /// The bytes of an attachment, if uploaded and not erased.
    pub fn attachment(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StorageError> {
        self.blobs.get(hash)
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

    /// Syncs every mirror's derived files (after recovery, and at shutdown).
    pub fn sync_mirrors(&self) -> Result<(), StorageError> {
        let mirrors: Vec<_> = self
            .mirrors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for m in mirrors {
            m.sync_derived()?;
        }
        Ok(())
    }

    /// Writes sled's buffers to disk (at shutdown; not a durability point).
    /// The derived files are synced by [`Storage::sync_derived`].
    pub fn flush(&self) -> Result<(), StorageError> {
        self.db.flush()?;
        Ok(())
    }

    /// Bytes sled uses on disk, for metrics.
    pub fn db_size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}

/// One write to a small key space: the space, the key, and the value (or
/// `None` to remove it).
pub type SmallWrite<'a> = (&'a [u8], &'a [u8], Option<&'a [u8]>);

/// Reads a stored big-endian u64.
pub(crate) fn read_u64(bytes: &[u8]) -> Result<u64, StorageError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|_| StorageError::Corrupt("a stored number is not 8 bytes".into()))
}

/// The sled tree earlier versions kept attachment bytes in.
const OLD_ATTACHMENT_TREE: &[u8] = b"attachment_blobs";

/// Moves attachment bytes an earlier version kept in sled to their files,
/// each made durable before the sled tree is dropped; a crash in between
/// only means they are moved again at the next start.
fn move_attachments_out_of_sled(
    db: &sled::Db,
    files: &attachments::Attachments,
) -> Result<(), StorageError> {
    if !db.tree_names().iter().any(|n| n == OLD_ATTACHMENT_TREE) {
        return Ok(());
    }
    let old = db.open_tree(OLD_ATTACHMENT_TREE)?;
    let mut moved = 0usize;
    for item in old.iter() {
        let (hash, bytes) = item?;
        let hash: [u8; 32] = hash
            .as_ref()
            .try_into()
            .map_err(|_| StorageError::Corrupt("an attachment key is not a hash".into()))?;
        files.put(&hash, &bytes)?;
        moved += 1;
    }
    db.drop_tree(OLD_ATTACHMENT_TREE)?;
    db.flush()?;
    if moved > 0 {
        tracing::info!(
            moved,
            "moved attachment bytes from the database to their own files"
        );
    }
    Ok(())
}

/// The checkpoint a stored signed note holds. Its signatures are not looked
/// at: the node signed and kept it; whoever reads it from elsewhere checks
/// them (`VerifiedCheckpoint`).
pub fn checkpoint_in(note: &[u8]) -> Result<kaitiaki_protocol::checkpoint::Checkpoint, String> {
    let note = kaitiaki_protocol::note::Note::parse(note).map_err(|e| e.to_string())?;
    kaitiaki_protocol::checkpoint::Checkpoint::from_note(&note).map_err(|e| e.to_string())
}

/// Writes `bytes` to the file `path` whole or not at all, and durably: a
/// synced file of its own, renamed into place, and the directory synced.
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let io = |e: std::io::Error| StorageError::io(path, e);
    let mut file = tempfile::Builder::new()
        .prefix(".writing-")
        .tempfile_in(dir)
        .map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.as_file().sync_data().map_err(io)?;
    file.persist(path).map_err(|e| io(e.error))?;
    segment::sync_dir(dir)
}

/// Flushes a sled database in `dir` so that what it holds survives a power
/// cut. sled's own flush writes its file with `sync_file_range`, which
/// leaves the drive's cache and the file's size unsynced (DESIGN.md,
/// principle 4); an `fsync` of the same file syncs both. Values above a
/// quarter of sled's segment size go to separate blob files this does not
/// sync; the node keeps none that large (a batch's list of writes goes in
/// pieces, see [`redo`]).
pub fn sync_sled(db: &sled::Db, dir: &Path) -> Result<(), StorageError> {
    db.flush()?;
    let file = dir.join("db");
    std::fs::File::open(&file)
        .and_then(|f| f.sync_all())
        .map_err(|e| StorageError::io(&file, e))
}
