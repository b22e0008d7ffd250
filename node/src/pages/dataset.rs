//! A dataset's page: who holds it, who decides, its labels and uses in
//! plain words, rāhui, the chart, and the full access history as a
//! timeline, a page at a time.

use kaitiaki_governance::rules::Outcome;
use kaitiaki_governance::RequestStatus;
use kaitiaki_protocol::statement::Sensitivity;
use kaitiaki_protocol::Timestamp;
use maud::{html, Markup};

use super::body::{rahui_line, PlacedRahui};
use super::chart::{self, ChartData};
use super::concern::{self, ConcernForm, ConcernThread};
use super::labels::{Labels, Section};
use super::layout::{counted, date, date_beside, pager, person, status, Person};
use super::overview::{
    excerpt, outcome_key, outcome_words, sensitivity_key, DatasetCard, RahuiItem,
};
use super::request::{event_list, Event};
use super::verify::{summary, RecordCheck};

/// One request in a dataset's access history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryItem {
    /// The request's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Who asked.
    pub requester: Person,
    /// Why, in their words.
    pub purpose: String,
    /// When it was received.
    pub submitted: Timestamp,
    /// Where it stands now.
    pub status: Option<RequestStatus>,
    /// Each board's decision so far: board, outcome, when.
    pub decisions: Vec<(String, Outcome, Timestamp)>,
    /// How many use reports were filed.
    pub reports: usize,
    /// Titles of the outputs that came of it.
    pub outputs: Vec<String>,
}

/// A label or use code on a dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeItem {
    /// The code, e.g. `TK_A` or `DUO:0000042`.
    pub code: String,
    /// The community's own words for it on this dataset, if any.
    pub text: Option<String>,
}

/// Everything a dataset's page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it holds.
    pub description: String,
    /// Who holds it.
    pub steward: String,
    /// How sensitive it is.
    pub sensitivity: Sensitivity,
    /// When it was registered.
    pub registered: Timestamp,
    /// Whether its registration counts.
    pub valid: bool,
    /// The boards that must all approve: id and name.
    pub bodies: Vec<(String, String)>,
    /// Local Contexts and custom labels.
    pub labels: Vec<CodeItem>,
    /// Permitted uses.
    pub permitted: Vec<String>,
    /// Uses never allowed.
    pub excluded: Vec<String>,
    /// Rāhui in force now.
    pub rahui: Vec<RahuiItem>,
    /// Rāhui lifted or ended, newest first, each with the name of the
    /// board that placed it.
    pub past_rahui: Vec<(String, PlacedRahui)>,
    /// The chart.
    pub chart: ChartData,
    /// This page of the access history, oldest first.
    pub history: Vec<HistoryItem>,
    /// The cursor this page started after, if not the first.
    pub after: Option<String>,
    /// The cursor of the next page.
    pub next: Option<String>,
    /// Questions about the dataset itself, and what else is filed under
    /// it that is not a concern.
    pub thread: Vec<Event>,
    /// Concerns about the dataset itself, each with the boards' responses
    /// and whether it is resolved.
    pub concerns: Vec<ConcernThread>,
    /// How to raise one.
    pub form: ConcernForm,
    /// The registration checked against the log.
    pub check: Option<RecordCheck>,
}

