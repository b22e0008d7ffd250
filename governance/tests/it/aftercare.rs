//! After approval: reports and their schedule, outputs, renewal, suspension and revocation.

use kaitiaki_governance::lists;
use kaitiaki_governance::requests::{OutputStatus, Phase, ReportStatus};
use kaitiaki_governance::{RejectionCode, RequestStatus};
use kaitiaki_protocol::statement::{ApprovalAction, Condition, ReportKind};

use crate::fixture::*;

/// A request approved with the given conditions from both boards.
fn approved_with(
    s: &mut Setting,
    days: u32,
    conditions: Vec<Condition>,
) -> kaitiaki_protocol::StatementId {
    let r = s.request(days);
    let b = s.iwi_board;
    let iwi = s.c.iwi.clone();
    s.w.ok(&iwi[0], IWI, approve_with(r, b, conditions));
    s.w.ok(&iwi[1], IWI, approve(r, b));
    s.w.ok(&iwi[2], IWI, approve(r, b));
    s.pacific_approve(r, 4);
    assert_eq!(s.w.status(&r), RequestStatus::Approved);
    r
}

#[test]
fn a_six_monthly_report_not_filed_is_overdue_at_month_seven() {
    let mut s = Setting::new();
    let r = approved_with(
        &mut s,
        730,
        vec![Condition::ReportEvery { months: 6 }, Condition::FinalReport],
    );
    let approved = s.w.view(&r).record.unwrap().approval.unwrap().approved.at;
    let month = |m: u32| kaitiaki_governance::requests::schedule::add_months(approved, m);
    let at5 = month(5);
    assert!(lists::overdue_reports(&s.w.store, at5, None, 10)
        .unwrap()
        .items
        .is_empty());
    let at7 = month(7);
    let page = lists::overdue_reports(&s.w.store, at7, None, 10).unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].overdue.len(), 1);
    assert_eq!(page.items[0].overdue[0].due, month(6));
    // Filing it clears the flag.
    s.w.now = at7;
    let researcher = s.c.researcher.clone();
    s.w.ok(&researcher, AGENCY, report(r, ReportKind::Periodic));
    assert!(lists::overdue_reports(&s.w.store, at7, None, 10)
        .unwrap()
        .items
        .is_empty());
    assert!(s.w.view(&r).overdue.is_empty());
}

#[test]
fn the_next_report_due_follows_the_schedule() {
    use kaitiaki_governance::requests::schedule::{add_months, FINAL_REPORT_GRACE_DAYS};
    let mut s = Setting::new();
    let r = approved_with(
        &mut s,
        730,
        vec![Condition::ReportEvery { months: 6 }, Condition::FinalReport],
    );
    let view = s.w.view(&r);
    let rec = view.record.unwrap();
    let a = rec.approval.clone().unwrap();
    let month = |m: u32| add_months(a.approved.at, m);
    let next = |at| rec.next_report(at).map(|d| (d.kind, d.due));
    // The view carries it at the time it was read: just approved.
    assert_eq!(
        view.next_report.map(|d| (d.kind, d.due)),
        Some((ReportKind::Periodic, month(6)))
    );
    // An overdue report is not the next one: at month 7 the report due
    // at month 6 is overdue, and the one due at month 12 comes next.
    assert_eq!(rec.overdue_reports(month(7)).len(), 1);
    assert_eq!(next(month(7)), Some((ReportKind::Periodic, month(12))));
    // After the last periodic date before access ends, the final report.
    let final_due = a.end().plus_days(FINAL_REPORT_GRACE_DAYS);
    assert_eq!(next(month(19)), Some((ReportKind::Final, final_due)));
    assert_eq!(next(final_due), None);
}

