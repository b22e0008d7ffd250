//! Listings with filters and pagination by key cursor.
//!
//! Each listing walks one index in key order and returns at most `limit`
//! items (capped at [`MAX_PAGE`]) and a [`Cursor`] to continue from. Lists
//! whose answer depends on time take `now`; they assume `now` is not before
//! the statements they list (for the past, read single records).

use kaitiaki_protocol::{StatementId, Timestamp};
use serde::Serialize;

use crate::codec::{self, Cursor, KeyBytes, Page, Pos};
use crate::datasets::{DatasetRecord, RahuiRecord};
use crate::engine::{load, read_record};
use crate::error::StateError;
use crate::items::ConcernRecord;
use crate::query::{datasets_of, get_record};
use crate::rejection::Rejection;
use crate::requests::{DueReport, Phase, RequestRecord, RequestStatus};
use crate::store::{Store, Table};

/// The largest page any listing returns.
pub const MAX_PAGE: usize = 500;

/// Which requests to list. Every filter given must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestFilter {
    /// Only requests with this status at `now`.
    pub status: Option<RequestStatus>,
    /// Only requests for this dataset.
    pub dataset: Option<StatementId>,
    /// Only requests this body must decide.
    pub body: Option<StatementId>,
    /// Only requests by this key.
    pub requester: Option<KeyBytes>,
}

/// A request in a listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequestSummary {
    /// The request.
    pub id: StatementId,
    /// Its title.
    pub title: String,
    /// Who asked.
    pub requester: KeyBytes,
    /// Where it sits.
    pub submitted: Pos,
    /// Its status at `now`.
    pub status: RequestStatus,
    /// The datasets asked for.
    pub datasets: Vec<StatementId>,
}

fn phase_of(status: RequestStatus) -> Phase {
    match status {
        RequestStatus::Submitted => Phase::Submitted,
        RequestStatus::UnderReview => Phase::UnderReview,
        RequestStatus::Declined => Phase::Declined,
        RequestStatus::Withdrawn => Phase::Withdrawn,
        RequestStatus::Revoked => Phase::Revoked,
        RequestStatus::Completed => Phase::Completed,
        RequestStatus::Approved | RequestStatus::Suspended | RequestStatus::Expired => {
            Phase::Approved
        }
    }
}

/// Walks an index from a cursor, keeping the items `keep` accepts.
fn walk<S: Store + ?Sized, T>(
    s: &S,
    table: Table,
    prefix: &[u8],
    after: Option<&Cursor>,
    limit: usize,
    mut keep: impl FnMut(&[u8], &[u8]) -> Result<Option<T>, StateError>,
    stop: impl Fn(&[u8]) -> bool,
) -> Result<Page<T>, StateError> {
    let limit = limit.clamp(1, MAX_PAGE);
    let mut items = Vec::new();
    let mut cursor = after.map(|c| c.as_bytes().to_vec());
    loop {
        let chunk = s
            .scan_prefix(table, prefix, cursor.as_deref(), limit)
            .map_err(StateError::store)?;
        let exhausted = chunk.len() < limit;
        for (k, v) in chunk {
            if stop(&k) {
                return Ok(Page { items, next: None });
            }
            if let Some(item) = keep(&k, &v)? {
                items.push(item);
            }
            cursor = Some(k);
            if items.len() == limit {
                return Ok(Page {
                    items,
                    next: cursor.map(Cursor::new),
                });
            }
        }
        if exhausted {
            return Ok(Page { items, next: None });
        }
    }
}

