//! Governance through HTTP: a board, a dataset, a request and its vote;
//! rejections from the rules each a 4xx with governance's code and the log
//! unchanged; the queries; and the state hash across a restart.

use ed25519_dalek::SigningKey;
use kaitiaki_protocol::statement::*;
use kaitiaki_protocol::{Body, Envelope, PublicKey, StatementId};
use serde_json::Value;

use crate::support::{key, sign_for, tempdir, TestNode, NETWORK, ORIGIN};

/// The people of the story.
pub struct Cast {
    pub aroha: SigningKey,
    pub mere: SigningKey,
    pub researcher: SigningKey,
    pub steward: SigningKey,
}

impl Cast {
    pub fn new() -> Cast {
        Cast {
            aroha: key(501),
            mere: key(502),
            researcher: key(503),
            steward: key(504),
        }
    }
}

fn member(k: &SigningKey) -> Member {
    Member {
        key: PublicKey::of(k),
        role: "member".into(),
    }
}

pub fn charter(home: &str, members: &[&SigningKey]) -> Body {
    Body::BodyCharter(BodyCharter {
        name: "Te Rūnanga Raraunga".into(),
        description: "The iwi data board".into(),
        home_log: home.into(),
        members: members.iter().map(|k| member(k)).collect(),
        rule: DecisionRule::Threshold { k: 1 },
        notice_days: 0,
    })
}

pub fn dataset(board: StatementId) -> Body {
    Body::DatasetRegister(DatasetRegister {
        name: "Whānau services".into(),
        description: "Records of services to whānau".into(),
        steward: "The agency".into(),
        governing_bodies: vec![board],
        labels: vec![],
        permitted_uses: vec!["DUO:0000042".into()],
        excluded_uses: vec!["DUO:0000046".into()],
        sensitivity: Sensitivity::Sensitive,
    })
}

pub fn request(data: StatementId, uses: &[&str]) -> Body {
    Body::RequestSubmit(RequestSubmit {
        title: "Service reach".into(),
        datasets: vec![data],
        purpose: "To understand how services reach whānau.".into(),
        use_category: UseCategory::Research,
        uses: uses.iter().map(|u| u.to_string()).collect(),
        duration_days: 365,
        linkage: "none".into(),
        setting: "secure data lab".into(),
        people: "two analysts".into(),
        community_benefit: "Findings returned to the iwi.".into(),
        outputs_plan: "Aggregate tables.".into(),
    })
}

pub fn approve(subject: StatementId, body: StatementId) -> Body {
    Body::Vote(Vote {
        subject,
        body,
        choice: Choice::Approve,
        conditions: vec![],
        reason: "The purpose is sound.".into(),
    })
}

pub fn env(k: &SigningKey, body: Body) -> Envelope {
    sign_for(NETWORK, k, body)
}

/// Posts and expects it to be sequenced; returns its id.
pub async fn ok(node: &TestNode, e: Envelope) -> StatementId {
    let (status, body) = node.post(&e).await;
    assert_eq!(status, 201, "{body}");
    e.id()
}

/// Posts and expects a refusal with `status` and `code`, the log unchanged.
pub async fn refused(node: &TestNode, e: Envelope, status: u16, code: &str) -> Value {
    let before = node.head().await;
    let (got, body) = node.post(&e).await;
    assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    assert_eq!(node.head().await, before, "a refusal changed the log");
    body
}

/// A board, a dataset and a submitted request; returns (board, data, request).
pub async fn setting(node: &TestNode, c: &Cast) -> (StatementId, StatementId, StatementId) {
    let board = ok(node, env(&c.aroha, charter(ORIGIN, &[&c.aroha, &c.mere]))).await;
    let data = ok(node, env(&c.steward, dataset(board))).await;
    let req = ok(node, env(&c.researcher, request(data, &["DUO:0000042"]))).await;
    (board, data, req)
}

