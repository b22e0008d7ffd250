//! C2SP tlog-cosignature v1: a witness's timestamped Ed25519 signature on a
//! checkpoint.
//!
//! A cosignature is one more signature line on a checkpoint note, made with
//! signature type 0x04. Its bytes are `timestamp (u64, big-endian) ||
//! Ed25519 signature`, and the signature is over
//!
//! ```text
//! cosignature/v1\n
//! time <timestamp, decimal>\n
//! <checkpoint body, final newline included>
//! ```
//!
//! It says: "as of this time, this is the largest tree I have seen for this
//! log, and it is consistent with everything I saw before". A client that
//! requires k of n witnesses to have cosigned a checkpoint cannot be shown a
//! split view unless k witnesses collude. [`witness_cosignatures`] and
//! [`require_cosignatures`] check that.

use std::fmt;

use ed25519_dalek::SigningKey;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::keys::{PublicKey, Signature};
use crate::note::{
    format_key_text, parse_signer_key, parse_verifier_key, sign_ed25519, verify_ed25519, KeyId,
    KeyName, KeyTextError, Note, NoteSignature, Verifier, VerifyError, SIGNER_KEY_PREFIX,
};

/// Signature type byte of Ed25519 v1 cosignatures, mixed into the key id.
pub const SIG_TYPE_COSIGNATURE_V1: u8 = 0x04;
/// The header line that starts every v1 cosigned message (domain separation).
pub const COSIGNATURE_V1_HEADER: &str = "cosignature/v1\n";
/// What starts the second line of a cosigned message, before the timestamp.
pub const TIME_LINE_PREFIX: &str = "time ";
/// The largest timestamp the spec allows, 2^63 - 1.
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;
/// Length of a cosignature's bytes after the key id: timestamp and signature.
pub const COSIGNATURE_LEN: usize = 8 + 64;

/// The exact bytes a witness signs to cosign `checkpoint` at `timestamp`
/// (POSIX seconds).
pub fn cosigned_message(checkpoint: &Checkpoint, timestamp: u64) -> Vec<u8> {
    message_for_text(&checkpoint.to_text(), timestamp)
}

fn message_for_text(text: &str, timestamp: u64) -> Vec<u8> {
    format!("{COSIGNATURE_V1_HEADER}{TIME_LINE_PREFIX}{timestamp}\n{text}").into_bytes()
}

/// Why a cosignature was refused or could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CosignatureError {
    /// The bytes after the key id are not 8 + 64 long.
    #[error("a cosignature is {COSIGNATURE_LEN} bytes after the key id; found {len}")]
    Length {
        /// How many there were.
        len: usize,
    },
    /// The timestamp is above 2^63 - 1.
    #[error("timestamp {timestamp} is above 2^63 - 1")]
    TimestampOutOfRange {
        /// The timestamp.
        timestamp: u64,
    },
    /// The line is from another key than the verifier's.
    #[error("the signature line is from {name}+{key_id}, not this witness")]
    WrongKey {
        /// The line's key name.
        name: KeyName,
        /// The line's key id.
        key_id: KeyId,
    },
    /// A trusted witness's cosignature does not verify.
    #[error("invalid cosignature from witness {name}+{key_id}")]
    InvalidSignature {
        /// The witness's key name.
        name: KeyName,
        /// The witness's key id.
        key_id: KeyId,
    },
    /// Two trusted witnesses share a name and key id.
    #[error("two trusted witnesses share the name and key id {name}+{key_id}")]
    AmbiguousWitness {
        /// The shared name.
        name: KeyName,
        /// The shared key id.
        key_id: KeyId,
    },
    /// The note's signature lines were refused for another reason.
    #[error(transparent)]
    Note(VerifyError),
    /// The cosigned note's text is not a checkpoint.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// Fewer distinct witnesses cosigned than the policy requires.
    #[error("{found} of the required {required} witnesses cosigned")]
    NotEnoughCosignatures {
        /// Distinct witness keys with a valid cosignature.
        found: usize,
        /// The threshold asked for.
        required: usize,
    },
}

impl CosignatureError {
    /// A stable machine-readable code for this rejection.
    pub fn code(&self) -> &'static str {
        match self {
            CosignatureError::Length { .. } => "cosignature_length",
            CosignatureError::TimestampOutOfRange { .. } => "cosignature_timestamp_out_of_range",
            CosignatureError::WrongKey { .. } => "cosignature_wrong_key",
            CosignatureError::InvalidSignature { .. } => "cosignature_invalid_signature",
            CosignatureError::AmbiguousWitness { .. } => "cosignature_ambiguous_witness",
            CosignatureError::Note(e) => e.code(),
            CosignatureError::Checkpoint(e) => e.code(),
            CosignatureError::NotEnoughCosignatures { .. } => "cosignature_not_enough",
        }
    }
}

