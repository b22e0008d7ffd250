//! Reading the state: one record at a time, with its full story.
//!
//! Every function takes the store and, where the answer depends on time,
//! `now` — the crate never reads a clock. Listings with pagination are in
//! [`crate::lists`].

use kaitiaki_protocol::statement::RequestSubmit;
use kaitiaki_protocol::{Body, Kind, StatementId, Timestamp};
use serde::Serialize;

use crate::bodies::BodyRecord;
use crate::codec::{self, KeyBytes, Pos};
use crate::datasets::{DatasetRecord, RahuiRecord};
use crate::engine::{load, read_record, scan_all};
use crate::entry::{Agg, Verdict};
use crate::error::StateError;
use crate::hash::read_sum;
use crate::identity::KeyRecord;
use crate::items::ConcernRecord;
use crate::requests::{DueReport, RequestRecord, RequestStatus};
use crate::rules::{Seat, Version};
use crate::store::{Store, Table};

/// The state hash: equal on two nodes exactly when their states are (O(1)).
pub fn state_hash<S: Store + ?Sized>(s: &S) -> Result<[u8; 32], StateError> {
    Ok(read_sum(s)?.to_bytes())
}

pub(crate) fn get_record<S: Store + ?Sized, T: crate::binary::Bin>(
    s: &S,
    table: Table,
    key: &[u8],
) -> Result<Option<T>, StateError> {
    s.get(table, key)
        .map_err(StateError::store)?
        .map(|b| codec::decode(table, &b))
        .transpose()
}

/// A request's derived record alone (no story, no status): one read.
///
/// Records are stored in the compact binary spelling of this crate, so
/// read them through these functions rather than decoding table values.
pub fn request_record<S: Store + ?Sized>(
    s: &S,
    id: &StatementId,
) -> Result<Option<RequestRecord>, StateError> {
    get_record(s, Table::Requests, id.as_bytes())
}

/// A dataset's record alone: one read.
pub fn dataset_record<S: Store + ?Sized>(
    s: &S,
    id: &StatementId,
) -> Result<Option<DatasetRecord>, StateError> {
    get_record(s, Table::Datasets, id.as_bytes())
}

/// A body's record alone (without its charter versions): one read.
pub fn body_record<S: Store + ?Sized>(
    s: &S,
    id: &StatementId,
) -> Result<Option<BodyRecord>, StateError> {
    get_record(s, Table::Bodies, id.as_bytes())
}

/// What the state says about one statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatementState {
    /// Whether it counts.
    pub verdict: Verdict,
    /// The aggregate it belongs to, once it could be routed.
    pub owner: Option<Agg>,
    /// The placement that counts for it.
    pub pos: Option<Pos>,
}

/// Whether a statement counts, and why not.
pub fn statement_state<S: Store + ?Sized>(
    s: &S,
    id: &StatementId,
) -> Result<Option<StatementState>, StateError> {
    Ok(read_record(s, id)?.map(|r| StatementState {
        verdict: r.verdict,
        owner: r.owner,
        pos: r.pos,
    }))
}

/// The fewest hex digits [`ids_starting`] takes: a short id as the pages
/// show one.
pub const SHORT_ID_DIGITS: usize = 8;

/// Statements the state holds whose id starts with `prefix` (at least
/// [`SHORT_ID_DIGITS`] lowercase hex digits), with their kinds, in id
/// order, at most `limit`: so a short id a person copied from a page can be
/// found. Anything that is not such a prefix finds nothing.
pub fn ids_starting<S: Store + ?Sized>(
    s: &S,
    prefix: &str,
    limit: usize,
) -> Result<Vec<(StatementId, Kind)>, StateError> {
    let hex = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let digits: Option<Vec<u8>> = prefix.bytes().map(hex).collect();
    let Some(digits) = digits.filter(|d| (SHORT_ID_DIGITS..=64).contains(&d.len())) else {
        return Ok(Vec::new());
    };
    // Whole bytes are scanned for; an odd last digit is matched after.
    let bytes: Vec<u8> = digits.chunks_exact(2).map(|p| p[0] << 4 | p[1]).collect();
    let last = (digits.len() % 2 == 1).then(|| digits[digits.len() - 1]);
    let mut out = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    while out.len() < limit {
        let chunk = s
            .scan_prefix(Table::Statements, &bytes, after.as_deref(), 64)
            .map_err(StateError::store)?;
        let done = chunk.len() < 64;
        after = chunk.last().map(|(k, _)| k.clone());
        for (k, v) in chunk {
            if last.is_some_and(|n| k.get(bytes.len()).map(|b| b >> 4) != Some(n)) {
                continue;
            }
            let id = codec::id_at(Table::Statements, &k, 0)?;
            out.push((id, codec::Stored::kind(&v)?));
            if out.len() == limit {
                break;
            }
        }
        if done {
            break;
        }
    }
    Ok(out)
}

