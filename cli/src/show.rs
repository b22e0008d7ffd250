//! Reading: `kaitiaki show ID` and `kaitiaki list …`.
//!
//! `show` does not take the node's word for anything it can check: it opens
//! the envelope (signature, payload), recomputes the statement id and leaf
//! hash, checks the inclusion proof against the root of the signed
//! checkpoint, and checks that checkpoint under the log's key. Then it adds
//! the node's governance view (a request's timeline, a body's members).
//! `list` prints the node's governance queries as tables.

use std::collections::BTreeMap;

use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use kaitiaki_protocol::envelope::Envelope;
use kaitiaki_protocol::merkle::verify_inclusion;
use kaitiaki_protocol::{Leaf, PublicKey, StatementId, Timestamp};
use serde::Serialize;
use serde_json::Value;

use crate::client::{Client, StatementView};
use crate::output::{self, Render};
use crate::parse;
use crate::submit::Session;
use crate::trust::{self, TrustStore};

/// `kaitiaki list …`.
#[derive(Debug, Subcommand)]
pub enum ListCmd {
    /// Governance bodies.
    Bodies,
    /// Datasets, optionally those one body governs.
    Datasets {
        /// Only datasets governed by this body.
        #[arg(long, value_parser = parse::id)]
        body: Option<StatementId>,
    },
    /// Access requests, filtered.
    Requests {
        /// Only requests for this dataset.
        #[arg(long, value_parser = parse::id)]
        dataset: Option<StatementId>,
        /// Only requests before this body.
        #[arg(long, value_parser = parse::id)]
        body: Option<StatementId>,
        /// Only requests in this state (e.g. under_review, approved, declined, withdrawn, suspended, completed).
        #[arg(long)]
        status: Option<String>,
        /// Only requests by this key (hex or local key name).
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
}

/// A statement, checked, with the node's view of what it is part of.
#[derive(Debug, Serialize)]
pub struct Shown {
    /// Its id.
    pub id: StatementId,
    /// Its kind.
    pub kind: String,
    /// Who signed it.
    pub author: PublicKey,
    /// The author's clock.
    pub created_at: Timestamp,
    /// The node's clock when sequenced.
    pub sequenced_at: Timestamp,
    /// The log it is in.
    pub log: String,
    /// Its leaf index.
    pub index: u64,
    /// The checkpoint size it was proved against.
    pub proved_at_size: u64,
    /// The statement body.
    pub body: Value,
    /// Whether it counts under the governance rules, and why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standing: Option<Value>,
    /// The node's governance view, when it has one for this kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<Value>,
}

impl Render for Shown {
    fn human(&self, out: &mut String) {
        out.push_str(&format!("{}  {}\n", self.kind, self.id));
        out.push_str(&format!("  signed by   {}\n", self.author));
        out.push_str(&format!("  written     {}\n", self.created_at));
        out.push_str(&format!(
            "  recorded    {} in {} at leaf {}\n",
            self.sequenced_at, self.log, self.index
        ));
        out.push_str(&format!(
            "  verified    signature, id, and inclusion in the signed checkpoint of size {}\n",
            self.proved_at_size
        ));
        if let Some(standing) = &self.standing {
            let verdict = standing
                .pointer("/verdict/state")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            let line = match verdict {
                "valid" => "counts under the governance rules".to_owned(),
                "excluded" => format!(
                    "EXCLUDED by the governance rules: {}",
                    standing
                        .pointer("/verdict/rejection/message")
                        .and_then(Value::as_str)
                        .unwrap_or("no reason given")
                ),
                other => format!("{other} (waiting for a statement it refers to)"),
            };
            out.push_str(&format!("  standing    {line}\n"));
        }
        out.push_str("body:\n");
        yamlish(&self.body, 1, out);
        match &self.state {
            Some(state) if state.get("timeline").is_some() => request_story(state, out),
            Some(state) => {
                out.push_str("as the node sees it now:\n");
                yamlish(state, 1, out);
            }
            None => {}
        }
    }
}

/// A request as the node sees it: its status, each body's decision, and
/// its timeline, one line per statement (`--json` has every detail).
fn request_story(view: &Value, out: &mut String) {
    let text = |v: Option<&Value>| v.map(scalar).unwrap_or_else(|| "—".into());
    out.push_str(&format!("status: {}\n", text(view.get("status"))));
    if let Some(overdue) = view
        .get("overdue")
        .and_then(Value::as_array)
        .filter(|o| !o.is_empty())
    {
        out.push_str(&format!("reports overdue: {}\n", overdue.len()));
    }
    if let Some(next) = view.get("next_report").filter(|n| !n.is_null()) {
        out.push_str(&format!(
            "next report due: {} ({})\n",
            text(next.get("due")),
            text(next.get("kind"))
        ));
    }
    let decisions = view.pointer("/record/decisions").and_then(Value::as_array);
    for d in decisions.into_iter().flatten() {
        let outcome = d
            .pointer("/decision/outcome")
            .map(scalar)
            .unwrap_or_else(|| "undecided".into());
        let tally = d.get("tally").map(|t| {
            format!(
                "{} approve, {} decline, {} abstain, {} not voted",
                text(t.get("approve")),
                text(t.get("decline")),
                text(t.get("abstain")),
                text(t.get("not_voted"))
            )
        });
        out.push_str(&format!(
            "  body {}: {outcome} ({})\n",
            output::short(&text(d.get("body"))),
            tally.unwrap_or_default()
        ));
    }
    out.push_str("timeline:\n");
    for item in view
        .get("timeline")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let at = item
            .pointer("/pos/at")
            .map(scalar)
            .unwrap_or_else(|| text(item.get("created_at")));
        let body = item.get("body");
        let detail = [
            "choice", "action", "kind", "text", "reason", "summary", "title",
        ]
        .iter()
        .filter_map(|k| body.and_then(|b| b.get(*k)).map(scalar))
        .collect::<Vec<_>>()
        .join(" — ");
        let standing = match item.pointer("/verdict/state").and_then(Value::as_str) {
            Some("valid") | None => String::new(),
            Some(other) => format!("  [{other}]"),
        };
        let detail: String = detail.chars().take(90).collect();
        out.push_str(&format!(
            "  {at}  {:<18} {}  {detail}{standing}\n",
            text(item.get("kind")),
            output::short(&text(item.get("author"))),
        ));
    }
}

