//! The peers an operator added or removed at run time (`kaitiaki peer add`,
//! `kaitiaki peer remove`), kept in the file [`PEERS_FILE`] beside
//! `node.key`.
//!
//! They cannot be derived from the log, and a restore from the log needs
//! them first: a node restored from its key and segments waits, before it
//! takes a statement, for every peer it follows to say what it holds of the
//! node's own log (`own_log`). Kept in `db/`, which a restore leaves out,
//! they were lost, and a node whose peers were all added at run time had no
//! one to wait for. A small file, backed up with the key, brings them back
//! with it.
//!
//! The file is written whole and durably on every change (a synced file of
//! its own, renamed into place) while the node holds its lock for peer
//! changes, so it is always one change or the next. Nodes that kept these
//! records in `db/` before move them into the file at their next start.

use std::path::{Path, PathBuf};

use kaitiaki_protocol::note::{NoteVerifier, Verifier as _};
use serde::{Deserialize, Serialize};

use crate::config::PeerConfig;
use crate::storage::{space, Storage, StorageError};

/// The file's name in the data directory.
pub const PEERS_FILE: &str = "peers.toml";

const HEADER: &str = "\
# Peers added or removed at run time with `kaitiaki peer add` and
# `kaitiaki peer remove`, written by the node on each change. Back this file
# up with node.key. Peers named in the node's configuration are not here.
# Edit it only while the node is stopped: a running node rewrites it.
";

/// What the file holds: the peers followed, and those removed (listed, not
/// followed, with the key their copy was checked under).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunTimePeers {
    /// Peers followed, in the order they were added.
    #[serde(default, rename = "following")]
    pub following: Vec<PeerConfig>,
    /// Peers removed.
    #[serde(default, rename = "removed")]
    pub removed: Vec<PeerConfig>,
}

