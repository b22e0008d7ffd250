//! The yardstick for audit speed: how many strict Ed25519 verifications this
//! computer does per second on all cores.
//!
//! Checking signatures is the one cost an audit cannot avoid, so the audit
//! rate divided by this rate says how much everything else (reading,
//! parsing, hashing, the governance fold) costs on top. The messages are
//! statement-sized DSSE encodings, so the hashing inside verification
//! costs what it costs in a real log.

use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use kaitiaki_protocol::envelope::{pae, STATEMENT_PAYLOAD_TYPE};
use kaitiaki_protocol::{PublicKey, Signature};
use rayon::prelude::*;
use serde::Serialize;

/// The measured reference rate.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Reference {
    /// Strict verifications per second, on all the audit's threads.
    pub verifications_per_sec: f64,
    /// Threads used.
    pub threads: usize,
}

/// Measures for about `budget` on the current rayon pool.
pub fn measure(budget: Duration, payload_len: usize) -> Reference {
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let public = PublicKey::of(&key);
    // Distinct messages, so nothing is cached between verifications.
    let signed: Vec<(Vec<u8>, Signature)> = (0..1024u32)
        .map(|i| {
            let mut payload = vec![b'x'; payload_len.max(8)];
            payload[..4].copy_from_slice(&i.to_be_bytes());
            let message = pae(STATEMENT_PAYLOAD_TYPE, &payload);
            let sig = Signature::sign(&key, &message);
            (message, sig)
        })
        .collect();
    let start = Instant::now();
    let mut done = 0u64;
    while start.elapsed() < budget {
        let ok = signed
            .par_iter()
            .filter(|(m, s)| public.verify(m, s).is_ok())
            .count();
        done += ok as u64;
    }
    Reference {
        verifications_per_sec: done as f64 / start.elapsed().as_secs_f64(),
        threads: rayon::current_num_threads(),
    }
}
