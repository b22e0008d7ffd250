//! Append-only segment files: the durable source of truth for the node's own log.
//!
//! Principle 4 of the design: a write is acknowledged, and a checkpoint
//! published, only once the leaves it covers have reached stable storage.
//! sled's `flush` does not promise that, so the leaves themselves live here,
//! in plain files written with `fdatasync` ([`std::fs::File::sync_data`]).
//! Everything sled holds about the log can be rebuilt from these files.
//!
//! A segment is named after the index of its first leaf (`{first:020}.seg`)
//! and holds [`SEGMENT_MAGIC`] followed by records:
//!
//! ```text
//! len   u32 big-endian   length of the leaf bytes
//! crc   u32 big-endian   CRC-32 (IEEE) of len ‖ leaf bytes
//! leaf  len bytes        protocol::Leaf::to_bytes
//! ```
//!
//! The CRC covers the length too, so a torn header is caught as surely as a
//! torn body. A new segment starts once the current one reaches the
//! configured size, always at a batch boundary, so that one `fdatasync`
//! covers a whole batch.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::StorageError;

/// The first bytes of every segment file.
pub const SEGMENT_MAGIC: &[u8; 8] = b"KTKSEG1\n";
/// Bytes in front of each record's leaf bytes: length and CRC.
pub const RECORD_HEADER_LEN: u64 = 8;
/// The largest leaf a record may hold. Leaves are bounded by the protocol's
/// payload limit; this is a generous sanity bound for reading damaged files.
pub const MAX_RECORD_LEN: u32 = 1 << 20;
/// How many segment files the reader keeps open at once.
const MAX_OPEN_READERS: usize = 32;

/// Where one leaf's record lives: which segment, at which byte, how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    /// The segment, named by the index of its first leaf.
    pub segment: u64,
    /// The byte offset of the record header in that segment.
    pub offset: u64,
    /// The length of the leaf bytes (without the record header).
    pub len: u32,
}

impl Location {
    /// The stored form: segment, offset and length, big-endian.
    pub fn to_bytes(self) -> [u8; 20] {
        let mut out = [0u8; 20];
        out[..8].copy_from_slice(&self.segment.to_be_bytes());
        out[8..16].copy_from_slice(&self.offset.to_be_bytes());
        out[16..].copy_from_slice(&self.len.to_be_bytes());
        out
    }

    /// Reads the stored form; `None` if it is not 20 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Location> {
        let bytes: &[u8; 20] = bytes.try_into().ok()?;
        let (segment, rest) = bytes.split_at(8);
        let (offset, len) = rest.split_at(8);
        Some(Location {
            segment: u64::from_be_bytes(segment.try_into().ok()?),
            offset: u64::from_be_bytes(offset.try_into().ok()?),
            len: u32::from_be_bytes(len.try_into().ok()?),
        })
    }

    /// The offset just past this record.
    pub fn end(self) -> u64 {
        self.offset + RECORD_HEADER_LEN + u64::from(self.len)
    }
}

/// The file name of the segment whose first leaf is `first`.
pub fn segment_file_name(first: u64) -> String {
    format!("{first:020}.seg")
}

/// The segments in `dir`, by first leaf index, in order.
pub fn list_segments(dir: &Path) -> Result<Vec<u64>, StorageError> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| StorageError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StorageError::io(dir, e))?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".seg")) else {
            continue;
        };
        if stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(first) = stem.parse() {
                out.push(first);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The CRC of a record: over the length bytes, then the leaf bytes.
fn record_crc(len: [u8; 4], leaf: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&len);
    h.update(leaf);
    h.finalize()
}

/// Appends one record for `leaf` to `out`.
pub fn encode_record(leaf: &[u8], out: &mut Vec<u8>) {
    // Leaves are bounded by the protocol's payload limit, far below u32::MAX.
    let len = (leaf.len() as u32).to_be_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&record_crc(len, leaf).to_be_bytes());
    out.extend_from_slice(leaf);
}

/// Makes a new directory entry durable: a file created and then synced is
/// not reachable after a power cut unless its directory is synced too.
pub fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StorageError::io(dir, e))
}