#[tokio::test]
async fn the_rules_refuse_through_http_and_the_queries_tell_the_story() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let c = Cast::new();
    let (board, data, req) = setting(&node, &c).await;

    // Rejections, each with governance's code.
    refused(
        &node,
        env(&c.researcher, approve(req, board)),
        403,
        "not_a_member",
    )
    .await;
    let body = refused(
        &node,
        env(&c.mere, charter("elsewhere.example", &[&c.mere])),
        421,
        "wrong_home_log",
    )
    .await;
    assert_eq!(body["home_log"], "elsewhere.example");
    refused(
        &node,
        env(&c.researcher, request(data, &["DUO:0000046"])),
        422,
        "excluded_use",
    )
    .await;
    let unknown = StatementId::from_bytes([9; 32]);
    refused(
        &node,
        env(&c.aroha, approve(unknown, board)),
        422,
        "unknown_reference",
    )
    .await;

    ok(&node, env(&c.aroha, approve(req, board))).await;

    let (status, view) = node.get(&format!("/v1/requests/{req}")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "approved", "{view}");
    assert!(!view["timeline"].as_array().unwrap().is_empty());

    let (_, list) = node.get("/v1/requests?status=approved").await;
    assert_eq!(list["items"][0]["id"], req.to_hex(), "{list}");
    let (_, list) = node
        .get(&format!("/v1/requests?dataset={data}&limit=1"))
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    let (status, _) = node.get("/v1/requests?status=pondering").await;
    assert_eq!(status, 400);
    let (_, bodies) = node.get("/v1/bodies").await;
    assert_eq!(bodies["items"][0]["id"], board.to_hex(), "{bodies}");
    let (_, members) = node.get(&format!("/v1/bodies/{board}/members")).await;
    assert_eq!(members.as_array().unwrap().len(), 2, "{members}");
    let (status, _) = node.get(&format!("/v1/bodies/{board}")).await;
    assert_eq!(status, 200);
    let (_, sets) = node.get(&format!("/v1/bodies/{board}/datasets")).await;
    assert_eq!(sets["items"][0]["id"], data.to_hex(), "{sets}");
    let (status, _) = node.get(&format!("/v1/datasets/{data}")).await;
    assert_eq!(status, 200);
    let (status, _) = node.get(&format!("/v1/datasets/{}", "00".repeat(32))).await;
    assert_eq!(status, 404);
    for path in [
        "/v1/datasets",
        "/v1/rahui",
        "/v1/reports/overdue",
        "/v1/concerns",
        "/v1/excluded",
    ] {
        let (status, page) = node.get(path).await;
        assert_eq!(status, 200, "{path}: {page}");
        assert!(page["items"].is_array(), "{path}: {page}");
    }
    let (status, st) = node.get(&format!("/v1/statements/{req}/state")).await;
    assert_eq!(
        (status, st["verdict"]["state"].as_str()),
        (200, Some("valid")),
        "{st}"
    );
    let (status, _) = node
        .get(&format!("/v1/keys/{}", PublicKey::of(&c.aroha)))
        .await;
    assert!(status == 200 || status == 404);

    let (_, hash) = node.get("/v1/state/hash").await;
    let hash = hash["state_hash"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64);
    node.stop().await;

    let node = TestNode::start(dir.path()).await;
    assert_eq!(node.recovery.reindexed, 0);
    let (_, again) = node.get("/v1/state/hash").await;
    assert_eq!(
        again["state_hash"], hash,
        "the state survives a restart unchanged"
    );
    node.stop().await;
}

/// The board lengthens its notice period by an amendment it votes on.
async fn lengthen_notice(node: &TestNode, c: &Cast, board: StatementId, days: u32) {
    let amendment = ok(
        node,
        env(
            &c.aroha,
            Body::BodyAmend(BodyAmend {
                body: board,
                add_members: vec![],
                remove_members: vec![],
                rule: None,
                notice_days: Some(days),
                description: None,
                reason: "Give whānau time to comment.".into(),
            }),
        ),
    )
    .await;
    ok(node, env(&c.aroha, approve(amendment, board))).await;
}

#[tokio::test]
async fn a_vote_on_a_decided_or_withdrawn_request_is_refused_as_closed() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let c = Cast::new();
    let (board, data, decided) = setting(&node, &c).await;
    ok(&node, env(&c.aroha, approve(decided, board))).await;
    let withdrawn = ok(&node, env(&c.researcher, request(data, &[]))).await;
    ok(
        &node,
        env(
            &c.researcher,
            Body::RequestWithdraw(RequestWithdraw {
                request: withdrawn,
                reason: "Re-planning with the community.".into(),
            }),
        ),
    )
    .await;
    // Both requests are minutes old, inside the new notice period.
    lengthen_notice(&node, &c, board, 14).await;

    let body = refused(
        &node,
        env(&c.mere, approve(decided, board)),
        409,
        "decision_already_reached",
    )
    .await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("already decided"),
        "{body}"
    );
    let body = refused(
        &node,
        env(&c.mere, approve(withdrawn, board)),
        409,
        "request_withdrawn",
    )
    .await;
    assert!(!body["message"]
        .as_str()
        .unwrap()
        .contains("community comment"));
    // A request still open is held to the notice period.
    let open = ok(&node, env(&c.researcher, request(data, &["DUO:0000006"]))).await;
    refused(
        &node,
        env(&c.mere, approve(open, board)),
        409,
        "notice_period",
    )
    .await;
    node.stop().await;
}

