//! `kaitiaki demo`: one command from nothing to a small running federation
//! with a realistic example in it: an iwi node, a Pacific node and an agency
//! node, each following the other two.
//!
//! ```text
//! <data>/iwi/           the iwi node's data directory
//! <data>/pacific/       the Pacific board's node's data directory
//! <data>/agency/        the agency's node's data directory
//! <data>/home/          the demo people's keys (KAITIAKI_HOME for trying commands)
//! <data>/seeded.json    what was seeded; its presence means "seeded, reuse"
//! <data>/running.json   where the nodes listen, while the demo runs
//! ```
//!
//! The first run seeds the example through the nodes' real HTTP API
//! ([`crate::scenario`]), each statement on its author's home node; the
//! nodes mirror each other's logs, fold them into one governance state and
//! witness each other's checkpoints. Later runs reuse the data and say so;
//! `--reset` wipes it. The nodes listen on 127.0.0.1, on the port asked for
//! and the next two or, where one is taken by another program, on a free
//! one, and all three stop cleanly on Ctrl-C. A second demo on the same data
//! finds the first through `running.json` (and, failing that, through the
//! databases' locks) and says where it runs, instead of starting beside it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use kaitiaki_node::config::PeerConfig;
use kaitiaki_node::identity::Identity;
use kaitiaki_node::storage::StorageError;
use kaitiaki_node::{Clock, Config, Node, NodeError};
use serde::{Deserialize, Serialize};

use crate::args::DemoArgs;
use crate::client::Client;
use crate::home::Home;
use crate::keys::KeyStore;
use crate::output::{Printer, Render};
use crate::scenario::{self, Nodes, Seeded, HIGHLIGHTS};

/// The demo's network name.
pub const DEMO_NETWORK: &str = "kaitiaki-demo";

/// The demo's nodes: directory name (under the demo's data), label, origin.
pub const DEMO_NODES: [(&str, &str, &str); 3] = [
    ("iwi", "iwi", "iwi.demo.kaitiaki.localhost"),
    ("pacific", "Pacific", "pacific.demo.kaitiaki.localhost"),
    ("agency", "agency", "agency.demo.kaitiaki.localhost"),
];

/// How long the demo waits for its nodes to replicate and agree.
const AGREE_WITHIN: Duration = Duration::from_secs(30);

/// One of the demo's nodes, as the demo reports it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DemoNode {
    /// Whose node: `iwi`, `Pacific` or `agency`.
    pub name: String,
    /// Its log's origin.
    pub origin: String,
    /// Its address.
    pub url: String,
}

/// What the demo tells people once it is up.
#[derive(Debug, Serialize)]
pub struct Running {
    /// The three nodes: iwi, Pacific, agency.
    pub nodes: Vec<DemoNode>,
    /// The governance state hash all three nodes agree on.
    pub state_hash: String,
    /// Whether this run seeded the example (false: reused from before).
    pub seeded_now: bool,
    /// The demo's data directory.
    pub data: String,
    /// The example's notable statements.
    pub seeded: Seeded,
}

impl Render for Running {
    fn human(&self, out: &mut String) {
        if self.seeded_now {
            out.push_str(&format!(
                "Seeded the example: {} statements from two boards, an agency and its researchers, \
                 each sent to its author's home node.\n",
                self.seeded.statements
            ));
        } else {
            out.push_str(&format!(
                "Reusing the example seeded on {} (in {}); `kaitiaki demo --reset` starts afresh.\n",
                self.seeded.seeded_at, self.data
            ));
        }
        out.push_str("\nKaitiaki demo: three federated nodes. Open their community pages:\n");
        for n in &self.nodes {
            out.push_str(&format!("  {:<8} {}/\n", n.name, n.url));
        }
        out.push_str(
            "Each follows the other two: they mirror each other's logs and witness each \
             other's checkpoints.\n",
        );
        let prefix: String = self.state_hash.chars().take(16).collect();
        out.push_str(&format!(
            "All three nodes agree on the governance state: {prefix}\n"
        ));
        let agency = self.nodes.last().map_or("", |n| n.url.as_str());
        out.push_str(&format!(
            "\nEach node describes its API at /openapi.json, e.g. {agency}/openapi.json\n\
             \nWhat to look at (each id works with `kaitiaki show` against the agency node):\n"
        ));
        if !self.seeded_now {
            out.push_str(
                "  (as the example was seeded: what was done since may have moved them on, and \
                 `kaitiaki show` tells where each stands now)\n",
            );
        }
        for (name, what) in HIGHLIGHTS {
            if let Some(id) = self.seeded.ids.get(*name) {
                out.push_str(&format!("  {what}\n    {id}\n"));
            }
        }
        out.push_str(&format!(
            "\nTry the CLI as the example's people (keys are in the demo's home):\n  \
             export KAITIAKI_HOME={home} KAITIAKI_NODE={agency}\n  \
             kaitiaki list requests\n  kaitiaki list rahui\n",
            home = Path::new(&self.data).join("home").display()
        ));
        if let Some(id) = self.seeded.ids.get("request.approved") {
            out.push_str(&format!("  kaitiaki show {id}\n"));
        }
        out.push_str(
            "  kaitiaki peer list                  # the other two nodes, and how far each is copied\n  \
             kaitiaki log verify $KAITIAKI_NODE  # audit its log and the logs it copies, from nothing\n",
        );
        out.push_str("\nCtrl-C stops the nodes; run `kaitiaki demo` again to carry on.\n");
    }
}

