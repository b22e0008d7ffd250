//! Time: calendar months for report schedules, and a request's status at `now`.
//!
//! Everything here is a pure function of a stored record and `now`, which
//! the caller supplies: the crate never reads a clock.

use kaitiaki_protocol::statement::Condition;
use kaitiaki_protocol::{StatementId, Timestamp};
use serde::{Deserialize, Serialize};

use super::{Approval, Phase, ReportKind, ReportStatus, RequestRecord, Suspension};
use crate::datasets::DatasetRecord;

/// Days after the end of an approval by which a required final report is due.
/// The work can only be reported once it is over; a month is a common grace.
pub const FINAL_REPORT_GRACE_DAYS: u32 = 30;

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 → (year, month 1–12, day 1–31), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// `t` plus whole calendar months, the day clamped to the month's end
/// (31 January + 1 month = 28 or 29 February); saturates at the largest time.
pub fn add_months(t: Timestamp, months: u32) -> Timestamp {
    let ms = t.unix_millis();
    let days = ms.div_euclid(MS_PER_DAY);
    let rest = ms.rem_euclid(MS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let total = i64::from(m - 1) + i64::from(months);
    let ny = y + total.div_euclid(12);
    let nm = (total.rem_euclid(12) + 1) as u32;
    let nd = d.min(days_in_month(ny, nm));
    let out = days_from_civil(ny, nm, nd) * MS_PER_DAY + rest;
    // Months only move forward from `t`, so only the upper bound can bite.
    Timestamp::saturating_from_unix_millis(out)
}

/// What reports the conditions ask for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// A periodic report every this many months (the most frequent asked for).
    pub every_months: Option<u32>,
    /// Whether a final report is required.
    pub final_required: bool,
}

impl Schedule {
    /// The schedule the union of conditions asks for.
    pub fn from_conditions(conditions: &[Condition]) -> Schedule {
        Schedule {
            every_months: conditions
                .iter()
                .filter_map(|c| match c {
                    Condition::ReportEvery { months } => Some(*months),
                    _ => None,
                })
                .min(),
            final_required: conditions.contains(&Condition::FinalReport),
        }
    }
}

/// One report the schedule asked for and that has not been filed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DueReport {
    /// Periodic or final.
    pub kind: ReportKind,
    /// When it was, or is, due.
    pub due: Timestamp,
}

impl Approval {
    /// When access ends, whichever comes first: expiry, revocation, completion.
    pub fn end(&self) -> Timestamp {
        [
            Some(self.expires_at),
            self.revoked.as_ref().map(|e| e.at.at),
            self.completed.as_ref().map(|e| e.at.at),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(self.expires_at)
    }

    /// Every periodic due date, earliest first (before the end of access).
    pub fn periodic_due(&self) -> Vec<Timestamp> {
        self.periodic_dates().collect()
    }

    /// [`Approval::periodic_due`], one at a time, strictly increasing.
    fn periodic_dates(&self) -> impl Iterator<Item = Timestamp> {
        let every = self.schedule.every_months;
        let (start, end) = (self.approved.at, self.end());
        let mut i = 0u32;
        let mut last = None;
        std::iter::from_fn(move || {
            let m = every?;
            i = i.checked_add(1)?;
            let due = add_months(start, i.checked_mul(m)?);
            if due >= end || last == Some(due) {
                return None;
            }
            last = Some(due);
            Some(due)
        })
        .fuse()
    }

    /// The suspensions by motion in force at `now`, in the order they began.
    pub fn suspensions_at(&self, now: Timestamp) -> impl Iterator<Item = &Suspension> {
        self.suspensions
            .iter()
            .filter(move |s| s.from.at <= now && s.until.as_ref().is_none_or(|u| now < u.at))
    }

    /// When the final report is due, if one is required.
    pub fn final_due(&self) -> Option<Timestamp> {
        self.schedule
            .final_required
            .then(|| self.end().plus_days(FINAL_REPORT_GRACE_DAYS))
    }
}

/// How many of the due dates `due` (earliest first) reports sequenced at
/// `filed` (earliest first) meet, and the earliest due date they do not.
///
/// The met dates are always the earliest ones. Say the first `n` are met:
/// a later due date's period begins no sooner than an earlier one's, so if
/// due date `n`'s period had not begun when a report was sequenced, no
/// later one's had either. A report therefore meets due date `n` when that
/// period had begun, and nothing otherwise.
fn meet(
    filed: impl Iterator<Item = Timestamp>,
    due: impl Iterator<Item = Timestamp>,
) -> (usize, Option<Timestamp>) {
    meet_each(filed, due, |_, _| {})
}

/// [`meet`], calling `met(i, date)` for the `i`th report of `filed` that
/// met a due date, with that date.
fn meet_each(
    filed: impl Iterator<Item = Timestamp>,
    mut due: impl Iterator<Item = Timestamp>,
    mut met_by: impl FnMut(usize, Timestamp),
) -> (usize, Option<Timestamp>) {
    let mut met = 0;
    let mut last_met: Option<Timestamp> = None;
    let mut next = due.next();
    for (i, at) in filed.enumerate() {
        let Some(d) = next else { break };
        if last_met.is_none_or(|p| p < at) {
            met += 1;
            met_by(i, d);
            last_met = Some(d);
            next = due.next();
        }
    }
    (met, next)
}

impl RequestRecord {
    /// The due date each report that counts met, by report: a periodic
    /// report the due date [`RequestRecord::periodic_met`] pairs it with
    /// (none when its period was met already), the first final report the
    /// final report's due date. A report sequenced after the date it met
    /// was late.
    pub fn report_due_dates(&self) -> Vec<(StatementId, Timestamp)> {
        let Some(a) = &self.approval else {
            return Vec::new();
        };
        let mut periodic: Vec<(Timestamp, StatementId)> = self
            .reports
            .iter()
            .filter(|r| r.kind == ReportKind::Periodic && r.status != ReportStatus::Returned)
            .map(|r| (r.filed.at, r.id))
            .collect();
        periodic.sort_unstable();
        let mut out = Vec::new();
        meet_each(
            periodic.iter().map(|(at, _)| *at),
            a.periodic_due().into_iter(),
            |i, d| out.push((periodic[i].1, d)),
        );
        if let (Some(d), Some(r)) = (
            a.final_due(),
            self.reports
                .iter()
                .filter(|r| r.kind == ReportKind::Final && r.status != ReportStatus::Returned)
                .min_by_key(|r| (r.filed.at, r.id)),
        ) {
            out.push((r.id, d));
        }
        out
    }

