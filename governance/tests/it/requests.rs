//! Requests: two boards, notice, questions, withdrawal, exclusions, pending references.

use kaitiaki_governance::lists::{self, RequestFilter};
use kaitiaki_governance::rules::Outcome;
use kaitiaki_governance::{query, RejectionCode, RequestStatus, Verdict};
use kaitiaki_protocol::statement::{Condition, DecisionRule, ReportKind};

use crate::fixture::*;

#[test]
fn one_board_declines_so_the_request_is_declined_with_both_reasons_visible() {
    let mut s = Setting::new();
    let r = s.request(365);
    s.pacific_approve(r, 4);
    let [a, h, m, ..] = s.c.iwi.clone();
    let b = s.iwi_board;
    s.w.ok(
        &a,
        IWI,
        decline(r, b, "Linking with justice data is not acceptable to us."),
    );
    s.w.ok(
        &h,
        IWI,
        decline(r, b, "The benefit to our people is not shown."),
    );
    s.w.ok(
        &m,
        IWI,
        decline(r, b, "We were not asked before the design."),
    );
    assert_eq!(s.w.status(&r), RequestStatus::Declined);
    let view = s.w.view(&r);
    let rec = view.record.as_ref().unwrap();
    let outcomes: Vec<_> = rec
        .decisions
        .iter()
        .map(|d| (d.body, d.decision.as_ref().map(|x| x.outcome)))
        .collect();
    assert!(outcomes.contains(&(s.iwi_board, Some(Outcome::Declined))));
    assert!(
        outcomes.contains(&(s.pacific_board, Some(Outcome::Approved))),
        "the Pacific board's own decision stands"
    );
    let reasons: Vec<String> = view
        .timeline
        .iter()
        .filter(|i| i.kind == kaitiaki_protocol::Kind::Vote)
        .map(|i| i.body["reason"].as_str().unwrap().to_owned())
        .collect();
    assert!(reasons.iter().any(|x| x.contains("justice data")));
    assert!(
        reasons.iter().any(|x| x.contains("purpose is sound")),
        "approvals' reasons are visible too"
    );
}

#[test]
fn both_boards_approve_with_the_union_of_conditions_and_an_expiry() {
    let mut s = Setting::new();
    let r = s.request(730);
    let b = s.iwi_board;
    let p = s.pacific_board;
    let [a, h, m, ..] = s.c.iwi.clone();
    s.w.ok(
        &a,
        IWI,
        approve_with(
            r,
            b,
            vec![
                Condition::ReportEvery { months: 6 },
                Condition::FindingsReturned,
            ],
        ),
    );
    s.w.ok(
        &h,
        IWI,
        approve_with(r, b, vec![Condition::OutputsReviewed]),
    );
    s.w.ok(&m, IWI, approve(r, b));
    let pac = s.c.pacific.clone();
    s.w.ok(
        &pac[0],
        PACIFIC,
        approve_with(
            r,
            p,
            vec![
                Condition::ExpiresAfterDays { days: 365 },
                Condition::FindingsReturned,
            ],
        ),
    );
    for x in &pac[1..4] {
        s.w.ok(x, PACIFIC, approve(r, p));
    }
    assert_eq!(s.w.status(&r), RequestStatus::Approved);
    let a = s.w.view(&r).record.unwrap().approval.unwrap();
    assert_eq!(
        a.conditions,
        vec![
            Condition::ReportEvery { months: 6 },
            Condition::OutputsReviewed,
            Condition::FindingsReturned,
            Condition::ExpiresAfterDays { days: 365 },
        ]
    );
    assert_eq!(
        a.expires_at,
        a.approved.at.plus_days(365),
        "the shorter of the asked and the allowed"
    );
    assert_eq!(s.w.status_at(&r, a.expires_at), RequestStatus::Expired);
}

