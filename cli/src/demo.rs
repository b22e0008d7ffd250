//! `kaitiaki demo`: one command from nothing to a running node with a
//! realistic example in it.
//!
//! ```text
//! <data>/node/          the node's data directory
//! <data>/home/          the demo people's keys (KAITIAKI_HOME for trying commands)
//! <data>/seeded.json    what was seeded; its presence means "seeded, reuse"
//! ```
//!
//! The first run seeds the example through the node's real HTTP API
//! ([`crate::scenario`]); later runs reuse the data and say so; `--reset`
//! wipes it. The node listens on 127.0.0.1, on the port asked for or, if
//! that is taken, on a free one, and stops cleanly on Ctrl-C.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use kaitiaki_node::{Config, Node};
use serde::Serialize;

use crate::args::DemoArgs;
use crate::client::Client;
use crate::home::Home;
use crate::keys::KeyStore;
use crate::output::{Printer, Render};
use crate::scenario::{self, Nodes, Seeded, HIGHLIGHTS};

/// The demo log's origin. With one node it is home to every body; see
/// [`crate::scenario`] for how the example splits across nodes later.
pub const DEMO_ORIGIN: &str = "demo.kaitiaki.localhost";
/// The demo's network name.
pub const DEMO_NETWORK: &str = "kaitiaki-demo";

/// What the demo tells people once it is up.
#[derive(Debug, Serialize)]
pub struct Running {
    /// The node's address.
    pub url: String,
    /// Whether this run seeded the example (false: reused from before).
    pub seeded_now: bool,
    /// The demo's data directory.
    pub data: String,
    /// The example's notable statements.
    pub seeded: Seeded,
}

impl Render for Running {
    fn human(&self, out: &mut String) {
        let url = &self.url;
        if self.seeded_now {
            out.push_str(&format!(
                "Seeded the example: {} statements from two boards, an agency and its researchers.\n",
                self.seeded.statements
            ));
        } else {
            out.push_str(&format!(
                "Reusing the example seeded on {} (in {}); `kaitiaki demo --reset` starts afresh.\n",
                self.seeded.seeded_at, self.data
            ));
        }
        out.push_str(&format!(
            "\nKaitiaki demo node: {url}/\n\n\
             Open in a browser:\n  {url}/                 community pages\n  {url}/openapi.json     the API\n\
             \nWhat to look at (each id works with `kaitiaki show`):\n"
        ));
        for (name, what) in HIGHLIGHTS {
            if let Some(id) = self.seeded.ids.get(*name) {
                out.push_str(&format!("  {what}\n    {id}\n"));
            }
        }
        out.push_str(&format!(
            "\nTry the CLI as the example's people (keys are in the demo's home):\n  \
             export KAITIAKI_HOME={home} KAITIAKI_NODE={url}\n  \
             kaitiaki list requests\n  kaitiaki list rahui\n",
            home = Path::new(&self.data).join("home").display()
        ));
        if let Some(id) = self.seeded.ids.get("request.approved") {
            out.push_str(&format!("  kaitiaki show {id}\n"));
        }
        out.push_str(&format!(
            "  kaitiaki log verify {url}\n\nCtrl-C stops the node; run `kaitiaki demo` again to carry on.\n"
        ));
    }
}

/// Runs the demo until Ctrl-C (or, with `--seed-only`, until seeded).
pub async fn run(args: &DemoArgs, _home: &Home, printer: Printer) -> Result<()> {
    let data = args.data.clone();
    let marker = data.join("seeded.json");
    if args.reset && data.exists() {
        check_is_demo_dir(&data)?;
        std::fs::remove_dir_all(&data)
            .with_context(|| format!("cannot remove {}", data.display()))?;
        eprintln!("Removed the old demo data in {}.", data.display());
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
    let node_dir = data.join("node");
    if previous.is_none() && node_dir.join("log").exists() {
        bail!(
            "{} holds demo data that was never fully seeded (an earlier run was interrupted); \
             run `kaitiaki demo --reset` to start afresh",
            data.display()
        );
    }
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;

    let mut config = Config::in_dir(&node_dir);
    config.origin = DEMO_ORIGIN.to_owned();
    config.network = DEMO_NETWORK.to_owned();
    let listener = bind(args.port).await?;
    let addr = listener.local_addr()?;
    config.listen = addr;
    let url = format!("http://{addr}");
    let node = tokio::task::spawn_blocking(move || Node::open(config))
        .await
        .context("the node failed to start")??;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(kaitiaki_node::serve(node, listener, async move {
        let _ = stop_rx.await;
    }));

    let outcome = seed_or_reuse(&url, &data, previous).await;
    let result = match outcome {
        Ok((seeded, seeded_now)) => {
            printer.emit(&Running {
                url: url.clone(),
                seeded_now,
                data: data.display().to_string(),
                seeded,
            })?;
            if !args.seed_only {
                crate::node_cmd::ctrl_c().await;
                eprintln!("\nStopping the demo node…");
            }
            Ok(())
        }
        Err(e) => Err(e),
    };
    let _ = stop_tx.send(());
    server
        .await
        .context("the node task failed")?
        .context("the node did not stop cleanly")?;
    if result.is_ok() && !args.seed_only {
        eprintln!("Stopped. Run `kaitiaki demo` again to carry on where you left off.");
    }
    result
}

async fn seed_or_reuse(url: &str, data: &Path, previous: Option<Seeded>) -> Result<(Seeded, bool)> {
    if let Some(p) = previous {
        return Ok((p, false));
    }
    let client = Client::new(url)?;
    let origin = DEMO_ORIGIN.to_owned();
    // One node for now: it is every party's home.
    let nodes = Nodes {
        iwi: (client.clone(), origin.clone()),
        pacific: (client.clone(), origin.clone()),
        agency: (client, origin),
    };
    let keys = KeyStore::new(&Home::at(&data.join("home")));
    eprintln!("First run: seeding the example through the node's API…");
    let seeded = scenario::seed(&nodes, &keys, DEMO_NETWORK).await?;
    let marker = data.join("seeded.json");
    std::fs::write(&marker, serde_json::to_vec_pretty(&seeded)?)
        .with_context(|| format!("cannot write {}", marker.display()))?;
    Ok((seeded, true))
}

/// Binds the port asked for on loopback, or a free one if it is taken.
async fn bind(port: u16) -> Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => Ok(l),
        Err(e) => {
            eprintln!("Port {port} is busy ({e}); using a free port instead.");
            tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .context("cannot listen on any loopback port")
        }
    }
}

/// `--reset` deletes a directory; make sure it is the demo's and not, say,
/// a home directory given by mistake.
fn check_is_demo_dir(dir: &PathBuf) -> Result<()> {
    let known = ["node", "home", "seeded.json"];
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