    /// Which periodic due dates (as [`Approval::periodic_due`] lists them)
    /// the reports that count meet.
    ///
    /// The period of a due date runs from the one before it (from the
    /// approval, for the first) up to and including it. Taken in the order
    /// they were sequenced, each periodic report meets the earliest due date
    /// not met yet whose period had begun when the report was sequenced: the
    /// due date of its own period, or the earliest one missed if it is late.
    /// A report whose period is already met meets nothing, so reports filed
    /// together never pay for periods still to come. Returned reports do
    /// not count.
    pub fn periodic_met(&self) -> Vec<(Timestamp, bool)> {
        let Some(a) = &self.approval else {
            return Vec::new();
        };
        let due = a.periodic_due();
        let (met, _) = self.periodic_met_count(due.iter().copied());
        due.into_iter()
            .enumerate()
            .map(|(i, d)| (d, i < met))
            .collect()
    }

    /// How many of the periodic due dates `due` (earliest first) the
    /// reports that count meet, and the earliest one they do not.
    fn periodic_met_count(
        &self,
        due: impl Iterator<Item = Timestamp>,
    ) -> (usize, Option<Timestamp>) {
        let filed = self
            .reports
            .iter()
            .filter(|r| r.kind == ReportKind::Periodic && r.status != ReportStatus::Returned)
            .map(|r| r.filed.at);
        // Only the times matter, taken earliest first; the fold usually
        // files reports in that order already.
        if filed.clone().is_sorted() {
            return meet(filed, due);
        }
        let mut sorted: Vec<Timestamp> = filed.collect();
        sorted.sort_unstable();
        meet(sorted.into_iter(), due)
    }

    /// Whether a final report that counts stands filed.
    fn final_filed(&self) -> bool {
        self.reports
            .iter()
            .any(|r| r.kind == ReportKind::Final && r.status != ReportStatus::Returned)
    }

    /// Reports the schedule asks for that are not filed (returned reports do
    /// not count), earliest first, regardless of `now`. See
    /// [`RequestRecord::periodic_met`] for which due date a periodic report
    /// meets.
    pub fn unfiled_reports(&self) -> Vec<DueReport> {
        let Some(a) = &self.approval else {
            return Vec::new();
        };
        if a.completed.is_some() {
            return Vec::new();
        }
        let due = a.periodic_due();
        let (met, _) = self.periodic_met_count(due.iter().copied());
        let mut out: Vec<DueReport> = due[met..]
            .iter()
            .map(|&due| DueReport {
                kind: ReportKind::Periodic,
                due,
            })
            .collect();
        if let (Some(due), false) = (a.final_due(), self.final_filed()) {
            out.push(DueReport {
                kind: ReportKind::Final,
                due,
            });
        }
        out
    }

    /// The earliest of [`RequestRecord::unfiled_reports`], without listing
    /// the rest.
    pub fn first_unfiled(&self) -> Option<DueReport> {
        let a = self.approval.as_ref()?;
        if a.completed.is_some() {
            return None;
        }
        // Periodic due dates all fall before the end of access, so before
        // the final report's.
        if let (_, Some(due)) = self.periodic_met_count(a.periodic_dates()) {
            return Some(DueReport {
                kind: ReportKind::Periodic,
                due,
            });
        }
        a.final_due()
            .filter(|_| !self.final_filed())
            .map(|due| DueReport {
                kind: ReportKind::Final,
                due,
            })
    }

    /// The next report the schedule asks for that falls due after `now`,
    /// if any is still to come.
    pub fn next_report(&self, now: Timestamp) -> Option<DueReport> {
        // Unfiled reports come earliest first.
        self.unfiled_reports().into_iter().find(|d| d.due > now)
    }

