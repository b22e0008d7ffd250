//! The node's performance targets, measured end to end.
//!
//! `cargo bench -p kaitiaki-node --bench append` prints:
//! 1. the all-core `verify_strict` rate (rayon over pre-signed envelopes);
//! 2. durable appends per second over real HTTP on loopback — one envelope
//!    per request from many concurrent clients, then batched arrays — and
//!    their ratio to (1); the target is at least 0.5;
//! 3. inclusion-proof time at 10³ and at 10⁶ leaves and their ratio (target
//!    at most 2);
//! 4. the node's resident memory idle and at 10⁶ leaves (targets 32 MiB
//!    and 256 MiB);
//! 5. start-up — from starting the process to a node answering `/healthz`
//!    — and resident memory just after, on the small log and on the big
//!    one, and the ratio of the start-up times: neither should grow with
//!    the log. The big log is started once after a crash (the node
//!    killed), when sled replays its log, and once after a clean stop,
//!    timed too, which has sled write a current snapshot instead.
//!
//! The node runs in a child process (this binary, re-executed), so its
//! memory is measured apart from the load generator's. The big log is
//! filled to `KAITIAKI_BENCH_LEAVES` leaves (default 100 000, so a run
//! stays within minutes at today's sequencer rate; set 1000000 for the
//! 10⁶ target; `KAITIAKI_BENCH_KEEP=1` keeps it and prints where).
//! `KAITIAKI_BENCH_ONLY=sequencer` measures the sequencer
//! alone, in process, without HTTP or signature checks;
//! `KAITIAKI_BENCH_ONLY=start-up KAITIAKI_BENCH_DIR=<kept log>` measures
//! start-up alone, three times, `KAITIAKI_BENCH_ONLY=proofs` with the
//! same variable the proofs alone, and `KAITIAKI_BENCH_ONLY=rebuild` with
//! it the first start after an upgrade that raised the governance state
//! version (the node folds its whole log again).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kaitiaki_node::{Config, Node};
use kaitiaki_protocol::Envelope;
use rayon::prelude::*;

mod common;

use common::envelope;

const ORIGIN: &str = "bench.example";
const CHILD_ENV: &str = "KAITIAKI_BENCH_NODE_DIR";

fn config(dir: &Path) -> Config {
    let mut c = common::config(dir, ORIGIN);
    c.limits.max_body_bytes = 8 << 20;
    c.limits.request_timeout_ms = 120_000;
    c
}

fn dsse_json(env: &Envelope) -> Vec<u8> {
    serde_json::to_vec(&env.to_dsse()).expect("DSSE serialises")
}

fn batch_json(envs: &[Envelope]) -> Vec<u8> {
    let items: Vec<_> = envs.iter().map(Envelope::to_dsse).collect();
    serde_json::to_vec(&items).expect("DSSE serialises")
}

/// The child: serve a node in `dir` until stdin closes.
fn child(dir: PathBuf) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let node = Node::open(config(&dir)).expect("node opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::fs::write(dir.join("port.tmp"), port.to_string()).expect("port file");
        std::fs::rename(dir.join("port.tmp"), dir.join("port")).expect("port file");
        let stdin_closed = async {
            let _ = tokio::task::spawn_blocking(|| {
                let mut sink = Vec::new();
                let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
            })
            .await;
        };
        kaitiaki_node::serve(node, listener, stdin_closed)
            .await
            .expect("serve");
    });
}

struct Server {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Server {
    fn start(dir: &Path) -> Server {
        Server::start_within(dir, Duration::from_secs(120))
    }

    /// Starts the node, allowing it `limit` to open its storage.
    fn start_within(dir: &Path, limit: Duration) -> Server {
        let _ = std::fs::remove_file(dir.join("port"));
        let mut child = Command::new(std::env::current_exe().expect("exe"))
            .env(CHILD_ENV, dir)
            .stdin(Stdio::piped())
            .spawn()
            .expect("spawn the node");
        let start = Instant::now();
        let port = loop {
            if let Ok(p) = std::fs::read_to_string(dir.join("port")) {
                break p;
            }
            assert!(start.elapsed() < limit, "the node did not start");
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the node exited before it started serving: {status}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(512)
                .build()
                .expect("client"),
        }
    }

    async fn rss_mib(&self) -> f64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .expect("metrics");
        let text = text.text().await.expect("metrics text");
        text.lines()
            .find_map(|l| l.strip_prefix("kaitiaki_resident_memory_bytes "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(|b| b / (1024.0 * 1024.0))
            .unwrap_or(f64::NAN)
    }

    /// The child's resident memory split into anonymous (heap) and file
    /// pages, from `/proc` (Linux only).
    fn rss_parts(&self) -> String {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
                .map_or(f64::NAN, |kib| kib / 1024.0)
        };
        format!(
            "anonymous {:.1} MiB, file {:.1} MiB",
            field("RssAnon:"),
            field("RssFile:")
        )
    }

