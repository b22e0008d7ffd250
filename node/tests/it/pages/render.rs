//! Render tests: the pure page functions on hand-made view models, checked
//! as HTML and for accessibility without a server.

use kaitiaki_governance::rules::{Outcome, Tally};
use kaitiaki_governance::RequestStatus;
use kaitiaki_node::pages::chart;
use kaitiaki_node::pages::concern::{ConcernForm, ConcernThread, ResponseItem};
use kaitiaki_node::pages::labels::Labels;
use kaitiaki_node::pages::layout::{self, Nav, NodeInfo, Person};
use kaitiaki_node::pages::overview::{self, OverviewView, RahuiItem};
use kaitiaki_node::pages::request::{self, BodyState, Event, RequestView, VoteOn, What};
use kaitiaki_node::pages::verify::{Evidence, LogStatus};
use kaitiaki_protocol::statement::{Choice, ReportKind, RequestSubmit, UseCategory};
use kaitiaki_protocol::Timestamp;

use super::html::{assert_accessible, parse};
use super::seed;

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).expect("time")
}

fn node() -> NodeInfo {
    NodeInfo {
        origin: "iwi.example".into(),
        network: "kaitiaki-test".into(),
        base_url: "https://iwi.example".into(),
        contact: None,
    }
}

fn log() -> LogStatus {
    LogStatus {
        origin: "iwi.example".into(),
        size: 42,
        root: "ab".repeat(32),
        latest: Some(at("2026-11-22T09:00:00Z")),
        signed: Ok(()),
        witnesses: vec![],
        trusted: 0,
        evidence: Evidence::NotCollected,
        peers: vec![],
        verifier_key: "iwi.example+01020304+AAAA".into(),
    }
}

fn person(name: &str) -> Person {
    Person {
        name: Some(name.into()),
        affiliation: Some("Ngāti Tauira".into()),
        key: "cd".repeat(32),
    }
}

fn page(title: &str, main: maud::Markup) -> String {
    layout::page(&Labels::built_in(), &node(), title, Nav::None, main).into_string()
}

/// An overview of a node with nothing registered, decided or raised yet.
fn empty_overview() -> OverviewView {
    OverviewView {
        datasets: vec![],
        more_datasets: false,
        more_bodies: false,
        bodies: vec![],
        rahui: vec![],
        decisions: vec![],
        overdue: vec![],
        due_soon: vec![],
        concerns: vec![],
        more_concerns: false,
        log: log(),
    }
}

#[test]
fn an_empty_overview_says_so_plainly_and_is_accessible() {
    let l = Labels::built_in();
    let v = empty_overview();
    let html = page("Overview", overview::render(&l, &v));
    assert_accessible("empty overview", &html);
    let d = parse(&html).expect("parses");
    let text = d.text();
    assert!(text.contains("No datasets are registered here yet."));
    assert!(text.contains("No witness has cosigned this checkpoint yet."));
    assert!(
        text.contains("does not follow or witness other nodes"),
        "honest about equivocation"
    );
    assert!(
        d.by_id("main").is_some() && d.find("a").iter().any(|a| a.attr("href") == Some("#main")),
        "skip link"
    );
}

#[test]
fn rahui_and_decisions_show_with_maori_marked() {
    let l = Labels::built_in();
    let v = OverviewView {
        datasets: vec![],
        more_datasets: false,
        more_bodies: false,
        bodies: vec![],
        rahui: vec![RahuiItem {
            dataset: "11".repeat(32),
            dataset_name: "Housing records".into(),
            body_name: "Te Poari".into(),
            reason: "A tangihanga.".into(),
            placed: at("2026-11-01T00:00:00Z"),
            until: None,
        }],
        decisions: vec![
            overview::DecisionItem {
                href: format!("/requests/{}", "22".repeat(32)),
                title: "Rangatahi & services".into(),
                body_name: "Te Poari".into(),
                on: VoteOn::Request,
                outcome: Outcome::Approved,
                at: at("2026-11-02T00:00:00Z"),
                now: None,
                changed: true,
                granted: None,
            },
            overview::DecisionItem {
                href: format!("/requests/{}", "24".repeat(32)),
                title: "Housing and schools".into(),
                body_name: "Pacific Board".into(),
                on: VoteOn::Motion {
                    action: kaitiaki_protocol::statement::ApprovalAction::Suspend,
                },
                outcome: Outcome::Approved,
                at: at("2026-10-12T00:00:00Z"),
                now: None,
                changed: true,
                granted: None,
            },
            overview::DecisionItem {
                href: format!("/requests/{}", "24".repeat(32)),
                title: "Housing and schools".into(),
                body_name: "Te Poari".into(),
                on: VoteOn::Request,
                outcome: Outcome::Approved,
                at: at("2026-10-02T00:00:00Z"),
                now: Some(RequestStatus::Suspended),
                changed: true,
                granted: None,
            },
        ],
        overdue: vec![],
        due_soon: vec![overview::DueItem {
            request: "23".repeat(32),
            title: "Monthly monitoring".into(),
            requester: person("Jo Smith"),
            kind: ReportKind::Periodic,
            due: at("2026-12-01T00:00:00Z"),
            count: 1,
        }],
        concerns: [0, 1, 2]
            .map(|responses| overview::ConcernItem {
                id: format!("{responses}5").repeat(32),
                subject_href: format!("/requests/{}", "22".repeat(32)),
                subject_name: "Rangatahi & services".into(),
                text: Some("Will our whānau be recognisable?".into()),
                raised: at("2026-11-03T00:00:00Z"),
                responses,
            })
            .to_vec(),
        more_concerns: false,
        log: log(),
    };
    let html = page("Overview", overview::render(&l, &v));
    assert_accessible("overview", &html);
    // Counts read as words, one as one.
    for said in [
        "No response yet.",
        "1 response so far; not yet resolved.",
        "2 responses so far; not yet resolved.",
    ] {
        assert!(html.contains(said), "{said:?} is not in the page");
    }
    assert!(html.contains("Rangatahi &amp; services"), "text is escaped");
    assert!(html.contains("<span lang=\"mi\">Kua whakaaetia</span>"));
    assert!(html.contains("until the board lifts it"));
    let text = parse(&html).expect("parses").text();
    assert!(text.contains("Coming due in the next six weeks"), "{text}");
    // An approval paused since says so beside the decision.
    assert!(
        text.contains("Housing and schools · now Suspended"),
        "{text}"
    );
    assert!(!text.contains("Rangatahi & services · now"), "{text}");
    // A motion that changed nothing says so, rather than where the
    // request stands now.
    let mut noop = v.clone();
    noop.decisions[1].on = VoteOn::Motion {
        action: kaitiaki_protocol::statement::ApprovalAction::Reinstate,
    };
    noop.decisions[1].changed = false;
    noop.decisions[1].now = Some(RequestStatus::Suspended);
    let noop_text = parse(&page("Overview", overview::render(&l, &noop)))
        .expect("parses")
        .text();
    assert!(
        noop_text.contains(
            "Carried the motion to reinstate the approval of Housing and schools · which changed nothing"
        ),
        "{noop_text}"
    );
    // A motion is carried, not approved, and says what it was on.
    assert!(
        text.contains("Carried the motion to suspend the approval of Housing and schoolsby Pacific Board, 12 October 2026"),
        "{text}"
    );
    assert!(
        text.contains("regular report due 1 December 2026"),
        "{text}"
    );
    let d = parse(&html).expect("parses");
    let h2: Vec<String> = d.find("h2").iter().map(|h| h.text()).collect();
    assert!(h2.iter().any(|h| h == "Rāhui in force"), "{h2:?}");
    assert!(d
        .find("span")
        .iter()
        .any(|s| s.attr("lang") == Some("mi") && s.text() == "Rāhui"));
}

