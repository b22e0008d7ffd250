//! Several logs folded in the orders different nodes see them: each node
//! applies its own log and mirrors of its peers' logs, so statements from
//! different logs arrive interleaved in any way. Every order must give the
//! same store, byte for byte.

use kaitiaki_governance::{apply, query, recompute_state_hash, state_hash, Entry, MemStore};
use kaitiaki_protocol::statement::{Condition, ReportKind};
use proptest::prelude::*;

use crate::fixture::*;
use crate::properties::{diff, entries, op, shuffled};

fn fold<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> MemStore {
    let mut s = MemStore::new();
    for e in entries {
        apply(e, &mut s).expect("the store works");
    }
    s
}

/// The entries of `logs`, one log after another, each in its own order.
fn log_by_log(es: &[Entry], logs: &[&str]) -> Vec<Entry> {
    logs.iter()
        .flat_map(|l| es.iter().filter(move |e| e.log == *l).cloned())
        .collect()
}

/// A request submitted at the agency, then the iwi board lengthening its
/// notice period on its own node, then a second request. The notice in
/// force when each request was submitted is what its record shows, whether
/// the iwi node's log is folded before or after the agency's.
#[test]
fn a_notice_period_amended_on_another_log_gives_the_same_state_in_any_log_order() {
    let mut s = Setting::new();
    let before = s.request(365);
    let [a, h, m, ..] = s.c.iwi.clone();
    let b = s.iwi_board;
    let amendment = s.w.ok(&a, IWI, notice(b, 14));
    for p in [&a, &h, &m] {
        s.w.ok(p, IWI, approve(amendment, b));
    }
    s.w.days(1);
    let after = s.request(365);

    let notice_of = |store: &MemStore, r| {
        let view = query::request(store, r, s.w.now).unwrap().unwrap();
        let rec = view.record.unwrap();
        let d = rec.decisions.iter().find(|d| d.body == b).unwrap();
        (rec.submitted.at, d.notice_until)
    };
    // The first request was submitted while there was no notice period.
    assert_eq!(notice_of(&s.w.store, &before).1, None);
    let (at, until) = notice_of(&s.w.store, &after);
    assert_eq!(until, Some(at.plus_days(14)));

    let sorted = s.w.store.clone();
    let hash = state_hash(&sorted).unwrap();
    let es = s.w.log.clone();
    same_state_log_by_log(&es, &sorted, &hash);
    let reversed = fold(es.iter().rev());
    assert!(reversed == sorted, "{}", diff(&sorted, &reversed));
}

/// The example federation's story in small: three nodes, two boards at
/// home on their own nodes, two datasets they both govern at the agency,
/// and requests approved, declined, withdrawn, completed, suspended by a
/// rāhui and under review after the iwi board lengthened its notice period.
fn federation_story() -> Setting {
    let mut s = Setting::new();
    let (iwi, pac) = (s.iwi_board, s.pacific_board);
    let iwi_people = s.c.iwi.clone();
    let pac_people = s.c.pacific.clone();
    let (researcher, whanau, steward) = (
        s.c.researcher.clone(),
        s.c.whanau.clone(),
        s.c.steward.clone(),
    );
    for p in &iwi_people {
        s.w.say(p, IWI, announce(p.name, "Iwi"));
    }
    for p in &pac_people {
        s.w.say(p, PACIFIC, announce(p.name, "Pacific"));
    }
    for p in [&researcher, &whanau, &steward] {
        s.w.say(p, AGENCY, announce(p.name, "Agency"));
    }
    let wellbeing = s.data;
    let housing = s.w.ok(
        &steward,
        AGENCY,
        dataset("Housing", &[iwi, pac], &["commercial"]),
    );
    let both = |s: &mut Setting, r, conditions: Vec<Condition>| {
        for p in &iwi_people[..3] {
            s.w.say(p, IWI, approve_with(r, iwi, conditions.clone()));
        }
        for p in &pac_people[..4] {
            s.w.say(p, PACIFIC, approve(r, pac));
        }
    };
    let ask = |s: &mut Setting, d| {
        s.w.ok(
            &researcher,
            AGENCY,
            request("A study", &[d], &["DUO:0000042"], 365),
        )
    };

    // Approved with conditions, an attachment and an answered concern.
    let approved = ask(&mut s, wellbeing);
    both(&mut s, approved, vec![Condition::ReportEvery { months: 6 }]);
    let c = s.w.ok(
        &whanau,
        AGENCY,
        concern(approved, "Will we be recognisable?"),
    );
    s.w.say(&iwi_people[0], IWI, respond(c, iwi, true));
    // Declined by both boards.
    let declined = ask(&mut s, wellbeing);
    for p in &iwi_people[..3] {
        s.w.say(p, IWI, decline(declined, iwi, "No."));
    }
    for p in &pac_people[..3] {
        s.w.say(p, PACIFIC, decline(declined, pac, "No."));
    }
    // Withdrawn after a question from the Pacific board's chair.
    let withdrawn = ask(&mut s, housing);
    let q = s.w.ok(
        &pac_people[0],
        PACIFIC,
        question(withdrawn, "Shared with whom?"),
    );
    s.w.say(&researcher, AGENCY, answer(q, "We will re-plan."));
    s.w.say(&researcher, AGENCY, withdraw(withdrawn));
    // Completed: an output released by both, a final report accepted by both.
    let completed = ask(&mut s, wellbeing);
    both(
        &mut s,
        completed,
        vec![Condition::FinalReport, Condition::OutputsReviewed],
    );
    let o = s.w.ok(&researcher, AGENCY, output(completed, "Tables"));
    s.w.say(&iwi_people[0], IWI, output_review(o, iwi, true));
    s.w.say(&pac_people[0], PACIFIC, output_review(o, pac, true));
    let rp =
        s.w.ok(&researcher, AGENCY, report(completed, ReportKind::Final));
    s.w.say(&iwi_people[0], IWI, review(rp, iwi, true));
    s.w.say(&pac_people[0], PACIFIC, review(rp, pac, true));
    // Approved with monthly reports, then suspended by a rāhui.
    let monthly = ask(&mut s, wellbeing);
    both(&mut s, monthly, vec![Condition::ReportEvery { months: 1 }]);
    let suspended = ask(&mut s, housing);
    both(&mut s, suspended, Vec::new());
    s.w.say(&iwi_people[1], IWI, rahui(iwi, housing, None));
    s.w.say(&whanau, AGENCY, concern(housing, "Who can see it now?"));
    // The iwi board lengthens its notice period; the next request waits.
    let amendment = s.w.ok(&iwi_people[0], IWI, notice(iwi, 14));
    for p in &iwi_people[..3] {
        s.w.say(p, IWI, approve(amendment, iwi));
    }
    let review_req = ask(&mut s, wellbeing);
    for p in &pac_people[..2] {
        s.w.say(p, PACIFIC, approve(review_req, pac));
    }
    let q = s.w.ok(
        &iwi_people[3],
        IWI,
        question(review_req, "Will the iwi see it?"),
    );
    s.w.say(&researcher, AGENCY, answer(q, "Yes, first."));
    s
}

