//! `kaitiaki log verify <url|data-dir>`: a full audit of a log from nothing.
//!
//! Read [`source`] (where leaves come from), then [`fold`] (what is checked,
//! in parallel and then in order), then [`run`] below, which wires them into
//! a pipeline — reader thread → all cores checking → one thread folding —
//! with bounded channels between them, so the audit streams a log of any
//! length and keeps only a few batches in memory.
//!
//! The audit trusts nothing the node says that it can recompute: it checks
//! every signature, recomputes every id, leaf hash and tree hash, re-runs
//! every governance rule in log order, and compares the root with the latest
//! checkpoint signed under the log's key and with the checkpoint remembered
//! from the last audit of this log. The first fault stops it and is named.

mod bench;
mod fold;
mod source;

use std::fmt;
use std::path::PathBuf;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kaitiaki_protocol::checkpoint::Checkpoint;
use kaitiaki_protocol::note::Note;
use kaitiaki_protocol::Hash;
use serde::Serialize;

pub use bench::Reference;
use fold::{Counts, Fold};
use source::{DataDir, AHEAD};

use crate::client::Client;
use crate::output::{Printer, Render};
use crate::proof::describe;
use crate::trust::{self, History, Known, TrustStore};

/// Arguments of `log verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A node's URL (http://…), or a stopped node's data directory.
    pub target: String,
    /// Also measure this computer's all-core signature rate, for comparison.
    #[arg(long)]
    pub bench: bool,
    /// Threads checking signatures (default: every core).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Do not remember this audit's checkpoint (e.g. when auditing a backup copy).
    #[arg(long)]
    pub no_remember: bool,
}

/// Something wrong with the log: where, and why.
#[derive(Clone, Debug, Serialize, thiserror::Error)]
pub struct Fault {
    /// The first bad leaf, when the fault is in one.
    pub leaf: Option<u64>,
    /// Where on disk or in the log.
    pub place: Option<String>,
    /// What is wrong.
    pub why: String,
}

impl Fault {
    /// A fault in leaf `index`.
    pub fn at(index: u64, place: Option<String>, why: String) -> Fault {
        Fault {
            leaf: Some(index),
            place,
            why,
        }
    }

    /// A fault not tied to one leaf.
    pub fn general(why: String) -> Fault {
        Fault {
            leaf: None,
            place: None,
            why,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.leaf, &self.place) {
            (Some(i), Some(p)) => write!(f, "leaf {i} ({p}): {}", self.why),
            (Some(i), None) => write!(f, "leaf {i}: {}", self.why),
            (None, Some(p)) => write!(f, "{p}: {}", self.why),
            (None, None) => f.write_str(&self.why),
        }
    }
}

/// What an audit found.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// `ok` or `fault`.
    pub result: &'static str,
    /// The URL or directory audited.
    pub source: String,
    /// The log's origin.
    pub origin: String,
    /// The size of the latest signed checkpoint.
    pub size: u64,
    /// Its root.
    pub root: Hash,
    /// Leaves fully checked (all of them, unless there is a fault).
    pub leaves_checked: u64,
    /// What was counted along the way.
    pub counts: Counts,
    /// The governance state hash after folding every leaf, hex.
    pub state_hash: Option<String>,
    /// How this checkpoint relates to the one remembered from before.
    pub history: Option<History>,
    /// Seconds spent checking.
    pub seconds: f64,
    /// Leaves checked per second.
    pub leaves_per_sec: f64,
    /// With `--bench`: this computer's all-core strict verification rate.
    pub reference: Option<Reference>,
    /// The first fault, if any.
    pub fault: Option<Fault>,
}

