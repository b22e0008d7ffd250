//! The frame every page shares (head, skip link, header, navigation,
//! footer) and the small pieces pages are built from: a person, a date, a
//! status, a pager, a link to check a record.
//!
//! Everything here is a pure function from plain values to markup, so each
//! piece can be tested by rendering it.

use kaitiaki_governance::RequestStatus;
use kaitiaki_protocol::Timestamp;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::labels::{Labels, Section};

/// What the frame says about the node serving the page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeInfo {
    /// The origin of the node's log, e.g. `agency.example`.
    pub origin: String,
    /// The network (deployment) the node belongs to.
    pub network: String,
    /// The address people reach this node at, e.g. `https://iwi.example`,
    /// as their browser asked for it (for commands the pages suggest).
    pub base_url: String,
    /// How to reach the people who run this node, when its operator gave
    /// it (`[pages] contact`).
    pub contact: Option<String>,
}

/// Which navigation item a page belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nav {
    /// The overview.
    Overview,
    /// Requests and search.
    Requests,
    /// Every dataset.
    Datasets,
    /// Every governance board.
    Bodies,
    /// The glossary.
    Glossary,
    /// None of them (a record page reached by a link).
    None,
}

/// A person as the log knows them: the name and affiliation they announced
/// with their key, and the key itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Person {
    /// The name they announced, if any.
    pub name: Option<String>,
    /// Who they speak for, if announced.
    pub affiliation: Option<String>,
    /// Their public key, hex.
    pub key: String,
}

/// How many hex digits of an id or key are shown: enough to tell records
/// apart by eye. Links always carry the whole id.
pub const SHORT_DIGITS: usize = 8;

/// The first [`SHORT_DIGITS`] hex digits of an id or key.
pub fn short(id: &str) -> &str {
    id.get(..SHORT_DIGITS).unwrap_or(id)
}

/// A person in plain text: name and affiliation when announced, else the
/// words [`person`] shows for a key that has said nothing.
pub fn person_name(p: &Person) -> String {
    match (&p.name, &p.affiliation) {
        (Some(n), Some(a)) => format!("{n}, {a}"),
        (Some(n), None) => n.clone(),
        (None, _) => UNANNOUNCED.into(),
    }
}

/// What a key that has not announced itself is called.
const UNANNOUNCED: &str = "Someone who has not said who they are";

/// A whole page.
pub fn page(l: &Labels, node: &NodeInfo, title: &str, nav: Nav, main: Markup) -> Markup {
    page_with_feed(l, node, title, nav, None, main)
}

/// A whole page that offers an Atom feed, `(address, title)`, advertised in
/// its head so that feed readers and browsers find it from the page.
pub fn page_with_feed(
    l: &Labels,
    node: &NodeInfo,
    title: &str,
    nav: Nav,
    feed: Option<(&str, &str)>,
    main: Markup,
) -> Markup {
    let item = |target: Nav, href: &str, key: &str| {
        html! {
            li {
                @if nav == target {
                    a href=(href) aria-current="page" { (l.ui(key)) }
                } @else {
                    a href=(href) { (l.ui(key)) }
                }
            }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Kaitiaki · " (node.origin) }
                link rel="stylesheet" href="/assets/style.css";
                link rel="icon" href="data:,";
                @if let Some((href, feed_title)) = feed {
                    link rel="alternate" type="application/atom+xml" title=(feed_title) href=(href);
                }
            }
            body {
                a.skip href="#main" { (l.ui("skip_to_content")) }
                header.site {
                    div.wrap {
                        p.brand {
                            a href="/" { span lang="mi" { "Kaitiaki" } }
                            // A space, so a long node name can go to the
                            // next line on a narrow screen.
                            " "
                            span.origin { (node.origin) }
                        }
                        p.tagline { (l.english(&l.text("site_tagline"))) }
                        nav aria-label=(l.text("nav_label")) {
                            ul {
                                (item(Nav::Overview, "/", "overview"))
                                (item(Nav::Requests, "/requests", "requests"))
                                (item(Nav::Datasets, "/datasets", "datasets"))
                                (item(Nav::Bodies, "/bodies", "bodies"))
                                (item(Nav::Glossary, "/glossary", "glossary"))
                            }
                        }
                    }
                }
                main #main.wrap tabindex="-1" { (main) }
                footer.site {
                    div.wrap {
                        p {
                            "This page is served by the node " code { (node.origin) }
                            " on the network " code { (node.network) } ". "
                            "Every record on it is signed by the person who made it and kept in an append-only log "
                            "that anyone can check. Nothing here is the data itself: only who asked, why, and what was decided."
                        }
                        @if let Some(c) = &node.contact {
                            p.contact { "To ask the people who run this node for help, or about anything on these pages: " (contact(c)) }
                        }
                        p {
                            @match l.reviewed_by() {
                                Some(by) => { "The words on these pages were reviewed by " (by) ". " }
                                None => { "The words on these pages are the built-in ones; this node's governance boards may replace them. " }
                            }
                            a href="/#log-status" { (l.ui("verification_status")) } " · "
                            a href="/v1/checkpoint" { "The latest signed checkpoint (JSON)" } " · "
                            a href="/openapi.json" { "API for developers" }
                        }
                    }
                }
            }
        }
    }
}

