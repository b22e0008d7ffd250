//! Ed25519 note keys and their text forms.
//!
//! A verifier key text is `<name>+<key id, 8 hex digits>+<base64(type || public key)>`;
//! a signer key text is the same with a `PRIVATE+KEY+` prefix and the 32-byte
//! seed in place of the public key (the form the Go `sumdb/note` package
//! reads), so keys made by existing tools can be used as they are. The
//! helpers here are shared with [`crate::cosignature`], whose keys have the
//! same shape under another signature type byte.

use std::fmt;

use base64::{engine::general_purpose::STANDARD, Engine as _};
use ed25519_dalek::SigningKey;

use super::{sign_ed25519, verify_ed25519, KeyId, KeyName, KeyNameError, NoteSignature, Verifier};
use super::{KEY_ID_LEN, SIG_TYPE_ED25519};
use crate::keys::{KeyError, PublicKey};

/// What starts a signer key text, so it is never mistaken for a public key.
pub const SIGNER_KEY_PREFIX: &str = "PRIVATE+KEY+";
/// Separator between the fields of a key text.
pub const KEY_TEXT_SEPARATOR: char = '+';

/// Why a verifier or signer key text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyTextError {
    /// Fewer than three `+`-separated fields.
    #[error("a key text is <name>+<key id>+<base64 key>")]
    MissingField,
    /// A signer key text lacks the `PRIVATE+KEY+` prefix.
    #[error("a signer key text starts with \"PRIVATE+KEY+\"")]
    MissingPrivateKeyPrefix,
    /// The key name is not acceptable.
    #[error("invalid key name: {0}")]
    InvalidName(#[source] KeyNameError),
    /// The key id is not eight hex digits.
    #[error("the key id must be eight hex digits")]
    InvalidKeyId,
    /// The key material is not standard padded base64.
    #[error("the key is not standard padded base64")]
    InvalidBase64,
    /// The signature type byte is not the one this key type uses.
    #[error("signature type {found:?} where {expected:#04x} was expected")]
    SignatureType {
        /// The type byte this key type uses.
        expected: u8,
        /// The type byte found, if the key was not empty.
        found: Option<u8>,
    },
    /// The key material after the type byte is not 32 bytes.
    #[error("the key is {found} bytes; Ed25519 keys are 32")]
    KeyLength {
        /// Its length in bytes.
        found: usize,
    },
    /// The public key is not a usable Ed25519 point.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(#[source] KeyError),
    /// The stated key id is not the one computed from name, type and key.
    #[error("key id {stated} does not match the key, which has id {computed}")]
    KeyIdMismatch {
        /// The id written in the text.
        stated: KeyId,
        /// The id computed from the name, type and public key.
        computed: KeyId,
    },
}

impl KeyTextError {
    /// A stable machine-readable code for this rejection.
    pub fn code(&self) -> &'static str {
        match self {
            KeyTextError::MissingField => "key_missing_field",
            KeyTextError::MissingPrivateKeyPrefix => "key_missing_private_prefix",
            KeyTextError::InvalidName(_) => "key_invalid_name",
            KeyTextError::InvalidKeyId => "key_invalid_key_id",
            KeyTextError::InvalidBase64 => "key_invalid_base64",
            KeyTextError::SignatureType { .. } => "key_signature_type",
            KeyTextError::KeyLength { .. } => "key_length",
            KeyTextError::InvalidPublicKey(_) => "key_invalid_public_key",
            KeyTextError::KeyIdMismatch { .. } => "key_id_mismatch",
        }
    }
}

/// Splits `name+id+key` and checks everything but the key id, which the
/// caller checks once it knows the public key.
fn split_key_text(text: &str, sig_type: u8) -> Result<(KeyName, KeyId, [u8; 32]), KeyTextError> {
    let mut fields = text.splitn(3, KEY_TEXT_SEPARATOR);
    let (Some(name), Some(id), Some(b64)) = (fields.next(), fields.next(), fields.next()) else {
        return Err(KeyTextError::MissingField);
    };
    let name = KeyName::new(name).map_err(KeyTextError::InvalidName)?;
    let mut id_bytes = [0u8; KEY_ID_LEN];
    if id.len() != 2 * KEY_ID_LEN || hex::decode_to_slice(id, &mut id_bytes).is_err() {
        return Err(KeyTextError::InvalidKeyId);
    }
    let raw = STANDARD
        .decode(b64)
        .map_err(|_| KeyTextError::InvalidBase64)?;
    match raw.split_first() {
        Some((&t, key)) if t == sig_type => {
            let key: [u8; 32] = key
                .try_into()
                .map_err(|_| KeyTextError::KeyLength { found: key.len() })?;
            Ok((name, KeyId::from_bytes(id_bytes), key))
        }
        other => Err(KeyTextError::SignatureType {
            expected: sig_type,
            found: other.map(|(&t, _)| t),
        }),
    }
}

fn check_key_id(stated: KeyId, computed: KeyId) -> Result<(), KeyTextError> {
    if stated == computed {
        Ok(())
    } else {
        Err(KeyTextError::KeyIdMismatch { stated, computed })
    }
}