/// A key's name, affiliation, end and lineage.
pub fn key<S: Store + ?Sized>(s: &S, k: &KeyBytes) -> Result<Option<KeyRecord>, StateError> {
    get_record(s, Table::Keys, k.as_bytes())
}

/// A body with every charter version, newest last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BodyView {
    /// The body (its charter id).
    pub id: StatementId,
    /// Its record: name, home log, amendments.
    pub record: BodyRecord,
    /// Its charter versions, oldest first; the last is in force.
    pub versions: Vec<Version>,
}

/// A body and its charter history.
pub fn body<S: Store + ?Sized>(s: &S, id: &StatementId) -> Result<Option<BodyView>, StateError> {
    let Some(record) = get_record::<_, BodyRecord>(s, Table::Bodies, id.as_bytes())? else {
        return Ok(None);
    };
    let mut versions = Vec::new();
    for (_, v) in scan_all(s, Table::BodyVersions, id.as_bytes(), None)? {
        versions.push(codec::decode::<Version>(Table::BodyVersions, &v)?);
    }
    versions.reverse();
    Ok(Some(BodyView {
        id: *id,
        record,
        versions,
    }))
}

/// The statements a body is folded from but its charter (its amendments
/// and the votes on them), in log order: what a board's page lists
/// under its charter changes. The list grows with the body's own
/// decisions about itself, never with the requests it decides.
pub fn body_timeline<S: Store + ?Sized>(
    s: &S,
    id: &StatementId,
) -> Result<Vec<TimelineItem>, StateError> {
    let mut out = Vec::new();
    member_items(s, &Agg::Body(*id), id, &mut out)?;
    out.sort_by(|a, b| (&a.pos, a.id).cmp(&(&b.pos, b.id)));
    Ok(out)
}

/// The members of a body under the charter version now in force.
pub fn members<S: Store + ?Sized>(s: &S, body: &StatementId) -> Result<Vec<Seat>, StateError> {
    let newest = s
        .scan_prefix(Table::BodyVersions, body.as_bytes(), None, 1)
        .map_err(StateError::store)?;
    match newest.first() {
        Some((_, v)) => Ok(codec::decode::<Version>(Table::BodyVersions, v)?.members),
        None => Ok(Vec::new()),
    }
}

/// Whether `key` holds a seat of `body` under the charter version now in
/// force: the seat's own key, or a key it was rotated to (as a member's
/// vote is counted). A key that has been revoked, or rotated away from,
/// holds none: a stolen key loses what it could do once its holder revokes it.
pub fn holds_seat<S: Store + ?Sized>(
    s: &S,
    body: &StatementId,
    key: &KeyBytes,
) -> Result<bool, StateError> {
    let record = self::key(s, key)?.unwrap_or_default();
    if record.end.is_some() {
        return Ok(false);
    }
    Ok(members(s, body)?
        .iter()
        .any(|seat| seat.key == *key || record.lineage.iter().any(|l| l.key == seat.key)))
}

/// A dataset and its rāhui at `now`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DatasetView {
    /// The dataset (its registration id).
    pub id: StatementId,
    /// Its record.
    pub record: DatasetRecord,
    /// The rāhui in force at `now`.
    pub rahui_in_force: Vec<RahuiRecord>,
    /// Questions, concerns and attachments about it.
    pub thread: Vec<TimelineItem>,
}