fn request_view() -> RequestView {
    let submit: RequestSubmit = seed::request(
        "Rangatahi wellbeing",
        kaitiaki_protocol::StatementId::from_hex(&"33".repeat(32)).expect("id"),
        "To learn.\n\nAnd to help.",
        UseCategory::Research,
    );
    RequestView {
        id: "44".repeat(32),
        submit,
        status: Some(RequestStatus::Approved),
        excluded: None,
        requester: person("Dr Aroha Whaanga"),
        submitted: at("2026-10-01T00:00:00Z"),
        datasets: vec![("33".repeat(32), "Whānau wellbeing".into())],
        unlisted_uses: vec![],
        unnamed_against: vec![],
        bodies: vec![BodyState {
            id: "55".repeat(32),
            name: "Te Poari".into(),
            notice_until: None,
            tally: Tally {
                approve: 2,
                decline: 0,
                abstain: 0,
                not_voted: 1,
            },
            decision: Some((Outcome::Approved, at("2026-10-05T00:00:00Z"))),
            later: vec![],
        }],
        paused_by: vec![],
        conditions: vec!["Return the findings to the community.".into()],
        renewal_conditions: vec![],
        approved_at: Some(at("2026-10-05T00:00:00Z")),
        expires_at: Some(at("2027-10-05T00:00:00Z")),
        overdue: vec![],
        next_report: Some((ReportKind::Periodic, at("2027-04-05T00:00:00Z"))),
        reports: vec![],
        outputs: vec![],
        events: vec![Event {
            id: "66".repeat(32),
            at: at("2026-10-05T00:00:00Z"),
            who: Some(person("Huia Tamati")),
            what: What::Vote {
                body: "Te Poari".into(),
                on: VoteOn::Request,
                choice: Choice::Approve,
                reason: "Sound <safeguards>.".into(),
                conditions: vec![],
                decided: Some(Outcome::Approved),
                replaced: false,
            },
            excluded: None,
        }],
        concerns: vec![ConcernThread {
            id: "77".repeat(32),
            who: Person {
                name: None,
                affiliation: None,
                key: "88".repeat(32),
            },
            at: at("2026-10-06T00:00:00Z"),
            text: "Will we be recognisable?".into(),
            responses: vec![ResponseItem {
                id: "99".repeat(32),
                body: "Te Poari".into(),
                who: person("Huia Tamati"),
                at: at("2026-10-07T00:00:00Z"),
                text: "No: small counts are hidden.".into(),
                resolved: true,
                excluded: None,
            }],
            awaiting: Vec::new(),
        }],
        check: None,
        form: ConcernForm {
            network: "kaitiaki-test".into(),
            base_url: "https://iwi.example".into(),
            contact: None,
        },
    }
}

#[test]
fn uses_a_dataset_does_not_list_as_permitted_are_named_for_the_boards() {
    let l = Labels::built_in();
    let plain = page("Request", request::render(&l, &request_view()));
    assert!(!plain.contains("lists its permitted uses"), "{plain}");
    let mut v = request_view();
    v.submit.uses.push("DUO:0000007".into());
    v.unlisted_uses = vec![request::UnlistedUses {
        dataset: "33".repeat(32),
        name: "Whānau wellbeing".into(),
        permitted: vec!["DUO:0000042".into()],
        asked: vec!["DUO:0000007".into()],
    }];
    let html = page("Request", request::render(&l, &v));
    assert_accessible("request with unlisted uses", &html);
    let d = parse(&html).expect("parses");
    let said: Vec<String> = d
        .find("p")
        .into_iter()
        .filter(|p| p.attr("class").is_some_and(|c| c.contains("unlisted")))
        .map(|p| p.text())
        .collect();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].contains("Whānau wellbeing lists its permitted uses as DUO:0000042")
            && said[0].contains("also asks for DUO:0000007")
            && said[0].contains("The boards decide"),
        "{said:?}"
    );
    assert!(d
        .hrefs()
        .contains(&format!("/datasets/{}", "33".repeat(32)).as_str()));
}

#[test]
fn a_request_naming_no_uses_shows_the_boards_what_its_datasets_never_allow() {
    let l = Labels::built_in();
    let mut v = request_view();
    v.submit.uses = vec![];
    v.unnamed_against = vec![(
        "33".repeat(32),
        "Whānau wellbeing".into(),
        vec!["custom:commercial-use".into(), "custom:unheard-of".into()],
    )];
    let html = page("Request", request::render(&l, &v));
    assert_accessible("request naming no uses", &html);
    let d = parse(&html).expect("parses");
    let text = d.text();
    assert!(
        text.contains(
            "None named, so nothing was checked against the uses its datasets never allow."
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "Whānau wellbeing never allows Commercial use custom:commercial-use, custom:unheard-of."
        ),
        "{text}"
    );
    assert!(d.hrefs().contains(&"/glossary#custom:commercial-use"));
    // With no dataset excluding anything, nothing is said.
    v.unnamed_against.clear();
    let text = parse(&page("Request", request::render(&l, &v)))
        .expect("parses")
        .text();
    assert!(!text.contains("None named"), "{text}");
}

