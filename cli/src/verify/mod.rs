//! `kaitiaki log verify <url|data-dir>`: a full audit, from nothing, of a
//! node's log and of every log the node folds into its governance state.
//!
//! Read [`source`] (where leaves come from), [`plan`] (which mirrors are
//! read, and what each must match), then [`fold`] (what is checked, in
//! parallel and then in order), then [`run`] below, which wires them into
//! a pipeline — reader thread → all cores checking → one thread folding —
//! with bounded channels between them, one such line per log, so the audit
//! streams logs of any length and keeps only a few batches per log in
//! memory. [`forks`] gathers every verified checkpoint the audit meets, so
//! that two roots one log key signed for one size are named as a fork.
//!
//! A federated node holds its own log and a mirror of each peer's log, and
//! its governance state is the fold of all of them (a vote in one log refers
//! to a request in another). So the audit reads the own log and each mirror
//! that has a *complete* checkpoint (the peer's signed checkpoint whose
//! whole tree the mirror holds) side by side, each log in index order, and
//! folds every statement into one state, taking the logs' leaves merged by
//! position (sequenced time, log, index), the order the node met them in. For each mirror it checks every signature, recomputes the tree,
//! and compares the root with that checkpoint, verified under the peer's
//! log key: the key given with `--peer-key`, else the one this computer
//! remembers, else the one the audited node reports (weaker, and said so).
//!
//! Once every log is folded, the audit judges the own log's statements: each
//! must refer only to statements held (earlier in its own log, or in a
//! mirror), and none may be excluded for a reason its node had to see when
//! it sequenced it. Exclusions that another log's later news can cause (a
//! key revoked elsewhere) are shown as notes; the mirrors' exclusions are
//! counted, since their own nodes answer for them.
//!
//! The audit trusts nothing the node says that it can recompute: it checks
//! every signature, recomputes every id, leaf hash and tree hash, re-runs
//! every governance rule, compares the own log's root with the latest
//! checkpoint signed under its key and with the checkpoint remembered from
//! the last audit of this log, and compares the folded state hash with the
//! one the node serves or stores. The first fault stops it and is named.

mod bench;
mod fold;
mod forks;
mod plan;
mod source;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kaitiaki_protocol::checkpoint::Checkpoint;
use kaitiaki_protocol::note::Note;
use kaitiaki_protocol::Hash;
use serde::Serialize;

pub use bench::Reference;
use fold::{Checked, Counts, Fold, LogFold};
use plan::{given_peer_keys, plan_dir, plan_url, MirrorPlan};
use source::{DataDir, Item, AHEAD};

use crate::client::Client;
use crate::output::{Printer, Render};
use crate::proof::describe;
use crate::trust::{self, History, KeyFrom, Known, TrustStore};

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
    /// Do not remember this audit's checkpoints.
    #[arg(long)]
    pub no_remember: bool,
    /// The data directory is a copy (a backup): audit it whole even when it
    /// is behind what this computer audited of the log before, and say so.
    /// Implies --no-remember.
    #[arg(long)]
    pub backup: bool,
    /// A peer's log key for checking the node's mirror of that log (repeatable);
    /// without it, the key this computer remembers or, weaker, the one the node reports
    #[arg(long = "peer-key", value_name = "ORIGIN=KEY")]
    pub peer_key: Vec<String>,
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
    /// How the log's key was learned: given, offered by the node and
    /// trusted on first use, or remembered before this was recorded.
    pub key_from: KeyFrom,
    /// Whether `--log-key` gave the key this time.
    pub key_given: bool,
    /// Whether this computer now remembers the checkpoint for the next
    /// audit (not with `--no-remember`, nor after a fault).
    pub remembered: bool,
    /// Seconds spent checking.
    pub seconds: f64,
    /// Leaves checked per second.
    pub leaves_per_sec: f64,
    /// With `--bench`: this computer's all-core strict verification rate.
    pub reference: Option<Reference>,
    /// Every mirrored log audited and folded with the own log.
    pub mirrors: Vec<MirrorSummary>,
    /// The own log's statements excluded for reasons another log's later
    /// news can cause, by rejection code (not faults).
    pub own_excluded: BTreeMap<&'static str, u64>,
    /// What the audit could not check, or checked with weaker trust.
    pub notes: Vec<String>,
    /// The first fault, if any.
    pub fault: Option<Fault>,
}

/// Where the key a mirror's checkpoint was verified under came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// Given with `--peer-key`.
    Given,
    /// Remembered by this computer from an earlier audit of that log.
    Remembered,
    /// Reported by the audited node itself (its peer list or its database).
    Node,
    /// No key anywhere: the checkpoint's signature was not checked, only
    /// that the leaves make the root it states.
    Unknown,
}