/// A dataset at `now`.
pub fn dataset<S: Store + ?Sized>(
    s: &S,
    id: &StatementId,
    now: Timestamp,
) -> Result<Option<DatasetView>, StateError> {
    let Some(record) = get_record::<_, DatasetRecord>(s, Table::Datasets, id.as_bytes())? else {
        return Ok(None);
    };
    let rahui_in_force = record
        .rahui
        .iter()
        .filter(|r| r.in_force_now(now))
        .cloned()
        .collect();
    let mut thread = Vec::new();
    thread_items(s, id, &mut thread)?;
    thread.sort_by(|a, b| (&a.pos, a.id).cmp(&(&b.pos, b.id)));
    Ok(Some(DatasetView {
        id: *id,
        record,
        rahui_in_force,
        thread,
    }))
}

/// One statement in a timeline, with its verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelineItem {
    /// The statement.
    pub id: StatementId,
    /// Its kind.
    #[serde(serialize_with = "ser_kind")]
    pub kind: Kind,
    /// Who signed it.
    pub author: KeyBytes,
    /// When the author says they made it (informative only).
    pub created_at: Timestamp,
    /// The placement that counts for it.
    pub pos: Option<Pos>,
    /// Whether it counts, and why not.
    pub verdict: Verdict,
    /// Its body as JSON, as signed: reasons, conditions, questions, answers.
    pub body: serde_json::Value,
}

fn ser_kind<S: serde::Serializer>(k: &Kind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.name())
}

fn timeline_item<S: Store + ?Sized>(
    s: &S,
    id: &StatementId,
) -> Result<Option<TimelineItem>, StateError> {
    let (Some(l), Some(rec)) = (load(s, id)?, read_record(s, id)?) else {
        return Ok(None);
    };
    let json = codec::body_to_json(&l.body)?;
    let body = serde_json::from_slice(&json)
        .map_err(|e| StateError::corrupt(Table::Statements, e.to_string()))?;
    Ok(Some(TimelineItem {
        id: *id,
        kind: l.body.kind(),
        author: l.author,
        created_at: l.created_at,
        pos: rec.pos,
        verdict: rec.verdict,
        body,
    }))
}

/// Adds the timeline items of the statements `agg` is folded from, but for
/// `own`, the statement that founds it.
fn member_items<S: Store + ?Sized>(
    s: &S,
    agg: &Agg,
    own: &StatementId,
    out: &mut Vec<TimelineItem>,
) -> Result<(), StateError> {
    let prefix = agg.key();
    for (k, _) in scan_all(s, Table::Members, &prefix, None)? {
        let id = codec::id_at(Table::Members, &k, prefix.len())?;
        if id != *own {
            if let Some(item) = timeline_item(s, &id)? {
                out.push(item);
            }
        }
    }
    Ok(())
}

/// Questions (with their answers), concerns and attachments about a subject.
fn thread_items<S: Store + ?Sized>(
    s: &S,
    subject: &StatementId,
    out: &mut Vec<TimelineItem>,
) -> Result<(), StateError> {
    for (k, v) in scan_all(s, Table::Thread, subject.as_bytes(), None)? {
        let id = codec::id_at(Table::Thread, &k, 40)?;
        if let Some(item) = timeline_item(s, &id)? {
            out.push(item);
        }
        if v == b"question" {
            thread_items(s, &id, out)?;
        }
        if v == b"concern" {
            member_items(s, &Agg::Concern(id), &id, out)?;
        }
    }
    Ok(())
}

