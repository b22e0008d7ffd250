//! What a peer's leaves must be beyond a valid signature.
//!
//! A leaf whose statement verifies (PROTOCOL.md §4.5) can still be one that
//! no honest node of this federation sequences:
//!
//! - a statement signed for another network: every node refuses those
//!   (`wrong_network`, §8.3), so a peer that sequenced one replayed it from
//!   another deployment;
//! - a leaf sequenced before the leaf before it: a node's sequenced times
//!   never go backwards, even when its clock does, and governance relies on
//!   that for revocations, notice periods and rāhui (§9.2), so a peer whose
//!   times go backwards backdated a leaf.
//!
//! Either breaks the rules of the federation, as a statement outside its
//! body's home log does (`crate::sequencer::mirror::breaks_peer_rule`): the
//! batch is refused, the peer quarantined, and a `breaks_rule` claim kept.
//! These are checked only once the leaves are proven to be the peer's
//! signed history, so the peer, not whoever served them, is to blame.
//!
//! A third check is about this node's clock as much as the peer's: a leaf
//! sequenced further ahead of this node's clock than the configured skew
//! is refused as the peer failing the round, not as evidence, and fetched
//! again later, when the clock may have caught up.

use kaitiaki_protocol::Timestamp;

use crate::error::code::WRONG_NETWORK;
use crate::sequencer::mirror::MirrorLeaf;

/// Why a run of a peer's leaves was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Leaf `index` breaks a rule no honest node breaks.
    BreaksRule {
        /// Its index in the peer's log.
        index: u64,
        /// The rule, as a stable code.
        code: &'static str,
        /// What is wrong, in plain words.
        detail: String,
    },
    /// Leaf `index` is dated too far ahead of this node's clock.
    Early {
        /// Its index in the peer's log.
        index: u64,
        /// What is wrong, in plain words.
        detail: String,
    },
}

/// The code of a leaf sequenced before the one before it.
pub(crate) const SEQUENCED_BACKWARDS: &str = "sequenced_backwards";

/// The latest time a peer's leaf may be sequenced at, by this node's clock
/// `now_ms` (Unix milliseconds) and the skew allowed.
pub(crate) fn latest(now_ms: i64, skew_ms: i64) -> Timestamp {
    Timestamp::saturating_from_unix_millis(now_ms.saturating_add(skew_ms))
}

/// Checks `leaves`, leaves `first_index..` of a peer's log, in order.
/// `previous` is the time of leaf `first_index - 1`, if there is one;
/// `network` is this node's; no leaf may be sequenced after `latest`
/// (this node's clock plus the skew allowed). The first leaf at fault
/// names the refusal.
pub(crate) fn check(
    leaves: &[MirrorLeaf],
    first_index: u64,
    mut previous: Option<Timestamp>,
    network: &str,
    latest: Timestamp,
) -> Result<(), Refusal> {
    for (index, leaf) in (first_index..).zip(leaves) {
        let signed_for = &leaf.verified.statement().network;
        if signed_for != network {
            return Err(Refusal::BreaksRule {
                index,
                code: WRONG_NETWORK,
                detail: format!(
                    "leaf {index} holds a statement for network {signed_for:?}; \
                     this federation is {network:?}"
                ),
            });
        }
        let at = leaf.sequenced_at;
        if let Some(before) = previous.filter(|before| at < *before) {
            return Err(Refusal::BreaksRule {
                index,
                code: SEQUENCED_BACKWARDS,
                detail: format!(
                    "leaf {index} was sequenced at {at}, before leaf {} at {before}",
                    index - 1
                ),
            });
        }
        if at > latest {
            return Err(Refusal::Early {
                index,
                detail: format!(
                    "its leaf {index} was sequenced at {at}, after {latest}, \
                     the latest time this node's clock allows for now; check both \
                     nodes' clocks (replication.max_future_skew_secs sets the \
                     allowance)"
                ),
            });
        }
        previous = Some(at);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use kaitiaki_protocol::statement::KeyAnnounce;
    use kaitiaki_protocol::{Body, Envelope, Leaf, PublicKey, Statement};

    use super::*;
    use crate::sequencer::mirror::open_leaf;

    const NETWORK: &str = "kaitiaki-test";

    fn at(minute: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_796_000_000_000 + minute * 60_000).unwrap()
    }

    /// A leaf sequenced at `minute`, of a statement for `network`.
    fn leaf(minute: i64, network: &str) -> MirrorLeaf {
        let key = SigningKey::from_bytes(&[9; 32]);
        let statement = Statement {
            network: network.into(),
            author: PublicKey::of(&key),
            created_at: at(0),
            body: Body::KeyAnnounce(KeyAnnounce {
                display_name: format!("Participant {minute}"),
                affiliation: "Test hapū".into(),
            }),
        };
        let envelope = Envelope::sign(&key, &statement).unwrap();
        open_leaf(Leaf::new(at(minute), envelope).to_bytes()).unwrap()
    }

    fn check_at(minutes: &[i64], previous: Option<i64>) -> Result<(), Refusal> {
        let leaves: Vec<_> = minutes.iter().map(|m| leaf(*m, NETWORK)).collect();
        check(&leaves, 10, previous.map(at), NETWORK, at(100))
    }

    fn code(r: Result<(), Refusal>) -> Option<(u64, &'static str)> {
        match r {
            Ok(()) => None,
            Err(Refusal::BreaksRule { index, code, .. }) => Some((index, code)),
            Err(Refusal::Early { index, .. }) => Some((index, "early")),
        }
    }

    #[test]
    fn times_that_stand_still_or_go_forward_pass() {
        assert_eq!(code(check_at(&[1, 1, 2, 50, 100], Some(1))), None);
        assert_eq!(code(check_at(&[], Some(1))), None);
        assert_eq!(code(check_at(&[0], None)), None);
    }

    #[test]
    fn a_time_before_the_leaf_before_breaks_the_rule() {
        assert_eq!(
            code(check_at(&[3, 4, 2], None)),
            Some((12, SEQUENCED_BACKWARDS))
        );
        // Across the batch's start: the leaf before is already held.
        assert_eq!(
            code(check_at(&[4, 5], Some(5))),
            Some((10, SEQUENCED_BACKWARDS))
        );
    }

    #[test]
    fn a_time_too_far_ahead_is_early_not_evidence() {
        assert_eq!(code(check_at(&[99, 100, 101], None)), Some((12, "early")));
    }

    #[test]
    fn the_latest_time_allowed_stays_in_range() {
        assert_eq!(latest(1_000, 600_000).unix_millis(), 601_000);
        assert_eq!(
            latest(i64::MAX, i64::MAX).to_rfc3339(),
            "9999-12-31T23:59:59.999Z"
        );
        assert_eq!(latest(-5, 0), Timestamp::EPOCH);
    }

    #[test]
    fn a_statement_for_another_network_breaks_the_rule() {
        let leaves = [leaf(1, NETWORK), leaf(2, "another-network")];
        let r = check(&leaves, 0, None, NETWORK, at(100));
        assert_eq!(code(r), Some((1, WRONG_NETWORK)));
    }

    #[test]
    fn the_first_leaf_at_fault_names_the_refusal() {
        let leaves = [leaf(200, NETWORK), leaf(1, "another-network")];
        let r = check(&leaves, 0, None, NETWORK, at(100));
        assert_eq!(code(r), Some((0, "early")));
    }
}
