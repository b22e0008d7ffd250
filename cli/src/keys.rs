//! Signing keys kept on this machine: `kaitiaki keys new|list|show|export`.
//!
//! A key is an Ed25519 seed in `<home>/keys/<name>.key`, written as 64 hex
//! digits and a newline, created with mode 0600 inside a 0700 directory.
//! The CLI refuses to use a key file that others can read, for the same
//! reason `ssh` does: a key others may have copied no longer proves who
//! signed. Only public keys ever leave this module.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use ed25519_dalek::SigningKey;
use kaitiaki_protocol::PublicKey;
use rand_core::OsRng;
use serde::Serialize;

use crate::home::{ensure_private_dir, Home};
use crate::output::Render;

/// A key file name's extension.
const KEY_EXT: &str = "key";

/// The keys under one [`Home`].
#[derive(Clone, Debug)]
pub struct KeyStore {
    dir: PathBuf,
}

/// A key as listed or shown: never the secret half.
#[derive(Clone, Debug, Serialize)]
pub struct KeyInfo {
    /// The local name.
    pub name: String,
    /// The public key, 64 hex digits: what charters and statements name.
    pub public_key: PublicKey,
}

impl Render for KeyInfo {
    fn human(&self, out: &mut String) {
        out.push_str(&format!("{}  {}\n", self.name, self.public_key));
    }
}

/// Every key in the store.
#[derive(Clone, Debug, Serialize)]
pub struct KeyList {
    /// Sorted by name.
    pub keys: Vec<KeyInfo>,
    /// Key files that could not be read, by name, with why: listed apart,
    /// so that one damaged file hides none of the others.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<Unreadable>,
}

/// A key file that could not be read.
#[derive(Clone, Debug, Serialize)]
pub struct Unreadable {
    /// The key's local name.
    pub name: String,
    /// Why it could not be read.
    pub problem: String,
}

impl Render for KeyList {
    fn human(&self, out: &mut String) {
        if self.keys.is_empty() && self.unreadable.is_empty() {
            out.push_str("No keys yet. Make one with `kaitiaki keys new <name>`.\n");
        }
        for k in &self.keys {
            k.human(out);
        }
        for u in &self.unreadable {
            out.push_str(&format!("{}  cannot be read: {}\n", u.name, u.problem));
        }
    }
}

/// Checks a key's local name: it becomes a file name, so it is kept plain.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ok {
        bail!(
            "key name {name:?} is not usable: use 1 to 64 ASCII letters (a to z, without \
             macrons: the name is a file name on this computer), digits, '-', '_' or '.', not \
             starting with '.'"
        );
    }
    Ok(())
}

impl KeyStore {
    /// The keys of `home`.
    pub fn new(home: &Home) -> KeyStore {
        KeyStore {
            dir: home.keys_dir().to_owned(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.{KEY_EXT}"))
    }

    /// Makes a new key from the operating system's randomness.
    pub fn create(&self, name: &str) -> Result<KeyInfo> {
        check_name(name)?;
        ensure_private_dir(&self.dir)?;
        let key = SigningKey::generate(&mut OsRng);
        let path = self.path(name);
        // create_new: never overwrite an existing identity by accident.
        let mut file = match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!(
                "a key named {name:?} already exists; choose another name, or see it with \
                 `kaitiaki keys show {name}`"
            ),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot create key file {}", path.display()))
            }
        };
        writeln!(file, "{}", hex::encode(key.to_bytes()))
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write key file {}", path.display()))?;
        Ok(KeyInfo {
            name: name.to_owned(),
            public_key: PublicKey::of(&key),
        })
    }

