//! A record's story in words: each timeline item the governance queries
//! return (a vote, a question, a report…) turned into an [`Event`] a reader
//! can follow, and concerns grouped with their responses.

use kaitiaki_governance::query::TimelineItem;
use kaitiaki_governance::requests::RequestRecord;
use kaitiaki_protocol::statement as st;
use std::collections::HashMap;

use kaitiaki_protocol::{Kind, StatementId};
use serde::de::DeserializeOwned;

use super::concern::{ConcernThread, ResponseItem};
use super::gather::{excluded, when, Ctx, GatherError, Gathered};
use super::request::{condition_words, Event, VoteOn, What};

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

/// One timeline item in words. `record` says which votes decided what;
/// `subjects` ([`vote_subjects`] of the whole timeline) what each vote is on.
pub fn event(
    ctx: &Ctx<'_>,
    item: &TimelineItem,
    record: Option<&RequestRecord>,
    subjects: &HashMap<StatementId, VoteOn>,
) -> Event {
    let approval = record.and_then(|r| r.approval.as_ref());
    let renewal = |id: &StatementId| approval?.renewals.iter().find(|x| x.id == *id);
    let motion = |id: &StatementId| approval?.motions.iter().find(|x| x.id == *id);
    // The decision a vote made, on the request, a renewal or a motion.
    let decided = |id: &StatementId| {
        let by = |d: &Option<kaitiaki_governance::rules::Decision>| {
            d.as_ref().filter(|x| x.vote == *id).map(|x| x.outcome)
        };
        let r = record?;
        r.decisions
            .iter()
            .chain(
                approval
                    .into_iter()
                    .flat_map(|a| a.renewals.iter().flat_map(|n| &n.decisions)),
            )
            .find_map(|d| by(&d.decision))
            .or_else(|| approval?.motions.iter().find_map(|m| by(&m.decision)))
    };
    let what = match item.kind.name() {
        "vote" => parse::<st::Vote>(item).map(|v| What::Vote {
            body: ctx.body_name(&v.body),
            on: subjects.get(&v.subject).cloned().unwrap_or(VoteOn::Request),
            choice: v.choice,
            reason: v.reason,
            conditions: v.conditions.iter().map(condition_words).collect(),
            decided: decided(&item.id),
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
        who: ctx.person(&item.author),
        what: what.unwrap_or_else(|| What::Other {
            kind: item.kind.name().to_owned(),
        }),
        excluded: excluded(&item.verdict),
    }
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
