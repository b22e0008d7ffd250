//! Evidence that a log misbehaved, checkable with the log's key alone.
//!
//! A node that follows another node's log keeps what it was shown. When two
//! things the log signed cannot both be true, the follower writes them down
//! as one small JSON document, an [`Evidence`]. Anyone who trusts the log's
//! note key can then check the claim with [`Evidence::verify`]: no access to
//! the log, no clock and no other state is needed, because everything in it
//! is either signed by the log or bound to something the log signed by a
//! Merkle proof.
//!
//! There are three kinds, specified in `PROTOCOL.md` §11:
//! - [`Evidence::Equivocation`]: two checkpoints of the same size with
//!   different roots, so the log shows different histories to different
//!   readers;
//! - [`Evidence::Inconsistent`]: a smaller checkpoint whose tree is not the
//!   start of a larger one, so the log rewrote its history;
//! - [`Evidence::BadLeaf`]: a checkpoint whose tree holds a leaf that is not
//!   a validly signed statement, so the log accepted something no honest node
//!   would sequence.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, CheckpointError, OpenCheckpointError, VerifiedCheckpoint};
use crate::envelope::EnvelopeError;
use crate::merkle;
use crate::note::{Note, NoteError, NoteVerifier, Verifier, VerifyError};
use crate::{Hash, Leaf};

/// Evidence that a log misbehaved.
///
/// Its JSON form is an object whose `kind` member names the variant in snake
/// case (`equivocation`, `inconsistent`, `bad_leaf`) and whose other members
/// are the variant's fields. Unknown members are refused. Hashes are 64
/// lowercase hex digits; notes are the complete text of a C2SP signed note,
/// signature lines included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Evidence {
    /// Two checkpoints of one log with the same size and different roots.
    Equivocation {
        /// The log's origin, which is also the name of its note key.
        origin: String,
        /// One signed checkpoint note.
        a: String,
        /// The other signed checkpoint note, of the same size as `a`.
        b: String,
    },
    /// Two checkpoints of sizes `m < n` that no consistency proof can join.
    ///
    /// The tree of `b` has, at size `m`, the root `prefix_root`, as `proof`
    /// shows: it is an RFC 9162 consistency proof from `(m, prefix_root)` to
    /// `(n, root of b)`. Since `prefix_root` differs from the root of `a`,
    /// the log signed two trees whose first `m` leaves differ.
    Inconsistent {
        /// The log's origin, which is also the name of its note key.
        origin: String,
        /// The signed checkpoint note of the smaller size `m`.
        a: String,
        /// The signed checkpoint note of the larger size `n`.
        b: String,
        /// The root of the first `m` leaves of the tree of `b`.
        prefix_root: Hash,
        /// The consistency proof from `(m, prefix_root)` to `b`, bottom-up.
        proof: Vec<Hash>,
    },
    /// A checkpoint whose tree holds, at `index`, a leaf that is not a valid
    /// signed statement: the leaf does not parse, its envelope's signature
    /// fails strict verification, or its statement does not parse or check.
    BadLeaf {
        /// The log's origin, which is also the name of its note key.
        origin: String,
        /// The signed checkpoint note whose tree holds the leaf.
        checkpoint: String,
        /// The leaf's position in the log, counting from zero.
        index: u64,
        /// The leaf's bytes; standard padded base64 in JSON.
        #[serde(with = "base64_bytes")]
        leaf: Vec<u8>,
        /// The inclusion proof of the leaf in the checkpoint's tree, bottom-up.
        proof: Vec<Hash>,
    },
}

/// What a piece of evidence proved, once [`Evidence::verify`] accepted it.
///
/// Its `Display` form is one plain sentence, such as "the log signed two
/// different trees of size 12".
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// The log signed two different trees of one size.
    Equivocation {
        /// The size of both trees.
        size: u64,
    },
    /// The log signed a tree that does not extend a smaller tree it signed.
    Inconsistent {
        /// The size of the smaller tree.
        old_size: u64,
        /// The size of the larger tree.
        new_size: u64,
    },
    /// The log signed a tree holding a leaf that is not a valid statement.
    BadLeaf {
        /// The leaf's position.
        index: u64,
        /// The size of the tree that holds it.
        size: u64,
        /// Why the leaf is not a valid signed statement, in words. It is for
        /// people and may change between versions.
        reason: String,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Equivocation { size } => {
                write!(f, "the log signed two different trees of size {size}")
            }
            Finding::Inconsistent { old_size, new_size } => write!(
                f,
                "the log signed a tree of size {new_size} that does not extend the tree of size {old_size} it also signed"
            ),
            Finding::BadLeaf {
                index,
                size,
                reason,
            } => write!(
                f,
                "the log signed a tree of size {size} whose leaf {index} is not a valid signed statement ({reason})"
            ),
        }
    }
}

