//! `kaitiaki node init|serve`: setting up and running a node through the
//! node library, so the CLI is the one binary a steward needs.

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use kaitiaki_node::storage::StorageError;
use kaitiaki_node::{Config, Node, NodeError};
use serde::Serialize;

use crate::args::{NodeInitArgs, NodeServeArgs};
use crate::output::{Printer, Render};

/// What `node init` made.
#[derive(Debug, Serialize)]
pub struct Initialised {
    /// The configuration file written.
    pub config: String,
    /// The data directory.
    pub data_dir: String,
    /// The log's origin.
    pub origin: String,
    /// The network.
    pub network: String,
    /// The log's note verifier key: what others use to check its checkpoints.
    pub verifier_key: String,
    /// Whether the data directory and key were there already (kept as
    /// they were), rather than made now.
    pub existing: bool,
}

impl Render for Initialised {
    fn human(&self, out: &mut String) {
        let made = if self.existing {
            "kept the node's existing data and key"
        } else {
            "created the node's data and key"
        };
        out.push_str(&format!(
            "Wrote {} and {made} in {}.\n\
             origin:   {}\nnetwork:  {}\nlog key:  {}\n\
             Give the log key to anyone who will check this log (`kaitiaki log verify --log-key`) \
             and to the operators of nodes that will follow it (`kaitiaki peer add --peer-key`, \
             or `key` in a [[peers]] entry).\n\
             Start it with: kaitiaki node serve --config {}\n",
            self.config, self.data_dir, self.origin, self.network, self.verifier_key, self.config
        ));
    }
}

/// The file `node init` writes, and `node serve` reads, by default.
pub const DEFAULT_CONFIG: &str = "kaitiaki.toml";

/// What `node init` adds at the end of the file it writes: how to add what
/// an operator adds next (README, "Federation").
const CONFIG_HINT: &str = "
# To follow a partner's node, add a table like this for each (README, \"Federation\");
# its key is what `kaitiaki node init` printed there (or `verifier_key` in its /v1/checkpoint):
# [[peers]]
# url = \"http://partner.example:7878\"
# key = \"partner.example+0123abcd+AQ…\"
#
# [pages] contact: how community members can reach the people who run this node
# for help, shown beside the concern form and in every page's footer (an email
# address, a phone number or a web address). Empty shows none.
";

/// `node init`: writes the configuration and opens the node once, which
/// creates its data directory and key.
pub fn init(args: &NodeInitArgs, network: Option<&str>, printer: Printer) -> Result<()> {
    if args.config.exists() && !args.force {
        bail!(
            "{} already exists; pass --force to overwrite it",
            args.config.display()
        );
    }
    let mut config = Config::in_dir(&args.data);
    config.origin = args.origin.clone();
    if let Some(n) = network {
        config.network = n.to_owned();
    }
    config.listen = args.listen;
    config
        .validate()
        .context("the configuration is not valid")?;
    let existing = config
        .data_dir
        .join(kaitiaki_node::identity::KEY_FILE)
        .exists();
    let node = Node::open(config.clone()).context("cannot create the node's data directory")?;
    let verifier_key = node.verifier().to_string();
    node.close().context("cannot close the node cleanly")?;
    // `node serve` reads a relative data directory from the file's own
    // directory: a file written elsewhere than here names it in full.
    let mut written = config.clone();
    let beside = args
        .config
        .parent()
        .is_none_or(|p| p.as_os_str().is_empty() || p == std::path::Path::new("."));
    if !beside && config.data_dir.is_relative() {
        written.data_dir = std::fs::canonicalize(&config.data_dir).with_context(|| {
            format!(
                "cannot find the data directory {}",
                config.data_dir.display()
            )
        })?;
    }
    let mut text =
        toml::to_string_pretty(&written).context("cannot write the configuration as TOML")?;
    text.push_str(CONFIG_HINT);
    std::fs::write(&args.config, text)
        .with_context(|| format!("cannot write {}", args.config.display()))?;
    printer.emit(&Initialised {
        config: args.config.display().to_string(),
        data_dir: written.data_dir.display().to_string(),
        origin: config.origin,
        network: config.network,
        verifier_key,
        existing,
    })
}

/// Loads the configuration for `node serve`: the file, then `KAITIAKI_*`
/// variables, then the flags.
pub fn serve_config(args: &NodeServeArgs) -> Result<Config> {
    // What `node init` wrote here, unless told otherwise.
    let path = args.config.clone().or_else(|| {
        let here = std::path::PathBuf::from(DEFAULT_CONFIG);
        here.is_file().then(|| {
            eprintln!("Using the configuration in ./{DEFAULT_CONFIG} (--config names another).");
            here
        })
    });
    let mut config = Config::load(path.as_deref()).context("cannot load the node configuration")?;
    if let Some(d) = &args.data {
        config.data_dir = d.clone();
    }
    if let Some(l) = args.listen {
        config.listen = l;
    }
    Ok(config)
}

