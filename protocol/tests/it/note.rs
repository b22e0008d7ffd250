//! Signed notes, checkpoints and cosignatures.
//!
//! - [`vectors`]: the Go `sumdb/note` known answers, and our own vector files
//!   in `vectors/note/`, regenerated from fixed seeds and compared byte for
//!   byte (`KAITIAKI_REGENERATE_VECTORS=1` rewrites them instead).
//! - [`api`]: the rules of each format, one `check` helper per format.
//! - [`properties`]: round trips, and random or mutated input that must never
//!   panic nor verify.
//!
//! The fixtures below are the ones the vector files are built from, so every
//! test speaks about the same log and the same witnesses.

mod api;
mod properties;
mod vectors;

use kaitiaki_protocol::checkpoint::Checkpoint;
use kaitiaki_protocol::cosignature::{CosignatureVerifier, Cosigner};
use kaitiaki_protocol::note::{KeyName, Note, NoteSigner, NoteVerifier};
use kaitiaki_protocol::Hash;
use sha2::{Digest, Sha256};

/// The log's origin, which is also its key name.
const ORIGIN: &str = "kaitiaki.example/log";
/// The log's Ed25519 seed: 32 bytes of 0x01.
const LOG_SEED: [u8; 32] = [0x01; 32];
/// Witness names and seeds: w1 is 0x02 × 32, w2 0x03 × 32, w3 0x04 × 32.
const WITNESSES: [(&str, [u8; 32]); 3] = [
    ("witness.example/w1", [0x02; 32]),
    ("witness.example/w2", [0x03; 32]),
    ("witness.example/w3", [0x04; 32]),
];
/// Cosigning times of w1 and w2 (w3 never cosigns in the vectors).
const TIMESTAMPS: [u64; 2] = [1_700_000_000, 1_700_000_060];
/// The tree size of the main example checkpoint.
const SIZE: u64 = 7;

fn name(text: &str) -> KeyName {
    KeyName::new(text).expect("fixture names are valid")
}

fn log_signer() -> NoteSigner {
    NoteSigner::from_seed(name(ORIGIN), &LOG_SEED)
}

fn log_verifier() -> NoteVerifier {
    log_signer().verifier()
}

fn cosigner(i: usize) -> Cosigner {
    let (n, seed) = WITNESSES[i];
    Cosigner::from_seed(name(n), &seed)
}

fn witness_verifiers() -> Vec<CosignatureVerifier> {
    (0..WITNESSES.len())
        .map(|i| cosigner(i).verifier())
        .collect()
}

/// An arbitrary but fixed root: SHA-256 of a label. Checkpoints do not
/// recompute roots, so any 32 bytes serve.
fn example_root() -> Hash {
    Hash::from_bytes(Sha256::digest(b"kaitiaki checkpoint vector").into())
}

fn example_checkpoint() -> Checkpoint {
    Checkpoint::new(ORIGIN, SIZE, example_root()).expect("valid checkpoint")
}

/// The example checkpoint signed by the log and cosigned by w1 and w2.
fn cosigned_note() -> Note {
    let checkpoint = example_checkpoint();
    let mut note = checkpoint.sign(&log_signer()).expect("small note");
    for (i, ts) in TIMESTAMPS.iter().enumerate() {
        let line = cosigner(i)
            .cosign(&checkpoint, *ts)
            .expect("timestamp in range");
        note.add_signature(line).expect("room for more lines");
    }
    note
}