#[test]
fn reports_coming_due_are_listed_soonest_first_until_they_are_overdue() {
    use kaitiaki_governance::requests::schedule::add_months;
    let mut s = Setting::new();
    let six = approved_with(&mut s, 730, vec![Condition::ReportEvery { months: 6 }]);
    let monthly = approved_with(&mut s, 730, vec![Condition::ReportEvery { months: 1 }]);
    let unreported = approved_with(&mut s, 730, vec![Condition::FindingsReturned]);
    let approved = |r| s.w.view(&r).record.unwrap().approval.unwrap().approved.at;
    let (t6, t1) = (approved(six), approved(monthly));
    let due = |now, until, after: Option<&kaitiaki_governance::Cursor>, limit| {
        lists::reports_due_soon(&s.w.store, now, until, after, limit).unwrap()
    };
    let ids = |p: &kaitiaki_governance::Page<lists::DueSoonView>| {
        p.items.iter().map(|v| v.request).collect::<Vec<_>>()
    };
    let now = s.w.now;
    // Within 40 days only the monthly report falls due.
    let page = due(now, now.plus_days(40), None, 10);
    assert_eq!(ids(&page), vec![monthly]);
    assert_eq!(page.items[0].next.due, add_months(t1, 1));
    assert_eq!(page.items[0].next.kind, ReportKind::Periodic);
    // Within seven months both, soonest first, one page at a time; the
    // request that asks for no reports never appears.
    let until = add_months(t6, 7);
    assert_eq!(ids(&due(now, until, None, 10)), vec![monthly, six]);
    let first = due(now, until, None, 1);
    assert_eq!(ids(&first), vec![monthly]);
    let second = due(now, until, first.next.as_ref(), 1);
    assert_eq!(ids(&second), vec![six]);
    assert!(!ids(&due(now, until, None, 10)).contains(&unreported));
    // Once the monthly report is late it is overdue, not coming due.
    let later = add_months(t1, 1).plus_days(1);
    assert_eq!(ids(&due(later, until, None, 10)), vec![six]);
    let overdue = lists::overdue_reports(&s.w.store, later, None, 10).unwrap();
    assert_eq!(overdue.items[0].request, monthly);
}

/// A periodic report meets the due date of the period it was filed in (or
/// the earliest one missed, when late); filing several at once does not
/// pay for periods still to come.
#[test]
fn periodic_reports_meet_their_own_period_not_the_whole_schedule() {
    let mut s = Setting::new();
    let r = approved_with(&mut s, 730, vec![Condition::ReportEvery { months: 6 }]);
    let approved = s.w.view(&r).record.unwrap().approval.unwrap().approved.at;
    let month = |m: u32| kaitiaki_governance::requests::schedule::add_months(approved, m);
    let overdue = |s: &Setting, at| -> Vec<_> {
        let rec = s.w.view(&r).record.unwrap();
        rec.overdue_reports(at).iter().map(|d| d.due).collect()
    };
    let researcher = s.c.researcher.clone();
    for _ in 0..3 {
        s.w.ok(&researcher, AGENCY, report(r, ReportKind::Periodic));
    }
    // Three reports in the first period meet its due date only.
    assert_eq!(overdue(&s, month(7)), vec![]);
    assert_eq!(overdue(&s, month(19)), vec![month(12), month(18)]);
    let listed = lists::overdue_reports(&s.w.store, month(13), None, 10).unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].overdue[0].due, month(12));
    // A late report meets the earliest due date missed, and only that one.
    s.w.now = month(13);
    s.w.ok(&researcher, AGENCY, report(r, ReportKind::Periodic));
    assert_eq!(overdue(&s, month(13)), vec![]);
    assert_eq!(overdue(&s, month(19)), vec![month(18)]);
    // One filed in the last period meets its due date.
    s.w.now = month(14);
    s.w.ok(&researcher, AGENCY, report(r, ReportKind::Periodic));
    assert_eq!(overdue(&s, month(19)), vec![]);
    // Which due date each report met, so a late one can be told as late:
    // the first met month 6, the two more in its period nothing, the one
    // filed at month 13 month 12 (late), the one at month 14 month 18.
    let rec = s.w.view(&r).record.unwrap();
    let met: Vec<_> = rec
        .report_due_dates()
        .into_iter()
        .map(|(id, due)| {
            let filed = rec.reports.iter().find(|x| x.id == id).unwrap().filed.at;
            (due, filed > due)
        })
        .collect();
    assert_eq!(
        met,
        vec![(month(6), false), (month(12), true), (month(18), false)]
    );
}

