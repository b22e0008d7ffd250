//! `kaitiaki log proof inclusion|consistency`: fetch a proof and check it
//! against a checkpoint signed by the log's key.
//!
//! Each check also compares the node's latest checkpoint with the one this
//! computer saw before (see [`crate::trust`]), so running proofs now and
//! then is itself a small audit of the log's history. A proof counts only
//! when the checkpoint it leads to is that trusted latest checkpoint or,
//! by a consistency proof, a prefix of it ([`tie`]): a log key can sign a
//! second tree of the same size, and a proof into it proves nothing.

use std::future::Future;

use anyhow::{anyhow, bail, Context as _, Result};
use kaitiaki_protocol::merkle::verify_consistency;
use kaitiaki_protocol::{Hash, StatementId};
use serde::Serialize;

use crate::client::{CheckpointView, Client, ConsistencyView};
use crate::output::Render;
use crate::show::check_view;
use crate::submit::Session;
use crate::trust::{self, History, Known, TrustStore};

/// A checked inclusion proof.
#[derive(Debug, Serialize)]
pub struct InclusionChecked {
    /// The statement.
    pub id: StatementId,
    /// The log.
    pub origin: String,
    /// Its leaf index.
    pub index: u64,
    /// The signed tree size proved against.
    pub size: u64,
    /// The signed root.
    pub root: Hash,
    /// How many hashes the proof has.
    pub proof_len: usize,
    /// How the checkpoint relates to the one seen before.
    pub history: History,
}

impl Render for InclusionChecked {
    fn human(&self, out: &mut String) {
        out.push_str(&format!(
            "OK: statement {} is leaf {} of log {}.\n  proof of {} hashes checked against the signed \
             checkpoint of size {} (root {}).\n  {}\n",
            self.id,
            self.index,
            self.origin,
            self.proof_len,
            self.size,
            self.root,
            describe(&self.history)
        ));
    }
}

/// A checked consistency proof.
#[derive(Debug, Serialize)]
pub struct ConsistencyChecked {
    /// The log.
    pub origin: String,
    /// The older size.
    pub old: u64,
    /// The newer size.
    pub new: u64,
    /// The older root.
    pub old_root: Hash,
    /// The newer root.
    pub new_root: Hash,
    /// Whether the older root comes from a checkpoint the log signed (rather
    /// than only from the node's answer).
    pub old_root_signed: bool,
    /// Whether the newer root is signed.
    pub new_root_signed: bool,
    /// How many hashes the proof has.
    pub proof_len: usize,
}

impl Render for ConsistencyChecked {
    fn human(&self, out: &mut String) {
        let signed = |s: bool| {
            if s {
                "signed"
            } else {
                "not signed at that size"
            }
        };
        out.push_str(&format!(
            "OK: log {} at {} leaves is a prefix of the log at {} leaves.\n  old root {} ({})\n  \
             new root {} ({})\n  proof of {} hashes checked.\n",
            self.origin,
            self.old,
            self.new,
            self.old_root,
            signed(self.old_root_signed),
            self.new_root,
            signed(self.new_root_signed),
            self.proof_len
        ));
    }
}

/// How a history check reads.
pub fn describe(h: &History) -> String {
    match h {
        History::FirstSeen => {
            "First check of this log from this computer: its key is now remembered.".into()
        }
        History::Unchanged => "Same checkpoint as this computer saw last time.".into(),
        History::Extended { from } => {
            format!("Consistent with the checkpoint of size {from} this computer saw before.")
        }
        History::Behind { seen } => {
            format!(
                "Behind the checkpoint of size {seen} this computer saw before; not tied to it."
            )
        }
    }
}

/// The latest checkpoint, verified under the trusted key and checked
/// against what was seen before; remembers it.
pub async fn latest_trusted(
    client: &Client,
    store: &TrustStore,
    log_key: Option<&str>,
) -> Result<(CheckpointView, String, History)> {
    let cp = client.checkpoint().await?;
    trusted(client, store, log_key, cp).await
}

/// [`latest_trusted`] for a checkpoint `cp` the node already served.
pub async fn trusted(
    client: &Client,
    store: &TrustStore,
    log_key: Option<&str>,
    cp: CheckpointView,
) -> Result<(CheckpointView, String, History)> {
    let known = store.load(&cp.origin)?;
    let key = trust::choose_key(
        log_key,
        known.as_ref(),
        &cp.verifier_key,
        trust::LOG_KEY_REMEDY,
    )?;
    let verified = trust::open_checkpoint(&cp.note, &cp.origin, &key)?;
    let (size, root) = (verified.checkpoint().size(), *verified.checkpoint().root());
    if size != cp.size || root != cp.root {
        bail!("the node's checkpoint fields do not match its signed note");
    }
    let mut proof = None;
    if let Some(k) = &known {
        if k.size > 0 && k.size < size {
            proof = Some(client.consistency(k.size, size).await?);
        }
    }
    let history = trust::check_history(known.as_ref(), size, &root, |_, _| {
        proof
            .take()
            .map(|p| p.hashes)
            .ok_or_else(|| anyhow!("no consistency proof"))
    })?;
    store.save(&Known {
        origin: cp.origin.clone(),
        verifier_key: key.clone(),
        size,
        root,
        note: cp.note.clone(),
        key_from: trust::KeyFrom::of(log_key.is_some(), known.as_ref()),
    })?;
    Ok((cp, key, history))
}

