//! A small world to tell governance stories in: people with keys from fixed
//! seeds, nodes with logs and clocks, and helpers that sign real statements
//! and fold them into a [`MemStore`].

use std::collections::BTreeMap;

use ed25519_dalek::SigningKey;
use kaitiaki_governance::query::{self, RequestView};
use kaitiaki_governance::{
    apply, check, Applied, CheckError, Entry, MemStore, RejectionCode, RequestStatus, Verdict,
};
use kaitiaki_protocol::statement::*;
use kaitiaki_protocol::{Body, Envelope, PublicKey, Statement, StatementId, Timestamp};

pub const NETWORK: &str = "kaitiaki-test";
/// The iwi board's node.
pub const IWI: &str = "iwi.example";
/// The Pacific board's node.
pub const PACIFIC: &str = "pacific.example";
/// The agency node where researchers submit.
pub const AGENCY: &str = "agency.example";

/// Someone with a key.
#[derive(Clone)]
pub struct Person {
    pub name: &'static str,
    pub key: SigningKey,
}

impl Person {
    pub fn new(name: &'static str, seed: u8) -> Person {
        Person {
            name,
            key: SigningKey::from_bytes(&[seed; 32]),
        }
    }
    pub fn pk(&self) -> PublicKey {
        PublicKey::of(&self.key)
    }
    /// The key as the state keeps it.
    pub fn kb(&self) -> kaitiaki_governance::KeyBytes {
        kaitiaki_governance::KeyBytes::of(&self.pk())
    }
    pub fn member(&self, role: &str) -> Member {
        Member {
            key: self.pk(),
            role: role.into(),
        }
    }
}

pub fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).expect("a test time")
}

/// Signs a statement by `who` with `created_at`.
pub fn sign(who: &Person, created_at: Timestamp, body: Body) -> (StatementId, Statement) {
    let st = Statement {
        network: NETWORK.into(),
        author: who.pk(),
        created_at,
        body,
    };
    let env = Envelope::sign(&who.key, &st).expect("signs");
    let v = env.open().expect("opens");
    (v.id(), v.statement().clone())
}

/// The federation as the state sees it: a store, each node's next leaf
/// index, and a clock that only moves when the story says so.
pub struct World {
    pub store: MemStore,
    next: BTreeMap<String, u64>,
    pub now: Timestamp,
    /// Every entry applied, in order (for refolding in other orders).
    pub log: Vec<Entry>,
}

impl World {
    pub fn new() -> World {
        World {
            store: MemStore::new(),
            next: BTreeMap::new(),
            now: t("2026-01-05T09:00:00Z"),
            log: Vec::new(),
        }
    }

    pub fn days(&mut self, n: u32) {
        self.now = self.now.plus_days(n);
    }

    /// The next leaf of `log`, sequenced now (one second after the last, so
    /// every leaf has its own time).
    pub fn entry(&mut self, who: &Person, log: &str, body: Body) -> Entry {
        self.now = Timestamp::from_unix_millis(self.now.unix_millis() + 1000).expect("in range");
        let (id, statement) = sign(who, self.now, body);
        let index = self.next.entry(log.to_owned()).or_insert(0);
        let e = Entry {
            id,
            statement,
            log: log.into(),
            index: *index,
            sequenced_at: self.now,
        };
        *index += 1;
        e
    }

    /// Applies an entry, keeps it in the log, and checks the running hash.
    pub fn put(&mut self, e: Entry) -> Applied {
        let applied = apply(&e, &mut self.store).expect("the store works");
        self.log.push(e);
        applied
    }

    /// Sequences an already signed statement again, in another log (a
    /// replication, or a replay), at that log's next index and now.
    pub fn replicate(&mut self, id: &StatementId, log: &str) -> Applied {
        let original = self
            .log
            .iter()
            .find(|e| e.id == *id)
            .expect("a known entry")
            .clone();
        self.now = Timestamp::from_unix_millis(self.now.unix_millis() + 1000).expect("in range");
        let index = self.next.entry(log.to_owned()).or_insert(0);
        let e = Entry {
            log: log.into(),
            index: *index,
            sequenced_at: self.now,
            ..original
        };
        *index += 1;
        self.put(e)
    }

    /// Says something in a log; returns its id and verdict.
    pub fn say(&mut self, who: &Person, log: &str, body: Body) -> (StatementId, Verdict) {
        let e = self.entry(who, log, body);
        let id = e.id;
        let v = self.put(e).verdict;
        (id, v)
    }

