//! Kaitiaki's formats and cryptography. No I/O, no clock, no randomness.
//!
//! Read in this order:
//! 1. [`time`], [`keys`], [`id`] — timestamps, Ed25519 keys verified
//!    strictly, and blake3 content addresses.
//! 2. [`statement`] — what people say: one typed body per kind, parsed
//!    strictly from exact bytes ([`json`] refuses duplicate keys).
//! 3. [`envelope`] — DSSE signatures over those bytes, and the binary
//!    envelope whose blake3 is a statement's id.
//! 4. [`leaf`] — an envelope as sequenced into a log.
//! 5. [`hash`], [`merkle`] — the RFC 6962 log: leaf and node hashes, roots,
//!    inclusion and consistency proofs computed from stored subtree hashes.
//! 6. [`note`], [`checkpoint`], [`cosignature`] — C2SP signed notes,
//!    tlog-checkpoints and tlog-cosignatures.
//! 7. [`evidence`] — proof, checkable by anyone holding a log's key, that
//!    the log misbehaved.
//!
//! Every byte this crate hashes or signs is specified in `PROTOCOL.md`.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod cosignature;
pub mod envelope;
pub mod evidence;
#[doc(hidden)]
pub mod fuzzing;
pub mod hash;
pub mod id;
pub mod json;
pub mod keys;
pub mod leaf;
pub mod merkle;
pub mod note;
pub mod statement;
pub mod time;

pub use envelope::{Envelope, Verified};
pub use evidence::Evidence;
pub use hash::Hash;
pub use id::{ContentHash, StatementId};
pub use keys::{KeyCache, PublicKey, Signature};
pub use leaf::Leaf;
pub use statement::{Body, Kind, Statement};
pub use time::Timestamp;
