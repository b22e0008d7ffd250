//! A record's story in words: each timeline item the governance queries
//! return (a vote, a question, a report…) turned into an [`Event`] a reader
//! can follow, and concerns grouped with their responses.

use kaitiaki_governance::datasets::DatasetRecord;
use kaitiaki_governance::query::TimelineItem;
use kaitiaki_governance::requests::RequestRecord;
use kaitiaki_governance::rules::Outcome;
use kaitiaki_governance::KeyBytes;
use kaitiaki_protocol::statement as st;
use kaitiaki_protocol::Timestamp;
use std::collections::{HashMap, HashSet};

use kaitiaki_protocol::{Kind, StatementId};
use serde::de::DeserializeOwned;

use super::concern::{ConcernThread, ResponseItem};
use super::gather::{excluded, when, Ctx, GatherError, Gathered};
use super::request::{condition_words, Event, Held, VoteOn, What};

/// A timeline item's body as its protocol type.
pub fn parse<T: DeserializeOwned>(item: &TimelineItem) -> Option<T> {
    serde_json::from_value(item.body.clone()).ok()
}

/// What each renewal and motion in `items` is, by id: what a vote whose
/// subject it is votes on (counted or not; anything else is the request).
pub fn vote_subjects(items: &[TimelineItem]) -> HashMap<StatementId, VoteOn> {
    items
        .iter()
        .filter_map(|item| match item.kind {
            Kind::RenewalRequest => parse::<st::RenewalRequest>(item)
                .map(|n| (item.id, VoteOn::Renewal { days: n.extra_days })),
            Kind::ApprovalMotion => parse::<st::ApprovalMotion>(item)
                .map(|m| (item.id, VoteOn::Motion { action: m.action })),
            _ => None,
        })
        .collect()
}

/// The votes in `items` (a timeline, in order) that a later vote replaced:
/// one by the same member for the same board on the same subject, that
/// counts. Only a member's latest vote counts.
pub fn replaced_votes(items: &[TimelineItem]) -> HashSet<StatementId> {
    let mut latest: HashMap<(KeyBytes, StatementId, StatementId), StatementId> = HashMap::new();
    let mut replaced = HashSet::new();
    for item in items.iter().filter(|i| excluded(&i.verdict).is_none()) {
        if let Some(v) = (item.kind == Kind::Vote)
            .then(|| parse::<st::Vote>(item))
            .flatten()
        {
            if let Some(earlier) = latest.insert((item.author, v.body, v.subject), item.id) {
                replaced.insert(earlier);
            }
        }
    }
    replaced
}

/// What the vote `vote` decided on the request `record` (its boards'
/// answers, a renewal's, or a motion), if it was a deciding vote.
pub fn decided_by(record: &RequestRecord, vote: &StatementId) -> Option<Outcome> {
    let by = |d: &Option<kaitiaki_governance::rules::Decision>| {
        d.as_ref().filter(|x| x.vote == *vote).map(|x| x.outcome)
    };
    let approval = record.approval.as_ref();
    record
        .decisions
        .iter()
        .chain(
            approval
                .into_iter()
                .flat_map(|a| a.renewals.iter().flat_map(|n| &n.decisions)),
        )
        .find_map(|d| by(&d.decision))
        .or_else(|| approval?.motions.iter().find_map(|m| by(&m.decision)))
}

