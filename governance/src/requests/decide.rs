//! From votes to a decision on a request.
//!
//! Each governing body deliberates on its own, in its home-log order, by the
//! rules in [`crate::rules`]. On top of those, a vote on a request is
//! refused, checked in this order (the first that applies names the
//! refusal, so a closed request is never called "still open"):
//!
//! 1. after a withdrawal that counts (`request_withdrawn`);
//! 2. after the body's decision (`decision_already_reached`) — so every
//!    vote on an approved request, and a declining body's on a declined one;
//! 3. while the request is open for community comment — until its sequenced
//!    time plus the `notice_days` of the body's charter in force then
//!    (`notice_period`), whatever an amendment since says;
//! 4. while a rāhui is in force on any of its datasets (`rahui_in_force`).
//!
//! The request is **declined** as soon as one body declines (at the earliest
//! decline), and **approved** when every governing body has approved (at the
//! latest approval), with the union of all their conditions. Each body's
//! decision and reasons stay visible whatever the others decided.
//!
//! A withdrawal counts if the requester sequenced it before the request was
//! decided. Its effect is computed in two passes, because the decision it is
//! compared with itself depends on which votes count: first without any
//! withdrawal, to find when (if ever) the request was decided; then, if a
//! withdrawal came before that, again with every vote after the withdrawal
//! refused.

use std::collections::BTreeMap;

use kaitiaki_protocol::statement::{Condition, Vote};
use kaitiaki_protocol::{Body, StatementId, Timestamp};

use super::{schedule::Schedule, Approval, BodyDecision, Ended, Phase, Req, RequestRecord, Step};
use crate::codec::{KeyBytes, Pos};
use crate::engine::Engine;
use crate::error::StateError;
use crate::rejection::RejectionCode;
use crate::rules::{already_decided, check_ballot, reject, Deliberation, Outcome, Rule, Tally};
use crate::store::Store;

/// The overall outcome of per-body deliberations and where it was reached.
pub(crate) fn overall(
    bodies: &[StatementId],
    delibs: &BTreeMap<StatementId, Deliberation>,
) -> Option<(Outcome, Pos)> {
    let decisions: Vec<_> = bodies
        .iter()
        .map(|b| delibs.get(b).and_then(|d| d.decided.as_ref()))
        .collect();
    let first_decline = decisions
        .iter()
        .flatten()
        .filter(|d| d.outcome == Outcome::Declined)
        .map(|d| d.at.clone())
        .min();
    if let Some(at) = first_decline {
        return Some((Outcome::Declined, at));
    }
    if decisions
        .iter()
        .all(|d| d.is_some_and(|d| d.outcome == Outcome::Approved))
    {
        return decisions
            .iter()
            .flatten()
            .map(|d| d.at.clone())
            .max()
            .map(|at| (Outcome::Approved, at));
    }
    None
}