#[test]
fn an_overdue_report_comes_before_the_next_due_date() {
    let l = Labels::built_in();
    let mut v = request_view();
    v.overdue = vec![(ReportKind::Periodic, at("2026-11-08T00:00:00Z"))];
    let text = parse(&page("Request", request::render(&l, &v)))
        .expect("parses")
        .text();
    assert!(
        text.contains("Regular report overdue since 8 November 2026."),
        "{text}"
    );
    assert!(
        text.contains("Regular report due after that on 5 April 2027."),
        "{text}"
    );
    assert!(!text.contains("next due on"), "{text}");
    // The short id of every record checked is shown, to find it again.
    assert!(
        text.contains(&format!("Check this record {}", &"66".repeat(32)[..8])),
        "{text}"
    );
}

#[test]
fn a_request_page_tells_the_story_and_explains_concerns_honestly() {
    let l = Labels::built_in();
    let html = page("Request", request::render(&l, &request_view()));
    assert_accessible("request", &html);
    let d = parse(&html).expect("parses");
    let text = d.text();
    for want in [
        "Every board approved.",
        "Access ends on 5 October 2027 unless renewed.",
        "Sound <safeguards>.",
        "This vote decided Te Poari's answer",
        "Return the findings to the community.",
        "Resolved",
        "Someone who has not said who they are",
        "kaitiaki --node https://iwi.example --key my-key concern raise 4444",
        "new key, only for this concern",
        "Safe outputs",
        "Regular report next due on 5 April 2027.",
        "Your words become a signed statement: a concern about this request.",
        // Decided or not, the boards that govern its data answer.
        "The boards that govern its data will see it and respond here, in public.",
    ] {
        assert!(text.contains(want), "missing {want:?}");
    }
    // The kind's code name is for the command line, not for people.
    assert!(!text.contains("concern.raise"), "{text}");
    assert_eq!(
        d.by_id("concern-form").and_then(|f| f.attr("hidden")),
        Some(""),
        "the form waits for the script"
    );
    assert!(d
        .find("label")
        .iter()
        .any(|l| l.attr("for") == Some("concern-text")));
    let config = d.by_id("concern-config").expect("config");
    assert!(config
        .children
        .iter()
        .any(|c| matches!(c, super::html::Node::Text(t) if t.contains("kaitiaki-test"))));
    // Paragraph breaks in the purpose are kept.
    assert!(d.find("p").iter().any(|p| p.text() == "And to help."));
    // The Five Safes point to the purpose rather than repeat it.
    let told = d
        .find("p")
        .iter()
        .filter(|p| p.text() == "And to help.")
        .count();
    assert_eq!(told, 1, "the purpose is shown once");
    assert!(
        d.find("a")
            .iter()
            .any(|a| a.attr("href") == Some("#purpose")),
        "safe project links to the purpose"
    );
    assert!(text.contains("The purpose above: Research"), "{text}");
}

/// Someone who cannot use the form (no JavaScript, or a browser that
/// cannot sign) is told whom to ask for help: the operator's contact, when
/// the node has one, beside the concern form and in the footer; else the
/// words it always had.
#[test]
fn a_concern_section_gives_the_operators_contact_when_there_is_one() {
    let l = Labels::built_in();
    let without = parse(&page("Request", request::render(&l, &request_view())))
        .expect("parses")
        .text();
    assert!(
        without.contains("You can also ask a board member or the data steward to help."),
        "{without}"
    );
    assert!(!without.contains("people who run this node"), "{without}");

    let mut v = request_view();
    v.form.contact = Some("help@iwi.example".into());
    let mut n = node();
    n.contact = Some("help@iwi.example".into());
    let html = layout::page(&l, &n, "Request", Nav::None, request::render(&l, &v)).into_string();
    assert_accessible("request with a contact", &html);
    let d = parse(&html).expect("parses");
    let nojs = d.by_id("concern-nojs").expect("the written way stays");
    assert!(
        nojs.text().contains(
            "If you cannot do this, or would like help, ask the people who run this node: help@iwi.example."
        ),
        "{}",
        nojs.text()
    );
    assert!(nojs.hrefs().contains(&"mailto:help@iwi.example"));
    let footer = d.find("footer");
    assert!(
        footer
            .iter()
            .any(|f| f.hrefs().contains(&"mailto:help@iwi.example")),
        "the footer gives it too"
    );
}

#[test]
fn a_request_page_names_uses_and_says_only_what_each_state_allows() {
    let l = Labels::built_in();
    let mut v = request_view();
    v.submit.uses = vec!["DUO:0000042".into(), "custom:unheard-of".into()];
    // One board resolved the concern for its part; another must still.
    v.events.push(Event {
        id: "aa".repeat(32),
        at: at("2026-10-07T00:00:00Z"),
        who: Some(person("Huia Tamati")),
        what: What::ConcernResponse {
            body: "Te Poari".into(),
            text: "No: small counts are hidden.".into(),
            resolved: true,
        },
        excluded: None,
    });
    let html = page("Request", request::render(&l, &v));
    assert_accessible("request with named uses", &html);
    let d = parse(&html).expect("parses");
    let text = d.text();
    // A use by its name, linked to its meaning; an unknown code as it is.
    let general = d
        .find("a")
        .into_iter()
        .find(|a| a.attr("href") == Some("/glossary#DUO:0000042"))
        .expect("a link to the use's meaning");
    assert_eq!(general.text(), "General research use");
    assert!(text.contains("custom:unheard-of"), "{text}");
    assert!(
        text.contains("Te Poari responded and considers the concern resolved"),
        "{text}"
    );
    assert!(!text.contains("closed the concern"), "{text}");
    assert!(text.contains("Access ends on 5 October 2027 unless renewed."));

    // Finished work cannot be renewed, and ended access is said to have ended.
    for (status, want) in [
        (RequestStatus::Completed, None),
        (RequestStatus::Revoked, None),
        (
            RequestStatus::Expired,
            Some("Access ended on 5 October 2027."),
        ),
    ] {
        v.status = Some(status);
        let text = parse(&page("Request", request::render(&l, &v)))
            .expect("parses")
            .text();
        assert!(!text.contains("unless renewed"), "{status:?}: {text}");
        if let Some(want) = want {
            assert!(text.contains(want), "{status:?}: {text}");
        }
    }
}

