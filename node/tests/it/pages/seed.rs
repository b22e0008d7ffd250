//! A realistic story for the pages, written to a real node as signed
//! statements over HTTP: two boards (an iwi board and a Pacific board)
//! co-governing a dataset, requests approved with conditions, declined,
//! under review with a question, a concern and the board's response, a use
//! report and an output, and a rāhui. Everyone in it is fictional.

use ed25519_dalek::SigningKey;
use kaitiaki_protocol::statement::*;
use kaitiaki_protocol::{Body, ContentHash, Envelope, PublicKey, StatementId};

use crate::support::{key, sign_for, TestNode, NETWORK, ORIGIN};

/// What the story wrote, for tests to look for.
pub struct Story {
    pub iwi_board: StatementId,
    pub pacific_board: StatementId,
    pub wellbeing: StatementId,
    pub housing: StatementId,
    pub approved: StatementId,
    pub declined: StatementId,
    pub under_review: StatementId,
    pub suspended: StatementId,
    pub concern: StatementId,
    /// The iwi board's rāhui on the housing data.
    pub rahui: StatementId,
    /// An output of the approved request, and its first use report.
    pub output: StatementId,
    pub report: StatementId,
    pub researcher: SigningKey,
}

/// Posts one statement; panics with the node's answer if it is refused.
pub async fn say(node: &TestNode, who: &SigningKey, body: Body) -> StatementId {
    let env: Envelope = sign_for(NETWORK, who, body);
    let (status, reply) = node.post(&env).await;
    assert!(
        status == 201 || status == 200,
        "refused ({status}): {reply}"
    );
    env.id()
}

fn member(k: &SigningKey, role: &str) -> Member {
    Member {
        key: PublicKey::of(k),
        role: role.into(),
    }
}

async fn vote(
    node: &TestNode,
    who: &SigningKey,
    subject: StatementId,
    body: StatementId,
    choice: Choice,
    conditions: Vec<Condition>,
    reason: &str,
) {
    say(
        node,
        who,
        Body::Vote(Vote {
            subject,
            body,
            choice,
            conditions,
            reason: reason.into(),
        }),
    )
    .await;
}

/// A request for `dataset` with the Five Safes filled in plainly.
pub fn request(
    title: &str,
    dataset: StatementId,
    purpose: &str,
    category: UseCategory,
) -> RequestSubmit {
    RequestSubmit {
        title: title.into(),
        datasets: vec![dataset],
        purpose: purpose.into(),
        use_category: category,
        uses: vec!["DUO:0000042".into()],
        duration_days: 365,
        linkage: "None: this data is not linked with anything else.".into(),
        setting: "A secure data lab at the agency; nothing leaves it without review.".into(),
        people: "Two named researchers, both accredited for the data lab.".into(),
        community_benefit: "Findings go back to the boards and to whānau first, in plain language.".into(),
        outputs_plan: "Only summary tables; any count under 6 is hidden; the boards see outputs before release.".into(),
    }
}