/// `node serve`: opens the node (reconciling its storage, which on a large
/// log after a crash or an upgrade takes a while, with progress in the
/// log), says where it serves only once it does, and runs until Ctrl-C,
/// then finishes in-flight writes.
pub async fn serve(config: Config) -> Result<()> {
    let data_dir = display(&config.data_dir);
    let (listen, origin, network) = (config.listen, config.origin.clone(), config.network.clone());
    // The node opens before the port is taken: a second `node serve` on the
    // same data directory (often with the same port) is told the directory
    // is in use, which is the cause, rather than that the port is.
    let node = tokio::task::spawn_blocking(move || Node::open(config))
        .await
        .context("the node's opening stopped unexpectedly")?
        .map_err(|e| explain(e, &data_dir))?;
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(e) => {
            // Nothing was served; close what was opened, as a stop would.
            node.shutdown().await.map_err(|e| explain(e, &data_dir))?;
            return Err(e).with_context(|| format!("cannot listen on {listen}"));
        }
    };
    let addr = listener.local_addr()?;
    eprintln!(
        "Serving log {origin} (network {network}) from {data_dir} on http://{addr}/ — Ctrl-C \
         stops it."
    );
    let stopping = async {
        ctrl_c().await;
        // A large node takes a few seconds here; say what it is doing.
        eprintln!(
            "Stopping: finishing in-flight writes, then saving the database's snapshot so the \
             next start is quick… (Ctrl-C again stops at once.)"
        );
        // A second signal stops the process where it stands: that is a
        // crash, which loses no acknowledged write (they are on disk before
        // they are acknowledged); the next start recovers, only slower.
        tokio::spawn(async {
            ctrl_c().await;
            eprintln!(
                "Stopped at once. Every acknowledged write is on disk; the next start recovers \
                 the rest, and takes longer."
            );
            std::process::exit(130);
        });
    };
    kaitiaki_node::serve(node, listener, stopping)
        .await
        .map_err(|e| explain(e, &data_dir))?;
    eprintln!("Stopped cleanly.");
    Ok(())
}

/// A node's failure as its operator should read it: what to do about
/// damaged or busy storage, the error itself otherwise.
fn explain(e: NodeError, data_dir: &str) -> anyhow::Error {
    match e {
        e @ NodeError::Storage(StorageError::Corrupt(_)) => {
            anyhow::anyhow!("{e}\n\n{}", damaged_data_advice(data_dir))
        }
        NodeError::Storage(StorageError::InUse { .. }) => anyhow::anyhow!(
            "the data directory {data_dir} is in use by another running node; stop it first (a \
             data directory serves one node at a time)"
        ),
        e => e.into(),
    }
}

/// The sentence for a data directory a running node holds: what to do, and
/// the URL to audit instead when it is known (the demo records its own).
pub fn in_use_message(dir: &Path, url: Option<&str>) -> String {
    let url = url.map_or_else(|| "<the node's URL>".to_owned(), str::to_owned);
    format!(
        "the data directory {} is in use by a running node; stop the node first, or audit it \
         over HTTP while it runs: kaitiaki log verify {url}",
        dir.display()
    )
}

/// What an operator can do when the node finds its data directory damaged.
fn damaged_data_advice(data_dir: &str) -> String {
    format!(
        "What to do: with the node stopped, run `kaitiaki log verify {data_dir}`: it names the \
         damaged leaf, tree hash or file.\n\
         - The segments in {data_dir}/log are the log itself; tree/, db/ and mirrors/ are \
         derived from them or copied from peers. If the damage is there, move those three out \
         of the data directory and start the node again: it rebuilds tree/ and db/ from the \
         segments and copies its peers' logs anew. Peers added with `kaitiaki peer add` must \
         then be added again (those in the configuration are followed as before).\n\
         - If a segment is damaged, restore the data directory from a backup. Every node that \
         follows this log holds a verified copy of it, in the same files (mirrors/<origin>/log \
         in its data directory): restore from whichever copy holds more records, before the \
         node takes a new one (README: \"Backing up and restoring a node\")."
    )
}

/// Completes on Ctrl-C (or SIGTERM), so services and terminals both stop
/// the node the graceful way.
pub async fn ctrl_c() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_database_is_told_in_one_plain_sentence() {
        // What the node says when another process holds the database.
        let text = in_use_message(Path::new("data/iwi"), Some("http://127.0.0.1:7878"));
        assert_eq!(
            text,
            "the data directory data/iwi is in use by a running node; stop the node first, or \
             audit it over HTTP while it runs: kaitiaki log verify http://127.0.0.1:7878"
        );
        assert!(!text.contains("Os {"));
    }
}