impl KeySource {
    fn describe(self) -> &'static str {
        match self {
            KeySource::Given => "key given with --peer-key",
            KeySource::Remembered => "key remembered by this computer",
            KeySource::Node => "key as the audited node reports it (weaker)",
            KeySource::Unknown => "no key known: its signature was NOT checked",
        }
    }
}

/// One mirrored log, as audited.
#[derive(Clone, Debug, Serialize)]
pub struct MirrorSummary {
    /// The mirrored log's origin.
    pub origin: String,
    /// Leaves checked and folded.
    pub leaves: u64,
    /// The size of the peer's complete checkpoint the mirror was checked against.
    pub checkpoint_size: u64,
    /// Its root.
    pub root: Hash,
    /// Whether the mirror's leaves make that root.
    pub root_ok: bool,
    /// Where the peer's log key came from.
    pub key_source: KeySource,
    /// How that key was first learned, for a key remembered.
    pub key_from: KeyFrom,
    /// The key, if one was known.
    pub key: Option<String>,
    /// Its statements excluded from the state, by rejection code.
    pub excluded: BTreeMap<&'static str, u64>,
    /// Its statements still waiting for a statement no log held has.
    pub pending: u64,
    /// How its complete checkpoint relates to the one this computer
    /// remembered for the log.
    pub history: History,
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
            let told = match (h, self.remembered) {
                (History::FirstSeen, false) => {
                    "First check of this log from this computer; nothing was remembered.".to_owned()
                }
                _ => describe(h),
            };
            out.push_str(&format!("  history      {told}\n"));
        }
        out.push_str(&format!(
            "  log key      {}\n",
            self.key_from.describe(
                self.key_given,
                matches!(self.history, Some(History::FirstSeen)),
                "--log-key"
            )
        ));
        if self.mirrors.is_empty() {
            out.push_str("  mirrors      none\n");
        }
        for m in &self.mirrors {
            let root = if m.root_ok {
                "root ok"
            } else {
                "root NOT checked"
            };
            let mut line = format!(
                "  mirror       {}: {} leaves, {root} at size {}, {}",
                m.origin,
                m.leaves,
                m.checkpoint_size,
                match (m.key_source, m.key_from) {
                    (KeySource::Remembered, KeyFrom::Offered) => format!(
                        "key {}",
                        KeyFrom::Offered.describe(false, false, "--peer-key")
                    ),
                    (source, _) => source.describe().to_owned(),
                }
            );
            if !m.excluded.is_empty() {
                let codes: Vec<String> =
                    m.excluded.iter().map(|(k, n)| format!("{k} {n}")).collect();
                line.push_str(&format!("; excluded {}", codes.join(", ")));
            }
            if m.pending > 0 {
                line.push_str(&format!("; {} waiting", m.pending));
            }
            match m.history {
                History::FirstSeen => {}
                History::Unchanged => line.push_str("; as this computer saw it last time"),
                History::Extended { from } => line.push_str(&format!(
                    "; consistent with the checkpoint of size {from} this computer saw before"
                )),
                History::Behind { seen } => line.push_str(&format!(
                    "; behind the checkpoint of size {seen} this computer saw before, so not tied to it"
                )),
            }
            out.push_str(&line);
            out.push('\n');
        }
        if !self.own_excluded.is_empty() {
            let codes: Vec<String> = self
                .own_excluded
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            out.push_str(&format!(
                "  excluded     {} (news from other logs its node could not have had; not faults)\n",
                codes.join(", ")
            ));
        }
        for n in &self.notes {
            out.push_str(&format!("  note         {n}\n"));
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
    /// How `key` was learned.
    key_from: KeyFrom,
    /// Whether `--log-key` gave it this time.
    key_given: bool,
    size: u64,
    root: Hash,
    note: String,
    known: Option<Known>,
    plan: MirrorPlan,
    /// A data directory audited with `--backup`, as a copy: behind what
    /// this computer saw before is then no fault.
    copy: bool,
}

