//! A request's page: what was asked and why, the Five Safes, each board's
//! decision with every vote and reason, conditions, expiry, reports and
//! outputs, concerns and responses, and how to raise a concern.
//!
//! [`Event`] (one statement in a story, told in words) is shared with the
//! dataset and board pages.

use kaitiaki_governance::requests::{OutputStatus, ReportKind, ReportStatus};
use kaitiaki_governance::rules::{Outcome, Tally};
use kaitiaki_governance::RequestStatus;
use kaitiaki_protocol::statement::{ApprovalAction, Choice, Condition, RequestSubmit, UseCategory};
use kaitiaki_protocol::Timestamp;
use maud::{html, Markup};

use super::concern::{self, ConcernForm, ConcernThread};
use super::labels::{Labels, Section};
use super::layout::{check_link, date, date_beside, person, prose, status, Person};
use super::overview::{outcome_key, outcome_words};
use super::verify::{summary, RecordCheck};

/// What one statement said, in words a reader can follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// The request was made.
    Submitted,
    /// A board member voted.
    Vote {
        /// The board.
        body: String,
        /// What the vote is on: the request, a renewal of it, or a motion
        /// on its approval.
        on: VoteOn,
        /// Their choice.
        choice: Choice,
        /// Their reasons.
        reason: String,
        /// Conditions they set, in words.
        conditions: Vec<String>,
        /// Set when this vote decided the board's answer.
        decided: Option<Outcome>,
        /// Set when the same member voted again on the same question:
        /// only the latest vote counts.
        replaced: bool,
    },
    /// Someone asked a question.
    Question {
        /// The question.
        text: String,
    },
    /// The requester answered.
    Answer {
        /// The answer.
        text: String,
    },
    /// The requester withdrew.
    Withdrawn {
        /// Why.
        reason: String,
    },
    /// The requester asked for more time.
    Renewal {
        /// How many more days.
        days: u32,
        /// Why.
        reason: String,
        /// How the boards answered, once they have.
        outcome: Option<Outcome>,
        /// The days it added, once approved (fewer than asked when a
        /// board's conditions allow fewer).
        granted: Option<u32>,
    },
    /// A motion to suspend, reinstate or revoke.
    Motion {
        /// The board.
        body: String,
        /// What it proposes.
        action: ApprovalAction,
        /// Why.
        reason: String,
        /// The board's decision and when, once made.
        decision: Option<(Outcome, Timestamp)>,
        /// False when it was carried but changed nothing.
        changed: bool,
    },
    /// A use report.
    Report {
        /// Periodic or final.
        kind: ReportKind,
        /// What was done.
        summary: String,
        /// What came back to the community.
        benefit: String,
        /// Incidents, if any.
        incidents: Vec<String>,
    },
    /// A board reviewed a report.
    ReportReview {
        /// The board.
        body: String,
        /// Accepted or returned.
        accepted: bool,
        /// Why.
        reason: String,
    },
    /// An output was submitted.
    Output {
        /// Its title.
        title: String,
        /// Where it is, if public.
        link: Option<String>,
    },
    /// A board released or withheld an output.
    OutputReview {
        /// The board.
        body: String,
        /// Released or withheld.
        release: bool,
        /// Why.
        reason: String,
    },
    /// Someone raised a concern.
    Concern {
        /// The concern.
        text: String,
    },
    /// A board responded to a concern.
    ConcernResponse {
        /// The board.
        body: String,
        /// The response.
        text: String,
        /// Whether it closes the concern.
        resolved: bool,
    },
    /// A rāhui on one of the request's datasets held it up: its votes, or
    /// the access it was given.
    RahuiPaused {
        /// The board that placed it.
        body: String,
        /// The dataset's name.
        dataset: String,
        /// Why, in the board's words.
        reason: String,
        /// When it ends by itself, if it does.
        until: Option<Timestamp>,
        /// What it held up.
        held: Held,
        /// When it was placed, if that was before the request was made
        /// (then it held the votes up from the start).
        placed_before: Option<Timestamp>,
    },
    /// A rāhui that held the request up ended.
    RahuiEnded {
        /// The board that placed it.
        body: String,
        /// The dataset's name.
        dataset: String,
        /// Why the board lifted it; `None` when it ended on the date the
        /// board set.
        lifted: Option<String>,
        /// What may go on again, when the request still waited for its
        /// votes, or still had its access, when the rāhui ended.
        resumes: Option<Held>,
    },
    /// A confidential file was committed to, kept off the log.
    Attachment {
        /// What it is.
        description: String,
    },
    /// Anything else, by kind.
    Other {
        /// The statement kind.
        kind: String,
    },
}

