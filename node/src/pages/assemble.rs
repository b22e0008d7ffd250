//! Each page's view model, assembled from governance queries through a
//! [`Ctx`]. Lists read one page of an index; stories read one record's own
//! statements; recent decisions read a fixed tail of the own log and of each mirror.

use kaitiaki_governance::datasets::DatasetRecord;
use kaitiaki_governance::lists::{self, RequestFilter};
use kaitiaki_governance::query::{self, SuspendedBy};
use kaitiaki_governance::requests::{DueReport, RequestRecord};
use kaitiaki_governance::rules::Outcome;
use kaitiaki_governance::{Cursor, KeyBytes};
use kaitiaki_protocol::statement as st;
use kaitiaki_protocol::{Body, StatementId, Timestamp};

use super::body::{
    notice_words, rule_words, AmendmentItem, AmendmentVote, BodyDecision, BodyView, FollowUp,
    PlacedRahui, RahuiState, WaitNote, WaitingLine,
};
use super::chart;
use super::concern::{ConcernRecordView, Subject};
use super::dataset::{CodeItem, DatasetView, HistoryItem};
use super::feed::{self, Entry, Feed};
use super::gather::{excluded, parse_id, when, Ctx, GatherError, Gathered, PAGE};
use super::layout::person_name;
use super::overview::{
    BodyCard, ConcernItem, DatasetCard, DecisionItem, DueItem, OverviewView, RahuiItem,
};
use super::request::{
    action_verb, condition_words, decided_on, motion_word, no_change_why, BodyState, Event,
    OutputItem, Pause, ReportItem, RequestView, UnlistedUses, VoteOn, What,
};
use super::search::{Filters, ResultItem, SearchView, MAX_CHOICES, REQUESTER_PREFIX, STATUSES};
use super::story::{concerns, event, parse, rahui_events, replaced_votes, vote_subjects};

/// How many of the newest leaves the overview reads for recent decisions.
const RECENT_LEAVES: u64 = 400;

fn rahui_item(
    ctx: &Ctx<'_>,
    dataset: &StatementId,
    name: &str,
    r: &kaitiaki_governance::datasets::RahuiRecord,
) -> RahuiItem {
    RahuiItem {
        dataset: dataset.to_hex(),
        dataset_name: name.to_owned(),
        body_name: ctx.body_name(&r.body),
        reason: r.reason.clone(),
        placed: r.placed.at,
        until: r.until,
    }
}

fn card(ctx: &Ctx<'_>, id: &StatementId, d: &DatasetRecord) -> DatasetCard {
    DatasetCard {
        id: id.to_hex(),
        name: d.name.clone(),
        description: d.description.clone(),
        steward: d.steward.clone(),
        sensitivity: d.sensitivity,
        under_rahui: d.rahui.iter().any(|r| r.in_force_now(ctx.now)),
    }
}

/// How many boards the overview shows; `/bodies` lists them all.
const OVERVIEW_BODIES: usize = 12;

/// A board's card, for the overview and `/bodies`.
fn body_card(
    ctx: &Ctx<'_>,
    id: &StatementId,
    b: &kaitiaki_governance::bodies::BodyRecord,
) -> BodyCard {
    BodyCard {
        id: id.to_hex(),
        name: b.name.clone(),
        members: query::members(ctx.store(), id)
            .map(|m| m.len())
            .unwrap_or(0),
        valid: b.valid,
    }
}

/// The overview.
pub fn overview(ctx: &Ctx<'_>) -> Gathered<OverviewView> {
    let s = ctx.store();
    let datasets = lists::datasets(s, None, 12).map_err(GatherError::of)?;
    let bodies = lists::bodies(s, None, OVERVIEW_BODIES).map_err(GatherError::of)?;
    let rahui = lists::rahui_in_force(s, ctx.now, None, 10).map_err(GatherError::of)?;
    let overdue = lists::overdue_reports(s, ctx.now, None, 10).map_err(GatherError::of)?;
    let until = ctx.now.plus_days(super::overview::DUE_SOON_DAYS);
    let due_soon = lists::reports_due_soon(s, ctx.now, until, None, 10).map_err(GatherError::of)?;
    let concerns = lists::open_concerns(s, None, 8).map_err(GatherError::of)?;
    Ok(OverviewView {
        more_datasets: datasets.next.is_some(),
        datasets: datasets
            .items
            .iter()
            .map(|(id, d)| card(ctx, id, d))
            .collect(),
        more_bodies: bodies.next.is_some(),
        bodies: bodies
            .items
            .iter()
            .map(|(id, b)| body_card(ctx, id, b))
            .collect(),
        rahui: rahui
            .items
            .iter()
            .map(|r| rahui_item(ctx, &r.dataset, &r.dataset_name, &r.rahui))
            .collect(),
        decisions: recent_decisions(ctx, 8)?,
        overdue: overdue
            .items
            .iter()
            .filter_map(|o| {
                let first = o.overdue.first()?;
                Some(due_item(
                    ctx,
                    &o.request,
                    &o.title,
                    &o.requester,
                    first,
                    o.overdue.len(),
                ))
            })
            .collect(),
        due_soon: due_soon
            .items
            .iter()
            .map(|d| due_item(ctx, &d.request, &d.title, &d.requester, &d.next, 1))
            .collect(),
        more_concerns: concerns.next.is_some(),
        concerns: concerns
            .items
            .iter()
            .map(|c| {
                let subject = c.record.subject;
                let is_request = ctx.request_record(&subject).ok().flatten().is_some();
                let text = ctx.own_statement(&c.id).and_then(|s| match s.body {
                    Body::ConcernRaise(r) => Some(r.text),
                    _ => None,
                });
                ConcernItem {
                    id: c.id.to_hex(),
                    subject_href: format!(
                        "/{}/{}",
                        if is_request { "requests" } else { "datasets" },
                        subject.to_hex()
                    ),
                    subject_name: if is_request {
                        ctx.request_title(&subject)
                    } else {
                        ctx.dataset_name(&subject)
                    },
                    text,
                    raised: c.record.raised.at,
                    responses: c.record.responses.len(),
                }
            })
            .collect(),
        log: ctx.log_status(),
    })
}

/// A request that owes `count` reports, the earliest of them `first`.
fn due_item(
    ctx: &Ctx<'_>,
    request: &StatementId,
    title: &str,
    requester: &KeyBytes,
    first: &DueReport,
    count: usize,
) -> DueItem {
    DueItem {
        request: request.to_hex(),
        title: title.to_owned(),
        requester: ctx.person(requester),
        kind: first.kind,
        due: first.due,
        count,
    }
}

