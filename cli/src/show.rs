//! `kaitiaki show ID`: one statement, checked, with the node's view of
//! what it is part of.
//!
//! `show` does not take the node's word for anything it can check: it opens
//! the envelope (signature, payload), recomputes the statement id and leaf
//! hash, checks the inclusion proof against the root of the signed
//! checkpoint, checks that checkpoint under the log's key, and ties it to
//! the log's trusted checkpoint (the latest, consistent with the one this
//! computer remembered; see [`crate::proof::tie`]). Then it adds
//! the node's governance view (a request's story, a body's charter in
//! force, a concern's responses), which [`crate::story`] puts into words,
//! with the names of the boards and people it mentions looked up beside it.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context as _, Result};
use kaitiaki_protocol::envelope::Envelope;
use kaitiaki_protocol::merkle::verify_inclusion;
use kaitiaki_protocol::{Leaf, PublicKey, StatementId, Timestamp};
use serde::Serialize;
use serde_json::Value;

use crate::client::{Client, StatementView};
use crate::output::Render;
use crate::story::{self, Related};
use crate::submit::Session;
use crate::trust::{self, TrustStore};

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
    /// Names and records the view refers to, for the text only: `--json`
    /// keeps the node's view exactly as served.
    #[serde(skip)]
    pub related: Related,
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
        // "body" names a governance board everywhere else, so the
        // statement's own contents are what it "says".
        let says = |heading: &str, out: &mut String| {
            out.push_str(heading);
            yamlish(&self.body, 1, out);
        };
        let id = self.id.to_string();
        match (self.kind.as_str(), &self.state) {
            // A body is read as it stands now; its founding words come last.
            ("body.charter", Some(state)) => {
                story::body(state, &self.related, out);
                says("the founding charter (this statement) says:\n", out);
            }
            ("request.submit", Some(state)) if state.get("timeline").is_some() => {
                says("says:\n", out);
                story::request(&id, state, &self.related, out);
            }
            ("dataset.register", Some(state)) => {
                story::dataset(state, &self.related, out);
                says("the registration (this statement) says:\n", out);
            }
            ("concern.raise", Some(state)) => {
                says("says:\n", out);
                story::concern(state, &self.related, out);
            }
            (_, Some(state)) => {
                says("says:\n", out);
                out.push_str("as the node sees it now:\n");
                yamlish(state, 1, out);
            }
            (kind, None) => {
                says("says:\n", out);
                let author = self.author.to_string();
                story::part_of(&id, kind, &author, &self.body, &self.related, out);
            }
        }
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

