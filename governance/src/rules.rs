//! Decision rules: how a body's votes on one motion become a decision.
//!
//! A *motion* is anything a body votes on: a request, a charter amendment, a
//! renewal, or an approval motion (suspend, reinstate, revoke). Its votes are
//! taken in home-log order. Each vote is judged by the charter version in
//! force at its place in the home log, and so is the tally after it:
//!
//! - only the latest vote of each *current* member counts (a member may
//!   change their vote until the decision; a member removed by an amendment
//!   no longer counts, one added may vote);
//! - the decision is reached at the first vote after which the rule in force
//!   is satisfied (approved) or can no longer be satisfied by the members
//!   who have not voted yet (declined). Votes after it are refused
//!   (`decision_already_reached`). An amendment never decides an open motion
//!   by itself: the next vote is judged by the amended charter.
//!
//! With `a` approvals (with or without conditions), `d` declines, `s`
//! abstentions and `r` current members yet to vote:
//!
//! | rule | approved when | declined when |
//! |---|---|---|
//! | threshold `k` | `a ≥ k` | `a + r < k` |
//! | majority, quorum `q` | `a+d+s ≥ q` and `a > d` | `a + r ≤ d`, or `a+d+s+r < q` |
//! | consensus, quorum `q` | `a+d+s ≥ q`, `d = 0` and `a ≥ 1` | `d > 0`, `a + r = 0`, or `a+d+s+r < q` |
//!
//! Consensus is agreement without objection, so a quorum of abstentions
//! alone does not approve: at least one member must approve.
//!
//! An approval carries the union of the conditions of the counted
//! `approve_with_conditions` votes. Only votes on requests and renewals
//! may carry conditions; on an amendment or approval motion they are
//! refused (`conditions_mismatch`).

use std::collections::BTreeMap;

use kaitiaki_protocol::statement::{Choice, Condition, DecisionRule, Member, Vote};

use kaitiaki_protocol::StatementId;
use serde::{Deserialize, Serialize};

use crate::codec::{KeyBytes, Pos};
use crate::error::StateError;
use crate::rejection::{Rejection, RejectionCode};

/// Why a rule stopped looking at a statement.
#[derive(Debug)]
pub(crate) enum Stop {
    /// It breaks a rule.
    Reject(Rejection),
    /// It needs a statement that is not known yet.
    Wait(StatementId),
    /// The store failed.
    Fail(StateError),
}

impl From<StateError> for Stop {
    fn from(e: StateError) -> Stop {
        Stop::Fail(e)
    }
}

impl From<Rejection> for Stop {
    fn from(r: Rejection) -> Stop {
        Stop::Reject(r)
    }
}

/// The result of one rule check.
pub(crate) type Rule<T> = Result<T, Stop>;

/// A shorthand for a rejection as a [`Stop`].
pub(crate) fn reject<T>(code: RejectionCode, message: impl Into<String>) -> Rule<T> {
    Err(Stop::Reject(Rejection::new(code, message)))
}

/// A charter as it stands from one point of the body's home log on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// In force for statements after this home-log index.
    pub since_index: u64,
    /// Where the statement that made it (the charter, or the deciding vote) sits.
    pub since: Pos,
    /// The amendment that made it; `None` for the founding charter.
    pub amendment: Option<StatementId>,
    /// Members, by key.
    pub members: Vec<Seat>,
    /// The decision rule.
    pub rule: DecisionRule,
    /// Days a request is open for community comment before votes.
    pub notice_days: u32,
    /// The body's description.
    pub description: String,
}

impl Version {
    /// The member slot `identity` fills, if any.
    pub fn slot(&self, identity: &[KeyBytes]) -> Option<KeyBytes> {
        self.members
            .iter()
            .map(|m| m.key)
            .find(|k| identity.contains(k))
    }
}

/// A member's seat on a body: their key and role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    /// The member's key.
    pub key: KeyBytes,
    /// Their role (e.g. "chair", "kaumātua").
    pub role: String,
}

impl From<&Member> for Seat {
    fn from(m: &Member) -> Seat {
        Seat {
            key: KeyBytes::of(&m.key),
            role: m.role.clone(),
        }
    }
}

