//! How much one statement costs to apply, in a small state and in a large one.
//!
//! Builds a state of 100 000 requests and 1 000 000 votes (each request
//! followed by the ten votes of a ten-member board), timing a window of
//! 10 000 statements early on (from the 10 000th) and the last 10 000 (up to
//! the 1 100 000th). Applying a statement must cost what it touches — its
//! own request and the board — never the size of the state, so the ratio
//! should stay close to 1 (the in-memory store's own O(log n) lookups
//! aside). In the late window each statement is also `check`ed before it is
//! applied, and a final batch goes through `admit`, the node's single pass.
//!
//! Each window is timed in chunks of 1 000 statements and the median chunk
//! is reported beside the mean, so a burst of other work on the machine
//! does not skew the figures. The results are printed as a Markdown table,
//! ready for a README.
//!
//! Run with `cargo bench -p kaitiaki-governance --bench apply`. Set
//! `KAITIAKI_BENCH_REQUESTS` for a smaller run. Ids are derived from a
//! counter rather than signed: `apply` trusts its caller to have verified
//! envelopes, and signing is not what is measured here.

use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use kaitiaki_governance::{admit, apply, check, Entry, MemStore, Verdict};
use kaitiaki_protocol::statement::*;
use kaitiaki_protocol::{Body, PublicKey, Statement, StatementId, Timestamp};

const MEMBERS: usize = 10;
const WINDOW: usize = 10_000;
const CHUNK: usize = 1_000;
const ADMITTED_REQUESTS: usize = 1_000;

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

    /// A request for one of the datasets, then a vote by every member.
    fn request(
        &mut self,
        r: usize,
        researcher: PublicKey,
        members: &[PublicKey],
        datasets: &[StatementId],
        board: StatementId,
    ) -> Vec<Entry> {
        let submit = self.entry(
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
            batch.push(self.entry(
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
        batch
    }
}

/// Times per kind of statement, in chunks.
#[derive(Default)]
struct Window {
    all: Vec<Duration>,
    chunk: Duration,
    in_chunk: usize,
    total: Duration,
    n: usize,
    submits: (Duration, usize),
    votes: (Duration, usize),
}

impl Window {
    fn add(&mut self, vote: bool, dt: Duration) {
        self.total += dt;
        self.n += 1;
        let k = if vote {
            &mut self.votes
        } else {
            &mut self.submits
        };
        k.0 += dt;
        k.1 += 1;
        self.chunk += dt;
        self.in_chunk += 1;
        if self.in_chunk == CHUNK {
            self.all.push(self.chunk);
            self.chunk = Duration::ZERO;
            self.in_chunk = 0;
        }
    }

    fn mean(&self) -> f64 {
        per(self.total, self.n)
    }

    /// The median chunk's cost per statement (the mean if no chunk is complete).
    fn median(&self) -> f64 {
        if self.all.is_empty() {
            return self.mean();
        }
        let mut v = self.all.clone();
        v.sort();
        per(v[v.len() / 2], CHUNK)
    }
}

fn per(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n.max(1) as f64
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
    let (mut early, mut late, mut checked) =
        (Window::default(), Window::default(), Window::default());
    let mut applied = 0usize;
    let started = Instant::now();
    for r in 0..requests {
        for e in g.request(r, researcher, members, &datasets, board) {
            let vote = matches!(e.statement.body, Body::Vote(_));
            if applied >= late_from {
                let t = Instant::now();
                check(&e, &store).expect("counts");
                checked.add(vote, t.elapsed());
            }
            let t = Instant::now();
            let a = apply(&e, &mut store).expect("applies");
            let dt = t.elapsed();
            debug_assert_eq!(a.verdict, Verdict::Valid);
            if (early_from..early_from + WINDOW).contains(&applied) {
                early.add(vote, dt);
            }
            if applied >= late_from {
                late.add(vote, dt);
            }
            applied += 1;
        }
        if (r + 1) % 20_000 == 0 {
            eprintln!("{applied} statements applied in {:.1?}", started.elapsed());
        }
    }
    let build = started.elapsed();

    // The node's path: one pass that checks and applies, writing nothing when refused.
    let mut admitted = Window::default();
    for r in requests..requests + ADMITTED_REQUESTS.min(requests) {
        for e in g.request(r, researcher, members, &datasets, board) {
            let vote = matches!(e.statement.body, Body::Vote(_));
            let t = Instant::now();
            admit(&e, &mut store).expect("counts");
            admitted.add(vote, t.elapsed());
        }
    }

    let ratio = late.median() / early.median();
    println!(
        "state: {requests} requests, {} votes, {applied} statements, built in {:.1?}",
        requests * MEMBERS,
        build
    );
    println!();
    println!("| statements in the state | apply, median (µs) | apply, mean (µs) | request.submit (µs) | vote (µs) |");
    println!("|---:|---:|---:|---:|---:|");
    for (from, w) in [(early_from, &early), (late_from, &late)] {
        println!(
            "| {:>9}–{:<9} | {:8.2} | {:8.2} | {:8.2} | {:8.2} |",
            from,
            from + w.n,
            w.median(),
            w.mean(),
            per(w.submits.0, w.submits.1),
            per(w.votes.0, w.votes.1),
        );
    }
    println!();
    println!("ratio (late / early, medians): {ratio:.2}");
    println!();
    println!("| at {late_from} statements | median (µs) | mean (µs) |");
    println!("|---|---:|---:|");
    println!(
        "| `check` | {:8.2} | {:8.2} |",
        checked.median(),
        checked.mean()
    );
    println!("| `apply` | {:8.2} | {:8.2} |", late.median(), late.mean());
    println!(
        "| `check` + `apply` | {:8.2} | {:8.2} |",
        checked.median() + late.median(),
        checked.mean() + late.mean()
    );
    println!(
        "| `admit` (check and apply in one pass; {} statements after the state was built) | {:8.2} | {:8.2} |",
        admitted.n,
        admitted.median(),
        admitted.mean()
    );
}
