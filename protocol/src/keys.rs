//! Ed25519 public keys and signatures, always verified strictly.
//!
//! `verify_strict` rejects small-order public keys and non-canonical
//! signatures, so a signature cannot be mauled into a second valid one and a
//! weak key cannot sign for everyone. Every verification in Kaitiaki goes
//! through [`PublicKey::verify`].

use std::fmt;

use ed25519_dalek::{Signature as DalekSignature, SigningKey, Verifier as _, VerifyingKey};

/// An Ed25519 public key that is a valid, not small-order curve point.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(VerifyingKey);

/// A 64-byte Ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 64]);

/// Why a key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not 32 bytes, or not 64 lowercase hex digits.
    #[error("a public key is 32 bytes, written as 64 lowercase hex digits")]
    Length,
    /// The bytes do not decode to a curve point.
    #[error("the public key is not a valid Ed25519 point")]
    NotAPoint,
    /// The point has small order, so it would verify forged signatures.
    #[error("the public key is weak (small order) and is not accepted")]
    Weak,
    /// The bytes spell a point's y coordinate as p or more: another
    /// spelling of a key whose canonical bytes differ.
    #[error("the public key is not in its canonical encoding (its y coordinate is not below p)")]
    NotCanonical,
    /// The signature is not 64 bytes.
    #[error("a signature is 64 bytes")]
    SignatureLength,
    /// The signature does not verify under strict rules.
    #[error("the signature does not verify")]
    BadSignature,
}

/// Public keys already decoded, by their 32 bytes.
///
/// Decoding a key (decompressing the Edwards point and checking its order)
/// costs about a tenth of a signature verification, and a log's leaves come
/// from few authors, so readers of many leaves keep one of these per thread
/// ([`crate::Leaf::from_bytes_with`]). It holds at most [`KeyCache::CAPACITY`]
/// keys and starts afresh when full. Only keys that passed every check are
/// kept, so a cached key is exactly what [`PublicKey::from_bytes`] returns.
#[derive(Debug, Default)]
pub struct KeyCache {
    keys: std::collections::HashMap<[u8; 32], PublicKey>,
}

impl KeyCache {
    /// The most keys kept.
    pub const CAPACITY: usize = 4096;

    /// The key of these bytes, decoded once.
    pub fn get(&mut self, bytes: &[u8]) -> Result<PublicKey, KeyError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Length)?;
        if let Some(k) = self.keys.get(&arr) {
            return Ok(*k);
        }
        let key = PublicKey::from_bytes(&arr)?;
        if self.keys.len() >= Self::CAPACITY {
            self.keys.clear();
        }
        self.keys.insert(arr, key);
        Ok(key)
    }

    /// The key of these 64 lowercase hex digits, decoded once (the same
    /// rules as [`PublicKey::from_hex`]).
    pub fn get_hex(&mut self, text: &str) -> Result<PublicKey, KeyError> {
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(KeyError::Length);
        }
        let mut arr = [0u8; 32];
        hex::decode_to_slice(text, &mut arr).map_err(|_| KeyError::Length)?;
        self.get(&arr)
    }
}

/// Whether the y coordinate these bytes encode (little-endian, without the
/// top bit, which is x's sign) is below p = 2^255 - 19, as RFC 8032 §5.1.3
/// requires. ed25519-dalek reduces a larger y instead, which would give
/// one key a second spelling. (The other non-canonical form, x = 0 with
/// the sign bit set, only spells small-order points, refused as weak.)
fn y_below_p(bytes: &[u8; 32]) -> bool {
    !(bytes[31] & 0x7f == 0x7f && bytes[1..31].iter().all(|&b| b == 0xff) && bytes[0] >= 0xed)
}

impl PublicKey {
    /// Reads and checks 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Length)?;
        if !y_below_p(&arr) {
            return Err(KeyError::NotCanonical);
        }
        let key = VerifyingKey::from_bytes(&arr).map_err(|_| KeyError::NotAPoint)?;
        if key.is_weak() {
            return Err(KeyError::Weak);
        }
        Ok(PublicKey(key))
    }

    /// Parses 64 lowercase hex digits. Upper case is refused so that every
    /// key has one spelling: otherwise one signed statement could be
    /// re-spelled into another with the same meaning and a different id.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(KeyError::Length);
        }
        let mut arr = [0u8; 32];
        hex::decode_to_slice(text, &mut arr).map_err(|_| KeyError::Length)?;
        Self::from_bytes(&arr)
    }

    /// The public half of a signing key.
    pub fn of(signing: &SigningKey) -> Self {
        PublicKey(signing.verifying_key())
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// Lowercase hex, the key's text form everywhere in Kaitiaki.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// The underlying dalek key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }

    /// Verifies `sig` over `message` with `verify_strict`.
    pub fn verify(&self, message: &[u8], sig: &Signature) -> Result<(), KeyError> {
        let sig = DalekSignature::from_bytes(&sig.0);
        self.0
            .verify_strict(message, &sig)
            .map_err(|_| KeyError::BadSignature)
    }

    /// Verifies with the non-strict rules; only for tests that show the difference.
    #[doc(hidden)]
    pub fn verify_lenient(&self, message: &[u8], sig: &Signature) -> bool {
        self.0
            .verify(message, &DalekSignature::from_bytes(&sig.0))
            .is_ok()
    }
}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        PublicKey::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

impl Signature {
    /// Wraps 64 raw bytes.
    pub const fn from_array(bytes: [u8; 64]) -> Self {
        Signature(bytes)
    }

    /// Reads 64 raw bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        bytes
            .try_into()
            .map(Signature)
            .map_err(|_| KeyError::SignatureLength)
    }

    /// Signs `message` with `key` (Ed25519 signing is deterministic).
    pub fn sign(key: &SigningKey, message: &[u8]) -> Self {
        use ed25519_dalek::Signer as _;
        Signature(key.sign(message).to_bytes())
    }

    /// The raw 64 bytes.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

impl serde::Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> serde::Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut arr = [0u8; 64];
        // Lower case only, as for keys and ids: one spelling per value.
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(serde::de::Error::custom(
                "a signature is 128 lowercase hex digits",
            ));
        }
        hex::decode_to_slice(text.as_bytes(), &mut arr)
            .map_err(|_| serde::de::Error::custom("a signature is 128 lowercase hex digits"))?;
        Ok(Signature(arr))
    }
}
