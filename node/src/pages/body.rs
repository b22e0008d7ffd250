//! A governance board's page: its charter, members, decision rule in plain
//! words, the datasets it governs, the rāhui it placed, and the decisions
//! it has made.

use kaitiaki_governance::rules::{Outcome, Tally};
use kaitiaki_governance::RequestStatus;
use kaitiaki_protocol::statement::{Choice, DecisionRule};
use kaitiaki_protocol::Timestamp;
use maud::{html, Markup};

use super::labels::Labels;
use super::layout::{check_link, counted, date, date_beside, pager, person, prose, status, Person};
use super::overview::{outcome_key, outcome_words, BodyCard};
use super::request::{
    choice_label, decided_on, decision_chip, no_change_why, tally_words, undecided, VoteOn,
};
use super::verify::{summary, RecordCheck};

/// A request this board decides, with its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyDecision {
    /// The request's id.
    pub request: String,
    /// Its title.
    pub title: String,
    /// Who asked.
    pub requester: Person,
    /// When it was received.
    pub submitted: Timestamp,
    /// Where it stands overall.
    pub status: RequestStatus,
    /// This board's decision and when, once made.
    pub decision: Option<(Outcome, Timestamp)>,
    /// Renewals of the approval and motions about it that this board
    /// decides, in the order they were filed.
    pub later: Vec<FollowUp>,
}

/// A renewal or a motion that a board decides after approving a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowUp {
    /// A renewal or a motion.
    pub on: VoteOn,
    /// When it was filed or proposed.
    pub filed: Timestamp,
    /// This board's decision and when, once made.
    pub decision: Option<(Outcome, Timestamp)>,
    /// For a renewal this board approved for fewer days than asked: the
    /// days it allows.
    pub granted: Option<u32>,
    /// False for a carried motion that changed nothing.
    pub changed: bool,
}

/// One line for each renewal or motion a board decides after approving:
/// what it is, when it was filed, and the board's decision.
pub fn follow_up_lines(l: &Labels, later: &[FollowUp]) -> Markup {
    html! {
        @for f in later {
            p { "On " (decided_on(&f.on)) " (" (date(f.filed)) "): "
                @match f.decision {
                    Some((o, at)) => {
                        (decision_chip(l, &f.on, o))
                        @if let Some(g) = f.granted { ", for " (g) " of them," }
                        " on " (date(at))
                        @if !f.changed { ", which changed nothing: " (no_change_why(&f.on)) }
                        "."
                    }
                    None => { "not decided yet." }
                }
            }
        }
    }
}

/// An amendment of the board's charter, as its page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AmendmentItem {
    /// The `body.amend` statement's id.
    pub id: String,
    /// Who proposed it.
    pub proposer: Person,
    /// When it was proposed.
    pub proposed: Timestamp,
    /// What it changes, each in a sentence (empty when this node does not
    /// hold the statement's text).
    pub changes: Vec<String>,
    /// Why, in the proposer's words.
    pub reason: String,
    /// The board's decision and when, once made.
    pub decision: Option<(Outcome, Timestamp)>,
    /// The tally after the latest counted vote.
    pub tally: Tally,
    /// The votes on it, in log order.
    pub votes: Vec<AmendmentVote>,
}

/// A member's vote on a charter amendment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AmendmentVote {
    /// Who voted.
    pub who: Person,
    /// How.
    pub choice: Choice,
    /// Why, in their words.
    pub reason: String,
    /// When it was recorded.
    pub at: Timestamp,
    /// Why the rules left it out, if they did.
    pub excluded: Option<String>,
    /// Whether this vote decided the amendment.
    pub decided: bool,
}

/// Something waiting for the board's vote, as its page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitingLine {
    /// Where to read it: the request's page, or the charter changes.
    pub href: String,
    /// What it is, in words ("The request", "A renewal, for 60 more days,
    /// of").
    pub what: String,
    /// The request's title, or empty for a charter change.
    pub title: String,
    /// When it was received, asked for or proposed.
    pub since: Timestamp,
    /// Why no vote can count yet, if so (a notice period, a rāhui).
    pub note: Option<WaitNote>,
}

/// Why no vote on something waiting can count yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitNote {
    /// A rāhui on one of its datasets pauses the votes.
    Paused,
    /// It is open for community comment until then.
    CommentUntil(Timestamp),
}

/// A [`WaitNote`] in words, its te reo Māori words marked and its date a
/// `<time>`.
fn wait_note(l: &Labels, n: &WaitNote) -> Markup {
    html! {
        @match n {
            WaitNote::Paused => { (l.english("votes paused by a rāhui")) }
            WaitNote::CommentUntil(t) => { "open for community comment until " (date(*t)) }
        }
    }
}