    /// Kills the node, as a crash would.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the node cleanly and returns how long stopping took.
    fn stop(mut self) -> Duration {
        let started = Instant::now();
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        started.elapsed()
    }
}

/// Sends `bodies` with `clients` concurrent connections; returns the
/// statements acknowledged per second.
async fn load(server: &Server, bodies: Vec<Vec<u8>>, per_body: usize, clients: usize) -> f64 {
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (bodies, next, http) = (bodies.clone(), next.clone(), server.http.clone());
        let url = format!("{}/v1/statements", server.url);
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let r = http
                    .post(&url)
                    .body(body.clone())
                    .send()
                    .await
                    .expect("post");
                let status = r.status().as_u16();
                let _ = r.bytes().await;
                assert!(status == 200 || status == 201, "status {status}");
            }
        }));
    }
    for t in tasks {
        t.await.expect("client");
    }
    (bodies.len() * per_body) as f64 / start.elapsed().as_secs_f64()
}

/// Fills the log with `n` more leaves, batched, signing as it goes.
async fn fill(server: &Server, run: &str, n: usize) {
    const BATCH: usize = 1000;
    let mut done = 0;
    let mut last_report = Instant::now();
    while done < n {
        let chunk = (n - done).min(BATCH * 16);
        let bodies: Vec<Vec<u8>> = (done..done + chunk)
            .collect::<Vec<_>>()
            .par_chunks(BATCH)
            .map(|c| batch_json(&c.iter().map(|&i| envelope(run, i)).collect::<Vec<_>>()))
            .collect();
        load(server, bodies, 0, 4).await;
        done += chunk;
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!("  … {done} leaves");
            last_report = Instant::now();
        }
    }
}

/// Starts a node on the stopped log in `dir` and measures the time until it
/// answers `/healthz`, its resident memory a moment later, and the time a
/// clean stop then takes.
async fn start_up(dir: &Path) -> (Duration, f64, Duration) {
    start_up_within(dir, Duration::from_secs(120)).await
}

/// [`start_up`], allowing the node `limit` to answer.
async fn start_up_within(dir: &Path, limit: Duration) -> (Duration, f64, Duration) {
    let started = Instant::now();
    let server = Server::start_within(dir, limit);
    loop {
        assert!(
            started.elapsed() < limit,
            "the node never answered /healthz"
        );
        let health = server.http.get(format!("{}/healthz", server.url)).send();
        if health.await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss = server.rss_mib().await;
    let stop = server.stop();
    (took, rss, stop)
}

/// Counted rounds of proofs on each log.
const PROOF_ROUNDS: usize = 9;

/// Inclusion-proof time for random leaves of two nodes' logs: rounds of
/// proofs on one log, then the other, alternately, so that both see the
/// same machine; the median round of each. Returns each log's size and
/// median time per proof.
fn proof_times(small: &Path, big: &Path) -> [(u64, Duration); 2] {
    const PER_ROUND: u32 = 5_000;
    let nodes = [small, big].map(|dir| Node::open(config(dir)).expect("node opens"));
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut pick = |size: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % size
    };
    let mut rounds: [Vec<Duration>; 2] = Default::default();
    for round in 0..=PROOF_ROUNDS {
        for (node, times) in nodes.iter().zip(&mut rounds) {
            let size = node.checkpoint().size;
            let storage = node.storage();
            let start = Instant::now();
            for _ in 0..PER_ROUND {
                storage.inclusion_proof(pick(size), size).expect("proof");
            }
            // The first round warms the caches and is not counted.
            if round > 0 {
                times.push(start.elapsed() / PER_ROUND);
            }
        }
    }
    let sizes = nodes.each_ref().map(|n| n.checkpoint().size);
    for node in nodes {
        node.close().expect("close");
    }
    let median = |mut v: Vec<Duration>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    let [s, b] = rounds;
    [(sizes[0], median(s)), (sizes[1], median(b))]
}

fn print_proofs(small: &Path, big: &Path) {
    let [(small_size, small_t), (big_size, big_t)] = proof_times(small, big);
    println!(
        "inclusion proof at {small_size} leaves:   {:>10.2} µs (median of {PROOF_ROUNDS} rounds)",
        small_t.as_secs_f64() * 1e6
    );
    println!(
        "inclusion proof at {big_size} leaves: {:>10.2} µs (median of {PROOF_ROUNDS} rounds)",
        big_t.as_secs_f64() * 1e6
    );
    println!(
        "proof ratio:                    {:>10.2}",
        big_t.as_secs_f64() / small_t.as_secs_f64()
    );
}