/// Writes JSON as indented `key: value` lines, which reads well for any
/// shape the node serves.
pub fn yamlish(value: &Value, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::Object(m) if !m.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        yamlish(v, depth + 1, out);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        yamlish(v, depth + 1, out);
                    }
                    _ => out.push_str(&format!("{pad}{k}: {}\n", scalar(v))),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{pad}-\n"));
                        yamlish(item, depth + 1, out);
                    }
                    _ => out.push_str(&format!("{pad}- {}\n", scalar(item))),
                }
            }
        }
        _ => out.push_str(&format!("{pad}{}\n", scalar(value))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.replace('\n', " "),
        Value::Null => "—".into(),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
        other => other.to_string(),
    }
}

/// Checks everything a statement view claims, under the log's key; returns
/// the parsed leaf.
pub fn check_view(view: &StatementView, origin: &str, key_text: &str) -> Result<Leaf> {
    let envelope =
        Envelope::from_dsse(&view.leaf.envelope).context("the served envelope is malformed")?;
    let verified = envelope
        .open()
        .context("the served statement does not verify")?;
    if verified.id() != view.leaf.id {
        bail!(
            "the node reports id {} but the envelope's id is {}",
            view.leaf.id,
            verified.id()
        );
    }
    let (envelope, _, _) = verified.into_parts();
    let leaf = Leaf::new(view.leaf.sequenced_at, envelope);
    let leaf_hash = leaf.hash();
    if leaf_hash != view.leaf.leaf_hash {
        bail!("the node reports a leaf hash that does not match the leaf");
    }
    let checkpoint = trust::open_checkpoint(&view.checkpoint, origin, key_text)?;
    let cp = checkpoint.checkpoint();
    if cp.size() != view.proof.size || *cp.root() != view.proof.root {
        bail!("the proof is not against the checkpoint served with it");
    }
    verify_inclusion(
        &leaf_hash,
        view.leaf.index,
        cp.size(),
        &view.proof.hashes,
        cp.root(),
    )
    .context("the inclusion proof does not lead to the signed root")?;
    Ok(leaf)
}