/// Requests matching `filter`, oldest first within the index walked: by
/// dataset, body or requester when one is given, else by stage (`phase`),
/// so an unfiltered list gives each stage's requests oldest first, stage
/// by stage.
pub fn requests<S: Store + ?Sized>(
    s: &S,
    filter: &RequestFilter,
    now: Timestamp,
    after: Option<&Cursor>,
    limit: usize,
) -> Result<Page<RequestSummary>, StateError> {
    // Walk the most selective index; check the other filters on each record.
    let (table, prefix): (Table, Vec<u8>) = if let Some(d) = &filter.dataset {
        (Table::RequestsByDataset, d.as_bytes().to_vec())
    } else if let Some(b) = &filter.body {
        (Table::RequestsByBody, b.as_bytes().to_vec())
    } else if let Some(k) = &filter.requester {
        (Table::RequestsByRequester, k.as_bytes().to_vec())
    } else if let Some(st) = filter.status {
        (Table::RequestsByPhase, vec![phase_of(st).code()])
    } else {
        (Table::RequestsByPhase, Vec::new())
    };
    // Every index key is `prefix ‖ time ‖ id`; the phase index's prefix is one byte.
    let id_offset = if table == Table::RequestsByPhase {
        1 + 8
    } else {
        32 + 8
    };
    walk(
        s,
        table,
        &prefix,
        after,
        limit,
        |k, _| {
            let id = codec::id_at(table, k, id_offset)?;
            let Some(r) = get_record::<_, RequestRecord>(s, Table::Requests, id.as_bytes())? else {
                return Ok(None);
            };
            let status = r.status_at(now, &datasets_of(s, &r)?);
            let matches = filter.status.is_none_or(|st| st == status)
                && filter.dataset.is_none_or(|d| r.datasets.contains(&d))
                && filter.body.is_none_or(|b| r.bodies.contains(&b))
                && filter.requester.is_none_or(|q| q == r.requester);
            Ok(matches.then(|| RequestSummary {
                id,
                title: r.title.clone(),
                requester: r.requester,
                submitted: r.submitted.clone(),
                status,
                datasets: r.datasets.clone(),
            }))
        },
        |_| false,
    )
}

/// A [`Table::RequestsByRequester`] key is `key ‖ time ‖ request id`; the
/// lengths of its parts.
const BY_REQUESTER_KEY: usize = 32;
const BY_REQUESTER_TIME: usize = 8;
const BY_REQUESTER_ID: usize = 32;

/// The keys that made requests which count and whose hex spelling begins
/// with `prefix` (lowercase hex digits, any length up to 64), at most `max`
/// of them, in key order: what a reader who copied the first digits of a
/// key shown beside a name can mean, and whether that is one key or more.
///
/// Walks the by-requester index, jumping over each key's requests, so it
/// reads at most `max` + 1 index entries whatever the number of requests.
pub fn requesters_with_prefix<S: Store + ?Sized>(
    s: &S,
    prefix: &str,
    max: usize,
) -> Result<Vec<KeyBytes>, StateError> {
    let Some(digits) = prefix
        .bytes()
        .map(codec::hex_digit)
        .collect::<Option<Vec<u8>>>()
    else {
        return Ok(Vec::new());
    };
    if digits.len() > 2 * BY_REQUESTER_KEY {
        return Ok(Vec::new());
    }
    // Whole bytes narrow the walk; an odd last digit `d` is the high half
    // of the next byte: start just before `d0` and stop past `df`.
    let bytes: Vec<u8> = digits.chunks_exact(2).map(|p| p[0] << 4 | p[1]).collect();
    let odd = (digits.len() % 2 == 1).then(|| digits[digits.len() - 1]);
    let mut out: Vec<KeyBytes> = Vec::new();
    let mut after: Option<Vec<u8>> = odd.filter(|d| *d > 0).map(|d| {
        let mut start = bytes.clone();
        start.push((d << 4) - 1);
        start.resize(BY_REQUESTER_KEY + BY_REQUESTER_TIME + BY_REQUESTER_ID, 0xff);
        start
    });
    while out.len() < max {
        let next = s
            .scan_prefix(Table::RequestsByRequester, &bytes, after.as_deref(), 1)
            .map_err(StateError::store)?;
        let Some((k, _)) = next.into_iter().next() else {
            break;
        };
        let Some(key) = k.get(..BY_REQUESTER_KEY).and_then(KeyBytes::from_slice) else {
            return Err(StateError::corrupt(
                Table::RequestsByRequester,
                "a by-requester key is shorter than a key",
            ));
        };
        if odd.is_some_and(|d| key.as_bytes()[bytes.len()] >> 4 != d) {
            break;
        }
        out.push(key);
        // Past every `key ‖ time ‖ id` of this key.
        let mut skip = key.as_bytes().to_vec();
        skip.extend_from_slice(&[0xff; BY_REQUESTER_TIME + BY_REQUESTER_ID]);
        after = Some(skip);
    }
    Ok(out)
}