impl RunTimePeers {
    /// The run-time peers of the node whose storage is `storage`, from the
    /// file; on a node that kept them in `db/` (or kept some there again,
    /// run by an older version since), those are moved into the file, each
    /// log's entry in the file winning. Blocking.
    pub(crate) fn load(storage: &Storage) -> Result<RunTimePeers, StorageError> {
        let path = path_in(storage.data_dir());
        let kept = match std::fs::read_to_string(&path) {
            Ok(text) => Some(toml::from_str::<RunTimePeers>(&text).map_err(|e| {
                StorageError::PeersFile(format!(
                    "{} is not a list of peers ({}); with the node stopped, correct that entry \
                     (each is `[[following]]` with `url = \"http://…\"`, `key = \"…\"` and \
                     `witness = true|false`), restore the file from a backup, or move it away and \
                     add the node's run-time peers again with `kaitiaki peer add`; nothing else in \
                     the data directory needs to change",
                    path.display(),
                    e.message()
                ))
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(StorageError::io(&path, e)),
        };
        let in_db = db_entries(storage)?;
        if in_db.is_empty() {
            return Ok(kept.unwrap_or_default());
        }
        let mut peers = kept.unwrap_or_default();
        let mut moved = Vec::new();
        for (space, key, peer) in &in_db {
            // One that cannot be read, or names no log, stays where it is,
            // and is said.
            let Some((peer, origin)) = peer.as_ref().and_then(|p| Some((p, origin_of(p)?))) else {
                tracing::warn!(origin = %String::from_utf8_lossy(key),
                    "a peer record in the database that cannot be read, or names no log, was left there");
                continue;
            };
            moved.push((*space, key.as_slice(), None));
            if peers.holds(&origin) {
                continue;
            }
            if *space == space::PEERS {
                peers.following.push(peer.clone());
            } else {
                peers.removed.push(peer.clone());
            }
        }
        if moved.is_empty() {
            return Ok(peers);
        }
        // The file first, whole and synced; only then are they gone from
        // the database, so a crash between leaves them in both.
        peers.save(storage.data_dir())?;
        storage.put_all_in(&moved)?;
        tracing::info!(path = %path.display(), moved = moved.len(),
            "moved the peers added at run time from the database to their own file");
        Ok(peers)
    }

    /// Whether an entry (followed or removed) is for the log `origin`.
    fn holds(&self, origin: &str) -> bool {
        self.following
            .iter()
            .chain(&self.removed)
            .any(|p| origin_of(p).as_deref() == Some(origin))
    }

    fn from_db(storage: &Storage) -> Result<RunTimePeers, StorageError> {
        let mut peers = RunTimePeers::default();
        for (space, _, peer) in db_entries(storage)? {
            match (space == space::PEERS, peer) {
                (true, Some(p)) => peers.following.push(p),
                (false, Some(p)) => peers.removed.push(p),
                (_, None) => {}
            }
        }
        Ok(peers)
    }

    /// Follows `peer`, whose log is `origin`: in place of any entry for the
    /// same log, followed or removed.
    pub(crate) fn follow(&mut self, origin: &str, peer: PeerConfig) {
        self.forget(origin);
        self.following.push(peer);
    }

    /// Records the peer whose log is `origin` as removed.
    pub(crate) fn remove(&mut self, origin: &str, peer: PeerConfig) {
        self.forget(origin);
        self.removed.push(peer);
    }

    fn forget(&mut self, origin: &str) {
        let other = |p: &PeerConfig| origin_of(p).as_deref() != Some(origin);
        self.following.retain(other);
        self.removed.retain(other);
    }

    /// Writes the file whole and durably. Blocking.
    pub(crate) fn save(&self, data_dir: &Path) -> Result<(), StorageError> {
        let body = toml::to_string_pretty(self)
            .map_err(|e| StorageError::Corrupt(format!("cannot write the peers: {e}")))?;
        crate::storage::write_synced(&path_in(data_dir), format!("{HEADER}\n{body}").as_bytes())
    }
}

/// The log keys of the peers added at run time, followed or removed, by
/// origin, read without changing anything (for an audit of a data
/// directory): from the file, and from the database of a node that has not
/// moved them there yet.
pub fn stored_keys(storage: &Storage) -> std::collections::BTreeMap<String, String> {
    let keys = |peers: &RunTimePeers| -> Vec<(String, String)> {
        peers
            .following
            .iter()
            .chain(&peers.removed)
            .filter_map(|p| Some((origin_of(p)?, p.key.clone())))
            .collect()
    };
    // The database's first, so the file's entry for a log wins.
    let mut out: std::collections::BTreeMap<String, String> =
        keys(&RunTimePeers::from_db(storage).unwrap_or_default())
            .into_iter()
            .collect();
    if let Some(kept) = std::fs::read_to_string(path_in(storage.data_dir()))
        .ok()
        .and_then(|text| toml::from_str::<RunTimePeers>(&text).ok())
    {
        out.extend(keys(&kept));
    }
    out
}

/// Every peer record the database holds (from before the file, or from
/// an older version run since): its space, key and, if readable, peer.
type DbEntry = (&'static [u8], Vec<u8>, Option<PeerConfig>);

fn db_entries(storage: &Storage) -> Result<Vec<DbEntry>, StorageError> {
    let mut out = Vec::new();
    for space in [space::PEERS, space::REMOVED_PEERS] {
        for (k, v) in storage.scan_in(space)? {
            out.push((space, k, serde_json::from_slice::<PeerConfig>(&v).ok()));
        }
    }
    Ok(out)
}

/// The file's path in `data_dir`.
pub(crate) fn path_in(data_dir: &Path) -> PathBuf {
    data_dir.join(PEERS_FILE)
}

/// The origin a peer's key names, if it is a key.
fn origin_of(peer: &PeerConfig) -> Option<String> {
    NoteVerifier::parse(&peer.key)
        .ok()
        .map(|v| v.name().as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(origin: &str, seed: u8) -> String {
        let name = kaitiaki_protocol::note::KeyName::new(origin).unwrap();
        kaitiaki_protocol::note::NoteSigner::from_seed(name, &[seed; 32])
            .verifier()
            .to_string()
    }

    #[test]
    fn a_change_replaces_the_entry_for_the_same_log_and_survives_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let mut peers = RunTimePeers::default();
        let a = PeerConfig::new("http://127.0.0.1:1", key("a.example", 1));
        let b = PeerConfig::new("http://127.0.0.1:2", key("b.example", 2));
        peers.follow("a.example", a.clone());
        peers.follow("b.example", b.clone());
        peers.remove("a.example", a.clone());
        peers.save(dir.path()).unwrap();
        let text = std::fs::read_to_string(path_in(dir.path())).unwrap();
        assert!(text.starts_with("# Peers added or removed"), "{text}");
        let read: RunTimePeers = toml::from_str(&text).unwrap();
        assert_eq!(read.following, vec![b.clone()]);
        assert_eq!(read.removed, vec![a.clone()]);
        // Followed again: no longer listed as removed, and listed once.
        let mut read = read;
        read.follow("a.example", a.clone());
        read.follow("b.example", b.clone());
        assert_eq!(read.following, vec![a, b]);
        assert!(read.removed.is_empty());
    }

    #[test]
    fn peers_kept_in_the_database_move_into_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path(), 1 << 20).unwrap();
        let a = PeerConfig::new("http://127.0.0.1:1", key("a.example", 1));
        let b = PeerConfig::new("http://127.0.0.1:2", key("b.example", 2));
        let json = |p: &PeerConfig| serde_json::to_vec(p).unwrap();
        let (ja, jb) = (json(&a), json(&b));
        storage
            .put_all_in(&[
                (space::PEERS, b"a.example", Some(&ja)),
                (space::REMOVED_PEERS, b"b.example", Some(&jb)),
            ])
            .unwrap();
        assert!(!path_in(dir.path()).exists());

        let loaded = RunTimePeers::load(&storage).unwrap();
        assert_eq!(loaded.following, vec![a.clone()]);
        assert_eq!(loaded.removed, vec![b.clone()]);
        // Moved: in the file, and no longer in the database.
        let text = std::fs::read_to_string(path_in(dir.path())).unwrap();
        assert_eq!(toml::from_str::<RunTimePeers>(&text).unwrap(), loaded);
        assert!(storage.scan_in(space::PEERS).unwrap().is_empty());
        assert!(storage.scan_in(space::REMOVED_PEERS).unwrap().is_empty());
        // The file alone gives the same at the next start.
        assert_eq!(RunTimePeers::load(&storage).unwrap(), loaded);
    }

    #[test]
    fn records_put_back_in_the_database_are_merged_into_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path(), 1 << 20).unwrap();
        let a = PeerConfig::new("http://127.0.0.1:1", key("a.example", 1));
        let b = PeerConfig::new("http://127.0.0.1:2", key("b.example", 2));
        let mut kept = RunTimePeers::default();
        kept.follow("a.example", a.clone());
        kept.save(dir.path()).unwrap();
        // An older version, run since, kept A at another address, added B,
        // and something wrote a record no version can read.
        let moved_a = PeerConfig::new("http://127.0.0.1:9", a.key.clone());
        let json = |p: &PeerConfig| serde_json::to_vec(p).unwrap();
        let (ja, jb) = (json(&moved_a), json(&b));
        storage
            .put_all_in(&[
                (space::PEERS, b"a.example", Some(&ja)),
                (space::PEERS, b"b.example", Some(&jb)),
                (space::PEERS, b"c.example", Some(b"not json")),
            ])
            .unwrap();

        let loaded = RunTimePeers::load(&storage).unwrap();
        assert_eq!(loaded.following, vec![a, b], "the file's entry wins");
        let left: Vec<_> = storage
            .scan_in(space::PEERS)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            left,
            vec![b"c.example".to_vec()],
            "the unreadable one stays"
        );
        assert_eq!(stored_keys(&storage).len(), 2);
    }

    #[test]
    fn a_damaged_file_stops_the_start_and_names_itself() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path(), 1 << 20).unwrap();
        std::fs::write(path_in(dir.path()), "following = 3\n").unwrap();
        let err = RunTimePeers::load(&storage).unwrap_err().to_string();
        assert!(
            err.contains("peers.toml is not a list of peers") && err.contains("peer add"),
            "{err}"
        );
    }
}
