//! `kaitiaki list …`: the node's governance listings, as tables.
//!
//! A listing is printed as the node served it with `--json`; for people it
//! becomes a table of the columns worth reading. Ids are printed whole,
//! because a listing is where people copy the id for the next command, and
//! statuses, report kinds and open/resolved read as on the community pages.

use std::collections::BTreeMap;

use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use kaitiaki_governance::RequestStatus;
use serde::Serialize;
use serde_json::Value;

use crate::output::{self, Render};
use crate::parse;
use crate::parse::IdArg;
use crate::show::{scalar, yamlish};
use crate::submit::Session;
use crate::words;

/// `kaitiaki list …`. Ids that filter may be given whole or by their
/// start, as the pages show them: the node completes them.
#[derive(Clone, Debug, Subcommand)]
pub enum ListCmd {
    /// Governance bodies.
    Bodies,
    /// Datasets, optionally those one body governs.
    Datasets {
        /// Only datasets governed by this body.
        #[arg(long, value_parser = parse::id_or_start)]
        body: Option<IdArg>,
    },
    /// Access requests, filtered.
    Requests {
        /// Only requests for this dataset.
        #[arg(long, value_parser = parse::id_or_start)]
        dataset: Option<IdArg>,
        /// Only requests before this body.
        #[arg(long, value_parser = parse::id_or_start)]
        body: Option<IdArg>,
        /// Only requests in this state.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Only requests by this key: hex (the whole key, or its first 8 or
        /// more digits, as the pages show people) or a local key name.
        #[arg(long)]
        requester: Option<String>,
    },
    /// Rāhui in force.
    Rahui,
    /// Concerns not yet resolved.
    Concerns,
    /// Requests whose use reports are overdue.
    Overdue,
    /// Requests with nothing overdue whose next use report falls due soon.
    Due {
        /// How many days ahead to look (1 to 366).
        #[arg(long, default_value_t = kaitiaki_governance::lists::DUE_SOON_DAYS,
              value_parser = clap::value_parser!(u32).range(1..=366))]
        days: u32,
    },
    /// Statements the rules left out of the state, with the rule each broke.
    Excluded,
    /// What waits for a board's vote: requests, renewals, motions and
    /// changes to its charter not decided yet.
    Waiting {
        /// The board (its charter id).
        #[arg(long, value_parser = parse::id_or_start)]
        body: IdArg,
    },
}

/// A request's status, spelled as everywhere else on the command line
/// (`under-review`; `under_review`, the API's name, works too).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    /// Listed as "Waiting for the boards": no board has voted yet.
    Submitted,
    /// Listed as "Being decided": a board has votes counted, not every board has decided.
    #[value(alias = "under_review")]
    UnderReview,
    /// Every board approved; access is in force.
    Approved,
    /// A board declined.
    Declined,
    /// The requester withdrew it.
    Withdrawn,
    /// Approved, and paused by a rāhui or a board's motion.
    Suspended,
    /// Approved, then revoked.
    Revoked,
    /// Approved, and past its end.
    Expired,
    /// The work is finished and the final report accepted.
    Completed,
}

impl From<StatusArg> for RequestStatus {
    fn from(s: StatusArg) -> RequestStatus {
        match s {
            StatusArg::Submitted => RequestStatus::Submitted,
            StatusArg::UnderReview => RequestStatus::UnderReview,
            StatusArg::Approved => RequestStatus::Approved,
            StatusArg::Declined => RequestStatus::Declined,
            StatusArg::Withdrawn => RequestStatus::Withdrawn,
            StatusArg::Suspended => RequestStatus::Suspended,
            StatusArg::Revoked => RequestStatus::Revoked,
            StatusArg::Expired => RequestStatus::Expired,
            StatusArg::Completed => RequestStatus::Completed,
        }
    }
}

/// A listing, as the node served it.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Listing {
    /// The node's JSON.
    pub value: Value,
    /// Announced names of the people in it, by public key (hex), for the
    /// table (never part of `--json`, which keeps the node's listing).
    #[serde(skip)]
    pub people: BTreeMap<String, String>,
    /// Names of the boards in it, by id, for the table (never in `--json`).
    #[serde(skip)]
    pub boards: BTreeMap<String, String>,
    /// Titles of the requests and names of the datasets that concerns are
    /// about, by id, for the table (never in `--json`).
    #[serde(skip)]
    pub subjects: BTreeMap<String, String>,
}