/// The votes among the newest leaves of this node's log and of each
/// mirror, each with what it is filed under: a request (voted on directly,
/// or through a renewal or a motion) or a board (a vote on a change to its
/// charter).
/// Votes are sequenced on each board's home node, so the decisions about
/// this node's requests may be in the logs it mirrors: a fixed tail of
/// each is read, so the cost does not grow with the logs.
fn recent_votes(ctx: &Ctx<'_>) -> Gathered<Vec<(StatementId, kaitiaki_governance::Agg)>> {
    let storage = &ctx.shared.storage;
    let size = ctx.shared.published().size;
    let mut leaves: Vec<kaitiaki_protocol::Leaf> = storage
        .leaves(size.saturating_sub(RECENT_LEAVES), size)
        .map_err(GatherError::of)?
        .into_iter()
        .map(|(_, leaf)| leaf)
        .collect();
    for m in storage.mirrors().map_err(GatherError::of)? {
        let held = m.size().map_err(GatherError::of)?;
        for bytes in m
            .leaves_raw(held.saturating_sub(RECENT_LEAVES), held, usize::MAX)
            .map_err(GatherError::of)?
        {
            leaves.push(kaitiaki_protocol::Leaf::from_bytes(&bytes).map_err(GatherError::of)?);
        }
    }
    let mut out = Vec::new();
    for leaf in &leaves {
        let envelope = leaf.envelope();
        let Ok(s) = kaitiaki_protocol::Statement::decode(envelope.payload()) else {
            continue;
        };
        let Body::Vote(v) = s.body else { continue };
        let owner = query::statement_state(ctx.store(), &v.subject)
            .map_err(GatherError::of)?
            .and_then(|st| st.owner);
        if let Some(
            owner @ (kaitiaki_governance::Agg::Request(_) | kaitiaki_governance::Agg::Body(_)),
        ) = owner
        {
            out.push((envelope.id(), owner));
        }
    }
    Ok(out)
}

/// Decisions whose deciding vote is among the newest leaves, newest first.
fn recent_decisions(ctx: &Ctx<'_>, max: usize) -> Gathered<Vec<DecisionItem>> {
    let mut out = Vec::new();
    for (id, owner) in recent_votes(ctx)? {
        let request = match owner {
            kaitiaki_governance::Agg::Request(r) => r,
            kaitiaki_governance::Agg::Body(b) => {
                // A change to the board's charter, decided by this vote.
                let Some(body) = ctx.body_record(&b)? else {
                    continue;
                };
                for a in &body.amendments {
                    if let Some(d) = a.decision.as_ref().filter(|d| d.vote == id) {
                        out.push(DecisionItem {
                            href: format!("/bodies/{}#amendments", b.to_hex()),
                            title: body.name.clone(),
                            body_name: body.name.clone(),
                            on: VoteOn::Amendment,
                            outcome: d.outcome,
                            at: d.at.at,
                            now: None,
                            changed: true,
                            granted: None,
                        });
                    }
                }
                continue;
            }
            _ => continue,
        };
        let Some(rec) = ctx.request_record(&request)? else {
            continue;
        };
        for d in decided(&rec) {
            if d.decision.vote != id {
                continue;
            }
            let now = query::request_status(ctx.store(), &request, ctx.now)
                .map_err(GatherError::of)?
                .filter(|s| d.on.leaves(d.decision.outcome).is_some_and(|l| l != *s));
            out.push(DecisionItem {
                href: format!("/requests/{}", request.to_hex()),
                title: rec.title.clone(),
                body_name: ctx.body_name(&d.body),
                on: d.on,
                outcome: d.decision.outcome,
                at: d.decision.at.at,
                now,
                changed: d.changed,
                granted: d.granted,
            });
        }
    }
    // Newest first, whichever log each came from.
    out.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.href.cmp(&b.href)));
    out.truncate(max);
    Ok(out)
}

/// One decision about a request: on the request itself, on a renewal of
/// it, or on a motion about its approval, and the board that made it.
struct Decided<'r> {
    body: StatementId,
    on: VoteOn,
    decision: &'r kaitiaki_governance::rules::Decision,
    /// False for a carried motion that changed nothing (suspending what its
    /// board had suspended, reinstating what it had not).
    changed: bool,
    /// The renewal or motion decided, if not the request itself.
    statement: Option<StatementId>,
    /// For a renewal approved for fewer days than asked: the days granted.
    granted: Option<u32>,
}

/// Every decision reached about a request: each board's answer, then each
/// renewal's, then each motion's.
fn decided(rec: &RequestRecord) -> Vec<Decided<'_>> {
    let mut out: Vec<Decided<'_>> = rec
        .decisions
        .iter()
        .filter_map(|d| {
            d.decision.as_ref().map(|decision| Decided {
                body: d.body,
                on: VoteOn::Request,
                decision,
                changed: true,
                statement: None,
                granted: None,
            })
        })
        .collect();
    if let Some(a) = &rec.approval {
        for r in &a.renewals {
            out.extend(r.decisions.iter().filter_map(|d| {
                d.decision.as_ref().map(|decision| Decided {
                    body: d.body,
                    on: VoteOn::Renewal { days: r.extra_days },
                    decision,
                    changed: true,
                    statement: Some(r.id),
                    // What the board agreed to: fewer days than asked if
                    // its conditions allow fewer.
                    granted: match decision.outcome {
                        Outcome::Approved => {
                            Some(kaitiaki_governance::requests::decide::days_allowed(
                                r.extra_days,
                                &decision.conditions,
                            ))
                            .filter(|g| *g < r.extra_days)
                        }
                        Outcome::Declined => None,
                    },
                })
            }));
        }
        out.extend(a.motions.iter().filter_map(|m| {
            m.decision.as_ref().map(|decision| Decided {
                body: m.body,
                on: VoteOn::Motion { action: m.action },
                decision,
                changed: !a.carried_without_effect(m),
                statement: Some(m.id),
                granted: None,
            })
        }));
    }
    out
}

