//! What this CLI remembers about each log it has checked: the log's key and
//! the latest checkpoint it verified.
//!
//! A checkpoint proves nothing on its own: a node could show one person a
//! log and another person a rewritten one. Remembering the last verified
//! checkpoint per origin, and demanding a consistency proof from it to every
//! newer one, turns each check into a check of the whole history seen so
//! far. The log's key is trusted on first use (like `ssh`), unless given
//! with `--log-key`; a later change of key is a fault, never silently
//! accepted.
//!
//! Files: `<state dir>/logs/<origin>.json`.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use kaitiaki_protocol::checkpoint::VerifiedCheckpoint;
use kaitiaki_protocol::merkle::verify_consistency;
use kaitiaki_protocol::note::NoteVerifier;
use kaitiaki_protocol::statement::limits::check_network;
use kaitiaki_protocol::Hash;
use serde::{Deserialize, Serialize};

use crate::home::{ensure_private_dir, Home};

/// What is remembered about one log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    /// The log's origin.
    pub origin: String,
    /// Its note verifier key, `<origin>+<key id>+<base64>`.
    pub verifier_key: String,
    /// The size of the latest verified checkpoint.
    pub size: u64,
    /// Its root.
    pub root: Hash,
    /// The signed note itself, kept as evidence should the log ever fork.
    pub note: String,
    /// How its key was first learned (not recorded by earlier versions).
    #[serde(default)]
    pub key_from: KeyFrom,
}

/// How the key of a log was learned: what trust in it rests on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyFrom {
    /// Given by the person checking (`--log-key`, `--peer-key`), who is
    /// to have confirmed it with the log's operator.
    Given,
    /// Offered by the node checked (or its data directory) and trusted on
    /// first use: a node showing a forged log from the start would offer
    /// the forger's key.
    Offered,
    /// Remembered before this was recorded.
    #[default]
    Unrecorded,
}

impl KeyFrom {
    /// How a key used now was learned: given now, else as remembered, else
    /// offered now.
    pub fn of(given: bool, known: Option<&Known>) -> KeyFrom {
        match (given, known) {
            (true, _) => KeyFrom::Given,
            (false, Some(k)) => k.key_from,
            (false, None) => KeyFrom::Offered,
        }
    }

    /// The key's standing in words: `given_now` when `flag`, the option
    /// that gives it, gave it this time; `first_use` when nothing was
    /// remembered of the log.
    pub fn describe(self, given_now: bool, first_use: bool, flag: &str) -> String {
        match (self, first_use) {
            _ if given_now => format!("given with {flag}"),
            (KeyFrom::Given, _) => {
                format!("remembered by this computer, as given with {flag} before")
            }
            (KeyFrom::Offered, true) => format!(
                "offered by the node audited and trusted on first use; confirm it with the log's \
                 operator and give it with {flag}"
            ),
            (KeyFrom::Offered, false) => format!(
                "remembered by this computer, first learned from the node audited; never \
                 confirmed with {flag}"
            ),
            (KeyFrom::Unrecorded, _) => "remembered by this computer".to_owned(),
        }
    }
}

/// The known logs under a [`Home`].
#[derive(Clone, Debug)]
pub struct TrustStore {
    dir: PathBuf,
}

/// How a new checkpoint relates to what was seen before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum History {
    /// Never checked this log before; its key is now trusted on first use.
    FirstSeen,
    /// The same checkpoint as last time.
    Unchanged,
    /// The log grew from `from`, and the consistency proof checked.
    Extended {
        /// The size seen before.
        from: u64,
    },
    /// A copy shorter than the checkpoint seen before (a mirror lagging
    /// behind its log): checked against its own signed checkpoint, not tied
    /// to the one remembered, which stays remembered.
    Behind {
        /// The size seen before.
        seen: u64,
    },
}

impl TrustStore {
    /// The known logs of `home`.
    pub fn new(home: &Home) -> TrustStore {
        TrustStore {
            dir: home.state_dir().join("logs"),
        }
    }