#[test]
fn votes_on_a_renewal_or_a_motion_say_so_and_what_came_of_it() {
    use kaitiaki_protocol::statement::ApprovalAction;
    let l = Labels::built_in();
    let mut v = request_view();
    let vote = |on: VoteOn, decided: Option<Outcome>| Event {
        id: "ab".repeat(32),
        at: at("2026-11-01T00:00:00Z"),
        who: Some(person("Huia Tamati")),
        what: What::Vote {
            body: "Te Poari".into(),
            on,
            choice: Choice::Approve,
            reason: "Fine.".into(),
            conditions: vec![],
            decided,
            replaced: false,
        },
        excluded: None,
    };
    v.events = vec![
        Event {
            id: "ac".repeat(32),
            at: at("2026-10-30T00:00:00Z"),
            who: Some(person("Dr Aroha Whaanga")),
            what: What::Renewal {
                days: 365,
                reason: "More time.".into(),
                outcome: Some(Outcome::Approved),
                granted: Some(365),
            },
            excluded: None,
        },
        vote(VoteOn::Renewal { days: 365 }, Some(Outcome::Approved)),
        Event {
            id: "af".repeat(32),
            at: at("2026-10-31T00:00:00Z"),
            who: Some(person("Dr Aroha Whaanga")),
            what: What::Renewal {
                days: 180,
                reason: "Still more time.".into(),
                outcome: Some(Outcome::Approved),
                granted: Some(90),
            },
            excluded: None,
        },
        Event {
            id: "ad".repeat(32),
            at: at("2026-11-02T00:00:00Z"),
            who: Some(person("Huia Tamati")),
            what: What::Motion {
                body: "Te Poari".into(),
                action: ApprovalAction::Suspend,
                reason: "A breach.".into(),
                decision: Some((Outcome::Approved, at("2026-11-03T00:00:00Z"))),
                changed: true,
            },
            excluded: None,
        },
        vote(
            VoteOn::Motion {
                action: ApprovalAction::Suspend,
            },
            Some(Outcome::Approved),
        ),
        Event {
            id: "ae".repeat(32),
            at: at("2026-11-04T00:00:00Z"),
            who: Some(person("Huia Tamati")),
            what: What::Motion {
                body: "Te Poari".into(),
                action: ApprovalAction::Reinstate,
                reason: "Mended.".into(),
                decision: None,
                changed: true,
            },
            excluded: None,
        },
        Event {
            id: "ba".repeat(32),
            at: at("2026-11-05T00:00:00Z"),
            who: Some(person("Losa Faleolo")),
            what: What::Motion {
                body: "Pacific Board".into(),
                action: ApprovalAction::Reinstate,
                reason: "Our families want it back.".into(),
                decision: Some((Outcome::Approved, at("2026-11-06T00:00:00Z"))),
                changed: false,
            },
            excluded: None,
        },
    ];
    let html = page("Request", request::render(&l, &v));
    assert_accessible("request with a renewal and motions", &html);
    let text = parse(&html).expect("parses").text();
    for want in [
        "Asked for 365 more days.",
        "Every board approved the renewal.",
        "Asked for 180 more days.",
        "Every board approved the renewal, for 90 more days of access: a board's conditions allow no more.",
        "for Te Poari on the requester's renewal, asking for 365 more days.",
        "This vote decided Te Poari's answer to the renewal:",
        "Proposed that Te Poari suspend the approval.",
        "The board carried the motion on 3 November 2026: it decided to suspend the approval.",
        "The board carried the motion on 6 November 2026, but it changed nothing: the board had not suspended the approval, and a board lifts only its own suspension.",
        "for Te Poari on the motion to suspend the approval.",
        "This vote decided the motion: carried",
        "The board has not decided the motion yet.",
    ] {
        assert!(text.contains(want), "missing {want:?}: {text}");
    }
    // A renewal or motion the rules left out says nothing of a decision.
    for e in &mut v.events {
        e.excluded = Some("The request has no approval in force.".into());
    }
    let text = parse(&page("Request", request::render(&l, &v)))
        .expect("parses")
        .text();
    assert!(text.contains("This does not count"), "{text}");
    for never in [
        "approved the renewal",
        "carried the motion",
        "not decided the motion",
    ] {
        assert!(!text.contains(never), "{never:?}: {text}");
    }
}

#[test]
fn the_chart_is_titled_described_and_tabulated() {
    let now = at("2026-11-22T09:00:00Z");
    let data = chart::bin(
        now,
        &[
            (at("2026-11-02T00:00:00Z"), RequestStatus::Approved),
            (at("2026-11-03T00:00:00Z"), RequestStatus::Declined),
            (at("2026-11-04T00:00:00Z"), RequestStatus::Suspended),
        ],
        false,
    );
    let svg = chart::render("c", &data).into_string();
    let html = page(
        "Chart",
        maud::html! { h1 { "Chart" } (maud::PreEscaped(svg.clone())) },
    );
    assert_accessible("chart", &html);
    let d = parse(&svg).expect("parses");
    assert_eq!(d.find("rect").len(), 3);
    assert_eq!(
        d.find("desc")[0].text(),
        "3 requests received between Dec 2025 and Nov 2026: 1 approved (in use or completed), 1 \
         approved and paused now, 1 declined, 0 still being decided, 0 ended another way."
    );
    assert_eq!(d.find("tr").len(), 13);
}

#[test]
fn the_log_status_shows_followed_nodes_and_evidence() {
    use kaitiaki_node::pages::verify::{self, PeerLine};
    let l = Labels::built_in();
    let mut s = log();
    s.peers = vec![
        PeerLine {
            origin: "pacific.example".into(),
            url: "http://127.0.0.1:1".into(),
            state: "following".into(),
            mirrored: 12,
            remote_size: 12,
            quarantine: None,
        },
        PeerLine {
            origin: "agency.example".into(),
            url: "http://127.0.0.1:2".into(),
            state: "quarantined".into(),
            mirrored: 5,
            remote_size: 9,
            quarantine: Some("it signed two different trees of size 9".into()),
        },
    ];
    s.evidence = Evidence::Found(vec!["agency.example: signed two different histories".into()]);
    let html = page(
        "Overview",
        maud::html! { h1 { "Overview" } (verify::log_status(&l, &s)) },
    );
    assert_accessible("log status", &html);
    let text = parse(&html).expect("parses").text();
    assert!(
        text.contains("pacific.example — ✓ in step: 12 of 12 records copied and checked"),
        "{text}"
    );
    assert!(
        text.contains("agency.example — set aside: 5 of 9 records"),
        "{text}"
    );
    assert!(
        text.contains("It is no longer followed because it signed two different trees of size 9."),
        "{text}"
    );
    assert!(
        text.contains("Evidence of misbehaviour was found."),
        "{text}"
    );
    assert!(parse(&html)
        .expect("parses")
        .hrefs()
        .contains(&"/v1/evidence"));

    s.peers.clear();
    s.evidence = Evidence::None;
    let html = page("Overview", verify::log_status(&l, &s));
    let text = parse(&html).expect("parses").text();
    assert!(!text.contains("Other nodes this node keeps a copy of"));
    assert!(text.contains("No equivocation or other misbehaviour has been found"));
}