/// What a rāhui held up: a request's votes, or its access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Held {
    /// The boards' votes on a request awaiting them.
    Votes,
    /// The use of the data an approval gave.
    Access,
}

/// One statement in a story.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The statement id.
    pub id: String,
    /// When it was recorded.
    pub at: Timestamp,
    /// Who signed it; `None` for what nobody signed (a rāhui that reached
    /// the end its board had set).
    pub who: Option<Person>,
    /// What it said.
    pub what: What,
    /// Why it does not count, if it does not.
    pub excluded: Option<String>,
}

/// One board's deliberation on the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyState {
    /// The board's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Open for community comment until, if a notice period applies.
    pub notice_until: Option<Timestamp>,
    /// The votes so far.
    pub tally: Tally,
    /// Its decision and when, once made.
    pub decision: Option<(Outcome, Timestamp)>,
    /// The renewals and motions it decides after the approval.
    pub later: Vec<super::body::FollowUp>,
}

/// One reason access to an approved request is paused, in names a reader
/// knows (governance's `query::SuspendedBy`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pause {
    /// A rāhui in force on a dataset of the request.
    Rahui {
        /// The `rahui.place` statement's id.
        id: String,
        /// The dataset: id and name.
        dataset: (String, String),
        /// The board that placed it: id and name.
        board: (String, String),
        /// Why, in the board's words.
        reason: String,
        /// When it was placed.
        since: Timestamp,
        /// When it ends by itself, if it does.
        until: Option<Timestamp>,
    },
    /// A board's motion to suspend the approval passed.
    Motion {
        /// The `approval.motion` statement's id.
        id: String,
        /// The board: id and name.
        board: (String, String),
        /// Why, in the words of the member who proposed it.
        reason: String,
        /// When the deciding vote was recorded.
        since: Timestamp,
    },
}

/// A report as it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportItem {
    /// The report's id.
    pub id: String,
    /// Periodic or final.
    pub kind: ReportKind,
    /// When it was filed.
    pub filed: Timestamp,
    /// Where it stands with the boards.
    pub status: ReportStatus,
    /// The due date it met, when it was filed after it.
    pub late_for: Option<Timestamp>,
    /// What was done with the data.
    pub summary: String,
    /// What came back to the community.
    pub benefit: String,
    /// Incidents reported.
    pub incidents: Vec<String>,
}

/// An output as it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputItem {
    /// The output's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Where it is, if public.
    pub link: Option<String>,
    /// Its content hash, hex.
    pub hash: String,
    /// Released, withheld or waiting for review.
    pub status: OutputStatus,
}

/// A dataset's permitted uses, and the uses a request asks for beyond them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnlistedUses {
    /// The dataset's id.
    pub dataset: String,
    /// Its name.
    pub name: String,
    /// The uses it lists as permitted.
    pub permitted: Vec<String>,
    /// The uses asked for that it does not list.
    pub asked: Vec<String>,
}

