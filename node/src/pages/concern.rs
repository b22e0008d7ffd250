//! Concerns on a request's page: the ones raised and the boards'
//! responses, and how anyone can raise one.
//!
//! A concern is a signed statement like every other record, so the page
//! explains, before anything is sent, exactly what is signed, by which key,
//! and what becomes public. With JavaScript off it gives the
//! `kaitiaki concern raise` command. With JavaScript on, and only if the
//! browser can make Ed25519 signatures itself (WebCrypto), a small script
//! (`/assets/concern.js`) shows a form that makes a new key in the page,
//! signs the concern with it and sends it; otherwise the explanation stays.

use kaitiaki_protocol::Timestamp;
use maud::{html, Markup};
use serde_json::json;

use super::labels::Labels;
use super::layout::{check_link, contact, date, json_script, person, prose, Person};

/// What the form needs to sign a concern for this node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConcernForm {
    /// The network the statement must be signed for.
    pub network: String,
    /// This node's address, for the command.
    pub base_url: String,
    /// How to reach the people who run this node for help, if its
    /// operator said (`[pages] contact`).
    pub contact: Option<String>,
}

/// A board's response to a concern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseItem {
    /// The response's id.
    pub id: String,
    /// The board.
    pub body: String,
    /// The member who wrote it.
    pub who: Person,
    /// When.
    pub at: Timestamp,
    /// The response.
    pub text: String,
    /// Whether it closed the concern.
    pub resolved: bool,
    /// Why it does not count, if it does not.
    pub excluded: Option<String>,
}

/// A concern and its responses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConcernThread {
    /// The concern's id.
    pub id: String,
    /// Who raised it.
    pub who: Person,
    /// When.
    pub at: Timestamp,
    /// The concern.
    pub text: String,
    /// The responses, in order.
    pub responses: Vec<ResponseItem>,
    /// The boards that may respond whose latest response does not yet say
    /// it is resolved. It is resolved once this is empty.
    pub awaiting: Vec<String>,
}

impl ConcernThread {
    /// Whether every board that may respond has resolved it.
    pub fn resolved(&self) -> bool {
        self.awaiting.is_empty()
    }

    /// Its state in words: resolved, or open and, once some board has
    /// resolved it, which boards it still waits for.
    fn state(&self) -> Markup {
        let some_resolved = self
            .responses
            .iter()
            .any(|r| r.resolved && r.excluded.is_none());
        html! {
            @if self.resolved() { strong { "Resolved" } }
            @else if some_resolved { strong { "Open" } ": waiting for " (self.awaiting.join(" and ")) " to resolve it too" }
            @else { strong { "Open" } }
        }
    }
}

/// What a concern is about: a request or a dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    /// Its page.
    pub href: String,
    /// Its title or name.
    pub name: String,
    /// `request` or `dataset`.
    pub kind: &'static str,
}

/// A concern as the page of its record, or of a response to it, shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConcernRecordView {
    /// The concern, with who raised it, when, and the responses.
    pub thread: ConcernThread,
    /// What it is about.
    pub subject: Subject,
    /// The id of the response whose page this is, when it is one.
    pub this_response: Option<String>,
}

/// A concern on its own record's page: its words, who raised it and when,
/// what it is about, and each board's response.
pub fn record_section(v: &ConcernRecordView) -> Markup {
    let c = &v.thread;
    html! {
        section.card.concern aria-labelledby="the-concern" {
            h2 #the-concern { @if v.this_response.is_some() { "The concern this responds to" } @else { "The concern" } }
            p.meta {
                "Raised by " (person(&c.who)) " on " (date(c.at)) ", about the " (v.subject.kind) " "
                a href=(v.subject.href) { (v.subject.name) } " · "
                (c.state())
                @if v.this_response.is_some() { " · " (check_link(&c.id)) }
            }
            blockquote { (prose(&c.text)) }
            h3 { "Responses from the boards" }
            @if c.responses.is_empty() { p { "No board has responded yet." } }
            @for r in &c.responses {
                div.response {
                    p.meta {
                        @if v.this_response.as_deref() == Some(r.id.as_str()) { strong { "This response: " } }
                        (r.body) " responded on " (date(r.at)) " (" (person(&r.who)) ")"
                        @if r.resolved { ", and considers it resolved" } @else { ", and left it open" }
                        " · " (check_link(&r.id))
                    }
                    blockquote { (prose(&r.text)) }
                    @if let Some(x) = &r.excluded { p.warn { "This does not count: " (x) } }
                }
            }
            p { a href={ (v.subject.href) "#concerns" } { "All concerns about this " (v.subject.kind) } }
        }
    }
}