/// A request that names no uses was checked against the use categories a
/// dataset excludes (through its own category), not against its use codes:
/// only the codes are listed for the boards to weigh.
#[test]
fn a_request_naming_no_uses_leaves_only_excluded_codes_unchecked() {
    let mut s = Setting::new();
    let (iwi, pac) = (s.iwi_board, s.pacific_board);
    let steward = s.c.steward.clone();
    let both = s.w.ok(
        &steward,
        AGENCY,
        dataset("Both", &[iwi, pac], &["commercial", "custom:insurance"]),
    );
    let categories = s.w.ok(
        &steward,
        AGENCY,
        dataset("Categories", &[iwi, pac], &["commercial", "evaluation"]),
    );
    let researcher = s.c.researcher.clone();
    let r = s.w.ok(
        &researcher,
        AGENCY,
        request("No uses named", &[both, categories], &[], 30),
    );
    let unchecked = s.w.view(&r).unchecked_exclusions;
    assert_eq!(unchecked.len(), 1, "{unchecked:?}");
    assert_eq!(unchecked[0].dataset, both);
    assert_eq!(unchecked[0].excluded, vec!["custom:insurance".to_owned()]);
}

#[test]
fn a_request_for_an_excluded_use_is_refused_with_the_reason() {
    let mut s = Setting::new();
    let data = s.data;
    let researcher = s.c.researcher.clone();
    let msg = s.w.refused(
        &researcher,
        AGENCY,
        request("Marketing", &[data], &["DUO:0000046"], 30),
        RejectionCode::ExcludedUse,
    );
    assert!(
        msg.contains("DUO:0000046") && msg.contains("Whānau Services"),
        "{msg}"
    );
    // A refused statement found in a log is listed as excluded, with its reason.
    let listed = lists::excluded(&s.w.store, None, 10).unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].kind, "request.submit");
    assert_eq!(listed.items[0].rejection.code, RejectionCode::ExcludedUse);
}

#[test]
fn votes_wait_for_the_community_notice_period() {
    let mut s = Setting::with_notice(14);
    let r = s.request(365);
    let whanau = s.c.whanau.clone();
    let q = s.w.ok(
        &whanau,
        AGENCY,
        question(r, "Will our kaumātua see the findings first?"),
    );
    let researcher = s.c.researcher.clone();
    s.w.ok(
        &researcher,
        AGENCY,
        answer(q, "Yes, at a hui before anything is published."),
    );
    let aroha = s.c.iwi[0].clone();
    let msg = s.w.refused(
        &aroha,
        IWI,
        approve(r, s.iwi_board),
        RejectionCode::NoticePeriod,
    );
    assert!(msg.contains("community comment"), "{msg}");
    assert_eq!(s.w.status(&r), RequestStatus::Submitted);
    s.w.days(14);
    s.iwi_approve(r, 3);
    assert_eq!(s.w.status(&r), RequestStatus::UnderReview);
    let view = s.w.view(&r);
    let kinds: Vec<_> = view.timeline.iter().map(|i| i.kind.name()).collect();
    assert!(
        kinds.starts_with(&["request.question", "request.answer", "vote"]),
        "{kinds:?}"
    );
}

#[test]
fn only_the_requester_answers_questions() {
    let mut s = Setting::new();
    let r = s.request(365);
    let whanau = s.c.whanau.clone();
    let q =
        s.w.ok(&whanau, AGENCY, question(r, "Who will see our data?"));
    s.w.refused(
        &whanau,
        AGENCY,
        answer(q, "Everyone"),
        RejectionCode::NotRequester,
    );
}

#[test]
fn a_vote_naming_another_kind_of_statement_as_its_body_is_a_wrong_reference() {
    let mut s = Setting::new();
    let r = s.request(365);
    let other = s.request(30);
    let tama = s.c.iwi[3].clone();
    let msg =
        s.w.refused(&tama, IWI, approve(r, other), RejectionCode::WrongReference);
    assert!(
        msg.contains("is a request.submit, not a body charter"),
        "{msg}"
    );
    // A board that exists but governs none of the request's datasets is
    // still told so.
    let outsiders = s.w.ok(
        &tama,
        IWI,
        charter(
            "Outsiders",
            IWI,
            &[&tama],
            DecisionRule::Threshold { k: 1 },
            0,
        ),
    );
    s.w.refused(
        &tama,
        IWI,
        approve(r, outsiders),
        RejectionCode::NotGoverningBody,
    );
}

