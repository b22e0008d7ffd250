//! Seeded keys and one realistic statement of every kind, shared by the vector
//! and property tests. Everything here is deterministic: Ed25519 signing is,
//! and the keys come from fixed seeds.

use ed25519_dalek::SigningKey;
use kaitiaki_protocol::statement::*;
use kaitiaki_protocol::{ContentHash, Envelope, PublicKey, Signature, StatementId, Timestamp};

/// The network name used by every vector.
pub const NETWORK: &str = "vectors.kaitiaki.example";

/// The signing key whose 32-byte seed is `n` repeated.
pub fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

/// Its public half.
pub fn public(n: u8) -> PublicKey {
    PublicKey::of(&key(n))
}

/// A signature by `key(n)` over `message` whose R is the identity point
/// (small order), with `S = k·a`: the verification equation holds without
/// the cofactor, so the lenient rules accept it; the strict rules must not.
pub fn small_order_r_signature(n: u8, message: &[u8]) -> Signature {
    use curve25519_dalek::scalar::Scalar;
    use sha2::{Digest, Sha512};
    let expanded = Sha512::digest([n; 32]);
    let mut a = [0u8; 32];
    a.copy_from_slice(&expanded[..32]);
    a[0] &= 248;
    a[31] &= 127;
    a[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a);
    let mut r = [0u8; 32];
    r[0] = 1;
    let k: [u8; 64] = Sha512::new()
        .chain_update(r)
        .chain_update(public(n).as_bytes())
        .chain_update(message)
        .finalize()
        .into();
    let s = Scalar::from_bytes_mod_order_wide(&k) * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r);
    sig[32..].copy_from_slice(s.as_bytes());
    Signature::from_array(sig)
}

/// Another spelling of the point with y = 3 (not of small order): y + p,
/// which RFC 8032 refuses and a lenient decoder reduces.
pub const NON_CANONICAL_KEY: &str =
    "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f";

/// `2026-11-01T00:00:00Z` plus `minutes`.
pub fn at(minutes: i64) -> Timestamp {
    Timestamp::from_unix_millis(1_793_491_200_000 + minutes * 60_000).expect("in range")
}

fn id(n: u8) -> StatementId {
    StatementId::from_bytes([n; 32])
}

