//! Confidential attachment bytes: one file per content hash under
//! `attachments/`, written durably before an upload is acknowledged.
//!
//! An upload is written to a temporary file in the same directory, synced
//! with `fdatasync`, renamed to its content hash, and the directory synced,
//! so that a crash leaves either the whole file or none of it, and an
//! acknowledged upload survives a power cut. Temporary files a crash left
//! behind are removed at start-up.
//!
//! Erasing leaves an empty `<hash>.erased` file behind, so that the API
//! can refuse to take the same bytes back from just anyone.
//!
//! These bytes are kept here and nowhere else: they are not in the log (only
//! their commitment is) and cannot be derived from it, so they are not in
//! sled either, which the node may rebuild from the segments. Reading
//! checks the bytes against their content hash, so a damaged file is named
//! rather than served.

use std::io::Write;
use std::path::{Path, PathBuf};

use kaitiaki_protocol::ContentHash;

use super::segment::sync_dir;
use super::StorageError;

/// Prefix of the temporary files an upload is written to before its rename.
const TEMPORARY: &str = ".upload-";

/// Suffix of the empty file that records an erasure, so that the bytes are
/// not simply uploaded again by whoever still holds them.
const ERASED: &str = ".erased";

/// The directory of attachment files.
#[derive(Debug)]
pub struct Attachments {
    dir: PathBuf,
}

impl Attachments {
    /// Opens (creating if needed) `attachments/` under `data_dir`, and
    /// removes uploads a crash interrupted.
    pub fn open(data_dir: &Path) -> Result<Attachments, StorageError> {
        let dir = data_dir.join("attachments");
        super::create_dir_durably(&dir)?;
        let entries = std::fs::read_dir(&dir).map_err(|e| StorageError::io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StorageError::io(&dir, e))?;
            if entry.file_name().to_string_lossy().starts_with(TEMPORARY) {
                let path = entry.path();
                std::fs::remove_file(&path).map_err(|e| StorageError::io(&path, e))?;
            }
        }
        // A crash between an upload's rename and its directory sync leaves
        // the file visible but its name not durable; make it so now.
        sync_dir(&dir)?;
        Ok(Attachments { dir })
    }

    /// Makes a stored file of `hash` durable, file and name, as an upload
    /// is before it is acknowledged: one that finds the bytes already there
    /// may be racing the upload that put them, or following one a crash
    /// interrupted before its directory was synced.
    pub fn make_durable(&self, hash: &[u8; 32]) -> Result<(), StorageError> {
        let path = self.path(hash);
        std::fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(|e| StorageError::io(&path, e))?;
        sync_dir(&self.dir)
    }

    fn path(&self, hash: &[u8; 32]) -> PathBuf {
        self.dir.join(hex::encode(hash))
    }

    fn erased_path(&self, hash: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}{ERASED}", hex::encode(hash)))
    }

    /// Whether the bytes of `hash` were erased (and not uploaded since).
    pub fn is_erased(&self, hash: &[u8; 32]) -> bool {
        self.erased_path(hash).exists()
    }

    /// Stores `bytes` under `hash` durably; returns when they would survive
    /// a power cut. The caller has checked that they have this hash.
    pub fn put(&self, hash: &[u8; 32], bytes: &[u8]) -> Result<(), StorageError> {
        let io = |e: std::io::Error| StorageError::io(&self.dir, e);
        let mut file = tempfile::Builder::new()
            .prefix(TEMPORARY)
            .tempfile_in(&self.dir)
            .map_err(io)?;
        file.write_all(bytes).map_err(io)?;
        file.as_file().sync_data().map_err(io)?;
        let path = self.path(hash);
        file.persist(&path)
            .map_err(|e| StorageError::io(&path, e.error))?;
        let erased = self.erased_path(hash);
        match std::fs::remove_file(&erased) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StorageError::io(&erased, e)),
        }
        sync_dir(&self.dir)
    }

    /// Erases the bytes of `hash`; false when they were not stored. The
    /// erasure is recorded first, durably, so that it outlives the bytes.
    pub fn erase(&self, hash: &[u8; 32]) -> Result<bool, StorageError> {
        let path = self.path(hash);
        if !path.exists() {
            return Ok(false);
        }
        let erased = self.erased_path(hash);
        std::fs::File::create(&erased)
            .and_then(|f| f.sync_all())
            .map_err(|e| StorageError::io(&erased, e))?;
        match std::fs::remove_file(&path) {
            Ok(()) => {
                sync_dir(&self.dir)?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StorageError::io(&path, e)),
        }
    }

    /// The bytes of `hash`, if stored; a file whose bytes no longer have
    /// that hash is an error naming the file.
    pub fn get(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StorageError> {
        let path = self.path(hash);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StorageError::io(&path, e)),
        };
        if ContentHash::of(&bytes).as_bytes() != hash {
            return Err(StorageError::Corrupt(format!(
                "the attachment file {} does not have its content hash; restore it from a backup, \
                 or ask its uploader to upload it again (a matching upload replaces it)",
                path.display()
            )));
        }
        Ok(Some(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_erases_and_names_a_damaged_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Attachments::open(dir.path()).unwrap();
        let bytes = b"minutes of the hui".to_vec();
        let hash = *ContentHash::of(&bytes).as_bytes();
        assert_eq!(store.get(&hash).unwrap(), None);
        store.put(&hash, &bytes).unwrap();
        assert_eq!(store.get(&hash).unwrap(), Some(bytes.clone()));

        std::fs::write(store.path(&hash), b"minutes of the hui!").unwrap();
        let err = store.get(&hash).unwrap_err().to_string();
        assert!(err.contains(&hex::encode(hash)), "{err}");

        assert!(!store.is_erased(&hash));
        assert!(store.erase(&hash).unwrap());
        assert!(!store.erase(&hash).unwrap());
        assert_eq!(store.get(&hash).unwrap(), None);
        assert!(store.is_erased(&hash), "the erasure is remembered");
        // An upload after it (one the API has authorised) clears it.
        store.put(&hash, &bytes).unwrap();
        assert!(!store.is_erased(&hash));
        assert_eq!(store.get(&hash).unwrap(), Some(bytes));
    }

    #[test]
    fn an_interrupted_upload_is_removed_at_start() {
        let dir = tempfile::tempdir().unwrap();
        drop(Attachments::open(dir.path()).unwrap());
        let left = dir
            .path()
            .join("attachments")
            .join(format!("{TEMPORARY}x1"));
        std::fs::write(&left, b"half an upl").unwrap();
        let store = Attachments::open(dir.path()).unwrap();
        assert!(!left.exists());
        assert_eq!(std::fs::read_dir(&store.dir).unwrap().count(), 0);
    }
}