/// Runs the audit, prints the summary, and fails with [`Fault`] if the log
/// does not check.
pub async fn run(
    a: &VerifyArgs,
    store: &TrustStore,
    log_key: Option<&str>,
    printer: Printer,
) -> Result<()> {
    let given = given_peer_keys(&a.peer_key)?;
    let is_url = a.target.starts_with("http://") || a.target.starts_with("https://");
    if is_url && a.backup {
        anyhow::bail!(
            "--backup is for a copy of a data directory; a node's URL serves its log as it is now"
        );
    }
    let (client, dir) = if is_url {
        if let Some(root) = a.target.trim_end_matches('/').strip_suffix("/v1") {
            anyhow::bail!(
                "the node URL {} ends in /v1; give the node's own address, without /v1: \
                 kaitiaki log verify {root}",
                a.target
            );
        }
        (Some(Client::named_by(&a.target, "the URL to audit")?), None)
    } else {
        let path = PathBuf::from(&a.target);
        (
            None,
            Some(tokio::task::block_in_place(|| DataDir::open(&path))?),
        )
    };
    let anchored = match (&client, &dir) {
        (Some(c), _) => match anchor_url(c, store, log_key).await {
            Ok(mut anchored) => plan_url(c, store, &given, &anchored).await.map(|plan| {
                anchored.plan = plan;
                anchored
            }),
            Err(e) => Err(e),
        },
        (_, Some(d)) => anchor_dir(d, store, log_key).and_then(|mut anchored| {
            anchored.plan = tokio::task::block_in_place(|| plan_dir(d, store, &given, &anchored))?;
            anchored.copy = a.backup;
            Ok(anchored)
        }),
        _ => unreachable!("a target is a URL or a directory"),
    }
    .map_err(|e| unanchored(e, &a.target, printer))?;
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
    let (mut summary, fault) = match (&client_for_state, fault) {
        (Some(c), None) if anchored.plan.comparable => {
            compare_served_state(c, summary, &anchored.plan.served_sizes).await
        }
        (_, fault) => (summary, fault),
    };
    // A backup is never remembered: it is behind the log by nature.
    let remember = !(a.no_remember || a.backup);
    summary.remembered = remember && fault.is_none();
    printer.emit(&summary)?;
    if let Some(f) = fault {
        return Err(f.into());
    }
    if remember {
        store.save(&Known {
            origin: anchored.origin.clone(),
            verifier_key: anchored.key.clone(),
            size: anchored.size,
            root: anchored.root,
            note: anchored.note.clone(),
            key_from: anchored.key_from,
        })?;
        // A mirror's checkpoint is remembered like the own log's, so that
        // the next audit, here or of another node holding the same log,
        // checks it extends this one. Without a key it was not verified,
        // and there is nothing to remember it under.
        for m in &anchored.plan.mirrors {
            if m.source == KeySource::Unknown {
                continue;
            }
            // A copy lagging behind does not replace a larger checkpoint.
            if matches!(m.history, History::Behind { .. }) {
                continue;
            }
            store.save(&Known {
                origin: m.origin.clone(),
                verifier_key: m.key.clone(),
                size: m.complete_size,
                root: m.complete_root,
                note: m.complete_note.clone(),
                key_from: m.key_from,
            })?;
        }
    }
    Ok(())
}

async fn anchor_url(
    client: &Client,
    store: &TrustStore,
    log_key: Option<&str>,
) -> Result<Anchored> {
    let cp = client.checkpoint().await?;
    if let Some(k) = log_key {
        trust::given_key_fits(k, &cp.origin, client.base())?;
    }
    let known = store.load(&cp.origin)?;
    let key = trust::choose_key(
        log_key,
        known.as_ref(),
        &cp.verifier_key,
        trust::LOG_KEY_REMEDY,
    )
    .map_err(fault_in(KEY))?;
    let v = trust::open_checkpoint(&cp.note, &cp.origin, &key)
        .map_err(fault_in("the node's latest checkpoint"))?;
    Ok(Anchored {
        size: v.checkpoint().size(),
        root: *v.checkpoint().root(),
        origin: cp.origin,
        key,
        key_from: KeyFrom::of(log_key.is_some(), known.as_ref()),
        key_given: log_key.is_some(),
        note: cp.note,
        known,
        plan: MirrorPlan::default(),
        copy: false,
    })
}