/// The concerns section: the list, then how to raise one.
pub fn section(
    l: &Labels,
    (what, subject): (&str, &str),
    concerns: &[ConcernThread],
    form: &ConcernForm,
) -> Markup {
    html! {
        section aria-labelledby="concerns" {
            h2 #concerns { (l.ui("concerns")) }
            @if concerns.is_empty() { p { "Nobody has raised a concern about this " (what) "." } }
            @for c in concerns {
                article.card.concern {
                    p.meta {
                        (date(c.at)) " · " (person(&c.who)) " · "
                        (c.state())
                        " · " (check_link(&c.id))
                    }
                    blockquote { (prose(&c.text)) }
                    @for r in &c.responses {
                        div.response {
                            p.meta { (r.body) " responded on " (date(r.at)) " (" (person(&r.who)) ")"
                                @if r.resolved { ", and considers it resolved" } " · " (check_link(&r.id)) }
                            blockquote { (prose(&r.text)) }
                            @if let Some(x) = &r.excluded { p.warn { "This does not count: " (x) } }
                        }
                    }
                    @if c.responses.is_empty() { p.small { "No board has responded yet." } }
                }
            }
            (raise(l, (what, subject), form))
        }
    }
}

/// How to raise a concern about `subject`, a `what` (`request`, `dataset`).
fn raise(l: &Labels, (what, subject): (&str, &str), form: &ConcernForm) -> Markup {
    // The boards that govern a request's data answer concerns about it,
    // whether or not it is still theirs to decide.
    let boards = if what == "request" {
        "govern its data"
    } else {
        "govern it"
    };
    let config = json!({ "subject": subject, "network": form.network });
    html! {
        section.card.raise aria-labelledby="raise" {
            h3 #raise { (l.ui("raise_concern")) }
            p {
                "Anyone may raise a concern about this " (what) ". The boards that " (boards) " will see it and respond here, in public."
            }
            h4 { "What happens to your concern" }
            ol {
                li { "Your words become a " strong { "signed statement" } ": a concern about this " (what) "." }
                li { "It is signed with a " strong { "key" } ": a pair of numbers only its holder can sign with. The public half of the key is shown with your concern; it says nothing about who you are unless you announce a name with it." }
                li { "This node checks the signature and adds the concern to its " strong { "public, append-only log" } ". Nobody, including the node's operator, can change or delete it afterwards, and anyone can check that it is there." }
                li { "Your concern is public. Do not write anything you would not want everyone to read, such as names or health details." }
            }
            div #concern-nojs {
                h4 { "How to raise a concern" }
                p { "Use the " code { "kaitiaki" } " command on your own computer. It keeps your key there, so later statements can be shown to come from the same person:" }
                pre { code {
                    "kaitiaki keys new my-key\n"
                    "kaitiaki --node " (form.base_url) " --key my-key concern raise " (subject) " --text \"Your concern, in your words\""
                } }
                p.small {
                    "If you want your name shown with it, first run "
                    code { "kaitiaki --node " (form.base_url) " --key my-key keys announce --display-name \"Your name\" --affiliation \"Who you speak for\"" }
                    "."
                    @if form.contact.is_none() { " You can also ask a board member or the data steward to help." }
                }
                @if let Some(c) = &form.contact {
                    p.contact {
                        "If you cannot do this, or would like help, ask the people who run this node: " (contact(c))
                        ". They can put you in touch with a board member or the data steward."
                    }
                }
            }
            (json_script("concern-config", &config))
            form #concern-form hidden method="post" action="/v1/statements" {
                p #concern-how {
                    "Your browser can sign here. When you press the button, it makes a " strong { "new key, only for this concern" }
                    ", signs your words with it, and sends the signed statement to this node. The key never leaves this page and is "
                    "forgotten when you close it, so nobody can link this concern to you, and you cannot later add to it with the same key."
                }
                label for="concern-text" { "Your concern" }
                textarea #concern-text name="text" rows="5" maxlength="8000" required aria-describedby="concern-how" {}
                button type="submit" { "Sign and send this concern" }
                p #concern-result role="status" aria-live="polite" {}
            }
            script src="/assets/concern.js" defer {}
        }
    }
}