/// One example body of every kind, each with the seed of its author.
pub fn every_kind() -> Vec<(u8, Body)> {
    let rotate_to = key(9);
    let proof = Signature::sign(&rotate_to, &key_rotation_message(NETWORK, &public(8)));
    let charter = BodyCharter {
        name: "Te Poari Raraunga o Ngāti Example".into(),
        description: "Iwi data governance board for whānau health data.".into(),
        home_log: "iwi.example".into(),
        members: (1..=5)
            .map(|n| Member {
                key: public(n),
                role: if n == 1 {
                    "chair".into()
                } else {
                    "member".into()
                },
            })
            .collect(),
        rule: DecisionRule::Threshold { k: 3 },
        notice_days: 14,
    };
    vec![
        (
            1,
            Body::KeyAnnounce(KeyAnnounce {
                display_name: "Aroha Example".into(),
                affiliation: "Ngāti Example".into(),
            }),
        ),
        (
            8,
            Body::KeyRotate(KeyRotate {
                new_key: PublicKey::of(&rotate_to),
                proof,
            }),
        ),
        (
            7,
            Body::KeyRevoke(KeyRevoke {
                reason: "Laptop lost on 30 October.".into(),
            }),
        ),
        (1, Body::BodyCharter(charter)),
        (
            1,
            Body::BodyAmend(BodyAmend {
                body: id(1),
                add_members: vec![Member {
                    key: public(6),
                    role: "rangatahi member".into(),
                }],
                remove_members: vec![public(5)],
                rule: Some(DecisionRule::Majority { quorum: 4 }),
                notice_days: None,
                description: None,
                reason: "Bring a youth voice onto the board.".into(),
            }),
        ),
        (
            20,
            Body::DatasetRegister(DatasetRegister {
                name: "Whānau Health Survey 2025".into(),
                description: "Survey responses from 4,000 whānau.".into(),
                steward: "Ministry of Example".into(),
                governing_bodies: vec![id(1), id(2)],
                labels: vec![
                    Label {
                        code: "TK_A".into(),
                        text: None,
                    },
                    Label {
                        code: "BC_R".into(),
                        text: Some("Research use only with iwi approval.".into()),
                    },
                ],
                permitted_uses: vec!["DUO:0000042".into()],
                excluded_uses: vec!["DUO:0000046".into()],
                sensitivity: Sensitivity::Sensitive,
            }),
        ),
        (
            30,
            Body::RequestSubmit(RequestSubmit {
                title: "Rheumatic fever follow-up".into(),
                datasets: vec![id(3)],
                purpose: "Understand why follow-up appointments are missed, to redesign reminders."
                    .into(),
                use_category: UseCategory::Research,
                uses: vec!["DUO:0000042".into()],
                duration_days: 365,
                linkage: "none".into(),
                setting: "Secure data lab; no data leaves it.".into(),
                people: "Two accredited analysts.".into(),
                community_benefit: "Fewer missed appointments for tamariki.".into(),
                outputs_plan: "Aggregate tables, checked for small cells, reviewed by both boards."
                    .into(),
            }),
        ),
        (
            2,
            Body::RequestQuestion(RequestQuestion {
                request: id(4),
                text: "Who will see identifiable records?".into(),
            }),
        ),
        (
            30,
            Body::RequestAnswer(RequestAnswer {
                question: id(5),
                text: "Nobody: the lab removes names first.".into(),
            }),
        ),
        (
            30,
            Body::RequestWithdraw(RequestWithdraw {
                request: id(4),
                reason: "Funding ended.".into(),
            }),
        ),
        (
            2,
            Body::Vote(Vote {
                subject: id(4),
                body: id(1),
                choice: Choice::ApproveWithConditions,
                conditions: vec![
                    Condition::ReportEvery { months: 6 },
                    Condition::FinalReport,
                    Condition::FindingsReturned,
                ],
                reason: "Clear benefit; we want the findings back.".into(),
            }),
        ),
        (
            1,
            Body::RahuiPlace(RahuiPlace {
                body: id(1),
                dataset: id(3),
                reason: "Tangihanga period.".into(),
                until: Some(at(60 * 24 * 30)),
            }),
        ),
        (
            1,
            Body::RahuiLift(RahuiLift {
                rahui: id(6),
                reason: "The period has passed.".into(),
            }),
        ),
        (
            1,
            Body::ApprovalMotion(ApprovalMotion {
                request: id(4),
                body: id(1),
                action: ApprovalAction::Suspend,
                reason: "Report six months overdue.".into(),
            }),
        ),
        (
            30,
            Body::RenewalRequest(RenewalRequest {
                request: id(4),
                extra_days: 180,
                reason: "Analysis took longer.".into(),
            }),
        ),
        (
            30,
            Body::UseReport(UseReport {
                request: id(4),
                kind: ReportKind::Periodic,
                summary: "Cleaned the data; first tables drafted.".into(),
                benefit_returned: "Presented at the hui in March.".into(),
                incidents: vec![],
                outputs: vec![id(7)],
            }),
        ),
        (
            3,
            Body::ReportReview(ReportReview {
                report: id(8),
                body: id(1),
                accepted: true,
                reason: "Thorough.".into(),
            }),
        ),
        (
            30,
            Body::OutputSubmit(OutputSubmit {
                request: id(4),
                title: "Missed appointments by region".into(),
                content_hash: ContentHash::of(b"table"),
                link: None,
            }),
        ),
        (
            2,
            Body::OutputReview(OutputReview {
                output: id(7),
                body: id(1),
                release: true,
                reason: "No small cells.".into(),
            }),
        ),
        (
            40,
            Body::ConcernRaise(ConcernRaise {
                subject: id(4),
                text: "Will our kids be identifiable?".into(),
            }),
        ),
        (
            1,
            Body::ConcernRespond(ConcernRespond {
                concern: id(9),
                body: id(1),
                text: "No: outputs are checked for small cells.".into(),
                resolved: true,
            }),
        ),
        (
            30,
            Body::AttachmentCommit(AttachmentCommit {
                subject: id(4),
                readers: id(1),
                content_hash: ContentHash::of(b"protocol"),
                size: 8,
                media_type: "application/pdf".into(),
                description: "Full study protocol.".into(),
            }),
        ),
    ]
}

/// The statements of [`every_kind`], in order, with `created_at` one minute apart.
pub fn statements() -> Vec<(u8, Statement)> {
    every_kind()
        .into_iter()
        .enumerate()
        .map(|(i, (seed, body))| {
            (
                seed,
                Statement {
                    network: NETWORK.into(),
                    author: public(seed),
                    created_at: at(i as i64),
                    body,
                },
            )
        })
        .collect()
}

/// Signs [`statements`].
pub fn envelopes() -> Vec<Envelope> {
    statements()
        .into_iter()
        .map(|(seed, s)| Envelope::sign(&key(seed), &s).expect("fixture is valid"))
        .collect()
}