/// Where the node serves its governance view of a statement of `kind`.
fn state_path(kind: &str, id: &StatementId) -> Option<String> {
    let collection = match kind {
        "body.charter" => "bodies",
        "dataset.register" => "datasets",
        "request.submit" => "requests",
        "concern.raise" => "concerns",
        _ => return None,
    };
    Some(format!("/v1/{collection}/{id}"))
}

/// `kaitiaki show ID`.
pub async fn show(
    s: &Session,
    trust_store: &TrustStore,
    log_key: Option<&str>,
    id: &StatementId,
) -> Result<()> {
    let view = s
        .client
        .statement(id)
        .await?
        .with_context(|| format!("the node at {} has no statement {id}", s.client.base()))?;
    let checkpoint = s.client.checkpoint().await?;
    let (origin, key) = if view.log.is_empty() || view.log == checkpoint.origin {
        let known = trust_store.load(&checkpoint.origin)?;
        let key = trust::choose_key(log_key, known.as_ref(), &checkpoint.verifier_key)?;
        (checkpoint.origin, key)
    } else {
        // A statement of a peer's log that this node mirrors: its proof is
        // against the peer's checkpoint, checked under the peer's key — the
        // one this computer remembers for that log, else the one the node
        // follows the peer by.
        let peers: crate::peers::Peers = s.client.get("/v1/peers", "the peer list").await?;
        let offered = peers
            .peers
            .iter()
            .find(|p| p.origin == view.log)
            .map(|p| p.key.clone())
            .with_context(|| {
                format!(
                    "the statement is in the log {}, which the node does not name among its peers",
                    view.log
                )
            })?;
        let known = trust_store.load(&view.log)?;
        let key = trust::choose_key(None, known.as_ref(), &offered)?;
        (view.log.clone(), key)
    };
    let leaf = check_view(&view, &origin, &key)?;
    let payload: Value = serde_json::from_slice(leaf.envelope().payload())?;
    let kind = payload
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned();
    let statement = kaitiaki_protocol::Statement::decode(leaf.envelope().payload())?;
    let state = match state_path(&kind, id) {
        Some(path) => optional(&s.client, &path).await?,
        None => None,
    };
    let standing = optional(&s.client, &format!("/v1/statements/{id}/state")).await?;
    s.printer.emit(&Shown {
        id: *id,
        kind,
        author: statement.author,
        created_at: statement.created_at,
        sequenced_at: leaf.sequenced_at(),
        log: origin,
        index: view.leaf.index,
        proved_at_size: view.proof.size,
        body: payload.get("body").cloned().unwrap_or(Value::Null),
        standing,
        state,
    })
}

/// A governance read that may be missing (an older node, nothing there)
/// or failing: the statement itself is already checked and worth showing,
/// so a failure here is a warning, not the end of the command.
async fn optional(client: &Client, path: &str) -> Result<Option<Value>> {
    match client.query(path, &[]).await {
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            let missing = e
                .downcast_ref::<crate::rejections::Rejected>()
                .is_some_and(|r| r.status == 404);
            if !missing {
                eprintln!("warning: the node's governance view ({path}) is unavailable: {e:#}");
            }
            Ok(None)
        }
    }
}

/// A listing, as the node served it.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Listing {
    /// The node's JSON.
    pub value: Value,
}

