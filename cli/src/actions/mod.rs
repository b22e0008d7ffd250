//! Every command that says something to the federation: its arguments, and
//! the statement body they make.
//!
//! Each command only turns what was typed into a protocol [`Body`]; signing
//! and sending are the same for all of them ([`crate::submit`]). References
//! to local keys (`--member aroha:chair`) are resolved against the key
//! store; everything else is checked by the protocol's limits when the
//! statement is encoded, and by the node's rules when it arrives.
//!
//! Here: bodies, datasets and key announcements. [`requests`]: a request's
//! life on the requester's side, its reports and concerns. [`decisions`]:
//! what bodies decide — votes, rāhui and motions on approvals.

mod decisions;
mod requests;

pub use decisions::*;
pub use requests::*;

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use kaitiaki_protocol::statement::{
    BodyAmend, BodyCharter, DatasetRegister, DecisionRule, KeyAnnounce, Label, Member, Sensitivity,
};
use kaitiaki_protocol::{Body, StatementId};

use crate::keys::KeyStore;
use crate::parse::{self, MemberArg};

/// What an action needs to know beyond its arguments.
pub struct Context<'a> {
    /// The local keys, for `--member NAME`.
    pub keys: &'a KeyStore,
    /// The origin of the node being talked to (the default home log).
    pub origin: &'a str,
}

/// `kaitiaki body …`: governance bodies.
#[derive(Debug, Subcommand)]
pub enum BodyCmd {
    /// Found a governance body: its members, decision rule and home node.
    Create(BodyCreate),
    /// Propose a change to a body's charter; its members then vote on it.
    Amend(BodyAmendArgs),
}

/// Arguments of `body create`.
#[derive(Debug, Args)]
pub struct BodyCreate {
    /// The body's name, e.g. "Te Poari Raraunga o Ngāti Example".
    #[arg(long)]
    pub name: String,
    /// Who the body speaks for and what it looks after.
    #[arg(long)]
    pub description: String,
    /// A founding member: a public key (hex) or a local key name, with an
    /// optional role (`KEY:chair`). Repeat for each member.
    #[arg(long = "member", value_name = "KEY[:ROLE]", required = true, value_parser = parse::member)]
    pub members: Vec<MemberArg>,
    /// How the body decides: threshold:K, majority:QUORUM or consensus:QUORUM.
    #[arg(long, value_name = "RULE", value_parser = parse::rule)]
    pub rule: DecisionRule,
    /// Days a request stays open for community comment before votes decide it.
    #[arg(long, default_value_t = 0, value_name = "DAYS", value_parser = parse::notice_days)]
    pub notice_days: u32,
    /// The log where the body's decisions must be sequenced (default: the
    /// origin of the node given with --node).
    #[arg(long, value_name = "ORIGIN")]
    pub home_log: Option<String>,
}

/// Arguments of `body amend`.
#[derive(Debug, Args)]
pub struct BodyAmendArgs {
    /// The body (its charter id).
    #[arg(value_parser = parse::id)]
    pub body: StatementId,
    /// A member to add, KEY[:ROLE]. Repeatable.
    #[arg(long = "add-member", value_name = "KEY[:ROLE]", value_parser = parse::member)]
    pub add: Vec<MemberArg>,
    /// A member to remove (public key or local key name). Repeatable.
    #[arg(long = "remove-member", value_name = "KEY")]
    pub remove: Vec<String>,
    /// A new decision rule: threshold:K, majority:QUORUM or consensus:QUORUM.
    #[arg(long, value_name = "RULE", value_parser = parse::rule)]
    pub rule: Option<DecisionRule>,
    /// A new notice period: days a request stays open for community
    /// comment before votes decide it (0 for none). Requests submitted
    /// before it takes effect keep the notice they were given.
    #[arg(long, value_name = "DAYS", value_parser = parse::notice_days)]
    pub notice_days: Option<u32>,
    /// A new description.
    #[arg(long)]
    pub description: Option<String>,
    /// Why the change is proposed.
    #[arg(long)]
    pub reason: String,
}