/// A batch as written, before it is made durable.
#[derive(Debug)]
pub struct Written {
    /// The file the batch went to; syncing it makes the batch durable.
    pub file: Arc<File>,
    /// The segment's path, for error messages.
    pub path: PathBuf,
    /// One location per leaf, in order.
    pub locations: Vec<Location>,
    // The log's directory and the index of the batch's first leaf: where a
    // failed sync is recorded.
    dir: PathBuf,
    first: u64,
}

impl Written {
    /// `fdatasync`: returns once the batch is on stable storage.
    ///
    /// If it fails, the batch's pages may stay readable though never
    /// written, so first the log records, durably, where the batch began
    /// ([`super::recovery::UNSYNCED_MARK`]): the next start cuts the log
    /// there rather than take those pages for durable leaves. Every log
    /// does this, the node's own and each mirror.
    pub fn sync(&self) -> Result<(), StorageError> {
        let Err(e) = self.file.sync_data() else {
            return Ok(());
        };
        if let Some(at) = self.locations.first() {
            if let Err(mark) = super::recovery::mark_unsynced(&self.dir, *at, self.first) {
                tracing::error!(error = %mark, "could not record where the failed sync began");
            }
        }
        Err(StorageError::io(&self.path, e))
    }
}

/// Writes batches of leaves at the end of the log. One writer per log.
#[derive(Debug)]
pub struct SegmentWriter {
    dir: PathBuf,
    // Shared with the batches in flight, which sync it.
    file: Arc<File>,
    path: PathBuf,
    segment: u64,
    // INVARIANT: the end of the last whole record written to `file`; the
    // file's cursor is here.
    offset: u64,
    next_leaf: u64,
    roll_bytes: u64,
    // Reused between batches so that a batch costs one allocation-free write.
    buf: Vec<u8>,
}

impl SegmentWriter {
    /// Opens the writer at the end of a recovered log: the last segment is
    /// `segment`, its records end at `offset`, and the next leaf is `next_leaf`.
    ///
    /// Recovery (see [`super::recovery`]) has already truncated any torn tail.
    pub fn open(
        dir: &Path,
        segment: u64,
        offset: u64,
        next_leaf: u64,
        roll_bytes: u64,
    ) -> Result<SegmentWriter, StorageError> {
        let path = dir.join(segment_file_name(segment));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| StorageError::io(&path, e))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| StorageError::io(&path, e))?;
        Ok(SegmentWriter {
            dir: dir.to_owned(),
            file: Arc::new(file),
            path,
            segment,
            offset,
            next_leaf,
            roll_bytes: roll_bytes.max(crate::config::MIN_SEGMENT_BYTES),
            buf: Vec::new(),
        })
    }

    /// Creates the first segment of an empty log, or a new segment that
    /// starts at leaf `first`, durably (file and directory entry).
    pub fn create_segment(dir: &Path, first: u64) -> Result<PathBuf, StorageError> {
        let path = dir.join(segment_file_name(first));
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| StorageError::io(&path, e))?;
        file.write_all(SEGMENT_MAGIC)
            .and_then(|()| file.sync_data())
            .map_err(|e| StorageError::io(&path, e))?;
        sync_dir(dir)?;
        Ok(path)
    }

    /// The index the next leaf will get.
    pub fn next_leaf(&self) -> u64 {
        self.next_leaf
    }

    /// Writes a batch of leaves (each `Leaf::to_bytes`) in one `write`, and
    /// returns their locations. The batch is not durable until
    /// [`Written::sync`] returns.
    ///
    /// On error the segment may hold part of the batch; the caller must stop
    /// writing (the sequencer fails closed), and the next start-up truncates
    /// the partial record.
    pub fn append(&mut self, leaves: &[Vec<u8>]) -> Result<Written, StorageError> {
        if self.offset >= self.roll_bytes {
            self.roll()?;
        }
        self.buf.clear();
        let mut locations = Vec::with_capacity(leaves.len());
        let mut offset = self.offset;
        for leaf in leaves {
            encode_record(leaf, &mut self.buf);
            let loc = Location {
                segment: self.segment,
                offset,
                len: leaf.len() as u32,
            };
            offset = loc.end();
            locations.push(loc);
        }
        (&*self.file)
            .write_all(&self.buf)
            .map_err(|e| StorageError::io(&self.path, e))?;
        self.offset = offset;
        let first = self.next_leaf;
        self.next_leaf += leaves.len() as u64;
        // Large batches would otherwise pin their peak size in memory.
        if self.buf.capacity() > 4 << 20 {
            self.buf = Vec::new();
        }
        Ok(Written {
            file: Arc::clone(&self.file),
            path: self.path.clone(),
            locations,
            dir: self.dir.clone(),
            first,
        })
    }

    /// Starts a new segment at the next leaf.
    ///
    /// The old segment is synced first. Its last batch may not be yet (the
    /// commit thread syncs it in its turn), and the new segment's file and
    /// directory entry are made durable at once: a power cut could then
    /// keep a segment that starts after leaves the old one lost, a gap no
    /// recovery may paper over, and the node would refuse to start.
    fn roll(&mut self) -> Result<(), StorageError> {
        if let Err(e) = self.file.sync_data() {
            // The kernel reports a failed write-back once, to whichever
            // sync asks first: a batch still in flight on this file could
            // then sync "successfully" without being on disk. So nothing in
            // this segment is trusted past what sled already knows: the
            // mark goes at its first record, and the next start refuses to
            // guess if acknowledged leaves lie beyond it.
            let start = Location {
                segment: self.segment,
                offset: SEGMENT_MAGIC.len() as u64,
                len: 0,
            };
            if let Err(mark) = super::recovery::mark_unsynced(&self.dir, start, self.segment) {
                tracing::error!(error = %mark, "could not record where the failed sync began");
            }
            return Err(StorageError::io(&self.path, e));
        }
        let path = Self::create_segment(&self.dir, self.next_leaf)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| StorageError::io(&path, e))?;
        file.seek(SeekFrom::End(0))
            .map_err(|e| StorageError::io(&path, e))?;
        tracing::info!(segment = self.next_leaf, "started a new segment");
        self.file = Arc::new(file);
        self.path = path;
        self.segment = self.next_leaf;
        self.offset = SEGMENT_MAGIC.len() as u64;
        Ok(())
    }
}