#[test]
fn the_not_found_page_helps() {
    let l = Labels::built_in();
    let html = page(
        "Not found",
        layout::not_found(&l, "request", "/requests/abc"),
    );
    assert_accessible("not found", &html);
    let d = parse(&html).expect("parses");
    assert!(d
        .text()
        .contains("This node has no request at /requests/abc."));
    assert!(d.hrefs().contains(&"/") && d.hrefs().contains(&"/requests"));
}

#[test]
fn every_maori_term_in_the_translation_file_keeps_its_macrons() {
    // Words that are always written with a macron; a file that drops one
    // ("Purongo") must not ship.
    let l = Labels::built_in();
    for (section, key, term) in l.all_terms() {
        if let Some(mi) = &term.mi {
            for (bare, right) in [
                ("Purongo", "Pūrongo"),
                ("Poti", "Pōti"),
                ("whanui", "whānui"),
                ("Rahui", "Rāhui"),
                ("whakakahore", "whakakāhore"),
            ] {
                assert!(
                    !mi.contains(bare),
                    "{section}.{key}: {mi:?} should say {right:?}"
                );
            }
            assert!(
                !mi.ends_with('s') || mi.ends_with("ss"),
                "{section}.{key}: no English plural on Māori words"
            );
        }
    }
}

#[test]
fn a_suspended_request_names_the_rahui_and_the_motion_that_pause_it() {
    use kaitiaki_node::pages::request::Pause;
    let l = Labels::built_in();
    let mut v = request_view();
    v.status = Some(RequestStatus::Suspended);
    v.paused_by = vec![
        Pause::Rahui {
            id: "aa".repeat(32),
            dataset: ("33".repeat(32), "Whānau wellbeing".into()),
            board: ("55".repeat(32), "Te Poari".into()),
            reason: "A hui-ā-iwi asked for a pause.".into(),
            since: at("2026-11-01T00:00:00Z"),
            until: None,
        },
        Pause::Motion {
            id: "bb".repeat(32),
            board: ("56".repeat(32), "Pacific Board".into()),
            reason: "A breach of the no-linkage condition.".into(),
            since: at("2026-11-03T00:00:00Z"),
        },
    ];
    let html = page("Request", request::render(&l, &v));
    assert_accessible("suspended request", &html);
    let d = parse(&html).expect("parses");
    let text = d.text();
    for want in [
        "Access is paused, for the reasons below.",
        "Why access is paused",
        "A rāhui on the dataset Whānau wellbeing, placed by Te Poari on 1 November 2026, until the board lifts it.",
        "A hui-ā-iwi asked for a pause.",
        "Pacific Board voted to suspend the approval, on 3 November 2026",
        "A breach of the no-linkage condition.",
    ] {
        assert!(text.contains(want), "missing {want:?} in {text}");
    }
    assert!(!text.contains("by a board's decision or a"), "{text}");
    let hrefs = d.hrefs();
    for want in [
        format!("/datasets/{}", "33".repeat(32)),
        format!("/bodies/{}", "55".repeat(32)),
        format!("/records/{}", "aa".repeat(32)),
        format!("/records/{}", "bb".repeat(32)),
    ] {
        assert!(hrefs.contains(&want.as_str()), "no link to {want}");
    }
    // The whole key of the requester is on the page, with their requests.
    assert!(text.contains(&"cd".repeat(32)), "{text}");
    assert!(hrefs.contains(&format!("/requests?requester={}", "cd".repeat(32)).as_str()));
}

#[test]
fn a_request_awaiting_votes_under_a_rahui_says_why_no_board_can_vote() {
    use kaitiaki_node::pages::request::Pause;
    let l = Labels::built_in();
    let mut v = request_view();
    v.status = Some(RequestStatus::UnderReview);
    v.paused_by = vec![Pause::Rahui {
        id: "aa".repeat(32),
        dataset: ("33".repeat(32), "Whānau wellbeing".into()),
        board: ("55".repeat(32), "Te Poari".into()),
        reason: "A hui-ā-iwi asked for a pause.".into(),
        since: at("2026-11-01T00:00:00Z"),
        until: Some(at("2026-12-01T00:00:00Z")),
    }];
    let html = page("Request", request::render(&l, &v));
    assert_accessible("request under a rāhui", &html);
    let text = parse(&html).expect("parses").text();
    for want in [
        "Why no board can vote on it now",
        "are refused until it ends or is lifted.",
        "A rāhui on the dataset Whānau wellbeing, placed by Te Poari on 1 November 2026, until 1 December 2026.",
    ] {
        assert!(text.contains(want), "missing {want:?} in {text}");
    }
    assert!(!text.contains("Why access is paused"), "{text}");
    // Once decided, a past hold on the votes is not shown as one.
    v.status = Some(RequestStatus::Declined);
    let text = parse(&page("Request", request::render(&l, &v)))
        .expect("parses")
        .text();
    assert!(!text.contains("Why no board can vote"), "{text}");
}

