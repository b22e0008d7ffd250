//! Access requests: the record derived from everything said about a request.
//!
//! A request's aggregate holds its `request.submit` and every statement that
//! decides or reports on it: withdrawals, votes, renewals and their votes,
//! approval motions and their votes, use reports and their reviews, outputs
//! and their reviews. Whenever one of them (or something they depend on)
//! changes, the whole record is recomputed from that set, ordered by
//! position — so the result never depends on arrival order, and the cost is
//! proportional to the request's own statements.
//!
//! Reading order: [`decide`] (from votes to each body's decision, notice
//! period, withdrawal), [`aftercare`] (what happens to an approval),
//! [`schedule`] (report schedule and status at `now`).

pub mod aftercare;
pub mod decide;
pub(crate) mod run;
pub mod schedule;

use kaitiaki_protocol::statement::{
    ApprovalAction, Condition, ReportKind as WireReportKind, RequestSubmit, UseCategory,
};
use kaitiaki_protocol::{Body, ContentHash, StatementId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::codec::{self, key, KeyBytes, Pos};
use crate::datasets::{excluded_uses, DatasetRecord};
use crate::engine::{depends_on, Engine, Loaded};
use crate::entry::{Agg, Verdict};
use crate::error::StateError;
use crate::rejection::{Rejection, RejectionCode};
use crate::rules::{reject, Decision, Outcome, Rule, Stop, Tally};
use crate::store::{Store, Table};

pub use schedule::{DueReport, RequestStatus, Schedule};

/// Periodic or final (re-exported from the protocol for convenience).
pub type ReportKind = WireReportKind;

/// The time-independent stage of a request, kept as an index; the status at
/// a given time ([`RequestStatus`]) refines it with expiry and rāhui.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// No vote counted yet.
    Submitted,
    /// Votes counted, not every body decided.
    UnderReview,
    /// Every governing body approved.
    Approved,
    /// A governing body declined.
    Declined,
    /// Withdrawn before a decision.
    Withdrawn,
    /// Approved, then revoked.
    Revoked,
    /// Approved, then completed.
    Completed,
}

impl Phase {
    pub(crate) const fn code(self) -> u8 {
        match self {
            Phase::Submitted => 1,
            Phase::UnderReview => 2,
            Phase::Approved => 3,
            Phase::Declined => 4,
            Phase::Withdrawn => 5,
            Phase::Revoked => 6,
            Phase::Completed => 7,
        }
    }
}

/// Everything derived about a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Who asked.
    pub requester: KeyBytes,
    /// The request's title.
    pub title: String,
    /// The category of use.
    pub use_category: UseCategory,
    /// Where the submission sits (its earliest placement).
    pub submitted: Pos,
    /// The datasets asked for.
    pub datasets: Vec<StatementId>,
    /// Every body that must approve: the union of the datasets' governing bodies.
    pub bodies: Vec<StatementId>,
    /// Days of access asked for.
    pub duration_days: u32,
    /// The stage reached.
    pub phase: Phase,
    /// Each governing body's deliberation, by body id.
    pub decisions: Vec<BodyDecision>,
    /// The withdrawal that counted, if any.
    pub withdrawn: Option<Ended>,
    /// The approval, once every body approved.
    pub approval: Option<Approval>,
    /// Use reports filed, in order.
    pub reports: Vec<ReportRecord>,
    /// Outputs submitted, in order.
    pub outputs: Vec<OutputRecord>,
}

/// One body's deliberation on a request or renewal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyDecision {
    /// The body.
    pub body: StatementId,
    /// Until when the request is open for community comment under this
    /// body's charter as in force when the request was submitted.
    pub notice_until: Option<Timestamp>,
    /// The tally after the latest counted vote; before any vote counts,
    /// every member of the charter in force at submission has not voted.
    pub tally: Tally,
    /// The decision, once reached.
    pub decision: Option<Decision>,
}

/// A statement that ended something, and where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ended {
    /// Where it sits.
    pub at: Pos,
    /// The statement (withdrawal, deciding vote, accepting review).
    pub by: StatementId,
}

