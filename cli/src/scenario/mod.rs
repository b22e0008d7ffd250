//! The demo's example: two governance boards co-governing agency datasets,
//! and requests in every state, seeded through the real HTTP API.
//!
//! Everyone in it is fictional. "Ngāti Tauira" is a placeholder iwi name
//! (tauira: example, sample), and the datasets are described as synthetic.
//!
//! Each statement is sent to the node that is its author's *home*: the iwi
//! board's charter, votes and rāhui to the iwi node, the Pacific board's to
//! the Pacific node, registrations and requests to the agency node. The
//! nodes follow each other, so a statement that refers to one sent to
//! another node waits until its node has mirrored what it refers to (a
//! node refuses references it does not hold with `unknown_reference`).
//! With one node all three homes are the same and nothing waits.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use kaitiaki_node::Clock;
use kaitiaki_protocol::statement::{Choice, Condition, RequestSubmit, UseCategory, Vote};
use kaitiaki_protocol::statement::{ReportKind, ReportReview, UseReport};
use kaitiaki_protocol::{Body, PublicKey, StatementId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::keys::KeyStore;
use crate::submit::sign_at;

mod seed;

pub use seed::seed;

/// Whose node a statement belongs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Home {
    /// The iwi's node: the iwi board's own decisions.
    Iwi,
    /// The Pacific board's node.
    Pacific,
    /// The agency's node: datasets and requests.
    Agency,
}

/// The nodes of the demo, by home, with their origins (which the boards'
/// charters name as their home logs).
pub struct Nodes {
    /// The iwi node.
    pub iwi: (Client, String),
    /// The Pacific board's node.
    pub pacific: (Client, String),
    /// The agency's node.
    pub agency: (Client, String),
}

/// Who is in the example: local key name, display name, affiliation, role.
const PEOPLE: &[(&str, &str, &str, &str)] = &[
    (
        "iwi-chair",
        "Hine Tauira",
        "Te Poari Raraunga o Ngāti Tauira",
        "chair",
    ),
    ("iwi-kaumatua", "Matua Rewi", "Ngāti Tauira", "kaumātua"),
    ("iwi-member-3", "Aroha Kereama", "Ngāti Tauira", "member"),
    (
        "iwi-member-4",
        "Tama Wiremu",
        "Ngāti Tauira",
        "rangatahi representative",
    ),
    (
        "iwi-member-5",
        "Mere Paora",
        "Ngāti Tauira",
        "data scientist",
    ),
    (
        "pacific-chair",
        "Losa Faleolo",
        "Pacific Data Governance Board (example)",
        "chair",
    ),
    (
        "pacific-member-2",
        "Sione Havili",
        "Tongan community (example)",
        "member",
    ),
    (
        "pacific-member-3",
        "Mele Tupou",
        "Tongan community (example)",
        "member",
    ),
    (
        "pacific-member-4",
        "Tavita Aumua",
        "Samoan community (example)",
        "member",
    ),
    (
        "pacific-member-5",
        "Ana Tafuna",
        "Cook Islands community (example)",
        "member",
    ),
    (
        "pacific-member-6",
        "Iosefa Lemalu",
        "Niuean community (example)",
        "member",
    ),
    (
        "agency-steward",
        "Data Steward",
        "Ministry of Example Services",
        "steward",
    ),
    (
        "researcher-kahu",
        "Dr Kahu Ngata",
        "University of Example",
        "researcher",
    ),
    (
        "researcher-salote",
        "Dr Salote Vaka",
        "Pacific Health Research Centre (example)",
        "researcher",
    ),
    (
        "analyst-jo",
        "Jo Smith",
        "Ministry of Example Services",
        "policy analyst",
    ),
    (
        "insurer-analyst",
        "Alex Reid",
        "Example Insurance Ltd",
        "analyst",
    ),
    (
        "whanau-member",
        "Rangi Tauira",
        "Ngāti Tauira whānau",
        "community member",
    ),
];

/// What the demo seeded, kept beside its data so a later run can say what
/// to look at without re-seeding.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Seeded {
    /// When it was seeded (RFC 3339).
    pub seeded_at: String,
    /// Notable statements by a short name, e.g. `request.approved`.
    pub ids: BTreeMap<String, StatementId>,
    /// How many statements were sent.
    pub statements: u64,
}

/// How many days the example's story spans, ending now: long enough for a
/// six-monthly report to be met and the next one to be overdue.
pub const SPAN_DAYS: u32 = 420;

/// How long a statement waits for what it refers to to reach its node.
const MIRRORED_WITHIN: Duration = Duration::from_secs(30);

struct Seeder<'a> {
    nodes: &'a Nodes,
    keys: &'a KeyStore,
    /// The nodes' clock, which the story moves from day to day.
    clock: &'a Clock,
    /// The story's first day.
    start: Timestamp,
    network: String,
    seeded: Seeded,
    /// The latest statement sent to each node.
    latest: Vec<(Home, StatementId)>,
    /// Statements known to have reached a node other than their own.
    seen: HashSet<(Home, StatementId)>,
}

