//! Flat files derived from the segments: stored subtree hashes and leaf
//! locations, everything about the log that is per leaf and append-only.
//!
//! ```text
//! <data dir>/tree/
//!   locations       leaf i → its record, 16 bytes at 16·i (see below)
//!   level-00        hash of subtree (0, i) (the leaf hash) at 32·i
//!   level-01        hash of subtree (1, i) at 32·i
//!   …               one file per level that has a complete subtree
//! ```
//!
//! A location entry is the segment (u64 BE, the index of its first leaf),
//! the record's offset in it (40 bits BE) and the leaf's length (24 bits BE).
//!
//! Every read is one positioned read (`read_exact_at`) of a few bytes: the
//! operating system's page cache does the caching, outside the node's
//! resident memory. A small, bounded cache of the top levels (the first
//! [`CACHE_LEN`] hashes of every level from [`CACHE_FROM`] up) keeps proofs
//! in a large tree about as cheap as in a small one.
//!
//! The files are written after the segment `fdatasync` and are not synced
//! per batch: they are derived, like sled. Every [`SYNC_EVERY`] leaves, and
//! at shutdown, they are synced and the number of leaves they then cover is
//! recorded in sled (the *watermark*). At start-up recovery trusts them only
//! up to the watermark (and their lengths), cuts off the rest and re-derives
//! it from the segments — so neither a torn tail nor pages a power cut lost
//! can leave a wrong hash behind.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use kaitiaki_protocol::merkle::Subtree;
use kaitiaki_protocol::Hash;

use super::segment::Location;
use super::StorageError;

/// Bytes per location entry.
pub const LOCATION_LEN: u64 = 16;
/// Bytes per stored hash.
pub const HASH_LEN: u64 = 32;
/// The lowest level whose hashes are cached in memory.
pub const CACHE_FROM: u8 = 6;
/// Hashes cached per level: 512 KiB of a level at most. Every level from
/// [`CACHE_FROM`] up is whole in memory until the log passes 2²⁰ leaves
/// (about 1 MiB in all at 10⁶), so a proof there reads no more files than
/// one at 10³; a level is capped only when it would hold more, so even at
/// 10⁹ leaves the cache is about 6 MiB.
pub const CACHE_LEN: usize = 16384;
/// The files are synced, and the watermark advanced, at least this often.
pub const SYNC_EVERY: u64 = 1 << 16;
const LEVELS: usize = Subtree::MAX_LEVEL as usize + 1;

/// The file name of level `level`'s hashes.
pub fn level_file_name(level: u8) -> String {
    format!("level-{level:02}")
}

/// The file name of the location index.
pub const LOCATIONS_FILE: &str = "locations";

/// The latest signed checkpoint (`tree/checkpoint`): a 4-byte big-endian
/// length, then the note. Written after each commit, without a sync, so
/// that it survives the node's process being killed (the operating system
/// keeps it) though not a power cut: sled, where the checkpoints are kept
/// for good, writes what it holds to its files only about once a second,
/// and an audit of the directory after a crash would otherwise find the
/// last batches' records, synced in the segments and acknowledged, beyond
/// the last checkpoint sled kept. Whoever reads it checks its signature.
pub const CHECKPOINT_FILE: &str = "checkpoint";

fn encode_location(loc: Location, out: &mut Vec<u8>) -> Result<(), StorageError> {
    if loc.offset >= 1 << 40 || loc.len >= 1 << 24 {
        return Err(StorageError::Corrupt(format!(
            "record at segment {} offset {} (length {}) does not fit a location entry",
            loc.segment, loc.offset, loc.len
        )));
    }
    out.extend_from_slice(&loc.segment.to_be_bytes());
    out.extend_from_slice(&loc.offset.to_be_bytes()[3..]);
    out.extend_from_slice(&loc.len.to_be_bytes()[1..]);
    Ok(())
}

