//! The overview at `/`: what a community member sees first. Datasets held
//! or governed here, the boards, rāhui in force, recent decisions, overdue
//! reports, open concerns, and whether the log checks out.

use kaitiaki_governance::rules::Outcome;
use kaitiaki_governance::RequestStatus;
use kaitiaki_protocol::statement::{ReportKind, Sensitivity};
use kaitiaki_protocol::Timestamp;
use maud::{html, Markup};

use super::labels::{Labels, Section};
use super::layout::{counted, date, person, status, Person};
use super::request::{decided_on, decision_chip, VoteOn};
use super::verify::{log_status, LogStatus};

/// A dataset in a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetCard {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it holds, about whom.
    pub description: String,
    /// Who holds it.
    pub steward: String,
    /// How sensitive it is.
    pub sensitivity: Sensitivity,
    /// Whether a rāhui is in force on it now.
    pub under_rahui: bool,
}

/// A governance board in a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyCard {
    /// Its id (its charter's).
    pub id: String,
    /// Its name.
    pub name: String,
    /// How many members it has now.
    pub members: usize,
    /// Whether its charter counts.
    pub valid: bool,
}

/// A board card's line under its name: its members, and whether its
/// charter counts.
pub fn card_meta(b: &BodyCard) -> Markup {
    html! {
        p.meta {
            (counted(b.members, "member", "members"))
            @if !b.valid { " · this charter does not count (see its page)" }
        }
    }
}

/// A rāhui in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RahuiItem {
    /// The dataset's id.
    pub dataset: String,
    /// The dataset's name.
    pub dataset_name: String,
    /// The board that placed it.
    pub body_name: String,
    /// Why, in the board's words.
    pub reason: String,
    /// When it was placed.
    pub placed: Timestamp,
    /// When it ends by itself, if it does.
    pub until: Option<Timestamp>,
}

/// A board's decision on a request, on a renewal of it, on a motion about
/// its approval, or on a change to the board's own charter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionItem {
    /// The page of what was decided: the request's, or for a change to a
    /// charter the board's.
    pub href: String,
    /// The request's title, or the board's name.
    pub title: String,
    /// The board that decided.
    pub body_name: String,
    /// What was decided: the request, a renewal or a motion.
    pub on: VoteOn,
    /// What it decided.
    pub outcome: Outcome,
    /// When the deciding vote was recorded.
    pub at: Timestamp,
    /// Where the request stands now, when that is not what this decision
    /// alone would say (an approval since paused by a rāhui, say).
    pub now: Option<RequestStatus>,
    /// False for a carried motion that changed nothing.
    pub changed: bool,
    /// For a renewal approved for fewer days than asked: the days granted.
    pub granted: Option<u32>,
}

/// A request that owes a report: overdue, or coming due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueItem {
    /// The request's id.
    pub request: String,
    /// Its title.
    pub title: String,
    /// Who owes the report.
    pub requester: Person,
    /// Whether the (earliest) report is a regular or the final one.
    pub kind: ReportKind,
    /// When it was, or is, due.
    pub due: Timestamp,
    /// How many reports this is about (overdue ones can be several).
    pub count: usize,
}

/// How far ahead the overview looks for reports coming due.
pub use kaitiaki_governance::lists::DUE_SOON_DAYS;

// The overview says "the next six weeks" in words: a new window needs new words.
const _: () = assert!(DUE_SOON_DAYS == 42);

/// An open concern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConcernItem {
    /// The concern's id.
    pub id: String,
    /// What it is about: a link and a name.
    pub subject_href: String,
    /// The subject's title or name.
    pub subject_name: String,
    /// The concern, in the raiser's words, if this node holds the text.
    pub text: Option<String>,
    /// When it was raised.
    pub raised: Timestamp,
    /// Responses so far.
    pub responses: usize,
}

/// Everything the overview shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverviewView {
    /// Datasets (first page).
    pub datasets: Vec<DatasetCard>,
    /// Whether there are more datasets than shown.
    pub more_datasets: bool,
    /// Governance boards (first page).
    pub bodies: Vec<BodyCard>,
    /// Whether there are more boards than shown.
    pub more_bodies: bool,
    /// Rāhui in force now.
    pub rahui: Vec<RahuiItem>,
    /// The most recent decisions, newest first.
    pub decisions: Vec<DecisionItem>,
    /// Requests with reports overdue, longest overdue first.
    pub overdue: Vec<DueItem>,
    /// Requests whose next report falls due within [`DUE_SOON_DAYS`], soonest first.
    pub due_soon: Vec<DueItem>,
    /// Open concerns, oldest first.
    pub concerns: Vec<ConcernItem>,
    /// Whether there are more open concerns than shown.
    pub more_concerns: bool,
    /// The log's verification status.
    pub log: LogStatus,
}