impl<S: Store + ?Sized> Engine<'_, S> {
    /// Refuses a vote while a rāhui is in force on a dataset of the request.
    pub(crate) fn rahui_check(&self, req: &Req, pos: &Pos) -> Rule<()> {
        for (_, d) in &req.datasets {
            if let Some(r) = d.rahui.iter().find(|r| r.in_force_at(pos)) {
                let until = r
                    .until
                    .map(|u| format!(" (until {u} unless lifted sooner)"))
                    .unwrap_or_default();
                return reject(
                    RejectionCode::RahuiInForce,
                    format!(
                        "Dataset {} is under a rāhui placed at {}{until}; votes on requests for it are paused \
                         until the rāhui ends.",
                        d.name, r.placed.at
                    ),
                );
            }
        }
        Ok(())
    }

    /// One vote on the request itself.
    pub(crate) fn request_vote(
        &self,
        req: &Req,
        step: &Step<'_>,
        v: &Vote,
        cutoff: Option<&Pos>,
        delibs: &mut BTreeMap<StatementId, Deliberation>,
    ) -> Rule<KeyBytes> {
        let body = self.body_ref(&v.body)?;
        let (slot, version) = self.member_at(&body, &step.l.author, &step.pos)?;
        check_ballot(v)?;
        // Whether the request is still open comes first: a vote on a request
        // that was withdrawn, or that this body already decided, is refused
        // for that, whatever the notice period or a rāhui would say.
        if let Some(c) = cutoff {
            if *c < step.pos {
                return reject(
                    RejectionCode::RequestWithdrawn,
                    format!(
                        "The requester withdrew this request at {}; it can no longer be voted on.",
                        c.at
                    ),
                );
            }
        }
        if let Some(dec) = delibs.get(&v.body).and_then(|d| d.decided.as_ref()) {
            return Err(already_decided("request", dec).into());
        }
        // The notice the community was given: by the charter in force when
        // the request was sequenced, as its record's `notice_until` says,
        // whatever an amendment since has made of the period.
        let notice_days = self
            .version_at_pos(&v.body, &req.at)?
            .map_or(0, |given| given.notice_days);
        let open_until = req.at.at.plus_days(notice_days);
        if step.pos.at < open_until {
            return reject(
                RejectionCode::NoticePeriod,
                format!(
                    "The request is open for community comment until {open_until}, under the charter \
                     of {} in force when it was submitted; votes count from then.",
                    body.name
                ),
            );
        }
        self.rahui_check(req, &step.pos)?;
        let d = delibs.entry(v.body).or_default();
        d.cast(slot, step.l.id, &step.pos, v, &version);
        Ok(slot)
    }

    /// Runs every body's deliberation; returns the deliberations and each vote's result.
    #[allow(clippy::type_complexity)]
    fn deliberate(
        &self,
        req: &Req,
        steps: &[Step<'_>],
        cutoff: Option<&Pos>,
    ) -> (BTreeMap<StatementId, Deliberation>, Vec<(usize, Rule<()>)>) {
        let mut delibs = BTreeMap::new();
        let mut results = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            let Body::Vote(v) = &s.l.body else { continue };
            if v.subject != req.id || s.verdict.is_some() {
                continue;
            }
            let counted = self.request_vote(req, s, v, cutoff, &mut delibs);
            results.push((i, counted.map(|_| ())));
        }
        (delibs, results)
    }

    /// Decides the request from its votes and withdrawals.
    pub(crate) fn decide(
        &self,
        req: &Req,
        steps: &mut [Step<'_>],
    ) -> Result<(RequestRecord, Delibs), StateError> {
        let (first, first_results) = self.deliberate(req, steps, None);
        let decided = overall(&req.bodies, &first);

        // Withdrawals, in order.
        let mut withdrawn: Option<Ended> = None;
        for step in steps.iter_mut() {
            if !matches!(step.l.body, Body::RequestWithdraw(_)) || step.verdict.is_some() {
                continue;
            }
            let pos = step.pos.clone();
            let (author, id) = (step.l.author, step.l.id);
            let result = (|| -> Rule<()> {
                let identity = self.authority(&author, &pos)?;
                if !identity.contains(&req.requester) {
                    return reject(
                        RejectionCode::NotRequester,
                        "Only the requester may withdraw a request.",
                    );
                }
                if let Some(w) = &withdrawn {
                    return reject(
                        RejectionCode::RequestWithdrawn,
                        format!("The request was already withdrawn at {}.", w.at.at),
                    );
                }
                if let Some((_, at)) = decided.as_ref().filter(|(_, at)| *at < pos) {
                    return reject(
                        RejectionCode::DecisionAlreadyReached,
                        format!(
                            "The request was already decided at {}; it can no longer be withdrawn.",
                            at.at
                        ),
                    );
                }
                withdrawn = Some(Ended {
                    at: pos.clone(),
                    by: id,
                });
                Ok(())
            })();
            step.verdict = Some(result);
        }

        let (delibs, results) = match &withdrawn {
            None => (first, first_results),
            Some(w) => self.deliberate(req, steps, Some(&w.at)),
        };
        for (i, r) in results {
            steps[i].verdict = Some(r);
        }

        // How each body stood when the request was submitted, by the
        // charter then in force: its notice period, and every member yet to
        // vote (votes are held to the version in force at the vote). A
        // change of a body's versions recomputes the requests submitted
        // since, so this does not depend on the order statements arrive in.
        let mut openings = Vec::new();
        for b in &req.bodies {
            let version = self.version_at_pos(b, &req.at)?;
            let notice = version.as_ref().map(|v| v.notice_days).unwrap_or(0);
            let members = version.as_ref().map(|v| v.members.len()).unwrap_or(0);
            openings.push(Opening {
                notice_until: (notice > 0).then(|| req.at.at.plus_days(notice)),
                tally: Tally {
                    not_voted: u32::try_from(members).unwrap_or(u32::MAX),
                    ..Tally::default()
                },
            });
        }
        let record = record_from(req, &delibs, withdrawn, &openings);
        Ok((record, delibs))
    }
}