/// A rāhui in a listing, with its dataset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RahuiView {
    /// The dataset restricted.
    pub dataset: StatementId,
    /// The dataset's name.
    pub dataset_name: String,
    /// The rāhui.
    pub rahui: RahuiRecord,
}

/// Rāhui in force at `now`, in the order placed.
pub fn rahui_in_force<S: Store + ?Sized>(
    s: &S,
    now: Timestamp,
    after: Option<&Cursor>,
    limit: usize,
) -> Result<Page<RahuiView>, StateError> {
    let now_key = codec::time_key(now);
    walk(
        s,
        Table::Rahui,
        &[],
        after,
        limit,
        |k, v| {
            let id = codec::id_at(Table::Rahui, k, 8)?;
            let dataset = codec::id_at(Table::Rahui, v, 0)?;
            let Some(d) = get_record::<_, DatasetRecord>(s, Table::Datasets, dataset.as_bytes())?
            else {
                return Ok(None);
            };
            Ok(d.rahui
                .iter()
                .find(|r| r.id == id && r.in_force_now(now))
                .map(|r| RahuiView {
                    dataset,
                    dataset_name: d.name.clone(),
                    rahui: r.clone(),
                }))
        },
        // Placed after `now`: not in force yet, and neither is anything later.
        |k| k.get(..8).is_some_and(|t| t > &now_key[..]),
    )
}

/// A request with reports overdue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OverdueView {
    /// The request.
    pub request: StatementId,
    /// Its title.
    pub title: String,
    /// Who owes the reports.
    pub requester: KeyBytes,
    /// The reports overdue at `now`, earliest first.
    pub overdue: Vec<DueReport>,
}

/// Requests with reports overdue at `now`, the longest overdue first.
pub fn overdue_reports<S: Store + ?Sized>(
    s: &S,
    now: Timestamp,
    after: Option<&Cursor>,
    limit: usize,
) -> Result<Page<OverdueView>, StateError> {
    let now_key = codec::time_key(now);
    walk(
        s,
        Table::ReportsDue,
        &[],
        after,
        limit,
        |k, _| {
            let id = codec::id_at(Table::ReportsDue, k, 8)?;
            let Some(r) = get_record::<_, RequestRecord>(s, Table::Requests, id.as_bytes())? else {
                return Ok(None);
            };
            let overdue = r.overdue_reports(now);
            Ok((!overdue.is_empty()).then(|| OverdueView {
                request: id,
                title: r.title.clone(),
                requester: r.requester,
                overdue,
            }))
        },
        |k| k.get(..8).is_some_and(|t| t > &now_key[..]),
    )
}

/// How many days ahead "coming due" looks unless told otherwise: six
/// weeks, so that a board meeting monthly sees what falls due before its
/// next meeting but one, and a monthly report is always in view.
pub const DUE_SOON_DAYS: u32 = 42;

/// A request whose next use report falls due soon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DueSoonView {
    /// The request.
    pub request: StatementId,
    /// Its title.
    pub title: String,
    /// Who owes the report.
    pub requester: KeyBytes,
    /// The report that falls due next.
    pub next: DueReport,
}

