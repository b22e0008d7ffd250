//! Bodies deciding: thresholds, quorums, consensus, amendments, home logs.

use kaitiaki_governance::rules::Outcome;
use kaitiaki_governance::{query, RejectionCode, RequestStatus, Verdict};
use kaitiaki_protocol::statement::{Choice, Condition, DecisionRule};

use crate::fixture::*;

fn iwi_decision(
    s: &Setting,
    r: &kaitiaki_protocol::StatementId,
) -> kaitiaki_governance::requests::BodyDecision {
    let rec = s.w.view(r).record.unwrap();
    rec.decisions
        .into_iter()
        .find(|d| d.body == s.iwi_board)
        .unwrap()
}

#[test]
fn an_exact_threshold_approves_at_the_kth_approval() {
    let mut s = Setting::new();
    let r = s.request(365);
    s.iwi_approve(r, 2);
    assert!(
        iwi_decision(&s, &r).decision.is_none(),
        "two of five is not three"
    );
    let tama = s.c.iwi[3].clone();
    let decisive = s.w.ok(&tama, IWI, approve(r, s.iwi_board));
    let d = iwi_decision(&s, &r).decision.unwrap();
    assert_eq!(d.outcome, Outcome::Approved);
    assert_eq!(
        d.vote, decisive,
        "decided the moment the rule was satisfied"
    );
    assert_eq!(d.tally.approve, 3);
}

#[test]
fn a_vote_after_the_decision_is_refused() {
    let mut s = Setting::new();
    let r = s.request(365);
    s.iwi_approve(r, 3);
    let wiremu = s.c.iwi[4].clone();
    let msg = s.w.refused(
        &wiremu,
        IWI,
        decline(r, s.iwi_board, "too late"),
        RejectionCode::DecisionAlreadyReached,
    );
    assert!(msg.contains("approved"), "{msg}");
}

#[test]
fn a_member_may_change_their_vote_until_the_decision() {
    let mut s = Setting::new();
    let r = s.request(365);
    let [a, h, m, t, wi] = s.c.iwi.clone();
    let b = s.iwi_board;
    s.w.ok(&a, IWI, decline(r, b, "Not yet convinced."));
    s.w.ok(&h, IWI, decline(r, b, "Too broad."));
    s.w.ok(&a, IWI, approve(r, b));
    s.w.ok(&m, IWI, approve(r, b));
    assert!(iwi_decision(&s, &r).decision.is_none());
    s.w.ok(&t, IWI, approve(r, b));
    assert_eq!(
        iwi_decision(&s, &r).decision.unwrap().outcome,
        Outcome::Approved
    );
    s.w.refused(
        &wi,
        IWI,
        approve(r, b),
        RejectionCode::DecisionAlreadyReached,
    );
}

#[test]
fn a_threshold_out_of_reach_declines() {
    let mut s = Setting::new();
    let r = s.request(365);
    let b = s.iwi_board;
    for p in s.c.iwi.clone().iter().take(3) {
        s.w.ok(p, IWI, decline(r, b, "The linkage is not acceptable."));
    }
    // Three declines of five: three approvals can no longer be reached.
    assert_eq!(
        iwi_decision(&s, &r).decision.unwrap().outcome,
        Outcome::Declined
    );
    assert_eq!(s.w.status(&r), RequestStatus::Declined);
}

#[test]
fn quorum_not_reached_leaves_the_request_under_review() {
    let mut s = Setting::new();
    let r = s.request(365);
    s.pacific_approve(r, 3);
    let rec = s.w.view(&r).record.unwrap();
    let pac = rec
        .decisions
        .iter()
        .find(|d| d.body == s.pacific_board)
        .unwrap();
    assert_eq!(pac.tally.approve, 3);
    assert!(
        pac.decision.is_none(),
        "three votes do not make a quorum of four"
    );
    assert_eq!(s.w.status(&r), RequestStatus::UnderReview);
    // An abstention makes the quorum, and approvals outnumber declines.
    let ioane = s.c.pacific[4].clone();
    s.w.ok(
        &ioane,
        PACIFIC,
        vote(
            r,
            s.pacific_board,
            Choice::Abstain,
            "I am related to the researcher.",
        ),
    );
    let rec = s.w.view(&r).record.unwrap();
    let pac = rec
        .decisions
        .iter()
        .find(|d| d.body == s.pacific_board)
        .unwrap();
    assert_eq!(pac.decision.as_ref().unwrap().outcome, Outcome::Approved);
}

