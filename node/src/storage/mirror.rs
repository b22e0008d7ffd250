//! Mirrors: verified copies of peers' logs, one per peer origin.
//!
//! A mirror is laid out exactly like the node's own log, in its own
//! directory, so the same segment, derived-file and recovery code serves
//! both:
//!
//! ```text
//! <data dir>/mirrors/<origin>/
//!   log/*.seg         the peer's leaves, byte for byte, written with fdatasync
//!   tree/             locations and subtree hashes (see [`super::files`])
//! ```
//!
//! and what is looked up by key lives in the node's sled `log` tree, so a
//! mirrored batch's leaves, its governance writes and the mirror's new size
//! land in one atomic commit (see [`super::redo`]):
//!
//! | key | value |
//! |---|---|
//! | `mirror\0 ‖ origin ‖ \0size` | leaves stored and folded into governance (u64 BE) |
//! | `mirror\0 ‖ origin ‖ \0checkpoint` | the peer's largest checkpoint note the mirror was verified against (its size may exceed the mirror's while catching up; never replaced by a smaller one) |
//! | `mirror\0 ‖ origin ‖ \0complete` | the peer's latest checkpoint note whose whole tree the mirror holds (proofs are served against it) |
//! | `mirror\0 ‖ origin ‖ \0files_synced` | leaves the derived files covered when last synced (u64 BE) |
//!
//! Where a mirrored statement is (leaf index, u64 BE, ‖ origin) is kept in
//! the statement's group with its governance entries ([`super::state`]).
//!
//! A mirror only ever holds leaves that were verified before they were
//! written: every signature, the governance rules, and a consistency proof
//! tying them to a checkpoint the peer signed (see `crate::replication`).
//! The same invariant as the own log holds: sled never learns of a mirrored
//! leaf before it is durable in the mirror's segments.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kaitiaki_governance::Change;
use kaitiaki_protocol::checkpoint::Checkpoint;
use kaitiaki_protocol::merkle::Subtree;
use kaitiaki_protocol::note::Note;
use kaitiaki_protocol::{Hash, StatementId};
use sled::Tree;

use super::files::DerivedFiles;
use super::recovery::Recoverable;
use super::redo::{self, CommitGate, Writes};
use super::segment::{Location, SegmentReader};
use super::tree::StoredTree;
use super::{read_u64, state, StorageError};

/// The directory under the data directory that holds every mirror.
pub const MIRRORS_DIR: &str = "mirrors";

/// sled key space of mirror metadata.
pub(crate) const MIRROR: &[u8] = b"mirror\0";

/// Everything one mirrored batch teaches sled, applied at once.
#[derive(Debug, Default)]
pub struct MirrorCommit {
    /// The index of the batch's first leaf in the peer's log.
    pub first_index: u64,
    /// Per leaf, in order: its statement id and location in the mirror.
    pub leaves: Vec<(StatementId, Location)>,
    /// Subtrees the batch closed, with their hashes.
    pub subtrees: Vec<(Subtree, Hash)>,
    /// The peer's checkpoint note the batch was verified against.
    pub checkpoint: Option<Vec<u8>>,
    /// Whether the batch ends exactly at that checkpoint's size.
    pub complete: bool,
}

/// One peer's mirrored log.
#[derive(Debug)]
pub struct MirrorLog {
    origin: String,
    log_dir: PathBuf,
    reader: SegmentReader,
    files: DerivedFiles,
    log: Tree,
    gate: Arc<CommitGate>,
}

/// The `meta_key` field of how many leaves a mirror has folded.
const SIZE: &str = "size";

fn meta_key(origin: &str, field: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(MIRROR.len() + origin.len() + 1 + field.len());
    k.extend_from_slice(MIRROR);
    k.extend_from_slice(origin.as_bytes());
    k.push(0);
    k.extend_from_slice(field.as_bytes());
    k
}

/// The keys recording how many leaves of each mirror were folded into
/// governance (see [`MirrorLog::size`]).
pub(crate) fn folded_size_keys(log: &Tree) -> Result<Vec<sled::IVec>, StorageError> {
    let mut keys = Vec::new();
    for item in log.scan_prefix(MIRROR) {
        let (k, _) = item?;
        if k.strip_suffix(SIZE.as_bytes())
            .is_some_and(|rest| rest.ends_with(b"\0"))
        {
            keys.push(k);
        }
    }
    Ok(keys)
}