/// The sequencer alone, in process: verified statements straight to
/// group commit, no HTTP and no signature checks. Returns leaves per second.
fn sequencer_rate(rt: &tokio::runtime::Runtime, n: usize) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::open(config(dir.path())).expect("node opens");
    let verified: Vec<_> = (0..n)
        .into_par_iter()
        .map(|i| envelope("sequencer", i).open().expect("valid"))
        .collect();
    let chunks: Vec<Vec<_>> = verified.chunks(500).map(<[_]>::to_vec).collect();
    let start = Instant::now();
    let outcomes = rt.block_on(common::submit_concurrently(&node, chunks));
    let rate = n as f64 / start.elapsed().as_secs_f64();
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, kaitiaki_node::sequencer::Outcome::Created(_)))
        .count();
    assert_eq!(created, n, "every statement is new and sequenced");
    let metrics = node.metrics_text();
    let pick = |name: &str| {
        metrics
            .lines()
            .find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|v| v.trim().parse::<f64>().ok())
            })
            .unwrap_or(f64::NAN)
    };
    println!(
        "  sequencer detail: {:.1} state writes/leaf, prepare {:.1} µs/leaf, commit {:.1} µs/leaf, fsync {:.0} µs/batch over {} batches, sled {:.0} bytes/leaf",
        pick("kaitiaki_state_writes_total ") / n as f64,
        pick("kaitiaki_sequence_seconds_sum ") * 1e6 / n as f64,
        pick("kaitiaki_commit_seconds_sum ") * 1e6 / n as f64,
        pick("kaitiaki_fsync_seconds_sum ") * 1e6 / pick("kaitiaki_fsync_seconds_count "),
        pick("kaitiaki_fsync_seconds_count "),
        node.storage().db_size_on_disk() as f64 / n as f64,
    );
    println!(
        "  process RSS after the sequencer run: {:.1} MiB",
        kaitiaki_node::metrics::rss_bytes().unwrap_or(0) as f64 / (1024.0 * 1024.0)
    );
    node.close().expect("close");
    rate
}