#[test]
fn consensus_fails_on_one_objection() {
    let mut w = World::new();
    let c = Cast::new();
    let members: Vec<&Person> = c.pacific.iter().collect();
    let fono = w.ok(
        &c.pacific[0],
        PACIFIC,
        charter(
            "Fono",
            PACIFIC,
            &members,
            DecisionRule::Consensus { quorum: 3 },
            0,
        ),
    );
    let data = w.ok(&c.steward, AGENCY, dataset("Health", &[fono], &[]));
    let r = w.ok(&c.researcher, AGENCY, request("Study", &[data], &[], 90));
    w.ok(&c.pacific[0], PACIFIC, approve(r, fono));
    w.ok(&c.pacific[1], PACIFIC, approve(r, fono));
    w.ok(
        &c.pacific[2],
        PACIFIC,
        decline(r, fono, "Our families were not asked."),
    );
    assert_eq!(w.status(&r), RequestStatus::Declined);
}

/// Consensus is agreement without objection: a quorum of abstentions
/// agrees to nothing, so at least one member must approve.
#[test]
fn consensus_needs_at_least_one_approval() {
    let mut w = World::new();
    let c = Cast::new();
    let [a, h, m, _, _] = c.iwi.clone();
    let body = w.ok(
        &a,
        IWI,
        charter(
            "Rōpū",
            IWI,
            &[&a, &h, &m],
            DecisionRule::Consensus { quorum: 2 },
            0,
        ),
    );
    let d = w.ok(&c.steward, AGENCY, dataset("Health", &[body], &[]));
    let study = |w: &mut World| w.ok(&c.researcher, AGENCY, request("Study", &[d], &[], 30));
    let abstain = |r, why| vote(r, body, Choice::Abstain, why);

    // Two abstentions make the quorum but not consent; the last member's
    // objection still counts.
    let r = study(&mut w);
    w.ok(&a, IWI, abstain(r, "A conflict of interest."));
    w.ok(&h, IWI, abstain(r, "Not enough information."));
    assert_eq!(w.status(&r), RequestStatus::UnderReview);
    w.ok(&m, IWI, decline(r, body, "Our families were not asked."));
    assert_eq!(w.status(&r), RequestStatus::Declined);

    // When every member abstains, consent can no longer be reached.
    let r = study(&mut w);
    for p in [&a, &h, &m] {
        w.ok(p, IWI, abstain(r, "We leave this to others."));
    }
    assert_eq!(w.status(&r), RequestStatus::Declined);

    // One approval and an abstention, with no objection, is consent.
    let r = study(&mut w);
    w.ok(&a, IWI, abstain(r, "A conflict of interest."));
    w.ok(&h, IWI, approve(r, body));
    assert_eq!(w.status(&r), RequestStatus::Approved);
}

#[test]
fn votes_count_only_in_the_body_s_home_log() {
    let mut s = Setting::new();
    let r = s.request(365);
    let aroha = s.c.iwi[0].clone();
    let e = s.w.entry(&aroha, AGENCY, approve(r, s.iwi_board));
    match kaitiaki_governance::check(&e, &s.w.store) {
        Err(kaitiaki_governance::CheckError::Rejected(rej)) => {
            assert_eq!(rej.code, RejectionCode::WrongHomeLog);
            assert_eq!(
                rej.home_log.as_deref(),
                Some(IWI),
                "the rejection names the right log"
            );
        }
        other => panic!("{other:?}"),
    }
    let id = e.id;
    s.w.put(e);
    assert!(!s.w.verdict(&id).is_valid());
    // The same signed vote, replicated from the home log, counts.
    s.w.replicate(&id, IWI);
    assert_eq!(s.w.verdict(&id), Verdict::Valid);
}