impl Render for Summary {
    fn human(&self, out: &mut String) {
        let verdict = match &self.fault {
            None => "OK — every check passed",
            Some(_) => "FAULT — the log does not check",
        };
        out.push_str(&format!(
            "Audit of {} ({}): {verdict}\n",
            self.origin, self.source
        ));
        out.push_str(&format!(
            "  checkpoint   size {}, root {}\n",
            self.size, self.root
        ));
        out.push_str(&format!(
            "  leaves       {} of {} checked: signature, statement, id, leaf hash, governance rules\n",
            self.leaves_checked, self.size
        ));
        if self.counts.stored_hashes > 0 || self.counts.checkpoints > 0 {
            out.push_str(&format!(
                "  stored data  {} tree hashes and {} signed checkpoints compared with the leaves\n",
                self.counts.stored_hashes, self.counts.checkpoints
            ));
        }
        if !self.counts.kinds.is_empty() {
            let kinds: Vec<String> = self
                .counts
                .kinds
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            out.push_str(&format!("  statements   {}\n", kinds.join(", ")));
        }
        if let Some(h) = &self.state_hash {
            out.push_str(&format!("  state hash   {h}\n"));
        }
        if let Some(h) = &self.history {
            out.push_str(&format!("  history      {}\n", describe(h)));
        }
        out.push_str(&format!(
            "  speed        {:.0} leaves/s ({:.2} s)\n",
            self.leaves_per_sec, self.seconds
        ));
        if let Some(r) = &self.reference {
            out.push_str(&format!(
                "  reference    {:.0} strict signature checks/s on {} threads; audit runs at {:.2}× that\n",
                r.verifications_per_sec,
                r.threads,
                self.leaves_per_sec / r.verifications_per_sec
            ));
        }
        if let Some(f) = &self.fault {
            out.push_str(&format!("  first fault  {f}\n"));
        }
    }
}

/// Where the log comes from, with its trust anchors resolved.
struct Anchored {
    origin: String,
    key: String,
    size: u64,
    root: Hash,
    note: String,
    known: Option<Known>,
}

/// Runs the audit, prints the summary, and fails with [`Fault`] if the log
/// does not check.
pub async fn run(
    a: &VerifyArgs,
    store: &TrustStore,
    log_key: Option<&str>,
    printer: Printer,
) -> Result<()> {
    let is_url = a.target.starts_with("http://") || a.target.starts_with("https://");
    let (client, dir) = if is_url {
        (Some(Client::new(&a.target)?), None)
    } else {
        let path = PathBuf::from(&a.target);
        (
            None,
            Some(tokio::task::block_in_place(|| DataDir::open(&path))?),
        )
    };
    let anchored = match (&client, &dir) {
        (Some(c), _) => anchor_url(c, store, log_key).await?,
        (_, Some(d)) => anchor_dir(d, store, log_key)?,
        _ => unreachable!("a target is a URL or a directory"),
    };
    let client_for_state = client.clone();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.jobs.unwrap_or(0))
        .build()
        .context("cannot start the checking threads")?;
    let handle = tokio::runtime::Handle::current();
    let (summary, fault) = tokio::task::block_in_place(|| {
        let reference = a
            .bench
            .then(|| pool.install(|| bench::measure(Duration::from_secs(1), 600)));
        audit(
            &a.target,
            &anchored,
            client,
            dir.as_ref(),
            &pool,
            handle,
            printer,
            reference,
        )
    });
    let (summary, fault) = match (&client_for_state, fault) {
        (Some(c), None) => compare_served_state(c, summary).await,
        (_, fault) => (summary, fault),
    };
    printer.emit(&summary)?;
    if let Some(f) = fault {
        return Err(f.into());
    }
    if !a.no_remember {
        store.save(&Known {
            origin: anchored.origin.clone(),
            verifier_key: anchored.key.clone(),
            size: anchored.size,
            root: anchored.root,
            note: anchored.note.clone(),
        })?;
    }
    Ok(())
}

async fn anchor_url(
    client: &Client,
    store: &TrustStore,
    log_key: Option<&str>,
) -> Result<Anchored> {
    let cp = client.checkpoint().await?;
    let known = store.load(&cp.origin)?;
    let key = trust::choose_key(log_key, known.as_ref(), &cp.verifier_key)?;
    let v = trust::open_checkpoint(&cp.note, &cp.origin, &key)?;
    Ok(Anchored {
        size: v.checkpoint().size(),
        root: *v.checkpoint().root(),
        origin: cp.origin,
        key,
        note: cp.note,
        known,
    })
}