fn anchor_dir(dir: &DataDir, store: &TrustStore, log_key: Option<&str>) -> Result<Anchored> {
    let note = dir
        .storage
        .latest_checkpoint()?
        .ok_or_else(|| anyhow!("{} holds no signed checkpoint yet", dir.path.display()))?;
    // The origin is read from the note before its signature is checked,
    // only to know which key to check it with.
    let stored = fault_in("the stored latest checkpoint");
    let unverified = Note::parse(&note)
        .map_err(|e| stored(anyhow!("the stored checkpoint is malformed: {e}")))?;
    let origin = Checkpoint::from_note(&unverified)
        .map_err(|e| stored(anyhow!("the stored checkpoint is malformed: {e}")))?
        .origin()
        .to_owned();
    if let Some(k) = log_key {
        trust::given_key_fits(k, &origin, &dir.path.display().to_string())?;
    }
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
    let key = trust::choose_key(log_key, known.as_ref(), &offered, trust::LOG_KEY_REMEDY)
        .map_err(fault_in(KEY))?;
    let text = String::from_utf8(note)
        .map_err(|_| stored(anyhow!("the stored checkpoint is not UTF-8")))?;
    let mut v = trust::open_checkpoint(&text, &origin, &key).map_err(&stored)?;
    let mut text = text;
    newest_stored(dir, &origin, &key, v.checkpoint().size())?;
    // The checkpoint the node kept beside its database covers more when
    // its process was killed before the database was written: its last
    // batches are synced in the segments, and it signed them.
    let kept = dir
        .storage
        .kept_checkpoint()
        .and_then(|n| String::from_utf8(n).ok())
        .and_then(|n| Some((trust::open_checkpoint(&n, &origin, &key).ok()?, n)));
    if let Some((later, note)) = kept.filter(|(k, _)| k.checkpoint().size() > v.checkpoint().size())
    {
        (v, text) = (later, note);
    }
    Ok(Anchored {
        size: v.checkpoint().size(),
        root: *v.checkpoint().root(),
        origin,
        key,
        key_from: KeyFrom::of(log_key.is_some(), known.as_ref()),
        key_given: log_key.is_some(),
        note: text,
        known,
        plan: MirrorPlan::default(),
        copy: false,
    })
}

/// Checks that no stored checkpoint is larger than the latest one, of
/// `size`: the audit reads the leaves the latest covers, so a latest
/// checkpoint swapped for an older one would leave the leaves after it
/// unaudited, and the node serving them again at its next start.
fn newest_stored(dir: &DataDir, origin: &str, key: &str, size: u64) -> Result<(), Fault> {
    let mut newest = None;
    for stored in dir.storage.checkpoints() {
        let (at, note) =
            stored.map_err(|e| Fault::general(format!("cannot read stored checkpoints: {e}")))?;
        if at > size {
            newest = Some((at, note));
        }
    }
    let Some((at, note)) = newest else {
        return Ok(());
    };
    let place = Some("the stored latest checkpoint".to_owned());
    let why = match String::from_utf8(note)
        .map_err(|_| anyhow!("it is not UTF-8"))
        .and_then(|text| trust::open_checkpoint(&text, origin, key))
    {
        Ok(v) if v.checkpoint().size() == at => format!(
            "it is of size {size}, but the database also holds the log's signed checkpoint of size \
             {at}: the latest was replaced by an older one, which would leave the leaves after it \
             unaudited"
        ),
        Ok(v) => format!(
            "it is of size {size}, but the database holds a checkpoint of size {} stored as the \
             one of size {at}",
            v.checkpoint().size()
        ),
        Err(e) => format!(
            "it is of size {size}, but the database also holds a checkpoint stored at size {at}, \
             which does not check: {}",
            crate::output::error_text(&e)
        ),
    };
    Err(Fault {
        leaf: None,
        place,
        why,
    })
}

/// Where a fault in the log's key is named.
const KEY: &str = "the log's key";

/// Turns an error in what the log signed or the node stored into a
/// [`Fault`] at `place`: the log does not check, as surely as a bad leaf.
fn fault_in(place: &str) -> impl Fn(anyhow::Error) -> anyhow::Error + '_ {
    move |e| {
        Fault {
            leaf: None,
            place: Some(place.to_owned()),
            why: crate::output::error_text(&e),
        }
        .into()
    }
}

/// The summary of an audit that faulted before it could read a leaf: the
/// log's own checkpoint or key, or what the node keeps about a mirror,
/// does not check.
#[derive(Debug, Serialize)]
struct Unanchored<'a> {
    result: &'static str,
    source: &'a str,
    fault: &'a Fault,
}

impl Render for Unanchored<'_> {
    fn human(&self, out: &mut String) {
        out.push_str(&format!(
            "Audit of {}: FAULT — the log does not check\n  first fault  {}\n",
            self.source, self.fault
        ));
    }
}

/// Prints the summary of an audit stopped by `e` before it read a leaf,
/// if `e` is a fault, and hands `e` back.
fn unanchored(e: anyhow::Error, source: &str, printer: Printer) -> anyhow::Error {
    if let Some(fault) = e.downcast_ref::<Fault>() {
        let summary = Unanchored {
            result: "fault",
            source,
            fault,
        };
        if let Err(printing) = printer.emit(&summary) {
            return printing;
        }
    }
    e
}

