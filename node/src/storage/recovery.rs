//! Start-up reconciliation of sled with the segment files.
//!
//! After a crash or power cut three things can be true, and nothing else:
//!
//! 1. The last segment ends in a torn record: a batch was being written when
//!    the power went. No leaf of that batch was acknowledged (acknowledgement
//!    waits for `fdatasync`), so the torn bytes are cut off.
//! 2. sled lacks some durable leaves: sled commits after the `fdatasync` and
//!    flushes lazily, so it can lose its last batches. Those leaves are read
//!    back from the segments and handed to the caller to re-index, exactly as
//!    the sequencer would have indexed them.
//! 3. The derived files (tree hashes, locations; see [`super::files`]) lack
//!    a tail, or hold one that was never synced: they are cut back to what
//!    was synced ([`Storage::trim_derived`]) and the leaves after that are
//!    handed to the caller too, to derive them again.
//!
//! Before reading the tail, recovery syncs the segments it will read: after
//! a process crash they can hold records that were written but never
//! synced, and those become leaves (and a signed checkpoint) only once they
//! are as durable as any acknowledged leaf.
//!
//! sled is never ahead of the segments (see [`super`]); if it seems to be,
//! or a segment other than the last is damaged, recovery refuses to start
//! rather than guess. Only the tail that sled lacks is ever read, so start-up
//! costs time proportional to what the crash lost, not to the log.

use std::fs::OpenOptions;
use std::path::Path;

use super::segment::Location as Loc;
use super::segment::{
    list_segments, Location, Scanned, SegmentScanner, SegmentWriter, SEGMENT_MAGIC,
};
use super::{Storage, StorageError};

/// A log whose sled index and derived files recovery reconciles with its
/// segments: the node's own log ([`Storage`]) or a mirror.
pub trait Recoverable {
    /// The directory of the segment files.
    fn log_dir(&self) -> &Path;
    /// The number of leaves sled has indexed.
    fn indexed_size(&self) -> Result<u64, StorageError>;
    /// How many leaves are known to have been durable: no fewer than sled
    /// indexes, and no fewer than a signed checkpoint covers. Recovery
    /// never cuts the log below this, even when sled's index was reset on
    /// purpose (to fold the log again) and covers fewer.
    fn durable_size(&self) -> Result<u64, StorageError> {
        self.indexed_size()
    }
    /// The number of leaves the derived files cover.
    fn derived_size(&self) -> u64;
    /// Where leaf `index` is stored, per the derived files.
    fn location(&self, index: u64) -> Result<Option<Loc>, StorageError>;
}

impl Recoverable for Storage {
    fn log_dir(&self) -> &Path {
        Storage::log_dir(self)
    }
    fn indexed_size(&self) -> Result<u64, StorageError> {
        Storage::indexed_size(self)
    }
    fn durable_size(&self) -> Result<u64, StorageError> {
        let signed = Storage::latest_checkpoint(self)?
            .as_deref()
            .and_then(super::mirror::checkpoint_size)
            .unwrap_or(0);
        // The checkpoint kept in the tree files is written only after its
        // leaves are durable, and outlives a database moved aside: a
        // record damaged below it is an acknowledged leaf lost, never a
        // torn tail to cut off.
        let kept = Storage::kept_checkpoint(self)
            .as_deref()
            .and_then(super::mirror::checkpoint_size)
            .unwrap_or(0);
        Ok(Storage::indexed_size(self)?.max(signed).max(kept))
    }
    fn derived_size(&self) -> u64 {
        Storage::derived_size(self)
    }
    fn location(&self, index: u64) -> Result<Option<Loc>, StorageError> {
        Storage::location(self, index)
    }
}