#[test]
fn a_withdrawal_before_the_decision_stops_the_votes() {
    let mut s = Setting::new();
    let r = s.request(365);
    s.iwi_approve(r, 2);
    let researcher = s.c.researcher.clone();
    s.w.ok(&researcher, AGENCY, withdraw(r));
    assert_eq!(s.w.status(&r), RequestStatus::Withdrawn);
    let tama = s.c.iwi[3].clone();
    s.w.refused(
        &tama,
        IWI,
        approve(r, s.iwi_board),
        RejectionCode::RequestWithdrawn,
    );
    let whanau = s.c.whanau.clone();
    s.w.refused(&whanau, AGENCY, withdraw(r), RejectionCode::NotRequester);
}

#[test]
fn a_withdrawal_after_the_decision_is_refused() {
    let mut s = Setting::new();
    let r = s.approved_request(365);
    let researcher = s.c.researcher.clone();
    s.w.refused(
        &researcher,
        AGENCY,
        withdraw(r),
        RejectionCode::DecisionAlreadyReached,
    );
    s.w.ok(&researcher, AGENCY, report(r, ReportKind::Final));
}

#[test]
fn a_vote_that_arrives_before_its_request_waits_for_it() {
    let mut s = Setting::new();
    let data = s.data;
    let researcher = s.c.researcher.clone();
    let req_entry =
        s.w.entry(&researcher, AGENCY, request("Late", &[data], &[], 90));
    let r = req_entry.id;
    let aroha = s.c.iwi[0].clone();
    let vote_entry = s.w.entry(&aroha, IWI, approve(r, s.iwi_board));
    let v = vote_entry.id;
    let applied = s.w.put(vote_entry);
    assert_eq!(applied.verdict, Verdict::Pending { missing: r });
    let pending = lists::pending(&s.w.store, None, 10).unwrap();
    assert_eq!(pending.items.len(), 1);
    s.w.put(req_entry);
    assert_eq!(s.w.verdict(&v), Verdict::Valid);
    assert!(lists::pending(&s.w.store, None, 10)
        .unwrap()
        .items
        .is_empty());
}

#[test]
fn the_same_statement_twice_changes_nothing() {
    let mut s = Setting::new();
    let r = s.request(365);
    s.iwi_approve(r, 1);
    let before = s.w.hash();
    let last = s.w.log.last().unwrap().clone();
    let applied = kaitiaki_governance::apply(&last, &mut s.w.store).unwrap();
    assert!(applied.duplicate);
    assert_eq!(s.w.hash(), before);
    // Mirrored in another node's log, it still counts once.
    s.w.replicate(&last.id, AGENCY);
    let rec = s.w.view(&r).record.unwrap();
    assert_eq!(
        rec.decisions.iter().map(|d| d.tally.approve).sum::<u32>(),
        1
    );
}

#[test]
fn requests_list_by_status_dataset_body_and_requester_with_pagination() {
    let mut s = Setting::new();
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(s.request(365));
    }
    s.iwi_approve(ids[1], 3);
    s.pacific_approve(ids[1], 4);
    let now = s.w.now;
    let all = RequestFilter::default();
    let p1 = lists::requests(&s.w.store, &all, now, None, 2).unwrap();
    assert_eq!(p1.items.len(), 2);
    let p2 = lists::requests(&s.w.store, &all, now, p1.next.as_ref(), 10).unwrap();
    assert_eq!(p1.items.len() + p2.items.len(), 5);
    let approved = RequestFilter {
        status: Some(RequestStatus::Approved),
        ..Default::default()
    };
    let page = lists::requests(&s.w.store, &approved, now, None, 10).unwrap();
    assert_eq!(
        page.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![ids[1]]
    );
    let by_dataset_and_requester = RequestFilter {
        dataset: Some(s.data),
        requester: Some(s.c.researcher.kb()),
        status: Some(RequestStatus::Submitted),
        body: Some(s.pacific_board),
    };
    let page = lists::requests(&s.w.store, &by_dataset_and_requester, now, None, 10).unwrap();
    assert_eq!(page.items.len(), 4);
    let cursor = kaitiaki_governance::Cursor::from_hex(&p1.next.unwrap().to_hex()).unwrap();
    assert_eq!(
        lists::requests(&s.w.store, &all, now, Some(&cursor), 10).unwrap(),
        p2
    );
    assert_eq!(
        query::request(&s.w.store, &s.data, now).unwrap(),
        None,
        "a dataset is not a request"
    );
}

