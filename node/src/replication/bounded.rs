//! Reading answers from peers and witnesses with a cap on their size.
//!
//! A peer decides how long its answers are. Read whole, one answer of a
//! gigabyte costs this node a gigabyte of memory before any check can
//! refuse it. So every answer from another node is read through [`read`],
//! with a cap for what that endpoint can honestly need: a declared
//! `Content-Length` above the cap is refused before the body is read, and
//! a body without one is read only until it passes the cap.
//!
//! An answer over its cap is the peer failing the round, as if it had not
//! answered: it is not signed, so it proves nothing about the peer's log
//! and is never evidence.

use kaitiaki_protocol::envelope::ENVELOPE_HEADER_LEN;
use kaitiaki_protocol::statement::limits::MAX_PAYLOAD;

/// A signed checkpoint note (`/v1/checkpoint/note`): a few lines of
/// checkpoint and one signature line per key that signed or cosigned it.
pub const NOTE_CAP: usize = 16 * 1024;

/// A JSON answer: proofs (at most 64 hashes), the list of a peer's
/// mirrors with their notes.
pub const JSON_CAP: usize = 1 << 20;

/// The longest leaf (PROTOCOL.md §5): version, `sequenced_at`, and the
/// binary envelope with the longest payload allowed.
pub const MAX_LEAF_BYTES: usize = 1 + 8 + ENVELOPE_HEADER_LEN + MAX_PAYLOAD;

/// `/v1/leaves/raw` asked for `limit` leaves: each of them at most
/// [`MAX_LEAF_BYTES`], after its 4-byte length.
pub fn raw_leaves_cap(limit: u64) -> usize {
    usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_mul(4 + MAX_LEAF_BYTES)
}

/// Why an answer was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Its `Content-Length` is over the cap; nothing was read.
    #[error("the answer declares {declared} bytes, over the {cap} allowed for it")]
    Declared {
        /// The length it declared.
        declared: u64,
        /// The cap.
        cap: usize,
    },
    /// It went on past the cap; reading stopped there.
    #[error("the answer runs past the {cap} bytes allowed for it")]
    TooLong {
        /// The cap.
        cap: usize,
    },
    /// The connection failed while reading.
    #[error("reading the answer failed: {0}")]
    Read(#[source] reqwest::Error),
}

impl ReadError {
    /// Whether the answer was refused for its size.
    pub fn is_oversized(&self) -> bool {
        !matches!(self, ReadError::Read(_))
    }
}

/// Reads the body of `response`, at most `cap` bytes of it.
pub async fn read(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, ReadError> {
    let declared = response.content_length();
    if let Some(declared) = declared.filter(|d| *d > cap as u64) {
        return Err(ReadError::Declared { declared, cap });
    }
    // A declared length is at most the cap here; without one, grow as the
    // chunks come.
    let mut body = Vec::with_capacity(declared.map_or(0, |d| d as usize));
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Read)? {
        if chunk.len() > cap - body.len() {
            return Err(ReadError::TooLong { cap });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_batch_fits_its_leaves_and_never_overflows() {
        assert_eq!(MAX_LEAF_BYTES, 65_646);
        assert_eq!(raw_leaves_cap(1), 65_650);
        assert_eq!(raw_leaves_cap(1000), 65_650_000);
        assert_eq!(raw_leaves_cap(u64::MAX), usize::MAX);
    }
}