/// The columns that hold a person's public key.
const PEOPLE: &[&str] = &["requester", "raised_by", "author"];

/// The columns that hold a board's id (the body that placed a rāhui).
const BOARDS: &[&str] = &["body"];

/// The columns that hold what a concern is about: a request or a dataset.
const SUBJECTS: &[&str] = &["subject"];

impl Listing {
    /// A listing with no names looked up yet.
    pub fn new(value: Value) -> Listing {
        Listing {
            value,
            people: BTreeMap::new(),
            boards: BTreeMap::new(),
            subjects: BTreeMap::new(),
        }
    }

    /// The values of the given columns, each once: public keys for
    /// [`PEOPLE`], board ids for [`BOARDS`].
    fn ids(&self, columns: &[&str]) -> std::collections::BTreeSet<String> {
        self.value
            .as_array()
            .into_iter()
            .flatten()
            .map(flatten)
            .flat_map(|item| {
                columns
                    .iter()
                    .filter_map(|c| item.get(*c).and_then(Value::as_str).map(str::to_owned))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The name for a cell of a people or board column, with the start of
    /// the key or id to tell namesakes apart.
    fn named(&self, column: &str, v: &Value) -> Option<String> {
        let id = v.as_str()?;
        let names = if PEOPLE.contains(&column) {
            &self.people
        } else if BOARDS.contains(&column) {
            &self.boards
        } else if SUBJECTS.contains(&column) {
            &self.subjects
        } else {
            return None;
        };
        let name = names.get(id)?;
        Some(format!("{name} ({})", crate::output::short(&id)))
    }
}

/// The columns worth a table, in the order they read best. A listing's
/// items are flattened first (see [`flatten`]), so nested records count.
const COLUMNS: &[&str] = &[
    "id",
    "kind",
    "request",
    "name",
    "title",
    "dataset_name",
    "status",
    "sensitivity",
    "open",
    "reason",
    "submitted",
    "placed",
    "raised",
    "until",
    "report",
    "due",
    "missed",
    "requester",
    "raised_by",
    "author",
    "body",
    "dataset",
    "subject",
    "rejection",
];

/// One item's fields for a table: its own, plus those of a nested record
/// (`record`, `rahui`), with positions in the log reduced to their time.
/// A report due (`next`) or the earliest of those overdue (`overdue`, with
/// how many reports are `missed`) becomes its `report` kind and `due` date.
fn flatten(item: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let Value::Object(map) = item else {
        return out;
    };
    for (k, v) in map {
        match (k.as_str(), v) {
            ("record" | "rahui", Value::Object(inner)) => {
                for (ik, iv) in inner {
                    out.entry(ik.clone()).or_insert_with(|| iv.clone());
                }
            }
            ("next" | "overdue", due) => {
                let first = match due {
                    Value::Array(a) => {
                        out.insert("missed".into(), Value::from(a.len()));
                        a.first()
                    }
                    other => Some(other),
                };
                if let Some(Value::Object(d)) = first {
                    for (from, to) in [("kind", "report"), ("due", "due")] {
                        if let Some(v) = d.get(from) {
                            out.insert(to.into(), v.clone());
                        }
                    }
                }
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    for v in out.values_mut() {
        if let Some(at) = v.get("at").filter(|a| a.is_string()).cloned() {
            *v = at;
        }
    }
    out
}

impl Render for Listing {
    fn human(&self, out: &mut String) {
        let items = match &self.value {
            Value::Array(a) => a.as_slice(),
            other => {
                yamlish(other, 0, out);
                return;
            }
        };
        if items.is_empty() {
            out.push_str("Nothing to list.\n");
            return;
        }
        let flat: Vec<_> = items.iter().map(flatten).collect();
        let columns: Vec<&str> = COLUMNS
            .iter()
            .copied()
            .filter(|c| flat.iter().any(|i| i.get(*c).is_some_and(|v| !v.is_null())))
            .collect();
        // A concern's `open` is told as "open" or "resolved": its heading
        // names what the column says.
        let heading = |c: &str| if c == "open" { "state" } else { c }.to_owned();
        let mut rows = vec![columns.iter().map(|c| heading(c)).collect::<Vec<_>>()];
        for item in &flat {
            rows.push(
                columns
                    .iter()
                    .map(|c| {
                        let v = item.get(*c).unwrap_or(&Value::Null);
                        self.named(c, v).unwrap_or_else(|| cell(c, v))
                    })
                    .collect(),
            );
        }
        output::table(&rows, out);
    }
}

fn cell(column: &str, v: &Value) -> String {
    let text = match (column, v) {
        ("status", Value::String(s)) => return words::status(s),
        ("report", Value::String(s)) => return words::report_kind(s),
        ("open", Value::Bool(open)) => return if *open { "open" } else { "resolved" }.into(),
        // The rule a statement broke: its code, then what it says.
        ("rejection", Value::Object(m)) => {
            return match (m.get("code"), m.get("message")) {
                (Some(code), Some(message)) => format!("{}: {}", scalar(code), scalar(message)),
                _ => v.to_string(),
            }
        }
        (_, Value::Object(m)) => m
            .get("type")
            .or_else(|| m.get("name"))
            .map(scalar)
            .unwrap_or_else(|| v.to_string()),
        (_, Value::Array(a)) => a
            .iter()
            .map(|x| cell(column, x))
            .collect::<Vec<_>>()
            .join(" "),
        (_, other) => scalar(other),
    };
    // Ids and keys are shown whole: people copy them into the next command.
    let is_hex = text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit());
    if is_hex {
        return text;
    }
    words::excerpt(&text, 48).0
}

/// The most items `list` gathers by following page cursors.
const LIST_MAX: usize = 10_000;

impl ListCmd {
    /// Where the listing is served, and its filters.
    fn query(&self, s: &Session) -> Result<(String, Vec<(&'static str, String)>)> {
        let opt = |id: &Option<IdArg>| id.as_ref().map(|i| i.to_string()).unwrap_or_default();
        Ok(match self {
            ListCmd::Bodies => ("/v1/bodies".into(), vec![]),
            ListCmd::Datasets { body: Some(b) } => (format!("/v1/bodies/{b}/datasets"), vec![]),
            ListCmd::Datasets { body: None } => ("/v1/datasets".into(), vec![]),
            ListCmd::Requests {
                dataset,
                body,
                status,
                requester,
            } => {
                let requester = match requester {
                    // The start of a key, as the pages show people: the
                    // node finds whose it is.
                    Some(r)
                        if (8..64).contains(&r.len())
                            && r.bytes().all(|b| b.is_ascii_hexdigit())
                            && s.keys.info(r).is_err() =>
                    {
                        r.to_ascii_lowercase()
                    }
                    Some(r) => s.keys.resolve_public(r)?.to_hex(),
                    None => String::new(),
                };
                (
                    "/v1/requests".into(),
                    vec![
                        ("dataset", opt(dataset)),
                        ("body", opt(body)),
                        (
                            "status",
                            status
                                .map(|s| RequestStatus::from(s).as_str().to_owned())
                                .unwrap_or_default(),
                        ),
                        ("requester", requester),
                    ],
                )
            }
            ListCmd::Rahui => ("/v1/rahui".into(), vec![]),
            ListCmd::Concerns => ("/v1/concerns".into(), vec![]),
            ListCmd::Overdue => ("/v1/reports/overdue".into(), vec![]),
            ListCmd::Due { days } => (
                "/v1/reports/due".into(),
                vec![("within_days", days.to_string())],
            ),
            ListCmd::Excluded => ("/v1/excluded".into(), vec![]),
            ListCmd::Waiting { body } => (format!("/v1/bodies/{body}/waiting"), vec![]),
        })
    }

    /// For a listing that came back empty: that each filter names a
    /// dataset or board the node holds, so that a mistyped one is said,
    /// not listed as nothing.
    async fn filters_held(&self, s: &Session) -> Result<()> {
        let (dataset, body) = match self {
            ListCmd::Datasets { body } => (None, body.as_ref()),
            ListCmd::Requests { dataset, body, .. } => (dataset.as_ref(), body.as_ref()),
            _ => (None, None),
        };
        for (filter, collection, what) in
            [(dataset, "datasets", "dataset"), (body, "bodies", "board")]
        {
            let Some(IdArg::Whole(id)) = filter else {
                continue;
            };
            if s.client
                .query_optional(&format!("/v1/{collection}/{id}"))
                .await?
                .is_none()
            {
                anyhow::bail!(
                    "the node at {} holds no {what} {id}; `kaitiaki list {collection}` lists \
                     those it holds",
                    s.client.base()
                );
            }
        }
        Ok(())
    }

    /// This listing with every id given by its start completed by the node.
    async fn completed(&self, s: &Session) -> Result<ListCmd> {
        let whole =
            |a: IdArg| async move { crate::show::resolve(&s.client, &a).await.map(IdArg::Whole) };
        let maybe = |a: Option<IdArg>| async move {
            match a {
                Some(a) => whole(a).await.map(Some),
                None => Ok(None),
            }
        };
        Ok(match self.clone() {
            ListCmd::Datasets { body } => ListCmd::Datasets {
                body: maybe(body).await?,
            },
            ListCmd::Requests {
                dataset,
                body,
                status,
                requester,
            } => ListCmd::Requests {
                dataset: maybe(dataset).await?,
                body: maybe(body).await?,
                status,
                requester,
            },
            ListCmd::Waiting { body } => ListCmd::Waiting {
                body: whole(body).await?,
            },
            other => other,
        })
    }

    /// Queries the node, following page cursors, and prints.
    pub async fn run(&self, s: &Session) -> Result<()> {
        let this = self.completed(s).await?;
        if let ListCmd::Waiting { body } = &this {
            return waiting(s, &body.to_string()).await;
        }
        let (path, params) = this.query(s)?;
        let value = match gather(&s.client, &path, &params).await {
            Ok(value) => value,
            // A filter naming nothing is said as such (a board's datasets
            // are a 404 for an unknown board).
            Err(e) => {
                this.filters_held(s).await?;
                return Err(e);
            }
        };
        if value.as_array().is_some_and(Vec::is_empty) {
            this.filters_held(s).await?;
        }
        let mut listing = Listing::new(value);
        if !s.printer.json() {
            let (keys, boards) = (listing.ids(PEOPLE), listing.ids(BOARDS));
            listing.people = crate::show::names(&s.client, "/v1/keys", keys, "/display_name").await;
            listing.boards =
                crate::show::names(&s.client, "/v1/bodies", boards, "/record/name").await;
            let subjects = listing.ids(SUBJECTS);
            let mut named =
                crate::show::names(&s.client, "/v1/requests", subjects.clone(), "/record/title")
                    .await;
            let datasets = subjects
                .into_iter()
                .filter(|id| !named.contains_key(id))
                .collect();
            named.extend(
                crate::show::names(&s.client, "/v1/datasets", datasets, "/record/name").await,
            );
            listing.subjects = named;
        }
        s.printer.emit(&listing)
    }
}

/// Every item of a paged listing (up to [`LIST_MAX`]), as one array; a
/// listing that is not paged comes back as it is.
pub async fn gather(
    client: &crate::client::Client,
    path: &str,
    params: &[(&'static str, String)],
) -> Result<Value> {
    gather_pages(|after| {
        let mut p = params.to_vec();
        p.push(("after", after));
        async move { client.query(path, &p).await }
    })
    .await
}

/// Follows page cursors: `fetch(after)` serves the page after the cursor
/// `after` (empty for the first). It stops at the last page (no `next`), at
/// [`LIST_MAX`] items, and at a page that cannot lead anywhere: one with no
/// items, or whose `next` is a cursor already sent. A node answering so
/// would otherwise keep the CLI asking for ever.
async fn gather_pages<F, Fut>(mut fetch: F) -> Result<Value>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Value>>,
{
    let mut items = Vec::new();
    let mut sent = std::collections::HashSet::new();
    let mut after = String::new();
    loop {
        sent.insert(after.clone());
        let page = fetch(after.clone()).await?;
        let Some(next_items) = page.get("items").and_then(Value::as_array) else {
            return Ok(page);
        };
        if next_items.is_empty() {
            break;
        }
        items.extend(next_items.iter().cloned());
        match page.get("next").and_then(Value::as_str) {
            Some(next) if !sent.contains(next) && items.len() < LIST_MAX => after = next.to_owned(),
            _ => break,
        }
    }
    items.truncate(LIST_MAX);
    Ok(Value::Array(items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn an_item_held_by_a_rahui_and_its_notice_period_says_both() {
        let both = serde_json::json!({"paused": true, "notice_until": "2026-12-20T00:00:00Z"});
        assert_eq!(
            blocked(&both),
            " (votes paused by a rāhui; and open for community comment until 2026-12-20; no \
             vote counts before)"
        );
        assert_eq!(blocked(&serde_json::json!({"paused": false})), "");
    }

    /// Serves `pages` in turn to [`gather_pages`], then the last one for
    /// ever; returns what it gathered and the cursors it was sent.
    fn gather_from(pages: Vec<Value>) -> (Value, Vec<String>) {
        let sent = std::cell::RefCell::new(Vec::new());
        let fetch = |after: String| {
            let page = pages[sent.borrow().len().min(pages.len() - 1)].clone();
            sent.borrow_mut().push(after);
            async move { Ok(page) }
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let value = rt.block_on(gather_pages(fetch)).unwrap();
        (value, sent.into_inner())
    }

    #[test]
    fn excluded_statements_list_their_kind_author_and_the_rule_broken() {
        let author = "76".repeat(32);
        let mut listing = Listing::new(serde_json::json!([{
            "id": "806e71c3",
            "kind": "request.withdraw",
            "author": author,
            "pos": {"at": "2026-12-07T05:34:50.980Z", "index": 30, "log": "agency.example"},
            "rejection": {"code": "request_withdrawn", "message": "The request was already withdrawn."}
        }]));
        let mut out = String::new();
        listing.human(&mut out);
        for want in [
            "request.withdraw",
            author.as_str(),
            "request_withdrawn: The request was already withdrawn.",
        ] {
            assert!(out.contains(want), "{want:?} is not in {out}");
        }
        // With the author's announced name looked up, the table shows it,
        // with the start of the key; --json keeps the node's listing.
        assert!(listing.ids(PEOPLE).into_iter().eq([author.clone()]));
        listing.people.insert(author.clone(), "Rangi Tauira".into());
        let mut out = String::new();
        listing.human(&mut out);
        assert!(out.contains("Rangi Tauira (767676767676…)"), "{out}");
        assert!(!serde_json::to_string(&listing).unwrap().contains("Rangi"));
    }

    #[test]
    fn rahui_list_names_the_board_that_placed_each() {
        let board = "ab".repeat(32);
        let mut listing = Listing::new(serde_json::json!([{
            "dataset": "cd".repeat(32),
            "dataset_name": "Housing records",
            "rahui": {
                "body": board,
                "id": "ef".repeat(32),
                "placed": {"at": "2026-12-07T07:26:41.096Z", "index": 24, "log": "iwi.example"},
                "reason": "A pause while whānau talk.",
                "until": null
            }
        }]));
        assert!(listing.ids(BOARDS).into_iter().eq([board.clone()]));
        // Without the name (a lookup failed), the id is shown whole.
        let mut out = String::new();
        listing.human(&mut out);
        assert!(out.lines().next().unwrap().contains("body"), "{out}");
        assert!(out.contains(&board), "{out}");
        listing.boards.insert(board.clone(), "Te Poari".into());
        let mut out = String::new();
        listing.human(&mut out);
        assert!(out.contains("Te Poari (abababababab…)"), "{out}");
        assert!(!serde_json::to_string(&listing)
            .unwrap()
            .contains("Te Poari"));
    }

    #[test]
    fn paging_follows_cursors_to_the_last_page() {
        let (value, sent) = gather_from(vec![
            serde_json::json!({"items": [1, 2], "next": "a"}),
            serde_json::json!({"items": [3], "next": ""}),
        ]);
        assert_eq!(value, serde_json::json!([1, 2, 3]));
        assert_eq!(sent, ["", "a"]);
    }

    #[test]
    fn paging_stops_at_an_empty_page_or_a_cursor_that_does_not_move() {
        let (value, sent) = gather_from(vec![
            serde_json::json!({"items": [1], "next": "a"}),
            serde_json::json!({"items": [], "next": "x"}),
        ]);
        assert_eq!(value, serde_json::json!([1]));
        assert_eq!(sent, ["", "a"]);

        let (value, sent) = gather_from(vec![
            serde_json::json!({"items": [1], "next": "a"}),
            serde_json::json!({"items": [2], "next": "a"}),
        ]);
        assert_eq!(value, serde_json::json!([1, 2]));
        assert_eq!(sent, ["", "a"]);
    }

    #[test]
    fn paging_stops_at_the_cap_when_cursors_keep_moving() {
        let n = std::cell::Cell::new(0u64);
        let fetch = |_after: String| {
            n.set(n.get() + 1);
            // Pages that do not divide the cap: the last one overshoots it.
            let page = serde_json::json!({"items": vec![0; 3000], "next": n.get().to_string()});
            async move { Ok(page) }
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let value = rt.block_on(gather_pages(fetch)).unwrap();
        assert_eq!(value.as_array().unwrap().len(), LIST_MAX);
        assert_eq!(n.get(), LIST_MAX.div_ceil(3000) as u64);
    }

    #[test]
    fn paging_stops_when_cursors_come_round_again() {
        let (value, sent) = gather_from(vec![
            serde_json::json!({"items": [1], "next": "a"}),
            serde_json::json!({"items": [2], "next": "b"}),
            serde_json::json!({"items": [3], "next": "a"}),
        ]);
        assert_eq!(value, serde_json::json!([1, 2, 3]));
        assert_eq!(sent, ["", "a", "b"]);
    }

    #[test]
    fn a_listing_that_is_not_paged_comes_back_as_it_is() {
        let (value, sent) = gather_from(vec![serde_json::json!({"rules": [1]})]);
        assert_eq!(value, serde_json::json!({"rules": [1]}));
        assert_eq!(sent, [""]);
    }

    #[test]
    fn every_status_the_node_knows_can_be_asked_for() {
        use std::collections::BTreeSet;
        let offered: BTreeSet<RequestStatus> = StatusArg::value_variants()
            .iter()
            .map(|&s| RequestStatus::from(s))
            .collect();
        let known: BTreeSet<RequestStatus> = RequestStatus::ALL.into_iter().collect();
        assert_eq!(offered, known);
        assert_eq!(StatusArg::value_variants().len(), RequestStatus::ALL.len());
    }

    #[test]
    fn listings_become_tables_of_the_useful_columns() {
        let value = serde_json::json!([
            {"id": "ab", "record": {"name": "Te Poari", "open": true}, "extra": 1},
            {"id": "cd", "name": "Pacific Board", "raised": {"at": "2026-11-22T10:00:00Z", "index": 3}},
        ]);
        let mut out = String::new();
        Listing::new(value).human(&mut out);
        assert_eq!(
            out,
            "id  name           state  raised\nab  Te Poari       open   —\ncd  Pacific Board  —      2026-11-22T10:00:00Z\n"
        );
    }

    #[test]
    fn ids_in_every_column_are_whole_and_words_match_the_pages() {
        let dataset = "a1".repeat(32);
        let value = serde_json::json!([
            {"id": "b2".repeat(32), "record": {"subject": dataset, "open": false}},
            {"request": "c3".repeat(32), "status": "under_review", "next": {"kind": "periodic", "due": "2027-01-01T00:00:00Z"}},
        ]);
        let mut out = String::new();
        Listing::new(value).human(&mut out);
        assert!(out.contains(&dataset), "{out}");
        assert!(!out.contains('…'), "{out}");
        assert!(out.contains("resolved"), "{out}");
        assert!(out.contains("Being decided"), "{out}");
        assert!(out.contains("regular"), "{out}");
        assert!(!out.contains("periodic"), "{out}");
    }

    #[test]
    fn a_concern_names_what_it_is_about() {
        let dataset = "a1".repeat(32);
        let value = serde_json::json!([
            {"id": "b2".repeat(32), "record": {"subject": dataset, "open": true}},
        ]);
        let mut listing = Listing::new(value);
        listing
            .subjects
            .insert(dataset.clone(), "Whānau Services".into());
        let mut out = String::new();
        listing.human(&mut out);
        assert!(out.contains("Whānau Services (a1a1a1a1"), "{out}");
    }

    #[test]
    fn long_text_is_cut_at_a_word() {
        let reason =
            "A hui-ā-iwi asked for a pause while whānau talk through consent for housing data.";
        let got = cell("reason", &Value::String(reason.into()));
        assert_eq!(got, "A hui-ā-iwi asked for a pause while whānau talk…");
    }

    #[test]
    fn statuses_are_checked_before_asking_the_node() {
        let parse = |s: &str| {
            crate::args::Cli::try_parse_from(["kaitiaki", "list", "requests", "--status", s])
        };
        for (typed, api) in [
            ("under-review", "under_review"),
            ("under_review", "under_review"),
            ("approved", "approved"),
        ] {
            let cli = parse(typed).unwrap();
            let crate::args::Command::List(ListCmd::Requests {
                status: Some(status),
                ..
            }) = cli.command
            else {
                panic!("{typed} did not parse as a status");
            };
            assert_eq!(RequestStatus::from(status).as_str(), api);
        }
        let err = parse("under-reveiw").unwrap_err().to_string();
        assert!(err.contains("under-review"), "{err}");
        assert!(err.contains("possible values"), "{err}");
    }
}

/// What waits for a board's vote, as the node serves it, with names.
#[derive(Debug, Serialize)]
struct Waiting {
    #[serde(flatten)]
    view: Value,
    #[serde(skip)]
    body: String,
    #[serde(skip)]
    board: String,
    #[serde(skip)]
    people: BTreeMap<String, String>,
    /// The board's home log and the address of its node (if this node
    /// follows it), when that is not the node asked: votes are recorded
    /// there.
    #[serde(skip)]
    home: Option<(String, Option<String>)>,
}

/// The log that keeps board `body`'s decisions, and the address of its
/// node when the node `s` talks to follows it, if that log is not this
/// node's own (votes must be sent to the home node); `None` when it is
/// this node's, or not known here.
async fn home_of(s: &Session, body: &str) -> Option<(String, Option<String>)> {
    let view = s
        .client
        .query(&format!("/v1/bodies/{body}"), &[])
        .await
        .ok()?;
    let home = view.pointer("/record/home_log")?.as_str()?.to_owned();
    if s.client.checkpoint().await.ok()?.origin == home {
        return None;
    }
    let peers: Option<crate::peers::Peers> = s.client.get("/v1/peers", "the peer list").await.ok();
    let url = peers.and_then(|p| {
        p.peers
            .into_iter()
            .find(|p| p.origin == home)
            .map(|p| p.url)
    });
    Some((home, url))
}

/// Why an item that waits cannot be voted on yet, in brackets, or nothing:
/// a rāhui, its notice period, or both.
fn blocked(item: &Value) -> String {
    let mut why = Vec::new();
    if item.get("paused").and_then(Value::as_bool) == Some(true) {
        why.push("votes paused by a rāhui".to_owned());
    }
    if let Some(until) = item.get("notice_until").and_then(Value::as_str) {
        why.push(format!(
            "open for community comment until {}; no vote counts before",
            until.get(..10).unwrap_or(until)
        ));
    }
    if why.is_empty() {
        String::new()
    } else {
        format!(" ({})", why.join("; and "))
    }
}

/// `kaitiaki list waiting --body ID`.
async fn waiting(s: &Session, body: &str) -> Result<()> {
    let view = s
        .client
        .query(&format!("/v1/bodies/{body}/waiting"), &[])
        .await?;
    let (mut board, mut people) = (String::new(), BTreeMap::new());
    if !s.printer.json() {
        let id = body.to_string();
        board = crate::show::names(
            &s.client,
            "/v1/bodies",
            [id.clone()].into_iter().collect(),
            "/record/name",
        )
        .await
        .remove(&id)
        .unwrap_or(id);
        let keys = view
            .pointer("/amendments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| a.get("proposer")?.as_str().map(str::to_owned))
            .collect();
        people = crate::show::names(&s.client, "/v1/keys", keys, "/display_name").await;
    }
    let home = if s.printer.json() {
        None
    } else {
        home_of(s, body).await
    };
    s.printer.emit(&Waiting {
        view,
        body: body.to_string(),
        board,
        people,
        home,
    })
}

impl Render for Waiting {
    fn human(&self, out: &mut String) {
        let list = |name: &str| {
            self.view
                .get(name)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let text = |v: &Value, k: &str| v.get(k).map(scalar).unwrap_or_default();
        let at = |v: &Value, k: &str| {
            v.pointer(&format!("/{k}/at"))
                .and_then(Value::as_str)
                .map(|t| t.get(..10).unwrap_or(t).to_owned())
                .unwrap_or_default()
        };
        let (requests, renewals, motions, amendments) = (
            list("requests"),
            list("renewals"),
            list("motions"),
            list("amendments"),
        );
        if requests.is_empty() && renewals.is_empty() && motions.is_empty() && amendments.is_empty()
        {
            out.push_str(&format!("Nothing waits for {}'s vote.\n", self.board));
            return;
        }
        out.push_str(&format!("Waiting for {}'s vote:\n", self.board));
        if !requests.is_empty() {
            out.push_str(&format!("requests ({}):\n", requests.len()));
            for r in &requests {
                out.push_str(&format!(
                    "  {}  {}, received {}: {}{}\n",
                    text(r, "id"),
                    words::status(&text(r, "status")),
                    at(r, "submitted"),
                    text(r, "title"),
                    blocked(r)
                ));
            }
        }
        if !renewals.is_empty() {
            out.push_str(&format!("renewals ({}):\n", renewals.len()));
            for n in &renewals {
                out.push_str(&format!(
                    "  {}  {} more days of “{}”, asked {}{}\n",
                    text(n, "id"),
                    text(n, "extra_days"),
                    text(n, "title"),
                    at(n, "filed"),
                    blocked(n)
                ));
            }
        }
        if !motions.is_empty() {
            out.push_str(&format!("motions ({}):\n", motions.len()));
            for m in &motions {
                out.push_str(&format!(
                    "  {}  to {} the approval of “{}”, proposed {}\n",
                    text(m, "id"),
                    text(m, "action"),
                    text(m, "title"),
                    at(m, "filed")
                ));
            }
        }
        if !amendments.is_empty() {
            out.push_str(&format!("changes to the charter ({}):\n", amendments.len()));
            for a in &amendments {
                let key = text(a, "proposer");
                let who = self
                    .people
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| output::short(&key));
                out.push_str(&format!(
                    "  {}  proposed by {who}, {}\n",
                    text(a, "id"),
                    at(a, "proposed")
                ));
            }
        }
        if self.view.get("more").and_then(Value::as_bool) == Some(true) {
            out.push_str(
                "(This board has more requests than the node reads for this list, the oldest \
                 10,000: newer ones may wait too.)\n",
            );
        }
        let node = match &self.home {
            Some((_, Some(url))) => format!("--node {url} "),
            Some((_, None)) => "--node <its URL> ".to_owned(),
            None => String::new(),
        };
        out.push_str(&format!(
            "Vote with: kaitiaki {node}vote <id> approve|decline|abstain --body {} --reason \"…\"\n",
            self.body
        ));
        match &self.home {
            Some((home, Some(_))) => out.push_str(&format!(
                "(Votes are recorded on the board's home node, {home}, at that address.)\n"
            )),
            Some((home, None)) => out.push_str(&format!(
                "(Votes are recorded on the board's home node, {home}, which this node does not \
                 follow: ask the board for its address.)\n"
            )),
            None => {}
        }
    }
}
