//! The state is a function of the set of statements: any order, any
//! batching, gives the same bytes and the same hash — and the running hash
//! equals one computed from scratch.

use kaitiaki_governance::{apply, state_hash, Entry, MemStore, Overlay};
use kaitiaki_protocol::statement::{ApprovalAction, BodyAmend, Choice, ReportKind};
use kaitiaki_protocol::{Body, StatementId};
use proptest::prelude::*;

use crate::fixture::*;

/// One thing that happens in a random story.
#[derive(Clone, Debug)]
pub enum Op {
    Request(u32),
    Vote {
        member: usize,
        request: usize,
        choice: u8,
    },
    Rahui {
        member: usize,
        until_days: Option<u32>,
    },
    Lift {
        member: usize,
        rahui: usize,
    },
    Withdraw(usize),
    Report {
        request: usize,
        last: bool,
    },
    Review {
        member: usize,
        report: usize,
        accept: bool,
    },
    Renew {
        request: usize,
        member_votes: usize,
    },
    Motion {
        member: usize,
        request: usize,
        action: u8,
    },
    Question(usize),
    Concern {
        request: usize,
        respond: Option<usize>,
    },
    RevokeKey(usize),
    RotateKey(usize),
    Amend {
        member: usize,
        notice_days: u32,
        remove: Option<usize>,
        votes: usize,
    },
    Days(u32),
}

pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (30u32..400).prop_map(Op::Request),
        10 => (0usize..10, 0usize..8, 0u8..4).prop_map(|(member, request, choice)| Op::Vote { member, request, choice }),
        1 => (0usize..10, proptest::option::of(1u32..40)).prop_map(|(member, until_days)| Op::Rahui { member, until_days }),
        1 => (0usize..10, 0usize..3).prop_map(|(member, rahui)| Op::Lift { member, rahui }),
        1 => (0usize..8).prop_map(Op::Withdraw),
        2 => (0usize..8, any::<bool>()).prop_map(|(request, last)| Op::Report { request, last }),
        2 => (0usize..10, 0usize..6, any::<bool>()).prop_map(|(member, report, accept)| Op::Review { member, report, accept }),
        1 => (0usize..8, 0usize..10).prop_map(|(request, member_votes)| Op::Renew { request, member_votes }),
        1 => (0usize..10, 0usize..8, 0u8..3).prop_map(|(member, request, action)| Op::Motion { member, request, action }),
        1 => (0usize..8).prop_map(Op::Question),
        1 => (0usize..8, proptest::option::of(0usize..10)).prop_map(|(request, respond)| Op::Concern { request, respond }),
        1 => (0usize..10).prop_map(Op::RevokeKey),
        1 => (0usize..10).prop_map(Op::RotateKey),
        1 => (0usize..10, 0u32..20, proptest::option::of(0usize..5), 0usize..6)
            .prop_map(|(member, notice_days, remove, votes)| Op::Amend { member, notice_days, remove, votes }),
        2 => (1u32..60).prop_map(Op::Days),
    ]
}

