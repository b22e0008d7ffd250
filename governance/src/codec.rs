//! How keys and values are spelled in the store.
//!
//! Keys are byte strings built so that the store's key order is the order a
//! reader wants: ids and keys as their 32 raw bytes, times and indexes as
//! big-endian `u64`. Values are the compact binary records of
//! [`crate::binary`], whose fields are in a fixed order and whose collections
//! are sorted, so the same logical record is always the same bytes — which
//! is what makes the state hash comparable between nodes. Read records
//! through [`crate::query`], never by decoding table values yourself.

use kaitiaki_protocol::{Body, Kind, PublicKey, StatementId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::binary::Bin;

use crate::error::StateError;
use crate::store::Table;

/// Where a statement sits: the time its node sequenced it, the log, and its
/// index there.
///
/// Positions are ordered by time first, then log origin, then index, which
/// gives every placement of every statement one total, arrival-independent
/// order. Within one log a node sequences with non-decreasing times, so this
/// order agrees with the log's own index order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Pos {
    /// The sequencing node's time for the leaf.
    pub at: Timestamp,
    /// The origin of the log.
    pub log: String,
    /// The leaf index in that log.
    pub index: u64,
}

/// The 32 bytes of a public key that was checked when its statement was.
///
/// The state keeps keys as bytes: turning bytes back into a
/// [`PublicKey`] decompresses a curve point, which would cost more than
/// everything else a vote does. [`KeyBytes::to_public_key`] checks them
/// again when a caller needs a key to verify with.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyBytes([u8; 32]);

impl KeyBytes {
    /// The bytes of a checked key.
    pub fn of(k: &PublicKey) -> KeyBytes {
        KeyBytes(*k.as_bytes())
    }
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
    /// The key, checked again.
    pub fn to_public_key(&self) -> Result<PublicKey, kaitiaki_protocol::keys::KeyError> {
        PublicKey::from_bytes(&self.0)
    }
    /// Lowercase hex, as keys are written everywhere in Kaitiaki.
    pub fn to_hex(&self) -> String {
        hex_encode(&self.0)
    }
    pub(crate) fn from_slice(b: &[u8]) -> Option<KeyBytes> {
        <[u8; 32]>::try_from(b).ok().map(KeyBytes)
    }
}

impl From<PublicKey> for KeyBytes {
    fn from(k: PublicKey) -> KeyBytes {
        KeyBytes::of(&k)
    }
}

impl std::fmt::Display for KeyBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyBytes({})", self.to_hex())
    }
}

impl Serialize for KeyBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for KeyBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Cursor::from_hex(&text)
            .and_then(|c| KeyBytes::from_slice(c.as_bytes()))
            .ok_or_else(|| serde::de::Error::custom("a key is 64 lowercase hex digits"))
    }
}

/// A statement as the state keeps it: `author(32) ‖ created_at (u64 BE ms)
/// ‖ len(kind) ‖ kind ‖ body` (the body in the binary spelling of
/// [`crate::binary`]). The node keeps the signed bytes; this copy exists so
/// aggregates can be recomputed without them, and reads back without
/// checking the author's key again.
pub(crate) struct Stored {
    pub author: KeyBytes,
    pub created_at: Timestamp,
    pub body: Body,
}

macro_rules! body_json {
    ($($v:ident),* $(,)?) => {
        /// The body's own JSON (the `body` field of the signed payload).
        pub(crate) fn body_to_json(b: &Body) -> Result<Vec<u8>, StateError> {
            let out = match b {
                $(Body::$v(x) => serde_json::to_vec(x),)*
                _ => return Err(StateError::corrupt(Table::Statements, format!("kind {} is not understood", b.kind()))),
            };
            out.map_err(|e| StateError::corrupt(Table::Statements, e.to_string()))
        }
    };
}

for_each_body_kind!(body_json);

impl Stored {
    pub(crate) fn encode(
        author: &PublicKey,
        created_at: Timestamp,
        body: &Body,
    ) -> Result<Vec<u8>, StateError> {
        let kind = body.kind().name().as_bytes();
        let mut out = Vec::with_capacity(32 + 8 + 1 + kind.len() + 96);
        out.extend_from_slice(author.as_bytes());
        out.extend_from_slice(&time_key(created_at));
        // Kind names are short ASCII constants.
        out.push(kind.len() as u8);
        out.extend_from_slice(kind);
        crate::binary::write_body(body, &mut out).ok_or_else(|| {
            StateError::corrupt(
                Table::Statements,
                format!("kind {} is not understood", body.kind()),
            )
        })?;
        Ok(out)
    }