/// The columns worth a table, in the order they read best. A listing's
/// items are flattened first (see [`flatten`]), so nested records count.
const COLUMNS: &[&str] = &[
    "id",
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
    "late",
    "requester",
    "raised_by",
    "dataset",
    "subject",
];

/// One item's fields for a table: its own, plus those of a nested record
/// (`record`, `rahui`), with positions in the log reduced to their time.
/// A report due (`next`) or the earliest of those overdue (`overdue`, with
/// how many are `late`) becomes its `report` kind and `due` date.
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
                        out.insert("late".into(), Value::from(a.len()));
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
        let mut rows = vec![columns.iter().map(|c| c.to_string()).collect::<Vec<_>>()];
        for item in &flat {
            rows.push(
                columns
                    .iter()
                    .map(|c| cell(c, item.get(*c).unwrap_or(&Value::Null)))
                    .collect(),
            );
        }
        output::table(&rows, out);
    }
}

fn cell(column: &str, v: &Value) -> String {
    let text = match v {
        Value::Object(m) => m
            .get("type")
            .or_else(|| m.get("name"))
            .map(scalar)
            .unwrap_or_else(|| v.to_string()),
        Value::Array(a) => a
            .iter()
            .map(|x| cell(column, x))
            .collect::<Vec<_>>()
            .join(" "),
        other => scalar(other),
    };
    let is_hex = text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit());
    match column {
        // Ids are shown whole: people copy them into the next command.
        "id" | "request" => text,
        _ if is_hex => output::short(&text),
        _ => {
            let mut t: String = text.chars().take(48).collect();
            if t.chars().count() < text.chars().count() {
                t.push('…');
            }
            t
        }
    }
}

/// The most items `list` gathers by following page cursors.
const LIST_MAX: usize = 10_000;

impl ListCmd {
    /// Where the listing is served, and its filters.
    fn query(&self, s: &Session) -> Result<(String, Vec<(&'static str, String)>)> {
        let opt = |id: &Option<StatementId>| id.map(|i| i.to_string()).unwrap_or_default();
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
                    Some(r) => s.keys.resolve_public(r)?.to_hex(),
                    None => String::new(),
                };
                (
                    "/v1/requests".into(),
                    vec![
                        ("dataset", opt(dataset)),
                        ("body", opt(body)),
                        ("status", status.clone().unwrap_or_default()),
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
        })
    }

    /// Queries the node, following page cursors, and prints.
    pub async fn run(&self, s: &Session) -> Result<()> {
        let (path, params) = self.query(s)?;
        let mut items = Vec::new();
        let mut after = String::new();
        loop {
            let mut p = params.clone();
            p.push(("after", after.clone()));
            let page = s.client.query(&path, &p).await?;
            let Some(next_items) = page.get("items").and_then(Value::as_array) else {
                // Not a paged listing: print it as it is.
                return s.printer.emit(&Listing { value: page });
            };
            items.extend(next_items.iter().cloned());
            match page.get("next").and_then(Value::as_str) {
                Some(next) if !next.is_empty() && items.len() < LIST_MAX => after = next.to_owned(),
                _ => break,
            }
        }
        s.printer.emit(&Listing {
            value: Value::Array(items),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_become_tables_of_the_useful_columns() {
        let value = serde_json::json!([
            {"id": "ab", "record": {"name": "Te Poari", "open": true}, "extra": 1},
            {"id": "cd", "name": "Pacific Board", "raised": {"at": "2026-11-22T10:00:00Z", "index": 3}},
        ]);
        let mut out = String::new();
        Listing { value }.human(&mut out);
        assert_eq!(
            out,
            "id  name           open  raised\nab  Te Poari       true  —\ncd  Pacific Board  —     2026-11-22T10:00:00Z\n"
        );
    }

    #[test]
    fn yamlish_nests() {
        let mut out = String::new();
        yamlish(
            &serde_json::json!({"a": 1, "b": ["x", {"c": null}]}),
            0,
            &mut out,
        );
        assert_eq!(out, "a: 1\nb:\n  - x\n  -\n    c: —\n");
    }
}