/// A rāhui a board placed, as its page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacedRahui {
    /// The `rahui.place` statement's id.
    pub id: String,
    /// The dataset: id and name.
    pub dataset: (String, String),
    /// When it was placed.
    pub placed: Timestamp,
    /// When it ends by itself, if it does.
    pub until: Option<Timestamp>,
    /// Why, in the board's words.
    pub reason: String,
    /// Whether it is still in force, and if not, how it ended.
    pub state: RahuiState,
}

/// Whether a rāhui is in force, or how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RahuiState {
    /// In force now.
    InForce,
    /// The board lifted it.
    Lifted {
        /// The `rahui.lift` statement's id.
        id: String,
        /// When.
        at: Timestamp,
        /// Why, in the board's words.
        reason: String,
    },
    /// It reached the end the board set for it.
    Ended {
        /// That end.
        at: Timestamp,
    },
}

/// Everything a board's page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Who it speaks for, as its charter says.
    pub description: String,
    /// The log where its decisions must be recorded.
    pub home_log: String,
    /// When it was founded.
    pub founded: Option<Timestamp>,
    /// Whether its charter counts.
    pub valid: bool,
    /// Members now, with their roles.
    pub members: Vec<(Person, String)>,
    /// Its decision rule now.
    pub rule: Option<DecisionRule>,
    /// Days a request stays open for comment before votes can decide it.
    pub notice_days: u32,
    /// Amendments of its charter proposed so far, oldest first.
    pub amendments: Vec<AmendmentItem>,
    /// Datasets it governs: id and name.
    pub datasets: Vec<(String, String)>,
    /// Rāhui it placed: those in force, newest first, then those lifted
    /// or ended, newest first; at most a page of them.
    pub rahui: Vec<PlacedRahui>,
    /// Whether it placed more than [`BodyView::rahui`] holds, or governs
    /// more datasets than were read for them.
    pub more_rahui: bool,
    /// What waits for its vote now, oldest first within each kind.
    pub waiting: Vec<WaitingLine>,
    /// Whether the board has more requests than the list reads (see
    /// `kaitiaki_governance::lists::WAITING_MAX`), so newer ones may wait too.
    pub more_waiting: bool,
    /// This page of requests it decides, oldest first.
    pub decisions: Vec<BodyDecision>,
    /// The cursor this page started after.
    pub after: Option<String>,
    /// The next page's cursor.
    pub next: Option<String>,
    /// The charter checked against the log.
    pub check: Option<RecordCheck>,
}

/// A decision rule in plain words, for a board of `members` members (when
/// the count is not known, as for a rule an amendment proposes, the words
/// leave it out).
pub fn rule_words(rule: &DecisionRule, members: Option<usize>) -> String {
    match rule {
        DecisionRule::Threshold { k } => format!(
            "A request is approved once {k}{} members approve it. It is declined as soon as {k} approvals can no longer be reached.",
            members.map(|n| format!(" of the {n}")).unwrap_or_default()
        ),
        DecisionRule::Majority { quorum } => format!(
            "At least {quorum} members must vote (standing aside counts towards this). The request is approved if more members approve than decline, and declined otherwise."
        ),
        DecisionRule::Consensus { quorum } => format!(
            "At least {quorum} members must vote, and the request is approved only if nobody declines: one decline is enough to say no."
        ),
    }
}

/// A notice period in plain words.
pub fn notice_words(days: u32) -> String {
    match days {
        0 => "Requests do not wait for community comment before votes can decide them.".into(),
        d => format!("Every request stays open for community comment for {d} days before votes can decide it."),
    }
}

/// What became of a charter change, in a word: approved, declined, or
/// still only proposed.
fn amendment_state(a: &AmendmentItem) -> &'static str {
    match a.decision {
        Some((Outcome::Approved, _)) => "approved",
        Some((Outcome::Declined, _)) => "declined",
        None => "proposed",
    }
}

