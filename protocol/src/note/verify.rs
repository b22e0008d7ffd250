//! Checking a note's signatures against the keys a caller trusts.
//!
//! The rules, from the signed-note spec: a line is "from a known key" only
//! when both its name and key id match a trusted key; other lines are kept
//! but ignored (they may be witness cosignatures, or a rotated log key). A
//! known key whose signature fails rejects the whole note, so a corrupted or
//! forged line is reported rather than silently skipped. And a note with no
//! valid signature from a known key is not trusted at all.

use super::{KeyId, KeyName, Note, NoteError, NoteSignature};

/// A trusted key that can check one kind of signature line.
///
/// Implemented by [`super::NoteVerifier`] (plain Ed25519) and
/// [`crate::cosignature::CosignatureVerifier`] (witness cosignatures), and by
/// references to either, so a mixed list can be passed as `&[&dyn Verifier]`.
pub trait Verifier {
    /// The key name its signature lines carry.
    fn name(&self) -> &KeyName;

    /// The key id its signature lines carry.
    fn key_id(&self) -> KeyId;

    /// Whether `signature` (the line's bytes after the key id) is valid for
    /// the note text `text`. Any malformed signature is simply `false`.
    fn verify(&self, text: &str, signature: &[u8]) -> bool;
}

impl<T: Verifier + ?Sized> Verifier for &T {
    fn name(&self) -> &KeyName {
        (**self).name()
    }

    fn key_id(&self) -> KeyId {
        (**self).key_id()
    }

    fn verify(&self, text: &str, signature: &[u8]) -> bool {
        (**self).verify(text, signature)
    }
}

/// Why a note's signatures were not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A line from a trusted key does not verify: the note is corrupt or forged.
    #[error("invalid signature from known key {name}+{key_id}")]
    InvalidSignature {
        /// The key's name.
        name: KeyName,
        /// The key's id.
        key_id: KeyId,
    },
    /// Two trusted keys share this name and key id, so a line cannot be
    /// attributed; the list of trusted keys needs fixing.
    #[error("two trusted keys share the name and key id {name}+{key_id}")]
    AmbiguousKey {
        /// The shared name.
        name: KeyName,
        /// The shared key id.
        key_id: KeyId,
    },
    /// No line verifies under a trusted key.
    #[error("the note has no valid signature from a trusted key")]
    NoKnownSignature,
}

impl VerifyError {
    /// A stable machine-readable code for this rejection.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::InvalidSignature { .. } => "note_invalid_signature",
            VerifyError::AmbiguousKey { .. } => "note_ambiguous_key",
            VerifyError::NoKnownSignature => "note_no_known_signature",
        }
    }
}

/// Why [`Note::open`] refused an encoded note.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The note is malformed.
    #[error(transparent)]
    Malformed(#[from] NoteError),
    /// The note is well formed but its signatures are not accepted.
    #[error(transparent)]
    Unverified(#[from] VerifyError),
}

impl OpenError {
    /// A stable machine-readable code for this rejection.
    pub fn code(&self) -> &'static str {
        match self {
            OpenError::Malformed(e) => e.code(),
            OpenError::Unverified(e) => e.code(),
        }
    }
}

impl Note {
    /// Every line from a trusted key, paired with that key, after checking
    /// each one. Lines from unknown keys are skipped. Unlike
    /// [`Note::verify`], an empty answer is not an error: this is the
    /// building block for "which of these keys signed".
    pub fn verified_signatures<'v, V: Verifier>(
        &self,
        verifiers: &'v [V],
    ) -> Result<Vec<(&'v V, &NoteSignature)>, VerifyError> {
        let mut out = Vec::new();
        for line in &self.signatures {
            let mut matches = verifiers
                .iter()
                .filter(|v| line.is_from(v.name(), v.key_id()));
            let Some(verifier) = matches.next() else {
                continue;
            };
            if matches.next().is_some() {
                return Err(VerifyError::AmbiguousKey {
                    name: line.name.clone(),
                    key_id: line.key_id,
                });
            }
            // Every line of a known key is checked, duplicates included, so
            // no invalid line from a trusted key ever rides along unnoticed.
            if !verifier.verify(&self.text, &line.signature) {
                return Err(VerifyError::InvalidSignature {
                    name: line.name.clone(),
                    key_id: line.key_id,
                });
            }
            out.push((verifier, line));
        }
        Ok(out)
    }

    /// Which of `verifiers` validly signed this note, each once, in the order
    /// their first line appears. May be empty.
    pub fn signers<'v, V: Verifier>(&self, verifiers: &'v [V]) -> Result<Vec<&'v V>, VerifyError> {
        let mut out: Vec<&'v V> = Vec::new();
        for (v, _) in self.verified_signatures(verifiers)? {
            if !out.iter().any(|seen| std::ptr::eq(*seen, v)) {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// Checks the note as the spec requires: no invalid line from a trusted
    /// key, and at least one valid one. Returns the keys that signed.
    pub fn verify<'v, V: Verifier>(&self, verifiers: &'v [V]) -> Result<Vec<&'v V>, VerifyError> {
        let signers = self.signers(verifiers)?;
        if signers.is_empty() {
            return Err(VerifyError::NoKnownSignature);
        }
        Ok(signers)
    }

    /// Parses and verifies an encoded note in one step.
    pub fn open<'v, V: Verifier>(
        bytes: &[u8],
        verifiers: &'v [V],
    ) -> Result<(Note, Vec<&'v V>), OpenError> {
        let note = Note::parse(bytes)?;
        let signers = note.verify(verifiers)?;
        Ok((note, signers))
    }
}