    /// Says something that must count.
    pub fn ok(&mut self, who: &Person, log: &str, body: Body) -> StatementId {
        let (id, v) = self.say(who, log, body);
        assert_eq!(v, Verdict::Valid, "{} expected to count", who.name);
        id
    }

    /// Says something that must be refused with `code`; returns the message.
    pub fn refused(&mut self, who: &Person, log: &str, body: Body, code: RejectionCode) -> String {
        let e = self.entry(who, log, body);
        // `check` and `apply` agree.
        match check(&e, &self.store) {
            Err(CheckError::Rejected(r)) => assert_eq!(r.code, code, "check: {}", r.message),
            other => panic!("check expected {code}, got {other:?}"),
        }
        match self.put(e).verdict {
            Verdict::Excluded { rejection } => {
                assert_eq!(rejection.code, code, "{}", rejection.message);
                rejection.message
            }
            other => panic!("expected {code}, got {other:?}"),
        }
    }

    pub fn verdict(&self, id: &StatementId) -> Verdict {
        query::statement_state(&self.store, id)
            .expect("reads")
            .expect("known")
            .verdict
    }

    pub fn status(&self, r: &StatementId) -> RequestStatus {
        self.status_at(r, self.now)
    }

    pub fn status_at(&self, r: &StatementId, now: Timestamp) -> RequestStatus {
        query::request_status(&self.store, r, now)
            .expect("reads")
            .expect("a counted request")
    }

    pub fn view(&self, r: &StatementId) -> RequestView {
        query::request(&self.store, r, self.now)
            .expect("reads")
            .expect("known")
    }

    pub fn hash(&self) -> [u8; 32] {
        let h = kaitiaki_governance::state_hash(&self.store).expect("reads");
        assert_eq!(
            h,
            kaitiaki_governance::recompute_state_hash(&self.store),
            "running hash drifted"
        );
        h
    }

    /// Folds every entry again, in the given order, into a fresh store.
    pub fn refold(&self, order: &[usize]) -> MemStore {
        let mut s = MemStore::new();
        for &i in order {
            apply(&self.log[i], &mut s).expect("the store works");
        }
        s
    }
}

// Statement bodies, in the words of the stories.

pub fn announce(name: &str, affiliation: &str) -> Body {
    Body::KeyAnnounce(KeyAnnounce {
        display_name: name.into(),
        affiliation: affiliation.into(),
    })
}

pub fn rotate(old: &Person, new: &Person) -> Body {
    let message = key_rotation_message(NETWORK, &old.pk());
    Body::KeyRotate(KeyRotate {
        new_key: new.pk(),
        proof: kaitiaki_protocol::Signature::sign(&new.key, &message),
    })
}

pub fn revoke(reason: &str) -> Body {
    Body::KeyRevoke(KeyRevoke {
        reason: reason.into(),
    })
}

pub fn charter(
    name: &str,
    home: &str,
    members: &[&Person],
    rule: DecisionRule,
    notice_days: u32,
) -> Body {
    Body::BodyCharter(BodyCharter {
        name: name.into(),
        description: format!("{name}, for the stories in these tests"),
        home_log: home.into(),
        members: members.iter().map(|p| p.member("member")).collect(),
        rule,
        notice_days,
    })
}

pub fn amend(
    body: StatementId,
    add: &[&Person],
    remove: &[&Person],
    rule: Option<DecisionRule>,
) -> Body {
    Body::BodyAmend(BodyAmend {
        body,
        add_members: add.iter().map(|p| p.member("member")).collect(),
        remove_members: remove.iter().map(|p| p.pk()).collect(),
        rule,
        notice_days: None,
        description: None,
        reason: "The board's membership changes.".into(),
    })
}

/// An amendment of a body's notice period.
pub fn notice(body: StatementId, days: u32) -> Body {
    Body::BodyAmend(BodyAmend {
        body,
        add_members: Vec::new(),
        remove_members: Vec::new(),
        rule: None,
        notice_days: Some(days),
        description: None,
        reason: "Give whānau time to comment on every request.".into(),
    })
}

pub fn dataset(name: &str, bodies: &[StatementId], excluded: &[&str]) -> Body {
    Body::DatasetRegister(DatasetRegister {
        name: name.into(),
        description: format!("{name}: records about whānau"),
        steward: "Agency".into(),
        governing_bodies: bodies.to_vec(),
        labels: vec![Label {
            code: "BC_R".into(),
            text: None,
        }],
        permitted_uses: vec!["DUO:0000042".into()],
        excluded_uses: excluded.iter().map(|s| s.to_string()).collect(),
        sensitivity: Sensitivity::Sensitive,
    })
}