/// Refuses to cut segment `segment` at `at`, where a record fails its
/// check, when a whole record follows it: a torn write leaves its damage
/// at the end of the log, so damage with whole records after it is damage
/// to leaves that may have been acknowledged, which only a backup or a
/// peer's copy can mend. (Nothing says how many leaves were durable when
/// the log was restored without its database and tree files.)
fn refuse_if_whole_records_follow(dir: &Path, segment: u64, at: u64) -> Result<(), StorageError> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let path = dir.join(super::segment::segment_file_name(segment));
    let mut rest = Vec::new();
    std::fs::File::open(&path)
        .and_then(|mut f| {
            f.seek(SeekFrom::Start(at))?;
            f.read_to_end(&mut rest)
        })
        .map_err(|e| StorageError::io(&path, e))?;
    match super::segment::whole_record_after_first_byte(&rest) {
        None => Ok(()),
        Some(next) => Err(StorageError::Corrupt(format!(
            "segment {segment} is damaged at offset {at}, and whole records follow it (the next \
             at offset {}): this is damage inside the log, not a write torn at its end, and the \
             leaves from there may have been acknowledged. Restore the log from a backup or from \
             a peer's copy of it (README: \"Backing up and restoring a node\"). Only if no copy \
             holds more, and the node lost power while writing, cut it there with `truncate -s \
             {at} {}` and start again: everything from that offset is then lost",
            at + next as u64,
            path.display()
        ))),
    }
}

/// Leaves handed to the re-index callback at a time, to bound memory.
const CHUNK: usize = 1024;

/// What start-up found and did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RecoveryReport {
    /// The number of leaves in the log after recovery.
    pub size: u64,
    /// Leaves that sled lacked and that were re-indexed from the segments.
    pub reindexed: u64,
    /// Bytes of a torn final record that were cut off.
    pub truncated_bytes: u64,
}

/// How often a long re-derivation says how far it has come.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Says now and then how far a long re-derivation has come: after a state
/// version change a start folds the whole log again, which takes minutes
/// on a large one, and an operator watching it should see it is working.
#[derive(Debug)]
struct Progress {
    log: String,
    every: std::time::Duration,
    done: u64,
    /// Leaves known to be there: those already durable when the start began.
    of: u64,
    started: std::time::Instant,
    said: std::time::Instant,
}

impl Progress {
    /// Progress through `log` towards at least `of` leaves, said at most
    /// once per `every`.
    fn new(log: &str, of: u64, every: std::time::Duration) -> Progress {
        let now = std::time::Instant::now();
        Progress {
            log: log.to_owned(),
            every,
            done: 0,
            of,
            started: now,
            said: now,
        }
    }

    /// Counts `n` more leaves re-derived; returns whether it said so.
    fn add(&mut self, n: u64) -> bool {
        self.done += n;
        if self.said.elapsed() < self.every {
            return false;
        }
        self.said = std::time::Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let per_second = self.done as f64 / secs;
        match self.left(per_second) {
            Some((percent, left)) => tracing::info!(
                log = %self.log,
                leaves = self.done,
                of = self.of,
                per_second = per_second as u64,
                "re-deriving from the segments: {percent}% done, about {} left",
                duration_words(left)
            ),
            None => tracing::info!(
                log = %self.log,
                leaves = self.done,
                per_second = per_second as u64,
                "re-deriving from the segments"
            ),
        }
        true
    }

    /// How far along the known leaves this is (a whole percentage), and
    /// the seconds left at `per_second`; `None` once past them (a crash's
    /// unacknowledged tail), where there is no total to measure against.
    fn left(&self, per_second: f64) -> Option<(u64, u64)> {
        if self.done >= self.of || per_second <= 0.0 {
            return None;
        }
        let percent = self.done * 100 / self.of;
        let left = ((self.of - self.done) as f64 / per_second).ceil() as u64;
        Some((percent, left))
    }
}