/// A request with its whole story at `now`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RequestView {
    /// The request (its submission id).
    pub id: StatementId,
    /// What was asked for: purpose, Five Safes, uses, duration.
    pub submit: RequestSubmit,
    /// Whether the request counts at all (excluded use, revoked key…).
    pub verdict: Verdict,
    /// Its status at `now`, when it counts.
    pub status: Option<RequestStatus>,
    /// The derived record: decisions per body, approval, conditions, expiry,
    /// renewals, motions, reports and outputs.
    pub record: Option<RequestRecord>,
    /// Reports overdue at `now`.
    pub overdue: Vec<DueReport>,
    /// The next report due after `now`, if the schedule asks for more.
    pub next_report: Option<DueReport>,
    /// Every statement about it, in order, with verdicts: votes with reasons,
    /// questions and answers, withdrawals, renewals, motions, reports,
    /// reviews, outputs, concerns and responses.
    pub timeline: Vec<TimelineItem>,
    /// Why access is paused at `now`: empty unless the status is
    /// `suspended`, and then every cause in force: each rāhui on its
    /// datasets (in the order of the request's datasets, then as placed),
    /// then each suspension by motion (as they began).
    pub suspended_by: Vec<SuspendedBy>,
    /// Why no board can vote on it at `now`: empty unless it awaits its
    /// decision (`submitted` or `under-review`), and then each rāhui in
    /// force on its datasets (in the order of the request's datasets, then
    /// as placed). Votes are refused until each has ended or been lifted.
    pub votes_paused_by: Vec<SuspendedBy>,
    /// For each dataset asked for that lists permitted uses, the uses the
    /// request asks for beyond them, for the boards to weigh. Codes are
    /// compared as written: whether a broader permitted use covers a
    /// narrower one is the boards' call, so nothing is refused for this
    /// (excluded uses are).
    pub unlisted_uses: Vec<UnlistedUses>,
    /// For a request that names no uses: each dataset asked for that lists
    /// uses it never allows, with those uses. Naming an excluded use is
    /// refused; naming none is not, so nothing was checked against them,
    /// and the boards weigh the request's purpose against them instead.
    pub unchecked_exclusions: Vec<UncheckedExclusions>,
    /// For each renewal every body approved, the days it added: those asked
    /// for, or fewer when an approving body's conditions allow fewer.
    pub renewals_granted: Vec<RenewalGranted>,
    /// The motions carried that changed nothing: a suspension by a body
    /// that had already suspended, a reinstatement by one that had not
    /// (PROTOCOL.md §9.3).
    pub motions_without_effect: Vec<StatementId>,
}

/// The days an approved renewal added.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RenewalGranted {
    /// The `request.renew` statement.
    pub renewal: StatementId,
    /// The days of access it added.
    pub days: u32,
}

/// The uses a dataset never allows, which a request naming no uses was
/// not checked against: its excluded use codes, not the use categories it
/// excludes (the request's category was checked against those).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UncheckedExclusions {
    /// The dataset.
    pub dataset: StatementId,
    /// The uses it never allows.
    pub excluded: Vec<String>,
}

/// Uses a request asks for that one of its datasets does not list among
/// its permitted uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnlistedUses {
    /// The dataset.
    pub dataset: StatementId,
    /// The uses it lists as permitted.
    pub permitted: Vec<String>,
    /// The uses asked for that it does not list.
    pub asked: Vec<String>,
}

/// Whether an excluded use names a use category (which every request's
/// own category is checked against) rather than a use code.
fn is_category(excluded: &str) -> bool {
    use serde::de::{value::Error, IntoDeserializer};
    use serde::Deserialize;
    // Every category by its wire name, which is the name a dataset excludes.
    let parsed: Result<kaitiaki_protocol::statement::UseCategory, Error> =
        kaitiaki_protocol::statement::UseCategory::deserialize(excluded.into_deserializer());
    parsed.is_ok_and(|c| crate::requests::category_name(c) == excluded)
}

/// Per dataset `submit` names that is stored: the uses it asks for that
/// the dataset does not list as permitted (when it lists any), and, when
/// it names no uses at all, the uses the dataset never allows.
fn uses_to_weigh<S: Store + ?Sized>(
    s: &S,
    submit: &RequestSubmit,
) -> Result<(Vec<UnlistedUses>, Vec<UncheckedExclusions>), StateError> {
    // Each dataset once, each use once, in a fixed order, as the engine
    // reads them (a request may name one twice).
    let datasets: std::collections::BTreeSet<&StatementId> = submit.datasets.iter().collect();
    let uses: std::collections::BTreeSet<&String> = submit.uses.iter().collect();
    let (mut unlisted, mut unchecked) = (Vec::new(), Vec::new());
    for d in datasets {
        let Some(record) = dataset_record(s, d)? else {
            continue;
        };
        let asked: Vec<String> = uses
            .iter()
            .filter(|u| !record.permitted_uses.contains(u))
            .map(|u| (*u).clone())
            .collect();
        let codes: Vec<String> = record
            .excluded_uses
            .iter()
            .filter(|x| !is_category(x))
            .cloned()
            .collect();
        if uses.is_empty() && !codes.is_empty() {
            unchecked.push(UncheckedExclusions {
                dataset: *d,
                excluded: codes,
            });
        }
        if !record.permitted_uses.is_empty() && !asked.is_empty() {
            unlisted.push(UnlistedUses {
                dataset: *d,
                permitted: record.permitted_uses,
                asked,
            });
        }
    }
    Ok((unlisted, unchecked))
}