fn main() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        return child(PathBuf::from(dir));
    }
    if std::env::var("KAITIAKI_BENCH_ONLY").as_deref() == Ok("sequencer") {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let rate = sequencer_rate(&rt, 50_000);
        println!("sequencer alone: {rate:.0} leaves/s");
        return;
    }
    if std::env::var("KAITIAKI_BENCH_ONLY").as_deref() == Ok("start-up") {
        // Start-up alone, three times, on a log kept by KAITIAKI_BENCH_KEEP.
        let dir = PathBuf::from(std::env::var("KAITIAKI_BENCH_DIR").expect("KAITIAKI_BENCH_DIR"));
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        for _ in 0..3 {
            let (took, rss, _) = rt.block_on(start_up(&dir));
            println!(
                "start-up: {:.1} ms, then RSS {rss:.1} MiB",
                took.as_secs_f64() * 1e3
            );
        }
        return;
    }
    if std::env::var("KAITIAKI_BENCH_ONLY").as_deref() == Ok("rebuild") {
        // The first start after an upgrade that raised the state version,
        // on a log kept by KAITIAKI_BENCH_KEEP: the node folds every log
        // again before it answers.
        let dir = PathBuf::from(std::env::var("KAITIAKI_BENCH_DIR").expect("KAITIAKI_BENCH_DIR"));
        {
            let storage = kaitiaki_node::storage::Storage::open(&dir, 16 << 20).expect("opens");
            let other = kaitiaki_governance::STATE_VERSION + 1;
            storage
                .mark_state_version(other)
                .expect("marks the state as another version's");
        }
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        // Folding 10⁶ statements again takes minutes.
        let (took, rss, _) = rt.block_on(start_up_within(&dir, Duration::from_secs(3600)));
        // Every leaf was folded again, whatever the state had covered.
        let leaves = kaitiaki_node::storage::Storage::open(&dir, 16 << 20)
            .and_then(|s| s.indexed_size())
            .expect("reads");
        println!(
            "rebuild of the state of {leaves} leaves at start-up: {:.1} s ({:.0} leaves/s), then RSS {rss:.1} MiB",
            took.as_secs_f64(),
            leaves as f64 / took.as_secs_f64()
        );
        return;
    }
    if std::env::var("KAITIAKI_BENCH_ONLY").as_deref() == Ok("proofs") {
        // Proofs alone on a log kept by KAITIAKI_BENCH_KEEP, against a
        // fresh log of 1000 leaves.
        let big = PathBuf::from(std::env::var("KAITIAKI_BENCH_DIR").expect("KAITIAKI_BENCH_DIR"));
        let small = tempfile::tempdir().expect("tempdir");
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let server = Server::start(small.path());
            fill(&server, "small", 1000).await;
            server.stop();
        });
        print_proofs(small.path(), &big);
        return;
    }
    let target: usize = std::env::var("KAITIAKI_BENCH_LEAVES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("kaitiaki-node append benchmark ({cores} cores)");
    let seq_rate = sequencer_rate(&rt, 20_000);
    println!("sequencer alone (in process):   {seq_rate:>10.0} leaves/s");

    // 1. All-core verify_strict.
    let verify_rate = common::verify_rate(40_000);

    // 2. Durable appends over HTTP.
    let small = tempfile::tempdir().expect("tempdir");
    let big = tempfile::tempdir().expect("tempdir");
    rt.block_on(async {
        let server = Server::start(big.path());
        tokio::time::sleep(Duration::from_millis(300)).await;
        let idle = server.rss_mib().await;

        let singles: Vec<Vec<u8>> = (0..10_000)
            .into_par_iter()
            .map(|i| dsse_json(&envelope("single", i)))
            .collect();
        let single_rate = load(&server, singles, 1, 128).await;
        println!(
            "appends/s, 1 per request, 128 clients: {single_rate:>8.0} /s  ratio {:.2}",
            single_rate / verify_rate
        );
        let batches: Vec<Vec<u8>> = (0..40_000)
            .collect::<Vec<_>>()
            .par_chunks(250)
            .map(|c| batch_json(&c.iter().map(|&i| envelope("batch", i)).collect::<Vec<_>>()))
            .collect();
        let batch_rate = load(&server, batches, 250, 8).await;
        println!(
            "appends/s, 250 per request, 8 clients: {batch_rate:>8.0} /s  ratio {:.2}",
            batch_rate / verify_rate
        );

        // 3 and 4. A small log, and the big one filled to the target size.
        let small_server = Server::start(small.path());
        fill(&small_server, "small", 1000).await;
        small_server.stop();
        let have = 50_000; // the singles and batches above
        eprintln!("filling to {target} leaves …");
        let start = Instant::now();
        fill(&server, "fill", target.saturating_sub(have)).await;
        let fill_rate = target.saturating_sub(have) as f64 / start.elapsed().as_secs_f64();
        let full = server.rss_mib().await;
        let full_parts = server.rss_parts();
        // Once writes pause, the node gives back what the last batches
        // freed (`kaitiaki_node::memory`): the memory it holds at rest.
        tokio::time::sleep(Duration::from_secs(4)).await;
        let rested = server.rss_mib().await;
        println!("fill rate (1000 per request):   {fill_rate:>10.0} /s");
        println!("RSS idle:                       {idle:>10.1} MiB");
        println!(
            "RSS at {target} leaves:     {full:>10.1} MiB just after the last write ({full_parts})"
        );
        println!(
            "RSS at {target} leaves:     {rested:>10.1} MiB 4 s later ({})",
            server.rss_parts()
        );
        // Killed, as by a crash: the next start replays sled's log since
        // this node started. Its clean stop then has sled write a current
        // snapshot, which the start after it reads instead.
        server.kill();

        // 5. Start-up on both logs.
        let (small_start, small_rss, _) = start_up(small.path()).await;
        let (crash_start, crash_rss, big_stop) = start_up(big.path()).await;
        let (big_start, big_rss, _) = start_up(big.path()).await;
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "start-up at 1000 leaves:        {:>10.1} ms, then RSS {small_rss:.1} MiB",
            ms(small_start)
        );
        println!(
            "start-up at {target} leaves after a crash:       {:>10.1} ms, then RSS {crash_rss:.1} MiB  ratio {:.2}",
            ms(crash_start),
            crash_start.as_secs_f64() / small_start.as_secs_f64()
        );
        println!(
            "clean stop at {target} leaves:                   {:>10.1} ms (its sled snapshot included)",
            ms(big_stop)
        );
        println!(
            "start-up at {target} leaves after a clean stop:  {:>10.1} ms, then RSS {big_rss:.1} MiB  ratio {:.2}",
            ms(big_start),
            big_start.as_secs_f64() / small_start.as_secs_f64()
        );
    });

    print_proofs(small.path(), big.path());
    if std::env::var_os("KAITIAKI_BENCH_KEEP").is_some() {
        // Keep the big log, to measure or profile it again by hand.
        eprintln!("big log kept in {}", big.keep().display());
    }
}
