//! Leaves: what a node appends to its log.
//!
//! A leaf is a signed envelope plus the time the node sequenced it. That
//! time is the node's word, covered by its checkpoint signature; governance
//! rules that must not trust an author's clock (notice periods, "the moment a
//! rule was satisfied") use it.

use crate::envelope::{Envelope, EnvelopeError};
use crate::keys::KeyCache;
use crate::merkle;
use crate::time::Timestamp;
use crate::Hash;

/// The first byte of a leaf.
pub const LEAF_VERSION: u8 = 1;

/// One entry of a log: `version(1) ‖ sequenced_at (u64 BE, Unix ms) ‖ binary envelope`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaf {
    sequenced_at: Timestamp,
    envelope: Envelope,
}

impl Leaf {
    /// A leaf for `envelope`, sequenced at `sequenced_at`.
    pub fn new(sequenced_at: Timestamp, envelope: Envelope) -> Leaf {
        Leaf {
            sequenced_at,
            envelope,
        }
    }
    /// When the node sequenced it.
    pub fn sequenced_at(&self) -> Timestamp {
        self.sequenced_at
    }
    /// The signed statement.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    /// Takes the envelope out.
    pub fn into_envelope(self) -> Envelope {
        self.envelope
    }

    /// The leaf's bytes, which the Merkle tree hashes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            9 + crate::envelope::ENVELOPE_HEADER_LEN + self.envelope.payload().len(),
        );
        out.push(LEAF_VERSION);
        // INVARIANT of Timestamp: never negative.
        out.extend_from_slice(&(self.sequenced_at.unix_millis() as u64).to_be_bytes());
        self.envelope.write_to(&mut out);
        out
    }

    /// Reads a leaf; the input must be exactly one leaf.
    pub fn from_bytes(bytes: &[u8]) -> Result<Leaf, EnvelopeError> {
        Self::decode(bytes, Envelope::from_bytes)
    }

    /// [`Leaf::from_bytes`], decoding the author's key through `keys` (for
    /// readers of many leaves).
    pub fn from_bytes_with(bytes: &[u8], keys: &mut KeyCache) -> Result<Leaf, EnvelopeError> {
        Self::decode(bytes, |b| Envelope::from_bytes_with(b, keys))
    }

    fn decode(
        bytes: &[u8],
        envelope: impl FnOnce(&[u8]) -> Result<Envelope, EnvelopeError>,
    ) -> Result<Leaf, EnvelopeError> {
        let bad = |m: &str| EnvelopeError::Malformed(m.to_owned());
        if bytes.len() < 9 {
            return Err(bad("leaf shorter than its header"));
        }
        if bytes[0] != LEAF_VERSION {
            return Err(bad("unknown leaf version"));
        }
        let mut ms = [0u8; 8];
        ms.copy_from_slice(&bytes[1..9]);
        let ms =
            i64::try_from(u64::from_be_bytes(ms)).map_err(|_| bad("leaf time out of range"))?;
        let sequenced_at =
            Timestamp::from_unix_millis(ms).map_err(|_| bad("leaf time out of range"))?;
        let envelope = envelope(&bytes[9..])?;
        Ok(Leaf {
            sequenced_at,
            envelope,
        })
    }

    /// The RFC 6962 leaf hash of this leaf's bytes.
    pub fn hash(&self) -> Hash {
        merkle::leaf_hash(&self.to_bytes())
    }
}