    /// Loads the signing key `name`.
    pub fn load(&self, name: &str) -> Result<SigningKey> {
        check_name(name)?;
        let path = self.path(name);
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "no key named {name:?}; see `kaitiaki keys list` or make one with \
                 `kaitiaki keys new {name}`"
            ),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read key file {}", path.display()))
            }
        };
        if meta.permissions().mode() & 0o077 != 0 {
            bail!(
                "key file {} can be read by others, so the key may no longer be secret; \
                 run `chmod 600` on it (or make a new key)",
                path.display()
            );
        }
        let text = fs::read_to_string(&path)
            .with_context(|| format!("cannot read key file {}", path.display()))?;
        let mut seed = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut seed).with_context(|| {
            format!(
                "key file {} does not hold a 32-byte seed in hex",
                path.display()
            )
        })?;
        Ok(SigningKey::from_bytes(&seed))
    }

    /// The public half of `name`.
    pub fn info(&self, name: &str) -> Result<KeyInfo> {
        let key = self.load(name)?;
        Ok(KeyInfo {
            name: name.to_owned(),
            public_key: PublicKey::of(&key),
        })
    }

    /// The names of every key, sorted.
    pub fn names(&self) -> Result<Vec<String>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("cannot list {}", self.dir.display())),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", self.dir.display()))?;
            let file = entry.file_name();
            if let Some(name) = file
                .to_str()
                .and_then(|f| f.strip_suffix(&format!(".{KEY_EXT}")))
            {
                if check_name(name).is_ok() {
                    names.push(name.to_owned());
                }
            }
        }
        names.sort();
        Ok(names)
    }

    /// Every key, public halves only.
    pub fn list(&self) -> Result<KeyList> {
        let (mut keys, mut unreadable) = (Vec::new(), Vec::new());
        for name in self.names()? {
            match self.info(&name) {
                Ok(info) => keys.push(info),
                Err(e) => unreadable.push(Unreadable {
                    problem: crate::output::error_text(&e),
                    name,
                }),
            }
        }
        Ok(KeyList { keys, unreadable })
    }

    /// The key to sign with: the one named, or the only one there is.
    pub fn choose(&self, name: Option<&str>) -> Result<(String, SigningKey)> {
        if let Some(name) = name {
            return Ok((name.to_owned(), self.load(name)?));
        }
        match self.names()?.as_slice() {
            [only] => Ok((only.clone(), self.load(only)?)),
            [] => bail!("there are no keys yet; make one with `kaitiaki keys new <name>`"),
            many => bail!(
                "there are {} keys ({}); choose one with --key NAME or KAITIAKI_KEY",
                many.len(),
                many.join(", ")
            ),
        }
    }

    /// A public key given as 64 hex digits, or as the name of a local key.
    pub fn resolve_public(&self, text: &str) -> Result<PublicKey> {
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return PublicKey::from_hex(text)
                .map_err(|e| anyhow::anyhow!("{text} is not a usable public key: {e}"));
        }
        let hex = !text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit());
        match self.info(text) {
            Ok(k) => Ok(k.public_key),
            // Digits are the start of someone's key, not a name to make.
            Err(_) if hex => anyhow::bail!(
                "{text:?} is not a whole public key ({} of its 64 hex digits) nor a local key \
                 name; give the whole key (a request's page and `kaitiaki show` give it)",
                text.len()
            ),
            Err(e) => Err(e).with_context(|| {
                format!("{text:?} is neither a public key (64 hex digits) nor a local key name")
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_key_file_hides_none_of_the_others() {
        let tmp = tempfile::tempdir().unwrap();
        let store = KeyStore::new(&Home::at(tmp.path()));
        let made = store.create("aroha").unwrap();
        std::fs::write(store.dir.join("bad.key"), "garbage").unwrap();
        let list = store.list().unwrap();
        assert_eq!(list.keys.len(), 1);
        assert_eq!(list.keys[0].public_key, made.public_key);
        assert_eq!(list.unreadable.len(), 1);
        assert_eq!(list.unreadable[0].name, "bad");
        let mut out = String::new();
        list.human(&mut out);
        assert!(out.contains("bad  cannot be read: "), "{out}");
    }

    #[test]
    fn create_list_load_and_refuse_duplicates() {
        let tmp = tempfile::tempdir().unwrap();
        let store = KeyStore::new(&Home::at(tmp.path()));
        let made = store.create("aroha").unwrap();
        assert_eq!(store.info("aroha").unwrap().public_key, made.public_key);
        let again = crate::output::error_text(&store.create("aroha").unwrap_err());
        assert!(
            again.starts_with("a key named \"aroha\" already exists"),
            "{again}"
        );
        assert!(!again.contains("os error"), "{again}");
        let missing = crate::output::error_text(&store.load("nobody").unwrap_err());
        assert!(missing.starts_with("no key named \"nobody\""), "{missing}");
        assert!(!missing.contains("os error"), "{missing}");
        assert_eq!(store.names().unwrap(), ["aroha"]);
        let (name, _) = store.choose(None).unwrap();
        assert_eq!(name, "aroha");
        assert_eq!(store.resolve_public("aroha").unwrap(), made.public_key);
        assert_eq!(
            store.resolve_public(&made.public_key.to_hex()).unwrap(),
            made.public_key
        );
        let mode = fs::metadata(store.path("aroha"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn refuses_exposed_key_files_and_odd_names() {
        let tmp = tempfile::tempdir().unwrap();
        let store = KeyStore::new(&Home::at(tmp.path()));
        store.create("k").unwrap();
        fs::set_permissions(store.path("k"), fs::Permissions::from_mode(0o644)).unwrap();
        let err = store.load("k").unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        assert!(check_name("../etc").is_err());
        assert!(check_name("").is_err());
        assert!(check_name("tēina").is_err());
    }
}