    /// The kind alone, without decoding the body.
    pub(crate) fn kind(b: &[u8]) -> Result<Kind, StateError> {
        let bad = || StateError::corrupt(Table::Statements, "a stored statement is truncated");
        let n = usize::from(*b.get(40).ok_or_else(bad)?);
        let kind = std::str::from_utf8(b.get(41..41 + n).ok_or_else(bad)?).map_err(|_| bad())?;
        Kind::from_name(kind).ok_or_else(bad)
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Stored, StateError> {
        let bad = || StateError::corrupt(Table::Statements, "a stored statement is truncated");
        let author = KeyBytes::from_slice(b.get(..32).ok_or_else(bad)?).ok_or_else(bad)?;
        let ms: [u8; 8] = b
            .get(32..40)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?;
        let created_at = i64::try_from(u64::from_be_bytes(ms))
            .ok()
            .and_then(|ms| Timestamp::from_unix_millis(ms).ok())
            .ok_or_else(bad)?;
        let kind = Stored::kind(b)?;
        let n = usize::from(b[40]);
        let mut r = crate::binary::Reader::new(b.get(41 + n..).ok_or_else(bad)?);
        let body = crate::binary::read_body(kind, &mut r)
            .filter(|_| r.is_empty())
            .ok_or_else(|| {
                StateError::corrupt(Table::Statements, "a stored body does not decode")
            })?;
        Ok(Stored {
            author,
            created_at,
            body,
        })
    }
}

/// The big-endian bytes of a time, so keys sort by time.
pub(crate) fn time_key(t: Timestamp) -> [u8; 8] {
    // INVARIANT of Timestamp: never negative, so the cast keeps the order.
    (t.unix_millis() as u64).to_be_bytes()
}

/// Concatenates key parts.
pub(crate) fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// Reads a 32-byte id at `offset` of a key.
pub(crate) fn id_at(table: Table, k: &[u8], offset: usize) -> Result<StatementId, StateError> {
    k.get(offset..offset + 32)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(StatementId::from_bytes)
        .ok_or_else(|| StateError::corrupt(table, "a key is too short to hold an id"))
}

/// Reads a 32-byte public key at `offset` of a key.
pub(crate) fn pubkey_at(table: Table, k: &[u8], offset: usize) -> Result<KeyBytes, StateError> {
    k.get(offset..offset + 32)
        .and_then(KeyBytes::from_slice)
        .ok_or_else(|| StateError::corrupt(table, "a key is too short to hold a public key"))
}

/// Encodes a record canonically (see [`crate::binary`]).
pub(crate) fn encode<T: Bin>(_table: Table, value: &T) -> Result<Vec<u8>, StateError> {
    Ok(crate::binary::to_bytes(value))
}

/// Decodes a record written by [`encode`].
pub(crate) fn decode<T: Bin>(table: Table, bytes: &[u8]) -> Result<T, StateError> {
    crate::binary::from_bytes(table, bytes)
}

/// An opaque position in a listing: the last key a page returned.
///
/// Its text form is lowercase hex, so it can travel in a URL query.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor(Vec<u8>);

impl Cursor {
    pub(crate) fn new(key: Vec<u8>) -> Cursor {
        Cursor(key)
    }
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// The text form.
    pub fn to_hex(&self) -> String {
        hex_encode(&self.0)
    }
    /// Reads the text form back; `None` if it is not even-length lowercase hex.
    pub fn from_hex(text: &str) -> Option<Cursor> {
        if text.len() % 2 != 0 || text.len() > 512 {
            return None;
        }
        text.as_bytes()
            .chunks(2)
            .map(|p| Some(hex_digit(p[0])? << 4 | hex_digit(p[1])?))
            .collect::<Option<Vec<u8>>>()
            .map(Cursor)
    }
}

/// The value of a lowercase hex digit; `None` for any other byte.
pub(crate) fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    /// The items, in the listing's order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` when this is the last page.
    #[serde(serialize_with = "ser_cursor")]
    pub next: Option<Cursor>,
}

fn ser_cursor<S: serde::Serializer>(c: &Option<Cursor>, s: S) -> Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.serialize_some(&c.to_hex()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_refuses_other_spellings() {
        let c = Cursor::new(vec![0, 1, 0xab, 0xff]);
        assert_eq!(c.to_hex(), "0001abff");
        assert_eq!(Cursor::from_hex("0001abff"), Some(c));
        assert_eq!(Cursor::from_hex("0001ABFF"), None);
        assert_eq!(Cursor::from_hex("abc"), None);
    }

    #[test]
    fn positions_order_by_time_then_log_then_index() {
        let t = |ms| Timestamp::from_unix_millis(ms).unwrap();
        let p = |ms, log: &str, index| Pos {
            at: t(ms),
            log: log.into(),
            index,
        };
        let mut v = vec![p(2, "a", 0), p(1, "b", 9), p(1, "a", 5), p(1, "a", 4)];
        v.sort();
        assert_eq!(
            v,
            vec![p(1, "a", 4), p(1, "a", 5), p(1, "b", 9), p(2, "a", 0)]
        );
    }
}