/// The charter changes counted by what became of them: "1 approved
/// change", "2 approved changes and 1 proposed change".
fn amendment_counts(amendments: &[AmendmentItem]) -> String {
    let parts: Vec<String> = ["approved", "declined", "proposed"]
        .into_iter()
        .filter_map(|state| {
            let n = amendments
                .iter()
                .filter(|a| amendment_state(a) == state)
                .count();
            (n > 0).then(|| counted(n, &format!("{state} change"), &format!("{state} changes")))
        })
        .collect();
    match parts.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The heading over the charter changes: what they all are, when they
/// are all one thing; else neutral, as each says what became of it and
/// the count above says how many of each.
fn amendment_heading(amendments: &[AmendmentItem]) -> &'static str {
    let first = amendments.first().map(amendment_state);
    if amendments.iter().all(|a| Some(amendment_state(a)) == first) {
        match first {
            Some("approved") => "Approved changes to the charter",
            Some("declined") => "Declined changes to the charter",
            _ => "Proposed changes to the charter",
        }
    } else {
        "Changes to the charter"
    }
}

/// `/bodies`: one page of every governance board this node knows.
pub fn list(l: &Labels, items: &[BodyCard], after: Option<&str>, next: Option<&str>) -> Markup {
    html! {
        h1 { (l.ui("bodies")) }
        @if items.is_empty() {
            p { "No governance board has a charter here yet." }
        } @else {
            ul.cards {
                @for b in items {
                    li.card {
                        h2.h3 { a href={ "/bodies/" (b.id) } { (b.name) } }
                        (super::overview::card_meta(b))
                    }
                }
            }
        }
        (pager(l, "/bodies", "", after, next))
    }
}

/// One rāhui a board placed: on which dataset, since and until when, why,
/// and, once it is over, when and why it was lifted.
fn placed_rahui(l: &Labels, r: &PlacedRahui) -> Markup {
    rahui_line(
        l,
        r,
        html! { "On " a href={ "/datasets/" (r.dataset.0) } { (r.dataset.1) } },
    )
}

/// A rāhui as [`placed_rahui`] tells it, led by `lead` (which dataset, on a
/// board's page; which board, on a dataset's).
pub(super) fn rahui_line(l: &Labels, r: &PlacedRahui, lead: Markup) -> Markup {
    html! {
        li.rahui {
            @let end = match (&r.state, r.until) {
                (RahuiState::Lifted { at, .. }, _) | (RahuiState::Ended { at }, _) => Some(*at),
                (RahuiState::InForce, until) => until,
            };
            (lead) ", placed on "
            @match end { Some(e) => (date_beside(r.placed, e)), None => (date(r.placed)) }
            @match (&r.state, r.until) {
                (RahuiState::InForce, Some(u)) => { ", until " (date_beside(u, r.placed)) "." }
                (RahuiState::InForce, None) => { ", until the board lifts it." }
                (RahuiState::Lifted { at, .. }, _) => { "; lifted on " (date_beside(*at, r.placed)) "." }
                (RahuiState::Ended { at }, _) => { "; ended on " (date_beside(*at, r.placed)) ", as the board had set." }
            }
            blockquote { (prose(&r.reason)) }
            @if let RahuiState::Lifted { reason, .. } = &r.state {
                @if !reason.trim().is_empty() {
                    p { (l.english("Why the rāhui was lifted:")) }
                    blockquote { (prose(reason)) }
                }
            }
            p.meta {
                (check_link(&r.id))
                @if let RahuiState::Lifted { id, .. } = &r.state { " · the lifting: " (check_link(id)) }
            }
        }
    }
}

/// The rāhui a board placed: those in force, then those lifted or ended.
fn rahui_section(l: &Labels, rahui: &[PlacedRahui], more: bool) -> Markup {
    let (now, past): (Vec<&PlacedRahui>, Vec<&PlacedRahui>) =
        rahui.iter().partition(|r| r.state == RahuiState::InForce);
    html! {
        section aria-labelledby="rahui" {
            h2 #rahui { (l.ui("rahui_placed")) }
            @if rahui.is_empty() {
                p { (l.english("This board has not placed a rāhui.")) }
            } @else {
                p { (l.english("While a rāhui is in force on a dataset, no board can approve a request for it, and approved uses of it are paused.")) }
                @if !now.is_empty() {
                    h3 { "In force now" }
                    ul.plain { @for r in &now { (placed_rahui(l, r)) } }
                }
                @if !past.is_empty() {
                    h3 { "Lifted or ended" }
                    ul.plain { @for r in &past { (placed_rahui(l, r)) } }
                }
                @if more { p.small { (l.english("This board has placed more rāhui than this page lists: each dataset's page shows those on it.")) } }
            }
        }
    }
}

