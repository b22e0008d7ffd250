//! Where an audit reads the logs a node holds from: a node over HTTP, or a
//! node's data directory on disk.
//!
//! A node holds its own log and a mirror of each peer's log. Over HTTP each
//! is read as raw leaves, the exact bytes its tree hashes
//! (`GET /v1/leaves/raw`, `GET /v1/mirrors/{origin}/leaves/raw`), so the
//! audit parses what it would parse on disk. On disk a mirror is laid out
//! exactly like the own log, under `mirrors/<origin>/log/`, so the same
//! segment reader serves both; the sizes and checkpoints that bound each
//! mirror come from the node's sled metadata.
//!
//! Both readers run on their own thread and hand batches of raw leaves to
//! the checking stage through a bounded channel, so reading, checking and
//! folding overlap and at most a few batches are ever in memory.
//!
//! Reading a data directory goes through the node crate's own storage code:
//! segment files are scanned record by record (each record's CRC checked),
//! and the sled database supplies the stored tree hashes, the stored
//! checkpoints and the indexes, all of which the audit compares with what it
//! recomputes from the leaves. sled allows one process at a time, so the
//! node must be stopped; nothing is written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use kaitiaki_node::storage::segment::{list_segments, segment_file_name, Scanned, SegmentScanner};
use kaitiaki_node::storage::{Storage, StorageError};

use super::fold::Stored;
use super::Fault;
use crate::client::{raw_leaves_cap, read_capped};

/// Leaves per batch read from segments (HTTP pages are the node's size).
pub const BATCH: usize = 1024;
/// Raw leaves asked for per HTTP request (the node's maximum).
pub const RAW_PAGE: u64 = 4096;
/// Batches a reader may run ahead of the checkers.
pub const AHEAD: usize = 4;

/// One leaf as read, before any check.
#[derive(Debug)]
pub enum Raw {
    /// Leaf bytes from a segment record whose CRC checked.
    Stored {
        /// The leaf index (the record's position in the log).
        index: u64,
        /// The segment (named by its first leaf) and byte offset of the record.
        segment: u64,
        /// The record's byte offset.
        offset: u64,
        /// The leaf bytes.
        bytes: Vec<u8>,
    },
    /// A leaf served over HTTP as its raw bytes.
    Bytes {
        /// The leaf index in its log.
        index: u64,
        /// The leaf bytes, exactly as the log's tree hashes them.
        bytes: Vec<u8>,
    },
}

impl Raw {
    /// The leaf index.
    pub fn index(&self) -> u64 {
        match self {
            Raw::Stored { index, .. } => *index,
            Raw::Bytes { index, .. } => *index,
        }
    }
}

/// What a reader sends: a batch, or the fault that stopped it.
pub type Item = Result<Vec<Raw>, Fault>;

/// Reads leaves `[0, size)` of the node's own log (`mirror` None) or of its
/// mirror of a peer's log, as raw bytes (`u32` big-endian length, then the
/// leaf, repeated).
pub fn read_http(
    base: String,
    mirror: Option<String>,
    handle: tokio::runtime::Handle,
    size: u64,
    tx: SyncSender<Item>,
) {
    let http = match reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .user_agent(concat!("kaitiaki-cli/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            let _ = tx.send(Err(Fault::general(format!(
                "cannot set up the HTTP client: {e}"
            ))));
            return;
        }
    };
    let (place, path) = match &mirror {
        Some(origin) => (
            Some(format!("mirror of {origin}")),
            format!("/v1/mirrors/{origin}/leaves/raw"),
        ),
        None => (None, "/v1/leaves/raw".to_owned()),
    };
    let mut next = 0u64;
    while next < size {
        let limit = RAW_PAGE.min(size - next);
        let url = format!("{base}{path}?start={next}&limit={limit}");
        let body = handle.block_on(async {
            let resp = http.get(&url).send().await?.error_for_status()?;
            read_capped(resp, raw_leaves_cap(limit), "a page of raw leaves").await
        });
        let body = match body {
            Ok(b) => b,
            Err(e) => {
                let _ = tx.send(Err(Fault::at(
                    next,
                    place.clone(),
                    format!("the node did not serve it: {e:#}"),
                )));
                return;
            }
        };
        let mut batch = Vec::new();
        let mut rest: &[u8] = &body;
        while !rest.is_empty() && next < size {
            let Some((len, tail)) = rest.split_first_chunk::<4>() else {
                let _ = tx.send(Err(Fault::at(
                    next,
                    place.clone(),
                    "the node served a truncated length prefix".into(),
                )));
                return;
            };
            let len = u32::from_be_bytes(*len) as usize;
            if tail.len() < len {
                let _ = tx.send(Err(Fault::at(
                    next,
                    place.clone(),
                    format!("the node served {} of the leaf's {len} bytes", tail.len()),
                )));
                return;
            }
            let (bytes, tail) = tail.split_at(len);
            batch.push(Raw::Bytes {
                index: next,
                bytes: bytes.to_vec(),
            });
            next += 1;
            rest = tail;
        }
        if batch.is_empty() {
            let _ = tx.send(Err(Fault::at(
                next,
                place.clone(),
                "the node served no leaves from here on".into(),
            )));
            return;
        }
        if tx.send(Ok(batch)).is_err() {
            return;
        }
    }
}