/// A person's home node: board members' on their board's node, everyone
/// else's on the agency's.
fn home_of(who: &str) -> Home {
    if who.starts_with("iwi") {
        Home::Iwi
    } else if who.starts_with("pacific") {
        Home::Pacific
    } else {
        Home::Agency
    }
}

/// Makes the example's keys (once) in `keys`.
pub fn ensure_people(keys: &KeyStore) -> Result<()> {
    let have = keys.names()?;
    for (name, ..) in PEOPLE {
        if !have.iter().any(|h| h == name) {
            keys.create(name)?;
        }
    }
    Ok(())
}

impl Home {
    fn name(self) -> &'static str {
        match self {
            Home::Iwi => "iwi",
            Home::Pacific => "Pacific",
            Home::Agency => "agency",
        }
    }
}

impl Drop for Seeder<'_> {
    /// However the story ends, the nodes keep the present time after it.
    fn drop(&mut self) {
        self.clock.reset();
    }
}

impl Seeder<'_> {
    fn client(&self, home: Home) -> &Client {
        match home {
            Home::Iwi => &self.nodes.iwi.0,
            Home::Pacific => &self.nodes.pacific.0,
            Home::Agency => &self.nodes.agency.0,
        }
    }

    fn same_node(&self, a: Home, b: Home) -> bool {
        a == b || self.client(a).base() == self.client(b).base()
    }

    /// What `home`'s node must hold before it is sent anything more: the
    /// latest statement sent to each other node, unless seen there already.
    /// A node mirrors a peer's log in order, so holding the latest means
    /// holding everything before it, which covers both the statements a new
    /// one names and the state it depends on (a board's approval, say).
    fn pending(&self, home: Home) -> Vec<(StatementId, Home)> {
        self.latest
            .iter()
            .filter(|(from, id)| !self.same_node(*from, home) && !self.seen.contains(&(home, *id)))
            .map(|(from, id)| (*id, *from))
            .collect()
    }

    /// Waits until `home`'s node holds each statement in `refs`, mirrored
    /// from the node it was sent to.
    async fn await_mirrored(&mut self, home: Home, refs: &[(StatementId, Home)]) -> Result<()> {
        let client = self.client(home).clone();
        let deadline = Instant::now() + MIRRORED_WITHIN;
        for (id, from) in refs {
            loop {
                // A node that does not answer for a moment is retried too.
                if let Ok(Some(_)) = client.statement(id).await {
                    self.seen.insert((home, *id));
                    break;
                }
                if Instant::now() >= deadline {
                    bail!(
                        "statement {id}, sent to the {} node, did not reach the {} node within {} s: \
                         replication between the demo's nodes is not working",
                        from.name(),
                        home.name(),
                        MIRRORED_WITHIN.as_secs()
                    );
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }

    /// Moves the nodes' clock to the story's day `day`; the statements
    /// that follow are sequenced then, a moment apart.
    fn day(&self, day: u32) {
        self.clock.set(self.start.plus_days(day));
    }

    /// Returns the nodes' clock to the present: the story is told. (A
    /// seeder dropped before it gets here, by an error, does the same.)
    fn back_to_the_present(&self) {
        self.clock.reset();
    }

    fn key(&self, who: &str) -> Result<PublicKey> {
        Ok(self.keys.info(who)?.public_key)
    }

    /// Signs `body` as `who` and sends it to `home`'s node.
    async fn say(
        &mut self,
        who: &str,
        home: Home,
        body: Body,
        label: Option<&str>,
    ) -> Result<StatementId> {
        let kind = body.kind();
        let key = self.keys.load(who)?;
        // Signed when the story says it happened, as it is sequenced then.
        let envelope = sign_at(&key, &self.network, body, self.clock.now())?;
        let refs = self.pending(home);
        self.await_mirrored(home, &refs)
            .await
            .with_context(|| format!("demo step failed: {who} says {kind}"))?;
        let accepted = self
            .client(home)
            .submit(&envelope)
            .await
            .with_context(|| format!("demo step failed: {who} says {kind}"))?;
        self.seeded.statements += 1;
        self.latest.retain(|(h, _)| *h != home);
        self.latest.push((home, accepted.id));
        if let Some(label) = label {
            self.seeded.ids.insert(label.to_owned(), accepted.id);
        }
        Ok(accepted.id)
    }

    async fn vote(
        &mut self,
        who: &str,
        subject: StatementId,
        body: StatementId,
        choice: Choice,
        conditions: Vec<Condition>,
        reason: &str,
    ) -> Result<StatementId> {
        let vote = Body::Vote(Vote {
            subject,
            body,
            choice,
            conditions,
            reason: reason.to_owned(),
        });
        self.say(who, home_of(who), vote, None).await
    }

    /// Both boards approve `request`: three iwi members, then four Pacific
    /// members with one abstaining.
    async fn approve_by_both(
        &mut self,
        request: StatementId,
        iwi: StatementId,
        pacific: StatementId,
        iwi_conditions: Vec<Condition>,
    ) -> Result<()> {
        let first = if iwi_conditions.is_empty() {
            Choice::Approve
        } else {
            Choice::ApproveWithConditions
        };
        self.vote(
            "iwi-chair",
            request,
            iwi,
            first,
            iwi_conditions,
            "The purpose serves our whānau and the safeguards are sound.",
        )
        .await?;
        self.vote(
            "iwi-kaumatua",
            request,
            iwi,
            Choice::Approve,
            vec![],
            "Kua whakaaetia, on the conditions the chair set out.",
        )
        .await?;
        self.vote(
            "iwi-member-5",
            request,
            iwi,
            Choice::Approve,
            vec![],
            "The outputs plan keeps small counts suppressed.",
        )
        .await?;
        self.vote(
            "pacific-chair",
            request,
            pacific,
            Choice::Approve,
            vec![],
            "Our communities asked for this evidence.",
        )
        .await?;
        self.vote(
            "pacific-member-2",
            request,
            pacific,
            Choice::Approve,
            vec![],
            "Good plan for reporting back to families.",
        )
        .await?;
        self.vote(
            "pacific-member-3",
            request,
            pacific,
            Choice::Abstain,
            vec![],
            "I work with the research team, so I stand aside.",
        )
        .await?;
        self.vote(
            "pacific-member-4",
            request,
            pacific,
            Choice::Approve,
            vec![],
            "Agreed.",
        )
        .await?;
        Ok(())
    }

    /// Both boards' chairs accept `report`.
    async fn review_by_both(
        &mut self,
        report: StatementId,
        iwi: StatementId,
        pacific: StatementId,
        reason: &str,
    ) -> Result<()> {
        for (who, body) in [("iwi-chair", iwi), ("pacific-chair", pacific)] {
            let review = Body::ReportReview(ReportReview {
                report,
                body,
                accepted: true,
                reason: reason.to_owned(),
            });
            self.say(who, home_of(who), review, None).await?;
        }
        Ok(())
    }

    /// The monitoring request's monthly report, by its analyst.
    async fn monthly_report(&mut self, request: StatementId, summary: &str) -> Result<()> {
        let report = Body::UseReport(UseReport {
            request,
            kind: ReportKind::Periodic,
            summary: summary.to_owned(),
            benefit_returned:
                "The month's figures went to both boards and the regional whānau services."
                    .to_owned(),
            incidents: vec![],
            outputs: vec![],
        });
        self.say("analyst-jo", Home::Agency, report, None).await?;
        Ok(())
    }

    async fn request(&mut self, who: &str, label: &str, r: RequestSubmit) -> Result<StatementId> {
        self.say(who, Home::Agency, Body::RequestSubmit(r), Some(label))
            .await
    }
}

fn request(
    title: &str,
    dataset: StatementId,
    purpose: &str,
    category: UseCategory,
    days: u32,
) -> RequestSubmit {
    RequestSubmit {
        title: title.to_owned(),
        datasets: vec![dataset],
        purpose: purpose.to_owned(),
        use_category: category,
        uses: vec!["DUO:0000042".to_owned()],
        duration_days: days,
        linkage: "none".to_owned(),
        setting: "The agency's secure data lab; no data leaves it.".to_owned(),
        people: "Two named researchers with current data-lab accreditation.".to_owned(),
        community_benefit: "Evidence the boards asked for, returned to the communities first."
            .to_owned(),
        outputs_plan: "Aggregate tables only; counts under 6 suppressed; reviewed before release."
            .to_owned(),
    }
}

/// What to look at, in the order a first-time visitor should.
pub const HIGHLIGHTS: &[(&str, &str)] = &[
    (
        "request.approved",
        "approved by both boards, with the iwi's conditions; its second six-monthly report is overdue",
    ),
    ("request.declined", "declined, with each board's reasons"),
    (
        "request.under_review",
        "under review: in the iwi board's 14-day notice period",
    ),
    (
        "request.withdrawn",
        "withdrawn after a board member's question",
    ),
    (
        "request.suspended",
        "approved, then suspended by the iwi board's rāhui",
    ),
    (
        "request.held",
        "waiting: no board can vote while that rāhui is in force",
    ),
    (
        "request.completed",
        "completed: output reviewed, final report accepted",
    ),
    (
        "request.reports_due",
        "monthly reports, the next due within weeks; renewed for 90 of 180 days; a motion to pause it rejected",
    ),
    (
        "concern.answered",
        "a whānau member's concern, answered by the iwi board",
    ),
];