/// Everything a request's page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestView {
    /// Its id.
    pub id: String,
    /// What was asked, as signed.
    pub submit: RequestSubmit,
    /// Where it stands now, if it counts.
    pub status: Option<RequestStatus>,
    /// Why it does not count, if it does not.
    pub excluded: Option<String>,
    /// Who asked.
    pub requester: Person,
    /// When it was received.
    pub submitted: Timestamp,
    /// The datasets asked for: id and name.
    pub datasets: Vec<(String, String)>,
    /// Uses asked for that a dataset does not list among its permitted
    /// uses, per dataset that lists any: for the boards to weigh (codes are
    /// compared as written; a broader permitted use may cover a narrower
    /// one, which is the boards' call).
    pub unlisted_uses: Vec<UnlistedUses>,
    /// For a request that names no uses: each of its datasets that lists
    /// uses it never allows (id, name, those uses). Naming an excluded use
    /// is refused; naming none is not, so the boards are shown what to
    /// weigh the purpose against.
    pub unnamed_against: Vec<(String, String, Vec<String>)>,
    /// Each board's deliberation.
    pub bodies: Vec<BodyState>,
    /// Why access is paused now (the status is suspended), or why no
    /// board can vote now (the request awaits its decision); else empty.
    pub paused_by: Vec<Pause>,
    /// Conditions the boards set when they approved it, in words.
    pub conditions: Vec<String>,
    /// Conditions added since by approved renewals, each with the day the
    /// renewal was approved.
    pub renewal_conditions: Vec<(Timestamp, Vec<String>)>,
    /// When access began, once approved.
    pub approved_at: Option<Timestamp>,
    /// When access ends unless renewed.
    pub expires_at: Option<Timestamp>,
    /// Reports overdue now: kind and due date.
    pub overdue: Vec<(ReportKind, Timestamp)>,
    /// The next report to fall due, if the schedule asks for more.
    pub next_report: Option<(ReportKind, Timestamp)>,
    /// Reports filed.
    pub reports: Vec<ReportItem>,
    /// Outputs.
    pub outputs: Vec<OutputItem>,
    /// Everything that happened, in order.
    pub events: Vec<Event>,
    /// Concerns and their responses.
    pub concerns: Vec<ConcernThread>,
    /// The submission checked against the log.
    pub check: Option<RecordCheck>,
    /// What the concern form needs.
    pub form: ConcernForm,
}

/// What a vote is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VoteOn {
    /// The request itself.
    Request,
    /// The requester's renewal asking for this many more days.
    Renewal {
        /// The days asked for.
        days: u32,
    },
    /// A motion on the approval.
    Motion {
        /// What the motion proposes.
        action: ApprovalAction,
    },
    /// A proposed change to a board's charter.
    Amendment,
}

impl VoteOn {
    /// Where a decision of this kind leaves the request, if it says: an
    /// approved renewal leaves it approved, a carried motion to suspend
    /// leaves it suspended. A declined renewal or a rejected motion changes
    /// nothing, so says nothing.
    pub fn leaves(&self, o: Outcome) -> Option<RequestStatus> {
        match (self, o) {
            (VoteOn::Request | VoteOn::Renewal { .. }, Outcome::Approved) => {
                Some(RequestStatus::Approved)
            }
            (VoteOn::Request, Outcome::Declined) => Some(RequestStatus::Declined),
            (VoteOn::Motion { action }, Outcome::Approved) => Some(match action {
                ApprovalAction::Suspend => RequestStatus::Suspended,
                ApprovalAction::Reinstate => RequestStatus::Approved,
                ApprovalAction::Revoke => RequestStatus::Revoked,
            }),
            (VoteOn::Renewal { .. } | VoteOn::Motion { .. }, Outcome::Declined) => None,
            (VoteOn::Amendment, _) => None,
        }
    }
}

/// A motion's outcome in a word: "carried" or "rejected".
pub fn motion_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Approved => "carried",
        Outcome::Declined => "rejected",
    }
}

/// A decision as a coloured label: "Approved" or "Declined" for a request
/// or a renewal, "Carried" or "Rejected" for a motion.
pub fn decision_chip(l: &Labels, on: &VoteOn, o: Outcome) -> Markup {
    html! {
        span class={ "outcome o-" (outcome_key(o)) } {
            @match (on, o) {
                (VoteOn::Motion { .. }, Outcome::Approved) => { "Carried" }
                (VoteOn::Motion { .. }, Outcome::Declined) => { "Rejected" }
                _ => { (outcome_words(l, o)) }
            }
        }
    }
}

/// Why a carried motion changed nothing, in words that follow a colon.
pub fn no_change_why(on: &VoteOn) -> &'static str {
    match on {
        VoteOn::Motion {
            action: ApprovalAction::Suspend,
        } => "the board had already suspended the approval",
        VoteOn::Motion {
            action: ApprovalAction::Reinstate,
        } => "the board had not suspended the approval, and a board lifts only its own suspension",
        _ => "it was already so",
    }
}

/// What a decision was on, in words that follow the request's title:
/// nothing for the request itself.
pub fn decided_on(on: &VoteOn) -> String {
    match on {
        VoteOn::Request => String::new(),
        VoteOn::Renewal { days } => format!("the renewal for {days} more days"),
        VoteOn::Motion { action } => format!("the motion to {} the approval", action_verb(*action)),
        VoteOn::Amendment => "a change to the charter".to_owned(),
    }
}

