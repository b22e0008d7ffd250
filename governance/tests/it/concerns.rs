//! Concerns: anyone raises one; a governing body responds; open concerns are visible.

use kaitiaki_governance::{lists, query, RejectionCode};

use crate::fixture::*;

#[test]
fn a_concern_stays_open_until_its_governing_bodies_resolve_it() {
    let mut s = Setting::new();
    let r = s.approved_request(365);
    let whanau = s.c.whanau.clone();
    let c = s.w.ok(
        &whanau,
        AGENCY,
        concern(r, "Our family's records may be identifiable in the tables."),
    );
    let d = s.w.ok(
        &whanau,
        AGENCY,
        concern(s.data, "Why does this dataset hold our addresses?"),
    );
    let open = lists::open_concerns(&s.w.store, None, 10).unwrap();
    assert_eq!(open.items.len(), 2);
    let sione = s.c.pacific[0].clone();
    s.w.ok(&sione, PACIFIC, respond(c, s.pacific_board, false));
    assert!(
        query::concern(&s.w.store, &c).unwrap().unwrap().open,
        "a response that does not resolve"
    );
    s.w.ok(&sione, PACIFIC, respond(c, s.pacific_board, true));
    // One of its two governing bodies resolving it is not enough.
    assert!(
        query::concern(&s.w.store, &c).unwrap().unwrap().open,
        "resolved by one of its two governing bodies"
    );
    let open = lists::open_concerns(&s.w.store, None, 10).unwrap();
    assert!(open.items.iter().any(|o| o.id == c), "{:?}", open.items);
    let aroha = s.c.iwi[0].clone();
    s.w.ok(&aroha, IWI, respond(c, s.iwi_board, true));
    let open = lists::open_concerns(&s.w.store, None, 10).unwrap();
    assert_eq!(open.items.iter().map(|c| c.id).collect::<Vec<_>>(), vec![d]);
    // Only a governing body responds, in its home log, through a member.
    s.w.refused(
        &whanau,
        PACIFIC,
        respond(d, s.pacific_board, true),
        RejectionCode::NotAMember,
    );
    s.w.refused(
        &sione,
        AGENCY,
        respond(d, s.pacific_board, true),
        RejectionCode::WrongHomeLog,
    );
    let kinds: Vec<_> =
        s.w.view(&r)
            .timeline
            .iter()
            .map(|i| i.kind.name())
            .collect();
    assert!(
        kinds.contains(&"concern.raise") && kinds.contains(&"concern.respond"),
        "{kinds:?}"
    );
}

#[test]
fn a_concern_must_be_about_a_request_or_dataset() {
    let mut s = Setting::new();
    let whanau = s.c.whanau.clone();
    s.w.refused(
        &whanau,
        AGENCY,
        concern(s.iwi_board, "About the board itself"),
        RejectionCode::WrongReference,
    );
}

#[test]
fn a_concern_story_has_its_words_and_every_response() {
    let mut s = Setting::new();
    let r = s.approved_request(365);
    let whanau = s.c.whanau.clone();
    let c =
        s.w.ok(&whanau, AGENCY, concern(r, "Will we be recognisable?"));
    let sione = s.c.pacific[0].clone();
    let first = s.w.ok(&sione, PACIFIC, respond(c, s.pacific_board, false));
    // A response outside the board's home log does not count, and says why.
    let stray = s.w.say(&sione, AGENCY, respond(c, s.pacific_board, true)).0;
    let story = query::concern_story(&s.w.store, &c).unwrap().unwrap();
    assert_eq!(story.record.subject, r);
    assert_eq!(story.raised.body["text"], "Will we be recognisable?");
    assert_eq!(
        story.responses.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![first, stray]
    );
    assert!(story.responses[0].verdict.is_valid());
    assert!(!story.responses[1].verdict.is_valid());
    assert_eq!(
        query::concern_story(&s.w.store, &r).unwrap(),
        None,
        "a request is not a concern"
    );
}

/// A request or dataset governed by several bodies answers to each of
/// them: a concern about it stays open until every governing body's latest
/// response says it is resolved.
#[test]
fn one_body_cannot_close_a_concern_for_every_body() {
    let mut s = Setting::new();
    let r = s.request(365);
    let whanau = s.c.whanau.clone();
    let c =
        s.w.ok(&whanau, AGENCY, concern(r, "Our hapū was not asked."));
    let (b, p) = (s.iwi_board, s.pacific_board);
    let (aroha, sione) = (s.c.iwi[0].clone(), s.c.pacific[0].clone());
    let record = |s: &Setting| query::concern(&s.w.store, &c).unwrap().unwrap();
    let open_ids = |s: &Setting| -> Vec<_> {
        let page = lists::open_concerns(&s.w.store, None, 10).unwrap();
        page.items.iter().map(|x| x.id).collect()
    };

    s.w.ok(&sione, PACIFIC, respond(c, p, true));
    assert!(record(&s).open, "the iwi board has not responded");
    assert_eq!(record(&s).resolved_by, vec![p]);
    s.w.ok(&aroha, IWI, respond(c, b, false));
    assert!(record(&s).open);
    s.w.ok(&aroha, IWI, respond(c, b, true));
    let both = {
        let mut v = vec![b, p];
        v.sort();
        v
    };
    assert_eq!(record(&s).resolved_by, both);
    assert!(!record(&s).open);
    assert!(open_ids(&s).is_empty());
    // A body's later response that it is not resolved reopens it.
    s.w.ok(&sione, PACIFIC, respond(c, p, false));
    assert!(record(&s).open);
    assert_eq!(record(&s).resolved_by, vec![b]);
    assert_eq!(open_ids(&s), vec![c]);
}