/// The file, in the demo's data directory, naming where its nodes listen
/// while it runs.
const RUNNING: &str = "running.json";

/// What `running.json` holds.
#[derive(Debug, Serialize, Deserialize)]
struct RunningFile {
    /// The three nodes: iwi, Pacific, agency.
    nodes: Vec<DemoNode>,
}

fn read_running(data: &Path) -> Option<Vec<DemoNode>> {
    let bytes = std::fs::read(data.join(RUNNING)).ok()?;
    let file: RunningFile = serde_json::from_slice(&bytes).ok()?;
    Some(file.nodes)
}

/// The nodes of a demo running on `data`: those `running.json` names, if
/// one of them answers there as itself (a demo that was killed leaves the
/// file behind, and its ports may since have gone to anything).
async fn running_demo(data: &Path) -> Option<Vec<DemoNode>> {
    let nodes = read_running(data)?;
    for n in &nodes {
        let Ok(client) = Client::new(&n.url) else {
            continue;
        };
        if client.health().await.is_ok_and(|h| h.origin == n.origin) {
            return Some(nodes);
        }
    }
    None
}

/// The URL the demo serves the node whose data directory is `dir` at,
/// while the demo runs (for the advice when that directory is in use).
pub fn url_of_node_dir(dir: &Path) -> Option<String> {
    let name = dir.file_name()?.to_str()?;
    let (_, label, _) = DEMO_NODES.iter().find(|(d, ..)| *d == name)?;
    let data = dir.parent()?;
    read_running(data)?
        .into_iter()
        .find(|n| n.name == *label)
        .map(|n| n.url)
}

/// What to say when a demo already runs on `data`.
fn already_running(data: &Path, nodes: &[DemoNode]) -> String {
    let mut text = format!("a demo is already running on {}", data.display());
    if nodes.is_empty() {
        text.push_str(" (its nodes' databases are in use)");
    }
    for n in nodes {
        text.push_str(&format!("\n  {:<8} {}/", n.name, n.url));
    }
    text.push_str(
        "\nUse that one, or stop it (Ctrl-C where it runs) before starting it again; \
         `--data DIR` runs a second, separate demo.",
    );
    text
}

