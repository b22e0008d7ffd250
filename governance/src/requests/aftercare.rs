//! What happens to an approval: motions, renewals, reports and outputs.
//!
//! Everything here is refused before the approval (`not_approved`). After
//! it, statements are taken in position order:
//!
//! - **Approval motions** (`approval.motion`): a member of a governing body
//!   proposes to suspend, reinstate or revoke; the body votes by its rule in
//!   force. When approved, a suspension starts (until a reinstate motion of
//!   the same body passes), or the approval is revoked for good. Motions and
//!   their votes are refused once the approval is revoked or completed
//!   (`approval_ended`).
//! - **Renewal** (`request.renew`): the requester asks for more days before
//!   the approval expires and while no other renewal is undecided
//!   (`renewal_pending`). Every governing body votes on it as on a request
//!   (no notice period; refused under rāhui). When all approve, the expiry
//!   moves on by the days asked — or fewer, if an approving body's
//!   `expires_after_days` on the renewal allows fewer, as for a first
//!   approval — and the renewal's conditions join the approval's; one
//!   decline leaves the expiry as it was.
//! - **Use reports** (`report.file`) by the requester, reviewed
//!   (`report.review`) by each governing body; each body's latest review
//!   counts. A report any body returns does not count towards the schedule;
//!   a periodic report meets the due date of the period it was filed in,
//!   or the earliest one missed ([`RequestRecord::periodic_met`]).
//!   A final report accepted by every governing body **completes** the
//!   request; if a body's later review returns it (and no other final
//!   report stands accepted), the request is no longer completed and the
//!   final report is owed again.
//! - **Outputs** (`output.submit`) by the requester, released or withheld
//!   (`output.review`) by the bodies. When the conditions include
//!   `outputs_reviewed`, an output is released only once every governing
//!   body released it; otherwise it is released unless a body withholds it.

use std::collections::BTreeMap;

use kaitiaki_protocol::statement::{ApprovalAction, Condition, ReportKind, Vote};
use kaitiaki_protocol::{Body, StatementId};

use super::schedule::Schedule;
use super::{
    Approval, BodyDecision, Ended, MotionRecord, OutputRecord, OutputStatus, Phase, RenewalRecord,
    ReportRecord, ReportStatus, Req, RequestRecord, Review, Step, Suspension,
};
use crate::codec::Pos;
use crate::engine::{Engine, Loaded};
use crate::error::StateError;
use crate::rejection::RejectionCode;
use crate::rules::{
    already_decided, check_ballot, check_plain_ballot, reject, Deliberation, Outcome, Rule, Tally,
};
use crate::store::Store;

/// The running state while an approval's statements are taken in order.
struct Care<'r> {
    req: &'r Req,
    a: Approval,
    motions: BTreeMap<StatementId, (MotionRecord, Deliberation)>,
    renewals: Vec<(RenewalRecord, BTreeMap<StatementId, Deliberation>)>,
    reports: Vec<ReportRecord>,
    outputs: Vec<OutputRecord>,
}

impl Care<'_> {
    fn ended(&self) -> Rule<()> {
        if let Some(e) = &self.a.revoked {
            return reject(
                RejectionCode::ApprovalEnded,
                format!("The approval was revoked at {}.", e.at.at),
            );
        }
        if let Some(e) = &self.a.completed {
            return reject(
                RejectionCode::ApprovalEnded,
                format!("The request was completed at {}.", e.at.at),
            );
        }
        Ok(())
    }
}

/// Whether a statement of request `r` acts on its approval (anything but
/// the submission, withdrawals and votes on the request itself).
pub(crate) fn is_care(r: &StatementId, body: &Body) -> bool {
    match body {
        Body::Vote(v) => v.subject != *r,
        Body::RequestSubmit(_) | Body::RequestWithdraw(_) => false,
        _ => true,
    }
}

/// Sets a body's latest review in a list.
fn set_review(reviews: &mut Vec<Review>, r: Review) {
    reviews.retain(|x| x.body != r.body);
    reviews.push(r);
    reviews.sort_by_key(|x| x.body);
}

