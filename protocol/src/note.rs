//! C2SP signed notes: text signed by one or more named keys.
//!
//! A note is `text` (ending in a newline), a blank line, then one or more
//! signature lines `— <key name> <base64(key id || signature)>`. Checkpoints
//! ([`crate::checkpoint`]) are notes, and witness cosignatures
//! ([`crate::cosignature`]) are extra signature lines on them.
//!
//! Parsing ([`Note::parse`]) only checks syntax. Trust comes from
//! [`Note::verify`], which follows the spec: lines from keys the caller does not
//! know are kept but ignored, a known key whose signature fails rejects the
//! whole note, and at least one known key must have signed. Ed25519 is always
//! verified strictly (see [`crate::keys`]).

use std::fmt;

use base64::{engine::general_purpose::STANDARD, Engine as _};
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

use crate::keys::{PublicKey, Signature};

mod keytext;
mod verify;

pub(crate) use keytext::{format_key_text, parse_signer_key, parse_verifier_key};
pub use keytext::{KeyTextError, NoteSigner, NoteVerifier, KEY_TEXT_SEPARATOR, SIGNER_KEY_PREFIX};
pub use verify::{OpenError, Verifier, VerifyError};

/// Signature type byte of plain Ed25519 note signatures, mixed into the key id.
pub const SIG_TYPE_ED25519: u8 = 0x01;
/// What starts every signature line: an em dash (U+2014) and a space.
pub const SIGNATURE_LINE_PREFIX: &str = "— ";
/// The most signature lines a note may carry. The spec asks verifiers to
/// accept at least 16; 100 matches the Go implementation and bounds the work
/// a hostile note can demand.
pub const MAX_SIGNATURES: usize = 100;
/// The largest encoded note accepted, in bytes. Generous enough for 100
/// post-quantum signature lines, small enough that parsing is cheap.
pub const MAX_NOTE_BYTES: usize = 1 << 20;
/// Length of a key id in bytes.
pub const KEY_ID_LEN: usize = 4;

/// A key name: non-empty, no Unicode white space, no `+`, no control characters.
///
/// `+` is excluded because key texts use it as a separator; spaces because a
/// signature line ends its name at the first space.
// INVARIANT: `check_name(&self.0)` holds.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyName(String);

/// Why a key name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyNameError {
    /// The name is empty.
    #[error("a key name must not be empty")]
    Empty,
    /// The name contains a Unicode white-space character.
    #[error("a key name must not contain white space")]
    WhiteSpace,
    /// The name contains `+`.
    #[error("a key name must not contain '+'")]
    Plus,
    /// The name contains a control character.
    #[error("a key name must not contain control characters")]
    ControlCharacter,
}

fn check_name(name: &str) -> Result<(), KeyNameError> {
    if name.is_empty() {
        return Err(KeyNameError::Empty);
    }
    for c in name.chars() {
        if c.is_whitespace() {
            return Err(KeyNameError::WhiteSpace);
        }
        if c == '+' {
            return Err(KeyNameError::Plus);
        }
        if c.is_control() {
            return Err(KeyNameError::ControlCharacter);
        }
    }
    Ok(())
}