/// Reads records by location, from any thread.
#[derive(Debug)]
pub struct SegmentReader {
    dir: PathBuf,
    // Open handles, so a page of leaves does not reopen files. Positional
    // reads (`read_exact_at`) let many readers share one handle.
    open: Mutex<HashMap<u64, Arc<File>>>,
    // The first record a read found damaged, in words: start-up reads only
    // the tail past what sled indexes, so damage inside the log is first
    // met here, and the node's health must say so.
    damage: Mutex<Option<String>>,
}

impl SegmentReader {
    /// A reader over the segments in `dir`.
    pub fn new(dir: &Path) -> SegmentReader {
        SegmentReader {
            dir: dir.to_owned(),
            open: Mutex::new(HashMap::new()),
            damage: Mutex::new(None),
        }
    }

    /// The first damaged record a read met, if any.
    pub fn damage(&self) -> Option<String> {
        self.damage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn handle(&self, segment: u64) -> Result<Arc<File>, StorageError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = open.get(&segment) {
            return Ok(Arc::clone(f));
        }
        let path = self.dir.join(segment_file_name(segment));
        let file = Arc::new(File::open(&path).map_err(|e| StorageError::io(&path, e))?);
        if open.len() >= MAX_OPEN_READERS {
            open.clear();
        }
        open.insert(segment, Arc::clone(&file));
        Ok(file)
    }