#[test]
fn a_returned_report_does_not_count_until_refiled() {
    let mut s = Setting::new();
    let r = approved_with(&mut s, 730, vec![Condition::ReportEvery { months: 6 }]);
    let researcher = s.c.researcher.clone();
    s.w.days(190);
    let p = s.w.ok(&researcher, AGENCY, report(r, ReportKind::Periodic));
    let aroha = s.c.iwi[0].clone();
    s.w.ok(&aroha, IWI, review(p, s.iwi_board, false));
    let view = s.w.view(&r);
    assert_eq!(
        view.record.unwrap().reports[0].status,
        ReportStatus::Returned
    );
    assert_eq!(view.overdue.len(), 1);
}

#[test]
fn a_final_report_accepted_by_every_board_completes_the_request() {
    let mut s = Setting::new();
    let r = approved_with(&mut s, 365, vec![Condition::FinalReport]);
    let researcher = s.c.researcher.clone();
    s.w.days(370);
    assert_eq!(s.w.status(&r), RequestStatus::Expired);
    let f = s.w.ok(&researcher, AGENCY, report(r, ReportKind::Final));
    let (aroha, sione) = (s.c.iwi[0].clone(), s.c.pacific[0].clone());
    s.w.ok(&aroha, IWI, review(f, s.iwi_board, true));
    assert_eq!(
        s.w.status(&r),
        RequestStatus::Expired,
        "one board is not every board"
    );
    s.w.ok(&sione, PACIFIC, review(f, s.pacific_board, true));
    assert_eq!(s.w.status(&r), RequestStatus::Completed);
    assert!(s.w.view(&r).record.unwrap().unfiled_reports().is_empty());
}

/// Each board's latest review counts: a board that returns the final
/// report after accepting it reopens the request, and the final report is
/// owed again.
#[test]
fn a_final_report_returned_after_completion_reopens_the_request() {
    let mut s = Setting::new();
    let r = approved_with(&mut s, 365, vec![Condition::FinalReport]);
    let (b, p) = (s.iwi_board, s.pacific_board);
    let (iwi, pac) = (s.c.iwi.clone(), s.c.pacific.clone());
    let researcher = s.c.researcher.clone();
    let f = s.w.ok(&researcher, AGENCY, report(r, ReportKind::Final));
    s.w.ok(&iwi[0], IWI, review(f, b, true));
    s.w.ok(&pac[0], PACIFIC, review(f, p, true));
    assert_eq!(s.w.status(&r), RequestStatus::Completed);

    s.w.ok(&iwi[1], IWI, review(f, b, false));
    let rec = s.w.view(&r).record.unwrap();
    assert_eq!(rec.reports[0].status, ReportStatus::Returned);
    assert_eq!(rec.phase, Phase::Approved);
    assert!(rec.approval.as_ref().unwrap().completed.is_none());
    assert_eq!(s.w.status(&r), RequestStatus::Approved);
    let owed: Vec<_> = rec.unfiled_reports().iter().map(|d| d.kind).collect();
    assert_eq!(
        owed,
        vec![ReportKind::Final],
        "the final report is owed again"
    );

    // A final report both boards accept completes it again.
    let again = s.w.ok(&researcher, AGENCY, report(r, ReportKind::Final));
    s.w.ok(&iwi[1], IWI, review(again, b, true));
    s.w.ok(&pac[0], PACIFIC, review(again, p, true));
    assert_eq!(s.w.status(&r), RequestStatus::Completed);
}

#[test]
fn outputs_under_review_are_released_only_by_every_board() {
    let mut s = Setting::new();
    let r = approved_with(&mut s, 365, vec![Condition::OutputsReviewed]);
    let researcher = s.c.researcher.clone();
    let table =
        s.w.ok(&researcher, AGENCY, output(r, "Service reach by region"));
    let paper = s.w.ok(&researcher, AGENCY, output(r, "Draft paper"));
    let (aroha, sione) = (s.c.iwi[0].clone(), s.c.pacific[0].clone());
    s.w.ok(&aroha, IWI, output_review(table, s.iwi_board, true));
    let status = |s: &Setting| -> Vec<OutputStatus> {
        s.w.view(&r)
            .record
            .unwrap()
            .outputs
            .iter()
            .map(|o| o.status)
            .collect()
    };
    assert_eq!(
        status(&s),
        vec![OutputStatus::PendingReview, OutputStatus::PendingReview]
    );
    s.w.ok(&sione, PACIFIC, output_review(table, s.pacific_board, true));
    s.w.ok(
        &sione,
        PACIFIC,
        output_review(paper, s.pacific_board, false),
    );
    assert_eq!(
        status(&s),
        vec![OutputStatus::Released, OutputStatus::Withheld]
    );
    let whanau = s.c.whanau.clone();
    s.w.refused(
        &whanau,
        AGENCY,
        output(r, "Not theirs"),
        RejectionCode::NotRequester,
    );
}