impl KeyName {
    /// Checks and wraps a name.
    pub fn new(name: impl Into<String>) -> Result<Self, KeyNameError> {
        let name = name.into();
        check_name(&name)?;
        Ok(KeyName(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyName({:?})", self.0)
    }
}

/// A 4-byte key id: which key, of which signature type, made a signature.
///
/// It is an identifier, not a strong hash: a verifier is configured with the
/// full public key, so a colliding id only yields a failed verification.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; KEY_ID_LEN]);

impl KeyId {
    /// `SHA-256(name || 0x0A || sig_type || public_key)[..4]`, the id the spec
    /// recommends. Mixing in the type lets one key serve several signature
    /// types without their ids colliding.
    pub fn compute(name: &KeyName, sig_type: u8, public_key: &[u8]) -> Self {
        let digest = Sha256::new()
            .chain_update(name.as_str().as_bytes())
            .chain_update([b'\n', sig_type])
            .chain_update(public_key)
            .finalize();
        KeyId([digest[0], digest[1], digest[2], digest[3]])
    }

    /// Wraps raw bytes.
    pub const fn from_bytes(bytes: [u8; KEY_ID_LEN]) -> Self {
        KeyId(bytes)
    }

    /// The raw bytes, in signature-line order (big-endian).
    pub const fn as_bytes(&self) -> &[u8; KEY_ID_LEN] {
        &self.0
    }

    /// The id as the big-endian `u32` other implementations print.
    pub const fn to_u32(self) -> u32 {
        u32::from_be_bytes(self.0)
    }
}

impl fmt::Display for KeyId {
    /// Eight lowercase hex digits, as in verifier key texts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.to_u32())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// One signature line: who signed (name and key id) and the signature bytes.
///
/// The bytes are whatever the signature type defines (64 bytes for Ed25519,
/// timestamp and signature for a cosignature); lines from unknown keys are
/// carried through unchanged.
// INVARIANT: `signature` is non-empty.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NoteSignature {
    name: KeyName,
    key_id: KeyId,
    signature: Vec<u8>,
}

/// Why a single signature line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureLineError {
    /// The line does not start with an em dash and a space.
    #[error("a signature line must start with \"— \" (em dash, space)")]
    MissingPrefix,
    /// No space separates the key name from the signature.
    #[error("a signature line needs a space between key name and signature")]
    MissingSignature,
    /// The key name is not acceptable.
    #[error("invalid key name: {0}")]
    InvalidName(#[source] KeyNameError),
    /// The signature is not canonical standard padded base64.
    #[error("the signature is not standard padded base64")]
    InvalidBase64,
    /// The decoded signature has no bytes after the 4-byte key id.
    #[error("the signature holds {len} bytes; it needs a 4-byte key id and at least one more")]
    TooShort {
        /// How many bytes it decoded to.
        len: usize,
    },
}

impl NoteSignature {
    /// Assembles a line from its parts; `signature` excludes the key id.
    ///
    /// Returns `None` when `signature` is empty, which no signature type allows.
    pub fn new(name: KeyName, key_id: KeyId, signature: Vec<u8>) -> Option<Self> {
        (!signature.is_empty()).then_some(NoteSignature {
            name,
            key_id,
            signature,
        })
    }

    /// Parses one line without its final newline.
    pub fn parse(line: &str) -> Result<Self, SignatureLineError> {
        let rest = line
            .strip_prefix(SIGNATURE_LINE_PREFIX)
            .ok_or(SignatureLineError::MissingPrefix)?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(SignatureLineError::MissingSignature)?;
        let name = KeyName::new(name).map_err(SignatureLineError::InvalidName)?;
        let raw = STANDARD
            .decode(b64)
            .map_err(|_| SignatureLineError::InvalidBase64)?;
        if raw.len() <= KEY_ID_LEN {
            return Err(SignatureLineError::TooShort { len: raw.len() });
        }
        let key_id = KeyId([raw[0], raw[1], raw[2], raw[3]]);
        Ok(NoteSignature {
            name,
            key_id,
            signature: raw[KEY_ID_LEN..].to_vec(),
        })
    }

    /// Parses a block of lines, each ending in a newline, such as a witness's
    /// `add-checkpoint` response body.
    pub fn parse_lines(block: &str) -> Result<Vec<Self>, NoteError> {
        let body = block
            .strip_suffix('\n')
            .ok_or(NoteError::MissingFinalNewline)?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                max: MAX_SIGNATURES,
            });
        }
        lines
            .into_iter()
            .enumerate()
            .map(|(i, line)| {
                Self::parse(line).map_err(|source| NoteError::SignatureLine {
                    line: i + 1,
                    source,
                })
            })
            .collect()
    }

    /// The signer's key name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The signer's key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The signature bytes after the key id.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The line with its final newline, ready to append to a note.
    pub fn to_line(&self) -> String {
        format!("{self}\n")
    }

    /// Whether this line comes from the key `name` + `key_id`.
    pub fn is_from(&self, name: &KeyName, key_id: KeyId) -> bool {
        &self.name == name && self.key_id == key_id
    }
}