/// Seconds as a person reads them: "45 s", "3 min", "2 h 5 min".
fn duration_words(s: u64) -> String {
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s.div_ceil(60)),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// Reconciles sled and the derived files with the segments in
/// `storage.log_dir()`.
///
/// `start` is where the scan begins: no later than sled's indexed size, and
/// the derived files cover exactly `start` leaves (see
/// [`Storage::trim_derived`]). `reindex(first_index, records)` is called,
/// in order, for every run of durable leaves from `start`; it must append
/// them to the derived files, and commit those that sled lacks to sled,
/// before it returns. Returns the writer positioned at the end of the log.
pub fn recover(
    storage: &impl Recoverable,
    roll_bytes: u64,
    start: u64,
    mut reindex: impl FnMut(u64, Vec<(Location, Vec<u8>)>) -> Result<(), StorageError>,
) -> Result<(SegmentWriter, RecoveryReport), StorageError> {
    let dir = storage.log_dir().to_owned();
    let mut report = RecoveryReport::default();
    let indexed = storage.indexed_size()?;
    let durable = storage.durable_size()?.max(indexed);
    if start > indexed || storage.derived_size() != start {
        return Err(StorageError::Corrupt(format!(
            "recovery asked to start at leaf {start}, but sled indexes {indexed} leaves and the \
             derived files cover {}",
            storage.derived_size()
        )));
    }
    if let Some(at) = read_unsynced_mark(&dir)? {
        report.truncated_bytes += drop_unsynced(&dir, at, durable)?;
    }
    let mut segments = list_segments(&dir)?;
    if segments.is_empty() {
        if durable > 0 {
            return Err(StorageError::Corrupt(format!(
                "{durable} leaves were durable but there are no segment files"
            )));
        }
        SegmentWriter::create_segment(&dir, 0)?;
        segments.push(0);
    }
    if segments[0] != 0 {
        return Err(StorageError::Corrupt(
            "the first segment does not start at leaf 0".into(),
        ));
    }

    // Start scanning just past the last leaf both sled and the files know.
    let (mut pos, mut offset) = if start == 0 {
        (0, SEGMENT_MAGIC.len() as u64)
    } else {
        let loc = storage.location(start - 1)?.ok_or_else(|| {
            StorageError::Corrupt(format!("no location is stored for leaf {}", start - 1))
        })?;
        let pos = segments.binary_search(&loc.segment).map_err(|_| {
            StorageError::Corrupt(format!(
                "segment {} named by the location index is missing",
                loc.segment
            ))
        })?;
        (pos, loc.end())
    };
    // A process that died (rather than a machine that lost power) can leave
    // written but unsynced records in the operating system's cache, where
    // the scan below would read them as if durable. Re-indexing them leads
    // to a signed checkpoint over them, and a later power cut would then
    // lose leaves a published checkpoint covers. So everything from here on
    // is made durable first; what a power cut already lost is not there to
    // be read.
    for &segment in &segments[pos..] {
        let path = dir.join(super::segment::segment_file_name(segment));
        OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.sync_data())
            .map_err(|e| StorageError::io(&path, e))?;
    }
    super::segment::sync_dir(&dir)?;

    let mut next = start;
    // Only the leaves past `start` are re-derived.
    let mut progress = Progress::new(
        &dir.display().to_string(),
        durable.saturating_sub(start),
        PROGRESS_EVERY,
    );
    let mut chunk: Vec<(Location, Vec<u8>)> = Vec::new();
    let mut chunk_start = next;

    loop {
        let segment = segments[pos];
        let last = pos + 1 == segments.len();
        if offset == SEGMENT_MAGIC.len() as u64 && segment != next {
            return Err(StorageError::Corrupt(format!(
                "segment {segment} should start at leaf {next}"
            )));
        }
        let end = match SegmentScanner::open(&dir, segment, offset)? {
            None if last && next == segment => {
                // The power went while this segment was being created, before
                // its magic was durable. It holds nothing; start it again.
                SegmentWriter::create_segment(&dir, segment)?;
                SEGMENT_MAGIC.len() as u64
            }
            None => {
                return Err(StorageError::Corrupt(format!(
                    "segment {segment} has a bad header"
                )));
            }
            Some(mut scan) => loop {
                match scan.next_record()? {
                    Scanned::Record(loc, bytes) => {
                        chunk.push((loc, bytes));
                        next += 1;
                        if chunk.len() >= CHUNK {
                            progress.add(chunk.len() as u64);
                            reindex(chunk_start, std::mem::take(&mut chunk))?;
                            chunk_start = next;
                        }
                    }
                    Scanned::End => break scan.offset(),
                    Scanned::Bad(at) if last && next < durable => {
                        return Err(StorageError::Corrupt(format!(
                            "segment {segment} is damaged at offset {at}, but {durable} leaves \
                             were durable: an acknowledged leaf {next} is lost"
                        )));
                    }
                    Scanned::Bad(at) if last => {
                        refuse_if_whole_records_follow(&dir, segment, at)?;
                        report.truncated_bytes = truncate(&dir, segment, at)?;
                        tracing::warn!(
                            segment,
                            offset = at,
                            bytes = report.truncated_bytes,
                            "cut off a torn record at the end of the log"
                        );
                        break at;
                    }
                    Scanned::Bad(at) => {
                        return Err(StorageError::Corrupt(format!(
                            "segment {segment} is damaged at offset {at}, before the end of the log"
                        )));
                    }
                }
            },
        };
        if last {
            if !chunk.is_empty() {
                progress.add(chunk.len() as u64);
                reindex(chunk_start, std::mem::take(&mut chunk))?;
            }
            report.size = next;
            if next < durable {
                return Err(StorageError::Corrupt(format!(
                    "{durable} leaves were durable (sled indexes {indexed}) but the segments \
                     hold {next}"
                )));
            }
            // Leaves only re-derived into the files were not lost by sled;
            // those below `durable` it forgot on purpose (a state version
            // change), and were folded again.
            report.reindexed = next - indexed;
            let lost = next - durable;
            if lost > 0 && durable == 0 && indexed == 0 {
                // Records with no database at all: a restore from the log
                // alone (README), or a database lost whole. Expected after
                // a restore, so not a warning.
                tracing::info!(
                    leaves = lost,
                    "indexed the log's records, which the database did not hold: a restore from \
                     the log, or a lost database"
                );
            } else if lost > 0 {
                tracing::warn!(
                    leaves = lost,
                    "re-indexed durable leaves that sled had lost"
                );
            }
            if durable > indexed {
                tracing::warn!(
                    leaves = durable - indexed,
                    "folded the log again into the governance state"
                );
            }
            let writer = SegmentWriter::open(&dir, segment, end, next, roll_bytes)?;
            return Ok((writer, report));
        }
        pos += 1;
        offset = SEGMENT_MAGIC.len() as u64;
    }
}