/// Runs the demo until Ctrl-C (or, with `--seed-only`, until seeded).
pub async fn run(args: &DemoArgs, _home: &Home, printer: Printer) -> Result<()> {
    let data = args.data.clone();
    let marker = data.join("seeded.json");
    // Before anything else, and above all before --reset deletes anything.
    if let Some(nodes) = running_demo(&data).await {
        bail!(already_running(&data, &nodes));
    }
    if args.reset && data.exists() {
        check_is_demo_dir(&data)?;
        std::fs::remove_dir_all(&data)
            .with_context(|| format!("cannot remove {}", data.display()))?;
        eprintln!("Removed the old demo data in {}.", data.display());
    }
    if data.join("node").exists() && !data.join(DEMO_NODES[0].0).exists() {
        bail!(
            "{} holds data from an earlier, single-node demo; the demo now runs three federated \
             nodes. Run `kaitiaki demo --reset` to start afresh",
            data.display()
        );
    }
    let previous: Option<Seeded> = match std::fs::read(&marker) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is damaged; run `kaitiaki demo --reset`",
                marker.display()
            )
        })?),
        Err(_) => None,
    };
    let started = DEMO_NODES
        .iter()
        .any(|(dir, ..)| data.join(dir).join("log").exists());
    if previous.is_none() && started {
        bail!(
            "{} holds demo data that was never fully seeded (an earlier run was interrupted); \
             run `kaitiaki demo --reset` to start afresh",
            data.display()
        );
    }
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;

    // Listen first, then learn each node's log key, so that every node can
    // be configured with the other two as peers before it opens.
    let mut listeners = Vec::new();
    let mut urls = Vec::new();
    let mut keys = Vec::new();
    // Said only once the nodes have opened: if another demo holds the data,
    // that is the news, not its ports.
    let mut busy = Vec::new();
    for (i, (dir, _, origin)) in DEMO_NODES.iter().enumerate() {
        let port = if args.port == 0 {
            0
        } else {
            args.port.checked_add(i as u16).unwrap_or(0)
        };
        let listener = bind(port, &mut busy).await?;
        urls.push(format!("http://{}", listener.local_addr()?));
        listeners.push(listener);
        let identity = Identity::load_or_create(&data.join(dir), origin)
            .with_context(|| format!("cannot make the {dir} node's key"))?;
        keys.push(identity.verifier().to_string());
    }
    let mut servers = Vec::new();
    let mut stops = Vec::new();
    // One clock for the three nodes: the first run moves it through the
    // example's months of history, then back to the present.
    let clock = Clock::system();
    for (i, listener) in listeners.into_iter().enumerate() {
        let (dir, _, origin) = DEMO_NODES[i];
        let mut config = Config::in_dir(data.join(dir));
        config.origin = origin.to_owned();
        config.network = DEMO_NETWORK.to_owned();
        config.listen = listener.local_addr()?;
        config.replication.poll_ms = 200;
        config.peers = (0..DEMO_NODES.len())
            .filter(|j| *j != i)
            .map(|j| PeerConfig::new(urls[j].clone(), keys[j].clone()))
            .collect();
        let node_clock = clock.clone();
        let opened = tokio::task::spawn_blocking(move || Node::open_with_clock(config, node_clock))
            .await
            .context("a demo node failed to start")?;
        let node = match opened {
            Ok(node) => node,
            Err(e) => {
                stop_all(stops, servers).await?;
                if matches!(e, NodeError::Storage(StorageError::InUse { .. })) {
                    bail!(already_running(
                        &data,
                        &read_running(&data).unwrap_or_default()
                    ));
                }
                return Err(
                    anyhow::Error::new(e).context(format!("the {dir} node failed to start"))
                );
            }
        };
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        servers.push(tokio::spawn(kaitiaki_node::serve(
            node,
            listener,
            async move {
                let _ = stop_rx.await;
            },
        )));
        stops.push(stop_tx);
    }

    for note in busy {
        eprintln!("{note}");
    }
    let running = RunningFile {
        nodes: demo_nodes(&urls),
    };
    let running_path = data.join(RUNNING);
    std::fs::write(&running_path, serde_json::to_vec_pretty(&running)?)
        .with_context(|| format!("cannot write {}", running_path.display()))?;

    let result = async {
        let seeding = seed_or_reuse(&urls, &data, previous, &clock).await;
        // However seeding ended, the nodes keep the present time from now on.
        clock.reset();
        let (seeded, seeded_now) = seeding?;
        let state_hash = agree(&urls).await?;
        printer.emit(&Running {
            nodes: demo_nodes(&urls),
            state_hash,
            seeded_now,
            data: data.display().to_string(),
            seeded,
        })?;
        if !args.seed_only {
            crate::node_cmd::ctrl_c().await;
            eprintln!("\nStopping the demo nodes…");
        }
        Ok(())
    }
    .await;
    let stopped = stop_all(stops, servers).await;
    let _ = std::fs::remove_file(&running_path);
    stopped?;
    if result.is_ok() && !args.seed_only {
        eprintln!("Stopped. Run `kaitiaki demo` again to carry on where you left off.");
    }
    result
}

/// The demo's nodes at `urls` (iwi, Pacific, agency).
fn demo_nodes(urls: &[String]) -> Vec<DemoNode> {
    DEMO_NODES
        .iter()
        .zip(urls)
        .map(|((_, name, origin), url)| DemoNode {
            name: (*name).to_owned(),
            origin: (*origin).to_owned(),
            url: url.clone(),
        })
        .collect()
}

type Server = tokio::task::JoinHandle<Result<(), kaitiaki_node::NodeError>>;