impl fmt::Display for NoteSignature {
    /// The line without its final newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(KEY_ID_LEN + self.signature.len());
        raw.extend_from_slice(&self.key_id.0);
        raw.extend_from_slice(&self.signature);
        write!(
            f,
            "{SIGNATURE_LINE_PREFIX}{} {}",
            self.name,
            STANDARD.encode(raw)
        )
    }
}

impl fmt::Debug for NoteSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteSignature({self})")
    }
}

/// A note: its text and its signature lines, not yet trusted.
// INVARIANT: `text` passes `check_text`; 1..=MAX_SIGNATURES signatures; the
// encoding is at most MAX_NOTE_BYTES long. So `parse(to_bytes())` succeeds
// and gives back the same note.
#[derive(Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// Why a note could not be parsed or built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note is longer than [`MAX_NOTE_BYTES`].
    #[error("the note is {len} bytes; at most {max} are accepted")]
    TooLarge {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The note is not valid UTF-8.
    #[error("the note is not valid UTF-8")]
    InvalidUtf8,
    /// An ASCII control character other than newline appears.
    #[error("control character at byte {offset}; only newline is allowed")]
    ControlCharacter {
        /// Byte offset of the character.
        offset: usize,
    },
    /// The text, or the last signature line, does not end in a newline.
    #[error("the note text and every signature line must end in a newline")]
    MissingFinalNewline,
    /// No blank line separates the text from the signatures.
    #[error("no blank line separates the text from the signatures")]
    MissingSignatureBlock,
    /// The note has no signature lines.
    #[error("the note has no signature lines")]
    NoSignatures,
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("more than {max} signature lines")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// A signature line is malformed.
    #[error("signature line {line}: {source}")]
    SignatureLine {
        /// 1-based number of the line within the signature block.
        line: usize,
        /// What is wrong with it.
        #[source]
        source: SignatureLineError,
    },
}

impl NoteError {
    /// A stable machine-readable code for this rejection.
    pub fn code(&self) -> &'static str {
        match self {
            NoteError::TooLarge { .. } => "note_too_large",
            NoteError::InvalidUtf8 => "note_invalid_utf8",
            NoteError::ControlCharacter { .. } => "note_control_character",
            NoteError::MissingFinalNewline => "note_missing_final_newline",
            NoteError::MissingSignatureBlock => "note_missing_signature_block",
            NoteError::NoSignatures => "note_no_signatures",
            NoteError::TooManySignatures { .. } => "note_too_many_signatures",
            NoteError::SignatureLine { .. } => "note_malformed_signature_line",
        }
    }
}

/// Checks a note text: ends in a newline, no control characters but newline.
fn check_text(text: &str) -> Result<(), NoteError> {
    if let Some(offset) = text.bytes().position(|b| b < 0x20 && b != b'\n') {
        return Err(NoteError::ControlCharacter { offset });
    }
    if !text.ends_with('\n') {
        return Err(NoteError::MissingFinalNewline);
    }
    Ok(())
}