#[test]
fn a_board_that_never_decided_reads_the_same_on_the_request_and_on_its_own_page() {
    use kaitiaki_node::pages::body::{self, BodyDecision, BodyView};
    let l = Labels::built_in();
    for (status, words) in [
        (
            RequestStatus::Withdrawn,
            "The request was withdrawn before this board decided.",
        ),
        (
            RequestStatus::Declined,
            "Another board declined the request before this board decided.",
        ),
        (
            RequestStatus::UnderReview,
            "This board has not decided yet.",
        ),
    ] {
        let mut v = request_view();
        v.status = Some(status);
        v.approved_at = None;
        v.expires_at = None;
        v.bodies[0].decision = None;
        v.bodies[0].notice_until = Some(at("2026-10-15T00:00:00Z"));
        v.bodies[0].tally = Tally {
            approve: 0,
            decline: 0,
            abstain: 0,
            not_voted: 5,
        };
        let html = page("Request", request::render(&l, &v));
        let text = parse(&html).expect("parses").text();
        assert!(text.contains(words), "{status:?}: {text}");
        assert!(text.contains("0 approve · 0 decline · 0 abstain · 5 not voted"));
        assert_eq!(
            text.contains("Open for community comment until 15 October 2026."),
            status == RequestStatus::UnderReview,
            "{status:?}: a closed request is not open for comment"
        );
        let b = BodyView {
            id: "55".repeat(32),
            name: "Te Poari".into(),
            description: "The board.".into(),
            home_log: "iwi.example".into(),
            founded: None,
            valid: true,
            members: vec![],
            rule: None,
            notice_days: 0,
            amendments: vec![],
            datasets: vec![],
            rahui: vec![],
            more_rahui: false,
            waiting: vec![],
            more_waiting: false,
            decisions: vec![BodyDecision {
                request: "44".repeat(32),
                title: "Rangatahi wellbeing".into(),
                requester: person("Dr Aroha Whaanga"),
                submitted: at("2026-10-01T00:00:00Z"),
                status,
                decision: None,
                later: vec![],
            }],
            after: None,
            next: None,
            check: None,
        };
        let html = page("Board", body::render(&l, &b));
        assert_accessible("board", &html);
        let text = parse(&html).expect("parses").text();
        assert!(text.contains(words), "{status:?}: {text}");
    }
}

#[test]
fn a_board_page_lists_its_charter_changes_with_what_each_changed() {
    use kaitiaki_governance::rules::Outcome;
    use kaitiaki_node::pages::body::{self, AmendmentItem, BodyView};
    let l = Labels::built_in();
    let mut b = BodyView {
        id: "55".repeat(32),
        name: "Te Poari".into(),
        description: "The board.".into(),
        home_log: "iwi.example".into(),
        founded: Some(at("2025-10-01T00:00:00Z")),
        valid: true,
        members: vec![(person("Hine"), "chair".into())],
        rule: None,
        notice_days: 0,
        amendments: vec![AmendmentItem {
            id: "aa".repeat(32),
            proposer: person("Hine"),
            proposed: at("2026-10-30T00:00:00Z"),
            changes: vec![
                "Every request stays open for community comment for 14 days before votes can decide it.".into(),
            ],
            reason: "Whānau asked for time.".into(),
            decision: Some((Outcome::Approved, at("2026-10-31T00:00:00Z"))),
            tally: Tally {
                approve: 1,
                decline: 0,
                abstain: 0,
                not_voted: 0,
            },
            votes: vec![
                body::AmendmentVote {
                    who: person("Hine"),
                    choice: Choice::Approve,
                    reason: "Time to kōrero.".into(),
                    at: at("2026-10-31T00:00:00Z"),
                    excluded: None,
                    decided: true,
                },
                body::AmendmentVote {
                    who: person("Rawiri"),
                    choice: Choice::Decline,
                    reason: "Too slow.".into(),
                    at: at("2026-11-01T00:00:00Z"),
                    excluded: Some("the decision was already reached".into()),
                    decided: false,
                },
            ],
        }],
        datasets: vec![],
        rahui: vec![],
        more_rahui: false,
        waiting: vec![
            body::WaitingLine {
                href: format!("/requests/{}", "44".repeat(32)),
                what: "The request".into(),
                title: "Rangatahi wellbeing".into(),
                since: at("2026-11-01T00:00:00Z"),
                note: Some(body::WaitNote::CommentUntil(at("2026-11-15T00:00:00Z"))),
            },
            body::WaitingLine {
                href: format!("/requests/{}", "45".repeat(32)),
                what: "The request".into(),
                title: "Housing and schools".into(),
                since: at("2026-11-01T00:00:00Z"),
                note: Some(body::WaitNote::Paused),
            },
            body::WaitingLine {
                href: "#amendments".into(),
                what: "A change to the charter, proposed by Hine,".into(),
                title: String::new(),
                since: at("2026-11-02T00:00:00Z"),
                note: None,
            },
        ],
        more_waiting: true,
        decisions: vec![],
        after: None,
        next: None,
        check: None,
    };
    let html = page("Board", body::render(&l, &b));
    assert_accessible("board with an amendment", &html);
    // No datasets and no decisions yet: said in words, with no empty list.
    for empty in ["<ul class=\"plain\"></ul>", "<ol class=\"timeline\"></ol>"] {
        assert!(!html.contains(empty), "{html}");
    }
    let d = parse(&html).expect("parses");
    // The change was approved: it is counted and headed as approved, not
    // as proposed.
    assert!(
        d.text().contains("1 approved change, each decided"),
        "{}",
        d.text()
    );
    assert!(!d.text().contains("1 proposed change"), "{}", d.text());
    let heading = |d: &super::html::El| {
        d.by_id("amendments")
            .map(|h| h.text())
            .expect("the changes' heading")
    };
    assert_eq!(heading(&d), "Approved changes to the charter");
    let waits = d
        .find("section")
        .into_iter()
        .find(|s| s.attr("aria-labelledby") == Some("waiting"))
        .expect("a waiting section")
        .text();
    for want in [
        "The request Rangatahi wellbeing",
        "since 1 November 2026 · open for community comment until 15 November 2026",
        "A change to the charter, proposed by Hine, (see the proposed changes)",
        "This board has more requests than this list reads (the oldest 10,000): newer ones may wait too.",
    ] {
        assert!(waits.contains(want), "missing {want:?}: {waits}");
    }
    assert!(!waits.contains("Nothing waits"), "{waits}");
    // The rāhui is marked as te reo, and the closing date is a <time>.
    let waiting = d
        .find("section")
        .into_iter()
        .find(|s| s.attr("aria-labelledby") == Some("waiting"))
        .expect("a waiting section");
    assert!(
        waits.contains("since 1 November 2026 · votes paused by a rāhui"),
        "{waits}"
    );
    assert!(
        waiting
            .find("span")
            .iter()
            .any(|s| s.attr("lang") == Some("mi") && s.text() == "rāhui"),
        "{waits}"
    );
    assert!(
        waiting.find("time").iter().any(|t| {
            t.attr("datetime")
                .is_some_and(|d| d.starts_with("2026-11-15"))
                && t.text() == "15 November 2026"
        }),
        "{waits}"
    );
    let text = d
        .find("ol")
        .into_iter()
        .find(|o| o.attr("class").is_some_and(|c| c.contains("amendments")))
        .expect("the amendments are listed")
        .text();
    for want in [
        "30 October 2026",
        "open for community comment for 14 days",
        "Whānau asked for time.",
        "on 31 October 2026",
        "1 approve · 0 decline · 0 abstain · 0 not voted",
        "voted Whakaae | Approve, 31 October 2026 (the deciding vote).",
        "Time to kōrero.",
        "voted Whakakāhore | Decline, 1 November 2026 — not counted: the decision was already reached.",
    ] {
        assert!(text.contains(want), "missing {want:?}: {text}");
    }
    assert!(d
        .hrefs()
        .contains(&format!("/records/{}", "aa".repeat(32)).as_str()));
    // Approved, declined and undecided together: each counted as what it
    // is, under a heading that claims none of them for all.
    let mut declined = b.amendments[0].clone();
    declined.decision = Some((Outcome::Declined, at("2026-11-03T00:00:00Z")));
    let mut open = b.amendments[0].clone();
    open.decision = None;
    b.amendments.extend([declined, open.clone(), open]);
    let d = parse(&page("Board", body::render(&l, &b))).expect("parses");
    assert!(
        d.text()
            .contains("1 approved change, 1 declined change and 2 proposed changes, each decided"),
        "{}",
        d.text()
    );
    assert_eq!(heading(&d), "Changes to the charter");
    b.amendments.truncate(1);
    b.amendments[0].decision = None;
    let d = parse(&page("Board", body::render(&l, &b))).expect("parses");
    let text = d.text();
    assert!(text.contains("Not decided yet"), "{text}");
    assert!(text.contains("1 proposed change, each decided"), "{text}");
    assert_eq!(heading(&d), "Proposed changes to the charter");
}

