//! Rāhui: approvals suspended while in force, resumed after; no new approvals meanwhile.

use kaitiaki_governance::lists;
use kaitiaki_governance::{RejectionCode, RequestStatus};

use crate::fixture::*;

#[test]
fn a_rahui_placed_while_approved_suspends_and_lifting_it_resumes() {
    let mut s = Setting::new();
    let r = s.approved_request(365);
    let aroha = s.c.iwi[0].clone();
    let (b, d) = (s.iwi_board, s.data);
    let rahui_id = s.w.ok(&aroha, IWI, rahui(b, d, None));
    assert_eq!(s.w.status(&r), RequestStatus::Suspended);
    let listed = lists::rahui_in_force(&s.w.store, s.w.now, None, 10).unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].dataset_name, "Whānau Services");
    s.w.days(10);
    let hemi = s.c.iwi[1].clone();
    s.w.ok(&hemi, IWI, lift(rahui_id));
    assert_eq!(s.w.status(&r), RequestStatus::Approved);
    assert!(lists::rahui_in_force(&s.w.store, s.w.now, None, 10)
        .unwrap()
        .items
        .is_empty());
    s.w.refused(
        &aroha,
        IWI,
        lift(rahui_id),
        RejectionCode::RahuiAlreadyLifted,
    );
}

#[test]
fn a_rahui_blocks_new_approvals_from_every_governing_body() {
    let mut s = Setting::new();
    let r = s.request(365);
    let aroha = s.c.iwi[0].clone();
    let (b, d) = (s.iwi_board, s.data);
    assert!(s.w.view(&r).votes_paused_by.is_empty(), "no rāhui yet");
    let placed = s.w.ok(&aroha, IWI, rahui(b, d, None));
    // The rāhui is the iwi board's, but it holds for the Pacific board too.
    let sione = s.c.pacific[0].clone();
    let msg = s.w.refused(
        &sione,
        PACIFIC,
        approve(r, s.pacific_board),
        RejectionCode::RahuiInForce,
    );
    assert!(msg.contains("Whānau Services"), "{msg}");
    // The request's view says why no board can vote, before anyone tries;
    // it is not a suspension, which only an approval can have.
    let view = s.w.view(&r);
    assert!(view.suspended_by.is_empty(), "{:?}", view.suspended_by);
    assert!(
        matches!(
            view.votes_paused_by.as_slice(),
            [kaitiaki_governance::query::SuspendedBy::Rahui { rahui, dataset, .. }]
                if *rahui == placed && *dataset == d
        ),
        "{:?}",
        view.votes_paused_by
    );
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["votes_paused_by"][0]["kind"], "rahui", "{json}");
    // Lifted, the votes may go on.
    s.w.days(1);
    s.w.ok(&aroha, IWI, lift(placed));
    assert!(s.w.view(&r).votes_paused_by.is_empty());
}

#[test]
fn a_rahui_ends_by_itself_at_its_date_and_an_expired_approval_stays_expired() {
    let mut s = Setting::new();
    let r = s.approved_request(30);
    let aroha = s.c.iwi[0].clone();
    let (b, d) = (s.iwi_board, s.data);
    let until = s.w.now.plus_days(10);
    let ended = s.w.ok(&aroha, IWI, rahui(b, d, Some(until)));
    assert_eq!(s.w.status(&r), RequestStatus::Suspended);
    assert_eq!(
        s.w.status_at(&r, until),
        RequestStatus::Approved,
        "resumes at the rāhui's end date"
    );
    let other = s.approved_request_later(until);
    assert_eq!(s.w.status(&other), RequestStatus::Approved);
    // Over at its end, it is not lifted after.
    let hemi = s.c.iwi[1].clone();
    let msg =
        s.w.refused(&hemi, IWI, lift(ended), RejectionCode::RahuiAlreadyLifted);
    assert!(msg.contains("already ended at"), "{msg}");
    // A long rāhui outlasting the approval: it does not come back.
    let long = s.w.now.plus_days(100);
    s.w.ok(&aroha, IWI, rahui(b, d, Some(long)));
    assert_eq!(s.w.status(&r), RequestStatus::Suspended);
    assert_eq!(s.w.status_at(&r, long), RequestStatus::Expired);
}

