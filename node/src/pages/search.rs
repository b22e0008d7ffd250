//! Finding requests: filters by status, dataset, board and requester, a
//! page at a time; and the glossary of the labels and codes records use.

use kaitiaki_governance::RequestStatus;
use kaitiaki_protocol::Timestamp;
use maud::{html, Markup};

use super::labels::{Labels, Section};
use super::layout::{date, pager, person, person_name, status, Person};

/// Every status, in the order the filter offers them.
pub const STATUSES: [RequestStatus; RequestStatus::ALL.len()] = RequestStatus::ALL;

/// How many digits of a key, at least, the requester filter takes: as many
/// as the pages show beside a person's name ([`super::layout::short`]).
pub const REQUESTER_PREFIX: usize = super::layout::SHORT_DIGITS;

/// How many keys an ambiguous requester filter offers to choose from.
pub const MAX_CHOICES: usize = 10;

/// The filters as given in the address (all optional).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Filters {
    /// A status name.
    pub status: Option<String>,
    /// A dataset id.
    pub dataset: Option<String>,
    /// A board id.
    pub body: Option<String>,
    /// A requester's key, hex: the whole key, or its first digits (at
    /// least [`REQUESTER_PREFIX`]) when they belong to one requester.
    pub requester: Option<String>,
    /// The cursor to continue after.
    pub after: Option<String>,
    /// Why the address's filters could not be read at all (a filter given
    /// twice, say), if they could not: the page lists nothing, and says why.
    #[serde(skip)]
    pub unreadable: Option<String>,
}

impl Filters {
    /// The filters as a query string without `after`, for links to the
    /// next page. Values are ids, keys and status names (hex and `_`), so
    /// they need no escaping; anything else was refused before this.
    pub fn query(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("status", &self.status),
            ("dataset", &self.dataset),
            ("body", &self.body),
            ("requester", &self.requester),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={v}"));
            }
        }
        parts.join("&")
    }
}

/// A request in the results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultItem {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Who asked.
    pub requester: Person,
    /// When it was received.
    pub submitted: Timestamp,
    /// Where it stands.
    pub status: RequestStatus,
    /// The datasets' names.
    pub datasets: Vec<String>,
}

/// The search page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchView {
    /// The filters in force: those given that could be used (a requester
    /// given by the first digits of their key, by the whole key).
    pub filters: Filters,
    /// The requester's key as typed, to give back in the form.
    pub typed_requester: Option<String>,
    /// The requester the filter found, when it found one.
    pub requester: Option<Person>,
    /// Datasets to choose from: id and name.
    pub datasets: Vec<(String, String)>,
    /// Boards to choose from: id and name.
    pub bodies: Vec<(String, String)>,
    /// This page of results.
    pub results: Vec<ResultItem>,
    /// The next page's cursor.
    pub next: Option<String>,
    /// What is wrong with the filters, in words. When set, nothing is
    /// listed: a list under a filter that is not in force would mislead.
    pub problem: Option<String>,
    /// The requesters whose keys begin with the digits given, when more
    /// than one does.
    pub choices: Vec<Person>,
    /// Whether more requesters than [`MAX_CHOICES`] matched.
    pub more_choices: bool,
    /// A note that does not stop the list (a stale page link).
    pub notice: Option<String>,
}

fn option(value: &str, label: &str, current: &Option<String>) -> Markup {
    html! {
        @if current.as_deref() == Some(value) {
            option value=(value) selected { (label) }
        } @else {
            option value=(value) { (label) }
        }
    }
}