pub fn request(title: &str, datasets: &[StatementId], uses: &[&str], days: u32) -> Body {
    Body::RequestSubmit(RequestSubmit {
        title: title.into(),
        datasets: datasets.to_vec(),
        purpose: "To understand how services reach whānau.".into(),
        use_category: UseCategory::Research,
        uses: uses.iter().map(|s| s.to_string()).collect(),
        duration_days: days,
        linkage: "none".into(),
        setting: "secure data lab".into(),
        people: "two accredited analysts".into(),
        community_benefit: "Findings returned to the iwi.".into(),
        outputs_plan: "Aggregate tables, checked before release.".into(),
    })
}

pub fn vote(subject: StatementId, body: StatementId, choice: Choice, reason: &str) -> Body {
    Body::Vote(Vote {
        subject,
        body,
        choice,
        conditions: Vec::new(),
        reason: reason.into(),
    })
}

pub fn approve(subject: StatementId, body: StatementId) -> Body {
    vote(subject, body, Choice::Approve, "The purpose is sound.")
}

pub fn decline(subject: StatementId, body: StatementId, reason: &str) -> Body {
    vote(subject, body, Choice::Decline, reason)
}

pub fn approve_with(subject: StatementId, body: StatementId, conditions: Vec<Condition>) -> Body {
    Body::Vote(Vote {
        subject,
        body,
        choice: Choice::ApproveWithConditions,
        conditions,
        reason: "Approved, with conditions.".into(),
    })
}

/// A plain approval that lists conditions anyway (refused: conditions go
/// only with `approve_with_conditions`).
pub fn approve_listing(
    subject: StatementId,
    body: StatementId,
    conditions: Vec<Condition>,
) -> Body {
    Body::Vote(Vote {
        subject,
        body,
        choice: Choice::Approve,
        conditions,
        reason: "Approved, once these are met.".into(),
    })
}

pub fn question(request: StatementId, text: &str) -> Body {
    Body::RequestQuestion(RequestQuestion {
        request,
        text: text.into(),
    })
}

pub fn answer(question: StatementId, text: &str) -> Body {
    Body::RequestAnswer(RequestAnswer {
        question,
        text: text.into(),
    })
}

pub fn withdraw(request: StatementId) -> Body {
    Body::RequestWithdraw(RequestWithdraw {
        request,
        reason: "The project lost its funding.".into(),
    })
}

pub fn rahui(body: StatementId, dataset: StatementId, until: Option<Timestamp>) -> Body {
    Body::RahuiPlace(RahuiPlace {
        body,
        dataset,
        reason: "A death in the community; access pauses.".into(),
        until,
    })
}

pub fn lift(rahui: StatementId) -> Body {
    Body::RahuiLift(RahuiLift {
        rahui,
        reason: "The time of mourning has passed.".into(),
    })
}

pub fn motion(request: StatementId, body: StatementId, action: ApprovalAction) -> Body {
    Body::ApprovalMotion(ApprovalMotion {
        request,
        body,
        action,
        reason: "A breach of the no-linkage condition was reported.".into(),
    })
}

pub fn renew(request: StatementId, extra_days: u32) -> Body {
    Body::RenewalRequest(RenewalRequest {
        request,
        extra_days,
        reason: "The analysis needs another season.".into(),
    })
}

pub fn report(request: StatementId, kind: ReportKind) -> Body {
    Body::UseReport(UseReport {
        request,
        kind,
        summary: "We ran the planned analysis.".into(),
        benefit_returned: "A hui to present the findings.".into(),
        incidents: Vec::new(),
        outputs: Vec::new(),
    })
}

pub fn review(report: StatementId, body: StatementId, accepted: bool) -> Body {
    Body::ReportReview(ReportReview {
        report,
        body,
        accepted,
        reason: if accepted {
            "Thorough."
        } else {
            "Say more about benefit."
        }
        .into(),
    })
}

pub fn output(request: StatementId, title: &str) -> Body {
    Body::OutputSubmit(OutputSubmit {
        request,
        title: title.into(),
        content_hash: kaitiaki_protocol::ContentHash::of(title.as_bytes()),
        link: None,
    })
}

pub fn output_review(output: StatementId, body: StatementId, release: bool) -> Body {
    Body::OutputReview(OutputReview {
        output,
        body,
        release,
        reason: "Reviewed against the conditions.".into(),
    })
}

pub fn concern(subject: StatementId, text: &str) -> Body {
    Body::ConcernRaise(ConcernRaise {
        subject,
        text: text.into(),
    })
}

