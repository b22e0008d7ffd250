//! How much one statement costs to apply, in a small state and in a large one.
//!
//! Builds a state of 100 000 requests and 1 000 000 votes (each request
//! followed by the ten votes of a ten-member board), timing a window of
//! statements early on (around the 10 000th) and at the end (around the
//! 1 000 000th). Applying a statement must cost what it touches — its own
//! request and the board — never the size of the state, so the ratio should
//! stay close to 1 (the in-memory store's own O(log n) lookups aside).
//!
//! Run with `cargo bench -p kaitiaki-governance --bench apply`. Set
//! `KAITIAKI_BENCH_REQUESTS` for a smaller run. Ids are derived from a
//! counter rather than signed: `apply` trusts its caller to have verified
//! envelopes, and signing is not what is measured here.

use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use kaitiaki_governance::{apply, Entry, MemStore, Verdict};
use kaitiaki_protocol::statement::*;
use kaitiaki_protocol::{Body, PublicKey, Statement, StatementId, Timestamp};

const MEMBERS: usize = 10;
const WINDOW: usize = 10_000;

struct Gen {
    counter: u64,
    indexes: [u64; 2],
    time: i64,
}

impl Gen {
    fn entry(&mut self, author: PublicKey, log: usize, body: Body) -> Entry {
        self.counter += 1;
        self.time += 1;
        let at = Timestamp::from_unix_millis(1_780_000_000_000 + self.time).expect("in range");
        let id = StatementId::from_bytes(*blake3::hash(&self.counter.to_be_bytes()).as_bytes());
        let index = self.indexes[log];
        self.indexes[log] += 1;
        Entry {
            id,
            statement: Statement {
                network: "bench".into(),
                author,
                created_at: at,
                body,
            },
            log: ["board.example", "agency.example"][log].into(),
            index,
            sequenced_at: at,
        }
    }
}

fn main() {
    let requests: usize = std::env::var("KAITIAKI_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let keys: Vec<PublicKey> = (0..=MEMBERS as u8)
        .map(|i| PublicKey::of(&SigningKey::from_bytes(&[i + 1; 32])))
        .collect();
    let (members, researcher) = (&keys[..MEMBERS], keys[MEMBERS]);
    let mut g = Gen {
        counter: 0,
        indexes: [0, 0],
        time: 0,
    };
    let mut store = MemStore::new();

    let charter = g.entry(
        members[0],
        0,
        Body::BodyCharter(BodyCharter {
            name: "Bench Board".into(),
            description: "A board of ten.".into(),
            home_log: "board.example".into(),
            members: members
                .iter()
                .map(|k| Member {
                    key: *k,
                    role: "member".into(),
                })
                .collect(),
            rule: DecisionRule::Threshold { k: MEMBERS as u32 },
            notice_days: 0,
        }),
    );
    let board = charter.id;
    apply(&charter, &mut store).expect("applies");
    let mut datasets = Vec::new();
    for i in 0..10 {
        let d = g.entry(
            researcher,
            1,
            Body::DatasetRegister(DatasetRegister {
                name: format!("Dataset {i}"),
                description: "Records.".into(),
                steward: "Agency".into(),
                governing_bodies: vec![board],
                labels: Vec::new(),
                permitted_uses: Vec::new(),
                excluded_uses: Vec::new(),
                sensitivity: Sensitivity::Restricted,
            }),
        );
        datasets.push(d.id);
        apply(&d, &mut store).expect("applies");
    }

    let total = requests * (MEMBERS + 1);
    let early_from = 10_000.min(total / 10);
    let late_from = total.saturating_sub(WINDOW);
    let (mut early, mut late) = (Duration::ZERO, Duration::ZERO);
    let (mut early_n, mut late_n) = (0usize, 0usize);
    let mut applied = 0usize;
    let started = Instant::now();
    for r in 0..requests {
        let submit = g.entry(
            researcher,
            1,
            Body::RequestSubmit(RequestSubmit {
                title: format!("Study {r}"),
                datasets: vec![datasets[r % datasets.len()]],
                purpose: "To measure.".into(),
                use_category: UseCategory::Research,
                uses: Vec::new(),
                duration_days: 365,
                linkage: "none".into(),
                setting: "lab".into(),
                people: "two".into(),
                community_benefit: "Findings returned.".into(),
                outputs_plan: "Tables.".into(),
            }),
        );
        let rid = submit.id;
        let mut batch = vec![submit];
        for m in members {
            batch.push(g.entry(
                *m,
                0,
                Body::Vote(Vote {
                    subject: rid,
                    body: board,
                    choice: Choice::Approve,
                    conditions: Vec::new(),
                    reason: "Sound.".into(),
                }),
            ));
        }
        for e in &batch {
            let t = Instant::now();
            let a = apply(e, &mut store).expect("applies");
            let dt = t.elapsed();
            debug_assert_eq!(a.verdict, Verdict::Valid);
            if (early_from..early_from + WINDOW).contains(&applied) {
                early += dt;
                early_n += 1;
            }
            if applied >= late_from {
                late += dt;
                late_n += 1;
            }
            applied += 1;
        }
        if (r + 1) % 10_000 == 0 {
            eprintln!(
                "{} statements applied in {:.1?}",
                applied,
                started.elapsed()
            );
        }
    }
    let per = |d: Duration, n: usize| d.as_secs_f64() * 1e6 / n.max(1) as f64;
    let (e, l) = (per(early, early_n), per(late, late_n));
    println!(
        "state: {requests} requests, {} votes, {applied} statements",
        requests * MEMBERS
    );
    println!(
        "apply cost around statement {early_from:>9}: {e:8.2} µs per statement ({early_n} timed)"
    );
    println!(
        "apply cost around statement {late_from:>9}: {l:8.2} µs per statement ({late_n} timed)"
    );
    println!("ratio (late / early): {:.2}", l / e);
}
