//! The example's story, step by step: who says what, to which node.

use anyhow::Result;
use kaitiaki_node::Clock;
use kaitiaki_protocol::statement::{
    ApprovalAction, ApprovalMotion, AttachmentCommit, BodyAmend, BodyCharter, Choice, ConcernRaise,
    ConcernRespond, Condition, DatasetRegister, DecisionRule, KeyAnnounce, Label, Member,
    OutputReview, OutputSubmit, RahuiPlace, RenewalRequest, ReportKind, RequestAnswer,
    RequestQuestion, RequestWithdraw, Sensitivity, UseCategory, UseReport,
};
use kaitiaki_protocol::{Body, ContentHash};

use super::{ensure_people, home_of, request, Home, Nodes, Seeded, Seeder, PEOPLE, SPAN_DAYS};
use crate::keys::KeyStore;

/// Seeds the whole example, as a story of [`SPAN_DAYS`] days ending now.
/// `clock` must be the clock every node in `nodes` runs on: it is moved
/// from the story's first day to each step's, and back to the present at
/// the end. Returns what it made.
pub async fn seed(nodes: &Nodes, keys: &KeyStore, network: &str, clock: &Clock) -> Result<Seeded> {
    ensure_people(keys)?;
    let mut s = Seeder {
        nodes,
        keys,
        clock,
        start: clock.now().minus_days(SPAN_DAYS),
        network: network.to_owned(),
        seeded: Seeded {
            seeded_at: crate::parse::now().to_string(),
            ..Seeded::default()
        },
        latest: Vec::new(),
        seen: Default::default(),
    };
    // Day 0: everyone says who they are; the boards are founded and the
    // agency registers two datasets for them to govern.
    s.day(0);
    for (name, display, affiliation, _) in PEOPLE {
        let home = home_of(name);
        let body = Body::KeyAnnounce(KeyAnnounce {
            display_name: (*display).to_owned(),
            affiliation: (*affiliation).to_owned(),
        });
        s.say(name, home, body, None).await?;
    }
    let members = |prefix: &str| -> Result<Vec<Member>> {
        PEOPLE
            .iter()
            .filter(|p| p.0.starts_with(prefix))
            .map(|p| {
                Ok(Member {
                    key: s.key(p.0)?,
                    role: p.3.to_owned(),
                })
            })
            .collect()
    };
    let iwi_members = members("iwi-")?;
    let pacific_members = members("pacific-")?;

    // The two boards, each at home on its own node.
    let iwi = s.say("iwi-chair", Home::Iwi, Body::BodyCharter(BodyCharter {
        name: "Te Poari Raraunga o Ngāti Tauira".into(),
        description: "The data governance board of Ngāti Tauira (an example iwi). It decides, for the iwi, \
            who may use data about our people and on what terms: our data, our say.".into(),
        home_log: nodes.iwi.1.clone(),
        members: iwi_members,
        rule: DecisionRule::Threshold { k: 3 },
        notice_days: 0,
    }), Some("body.iwi")).await?;
    let pacific = s.say("pacific-chair", Home::Pacific, Body::BodyCharter(BodyCharter {
        name: "Pacific Data Governance Board (example)".into(),
        description: "Representatives of Tongan, Samoan, Cook Islands and Niuean communities. Partnerships, \
            plural: no one voice speaks for all, so the board decides by majority with a quorum of four.".into(),
        home_log: nodes.pacific.1.clone(),
        members: pacific_members,
        rule: DecisionRule::Majority { quorum: 4 },
        notice_days: 0,
    }), Some("body.pacific")).await?;

    // Two agency datasets, governed by both boards together.
    let dataset = |name: &str, description: &str| {
        DatasetRegister {
        name: name.to_owned(),
        description: description.to_owned(),
        steward: "Ministry of Example Services".into(),
        governing_bodies: vec![iwi, pacific],
        labels: vec![
            Label { code: "TK_A".into(), text: Some("Attribution: acknowledge Ngāti Tauira and the Pacific communities in every output.".into()) },
            Label { code: "BC_R".into(), text: Some("Research use only with the boards' consent.".into()) },
        ],
        permitted_uses: vec!["DUO:0000042".into(), "DUO:0000006".into()],
        // A use category's name excludes every request of that category.
        excluded_uses: vec!["commercial".into(), "custom:insurance-risk-scoring".into()],
        sensitivity: Sensitivity::Sensitive,
    }
    };
    let wellbeing = s.say("agency-steward", Home::Agency, Body::DatasetRegister(dataset(
        "Whānau wellbeing survey, linked records (synthetic example)",
        "Survey answers about whānau and family wellbeing, linked to service use, for Māori and Pacific households.",
    )), Some("dataset.wellbeing")).await?;
    let housing = s
        .say(
            "agency-steward",
            Home::Agency,
            Body::DatasetRegister(dataset(
                "Housing and income records (synthetic example)",
                "Administrative records of housing support and household income.",
            )),
            Some("dataset.housing"),
        )
        .await?;

    // Day 12: a study of rangatahi wellbeing; both boards approve it with
    // the iwi's conditions, a report every six months among them.
    s.day(12);
    let approved = s.request("researcher-kahu", "request.approved", request(
        "Rangatahi wellbeing and access to services",
        wellbeing,
        "Understand which services rangatahi Māori and Pacific youth reach, and where they fall through the gaps, so the boards can press for better ones.",
        UseCategory::Research,
        730,
    )).await?;
    s.day(26);
    s.approve_by_both(
        approved,
        iwi,
        pacific,
        vec![
            Condition::ReportEvery { months: 6 },
            Condition::FindingsReturned,
            Condition::Acknowledge {
                who: "Ngāti Tauira".into(),
            },
            Condition::NoLinkage {
                with: "Justice sector records".into(),
            },
        ],
    )
    .await?;
    // The data management plan names the iwi's kaumātua advisers: kept off
    // the log, readable by the iwi board's members only.
    s.day(29);
    let plan = "Data management plan (example). Advisers: the iwi's kaumātua panel.\n".as_bytes();
    s.say(
        "researcher-kahu",
        Home::Agency,
        Body::AttachmentCommit(AttachmentCommit {
            subject: approved,
            readers: iwi,
            content_hash: ContentHash::of(plan),
            size: plan.len() as u64,
            media_type: "text/plain".into(),
            description: "The study's data management plan, with named advisers".into(),
        }),
        Some("attachment.plan"),
    )
    .await?;
    s.client(Home::Agency)
        .put_attachment(&ContentHash::of(plan), plan.to_vec())
        .await?;
    s.day(61);
    let concern = s
        .say(
            "whanau-member",
            Home::Agency,
            Body::ConcernRaise(ConcernRaise {
                subject: approved,
                text: "Will our whānau be recognisable in the tables? Our community is small."
                    .into(),
            }),
            Some("concern.answered"),
        )
        .await?;
    s.day(70);
    s.say("iwi-chair", Home::Iwi, Body::ConcernRespond(ConcernRespond {
        concern,
        body: iwi,
        text: "The approval suppresses any count under six and the board reviews outputs before release. We will bring the results to the next hui.".into(),
        resolved: true,
    }), None).await?;

    // Day 95: a four-month study, approved; later an output is reviewed
    // and released and the final report accepted, which completes it.
    s.day(95);
    let completed = s.request("researcher-salote", "request.completed", request(
        "Pacific families' experience of the cost of living",
        wellbeing,
        "Describe how the cost of living changed for Pacific families, to inform community programmes.",
        UseCategory::Research,
        120,
    )).await?;
    s.day(108);
    s.approve_by_both(
        completed,
        iwi,
        pacific,
        vec![Condition::FinalReport, Condition::OutputsReviewed],
    )
    .await?;

    // Day 130: declined, with reasons from both boards.
    s.day(130);
    let declined = s.request("insurer-analyst", "request.declined", request(
        "Household risk profiles",
        wellbeing,
        "Build profiles of household circumstances to evaluate demand for a new insurance product.",
        UseCategory::Evaluation,
        730,
    )).await?;
    s.day(141);
    for who in ["iwi-chair", "iwi-member-3", "iwi-member-4"] {
        s.vote(
            who,
            declined,
            iwi,
            Choice::Decline,
            vec![],
            "This would profile our whānau for a company's gain; it returns nothing to them.",
        )
        .await?;
    }
    // With six members, three declines already put a majority out of reach.
    s.day(146);
    for who in ["pacific-chair", "pacific-member-2", "pacific-member-5"] {
        s.vote(
            who,
            declined,
            pacific,
            Choice::Decline,
            vec![],
            "Families gave this information for their wellbeing, not for insurance pricing.",
        )
        .await?;
    }

    // Day 168: withdrawn, after a question.
    s.day(168);
    let withdrawn = s
        .request(
            "analyst-jo",
            "request.withdrawn",
            request(
                "Housing support uptake",
                housing,
                "Evaluate the uptake of housing support among Pacific families.",
                UseCategory::Evaluation,
                180,
            ),
        )
        .await?;
    s.day(175);
    let question = s.say("pacific-chair", Home::Pacific, Body::RequestQuestion(RequestQuestion {
        request: withdrawn,
        text: "Will the findings be shared with the churches and community groups who support these families?".into(),
    }), None).await?;
    s.day(183);
    s.say("analyst-jo", Home::Agency, Body::RequestAnswer(RequestAnswer {
        question,
        text: "We had not planned that. We will withdraw and come back with a plan made with the community groups.".into(),
    }), None).await?;
    s.day(184);
    s.say(
        "analyst-jo",
        Home::Agency,
        Body::RequestWithdraw(RequestWithdraw {
            request: withdrawn,
            reason: "Re-planning with the community groups, as the board asked.".into(),
        }),
        None,
    )
    .await?;

    // Day 203: the rangatahi study's first six-monthly report, on time,
    // accepted by both boards. Its second, due a year after the approval,
    // never comes: it is overdue.
    s.day(203);
    let first_report = s.say("researcher-kahu", Home::Agency, Body::UseReport(UseReport {
        request: approved,
        kind: ReportKind::Periodic,
        summary: "Linked the survey to service records inside the data lab; first tables drafted, none released yet.".into(),
        benefit_returned: "Early findings talked through with the iwi board's rangatahi representative.".into(),
        incidents: vec![],
        outputs: vec![],
    }), Some("report.periodic")).await?;
    s.day(210);
    s.review_by_both(
        first_report,
        iwi,
        pacific,
        "On time, and the rangatahi heard first.",
    )
    .await?;

    // Day 214: the cost-of-living study's output, reviewed by both boards;
    // then its final report, accepted.
    s.day(214);
    let output = s
        .say(
            "researcher-salote",
            Home::Agency,
            Body::OutputSubmit(OutputSubmit {
                request: completed,
                title: "Summary tables: cost of living for Pacific families (example)".into(),
                content_hash: ContentHash::of(b"Kaitiaki demo: an example output file.\n"),
                link: None,
            }),
            Some("output.released"),
        )
        .await?;
    s.day(219);
    s.say(
        "iwi-chair",
        Home::Iwi,
        Body::OutputReview(OutputReview {
            output,
            body: iwi,
            release: true,
            reason: "No small counts; acknowledges the iwi.".into(),
        }),
        None,
    )
    .await?;
    s.day(221);
    s.say(
        "pacific-chair",
        Home::Pacific,
        Body::OutputReview(OutputReview {
            output,
            body: pacific,
            release: true,
            reason: "Ready to share with families first.".into(),
        }),
        None,
    )
    .await?;
    s.day(225);
    let report = s.say("researcher-salote", Home::Agency, Body::UseReport(UseReport {
        request: completed,
        kind: ReportKind::Final,
        summary: "Analysis finished inside the data lab; the summary tables were released after review.".into(),
        benefit_returned: "Results presented at two community fono and one hui before publication.".into(),
        incidents: vec![],
        outputs: vec![output],
    }), Some("report.final")).await?;
    s.day(233);
    s.review_by_both(
        report,
        iwi,
        pacific,
        "The findings came back to the people first.",
    )
    .await?;

    // Day 262: a housing study, approved; suspended later by a rāhui.
    s.day(262);
    let suspended = s
        .request(
            "researcher-kahu",
            "request.suspended",
            request(
                "Housing stability and school attendance",
                housing,
                "Study whether stable housing helps tamariki attend school.",
                UseCategory::Research,
                365,
            ),
        )
        .await?;
    s.day(277);
    s.approve_by_both(suspended, iwi, pacific, vec![Condition::FindingsReturned])
        .await?;

    // Day 344: monitoring approved with a report every month. Two come in
    // on time; the next falls due within the coming weeks.
    s.day(344);
    let reporting = s
        .request(
            "analyst-jo",
            "request.reports_due",
            request(
                "Monthly monitoring of service waiting times",
                wellbeing,
                "Monitor waiting times for whānau services month by month.",
                UseCategory::ServiceDelivery,
                365,
            ),
        )
        .await?;
    s.day(352);
    s.approve_by_both(
        reporting,
        iwi,
        pacific,
        vec![Condition::ReportEvery { months: 1 }],
    )
    .await?;

    // Day 371: a hui-ā-iwi asks for a rāhui on the housing data.
    s.day(371);
    s.say(
        "iwi-kaumatua",
        Home::Iwi,
        Body::RahuiPlace(RahuiPlace {
            body: iwi,
            dataset: housing,
            reason:
                "A hui-ā-iwi asked for a pause while whānau talk through consent for housing data."
                    .into(),
            until: None,
        }),
        Some("rahui.housing"),
    )
    .await?;
    s.day(376);
    s.say(
        "whanau-member",
        Home::Agency,
        Body::ConcernRaise(ConcernRaise {
            subject: housing,
            text: "Who else can see the housing records while the rāhui is in place?".into(),
        }),
        Some("concern.open"),
    )
    .await?;
    s.day(380);
    s.monthly_report(reporting, "Waiting times fell in two of the five regions.")
        .await?;
    // Asked for while the rāhui is in force: no board can vote on it until
    // the rāhui is lifted, and its page says so.
    s.day(389);
    s.request(
        "analyst-jo",
        "request.held",
        request(
            "Rent arrears and school moves",
            housing,
            "Learn whether rent arrears lead whānau to move their tamariki between schools, to target support earlier.",
            UseCategory::Evaluation,
            180,
        ),
    )
    .await?;

    // Day 402: the iwi board lengthens its notice period (an amendment it
    // votes on), so the next request waits for community comment.
    s.day(402);
    let amendment = s
        .say(
            "iwi-chair",
            Home::Iwi,
            Body::BodyAmend(BodyAmend {
                body: iwi,
                add_members: vec![],
                remove_members: vec![],
                rule: None,
                notice_days: Some(14),
                description: None,
                reason:
                    "Give whānau two weeks to comment on every request before the board decides."
                        .into(),
            }),
            Some("amendment.notice"),
        )
        .await?;
    s.day(403);
    for who in ["iwi-chair", "iwi-kaumatua", "iwi-member-3"] {
        s.vote(
            who,
            amendment,
            iwi,
            Choice::Approve,
            vec![],
            "Whānau asked for time to comment.",
        )
        .await?;
    }
    // Day 405: the monitoring team asks to go on through winter; the iwi
    // board grants half the time asked.
    s.day(405);
    let renewal = s
        .say(
            "analyst-jo",
            Home::Agency,
            Body::RenewalRequest(RenewalRequest {
                request: reporting,
                extra_days: 180,
                reason:
                    "Waiting times matter most in winter; we ask to keep monitoring through it."
                        .into(),
            }),
            Some("renewal.reports_due"),
        )
        .await?;
    s.day(406);
    s.approve_by_both(
        renewal,
        iwi,
        pacific,
        vec![Condition::ExpiresAfterDays { days: 90 }],
    )
    .await?;
    s.day(410);
    s.monthly_report(
        reporting,
        "Waiting times held steady; one region's data came in late.",
    )
    .await?;
    // Day 411: a member moves to pause the monitoring over the late data;
    // the board rejects the motion.
    s.day(411);
    let motion = s
        .say(
            "iwi-member-4",
            Home::Iwi,
            Body::ApprovalMotion(ApprovalMotion {
                request: reporting,
                body: iwi,
                action: ApprovalAction::Suspend,
                reason: "A region's data came in late; pause until the team explains why.".into(),
            }),
            Some("motion.rejected"),
        )
        .await?;
    s.day(412);
    for who in ["iwi-chair", "iwi-kaumatua", "iwi-member-5"] {
        s.vote(
            who,
            motion,
            iwi,
            Choice::Decline,
            vec![],
            "The report explains the delay; no need to pause.",
        )
        .await?;
    }

    // Day 413: a request still in the iwi board's notice period.
    s.day(413);
    let review = s.request("researcher-salote", "request.under_review", request(
        "Pacific elders and home-based care",
        wellbeing,
        "Learn how Pacific elders and their families use home-based care, to shape culturally safe services.",
        UseCategory::Research,
        270,
    )).await?;
    s.day(414);
    s.vote(
        "pacific-chair",
        review,
        pacific,
        Choice::Approve,
        vec![],
        "Long asked for by our elders' groups.",
    )
    .await?;
    s.day(415);
    s.vote(
        "pacific-member-6",
        review,
        pacific,
        Choice::Approve,
        vec![],
        "Supported.",
    )
    .await?;
    let q = s.say("iwi-member-4", Home::Iwi, Body::RequestQuestion(RequestQuestion {
        request: review,
        text: "Will kaumātua Māori in Pacific households be counted, and will the iwi see those results?".into(),
    }), None).await?;
    s.day(416);
    s.say("researcher-salote", Home::Agency, Body::RequestAnswer(RequestAnswer {
        question: q,
        text: "Yes. Results about Māori members of these households will go to the iwi board before anyone else.".into(),
    }), None).await?;
    s.back_to_the_present();
    Ok(std::mem::take(&mut s.seeded))
}
