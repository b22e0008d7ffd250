//! How much one statement costs to apply, in a small state and in a large one.
//!
//! Builds a state of 100 000 requests and 1 000 000 votes (each request
//! followed by the ten votes of a ten-member board), timing a window of
//! 10 000 statements early on (from the 10 000th) and the last 10 000 (up to
//! the 1 100 000th). Applying a statement must cost what it touches — its
//! own request and the board — never the size of the state, so the ratio
//! should stay close to 1 (the in-memory store's own O(log n) lookups
//! aside). Then 1 000 more requests are `check`ed and applied, and 1 000
//! more go through `admit`, the node's single pass.
//!
//! Each window is timed in chunks of 1 000 statements and the median chunk
//! is reported beside the mean, with the thread's on-CPU time over the
//! window (Linux `schedstat`), so that other work on the machine skews the
//! figures as little as possible. The results are printed as Markdown
//! tables, ready for a README.
//!
//! Run with `cargo bench -p kaitiaki-governance --bench apply`. Set
//! `KAITIAKI_BENCH_REQUESTS` for a smaller run. Ids are derived from a
//! counter rather than signed: `apply` trusts its caller to have verified
//! envelopes, and signing is not what is measured here.

use std::time::{Duration, Instant};

// The allocator, and its options, that the node and `kaitiaki log verify`
// run the fold on (the node's `memory` module): the fold allocates and
// frees on every statement, so it is measured as deployed. jemalloc's
// default options measured worse in a large state (a ratio of 2.09 against
// 1.41 in one pair of runs).
#[cfg(unix)]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[cfg(unix)]
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
static malloc_conf: Option<&'static u8> =
    Some(&b"dirty_decay_ms:0,muzzy_decay_ms:0,narenas:2\0"[0]);

use ed25519_dalek::SigningKey;
use kaitiaki_governance::{admit, apply, check, Entry, MemStore, Verdict};
use kaitiaki_protocol::statement::*;
use kaitiaki_protocol::{Body, PublicKey, Statement, StatementId, Timestamp};

const MEMBERS: usize = 10;
const WINDOW: usize = 10_000;
const CHUNK: usize = 1_000;
const EXTRA_REQUESTS: usize = 1_000;

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
    /// The thread's on-CPU time over the whole window, when the system says.
    cpu: Option<Duration>,
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

/// The thread's time on a CPU so far (Linux `schedstat`), which leaves out
/// the time it waited while other work had the machine.
fn on_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn cpu_since(start: Option<Duration>) -> Option<Duration> {
    Some(on_cpu()?.saturating_sub(start?))
}

/// Microseconds per statement, or `n/a`.
fn per_cpu(d: Option<Duration>, n: usize) -> String {
    d.map_or_else(|| "n/a".into(), |d| format!("{:.2}", per(d, n)))
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
    let late_from = total.saturating_sub(WINDOW).max(early_from + WINDOW);
    let (mut early, mut late) = (Window::default(), Window::default());
    let mut applied = 0usize;
    let started = Instant::now();
    let mut next_request = 0usize;
    let mut pending: std::collections::VecDeque<Entry> = Default::default();
    while applied < total {
        let window = if applied == early_from {
            Some(&mut early)
        } else if applied == late_from {
            Some(&mut late)
        } else {
            None
        };
        // A window's statements are made before it starts, so it times
        // nothing but the applies (and its on-CPU time nothing else either).
        let want = if window.is_some() { WINDOW } else { 1 };
        while pending.len() < want && next_request < requests {
            pending.extend(g.request(next_request, researcher, members, &datasets, board));
            next_request += 1;
        }
        let batch: Vec<Entry> = pending.drain(..want.min(pending.len())).collect();
        let mut window = window;
        let cpu = on_cpu();
        for e in &batch {
            let vote = matches!(e.statement.body, Body::Vote(_));
            let t = Instant::now();
            let a = apply(e, &mut store).expect("applies");
            let dt = t.elapsed();
            debug_assert_eq!(a.verdict, Verdict::Valid);
            if let Some(w) = window.as_deref_mut() {
                w.add(vote, dt);
            }
            applied += 1;
            if applied % 200_000 == 0 {
                eprintln!("{applied} statements applied in {:.1?}", started.elapsed());
            }
        }
        if let Some(w) = window {
            w.cpu = cpu_since(cpu);
        }
    }
    let build = started.elapsed();

    // After the state is built: `check` then `apply` of each statement, as
    // a node that checks before sequencing would, and then `admit`, the
    // node's single pass that checks and applies, writing nothing when refused.
    let extra = EXTRA_REQUESTS.min(requests);
    let (mut checked, mut then_applied, mut admitted) =
        (Window::default(), Window::default(), Window::default());
    let batch: Vec<Entry> = (requests..requests + extra)
        .flat_map(|r| g.request(r, researcher, members, &datasets, board))
        .collect();
    let cpu = on_cpu();
    for e in &batch {
        let vote = matches!(e.statement.body, Body::Vote(_));
        let t = Instant::now();
        check(e, &store).expect("counts");
        checked.add(vote, t.elapsed());
        let t = Instant::now();
        apply(e, &mut store).expect("applies");
        then_applied.add(vote, t.elapsed());
    }
    // Both together: on-CPU time cannot be split between them.
    let check_and_apply_cpu = cpu_since(cpu);
    let batch: Vec<Entry> = (requests + extra..requests + 2 * extra)
        .flat_map(|r| g.request(r, researcher, members, &datasets, board))
        .collect();
    let cpu = on_cpu();
    for e in &batch {
        let vote = matches!(e.statement.body, Body::Vote(_));
        let t = Instant::now();
        admit(e, &mut store).expect("counts");
        admitted.add(vote, t.elapsed());
    }
    admitted.cpu = cpu_since(cpu);

    let ratio = late.median() / early.median();
    println!(
        "state: {requests} requests, {} votes, {applied} statements, built in {:.1?}",
        requests * MEMBERS,
        build
    );
    println!();
    println!(
        "| statements in the state | apply, median (µs) | apply, mean (µs) | apply, on-CPU (µs) | request.submit, mean (µs) | vote, mean (µs) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for (from, w) in [(early_from, &early), (late_from, &late)] {
        println!(
            "| {from}–{} | {:.2} | {:.2} | {} | {:.2} | {:.2} |",
            from + w.n,
            w.median(),
            w.mean(),
            per_cpu(w.cpu, w.n),
            per(w.submits.0, w.submits.1),
            per(w.votes.0, w.votes.1),
        );
    }
    println!();
    println!("ratio (late / early, medians): {ratio:.2}");
    println!();
    println!(
        "| after the state was built ({} statements each) | median (µs) | mean (µs) | on-CPU (µs) |",
        checked.n
    );
    println!("|---|---:|---:|---:|");
    println!(
        "| `check` | {:.2} | {:.2} | |",
        checked.median(),
        checked.mean()
    );
    println!(
        "| `apply` (after `check`) | {:.2} | {:.2} | |",
        then_applied.median(),
        then_applied.mean()
    );
    println!(
        "| `check` + `apply` | {:.2} | {:.2} | {} |",
        checked.median() + then_applied.median(),
        checked.mean() + then_applied.mean(),
        per_cpu(check_and_apply_cpu, checked.n)
    );
    println!(
        "| `admit` (both in one pass) | {:.2} | {:.2} | {} |",
        admitted.median(),
        admitted.mean(),
        per_cpu(admitted.cpu, admitted.n)
    );
}