/// A reader of one log, run on its own thread; it returns what it noted
/// beyond the leaves it sent.
type Reader<'s> = Box<dyn FnOnce(SyncSender<Item>) -> Vec<String> + Send + 's>;

/// One log on its way through the pipeline: its tree, the checked leaves
/// waiting to be folded, and where more come from.
struct Stream<'a> {
    log: LogFold<'a>,
    rx: Receiver<Result<Vec<Result<Checked, Fault>>, Fault>>,
    queue: VecDeque<Result<Checked, Fault>>,
    done: bool,
}

impl Stream<'_> {
    /// Waits for more leaves if none are queued; false at the log's end.
    fn fill(&mut self, progress: &ProgressBar) -> Result<bool, Fault> {
        while self.queue.is_empty() && !self.done {
            match self.rx.recv() {
                Ok(Ok(batch)) => {
                    progress.inc(batch.len() as u64);
                    self.queue.extend(batch);
                }
                Ok(Err(f)) => return Err(f),
                Err(_) => self.done = true,
            }
        }
        Ok(!self.queue.is_empty())
    }
}

/// Streams every log through the pipeline — each log's `read` on its own
/// thread, the checks on every core, the fold here — merging the logs by
/// position (sequenced time, log, index) so that governance takes the
/// statements in the order the node took them. Returns each log's tree
/// state, the first fault and the readers' notes.
fn pipe<'a>(
    fold: &mut Fold,
    logs: Vec<(LogFold<'a>, Reader<'_>)>,
    pool: &rayon::ThreadPool,
    progress: &ProgressBar,
) -> (Vec<LogFold<'a>>, Option<Fault>, Vec<String>) {
    std::thread::scope(|scope| {
        let mut streams = Vec::with_capacity(logs.len());
        let mut readers = Vec::with_capacity(logs.len());
        for (log, read) in logs {
            let (raw_tx, raw_rx) = sync_channel(AHEAD);
            let (checked_tx, checked_rx) = sync_channel(AHEAD);
            readers.push(scope.spawn(move || read(raw_tx)));
            let origin = log.origin().to_owned();
            let mirror = !streams.is_empty();
            scope.spawn(move || {
                for item in raw_rx {
                    let checked = item
                        .map(|batch| pool.install(|| fold::check_batch(batch, &origin, mirror)))
                        .map_err(|f| if mirror { in_mirror(f, &origin) } else { f });
                    if checked_tx.send(checked).is_err() {
                        return;
                    }
                }
            });
            streams.push(Stream {
                log,
                rx: checked_rx,
                queue: VecDeque::new(),
                done: false,
            });
        }
        let fault = merge(fold, &mut streams, progress).err();
        // Dropping the receivers stops the other threads before the scope
        // waits for them.
        let logs = streams.into_iter().map(|s| s.log).collect();
        let notes = readers
            .into_iter()
            .flat_map(|r| r.join().unwrap_or_default())
            .collect();
        (logs, fault, notes)
    })
}

/// Names the mirror in a reader's fault, if the reader did not.
fn in_mirror(mut f: Fault, origin: &str) -> Fault {
    let label = format!("mirror of {origin}");
    f.place = match f.place.take() {
        Some(p) if p.starts_with(&label) => Some(p),
        Some(p) => Some(format!("{label}, {p}")),
        None => Some(label),
    };
    f
}

