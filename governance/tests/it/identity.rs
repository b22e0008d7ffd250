//! Keys: announcement, rotation, revocation — and a revocation that arrives late.

use kaitiaki_governance::{query, RejectionCode, RequestStatus, Verdict};
use kaitiaki_protocol::statement::ReportKind;

use crate::fixture::*;

#[test]
fn an_announced_key_has_a_name_and_affiliation() {
    let mut w = World::new();
    let aroha = Person::new("Aroha", 1);
    w.ok(&aroha, IWI, announce("Aroha Ngata", "Ngāti Porou"));
    w.ok(&aroha, IWI, announce("Aroha Ngata-Smith", "Ngāti Porou"));
    let k = query::key(&w.store, &aroha.kb()).unwrap().unwrap();
    assert_eq!(
        k.display_name.as_deref(),
        Some("Aroha Ngata-Smith"),
        "the latest announcement is shown"
    );
    assert_eq!(k.affiliation.as_deref(), Some("Ngāti Porou"));
}

#[test]
fn a_short_id_finds_its_statement_and_its_kind() {
    let mut w = World::new();
    let aroha = Person::new("Aroha", 1);
    let first = w.ok(&aroha, IWI, announce("Aroha Ngata", "Ngāti Porou"));
    let second = w.ok(&aroha, IWI, announce("Aroha Ngata-Smith", "Ngāti Porou"));
    let hex = first.to_hex();
    let found = |prefix: &str| query::ids_starting(&w.store, prefix, 5).unwrap();
    for digits in [8, 9, 11, 64] {
        assert_eq!(
            found(&hex[..digits]),
            [(first, kaitiaki_protocol::Kind::KeyAnnounce)],
            "{digits} digits"
        );
    }
    // The other statement is found by its own prefix, not by this one.
    assert_eq!(found(&second.to_hex()[..8])[0].0, second);
    // Too short, not lowercase hex, or matching nothing: nothing.
    assert!(found(&hex[..7]).is_empty());
    assert!(found(&hex[..8].to_uppercase()).is_empty());
    assert!(found("zzzzzzzz").is_empty());
    let mut other = hex[..8].to_owned();
    other.push(if hex.as_bytes()[8] == b'0' { '1' } else { '0' });
    assert!(found(&other).is_empty(), "an odd last digit is matched too");
}

#[test]
fn a_rotated_members_new_key_votes_with_the_old_keys_authority() {
    let mut s = Setting::new();
    let hemi_new = Person::new("Hemi (new key)", 99);
    let r = s.request(365);
    let hemi = s.c.iwi[1].clone();
    s.w.ok(&hemi, AGENCY, rotate(&hemi, &hemi_new));
    // The old key no longer speaks…
    s.w.refused(
        &hemi,
        IWI,
        approve(r, s.iwi_board),
        RejectionCode::KeyRotated,
    );
    // …the new one speaks for Hemi's seat on the board.
    s.w.ok(&hemi_new, IWI, approve(r, s.iwi_board));
    let aroha = s.c.iwi[0].clone();
    let mere = s.c.iwi[2].clone();
    s.w.ok(&aroha, IWI, approve(r, s.iwi_board));
    s.w.ok(&mere, IWI, approve(r, s.iwi_board));
    let view = s.w.view(&r);
    let iwi = &view.record.unwrap().decisions[if s.iwi_board < s.pacific_board { 0 } else { 1 }];
    assert_eq!(iwi.tally.approve, 3);
    assert!(iwi.decision.is_some(), "three seats approved");
    // A second rotation of the old key is a later statement of a rotated key.
    let other = Person::new("Someone else", 98);
    s.w.refused(
        &hemi,
        AGENCY,
        rotate(&hemi, &other),
        RejectionCode::KeyRotated,
    );
}

/// A seat stays under the key it was given, but a member who rotated is
/// known by their new key: removing them by it removes their seat.
#[test]
fn removing_a_member_by_their_rotated_key_removes_their_seat() {
    let mut s = Setting::new();
    let b = s.iwi_board;
    let [a, h, m, t, _] = s.c.iwi.clone();
    let hemi_new = Person::new("Hemi (new key)", 77);
    s.w.ok(&h, AGENCY, rotate(&h, &hemi_new));
    let amendment = s.w.ok(&a, IWI, amend(b, &[], &[&hemi_new], None));
    for p in [&a, &m, &t] {
        s.w.ok(p, IWI, approve(amendment, b));
    }
    let members = query::members(&s.w.store, &b).unwrap();
    assert_eq!(members.len(), 4);
    assert!(
        !members.iter().any(|x| x.key == h.kb()),
        "Hemi's seat is gone"
    );
    let r = s.request(365);
    s.w.refused(&hemi_new, IWI, approve(r, b), RejectionCode::NotAMember);
    // Removing a key that holds no seat is a mistake worth saying so.
    let stranger = Person::new("Not a member", 78);
    s.w.refused(
        &a,
        IWI,
        amend(b, &[], &[&stranger], None),
        RejectionCode::InvalidAmendment,
    );
    // Learnt last of all, the rotation still makes the amendment name
    // Hemi's seat: the state is the same.
    let rotation =
        s.w.log
            .iter()
            .position(|e| matches!(e.statement.body, kaitiaki_protocol::Body::KeyRotate(_)));
    let rotation = rotation.expect("the rotation");
    let mut order: Vec<usize> = (0..s.w.log.len()).filter(|&i| i != rotation).collect();
    order.push(rotation);
    assert!(s.w.refold(&order) == s.w.store);
}