impl MirrorLog {
    /// Opens (creating if needed) the mirror of `origin` under `data_dir`.
    /// `origin` has passed the origin rule of the configuration (lowercase
    /// letters, digits, `.` and `-`), so it is a safe directory name.
    pub(crate) fn open(
        data_dir: &Path,
        origin: &str,
        log: Tree,
        gate: Arc<CommitGate>,
    ) -> Result<MirrorLog, StorageError> {
        let dir = data_dir.join(MIRRORS_DIR).join(origin);
        let log_dir = dir.join("log");
        super::create_dir_durably(&log_dir)?;
        Ok(MirrorLog {
            origin: origin.to_owned(),
            reader: SegmentReader::new(&log_dir),
            files: DerivedFiles::open(&dir)?,
            log_dir,
            log,
            gate,
        })
    }

    /// The peer log's origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The stored tree of the mirror.
    pub fn tree(&self) -> StoredTree<'_> {
        StoredTree::new(&self.files)
    }

    /// Leaves stored, verified and folded into governance.
    pub fn size(&self) -> Result<u64, StorageError> {
        self.log
            .get(meta_key(&self.origin, SIZE))?
            .map(|v| read_u64(&v))
            .transpose()
            .map(|s| s.unwrap_or(0))
    }

    /// The peer's largest checkpoint note the mirror was verified against,
    /// which every new checkpoint of the peer is checked against. While
    /// catching up its size exceeds [`MirrorLog::size`]: the leaves held
    /// were proven to be a prefix of its tree.
    pub fn checkpoint(&self) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .log
            .get(meta_key(&self.origin, "checkpoint"))?
            .map(|v| v.to_vec()))
    }

    /// The peer's latest checkpoint note whose whole tree the mirror holds:
    /// inclusion proofs for mirrored statements are served against it.
    pub fn complete_checkpoint(&self) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .log
            .get(meta_key(&self.origin, "complete"))?
            .map(|v| v.to_vec()))
    }

    /// The first record of this copy a read found damaged, if any.
    pub fn segment_damage(&self) -> Option<String> {
        self.reader.damage()
    }

    /// The raw bytes of mirrored leaf `index`.
    pub fn leaf_bytes(&self, index: u64) -> Result<Option<Vec<u8>>, StorageError> {
        match self.files.location(index)? {
            None => Ok(None),
            Some(loc) => self.reader.read(loc).map(Some),
        }
    }

    /// The stored hash of the complete subtree `at` of the mirror, or
    /// `None` if its tree file does not hold it (see [`DerivedFiles::hash`]).
    pub fn subtree_hash(&self, at: &Subtree) -> Result<Option<[u8; 32]>, StorageError> {
        self.files.hash(at)
    }

    /// The stored hashes of subtrees `(level, start .. start + count)` of
    /// the mirror, concatenated (see [`DerivedFiles::hashes`]).
    pub fn subtree_hashes(
        &self,
        level: u8,
        start: u64,
        count: u64,
    ) -> Result<Vec<u8>, StorageError> {
        self.files.hashes(level, start, count)
    }

    /// Raw leaves `[start, end)`, in order; stops early at a gap, or as
    /// [`super::Storage::leaf_bytes_range`] does at `max_bytes`.
    pub fn leaves_raw(
        &self,
        start: u64,
        end: u64,
        max_bytes: usize,
    ) -> Result<Vec<Vec<u8>>, StorageError> {
        super::read_leaves(&self.files, &self.reader, start, end, max_bytes)
    }

    /// Applies one verified, durable batch: derived files, then sled in one
    /// atomic batch together with the governance writes it caused.
    pub(crate) fn commit(&self, c: &MirrorCommit, changes: &[Change]) -> Result<(), StorageError> {
        let size = c.first_index + c.leaves.len() as u64;
        let locations: Vec<Location> = c.leaves.iter().map(|(_, l)| *l).collect();
        let mut b = Writes::default();
        if let Some(synced) = self
            .files
            .append_batch(c.first_index, &locations, &c.subtrees)?
        {
            b.insert(meta_key(&self.origin, "files_synced"), synced.to_be_bytes());
        }
        let placed: Vec<_> = (c.first_index..)
            .zip(&c.leaves)
            .map(|(index, (id, _))| {
                let mut v = index.to_be_bytes().to_vec();
                v.extend_from_slice(self.origin.as_bytes());
                (state::Located::Mirror, *id, v)
            })
            .collect();
        state::push_changes(&self.log, &mut b, changes, &placed)?;
        b.insert(meta_key(&self.origin, SIZE), size.to_be_bytes());
        if let Some(note) = &c.checkpoint {
            // A batch may be verified against a smaller checkpoint than
            // the one held: a peer may serve an older checkpoint, proven a
            // prefix of the held one. Held, the larger one is what every
            // later checkpoint is compared with; forgetting it would let a
            // fork of it pass as consistent with the smaller one.
            for (field, wanted) in [("checkpoint", true), ("complete", c.complete)] {
                if wanted && self.grows(field, note)? {
                    b.insert(meta_key(&self.origin, field), note.as_slice());
                }
            }
        }
        redo::commit(&self.log, &b, &self.gate)
    }

    /// Whether `note` may replace the checkpoint held under `field`: it is
    /// at least as large. Only the commit thread writes these keys, so the
    /// answer still holds when the batch lands.
    fn grows(&self, field: &str, note: &[u8]) -> Result<bool, StorageError> {
        let Some(held) = self.log.get(meta_key(&self.origin, field))? else {
            return Ok(true);
        };
        Ok(match (checkpoint_size(&held), checkpoint_size(note)) {
            (Some(held), Some(new)) => new >= held,
            // An unreadable note held is worth nothing; an unreadable new
            // one (which replication never sends) replaces nothing.
            (None, _) => true,
            (Some(_), None) => false,
        })
    }

    /// Appends to the derived files only (start-up re-derivation).
    pub(crate) fn derive(
        &self,
        first: u64,
        locations: &[Location],
        subtrees: &[(Subtree, Hash)],
    ) -> Result<(), StorageError> {
        self.files.append(first, locations, subtrees)
    }

    /// Start-up: cuts the derived files back to what can be trusted (see
    /// [`super::Storage::trim_derived`]) and returns that size.
    pub(crate) fn trim_derived(&self, upto: u64) -> Result<u64, StorageError> {
        let watermark = self
            .log
            .get(meta_key(&self.origin, "files_synced"))?
            .map(|v| read_u64(&v))
            .transpose()?
            .unwrap_or(0);
        self.files.trim_trusted(watermark, upto)
    }

    /// Syncs the derived files and records how many leaves they cover.
    pub(crate) fn sync_derived(&self) -> Result<(), StorageError> {
        let synced = self.files.sync()?;
        self.log.insert(
            meta_key(&self.origin, "files_synced"),
            &synced.to_be_bytes(),
        )?;
        Ok(())
    }
}

