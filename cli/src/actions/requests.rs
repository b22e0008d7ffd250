//! A request's life on the requester's side — submit, withdraw, questions
//! and answers, renewal — and what follows an approval: use reports and
//! their review, and concerns anyone may raise.

use clap::{Args, Subcommand, ValueEnum};
use kaitiaki_protocol::statement::{
    ConcernRaise, ConcernRespond, RenewalRequest, ReportKind, ReportReview, RequestAnswer,
    RequestQuestion, RequestSubmit, RequestWithdraw, UseCategory, UseReport,
};
use kaitiaki_protocol::{Body, StatementId};

use crate::parse;

/// `kaitiaki request …`: access requests, from the requester's side.
#[derive(Debug, Subcommand)]
pub enum RequestCmd {
    /// Ask for access to one or more datasets (the Five Safes are the fields).
    Submit(Box<RequestArgs>),
    /// Withdraw your request.
    Withdraw {
        /// The request.
        #[arg(value_parser = parse::id)]
        request: StatementId,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Ask a question about a request (anyone may).
    Ask {
        /// The request.
        #[arg(value_parser = parse::id)]
        request: StatementId,
        /// The question.
        #[arg(long)]
        text: String,
    },
    /// Answer a question about your request.
    Answer {
        /// The question.
        #[arg(value_parser = parse::id)]
        question: StatementId,
        /// The answer.
        #[arg(long)]
        text: String,
    },
    /// Ask to extend an approval before it expires (also `kaitiaki renew`).
    Renew(RenewArgs),
}

/// Arguments of `request renew`, also given as `kaitiaki renew`.
#[derive(Debug, clap::Args)]
pub struct RenewArgs {
    /// The request.
    #[arg(value_parser = parse::id)]
    pub request: StatementId,
    /// How many more days.
    #[arg(long, value_name = "DAYS", value_parser = parse::days)]
    pub extra_days: u32,
    /// Why.
    #[arg(long)]
    pub reason: String,
}

impl RenewArgs {
    /// The statement body.
    pub fn body(&self) -> Body {
        Body::RenewalRequest(RenewalRequest {
            request: self.request,
            extra_days: self.extra_days,
            reason: self.reason.clone(),
        })
    }
}

/// The category of use.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum UseArg {
    /// Delivering a service to the people the data is about.
    ServiceDelivery,
    /// Research (secondary use).
    Research,
    /// Evaluation of a programme or policy.
    Evaluation,
    /// Commercial use.
    Commercial,
    /// Anything else, explained in the purpose.
    Other,
}

/// Arguments of `request submit`.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// A short title.
    #[arg(long)]
    pub title: String,
    /// A dataset asked for (its registration id). Repeatable.
    #[arg(long = "dataset", required = true, value_name = "ID", value_parser = parse::id)]
    pub datasets: Vec<StatementId>,
    /// Safe projects: the purpose, in plain language.
    #[arg(long)]
    pub purpose: String,
    /// The category of use.
    #[arg(long = "use-category", value_enum)]
    pub use_category: UseArg,
    /// A DUO-style code of a use asked for (checked against each dataset's exclusions). Repeatable.
    #[arg(long = "use", value_name = "CODE", value_parser = parse::use_code)]
    pub uses: Vec<String>,
    /// How many days of access are asked for.
    #[arg(long, value_name = "DAYS", value_parser = parse::days)]
    pub duration_days: u32,
    /// Safe data: other data this would be linked with ("none" if none).
    #[arg(long, default_value = "none")]
    pub linkage: String,
    /// Safe settings: where the data will be used.
    #[arg(long)]
    pub setting: String,
    /// Safe people: who will see the data, and their accreditation.
    #[arg(long)]
    pub people: String,
    /// The expected benefit to the community.
    #[arg(long)]
    pub benefit: String,
    /// Safe outputs: what will be produced and how it is checked before release.
    #[arg(long)]
    pub outputs_plan: String,
}

/// Periodic or final.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ReportKindArg {
    /// One of the scheduled reports.
    Periodic,
    /// The closing report.
    Final,
}

/// Accept or return a report.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ReviewArg {
    /// The report is accepted.
    Accept,
    /// The report is returned for more.
    Return,
}