/// An approval and what happened to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// Where the last governing body's approval sits: access starts here.
    pub approved: Pos,
    /// The union of every body's conditions (and those added by renewals).
    pub conditions: Vec<Condition>,
    /// When access ends unless renewed.
    pub expires_at: Timestamp,
    /// The reports the conditions ask for.
    pub schedule: Schedule,
    /// Suspensions by motion.
    pub suspensions: Vec<Suspension>,
    /// The revocation, if any.
    pub revoked: Option<Ended>,
    /// The completion (final report accepted by every body), if any.
    pub completed: Option<Ended>,
    /// Renewals asked for.
    pub renewals: Vec<RenewalRecord>,
    /// Approval motions proposed.
    pub motions: Vec<MotionRecord>,
}

/// A suspension by one body's motion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suspension {
    /// The body that suspended.
    pub body: StatementId,
    /// The suspend motion.
    pub motion: StatementId,
    /// From the deciding vote.
    pub from: Pos,
    /// Until the deciding vote of a reinstate motion, if any.
    pub until: Option<Pos>,
}

/// A renewal and how it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalRecord {
    /// The `request.renew` statement.
    pub id: StatementId,
    /// Where it sits.
    pub filed: Pos,
    /// Days asked for.
    pub extra_days: u32,
    /// Each body's deliberation.
    pub decisions: Vec<BodyDecision>,
    /// The overall outcome, once every body approved or one declined.
    pub outcome: Option<Outcome>,
}

impl Approval {
    /// Whether `motion` was carried yet changed nothing: a motion to
    /// suspend what its board had already suspended, or to reinstate what
    /// its board had not suspended (PROTOCOL.md §9.3). A rejected or
    /// undecided motion is not one: it was never meant to change anything.
    pub fn carried_without_effect(&self, motion: &MotionRecord) -> bool {
        let Some(d) = motion
            .decision
            .as_ref()
            .filter(|d| d.outcome == Outcome::Approved)
        else {
            return false;
        };
        !match motion.action {
            ApprovalAction::Suspend => self.suspensions.iter().any(|s| s.motion == motion.id),
            ApprovalAction::Reinstate => self
                .suspensions
                .iter()
                .any(|s| s.body == motion.body && s.until.as_ref() == Some(&d.at)),
            ApprovalAction::Revoke => self.revoked.as_ref().is_some_and(|r| r.by == motion.id),
        }
    }
}

impl RenewalRecord {
    /// The days of access the renewal added, once every body approved it:
    /// the days asked for, or fewer where an approving body's
    /// `expires_after_days` allows fewer.
    pub fn days_granted(&self) -> Option<u32> {
        if self.outcome != Some(Outcome::Approved) {
            return None;
        }
        let conditions: Vec<Condition> = self
            .decisions
            .iter()
            .filter_map(|d| d.decision.as_ref())
            .flat_map(|d| d.conditions.iter().cloned())
            .collect();
        Some(decide::days_allowed(self.extra_days, &conditions))
    }
}

/// An approval motion and how it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MotionRecord {
    /// The `approval.motion` statement.
    pub id: StatementId,
    /// The body deciding it.
    pub body: StatementId,
    /// Suspend, reinstate or revoke.
    pub action: ApprovalAction,
    /// Where it sits.
    pub proposed: Pos,
    /// The tally after the latest counted vote.
    pub tally: Tally,
    /// The decision, once reached.
    pub decision: Option<Decision>,
}

/// Where a report stands with the governing bodies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// Filed; not every body has accepted it.
    Received,
    /// Every governing body's latest review accepts it.
    Accepted,
    /// A governing body's latest review returned it; it does not count until refiled.
    Returned,
}

/// A use report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRecord {
    /// The `report.file` statement.
    pub id: StatementId,
    /// Periodic or final.
    pub kind: ReportKind,
    /// Where it sits.
    pub filed: Pos,
    /// Each body's latest review.
    pub reviews: Vec<Review>,
    /// Where it stands.
    pub status: ReportStatus,
}

/// A body's latest review of a report or output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// The body.
    pub body: StatementId,
    /// The review statement.
    pub id: StatementId,
    /// Where it sits.
    pub at: Pos,
    /// Accepted (report) or released (output).
    pub accepted: bool,
}