#[test]
fn reports_and_outputs_need_an_approval() {
    let mut s = Setting::new();
    let r = s.request(365);
    let researcher = s.c.researcher.clone();
    s.w.refused(
        &researcher,
        AGENCY,
        report(r, ReportKind::Periodic),
        RejectionCode::NotApproved,
    );
}

#[test]
fn a_renewal_before_expiry_extends_the_approval_when_every_board_agrees() {
    let mut s = Setting::new();
    let r = s.approved_request(90);
    let expires = s.w.view(&r).record.unwrap().approval.unwrap().expires_at;
    s.w.days(80);
    let researcher = s.c.researcher.clone();
    let n = s.w.ok(&researcher, AGENCY, renew(r, 60));
    s.w.refused(
        &researcher,
        AGENCY,
        renew(r, 30),
        RejectionCode::RenewalPending,
    );
    s.iwi_approve(n, 3);
    s.w.days(20);
    assert_eq!(
        s.w.status(&r),
        RequestStatus::Expired,
        "the Pacific board has not decided yet"
    );
    s.pacific_approve(n, 4);
    assert_eq!(s.w.status(&r), RequestStatus::Approved);
    let a = s.w.view(&r).record.unwrap().approval.unwrap();
    assert_eq!(a.expires_at, expires.plus_days(60));
    assert_eq!(a.renewals.len(), 1);
}

/// A board that limits how long access lasts limits a renewal the same
/// way it limits a first approval: the extension is the least of what was
/// asked and what each approving board allows.
#[test]
fn a_renewal_is_capped_by_each_board_s_expires_after_days() {
    let mut s = Setting::new();
    let r = s.approved_request(365);
    let before = s.w.view(&r).record.unwrap().approval.unwrap().expires_at;
    let researcher = s.c.researcher.clone();
    let n = s.w.ok(&researcher, AGENCY, renew(r, 365));
    let (b, p) = (s.iwi_board, s.pacific_board);
    let (iwi, pac) = (s.c.iwi.clone(), s.c.pacific.clone());
    let cap = |days| vec![Condition::ExpiresAfterDays { days }];
    s.w.ok(&iwi[0], IWI, approve_with(n, b, cap(90)));
    s.iwi_approve_from(n, 1, 3);
    s.w.ok(&pac[0], PACIFIC, approve_with(n, p, cap(30)));
    for x in &pac[1..4] {
        s.w.ok(x, PACIFIC, approve(n, p));
    }
    let a = s.w.view(&r).record.unwrap().approval.unwrap();
    assert_eq!(
        a.expires_at,
        before.plus_days(30),
        "the Pacific board's 30 days"
    );
    // The renewal's record says what it granted, beside what was asked,
    // and so does the request's view.
    assert_eq!(
        (a.renewals[0].extra_days, a.renewals[0].days_granted()),
        (365, Some(30))
    );
    let granted = s.w.view(&r).renewals_granted;
    assert_eq!(
        granted
            .iter()
            .map(|g| (g.renewal, g.days))
            .collect::<Vec<_>>(),
        vec![(n, 30)]
    );

    // Asking for less than any board allows gets what was asked.
    let n = s.w.ok(&researcher, AGENCY, renew(r, 20));
    s.w.ok(&iwi[0], IWI, approve_with(n, b, cap(90)));
    s.iwi_approve_from(n, 1, 3);
    let open = s.w.view(&r).record.unwrap().approval.unwrap();
    assert_eq!(open.renewals[1].days_granted(), None, "not decided yet");
    s.pacific_approve(n, 4);
    let later = s.w.view(&r).record.unwrap().approval.unwrap();
    assert_eq!(later.expires_at, a.expires_at.plus_days(20));
    assert_eq!(later.renewals[1].days_granted(), Some(20));
}

