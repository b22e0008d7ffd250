//! Every signed checkpoint an audit meets, gathered by log, so that two of
//! them that cannot both be true are caught wherever they came from.
//!
//! A log key signs one root per size (PROTOCOL.md §6.5, §11): two verified
//! checkpoints of one origin with the same size and different roots are a
//! fork, whichever way the audit met them — the node's latest checkpoint,
//! the one this computer remembered, a mirror's complete or held
//! checkpoint. Each is checked against the leaves on its own as well; this
//! catches the contradiction even where the leaves agree with one of them.

use std::collections::BTreeMap;

use kaitiaki_protocol::Hash;

use super::Fault;

/// The signed checkpoints seen so far in one audit, by origin and size.
#[derive(Debug, Default)]
pub struct Seen {
    // (origin, size) → the root signed for it, and where the audit met it.
    by_size: BTreeMap<(String, u64), (Hash, String)>,
}

impl Seen {
    /// Records that the log `origin` signed `root` for `size`, as met in
    /// `what` (said in a fault); fails if it signed another root for that
    /// size before.
    ///
    /// Only checkpoints whose signature was verified may be recorded: an
    /// unsigned claim proves nothing about the log.
    pub fn record(&mut self, origin: &str, size: u64, root: Hash, what: &str) -> Result<(), Fault> {
        let key = (origin.to_owned(), size);
        match self.by_size.get(&key) {
            None => {
                self.by_size.insert(key, (root, what.to_owned()));
                Ok(())
            }
            Some((first, _)) if *first == root => Ok(()),
            Some((first, first_what)) => Err(Fault {
                leaf: None,
                place: Some(format!("log {origin}")),
                why: format!(
                    "its key signed two different roots for size {size}: {first} ({first_what}) and \
                     {root} ({what}); a log signs one root per size, so it has forked"
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(n: u8) -> Hash {
        Hash::from_slice(&[n; 32]).expect("32 bytes")
    }

    #[test]
    fn one_root_per_size_and_log_passes() {
        let mut seen = Seen::default();
        seen.record("a.example", 5, root(1), "latest").unwrap();
        seen.record("a.example", 5, root(1), "remembered").unwrap();
        seen.record("a.example", 6, root(2), "mirror").unwrap();
        // Another log may have any root at the same size.
        seen.record("b.example", 5, root(3), "mirror").unwrap();
    }

    #[test]
    fn two_roots_for_one_size_name_both() {
        let mut seen = Seen::default();
        seen.record("a.example", 5, root(1), "the node's latest checkpoint")
            .unwrap();
        let f = seen
            .record("a.example", 5, root(2), "the mirror's complete checkpoint")
            .unwrap_err();
        assert_eq!(f.place.as_deref(), Some("log a.example"));
        for told in [
            "the node's latest checkpoint",
            "the mirror's complete checkpoint",
            "forked",
            &root(1).to_string(),
            &root(2).to_string(),
        ] {
            assert!(f.why.contains(told), "{}", f.why);
        }
    }
}
