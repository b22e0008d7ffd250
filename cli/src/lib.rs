//! The `kaitiaki` command-line client, as a library the thin binary calls.
//!
//! Read in this order:
//! 1. [`args`] — the command tree; [`run`] below dispatches it.
//! 2. [`home`], [`keys`] — where the CLI keeps its files, and signing keys.
//! 3. [`parse`], [`actions`], [`files`] — turning what people type into
//!    statement bodies; [`submit`] signs and sends them through [`client`].
//! 4. [`rejections`] — every refusal code with a sentence and a next step;
//!    [`output`] — text for people, JSON for scripts.
//! 5. [`show`] — reading a statement (checked, not trusted), which
//!    [`story`] puts into words, and [`list`] — the node's listings; both
//!    use the community pages' [`words`].
//! 6. [`trust`], [`proof`], [`verify`] — remembering logs, checking proofs,
//!    and the full audit of a log from nothing.
//! 7. [`node_cmd`], [`demo`], [`scenario`] — running a node, and the demo.
//!
//! Exit status: 0 success, 1 failure (a refused read among them), 2 usage
//! error (from clap), 3 the node refused a statement or other change (a
//! rejection code), 4 `log verify` found a fault.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod actions;
pub mod args;
pub mod client;
pub mod demo;
pub mod files;
pub mod home;
pub mod keys;
pub mod list;
pub mod node_cmd;
pub mod output;
pub mod parse;
pub mod peers;
pub mod proof;
pub mod rejections;
pub mod scenario;
pub mod show;
pub mod story;
pub mod submit;
pub mod trust;
pub mod verify;
pub mod words;

use std::process::ExitCode;

use anyhow::Result;

use crate::actions::Context;
use crate::args::{Cli, Command, KeysCmd, LogCmd, NodeCmd, ProofCmd};
use crate::client::Client;
use crate::home::Home;
use crate::keys::KeyStore;
use crate::output::Printer;
use crate::rejections::Rejected;
use crate::submit::Session;
use crate::trust::TrustStore;

/// Exit status when the node refused a statement or another change.
pub const EXIT_REFUSED: u8 = 3;
/// Exit status when `log verify` found a fault.
pub const EXIT_FAULT: u8 = 4;

/// Runs one command to completion and reports any failure; returns the
/// process exit status.
pub fn main(cli: Cli) -> ExitCode {
    let printer = Printer::new(cli.global.json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => report(&e, printer),
    }
}

/// Prints a failure the way its kind deserves and picks the exit status.
fn report(e: &anyhow::Error, printer: Printer) -> ExitCode {
    if let Some(r) = e.downcast_ref::<Rejected>() {
        if printer.json() {
            let body = serde_json::json!({ "error": r });
            println!(
                "{}",
                serde_json::to_string_pretty(&body).unwrap_or_default()
            );
        } else {
            // A command that added context (the demo names its step) says it first.
            let outer = e.to_string();
            if outer != r.to_string() {
                eprintln!("{outer}");
            }
            eprintln!("{r}");
        }
        if r.read {
            return ExitCode::FAILURE;
        }
        return ExitCode::from(EXIT_REFUSED);
    }
    if let Some(f) = e.downcast_ref::<verify::Fault>() {
        // `log verify` has printed its summary already; this is the verdict.
        if !printer.json() {
            eprintln!("FAILED: {f}");
        }
        return ExitCode::from(EXIT_FAULT);
    }
    if printer.json() {
        let body =
            serde_json::json!({ "error": { "code": "cli", "message": output::error_text(e) } });
        println!(
            "{}",
            serde_json::to_string_pretty(&body).unwrap_or_default()
        );
    } else {
        eprintln!("error: {}", output::error_text(e));
    }
    ExitCode::FAILURE
}