/// The dataset page's main content.
pub fn render(l: &Labels, v: &DatasetView) -> Markup {
    html! {
        p.kicker { (l.ui("dataset")) }
        h1 { (v.name) }
        (summary(&v.check, &v.id))
        @if !v.valid {
            p.warn { "This registration does not count: the rules of the log left it out. Requests cannot be made for it." }
        }
        p.lead { (v.description) }
        dl.facts {
            dt { "Held by" } dd { (v.steward) }
            dt { "Registered" } dd { (date(v.registered)) }
            dt { "Sensitivity" } dd { (l.bi(Section::Sensitivity, sensitivity_key(v.sensitivity))) }
            dt { (l.ui("governing_bodies")) }
            dd {
                ul.plain { @for (id, name) in &v.bodies { li { a href={ "/bodies/" (id) } { (name) } } } }
                @if v.bodies.len() > 1 { p.small { "Every one of these boards must approve before anyone may use this data." } }
            }
        }
        @for r in &v.rahui {
            div.alert role="note" {
                p { strong { span lang="mi" { "Rāhui" } " in force" } " since "
                    @match r.until { Some(u) => (date_beside(r.placed, u)), None => (date(r.placed)) }
                    @match r.until { Some(u) => { ", until " (date_beside(u, r.placed)) } None => { ", until the board lifts it" } }
                    ", placed by " (r.body_name) ". No new approvals, and approved uses are paused." }
                blockquote { (r.reason) }
            }
        }
        div.grid {
            section.card aria-labelledby="labels" {
                h2 #labels { (l.ui("labels")) }
                @if v.labels.is_empty() { p { "No labels." } } @else { (codes(l, &v.labels)) }
                p.small { a href="/glossary" { "What all the labels mean" } }
            }
            section.card aria-labelledby="uses" {
                h2 #uses { (l.ui("permitted_uses")) }
                (code_list(l, &v.permitted, "None listed: every use must be asked for."))
                h2 { (l.ui("excluded_uses")) }
                (code_list(l, &v.excluded, "None listed."))
            }
        }
        @if !v.past_rahui.is_empty() {
            section aria-labelledby="past-rahui" {
                h2 #past-rahui { span lang="mi" { "Rāhui" } " lifted or ended" }
                ul.plain {
                    @for (board, r) in &v.past_rahui {
                        (rahui_line(l, r, html! { "By " (board) }))
                    }
                }
            }
        }
        section aria-labelledby="chart" {
            h2 #chart { (l.ui("chart")) }
            (chart::render("chart-requests", &v.chart))
        }
        section aria-labelledby="history" {
            h2 #history { (l.ui("history")) }
            p { "Every request to use this dataset, oldest first: who asked, why, what each board decided, and what was reported back. "
                a href={ "/datasets/" (v.id) "/feed.atom" } { (l.text("feed")) } }
            @if v.history.is_empty() {
                p { "Nobody has asked to use this dataset yet." }
            } @else {
                ol.timeline {
                    @for h in &v.history { li { (history_item(l, h)) } }
                }
            }
            (pager(l, &format!("/datasets/{}", v.id), "", v.after.as_deref(), v.next.as_deref()))
        }
        @if !v.thread.is_empty() {
            section aria-labelledby="thread" {
                h2 #thread { "Questions about this dataset" }
                (event_list(l, &v.thread))
            }
        }
        (concern::section(l, ("dataset", &v.id), &v.concerns, &v.form))
    }
}

fn history_item(l: &Labels, h: &HistoryItem) -> Markup {
    html! {
        article.request {
            h3 { a href={ "/requests/" (h.id) } { (h.title) } }
            p.meta {
                (date(h.submitted)) " · " (person(&h.requester))
                @if let Some(s) = h.status { " · " (status(l, s)) }
            }
            p { (excerpt(&h.purpose, 280)) }
            @if !h.decisions.is_empty() {
                ul.plain.decisions {
                    @for (body, o, at) in &h.decisions {
                        li { span class={ "outcome o-" (outcome_key(*o)) } { (outcome_words(l, *o)) } " by " (body) ", " (date(*at)) }
                    }
                }
            }
            @if h.reports > 0 || !h.outputs.is_empty() {
                p.meta {
                    (counted(h.reports, "use report", "use reports")) " filed"
                    @if !h.outputs.is_empty() { "; outputs: " (h.outputs.join("; ")) }
                }
            }
        }
    }
}

/// Labels with their meanings, and the community's own words.
pub fn codes(l: &Labels, items: &[CodeItem]) -> Markup {
    html! {
        dl.codes {
            @for c in items {
                @let known = l.code(&c.code);
                dt {
                    @match known { Some(k) => { (k.name) } None => { (c.code) } }
                    " " code.small { (c.code) }
                }
                dd {
                    @if let Some(t) = &c.text { p { "In the community's words: " q { (t) } } }
                    @if let Some(k) = known { p { (k.meaning) } }
                    @if known.is_none() && c.text.is_none() { p { "This label has no explanation on this node yet." } }
                }
            }
        }
    }
}

fn code_list(l: &Labels, codes_: &[String], empty: &str) -> Markup {
    let items: Vec<CodeItem> = codes_
        .iter()
        .map(|c| CodeItem {
            code: c.clone(),
            text: None,
        })
        .collect();
    html! { @if items.is_empty() { p { (empty) } } @else { (codes(l, &items)) } }
}

/// The list of all datasets, a page at a time.
pub fn list(l: &Labels, items: &[DatasetCard], after: Option<&str>, next: Option<&str>) -> Markup {
    html! {
        h1 { (l.ui("datasets")) }
        @if items.is_empty() {
            p { "No datasets are registered here yet." }
        } @else {
            ul.cards {
                @for d in items {
                    li.card {
                        h2.h3 { a href={ "/datasets/" (d.id) } { (d.name) } }
                        p { (d.description) }
                        p.meta { "Held by " (d.steward) @if d.under_rahui { " · " strong.flag { span lang="mi" { "Rāhui" } " in force" } } }
                    }
                }
            }
        }
        (pager(l, "/datasets", "", after, next))
    }
}