/// Requests with no report overdue at `now` whose next report falls due
/// after `now` and no later than `until`, soonest first. (A request with a
/// report overdue is in [`overdue_reports`] instead.)
pub fn reports_due_soon<S: Store + ?Sized>(
    s: &S,
    now: Timestamp,
    until: Timestamp,
    after: Option<&Cursor>,
    limit: usize,
) -> Result<Page<DueSoonView>, StateError> {
    let until_key = codec::time_key(until);
    // Keys are the earliest unmet due time ‖ request id. A report due at
    // `now` itself is overdue, so start after every key of that time.
    let mut first = codec::time_key(now).to_vec();
    first.extend_from_slice(&[0xff; 32]);
    let first = Cursor::new(first);
    let after = after
        .filter(|c| c.as_bytes() > first.as_bytes())
        .unwrap_or(&first);
    walk(
        s,
        Table::ReportsDue,
        &[],
        Some(after),
        limit,
        |k, _| {
            let id = codec::id_at(Table::ReportsDue, k, 8)?;
            let Some(r) = get_record::<_, RequestRecord>(s, Table::Requests, id.as_bytes())? else {
                return Ok(None);
            };
            // Unfiled reports come earliest first: the first is either
            // overdue (the request is listed there) or the next one.
            Ok(r.unfiled_reports()
                .into_iter()
                .next()
                .filter(|next| next.due > now && next.due <= until)
                .map(|next| DueSoonView {
                    request: id,
                    title: r.title.clone(),
                    requester: r.requester,
                    next,
                }))
        },
        |k| k.get(..8).is_some_and(|t| t > &until_key[..]),
    )
}

/// A concern in a listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConcernView {
    /// The concern.
    pub id: StatementId,
    /// Its record.
    pub record: ConcernRecord,
}

/// Concerns not yet resolved, oldest first.
pub fn open_concerns<S: Store + ?Sized>(
    s: &S,
    after: Option<&Cursor>,
    limit: usize,
) -> Result<Page<ConcernView>, StateError> {
    walk(
        s,
        Table::OpenConcerns,
        &[],
        after,
        limit,
        |k, _| {
            let id = codec::id_at(Table::OpenConcerns, k, 8)?;
            Ok(
                get_record::<_, ConcernRecord>(s, Table::Concerns, id.as_bytes())?
                    .map(|record| ConcernView { id, record }),
            )
        },
        |_| false,
    )
}

/// A statement left out of the state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExcludedView {
    /// The statement.
    pub id: StatementId,
    /// Its kind's wire name.
    pub kind: String,
    /// Who signed it.
    pub author: KeyBytes,
    /// The placement that counts for it, if any.
    pub pos: Option<Pos>,
    /// Why it is excluded.
    pub rejection: Rejection,
}

/// Statements excluded from the state, by id.
pub fn excluded<S: Store + ?Sized>(
    s: &S,
    after: Option<&Cursor>,
    limit: usize,
) -> Result<Page<ExcludedView>, StateError> {
    walk(
        s,
        Table::Excluded,
        &[],
        after,
        limit,
        |k, v| {
            let id = codec::id_at(Table::Excluded, k, 0)?;
            let rejection: Rejection = codec::decode(Table::Excluded, v)?;
            let (Some(l), Some(rec)) = (load(s, &id)?, read_record(s, &id)?) else {
                return Ok(None);
            };
            Ok(Some(ExcludedView {
                id,
                kind: l.body.kind().name().to_owned(),
                author: l.author,
                pos: rec.pos,
                rejection,
            }))
        },
        |_| false,
    )
}

/// A statement waiting for one it refers to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PendingView {
    /// The statement waiting.
    pub id: StatementId,
    /// The statement it waits for.
    pub missing: StatementId,
}

/// Statements waiting for others, by the id they wait for.
pub fn pending<S: Store + ?Sized>(
    s: &S,
    after: Option<&Cursor>,
    limit: usize,
) -> Result<Page<PendingView>, StateError> {
    walk(
        s,
        Table::Pending,
        &[],
        after,
        limit,
        |k, _| {
            Ok(Some(PendingView {
                missing: codec::id_at(Table::Pending, k, 0)?,
                id: codec::id_at(Table::Pending, k, 32)?,
            }))
        },
        |_| false,
    )
}