#[test]
fn a_renewal_after_expiry_is_refused() {
    let mut s = Setting::new();
    let r = s.approved_request(30);
    s.w.days(31);
    let researcher = s.c.researcher.clone();
    s.w.refused(
        &researcher,
        AGENCY,
        renew(r, 30),
        RejectionCode::ApprovalEnded,
    );
}

#[test]
fn a_board_suspends_for_breach_reinstates_and_then_revokes() {
    let mut s = Setting::new();
    let r = s.approved_request(365);
    let b = s.iwi_board;
    let iwi = s.c.iwi.clone();
    let suspend = s.w.ok(&iwi[0], IWI, motion(r, b, ApprovalAction::Suspend));
    s.iwi_approve(suspend, 3);
    assert_eq!(s.w.status(&r), RequestStatus::Suspended);
    let reinstate =
        s.w.ok(&iwi[1], IWI, motion(r, b, ApprovalAction::Reinstate));
    s.iwi_approve(reinstate, 3);
    assert_eq!(s.w.status(&r), RequestStatus::Approved);
    let revoke = s.w.ok(&iwi[2], IWI, motion(r, b, ApprovalAction::Revoke));
    s.iwi_approve(revoke, 2);
    assert_eq!(
        s.w.status(&r),
        RequestStatus::Approved,
        "two of five have not decided the motion"
    );
    s.w.ok(&iwi[3], IWI, approve(revoke, b));
    assert_eq!(s.w.status(&r), RequestStatus::Revoked);
    s.w.refused(
        &iwi[4],
        IWI,
        approve(revoke, b),
        RejectionCode::DecisionAlreadyReached,
    );
    s.w.refused(
        &iwi[0],
        IWI,
        motion(r, b, ApprovalAction::Reinstate),
        RejectionCode::ApprovalEnded,
    );
    let researcher = s.c.researcher.clone();
    s.w.refused(
        &researcher,
        AGENCY,
        renew(r, 30),
        RejectionCode::ApprovalEnded,
    );
}

/// A board reinstates only its own suspension: the Pacific board's
/// reinstate motion, carried while only the iwi board has suspended, leaves
/// the request suspended, and the record says the motion changed nothing;
/// so does a second suspend motion of the iwi board.
#[test]
fn a_motion_that_changes_nothing_is_known_as_such() {
    let mut s = Setting::new();
    let r = s.approved_request(365);
    let (b, p) = (s.iwi_board, s.pacific_board);
    let (iwi, pac) = (s.c.iwi.clone(), s.c.pacific.clone());
    let suspend = s.w.ok(&iwi[0], IWI, motion(r, b, ApprovalAction::Suspend));
    s.iwi_approve(suspend, 3);
    let again = s.w.ok(&iwi[1], IWI, motion(r, b, ApprovalAction::Suspend));
    s.iwi_approve(again, 3);
    let other =
        s.w.ok(&pac[0], PACIFIC, motion(r, p, ApprovalAction::Reinstate));
    s.pacific_approve(other, 4);
    assert_eq!(s.w.status(&r), RequestStatus::Suspended);
    let own =
        s.w.ok(&iwi[2], IWI, motion(r, b, ApprovalAction::Reinstate));
    let pending = s.w.view(&r).record.unwrap().approval.unwrap();
    let idle = |a: &kaitiaki_governance::requests::Approval, id| {
        let m = a.motions.iter().find(|m| m.id == id).expect("the motion");
        a.carried_without_effect(m)
    };
    assert!(!idle(&pending, own), "not decided yet");
    s.iwi_approve(own, 3);
    assert_eq!(s.w.status(&r), RequestStatus::Approved);
    let a = s.w.view(&r).record.unwrap().approval.unwrap();
    assert!(!idle(&a, suspend));
    assert!(idle(&a, again), "already suspended by the same board");
    assert!(idle(&a, other), "the Pacific board had suspended nothing");
    assert!(!idle(&a, own));
    // The request's view lists them, for readers that do not fold.
    let mut listed = s.w.view(&r).motions_without_effect;
    listed.sort();
    let mut expected = vec![again, other];
    expected.sort();
    assert_eq!(listed, expected);
    let revoke = s.w.ok(&iwi[3], IWI, motion(r, b, ApprovalAction::Revoke));
    let rejected =
        s.w.ok(&pac[1], PACIFIC, motion(r, p, ApprovalAction::Revoke));
    for x in &pac[..3] {
        s.w.ok(x, PACIFIC, decline(rejected, p, "No breach."));
    }
    s.iwi_approve(revoke, 3);
    let a = s.w.view(&r).record.unwrap().approval.unwrap();
    assert!(!idle(&a, revoke));
    assert!(
        !idle(&a, rejected),
        "rejected: it was never meant to change anything"
    );
}