    /// Reports overdue at `now`.
    pub fn overdue_reports(&self, now: Timestamp) -> Vec<DueReport> {
        self.unfiled_reports()
            .into_iter()
            .filter(|d| d.due <= now)
            .collect()
    }

    /// The request's status at `now`, given its datasets (for rāhui).
    pub fn status_at(&self, now: Timestamp, datasets: &[DatasetRecord]) -> RequestStatus {
        match self.phase {
            Phase::Submitted => return RequestStatus::Submitted,
            Phase::UnderReview => return RequestStatus::UnderReview,
            Phase::Declined => return RequestStatus::Declined,
            Phase::Withdrawn => return RequestStatus::Withdrawn,
            Phase::Approved | Phase::Revoked | Phase::Completed => {}
        }
        let Some(a) = &self.approval else {
            return RequestStatus::UnderReview;
        };
        if now < a.approved.at {
            return RequestStatus::UnderReview;
        }
        if a.completed.as_ref().is_some_and(|e| e.at.at <= now) {
            return RequestStatus::Completed;
        }
        if a.revoked.as_ref().is_some_and(|e| e.at.at <= now) {
            return RequestStatus::Revoked;
        }
        if a.expires_at <= now {
            return RequestStatus::Expired;
        }
        let by_motion = a.suspensions_at(now).next().is_some();
        let by_rahui = datasets
            .iter()
            .any(|d| d.rahui.iter().any(|r| r.in_force_now(now)));
        if by_motion || by_rahui {
            RequestStatus::Suspended
        } else {
            RequestStatus::Approved
        }
    }
}

/// Where a request stands at a given time. See the crate docs for every transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RequestStatus {
    /// Sequenced; no vote counted yet (it may be in its notice period).
    Submitted,
    /// At least one governing body has counted votes; not all have decided.
    UnderReview,
    /// Every governing body approved; access is in force.
    Approved,
    /// A governing body declined.
    Declined,
    /// The requester withdrew it before it was decided.
    Withdrawn,
    /// Approved, but paused by a rāhui in force or a suspension motion.
    Suspended,
    /// Approved, and revoked by a governing body.
    Revoked,
    /// Approved, and past its expiry.
    Expired,
    /// Approved, and its final report accepted by every governing body.
    Completed,
}

impl RequestStatus {
    /// Every status, in the order a request may come to them: the order
    /// the pages' filter and the command line offer them. A new status
    /// goes here too.
    pub const ALL: [RequestStatus; 9] = [
        RequestStatus::Submitted,
        RequestStatus::UnderReview,
        RequestStatus::Approved,
        RequestStatus::Declined,
        RequestStatus::Withdrawn,
        RequestStatus::Suspended,
        RequestStatus::Revoked,
        RequestStatus::Expired,
        RequestStatus::Completed,
    ];

    /// The status's stable name, e.g. `under_review`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Submitted => "submitted",
            RequestStatus::UnderReview => "under_review",
            RequestStatus::Approved => "approved",
            RequestStatus::Declined => "declined",
            RequestStatus::Withdrawn => "withdrawn",
            RequestStatus::Suspended => "suspended",
            RequestStatus::Revoked => "revoked",
            RequestStatus::Expired => "expired",
            RequestStatus::Completed => "completed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn months_are_calendar_months_clamped_to_the_month_end() {
        assert_eq!(
            add_months(t("2026-01-31T10:00:00Z"), 1),
            t("2026-02-28T10:00:00Z")
        );
        assert_eq!(
            add_months(t("2028-01-31T10:00:00Z"), 1),
            t("2028-02-29T10:00:00Z")
        );
        assert_eq!(
            add_months(t("2026-03-15T00:00:00Z"), 6),
            t("2026-09-15T00:00:00Z")
        );
        assert_eq!(
            add_months(t("2026-11-30T23:59:59.500Z"), 14),
            t("2028-01-30T23:59:59.500Z")
        );
        assert_eq!(
            add_months(t("1970-01-01T00:00:00Z"), 0),
            t("1970-01-01T00:00:00Z")
        );
    }

    /// A new status does not compile here until it is given a place in
    /// this chain, and the chain must then match `ALL`.
    #[test]
    fn all_lists_every_status_in_order() {
        use RequestStatus::*;
        let after = |s: RequestStatus| match s {
            Submitted => Some(UnderReview),
            UnderReview => Some(Approved),
            Approved => Some(Declined),
            Declined => Some(Withdrawn),
            Withdrawn => Some(Suspended),
            Suspended => Some(Revoked),
            Revoked => Some(Expired),
            Expired => Some(Completed),
            Completed => None,
        };
        let chain: Vec<RequestStatus> =
            std::iter::successors(Some(Submitted), |s| after(*s)).collect();
        assert_eq!(chain, RequestStatus::ALL);
    }

    #[test]
    fn every_status_is_listed_once_under_its_serde_name() {
        let names: std::collections::BTreeSet<_> =
            RequestStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names.len(), RequestStatus::ALL.len());
        for s in RequestStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-800_000i64, -1, 0, 1, 59, 365, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