/// What a data directory records about one mirror.
pub struct StoredMirror {
    /// Leaves stored and folded into the node's governance state.
    pub size: u64,
    /// The peer's largest checkpoint note the mirror was verified against.
    pub checkpoint: Option<String>,
    /// The peer's latest checkpoint note whose whole tree the mirror holds.
    pub complete: Option<String>,
}

/// A node's data directory, opened for reading.
pub struct DataDir {
    /// The directory.
    pub path: PathBuf,
    /// The node's storage (segments and sled).
    pub storage: Storage,
}

impl DataDir {
    /// Opens `path`, which must be a node's data directory.
    pub fn open(path: &Path) -> Result<DataDir> {
        if path.join("log").is_dir() && !path.join("db").is_dir() {
            // A backup of the log alone, as README describes for a running
            // node: no signed checkpoint is kept with it.
            bail!(
                "{} holds a log (log/) but no database (db/), where a node keeps its signed \
                 checkpoints, so there is nothing here to audit the records against: audit \
                 the node's URL, or restore this copy (README: \"Backing up and restoring a \
                 node\") and audit the node",
                path.display()
            );
        }
        if !path.join("log").is_dir() || !path.join("db").is_dir() {
            // "127.0.0.1:7878" or "node.example.org" meant as an address.
            let looks_like_address = !path.exists()
                && path
                    .to_str()
                    .is_some_and(|t| !t.contains('/') && (t.contains(':') || t.contains('.')));
            let hint = if looks_like_address {
                format!(
                    "; if it is a node's address, start it with http:// (http://{})",
                    path.display()
                )
            } else {
                String::new()
            };
            bail!(
                "{} is not a node's data directory (it has no log/ and db/); give a URL or the \
                 directory a node was started with{hint}",
                path.display()
            );
        }
        // The page cache is small: the audit reads each stored hash once.
        let storage = match Storage::open(path, 8 << 20) {
            Ok(s) => s,
            Err(StorageError::InUse { .. }) => {
                let url = crate::demo::url_of_node_dir(path);
                bail!(crate::node_cmd::in_use_message(path, url.as_deref()));
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot open the node's database in {}",
                    path.display()
                )));
            }
        };
        Ok(DataDir {
            path: path.to_owned(),
            storage,
        })
    }

    /// The log key, derived from the node's own key file, if it is here.
    pub fn node_verifier_key(&self, origin: &str) -> Result<Option<String>> {
        if !self.path.join(kaitiaki_node::identity::KEY_FILE).exists() {
            return Ok(None);
        }
        let id = kaitiaki_node::identity::Identity::load_or_create(&self.path, origin)
            .context("cannot read the node's key file")?;
        Ok(Some(id.verifier().to_string()))
    }

    /// The directory of the segment files of the mirror of `origin`.
    pub fn mirror_log_dir(&self, origin: &str) -> PathBuf {
        self.path
            .join(kaitiaki_node::storage::mirror::MIRRORS_DIR)
            .join(origin)
            .join("log")
    }

    /// The origins of the mirrors held here.
    pub fn mirror_origins(&self) -> Result<Vec<String>> {
        self.storage
            .mirror_origins()
            .context("cannot list the mirrors")
    }

    /// The size and complete checkpoint sled records for the mirror of `origin`.
    pub fn mirror_meta(&self, origin: &str) -> Result<StoredMirror> {
        let field = |name: &str| -> Result<Option<Vec<u8>>> {
            let mut key = origin.as_bytes().to_vec();
            key.push(0);
            key.extend_from_slice(name.as_bytes());
            self.storage
                .get_in(MIRROR_SPACE, &key)
                .with_context(|| format!("cannot read the mirror of {origin} from the database"))
        };
        let size = match field("size")? {
            None => 0,
            Some(v) => u64::from_be_bytes(v.as_slice().try_into().map_err(|_| {
                anyhow::anyhow!("the database's size of the mirror of {origin} is malformed")
            })?),
        };
        let note = |name: &str, what: &str| -> Result<Option<String>> {
            field(name)?
                .map(String::from_utf8)
                .transpose()
                .with_context(|| format!("the {what} of the mirror of {origin} is not UTF-8"))
        };
        Ok(StoredMirror {
            size,
            checkpoint: note("checkpoint", "latest verified checkpoint")?,
            complete: note("complete", "complete checkpoint")?,
        })
    }

    /// The log keys of the peers the node was told to follow at run time
    /// (and those removed since), by origin; peers from its configuration
    /// file are not in the directory.
    pub fn stored_peer_keys(&self) -> BTreeMap<String, String> {
        kaitiaki_node::replication::peer_file::stored_keys(&self.storage)
    }
}

