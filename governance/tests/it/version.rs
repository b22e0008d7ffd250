//! The state version guard: a scenario that leaves entries in every table,
//! its state hash pinned to [`STATE_VERSION`].
//!
//! A change to the governance crate that makes the same statements leave
//! different tables — a rule, a key, an encoding, a refusal's words — fails
//! here. Raise `STATE_VERSION` with it (nodes then rebuild their stored
//! state, and audits stop comparing states of different versions) and pin
//! the new hash beside the new number.

use kaitiaki_governance::{RejectionCode, Table, Verdict, STATE_VERSION};
use kaitiaki_protocol::statement::{ApprovalAction, Choice, Condition, DecisionRule, ReportKind};

use crate::fixture::*;

/// A story that touches every table and leaves something in each.
fn every_table() -> Setting {
    let mut s = Setting::with_notice(2);
    let (b, p, data) = (s.iwi_board, s.pacific_board, s.data);
    let researcher = s.c.researcher.clone();
    let whanau = s.c.whanau.clone();
    let iwi = s.c.iwi.clone();
    let pacific = s.c.pacific.clone();

    s.w.ok(&whanau, AGENCY, announce("Whānau member", "Marae"));
    // A request approved with conditions, reported on, its output reviewed.
    let r = s.request(365);
    let q =
        s.w.ok(&whanau, AGENCY, question(r, "Who sees the linked records?"));
    s.w.ok(&researcher, AGENCY, answer(q, "Two analysts, in the lab."));
    s.w.days(2);
    s.approve_with_reports(r);
    s.w.days(190);
    let rep = s.w.ok(&researcher, AGENCY, report(r, ReportKind::Periodic));
    s.w.ok(&iwi[1], IWI, review(rep, b, true));
    let out = s.w.ok(&researcher, AGENCY, output(r, "Reach by region"));
    s.w.ok(&iwi[2], IWI, output_review(out, b, true));
    s.w.ok(&researcher, AGENCY, renew(r, 90));
    let suspend = s.w.ok(&iwi[0], IWI, motion(r, b, ApprovalAction::Suspend));
    // Refusals keep their words in the state: one of each kind of ballot
    // that conditions do not fit.
    s.w.refused(
        &iwi[1],
        IWI,
        approve_listing(suspend, b, vec![Condition::FinalReport]),
        RejectionCode::ConditionsMismatch,
    );
    s.w.refused(
        &iwi[2],
        IWI,
        approve_with(suspend, b, vec![Condition::FinalReport]),
        RejectionCode::ConditionsMismatch,
    );

    // A second request still under deliberation, with a concern open.
    let open = s.request(30);
    s.w.days(3);
    s.w.ok(
        &iwi[3],
        IWI,
        vote(open, b, Choice::Abstain, "Waiting to hear more."),
    );
    let c = s.w.ok(
        &whanau,
        AGENCY,
        concern(open, "Our kaumātua were not asked."),
    );
    s.w.ok(&pacific[0], PACIFIC, respond(c, p, false));
    // A vote that names a request where its board belongs.
    s.w.refused(
        &iwi[3],
        IWI,
        vote(open, r, Choice::Approve, "The wrong id."),
        RejectionCode::WrongReference,
    );

    // A rāhui on the dataset, and a refused statement with its words.
    s.w.ok(&iwi[4], IWI, rahui(b, data, None));
    s.w.refused(
        &whanau,
        IWI,
        vote(open, b, Choice::Approve, "I support it."),
        RejectionCode::NotAMember,
    );

    // A board member rotates her key; a dataset waits for its second board.
    let new_key = Person::new("Aroha (new key)", 40);
    s.w.ok(&iwi[0], IWI, rotate(&iwi[0], &new_key));
    let unknown_board = {
        let stranger = Person::new("Stranger", 41);
        let mut other = World::new();
        other.ok(
            &stranger,
            "elsewhere.example",
            charter(
                "Unseen Board",
                "elsewhere.example",
                &[&stranger],
                DecisionRule::Threshold { k: 1 },
                0,
            ),
        )
    };
    let steward = s.c.steward.clone();
    let (_, waits) = s.w.say(
        &steward,
        AGENCY,
        dataset("Later Records", &[b, unknown_board], &[]),
    );
    assert_eq!(
        waits,
        Verdict::Pending {
            missing: unknown_board
        }
    );
    s
}

#[test]
fn the_scenario_leaves_entries_in_every_table() {
    let s = every_table();
    let empty: Vec<&str> = Table::ALL
        .iter()
        .filter(|t| s.w.store.len(**t) == 0)
        .map(|t| t.name())
        .collect();
    assert!(
        empty.is_empty(),
        "tables the scenario leaves empty: {empty:?}"
    );
}

/// The state version, and the hash the scenario folds to under it. When
/// the rules change the hash, raise `STATE_VERSION` and pin both here;
/// when only the scenario changes, only the hash.
const PINNED: (u32, &str) = (
    4,
    "fb48ddeab36d59772804250c6ff535e0b1207d82cfc7b85ae6a995c8d6af8127",
);

#[test]
fn the_scenarios_state_hash_is_pinned_to_the_state_version() {
    let hash: String = every_table()
        .w
        .hash()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        PINNED,
        (STATE_VERSION, hash.as_str()),
        "the same statements now give state hash {hash} under state version {STATE_VERSION}: \
         if the rules changed, raise STATE_VERSION and pin it with this hash; if only the \
         scenario did, pin this hash"
    );
}