#[test]
fn only_a_governing_body_member_places_a_rahui_in_its_home_log() {
    let mut s = Setting::new();
    let (b, d) = (s.iwi_board, s.data);
    let whanau = s.c.whanau.clone();
    s.w.refused(&whanau, IWI, rahui(b, d, None), RejectionCode::NotAMember);
    let aroha = s.c.iwi[0].clone();
    s.w.refused(
        &aroha,
        AGENCY,
        rahui(b, d, None),
        RejectionCode::WrongHomeLog,
    );
}

#[test]
fn a_rahui_that_replicates_late_refuses_the_votes_cast_under_it() {
    let mut s = Setting::new();
    let r = s.request(365);
    let aroha = s.c.iwi[0].clone();
    let (b, d) = (s.iwi_board, s.data);
    let placed = s.w.entry(&aroha, IWI, rahui(b, d, None));
    // The Pacific node has not yet seen the rāhui and its members vote.
    s.pacific_approve(r, 4);
    let before = s.w.view(&r).record.unwrap();
    assert!(before.decisions.iter().any(|x| x.decision.is_some()));
    s.w.put(placed);
    let after = s.w.view(&r).record.unwrap();
    assert!(
        after.decisions.iter().all(|x| x.decision.is_none()),
        "no approval under rāhui"
    );
}

impl Setting {
    /// A second request, approved after `at`.
    pub fn approved_request_later(
        &mut self,
        at: kaitiaki_protocol::Timestamp,
    ) -> kaitiaki_protocol::StatementId {
        if self.w.now < at {
            self.w.now = at;
        }
        self.approved_request(365)
    }
}

#[test]
fn a_suspended_request_names_the_rahui_and_the_motion_that_pause_it() {
    use kaitiaki_governance::query::SuspendedBy;
    use kaitiaki_protocol::statement::ApprovalAction;
    let mut s = Setting::new();
    let r = s.approved_request(365);
    assert!(
        s.w.view(&r).suspended_by.is_empty(),
        "approved: nothing pauses it"
    );
    let iwi = s.c.iwi.clone();
    let (b, d) = (s.iwi_board, s.data);
    let placed = s.w.ok(&iwi[0], IWI, rahui(b, d, None));
    let view = s.w.view(&r);
    assert_eq!(view.status, Some(RequestStatus::Suspended));
    assert!(view.votes_paused_by.is_empty(), "decided: no vote to pause");
    match view.suspended_by.as_slice() {
        [SuspendedBy::Rahui {
            rahui,
            dataset,
            body,
            reason,
            since,
            until: None,
        }] => {
            assert_eq!((*rahui, *dataset, *body), (placed, d, b));
            assert!(reason.contains("A death in the community"), "{reason}");
            assert_eq!(since.log, IWI);
        }
        other => panic!("{other:?}"),
    }
    // The Pacific board also suspends the approval by motion.
    let pac = s.c.pacific.clone();
    let p = s.pacific_board;
    let m =
        s.w.ok(&pac[0], PACIFIC, motion(r, p, ApprovalAction::Suspend));
    for x in &pac[..4] {
        s.w.ok(x, PACIFIC, approve(m, p));
    }
    let view = s.w.view(&r);
    assert_eq!(view.suspended_by.len(), 2, "{:?}", view.suspended_by);
    assert!(matches!(
        &view.suspended_by[1],
        SuspendedBy::Motion { motion, body, reason, .. }
            if *motion == m && *body == p && reason.contains("no-linkage")
    ));
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["suspended_by"][0]["kind"], "rahui");
    assert_eq!(json["suspended_by"][1]["kind"], "motion");
    // Lifting the rāhui leaves the motion as the one cause.
    s.w.days(3);
    s.w.ok(&iwi[1], IWI, lift(placed));
    let view = s.w.view(&r);
    assert_eq!(view.status, Some(RequestStatus::Suspended));
    assert!(matches!(
        view.suspended_by.as_slice(),
        [SuspendedBy::Motion { .. }]
    ));
    // A rāhui on a request not yet approved pauses votes, not access: not a suspension.
    let open = s.request(365);
    s.w.ok(&iwi[0], IWI, rahui(b, d, None));
    assert!(s.w.view(&open).suspended_by.is_empty());
}