/// The file, in a log's directory, that says where a failed `fdatasync`
/// began: `segment (u64be) ‖ offset (u64be) ‖ first leaf (u64be)`.
///
/// When `fdatasync` fails, Linux reports the error once and marks the
/// pages clean: they stay readable in the page cache, as if durable, until
/// the machine restarts without them. A node that recovered by reading
/// them would sign a checkpoint over leaves a reboot then loses, and sign
/// another of the same size afterwards. So a failed sync, of the own log or
/// of a mirror ([`super::segment::Written::sync`]), records where the
/// unsynced batch began before the node fails closed, and recovery cuts
/// the log there instead of trusting what it reads past it.
pub const UNSYNCED_MARK: &str = "UNSYNCED";

/// Records, durably, that the batch whose first leaf `first` is at
/// `at` was never synced (see [`UNSYNCED_MARK`]).
pub fn mark_unsynced(dir: &Path, at: Loc, first: u64) -> Result<(), StorageError> {
    let path = dir.join(UNSYNCED_MARK);
    if path.exists() {
        // An earlier failure's mark is earlier in the log: keep it.
        return Ok(());
    }
    let mut bytes = Vec::with_capacity(24);
    bytes.extend_from_slice(&at.segment.to_be_bytes());
    bytes.extend_from_slice(&at.offset.to_be_bytes());
    bytes.extend_from_slice(&first.to_be_bytes());
    super::write_synced(&path, &bytes)
}

/// The mark a failed sync left in the log directory `dir`, if any
/// ([`UNSYNCED_MARK`]): the segment and offset where the unsynced batch
/// began, and its first leaf. The next start cuts the log there. A mark
/// that cannot be read is [`StorageError::Corrupt`]; one that cannot be
/// opened, [`StorageError::Io`].
pub fn read_unsynced_mark(dir: &Path) -> Result<Option<(u64, u64, u64)>, StorageError> {
    let path = dir.join(UNSYNCED_MARK);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StorageError::io(&path, e)),
    };
    let word = |i: usize| {
        bytes
            .get(i * 8..i * 8 + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
    };
    match (bytes.len(), word(0), word(1), word(2)) {
        (24, Some(segment), Some(offset), Some(first)) => Ok(Some((segment, offset, first))),
        _ => Err(StorageError::Corrupt(format!(
            "{} is not a record of where a failed sync began",
            path.display()
        ))),
    }
}