/// sled key space of mirror metadata (`mirror\0 ‖ origin ‖ \0field`).
const MIRROR_SPACE: &[u8] = b"mirror\0";

/// Scans the segment files in `log_dir` in order, to their end: leaves
/// `[0, size)` are sent on, each record's CRC checked and, given the own
/// log's (or a mirror's) `index_of`, that its location index puts the leaf
/// where it was found.
///
/// What lies beyond `size` (`bound` says what that size is) is not sent, but
/// it is not ignored: the node indexes every complete record it finds at its
/// next start, and signs it into its log (or folds it into its state, for a
/// mirror), so a complete record there is a fault. A torn final record,
/// which the node cuts off, and records after a failed sync, which it
/// drops, are returned as notes.
pub fn read_segments(
    log_dir: &Path,
    size: u64,
    bound: &str,
    index_of: Option<Stored<'_>>,
    tx: SyncSender<Item>,
) -> Vec<String> {
    let mut batch = Vec::with_capacity(BATCH);
    let mut notes = Vec::new();
    let scanned = scan_segments(log_dir, size, bound, index_of, &tx, &mut batch, &mut notes);
    // A fault first hands over the leaves read before it, so the audit
    // checks everything up to the bad leaf and reports how far it got.
    if !batch.is_empty() {
        let _ = tx.send(Ok(batch));
    }
    if let Err(fault) = scanned {
        let _ = tx.send(Err(fault));
    }
    notes
}