/// Who holds a seat now (what a node asks before serving a confidential
/// attachment): a member's own key, and their new key once they rotate to
/// it; not the key they rotated away from, not a revoked key, not a stranger.
#[test]
fn a_seat_is_held_by_the_members_current_key_only() {
    let mut s = Setting::new();
    let b = s.iwi_board;
    let [a, h, m, _, _] = s.c.iwi.clone();
    let holds = |s: &Setting, p: &Person| query::holds_seat(&s.w.store, &b, &p.kb()).unwrap();
    assert!(holds(&s, &a) && holds(&s, &h) && holds(&s, &m));
    let stranger = Person::new("Not a member", 79);
    assert!(!holds(&s, &stranger));
    let hemi_new = Person::new("Hemi (new key)", 80);
    s.w.ok(&h, AGENCY, rotate(&h, &hemi_new));
    assert!(
        holds(&s, &hemi_new),
        "the rotated member's new key holds the seat"
    );
    assert!(!holds(&s, &h), "the key rotated away from holds none");
    s.w.ok(&m, AGENCY, revoke("Phone stolen."));
    assert!(!holds(&s, &m), "a revoked key holds none");
    assert!(holds(&s, &a));
}

#[test]
fn a_revoked_key_s_later_statements_are_refused_and_earlier_ones_stand() {
    let mut s = Setting::new();
    let r = s.request(365);
    let aroha = s.c.iwi[0].clone();
    let before = s.w.ok(&aroha, IWI, approve(r, s.iwi_board));
    s.w.ok(&aroha, AGENCY, revoke("Phone stolen."));
    let msg = s.w.refused(
        &aroha,
        IWI,
        decline(r, s.iwi_board, "changed my mind"),
        RejectionCode::KeyRevoked,
    );
    assert!(msg.contains("revoked"), "{msg}");
    assert_eq!(
        s.w.verdict(&before),
        Verdict::Valid,
        "the vote before the revocation stands"
    );
}

#[test]
fn a_revocation_that_arrives_late_excludes_what_the_key_signed_after_it() {
    // The revocation is sequenced on the agency node *before* the stolen key
    // is used on the iwi node, but the iwi node's leaves replicate first.
    let mut s = Setting::new();
    let r = s.request(365);
    let aroha = s.c.iwi[0].clone();
    let revocation = s.w.entry(&aroha, AGENCY, revoke("Key compromised."));
    let forged = s.w.ok(&aroha, IWI, approve(r, s.iwi_board));
    s.iwi_approve_from(r, 1, 3);
    assert_eq!(s.w.status(&r), RequestStatus::UnderReview);
    let tally_before = s.w.view(&r).record.unwrap();
    assert!(
        tally_before.decisions.iter().any(|d| d.decision.is_some()),
        "three approvals decided the iwi board"
    );

    let applied = s.w.put(revocation);
    assert!(
        applied
            .changed
            .iter()
            .any(|(id, v)| *id == forged && !v.is_valid()),
        "{:?}",
        applied.changed
    );
    match s.w.verdict(&forged) {
        Verdict::Excluded { rejection } => assert_eq!(rejection.code, RejectionCode::KeyRevoked),
        other => panic!("{other:?}"),
    }
    let rec = s.w.view(&r).record.unwrap();
    assert!(
        rec.decisions.iter().all(|d| d.decision.is_none()),
        "two approvals are not three"
    );
    // And the state is the same as if it had arrived in order.
    let n = s.w.log.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.swap(n - 1, n - 5);
    assert_eq!(
        kaitiaki_governance::state_hash(&s.w.refold(&order)).unwrap(),
        s.w.hash()
    );
}

#[test]
fn a_requester_who_rotates_keeps_their_request() {
    let mut s = Setting::new();
    let r = s.approved_request(365);
    let new = Person::new("Researcher (new key)", 97);
    let old = s.c.researcher.clone();
    s.w.ok(&old, AGENCY, rotate(&old, &new));
    s.w.ok(&new, AGENCY, report(r, ReportKind::Periodic));
    s.w.refused(
        &old,
        AGENCY,
        report(r, ReportKind::Periodic),
        RejectionCode::KeyRotated,
    );
}

impl Setting {
    /// Iwi members `from..to` approve.
    pub fn iwi_approve_from(&mut self, r: kaitiaki_protocol::StatementId, from: usize, to: usize) {
        for i in from..to {
            let p = self.c.iwi[i].clone();
            let b = self.iwi_board;
            self.w.ok(&p, IWI, approve(r, b));
        }
    }
}
