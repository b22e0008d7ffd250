//! The `kaitiaki` command: parse the arguments, set up logging, and hand
//! over to the library (`kaitiaki_cli`), which does everything else.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;
use kaitiaki_cli::args::{Command, NodeCmd};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = kaitiaki_cli::args::Cli::parse();
    // Quiet by default: people read a command's own output. A node a
    // steward runs says what it does, though: that it listens, erases an
    // attachment, rebuilds its state (with progress), shuts down. RUST_LOG
    // (e.g. RUST_LOG=info) sets any other level.
    let quiet = match &cli.command {
        Command::Node(NodeCmd::Serve(_)) => "warn,kaitiaki_node=info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(quiet)),
        )
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal: a log piped to a file or
        // a service manager stays plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    kaitiaki_cli::main(cli)
}