/// The example's story folded as its nodes see it (position order),
/// backwards, and log by log in every order of the three logs.
#[test]
fn the_example_federation_gives_one_state_in_every_log_order() {
    let s = federation_story();
    let mut es = s.w.log.clone();
    es.sort_by_key(Entry::pos);
    let sorted = fold(&es);
    assert!(sorted == s.w.store);
    let hash = state_hash(&sorted).unwrap();
    let reversed = fold(es.iter().rev());
    assert!(reversed == sorted, "{}", diff(&sorted, &reversed));
    same_state_log_by_log(&es, &sorted, &hash);
    for seed in 1..=8u64 {
        let other = fold(&interleaved(
            &es,
            seed,
            [seed % 2 == 0, seed % 3 == 0, seed % 5 == 0],
        ));
        assert!(other == sorted, "seed {seed}:\n{}", diff(&sorted, &other));
    }
}

/// The entries of every log merged in a random interleaving, each log kept
/// in its own order or reversed (as a node catching up a mirror backwards).
fn interleaved(es: &[Entry], seed: u64, reverse: [bool; 3]) -> Vec<Entry> {
    let mut queues: Vec<Vec<Entry>> = [IWI, PACIFIC, AGENCY]
        .iter()
        .zip(reverse)
        .map(|(l, rev)| {
            let mut q: Vec<Entry> = es.iter().filter(|e| e.log == *l).cloned().collect();
            // Popped from the back.
            if !rev {
                q.reverse();
            }
            q
        })
        .collect();
    let mut out = Vec::with_capacity(es.len());
    let mut seed = seed | 1;
    while queues.iter().any(|q| !q.is_empty()) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let live: Vec<usize> = (0..queues.len())
            .filter(|i| !queues[*i].is_empty())
            .collect();
        let pick = live[(seed % live.len() as u64) as usize];
        out.extend(queues[pick].pop());
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// What each node stores (roughly position order) equals what any
    /// other arrival order of the three logs gives: log by log, logs
    /// interleaved, each log forwards or backwards, or no order at all.
    #[test]
    fn every_interleaving_of_the_logs_gives_the_state_of_the_position_order(
        ops in proptest::collection::vec(op(), 10..60),
        seeds in proptest::collection::vec(any::<u64>(), 3),
        logs in Just([IWI, PACIFIC, AGENCY]).prop_shuffle(),
        reverse in any::<[bool; 3]>(),
    ) {
        let mut es = entries(&ops);
        es.sort_by_key(Entry::pos);
        let reference = fold(&es);
        let hash = state_hash(&reference).unwrap();
        prop_assert_eq!(hash, recompute_state_hash(&reference));

        let mut by_log = log_by_log(&es, &logs);
        if reverse[0] {
            by_log.reverse();
        }
        let orders = [
            ("reversed", es.iter().rev().cloned().collect::<Vec<_>>()),
            ("log by log", by_log),
            ("interleaved", interleaved(&es, seeds[0], [false; 3])),
            ("interleaved, some logs backwards", interleaved(&es, seeds[1], reverse)),
            ("shuffled", shuffled(&es, seeds[2])),
        ];
        for (name, order) in &orders {
            let s = fold(order);
            prop_assert!(s == reference, "{} {:?}:\n{}", name, logs, diff(&reference, &s));
            prop_assert_eq!(state_hash(&s).unwrap(), hash, "{}", name);
        }
    }
}

/// Folding the statements one whole log after another, in every order of
/// the three logs, gives `sorted` and its state hash.
fn same_state_log_by_log(es: &[Entry], sorted: &MemStore, hash: &[u8; 32]) {
    for logs in [
        [IWI, PACIFIC, AGENCY],
        [IWI, AGENCY, PACIFIC],
        [PACIFIC, IWI, AGENCY],
        [PACIFIC, AGENCY, IWI],
        [AGENCY, IWI, PACIFIC],
        [AGENCY, PACIFIC, IWI],
    ] {
        let other = fold(&log_by_log(es, &logs));
        assert!(other == *sorted, "{logs:?}:\n{}", diff(sorted, &other));
        assert_eq!(state_hash(&other).unwrap(), *hash, "{logs:?}");
    }
}