/// One reason an approved request is suspended at a given time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SuspendedBy {
    /// A rāhui in force on a dataset of the request.
    Rahui {
        /// The `rahui.place` statement.
        rahui: StatementId,
        /// The dataset it restricts.
        dataset: StatementId,
        /// The body that placed it.
        body: StatementId,
        /// Why, in the body's words.
        reason: String,
        /// Where it was placed, in the body's home log: in force from then.
        since: Pos,
        /// When it ends by itself, if it does.
        until: Option<Timestamp>,
    },
    /// A governing body's motion to suspend the approval, passed and not
    /// reinstated.
    Motion {
        /// The `approval.motion` statement.
        motion: StatementId,
        /// The body that passed it.
        body: StatementId,
        /// Why, in the words of the member who proposed it.
        reason: String,
        /// Where the deciding vote sits: in force from then.
        since: Pos,
    },
}

/// Why the request `r` is suspended at `now`, given the datasets it names
/// that are stored (`ids` and `datasets` side by side): each rāhui in force
/// on them (in the order of the request's datasets, then as placed), then
/// each suspension by motion in force (as they began). Called only when its
/// status at `now` is [`RequestStatus::Suspended`], so that a rāhui on a
/// dataset of a request not yet approved, or no longer in force, is not
/// called a suspension.
fn suspension_causes<S: Store + ?Sized>(
    s: &S,
    r: &RequestRecord,
    ids: &[StatementId],
    datasets: &[DatasetRecord],
    now: Timestamp,
) -> Result<Vec<SuspendedBy>, StateError> {
    let mut out = rahui_in_force(ids, datasets, now);
    if let Some(a) = &r.approval {
        for m in a.suspensions_at(now) {
            let Some(Body::ApprovalMotion(x)) = load(s, &m.motion)?.map(|l| l.body) else {
                return Err(StateError::corrupt(
                    Table::Requests,
                    "a suspension's motion is not a stored approval motion",
                ));
            };
            out.push(SuspendedBy::Motion {
                motion: m.motion,
                body: m.body,
                reason: x.reason,
                since: m.from.clone(),
            });
        }
    }
    Ok(out)
}

/// Each rāhui in force at `now` on the datasets `ids` (whose records are
/// `datasets`), in the order of the datasets, then as placed.
fn rahui_in_force(
    ids: &[StatementId],
    datasets: &[DatasetRecord],
    now: Timestamp,
) -> Vec<SuspendedBy> {
    let mut out = Vec::new();
    for (d, rec) in ids.iter().zip(datasets) {
        for rahui in rec.rahui.iter().filter(|x| x.in_force_now(now)) {
            out.push(SuspendedBy::Rahui {
                rahui: rahui.id,
                dataset: *d,
                body: rahui.body,
                reason: rahui.reason.clone(),
                since: rahui.placed.clone(),
                until: rahui.until,
            });
        }
    }
    out
}