fn decode_location(b: &[u8]) -> Location {
    let mut offset = [0u8; 8];
    offset[3..].copy_from_slice(&b[8..13]);
    let mut len = [0u8; 4];
    len[1..].copy_from_slice(&b[13..16]);
    let mut segment = [0u8; 8];
    segment.copy_from_slice(&b[..8]);
    Location {
        segment: u64::from_be_bytes(segment),
        offset: u64::from_be_bytes(offset),
        len: u32::from_be_bytes(len),
    }
}

/// The derived files of one data directory.
#[derive(Debug)]
pub struct DerivedFiles {
    dir: PathBuf,
    locations: File,
    // One handle per level, opened (and created, for writing) on first use.
    levels: Mutex<Vec<Option<Arc<File>>>>,
    // Level → the first hashes of that level, for levels ≥ CACHE_FROM.
    cache: RwLock<Vec<Vec<Hash>>>,
    // The number of leaves the files cover.
    len: AtomicU64,
    // The number of leaves covered when the files were last synced.
    synced: AtomicU64,
    // `CHECKPOINT_FILE`, opened at the first checkpoint kept (a mirror's
    // files keep none).
    checkpoint: std::sync::OnceLock<File>,
}

impl DerivedFiles {
    /// Opens (creating if needed) `tree/` under `data_dir`. Nothing is
    /// checked or repaired here; see [`DerivedFiles::valid_len`].
    pub fn open(data_dir: &Path) -> Result<DerivedFiles, StorageError> {
        let dir = data_dir.join("tree");
        super::create_dir_durably(&dir)?;
        let path = dir.join(LOCATIONS_FILE);
        let locations = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StorageError::io(&path, e))?;
        let len = locations
            .metadata()
            .map_err(|e| StorageError::io(&path, e))?
            .len()
            / LOCATION_LEN;
        let files = DerivedFiles {
            checkpoint: std::sync::OnceLock::new(),
            dir,
            locations,
            levels: Mutex::new(vec![None; LEVELS]),
            cache: RwLock::new(vec![Vec::new(); LEVELS]),
            len: AtomicU64::new(len),
            synced: AtomicU64::new(0),
        };
        files.load_cache()?;
        Ok(files)
    }

    /// Keeps `note` as the latest checkpoint in [`CHECKPOINT_FILE`], in one
    /// write and without a sync.
    pub fn keep_checkpoint(&self, note: &[u8]) -> Result<(), StorageError> {
        let len = u32::try_from(note.len())
            .map_err(|_| StorageError::Corrupt("a checkpoint note over 4 GiB".into()))?;
        let mut buf = Vec::with_capacity(4 + note.len());
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(note);
        let path = self.dir.join(CHECKPOINT_FILE);
        let file = match self.checkpoint.get() {
            Some(f) => f,
            None => {
                let opened = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&path)
                    .map_err(|e| StorageError::io(&path, e))?;
                self.checkpoint.get_or_init(|| opened)
            }
        };
        file.write_all_at(&buf, 0)
            .map_err(|e| StorageError::io(&path, e))
    }

    /// The note kept in [`CHECKPOINT_FILE`] under `data_dir`, unchecked;
    /// `None` if there is none, or none whole.
    pub fn kept_checkpoint(data_dir: &Path) -> Option<Vec<u8>> {
        let bytes = std::fs::read(data_dir.join("tree").join(CHECKPOINT_FILE)).ok()?;
        let len = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
        bytes.get(4..4 + len).map(<[u8]>::to_vec)
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of level `level`'s file.
    pub fn level_path(&self, level: u8) -> PathBuf {
        self.dir.join(level_file_name(level))
    }

    fn handle(&self, level: u8, create: bool) -> Result<Option<Arc<File>>, StorageError> {
        let mut levels = self.levels.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut levels[usize::from(level)];
        if let Some(f) = slot {
            return Ok(Some(Arc::clone(f)));
        }
        let path = self.level_path(level);
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(&path);
        match opened {
            Ok(f) => {
                let f = Arc::new(f);
                *slot = Some(Arc::clone(&f));
                Ok(Some(f))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => Ok(None),
            Err(e) => Err(StorageError::io(&path, e)),
        }
    }

    fn level_entries(&self, level: u8) -> Result<u64, StorageError> {
        match self.handle(level, false)? {
            None => Ok(0),
            Some(f) => Ok(f
                .metadata()
                .map_err(|e| StorageError::io(&self.level_path(level), e))?
                .len()
                / HASH_LEN),
        }
    }

    fn load_cache(&self) -> Result<(), StorageError> {
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        for level in CACHE_FROM..=Subtree::MAX_LEVEL {
            let entries = self.level_entries(level)?.min(CACHE_LEN as u64);
            let slot = &mut cache[usize::from(level)];
            slot.clear();
            if entries == 0 {
                continue;
            }
            let Some(f) = self.handle(level, false)? else {
                continue;
            };
            let mut buf = vec![0u8; (entries * HASH_LEN) as usize];
            f.read_exact_at(&mut buf, 0)
                .map_err(|e| StorageError::io(&self.level_path(level), e))?;
            slot.extend(
                buf.chunks_exact(HASH_LEN as usize)
                    .filter_map(Hash::from_slice),
            );
        }
        Ok(())
    }

    /// The number of leaves the location index covers.
    pub fn len(&self) -> u64 {
        self.len.load(Ordering::Acquire)
    }

    /// Whether the files cover no leaf.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The largest number of leaves the files' lengths are consistent with:
    /// the location index holds an entry per leaf, and every level holds a
    /// hash per complete subtree. A missing or short file lowers it.
    pub fn valid_len(&self) -> Result<u64, StorageError> {
        let mut n = u128::from(self.len());
        for level in 0..=Subtree::MAX_LEVEL {
            let k = u128::from(self.level_entries(level)?);
            // floor(n / 2^level) ≤ k  ⇔  n < (k + 1) · 2^level
            n = n.min(((k + 1) << level) - 1);
        }
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    /// Cuts every file back to what `n` leaves need.
    pub fn truncate(&self, n: u64) -> Result<(), StorageError> {
        let path = self.dir.join(LOCATIONS_FILE);
        self.locations
            .set_len(n * LOCATION_LEN)
            .map_err(|e| StorageError::io(&path, e))?;
        for level in 0..=Subtree::MAX_LEVEL {
            let keep = n >> level;
            if self.level_entries(level)? > keep {
                if let Some(f) = self.handle(level, false)? {
                    f.set_len(keep * HASH_LEN)
                        .map_err(|e| StorageError::io(&self.level_path(level), e))?;
                }
            }
        }
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        for level in CACHE_FROM..=Subtree::MAX_LEVEL {
            let keep = usize::try_from(n >> level).unwrap_or(usize::MAX);
            cache[usize::from(level)].truncate(keep);
        }
        self.len.store(n, Ordering::Release);
        self.synced.store(
            self.synced.load(Ordering::Acquire).min(n),
            Ordering::Release,
        );
        Ok(())
    }

    /// Appends the locations of leaves `first..` and the subtrees they
    /// closed. `first` must be [`DerivedFiles::len`].
    pub fn append(
        &self,
        first: u64,
        locations: &[Location],
        subtrees: &[(Subtree, Hash)],
    ) -> Result<(), StorageError> {
        if first != self.len() {
            return Err(StorageError::Corrupt(format!(
                "derived files cover {} leaves but a batch starts at leaf {first}",
                self.len()
            )));
        }
        // Subtrees of one level close in index order, so each level's new
        // hashes are one run: one write per level per batch.
        let mut runs: Vec<(u8, u64, Vec<u8>)> = Vec::new();
        for (at, hash) in subtrees {
            let run = runs.iter_mut().find(|(level, start, buf)| {
                *level == at.level() && *start + buf.len() as u64 / HASH_LEN == at.index()
            });
            match run {
                Some((_, _, buf)) => buf.extend_from_slice(hash.as_bytes()),
                None => runs.push((at.level(), at.index(), hash.as_bytes().to_vec())),
            }
        }
        for (level, start, buf) in &runs {
            let Some(f) = self.handle(*level, true)? else {
                continue;
            };
            f.write_all_at(buf, start * HASH_LEN)
                .map_err(|e| StorageError::io(&self.level_path(*level), e))?;
        }
        let mut buf = Vec::with_capacity(locations.len() * LOCATION_LEN as usize);
        for loc in locations {
            encode_location(*loc, &mut buf)?;
        }
        self.locations
            .write_all_at(&buf, first * LOCATION_LEN)
            .map_err(|e| StorageError::io(&self.dir.join(LOCATIONS_FILE), e))?;
        {
            let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
            for (at, hash) in subtrees {
                if at.level() >= CACHE_FROM {
                    let slot = &mut cache[usize::from(at.level())];
                    if slot.len() < CACHE_LEN && slot.len() as u64 == at.index() {
                        slot.push(*hash);
                    }
                }
            }
        }
        self.len
            .store(first + locations.len() as u64, Ordering::Release);
        Ok(())
    }

    /// Appends a batch ([`DerivedFiles::append`]) and, every few batches,
    /// syncs the files: returns the new watermark when it did, for the
    /// caller to record in the same sled commit as the batch — only after
    /// the sync has returned, so a recorded watermark is always durable.
    pub fn append_batch(
        &self,
        first: u64,
        locations: &[Location],
        subtrees: &[(Subtree, Hash)],
    ) -> Result<Option<u64>, StorageError> {
        self.append(first, locations, subtrees)?;
        if self.sync_due() {
            return self.sync().map(Some);
        }
        Ok(None)
    }

    /// Start-up: cuts the files back to what can be trusted — no further
    /// than `watermark` (their last recorded sync), their own lengths, and
    /// `upto` — and returns that size. The caller re-derives the rest.
    pub fn trim_trusted(&self, watermark: u64, upto: u64) -> Result<u64, StorageError> {
        let keep = self.valid_len()?.min(watermark).min(upto);
        self.truncate(keep)?;
        Ok(keep)
    }

    /// Whether enough leaves have been appended since the last sync that
    /// the files should be synced now.
    pub fn sync_due(&self) -> bool {
        self.len() >= self.synced.load(Ordering::Acquire) + SYNC_EVERY
    }

    /// `fdatasync` of every file; returns the number of leaves now durable
    /// in them, which the caller records as the watermark.
    pub fn sync(&self) -> Result<u64, StorageError> {
        let len = self.len();
        self.locations
            .sync_data()
            .map_err(|e| StorageError::io(&self.dir.join(LOCATIONS_FILE), e))?;
        let open: Vec<(u8, Arc<File>)> = {
            let levels = self.levels.lock().unwrap_or_else(|p| p.into_inner());
            levels
                .iter()
                .enumerate()
                .filter_map(|(l, f)| f.as_ref().map(|f| (l as u8, Arc::clone(f))))
                .collect()
        };
        for (level, f) in open {
            f.sync_data()
                .map_err(|e| StorageError::io(&self.level_path(level), e))?;
        }
        super::segment::sync_dir(&self.dir)?;
        self.synced.store(len, Ordering::Release);
        Ok(len)
    }

    /// The stored hash of `at`, or `None` if the files do not hold it.
    pub fn hash(&self, at: &Subtree) -> Result<Option<[u8; 32]>, StorageError> {
        if at.level() >= CACHE_FROM {
            let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
            if let Some(h) = usize::try_from(at.index())
                .ok()
                .and_then(|i| cache[usize::from(at.level())].get(i))
            {
                return Ok(Some(*h.as_bytes()));
            }
        }
        let Some(f) = self.handle(at.level(), false)? else {
            return Ok(None);
        };
        let mut out = [0u8; 32];
        match f.read_exact_at(&mut out, at.index().saturating_mul(HASH_LEN)) {
            Ok(()) => Ok(Some(out)),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(StorageError::io(&self.level_path(at.level()), e)),
        }
    }

    /// The stored hashes of `count` consecutive subtrees of `level` from
    /// `start`, concatenated: one read, for a tile. The caller asks only
    /// for subtrees the log has closed; a file that ends sooner is damaged.
    pub fn hashes(&self, level: u8, start: u64, count: u64) -> Result<Vec<u8>, StorageError> {
        let short = || {
            StorageError::Corrupt(format!(
                "tree file {} holds fewer hashes than the log has leaves",
                level_file_name(level)
            ))
        };
        let f = self.handle(level, false)?.ok_or_else(short)?;
        let len = usize::try_from(count.saturating_mul(HASH_LEN)).map_err(|_| short())?;
        let mut out = vec![0u8; len];
        match f.read_exact_at(&mut out, start.saturating_mul(HASH_LEN)) {
            Ok(()) => Ok(out),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(short()),
            Err(e) => Err(StorageError::io(&self.level_path(level), e)),
        }
    }

    /// The location of leaf `index`, or `None` past the end.
    pub fn location(&self, index: u64) -> Result<Option<Location>, StorageError> {
        let mut b = [0u8; LOCATION_LEN as usize];
        match self
            .locations
            .read_exact_at(&mut b, index.saturating_mul(LOCATION_LEN))
        {
            Ok(()) => Ok(Some(decode_location(&b))),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(StorageError::io(&self.dir.join(LOCATIONS_FILE), e)),
        }
    }

    /// The locations of leaves `[start, end)`, stopping at the end of the
    /// index.
    pub fn locations(&self, start: u64, end: u64) -> Result<Vec<Location>, StorageError> {
        let end = end.min(self.len());
        if start >= end {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; ((end - start) * LOCATION_LEN) as usize];
        self.locations
            .read_exact_at(&mut buf, start * LOCATION_LEN)
            .map_err(|e| StorageError::io(&self.dir.join(LOCATIONS_FILE), e))?;
        Ok(buf
            .chunks_exact(LOCATION_LEN as usize)
            .map(decode_location)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_round_trip() {
        let loc = Location {
            segment: 1 << 33,
            offset: (1 << 40) - 1,
            len: (1 << 20) + 3,
        };
        let mut buf = Vec::new();
        encode_location(loc, &mut buf).unwrap();
        assert_eq!(buf.len(), LOCATION_LEN as usize);
        assert_eq!(decode_location(&buf), loc);
        let too_far = Location {
            offset: 1 << 40,
            ..loc
        };
        assert!(encode_location(too_far, &mut buf).is_err());
    }

    #[test]
    fn valid_len_follows_the_shortest_file() {
        let dir = tempfile::tempdir().unwrap();
        let files = DerivedFiles::open(dir.path()).unwrap();
        let mut compact = kaitiaki_protocol::merkle::CompactRange::new();
        let mut subtrees = Vec::new();
        let mut locs = Vec::new();
        for i in 0..10u64 {
            let h = kaitiaki_protocol::merkle::leaf_hash(&i.to_be_bytes());
            compact
                .push_with(h, |at, h| subtrees.push((at, h)))
                .unwrap();
            locs.push(Location {
                segment: 0,
                offset: 8 + 20 * i,
                len: 12,
            });
        }
        files.append(0, &locs, &subtrees).unwrap();
        assert_eq!(files.valid_len().unwrap(), 10);
        assert_eq!(files.location(9).unwrap(), Some(locs[9]));
        assert_eq!(files.location(10).unwrap(), None);
        // Level 1 losing its last hash leaves 8 or 9 leaves consistent.
        let l1 = files.level_path(1);
        let f = OpenOptions::new().write(true).open(&l1).unwrap();
        f.set_len(4 * HASH_LEN).unwrap();
        assert_eq!(files.valid_len().unwrap(), 9);
        files.truncate(8).unwrap();
        assert_eq!(files.len(), 8);
        assert_eq!(
            files.hash(&Subtree::new(3, 0)).unwrap(),
            Some(
                *subtrees
                    .iter()
                    .find(|(a, _)| *a == Subtree::new(3, 0))
                    .unwrap()
                    .1
                    .as_bytes()
            )
        );
        assert_eq!(files.hash(&Subtree::new(0, 8)).unwrap(), None);
    }
}