/// Writes the story to `node`.
pub async fn seed(node: &TestNode) -> Story {
    let people: Vec<(SigningKey, &str, &str)> = vec![
        (key(1), "Huia Tamati", "Te Poari Raraunga o Ngāti Tauira"),
        (key(2), "Matiu Rangi", "Ngāti Tauira, kaumātua"),
        (key(3), "Ngaio Pene", "Ngāti Tauira"),
        (
            key(4),
            "Lagi Tuimavave",
            "Pacific Data Governance Board (example)",
        ),
        (key(5), "Viliami Fifita", "Tongan community (example)"),
        (key(6), "Teuila Sapolu", "Samoan community (example)"),
        (key(7), "Data Steward", "Ministry of Example Services"),
        (key(8), "Dr Aroha Whaanga", "University of Example"),
        (key(9), "Sam Carter", "Example Analytics Ltd"),
        (key(10), "Kiri Tamati", "Ngāti Tauira whānau"),
    ];
    for (k, name, affiliation) in &people {
        say(
            node,
            k,
            Body::KeyAnnounce(KeyAnnounce {
                display_name: (*name).into(),
                affiliation: (*affiliation).into(),
            }),
        )
        .await;
    }
    let k = |n: usize| people[n].0.clone();
    let iwi_board = say(node, &k(0), Body::BodyCharter(BodyCharter {
        name: "Te Poari Raraunga o Ngāti Tauira".into(),
        description: "The data governance board of Ngāti Tauira, an example iwi. It decides who may use data about our people, and on what terms.".into(),
        home_log: ORIGIN.into(),
        members: vec![member(&k(0), "chair"), member(&k(1), "kaumātua"), member(&k(2), "member")],
        rule: DecisionRule::Threshold { k: 2 },
        notice_days: 0,
    })).await;
    let pacific_board = say(node, &k(3), Body::BodyCharter(BodyCharter {
        name: "Pacific Data Governance Board (example)".into(),
        description: "Representatives of Pacific communities. No one voice speaks for all, so the board decides by majority.".into(),
        home_log: ORIGIN.into(),
        members: vec![member(&k(3), "chair"), member(&k(4), "member"), member(&k(5), "member")],
        rule: DecisionRule::Majority { quorum: 2 },
        notice_days: 0,
    })).await;
    let register = |name: &str, description: &str, bodies: Vec<StatementId>| {
        Body::DatasetRegister(DatasetRegister {
            name: name.into(),
            description: description.into(),
            steward: "Ministry of Example Services".into(),
            governing_bodies: bodies,
            labels: vec![
                Label {
                    code: "TK_A".into(),
                    text: Some(
                        "Name Ngāti Tauira and the Pacific communities in every output.".into(),
                    ),
                },
                Label {
                    code: "BC_R".into(),
                    text: None,
                },
            ],
            permitted_uses: vec!["DUO:0000042".into(), "DUO:0000006".into()],
            excluded_uses: vec!["custom:insurance-risk-scoring".into()],
            sensitivity: Sensitivity::Sensitive,
        })
    };
    let steward = k(6);
    let wellbeing = say(node, &steward, register(
        "Whānau wellbeing survey (synthetic example)",
        "Answers about whānau and family wellbeing from Māori and Pacific households, linked to the services they use.",
        vec![iwi_board, pacific_board],
    )).await;
    let housing = say(
        node,
        &steward,
        register(
            "Housing support records (synthetic example)",
            "Records of housing support given to households in the rohe.",
            vec![iwi_board],
        ),
    )
    .await;

    let researcher = k(7);
    let approved = say(node, &researcher, Body::RequestSubmit(request(
        "Rangatahi wellbeing and access to services",
        wellbeing,
        "To learn which services rangatahi reach and where they fall through the gaps, so the boards can press for better ones.",
        UseCategory::Research,
    ))).await;
    vote(
        node,
        &k(0),
        approved,
        iwi_board,
        Choice::ApproveWithConditions,
        vec![
            Condition::ReportEvery { months: 6 },
            Condition::FindingsReturned,
            Condition::Acknowledge {
                who: "Ngāti Tauira".into(),
            },
        ],
        "The purpose serves our whānau, and the safeguards are sound.",
    )
    .await;
    vote(
        node,
        &k(1),
        approved,
        iwi_board,
        Choice::Approve,
        vec![],
        "I agree, on the chair's conditions.",
    )
    .await;
    vote(
        node,
        &k(3),
        approved,
        pacific_board,
        Choice::Approve,
        vec![],
        "Our communities asked for this evidence.",
    )
    .await;
    vote(
        node,
        &k(4),
        approved,
        pacific_board,
        Choice::Approve,
        vec![],
        "A good plan for reporting back to families.",
    )
    .await;

    // It asks for a use the dataset does not list as permitted
    // (disease-specific research), which its page points out.
    let mut profiles = request(
        "Household risk profiles",
        wellbeing,
        "To build profiles of households for a private client.",
        UseCategory::Evaluation,
    );
    profiles.uses.push("DUO:0000007".into());
    let declined = say(node, &k(8), Body::RequestSubmit(profiles)).await;
    vote(
        node,
        &k(0),
        declined,
        iwi_board,
        Choice::Decline,
        vec![],
        "The purpose does not serve our people.",
    )
    .await;
    vote(
        node,
        &k(2),
        declined,
        iwi_board,
        Choice::Decline,
        vec![],
        "Profiles of households could harm whānau.",
    )
    .await;

    let under_review = say(
        node,
        &researcher,
        Body::RequestSubmit(request(
            "Kaumātua housing needs",
            housing,
            "To understand the housing needs of kaumātua so support can reach them sooner.",
            UseCategory::Research,
        )),
    )
    .await;
    let question = say(
        node,
        &k(2),
        Body::RequestQuestion(RequestQuestion {
            request: under_review,
            text: "Will kaumātua be asked before their records are used?".into(),
        }),
    )
    .await;
    say(
        node,
        &researcher,
        Body::RequestAnswer(RequestAnswer {
            question,
            text: "Yes: we will hold hui with kaumātua first, and stop if they say no.".into(),
        }),
    )
    .await;

    let suspended = say(
        node,
        &researcher,
        Body::RequestSubmit(request(
            "Housing stability over ten years",
            housing,
            "To see how housing support changed over ten years.",
            UseCategory::Research,
        )),
    )
    .await;
    vote(
        node,
        &k(0),
        suspended,
        iwi_board,
        Choice::Approve,
        vec![],
        "Useful and low risk.",
    )
    .await;
    vote(
        node,
        &k(1),
        suspended,
        iwi_board,
        Choice::Approve,
        vec![],
        "Agreed.",
    )
    .await;

    let concern = say(
        node,
        &k(9),
        Body::ConcernRaise(ConcernRaise {
            subject: approved,
            text: "Will our whānau be recognisable in the tables? Our community is small.".into(),
        }),
    )
    .await;
    say(
        node,
        &k(0),
        Body::ConcernRespond(ConcernRespond {
            concern,
            body: iwi_board,
            text: "Counts under 6 are hidden, and we review every table before it is released."
                .into(),
            resolved: false,
        }),
    )
    .await;
    let output = say(
        node,
        &researcher,
        Body::OutputSubmit(OutputSubmit {
            request: approved,
            title: "Summary tables: service reach by age group".into(),
            content_hash: ContentHash::of(b"summary tables"),
            link: None,
        }),
    )
    .await;
    let report = say(
        node,
        &researcher,
        Body::UseReport(UseReport {
            request: approved,
            kind: ReportKind::Periodic,
            summary:
                "We cleaned the survey answers and made the first summary tables in the data lab."
                    .into(),
            benefit_returned: "A hui with the iwi board to go through the first tables.".into(),
            incidents: vec![],
            outputs: vec![output],
        }),
    )
    .await;
    let rahui = say(
        node,
        &k(0),
        Body::RahuiPlace(RahuiPlace {
            body: iwi_board,
            dataset: housing,
            reason:
                "A tangihanga in the community: no new use of this data until the board lifts this."
                    .into(),
            until: None,
        }),
    )
    .await;
    Story {
        iwi_board,
        pacific_board,
        wellbeing,
        housing,
        approved,
        declined,
        under_review,
        suspended,
        concern,
        rahui,
        output,
        report,
        researcher,
    }
}
