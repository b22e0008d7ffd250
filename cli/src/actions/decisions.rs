//! What governance bodies decide: votes (on requests, amendments, renewals
//! and motions), rāhui, and motions to suspend, reinstate or revoke an
//! approval.

use clap::{Args, Subcommand, ValueEnum};
use kaitiaki_protocol::statement::{
    ApprovalAction, ApprovalMotion, Choice, Condition, RahuiLift, RahuiPlace, Vote,
};
use kaitiaki_protocol::{Body, StatementId, Timestamp};

use crate::parse;

/// A member's choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ChoiceArg {
    /// Approve (with --condition: approve with conditions).
    Approve,
    /// Approve, subject to the --condition values given.
    ApproveWithConditions,
    /// Decline.
    Decline,
    /// Abstain (counts towards quorum only).
    Abstain,
}

/// Arguments of `vote`.
#[derive(Debug, Args)]
pub struct VoteArgs {
    /// What is decided: a request, a charter amendment, a renewal or an approval motion.
    #[arg(value_parser = parse::id)]
    pub subject: StatementId,
    /// Your choice.
    #[arg(value_enum)]
    pub choice: ChoiceArg,
    /// The body you vote for (its charter id).
    #[arg(long, value_parser = parse::id)]
    pub body: StatementId,
    /// A condition of approval. Repeatable. Forms: report-every:MONTHS,
    /// final-report, outputs-reviewed, findings-returned, no-linkage:WHAT,
    /// acknowledge:WHOM, expires-after-days:DAYS, other:TEXT.
    #[arg(long = "condition", value_name = "CONDITION", value_parser = parse::condition)]
    pub conditions: Vec<Condition>,
    /// Your reasons, in plain language.
    #[arg(long)]
    pub reason: String,
}

/// `kaitiaki rahui …`.
#[derive(Debug, Subcommand)]
pub enum RahuiCmd {
    /// Restrict a dataset: new approvals blocked, active ones suspended.
    Place {
        /// The body placing it.
        #[arg(long, value_parser = parse::id)]
        body: StatementId,
        /// The dataset restricted.
        #[arg(long, value_parser = parse::id)]
        dataset: StatementId,
        /// Why, as the body chooses to say.
        #[arg(long)]
        reason: String,
        /// When it ends by itself, if it does: a date (midnight UTC, so
        /// 2027-03-01 is 1 pm that day in Aotearoa in summer) or an RFC 3339
        /// time with its offset (2027-03-01T00:00:00+13:00).
        #[arg(long, value_parser = parse::time)]
        until: Option<Timestamp>,
    },
    /// Lift a rāhui the body placed.
    Lift {
        /// The rāhui (its place statement's id).
        #[arg(value_parser = parse::id)]
        rahui: StatementId,
        /// Why it is lifted.
        #[arg(long)]
        reason: String,
    },
}

/// Arguments shared by `approval suspend|reinstate|revoke`.
#[derive(Debug, Args)]
pub struct MotionArgs {
    /// The request whose approval is acted on.
    #[arg(value_parser = parse::id)]
    pub request: StatementId,
    /// The body acting (its members then vote on the motion).
    #[arg(long, value_parser = parse::id)]
    pub body: StatementId,
    /// Why: for a suspension or revocation, what went wrong; for a
    /// reinstatement, what has been put right.
    #[arg(long)]
    pub reason: String,
}

/// `kaitiaki approval …`: motions on an approval, decided by the body's rule.
#[derive(Debug, Subcommand)]
pub enum ApprovalCmd {
    /// Move to pause an approval until reinstated.
    Suspend(MotionArgs),
    /// Move to resume a suspended approval.
    Reinstate(MotionArgs),
    /// Move to end an approval for good (also `kaitiaki revoke`).
    Revoke(MotionArgs),
}

impl VoteArgs {
    /// Refuses, before anything is signed, what the node would refuse as
    /// `conditions_mismatch`: approve-with-conditions with no `--condition`,
    /// and conditions with decline or abstain.
    pub fn check(&self) -> anyhow::Result<()> {
        match (self.choice, self.conditions.is_empty()) {
            (ChoiceArg::ApproveWithConditions, true) => anyhow::bail!(
                "approve-with-conditions needs at least one --condition (for example \
                 --condition report-every:6); vote approve if there are none"
            ),
            (ChoiceArg::Decline | ChoiceArg::Abstain, false) => anyhow::bail!(
                "conditions go with an approval; remove the --condition values, or vote \
                 approve-with-conditions"
            ),
            _ => Ok(()),
        }
    }

    /// The statement body. A plain `approve` with conditions becomes
    /// `approve_with_conditions`, since that is plainly what was meant.
    pub fn body(&self) -> Body {
        let choice = match (self.choice, self.conditions.is_empty()) {
            (ChoiceArg::Approve, false) | (ChoiceArg::ApproveWithConditions, _) => {
                Choice::ApproveWithConditions
            }
            (ChoiceArg::Approve, true) => Choice::Approve,
            (ChoiceArg::Decline, _) => Choice::Decline,
            (ChoiceArg::Abstain, _) => Choice::Abstain,
        };
        Body::Vote(Vote {
            subject: self.subject,
            body: self.body,
            choice,
            conditions: self.conditions.clone(),
            reason: self.reason.clone(),
        })
    }
}

impl RahuiCmd {
    /// Refuses a rāhui that would have ended by `now`: it would be recorded
    /// and never be in force, which is almost always a mistyped date.
    pub fn check(&self, now: Timestamp) -> anyhow::Result<()> {
        if let RahuiCmd::Place {
            until: Some(until), ..
        } = self
        {
            if *until <= now {
                anyhow::bail!(
                    "--until {} is not in the future: a rāhui that has already ended is never in \
                     force. Check the date, or leave --until out for a rāhui that lasts until \
                     the board lifts it",
                    until.to_rfc3339()
                );
            }
        }
        Ok(())
    }

    /// The statement body.
    pub fn body(&self) -> Body {
        match self {
            RahuiCmd::Place {
                body,
                dataset,
                reason,
                until,
            } => Body::RahuiPlace(RahuiPlace {
                body: *body,
                dataset: *dataset,
                reason: reason.clone(),
                until: *until,
            }),
            RahuiCmd::Lift { rahui, reason } => Body::RahuiLift(RahuiLift {
                rahui: *rahui,
                reason: reason.clone(),
            }),
        }
    }
}

impl ApprovalCmd {
    /// The statement body.
    pub fn body(&self) -> Body {
        match self {
            ApprovalCmd::Suspend(a) => a.body(ApprovalAction::Suspend),
            ApprovalCmd::Reinstate(a) => a.body(ApprovalAction::Reinstate),
            ApprovalCmd::Revoke(a) => a.body(ApprovalAction::Revoke),
        }
    }
}

impl MotionArgs {
    /// The body of a motion to take `action`.
    pub fn body(&self, action: ApprovalAction) -> Body {
        Body::ApprovalMotion(ApprovalMotion {
            request: self.request,
            body: self.body,
            action,
            reason: self.reason.clone(),
        })
    }
}
