//! The `kaitiaki` command: parse the arguments, set up logging, and hand
//! over to the library (`kaitiaki_cli`), which does everything else.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = kaitiaki_cli::args::Cli::parse();
    // Quiet by default: people read the command's own output; RUST_LOG
    // (e.g. RUST_LOG=info) turns on the node's and client's logs.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal: a log piped to a file or
        // a service manager stays plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    kaitiaki_cli::main(cli)
}