/// Turns a story into signed entries, in the order the nodes sequenced them.
pub fn entries(ops: &[Op]) -> Vec<Entry> {
    let mut s = Setting::new();
    let mut requests: Vec<StatementId> = Vec::new();
    let mut rahuis: Vec<StatementId> = Vec::new();
    let mut reports: Vec<StatementId> = Vec::new();
    let mut motions: Vec<(StatementId, StatementId)> = Vec::new();
    let pick = |v: &[StatementId], i: usize| (!v.is_empty()).then(|| v[i % v.len()]);
    // Who is who: members 0–4 sit on the iwi board, 5–9 on the Pacific
    // board, each signing with their latest key.
    let mut keys: Vec<(Person, u8)> =
        s.c.iwi
            .iter()
            .chain(s.c.pacific.iter())
            .map(|p| (p.clone(), 0))
            .collect();
    let seat = |s: &Setting, keys: &[(Person, u8)], m: usize| {
        if m < 5 {
            (keys[m].0.clone(), s.iwi_board, IWI)
        } else {
            (keys[m].0.clone(), s.pacific_board, PACIFIC)
        }
    };
    for op in ops {
        let e = match op.clone() {
            Op::Request(days) => {
                let (r, d) = (s.c.researcher.clone(), s.data);
                let e =
                    s.w.entry(&r, AGENCY, request("Random study", &[d], &[], days));
                requests.push(e.id);
                e
            }
            Op::Vote {
                member,
                request,
                choice,
            } => {
                let Some(r) = pick(&requests, request) else {
                    continue;
                };
                let (p, b, log) = seat(&s, &keys, member);
                let choice = [
                    Choice::Approve,
                    Choice::Decline,
                    Choice::Abstain,
                    Choice::Approve,
                ][usize::from(choice)];
                // Some votes go to motions instead, so motions get decided too.
                let subject = match motions.iter().find(|(req, _)| *req == r) {
                    Some((_, m)) if member % 2 == 0 => *m,
                    _ => r,
                };
                s.w.entry(&p, log, vote(subject, b, choice, "A reason."))
            }
            Op::Rahui { member, until_days } => {
                let (p, b, log) = seat(&s, &keys, member);
                let until = until_days.map(|d| s.w.now.plus_days(d));
                let d = s.data;
                let e = s.w.entry(&p, log, rahui(b, d, until));
                rahuis.push(e.id);
                e
            }
            Op::Lift { member, rahui } => {
                let Some(x) = pick(&rahuis, rahui) else {
                    continue;
                };
                let (p, _, log) = seat(&s, &keys, member);
                s.w.entry(&p, log, lift(x))
            }
            Op::Withdraw(request) => {
                let Some(r) = pick(&requests, request) else {
                    continue;
                };
                let p = s.c.researcher.clone();
                s.w.entry(&p, AGENCY, withdraw(r))
            }
            Op::Report { request, last } => {
                let Some(r) = pick(&requests, request) else {
                    continue;
                };
                let p = s.c.researcher.clone();
                let kind = if last {
                    ReportKind::Final
                } else {
                    ReportKind::Periodic
                };
                let e = s.w.entry(&p, AGENCY, report(r, kind));
                reports.push(e.id);
                e
            }
            Op::Review {
                member,
                report,
                accept,
            } => {
                let Some(x) = pick(&reports, report) else {
                    continue;
                };
                let (p, b, log) = seat(&s, &keys, member);
                s.w.entry(&p, log, review(x, b, accept))
            }
            Op::Renew {
                request,
                member_votes,
            } => {
                let Some(r) = pick(&requests, request) else {
                    continue;
                };
                let p = s.c.researcher.clone();
                let e = s.w.entry(&p, AGENCY, renew(r, 30));
                let n = e.id;
                let mut out = vec![e];
                for m in 0..member_votes {
                    let (p, b, log) = seat(&s, &keys, m);
                    out.push(s.w.entry(&p, log, approve(n, b)));
                }
                let last = out.pop();
                s.w.log.extend(out);
                match last {
                    Some(e) => e,
                    None => continue,
                }
            }
            Op::Motion {
                member,
                request,
                action,
            } => {
                let Some(r) = pick(&requests, request) else {
                    continue;
                };
                let (p, b, log) = seat(&s, &keys, member);
                let action = [
                    ApprovalAction::Suspend,
                    ApprovalAction::Reinstate,
                    ApprovalAction::Revoke,
                ][usize::from(action)];
                let e = s.w.entry(&p, log, motion(r, b, action));
                motions.push((r, e.id));
                e
            }
            Op::Question(request) => {
                let Some(r) = pick(&requests, request) else {
                    continue;
                };
                let p = s.c.whanau.clone();
                s.w.entry(&p, AGENCY, question(r, "What will you link?"))
            }
            Op::Concern {
                request,
                respond: resp,
            } => {
                let Some(r) = pick(&requests, request) else {
                    continue;
                };
                let p = s.c.whanau.clone();
                let e = s.w.entry(&p, AGENCY, concern(r, "We were not told."));
                match resp {
                    None => e,
                    Some(m) => {
                        let c = e.id;
                        s.w.log.push(e);
                        let (p, b, log) = seat(&s, &keys, m);
                        s.w.entry(&p, log, respond(c, b, m % 2 == 0))
                    }
                }
            }
            Op::RevokeKey(member) => {
                let (p, _, _) = seat(&s, &keys, member);
                s.w.entry(&p, AGENCY, revoke("Lost."))
            }
            Op::RotateKey(member) => {
                // A new key each time (at most a few per member), so seats
                // are held through chains of rotations.
                let (old, generation) = keys[member].clone();
                if generation >= 10 {
                    continue;
                }
                let seed = 100 + 10 * generation + member as u8;
                let new = Person::new("A rotated key", seed);
                keys[member] = (new.clone(), generation + 1);
                s.w.entry(&old, AGENCY, rotate(&old, &new))
            }
            Op::Amend {
                member,
                notice_days,
                remove,
                votes,
            } => {
                // A board changes its notice period (and perhaps its
                // members), and its members vote on that, all on its node.
                let (p, b, log) = seat(&s, &keys, member);
                // A member is removed by their latest key.
                let offset = if member < 5 { 0 } else { 5 };
                let gone: Vec<&Person> = remove.map(|i| &keys[offset + i].0).into_iter().collect();
                let e = s.w.entry(
                    &p,
                    log,
                    Body::BodyAmend(BodyAmend {
                        body: b,
                        add_members: Vec::new(),
                        remove_members: gone.iter().map(|g| g.pk()).collect(),
                        rule: None,
                        notice_days: Some(notice_days),
                        description: None,
                        reason: "The board changes how it works.".into(),
                    }),
                );
                let a = e.id;
                let mut out = vec![e];
                let first = if member < 5 { 0 } else { 5 };
                for m in first..first + votes.min(5) {
                    let (p, b, log) = seat(&s, &keys, m);
                    out.push(s.w.entry(&p, log, approve(a, b)));
                }
                let last = out.pop();
                s.w.log.extend(out);
                match last {
                    Some(e) => e,
                    None => continue,
                }
            }
            Op::Days(n) => {
                s.w.days(n);
                continue;
            }
        };
        s.w.log.push(e);
    }
    // The setting's own charters and dataset come first in the log.
    std::mem::take(&mut s.w.log)
}