/// Ties the checkpoint (size, root) a served proof is against to the
/// trusted checkpoint of the log `origin` (see [`trust::tie`]), fetching
/// the consistency proof between them with `fetch(old, new)` when the
/// proof's checkpoint is the smaller.
pub async fn tie<F, Fut>(
    origin: &str,
    at: (u64, Hash),
    trusted: (u64, Hash),
    fetch: F,
) -> Result<()>
where
    F: FnOnce(u64, u64) -> Fut,
    Fut: Future<Output = Result<ConsistencyView>>,
{
    let mut proof = None;
    if 0 < at.0 && at.0 < trusted.0 {
        proof = Some(fetch(at.0, trusted.0).await?.hashes);
    }
    trust::tie(origin, at, trusted, |_, _| {
        proof.take().ok_or_else(|| anyhow!("no consistency proof"))
    })
}

/// `log proof inclusion ID`.
pub async fn inclusion(
    s: &Session,
    store: &TrustStore,
    log_key: Option<&str>,
    id: &StatementId,
) -> Result<()> {
    // The statement first: the latest checkpoint, read after it, covers it.
    let view = s.client.statement(id).await?;
    let (cp, key, history) = latest_trusted(&s.client, store, log_key).await?;
    let view = view.with_context(|| format!("the log {} has no statement {id}", cp.origin))?;
    if !view.log.is_empty() && view.log != cp.origin {
        // The node follows that log's node, so it knows where it is.
        let home = match s.client.query_optional("/v1/peers").await {
            Ok(Some(peers)) => peers["peers"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["origin"] == view.log.as_str())
                .and_then(|p| p["url"].as_str())
                .map(|url| format!(": kaitiaki --node {url} log proof inclusion {id}")),
            _ => None,
        };
        anyhow::bail!(
            "statement {id} is in the log {}, which this node only mirrors; ask the node that runs \
             that log for the proof{} (`kaitiaki show {id}` checks the mirrored copy)",
            view.log,
            home.unwrap_or_default()
        );
    }
    check_view(&view, &cp.origin, &key)?;
    tie(
        &cp.origin,
        (view.proof.size, view.proof.root),
        (cp.size, cp.root),
        |old, new| s.client.consistency(old, new),
    )
    .await?;
    s.printer.emit(&InclusionChecked {
        id: *id,
        origin: cp.origin,
        index: view.leaf.index,
        size: view.proof.size,
        root: view.proof.root,
        proof_len: view.proof.hashes.len(),
        history,
    })
}

/// `log proof consistency OLD [NEW]`.
pub async fn consistency(
    s: &Session,
    store: &TrustStore,
    log_key: Option<&str>,
    old: u64,
    new: Option<u64>,
) -> Result<()> {
    let (cp, key, _) = latest_trusted(&s.client, store, log_key).await?;
    let new = new.unwrap_or(cp.size);
    if old == 0 || old > new || new > cp.size {
        bail!(
            "sizes must satisfy 0 < old <= new <= {} (the log's size)",
            cp.size
        );
    }
    let proof = s.client.consistency(old, new).await?;
    // A root counts as signed only when a checkpoint the log signed at that
    // exact size says so; otherwise it is the node's unsigned word.
    let signed_root = |size: u64| {
        let client = s.client.clone();
        let (origin, key, latest) = (cp.origin.clone(), key.clone(), cp.clone());
        async move {
            if size == latest.size {
                return Ok::<_, anyhow::Error>(Some(latest.root));
            }
            match client.checkpoint_at(size).await? {
                Some(note) => {
                    let v = trust::open_checkpoint(&note, &origin, &key)?;
                    Ok(Some(*v.checkpoint().root()))
                }
                None => Ok(None),
            }
        }
    };
    let old_signed = signed_root(old).await?;
    let new_signed = signed_root(new).await?;
    for (label, signed, served) in [
        ("old", old_signed, proof.old_root),
        ("new", new_signed, proof.new_root),
    ] {
        if signed.is_some_and(|r| r != served) {
            bail!("the node's {label} root differs from the root the log signed at that size");
        }
    }
    verify_consistency(old, new, &proof.old_root, &proof.new_root, &proof.hashes)
        .map_err(|e| anyhow!("the consistency proof does not check: {e}"))?;
    s.printer.emit(&ConsistencyChecked {
        origin: cp.origin,
        old,
        new,
        old_root: proof.old_root,
        new_root: proof.new_root,
        old_root_signed: old_signed.is_some(),
        new_root_signed: new_signed.is_some(),
        proof_len: proof.hashes.len(),
    })
}
