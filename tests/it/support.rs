//! Test support: a real node process, the real CLI binary, and HTTP.
//!
//! The node runs as `kaitiaki node serve` in its own process, so the tests
//! can stop it, kill it, restart it and measure its memory exactly as an
//! operator would see it. Every CLI call gets its own `KAITIAKI_HOME`, so
//! keys and remembered checkpoints never leak between tests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use kaitiaki_protocol::{Body, Envelope, PublicKey, Statement, Timestamp};
use serde_json::Value;

/// The CLI binary under test (the cli crate's `main.rs`; see Cargo.toml).
pub const BIN: &str = env!("CARGO_BIN_EXE_kaitiaki-under-test");

/// The network every test node serves (the node's default).
pub const NETWORK: &str = "kaitiaki-local";

/// A node running in its own process.
pub struct NodeProc {
    child: Child,
    /// Its base URL.
    pub url: String,
    /// What it has written to its standard error (its log), line by line.
    log: Arc<Mutex<Vec<String>>>,
}

/// `kaitiaki node serve`, with nothing from the test's environment that
/// would change what the node is (its configuration, network, origin,
/// peers, log level), and no rate limit: tests append fast from one
/// address, and the node's own tests cover the limit. Callers add their
/// settings after this.
fn serve_command() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["node", "serve"]);
    for var in [
        "KAITIAKI_CONFIG",
        "KAITIAKI_NETWORK",
        "KAITIAKI_ORIGIN",
        "KAITIAKI_PEERS",
        "KAITIAKI_DATA_DIR",
        "KAITIAKI_LISTEN",
        // The node's own default log level, as a steward starting it sees.
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("KAITIAKI_RATE_PER_SECOND", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

impl NodeProc {
    /// Starts `kaitiaki node serve` on a free loopback port over `data`.
    pub fn start(data: &Path) -> NodeProc {
        Self::start_with(data, &[])
    }

    /// As [`NodeProc::start`], with extra `KAITIAKI_*` settings.
    pub fn start_with(data: &Path, env: &[(&str, &str)]) -> NodeProc {
        Self::start_on(data, "127.0.0.1:0", env)
    }

    /// As [`NodeProc::start_with`], listening on `listen` (`host:port`).
    pub fn start_on(data: &Path, listen: &str, env: &[(&str, &str)]) -> NodeProc {
        let mut cmd = serve_command();
        cmd.args(["--listen", listen, "--data"]).arg(data);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Self::spawn(cmd)
    }

    /// Runs `kaitiaki node serve` over `data` on `listen` where it cannot
    /// start, and returns what it wrote to its standard error once it exits
    /// (failing the test if it did not fail).
    pub fn refused(data: &Path, listen: &str) -> String {
        let mut cmd = serve_command();
        cmd.args(["--listen", listen, "--data"]).arg(data);
        let out = cmd.output().expect("run node serve");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "node serve started: {stderr}");
        stderr
    }

    /// Starts `kaitiaki node serve` in `dir` with nothing but a free port
    /// given, as an operator would after `kaitiaki node init` there.
    pub fn start_in(dir: &Path) -> NodeProc {
        let mut cmd = serve_command();
        cmd.args(["--listen", "127.0.0.1:0"]).current_dir(dir);
        Self::spawn(cmd)
    }

    /// `kaitiaki node serve --config <config>` with `dir` as its working
    /// directory.
    pub fn start_from(dir: &Path, config: &Path) -> NodeProc {
        let mut cmd = serve_command();
        cmd.args(["--listen", "127.0.0.1:0", "--config"])
            .arg(config)
            .current_dir(dir);
        Self::spawn(cmd)
    }

    fn spawn(mut cmd: Command) -> NodeProc {
        let mut child = cmd.spawn().expect("start the node");
        let stderr = child.stderr.take().expect("node stderr");
        let (tx, rx) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&log);
        // Read the address from the start-up line, then keep draining (and
        // keeping) so the node never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(rest) = line.split("on http://").nth(1) {
                        let addr = rest.split('/').next().unwrap_or_default().to_owned();
                        let _ = tx.send(addr);
                        sent = true;
                    }
                }
                kept.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the node printed its address");
        let node = NodeProc {
            child,
            url: format!("http://{addr}"),
            log,
        };
        node.wait_healthy();
        node
    }

    /// Waits until the node answers `/healthz` as serving: healthy, or
    /// taking no new statements for a reason it states (a node restored
    /// serves, and says why it takes none, or not yet).
    fn wait_healthy(&self) {
        for _ in 0..200 {
            let (status, health) = get(&format!("{}/healthz", self.url));
            let says_why = health["status"] == "refusing_statements"
                || health["status"] == "waiting_for_peers";
            if status == 200 || (status == 503 && says_why) {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("the node at {} never became healthy", self.url);
    }

    /// The lines of its log so far that contain `text`.
    pub fn logged(&self, text: &str) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log.iter().filter(|l| l.contains(text)).cloned().collect()
    }

    /// Where in its log so far the first line containing `text` is.
    pub fn logged_at(&self, text: &str) -> Option<usize> {
        let log = self.log.lock().unwrap();
        log.iter().position(|l| l.contains(text))
    }

    /// As [`NodeProc::logged_at`], waiting up to 10 s for the line: the
    /// log is read as the node writes it, after the line the start waits
    /// for.
    pub fn logged_at_within(&self, text: &str) -> Option<usize> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let at = self.logged_at(text);
            if at.is_some() || Instant::now() >= deadline {
                return at;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the node process, in KiB (Linux `/proc`).
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .expect("VmRSS")
    }

    /// Stops the node the graceful way (SIGTERM) and waits for it.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let status = self.child.wait().expect("wait for the node");
        assert!(status.success(), "the node did not stop cleanly: {status}");
    }

    /// Kills the node without warning (SIGKILL), like a crash.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The CLI, with its own home directory, pointed at a node.