/// What waits for a board's vote: the requests it has not decided, the
/// renewals it has not answered, the motions put to it and the changes to
/// its charter, each gone from the list once decided.
#[test]
fn a_board_sees_what_waits_for_its_vote() {
    use kaitiaki_governance::lists::waiting;
    let mut s = Setting::new();
    let (b, p) = (s.iwi_board, s.pacific_board);
    let approved = s.approved_request(365);
    let open = s.request(365);
    // The Pacific board has decided this one; the iwi board has not.
    let half = s.request(365);
    s.pacific_approve(half, 4);
    let researcher = s.c.researcher.clone();
    let renewal = s.w.ok(&researcher, AGENCY, renew(approved, 30));
    let iwi = s.c.iwi.clone();
    let motion =
        s.w.ok(&iwi[0], IWI, motion(approved, b, ApprovalAction::Suspend));
    let change = s.w.ok(&iwi[1], IWI, notice(b, 7));
    let w = |s: &Setting, body| {
        waiting(&s.w.store, &body, s.w.now)
            .expect("reads")
            .expect("a body")
    };
    let iwi_waits = w(&s, b);
    let ids: Vec<_> = iwi_waits.requests.iter().map(|r| r.request.id).collect();
    assert_eq!(ids, vec![open, half]);
    assert_eq!(
        iwi_waits.renewals.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![renewal]
    );
    assert_eq!(iwi_waits.renewals[0].extra_days, Some(30));
    assert_eq!(
        iwi_waits.motions.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![motion]
    );
    assert_eq!(
        iwi_waits
            .amendments
            .iter()
            .map(|x| x.id)
            .collect::<Vec<_>>(),
        vec![change]
    );
    assert!(!iwi_waits.more);
    // The Pacific board: the open request and the renewal, nothing else.
    let pacific_waits = w(&s, p);
    assert_eq!(
        pacific_waits
            .requests
            .iter()
            .map(|r| r.request.id)
            .collect::<Vec<_>>(),
        vec![open]
    );
    assert_eq!(pacific_waits.renewals.len(), 1);
    assert!(pacific_waits.motions.is_empty() && pacific_waits.amendments.is_empty());
    // Decided, each leaves the iwi board's list.
    s.iwi_approve(half, 3);
    s.iwi_approve(renewal, 3);
    s.iwi_approve(motion, 3);
    for x in &iwi[..3] {
        s.w.ok(x, IWI, approve(change, b));
    }
    let after = w(&s, b);
    assert_eq!(
        after
            .requests
            .iter()
            .map(|r| r.request.id)
            .collect::<Vec<_>>(),
        vec![open]
    );
    assert!(after.renewals.is_empty() && after.motions.is_empty() && after.amendments.is_empty());
    // The Pacific board still owes the renewal its answer.
    assert_eq!(w(&s, p).renewals.len(), 1);
    // No such body, no list.
    assert!(waiting(&s.w.store, &approved, s.w.now)
        .expect("reads")
        .is_none());
}