fn search_view() -> kaitiaki_node::pages::search::SearchView {
    use kaitiaki_node::pages::search::{Filters, ResultItem, SearchView};
    SearchView {
        filters: Filters::default(),
        typed_requester: None,
        requester: None,
        datasets: vec![("33".repeat(32), "Whānau wellbeing".into())],
        bodies: vec![("55".repeat(32), "Te Poari".into())],
        results: vec![ResultItem {
            id: "44".repeat(32),
            title: "Rangatahi wellbeing".into(),
            requester: person("Dr Aroha Whaanga"),
            submitted: at("2026-10-01T00:00:00Z"),
            status: RequestStatus::UnderReview,
            datasets: vec!["Whānau wellbeing".into()],
        }],
        next: None,
        problem: None,
        choices: vec![],
        more_choices: false,
        notice: None,
    }
}

#[test]
fn a_filter_that_cannot_be_used_lists_nothing_and_says_how_to_clear_it() {
    use kaitiaki_node::pages::search;
    let l = Labels::built_in();
    let v = search_view();
    let html = page("Requests", search::render(&l, &v));
    assert_accessible("requests", &html);
    let d = parse(&html).expect("parses");
    assert!(d.by_id("results").is_some());
    assert!(
        d.text().contains("Its first 8 characters are enough"),
        "the help says what the filter takes"
    );
    let input = d.by_id("f-requester").expect("requester field");
    assert_eq!(input.attr("pattern"), Some("[0-9a-fA-F]{8,64}"));

    // A bad value: the problem, no list, and links to clear it.
    let mut bad = search_view();
    bad.results.clear();
    bad.problem = Some("That status is not one this node knows.".into());
    bad.filters.body = Some("55".repeat(32));
    bad.typed_requester = Some("nonsense".into());
    let html = page("Requests", search::render(&l, &bad));
    assert_accessible("requests with a bad filter", &html);
    let d = parse(&html).expect("parses");
    let text = d.text();
    assert!(
        text.contains("That status is not one this node knows."),
        "{text}"
    );
    assert!(text.contains("No requests are listed until the filter is corrected."));
    assert!(d.by_id("results").is_none(), "no list under a bad filter");
    assert!(d.hrefs().contains(&"/requests"));
    assert!(d
        .hrefs()
        .contains(&format!("/requests?body={}", "55".repeat(32)).as_str()));
    assert_eq!(
        d.by_id("f-requester").and_then(|i| i.attr("value")),
        Some("nonsense"),
        "what was typed is given back to correct"
    );

    // Digits that begin two keys: each is offered, by name and whole key.
    let mut two = bad.clone();
    two.problem = Some("More than one requester's key begins with cdcdcdcd.".into());
    two.choices = vec![
        person("Dr Aroha Whaanga"),
        Person {
            name: None,
            affiliation: None,
            key: "cd".repeat(31) + "ef",
        },
    ];
    let html = page("Requests", search::render(&l, &two));
    assert_accessible("requests with an ambiguous key", &html);
    let d = parse(&html).expect("parses");
    let text = d.text();
    assert!(text.contains(&("cd".repeat(31) + "ef")), "{text}");
    assert!(text.contains("Dr Aroha Whaanga"), "{text}");
    assert!(d.hrefs().contains(
        &format!(
            "/requests?body={}&requester={}",
            "55".repeat(32),
            "cd".repeat(32)
        )
        .as_str()
    ));
}

#[test]
fn the_overview_links_the_requests_by_what_their_page_offers() {
    let l = Labels::built_in();
    let v = empty_overview();
    let d = parse(&page("Overview", overview::render(&l, &v))).expect("parses");
    let text = d.text();
    assert!(!text.to_lowercase().contains("search"), "{text}");
    let said = "All requests, to show by status, dataset, board or requester";
    let links: Vec<_> = d
        .find("a")
        .into_iter()
        .filter(|a| a.text() == said)
        .map(|a| a.attr("href"))
        .collect();
    assert_eq!(links, [Some("/requests")], "{text}");
}