/// The iwi board lengthens its notice period by an amendment it votes on.
fn lengthen_iwi_notice(s: &mut Setting, days: u32) {
    let chair = s.c.iwi[0].clone();
    let amendment = s.w.ok(&chair, IWI, notice(s.iwi_board, days));
    s.iwi_approve(amendment, 3);
}

/// The community is given the notice in force when a request is submitted:
/// an amendment after that neither cuts its comment short nor holds its
/// votes longer, and the request's record says so.
#[test]
fn a_request_keeps_the_notice_period_it_was_submitted_under() {
    let mut s = Setting::new();
    let b = s.iwi_board;
    let iwi = s.c.iwi.clone();
    let without = s.request(365);
    lengthen_iwi_notice(&mut s, 14);
    // Submitted under no notice period, it is voted on at once.
    s.w.ok(&iwi[4], IWI, approve(without, b));
    let with = s.request(365);
    // Shortened again: the second request's comment still runs 14 days.
    lengthen_iwi_notice(&mut s, 0);
    s.w.days(1);
    let notice_until = |s: &Setting, r| {
        let record = s.w.view(&r).record.unwrap();
        record
            .decisions
            .iter()
            .find(|d| d.body == b)
            .unwrap()
            .notice_until
    };
    assert_eq!(notice_until(&s, without), None);
    assert!(notice_until(&s, with).is_some());

    s.w.ok(&iwi[3], IWI, approve(without, b));
    let msg =
        s.w.refused(&iwi[3], IWI, approve(with, b), RejectionCode::NoticePeriod);
    assert!(
        msg.contains(&notice_until(&s, with).unwrap().to_string())
            && msg.contains("in force when it was submitted"),
        "{msg}"
    );
    s.w.days(14);
    s.w.ok(&iwi[3], IWI, approve(with, b));

    let order: Vec<usize> = (0..s.w.log.len()).rev().collect();
    assert_eq!(
        kaitiaki_governance::recompute_state_hash(&s.w.refold(&order)),
        s.w.hash()
    );
}

#[test]
fn a_vote_on_a_closed_request_is_refused_as_closed_not_as_in_its_notice_period() {
    // As in the demo: requests decided or withdrawn under no notice period,
    // then the board lengthens its notice to 14 days. The requests are only
    // minutes old, so the notice check alone would call them still open.
    let mut s = Setting::new();
    let approved = s.approved_request(365);
    let declined = s.request(365);
    let b = s.iwi_board;
    let iwi = s.c.iwi.clone();
    for p in &iwi[..3] {
        s.w.ok(p, IWI, decline(declined, b, "Not for this purpose."));
    }
    assert_eq!(s.w.status(&declined), RequestStatus::Declined);
    let withdrawn = s.request(365);
    let researcher = s.c.researcher.clone();
    s.w.ok(&researcher, AGENCY, withdraw(withdrawn));
    lengthen_iwi_notice(&mut s, 14);

    let tama = iwi[3].clone();
    let msg = s.w.refused(
        &tama,
        IWI,
        approve(approved, b),
        RejectionCode::DecisionAlreadyReached,
    );
    assert!(
        msg.contains("already decided") && msg.contains("approved"),
        "{msg}"
    );
    let msg = s.w.refused(
        &tama,
        IWI,
        approve(declined, b),
        RejectionCode::DecisionAlreadyReached,
    );
    assert!(msg.contains("declined"), "{msg}");
    let msg = s.w.refused(
        &tama,
        IWI,
        approve(withdrawn, b),
        RejectionCode::RequestWithdrawn,
    );
    assert!(msg.contains("withdrew"), "{msg}");
    // An open request submitted now is still held to the new notice period.
    let open = s.request(365);
    s.w.refused(&tama, IWI, approve(open, b), RejectionCode::NoticePeriod);

    // The same statements folded in reverse give the same state, codes included.
    let order: Vec<usize> = (0..s.w.log.len()).rev().collect();
    assert_eq!(
        kaitiaki_governance::recompute_state_hash(&s.w.refold(&order)),
        s.w.hash()
    );
}