/// Where an output stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputStatus {
    /// The conditions require review and not every body has released it.
    PendingReview,
    /// Released (by every body, when review is required).
    Released,
    /// A governing body's latest review withholds it.
    Withheld,
}

/// An output of the work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRecord {
    /// The `output.submit` statement.
    pub id: StatementId,
    /// Its title.
    pub title: String,
    /// The content hash of the file.
    pub content_hash: ContentHash,
    /// Where it can be found, if public.
    pub link: Option<String>,
    /// Where the submission sits.
    pub submitted: Pos,
    /// Each body's latest review.
    pub reviews: Vec<Review>,
    /// Where it stands.
    pub status: OutputStatus,
}

/// The stable name of a use category, which a dataset may exclude as a use.
pub fn category_name(c: UseCategory) -> &'static str {
    match c {
        UseCategory::ServiceDelivery => "service_delivery",
        UseCategory::Research => "research",
        UseCategory::Evaluation => "evaluation",
        UseCategory::Commercial => "commercial",
        UseCategory::Other => "other",
    }
}

/// What every step of a request's recomputation needs to know about it.
pub(crate) struct Req {
    pub id: StatementId,
    pub title: String,
    pub use_category: UseCategory,
    pub duration_days: u32,
    pub requester: KeyBytes,
    pub at: Pos,
    pub datasets: Vec<(StatementId, DatasetRecord)>,
    pub bodies: Vec<StatementId>,
}

/// A statement of the aggregate, with its position and eventual verdict.
pub(crate) struct Step<'a> {
    pub l: &'a Loaded,
    pub pos: Pos,
    pub sides: Vec<crate::entry::Side>,
    pub verdict: Option<Rule<()>>,
}