pub struct Cli {
    /// `KAITIAKI_HOME`.
    pub home: PathBuf,
    /// `KAITIAKI_NODE`.
    pub node: String,
}

impl Cli {
    /// A CLI with a fresh home under `dir`.
    pub fn new(dir: &Path, node: &str) -> Cli {
        Cli {
            home: dir.join("cli-home"),
            node: node.to_owned(),
        }
    }

    /// Runs the CLI with `args`.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("KAITIAKI_HOME", &self.home)
            .env("KAITIAKI_NODE", &self.node)
            .env_remove("KAITIAKI_KEY")
            .env_remove("KAITIAKI_NETWORK")
            .env_remove("KAITIAKI_LOG_KEY")
            .env_remove("RUST_LOG")
            .output()
            .expect("run the CLI")
    }

    /// Runs the CLI and returns its standard output; panics, showing both
    /// streams, if it fails.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "kaitiaki {args:?} failed ({}):\nstdout: {stdout}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Runs the CLI with `--json` and parses what it prints.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let text = self.ok(&all);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("kaitiaki {args:?} printed no JSON ({e}): {text}"))
    }

    /// Runs a statement command with `--json` and returns the new statement's id.
    pub fn say(&self, args: &[&str]) -> String {
        let v = self.json(args);
        v["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {v}"))
            .to_owned()
    }

    /// Makes a key and returns its public half.
    pub fn key(&self, name: &str) -> String {
        self.json(&["keys", "new", name])["public_key"]
            .as_str()
            .expect("public key")
            .to_owned()
    }
}

/// The shared async runtime the tests' HTTP calls run on.
pub fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    })
}

fn http() -> &'static reqwest::Client {
    static C: OnceLock<reqwest::Client> = OnceLock::new();
    C.get_or_init(reqwest::Client::new)
}

/// `GET url` as JSON.
pub fn get_json(url: &str) -> anyhow::Result<Value> {
    rt().block_on(async {
        let resp = http().get(url).send().await?;
        anyhow::ensure!(resp.status().is_success(), "HTTP {}", resp.status());
        Ok(resp.json().await?)
    })
}

/// `GET url` as text; it must answer with success.
pub fn get_text(url: &str) -> String {
    rt().block_on(async {
        let resp = http().get(url).send().await.expect("the node answers");
        assert!(resp.status().is_success(), "{url}: HTTP {}", resp.status());
        resp.text().await.expect("a text answer")
    })
}

/// `GET url`; returns the status and the JSON answer (null if none, or
/// 0 and null if nothing answered).
pub fn get(url: &str) -> (u16, Value) {
    rt().block_on(async {
        match http().get(url).send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                (status, resp.json().await.unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        }
    })
}

/// `POST url` with `body`; returns the status and the JSON answer.
pub fn post(url: &str, body: Vec<u8>) -> (u16, Value) {
    rt().block_on(async {
        let resp = http()
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST");
        let status = resp.status().as_u16();
        let value = resp.json().await.unwrap_or(Value::Null);
        (status, value)
    })
}

/// The `verifier_key` the node at `url` shows at `path`: its log key at
/// `/v1/checkpoint`, its witness key at `/v1/witness`.
pub fn verifier_key(url: &str, path: &str) -> String {
    get_json(&format!("{url}{path}")).expect("the node answers")["verifier_key"]
        .as_str()
        .expect("a verifier key")
        .to_owned()
}

/// The node's latest checkpoint (size and root).
pub fn checkpoint(url: &str) -> (u64, String) {
    let cp = get_json(&format!("{url}/v1/checkpoint")).expect("checkpoint");
    (
        cp["size"].as_u64().expect("size"),
        cp["root"].as_str().expect("root").to_owned(),
    )
}

/// Signs `body` with `key` for the test network, now.
pub fn sign(key: &SigningKey, body: Body) -> Envelope {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let statement = Statement {
        network: NETWORK.to_owned(),
        author: PublicKey::of(key),
        created_at: Timestamp::from_unix_millis(ms).expect("time"),
        body,
    };
    Envelope::sign(key, &statement).expect("sign")
}

/// The DSSE JSON bytes of an envelope, as clients POST them.
pub fn dsse(envelope: &Envelope) -> Vec<u8> {
    serde_json::to_vec(&envelope.to_dsse()).expect("json")
}

/// Copies a directory tree (a stopped node's data, to tamper with a copy).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Polls `f` until it returns `Ok`, for up to 60 s, or fails naming `what`
/// and the last error.
pub fn eventually<T>(what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match f() {
            Ok(v) => return v,
            Err(last) if Instant::now() > deadline => panic!("{what}: {last}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}