fn anchor_dir(dir: &DataDir, store: &TrustStore, log_key: Option<&str>) -> Result<Anchored> {
    let note = dir
        .storage
        .latest_checkpoint()?
        .ok_or_else(|| anyhow!("{} holds no signed checkpoint yet", dir.path.display()))?;
    // The origin is read from the note before its signature is checked,
    // only to know which key to check it with.
    let unverified =
        Note::parse(&note).map_err(|e| anyhow!("the stored checkpoint is malformed: {e}"))?;
    let origin = Checkpoint::from_note(&unverified)
        .map_err(|e| anyhow!("the stored checkpoint is malformed: {e}"))?
        .origin()
        .to_owned();
    let known = store.load(&origin)?;
    let own = dir.node_verifier_key(&origin)?;
    let offered = match (&own, &known) {
        (Some(k), _) => k.clone(),
        (None, Some(k)) => k.verifier_key.clone(),
        (None, None) => anyhow::bail!(
            "{} has no node key and this computer has not audited {origin} before; give the log's \
             key with --log-key",
            dir.path.display()
        ),
    };
    let key = trust::choose_key(log_key, known.as_ref(), &offered)?;
    let text = String::from_utf8(note).context("the stored checkpoint is not UTF-8")?;
    let v = trust::open_checkpoint(&text, &origin, &key)?;
    Ok(Anchored {
        size: v.checkpoint().size(),
        root: *v.checkpoint().root(),
        origin,
        key,
        note: text,
        known,
    })
}

/// The pipeline: reader → checkers → fold. Returns the summary and the
/// first fault.
#[allow(clippy::too_many_arguments)]
fn audit(
    target: &str,
    a: &Anchored,
    client: Option<Client>,
    dir: Option<&DataDir>,
    pool: &rayon::ThreadPool,
    handle: tokio::runtime::Handle,
    printer: Printer,
    reference: Option<Reference>,
) -> (Summary, Option<Fault>) {
    let mut summary = Summary {
        result: "ok",
        source: target.to_owned(),
        origin: a.origin.clone(),
        size: a.size,
        root: a.root,
        leaves_checked: 0,
        counts: Counts::default(),
        state_hash: None,
        history: None,
        seconds: 0.0,
        leaves_per_sec: 0.0,
        reference,
        fault: None,
    };
    let (history, remembered) = match &a.known {
        None => (History::FirstSeen, None),
        Some(k) if k.size > a.size => {
            let f = Fault::general(format!(
                "the log is {} leaves long now, but this computer audited it at {} leaves: a log may only grow",
                a.size, k.size
            ));
            summary.result = "fault";
            summary.fault = Some(f.clone());
            return (summary, Some(f));
        }
        Some(k) if k.size == a.size => (History::Unchanged, Some((k.size, k.root))),
        Some(k) => (History::Extended { from: k.size }, Some((k.size, k.root))),
    };
    let verifier = match trust::verifier(&a.origin, &a.key) {
        Ok(v) => v,
        Err(e) => return fail(summary, Fault::general(format!("{e:#}"))),
    };
    let progress = if printer.json() {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(Some(a.size), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} leaves  {per_sec}  eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    };

    let start = Instant::now();
    let mut fold = Fold::new(&a.origin, verifier, dir.map(|d| &d.storage), remembered);
    let fault = std::thread::scope(|scope| {
        let (raw_tx, raw_rx) = sync_channel(AHEAD);
        let (checked_tx, checked_rx) = sync_channel(AHEAD);
        let size = a.size;
        match (client, dir) {
            (Some(c), _) => {
                scope.spawn(move || source::read_http(c, handle, size, raw_tx));
            }
            (None, Some(d)) => {
                scope.spawn(move || source::read_segments(d, size, raw_tx));
            }
            (None, None) => return Some(Fault::general("nothing to read".into())),
        }
        let origin = a.origin.as_str();
        scope.spawn(move || {
            for item in raw_rx {
                let checked = item.map(|batch| pool.install(|| fold::check_batch(batch, origin)));
                if checked_tx.send(checked).is_err() {
                    return;
                }
            }
        });
        for item in checked_rx {
            let batch = match item {
                Ok(b) => b,
                Err(f) => return Some(f),
            };
            let n = batch.len() as u64;
            for leaf in batch {
                if let Err(f) = leaf.and_then(|l| fold.push(l)) {
                    return Some(f);
                }
            }
            progress.inc(n);
        }
        None
        // Leaving the scope drops the receivers, which stops the other threads.
    });
    progress.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    summary.leaves_checked = fold.size();
    summary.seconds = seconds;
    summary.leaves_per_sec = fold.size() as f64 / seconds.max(1e-9);
    summary.counts = fold.counts.clone();
    if let Some(f) = fault {
        return fail(summary, f);
    }
    if fold.size() != a.size {
        let f = Fault::general(format!(
            "only {} of {} leaves could be read",
            fold.size(),
            a.size
        ));
        return fail(summary, f);
    }
    if fold.root() != a.root {
        let f = Fault::general(format!(
            "the leaves give root {}, but the signed checkpoint says {}",
            fold.root(),
            a.root
        ));
        return fail(summary, f);
    }
    let state_hash = match fold.state_hash() {
        Ok(h) => h,
        Err(f) => return fail(summary, f),
    };
    summary.state_hash = Some(hex::encode(state_hash));
    if let Some(d) = dir {
        if let Err(f) = compare_stored_state(d, a.size, &state_hash) {
            return fail(summary, f);
        }
    }
    summary.history = Some(history);
    (summary, None)
}