impl<S: Store + ?Sized> Engine<'_, S> {
    pub(crate) fn request_record(
        &self,
        r: &StatementId,
    ) -> Result<Option<RequestRecord>, StateError> {
        self.tx
            .get(Table::Requests, r.as_bytes())?
            .map(|b| codec::decode(Table::Requests, &b))
            .transpose()
    }

    /// Checks the submission itself: its author, its datasets, excluded uses.
    fn check_submit(
        &self,
        s: &RequestSubmit,
        author: &KeyBytes,
        pos: &Pos,
    ) -> Rule<Vec<(StatementId, DatasetRecord)>> {
        self.authority(author, pos)?;
        let mut ids = s.datasets.clone();
        ids.sort();
        ids.dedup();
        let mut out = Vec::new();
        for d in ids {
            let Some(l) = self.load(&d)? else {
                return Err(Stop::Wait(d));
            };
            if !matches!(l.body, Body::DatasetRegister(_)) {
                return reject(
                    RejectionCode::WrongReference,
                    format!("{d} is a {}, not a dataset registration.", l.body.kind()),
                );
            }
            let Some(rec) = self.dataset_record(&d)? else {
                return Err(Stop::Wait(d));
            };
            if !rec.valid {
                return reject(
                    RejectionCode::ExcludedReference,
                    format!(
                        "The registration of dataset {} does not count, so it cannot be requested.",
                        rec.name
                    ),
                );
            }
            let excluded = excluded_uses(&rec, &s.uses, category_name(s.use_category));
            if !excluded.is_empty() {
                return reject(
                    RejectionCode::ExcludedUse,
                    format!(
                        "Dataset {} excludes {}; its governing bodies do not allow this use, so the request \
                         cannot be considered. Remove the use, or the dataset, from the request.",
                        rec.name,
                        excluded.join(", ")
                    ),
                );
            }
            out.push((d, rec));
        }
        Ok(out)
    }

    pub(crate) fn recompute_request(&mut self, r: &StatementId) -> Result<(), StateError> {
        let agg = Agg::Request(*r);
        let items = self.members(&agg)?;
        let Some(root) = items.iter().find(|l| l.id == *r) else {
            return Err(StateError::corrupt(
                Table::Members,
                "a request aggregate has no submission",
            ));
        };
        let (Body::RequestSubmit(submit), Some(at)) = (&root.body, root.first().cloned()) else {
            return Err(StateError::corrupt(
                Table::Members,
                "a request aggregate is not rooted at a submission",
            ));
        };
        let mut root_sides = Vec::new();
        for d in &submit.datasets {
            root_sides.push(depends_on(d, r, agg)?);
        }
        let checked = self.check_submit(submit, &root.author, &at);
        let (datasets, root_verdict) = match checked {
            Ok(ds) => (ds, Verdict::Valid),
            Err(stop) => (Vec::new(), self.verdict_of(Err(stop))?),
        };
        self.set_verdict(
            r,
            &root.author,
            Some(agg),
            Some(at.clone()),
            root_verdict.clone(),
            root_sides,
        )?;

        let others: Vec<&Loaded> = items.iter().filter(|l| l.id != *r).collect();
        if !root_verdict.is_valid() {
            // Nothing about a request that does not count can count either.
            let v = match &root_verdict {
                Verdict::Pending { missing } => Verdict::Pending { missing: *missing },
                _ => Verdict::excluded(Rejection::new(
                    RejectionCode::ExcludedReference,
                    format!("The request {r} does not count, so neither does this."),
                )),
            };
            for l in others {
                self.set_verdict(
                    &l.id,
                    &l.author,
                    Some(agg),
                    l.first().cloned(),
                    v.clone(),
                    Vec::new(),
                )?;
            }
            self.store_run(r, None)?;
            let old = self.request_record(r)?;
            return self.store_request(r, old, None);
        }

        let mut bodies: Vec<StatementId> = datasets
            .iter()
            .flat_map(|(_, d)| d.governing_bodies.clone())
            .collect();
        bodies.sort();
        bodies.dedup();
        let req = Req {
            id: *r,
            title: submit.title.clone(),
            use_category: submit.use_category,
            duration_days: submit.duration_days,
            requester: root.author,
            at,
            datasets,
            bodies,
        };
        let mut steps = self.prepare_steps(&req, agg, &others)?;
        let (mut record, delibs) = self.decide(&req, &mut steps)?;
        self.aftercare(&req, &mut record, &mut steps)?;
        let run = run::Run {
            last: steps.iter().map(|s| (s.pos.clone(), s.l.id)).max(),
            care: steps.iter().any(|s| aftercare::is_care(r, &s.l.body)),
        };
        self.store_run(r, Some((run, &delibs)))?;
        for s in steps {
            let verdict = self.verdict_of(s.verdict.unwrap_or(Ok(())))?;
            self.set_verdict(
                &s.l.id,
                &s.l.author,
                Some(agg),
                Some(s.pos),
                verdict,
                s.sides,
            )?;
        }
        let old = self.request_record(r)?;
        self.store_request(r, old, Some(record))
    }

    /// Positions every statement of the request: home-log placement for what
    /// a body says, earliest placement otherwise. What cannot be placed is
    /// refused at once.
    fn prepare_steps<'a>(
        &self,
        req: &Req,
        agg: Agg,
        others: &[&'a Loaded],
    ) -> Result<Vec<Step<'a>>, StateError> {
        let mut steps = Vec::new();
        for l in others {
            let first = l.first().cloned().ok_or_else(|| {
                StateError::corrupt(Table::Placements, "a statement has no placement")
            })?;
            let body = match &l.body {
                Body::Vote(v) => Some(v.body),
                Body::ApprovalMotion(m) => Some(m.body),
                Body::ReportReview(rv) => Some(rv.body),
                Body::OutputReview(o) => Some(o.body),
                _ => None,
            };
            let mut step = Step {
                l,
                pos: first,
                sides: Vec::new(),
                verdict: None,
            };
            if let Some(b) = body {
                if !req.bodies.contains(&b) {
                    // An id of another kind of statement (a request's, say)
                    // is refused as `body_ref` refuses it; any other names
                    // no body of this request, known yet or not.
                    step.verdict = Some(match self.body_ref(&b) {
                        Err(Stop::Fail(e)) => return Err(e),
                        Err(Stop::Reject(r)) if r.code == RejectionCode::WrongReference => {
                            Err(Stop::Reject(r))
                        }
                        _ => reject(
                            RejectionCode::NotGoverningBody,
                            format!("Body {b} does not govern any dataset of this request, so it cannot act on it."),
                        ),
                    });
                } else {
                    match self.body_ref(&b).and_then(|br| self.home_pos(l, &br)) {
                        Ok(p) => {
                            step.sides
                                .push(crate::bodies::body_log_side(&b, &p, &l.id, agg)?);
                            step.pos = p;
                        }
                        Err(stop) => step.verdict = Some(Err(stop)),
                    }
                }
            }
            if let Body::Vote(v) = &l.body {
                // Votes that a rāhui on a dataset could refuse are indexed by dataset and time.
                let on_request_or_renewal = v.subject == req.id
                    || others
                        .iter()
                        .any(|o| o.id == v.subject && matches!(o.body, Body::RenewalRequest(_)));
                if on_request_or_renewal {
                    for (d, _) in &req.datasets {
                        step.sides
                            .push(dataset_vote_side(d, &step.pos, &l.id, agg)?);
                    }
                }
            }
            steps.push(step);
        }
        steps.sort_by(|a, b| (&a.pos, a.l.id).cmp(&(&b.pos, b.l.id)));
        Ok(steps)
    }

    /// Writes the record (replacing `old`, the one stored) and keeps the
    /// listing indexes in step with it.
    pub(crate) fn store_request(
        &mut self,
        r: &StatementId,
        old: Option<RequestRecord>,
        record: Option<RequestRecord>,
    ) -> Result<(), StateError> {
        if old == record {
            return Ok(());
        }
        // Most changes (a tally) leave every index as it was.
        if let (Some(o), Some(n)) = (&old, &record) {
            let same_keys = o.phase == n.phase
                && o.submitted.at == n.submitted.at
                && o.requester == n.requester
                && o.datasets == n.datasets
                && o.bodies == n.bodies
                && o.approval == n.approval
                && o.reports == n.reports;
            if same_keys {
                return self.tx.put_record(Table::Requests, r.as_bytes(), n);
            }
        }
        let old_keys = old.as_ref().map(|o| index_keys(r, o)).unwrap_or_default();
        let new_keys = record
            .as_ref()
            .map(|n| index_keys(r, n))
            .unwrap_or_default();
        for k in old_keys.iter().filter(|k| !new_keys.contains(k)) {
            self.tx.delete(k.0, &k.1)?;
        }
        for k in new_keys.iter().filter(|k| !old_keys.contains(k)) {
            self.tx.put(k.0, &k.1, &[])?;
        }
        match record {
            Some(rec) => self.tx.put_record(Table::Requests, r.as_bytes(), &rec),
            None => self.tx.delete(Table::Requests, r.as_bytes()),
        }
    }
}