/// Stops every running node and waits until each has closed.
async fn stop_all(
    stops: Vec<tokio::sync::oneshot::Sender<()>>,
    servers: Vec<Server>,
) -> Result<()> {
    for stop in stops {
        let _ = stop.send(());
    }
    let mut first_error = None;
    for (server, (dir, ..)) in servers.into_iter().zip(DEMO_NODES) {
        let outcome = match server.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                Err(anyhow::Error::new(e).context(format!("the {dir} node did not stop cleanly")))
            }
            Err(e) => Err(anyhow::Error::new(e).context(format!("the {dir} node's task failed"))),
        };
        if let Err(e) = outcome {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

async fn seed_or_reuse(
    urls: &[String],
    data: &Path,
    previous: Option<Seeded>,
    clock: &Clock,
) -> Result<(Seeded, bool)> {
    if let Some(p) = previous {
        return Ok((p, false));
    }
    let node = |i: usize| -> Result<(Client, String)> {
        Ok((Client::new(&urls[i])?, DEMO_NODES[i].2.to_owned()))
    };
    let nodes = Nodes {
        iwi: node(0)?,
        pacific: node(1)?,
        agency: node(2)?,
    };
    let keys = KeyStore::new(&Home::at(&data.join("home")));
    // The demo makes its nodes' keys before their logs (each must know the
    // others'), so on a first start each node first asks its peers what
    // they hold of its log, as a restored node would, and takes statements
    // once they have answered.
    for (client, _) in [&nodes.iwi, &nodes.pacific, &nodes.agency] {
        let deadline = Instant::now() + AGREE_WITHIN;
        loop {
            // A health check that fails is asked again, as `agree` does,
            // until the deadline.
            let why = match client.health().await {
                Ok(health) if health.status != "waiting_for_peers" => break,
                Ok(health) => health.problem.unwrap_or_default(),
                Err(e) => format!("{e:#}"),
            };
            if Instant::now() >= deadline {
                bail!("a demo node still waits for its peers to answer: {why}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    eprintln!("First run: seeding the example through the nodes' API…");
    let seeded = scenario::seed(&nodes, &keys, DEMO_NETWORK, clock).await?;
    let marker = data.join("seeded.json");
    std::fs::write(&marker, serde_json::to_vec_pretty(&seeded)?)
        .with_context(|| format!("cannot write {}", marker.display()))?;
    Ok((seeded, true))
}

/// Waits until all the nodes serve the same governance state hash, and
/// returns it.
async fn agree(urls: &[String]) -> Result<String> {
    let clients = urls
        .iter()
        .map(|u| Client::new(u))
        .collect::<Result<Vec<_>>>()?;
    let deadline = Instant::now() + AGREE_WITHIN;
    loop {
        let mut hashes = Vec::new();
        for c in &clients {
            let hash = c
                .query("/v1/state/hash", &[])
                .await
                .ok()
                .and_then(|v| v.get("state_hash")?.as_str().map(str::to_owned));
            hashes.push(hash);
        }
        if let Some(Some(first)) = hashes.first() {
            if hashes.iter().all(|h| h.as_deref() == Some(first.as_str())) {
                return Ok(first.clone());
            }
        }
        if Instant::now() >= deadline {
            let seen: Vec<String> = DEMO_NODES
                .iter()
                .zip(&hashes)
                .map(|((_, name, _), h)| format!("{name}: {}", h.as_deref().unwrap_or("no answer")))
                .collect();
            bail!(
                "the demo's nodes did not agree on the governance state within {} s ({}); \
                 replication between them is not working",
                AGREE_WITHIN.as_secs(),
                seen.join(", ")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Binds the port asked for on loopback, or a free one if it is taken
/// (and notes so in `busy`).
async fn bind(port: u16, busy: &mut Vec<String>) -> Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => Ok(l),
        Err(_) => {
            busy.push(format!(
                "Port {port} is taken by another program; using a free port instead."
            ));
            tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .context("cannot listen on any loopback port")
        }
    }
}

/// `--reset` deletes a directory; make sure it is the demo's and not, say,
/// a home directory given by mistake. (`node` is the single node of
/// earlier versions of the demo.)
fn check_is_demo_dir(dir: &PathBuf) -> Result<()> {
    let known = [
        "iwi",
        "pacific",
        "agency",
        "node",
        "home",
        "seeded.json",
        RUNNING,
    ];
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let name = entry?.file_name();
        if !known.iter().any(|k| name == *k) {
            bail!(
                "{} holds {:?}, which the demo did not make; not removing it. Choose another --data \
                 directory or remove it yourself",
                dir.display(),
                name
            );
        }
    }
    Ok(())
}