/// Why a piece of evidence was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// The document is not valid evidence JSON: bad syntax, a missing or
    /// unknown member, an unknown kind, or a value of the wrong form.
    #[error("not an evidence document: {0}")]
    Json(String),
    /// The `origin` member is not the name of the log's key, or a
    /// checkpoint's origin is not the `origin` member.
    #[error("origin {found:?} is not the expected {expected:?}")]
    WrongOrigin {
        /// The origin the evidence had to carry.
        expected: String,
        /// The origin it carried.
        found: String,
    },
    /// A note is not a well-formed signed note.
    #[error("note {which} is malformed: {source}")]
    BadNote {
        /// Which member holds it: `a`, `b` or `checkpoint`.
        which: &'static str,
        /// What is wrong with it.
        #[source]
        source: NoteError,
    },
    /// A note is not signed by the log's key, or carries a line from the
    /// log's key that does not verify.
    #[error("note {which} is not signed by the log key: {source}")]
    WrongKey {
        /// Which member holds it: `a`, `b` or `checkpoint`.
        which: &'static str,
        /// Why its signatures were not accepted.
        #[source]
        source: VerifyError,
    },
    /// A note's text is not a valid checkpoint.
    #[error("note {which} is not a checkpoint: {source}")]
    NotACheckpoint {
        /// Which member holds it: `a`, `b` or `checkpoint`.
        which: &'static str,
        /// What is wrong with its text.
        #[source]
        source: CheckpointError,
    },
    /// The checkpoints are valid but do not contradict each other as the
    /// kind claims: for example equal roots, or sizes in the wrong order.
    #[error("the checkpoints do not conflict: {0}")]
    NotConflicting(&'static str),
    /// A consistency or inclusion proof does not verify.
    #[error("the proof does not verify: {0}")]
    BadProof(#[from] merkle::VerifyError),
    /// The leaf of a `bad_leaf` evidence is a valid signed statement.
    #[error("the leaf is a valid signed statement")]
    LeafIsValid,
}

impl EvidenceError {
    /// A stable machine-readable code for this rejection.
    pub fn code(&self) -> &'static str {
        match self {
            EvidenceError::Json(_) => "evidence_bad_json",
            EvidenceError::WrongOrigin { .. } => "evidence_wrong_origin",
            EvidenceError::BadNote { .. } => "evidence_bad_note",
            EvidenceError::WrongKey { .. } => "evidence_wrong_key",
            EvidenceError::NotACheckpoint { .. } => "evidence_not_a_checkpoint",
            EvidenceError::NotConflicting(_) => "evidence_not_conflicting",
            EvidenceError::BadProof(_) => "evidence_bad_proof",
            EvidenceError::LeafIsValid => "evidence_leaf_is_valid",
        }
    }
}

impl Evidence {
    /// The origin of the log the evidence is about.
    pub fn origin(&self) -> &str {
        match self {
            Evidence::Equivocation { origin, .. }
            | Evidence::Inconsistent { origin, .. }
            | Evidence::BadLeaf { origin, .. } => origin,
        }
    }