/// Cuts the log where an unsynced batch began: that segment at its offset,
/// and every later segment whole. Returns the bytes removed.
fn drop_unsynced(
    dir: &Path,
    (segment, offset, first): (u64, u64, u64),
    durable: u64,
) -> Result<u64, StorageError> {
    if first < durable {
        return Err(StorageError::Corrupt(format!(
            "a failed sync began at leaf {first}, but {durable} leaves were durable: \
             the two disagree about what reached the disk, which may be failing; check it, and \
             restore the data directory from a backup"
        )));
    }
    let mut removed = 0;
    for later in list_segments(dir)?.into_iter().filter(|s| *s > segment) {
        let path = dir.join(super::segment::segment_file_name(later));
        removed += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        std::fs::remove_file(&path).map_err(|e| StorageError::io(&path, e))?;
    }
    if dir
        .join(super::segment::segment_file_name(segment))
        .exists()
    {
        removed += truncate(dir, segment, offset)?;
    }
    super::segment::sync_dir(dir)?;
    let mark = dir.join(UNSYNCED_MARK);
    std::fs::remove_file(&mark).map_err(|e| StorageError::io(&mark, e))?;
    super::segment::sync_dir(dir)?;
    tracing::warn!(
        segment,
        offset,
        first_leaf = first,
        bytes = removed,
        "cut off leaves whose sync had failed"
    );
    Ok(removed)
}

/// Cuts segment `segment` at `at` and makes the cut durable; returns the
/// number of bytes removed.
fn truncate(dir: &Path, segment: u64, at: u64) -> Result<u64, StorageError> {
    let path = dir.join(super::segment::segment_file_name(segment));
    let file = OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| StorageError::io(&path, e))?;
    let len = file
        .metadata()
        .map_err(|e| StorageError::io(&path, e))?
        .len();
    // A mark may point past the end of a file a power cut shortened:
    // cutting never lengthens it.
    file.set_len(at.min(len))
        .and_then(|()| file.sync_all())
        .map_err(|e| StorageError::io(&path, e))?;
    Ok(len.saturating_sub(at))
}

#[cfg(test)]
mod tests {
    use super::Progress;
    use std::time::Duration;

    #[test]
    fn progress_is_said_at_most_once_per_interval() {
        let mut quiet = Progress::new("example.org", 10_000, Duration::from_secs(3600));
        assert!(!quiet.add(4096));
        assert!(!quiet.add(4096));
        assert_eq!(quiet.done, 8192);
        let mut chatty = Progress::new("example.org", 10_000, Duration::ZERO);
        assert!(chatty.add(1));
        assert!(chatty.add(1));
        assert_eq!(chatty.done, 2);
    }

    #[test]
    fn progress_says_how_far_and_how_long_until_the_known_leaves_are_done() {
        let mut p = Progress::new("example.org", 1_000_000, Duration::from_secs(3600));
        p.add(250_000);
        // A quarter done at 5 000 leaves a second: 750 000 left take 150 s.
        assert_eq!(p.left(5_000.0), Some((25, 150)));
        p.add(750_000);
        assert_eq!(p.left(5_000.0), None, "nothing known is left");
        p.add(10);
        assert_eq!(
            p.left(5_000.0),
            None,
            "a tail past the known leaves has no total"
        );
        let empty = Progress::new("example.org", 0, Duration::ZERO);
        assert_eq!(empty.left(1.0), None);
    }

    #[test]
    fn time_left_reads_as_a_person_would_say_it() {
        assert_eq!(super::duration_words(45), "45 s");
        assert_eq!(super::duration_words(61), "2 min");
        assert_eq!(super::duration_words(3600), "1 h 0 min");
        assert_eq!(super::duration_words(7_500), "2 h 5 min");
    }
}