pub fn respond(concern: StatementId, body: StatementId, resolved: bool) -> Body {
    Body::ConcernRespond(ConcernRespond {
        concern,
        body,
        text: "We have spoken with the whānau concerned.".into(),
        resolved,
    })
}

/// The cast of the stories.
pub struct Cast {
    /// Iwi board members.
    pub iwi: [Person; 5],
    /// Pacific board members.
    pub pacific: [Person; 5],
    /// A researcher at the agency.
    pub researcher: Person,
    /// A member of the community.
    pub whanau: Person,
    /// The agency's data steward.
    pub steward: Person,
}

impl Cast {
    pub fn new() -> Cast {
        let names_iwi = ["Aroha", "Hemi", "Mere", "Tama", "Wiremu"];
        let names_pac = ["Sione", "Losa", "Tavita", "Mele", "Ioane"];
        Cast {
            iwi: std::array::from_fn(|i| Person::new(names_iwi[i], 10 + i as u8)),
            pacific: std::array::from_fn(|i| Person::new(names_pac[i], 20 + i as u8)),
            researcher: Person::new("Researcher", 30),
            whanau: Person::new("Whānau member", 31),
            steward: Person::new("Steward", 32),
        }
    }
}

/// The common setting: an iwi board (3 of 5) on its node, a Pacific board
/// (majority, quorum 4) on its node, and a dataset both govern.
pub struct Setting {
    pub w: World,
    pub c: Cast,
    pub iwi_board: StatementId,
    pub pacific_board: StatementId,
    pub data: StatementId,
}

impl Setting {
    pub fn new() -> Setting {
        Setting::with_notice(0)
    }

    pub fn with_notice(notice_days: u32) -> Setting {
        let mut w = World::new();
        let c = Cast::new();
        let iwi: Vec<&Person> = c.iwi.iter().collect();
        let pac: Vec<&Person> = c.pacific.iter().collect();
        let iwi_board = w.ok(
            &c.iwi[0],
            IWI,
            charter(
                "Iwi Data Board",
                IWI,
                &iwi,
                DecisionRule::Threshold { k: 3 },
                notice_days,
            ),
        );
        let pacific_board = w.ok(
            &c.pacific[0],
            PACIFIC,
            charter(
                "Pacific Data Board",
                PACIFIC,
                &pac,
                DecisionRule::Majority { quorum: 4 },
                notice_days,
            ),
        );
        let data = w.ok(
            &c.steward,
            AGENCY,
            dataset(
                "Whānau Services",
                &[iwi_board, pacific_board],
                &["commercial", "DUO:0000046"],
            ),
        );
        Setting {
            w,
            c,
            iwi_board,
            pacific_board,
            data,
        }
    }

    /// A research request for the dataset, sequenced at the agency.
    pub fn request(&mut self, days: u32) -> StatementId {
        let data = self.data;
        let r = self.c.researcher.clone();
        self.w.ok(
            &r,
            AGENCY,
            request("Service reach study", &[data], &["DUO:0000042"], days),
        )
    }

    /// `n` iwi members approve (on the iwi node).
    pub fn iwi_approve(&mut self, r: StatementId, n: usize) {
        for i in 0..n {
            let p = self.c.iwi[i].clone();
            let b = self.iwi_board;
            self.w.ok(&p, IWI, approve(r, b));
        }
    }

    /// `n` Pacific members approve (on the Pacific node).
    pub fn pacific_approve(&mut self, r: StatementId, n: usize) {
        for i in 0..n {
            let p = self.c.pacific[i].clone();
            let b = self.pacific_board;
            self.w.ok(&p, PACIFIC, approve(r, b));
        }
    }

    /// Both boards approve `r`, the iwi board's first vote asking for a
    /// report every six months and a final one.
    pub fn approve_with_reports(&mut self, r: StatementId) {
        let (b, first) = (self.iwi_board, self.c.iwi[0].clone());
        self.w.ok(
            &first,
            IWI,
            approve_with(
                r,
                b,
                vec![Condition::ReportEvery { months: 6 }, Condition::FinalReport],
            ),
        );
        self.iwi_approve_from(r, 1, 3);
        self.pacific_approve(r, 4);
    }

    /// A request approved by both boards.
    pub fn approved_request(&mut self, days: u32) -> StatementId {
        let r = self.request(days);
        self.iwi_approve(r, 3);
        self.pacific_approve(r, 4);
        assert_eq!(self.w.status(&r), RequestStatus::Approved);
        r
    }
}