/// [`read_segments`]'s scan: sends full batches on `tx`, leaves the last
/// partial one in `batch` and notes in `notes`, and stops at the first
/// fault. Stops early, without a fault, where the rest of the log is known
/// to be dropped at the node's next start, or when the receiver is gone.
fn scan_segments(
    log_dir: &Path,
    size: u64,
    bound: &str,
    index_of: Option<Stored<'_>>,
    tx: &SyncSender<Item>,
    batch: &mut Vec<Raw>,
    notes: &mut Vec<String>,
) -> Result<(), Fault> {
    let segments = list_segments(log_dir)
        .map_err(|e| Fault::at(0, None, format!("cannot list the segment files: {e}")))?;
    let unsynced = unsynced_from(log_dir).map_err(|why| Fault::at(0, None, why))?;
    // Each later segment is checked to start where the one before it
    // ended, at that one's end; the first must start at leaf 0.
    if let Some(&first) = segments.first().filter(|first| **first != 0) {
        return Err(Fault::at(
            0,
            Some(segment_file_name(first)),
            format!(
                "the first segment starts at leaf {first}, not at leaf 0: the leaves before it \
                 are missing"
            ),
        ));
    }
    let mut index = 0u64;
    for (n, &segment) in segments.iter().enumerate() {
        let name = segment_file_name(segment);
        let last = n + 1 == segments.len();
        let scanner = SegmentScanner::open(log_dir, segment, 0).map_err(|e| {
            Fault::at(
                index,
                Some(name.clone()),
                format!("cannot read the segment: {e}"),
            )
        })?;
        let Some(mut scanner) = scanner else {
            if last && index >= size {
                // The node was creating it when it stopped; it holds
                // nothing, and the node writes it again.
                notes.push(format!(
                    "{name}, after {bound} (size {size}), has no valid header yet; the node \
                     writes it again at its next start"
                ));
                break;
            }
            return Err(Fault::at(
                index,
                Some(name),
                "the segment file has no valid header".into(),
            ));
        };
        loop {
            let scanned = scanner.next_record().map_err(|e| {
                Fault::at(
                    index,
                    Some(name.clone()),
                    format!("cannot read the segment: {e}"),
                )
            })?;
            match scanned {
                Scanned::Record(loc, _) if index >= size => {
                    if unsynced.is_some_and(|first| index >= first) {
                        notes.push(format!(
                            "the records from leaf {index} on ({name}, byte {}) were written after a \
                             failed sync; the node drops them at its next start",
                            loc.offset
                        ));
                        return Ok(());
                    }
                    return Err(Fault::at(
                        index,
                        Some(format!("{name}, byte {}", loc.offset)),
                        format!(
                            "a complete record lies beyond {bound} (size {size}): the node \
                             takes it into its log at its next start, unaudited (if the node stopped \
                             while committing, start it once and audit again)"
                        ),
                    ));
                }
                Scanned::Record(loc, bytes) => {
                    let indexed = match index_of {
                        Some(storage) => storage.location(index),
                        None => Ok(Some(loc)),
                    };
                    match indexed {
                        Ok(Some(indexed)) if indexed == loc => {}
                        Ok(other) => {
                            return Err(Fault::at(
                                index,
                                Some(format!("{name}, byte {}", loc.offset)),
                                format!("the database indexes this leaf at {other:?}, not where it is stored"),
                            ));
                        }
                        Err(e) => {
                            return Err(Fault::at(
                                index,
                                None,
                                format!("cannot read the leaf index: {e}"),
                            ));
                        }
                    }
                    batch.push(Raw::Stored {
                        index,
                        segment,
                        offset: loc.offset,
                        bytes,
                    });
                    index += 1;
                    if batch.len() == BATCH
                        && tx
                            .send(Ok(std::mem::replace(batch, Vec::with_capacity(BATCH))))
                            .is_err()
                    {
                        return Ok(());
                    }
                }
                Scanned::End => break,
                Scanned::Bad(offset) if last && index >= size => {
                    notes.push(format!(
                        "{name} ends in a torn record at byte {offset}, after {bound} (size \
                         {size}); the node cuts it off at its next start"
                    ));
                    break;
                }
                Scanned::Bad(offset) => {
                    return Err(Fault::at(
                        index,
                        Some(format!("{name}, byte {offset}")),
                        "the stored record fails its checksum: the leaf's bytes were altered or damaged on disk"
                            .into(),
                    ));
                }
            }
        }
        // A segment ends where the next one starts; a gap loses leaves.
        if !last && segments[n + 1] != index {
            return Err(Fault::at(
                index,
                Some(name),
                format!(
                    "the segment ends before leaf {index}, but the next one starts at leaf {}",
                    segments[n + 1]
                ),
            ));
        }
    }
    if index < size {
        return Err(Fault::at(
            index,
            None,
            format!("the segments hold only {index} leaves, but {size} are recorded"),
        ));
    }
    Ok(())
}