#[test]
fn a_vote_after_a_rahui_on_a_decided_request_is_refused_as_decided() {
    let mut s = Setting::new();
    let r = s.approved_request(365);
    let (b, d) = (s.iwi_board, s.data);
    let iwi = s.c.iwi.clone();
    s.w.ok(&iwi[0], IWI, rahui(b, d, None));
    s.w.refused(
        &iwi[4],
        IWI,
        approve(r, b),
        RejectionCode::DecisionAlreadyReached,
    );
}

#[test]
fn before_anyone_votes_every_member_is_yet_to_vote() {
    let mut s = Setting::new();
    let r = s.request(365);
    let tallies = |s: &Setting, r| {
        s.w.view(&r)
            .record
            .unwrap()
            .decisions
            .iter()
            .map(|d| {
                (
                    d.tally.approve,
                    d.tally.decline,
                    d.tally.abstain,
                    d.tally.not_voted,
                )
            })
            .collect::<Vec<_>>()
    };
    let iwi_first = s.iwi_board < s.pacific_board;
    let order = |iwi: (u32, u32, u32, u32), pac: (u32, u32, u32, u32)| {
        if iwi_first {
            vec![iwi, pac]
        } else {
            vec![pac, iwi]
        }
    };
    assert_eq!(tallies(&s, r), order((0, 0, 0, 5), (0, 0, 0, 5)));
    // One board starts: the other still has all five to vote (this vote
    // continues the request's fold rather than recomputing it).
    s.iwi_approve(r, 1);
    assert_eq!(tallies(&s, r), order((1, 0, 0, 4), (0, 0, 0, 5)));
    // A withdrawn request keeps the members who never voted as such.
    let w = s.request(365);
    let researcher = s.c.researcher.clone();
    s.w.ok(&researcher, AGENCY, withdraw(w));
    assert_eq!(tallies(&s, w), order((0, 0, 0, 5), (0, 0, 0, 5)));

    // Members added by an amendment count for requests submitted after it.
    let newcomer = Person::new("Kiri", 40);
    let b = s.iwi_board;
    let iwi = s.c.iwi.clone();
    let amendment = s.w.ok(&iwi[0], IWI, amend(b, &[&newcomer], &[], None));
    s.iwi_approve(amendment, 3);
    let later = s.request(365);
    assert_eq!(tallies(&s, later), order((0, 0, 0, 6), (0, 0, 0, 5)));
    assert_eq!(tallies(&s, w), order((0, 0, 0, 5), (0, 0, 0, 5)));

    // Whatever order the statements arrive in.
    let n = s.w.log.len();
    for order in [(0..n).rev().collect::<Vec<_>>(), {
        let mut o: Vec<usize> = (0..n).collect();
        o.rotate_left(n / 2);
        o
    }] {
        assert_eq!(
            kaitiaki_governance::recompute_state_hash(&s.w.refold(&order)),
            s.w.hash()
        );
    }
}

#[test]
fn a_requester_is_found_by_the_first_digits_of_their_key() {
    let mut s = Setting::new();
    s.request(365);
    let whanau = s.c.whanau.clone();
    let data = s.data;
    s.w.ok(&whanau, AGENCY, request("Our own study", &[data], &[], 30));
    let store = &s.w.store;
    let researcher = s.c.researcher.kb();
    let hex = researcher.to_hex();
    for digits in [8, 9, 64] {
        assert_eq!(
            lists::requesters_with_prefix(store, &hex[..digits], 2).unwrap(),
            vec![researcher],
            "{digits} digits"
        );
    }
    // No digits match every requester: two keys, so ambiguous.
    let mut both = vec![researcher, whanau.kb()];
    both.sort();
    assert_eq!(lists::requesters_with_prefix(store, "", 5).unwrap(), both);
    assert_eq!(
        lists::requesters_with_prefix(store, "", 1).unwrap().len(),
        1
    );
    // Someone who never asked for anything is not a requester.
    let steward = s.c.steward.kb().to_hex();
    assert!(lists::requesters_with_prefix(store, &steward[..8], 2)
        .unwrap()
        .is_empty());
    assert!(lists::requesters_with_prefix(store, "XYZ", 2)
        .unwrap()
        .is_empty());
}