fn merge(fold: &mut Fold, streams: &mut [Stream<'_>], progress: &ProgressBar) -> Result<(), Fault> {
    loop {
        let mut next: Option<usize> = None;
        for i in 0..streams.len() {
            if !streams[i].fill(progress)? {
                continue;
            }
            let leaf = match streams[i].queue.front() {
                Some(Ok(l)) => l,
                Some(Err(f)) => return Err(f.clone()),
                None => continue,
            };
            let earlier = match next {
                None => true,
                Some(j) => match streams[j].queue.front() {
                    Some(Ok(other)) => leaf.pos() < other.pos(),
                    _ => true,
                },
            };
            if earlier {
                next = Some(i);
            }
        }
        let Some(i) = next else {
            return Ok(());
        };
        let stream = &mut streams[i];
        if let Some(Ok(leaf)) = stream.queue.pop_front() {
            fold.push(&mut stream.log, leaf)?;
        }
    }
}

/// The pipeline over every log held: the own log and each mirror.
/// Returns the summary and the first fault.
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
        key_from: a.key_from,
        key_given: a.key_given,
        remembered: false,
        seconds: 0.0,
        leaves_per_sec: 0.0,
        reference,
        mirrors: Vec::new(),
        own_excluded: BTreeMap::new(),
        notes: a.plan.notes.clone(),
        fault: None,
    };
    let (history, remembered) = match &a.known {
        None => (History::FirstSeen, None),
        // A backup is behind its log as a matter of course: checked whole
        // against its own signed checkpoint, it cannot be tied to the one
        // remembered at a larger size.
        Some(k) if k.size > a.size && a.copy => {
            summary.notes.push(format!(
                "this copy holds {} leaves, fewer than the {} this computer audited before: it was \
                 checked against its own signed checkpoint but could not be tied to the one \
                 remembered",
                a.size, k.size
            ));
            (History::Behind { seen: k.size }, None)
        }
        Some(k) if k.size > a.size => {
            let copy = if dir.is_some() {
                "; if this directory is a copy (a backup), audit it with --backup"
            } else {
                ""
            };
            let f = Fault::general(format!(
                "the log is {} leaves long now, but this computer audited it at {} leaves: a log \
                 may only grow{copy}",
                a.size, k.size
            ));
            summary.result = "fault";
            summary.fault = Some(f.clone());
            return (summary, Some(f));
        }
        Some(k) if k.size == a.size => (History::Unchanged, Some((k.size, k.root))),
        Some(k) => (History::Extended { from: k.size }, Some((k.size, k.root))),
    };
    if let Some(f) = &a.plan.fault {
        return fail(summary, f.clone());
    }
    let verifier = match trust::verifier(&a.origin, &a.key) {
        Ok(v) => v,
        Err(e) => return fail(summary, Fault::general(crate::output::error_text(&e))),
    };
    // Sizes a node or a data directory merely states (a mirror's, before
    // its checkpoint is checked) size the progress bar and nothing else,
    // so they are added without overflow and without trust.
    let total = a
        .plan
        .mirrors
        .iter()
        .fold(a.size, |t, m| t.saturating_add(m.size));
    let progress = if printer.json() {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} leaves  {per_sec}  eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    };

    // A data directory's mirrors, opened to compare their stored trees and
    // leaf locations with their leaves.
    let mut opened = Vec::new();
    if let Some(d) = dir {
        for m in &a.plan.mirrors {
            match d.storage.existing_mirror(&m.origin) {
                Ok(log) => opened.push(log),
                Err(e) => {
                    let f = Fault {
                        leaf: None,
                        place: Some(format!("mirror of {}", m.origin)),
                        why: format!("cannot open its stored tree: {e}"),
                    };
                    return fail(summary, f);
                }
            }
        }
    }
    let start = Instant::now();
    let mut fold = Fold::new(&a.origin);
    let own = LogFold::own(&a.origin, verifier, dir.map(|d| &d.storage), remembered);
    let size = a.size;
    let own_reader: Reader<'_> = match (&client, dir) {
        (Some(c), _) => {
            let (base, h) = (c.base().to_owned(), handle.clone());
            Box::new(move |tx| {
                source::read_http(base, None, h, size, tx);
                Vec::new()
            })
        }
        (None, Some(d)) => Box::new(move |tx| {
            source::read_segments(
                d.storage.log_dir(),
                size,
                "the latest signed checkpoint",
                Some(fold::Stored::Own(&d.storage)),
                tx,
            )
        }),
        (None, None) => return fail(summary, Fault::general("nothing to read".into())),
    };
    let mut logs = vec![(own, own_reader)];
    for (i, m) in a.plan.mirrors.iter().enumerate() {
        let stored = opened.get(i).and_then(Option::as_deref);
        let log = LogFold::mirror(
            &m.origin,
            (m.complete_size, m.complete_root),
            m.remembered,
            stored,
        );
        let size = m.size;
        let reader: Reader<'_> = match (&client, dir) {
            (Some(c), _) => {
                let (base, origin, h) = (c.base().to_owned(), m.origin.clone(), handle.clone());
                Box::new(move |tx| {
                    source::read_http(base, Some(origin), h, size, tx);
                    Vec::new()
                })
            }
            (None, Some(d)) => {
                let log_dir = d.mirror_log_dir(&m.origin);
                let bound = format!(
                    "the size the database records for the mirror of {}",
                    m.origin
                );
                let index_of = stored.map(fold::Stored::Mirror);
                Box::new(move |tx| source::read_segments(&log_dir, size, &bound, index_of, tx))
            }
            (None, None) => return fail(summary, Fault::general("nothing to read".into())),
        };
        logs.push((log, reader));
    }
    let (logs, mut fault, notes) = pipe(&mut fold, logs, pool, &progress);
    summary.notes.extend(notes);
    progress.finish_and_clear();
    let own_size = logs[0].size();
    if let Some(d) = dir {
        // The id index is compared once every leaf read is folded; its
        // first bad leaf may come before the fault that stopped the fold.
        if let Err(f) = fold.check_own_index(&d.storage, own_size) {
            fault = Some(match fault {
                Some(g) if g.leaf.is_none() || g.leaf <= f.leaf => g,
                _ => f,
            });
        }
    }
    let own_root = logs[0].root();
    for (m, log) in a.plan.mirrors.iter().zip(&logs[1..]) {
        summary.mirrors.push(MirrorSummary {
            origin: m.origin.clone(),
            leaves: log.size(),
            checkpoint_size: m.complete_size,
            root: m.complete_root,
            root_ok: log.complete_met(),
            key_source: m.source,
            key_from: m.key_from,
            key: (m.source != KeySource::Unknown).then(|| m.key.clone()),
            excluded: BTreeMap::new(),
            pending: 0,
            history: m.history.clone(),
        });
    }
    let seconds = start.elapsed().as_secs_f64();
    let leaves: u64 = logs.iter().map(LogFold::size).sum();
    summary.leaves_checked = own_size;
    summary.seconds = seconds;
    summary.leaves_per_sec = leaves as f64 / seconds.max(1e-9);
    summary.counts = fold.counts.clone();
    if let Some(f) = fault {
        return fail(summary, f);
    }
    if own_size != a.size {
        let f = Fault::general(format!(
            "only {own_size} of {} leaves could be read",
            a.size
        ));
        return fail(summary, f);
    }
    if own_root != a.root {
        let f = Fault::general(format!(
            "the leaves give root {own_root}, but the signed checkpoint says {}",
            a.root
        ));
        return fail(summary, f);
    }
    for (m, log) in a.plan.mirrors.iter().zip(&logs[1..]) {
        let why = if log.size() != m.size {
            format!("only {} of {} leaves could be read", log.size(), m.size)
        } else if !log.complete_met() {
            format!(
                "its leaves never reached the size of its complete checkpoint, {}",
                m.complete_size
            )
        } else {
            continue;
        };
        let f = Fault {
            leaf: None,
            place: Some(format!("mirror of {}", m.origin)),
            why,
        };
        return fail(summary, f);
    }
    let standing = fold.standing();
    let standing = match standing {
        Ok(s) => s,
        Err(f) => return fail(summary, f),
    };
    summary.own_excluded = standing.own_excluded;
    for m in &mut summary.mirrors {
        if let Some(x) = standing.mirror_excluded.get(&m.origin) {
            m.excluded = x.clone();
        }
        m.pending = standing.mirror_pending.get(&m.origin).copied().unwrap_or(0);
    }
    let state_hash = match fold.state_hash() {
        Ok(h) => h,
        Err(f) => return fail(summary, f),
    };
    summary.state_hash = Some(hex::encode(state_hash));
    if let Some(d) = dir {
        if a.plan.comparable {
            match compare_stored_state(d, a.size, &state_hash) {
                Ok(None) => {}
                Ok(Some(skipped)) => summary.notes.push(skipped),
                Err(f) => return fail(summary, f),
            }
        }
    }
    summary.history = Some(history);
    (summary, None)
}

