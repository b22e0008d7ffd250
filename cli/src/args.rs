//! The command line: global options and the command tree (clap derive).
//!
//! Commands are grouped the way people think of them — who they are
//! (`keys`), running a node (`node`, `demo`), what bodies and requesters say
//! (`body`, `dataset`, `request`, `vote`, `rahui`, `approval`, `report`,
//! `output`, `concern`, `attachment`), reading (`show`, `list`) and checking
//! (`log verify`, `log proof`). The arguments of the statement commands live
//! beside the code that turns them into statements ([`crate::actions`],
//! [`crate::files`]).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::actions::{
    AnnounceArgs, ApprovalCmd, BodyCmd, ConcernCmd, DatasetCmd, RahuiCmd, ReportCmd, RequestCmd,
    VoteArgs,
};
use crate::client::DEFAULT_NODE;
use crate::files::{AttachmentCmd, OutputCmd};
use crate::list::ListCmd;
use crate::parse;

/// Kaitiaki: a signed, append-only record of who asked to use data about
/// iwi and Pacific communities, what their governance boards decided, and
/// what was reported back.
#[derive(Debug, Parser)]
#[command(
    name = "kaitiaki",
    bin_name = "kaitiaki",
    version,
    propagate_version = true
)]
#[command(
    after_help = "Start with `kaitiaki demo`, then open the address it prints.\n\
Keys live under $KAITIAKI_HOME (or the platform's config directory)."
)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// The node to talk to.
    #[arg(long, global = true, help_heading = "Global options", env = "KAITIAKI_NODE", default_value = DEFAULT_NODE, value_name = "URL", hide_env_values = true)]
    pub node: String,
    /// The local key to sign with (needed when there is more than one).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "KAITIAKI_KEY",
        value_name = "NAME",
        hide_env_values = true
    )]
    pub key: Option<String>,
    /// Print JSON for scripts instead of text for people.
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,
    /// The network to sign statements for (default: the node's).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "KAITIAKI_NETWORK",
        value_name = "NAME",
        hide_env_values = true
    )]
    pub network: Option<String>,
    /// The log's note key (`<origin>+<id>+<base64>`) to check checkpoints
    /// against; without it, the key is trusted on first use and remembered.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "KAITIAKI_LOG_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub log_key: Option<String>,
    /// Sign the statement and print it, but do not send it.
    #[arg(long, global = true, help_heading = "Global options")]
    pub dry_run: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make, list and show your signing keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Set up and run a node.
    #[command(subcommand)]
    Node(NodeCmd),
    /// Run three federated local nodes with a realistic example, and print where to look.
    Demo(DemoArgs),
    /// Found or amend a governance body.
    #[command(subcommand)]
    Body(BodyCmd),
    /// Register a dataset and the bodies that govern it.
    #[command(subcommand)]
    Dataset(DatasetCmd),
    /// Request access, withdraw, ask, answer, renew.
    #[command(subcommand)]
    Request(RequestCmd),
    /// Vote as a member of a body.
    Vote(VoteArgs),
    /// Place or lift a rāhui on a dataset.
    #[command(subcommand)]
    Rahui(RahuiCmd),
    /// Move to suspend, reinstate or revoke an approval.
    #[command(subcommand)]
    Approval(ApprovalCmd),
    /// Ask to extend an approval before it expires (the same as `request renew`).
    Renew(crate::actions::RenewArgs),
    /// Move to end an approval for good (the same as `approval revoke`).
    Revoke(crate::actions::MotionArgs),
    /// File or review a use report.
    #[command(subcommand)]
    Report(ReportCmd),
    /// Submit or review an output.
    #[command(subcommand)]
    Output(OutputCmd),
    /// Raise or respond to a concern.
    #[command(subcommand)]
    Concern(ConcernCmd),
    /// Add, fetch or erase a confidential attachment.
    #[command(subcommand)]
    Attachment(AttachmentCmd),
    /// Show one statement, and for a request its whole story.
    Show {
        /// The statement id, or its first 8 or more hex digits as the
        /// pages show it.
        #[arg(value_parser = parse::id_or_start)]
        id: parse::IdArg,
    },
    /// List bodies, datasets, requests and more.
    #[command(subcommand)]
    List(ListCmd),
    /// Audit a log and check proofs.
    #[command(subcommand)]
    Log(LogCmd),
    /// The nodes this node follows: list, add or remove one, lift a quarantine.
    #[command(subcommand)]
    Peer(crate::peers::PeerCmd),
    /// Evidence of misbehaviour the node keeps, each piece checked here.
    Evidence,
}