impl Recoverable for MirrorLog {
    fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    fn indexed_size(&self) -> Result<u64, StorageError> {
        self.size()
    }

    fn derived_size(&self) -> u64 {
        self.files.len()
    }

    fn location(&self, index: u64) -> Result<Option<Location>, StorageError> {
        self.files.location(index)
    }
}

/// The size of the checkpoint in a note, read without checking its
/// signatures (replication checked them before the note was stored).
pub(crate) fn checkpoint_size(note: &[u8]) -> Option<u64> {
    let note = Note::parse(note).ok()?;
    Checkpoint::from_note(&note).ok().map(|c| c.size())
}

/// Whether `name` can name a mirror's directory: a log name under the
/// network-name rule (lowercase letters, digits, `-` and `.`), not starting
/// with `.` and without `..`, so it never leaves the mirrors directory.
pub fn is_log_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && !name.starts_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

/// The origins that have a mirror directory under `data_dir`.
pub(crate) fn mirror_dirs(data_dir: &Path) -> Result<Vec<String>, StorageError> {
    let dir = data_dir.join(MIRRORS_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StorageError::io(&dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StorageError::io(&dir, e))?;
        if let Some(name) = entry.file_name().to_str() {
            if entry.path().is_dir() && is_log_name(name) {
                out.push(name.to_owned());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Where a statement is: leaf `index` of the node's own log (`log` is
/// `None`) or of the mirror of `log`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// `None` for the node's own log, else the mirrored log's origin.
    pub log: Option<String>,
    /// The leaf index in that log.
    pub index: u64,
}

/// Decodes where a mirrored statement is (leaf index ‖ origin).
pub(crate) fn decode_mid(v: &[u8]) -> Result<Placement, StorageError> {
    if v.len() < 8 {
        return Err(StorageError::Corrupt(
            "a mirrored-statement index entry is short".into(),
        ));
    }
    let index = read_u64(&v[..8])?;
    let origin = std::str::from_utf8(&v[8..])
        .map_err(|_| StorageError::Corrupt("a mirrored-statement origin is not UTF-8".into()))?;
    Ok(Placement {
        log: Some(origin.to_owned()),
        index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subtree_hash_the_tree_file_lacks_is_none_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let storage = super::super::Storage::open(dir.path(), 1 << 20).unwrap();
        let mirror = storage.mirror("peer.example").unwrap();
        let at = Subtree::new(1, 1);
        // No tree file of level 1 yet.
        assert_eq!(mirror.subtree_hash(&at).unwrap(), None);
        let file = dir
            .path()
            .join(MIRRORS_DIR)
            .join("peer.example")
            .join("tree")
            .join(super::super::files::level_file_name(1));
        // One hash: (1, 0) is stored, (1, 1) is not.
        std::fs::write(&file, [7u8; 32]).unwrap();
        assert_eq!(mirror.subtree_hash(&at).unwrap(), None);
        assert_eq!(
            mirror.subtree_hash(&Subtree::new(1, 0)).unwrap(),
            Some([7u8; 32])
        );
    }
}