/// A request at `now`.
pub fn request<S: Store + ?Sized>(
    s: &S,
    id: &StatementId,
    now: Timestamp,
) -> Result<Option<RequestView>, StateError> {
    let Some(l) = load(s, id)? else {
        return Ok(None);
    };
    let Body::RequestSubmit(submit) = l.body else {
        return Ok(None);
    };
    let Some(rec) = read_record(s, id)? else {
        return Ok(None);
    };
    let record: Option<RequestRecord> = get_record(s, Table::Requests, id.as_bytes())?;
    let (status, suspended_by, votes_paused_by) = match &record {
        Some(r) => {
            let (ids, datasets): (Vec<_>, Vec<_>) =
                stored_datasets(s, r).collect::<Result<_, _>>()?;
            let status = r.status_at(now, &datasets);
            let (causes, paused) = match status {
                RequestStatus::Suspended => {
                    (suspension_causes(s, r, &ids, &datasets, now)?, Vec::new())
                }
                RequestStatus::Submitted | RequestStatus::UnderReview => {
                    (Vec::new(), rahui_in_force(&ids, &datasets, now))
                }
                _ => (Vec::new(), Vec::new()),
            };
            (Some(status), causes, paused)
        }
        None => (None, Vec::new(), Vec::new()),
    };
    let overdue = record
        .as_ref()
        .map(|r| r.overdue_reports(now))
        .unwrap_or_default();
    let next_report = record.as_ref().and_then(|r| r.next_report(now));
    let mut timeline = Vec::new();
    member_items(s, &Agg::Request(*id), id, &mut timeline)?;
    thread_items(s, id, &mut timeline)?;
    timeline.sort_by(|a, b| (&a.pos, a.id).cmp(&(&b.pos, b.id)));
    let (unlisted_uses, unchecked_exclusions) = uses_to_weigh(s, &submit)?;
    let approval = record.as_ref().and_then(|r| r.approval.as_ref());
    let renewals_granted = approval
        .map(|a| {
            a.renewals
                .iter()
                .filter_map(|n| {
                    n.days_granted().map(|days| RenewalGranted {
                        renewal: n.id,
                        days,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let motions_without_effect = approval
        .map(|a| {
            a.motions
                .iter()
                .filter(|m| a.carried_without_effect(m))
                .map(|m| m.id)
                .collect()
        })
        .unwrap_or_default();
    Ok(Some(RequestView {
        id: *id,
        unlisted_uses,
        unchecked_exclusions,
        renewals_granted,
        motions_without_effect,
        submit,
        verdict: rec.verdict,
        status,
        record,
        overdue,
        next_report,
        timeline,
        suspended_by,
        votes_paused_by,
    }))
}

/// The datasets a request names that are stored, with their records, in
/// the order it names them.
fn stored_datasets<'a, S: Store + ?Sized>(
    s: &'a S,
    r: &'a RequestRecord,
) -> impl Iterator<Item = Result<(StatementId, DatasetRecord), StateError>> + 'a {
    r.datasets.iter().filter_map(move |d| {
        get_record(s, Table::Datasets, d.as_bytes())
            .map(|rec| rec.map(|rec| (*d, rec)))
            .transpose()
    })
}

/// The dataset records a request names (for its status under rāhui).
pub(crate) fn datasets_of<S: Store + ?Sized>(
    s: &S,
    r: &RequestRecord,
) -> Result<Vec<DatasetRecord>, StateError> {
    stored_datasets(s, r)
        .map(|x| x.map(|(_, rec)| rec))
        .collect()
}

/// A request's status at `now`, or `None` if it does not count.
pub fn request_status<S: Store + ?Sized>(
    s: &S,
    id: &StatementId,
    now: Timestamp,
) -> Result<Option<RequestStatus>, StateError> {
    match get_record::<_, RequestRecord>(s, Table::Requests, id.as_bytes())? {
        Some(r) => Ok(Some(r.status_at(now, &datasets_of(s, &r)?))),
        None => Ok(None),
    }
}

/// A concern in full: its record, its words and every response.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConcernStory {
    /// The concern (its `concern.raise` id).
    pub id: StatementId,
    /// How it stands: its subject, who raised it, the responses that count.
    pub record: ConcernRecord,
    /// The concern as signed, with its words.
    pub raised: TimelineItem,
    /// Every response to it, in order, with verdicts (a response that does
    /// not count says why).
    pub responses: Vec<TimelineItem>,
}

/// A concern with its words and every response; `None` if it is not a
/// concern that counts.
pub fn concern_story<S: Store + ?Sized>(
    s: &S,
    id: &StatementId,
) -> Result<Option<ConcernStory>, StateError> {
    let Some(record) = get_record::<_, ConcernRecord>(s, Table::Concerns, id.as_bytes())? else {
        return Ok(None);
    };
    let Some(raised) = timeline_item(s, id)? else {
        return Ok(None);
    };
    let mut responses = Vec::new();
    member_items(s, &Agg::Concern(*id), id, &mut responses)?;
    responses.sort_by(|a, b| (&a.pos, a.id).cmp(&(&b.pos, b.id)));
    Ok(Some(ConcernStory {
        id: *id,
        record,
        raised,
        responses,
    }))
}

/// A concern and its responses.
pub fn concern<S: Store + ?Sized>(
    s: &S,
    id: &StatementId,
) -> Result<Option<ConcernRecord>, StateError> {
    get_record(s, Table::Concerns, id.as_bytes())
}
