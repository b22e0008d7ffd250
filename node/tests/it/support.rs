//! Shared helpers: a real node on loopback in a temporary directory, keys,
//! and statements signed the way clients sign them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use kaitiaki_node::{Config, Node, NodeError};
use kaitiaki_protocol::statement::KeyAnnounce;
use kaitiaki_protocol::{Body, Envelope, PublicKey, Statement, Timestamp};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The network every test node serves.
pub const NETWORK: &str = "kaitiaki-test";
/// The origin of every test node's log.
pub const ORIGIN: &str = "test-node.example";

/// A configuration for a test node in `dir`: no rate limit, small segments.
pub fn config(dir: &Path) -> Config {
    let mut c = Config::in_dir(dir);
    c.network = NETWORK.into();
    c.origin = ORIGIN.into();
    c.limits.rate_per_second = 0;
    c.storage.segment_bytes = 256 * 1024;
    c.storage.cache_bytes = 8 << 20;
    c
}

/// A node served on 127.0.0.1:0.
pub struct TestNode {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// A client for it.
    pub http: reqwest::Client,
    /// What recovery reported at start-up.
    pub recovery: kaitiaki_node::RecoveryReport,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), NodeError>>>,
}

impl TestNode {
    /// Starts a node with `config`.
    pub async fn start_with(config: Config) -> TestNode {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(config, listener).await
    }

    /// Starts a node with `config`, serving on `listener`.
    pub async fn start_on(config: Config, listener: tokio::net::TcpListener) -> TestNode {
        Self::start_on_clock(config, listener, kaitiaki_node::Clock::system()).await
    }

    /// Starts a node with `config` whose clock is `clock` (which the test
    /// may set in the past, as the demo does).
    pub async fn start_with_clock(config: Config, clock: kaitiaki_node::Clock) -> TestNode {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on_clock(config, listener, clock).await
    }

    async fn start_on_clock(
        config: Config,
        listener: tokio::net::TcpListener,
        clock: kaitiaki_node::Clock,
    ) -> TestNode {
        let node = tokio::task::spawn_blocking(move || Node::open_with_clock(config, clock))
            .await
            .unwrap()
            .expect("node opens");
        let recovery = node.recovery();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(kaitiaki_node::serve(node, listener, async {
            let _ = stopped.await;
        }));
        TestNode {
            url,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            recovery,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Starts a node in `dir` with the test configuration.
    pub async fn start(dir: &Path) -> TestNode {
        Self::start_with(config(dir)).await
    }

    /// Stops gracefully and waits until the node is closed.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().expect("node shuts down cleanly");
        }
    }

    /// Waits while the node waits for its peers before taking statements,
    /// as a node does on its first start with a key it did not make (see
    /// `replication::own_log`): tests write keys of known seeds first.
    pub async fn wait_for_peers_answer(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (_, health) = self.get("/healthz").await;
            if health["status"] != "waiting_for_peers" {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "its peers never answered: {health}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `url + path`
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// POSTs raw bytes to /v1/statements; returns status and JSON body.
    pub async fn post_raw(&self, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let r = self
            .http
            .post(self.at("/v1/statements"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// POSTs one envelope.
    pub async fn post(&self, env: &Envelope) -> (u16, Value) {
        self.post_raw(serde_json::to_vec(&env.to_dsse()).unwrap())
            .await
    }

    /// GETs JSON; returns status and body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.http.get(self.at(path)).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `GET path` as text; it must answer 200.
    pub async fn text(&self, path: &str) -> String {
        let r = self.http.get(self.at(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.text().await.unwrap()
    }

    /// The value of an unlabelled metric in `/metrics`.
    pub async fn metric(&self, name: &str) -> u64 {
        let text = self.text("/metrics").await;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
            .trim()
            .parse()
            .unwrap()
    }

    /// The published size and root.
    pub async fn head(&self) -> (u64, String) {
        let (status, c) = self.get("/v1/checkpoint").await;
        assert_eq!(status, 200);
        (
            c["size"].as_u64().unwrap(),
            c["root"].as_str().unwrap().to_owned(),
        )
    }
}

/// A deterministic key for test participant `n`.
pub fn key(n: u64) -> SigningKey {
    let mut seed = [7u8; 32];
    seed[..8].copy_from_slice(&n.to_be_bytes());
    SigningKey::from_bytes(&seed)
}

/// A signed statement with `body`, by `key`, for `network`.
pub fn sign_for(network: &str, key: &SigningKey, body: Body) -> Envelope {
    let statement = Statement {
        network: network.into(),
        author: PublicKey::of(key),
        created_at: Timestamp::parse("2026-11-22T09:00:00Z").unwrap(),
        body,
    };
    Envelope::sign(key, &statement).unwrap()
}

/// `key.announce` by key `n`, made distinct by `tag`.
pub fn announce(n: u64, tag: &str) -> Envelope {
    sign_for(
        NETWORK,
        &key(n),
        Body::KeyAnnounce(KeyAnnounce {
            display_name: format!("Participant {n} {tag}"),
            affiliation: "Test hapū".into(),
        }),
    )
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// The segment files of a node's data directory, in order.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    v.sort();
    v
}

/// Now, as a protocol timestamp.
pub fn now() -> kaitiaki_protocol::Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    kaitiaki_protocol::Timestamp::from_unix_millis(i64::try_from(ms).unwrap()).unwrap()
}