/// The board page's main content.
pub fn render(l: &Labels, v: &BodyView) -> Markup {
    html! {
        p.kicker { (l.ui("body")) }
        h1 { (v.name) }
        (summary(&v.check, &v.id))
        @if !v.valid { p.warn { "This charter does not count: the rules of the log left it out, so this board cannot decide anything." } }
        section aria-labelledby="charter" {
            h2 #charter { (l.ui("charter")) }
            (prose(&v.description))
            dl.facts {
                @if let Some(f) = v.founded { dt { "Founded" } dd { (date(f)) } }
                dt { "Its decisions are recorded on" } dd { code { (v.home_log) } }
                dt { "Charter changes" } dd { @if v.amendments.is_empty() { "None proposed" } @else { a href="#amendments" { (amendment_counts(&v.amendments)) } ", each decided by the board's own rule" } }
            }
            @if !v.amendments.is_empty() {
                h3 #amendments { (amendment_heading(&v.amendments)) }
                ol.timeline.amendments {
                    @for a in &v.amendments {
                        li {
                            p.meta { (date(a.proposed)) " · proposed by " (person(&a.proposer)) " · " (check_link(&a.id)) }
                            @if !a.changes.is_empty() { ul { @for c in &a.changes { li { (c) } } } }
                            @if !a.reason.is_empty() { blockquote { (prose(&a.reason)) } }
                            @match a.decision {
                                Some((o, at)) => p { "The board: " span class={ "outcome o-" (outcome_key(o)) } { (outcome_words(l, o)) } " on " (date(at)) "." },
                                None => p { "Not decided yet: the board votes on it by its rule." },
                            }
                            @if !a.votes.is_empty() {
                                p.meta { (tally_words(&a.tally)) }
                                ul.votes {
                                    @for vote in &a.votes {
                                        li {
                                            (person(&vote.who)) " voted " (choice_label(l, vote.choice)) ", " (date(vote.at))
                                            @if vote.decided { " (the deciding vote)" }
                                            @if let Some(why) = &vote.excluded { " — not counted: " (why) }
                                            "."
                                            @if !vote.reason.is_empty() { blockquote { (prose(&vote.reason)) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        div.grid {
            section.card aria-labelledby="rule" {
                h2 #rule { (l.ui("decision_rule")) }
                @if let Some(r) = &v.rule { p { (rule_words(r, Some(v.members.len()))) } }
                @if v.notice_days > 0 { p { (notice_words(v.notice_days)) } }
                p.small { "The board changes this rule, and its members, only by its own rule." }
            }
            section.card aria-labelledby="members" {
                h2 #members { (l.ui("members")) }
                ul.plain { @for (p, role) in &v.members { li { (person(p)) " — " (role) } } }
            }
        }
        section aria-labelledby="datasets" {
            h2 #datasets { (l.ui("datasets")) }
            @if v.datasets.is_empty() {
                p { "This board governs no datasets yet." }
            } @else {
                ul.plain { @for (id, name) in &v.datasets { li { a href={ "/datasets/" (id) } { (name) } } } }
            }
        }
        (rahui_section(l, &v.rahui, v.more_rahui))
        section aria-labelledby="waiting" {
            h2 #waiting { "Waiting for the board's vote" }
            @if v.waiting.is_empty() {
                p { "Nothing waits for this board's vote." }
            } @else {
                ul.plain {
                    @for w in &v.waiting {
                        li {
                            (w.what) " "
                            a href=(w.href) { @if w.title.is_empty() { "(see the proposed changes)" } @else { (w.title) } }
                            br;
                            span.meta { "since " (date(w.since)) @if let Some(n) = &w.note { " · " (wait_note(l, n)) } }
                        }
                    }
                }
                @if v.more_waiting { p.small { "This board has more requests than this list reads (the oldest 10,000): newer ones may wait too." } }
            }
        }
        section aria-labelledby="decided" {
            h2 #decided { (l.ui("decisions")) }
            p { "Every request this board must decide, oldest first. "
                a href={ "/bodies/" (v.id) "/feed.atom" } { (l.text("feed")) } }
            @if v.decisions.is_empty() { p { "No requests have come to this board yet." } } @else { ol.timeline {
                @for d in &v.decisions {
                    li {
                        article.request {
                            h3 { a href={ "/requests/" (d.request) } { (d.title) } }
                            p.meta { (date(d.submitted)) " · " (person(&d.requester)) " · " (status(l, d.status)) }
                            @match d.decision {
                                Some((o, at)) => p { "This board: " span class={ "outcome o-" (outcome_key(o)) } { (outcome_words(l, o)) } " on " (date(at)) },
                                None => p { (undecided(Some(d.status))) },
                            }
                            (follow_up_lines(l, &d.later))
                        }
                    }
                }
            } }
            (pager(l, &format!("/bodies/{}", v.id), "", v.after.as_deref(), v.next.as_deref()))
        }
    }
}