/// A node may not sequence a body's statement outside the home log even
/// when the home log already holds it: followers that do not hold the home
/// log would see only that copy, and the node would be breaking the rule.
#[test]
fn a_copy_of_a_home_log_statement_is_refused_elsewhere() {
    let mut s = Setting::new();
    let r = s.request(365);
    let aroha = s.c.iwi[0].clone();
    let id = s.w.ok(&aroha, IWI, approve(r, s.iwi_board));
    let original =
        s.w.log
            .iter()
            .find(|e| e.id == id)
            .expect("the vote")
            .clone();
    let copy = kaitiaki_governance::Entry {
        log: AGENCY.into(),
        index: 1000,
        ..original.clone()
    };
    let wrong_home = |result: Result<(), kaitiaki_governance::CheckError>| match result {
        Err(kaitiaki_governance::CheckError::Rejected(rej)) => {
            assert_eq!(rej.code, RejectionCode::WrongHomeLog, "{}", rej.message);
            assert_eq!(rej.home_log.as_deref(), Some(IWI));
        }
        other => panic!("{other:?}"),
    };
    wrong_home(kaitiaki_governance::check(&copy, &s.w.store));
    let before = s.w.hash();
    wrong_home(kaitiaki_governance::admit(&copy, &mut s.w.store).map(|_| ()));
    assert_eq!(s.w.hash(), before, "a refused admission writes nothing");
    // Folded in as a mirror's leaf, the copy changes nothing: the vote counts.
    kaitiaki_governance::apply(&copy, &mut s.w.store).expect("the store works");
    assert_eq!(s.w.verdict(&id), Verdict::Valid);
    // The home log may still take it again (a re-sequencing there is a
    // duplicate the node answers itself).
    let again = kaitiaki_governance::Entry {
        index: 1001,
        ..original
    };
    assert!(kaitiaki_governance::check(&again, &s.w.store).is_ok());
}

#[test]
fn a_non_member_cannot_vote() {
    let mut s = Setting::new();
    let r = s.request(365);
    let sione = s.c.pacific[0].clone();
    s.w.refused(
        &sione,
        IWI,
        approve(r, s.iwi_board),
        RejectionCode::NotAMember,
    );
}

#[test]
fn a_charter_outside_its_home_log_does_not_found_a_body() {
    let mut w = World::new();
    let c = Cast::new();
    let msg = w.refused(
        &c.iwi[0],
        AGENCY,
        charter(
            "Board",
            IWI,
            &[&c.iwi[0]],
            DecisionRule::Threshold { k: 1 },
            0,
        ),
        RejectionCode::WrongHomeLog,
    );
    assert!(msg.contains(IWI), "{msg}");
}

/// Which charter governs a request whose deliberation spans an amendment:
/// each vote, and the tally after it, under the version in force at that
/// vote's place in the home log.
#[test]
fn a_request_spanning_an_amendment_is_judged_vote_by_vote_by_the_charter_in_force() {
    let mut s = Setting::new();
    let r = s.request(365);
    let [a, h, m, t, wi] = s.c.iwi.clone();
    let newcomer = Person::new("Kiri", 40);
    let b = s.iwi_board;
    // Wiremu approves, then leaves the board; Kiri joins and the threshold drops to 2.
    s.w.ok(&wi, IWI, approve(r, b));
    s.w.ok(&a, IWI, approve(r, b));
    let amendment = s.w.ok(
        &a,
        IWI,
        amend(
            b,
            &[&newcomer],
            &[&wi],
            Some(DecisionRule::Threshold { k: 2 }),
        ),
    );
    s.w.ok(&a, IWI, approve(amendment, b));
    s.w.ok(&h, IWI, approve(amendment, b));
    // Not yet: the amendment needs three of five under the founding charter.
    assert_eq!(query::members(&s.w.store, &b).unwrap().len(), 5);
    s.w.ok(&m, IWI, approve(amendment, b));
    let members = query::members(&s.w.store, &b).unwrap();
    assert_eq!(members.len(), 5, "one left, one joined");
    assert!(members.iter().any(|x| x.key == newcomer.kb()));
    // The amendment did not decide the request by itself…
    assert!(iwi_decision(&s, &r).decision.is_none());
    // …Wiremu no longer counts, and Kiri's approval makes two of the new threshold.
    s.w.refused(&wi, IWI, approve(r, b), RejectionCode::NotAMember);
    s.w.ok(&newcomer, IWI, approve(r, b));
    let d = iwi_decision(&s, &r).decision.unwrap();
    assert_eq!(d.outcome, Outcome::Approved);
    assert_eq!(
        d.tally.approve, 2,
        "Aroha and Kiri; Wiremu's earlier vote is dropped"
    );
    let _ = t;
    let body = query::body(&s.w.store, &b).unwrap().unwrap();
    assert_eq!(body.versions.len(), 2);
    assert_eq!(body.versions[1].rule, DecisionRule::Threshold { k: 2 });
}