/// Compares the state hash a node serves with the one folded from its logs,
/// when the node still serves the audited size of its own log and of every
/// mirror.
async fn compare_served_state(
    client: &Client,
    mut summary: Summary,
    mirror_sizes: &BTreeMap<String, u64>,
) -> (Summary, Option<Fault>) {
    let Some(folded) = summary.state_hash.clone() else {
        return (summary, None);
    };
    let served = match client.query("/v1/state/hash", &[]).await {
        Ok(v) => v,
        // An older node without the endpoint, or one that will not say:
        // nothing to compare, and the summary says so.
        Err(e) => {
            summary.notes.push(format!(
                "the node does not serve its state hash ({}), so the state it shows was not \
                 compared with its logs",
                crate::output::error_text(&e)
            ));
            return (summary, None);
        }
    };
    // The node reads its hash together with the log sizes it covers. The
    // mirrors keep growing while peers are followed; the states only match
    // if the node's state covers exactly the mirror leaves the audit folded.
    let covered: Option<BTreeMap<String, u64>> = served
        .get("mirrors")
        .and_then(|m| serde_json::from_value(m.clone()).ok());
    let audited: BTreeMap<String, u64> = mirror_sizes
        .iter()
        .filter(|(_, size)| **size > 0)
        .map(|(origin, size)| (origin.clone(), *size))
        .collect();
    let why_not = match &covered {
        None => Some("the node does not say which mirror leaves its state hash covers"),
        Some(c) if *c != audited => Some("the node's mirrors grew during the audit"),
        Some(_) => None,
    };
    if let Some(why) = why_not {
        summary
            .notes
            .push(format!("{why}, so its state hash was not compared"));
        return (summary, None);
    }
    if let Some(note) = other_state_version(&served) {
        summary.notes.push(note);
        return (summary, None);
    }
    let size = served.get("size").and_then(serde_json::Value::as_u64);
    let hash = served.get("state_hash").and_then(serde_json::Value::as_str);
    match (size, hash) {
        (Some(size), Some(hash)) if size == summary.size && hash != folded => {
            let f = Fault {
                leaf: None,
                place: Some("the node's governance state".into()),
                why: format!(
                    "it serves state hash {hash}, but folding its logs gives {folded}: what the node \
                     shows is not what its logs say"
                ),
            };
            fail(summary, f)
        }
        (Some(size), Some(_)) if size == summary.size => (summary, None),
        (Some(size), Some(_)) => {
            summary.notes.push(format!(
                "the node's state hash covers {size} leaves of its log, not the {} audited (the log \
                 grew during the audit?), so it was not compared",
                summary.size
            ));
            (summary, None)
        }
        _ => {
            summary.notes.push(
                "the node's answer about its state hash lacks its size or the hash, so it was not \
                 compared"
                    .into(),
            );
            (summary, None)
        }
    }
}