/// A use by its name, linked to what it means, with its code; a code this
/// node has no words for is shown as it is.
fn use_name(l: &Labels, code: &str) -> Markup {
    html! {
        @match l.code(code) {
            Some(k) => { a href={ "/glossary#" (code) } { (k.name) } " " code.small { (code) } }
            None => { code { (code) } }
        }
    }
}

/// A motion's action as a verb: "suspend".
pub fn action_verb(action: ApprovalAction) -> &'static str {
    match action {
        ApprovalAction::Suspend => "suspend",
        ApprovalAction::Reinstate => "reinstate",
        ApprovalAction::Revoke => "revoke",
    }
}

/// A condition in plain words.
pub fn condition_words(c: &Condition) -> String {
    match c {
        Condition::ReportEvery { months: 1 } => {
            "Report back every month on how the data is used.".into()
        }
        Condition::ReportEvery { months } => {
            format!("Report back every {months} months on how the data is used.")
        }
        Condition::FinalReport => "Send a final report when the work ends.".into(),
        Condition::OutputsReviewed => {
            "The boards review every output before it is released.".into()
        }
        Condition::FindingsReturned => "Return the findings to the community.".into(),
        Condition::NoLinkage { with } => format!("Do not link this data with: {with}."),
        Condition::Acknowledge { who } => format!("Acknowledge {who} in every output."),
        // It caps the grant it was given with: the approval's days, or the
        // days a renewal adds.
        Condition::ExpiresAfterDays { days } => {
            format!("At most {days} days of access (for a renewal, at most {days} more days).")
        }
        Condition::Other { text } => text.clone(),
    }
}

fn use_key(c: UseCategory) -> &'static str {
    kaitiaki_governance::requests::category_name(c)
}

/// A vote's choice, as the pages show it.
pub fn choice_label(l: &Labels, c: Choice) -> Markup {
    html! { strong class={ "choice c-" (choice_key(c)) } { (l.bi(Section::Choice, choice_key(c))) } }
}

/// A tally in words: "2 approve · 0 decline · 0 abstain · 1 not voted".
pub fn tally_words(t: &Tally) -> String {
    format!(
        "{} approve · {} decline · {} abstain · {} not voted",
        t.approve, t.decline, t.abstain, t.not_voted
    )
}

fn choice_key(c: Choice) -> &'static str {
    match c {
        Choice::Approve => "approve",
        Choice::ApproveWithConditions => "approve_with_conditions",
        Choice::Decline => "decline",
        Choice::Abstain => "abstain",
    }
}

/// A sentence that says where the request stands.
fn status_sentence(v: &RequestView) -> Markup {
    let ends = |t: Option<Timestamp>| html! { @if let Some(t) = t { " Access ends on " (date(t)) " unless renewed." } };
    html! {
        @match v.status {
            Some(RequestStatus::Submitted) => { "No board has voted yet." }
            Some(RequestStatus::UnderReview) => { "The boards are deciding. Every board must approve before the data may be used." }
            Some(RequestStatus::Approved) => { "Every board approved. The data may be used, on the conditions below." (ends(v.expires_at)) }
            Some(RequestStatus::Declined) => { "A board declined this request, so the data may not be used." }
            Some(RequestStatus::Withdrawn) => { "The requester withdrew this request." }
            Some(RequestStatus::Suspended) if !v.paused_by.is_empty() => { "Access is paused, for the reasons below. The data may not be used until they end." }
            Some(RequestStatus::Suspended) => { "Access is paused: by a board's decision or a " span lang="mi" { "rāhui" } " on a dataset." }
            Some(RequestStatus::Revoked) => { "A board revoked the approval. The data may no longer be used." }
            Some(RequestStatus::Expired) => { "The approval has ended. The data may no longer be used." }
            Some(RequestStatus::Completed) => { "The work is finished and the final report was accepted." }
            Some(_) => { "See what has happened below." }
            None => { "This request does not count." }
        }
    }
}

/// What a board that has not decided a request is shown as, given where
/// the request stands: the same words on the request's page and on the
/// board's, from the board's side.
pub fn undecided(status: Option<RequestStatus>) -> &'static str {
    match status {
        Some(RequestStatus::Withdrawn) => "The request was withdrawn before this board decided.",
        Some(RequestStatus::Declined) => {
            "Another board declined the request before this board decided."
        }
        _ => "This board has not decided yet.",
    }
}

