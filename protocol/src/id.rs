//! Content addresses: statement ids and the hashes of attachments and outputs.
//!
//! Both are blake3, each under its own derive-key context so that an id can
//! never be mistaken for a content hash of the same bytes. Their one text form
//! is 64 lowercase hex digits.

use std::fmt;

/// blake3 derive-key context for statement ids: the hash of a whole envelope.
pub const STATEMENT_ID_CONTEXT: &str = "kaitiaki 2026-11 statement id v1";
/// blake3 derive-key context for content hashes of attachments and outputs.
pub const CONTENT_HASH_CONTEXT: &str = "kaitiaki 2026-11 content hash v1";

macro_rules! blake3_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; 32]);

        impl $name {
            /// Wraps raw bytes.
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                $name(bytes)
            }

            /// The raw bytes.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// The text form: 64 lowercase hex digits.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// Parses exactly 64 lowercase hex digits (the one text form).
            pub fn from_hex(text: &str) -> Option<Self> {
                if text.len() != 64 || text.bytes().any(|b| b.is_ascii_uppercase()) {
                    return None;
                }
                let mut out = [0u8; 32];
                hex::decode_to_slice(text, &mut out).ok()?;
                Some($name(out))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.to_hex())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                $name::from_hex(s).ok_or(IdError)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::from_hex(&text).ok_or_else(|| serde::de::Error::custom(IdError))
            }
        }
    };
}

blake3_newtype!(
    /// The id of a statement: blake3 (context [`STATEMENT_ID_CONTEXT`]) of its
    /// binary envelope. Statements refer to each other by id.
    StatementId
);

blake3_newtype!(
    /// The blake3 (context [`CONTENT_HASH_CONTEXT`]) of a file kept off the log:
    /// a confidential attachment or an output.
    ContentHash
);

/// A text that is not 64 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an id or content hash is 64 lowercase hex digits")]
pub struct IdError;

impl StatementId {
    /// The id of an envelope given its binary encoding.
    pub fn of_envelope(envelope_bytes: &[u8]) -> Self {
        let mut h = blake3::Hasher::new_derive_key(STATEMENT_ID_CONTEXT);
        h.update(envelope_bytes);
        StatementId(*h.finalize().as_bytes())
    }
}

impl ContentHash {
    /// The content hash of a file's bytes.
    pub fn of(content: &[u8]) -> Self {
        let mut h = blake3::Hasher::new_derive_key(CONTENT_HASH_CONTEXT);
        h.update(content);
        ContentHash(*h.finalize().as_bytes())
    }

    /// A hasher to feed a large file in pieces; finish with [`ContentHash::from_hasher`].
    pub fn hasher() -> blake3::Hasher {
        blake3::Hasher::new_derive_key(CONTENT_HASH_CONTEXT)
    }

    /// The content hash from a hasher made by [`ContentHash::hasher`].
    pub fn from_hasher(h: &blake3::Hasher) -> Self {
        ContentHash(*h.finalize().as_bytes())
    }
}