/// Why a served state hash cannot be compared with this audit's, if the
/// node says it builds its state under another state version: other rules
/// fold the same logs into another state. (A node that does not say is
/// compared.)
fn other_state_version(served: &serde_json::Value) -> Option<String> {
    let v = served
        .get("state_version")
        .and_then(serde_json::Value::as_u64)?;
    (v != u64::from(kaitiaki_governance::STATE_VERSION)).then(|| {
        format!(
            "the node builds its governance state under state version {v}, this kaitiaki under \
             {}, so its state hash was not compared (audit it with a kaitiaki of its version)",
            kaitiaki_governance::STATE_VERSION
        )
    })
}

/// Compares the governance state the node keeps with the state folded from
/// its log: they must be identical, or the node serves a state its own log
/// does not support. Only when the node had indexed exactly the audited
/// leaves (after a crash, sled may lag until the node's next start);
/// otherwise says why it was not compared.
fn compare_stored_state(
    d: &DataDir,
    size: u64,
    folded: &[u8; 32],
) -> Result<Option<String>, Fault> {
    let indexed = d
        .storage
        .indexed_size()
        .map_err(|e| Fault::general(format!("cannot read the database: {e}")))?;
    if indexed != size {
        return Ok(Some(format!(
            "the database indexes {indexed} leaves of the log, not the {size} its latest checkpoint \
             covers (the node stopped before its database was written; it catches up at its next \
             start), so the stored governance state was not compared"
        )));
    }
    let version = d
        .storage
        .state_version()
        .map_err(|e| Fault::general(format!("cannot read the database: {e}")))?;
    if version != Some(kaitiaki_governance::STATE_VERSION) {
        let built = version.map_or_else(
            || "no recorded state version".to_owned(),
            |v| format!("state version {v}"),
        );
        return Ok(Some(format!(
            "the stored governance state was built under {built}, and this kaitiaki folds under \
             state version {}; a node of this version rebuilds it at start, so it was not compared",
            kaitiaki_governance::STATE_VERSION
        )));
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
    Ok(None)
}

fn fail(mut summary: Summary, f: Fault) -> (Summary, Option<Fault>) {
    summary.result = "fault";
    summary.fault = Some(f.clone());
    (summary, Some(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kaitiaki_governance::STATE_VERSION;
    use serde_json::json;

    #[test]
    fn a_served_state_of_another_version_is_not_compared() {
        let other = other_state_version(&json!({ "state_version": STATE_VERSION + 1 }))
            .expect("another version is named");
        assert!(
            other.contains(&format!("state version {}", STATE_VERSION + 1)),
            "{other}"
        );
        assert_eq!(
            other_state_version(&json!({ "state_version": STATE_VERSION })),
            None
        );
        assert_eq!(other_state_version(&json!({ "state_hash": "00" })), None);
    }
}