    /// Reads and checks the leaf bytes at `loc`.
    pub fn read(&self, loc: Location) -> Result<Vec<u8>, StorageError> {
        let file = self.handle(loc.segment)?;
        let mut buf = vec![0u8; RECORD_HEADER_LEN as usize + loc.len as usize];
        file.read_exact_at(&mut buf, loc.offset)
            .map_err(|e| StorageError::io(&self.dir.join(segment_file_name(loc.segment)), e))?;
        match decode_record(&buf) {
            Some(leaf) if leaf.len() == loc.len as usize => Ok(leaf.to_vec()),
            _ => {
                let what = format!(
                    "record at segment {} offset {} fails its check",
                    loc.segment, loc.offset
                );
                let mut damage = self.damage.lock().unwrap_or_else(|p| p.into_inner());
                if damage.is_none() {
                    tracing::error!(dir = %self.dir.display(), problem = %what,
                        "a stored record is damaged");
                    *damage = Some(format!("{what} (in {})", self.dir.display()));
                }
                Err(StorageError::Corrupt(what))
            }
        }
    }
}

/// Checks a whole record in `buf` (header and leaf bytes, nothing more) and
/// returns the leaf bytes.
fn decode_record(buf: &[u8]) -> Option<&[u8]> {
    let (header, leaf) = buf.split_at_checked(RECORD_HEADER_LEN as usize)?;
    let len: [u8; 4] = header[..4].try_into().ok()?;
    let crc = u32::from_be_bytes(header[4..].try_into().ok()?);
    (u32::from_be_bytes(len) as usize == leaf.len() && record_crc(len, leaf) == crc).then_some(leaf)
}

/// The offset in `buf` of the first whole, checked record that starts
/// after its first byte, if any: after a record that fails its check, one
/// that follows shows the damage is not a torn write at the end of the
/// log. (A record is found by its checksum; garbage passes it with odds of
/// one in four thousand million.)
pub fn whole_record_after_first_byte(buf: &[u8]) -> Option<usize> {
    let header = RECORD_HEADER_LEN as usize;
    (1..buf.len().saturating_sub(header - 1)).find(|&at| {
        let Some(len) = buf
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes)
        else {
            return false;
        };
        len <= MAX_RECORD_LEN
            && buf
                .get(at..at + header + len as usize)
                .and_then(decode_record)
                .is_some()
    })
}

/// What a sequential scan found at one position.
#[derive(Debug)]
pub enum Scanned {
    /// A whole, checked record.
    Record(Location, Vec<u8>),
    /// The clean end of the segment.
    End,
    /// A torn or damaged record starts at this offset.
    Bad(u64),
}

/// Reads a segment's records in order, from a given offset.
#[derive(Debug)]
pub struct SegmentScanner {
    segment: u64,
    reader: std::io::BufReader<File>,
    offset: u64,
    len: u64,
}