#[test]
fn a_concern_record_shows_the_concern_its_subject_and_each_response() {
    use kaitiaki_node::pages::concern::{self, ConcernRecordView, Subject};
    let thread = request_view().concerns[0].clone();
    let mut v = ConcernRecordView {
        thread,
        subject: Subject {
            href: format!("/requests/{}", "44".repeat(32)),
            name: "Rangatahi wellbeing".into(),
            kind: "request",
        },
        this_response: None,
    };
    let html = page(
        "Record",
        maud::html! { h1 { "Record #3" } (concern::record_section(&v)) },
    );
    assert_accessible("concern record", &html);
    let d = parse(&html).expect("parses");
    let text = d.text();
    for want in [
        "The concern",
        "Raised by Someone who has not said who they are",
        "on 6 October 2026, about the request Rangatahi wellbeing · Resolved",
        "Will we be recognisable?",
        "Te Poari responded on 7 October 2026 (Huia Tamati",
        "and considers it resolved",
        "No: small counts are hidden.",
    ] {
        assert!(text.contains(want), "missing {want:?} in {text}");
    }
    // One board's resolution leaves it open while another governs the
    // request and has not resolved it, and the page says whom it waits for.
    let mut waiting = v.clone();
    waiting.thread.awaiting = vec!["Pacific Data Board".into()];
    let html = page(
        "Record",
        maud::html! { h1 { "Record #3" } (concern::record_section(&waiting)) },
    );
    let text = parse(&html).expect("parses").text();
    assert!(
        text.contains("Open: waiting for Pacific Data Board to resolve it too"),
        "{text}"
    );
    assert!(!text.contains("· Resolved"), "{text}");
    assert!(d
        .hrefs()
        .contains(&format!("/requests/{}", "44".repeat(32)).as_str()));
    assert!(d
        .hrefs()
        .contains(&format!("/records/{}", "99".repeat(32)).as_str()));

    // On the response's own page, the concern it answers, and which one it is.
    v.this_response = Some("99".repeat(32));
    v.thread.responses[0].excluded = Some("not_a_member: not a member".into());
    // As governance's record has it then: a response that does not count
    // resolves nothing, so the board is still awaited.
    v.thread.awaiting = vec!["Te Poari".into()];
    let html = page(
        "Record",
        maud::html! { h1 { "Record #4" } (concern::record_section(&v)) },
    );
    let text = parse(&html).expect("parses").text();
    assert!(text.contains("The concern this responds to"), "{text}");
    assert!(text.contains("This response: Te Poari responded"), "{text}");
    assert!(text.contains("This does not count: not_a_member"), "{text}");
    assert!(
        text.contains("· Open") && !text.contains("waiting for"),
        "a response that does not count closes nothing: {text}"
    );
}

/// A request that never had access owes no reports or outputs: its page
/// says so instead of "none yet", and lists no empty outputs.
#[test]
fn a_request_never_approved_says_no_reports_are_due() {
    let l = Labels::built_in();
    for (status, want) in [
        (
            RequestStatus::Declined,
            "No access to the data was given, so no use reports or outputs are due.",
        ),
        (
            RequestStatus::Withdrawn,
            "No access to the data was given, so no use reports or outputs are due.",
        ),
        (
            RequestStatus::UnderReview,
            "No access to the data has been given yet, so no use reports or outputs are due yet.",
        ),
    ] {
        let mut v = request_view();
        v.status = Some(status);
        v.approved_at = None;
        v.expires_at = None;
        v.next_report = None;
        let html = page("Request", request::render(&l, &v));
        assert_accessible("request never approved", &html);
        let d = parse(&html).expect("parses");
        let reports = d
            .find("section")
            .into_iter()
            .find(|s| s.attr("aria-labelledby") == Some("reports"))
            .expect("the reports section")
            .text();
        assert!(reports.contains(want), "{status:?}: {reports}");
        for not in ["No use reports have been filed yet.", "No outputs yet."] {
            assert!(!reports.contains(not), "{status:?}: {reports}");
        }
        assert!(!html.contains("<ul class=\"plain\"></ul>"), "{html}");
    }
    // An approved request with nothing filed yet says "yet", and still
    // lists no empty outputs.
    let html = page("Request", request::render(&l, &request_view()));
    let text = parse(&html).expect("parses").text();
    assert!(
        text.contains("No use reports have been filed yet.") && text.contains("No outputs yet."),
        "{text}"
    );
    assert!(!html.contains("<ul class=\"plain\"></ul>"), "{html}");
}

/// No two entries of the glossary share a name: a reader telling two
/// codes apart by their names must be able to.
#[test]
fn glossary_names_are_distinct() {
    let l = Labels::built_in();
    let html = page("Glossary", kaitiaki_node::pages::search::glossary(&l));
    assert_accessible("glossary", &html);
    let mut seen = std::collections::BTreeMap::new();
    for (code, k) in l.codes() {
        if let Some(other) = seen.insert(k.name.clone(), code.clone()) {
            panic!("{other} and {code} are both called {:?}", k.name);
        }
    }
    let text = parse(&html).expect("parses").text();
    assert!(text.contains("Any commercial request"), "{text}");
    assert!(text.contains("Unlike “Any commercial request”"), "{text}");
}

/// The list of requests says how it is ordered: stage by stage when no
/// dataset, board or requester is chosen, else oldest first.
#[test]
fn the_request_list_says_how_it_is_ordered() {
    use kaitiaki_node::pages::search;
    let l = Labels::built_in();
    let order = |v: &search::SearchView| {
        let html = page("Requests", search::render(&l, v));
        assert_accessible("requests", &html);
        let d = parse(&html).expect("parses");
        d.find("p")
            .into_iter()
            .find(|p| p.attr("class").is_some_and(|c| c.contains("order")))
            .map(|p| p.text())
    };
    let mut v = search_view();
    assert_eq!(
        order(&v).as_deref(),
        Some(
            "Listed stage by stage, oldest first within each stage: waiting for the boards, \
             being decided, approved (including any suspended or expired since), declined, \
             withdrawn, revoked, then completed."
        )
    );
    v.filters.dataset = Some("33".repeat(32));
    assert_eq!(order(&v).as_deref(), Some("Oldest first."));
    v.results.clear();
    assert_eq!(order(&v), None, "nothing listed, no order to tell");
}

/// A report filed after the date it met says so, with that date; one on
/// time says nothing of the kind.
#[test]
fn a_late_report_says_it_was_filed_late() {
    use kaitiaki_governance::requests::ReportStatus;
    let l = Labels::built_in();
    let mut v = request_view();
    let report = |id: &str, filed: &str, late_for: Option<Timestamp>| request::ReportItem {
        id: id.repeat(32),
        kind: ReportKind::Periodic,
        filed: at(filed),
        status: ReportStatus::Received,
        late_for,
        summary: "What we did.".into(),
        benefit: "What came back.".into(),
        incidents: vec![],
    };
    v.reports = vec![report("a1", "2027-01-20T00:00:00Z", None)];
    let text = parse(&page("Request", request::render(&l, &v)))
        .expect("parses")
        .text();
    assert!(!text.contains("Filed late"), "{text}");
    v.reports = vec![report(
        "a2",
        "2027-05-20T00:00:00Z",
        Some(at("2027-04-05T00:00:00Z")),
    )];
    let text = parse(&page("Request", request::render(&l, &v)))
        .expect("parses")
        .text();
    assert!(
        text.contains("Filed late: it was due 5 April 2027."),
        "{text}"
    );
}