/// How to reach the people who run this node, as its operator wrote it: a
/// link when it is a web or email address (nothing else is made a link),
/// else the words as written.
pub fn contact(c: &str) -> Markup {
    let one_word = !c.is_empty() && !c.contains(char::is_whitespace);
    let web = one_word && (c.starts_with("https://") || c.starts_with("http://"));
    let email = one_word
        && c.split_once('@').is_some_and(|(name, domain)| {
            !name.is_empty() && domain.contains('.') && !domain.contains('@')
        })
        && c.chars()
            .all(|ch| ch.is_alphanumeric() || ".-_+@".contains(ch));
    html! {
        @if web { a href=(c) rel="nofollow" { (c) } }
        @else if email { a href={ "mailto:" (c) } { (c) } }
        @else { strong { (c) } }
    }
}

/// `n` things in words: "1 response", "3 responses".
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A date, readable and machine-readable: `<time datetime="…">3 March 2026</time>`.
pub fn date(t: Timestamp) -> Markup {
    html! { time datetime=(t.to_rfc3339()) { (date_text(t)) } }
}

/// `t` as a date, or with its time when `other` (the other end of the same
/// span, as a rāhui's placing and end) falls on the same day: two equal
/// dates would say nothing of how long it held.
pub fn date_beside(t: Timestamp, other: Timestamp) -> Markup {
    if date_text(t) == date_text(other) {
        date_time(t)
    } else {
        date(t)
    }
}

/// A moment as "3 March 2026 at 14:05 UTC", in a `<time>` element.
pub fn date_time(t: Timestamp) -> Markup {
    let text = match chrono::DateTime::from_timestamp_millis(t.unix_millis()) {
        Some(d) => d.format("%-d %B %Y at %H:%M UTC").to_string(),
        None => t.to_rfc3339(),
    };
    html! { time datetime=(t.to_rfc3339()) { (text) } }
}

/// "3 March 2026" (UTC).
pub fn date_text(t: Timestamp) -> String {
    match chrono::DateTime::from_timestamp_millis(t.unix_millis()) {
        Some(d) => d.format("%-d %B %Y").to_string(),
        None => t.to_rfc3339(),
    }
}

/// A person: name and affiliation when announced, else "an unannounced
/// key" and the key's first digits, with the whole key on hover.
pub fn person(p: &Person) -> Markup {
    html! {
        span.person {
            @match &p.name {
                Some(name) => {
                    strong { (name) }
                    @if let Some(a) = &p.affiliation { ", " (a) }
                }
                None => { (UNANNOUNCED) " " }
            }
            " " abbr.key title={ "Public key " (p.key) } { "key " (short(&p.key)) }
        }
    }
}

/// A request's status as a badge: the words carry the meaning, the colour
/// only repeats it.
pub fn status(l: &Labels, s: RequestStatus) -> Markup {
    html! { span class={ "status s-" (s.as_str()) } { (l.bi(Section::Status, s.as_str())) } }
}

/// A link to the page that shows how to check a record.
pub fn check_link(id: &str) -> Markup {
    html! {
        // The short id is shown: it finds the record again anywhere
        // (`/records/<it>`, `kaitiaki show <it>`).
        a.check href={ "/records/" (id) } {
            "Check this record " code.small { (short(id)) }
        }
    }
}