#[test]
fn an_amendment_leaving_no_members_is_refused() {
    let mut w = World::new();
    let c = Cast::new();
    let b = w.ok(
        &c.iwi[0],
        IWI,
        charter(
            "Solo",
            IWI,
            &[&c.iwi[0]],
            DecisionRule::Threshold { k: 1 },
            0,
        ),
    );
    w.refused(
        &c.iwi[0],
        IWI,
        amend(b, &[], &[&c.iwi[0]], None),
        RejectionCode::InvalidAmendment,
    );
}

/// An amendment may not leave a rule the remaining members can never
/// meet: the body could then never act again, not even to amend itself.
#[test]
fn an_amendment_that_leaves_the_rule_out_of_reach_is_refused() {
    let mut s = Setting::new();
    let b = s.iwi_board;
    let [a, _, m, t, wi] = s.c.iwi.clone();
    // Three of five leave and the threshold stays at three: two could never act.
    let msg = s.w.refused(
        &a,
        IWI,
        amend(b, &[], &[&m, &t, &wi], None),
        RejectionCode::InvalidAmendment,
    );
    assert!(msg.contains("2 members") && msg.contains("3"), "{msg}");
    // Raising the threshold above the membership is refused the same way…
    s.w.refused(
        &a,
        IWI,
        amend(b, &[], &[], Some(DecisionRule::Threshold { k: 6 })),
        RejectionCode::InvalidAmendment,
    );
    // …and so is a quorum no one could make.
    let p = s.pacific_board;
    let sione = s.c.pacific[0].clone();
    s.w.refused(
        &sione,
        PACIFIC,
        amend(p, &[], &[], Some(DecisionRule::Consensus { quorum: 6 })),
        RejectionCode::InvalidAmendment,
    );
    // The same departures with a threshold the two can meet are fine, and
    // the smaller board goes on deciding.
    let fix = s.w.ok(
        &a,
        IWI,
        amend(
            b,
            &[],
            &[&m, &t, &wi],
            Some(DecisionRule::Threshold { k: 2 }),
        ),
    );
    s.iwi_approve(fix, 3);
    assert_eq!(query::members(&s.w.store, &b).unwrap().len(), 2);
    let r = s.request(365);
    s.iwi_approve(r, 2);
    assert_eq!(
        iwi_decision(&s, &r).decision.unwrap().outcome,
        Outcome::Approved
    );
}

#[test]
fn conditions_on_a_vote_on_an_amendment_are_refused() {
    let mut s = Setting::new();
    let b = s.iwi_board;
    let [a, _, _, _, wi] = s.c.iwi.clone();
    let amendment = s.w.ok(&a, IWI, amend(b, &[], &[&wi], None));
    let msg = s.w.refused(
        &a,
        IWI,
        approve_with(amendment, b, vec![Condition::FinalReport]),
        RejectionCode::ConditionsMismatch,
    );
    assert!(msg.contains("votes on requests"), "{msg}");
    let msg = s.w.refused(
        &a,
        IWI,
        approve_listing(amendment, b, vec![Condition::FinalReport]),
        RejectionCode::ConditionsMismatch,
    );
    assert!(
        msg.contains("not on an amendment") && msg.contains("remove them"),
        "{msg}"
    );
}

#[test]
fn conditions_come_only_with_approve_with_conditions() {
    let mut s = Setting::new();
    let r = s.request(365);
    let aroha = s.c.iwi[0].clone();
    s.w.refused(
        &aroha,
        IWI,
        approve_with(r, s.iwi_board, vec![]),
        RejectionCode::ConditionsMismatch,
    );
}