/// Why access is paused, or why no board can vote yet: each rāhui and each
/// suspension, with who, why and since when.
fn pauses(v: &RequestView) -> Markup {
    let heading = match v.status {
        Some(RequestStatus::Suspended) => "Why access is paused",
        Some(RequestStatus::Submitted | RequestStatus::UnderReview) => {
            "Why no board can vote on it now"
        }
        _ => return html! {},
    };
    html! {
        @if !v.paused_by.is_empty() {
            div.alert role="note" {
                p { strong { (heading) } }
                @if v.status != Some(RequestStatus::Suspended) {
                    p { "Votes on requests for a dataset under a " span lang="mi" { "rāhui" } " are refused until it ends or is lifted." }
                }
                ul.plain {
                    @for p in &v.paused_by {
                        @match p {
                            Pause::Rahui { id, dataset, board, reason, since, until } => li.rahui {
                                "A " span lang="mi" { "rāhui" } " on the dataset " a href={ "/datasets/" (dataset.0) } { (dataset.1) }
                                ", placed by " a href={ "/bodies/" (board.0) } { (board.1) } " on " (date(*since))
                                @match until { Some(u) => { ", until " (date(*u)) "." } None => { ", until the board lifts it." } }
                                blockquote { (prose(reason)) }
                                p.meta { (check_link(id)) }
                            },
                            Pause::Motion { id, board, reason, since } => li {
                                a href={ "/bodies/" (board.0) } { (board.1) } " voted to suspend the approval, on " (date(*since)) ", until it reinstates it."
                                blockquote { (prose(reason)) }
                                p.meta { (check_link(id)) }
                            },
                        }
                    }
                }
            }
        }
    }
}