/// The side entry indexing a vote under a dataset and its time, so a rāhui
/// finds the votes it refuses.
pub(crate) fn dataset_vote_side(
    d: &StatementId,
    pos: &Pos,
    id: &StatementId,
    owner: Agg,
) -> Result<crate::entry::Side, StateError> {
    Ok(crate::entry::Side {
        table: Table::DatasetVotes,
        key: key(&[d.as_bytes(), &codec::time_key(pos.at), id.as_bytes()]),
        value: codec::encode(Table::DatasetVotes, &Some(owner))?,
    })
}

/// The listing-index keys of a request.
fn index_keys(r: &StatementId, rec: &RequestRecord) -> Vec<(Table, Vec<u8>)> {
    let t = codec::time_key(rec.submitted.at);
    let mut out = Vec::new();
    for d in &rec.datasets {
        out.push((
            Table::RequestsByDataset,
            key(&[d.as_bytes(), &t, r.as_bytes()]),
        ));
    }
    for b in &rec.bodies {
        out.push((
            Table::RequestsByBody,
            key(&[b.as_bytes(), &t, r.as_bytes()]),
        ));
    }
    out.push((
        Table::RequestsByRequester,
        key(&[rec.requester.as_bytes(), &t, r.as_bytes()]),
    ));
    out.push((
        Table::RequestsByPhase,
        key(&[&[rec.phase.code()], &t, r.as_bytes()]),
    ));
    if let Some(due) = rec.first_unfiled() {
        out.push((
            Table::ReportsDue,
            key(&[&codec::time_key(due.due), r.as_bytes()]),
        ));
    }
    out
}