/// Compares the state hash a node serves with the one folded from its log,
/// when the node still serves the audited size.
async fn compare_served_state(client: &Client, summary: Summary) -> (Summary, Option<Fault>) {
    let Some(folded) = summary.state_hash.clone() else {
        return (summary, None);
    };
    let served = match client.query("/v1/state/hash", &[]).await {
        Ok(v) => v,
        // An older node without the endpoint: nothing to compare.
        Err(_) => return (summary, None),
    };
    let size = served.get("size").and_then(serde_json::Value::as_u64);
    let hash = served.get("state_hash").and_then(serde_json::Value::as_str);
    match (size, hash) {
        (Some(size), Some(hash)) if size == summary.size && hash != folded => {
            let f = Fault {
                leaf: None,
                place: Some("the node's governance state".into()),
                why: format!(
                    "it serves state hash {hash}, but folding its log gives {folded}: what the node \
                     shows is not what its log says"
                ),
            };
            fail(summary, f)
        }
        _ => (summary, None),
    }
}

/// Compares the governance state the node keeps with the state folded from
/// its log: they must be identical, or the node serves a state its own log
/// does not support. Only when the node had indexed exactly the audited
/// leaves (after a crash, sled may lag until the node's next start).
fn compare_stored_state(d: &DataDir, size: u64, folded: &[u8; 32]) -> Result<(), Fault> {
    let indexed = d
        .storage
        .indexed_size()
        .map_err(|e| Fault::general(format!("cannot read the database: {e}")))?;
    if indexed != size {
        return Ok(());
    }
    let stored = kaitiaki_governance::state_hash(d.storage.state())
        .map_err(|e| Fault::general(format!("cannot read the stored governance state: {e}")))?;
    if stored != *folded {
        return Err(Fault {
            leaf: None,
            place: Some("stored governance state".into()),
            why: format!(
                "its hash {} differs from {}, the state folded from the log: the node's derived state \
                 was altered or is corrupt (it can be rebuilt from the log)",
                hex::encode(stored),
                hex::encode(folded)
            ),
        });
    }
    Ok(())
}

fn fail(mut summary: Summary, f: Fault) -> (Summary, Option<Fault>) {
    summary.result = "fault";
    summary.fault = Some(f.clone());
    (summary, Some(f))
}