/// The list of what waits reads at most `WAITING_MAX` of a board's
/// requests, the oldest, and says when there were more.
#[test]
fn what_waits_stops_at_its_cap_and_says_so() {
    use kaitiaki_governance::lists::{waiting, WAITING_MAX};
    let mut s = Setting::new();
    let b = s.iwi_board;
    let first = s.request(365);
    for _ in 1..WAITING_MAX {
        s.request(365);
    }
    let w = waiting(&s.w.store, &b, s.w.now)
        .expect("reads")
        .expect("a body");
    assert_eq!(w.requests.len(), WAITING_MAX);
    assert!(!w.more, "every request was read");
    let newest = s.request(365);
    let w = waiting(&s.w.store, &b, s.w.now)
        .expect("reads")
        .expect("a body");
    assert_eq!(w.requests.len(), WAITING_MAX);
    assert!(w.more, "one request was not read");
    assert_eq!(w.requests[0].request.id, first);
    assert!(w.requests.iter().all(|r| r.request.id != newest));
}

/// What waits but cannot be voted on yet says why: a request in the
/// board's notice period says until when, and one under a rāhui that it is
/// paused; oldest first, whatever their stage.
#[test]
fn what_waits_says_when_it_cannot_be_voted_on_yet() {
    use kaitiaki_governance::lists::waiting;
    let mut s = Setting::with_notice(14);
    let b = s.iwi_board;
    let first = s.request(365);
    s.w.days(20);
    let second = s.request(365);
    // The first is past its notice period and has a vote; the second not.
    let iwi = s.c.iwi.clone();
    s.w.ok(&iwi[0], IWI, approve(first, b));
    let w = waiting(&s.w.store, &b, s.w.now)
        .expect("reads")
        .expect("a body");
    let seen: Vec<_> = w
        .requests
        .iter()
        .map(|r| (r.request.id, r.notice_until.is_some(), r.paused))
        .collect();
    assert_eq!(seen, vec![(first, false, false), (second, true, false)]);
    assert_eq!(
        w.requests[1].notice_until,
        Some(w.requests[1].request.submitted.at.plus_days(14))
    );
    // A rāhui on their dataset holds up the votes on both.
    let data = s.data;
    s.w.ok(&iwi[0], IWI, rahui(b, data, None));
    let w = waiting(&s.w.store, &b, s.w.now)
        .expect("reads")
        .expect("a body");
    assert!(w.requests.iter().all(|r| r.paused), "{:?}", w.requests);
}

/// Conditions shape an approval of a request or renewal; a vote on a
/// motion has nothing to attach them to, so they are refused rather than
/// dropped without a word.
#[test]
fn conditions_on_a_vote_on_a_motion_are_refused() {
    let mut s = Setting::new();
    let r = s.approved_request(365);
    let b = s.iwi_board;
    let iwi = s.c.iwi.clone();
    let suspend = s.w.ok(&iwi[0], IWI, motion(r, b, ApprovalAction::Suspend));
    let msg = s.w.refused(
        &iwi[0],
        IWI,
        approve_with(suspend, b, vec![Condition::ReportEvery { months: 1 }]),
        RejectionCode::ConditionsMismatch,
    );
    assert!(msg.contains("votes on requests"), "{msg}");
    // With `approve`, the refusal does not send the voter to
    // `approve_with_conditions`, which is refused here too.
    let msg = s.w.refused(
        &iwi[1],
        IWI,
        approve_listing(suspend, b, vec![Condition::ReportEvery { months: 1 }]),
        RejectionCode::ConditionsMismatch,
    );
    assert!(
        msg.contains("votes on requests") && msg.contains("remove them"),
        "{msg}"
    );
    assert!(!msg.contains("approve_with_conditions"), "{msg}");
    let a = s.w.view(&r).record.unwrap().approval.unwrap();
    assert!(!a.conditions.contains(&Condition::ReportEvery { months: 1 }));
    // A plain approval of the motion counts as before.
    s.iwi_approve(suspend, 3);
    assert_eq!(s.w.status(&r), RequestStatus::Suspended);
}

#[test]
fn a_motion_is_refused_before_approval() {
    let mut s = Setting::new();
    let r = s.request(365);
    let aroha = s.c.iwi[0].clone();
    s.w.refused(
        &aroha,
        IWI,
        motion(r, s.iwi_board, ApprovalAction::Revoke),
        RejectionCode::NotApproved,
    );
}