/// `kaitiaki report …`.
#[derive(Debug, Subcommand)]
pub enum ReportCmd {
    /// Report on your use of the data.
    File {
        /// The request reported on.
        #[arg(value_parser = parse::id)]
        request: StatementId,
        /// Periodic or final.
        #[arg(long, value_enum)]
        kind: ReportKindArg,
        /// What was done with the data.
        #[arg(long)]
        summary: String,
        /// What came back to the community.
        #[arg(long)]
        benefit: String,
        /// An incident (breach, near miss). Repeatable.
        #[arg(long = "incident")]
        incidents: Vec<String>,
        /// An output produced (its output id). Repeatable.
        #[arg(long = "output", value_name = "ID", value_parser = parse::id)]
        outputs: Vec<StatementId>,
    },
    /// Accept or return a use report, for a governing body.
    Review {
        /// The report.
        #[arg(value_parser = parse::id)]
        report: StatementId,
        /// accept or return.
        #[arg(value_enum)]
        verdict: ReviewArg,
        /// The body reviewing it.
        #[arg(long, value_parser = parse::id)]
        body: StatementId,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

/// `kaitiaki concern …`.
#[derive(Debug, Subcommand)]
pub enum ConcernCmd {
    /// Raise a concern about a request or a dataset (anyone may).
    Raise {
        /// The request or dataset.
        #[arg(value_parser = parse::id)]
        subject: StatementId,
        /// The concern, in your words.
        #[arg(long)]
        text: String,
    },
    /// Respond to a concern, for a body.
    Respond {
        /// The concern.
        #[arg(value_parser = parse::id)]
        concern: StatementId,
        /// The body responding.
        #[arg(long, value_parser = parse::id)]
        body: StatementId,
        /// The response.
        #[arg(long)]
        text: String,
        /// This response closes the concern. The board's latest response
        /// decides: one without --resolved reopens a resolved concern.
        #[arg(long)]
        resolved: bool,
    },
}

impl RequestCmd {
    /// Refuses a request naming one dataset twice: the boards would see it
    /// listed twice, and it is almost always a pasted id.
    pub fn check(&self) -> anyhow::Result<()> {
        if let RequestCmd::Submit(a) = self {
            for (i, d) in a.datasets.iter().enumerate() {
                if a.datasets[..i].contains(d) {
                    anyhow::bail!("--dataset {d} is given twice; name each dataset once");
                }
            }
        }
        Ok(())
    }

    /// The statement body.
    pub fn body(&self) -> Body {
        match self {
            RequestCmd::Submit(a) => Body::RequestSubmit(RequestSubmit {
                title: a.title.clone(),
                datasets: a.datasets.clone(),
                purpose: a.purpose.clone(),
                use_category: match a.use_category {
                    UseArg::ServiceDelivery => UseCategory::ServiceDelivery,
                    UseArg::Research => UseCategory::Research,
                    UseArg::Evaluation => UseCategory::Evaluation,
                    UseArg::Commercial => UseCategory::Commercial,
                    UseArg::Other => UseCategory::Other,
                },
                uses: a.uses.clone(),
                duration_days: a.duration_days,
                linkage: a.linkage.clone(),
                setting: a.setting.clone(),
                people: a.people.clone(),
                community_benefit: a.benefit.clone(),
                outputs_plan: a.outputs_plan.clone(),
            }),
            RequestCmd::Withdraw { request, reason } => Body::RequestWithdraw(RequestWithdraw {
                request: *request,
                reason: reason.clone(),
            }),
            RequestCmd::Ask { request, text } => Body::RequestQuestion(RequestQuestion {
                request: *request,
                text: text.clone(),
            }),
            RequestCmd::Answer { question, text } => Body::RequestAnswer(RequestAnswer {
                question: *question,
                text: text.clone(),
            }),
            RequestCmd::Renew(a) => a.body(),
        }
    }
}

impl ReportCmd {
    /// The statement body.
    pub fn body(&self) -> Body {
        match self {
            ReportCmd::File {
                request,
                kind,
                summary,
                benefit,
                incidents,
                outputs,
            } => Body::UseReport(UseReport {
                request: *request,
                kind: match kind {
                    ReportKindArg::Periodic => ReportKind::Periodic,
                    ReportKindArg::Final => ReportKind::Final,
                },
                summary: summary.clone(),
                benefit_returned: benefit.clone(),
                incidents: incidents.clone(),
                outputs: outputs.clone(),
            }),
            ReportCmd::Review {
                report,
                verdict,
                body,
                reason,
            } => Body::ReportReview(ReportReview {
                report: *report,
                body: *body,
                accepted: matches!(verdict, ReviewArg::Accept),
                reason: reason.clone(),
            }),
        }
    }
}

impl ConcernCmd {
    /// The statement body.
    pub fn body(&self) -> Body {
        match self {
            ConcernCmd::Raise { subject, text } => Body::ConcernRaise(ConcernRaise {
                subject: *subject,
                text: text.clone(),
            }),
            ConcernCmd::Respond {
                concern,
                body,
                text,
                resolved,
            } => Body::ConcernRespond(ConcernRespond {
                concern: *concern,
                body: *body,
                text: text.clone(),
                resolved: *resolved,
            }),
        }
    }
}