/// One JSON value as text on a line.
pub fn scalar(v: &Value) -> String {
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

/// The trusted checkpoint (size, root) of the peer's log `origin` that the
/// node mirrors: the latest one whose whole tree the mirror holds, verified
/// under `key`, and an extension of the checkpoint `known` this computer
/// verified for that log before.
async fn trusted_mirror(
    client: &Client,
    origin: &str,
    key: &str,
    known: Option<&trust::Known>,
) -> Result<(u64, kaitiaki_protocol::Hash)> {
    let mirror = client
        .mirrors()
        .await?
        .into_iter()
        .find(|m| m.origin == origin)
        .with_context(|| format!("the node does not list its mirror of {origin}"))?;
    let note = mirror.complete.with_context(|| {
        format!("the node's mirror of {origin} has no complete checkpoint to prove against yet")
    })?;
    let v = trust::open_checkpoint(&note, origin, key)?;
    let trusted = (v.checkpoint().size(), *v.checkpoint().root());
    if let Some(k) = known {
        if k.size > trusted.0 {
            bail!(
                "the node's copy of {origin} is complete at {} leaves, but this computer verified \
                 that log at {} leaves before, so the copy cannot be tied to the history seen; ask \
                 {origin}'s own node",
                trusted.0,
                k.size
            );
        }
        crate::proof::tie(origin, (k.size, k.root), trusted, |old, new| {
            client.mirror_consistency(origin, old, new)
        })
        .await
        .context("the node's copy does not extend the checkpoint this computer verified before")?;
    }
    Ok(trusted)
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

/// The whole id of `arg`: as given, or the one statement the node holds
/// whose id starts with the digits given. None, or several, is an error
/// that says which.
pub async fn resolve(client: &Client, arg: &crate::parse::IdArg) -> Result<StatementId> {
    let prefix = match arg {
        crate::parse::IdArg::Whole(id) => return Ok(*id),
        crate::parse::IdArg::Start(p) => p,
    };
    let found = client
        .query("/v1/statements", &[("prefix", prefix.clone())])
        .await?;
    let items = found
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let id_of = |v: &Value| {
        v.get("id")
            .and_then(Value::as_str)
            .and_then(StatementId::from_hex)
    };
    match items.as_slice() {
        [one] => {
            let id = id_of(one).context("the node named a statement by an id that is not one")?;
            // The node's answer is believed only for what was asked.
            anyhow::ensure!(
                id.to_hex().starts_with(prefix.as_str()),
                "the node at {} answered {id} for the id starting {prefix}, which it does not \
                 start with",
                client.base()
            );
            Ok(id)
        }
        [] => anyhow::bail!(
            "the node at {} holds no statement whose id starts with {prefix}",
            client.base()
        ),
        several => {
            let lines: Vec<String> = several
                .iter()
                .map(|v| format!("  {}  {}", scalar(&v["id"]), scalar(&v["kind"])))
                .collect();
            anyhow::bail!(
                "more than one statement's id starts with {prefix}; give more digits:\n{}",
                lines.join("\n")
            )
        }
    }
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
    let node_origin = checkpoint.origin.clone();
    let (origin, key, trusted) = if view.log.is_empty() || view.log == node_origin {
        let (latest, key, _) =
            crate::proof::trusted(&s.client, trust_store, log_key, checkpoint).await?;
        (latest.origin, key, (latest.size, latest.root))
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
        let remedy = format!(
            "This node may be wrong about {log}'s key: ask {log}'s operator which is right, and \
             show the statement from {log}'s own node (kaitiaki --node <its URL> show {id})",
            log = view.log,
        );
        let key = trust::choose_key(None, known.as_ref(), &offered, &remedy)?;
        let trusted = trusted_mirror(&s.client, &view.log, &key, known.as_ref()).await?;
        (view.log.clone(), key, trusted)
    };
    let leaf = check_view(&view, &origin, &key)?;
    let (own_log, client, log) = (origin == node_origin, &s.client, origin.as_str());
    crate::proof::tie(
        log,
        (view.proof.size, view.proof.root),
        trusted,
        move |old, new| async move {
            if own_log {
                client.consistency(old, new).await
            } else {
                client.mirror_consistency(log, old, new).await
            }
        },
    )
    .await?;
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
    // Only text for people uses the names; scripts get the node's view.
    let body = payload.get("body").cloned().unwrap_or(Value::Null);
    let related = match (&state, s.printer.json()) {
        (Some(state), false) => related(&s.client, &kind, state).await,
        (None, false) => {
            let author = statement.author.to_string();
            owner(&s.client, &body, &author, standing.as_ref()).await
        }
        _ => Related::default(),
    };
    s.printer.emit(&Shown {
        id: *id,
        kind,
        author: statement.author,
        created_at: statement.created_at,
        sequenced_at: leaf.sequenced_at(),
        log: origin,
        index: view.leaf.index,
        proved_at_size: view.proof.size,
        body,
        standing,
        state,
        related,
    })
}

/// The most names (or statements) of each sort one `show` looks up: the
/// ids come from the node's view, which a node could make long.
const NAMES_MAX: usize = 64;

/// The name at `pointer` in `prefix/<id>`, for each of the first
/// [`NAMES_MAX`] ids; an id whose lookup fails is left out.
pub(crate) async fn names(
    client: &Client,
    prefix: &str,
    ids: BTreeSet<String>,
    pointer: &str,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for id in ids.into_iter().take(NAMES_MAX) {
        if let Ok(v) = client.query(&format!("{prefix}/{id}"), &[]).await {
            if let Some(name) = v.pointer(pointer).and_then(Value::as_str) {
                out.insert(id, name.to_owned());
            }
        }
    }
    out
}

/// Looks up what a governance view refers to, for people: board names,
/// the names of datasets (under a rāhui that suspends a request, or whose
/// permitted uses it asks beyond), people's announced names, and a
/// concern's subject and responses. Each lookup is a courtesy: when one
/// fails, the text falls back to the id.
async fn related(client: &Client, kind: &str, state: &Value) -> Related {
    let mut r = Related::default();
    let ids = |pointer: &str| -> Vec<String> {
        state
            .pointer(pointer)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    let each = |pointer: &str, field: &str| -> Vec<String> {
        state
            .pointer(pointer)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|item| item.get(field)?.as_str().map(str::to_owned))
            .collect()
    };
    let mut boards = BTreeSet::new();
    let mut datasets = BTreeSet::new();
    let mut people = BTreeSet::new();
    let mut statements = Vec::new();
    match kind {
        "request.submit" => {
            boards.extend(ids("/record/bodies"));
            boards.extend(each("/record/decisions", "body"));
            people.extend(each("/timeline", "author"));
            // Why it is suspended, if it is: the node says in `suspended_by`.
            boards.extend(each("/suspended_by", "body"));
            datasets.extend(each("/suspended_by", "dataset"));
            // Why no board can vote yet, if so: `votes_paused_by`.
            boards.extend(each("/votes_paused_by", "body"));
            datasets.extend(each("/votes_paused_by", "dataset"));
            // Datasets whose permitted uses it asks beyond.
            datasets.extend(each("/unlisted_uses", "dataset"));
            // Datasets whose excluded uses a request naming none was not checked against.
            datasets.extend(each("/unchecked_exclusions", "dataset"));
        }
        "concern.raise" => {
            boards.extend(ids("/bodies"));
            boards.extend(each("/responses", "body"));
            people.extend(
                state
                    .get("raised_by")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            );
            statements.extend(
                state
                    .get("subject")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            );
            statements.extend(each("/responses", "id"));
        }
        "dataset.register" => {
            boards.extend(ids("/record/governing_bodies"));
            boards.extend(each("/record/rahui", "body"));
            people.extend(each("/thread", "author"));
        }
        "body.charter" => {
            // Everyone who held a seat, in any version: the history names
            // those added and removed.
            for version in state
                .get("versions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                people.extend(
                    version
                        .get("members")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|m| m.get("key")?.as_str().map(str::to_owned)),
                );
            }
        }
        _ => {}
    }
    r.boards = names(client, "/v1/bodies", boards, "/record/name").await;
    r.datasets = names(client, "/v1/datasets", datasets, "/record/name").await;
    r.people = names(client, "/v1/keys", people, "/display_name").await;
    for id in statements.into_iter().take(NAMES_MAX) {
        let Some(id_parsed) = StatementId::from_hex(&id) else {
            continue;
        };
        if let Ok(Some(view)) = client.statement(&id_parsed).await {
            r.statements.insert(id, view.statement);
        }
    }
    r
}

