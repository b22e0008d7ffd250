//! How fast a follower catches up on a peer's log.
//!
//! `cargo bench -p kaitiaki-node --bench catchup` prints:
//! 1. the all-core `verify_strict` rate (rayon over pre-signed envelopes),
//!    the ceiling for any follower, since it checks every signature;
//! 2. the leaves per second a new follower verifies and stores while
//!    catching up on a source log of `KAITIAKI_BENCH_LEAVES` leaves
//!    (default 100 000), over real HTTP on loopback, and its ratio to (1).
//!
//! Both nodes run in this process and share its cores: the source serves
//! raw leaves and consistency proofs while the follower verifies, folds
//! and makes them durable. The source log is written straight to its
//! sequencer (signatures checked once, before timing starts), so only the
//! catch-up is timed.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use kaitiaki_node::config::PeerConfig;
use kaitiaki_node::sequencer::Outcome;
use kaitiaki_node::{Config, Node};
use kaitiaki_protocol::note::{KeyName, NoteSigner};
use rayon::prelude::*;
use tokio::sync::oneshot;

mod common;

use common::envelope;

const SOURCE: &str = "source.example";
const SOURCE_SEED: [u8; 32] = [71; 32];
const FOLLOWER: &str = "follower.example";
const FOLLOWER_SEED: [u8; 32] = [72; 32];

fn config(dir: &Path, origin: &str, seed: [u8; 32]) -> Config {
    std::fs::create_dir_all(dir).expect("data dir");
    let key = dir.join("node.key");
    std::fs::write(&key, format!("{}\n", hex::encode(seed))).expect("node key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("key mode");
    common::config(dir, origin)
}

/// Writes `n` leaves to `node`'s own log through its sequencer.
async fn fill(node: &Node, n: usize) {
    const CHUNK: usize = 500;
    const PER_ROUND: usize = 20_000;
    let mut done = 0;
    while done < n {
        let round = (n - done).min(PER_ROUND);
        let verified: Vec<_> = (done..done + round)
            .into_par_iter()
            .map(|i| envelope("catchup", i).open().expect("valid"))
            .collect();
        let chunks: Vec<Vec<_>> = verified.chunks(CHUNK).map(<[_]>::to_vec).collect();
        for outcome in common::submit_concurrently(node, chunks).await {
            assert!(
                matches!(outcome, Outcome::Created(_)),
                "not sequenced: {outcome:?}"
            );
        }
        done += round;
    }
}

/// A node served on 127.0.0.1 until `stop` is sent.
struct Served {
    url: String,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), kaitiaki_node::NodeError>>,
}

async fn serve(node: Node) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(kaitiaki_node::serve(node, listener, async {
        let _ = stopped.await;
    }));
    Served { url, stop, task }
}

impl Served {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("task").expect("clean shutdown");
    }
}

/// The leaves of the source the follower has mirrored.
async fn mirrored(http: &reqwest::Client, url: &str) -> u64 {
    let Ok(r) = http.get(format!("{url}/v1/peers")).send().await else {
        return 0;
    };
    let Ok(v) = r.json::<serde_json::Value>().await else {
        return 0;
    };
    v["peers"]
        .as_array()
        .and_then(|peers| peers.iter().find(|p| p["origin"] == SOURCE))
        .and_then(|p| p["mirrored"].as_u64())
        .unwrap_or(0)
}

fn main() {
    let n: usize = std::env::var("KAITIAKI_BENCH_LEAVES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    println!("kaitiaki-node catch-up benchmark ({cores} cores, {n} leaves)");

    // 1. All-core verify_strict.
    let verify_rate = common::verify_rate(20_000);

    // 2. A source log of n leaves, then a follower catching up on it.
    let source_dir = tempfile::tempdir().expect("tempdir");
    let follower_dir = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let node = Node::open(config(source_dir.path(), SOURCE, SOURCE_SEED)).expect("opens");
        let start = Instant::now();
        fill(&node, n).await;
        assert_eq!(node.checkpoint().size, n as u64, "the source log's size");
        eprintln!(
            "  source filled with {n} leaves in {:.1} s",
            start.elapsed().as_secs_f64()
        );
        let source = serve(node).await;

        let key = NoteSigner::from_seed(KeyName::new(SOURCE).expect("name"), &SOURCE_SEED)
            .verifier()
            .to_string();
        let mut peer = PeerConfig::new(source.url.clone(), key);
        peer.witness = false;
        let mut c = config(follower_dir.path(), FOLLOWER, FOLLOWER_SEED);
        c.replication.poll_ms = 50;
        c.peers = vec![peer];
        let http = reqwest::Client::new();
        let start = Instant::now();
        let node = Node::open(c).expect("opens");
        let follower = serve(node).await;
        let mut last_report = Instant::now();
        loop {
            let have = mirrored(&http, &follower.url).await;
            if have >= n as u64 {
                break;
            }
            if last_report.elapsed() > Duration::from_secs(10) {
                eprintln!("  … {have} leaves mirrored");
                last_report = Instant::now();
            }
            assert!(
                start.elapsed() < Duration::from_secs(3600),
                "the follower did not catch up: {have} of {n}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let rate = n as f64 / elapsed;
        println!("catch-up of {n} leaves:          {elapsed:>10.2} s");
        println!(
            "catch-up, verified and stored:   {rate:>10.0} leaves/s  ratio {:.2}",
            rate / verify_rate
        );
        follower.stop().await;
        source.stop().await;
    });
}