/// How a motion was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The rule was satisfied.
    Approved,
    /// The rule can no longer be satisfied.
    Declined,
}

/// The counted votes at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Approvals, with or without conditions.
    pub approve: u32,
    /// Declines.
    pub decline: u32,
    /// Abstentions.
    pub abstain: u32,
    /// Current members who have not voted.
    pub not_voted: u32,
}

/// A body's decision on one motion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Approved or declined.
    pub outcome: Outcome,
    /// Where the deciding vote sits.
    pub at: Pos,
    /// The deciding vote.
    pub vote: StatementId,
    /// The union of the counted conditions (for an approval).
    pub conditions: Vec<Condition>,
    /// The tally at the decision.
    pub tally: Tally,
}

/// Evaluates a rule on a tally.
pub fn evaluate(rule: &DecisionRule, t: &Tally) -> Option<Outcome> {
    let (a, d, s, r) = (t.approve, t.decline, t.abstain, t.not_voted);
    let cast = a + d + s;
    match *rule {
        DecisionRule::Threshold { k } => {
            if a >= k {
                Some(Outcome::Approved)
            } else if a + r < k {
                Some(Outcome::Declined)
            } else {
                None
            }
        }
        DecisionRule::Majority { quorum } => {
            if cast >= quorum && a > d {
                Some(Outcome::Approved)
            } else if a + r <= d || cast + r < quorum {
                Some(Outcome::Declined)
            } else {
                None
            }
        }
        DecisionRule::Consensus { quorum } => {
            if cast >= quorum && d == 0 && a >= 1 {
                Some(Outcome::Approved)
            } else if d > 0 || a + r == 0 || cast + r < quorum {
                Some(Outcome::Declined)
            } else {
                None
            }
        }
    }
}

/// Checks that conditions come with, and only with, `approve_with_conditions`.
pub(crate) fn check_ballot(v: &Vote) -> Rule<()> {
    match (v.choice, v.conditions.is_empty()) {
        (Choice::ApproveWithConditions, true) => reject(
            RejectionCode::ConditionsMismatch,
            "A vote to approve with conditions must list at least one condition; vote `approve` if there are none.",
        ),
        (Choice::Approve | Choice::Decline | Choice::Abstain, false) => reject(
            RejectionCode::ConditionsMismatch,
            "Conditions can only be given with `approve_with_conditions`; remove them or change the choice.",
        ),
        _ => Ok(()),
    }
}

/// Checks a vote on an amendment or an approval motion: conditions shape
/// an approval of a request or renewal and have nothing to attach to here,
/// so they are refused rather than dropped.
///
/// Whatever the choice, the refusal says the conditions have no place
/// here: the general rule (conditions only with `approve_with_conditions`)
/// would send a voter who followed it into this refusal next.
pub(crate) fn check_plain_ballot(v: &Vote, what: &str) -> Rule<()> {
    let fix = match (v.choice, v.conditions.is_empty()) {
        (Choice::ApproveWithConditions, _) => "vote `approve` without conditions instead",
        (_, false) => "remove them",
        (_, true) => return Ok(()),
    };
    reject(
        RejectionCode::ConditionsMismatch,
        format!("Conditions belong to votes on requests and renewals, not on an {what}; {fix}."),
    )
}

/// One counted vote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ballot {
    pub choice: Choice,
    pub conditions: Vec<Condition>,
}

/// The votes on one motion by one body, taken in home-log order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Deliberation {
    /// The latest counted ballot of each member slot.
    pub latest: BTreeMap<KeyBytes, Ballot>,
    /// Set at the deciding vote.
    pub decided: Option<Decision>,
    /// The tally after the last counted vote.
    pub tally: Tally,
}

impl Deliberation {
    /// Whether any vote was counted.
    pub fn started(&self) -> bool {
        !self.latest.is_empty()
    }