impl<S: Store + ?Sized> Engine<'_, S> {
    /// Whether the author speaks for the requester at `pos`.
    fn as_requester(&self, req: &Req, l: &Loaded, pos: &Pos, what: &str) -> Rule<()> {
        if self.authority(&l.author, pos)?.contains(&req.requester) {
            Ok(())
        } else {
            reject(
                RejectionCode::NotRequester,
                format!("Only the requester may {what}."),
            )
        }
    }

    /// Runs the approval's statements in order and completes the record.
    pub(crate) fn aftercare(
        &self,
        req: &Req,
        record: &mut RequestRecord,
        steps: &mut [Step<'_>],
    ) -> Result<(), StateError> {
        let is_care = |s: &Step<'_>| is_care(&req.id, &s.l.body);
        let Some(approval) = record.approval.clone() else {
            for s in steps
                .iter_mut()
                .filter(|s| is_care(s) && s.verdict.is_none())
            {
                s.verdict = Some(reject(
                    RejectionCode::NotApproved,
                    "The request has not been approved by every governing body, so there is no approval to act on.",
                ));
            }
            return Ok(());
        };
        let mut care = Care {
            req,
            a: approval,
            motions: BTreeMap::new(),
            renewals: Vec::new(),
            reports: Vec::new(),
            outputs: Vec::new(),
        };
        for s in steps.iter_mut() {
            if !is_care(s) || s.verdict.is_some() {
                continue;
            }
            let result = if s.pos <= care.a.approved {
                reject(
                    RejectionCode::NotApproved,
                    format!(
                        "This comes before the request was approved at {}.",
                        care.a.approved.at
                    ),
                )
            } else {
                self.care_step(&mut care, s.l, &s.pos)
            };
            s.verdict = Some(result);
        }

        let Care {
            mut a,
            motions,
            renewals,
            reports,
            outputs,
            ..
        } = care;
        a.motions = motions
            .into_values()
            .map(|(mut m, d)| {
                m.tally = d.tally;
                m.decision = d.decided;
                m
            })
            .collect();
        a.motions
            .sort_by(|x, y| (&x.proposed, x.id).cmp(&(&y.proposed, y.id)));
        a.renewals = renewals.into_iter().map(|(r, _)| r).collect();
        a.schedule = Schedule::from_conditions(&a.conditions);
        if a.revoked.is_some() {
            record.phase = Phase::Revoked;
        } else if a.completed.is_some() {
            record.phase = Phase::Completed;
        }
        record.approval = Some(a);
        record.reports = reports;
        record.outputs = outputs;
        Ok(())
    }

    fn care_step(&self, care: &mut Care<'_>, l: &Loaded, pos: &Pos) -> Rule<()> {
        let req = care.req;
        match &l.body {
            Body::ApprovalMotion(m) => {
                let body = self.body_ref(&m.body)?;
                self.member_at(&body, &l.author, pos)?;
                care.ended()?;
                let record = MotionRecord {
                    id: l.id,
                    body: m.body,
                    action: m.action,
                    proposed: pos.clone(),
                    tally: Tally::default(),
                    decision: None,
                };
                care.motions.insert(l.id, (record, Deliberation::default()));
                Ok(())
            }
            Body::RenewalRequest(n) => {
                self.as_requester(req, l, pos, "renew a request")?;
                care.ended()?;
                if pos.at >= care.a.expires_at {
                    return reject(
                        RejectionCode::ApprovalEnded,
                        format!(
                            "The approval expired at {}; a renewal must be asked for before it expires. \
                             Submit a new request instead.",
                            care.a.expires_at
                        ),
                    );
                }
                if let Some((open, _)) = care.renewals.iter().find(|(r, _)| r.outcome.is_none()) {
                    return reject(
                        RejectionCode::RenewalPending,
                        format!(
                            "Renewal {} is still undecided; wait for its decision.",
                            open.id
                        ),
                    );
                }
                let record = RenewalRecord {
                    id: l.id,
                    filed: pos.clone(),
                    extra_days: n.extra_days,
                    decisions: Vec::new(),
                    outcome: None,
                };
                care.renewals.push((record, BTreeMap::new()));
                Ok(())
            }
            Body::Vote(v) if care.motions.contains_key(&v.subject) => {
                self.motion_vote(care, l, pos, v)
            }
            Body::Vote(v) if care.renewals.iter().any(|(r, _)| r.id == v.subject) => {
                self.renewal_vote(care, l, pos, v)
            }
            Body::Vote(v) => reject(
                RejectionCode::ExcludedReference,
                format!(
                    "The motion or renewal {} does not count, so votes on it do not either.",
                    v.subject
                ),
            ),
            Body::UseReport(p) => {
                self.as_requester(req, l, pos, "file a use report")?;
                care.reports.push(ReportRecord {
                    id: l.id,
                    kind: p.kind,
                    filed: pos.clone(),
                    reviews: Vec::new(),
                    status: ReportStatus::Received,
                });
                Ok(())
            }
            Body::ReportReview(rv) => {
                let body = self.body_ref(&rv.body)?;
                self.member_at(&body, &l.author, pos)?;
                let bodies = &req.bodies;
                let Some(report) = care.reports.iter_mut().find(|r| r.id == rv.report) else {
                    return reject(
                        RejectionCode::ExcludedReference,
                        format!(
                            "The report {} does not count, so it cannot be reviewed.",
                            rv.report
                        ),
                    );
                };
                let review = Review {
                    body: rv.body,
                    id: l.id,
                    at: pos.clone(),
                    accepted: rv.accepted,
                };
                set_review(&mut report.reviews, review);
                report.status = if report.reviews.iter().any(|r| !r.accepted) {
                    ReportStatus::Returned
                } else if bodies
                    .iter()
                    .all(|b| report.reviews.iter().any(|r| r.body == *b && r.accepted))
                {
                    ReportStatus::Accepted
                } else {
                    ReportStatus::Received
                };
                // Completion follows each body's latest review: a final
                // report accepted by every body completes the request, and
                // a later return of it (with no other final report
                // accepted) reopens it, so the final report is owed again.
                let accepted = care
                    .reports
                    .iter()
                    .any(|r| r.kind == ReportKind::Final && r.status == ReportStatus::Accepted);
                match (&care.a.completed, accepted) {
                    (None, true) if care.a.revoked.is_none() => {
                        care.a.completed = Some(Ended {
                            at: pos.clone(),
                            by: l.id,
                        });
                    }
                    (Some(_), false) => care.a.completed = None,
                    _ => {}
                }
                Ok(())
            }
            Body::OutputSubmit(o) => {
                self.as_requester(req, l, pos, "submit an output")?;
                let required = care.a.conditions.contains(&Condition::OutputsReviewed);
                care.outputs.push(OutputRecord {
                    id: l.id,
                    title: o.title.clone(),
                    content_hash: o.content_hash,
                    link: o.link.clone(),
                    submitted: pos.clone(),
                    reviews: Vec::new(),
                    status: if required {
                        OutputStatus::PendingReview
                    } else {
                        OutputStatus::Released
                    },
                });
                Ok(())
            }
            Body::OutputReview(ov) => {
                let body = self.body_ref(&ov.body)?;
                self.member_at(&body, &l.author, pos)?;
                let required = care.a.conditions.contains(&Condition::OutputsReviewed);
                let bodies = &req.bodies;
                let Some(out) = care.outputs.iter_mut().find(|o| o.id == ov.output) else {
                    return reject(
                        RejectionCode::ExcludedReference,
                        format!(
                            "The output {} does not count, so it cannot be reviewed.",
                            ov.output
                        ),
                    );
                };
                let review = Review {
                    body: ov.body,
                    id: l.id,
                    at: pos.clone(),
                    accepted: ov.release,
                };
                set_review(&mut out.reviews, review);
                out.status = if out.reviews.iter().any(|r| !r.accepted) {
                    OutputStatus::Withheld
                } else if !required
                    || bodies
                        .iter()
                        .all(|b| out.reviews.iter().any(|r| r.body == *b))
                {
                    OutputStatus::Released
                } else {
                    OutputStatus::PendingReview
                };
                Ok(())
            }
            _ => reject(
                RejectionCode::WrongReference,
                "This statement does not belong to a request.",
            ),
        }
    }

    fn motion_vote(&self, care: &mut Care<'_>, l: &Loaded, pos: &Pos, v: &Vote) -> Rule<()> {
        let ended = care.ended();
        let Some((motion, delib)) = care.motions.get_mut(&v.subject) else {
            return reject(
                RejectionCode::ExcludedReference,
                "The motion does not count.",
            );
        };
        if v.body != motion.body {
            return reject(
                RejectionCode::NotGoverningBody,
                "Only the body a motion was put to may vote on it.",
            );
        }
        let body = self.body_ref(&v.body)?;
        let (slot, version) = self.member_at(&body, &l.author, pos)?;
        check_plain_ballot(v, "approval motion")?;
        if let Some(d) = &delib.decided {
            return Err(already_decided("motion", d).into());
        }
        ended?;
        delib.cast(slot, l.id, pos, v, &version);
        let (action, motion_id, motion_body) = (motion.action, motion.id, motion.body);
        if delib
            .decided
            .as_ref()
            .is_some_and(|d| d.outcome == Outcome::Approved)
        {
            let open = care
                .a
                .suspensions
                .iter_mut()
                .find(|s| s.body == motion_body && s.until.is_none());
            match (action, open) {
                (ApprovalAction::Suspend, None) => care.a.suspensions.push(Suspension {
                    body: motion_body,
                    motion: motion_id,
                    from: pos.clone(),
                    until: None,
                }),
                (ApprovalAction::Reinstate, Some(s)) => s.until = Some(pos.clone()),
                (ApprovalAction::Revoke, _) => {
                    care.a.revoked = Some(Ended {
                        at: pos.clone(),
                        by: motion_id,
                    })
                }
                // Suspending what is suspended, or reinstating what is not, changes nothing.
                _ => {}
            }
        }
        Ok(())
    }

    fn renewal_vote(&self, care: &mut Care<'_>, l: &Loaded, pos: &Pos, v: &Vote) -> Rule<()> {
        let req = care.req;
        let ended = care.ended();
        let Some(idx) = care.renewals.iter().position(|(r, _)| r.id == v.subject) else {
            return reject(
                RejectionCode::ExcludedReference,
                "The renewal does not count.",
            );
        };
        let body = self.body_ref(&v.body)?;
        let (slot, version) = self.member_at(&body, &l.author, pos)?;
        check_ballot(v)?;
        let (renewal, delibs) = &mut care.renewals[idx];
        if let Some(d) = delibs.get(&v.body).and_then(|d| d.decided.as_ref()) {
            return Err(already_decided("renewal", d).into());
        }
        if renewal.outcome.is_some() {
            return reject(
                RejectionCode::DecisionAlreadyReached,
                "The renewal was already decided by the governing bodies.",
            );
        }
        ended?;
        self.rahui_check(req, pos)?;
        delibs
            .entry(v.body)
            .or_default()
            .cast(slot, l.id, pos, v, &version);
        renewal.decisions = req
            .bodies
            .iter()
            .map(|b| {
                let d = delibs.get(b).cloned().unwrap_or_default();
                BodyDecision {
                    body: *b,
                    notice_until: None,
                    tally: d.tally,
                    decision: d.decided,
                }
            })
            .collect();
        match super::decide::overall(&req.bodies, delibs) {
            Some((Outcome::Approved, _)) => {
                renewal.outcome = Some(Outcome::Approved);
                let added: Vec<Condition> = renewal
                    .decisions
                    .iter()
                    .filter_map(|d| d.decision.as_ref())
                    .flat_map(|d| d.conditions.iter().cloned())
                    .collect();
                let days = super::decide::days_allowed(renewal.extra_days, &added);
                care.a.expires_at = care.a.expires_at.plus_days(days);
                care.a.conditions.extend(added);
                care.a.conditions.sort();
                care.a.conditions.dedup();
                care.a.schedule = Schedule::from_conditions(&care.a.conditions);
            }
            Some((Outcome::Declined, _)) => renewal.outcome = Some(Outcome::Declined),
            None => {}
        }
        Ok(())
    }
}