/// Parses a verifier key text of type `sig_type`.
pub(crate) fn parse_verifier_key(
    text: &str,
    sig_type: u8,
) -> Result<(KeyName, KeyId, PublicKey), KeyTextError> {
    let (name, stated, key) = split_key_text(text, sig_type)?;
    let computed = KeyId::compute(&name, sig_type, &key);
    check_key_id(stated, computed)?;
    let key = PublicKey::from_bytes(&key).map_err(KeyTextError::InvalidPublicKey)?;
    Ok((name, computed, key))
}

/// Parses a signer key text of type `sig_type`; the key id is checked
/// against the public key derived from the seed.
pub(crate) fn parse_signer_key(
    text: &str,
    sig_type: u8,
) -> Result<(KeyName, KeyId, SigningKey), KeyTextError> {
    let rest = text
        .strip_prefix(SIGNER_KEY_PREFIX)
        .ok_or(KeyTextError::MissingPrivateKeyPrefix)?;
    let (name, stated, seed) = split_key_text(rest, sig_type)?;
    let key = SigningKey::from_bytes(&seed);
    let computed = KeyId::compute(&name, sig_type, key.verifying_key().as_bytes());
    check_key_id(stated, computed)?;
    Ok((name, computed, key))
}

/// Formats `name+id+base64(type || key)`.
pub(crate) fn format_key_text(name: &KeyName, id: KeyId, sig_type: u8, key: &[u8; 32]) -> String {
    let mut raw = Vec::with_capacity(33);
    raw.push(sig_type);
    raw.extend_from_slice(key);
    format!(
        "{name}{KEY_TEXT_SEPARATOR}{id}{KEY_TEXT_SEPARATOR}{}",
        STANDARD.encode(raw)
    )
}

/// A key that signs notes with plain Ed25519 (signature type 0x01).
///
/// `Debug` never prints the secret.
#[derive(Clone)]
pub struct NoteSigner {
    name: KeyName,
    key_id: KeyId,
    key: SigningKey,
}

impl NoteSigner {
    /// A signer from a name and an Ed25519 key.
    pub fn new(name: KeyName, key: SigningKey) -> Self {
        let key_id = KeyId::compute(&name, SIG_TYPE_ED25519, key.verifying_key().as_bytes());
        NoteSigner { name, key_id, key }
    }

    /// A signer from a name and a 32-byte Ed25519 seed.
    pub fn from_seed(name: KeyName, seed: &[u8; 32]) -> Self {
        Self::new(name, SigningKey::from_bytes(seed))
    }

    /// Parses `PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>`.
    pub fn parse(text: &str) -> Result<Self, KeyTextError> {
        let (name, key_id, key) = parse_signer_key(text, SIG_TYPE_ED25519)?;
        Ok(NoteSigner { name, key_id, key })
    }

    /// The signer key text. It is the secret key: store it as one.
    pub fn to_signer_key_text(&self) -> String {
        let body = format_key_text(
            &self.name,
            self.key_id,
            SIG_TYPE_ED25519,
            &self.key.to_bytes(),
        );
        format!("{SIGNER_KEY_PREFIX}{body}")
    }

    /// The key name that appears in signature lines.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key id that appears in signature lines.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::of(&self.key)
    }

    /// The matching verifier, to hand to whoever checks this key's notes.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.public_key(),
        }
    }

    /// Signs a note text. The caller is responsible for the text being a
    /// valid note text; [`super::Note::sign`] checks it.
    pub fn sign_text(&self, text: &str) -> NoteSignature {
        let sig = sign_ed25519(&self.key, text.as_bytes());
        NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature: sig.as_bytes().to_vec(),
        }
    }
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteSigner({}+{}, <secret>)", self.name, self.key_id)
    }
}

/// A trusted Ed25519 note key (signature type 0x01): name, key id, public key.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: KeyName,
    key_id: KeyId,
    key: PublicKey,
}

impl NoteVerifier {
    /// A verifier from a name and a public key.
    pub fn new(name: KeyName, key: PublicKey) -> Self {
        let key_id = KeyId::compute(&name, SIG_TYPE_ED25519, key.as_bytes());
        NoteVerifier { name, key_id, key }
    }

    /// Parses `<name>+<key id>+<base64(0x01 || public key)>`.
    pub fn parse(text: &str) -> Result<Self, KeyTextError> {
        let (name, key_id, key) = parse_verifier_key(text, SIG_TYPE_ED25519)?;
        Ok(NoteVerifier { name, key_id, key })
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }
}

impl Verifier for NoteVerifier {
    fn name(&self) -> &KeyName {
        &self.name
    }

    fn key_id(&self) -> KeyId {
        self.key_id
    }

    fn verify(&self, text: &str, signature: &[u8]) -> bool {
        verify_ed25519(&self.key, text.as_bytes(), signature)
    }
}

impl fmt::Display for NoteVerifier {
    /// The verifier key text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = format_key_text(
            &self.name,
            self.key_id,
            SIG_TYPE_ED25519,
            self.key.as_bytes(),
        );
        f.write_str(&text)
    }
}

impl fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteVerifier({self})")
    }
}

impl std::str::FromStr for NoteVerifier {
    type Err = KeyTextError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