/// One timeline item in words. `record` says which votes decided what;
/// `subjects` ([`vote_subjects`] of the whole timeline) what each vote is on.
pub fn event(
    ctx: &Ctx<'_>,
    item: &TimelineItem,
    record: Option<&RequestRecord>,
    subjects: &HashMap<StatementId, VoteOn>,
    replaced: &HashSet<StatementId>,
) -> Event {
    let approval = record.and_then(|r| r.approval.as_ref());
    let renewal = |id: &StatementId| approval?.renewals.iter().find(|x| x.id == *id);
    let motion = |id: &StatementId| approval?.motions.iter().find(|x| x.id == *id);
    let decided = |id: &StatementId| decided_by(record?, id);
    let what = match item.kind.name() {
        "vote" => parse::<st::Vote>(item).map(|v| What::Vote {
            body: ctx.body_name(&v.body),
            on: subjects.get(&v.subject).cloned().unwrap_or(VoteOn::Request),
            choice: v.choice,
            reason: v.reason,
            conditions: v.conditions.iter().map(condition_words).collect(),
            decided: decided(&item.id),
            replaced: replaced.contains(&item.id),
        }),
        "request.question" => {
            parse::<st::RequestQuestion>(item).map(|q| What::Question { text: q.text })
        }
        "request.answer" => parse::<st::RequestAnswer>(item).map(|a| What::Answer { text: a.text }),
        "request.withdraw" => {
            parse::<st::RequestWithdraw>(item).map(|w| What::Withdrawn { reason: w.reason })
        }
        "request.renew" => parse::<st::RenewalRequest>(item).map(|r| What::Renewal {
            days: r.extra_days,
            reason: r.reason,
            outcome: renewal(&item.id).and_then(|n| n.outcome),
            granted: renewal(&item.id).and_then(|n| n.days_granted()),
        }),
        "approval.motion" => parse::<st::ApprovalMotion>(item).map(|m| What::Motion {
            body: ctx.body_name(&m.body),
            action: m.action,
            reason: m.reason,
            decision: motion(&item.id)
                .and_then(|x| x.decision.as_ref())
                .map(|d| (d.outcome, d.at.at)),
            changed: match (approval, motion(&item.id)) {
                (Some(a), Some(m)) => !a.carried_without_effect(m),
                _ => true,
            },
        }),
        "report.file" => parse::<st::UseReport>(item).map(|r| What::Report {
            kind: r.kind,
            summary: r.summary,
            benefit: r.benefit_returned,
            incidents: r.incidents,
        }),
        "report.review" => parse::<st::ReportReview>(item).map(|r| What::ReportReview {
            body: ctx.body_name(&r.body),
            accepted: r.accepted,
            reason: r.reason,
        }),
        "output.submit" => parse::<st::OutputSubmit>(item).map(|o| What::Output {
            title: o.title,
            link: o.link,
        }),
        "output.review" => parse::<st::OutputReview>(item).map(|o| What::OutputReview {
            body: ctx.body_name(&o.body),
            release: o.release,
            reason: o.reason,
        }),
        "concern.raise" => parse::<st::ConcernRaise>(item).map(|c| What::Concern { text: c.text }),
        "concern.respond" => parse::<st::ConcernRespond>(item).map(|c| What::ConcernResponse {
            body: ctx.body_name(&c.body),
            text: c.text,
            resolved: c.resolved,
        }),
        "attachment.commit" => parse::<st::AttachmentCommit>(item).map(|a| What::Attachment {
            description: a.description,
        }),
        _ => None,
    };
    Event {
        id: item.id.to_hex(),
        at: when(item),
        who: Some(ctx.person(&item.author)),
        what: what.unwrap_or_else(|| What::Other {
            kind: item.kind.name().to_owned(),
        }),
        excluded: excluded(&item.verdict),
    }
}

/// Whether `[from, to)` and `[start, end)` overlap (`None` is no end).
fn overlaps(
    (from, to): (Timestamp, Option<Timestamp>),
    (start, end): (Timestamp, Option<Timestamp>),
) -> bool {
    end.is_none_or(|e| from < e) && to.is_none_or(|t| start < t)
}

/// Whether `at` falls in `[from, to)`.
fn within(at: Timestamp, (from, to): (Timestamp, Option<Timestamp>)) -> bool {
    from <= at && to.is_none_or(|t| at < t)
}