impl Note {
    /// Builds a note from a text and at least one signature line.
    pub fn new(text: impl Into<String>, signatures: Vec<NoteSignature>) -> Result<Self, NoteError> {
        let text = text.into();
        check_text(&text)?;
        if signatures.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        if signatures.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                max: MAX_SIGNATURES,
            });
        }
        let note = Note { text, signatures };
        note.check_len()?;
        Ok(note)
    }

    /// Signs `text` with `signer`, giving a note with one signature.
    pub fn sign(text: impl Into<String>, signer: &NoteSigner) -> Result<Self, NoteError> {
        let text = text.into();
        check_text(&text)?;
        let signature = signer.sign_text(&text);
        Note::new(text, vec![signature])
    }

    /// Parses an encoded note. Only the syntax is checked; call
    /// [`Note::verify`] before believing the text.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge {
                len: bytes.len(),
                max: MAX_NOTE_BYTES,
            });
        }
        let all = std::str::from_utf8(bytes).map_err(|_| NoteError::InvalidUtf8)?;
        if let Some(offset) = all.bytes().position(|b| b < 0x20 && b != b'\n') {
            return Err(NoteError::ControlCharacter { offset });
        }
        // The text may itself hold blank lines; the last one is the separator,
        // because signature lines are never empty.
        let split = all.rfind("\n\n").ok_or(NoteError::MissingSignatureBlock)?;
        let (text, block) = (&all[..=split], &all[split + 2..]);
        if block.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        let signatures = NoteSignature::parse_lines(block)?;
        Note::new(text, signatures)
    }

    /// The signed text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every signature line, known keys or not, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line. A line from the same name and key id is
    /// replaced, so signing twice never stacks up lines.
    pub fn add_signature(&mut self, signature: NoteSignature) -> Result<(), NoteError> {
        let mut next = self.signatures.clone();
        match next
            .iter_mut()
            .find(|s| s.is_from(&signature.name, signature.key_id))
        {
            Some(existing) => *existing = signature,
            None => next.push(signature),
        }
        let candidate = Note::new(self.text.clone(), next)?;
        *self = candidate;
        Ok(())
    }

    /// The encoded note: text, blank line, signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    fn encoded_len(&self) -> usize {
        let lines: usize = self
            .signatures
            .iter()
            .map(|s| {
                let raw = KEY_ID_LEN + s.signature.len();
                SIGNATURE_LINE_PREFIX.len() + s.name.0.len() + 1 + raw.div_ceil(3) * 4 + 1
            })
            .sum();
        self.text.len() + 1 + lines
    }

    fn check_len(&self) -> Result<(), NoteError> {
        let len = self.encoded_len();
        if len > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge {
                len,
                max: MAX_NOTE_BYTES,
            });
        }
        Ok(())
    }
}

impl fmt::Display for Note {
    /// The full encoding, as [`Note::to_bytes`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for s in &self.signatures {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Note")
            .field("text", &self.text)
            .field("signatures", &self.signatures)
            .finish()
    }
}

impl std::str::FromStr for Note {
    type Err = NoteError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Note::parse(s.as_bytes())
    }
}

/// Verifies a plain Ed25519 signature strictly; `false` for any wrong length.
pub(crate) fn verify_ed25519(key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
    Signature::from_slice(signature).is_ok_and(|sig| key.verify(message, &sig).is_ok())
}

/// Signs with Ed25519 (deterministic, so vectors are reproducible).
pub(crate) fn sign_ed25519(key: &SigningKey, message: &[u8]) -> Signature {
    Signature::sign(key, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // The size limit is checked on a computed length, so that length
        // must be the real one or the parse-after-format invariant breaks.
        #[test]
        fn encoded_len_is_exact(
            text in "([^\\x00-\\x1f]{0,20}\n){1,4}",
            sigs in prop::collection::vec(("[a-z./]{1,12}", any::<[u8; 4]>(), prop::collection::vec(any::<u8>(), 1..90)), 1..6),
        ) {
            let signatures = sigs
                .into_iter()
                .map(|(n, id, sig)| NoteSignature::new(KeyName::new(n).unwrap(), KeyId(id), sig).unwrap())
                .collect();
            let note = Note::new(text, signatures).unwrap();
            prop_assert_eq!(note.encoded_len(), note.to_bytes().len());
        }
    }
}