/// A "next page" link, keeping the other query parameters. `query` is the
/// page's own query string without `after`, already URL-encoded.
pub fn pager(
    l: &Labels,
    path: &str,
    query: &str,
    after: Option<&str>,
    next: Option<&str>,
) -> Markup {
    let join = |extra: &str| {
        let mut q = query.to_owned();
        if !q.is_empty() && !extra.is_empty() {
            q.push('&');
        }
        q.push_str(extra);
        if q.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{q}")
        }
    };
    html! {
        @if after.is_some() || next.is_some() {
            nav.pager aria-label="Pages" {
                @if after.is_some() {
                    a href=(join("")) { "← " (l.text("first_page")) }
                }
                @if let Some(n) = next {
                    a rel="next" href=(join(&format!("after={n}"))) { (l.text("next_page")) " →" }
                }
            }
        }
    }
}

/// Text a person wrote, with their line breaks kept.
pub fn prose(text: &str) -> Markup {
    html! {
        @for para in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
            p.prose {
                @for (i, line) in para.lines().enumerate() {
                    @if i > 0 { br; }
                    (line)
                }
            }
        }
    }
}

/// The body of the "not found" page: what was looked for and where to go.
pub fn not_found(l: &Labels, what: &str, looked_for: &str) -> Markup {
    html! {
        h1 { (l.ui("not_found")) }
        p.lead { "This node has no " (what) " at " code { (looked_for) } "." }
        p { "That can happen when:" }
        ul {
            li { "the link was copied only in part (record links end in a 64-character id);" }
            li { "the record was written to another node and has not reached this one yet;" }
            li { "the address was typed by hand." }
        }
        p {
            "You can start again from the " a href="/" { "overview" }
            ", or " a href="/requests" { "see all requests" } "."
        }
    }
}

/// An escaped string inside a `<script type="application/json">` block:
/// JSON with `<` written as `\u003c`, so no text can close the element.
pub fn json_script(id: &str, value: &serde_json::Value) -> Markup {
    let text = value.to_string().replace('<', "\\u003c");
    html! { script #(id) type="application/json" { (PreEscaped(text)) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ends_of_a_span_within_one_day_carry_their_times() {
        let placed = Timestamp::from_unix_millis(1_780_000_000_000).unwrap();
        let later = Timestamp::from_unix_millis(1_780_000_000_000 + 3_600_000).unwrap();
        let same = date_beside(placed, later).into_string();
        assert!(same.contains(" at ") && same.contains("UTC"), "{same}");
        let next_week = placed.plus_days(7);
        let apart = date_beside(placed, next_week).into_string();
        assert!(!apart.contains(" at "), "{apart}");
        assert_eq!(apart, date(placed).into_string());
    }

    #[test]
    fn dates_read_as_words() {
        let t = Timestamp::parse("2026-03-03T10:00:00Z").expect("time");
        let s = date(t).into_string();
        assert_eq!(
            s,
            "<time datetime=\"2026-03-03T10:00:00Z\">3 March 2026</time>"
        );
    }

    #[test]
    fn counts_read_as_words() {
        assert_eq!(counted(0, "response", "responses"), "0 responses");
        assert_eq!(counted(1, "response", "responses"), "1 response");
        assert_eq!(counted(2, "use report", "use reports"), "2 use reports");
    }

    #[test]
    fn a_contact_is_a_link_only_when_it_is_an_address() {
        let s = contact("help@iwi.example").into_string();
        assert_eq!(
            s,
            "<a href=\"mailto:help@iwi.example\">help@iwi.example</a>"
        );
        let s = contact("https://iwi.example/help").into_string();
        assert!(s.starts_with("<a href=\"https://iwi.example/help\""), "{s}");
        for words in [
            "0800 000 000",
            "javascript:alert(1)",
            "Ask at the marae office",
            "a@b.example?body=x",
        ] {
            let s = contact(words).into_string();
            assert!(!s.contains("href"), "{s}");
        }
        assert_eq!(contact("<b>").into_string(), "<strong>&lt;b&gt;</strong>");
    }

    #[test]
    fn json_in_a_script_cannot_close_it() {
        let v = serde_json::json!({"t": "</script><b>"});
        let s = json_script("x", &v).into_string();
        assert!(!s.contains("</script><b>"), "{s}");
    }
}
