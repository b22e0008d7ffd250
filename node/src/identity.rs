//! The node's own key: created on first start, kept in a file only the
//! owner can read, used to sign the log's checkpoints.
//!
//! The file holds the 32-byte Ed25519 seed as 64 hex digits and a newline.
//! The note key's name is the log's origin, so the public verifier key text
//! (`<origin>+<key id>+<base64>`) is all a witness needs to check checkpoints.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use kaitiaki_protocol::note::{KeyName, NoteSigner, NoteVerifier};
use kaitiaki_protocol::PublicKey;
use rand_core::{OsRng, RngCore};

/// The name of the key file inside the data directory.
pub const KEY_FILE: &str = "node.key";

/// Why the node key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The key file could not be read or written.
    #[error("node key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The key file does not hold 64 hex digits.
    #[error("node key file {0} does not hold a 32-byte seed in hex")]
    Malformed(PathBuf),
    /// Others may read the key file, so the key may be known to them.
    #[error("node key file {0} is readable by others; run `chmod 600` on it")]
    Exposed(PathBuf),
    /// The key file is gone from a data directory that already holds a log
    /// it signed: a new key could not sign that log, so none is made.
    #[error(
        "node key file {0} is missing, but this data directory already holds a log signed with \
         it; restore node.key from a backup (a new key cannot sign this log)"
    )]
    Missing(PathBuf),
    /// The origin is not a valid note key name.
    #[error("the origin {0:?} is not a valid key name")]
    BadOrigin(String),
}

/// The node's signing identity.
#[derive(Clone, Debug)]
pub struct Identity {
    signer: NoteSigner,
    key: ed25519_dalek::SigningKey,
}

impl Identity {
    /// Loads `<data_dir>/node.key`, creating it (mode 0600) on first start,
    /// and only then: never in a data directory that already holds a log
    /// (one with a `log/` or `db/` directory).
    pub fn load_or_create(data_dir: &Path, origin: &str) -> Result<Identity, IdentityError> {
        use crate::storage::{DB_DIR, LOG_DIR};
        let holds_log = [LOG_DIR, DB_DIR].iter().any(|d| data_dir.join(d).exists());
        Identity::load_or_create_for(data_dir, origin, holds_log)
    }

    /// [`Identity::load_or_create`], told whether the directory already
    /// holds a log signed with a key (then a missing key is refused, not
    /// made anew). A node, which opens its storage first, knows exactly.
    pub fn load_or_create_for(
        data_dir: &Path,
        origin: &str,
        holds_log: bool,
    ) -> Result<Identity, IdentityError> {
        let path = data_dir.join(KEY_FILE);
        let io = |source| IdentityError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let seed = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let mode = std::fs::metadata(&path).map_err(io)?.permissions().mode();
                if mode & 0o077 != 0 {
                    return Err(IdentityError::Exposed(path));
                }
                let mut seed = [0u8; 32];
                hex::decode_to_slice(text.trim(), &mut seed)
                    .map_err(|_| IdentityError::Malformed(path.clone()))?;
                seed
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if holds_log {
                    return Err(IdentityError::Missing(path));
                }
                let mut seed = [0u8; 32];
                OsRng.fill_bytes(&mut seed);
                // create_new: never overwrite a key another process just made.
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(io)?;
                file.write_all(format!("{}\n", hex::encode(seed)).as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(io)?;
                crate::storage::segment::sync_dir(data_dir).map_err(|e| match e {
                    crate::storage::StorageError::Io { source, .. } => io(source),
                    other => io(std::io::Error::other(other.to_string())),
                })?;
                tracing::info!(path = %path.display(), "created the node key");
                seed
            }
            Err(e) => return Err(io(e)),
        };
        let name = KeyName::new(origin).map_err(|_| IdentityError::BadOrigin(origin.to_owned()))?;
        Ok(Identity {
            signer: NoteSigner::from_seed(name, &seed),
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
        })
    }

    /// Loads an existing `<data_dir>/node.key` (for tools acting as the
    /// node's operator); never creates one.
    pub fn load(data_dir: &Path, origin: &str) -> Result<Identity, IdentityError> {
        let path = data_dir.join(KEY_FILE);
        if !path.exists() {
            return Err(IdentityError::Io {
                path,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no node key here; is this the node's data directory?",
                ),
            });
        }
        Identity::load_or_create(data_dir, origin)
    }

    /// The Ed25519 signing key (for signed requests by the operator).
    pub fn signing_key(&self) -> &ed25519_dalek::SigningKey {
        &self.key
    }

    /// The signer of checkpoints.
    pub fn signer(&self) -> &NoteSigner {
        &self.signer
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        self.signer.public_key()
    }

    /// The verifier (public key text) others use to check this node's notes.
    pub fn verifier(&self) -> NoteVerifier {
        self.signer.verifier()
    }
}