/// `kaitiaki keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Make a new signing key.
    New {
        /// A local name for it, e.g. your first name or your role.
        name: String,
    },
    /// List your keys.
    List,
    /// Show a key's public half (default: the --key one).
    Show {
        /// The key's local name.
        name: Option<String>,
    },
    /// Print a public key to give to others (a body's chair, a data steward).
    Export {
        /// The key's local name.
        name: Option<String>,
    },
    /// Tell the network who holds the --key key (a key.announce statement).
    Announce(AnnounceArgs),
}

/// `kaitiaki node …`.
#[derive(Debug, Subcommand)]
pub enum NodeCmd {
    /// Write a configuration file and create the node's data directory and key.
    Init(NodeInitArgs),
    /// Run a node until Ctrl-C.
    Serve(NodeServeArgs),
}

/// Arguments of `node init`.
#[derive(Debug, Args)]
pub struct NodeInitArgs {
    /// Where to write the configuration.
    #[arg(long, default_value = crate::node_cmd::DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// The data directory.
    #[arg(long, default_value = "./kaitiaki-data")]
    pub data: PathBuf,
    /// The log's name (charters name it as their home), e.g. `ngati-example.iwi.nz`.
    /// The network is the global --network (default `kaitiaki-local`).
    #[arg(long, default_value = "kaitiaki.localhost")]
    pub origin: String,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub listen: std::net::SocketAddr,
    /// Overwrite an existing configuration file.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `node serve`.
#[derive(Debug, Args)]
pub struct NodeServeArgs {
    /// The configuration file (KAITIAKI_* variables override it); without
    /// it, `./kaitiaki.toml` if there is one (what `node init` writes), else
    /// the defaults. A relative data_dir in it is taken from its directory.
    #[arg(long, env = "KAITIAKI_CONFIG", hide_env_values = true)]
    pub config: Option<PathBuf>,
    /// The data directory (overrides the file).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The address to listen on (overrides the file).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
}

/// Arguments of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Wipe the demo's data and start again.
    #[arg(long)]
    pub reset: bool,
    /// Where the demo keeps its data.
    #[arg(long, default_value = "./kaitiaki-data/demo")]
    pub data: PathBuf,
    /// The iwi node's port; the Pacific and agency nodes take the next two
    /// (a free port is used for any that is taken).
    #[arg(long, default_value_t = 7878)]
    pub port: u16,
    /// Seed the example and stop, instead of serving until Ctrl-C.
    #[arg(long, hide = true)]
    pub seed_only: bool,
}

/// `kaitiaki log …`.
#[derive(Debug, Subcommand)]
pub enum LogCmd {
    /// Audit a whole log from nothing: every leaf, signature, rule and hash.
    Verify(crate::verify::VerifyArgs),
    /// Fetch and check a proof against the node's signed checkpoint.
    #[command(subcommand)]
    Proof(ProofCmd),
}

/// `kaitiaki log proof …`.
#[derive(Debug, Subcommand)]
pub enum ProofCmd {
    /// Prove that a statement is in the log.
    Inclusion {
        /// The statement id, whole or its start as the pages show it.
        #[arg(value_parser = parse::id_or_start)]
        id: parse::IdArg,
    },
    /// Prove that the log at one size is a prefix of the log at another.
    Consistency {
        /// The older tree size.
        old: u64,
        /// The newer tree size (default: the latest).
        new: Option<u64>,
    },
}