/// Datasets a body governs (valid registrations), by id.
pub fn datasets_of_body<S: Store + ?Sized>(
    s: &S,
    body: &StatementId,
    after: Option<&Cursor>,
    limit: usize,
) -> Result<Page<(StatementId, DatasetRecord)>, StateError> {
    walk(
        s,
        Table::DatasetsByBody,
        body.as_bytes(),
        after,
        limit,
        |k, _| {
            let id = codec::id_at(Table::DatasetsByBody, k, 32)?;
            Ok(get_record::<_, DatasetRecord>(s, Table::Datasets, id.as_bytes())?.map(|d| (id, d)))
        },
        |_| false,
    )
}

/// Every body known, by id (valid or not: see [`crate::bodies::BodyRecord::valid`]).
pub fn bodies<S: Store + ?Sized>(
    s: &S,
    after: Option<&Cursor>,
    limit: usize,
) -> Result<Page<(StatementId, crate::bodies::BodyRecord)>, StateError> {
    walk(
        s,
        Table::Bodies,
        &[],
        after,
        limit,
        |k, v| {
            Ok(Some((
                codec::id_at(Table::Bodies, k, 0)?,
                codec::decode(Table::Bodies, v)?,
            )))
        },
        |_| false,
    )
}

/// Every dataset known, by id.
pub fn datasets<S: Store + ?Sized>(
    s: &S,
    after: Option<&Cursor>,
    limit: usize,
) -> Result<Page<(StatementId, DatasetRecord)>, StateError> {
    walk(
        s,
        Table::Datasets,
        &[],
        after,
        limit,
        |k, v| {
            Ok(Some((
                codec::id_at(Table::Datasets, k, 0)?,
                codec::decode(Table::Datasets, v)?,
            )))
        },
        |_| false,
    )
}

/// The most of a body's requests [`waiting`] reads, oldest first;
/// [`Waiting::more`] says when it stopped there.
pub const WAITING_MAX: usize = 10_000;

/// A request waiting for a body's vote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WaitingRequest {
    /// The request.
    #[serde(flatten)]
    pub request: RequestSummary,
    /// While the body's notice period runs: until when the request is open
    /// for community comment (no vote counts before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice_until: Option<Timestamp>,
    /// Whether a rāhui on one of its datasets holds up every vote now.
    pub paused: bool,
}

/// A renewal or motion that waits for a body's vote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WaitingItem {
    /// The request it is about.
    pub request: StatementId,
    /// The request's title.
    pub title: String,
    /// The renewal or motion.
    pub id: StatementId,
    /// Where it was filed.
    pub filed: Pos,
    /// For a renewal, the days asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_days: Option<u32>,
    /// For a motion, what it proposes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<kaitiaki_protocol::statement::ApprovalAction>,
    /// For a renewal: whether a rāhui on one of the request's datasets
    /// holds up its votes now.
    pub paused: bool,
}

/// A proposed change to a body's charter not decided yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WaitingAmendment {
    /// The `body.amend` statement.
    pub id: StatementId,
    /// Who proposed it.
    pub proposer: KeyBytes,
    /// Where it was proposed.
    pub proposed: Pos,
}

/// Everything that waits for a body's vote at `now`, oldest first in each
/// list: what a board member asks before a meeting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Waiting {
    /// Requests it must decide and has not (still submitted or under review).
    pub requests: Vec<WaitingRequest>,
    /// Renewals not decided yet that it has not answered.
    pub renewals: Vec<WaitingItem>,
    /// Motions put to it and not decided yet.
    pub motions: Vec<WaitingItem>,
    /// Changes to its charter not decided yet.
    pub amendments: Vec<WaitingAmendment>,
    /// Whether the body has more than [`WAITING_MAX`] requests, of which
    /// only the oldest were read: some newer ones may wait too.
    pub more: bool,
}