    fn path(&self, origin: &str) -> Result<PathBuf> {
        // Origins follow the network-name rule (a-z, 0-9, '.', '-'), which
        // also makes them safe file names; anything else is refused here
        // rather than written to an odd path.
        check_network(origin)
            .map_err(|e| anyhow!("log origin {origin:?} is not valid: {}", e.problem))?;
        Ok(self.dir.join(format!("{origin}.json")))
    }

    /// What is remembered about `origin`, if anything.
    pub fn load(&self, origin: &str) -> Result<Option<Known>> {
        let path = self.path(origin)?;
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).with_context(|| {
                format!("{} is damaged; delete it to start afresh", path.display())
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Remembers a verified checkpoint: written to a temporary file, synced
    /// and renamed, so that neither a crash nor a power cut leaves half a
    /// file or an empty one.
    pub fn save(&self, known: &Known) -> Result<()> {
        use std::io::Write as _;
        ensure_private_dir(&self.dir)?;
        let path = self.path(&known.origin)?;
        let tmp = path.with_extension("json.tmp");
        std::fs::File::create(&tmp)
            .and_then(|mut f| {
                f.write_all(&serde_json::to_vec_pretty(known)?)?;
                f.sync_all()
            })
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }
}

/// Parses a verifier key text and checks it belongs to `origin`.
pub fn verifier(origin: &str, key_text: &str) -> Result<NoteVerifier> {
    let v = NoteVerifier::parse(key_text.trim())
        .map_err(|e| anyhow!("log key {key_text:?} is not a note verifier key: {e}"))?;
    use kaitiaki_protocol::note::Verifier as _;
    if v.name().as_str() != origin {
        bail!(
            "log key is named {:?} but the log's origin is {origin:?}",
            v.name().as_str()
        );
    }
    Ok(v)
}

/// Checks that a log key the user gave (`--log-key`) is a key, and one for
/// `origin`, the log `target` serves: a key for another log is the user's
/// mistake to correct, not a fault of the log.
pub fn given_key_fits(key_text: &str, origin: &str, target: &str) -> Result<()> {
    let v = NoteVerifier::parse(key_text.trim())
        .map_err(|e| anyhow!("the --log-key {key_text:?} is not a log key: {e}"))?;
    use kaitiaki_protocol::note::Verifier as _;
    let named = v.name().as_str();
    if named != origin {
        bail!(
            "the --log-key given is the key of the log {named:?}, but {target} holds the log \
             {origin:?}; give {origin:?}'s key, or the address of {named:?}'s node"
        );
    }
    Ok(())
}

/// Verifies a signed checkpoint note of `origin` under `key_text`.
pub fn open_checkpoint(note: &str, origin: &str, key_text: &str) -> Result<VerifiedCheckpoint> {
    let v = verifier(origin, key_text)?;
    VerifiedCheckpoint::open(note.as_bytes(), origin, &[v])
        .map_err(|e| anyhow!("the checkpoint's signature does not verify under the log's key: {e}"))
}

/// Decides which key to trust for `origin`: the one given, else the one
/// remembered, else the one the node offers (first use). A node offering a
/// different key than the remembered one is refused.
///
/// `remedy` ends the refusal of a changed key: what the user can do, with
/// the command at hand ([`LOG_KEY_REMEDY`] where `--log-key` applies).
pub fn choose_key(
    given: Option<&str>,
    known: Option<&Known>,
    offered: &str,
    remedy: &str,
) -> Result<String> {
    if let Some(k) = given {
        return Ok(k.trim().to_owned());
    }
    if let Some(known) = known {
        if known.verifier_key.trim() != offered.trim() {
            bail!(
                "the log {} now presents key {offered:?}, but this computer checked it before under \
                 key {:?}; a log's key must not change. {remedy}",
                known.origin,
                known.verifier_key
            );
        }
    }
    Ok(offered.trim().to_owned())
}

/// What to do about a changed log key where `--log-key` applies.
pub const LOG_KEY_REMEDY: &str =
    "If the operator really rotated it, pass the new key with --log-key after confirming it with them";

/// Checks a newly verified checkpoint against the one remembered, using a
/// consistency proof fetched by `prove(old, new)` when the log grew.
pub fn check_history(
    known: Option<&Known>,
    size: u64,
    root: &Hash,
    prove: impl FnOnce(u64, u64) -> Result<Vec<Hash>>,
) -> Result<History> {
    let Some(known) = known else {
        return Ok(History::FirstSeen);
    };
    if size < known.size {
        bail!(
            "the log {} is now {size} leaves long, but this computer saw it at {} leaves: \
             a log may only grow. The earlier checkpoint is kept as evidence.",
            known.origin,
            known.size
        );
    }
    if size == known.size {
        if *root != known.root {
            bail!(
                "the log {} has two different roots at size {size}: it has forked (equivocation). \
                 The earlier checkpoint is kept as evidence.",
                known.origin
            );
        }
        return Ok(History::Unchanged);
    }
    if known.size == 0 {
        // Every tree extends the empty one; there is nothing to prove.
        return Ok(History::Extended { from: 0 });
    }
    let proof = prove(known.size, size)?;
    verify_consistency(known.size, size, &known.root, root, &proof).map_err(|e| {
        anyhow!(
            "the log {} at {size} leaves is not an extension of the log this computer saw at {} \
             leaves ({e}): it has been rewritten. The earlier checkpoint is kept as evidence.",
            known.origin,
            known.size
        )
    })?;
    Ok(History::Extended { from: known.size })
}

/// Ties the signed checkpoint a served proof was made against, `at`
/// (size, root), to the trusted checkpoint `trusted` of the same log: the
/// latest one fetched and verified, consistent with the one remembered. A
/// proof is only as good as the checkpoint it leads to, and a log key can
/// sign a second tree; so `at` must be `trusted` itself or, proven by the
/// consistency proof `prove(at size, trusted size)` returns, a prefix of
/// it.
pub fn tie(
    origin: &str,
    at: (u64, Hash),
    trusted: (u64, Hash),
    prove: impl FnOnce(u64, u64) -> Result<Vec<Hash>>,
) -> Result<()> {
    let ((m, old), (n, new)) = (at, trusted);
    if m > n {
        bail!(
            "the proof is against a checkpoint of {origin} of size {m}, beyond the log's latest \
             verified checkpoint of size {n}"
        );
    }
    if m == n {
        if old != new {
            bail!(
                "the log {origin} has two different roots at size {n}, both signed: {old} in the \
                 checkpoint the proof is against and {new} in its latest checkpoint; it has forked \
                 (equivocation)"
            );
        }
        return Ok(());
    }
    if m == 0 {
        // Every tree extends the empty one; there is nothing to prove.
        return Ok(());
    }
    let proof = prove(m, n)?;
    verify_consistency(m, n, &old, &new, &proof).map_err(|e| {
        anyhow!(
            "the checkpoint of {origin} of size {m} that the proof is against is not a prefix of the \
             log's latest verified checkpoint of size {n} ({e}): the log has forked"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kaitiaki_protocol::merkle::{consistency_proof, MemoryTree};

    fn known(size: u64, root: Hash) -> Known {
        Known {
            origin: "test.log".into(),
            verifier_key: "k".into(),
            size,
            root,
            note: String::new(),
            key_from: KeyFrom::Offered,
        }
    }

    #[test]
    fn growth_is_proved_and_rewrites_are_caught() {
        let mut tree = MemoryTree::new();
        for i in 0..5u8 {
            tree.append(&[i]);
        }
        let old = known(5, tree.root());
        for i in 5..9u8 {
            tree.append(&[i]);
        }
        let prove = |o, n| Ok(consistency_proof(&tree, o, n)?);
        assert_eq!(
            check_history(Some(&old), 9, &tree.root(), prove).unwrap(),
            History::Extended { from: 5 }
        );
        let mut other = MemoryTree::new();
        for i in 0..9u8 {
            other.append(&[i ^ 1]);
        }
        let prove = |o, n| Ok(consistency_proof(&other, o, n)?);
        assert!(check_history(Some(&old), 9, &other.root(), prove).is_err());
        assert!(check_history(Some(&old), 4, &tree.root(), |_, _| Ok(vec![])).is_err());
        assert!(check_history(Some(&old), 5, &other.root(), |_, _| Ok(vec![])).is_err());
    }

    #[test]
    fn a_proof_checkpoint_must_be_the_trusted_one_or_its_prefix() {
        let mut tree = MemoryTree::new();
        for i in 0..5u8 {
            tree.append(&[i]);
        }
        let five = (5, tree.root());
        for i in 5..9u8 {
            tree.append(&[i]);
        }
        let nine = (9, tree.root());
        let prove = |o, n| Ok(consistency_proof(&tree, o, n)?);
        tie("test.log", nine, nine, prove).unwrap();
        tie("test.log", five, nine, prove).unwrap();
        // Another tree of the same size, signed too: a fork.
        let forked = (9, Hash::default());
        let e = tie("test.log", forked, nine, prove).unwrap_err();
        assert!(e.to_string().contains("forked"), "{e}");
        // A smaller tree that the trusted one does not extend.
        let e = tie("test.log", (5, Hash::default()), nine, prove).unwrap_err();
        assert!(e.to_string().contains("not a prefix"), "{e}");
        // Beyond the trusted checkpoint: nothing ties it, and no proof is
        // asked for, since none could tie it.
        let unasked = |_: u64, _: u64| -> Result<Vec<Hash>> {
            unreachable!("no consistency proof is asked for a checkpoint beyond the trusted one")
        };
        let e = tie("test.log", nine, five, unasked).unwrap_err();
        assert!(
            e.to_string()
                .contains("size 9, beyond the log's latest verified checkpoint of size 5"),
            "{e}"
        );
    }

    #[test]
    fn a_changed_key_is_refused() {
        let k = known(1, Hash::default());
        let e = choose_key(None, Some(&k), "other", LOG_KEY_REMEDY).unwrap_err();
        assert!(e.to_string().ends_with(LOG_KEY_REMEDY), "{e}");
        assert_eq!(
            choose_key(None, Some(&k), "k", LOG_KEY_REMEDY).unwrap(),
            "k"
        );
        assert_eq!(
            choose_key(Some("given"), Some(&k), "k", LOG_KEY_REMEDY).unwrap(),
            "given"
        );
    }

    #[test]
    fn saves_and_loads() {
        let tmp = tempfile::tempdir().unwrap();
        let store = TrustStore::new(&Home::at(tmp.path()));
        assert!(store.load("test.log").unwrap().is_none());
        store.save(&known(3, Hash::default())).unwrap();
        assert_eq!(store.load("test.log").unwrap().unwrap().size, 3);
        assert!(store.load("../evil").is_err());
    }

    #[test]
    fn how_a_key_was_learned_is_kept_until_it_is_given() {
        let offered = known(1, Hash::default());
        assert_eq!(KeyFrom::of(false, None), KeyFrom::Offered);
        assert_eq!(KeyFrom::of(false, Some(&offered)), KeyFrom::Offered);
        assert_eq!(KeyFrom::of(true, Some(&offered)), KeyFrom::Given);
        let given = Known {
            key_from: KeyFrom::Given,
            ..offered.clone()
        };
        assert_eq!(KeyFrom::of(false, Some(&given)), KeyFrom::Given);
        // A file remembered before this was recorded reads as unrecorded.
        let mut old = serde_json::to_value(&offered).unwrap();
        old.as_object_mut().unwrap().remove("key_from");
        let old: Known = serde_json::from_value(old).unwrap();
        assert_eq!(old.key_from, KeyFrom::Unrecorded);
        assert!(KeyFrom::Offered
            .describe(false, false, "--log-key")
            .contains("never confirmed with --log-key"));
        assert!(KeyFrom::Given
            .describe(false, false, "--log-key")
            .contains("as given with --log-key before"));
    }
}