/// The days of access an approval grants: what was asked, or less if an
/// approving body's `expires_after_days` allows less. The same for a first
/// approval and for a renewal.
pub fn days_allowed(asked: u32, conditions: &[Condition]) -> u32 {
    conditions
        .iter()
        .filter_map(|c| match c {
            Condition::ExpiresAfterDays { days } => Some(*days),
            _ => None,
        })
        .fold(asked, u32::min)
}

/// Every body's deliberation on a request, by body id. A body has one only
/// once a vote of its counted: an entry is made just before the vote is
/// cast, or from the stored ballots.
pub(crate) type Delibs = BTreeMap<StatementId, Deliberation>;

/// How one body stands on a request before any of its members voted.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Opening {
    /// The end of its notice period, if its charter sets one.
    pub notice_until: Option<Timestamp>,
    /// Its tally before any vote: every member of the charter in force at
    /// submission yet to vote.
    pub tally: Tally,
}

/// The request's record from its bodies' deliberations and withdrawal;
/// `openings` holds how each body stood before any vote, in `req.bodies`
/// order: a body none of whose votes counted shows that tally.
pub(crate) fn record_from(
    req: &Req,
    delibs: &Delibs,
    withdrawn: Option<Ended>,
    openings: &[Opening],
) -> RequestRecord {
    let mut decisions = Vec::new();
    for (i, b) in req.bodies.iter().enumerate() {
        let opening = openings.get(i).copied().unwrap_or_default();
        let (tally, decision) = match delibs.get(b) {
            Some(d) => (d.tally, d.decided.clone()),
            None => (opening.tally, None),
        };
        decisions.push(BodyDecision {
            body: *b,
            notice_until: opening.notice_until,
            tally,
            decision,
        });
    }
    let outcome = if withdrawn.is_some() {
        None
    } else {
        overall(&req.bodies, delibs)
    };
    let phase = match (&withdrawn, &outcome) {
        (Some(_), _) => Phase::Withdrawn,
        (None, Some((Outcome::Declined, _))) => Phase::Declined,
        (None, Some((Outcome::Approved, _))) => Phase::Approved,
        (None, None) if delibs.values().any(Deliberation::started) => Phase::UnderReview,
        (None, None) => Phase::Submitted,
    };
    let approval = match &outcome {
        Some((Outcome::Approved, at)) => {
            let mut conditions: Vec<Condition> = decisions
                .iter()
                .filter_map(|d| d.decision.as_ref())
                .flat_map(|d| d.conditions.iter().cloned())
                .collect();
            conditions.sort();
            conditions.dedup();
            let days = days_allowed(req.duration_days, &conditions);
            Some(Approval {
                approved: at.clone(),
                expires_at: at.at.plus_days(days),
                schedule: Schedule::from_conditions(&conditions),
                conditions,
                suspensions: Vec::new(),
                revoked: None,
                completed: None,
                renewals: Vec::new(),
                motions: Vec::new(),
            })
        }
        _ => None,
    };
    RequestRecord {
        requester: req.requester,
        title: req.title.clone(),
        use_category: req.use_category,
        submitted: req.at.clone(),
        datasets: req.datasets.iter().map(|(d, _)| *d).collect(),
        bodies: req.bodies.clone(),
        duration_days: req.duration_days,
        phase,
        decisions,
        withdrawn,
        approval,
        reports: Vec::new(),
        outputs: Vec::new(),
    }
}