fn fold<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> MemStore {
    let mut s = MemStore::new();
    for e in entries {
        apply(e, &mut s).expect("the store works");
    }
    s
}

/// Where two stores differ, for a failure message.
pub fn diff(a: &MemStore, b: &MemStore) -> String {
    let mut out = String::new();
    for &t in kaitiaki_governance::Table::ALL {
        let x: std::collections::BTreeMap<_, _> = a.entries(t).collect();
        let y: std::collections::BTreeMap<_, _> = b.entries(t).collect();
        for (k, v) in &x {
            match y.get(k) {
                None => {
                    out += &format!(
                        "{}: only left {}\n  {}\n",
                        t.name(),
                        hexs(k),
                        String::from_utf8_lossy(v)
                    )
                }
                Some(w) if w != v => {
                    out += &format!(
                        "{}: {}\n  left  {}\n  right {}\n",
                        t.name(),
                        hexs(k),
                        String::from_utf8_lossy(v),
                        String::from_utf8_lossy(w)
                    )
                }
                _ => {}
            }
        }
        for (k, v) in &y {
            if !x.contains_key(k) {
                out += &format!(
                    "{}: only right {}\n  {}\n",
                    t.name(),
                    hexs(k),
                    String::from_utf8_lossy(v)
                );
            }
        }
    }
    out
}

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A deterministic shuffle from a seed (xorshift, Fisher–Yates).
pub fn shuffled<T: Clone>(v: &[T], mut seed: u64) -> Vec<T> {
    let mut out = v.to_vec();
    seed |= 1;
    for i in (1..out.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let j = (seed % (i as u64 + 1)) as usize;
        out.swap(i, j);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_order_and_any_batching_give_identical_state(
        ops in proptest::collection::vec(op(), 10..50),
        seeds in proptest::collection::vec(any::<u64>(), 3),
        batch in 1usize..9,
    ) {
        let es = entries(&ops);
        let reference = fold(&es);
        let hash = state_hash(&reference).unwrap();
        prop_assert_eq!(hash, kaitiaki_governance::recompute_state_hash(&reference));

        for seed in &seeds[..2] {
            let order = shuffled(&es, *seed);
            let s = fold(&order);
            prop_assert!(s == reference, "{}", diff(&reference, &s));
            prop_assert_eq!(state_hash(&s).unwrap(), hash);
        }

        // In batches, each checked and applied in an overlay, then committed.
        let order = shuffled(&es, seeds[2]);
        let mut s = MemStore::new();
        for chunk in order.chunks(batch) {
            let mut overlay = Overlay::new(&s);
            for e in chunk {
                apply(e, &mut overlay).unwrap();
            }
            let changes = overlay.into_changes();
            s.commit(changes);
        }
        prop_assert!(s == reference, "{}", diff(&reference, &s));
        prop_assert_eq!(state_hash(&s).unwrap(), hash);
        // Applying everything again (duplicates, in another order) changes nothing.
        for e in shuffled(&es, seeds[0] ^ 0x5555) {
            apply(&e, &mut s).unwrap();
        }
        prop_assert!(s == reference);
    }

    #[test]
    fn incremental_application_equals_a_full_fold_from_nothing(
        ops in proptest::collection::vec(op(), 10..40),
        split in 0usize..100,
    ) {
        let es = entries(&ops);
        let cut = split % (es.len() + 1);
        // A node that started with part of the set and learnt the rest later…
        let mut incremental = fold(&es[..cut]);
        for e in &es[cut..] {
            apply(e, &mut incremental).unwrap();
            prop_assert_eq!(state_hash(&incremental).unwrap(), kaitiaki_governance::recompute_state_hash(&incremental));
        }
        // …holds exactly what a fold of the whole set from nothing holds.
        let full = fold(es.iter().rev());
        prop_assert!(incremental == full, "{}", diff(&full, &incremental));
    }
}
