//! Atom feeds (RFC 4287) of decisions, per dataset and per board, so people
//! can follow them in a feed reader.
//!
//! A feed lists the boards' decisions of the last [`WINDOW_DAYS`] days (on
//! requests, on their renewals, and on motions to suspend, reinstate or
//! revoke an approval; a board's feed also its changes to its own charter),
//! and the rāhui placed or lifted in that time (on the dataset, or by the
//! board), newest first, at most [`MAX_ENTRIES`]: a feed
//! is for news, and the pages hold the full history. Decisions are found on
//! the requests received in the window, and, for older requests, among the
//! newest leaves of each log the node holds (as the overview's recent
//! decisions are): a renewal or a revocation of an old approval is news.
//!
//! A feed's `<id>` and each entry's are `tag:` URIs (RFC 4151) made from
//! the node's log origin, never from the address a reader used: the same
//! node reached by two names (a LAN address and a public one, say) gives
//! one id per entry, so feed readers do not show an entry twice. The feed
//! of the page at `/bodies/<id>` is `tag:<origin>,2026:bodies/<id>/feed.atom`,
//! and an entry is `tag:<origin>,2026:records/<statement id>`, the id of the
//! statement that made the decision (`records/<statement id>/ended` for a
//! rāhui that reached the end its board set). The `<link>`s are the
//! address used.

use kaitiaki_protocol::Timestamp;
use maud::{html, Markup};

/// The date in every `tag:` id a feed mints (RFC 4151 asks for one on
/// which the minter held the name): the year these ids were first minted.
/// It never changes, or every id would.
pub const TAG_DATE: &str = "2026";

/// The `tag:` URI (RFC 4151) of `specific` (a path without its leading
/// `/`) under the log origin `origin`.
pub fn tag(origin: &str, specific: &str) -> String {
    format!(
        "tag:{origin},{TAG_DATE}:{}",
        specific.trim_start_matches('/')
    )
}

/// How far back a feed looks for requests.
pub const WINDOW_DAYS: u32 = 400;

/// The most entries a feed holds.
pub const MAX_ENTRIES: usize = 50;

/// One decision in a feed: a board's answer to a request, or a rāhui
/// placed or lifted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The id of the statement that made the decision (the deciding vote,
    /// the `rahui.place` or the `rahui.lift`), which the entry's id is
    /// made from; for a rāhui that reached the end its board set, which
    /// no statement made, `<rahui.place id>/ended`.
    pub record: String,
    /// The path of the page it is about (`/requests/…`, `/datasets/…`).
    pub page: String,
    /// The entry's title ("Te Poari: Approved — Rangatahi wellbeing").
    pub title: String,
    /// What happened, in a sentence or two.
    pub summary: String,
    /// When.
    pub at: Timestamp,
}

/// A feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feed {
    /// The feed's id: a `tag:` URI from the node's origin and the page's
    /// path ([`tag`]), the same whatever address the feed was read at.
    pub id: String,
    /// The node's log origin, which entries' ids are minted under.
    pub origin: String,
    /// The feed's title.
    pub title: String,
    /// The page the feed is about, as an absolute URL.
    pub page_url: String,
    /// The feed's own URL.
    pub self_url: String,
    /// This node's base URL, for links in entries.
    pub base_url: String,
    /// The entries, newest first.
    pub entries: Vec<Entry>,
    /// When the feed last changed: the newest entry, or the time asked.
    pub updated: Timestamp,
}

/// The feed as Atom XML.
pub fn render(f: &Feed) -> String {
    let doc: Markup = html! {
        feed xmlns="http://www.w3.org/2005/Atom" {
            title { (f.title) }
            id { (f.id) }
            link rel="self" href=(f.self_url) {}
            link rel="alternate" type="text/html" href=(f.page_url) {}
            updated { (f.updated.to_rfc3339()) }
            author { name { "Kaitiaki" } }
            @for e in &f.entries {
                entry {
                    title { (e.title) }
                    id { (tag(&f.origin, &format!("records/{}", e.record))) }
                    link rel="alternate" type="text/html" href={ (f.base_url) (e.page) } {}
                    updated { (e.at.to_rfc3339()) }
                    summary { (e.summary) }
                }
            }
        }
    };
    // maud writes `<link …></link>`, which is well-formed XML.
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n{}",
        xml_chars(&doc.into_string())
    )
}

/// `text` with every character XML 1.0 cannot carry (U+FFFE and U+FFFF,
/// which statements may hold, and controls, which they may not) replaced
/// by U+FFFD, so that one statement's text never makes a feed unreadable.
fn xml_chars(text: &str) -> String {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && !matches!(c, '\u{fffe}' | '\u{ffff}'))
    };
    if text.chars().all(allowed) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| if allowed(c) { c } else { '\u{fffd}' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A feed of `n.example`'s dataset or board `ab` (`page`), titled
    /// `title`, with one entry.
    fn feed(page: &str, title: &str, entry_title: &str, summary: &str) -> Feed {
        let at = Timestamp::parse("2026-11-22T09:00:00Z").expect("time");
        Feed {
            id: tag("n.example", &format!("/{page}/ab/feed.atom")),
            origin: "n.example".into(),
            title: title.into(),
            page_url: format!("http://n.example/{page}/ab"),
            self_url: format!("http://n.example/{page}/ab/feed.atom"),
            base_url: "http://n.example".into(),
            entries: vec![Entry {
                record: "v1".into(),
                page: "/requests/r1".into(),
                title: entry_title.into(),
                summary: summary.into(),
                at,
            }],
            updated: at,
        }
    }

    #[test]
    fn a_feed_is_atom_with_escaped_text() {
        let f = feed(
            "datasets",
            "Decisions <on> data",
            "Te Poari: Approved — Rangatahi & services",
            "Te Poari approved the request.",
        );
        let xml = render(&f);
        assert!(xml.starts_with("<?xml"));
        assert!(xml.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\">"));
        assert!(xml.contains("Decisions &lt;on&gt; data"));
        assert!(xml.contains("Rangatahi &amp; services"));
        assert!(xml.contains("<updated>2026-11-22T09:00:00Z</updated>"));
        // Ids are minted from the node's origin, never from its address.
        assert!(
            xml.contains("<id>tag:n.example,2026:records/v1</id>"),
            "{xml}"
        );
        assert!(
            xml.contains("<id>tag:n.example,2026:datasets/ab/feed.atom</id>"),
            "{xml}"
        );
        assert!(!xml.contains("<id>http"), "{xml}");
        assert!(xml.contains("href=\"http://n.example/requests/r1\""));
    }

    #[test]
    fn characters_xml_cannot_carry_are_replaced() {
        let f = feed(
            "bodies",
            "Te Poari \u{ffff} board",
            "A study \u{fffe}",
            "Kept: ā, 🌿, \u{e000}.",
        );
        let xml = render(&f);
        assert!(!xml.contains(['\u{fffe}', '\u{ffff}']), "{xml}");
        assert!(xml.contains("Te Poari \u{fffd} board"));
        assert!(xml.contains("A study \u{fffd}"));
        assert!(xml.contains("Kept: ā, 🌿, \u{e000}."));
    }
}