/// Dispatches a parsed command line.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    let g = cli.global;
    let printer = Printer::new(g.json);
    let home = Home::from_env()?;
    let keys = KeyStore::new(&home);
    let trust_store = TrustStore::new(&home);
    let session = || -> Result<Session> {
        Ok(Session {
            client: Client::new(&g.node)?,
            keys: keys.clone(),
            key_name: g.key.clone(),
            network: g.network.clone(),
            printer,
            dry_run: g.dry_run,
        })
    };
    let log_key = g.log_key.as_deref();
    match cli.command {
        Command::Keys(cmd) => match cmd {
            KeysCmd::New { name } => printer.emit(&keys.create(&name)?)?,
            KeysCmd::List => printer.emit(&keys.list()?)?,
            KeysCmd::Show { name } | KeysCmd::Export { name } => {
                let name = match name.or(g.key.clone()) {
                    Some(n) => n,
                    None => keys.choose(None)?.0,
                };
                printer.emit(&keys.info(&name)?)?
            }
            KeysCmd::Announce(a) => session()?.say_and_print(a.body()).await?,
        },
        Command::Node(NodeCmd::Init(a)) => {
            tokio::task::block_in_place(|| node_cmd::init(&a, g.network.as_deref(), printer))?
        }
        Command::Node(NodeCmd::Serve(a)) => node_cmd::serve(node_cmd::serve_config(&a)?).await?,
        Command::Demo(a) => demo::run(&a, &home, printer).await?,
        Command::Body(cmd) => {
            let s = session()?;
            let origin = match &cmd {
                actions::BodyCmd::Create(c) if c.home_log.is_none() => s.health().await?.origin,
                _ => String::new(),
            };
            let body = cmd.body(&Context {
                keys: &keys,
                origin: &origin,
            })?;
            s.say_and_print(body).await?
        }
        Command::Dataset(actions::DatasetCmd::Register(a)) => {
            session()?.say_and_print(a.body()).await?
        }
        Command::Request(cmd) => {
            cmd.check()?;
            session()?.say_and_print(cmd.body()).await?
        }
        Command::Vote(a) => {
            a.check()?;
            session()?.vote(a.body()).await?
        }
        Command::Rahui(cmd) => {
            cmd.check(parse::now())?;
            session()?.say_and_print(cmd.body()).await?
        }
        Command::Approval(cmd) => session()?.say_and_print(cmd.body()).await?,
        Command::Renew(a) => session()?.say_and_print(a.body()).await?,
        Command::Revoke(a) => {
            let body = a.body(kaitiaki_protocol::statement::ApprovalAction::Revoke);
            session()?.say_and_print(body).await?
        }
        Command::Report(cmd) => session()?.say_and_print(cmd.body()).await?,
        Command::Output(cmd) => cmd.run(&session()?).await?,
        Command::Concern(cmd) => session()?.say_and_print(cmd.body()).await?,
        Command::Attachment(cmd) => cmd.run(&session()?).await?,
        Command::Show { id } => {
            let s = session()?;
            let id = show::resolve(&s.client, &id).await?;
            show::show(&s, &trust_store, log_key, &id).await?
        }
        Command::List(cmd) => cmd.run(&session()?).await?,
        Command::Log(LogCmd::Verify(a)) => verify::run(&a, &trust_store, log_key, printer).await?,
        Command::Log(LogCmd::Proof(ProofCmd::Inclusion { id })) => {
            let s = session()?;
            let id = show::resolve(&s.client, &id).await?;
            proof::inclusion(&s, &trust_store, log_key, &id).await?
        }
        Command::Log(LogCmd::Proof(ProofCmd::Consistency { old, new })) => {
            proof::consistency(&session()?, &trust_store, log_key, old, new).await?
        }
        Command::Peer(cmd) => peers::run(&cmd, &Client::new(&g.node)?, printer).await?,
        Command::Evidence => peers::evidence(&Client::new(&g.node)?, printer, log_key).await?,
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_refused_change_exits_with_the_refusal_status() {
        let refusal = || Rejected::new(400, "malformed".into(), "unknown status".into(), None);
        let statement = anyhow::Error::new(refusal());
        assert_eq!(
            report(&statement, Printer::new(true)),
            ExitCode::from(EXIT_REFUSED)
        );
        let read = anyhow::Error::new(refusal().of_read());
        assert_eq!(report(&read, Printer::new(true)), ExitCode::FAILURE);
    }
}