/// For a statement the node keeps no view of its own for: what the state
/// files it under (its `owner` in `standing`) and that record's view, the
/// statement a vote is on when that is not the owner itself, and the names
/// of its author and of the board it names. Each lookup is a courtesy, as
/// in [`related`].
pub(crate) async fn owner(
    client: &Client,
    body: &Value,
    author: &str,
    standing: Option<&Value>,
) -> Related {
    let mut r = Related::default();
    let owner = standing.and_then(|s| s.get("owner"));
    let field = |k: &str| owner.and_then(|o| o.get(k)).and_then(Value::as_str);
    let (Some(kind), Some(id)) = (field("type"), field("id")) else {
        return r;
    };
    // A question, its answer or an attachment stands on its own in the
    // state, but is part of the request it is about.
    let item_of;
    let (kind, id) = if kind == "item" {
        let Some(request) = item_request(client, body).await else {
            return r;
        };
        item_of = request;
        ("request", item_of.as_str())
    } else {
        (kind, id)
    };
    let collection = match kind {
        "request" => "requests",
        "body" => "bodies",
        "dataset" => "datasets",
        "concern" => "concerns",
        _ => return r,
    };
    let Ok(view) = client.query(&format!("/v1/{collection}/{id}"), &[]).await else {
        return r;
    };
    r.owner = Some((kind.to_owned(), id.to_owned(), view));
    if let Some(subject) = body
        .get("subject")
        .and_then(Value::as_str)
        .filter(|s| *s != id)
    {
        if let Some(parsed) = StatementId::from_hex(subject) {
            if let Ok(Some(v)) = client.statement(&parsed).await {
                r.statements.insert(subject.to_owned(), v.statement);
            }
        }
    }
    let one = |v: Option<&str>| v.map(str::to_owned).into_iter().collect::<BTreeSet<_>>();
    // An amendment names the people it adds and removes.
    let mut people = one(Some(author));
    let list = |k: &str| body.get(k).and_then(Value::as_array).into_iter().flatten();
    people.extend(list("add_members").filter_map(|m| m.get("key")?.as_str().map(str::to_owned)));
    people.extend(list("remove_members").filter_map(|k| k.as_str().map(str::to_owned)));
    r.boards = names(
        client,
        "/v1/bodies",
        one(body.get("body").and_then(Value::as_str)),
        "/record/name",
    )
    .await;
    r.people = names(client, "/v1/keys", people, "/display_name").await;
    r
}

/// The request a question, an answer (through its question) or an
/// attachment (its subject, if a request) is about.
async fn item_request(client: &Client, body: &Value) -> Option<String> {
    let named = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    if let Some(request) = named("request").or_else(|| named("subject")) {
        return Some(request);
    }
    let question = StatementId::from_hex(&named("question")?)?;
    let asked = client.statement(&question).await.ok()??;
    asked
        .statement
        .pointer("/body/request")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// A governance read that may be missing (an older node, nothing there)
/// or failing: the statement itself is already checked and worth showing,
/// so a failure here is a warning, not the end of the command.
async fn optional(client: &Client, path: &str) -> Result<Option<Value>> {
    client.query_optional(path).await.or_else(|e| {
        eprintln!(
            "warning: the node's governance view ({path}) is unavailable: {}",
            crate::output::error_text(&e)
        );
        Ok(None)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