/// The request page's main content.
pub fn render(l: &Labels, v: &RequestView) -> Markup {
    let s = &v.submit;
    html! {
        p.kicker { (l.ui("request")) }
        h1 { (s.title) }
        (summary(&v.check, &v.id))
        div.status-line {
            @if let Some(st) = v.status { (status(l, st)) " " }
            span { (status_sentence(v)) }
        }
        (pauses(v))
        @if let Some(e) = &v.excluded { p.warn { strong { "This request does not count: " } (e) } }
        @if !v.overdue.is_empty() {
            div.alert role="note" {
                p { strong { "Reports are overdue." } " The requester has not filed:" }
                ul { @for (k, due) in &v.overdue { li { (report_kind(*k)) " report, due " (date(*due)) } } }
            }
        }
        dl.facts {
            dt { (l.ui("researcher")) } dd {
                (person(&v.requester))
                @if !v.requester.key.is_empty() {
                    br; span.small { "Key " code.hash { (v.requester.key) } " · "
                        a href={ "/requests?requester=" (v.requester.key) } { "Every request made with this key" } }
                }
            }
            dt { "Received" } dd { (date(v.submitted)) }
            dt { (l.ui("datasets")) } dd { ul.plain { @for (id, name) in &v.datasets { li { a href={ "/datasets/" (id) } { (name) } } } } }
            dt { "Kind of use" } dd { (l.bi(Section::UseCategory, use_key(s.use_category))) }
            dt { "Time asked for" } dd { (s.duration_days) " days" }
            @if s.uses.is_empty() && !v.unnamed_against.is_empty() { dt { "Uses asked for" } dd {
                p.unlisted { "None named, so nothing was checked against the uses its datasets never allow. The boards weigh its purpose against them:" }
                ul.plain.small { @for (id, name, excluded) in &v.unnamed_against { li {
                    a href={ "/datasets/" (id) } { (name) } " never allows "
                    @for (i, u) in excluded.iter().enumerate() {
                        @if i > 0 { ", " }
                        (use_name(l, u))
                    }
                    "."
                } } }
            } }
            @if !s.uses.is_empty() { dt { "Uses asked for" } dd {
                ul.plain { @for u in &s.uses { li { (use_name(l, u)) } } }
                @for u in &v.unlisted_uses {
                    p.small.unlisted {
                        a href={ "/datasets/" (u.dataset) } { (u.name) } " lists its permitted uses as "
                        (u.permitted.join(", ")) "; this request also asks for " strong { (u.asked.join(", ")) }
                        ". The boards decide whether to allow that."
                    }
                }
            } }
        }
        section aria-labelledby="purpose" {
            h2 #purpose { (l.ui("purpose")) }
            (prose(&s.purpose))
            h3 { "Expected benefit to the community" }
            (prose(&s.community_benefit))
        }
        section.card aria-labelledby="safes" {
            h2 #safes { (l.ui("five_safes")) }
            dl.safes {
                dt { "Safe people: who will see the data" } dd { (prose(&s.people)) }
                // The purpose is the section just above: point to it rather
                // than repeat it.
                dt { "Safe project: why" } dd {
                    p { a href="#purpose" { "The purpose above" } ": "
                        (l.bi(Section::UseCategory, use_key(s.use_category))) ", for " (s.duration_days) " days." }
                }
                dt { "Safe setting: where it is used" } dd { (prose(&s.setting)) }
                dt { "Safe data: linked with other data?" } dd { (prose(&s.linkage)) }
                dt { "Safe outputs: what is released, and how it is checked" } dd { (prose(&s.outputs_plan)) }
            }
        }
        section aria-labelledby="decisions" {
            h2 #decisions { (l.ui("decisions")) }
            ul.cards {
                @for b in &v.bodies {
                    li.card {
                        h3 { a href={ "/bodies/" (b.id) } { (b.name) } }
                        @match b.decision {
                            Some((o, at)) => p { span class={ "outcome o-" (outcome_key(o)) } { (outcome_words(l, o)) } " on " (date(at)) },
                            None => p { (undecided(v.status))
                                @if let (Some(n), Some(RequestStatus::Submitted | RequestStatus::UnderReview)) = (b.notice_until, v.status) {
                                    " Open for community comment until " (date(n)) "."
                                } },
                        }
                        p.meta { (tally_words(&b.tally)) }
                        (super::body::follow_up_lines(l, &b.later))
                    }
                }
            }
            @if !v.conditions.is_empty() || !v.renewal_conditions.is_empty() {
                h3 { (l.ui("conditions")) }
                @if !v.conditions.is_empty() { ul { @for c in &v.conditions { li { (c) } } } }
                @for (at, added) in &v.renewal_conditions {
                    p { "Added when a renewal was approved, on " (date(*at)) ":" }
                    ul { @for c in added { li { (c) } } }
                }
            }
            @if let Some(a) = v.approved_at {
                // Only access still in force can be renewed (a completed,
                // revoked or expired request cannot be brought back so).
                p { "Approved on " (date(a)) "."
                    @match (v.status, v.expires_at) {
                        (Some(RequestStatus::Approved | RequestStatus::Suspended), Some(e)) => { " Access ends on " (date(e)) " unless renewed." }
                        (Some(RequestStatus::Expired), Some(e)) => { " Access ended on " (date(e)) "." }
                        _ => {}
                    }
                }
            }
        }
        // Reports and outputs are owed only once access is given: a request
        // never approved has none due, and the page says so rather than
        // "none yet".
        @let never_approved = v.approved_at.is_none() && v.reports.is_empty() && v.outputs.is_empty();
        section aria-labelledby="reports" {
            h2 #reports { (l.ui("reports")) }
            @if never_approved {
                @if matches!(v.status, Some(RequestStatus::Submitted | RequestStatus::UnderReview)) {
                    p { "No access to the data has been given yet, so no use reports or outputs are due yet." }
                } @else {
                    p { "No access to the data was given, so no use reports or outputs are due." }
                }
            } @else if v.reports.is_empty() { p { "No use reports have been filed yet." } }
            // With a report overdue, the next due date is the one after it.
            @for (k, due) in &v.overdue {
                p.next-report { (report_kind(*k)) " report " strong { "overdue" } " since " (date(*due)) "." }
            }
            @if let Some((k, due)) = v.next_report {
                p.next-report {
                    (report_kind(k)) " report " @if !v.overdue.is_empty() { "due after that on " } @else { "next due on " }
                    strong { (date(due)) } "."
                }
            }
            @for r in &v.reports {
                article.card {
                    h3 { (report_kind(r.kind)) " report, " (date(r.filed)) }
                    @if let Some(due) = r.late_for {
                        p.warn { "Filed late: it was due " (date_beside(due, r.filed)) "." }
                    }
                    p.meta { (report_status(r.status)) " · " (check_link(&r.id)) }
                    (prose(&r.summary))
                    h4 { "What came back to the community" }
                    (prose(&r.benefit))
                    @if !r.incidents.is_empty() { h4 { "Incidents reported" } ul { @for i in &r.incidents { li { (i) } } } }
                }
            }
            @if !never_approved {
                h3 { (l.ui("outputs")) }
                @if v.outputs.is_empty() {
                    p { "No outputs yet." }
                } @else {
                    ul.plain {
                        @for o in &v.outputs {
                            li {
                                strong { (o.title) } " · " (output_status(o.status))
                                @if let Some(link) = &o.link { " · " a href=(link) rel="nofollow" { "where to find it" } }
                                br; span.meta { "Content hash " code.hash { (o.hash) } " · " (check_link(&o.id)) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="timeline" {
            h2 #timeline { (l.ui("timeline")) }
            (event_list(l, &v.events))
        }
        (concern::section(l, ("request", &v.id), &v.concerns, &v.form))
    }
}

fn report_kind(k: ReportKind) -> &'static str {
    match k {
        ReportKind::Periodic => "Regular",
        ReportKind::Final => "Final",
    }
}

fn report_status(s: ReportStatus) -> &'static str {
    match s {
        ReportStatus::Received => "Received; not yet accepted by every board",
        ReportStatus::Accepted => "Accepted by the boards",
        ReportStatus::Returned => "Returned by a board for more detail",
    }
}

fn output_status(s: OutputStatus) -> &'static str {
    match s {
        OutputStatus::PendingReview => "waiting for the boards' review",
        OutputStatus::Released => "released",
        OutputStatus::Withheld => "withheld by a board",
    }
}

/// A story as an ordered list, each entry with who, when, what and a link
/// to check it.
pub fn event_list(l: &Labels, events: &[Event]) -> Markup {
    html! {
        @if events.is_empty() { p { "Nothing yet." } }
        ol.timeline {
            @for e in events {
                li class=@if e.excluded.is_some() { "excluded" } {
                    p.meta { (date(e.at)) " · " @if let Some(who) = &e.who { (person(who)) " · " } (check_link(&e.id)) }
                    (what(l, &e.what, e.excluded.is_none()))
                    @if let Some(x) = &e.excluded { p.warn { "This does not count: " (x) } }
                }
            }
        }
    }
}

/// An event's content. `counts` is false for a statement the rules left
/// out: then nothing is said of a decision it never had.
fn what(l: &Labels, w: &What, counts: bool) -> Markup {
    html! {
        @match w {
            What::Submitted => p { strong { "Asked for access." } },
            What::Vote { body, on, choice, reason, conditions, decided, replaced } => {
                p { "Voted " (choice_label(l, *choice)) " for " (body)
                    @match on {
                        VoteOn::Request => {},
                        VoteOn::Renewal { days } => { " on the requester's renewal, asking for " (days) " more days" },
                        VoteOn::Motion { action } => { " on the motion to " (action_verb(*action)) " the approval" },
                        VoteOn::Amendment => { " on a change to its charter" },
                    }
                    "." }
                @if *replaced { p.small.replaced { "Replaced by this member's later vote: only a member's latest vote counts." } }
                blockquote { (prose(reason)) }
                @if !conditions.is_empty() { p { "Conditions:" } ul { @for c in conditions { li { (c) } } } }
                @if let Some(o) = decided {
                    p.decided {
                        @match on {
                            VoteOn::Request => { "This vote decided " (body) "'s answer: " }
                            VoteOn::Renewal { .. } => { "This vote decided " (body) "'s answer to the renewal: " }
                            VoteOn::Motion { .. } => { "This vote decided the motion: " }
                            VoteOn::Amendment => { "This vote decided the change: " }
                        }
                        span class={ "outcome o-" (outcome_key(*o)) } {
                            @match on {
                                VoteOn::Motion { .. } => { (motion_word(*o)) }
                                _ => { (outcome_words(l, *o)) }
                            }
                        }
                    }
                }
            }
            What::Question { text } => { p { strong { "Asked a question:" } } blockquote { (prose(text)) } }
            What::Answer { text } => { p { strong { "Answered:" } } blockquote { (prose(text)) } }
            What::Withdrawn { reason } => { p { strong { "Withdrew the request." } } blockquote { (prose(reason)) } }
            What::Renewal { days, reason, outcome, granted } => {
                p { strong { "Asked for " (days) " more days." } }
                blockquote { (prose(reason)) }
                @if counts { @match outcome {
                    Some(Outcome::Approved) => { p.decided { "Every board approved the renewal"
                        @match granted {
                            Some(g) if g < days => { ", for " (g) " more days of access: a board's conditions allow no more." }
                            _ => { "." }
                        }
                    } }
                    Some(Outcome::Declined) => { p.decided { "A board declined the renewal." } }
                    None => { p { "The boards have not decided the renewal yet." } }
                } }
            }
            What::Motion { body, action, reason, decision, changed } => {
                p { strong { "Proposed that " (body) " " (action_verb(*action)) " the approval." } }
                blockquote { (prose(reason)) }
                @if counts { @match decision {
                    Some((Outcome::Approved, at)) if !changed => { p.decided { "The board carried the motion on " (date(*at)) ", but it changed nothing: " (no_change_why(&VoteOn::Motion { action: *action })) "." } }
                    Some((Outcome::Approved, at)) => { p.decided { "The board carried the motion on " (date(*at)) ": it decided to " (action_verb(*action)) " the approval." } }
                    Some((Outcome::Declined, at)) => { p.decided { "The board rejected the motion on " (date(*at)) "." } }
                    None => { p { "The board has not decided the motion yet." } }
                } }
            }
            What::Report { kind, summary, .. } => { p { strong { "Filed a " (report_kind(*kind).to_lowercase()) " use report." } } blockquote { (prose(summary)) } }
            What::ReportReview { body, accepted, reason } => {
                p { strong { (body) @if *accepted { " accepted the report." } @else { " returned the report for more detail." } } }
                blockquote { (prose(reason)) }
            }
            What::Output { title, .. } => p { strong { "Submitted an output: " } (title) },
            What::OutputReview { body, release, reason } => {
                p { strong { (body) @if *release { " released the output." } @else { " withheld the output." } } }
                blockquote { (prose(reason)) }
            }
            What::Concern { text } => { p { strong { "Raised a concern:" } } blockquote { (prose(text)) } }
            What::ConcernResponse { body, text, resolved } => {
                // Resolved for this board: the concern stays open until
                // every board it concerns has resolved it.
                p { strong { (body) " responded" @if *resolved { " and considers the concern resolved" } ":" } }
                blockquote { (prose(text)) }
            }
            What::RahuiPaused { body, dataset, reason, until, held, placed_before } => {
                p { strong {
                    @match placed_before {
                        Some(t) => { (l.english(&format!("A rāhui that {body} placed on {dataset}"))) ", on " (date(*t)) ", was in force when this request was made." }
                        None => { (l.english(&format!("{body} placed a rāhui on {dataset}."))) }
                    }
                } }
                p {
                    @match held {
                        Held::Votes => { "No board's vote on this request counts while it is in force." }
                        Held::Access => { "Access to the data was paused: it may not be used while the " (l.english("rāhui")) " is in force." }
                    }
                    @match until { Some(u) => { " It was placed until " (date(*u)) "." } None => { " It was placed until the board lifts it." } }
                }
                blockquote { (prose(reason)) }
            }
            What::RahuiEnded { body, dataset, lifted, resumes } => {
                p { strong {
                    @match lifted {
                        Some(_) => { (l.english(&format!("{body} lifted the rāhui on {dataset}."))) }
                        None => { (l.english(&format!("The rāhui on {dataset} ended, on the date {body} had set."))) }
                    }
                } }
                @if let Some(why) = lifted.as_ref().filter(|w| !w.trim().is_empty()) { blockquote { (prose(why)) } }
                @match resumes {
                    Some(Held::Votes) => { p { "Votes on this request can count again." } }
                    Some(Held::Access) => { p { "Access could resume, unless something else still pauses it." } }
                    None => {}
                }
            }
            What::Attachment { description } => p { strong { "Added a confidential document, kept off the public record: " } (description) },
            What::Other { kind } => p { "Recorded a " code { (kind) } " statement." },
        }
    }
}