    /// Counts a member's vote and decides if the rule now allows. The caller
    /// has checked the vote may be cast (member, not yet decided…).
    pub fn cast(
        &mut self,
        slot: KeyBytes,
        id: StatementId,
        pos: &Pos,
        vote: &Vote,
        version: &Version,
    ) {
        self.latest.insert(
            slot,
            Ballot {
                choice: vote.choice,
                conditions: vote.conditions.clone(),
            },
        );
        let mut t = Tally::default();
        let mut conditions = Vec::new();
        for m in &version.members {
            match self.latest.get(&m.key) {
                None => t.not_voted += 1,
                Some(b) => match b.choice {
                    Choice::Approve => t.approve += 1,
                    Choice::ApproveWithConditions => {
                        t.approve += 1;
                        conditions.extend(b.conditions.iter().cloned());
                    }
                    Choice::Decline => t.decline += 1,
                    Choice::Abstain => t.abstain += 1,
                },
            }
        }
        self.tally = t;
        if let Some(outcome) = evaluate(&version.rule, &t) {
            conditions.sort();
            conditions.dedup();
            if outcome == Outcome::Declined {
                conditions.clear();
            }
            self.decided = Some(Decision {
                outcome,
                at: pos.clone(),
                vote: id,
                conditions,
                tally: t,
            });
        }
    }
}

/// The rejection for a vote after the decision.
pub(crate) fn already_decided(what: &str, d: &Decision) -> Rejection {
    let outcome = match d.outcome {
        Outcome::Approved => "approved",
        Outcome::Declined => "declined",
    };
    Rejection::new(
        RejectionCode::DecisionAlreadyReached,
        format!(
            "The body already decided this {what} ({outcome} at {}); votes can no longer change it.",
            d.at.at
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(approve: u32, decline: u32, abstain: u32, not_voted: u32) -> Tally {
        Tally {
            approve,
            decline,
            abstain,
            not_voted,
        }
    }

    #[test]
    fn threshold_decides_at_k_or_when_k_is_out_of_reach() {
        let rule = DecisionRule::Threshold { k: 3 };
        assert_eq!(evaluate(&rule, &t(3, 0, 0, 2)), Some(Outcome::Approved));
        assert_eq!(evaluate(&rule, &t(2, 1, 0, 2)), None);
        assert_eq!(evaluate(&rule, &t(2, 2, 1, 0)), Some(Outcome::Declined));
        assert_eq!(evaluate(&rule, &t(0, 3, 0, 2)), Some(Outcome::Declined));
    }

    #[test]
    fn majority_needs_quorum_and_more_approvals_than_declines() {
        let rule = DecisionRule::Majority { quorum: 4 };
        assert_eq!(evaluate(&rule, &t(3, 0, 0, 2)), None, "quorum not reached");
        assert_eq!(evaluate(&rule, &t(3, 1, 0, 1)), Some(Outcome::Approved));
        assert_eq!(
            evaluate(&rule, &t(2, 2, 0, 1)),
            None,
            "a tie can still be broken"
        );
        assert_eq!(evaluate(&rule, &t(2, 2, 0, 0)), Some(Outcome::Declined));
        assert_eq!(evaluate(&rule, &t(1, 3, 0, 1)), Some(Outcome::Declined));
        assert_eq!(
            evaluate(&rule, &t(1, 0, 0, 2)),
            Some(Outcome::Declined),
            "quorum out of reach"
        );
    }

    #[test]
    fn consensus_needs_quorum_and_no_objection() {
        let rule = DecisionRule::Consensus { quorum: 3 };
        assert_eq!(evaluate(&rule, &t(2, 0, 1, 1)), Some(Outcome::Approved));
        assert_eq!(evaluate(&rule, &t(2, 0, 0, 2)), None);
        assert_eq!(evaluate(&rule, &t(5, 1, 0, 0)), Some(Outcome::Declined));
    }

    #[test]
    fn consensus_needs_an_approval_not_only_abstentions() {
        let rule = DecisionRule::Consensus { quorum: 2 };
        assert_eq!(
            evaluate(&rule, &t(0, 0, 2, 1)),
            None,
            "one may still approve"
        );
        assert_eq!(evaluate(&rule, &t(0, 0, 3, 0)), Some(Outcome::Declined));
        assert_eq!(evaluate(&rule, &t(1, 0, 1, 1)), Some(Outcome::Approved));
    }
}