/// The bytes of a v1 cosignature line after its key id.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Cosignature {
    timestamp: u64,
    signature: Signature,
}

impl Cosignature {
    /// Reads `timestamp (8, big-endian) || signature (64)`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CosignatureError> {
        let len = bytes.len();
        let (ts, sig) = bytes
            .split_first_chunk::<8>()
            .filter(|(_, sig)| sig.len() == 64)
            .ok_or(CosignatureError::Length { len })?;
        let timestamp = u64::from_be_bytes(*ts);
        if timestamp > MAX_TIMESTAMP {
            return Err(CosignatureError::TimestampOutOfRange { timestamp });
        }
        let signature = Signature::from_slice(sig).map_err(|_| CosignatureError::Length { len })?;
        Ok(Cosignature {
            timestamp,
            signature,
        })
    }

    /// The encoded bytes.
    pub fn to_bytes(&self) -> [u8; COSIGNATURE_LEN] {
        let mut out = [0u8; COSIGNATURE_LEN];
        out[..8].copy_from_slice(&self.timestamp.to_be_bytes());
        out[8..].copy_from_slice(self.signature.as_bytes());
        out
    }

    /// When the witness cosigned, in POSIX seconds. Callers may reject
    /// timestamps in the future; this crate has no clock to do it.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The Ed25519 signature over [`cosigned_message`].
    pub fn signature(&self) -> &Signature {
        &self.signature
    }
}

/// A witness key that cosigns checkpoints. `Debug` never prints the secret.
#[derive(Clone)]
pub struct Cosigner {
    name: KeyName,
    key_id: KeyId,
    key: SigningKey,
}

impl Cosigner {
    /// A cosigner from a name and an Ed25519 key. Per the spec, one key must
    /// serve only one cosigner name, because the message does not include it.
    pub fn new(name: KeyName, key: SigningKey) -> Self {
        let key_id = KeyId::compute(
            &name,
            SIG_TYPE_COSIGNATURE_V1,
            key.verifying_key().as_bytes(),
        );
        Cosigner { name, key_id, key }
    }

    /// A cosigner from a name and a 32-byte Ed25519 seed.
    pub fn from_seed(name: KeyName, seed: &[u8; 32]) -> Self {
        Self::new(name, SigningKey::from_bytes(seed))
    }

    /// Parses `PRIVATE+KEY+<name>+<key id>+<base64(0x04 || seed)>`, the
    /// signer key text form with this signature type.
    pub fn parse(text: &str) -> Result<Self, KeyTextError> {
        let (name, key_id, key) = parse_signer_key(text, SIG_TYPE_COSIGNATURE_V1)?;
        Ok(Cosigner { name, key_id, key })
    }

    /// The signer key text. It is the secret key: store it as one.
    pub fn to_signer_key_text(&self) -> String {
        let seed = self.key.to_bytes();
        let body = format_key_text(&self.name, self.key_id, SIG_TYPE_COSIGNATURE_V1, &seed);
        format!("{SIGNER_KEY_PREFIX}{body}")
    }

    /// The witness's key name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The witness's key id (type 0x04).
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::of(&self.key)
    }

    /// The matching verifier, to publish so clients can count this witness.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.public_key(),
        }
    }

    /// Cosigns `checkpoint` at `timestamp` (POSIX seconds), giving the
    /// signature line to append to the checkpoint note.
    pub fn cosign(
        &self,
        checkpoint: &Checkpoint,
        timestamp: u64,
    ) -> Result<NoteSignature, CosignatureError> {
        if timestamp > MAX_TIMESTAMP {
            return Err(CosignatureError::TimestampOutOfRange { timestamp });
        }
        let signature = sign_ed25519(&self.key, &cosigned_message(checkpoint, timestamp));
        let bytes = Cosignature {
            timestamp,
            signature,
        }
        .to_bytes();
        Ok(
            NoteSignature::new(self.name.clone(), self.key_id, bytes.to_vec())
                .expect("a cosignature is never empty"),
        )
    }
}

impl fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cosigner({}+{}, <secret>)", self.name, self.key_id)
    }
}

/// A trusted witness key (signature type 0x04): name, key id, public key.
#[derive(Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: KeyName,
    key_id: KeyId,
    key: PublicKey,
}

impl CosignatureVerifier {
    /// A verifier from a name and a public key.
    pub fn new(name: KeyName, key: PublicKey) -> Self {
        let key_id = KeyId::compute(&name, SIG_TYPE_COSIGNATURE_V1, key.as_bytes());
        CosignatureVerifier { name, key_id, key }
    }