/// `kaitiaki dataset …`.
#[derive(Debug, Subcommand)]
pub enum DatasetCmd {
    /// Record a dataset, its steward, and the bodies that must all approve any use.
    Register(DatasetArgs),
}

/// How sensitive a dataset is.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SensitivityArg {
    /// Open data.
    Open,
    /// Access needs approval.
    Restricted,
    /// Personal or sensitive information about people.
    Sensitive,
    /// Sacred or restricted knowledge.
    Tapu,
}

/// Arguments of `dataset register`.
#[derive(Debug, Args)]
pub struct DatasetArgs {
    /// The dataset's name.
    #[arg(long)]
    pub name: String,
    /// What it holds, and about whom.
    #[arg(long)]
    pub description: String,
    /// The organisation that holds it.
    #[arg(long)]
    pub steward: String,
    /// A governing body (charter id). Repeat: every one must approve.
    #[arg(long = "body", required = true, value_name = "ID", value_parser = parse::id)]
    pub bodies: Vec<StatementId>,
    /// A Local Contexts label, CODE or CODE=TEXT (e.g. TK_A, BC_R). Repeatable.
    #[arg(long = "label", value_parser = parse::label)]
    pub labels: Vec<Label>,
    /// A permitted use (GA4GH DUO code, e.g. DUO:0000042). Repeatable.
    #[arg(long = "permit", value_name = "CODE", value_parser = parse::use_code)]
    pub permitted: Vec<String>,
    /// A use that is never allowed: a kind of use, by its name, which refuses
    /// every request of that kind (e.g. commercial), or a code requests name
    /// their uses with (e.g. custom:insurance-risk-scoring). Repeatable.
    #[arg(long = "exclude", value_name = "CODE", value_parser = parse::use_code)]
    pub excluded: Vec<String>,
    /// How sensitive it is.
    #[arg(long, value_enum)]
    pub sensitivity: SensitivityArg,
}

/// Arguments of `keys announce`.
#[derive(Debug, Args)]
pub struct AnnounceArgs {
    /// The name people know you by.
    #[arg(long)]
    pub display_name: String,
    /// The iwi, hapū, organisation or agency you speak for.
    #[arg(long)]
    pub affiliation: String,
}

/// A file given on the command line, read whole (outputs and attachments).
pub fn read_file(path: &PathBuf) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn members(ctx: &Context<'_>, args: &[MemberArg]) -> Result<Vec<Member>> {
    args.iter()
        .map(|m| {
            Ok(Member {
                key: ctx.keys.resolve_public(&m.key)?,
                role: m.role.clone(),
            })
        })
        .collect()
}

impl BodyCmd {
    /// The statement body.
    pub fn body(&self, ctx: &Context<'_>) -> Result<Body> {
        Ok(match self {
            BodyCmd::Create(a) => Body::BodyCharter(BodyCharter {
                name: a.name.clone(),
                description: a.description.clone(),
                home_log: a.home_log.clone().unwrap_or_else(|| ctx.origin.to_owned()),
                members: members(ctx, &a.members)?,
                rule: a.rule.clone(),
                notice_days: a.notice_days,
            }),
            BodyCmd::Amend(a) => Body::BodyAmend(BodyAmend {
                body: a.body,
                add_members: members(ctx, &a.add)?,
                remove_members: a
                    .remove
                    .iter()
                    .map(|k| ctx.keys.resolve_public(k))
                    .collect::<Result<_>>()?,
                rule: a.rule.clone(),
                notice_days: a.notice_days,
                description: a.description.clone(),
                reason: a.reason.clone(),
            }),
        })
    }
}

impl DatasetArgs {
    /// The statement body.
    pub fn body(&self) -> Body {
        Body::DatasetRegister(DatasetRegister {
            name: self.name.clone(),
            description: self.description.clone(),
            steward: self.steward.clone(),
            governing_bodies: self.bodies.clone(),
            labels: self.labels.clone(),
            permitted_uses: self.permitted.clone(),
            excluded_uses: self.excluded.clone(),
            sensitivity: match self.sensitivity {
                SensitivityArg::Open => Sensitivity::Open,
                SensitivityArg::Restricted => Sensitivity::Restricted,
                SensitivityArg::Sensitive => Sensitivity::Sensitive,
                SensitivityArg::Tapu => Sensitivity::Tapu,
            },
        })
    }
}