    /// The kind, as written in the JSON `kind` member.
    pub fn kind(&self) -> &'static str {
        match self {
            Evidence::Equivocation { .. } => "equivocation",
            Evidence::Inconsistent { .. } => "inconsistent",
            Evidence::BadLeaf { .. } => "bad_leaf",
        }
    }

    /// The JSON form, on one line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("evidence always serialises")
    }

    /// Reads the JSON form. Unknown members, unknown kinds, missing members
    /// and duplicate members are refused; white space around the document
    /// is allowed. Nothing is verified; call [`Evidence::verify`].
    pub fn from_json(text: &str) -> Result<Evidence, EvidenceError> {
        // The strict reader refuses duplicate members, so that one document
        // cannot be read two ways.
        let value = crate::json::parse_strict(
            text.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\r'))
                .as_bytes(),
        )
        .map_err(|e| EvidenceError::Json(e.to_string()))?;
        crate::json::from_value_exact(&value).map_err(|e| EvidenceError::Json(e.to_string()))
    }

    /// Checks the evidence against the log's note key, in the order
    /// `PROTOCOL.md` §11 gives, and says what it proves.
    ///
    /// First the `origin` member must be the key's name. Then every note, in
    /// member order, must parse, verify under `log` (lines from other keys,
    /// such as witness cosignatures, are ignored), be a checkpoint, and have
    /// `origin` as its origin. Last, the claim of the kind must hold.
    pub fn verify(&self, log: &NoteVerifier) -> Result<Finding, EvidenceError> {
        let origin = self.origin();
        if log.name().as_str() != origin {
            return Err(EvidenceError::WrongOrigin {
                expected: log.name().as_str().to_owned(),
                found: origin.to_owned(),
            });
        }
        match self {
            Evidence::Equivocation { a, b, .. } => {
                let a = open(a, "a", origin, log)?;
                let b = open(b, "b", origin, log)?;
                if a.size() != b.size() {
                    return Err(EvidenceError::NotConflicting(
                        "the checkpoints have different sizes",
                    ));
                }
                if a.root() == b.root() {
                    return Err(EvidenceError::NotConflicting(
                        "the checkpoints have the same root",
                    ));
                }
                Ok(Finding::Equivocation { size: a.size() })
            }
            Evidence::Inconsistent {
                a,
                b,
                prefix_root,
                proof,
                ..
            } => {
                let a = open(a, "a", origin, log)?;
                let b = open(b, "b", origin, log)?;
                if a.size() >= b.size() {
                    return Err(EvidenceError::NotConflicting(
                        "checkpoint a is not smaller than checkpoint b",
                    ));
                }
                if prefix_root == a.root() {
                    return Err(EvidenceError::NotConflicting(
                        "prefix_root is the root of checkpoint a",
                    ));
                }
                merkle::verify_consistency(a.size(), b.size(), prefix_root, b.root(), proof)?;
                Ok(Finding::Inconsistent {
                    old_size: a.size(),
                    new_size: b.size(),
                })
            }
            Evidence::BadLeaf {
                checkpoint,
                index,
                leaf,
                proof,
                ..
            } => {
                let c = open(checkpoint, "checkpoint", origin, log)?;
                merkle::verify_inclusion(
                    &merkle::leaf_hash(leaf),
                    *index,
                    c.size(),
                    proof,
                    c.root(),
                )?;
                let reason = why_invalid(leaf).ok_or(EvidenceError::LeafIsValid)?;
                Ok(Finding::BadLeaf {
                    index: *index,
                    size: c.size(),
                    reason: reason.to_string(),
                })
            }
        }
    }
}

/// Parses, verifies and reads one note of the evidence as a checkpoint of
/// `origin`.
fn open(
    text: &str,
    which: &'static str,
    origin: &str,
    log: &NoteVerifier,
) -> Result<Checkpoint, EvidenceError> {
    let note =
        Note::parse(text.as_bytes()).map_err(|source| EvidenceError::BadNote { which, source })?;
    match VerifiedCheckpoint::from_note(note, origin, std::slice::from_ref(log)) {
        Ok(verified) => Ok(verified.checkpoint().clone()),
        Err(OpenCheckpointError::Note(source)) => Err(EvidenceError::BadNote { which, source }),
        Err(OpenCheckpointError::Signature(source)) => {
            Err(EvidenceError::WrongKey { which, source })
        }
        Err(OpenCheckpointError::Checkpoint(source)) => {
            Err(EvidenceError::NotACheckpoint { which, source })
        }
        Err(OpenCheckpointError::OriginMismatch { expected, found }) => {
            Err(EvidenceError::WrongOrigin { expected, found })
        }
    }
}

/// Why `leaf` is not a valid signed statement, or `None` if it is one.
fn why_invalid(leaf: &[u8]) -> Option<EnvelopeError> {
    match Leaf::from_bytes(leaf) {
        Err(e) => Some(e),
        Ok(leaf) => leaf.into_envelope().open().err(),
    }
}

/// Serde for bytes as standard padded base64.
mod base64_bytes {
    use base64::{engine::general_purpose::STANDARD, Engine as _};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(|_| serde::de::Error::custom("expected standard padded base64"))
    }
}