    /// Parses the verifier key text `<name>+<key id>+<base64(0x04 || public key)>`.
    pub fn parse(text: &str) -> Result<Self, KeyTextError> {
        let (name, key_id, key) = parse_verifier_key(text, SIG_TYPE_COSIGNATURE_V1)?;
        Ok(CosignatureVerifier { name, key_id, key })
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// Checks that `line` is this witness's valid cosignature of `checkpoint`.
    pub fn verify_cosignature(
        &self,
        checkpoint: &Checkpoint,
        line: &NoteSignature,
    ) -> Result<Cosignature, CosignatureError> {
        if !line.is_from(&self.name, self.key_id) {
            return Err(CosignatureError::WrongKey {
                name: line.name().clone(),
                key_id: line.key_id(),
            });
        }
        let cosignature = Cosignature::from_bytes(line.signature())?;
        let message = cosigned_message(checkpoint, cosignature.timestamp);
        if !verify_ed25519(&self.key, &message, cosignature.signature.as_bytes()) {
            return Err(CosignatureError::InvalidSignature {
                name: self.name.clone(),
                key_id: self.key_id,
            });
        }
        Ok(cosignature)
    }
}

impl Verifier for CosignatureVerifier {
    fn name(&self) -> &KeyName {
        &self.name
    }

    fn key_id(&self) -> KeyId {
        self.key_id
    }

    fn verify(&self, text: &str, signature: &[u8]) -> bool {
        Cosignature::from_bytes(signature).is_ok_and(|c| {
            let message = message_for_text(text, c.timestamp);
            verify_ed25519(&self.key, &message, c.signature.as_bytes())
        })
    }
}

impl fmt::Display for CosignatureVerifier {
    /// The verifier key text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = format_key_text(
            &self.name,
            self.key_id,
            SIG_TYPE_COSIGNATURE_V1,
            self.key.as_bytes(),
        );
        f.write_str(&text)
    }
}

impl fmt::Debug for CosignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CosignatureVerifier({self})")
    }
}

impl std::str::FromStr for CosignatureVerifier {
    type Err = KeyTextError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// One trusted witness that validly cosigned, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WitnessCosignature<'w> {
    witness: &'w CosignatureVerifier,
    timestamp: u64,
}

impl<'w> WitnessCosignature<'w> {
    /// The witness.
    pub fn witness(&self) -> &'w CosignatureVerifier {
        self.witness
    }

    /// The latest timestamp among its valid cosignatures on the note.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }
}

/// Which of `witnesses` validly cosigned the checkpoint `note`, one entry per
/// witness in the order their first line appears.
///
/// Lines from other keys (the log's own signature, unknown witnesses) are
/// ignored; an invalid cosignature from a trusted witness is an error, as
/// for any note. The log's signature is not checked here: open the note with
/// [`crate::checkpoint::VerifiedCheckpoint`] first.
pub fn witness_cosignatures<'w>(
    note: &Note,
    witnesses: &'w [CosignatureVerifier],
) -> Result<Vec<WitnessCosignature<'w>>, CosignatureError> {
    // Cosignatures only mean something on a checkpoint.
    Checkpoint::from_note(note)?;
    let verified = note.verified_signatures(witnesses).map_err(|e| match e {
        VerifyError::AmbiguousKey { name, key_id } => {
            CosignatureError::AmbiguousWitness { name, key_id }
        }
        VerifyError::InvalidSignature { name, key_id } => {
            CosignatureError::InvalidSignature { name, key_id }
        }
        other => CosignatureError::Note(other),
    })?;
    let mut out: Vec<WitnessCosignature<'w>> = Vec::new();
    for (witness, line) in verified {
        let timestamp = Cosignature::from_bytes(line.signature())?.timestamp;
        match out.iter_mut().find(|w| std::ptr::eq(w.witness, witness)) {
            Some(seen) => seen.timestamp = seen.timestamp.max(timestamp),
            None => out.push(WitnessCosignature { witness, timestamp }),
        }
    }
    Ok(out)
}

/// [`witness_cosignatures`], then requires at least `threshold` distinct
/// witness public keys among them.
///
/// Keys, not names, are counted: the v1 message does not name the witness,
/// so one key listed under two names is one witness, and must not be able
/// to fill two places in a k-of-n policy.
pub fn require_cosignatures<'w>(
    note: &Note,
    witnesses: &'w [CosignatureVerifier],
    threshold: usize,
) -> Result<Vec<WitnessCosignature<'w>>, CosignatureError> {
    let cosigned = witness_cosignatures(note, witnesses)?;
    let mut keys: Vec<&PublicKey> = cosigned.iter().map(|w| &w.witness.key).collect();
    keys.sort();
    keys.dedup();
    if keys.len() < threshold {
        return Err(CosignatureError::NotEnoughCosignatures {
            found: keys.len(),
            required: threshold,
        });
    }
    Ok(cosigned)
}