impl AnnounceArgs {
    /// The statement body.
    pub fn body(&self) -> Body {
        Body::KeyAnnounce(KeyAnnounce {
            display_name: self.display_name.clone(),
            affiliation: self.affiliation.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};
    use kaitiaki_protocol::Timestamp;

    use crate::args::{Cli, Command};

    fn parse(args: &[&str]) -> Command {
        Cli::try_parse_from(std::iter::once("kaitiaki").chain(args.iter().copied()))
            .expect("parses")
            .command
    }

    #[test]
    fn a_rahui_that_has_already_ended_is_refused_before_signing() {
        let id = "ab".repeat(32);
        let place = |until: &str| {
            let args = [
                "rahui",
                "place",
                "--body",
                &id,
                "--dataset",
                &id,
                "--reason",
                "r",
                "--until",
                until,
            ];
            match parse(&args) {
                Command::Rahui(cmd) => cmd,
                _ => unreachable!("a rāhui command"),
            }
        };
        let now = Timestamp::parse("2026-12-07T00:00:00Z").expect("time");
        let past = place("2020-01-01").check(now).expect_err("in the past");
        assert!(past.to_string().contains("not in the future"), "{past}");
        place("2027-01-01").check(now).expect("in the future");
    }

    #[test]
    fn conditions_that_do_not_fit_the_choice_are_refused_before_signing() {
        let id = "ab".repeat(32);
        let vote = |extra: &[&str]| {
            let mut args = vec!["vote", &id, "approve-with-conditions", "--body", &id];
            args.extend_from_slice(extra);
            args.extend_from_slice(&["--reason", "r"]);
            match parse(&args) {
                Command::Vote(a) => a,
                _ => unreachable!("a vote"),
            }
        };
        let none = vote(&[]).check().expect_err("no condition");
        assert!(none.to_string().contains("--condition"), "{none}");
        vote(&["--condition", "report-every:6"])
            .check()
            .expect("one condition");
        for choice in ["decline", "abstain"] {
            let args = [
                "vote",
                &id,
                choice,
                "--body",
                &id,
                "--condition",
                "final-report",
                "--reason",
                "r",
            ];
            let Command::Vote(a) = parse(&args) else {
                unreachable!("a vote")
            };
            let err = a.check().expect_err("conditions with no approval");
            assert!(
                err.to_string().contains("conditions go with an approval"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_request_naming_a_dataset_twice_is_refused_before_signing() {
        let (a, b) = ("ab".repeat(32), "cd".repeat(32));
        let submit = |datasets: &[&str]| {
            let mut args = vec![
                "request",
                "submit",
                "--title",
                "t",
                "--purpose",
                "p",
                "--use-category",
                "research",
            ];
            for d in datasets {
                args.extend(["--dataset", d]);
            }
            args.extend([
                "--duration-days",
                "30",
                "--setting",
                "lab",
                "--people",
                "two",
                "--benefit",
                "b",
                "--outputs-plan",
                "o",
            ]);
            match parse(&args) {
                Command::Request(cmd) => cmd,
                _ => unreachable!("a request command"),
            }
        };
        let twice = submit(&[&a, &b, &a]).check().expect_err("twice");
        assert!(twice.to_string().contains("given twice"), "{twice}");
        submit(&[&a, &b]).check().expect("each once");
    }

    #[test]
    fn the_excluded_use_example_is_a_use() {
        // DUO:0000046 means "non-commercial use only", a restriction:
        // excluding it would forbid the very use it allows.
        let mut cli = crate::args::Cli::command();
        let help = cli
            .find_subcommand_mut("dataset")
            .and_then(|d| d.find_subcommand_mut("register"))
            .expect("dataset register")
            .render_long_help()
            .to_string();
        assert!(!help.contains("DUO:0000046"), "{help}");
        // It names a kind of use, which excludes a whole kind, and a code.
        assert!(help.contains("(e.g. commercial)"), "{help}");
        assert!(help.contains("custom:insurance-risk-scoring"), "{help}");
    }
}