impl SegmentScanner {
    /// Opens segment `segment` in `dir` and positions it at `offset` (at
    /// least past the magic). `Ok(None)` means the file is shorter than its
    /// magic or has the wrong magic.
    pub fn open(
        dir: &Path,
        segment: u64,
        offset: u64,
    ) -> Result<Option<SegmentScanner>, StorageError> {
        let path = dir.join(segment_file_name(segment));
        let mut file = File::open(&path).map_err(|e| StorageError::io(&path, e))?;
        let len = file
            .metadata()
            .map_err(|e| StorageError::io(&path, e))?
            .len();
        let mut magic = [0u8; 8];
        if len < magic.len() as u64 {
            return Ok(None);
        }
        file.read_exact(&mut magic)
            .map_err(|e| StorageError::io(&path, e))?;
        if &magic != SEGMENT_MAGIC {
            return Ok(None);
        }
        let offset = offset.max(SEGMENT_MAGIC.len() as u64);
        if offset > len {
            // sled knows a record that the file does not hold: sled is ahead
            // of the durable log, which the write order rules out.
            return Err(StorageError::Corrupt(format!(
                "segment {segment} is {len} bytes but a record is indexed up to byte {offset}"
            )));
        }
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| StorageError::io(&path, e))?;
        Ok(Some(SegmentScanner {
            segment,
            reader: std::io::BufReader::with_capacity(1 << 16, file),
            offset,
            len,
        }))
    }

    /// The offset of the next record.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the next record.
    pub fn next_record(&mut self) -> Result<Scanned, StorageError> {
        if self.offset == self.len {
            return Ok(Scanned::End);
        }
        if self.len - self.offset < RECORD_HEADER_LEN {
            return Ok(Scanned::Bad(self.offset));
        }
        let mut header = [0u8; RECORD_HEADER_LEN as usize];
        let io = |e| StorageError::Corrupt(format!("reading segment {}: {e}", self.segment));
        self.reader.read_exact(&mut header).map_err(io)?;
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        if len > MAX_RECORD_LEN || self.len - self.offset - RECORD_HEADER_LEN < u64::from(len) {
            return Ok(Scanned::Bad(self.offset));
        }
        let mut record = Vec::with_capacity(RECORD_HEADER_LEN as usize + len as usize);
        record.extend_from_slice(&header);
        record.resize(RECORD_HEADER_LEN as usize + len as usize, 0);
        self.reader
            .read_exact(&mut record[RECORD_HEADER_LEN as usize..])
            .map_err(|e| StorageError::Corrupt(format!("reading segment {}: {e}", self.segment)))?;
        if decode_record(&record).is_none() {
            return Ok(Scanned::Bad(self.offset));
        }
        let loc = Location {
            segment: self.segment,
            offset: self.offset,
            len,
        };
        self.offset = loc.end();
        record.drain(..RECORD_HEADER_LEN as usize);
        Ok(Scanned::Record(loc, record))
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_whole_record_after_damage_is_found_and_garbage_is_not() {
        let mut buf = Vec::new();
        encode_record(b"first leaf", &mut buf);
        let second = buf.len();
        encode_record(b"second leaf", &mut buf);
        buf[3] ^= 0xff;
        assert_eq!(whole_record_after_first_byte(&buf), Some(second));
        assert_eq!(whole_record_after_first_byte(&buf[..second]), None);
        assert_eq!(whole_record_after_first_byte(&[0xAB; 64]), None);
        assert_eq!(whole_record_after_first_byte(&[0; 64]), None);
        assert_eq!(whole_record_after_first_byte(&[]), None);
    }
    use super::*;

    #[test]
    fn location_round_trips() {
        let loc = Location {
            segment: 7,
            offset: 1 << 40,
            len: 513,
        };
        assert_eq!(Location::from_bytes(&loc.to_bytes()), Some(loc));
        assert_eq!(Location::from_bytes(&[0; 19]), None);
    }

    #[test]
    fn written_records_scan_back_and_damage_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        SegmentWriter::create_segment(dir.path(), 0).unwrap();
        let mut w = SegmentWriter::open(dir.path(), 0, 8, 0, 1 << 20).unwrap();
        let written = w.append(&[b"one".to_vec(), b"two!".to_vec()]).unwrap();
        written.sync().unwrap();
        let reader = SegmentReader::new(dir.path());
        assert_eq!(reader.read(written.locations[1]).unwrap(), b"two!");

        let mut scan = SegmentScanner::open(dir.path(), 0, 0).unwrap().unwrap();
        assert!(matches!(scan.next_record().unwrap(), Scanned::Record(_, r) if r == b"one"));
        assert!(matches!(scan.next_record().unwrap(), Scanned::Record(_, r) if r == b"two!"));
        assert!(matches!(scan.next_record().unwrap(), Scanned::End));

        // Flip one byte of the second leaf: the scan stops there.
        let path = dir.path().join(segment_file_name(0));
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let mut scan = SegmentScanner::open(dir.path(), 0, 0).unwrap().unwrap();
        assert!(matches!(scan.next_record().unwrap(), Scanned::Record(..)));
        assert!(
            matches!(scan.next_record().unwrap(), Scanned::Bad(o) if o == written.locations[1].offset)
        );
        assert!(reader.read(written.locations[1]).is_err());
    }

    #[test]
    fn rolls_at_batch_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        SegmentWriter::create_segment(dir.path(), 0).unwrap();
        let mut w = SegmentWriter::open(dir.path(), 0, 8, 0, 4096).unwrap();
        let big = vec![7u8; 3000];
        w.append(&[big.clone(), big.clone()]).unwrap();
        let second = w.append(std::slice::from_ref(&big)).unwrap();
        assert_eq!(second.locations[0].segment, 2);
        assert_eq!(list_segments(dir.path()).unwrap(), vec![0, 2]);
    }
}