/// The conditions of the `decisions` that approved something (each board's
/// counted conditions), in words, each once.
fn conditions_set<'d>(
    decisions: impl Iterator<Item = &'d Option<kaitiaki_governance::rules::Decision>>,
) -> Vec<String> {
    let mut all: Vec<_> = decisions
        .flatten()
        .filter(|d| d.outcome == Outcome::Approved)
        .flat_map(|d| d.conditions.iter())
        .collect();
    all.sort();
    all.dedup();
    all.into_iter().map(condition_words).collect()
}

/// A request's page; `None` if there is no such request.
pub fn request(ctx: &Ctx<'_>, id: &StatementId) -> Gathered<Option<RequestView>> {
    let Some(v) = query::request(ctx.store(), id, ctx.now).map_err(GatherError::of)? else {
        return Ok(None);
    };
    let rec = v.record.as_ref();
    let submitted_event = Event {
        id: id.to_hex(),
        at: rec.map(|r| r.submitted.at).unwrap_or(ctx.now),
        who: Some(rec.map(|r| ctx.person(&r.requester)).unwrap_or_default()),
        what: What::Submitted,
        excluded: excluded(&v.verdict),
    };
    let requester = match rec {
        Some(r) => ctx.person(&r.requester),
        None => ctx.check(id).map(|c| c.author).unwrap_or_default(),
    };
    let texts = |rid: &StatementId| {
        v.timeline
            .iter()
            .find(|t| t.id == *rid)
            .and_then(parse::<st::UseReport>)
    };
    let mut events = vec![submitted_event.clone()];
    let subjects = vote_subjects(&v.timeline);
    let replaced = replaced_votes(&v.timeline);
    events.extend(
        v.timeline
            .iter()
            .map(|t| event(ctx, t, rec, &subjects, &replaced)),
    );
    // The rāhui that held it up, each after what happened before it.
    if let Some(r) = rec {
        // A request names each dataset once (governance refuses repeats).
        let mut datasets = Vec::new();
        for d in &r.datasets {
            datasets.extend(ctx.dataset_record(d)?);
        }
        for e in rahui_events(ctx, r, &datasets) {
            let at = events
                .iter()
                .rposition(|x| x.at <= e.at)
                .map_or(0, |i| i + 1);
            events.insert(at, e);
        }
    }
    Ok(Some(RequestView {
        id: id.to_hex(),
        status: v.status,
        excluded: excluded(&v.verdict),
        requester,
        submitted: submitted_event.at,
        datasets: v
            .submit
            .datasets
            .iter()
            .map(|d| (d.to_hex(), ctx.dataset_name(d)))
            .collect(),
        unlisted_uses: v
            .unlisted_uses
            .iter()
            .map(|u| UnlistedUses {
                dataset: u.dataset.to_hex(),
                name: ctx.dataset_name(&u.dataset),
                permitted: u.permitted.clone(),
                asked: u.asked.clone(),
            })
            .collect(),
        unnamed_against: v
            .unchecked_exclusions
            .iter()
            .map(|u| {
                (
                    u.dataset.to_hex(),
                    ctx.dataset_name(&u.dataset),
                    u.excluded.clone(),
                )
            })
            .collect(),
        bodies: rec
            .map(|r| {
                r.decisions
                    .iter()
                    .map(|d| BodyState {
                        id: d.body.to_hex(),
                        name: ctx.body_name(&d.body),
                        notice_until: d.notice_until,
                        tally: d.tally,
                        decision: d.decision.as_ref().map(|x| (x.outcome, x.at.at)),
                        later: follow_ups(r, &d.body),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        // At most one of the two holds anything: an approval's suspensions,
        // or the rāhui that hold up the votes on a request awaiting them.
        paused_by: v
            .suspended_by
            .iter()
            .chain(&v.votes_paused_by)
            .map(|p| match p {
                SuspendedBy::Rahui {
                    rahui,
                    dataset,
                    body,
                    reason,
                    since,
                    until,
                } => Pause::Rahui {
                    id: rahui.to_hex(),
                    dataset: (dataset.to_hex(), ctx.dataset_name(dataset)),
                    board: (body.to_hex(), ctx.body_name(body)),
                    reason: reason.clone(),
                    since: since.at,
                    until: *until,
                },
                SuspendedBy::Motion {
                    motion,
                    body,
                    reason,
                    since,
                } => Pause::Motion {
                    id: motion.to_hex(),
                    board: (body.to_hex(), ctx.body_name(body)),
                    reason: reason.clone(),
                    since: since.at,
                },
            })
            .collect(),
        // The approval keeps every condition together; the page tells those
        // set with the approval from those each renewal added.
        conditions: rec
            .filter(|r| r.approval.is_some())
            .map(|r| conditions_set(r.decisions.iter().map(|d| &d.decision)))
            .unwrap_or_default(),
        renewal_conditions: rec
            .and_then(|r| r.approval.as_ref())
            .map(|a| {
                a.renewals
                    .iter()
                    .filter(|n| n.outcome == Some(Outcome::Approved))
                    .filter_map(|n| {
                        let at = n
                            .decisions
                            .iter()
                            .filter_map(|d| d.decision.as_ref())
                            .map(|d| d.at.at)
                            .max()?;
                        let added = conditions_set(n.decisions.iter().map(|d| &d.decision));
                        (!added.is_empty()).then_some((at, added))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        approved_at: rec.and_then(|r| r.approval.as_ref()).map(|a| a.approved.at),
        expires_at: rec.and_then(|r| r.approval.as_ref()).map(|a| a.expires_at),
        overdue: v.overdue.iter().map(|d| (d.kind, d.due)).collect(),
        next_report: v.next_report.as_ref().map(|d| (d.kind, d.due)),
        reports: rec
            .map(|r| {
                let due = r.report_due_dates();
                r.reports
                    .iter()
                    .map(|x| {
                        let t = texts(&x.id);
                        ReportItem {
                            id: x.id.to_hex(),
                            kind: x.kind,
                            filed: x.filed.at,
                            status: x.status,
                            late_for: due
                                .iter()
                                .find(|(id, _)| *id == x.id)
                                .map(|(_, d)| *d)
                                .filter(|d| x.filed.at > *d),
                            summary: t.as_ref().map(|t| t.summary.clone()).unwrap_or_default(),
                            benefit: t
                                .as_ref()
                                .map(|t| t.benefit_returned.clone())
                                .unwrap_or_default(),
                            incidents: t.map(|t| t.incidents).unwrap_or_default(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default(),
        outputs: rec
            .map(|r| {
                r.outputs
                    .iter()
                    .map(|o| OutputItem {
                        id: o.id.to_hex(),
                        title: o.title.clone(),
                        link: o.link.clone(),
                        hash: o.content_hash.to_hex(),
                        status: o.status,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        concerns: concerns(ctx, &v.timeline)?,
        events,
        check: ctx.check(id),
        form: ctx.concern_form(),
        submit: v.submit,
    }))
}

/// A dataset's page; `None` if there is no such dataset.
pub fn dataset(
    ctx: &Ctx<'_>,
    id: &StatementId,
    after: Option<Cursor>,
) -> Gathered<Option<DatasetView>> {
    let Some(v) = query::dataset(ctx.store(), id, ctx.now).map_err(GatherError::of)? else {
        return Ok(None);
    };
    let d = &v.record;
    let filter = RequestFilter {
        dataset: Some(*id),
        ..RequestFilter::default()
    };
    let (page, next) = ctx.requests(&filter, after.as_ref(), PAGE)?;
    let mut history = Vec::new();
    for r in &page {
        let full = query::request(ctx.store(), &r.id, ctx.now).map_err(GatherError::of)?;
        let rec = full.as_ref().and_then(|f| f.record.as_ref());
        history.push(HistoryItem {
            id: r.id.to_hex(),
            title: r.title.clone(),
            requester: ctx.person(&r.requester),
            purpose: full
                .as_ref()
                .map(|f| f.submit.purpose.clone())
                .unwrap_or_default(),
            submitted: r.submitted.at,
            status: Some(r.status),
            decisions: rec
                .map(|x| {
                    x.decisions
                        .iter()
                        .filter_map(|b| {
                            b.decision
                                .as_ref()
                                .map(|dec| (ctx.body_name(&b.body), dec.outcome, dec.at.at))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            reports: rec.map(|x| x.reports.len()).unwrap_or(0),
            outputs: rec
                .map(|x| x.outputs.iter().map(|o| o.title.clone()).collect())
                .unwrap_or_default(),
        });
    }
    let since = chart::month_start(ctx.now, chart::MONTHS as u32 - 1);
    let (window, capped) = ctx.requests_since(&filter, id, since, 2000)?;
    let points: Vec<_> = window.iter().map(|r| (r.submitted.at, r.status)).collect();
    Ok(Some(DatasetView {
        id: id.to_hex(),
        name: d.name.clone(),
        description: d.description.clone(),
        steward: d.steward.clone(),
        sensitivity: d.sensitivity,
        registered: d.registered.at,
        valid: d.valid,
        bodies: d
            .governing_bodies
            .iter()
            .map(|b| (b.to_hex(), ctx.body_name(b)))
            .collect(),
        labels: d
            .labels
            .iter()
            .map(|l| CodeItem {
                code: l.code.clone(),
                text: l.text.clone(),
            })
            .collect(),
        permitted: d.permitted_uses.clone(),
        excluded: d.excluded_uses.clone(),
        rahui: v
            .rahui_in_force
            .iter()
            .map(|r| rahui_item(ctx, id, &d.name, r))
            .collect(),
        past_rahui: past_rahui(ctx, id, d),
        chart: chart::bin(ctx.now, &points, capped),
        history,
        after: after.map(|c| c.to_hex()),
        next,
        thread: v
            .thread
            .iter()
            .filter(|t| !matches!(t.kind, st::Kind::ConcernRaise | st::Kind::ConcernRespond))
            .map(|t| event(ctx, t, None, &Default::default(), &Default::default()))
            .collect(),
        concerns: concerns(ctx, &v.thread)?,
        form: ctx.concern_form(),
        check: ctx.check(id),
    }))
}

/// A board's page; `None` if there is no such board.
pub fn body(ctx: &Ctx<'_>, id: &StatementId, after: Option<Cursor>) -> Gathered<Option<BodyView>> {
    let s = ctx.store();
    let Some(b) = query::body(s, id).map_err(GatherError::of)? else {
        return Ok(None);
    };
    let current = b.versions.last();
    let (governed, more_governed) = governed_datasets(ctx, id)?;
    let filter = RequestFilter {
        body: Some(*id),
        ..RequestFilter::default()
    };
    let (page, next) = ctx.requests(&filter, after.as_ref(), PAGE)?;
    let mut decisions = Vec::new();
    for r in &page {
        let rec = ctx.request_record(&r.id)?;
        let later = rec.as_ref().map(|x| follow_ups(x, id)).unwrap_or_default();
        decisions.push(BodyDecision {
            request: r.id.to_hex(),
            title: r.title.clone(),
            requester: ctx.person(&r.requester),
            submitted: r.submitted.at,
            status: r.status,
            decision: rec.as_ref().and_then(|x| {
                x.decisions
                    .iter()
                    .find(|d| d.body == *id)
                    .and_then(|d| d.decision.as_ref().map(|dec| (dec.outcome, dec.at.at)))
            }),
            later,
        });
    }
    let (rahui, more_rahui) = rahui_placed_by(ctx, id, &governed, more_governed);
    let (waiting, more_waiting) = match lists::waiting(s, id, ctx.now).map_err(GatherError::of)? {
        Some(w) => (waiting_lines(ctx, &w), w.more),
        None => (Vec::new(), false),
    };
    Ok(Some(BodyView {
        id: id.to_hex(),
        name: b.record.name.clone(),
        description: current.map(|v| v.description.clone()).unwrap_or_default(),
        home_log: b.record.home_log.clone(),
        founded: b.record.founded.as_ref().map(|p| p.at),
        valid: b.record.valid,
        members: current
            .map(|v| {
                v.members
                    .iter()
                    .map(|m| (ctx.person(&m.key), m.role.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        rule: current.map(|v| v.rule.clone()),
        notice_days: current.map(|v| v.notice_days).unwrap_or(0),
        amendments: {
            let items = if b.record.amendments.is_empty() {
                Vec::new()
            } else {
                query::body_timeline(s, id).map_err(GatherError::of)?
            };
            b.record
                .amendments
                .iter()
                .map(|a| amendment(ctx, a, &items))
                .collect()
        },
        datasets: governed
            .iter()
            .take(DATASETS_LISTED)
            .map(|(i, d)| (i.to_hex(), d.name.clone()))
            .collect(),
        rahui,
        more_rahui,
        waiting,
        more_waiting,
        decisions,
        after: after.map(|c| c.to_hex()),
        next,
        check: ctx.check(id),
    }))
}

/// Where the rāhui `r` stands at `now`, by governance's own rules of when
/// one is in force and how it ended; `None` before it was placed.
pub(super) fn rahui_state(
    r: &kaitiaki_governance::datasets::RahuiRecord,
    now: Timestamp,
) -> Option<RahuiState> {
    if r.placed.at > now {
        return None;
    }
    if r.in_force_now(now) {
        return Some(RahuiState::InForce);
    }
    // Placed and not in force: it has ended.
    Some(match r.ended_by(now)? {
        (_, Some(l)) => RahuiState::Lifted {
            id: l.id.to_hex(),
            at: l.at.at,
            reason: l.reason.clone(),
        },
        (at, None) => RahuiState::Ended { at },
    })
}

/// The rāhui on dataset `id` that were lifted or have ended, newest
/// first, each with the name of the board that placed it.
fn past_rahui(ctx: &Ctx<'_>, id: &StatementId, d: &DatasetRecord) -> Vec<(String, PlacedRahui)> {
    let mut past: Vec<_> = d
        .rahui
        .iter()
        .filter_map(|r| {
            let state = rahui_state(r, ctx.now)?;
            (state != RahuiState::InForce).then(|| {
                (
                    ctx.body_name(&r.body),
                    PlacedRahui {
                        id: r.id.to_hex(),
                        dataset: (id.to_hex(), d.name.clone()),
                        placed: r.placed.at,
                        until: r.until,
                        reason: r.reason.clone(),
                        state,
                    },
                )
            })
        })
        .collect();
    past.sort_by_key(|(_, r)| std::cmp::Reverse(r.placed));
    past
}

/// How many of a board's datasets its page and its feed read, for the
/// rāhui it placed (the page says when it governs more; README says the
/// feed's bound).
const RAHUI_DATASETS: usize = 1000;

/// How many of a board's datasets its page lists.
const DATASETS_LISTED: usize = 50;

/// The most rāhui a board's page lists.
const RAHUI_SHOWN: usize = 20;

/// The datasets the board `b` governs, from its own index, a page at a
/// time, at most [`RAHUI_DATASETS`], and whether it governs more.
///
/// A rāhui counts only on a dataset its board governs, so these hold
/// every rāhui the board placed: the cost grows with what the board
/// governs, never with the rest of the log.
fn governed_datasets(
    ctx: &Ctx<'_>,
    b: &StatementId,
) -> Gathered<(Vec<(StatementId, DatasetRecord)>, bool)> {
    let mut found = Vec::new();
    let mut after = None;
    loop {
        let page = lists::datasets_of_body(ctx.store(), b, after.as_ref(), PAGE)
            .map_err(GatherError::of)?;
        found.extend(page.items);
        match page.next {
            Some(_) if found.len() >= RAHUI_DATASETS => return Ok((found, true)),
            Some(next) => after = Some(next),
            None => return Ok((found, false)),
        }
    }
}

/// The rāhui the board `b` placed on the datasets it `governs` (and
/// whether it governs `more` than those), in force first, each group
/// newest first, at most [`RAHUI_SHOWN`], and whether there were more.
fn rahui_placed_by(
    ctx: &Ctx<'_>,
    b: &StatementId,
    governs: &[(StatementId, DatasetRecord)],
    more: bool,
) -> (Vec<PlacedRahui>, bool) {
    let mut more = more;
    let mut found = Vec::new();
    for (d, rec) in governs {
        for r in rec.rahui.iter().filter(|r| r.body == *b) {
            let Some(state) = rahui_state(r, ctx.now) else {
                continue;
            };
            found.push((
                r.placed.clone(),
                PlacedRahui {
                    id: r.id.to_hex(),
                    dataset: (d.to_hex(), rec.name.clone()),
                    placed: r.placed.at,
                    until: r.until,
                    reason: r.reason.clone(),
                    state,
                },
            ));
        }
    }
    // In force first; newest first by where each sits in the board's log.
    found.sort_by(|(xp, x), (yp, y)| {
        (y.state == RahuiState::InForce)
            .cmp(&(x.state == RahuiState::InForce))
            .then_with(|| yp.cmp(xp))
    });
    if found.len() > RAHUI_SHOWN {
        found.truncate(RAHUI_SHOWN);
        more = true;
    }
    (found.into_iter().map(|(_, r)| r).collect(), more)
}

/// What waits for a board's vote, in lines for its page.
fn waiting_lines(ctx: &Ctx<'_>, w: &lists::Waiting) -> Vec<WaitingLine> {
    let page = |r: &StatementId| format!("/requests/{}", r.to_hex());
    let paused = |p: bool| p.then_some(WaitNote::Paused);
    let mut out: Vec<WaitingLine> = w
        .requests
        .iter()
        .map(|r| WaitingLine {
            href: page(&r.request.id),
            what: "The request".into(),
            title: r.request.title.clone(),
            since: r.request.submitted.at,
            note: paused(r.paused).or_else(|| r.notice_until.map(WaitNote::CommentUntil)),
        })
        .collect();
    out.extend(w.renewals.iter().map(|n| WaitingLine {
        href: page(&n.request),
        what: format!(
            "A renewal, for {} more days, of",
            n.extra_days.unwrap_or_default()
        ),
        title: n.title.clone(),
        since: n.filed.at,
        note: paused(n.paused),
    }));
    out.extend(w.motions.iter().map(|m| WaitingLine {
        href: page(&m.request),
        what: match m.action {
            Some(a) => format!("A motion to {} the approval of", action_verb(a)),
            None => "A motion about the approval of".into(),
        },
        title: m.title.clone(),
        since: m.filed.at,
        note: None,
    }));
    out.extend(w.amendments.iter().map(|a| WaitingLine {
        href: "#amendments".into(),
        what: format!(
            "A change to the charter, proposed by {},",
            person_name(&ctx.person(&a.proposer))
        ),
        title: String::new(),
        since: a.proposed.at,
        note: None,
    }));
    out
}

/// The renewals of a request's approval and the motions about it that the
/// board `body` decides (or has decided), in the order they were filed.
fn follow_ups(rec: &RequestRecord, body: &StatementId) -> Vec<FollowUp> {
    let when = |d: &Option<kaitiaki_governance::rules::Decision>| {
        d.as_ref().map(|dec| (dec.outcome, dec.at.at))
    };
    let mut later = Vec::new();
    if let Some(a) = &rec.approval {
        for n in &a.renewals {
            if let Some(d) = n.decisions.iter().find(|d| d.body == *body) {
                // Fewer days than asked, when this board's conditions allow fewer.
                let granted = d
                    .decision
                    .as_ref()
                    .filter(|dec| dec.outcome == Outcome::Approved)
                    .map(|dec| {
                        kaitiaki_governance::requests::decide::days_allowed(
                            n.extra_days,
                            &dec.conditions,
                        )
                    })
                    .filter(|g| *g < n.extra_days);
                later.push(FollowUp {
                    on: VoteOn::Renewal { days: n.extra_days },
                    filed: n.filed.at,
                    decision: when(&d.decision),
                    granted,
                    changed: true,
                });
            }
        }
        for m in a.motions.iter().filter(|m| m.body == *body) {
            later.push(FollowUp {
                on: VoteOn::Motion { action: m.action },
                filed: m.proposed.at,
                decision: when(&m.decision),
                granted: None,
                changed: !a.carried_without_effect(m),
            });
        }
        later.sort_by_key(|f| f.filed);
    }
    later
}

/// An amendment as the board's page lists it, with what it changes in
/// words when this node holds its statement, and the votes on it among
/// `items` (the board's [`query::body_timeline`]).
fn amendment(
    ctx: &Ctx<'_>,
    a: &kaitiaki_governance::bodies::AmendmentRecord,
    items: &[query::TimelineItem],
) -> AmendmentItem {
    let deciding = a.decision.as_ref().map(|d| d.vote);
    let votes = items
        .iter()
        .filter_map(|item| {
            if item.kind != kaitiaki_protocol::Kind::Vote {
                return None;
            }
            let v = parse::<st::Vote>(item).filter(|v| v.subject == a.id)?;
            Some(AmendmentVote {
                who: ctx.person(&item.author),
                choice: v.choice,
                reason: v.reason,
                at: when(item),
                excluded: excluded(&item.verdict),
                decided: deciding == Some(item.id),
            })
        })
        .collect();
    let mut changes = Vec::new();
    let mut reason = String::new();
    if let Some(Body::BodyAmend(m)) = ctx.own_statement(&a.id).map(|s| s.body) {
        for added in &m.add_members {
            let who = ctx.person(&KeyBytes::of(&added.key));
            changes.push(format!("Adds {} as {}.", person_name(&who), added.role));
        }
        for removed in &m.remove_members {
            changes.push(format!(
                "Removes {}.",
                person_name(&ctx.person(&KeyBytes::of(removed)))
            ));
        }
        if let Some(rule) = &m.rule {
            changes.push(format!("A new rule: {}", rule_words(rule, None)));
        }
        if let Some(days) = m.notice_days {
            changes.push(notice_words(days));
        }
        if m.description.is_some() {
            changes.push("A new description of the board.".to_owned());
        }
        reason = m.reason;
    }
    AmendmentItem {
        id: a.id.to_hex(),
        proposer: ctx.person(&a.proposer),
        proposed: a.proposed.at,
        changes,
        reason,
        decision: a.decision.as_ref().map(|d| (d.outcome, d.at.at)),
        tally: a.tally,
        votes,
    }
}

/// "Approved" or "Declined".
fn outcome_text(o: Outcome) -> &'static str {
    match o {
        Outcome::Approved => "Approved",
        Outcome::Declined => "Declined",
    }
}

/// A feed of decisions on requests of one dataset or board, and of the
/// rāhui on the dataset or placed by the board.
pub fn decisions_feed(
    ctx: &Ctx<'_>,
    filter: &RequestFilter,
    prefix: &StatementId,
    title: String,
    page_path: &str,
) -> Gathered<Feed> {
    let since = ctx.now.minus_days(feed::WINDOW_DAYS);
    let (window, _) = ctx.requests_since(filter, prefix, since, 1000)?;
    // The requests received in the window, and those, received earlier,
    // whose renewal or motion was decided among the newest leaves (a
    // revocation of an old approval is news too).
    let mut requests: Vec<(StatementId, RequestRecord)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for r in window
        .iter()
        .filter(|r| !matches!(r.status, kaitiaki_governance::RequestStatus::Submitted))
    {
        if let Some(rec) = ctx.request_record(&r.id)? {
            seen.insert(r.id);
            requests.push((r.id, rec));
        }
    }
    for (_, owner) in recent_votes(ctx)? {
        let kaitiaki_governance::Agg::Request(id) = owner else {
            continue;
        };
        if !seen.insert(id) {
            continue;
        }
        let Some(rec) = ctx.request_record(&id)? else {
            continue;
        };
        let about = filter.body.is_none_or(|b| rec.bodies.contains(&b))
            && filter.dataset.is_none_or(|d| rec.datasets.contains(&d));
        if about {
            requests.push((id, rec));
        }
    }
    let mut entries = Vec::new();
    for (id, rec) in &requests {
        for d in decided(rec) {
            if filter.body.is_none_or(|b| b == d.body) && d.decision.at.at >= since {
                entries.push(decision_entry(ctx, id, rec, &d));
            }
        }
    }
    // Changes to the board's own charter decided in the window.
    if let Some(b) = filter.body {
        entries.extend(amendment_entries(ctx, &b, since)?);
    }
    // Rāhui on the dataset, or placed by the board, in the same window.
    let mut datasets = Vec::new();
    match (filter.dataset, filter.body) {
        (Some(d), _) => datasets.extend(ctx.dataset_record(&d)?.map(|rec| (d, rec))),
        (None, Some(b)) => datasets = governed_datasets(ctx, &b)?.0,
        (None, None) => {}
    }
    for (d, rec) in datasets {
        for r in rec
            .rahui
            .iter()
            .filter(|r| filter.body.is_none_or(|b| b == r.body))
        {
            let body = ctx.body_name(&r.body);
            let page = format!("/datasets/{}", d.to_hex());
            if r.placed.at >= since {
                let until = match r.until {
                    Some(u) => format!("until {}", super::layout::date_text(u)),
                    None => "until the board lifts it".to_owned(),
                };
                entries.push(Entry {
                    record: r.id.to_hex(),
                    page: page.clone(),
                    title: format!("{body}: rāhui placed — {}", rec.name),
                    summary: format!(
                        "{body} placed a rāhui on “{}”: no new approvals, and approved uses are \
                         paused, {until}. Reason: {}",
                        rec.name, r.reason
                    ),
                    at: r.placed.at,
                });
            }
            // How it ended, by governance's rule: lifted, or at the end its
            // board set (a lifting after that end changed nothing).
            match r.ended_by(ctx.now) {
                Some((at, Some(l))) if at >= since => entries.push(Entry {
                    record: l.id.to_hex(),
                    page,
                    title: format!("{body}: rāhui lifted — {}", rec.name),
                    summary: format!(
                        "{body} lifted the rāhui on “{}”. Reason: {}",
                        rec.name, l.reason
                    ),
                    at,
                }),
                Some((at, None)) if at >= since => entries.push(Entry {
                    // No statement ended it: the entry is the rāhui's end.
                    record: format!("{}/ended", r.id.to_hex()),
                    page,
                    title: format!("{body}: rāhui ended — {}", rec.name),
                    summary: format!(
                        "The rāhui {body} placed on “{}” ended on {}, the end the board had \
                         set: it no longer holds up approvals or approved uses.",
                        rec.name,
                        super::layout::date_text(at)
                    ),
                    at,
                }),
                _ => {}
            }
        }
    }
    entries.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.record.cmp(&b.record)));
    entries.truncate(feed::MAX_ENTRIES);
    let base = ctx.node.base_url.clone();
    let origin = ctx.node.origin.clone();
    Ok(Feed {
        id: feed::tag(&origin, &format!("{page_path}/feed.atom")),
        origin,
        title,
        page_url: format!("{base}{page_path}"),
        self_url: format!("{base}{page_path}/feed.atom"),
        updated: entries.first().map(|e| e.at).unwrap_or(ctx.now),
        base_url: base,
        entries,
    })
}

/// A feed entry for a decision `d` about the request `id` (record `rec`):
/// on the request itself (with its purpose), on a renewal or on a motion
/// (with the requester's or the motion's reason, and whether it changed
/// anything); each with the reason of the vote that decided it, the one
/// reason the board's state keeps at hand, named as what it is.
fn decision_entry(ctx: &Ctx<'_>, id: &StatementId, rec: &RequestRecord, d: &Decided<'_>) -> Entry {
    let body = ctx.body_name(&d.body);
    let o = d.decision.outcome;
    let board_reason = ctx
        .own_statement(&d.decision.vote)
        .and_then(|s| match s.body {
            Body::Vote(v) => Some(v.reason.trim().to_owned()),
            _ => None,
        })
        .filter(|r| !r.is_empty())
        .map(|r| format!(" The reason given with the board's deciding vote: {r}"))
        .unwrap_or_default();
    let (title, summary) = match &d.on {
        VoteOn::Request => {
            let purpose = ctx
                .own_statement(id)
                .and_then(|s| match s.body {
                    Body::RequestSubmit(x) => Some(super::overview::excerpt(&x.purpose, 300)),
                    _ => None,
                })
                .unwrap_or_default();
            let word = outcome_text(o);
            (
                format!("{body}: {word} — {}", rec.title),
                format!(
                    "{body} {} the request “{}”. Purpose: {purpose}{board_reason}",
                    word.to_lowercase(),
                    rec.title
                ),
            )
        }
        on => {
            let word = match on {
                VoteOn::Motion { .. } => motion_word(o).to_owned(),
                _ => outcome_text(o).to_lowercase(),
            };
            let what = match d.granted {
                Some(g) => format!("{} ({g} of them granted)", decided_on(on)),
                None => decided_on(on),
            };
            let nothing = if d.changed {
                String::new()
            } else {
                format!(", which changed nothing: {}", no_change_why(on))
            };
            let short = match on {
                VoteOn::Motion { action } => format!("motion to {}", action_verb(*action)),
                _ => "renewal".to_owned(),
            };
            // The reason of whoever asked (the member who proposed the
            // motion, the requester who asked for more time), not the
            // board's: named as theirs.
            let reason = d
                .statement
                .and_then(|id| ctx.own_statement(&id))
                .and_then(|s| match s.body {
                    Body::ApprovalMotion(m) => Some(("The motion's reason", m.reason)),
                    Body::RenewalRequest(n) => Some(("The requester's reason", n.reason)),
                    _ => None,
                })
                .filter(|(_, r)| !r.trim().is_empty())
                .map(|(whose, r)| format!(" {whose}: {}", r.trim()))
                .unwrap_or_default();
            (
                format!("{body}: {short} {word} — {}", rec.title),
                format!(
                    "{body} {word} {what} of the request “{}”{nothing}.{reason}{board_reason}",
                    rec.title
                ),
            )
        }
    };
    Entry {
        record: d.decision.vote.to_hex(),
        page: format!("/requests/{}", id.to_hex()),
        title,
        summary,
        at: d.decision.at.at,
    }
}

/// Feed entries for the changes to the board `b`'s charter decided since
/// `since`, with why each was proposed.
fn amendment_entries(ctx: &Ctx<'_>, b: &StatementId, since: Timestamp) -> Gathered<Vec<Entry>> {
    let Some(body) = ctx.body_record(b)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for a in &body.amendments {
        let Some(d) = a.decision.as_ref().filter(|d| d.at.at >= since) else {
            continue;
        };
        let word = outcome_text(d.outcome).to_lowercase();
        let reason = ctx
            .own_statement(&a.id)
            .and_then(|s| match s.body {
                Body::BodyAmend(m) => Some(m.reason),
                _ => None,
            })
            .map(|r| format!(" Why it was proposed: {r}"))
            .unwrap_or_default();
        out.push(Entry {
            record: d.vote.to_hex(),
            page: format!("/bodies/{}#amendments", b.to_hex()),
            title: format!("{}: change to the charter {word}", body.name),
            summary: format!(
                "{} {word} a proposed change to its charter.{reason}",
                body.name
            ),
            at: d.at.at,
        });
    }
    Ok(out)
}

/// The search page: one page of requests matching the filters, and the
/// datasets and boards to choose from (the first hundred of each).
///
/// A filter that cannot be understood lists nothing: the page says what is
/// wrong and how to clear it, rather than list every request under a
/// filter a reader believes is in force.
pub fn search(ctx: &Ctx<'_>, mut f: Filters) -> Gathered<SearchView> {
    let s = ctx.store();
    let mut problems: Vec<String> = Vec::new();
    let mut notice = None;
    let mut choices = Vec::new();
    let mut more_choices = false;
    let mut requester = None;
    let mut filter = RequestFilter::default();
    problems.extend(f.unreadable.take());
    // Values that cannot be used are dropped from the filters the page
    // links with, so "keep the other filters" carries only valid ones.
    if let Some(v) = f.status.as_deref().filter(|v| !v.is_empty()) {
        match STATUSES.iter().find(|s| s.as_str() == v) {
            Some(st) => filter.status = Some(*st),
            None => {
                problems.push("That status is not one this node knows.".into());
                f.status = None;
            }
        }
    }
    for (value, slot, what) in [
        (
            &mut f.dataset,
            &mut filter.dataset,
            "That dataset id is not valid: a dataset's id is the 64 characters at the end of its page's address.",
        ),
        (
            &mut f.body,
            &mut filter.body,
            "That board id is not valid: a board's id is the 64 characters at the end of its page's address.",
        ),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            match parse_id(v) {
                Some(id) => *slot = Some(id),
                None => {
                    problems.push(what.into());
                    *value = None;
                }
            }
        }
    }
    let typed = f
        .requester
        .take()
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty());
    if let Some(v) = &typed {
        let digits = v.len() >= REQUESTER_PREFIX
            && v.len() <= 64
            && v.bytes().all(|b| b.is_ascii_hexdigit());
        if !digits {
            problems.push(format!(
                "A requester's key is written with the digits 0-9 and the letters a-f: the whole key \
                 (64 characters) or at least its first {REQUESTER_PREFIX}, as shown beside a person's name."
            ));
        } else {
            // One more than is shown, to know whether there are more.
            let found =
                lists::requesters_with_prefix(s, v, MAX_CHOICES + 1).map_err(GatherError::of)?;
            match found.as_slice() {
                [] => problems.push(format!(
                    "No request here was made with a key that begins with {v}."
                )),
                [k] => {
                    filter.requester = Some(*k);
                    f.requester = Some(k.to_hex());
                    requester = Some(ctx.person(k));
                }
                many => {
                    problems.push(format!(
                        "More than one requester's key begins with {v}, so it cannot say whose requests to show. \
                         Choose one of them:"
                    ));
                    choices = many
                        .iter()
                        .take(MAX_CHOICES)
                        .map(|k| ctx.person(k))
                        .collect();
                    more_choices = many.len() > MAX_CHOICES;
                }
            }
        }
    }
    let after = match f.after.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => match Cursor::from_hex(a) {
            Some(c) => Some(c),
            None => {
                notice = Some("That page link is not valid; showing the first page.");
                f.after = None;
                None
            }
        },
        None => None,
    };
    let (page, next) = if problems.is_empty() {
        ctx.requests(&filter, after.as_ref(), PAGE)?
    } else {
        (Vec::new(), None)
    };
    let datasets = lists::datasets(s, None, 100).map_err(GatherError::of)?;
    let bodies = lists::bodies(s, None, 100).map_err(GatherError::of)?;
    Ok(SearchView {
        results: page
            .iter()
            .map(|r| ResultItem {
                id: r.id.to_hex(),
                title: r.title.clone(),
                requester: ctx.person(&r.requester),
                submitted: r.submitted.at,
                status: r.status,
                datasets: r.datasets.iter().map(|d| ctx.dataset_name(d)).collect(),
            })
            .collect(),
        next,
        filters: f,
        typed_requester: typed,
        requester,
        datasets: datasets
            .items
            .iter()
            .map(|(i, d)| (i.to_hex(), d.name.clone()))
            .collect(),
        bodies: bodies
            .items
            .iter()
            .map(|(i, b)| (i.to_hex(), b.name.clone()))
            .collect(),
        problem: (!problems.is_empty()).then(|| problems.join(" ")),
        choices,
        more_choices,
        notice: notice.map(str::to_owned),
    })
}

/// The concern a record's page is about, for a concern or a response to
/// one; `None` for any other record.
pub fn concern_record(
    ctx: &Ctx<'_>,
    id: &StatementId,
    kind: &str,
) -> Gathered<Option<ConcernRecordView>> {
    let (concern, this_response) = match kind {
        "concern.raise" => (*id, None),
        "concern.respond" => {
            let store = ctx.store();
            let found = query::statement_state(store, id)
                .map_err(GatherError::of)?
                .and_then(|st| match st.owner {
                    Some(kaitiaki_governance::Agg::Concern(c)) => Some(c),
                    _ => None,
                })
                .or_else(|| {
                    ctx.own_statement(id).and_then(|s| match s.body {
                        Body::ConcernRespond(r) => Some(r.concern),
                        _ => None,
                    })
                });
            match found {
                Some(c) => (c, Some(id.to_hex())),
                None => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    let Some(story) = query::concern_story(ctx.store(), &concern).map_err(GatherError::of)? else {
        return Ok(None);
    };
    let mut items = vec![story.raised];
    items.extend(story.responses);
    let Some(thread) = concerns(ctx, &items)?.into_iter().next() else {
        return Ok(None);
    };
    let subject = story.record.subject;
    let subject = if ctx.request_record(&subject)?.is_some() {
        Subject {
            href: format!("/requests/{}", subject.to_hex()),
            name: ctx.request_title(&subject),
            kind: "request",
        }
    } else {
        Subject {
            href: format!("/datasets/{}", subject.to_hex()),
            name: ctx.dataset_name(&subject),
            kind: "dataset",
        }
    };
    Ok(Some(ConcernRecordView {
        thread,
        subject,
        this_response,
    }))
}

/// One page of all datasets.
pub fn datasets(
    ctx: &Ctx<'_>,
    after: Option<Cursor>,
) -> Gathered<(Vec<DatasetCard>, Option<String>)> {
    let page = lists::datasets(ctx.store(), after.as_ref(), PAGE).map_err(GatherError::of)?;
    Ok((
        page.items.iter().map(|(i, d)| card(ctx, i, d)).collect(),
        page.next.map(|c| c.to_hex()),
    ))
}

/// One page of `/bodies`: every board, by id, a page at a time.
pub fn bodies(ctx: &Ctx<'_>, after: Option<Cursor>) -> Gathered<(Vec<BodyCard>, Option<String>)> {
    let page = lists::bodies(ctx.store(), after.as_ref(), PAGE).map_err(GatherError::of)?;
    Ok((
        page.items
            .iter()
            .map(|(i, b)| body_card(ctx, i, b))
            .collect(),
        page.next.map(|c| c.to_hex()),
    ))
}