/// The overview's main content.
pub fn render(l: &Labels, v: &OverviewView) -> Markup {
    html! {
        h1 { (l.ui("overview")) }
        p.lead {
            "Data about our people is held by agencies, iwi and organisations. Before anyone may use it, they must ask, "
            "and the governance boards named here decide. This page shows every request, every decision and its reasons, "
            "what was reported back, and any concerns people have raised."
        }
        div {
            section.card aria-labelledby="rahui" {
                h2 #rahui { (l.ui("rahui_in_force")) }
                @if v.rahui.is_empty() {
                    p { "No " span lang="mi" { "rāhui" } " is in force on any dataset here." }
                } @else {
                    p.small { "A " span lang="mi" { "rāhui" } " is a restriction a board places on a dataset: no new approvals, and approved uses are paused." }
                    ul.plain {
                        @for r in &v.rahui {
                            li.rahui {
                                a href={ "/datasets/" (r.dataset) } { strong { (r.dataset_name) } }
                                br;
                                "Placed by " (r.body_name) " on " (date(r.placed))
                                @match r.until { Some(u) => { ", until " (date(u)) "." } None => { ", until the board lifts it." } }
                                blockquote { (r.reason) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="datasets" {
            h2 #datasets { (l.ui("datasets")) }
            @if v.datasets.is_empty() {
                p { "No datasets are registered here yet." }
            } @else {
                ul.cards {
                    @for d in &v.datasets {
                        li.card {
                            h3 { a href={ "/datasets/" (d.id) } { (d.name) } }
                            p { (d.description) }
                            p.meta {
                                "Held by " (d.steward) " · " (l.bi(Section::Sensitivity, sensitivity_key(d.sensitivity)))
                                @if d.under_rahui { " · " strong.flag { span lang="mi" { "Rāhui" } " in force" } }
                            }
                        }
                    }
                }
                @if v.more_datasets { p { a href="/datasets" { "All datasets" } } }
            }
        }
        section aria-labelledby="decisions" {
            h2 #decisions { (l.ui("recent_decisions")) }
            @if v.decisions.is_empty() {
                p { "No board has decided a request recently." }
            } @else {
                ul.plain.decisions {
                    @for d in &v.decisions {
                        li {
                            (decision_chip(l, &d.on, d.outcome))
                            @if d.on != VoteOn::Request {
                                " " (decided_on(&d.on))
                                @if let Some(g) = d.granted { " (" (g) " of them granted)" }
                                " of"
                            }
                            " " a href=(d.href) { (d.title) }
                            @if !d.changed { " · which changed nothing" }
                            @else if let Some(s) = d.now { " · now " (status(l, s)) }
                            br;
                            span.meta { "by " (d.body_name) ", " (date(d.at)) }
                        }
                    }
                }
            }
            p { a href="/requests" { "All requests, to show by status, dataset, board or requester" } }
        }
        div.grid {
            section.card aria-labelledby="overdue" {
                h2 #overdue { (l.ui("overdue_reports")) }
                @if v.overdue.is_empty() {
                    p { "Every use report that was due has been filed." }
                } @else {
                    p.small { "People given access must report back on what they did. These reports are late:" }
                    ul.plain {
                        @for o in &v.overdue {
                            li {
                                a href={ "/requests/" (o.request) } { (o.title) } br;
                                span.meta { (person(&o.requester)) " · due " (date(o.due))
                                    @if o.count > 1 { " (" (o.count) " reports late)" } }
                            }
                        }
                    }
                }
                @if !v.due_soon.is_empty() {
                    h3 { "Coming due in the next six weeks" }
                    ul.plain {
                        @for d in &v.due_soon {
                            li {
                                a href={ "/requests/" (d.request) } { (d.title) } br;
                                span.meta { (person(&d.requester)) " · "
                                    @match d.kind { ReportKind::Periodic => "regular", ReportKind::Final => "final" }
                                    " report due " (date(d.due)) }
                            }
                        }
                    }
                }
            }
            section.card aria-labelledby="concerns" {
                h2 #concerns { (l.ui("open_concerns")) }
                @if v.concerns.is_empty() {
                    p { "No concerns are waiting for an answer." }
                } @else {
                    ul.plain {
                        @for c in &v.concerns {
                            li {
                                "About " a href=(c.subject_href) { (c.subject_name) } ", raised " (date(c.raised))
                                @if let Some(t) = &c.text { blockquote { (excerpt(t, 220)) } }
                                span.meta { @if c.responses == 0 { "No response yet." } @else { (counted(c.responses, "response", "responses")) " so far; not yet resolved." } }
                            }
                        }
                    }
                    @if v.more_concerns { p.small { "More concerns are open than fit here; each is shown on its request's page." } }
                }
            }
        }
        section aria-labelledby="boards" {
            h2 #boards { (l.ui("bodies")) }
            @if v.bodies.is_empty() {
                p { "No governance board has a charter here yet." }
            } @else {
                ul.cards {
                    @for b in &v.bodies {
                        li.card {
                            h3 { a href={ "/bodies/" (b.id) } { (b.name) } }
                            (card_meta(b))
                        }
                    }
                }
                @if v.more_bodies { p { a href="/bodies" { "All boards" } } }
            }
        }
        (log_status(l, &v.log))
    }
}

/// The label key of a sensitivity.
pub fn sensitivity_key(s: Sensitivity) -> &'static str {
    match s {
        Sensitivity::Open => "open",
        Sensitivity::Restricted => "restricted",
        Sensitivity::Sensitive => "sensitive",
        Sensitivity::Tapu => "tapu",
    }
}

/// The CSS key of an outcome.
pub fn outcome_key(o: Outcome) -> &'static str {
    match o {
        Outcome::Approved => "approved",
        Outcome::Declined => "declined",
    }
}

/// An outcome in words.
pub fn outcome_words(l: &Labels, o: Outcome) -> Markup {
    l.bi(Section::Status, outcome_key(o))
}

/// At most `n` characters of `text`, cut at a word, with an ellipsis.
pub fn excerpt(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        return text.to_owned();
    }
    let cut: String = text.chars().take(n).collect();
    let cut = cut.rsplit_once(' ').map(|(a, _)| a).unwrap_or(&cut);
    format!("{cut}…")
}