#[tokio::test]
async fn a_request_says_who_has_not_voted_and_what_suspends_it() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let c = Cast::new();
    let (board, data, req) = setting(&node, &c).await;
    let (_, view) = node.get(&format!("/v1/requests/{req}")).await;
    let tally = &view["record"]["decisions"][0]["tally"];
    assert_eq!(
        (tally["approve"].as_u64(), tally["not_voted"].as_u64()),
        (Some(0), Some(2)),
        "both members of the board are yet to vote: {view}"
    );
    assert_eq!(view["suspended_by"], serde_json::json!([]), "{view}");

    ok(&node, env(&c.aroha, approve(req, board))).await;
    let rahui = ok(
        &node,
        env(
            &c.mere,
            Body::RahuiPlace(RahuiPlace {
                body: board,
                dataset: data,
                reason: "A hui asked for a pause.".into(),
                until: None,
            }),
        ),
    )
    .await;
    let (_, view) = node.get(&format!("/v1/requests/{req}")).await;
    assert_eq!(view["status"], "suspended", "{view}");
    let cause = &view["suspended_by"][0];
    assert_eq!(cause["kind"], "rahui", "{view}");
    assert_eq!(cause["rahui"], rahui.to_hex());
    assert_eq!(cause["dataset"], data.to_hex());
    assert_eq!(cause["body"], board.to_hex());
    assert_eq!(cause["reason"], "A hui asked for a pause.");
    assert!(cause["since"]["at"].is_string(), "{cause}");
    assert_eq!(view["votes_paused_by"], serde_json::json!([]), "{view}");

    // The OpenAPI document describes the request as served, field by field.
    let (_, doc) = node.get("/openapi.json").await;
    let schema = &doc["components"]["schemas"]["RequestJson"]["properties"];
    let documented: std::collections::BTreeSet<&str> = schema
        .as_object()
        .expect("RequestJson is documented")
        .keys()
        .map(String::as_str)
        .collect();
    let served: std::collections::BTreeSet<&str> = view
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(documented, served);
    let cause_doc = &doc["components"]["schemas"]["SuspendedBy"]["properties"];
    for field in cause.as_object().unwrap().keys() {
        assert!(cause_doc.get(field).is_some(), "SuspendedBy lacks {field}");
    }
    let op = &doc["paths"]["/v1/requests/{id}"]["get"]["responses"]["200"];
    assert!(op.to_string().contains("RequestJson"), "{op}");

    // Asked only for a permitted use, it has none beyond them; another
    // request asks for one the dataset does not list, and is told so (it
    // still counts: only excluded uses are refused).
    assert_eq!(view["unlisted_uses"], serde_json::json!([]), "{view}");
    let wider = ok(
        &node,
        env(
            &c.researcher,
            request(data, &["DUO:0000042", "DUO:0000007"]),
        ),
    )
    .await;
    let (_, view) = node.get(&format!("/v1/requests/{wider}")).await;
    assert_eq!(
        view["unlisted_uses"],
        serde_json::json!([{
            "dataset": data.to_hex(),
            "permitted": ["DUO:0000042"],
            "asked": ["DUO:0000007"],
        }]),
        "{view}"
    );
    assert_eq!(view["verdict"]["state"], "valid", "{view}");
    // Asked for while the rāhui is in force: no board can vote on it yet,
    // and the view says why before anyone tries.
    assert_eq!(view["status"], "submitted", "{view}");
    assert_eq!(
        view["votes_paused_by"][0]["rahui"],
        rahui.to_hex(),
        "{view}"
    );
    assert_eq!(view["suspended_by"], serde_json::json!([]), "{view}");
    let unlisted_doc = &doc["components"]["schemas"]["UnlistedUses"]["properties"];
    for field in view["unlisted_uses"][0].as_object().unwrap().keys() {
        assert!(
            unlisted_doc.get(field).is_some(),
            "UnlistedUses lacks {field}"
        );
    }
    node.stop().await;
}