/// What waits for `body`'s vote at `now`; `None` if there is no such body.
///
/// Walks the body's own requests (its index, oldest first, at most
/// [`WAITING_MAX`]), so the cost grows with the requests the body
/// governs, never with the rest of the node.
pub fn waiting<S: Store + ?Sized>(
    s: &S,
    body: &StatementId,
    now: Timestamp,
) -> Result<Option<Waiting>, StateError> {
    let Some(record) =
        get_record::<_, crate::bodies::BodyRecord>(s, Table::Bodies, body.as_bytes())?
    else {
        return Ok(None);
    };
    let mut out = Waiting {
        requests: Vec::new(),
        renewals: Vec::new(),
        motions: Vec::new(),
        amendments: record
            .amendments
            .iter()
            .filter(|a| a.decision.is_none())
            .map(|a| WaitingAmendment {
                id: a.id,
                proposer: a.proposer,
                proposed: a.proposed.clone(),
            })
            .collect(),
        more: false,
    };
    let mut read = 0;
    let mut after: Option<Vec<u8>> = None;
    'walk: loop {
        let chunk = s
            .scan_prefix(
                Table::RequestsByBody,
                body.as_bytes(),
                after.as_deref(),
                MAX_PAGE,
            )
            .map_err(StateError::store)?;
        let done = chunk.len() < MAX_PAGE;
        for (k, _) in &chunk {
            if read == WAITING_MAX {
                out.more = true;
                break 'walk;
            }
            read += 1;
            let id = codec::id_at(Table::RequestsByBody, k, 32 + 8)?;
            if let Some(r) = get_record::<_, RequestRecord>(s, Table::Requests, id.as_bytes())? {
                waiting_on(s, body, now, id, &r, &mut out)?;
            }
        }
        after = chunk.last().map(|(k, _)| k.clone());
        if done {
            break;
        }
    }
    out.renewals.sort_by(|a, b| a.filed.cmp(&b.filed));
    out.motions.sort_by(|a, b| a.filed.cmp(&b.filed));
    Ok(Some(out))
}

/// Adds what of request `id` (record `r`) waits for `body`'s vote.
fn waiting_on<S: Store + ?Sized>(
    s: &S,
    body: &StatementId,
    now: Timestamp,
    id: StatementId,
    r: &RequestRecord,
    out: &mut Waiting,
) -> Result<(), StateError> {
    let paused = |datasets: &[DatasetRecord]| {
        datasets
            .iter()
            .any(|d| d.rahui.iter().any(|x| x.in_force_now(now)))
    };
    match r.phase {
        Phase::Submitted | Phase::UnderReview => {
            let mine = r.decisions.iter().find(|d| d.body == *body);
            if mine.is_some_and(|d| d.decision.is_some()) {
                return Ok(());
            }
            let datasets = datasets_of(s, r)?;
            out.requests.push(WaitingRequest {
                request: RequestSummary {
                    id,
                    title: r.title.clone(),
                    requester: r.requester,
                    submitted: r.submitted.clone(),
                    status: r.status_at(now, &datasets),
                    datasets: r.datasets.clone(),
                },
                notice_until: mine.and_then(|d| d.notice_until).filter(|n| *n > now),
                paused: paused(&datasets),
            });
        }
        Phase::Approved => {
            let Some(a) = &r.approval else {
                return Ok(());
            };
            for n in a.renewals.iter().filter(|n| n.outcome.is_none()) {
                let answered = n
                    .decisions
                    .iter()
                    .any(|d| d.body == *body && d.decision.is_some());
                if !answered {
                    out.renewals.push(WaitingItem {
                        request: id,
                        title: r.title.clone(),
                        id: n.id,
                        filed: n.filed.clone(),
                        extra_days: Some(n.extra_days),
                        action: None,
                        paused: paused(&datasets_of(s, r)?),
                    });
                }
            }
            for m in a
                .motions
                .iter()
                .filter(|m| m.body == *body && m.decision.is_none())
            {
                out.motions.push(WaitingItem {
                    request: id,
                    title: r.title.clone(),
                    id: m.id,
                    filed: m.proposed.clone(),
                    extra_days: None,
                    action: Some(m.action),
                    paused: false,
                });
            }
        }
        _ => {}
    }
    Ok(())
}