/// The search page's main content.
pub fn render(l: &Labels, v: &SearchView) -> Markup {
    let f = &v.filters;
    html! {
        h1 { (l.ui("requests")) }
        p.lead { "Every request to use data held or governed here. Choose what to show; every choice is optional." }
        form.filters method="get" action="/requests" role="search" {
            div.field {
                label for="f-status" { "Status" }
                select #f-status name="status" {
                    option value="" { "Any status" }
                    @for s in STATUSES { (option(s.as_str(), &l.term(Section::Status, s.as_str()).en, &f.status)) }
                }
            }
            div.field {
                label for="f-dataset" { (l.ui("dataset")) }
                select #f-dataset name="dataset" {
                    option value="" { "Any dataset" }
                    @for (id, name) in &v.datasets { (option(id, name, &f.dataset)) }
                }
            }
            div.field {
                label for="f-body" { (l.ui("body")) }
                select #f-body name="body" {
                    option value="" { "Any board" }
                    @for (id, name) in &v.bodies { (option(id, name, &f.body)) }
                }
            }
            div.field {
                label for="f-requester" { "Requester's key" }
                input #f-requester name="requester" type="text" inputmode="latin" autocomplete="off" spellcheck="false"
                    pattern="[0-9a-fA-F]{8,64}" aria-describedby="f-requester-help"
                    value=(v.typed_requester.clone().or_else(|| f.requester.clone()).unwrap_or_default());
                p #f-requester-help.small {
                    "Optional: the key shown beside a person's name. Its first " (REQUESTER_PREFIX)
                    " characters are enough; a request's page shows the whole key."
                }
            }
            button type="submit" { (l.text("filter")) }
        }
        @if let Some(p) = &v.problem {
            div.alert role="alert" {
                p { (p) }
                @if !v.choices.is_empty() {
                    ul.plain {
                        @for c in &v.choices {
                            li { a href={ "/requests?" (with_requester(f, &c.key)) } { (person_name(c)) }
                                br; code.hash { (c.key) } }
                        }
                    }
                    @if v.more_choices { p.small { "More keys begin with these characters: type more of the key to narrow it down." } }
                }
                p {
                    "No requests are listed until the filter is corrected. "
                    a href="/requests" { "Clear the filters and show every request" }
                    @let kept = f.query();
                    @if !kept.is_empty() { " · " a href={ "/requests?" (kept) } { "Show requests with the other filters only" } }
                }
            }
        } @else {
            @if let Some(n) = &v.notice { p.warn role="status" { (n) } }
            @if let Some(r) = &v.requester {
                p { "Requests made with the key of " (person(r)) ": " code.hash { (r.key) } }
            }
            section aria-labelledby="results" {
                h2 #results { "Results" }
                @if v.results.is_empty() { p { "No requests match." } } @else {
                    p.small.order { (order_words(l, f)) }
                    ol.results {
                    @for r in &v.results {
                        li {
                            a href={ "/requests/" (r.id) } { strong { (r.title) } }
                            " " (status(l, r.status))
                            br;
                            span.meta { (date(r.submitted)) " · " (person(&r.requester)) " · " (r.datasets.join("; ")) }
                        }
                    }
                } }
                (pager(l, "/requests", &f.query(), f.after.as_deref(), v.next.as_deref()))
            }
        }
    }
}

/// How the results are ordered, in words. With no dataset, board or
/// requester chosen the list walks the requests stage by stage (see
/// `kaitiaki_governance::lists::requests`), oldest first within each
/// stage; otherwise it is oldest first.
fn order_words(l: &Labels, f: &Filters) -> String {
    let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
    if given(&f.dataset) || given(&f.body) || given(&f.requester) || given(&f.status) {
        return "Oldest first.".into();
    }
    let name = |s: RequestStatus| l.term(Section::Status, s.as_str()).en.to_lowercase();
    format!(
        "Listed stage by stage, oldest first within each stage: {}, {}, {} (including any {} or {} since), {}, {}, {}, then {}.",
        name(RequestStatus::Submitted),
        name(RequestStatus::UnderReview),
        name(RequestStatus::Approved),
        name(RequestStatus::Suspended),
        name(RequestStatus::Expired),
        name(RequestStatus::Declined),
        name(RequestStatus::Withdrawn),
        name(RequestStatus::Revoked),
        name(RequestStatus::Completed),
    )
}

/// The filters' query with the requester replaced by `key`.
fn with_requester(f: &Filters, key: &str) -> String {
    Filters {
        requester: Some(key.to_owned()),
        after: None,
        ..f.clone()
    }
    .query()
}

/// The glossary page: every code the translation file explains.
pub fn glossary(l: &Labels) -> Markup {
    let (tk, rest): (Vec<_>, Vec<_>) = l
        .codes()
        .partition(|(c, _)| c.starts_with("TK_") || c.starts_with("BC_"));
    let (duo, custom): (Vec<_>, Vec<_>) =
        rest.into_iter().partition(|(c, _)| c.starts_with("DUO:"));
    let table = |rows: Vec<(&String, &super::labels::Code)>| {
        html! {
            dl.codes { @for (c, k) in rows { dt id=(c) { (k.name) " " code.small { (c) } } dd { (k.meaning) } } }
        }
    };
    html! {
        h1 { (l.ui("glossary")) }
        p.lead { "Datasets and requests carry short codes. This is what each one means, in plain words." }
        section aria-labelledby="g-lc" {
            h2 #g-lc { "Labels from communities (Local Contexts)" }
            p { "Traditional Knowledge (TK) and Biocultural (BC) labels are set by communities to say how material about them should be treated. A dataset may also add the community's own words." }
            (table(tk))
        }
        section aria-labelledby="g-duo" {
            h2 #g-duo { "Kinds of use (GA4GH Data Use Ontology)" }
            p { "These codes say what a dataset may be used for, and what a request asks to do." }
            (table(duo))
        }
        @if !custom.is_empty() {
            section aria-labelledby="g-custom" {
                h2 #g-custom { "Other uses named on this node" }
                (table(custom))
            }
        }
        p.small { "These explanations live in one file that this node's governance boards can review and replace." }
    }
}