/// The first leaf written after a sync that failed, if the node recorded
/// one in `log_dir` (its next start drops that leaf and every later one).
fn unsynced_from(log_dir: &Path) -> Result<Option<u64>, String> {
    match kaitiaki_node::storage::recovery::read_unsynced_mark(log_dir) {
        Ok(mark) => Ok(mark.map(|(_segment, _offset, first)| first)),
        Err(StorageError::Corrupt(why)) => Err(why),
        Err(StorageError::Io { path, source }) => {
            Err(format!("cannot read {}: {source}", path.display()))
        }
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kaitiaki_node::storage::recovery::{mark_unsynced, UNSYNCED_MARK};
    use kaitiaki_node::storage::segment::encode_record;
    use kaitiaki_node::storage::{Location, SegmentWriter};

    #[test]
    fn a_backup_of_the_log_alone_is_said_to_hold_no_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("log")).unwrap();
        let err = DataDir::open(dir.path()).err().unwrap().to_string();
        assert!(
            err.contains("holds a log (log/) but no database (db/)")
                && err.contains("audit the node's URL"),
            "{err}"
        );
        let empty = tempfile::tempdir().unwrap();
        let err = DataDir::open(empty.path()).err().unwrap().to_string();
        assert!(err.contains("is not a node's data directory"), "{err}");
    }

    /// A segment starting at leaf `first` holding `leaves` records.
    fn segment(dir: &Path, first: u64, leaves: u8) {
        let path = SegmentWriter::create_segment(dir, first).unwrap();
        let mut records = Vec::new();
        for i in 0..leaves {
            encode_record(&[i; 10], &mut records);
        }
        let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
        std::io::Write::write_all(&mut file, &records).unwrap();
    }

    /// What `read_segments` sends: the leaf indices, then the fault if any.
    fn read(dir: &Path, size: u64) -> (Vec<u64>, Option<Fault>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(AHEAD);
        let (notes, leaves, fault) = std::thread::scope(|s| {
            let reader = s.spawn(|| read_segments(dir, size, "the checkpoint", None, tx));
            let mut leaves = Vec::new();
            let mut fault = None;
            for item in rx {
                match item {
                    Ok(batch) => leaves.extend(batch.iter().map(Raw::index)),
                    Err(f) => fault = Some(f),
                }
            }
            (reader.join().unwrap(), leaves, fault)
        });
        assert_eq!(notes, Vec::<String>::new());
        (leaves, fault)
    }

    #[test]
    fn a_first_segment_not_at_leaf_0_is_a_fault_in_leaf_0() {
        let dir = tempfile::tempdir().unwrap();
        segment(dir.path(), 1, 2);
        let (leaves, fault) = read(dir.path(), 3);
        assert!(leaves.is_empty());
        let fault = fault.unwrap();
        assert_eq!(fault.leaf, Some(0));
        assert_eq!(fault.place, Some(segment_file_name(1)));
        assert_eq!(
            fault.why,
            "the first segment starts at leaf 1, not at leaf 0: the leaves before it are missing"
        );
    }

    #[test]
    fn a_gap_between_segments_is_a_fault_where_the_earlier_one_ends() {
        let dir = tempfile::tempdir().unwrap();
        segment(dir.path(), 0, 2);
        segment(dir.path(), 3, 1);
        let (leaves, fault) = read(dir.path(), 4);
        assert_eq!(leaves, [0, 1], "the leaves before the gap are handed over");
        let fault = fault.unwrap();
        assert_eq!(fault.leaf, Some(2));
        assert_eq!(fault.place, Some(segment_file_name(0)));
        assert_eq!(
            fault.why,
            "the segment ends before leaf 2, but the next one starts at leaf 3"
        );
    }

    #[test]
    fn segments_that_follow_each_other_are_read_to_their_end() {
        let dir = tempfile::tempdir().unwrap();
        segment(dir.path(), 0, 2);
        segment(dir.path(), 2, 2);
        let (leaves, fault) = read(dir.path(), 4);
        assert_eq!(leaves, [0, 1, 2, 3]);
        assert!(fault.is_none());
    }

    #[test]
    fn the_first_unsynced_leaf_is_read_from_the_nodes_mark() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(unsynced_from(dir.path()), Ok(None));
        let at = Location {
            segment: 4,
            offset: 96,
            len: 10,
        };
        mark_unsynced(dir.path(), at, 5).unwrap();
        assert_eq!(unsynced_from(dir.path()), Ok(Some(5)));
        let mark = dir.path().join(UNSYNCED_MARK);
        std::fs::write(&mark, b"short").unwrap();
        assert_eq!(
            unsynced_from(dir.path()),
            Err(format!(
                "{} is not a record of where a failed sync began",
                mark.display()
            ))
        );
    }
}