/// The rāhui on the request `rec`'s datasets (`datasets`, each with its
/// record) that held it up, told as events: when one paused its votes
/// (while it awaited them) or its access (while approved), and when it was
/// lifted or reached its end. Read from the records alone (the datasets'
/// rāhui and the request's own dates) and the one statement of each event,
/// for who signed it, so the cost grows with the request's datasets.
pub fn rahui_events(ctx: &Ctx<'_>, rec: &RequestRecord, datasets: &[DatasetRecord]) -> Vec<Event> {
    let submitted = rec.submitted.at;
    let approval = rec.approval.as_ref();
    // While it awaited its votes: until it was approved, withdrawn or
    // declined.
    let declined = rec
        .decisions
        .iter()
        .filter_map(|d| d.decision.as_ref())
        .filter(|d| d.outcome == Outcome::Declined)
        .map(|d| d.at.at)
        .min();
    let decided = approval
        .map(|a| a.approved.at)
        .or(rec.withdrawn.as_ref().map(|w| w.at.at))
        .or(declined);
    let awaiting = (submitted, decided);
    let access = approval.map(|a| (a.approved.at, Some(a.end())));
    let signer = |id: &StatementId| {
        ctx.own_statement(id)
            .map(|s| ctx.person(&KeyBytes::of(&s.author)))
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for d in datasets {
        for r in &d.rahui {
            let placed = r.placed.at;
            if placed > ctx.now {
                continue;
            }
            let lifted = r.lifted.as_ref().filter(|l| l.at.at <= ctx.now);
            let end = match (lifted.map(|l| l.at.at), r.until) {
                (Some(l), Some(u)) => Some(l.min(u)),
                (l, u) => l.or(u),
            };
            let (held, window) = if overlaps(awaiting, (placed, end)) {
                (Held::Votes, awaiting)
            } else if let Some(w) = access.filter(|w| overlaps(*w, (placed, end))) {
                (Held::Access, w)
            } else {
                continue;
            };
            let body = ctx.body_name(&r.body);
            let placer = signer(&r.id);
            // Dated when it was placed, by who placed it, even before the
            // request was made: then it comes first in the story.
            out.push(Event {
                id: r.id.to_hex(),
                at: placed,
                who: Some(placer.clone()),
                what: What::RahuiPaused {
                    body: body.clone(),
                    dataset: d.name.clone(),
                    reason: r.reason.clone(),
                    until: r.until,
                    held,
                    placed_before: (placed < window.0 && held == Held::Votes).then_some(placed),
                },
                excluded: None,
            });
            let Some((ended, lifting)) = r.ended_by(ctx.now) else {
                continue;
            };
            let resumes = within(ended, window).then_some(held);
            // An end by its date was signed by nobody on that day.
            let (id, who, lifted) = match lifting {
                Some(l) => (l.id, Some(signer(&l.id)), Some(l.reason.clone())),
                None => (r.id, None, None),
            };
            out.push(Event {
                id: id.to_hex(),
                at: ended,
                who,
                what: What::RahuiEnded {
                    body,
                    dataset: d.name.clone(),
                    lifted,
                    resumes,
                },
                excluded: None,
            });
        }
    }
    out
}

/// The boards a concern still waits for: those that may respond whose
/// latest response does not say it is resolved (governance's record). A
/// concern governance keeps no record of (one it excluded) waits, in words,
/// for "the boards".
fn awaiting(ctx: &Ctx<'_>, id: &StatementId) -> Gathered<Vec<String>> {
    Ok(
        match kaitiaki_governance::query::concern(ctx.store(), id).map_err(GatherError::of)? {
            Some(r) => r
                .bodies
                .iter()
                .filter(|b| !r.resolved_by.contains(b))
                .map(|b| ctx.body_name(b))
                .collect(),
            None => vec!["the boards".to_owned()],
        },
    )
}

/// Concerns and their responses out of a timeline.
pub fn concerns(ctx: &Ctx<'_>, items: &[TimelineItem]) -> Gathered<Vec<ConcernThread>> {
    let mut out: Vec<ConcernThread> = Vec::new();
    for item in items {
        match item.kind.name() {
            "concern.raise" => {
                if let Some(c) = parse::<st::ConcernRaise>(item) {
                    out.push(ConcernThread {
                        id: item.id.to_hex(),
                        who: ctx.person(&item.author),
                        at: when(item),
                        text: c.text,
                        responses: Vec::new(),
                        awaiting: awaiting(ctx, &item.id)?,
                    });
                }
            }
            "concern.respond" => {
                if let Some(r) = parse::<st::ConcernRespond>(item) {
                    let concern = r.concern.to_hex();
                    if let Some(t) = out.iter_mut().find(|t| t.id == concern) {
                        t.responses.push(ResponseItem {
                            id: item.id.to_hex(),
                            body: ctx.body_name(&r.body),
                            who: ctx.person(&item.author),
                            at: when(item),
                            text: r.text,
                            resolved: r.resolved,
                            excluded: excluded(&item.verdict),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_overlap_only_when_they_share_a_moment() {
        let t = |s: &str| Timestamp::parse(s).expect("time");
        let (a, b, c, d) = (
            t("2026-01-01T00:00:00Z"),
            t("2026-02-01T00:00:00Z"),
            t("2026-03-01T00:00:00Z"),
            t("2026-04-01T00:00:00Z"),
        );
        assert!(overlaps((a, Some(c)), (b, Some(d))));
        assert!(overlaps((b, Some(d)), (a, Some(c))));
        assert!(overlaps((a, None), (c, Some(d))));
        assert!(overlaps((c, Some(d)), (a, None)));
        assert!(
            !overlaps((a, Some(b)), (b, None)),
            "one ends as the other begins"
        );
        assert!(!overlaps((c, None), (a, Some(b))));
        assert!(within(b, (a, None)) && !within(b, (a, Some(b))));
    }
}
