//! Which mirrors an audit reads, and what each must match.
//!
//! A node lists the logs it mirrors (over HTTP, `GET /v1/mirrors`; in a
//! data directory, its `mirrors/` and the database's records of them).
//! For each, the plan chooses the key its checkpoints are checked with
//! (given, remembered, or the node's word), opens its complete checkpoint,
//! ties it to the checkpoint this computer remembered for that log, and
//! records every verified checkpoint in [`Seen`], so that a second history
//! of any log met in the audit is a fault before a leaf is read. A mirror
//! of the audited log itself, or one listed twice, is refused outright.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, Context as _, Result};
use kaitiaki_protocol::checkpoint::Checkpoint;
use kaitiaki_protocol::note::Note;
use kaitiaki_protocol::Hash;
use serde::Deserialize;

use super::forks::Seen;
use super::source::DataDir;
use super::{fault_in, Anchored, Fault, KeySource};
use crate::client::Client;
use crate::trust::{self, History, KeyFrom, Known, TrustStore};

/// One mirror to audit: how far to read it and what it must match.
pub(super) struct MirrorAnchor {
    pub(super) origin: String,
    pub(super) key: String,
    pub(super) source: KeySource,
    /// How `key` was learned, remembered with the mirror's checkpoint.
    pub(super) key_from: KeyFrom,
    /// Leaves to read and fold.
    pub(super) size: u64,
    /// The peer's complete checkpoint, verified under `key`.
    pub(super) complete_size: u64,
    pub(super) complete_root: Hash,
    /// Its signed note, remembered after a successful audit.
    pub(super) complete_note: String,
    /// The (size, root) this computer remembered for the log, which the
    /// mirror's leaves must make on their way.
    pub(super) remembered: Option<(u64, Hash)>,
    /// How the mirror's complete checkpoint relates to the one remembered.
    pub(super) history: History,
}

/// The mirrors an audit reads, and what it learnt while choosing them.
#[derive(Default)]
pub(super) struct MirrorPlan {
    /// The audited log's origin, which no mirror may have.
    pub(super) own: String,
    /// Every origin the node listed, to refuse one listed twice.
    pub(super) listed: BTreeSet<String>,
    /// Every verified checkpoint met so far, the own log's included.
    pub(super) seen: Seen,
    pub(super) mirrors: Vec<MirrorAnchor>,
    /// A mirror that cannot be checked at all (no key, a bad checkpoint).
    pub(super) fault: Option<Fault>,
    pub(super) notes: Vec<String>,
    /// Whether the folded state can equal the node's: false when a mirror
    /// holds leaves the audit does not fold.
    pub(super) comparable: bool,
    /// Over HTTP: each mirror's size as the node served it, to see that
    /// none moved before the state hashes are compared.
    pub(super) served_sizes: BTreeMap<String, u64>,
}

/// `GET /v1/peers`, as far as the audit needs it.
#[derive(Deserialize)]
struct PeersList {
    peers: Vec<PeerEntry>,
}

#[derive(Deserialize)]
struct PeerEntry {
    origin: String,
    key: String,
}

/// Parses the `--peer-key ORIGIN=KEY` flags.
pub(super) fn given_peer_keys(flags: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for f in flags {
        let (origin, key) = f.split_once('=').ok_or_else(|| {
            anyhow!(
                "--peer-key {f:?} is not ORIGIN=KEY (e.g. iwi.example=iwi.example+1a2b3c4d+AU…)"
            )
        })?;
        trust::verifier(origin.trim(), key).with_context(|| format!("--peer-key for {origin}"))?;
        out.insert(origin.trim().to_owned(), key.trim().to_owned());
    }
    Ok(out)
}

/// What this computer trusts about a mirrored log: the key to check its
/// checkpoints with, where that key came from, and the checkpoint of the
/// log remembered from an earlier check, which the mirror must extend.
struct MirrorTrust {
    key: String,
    source: KeySource,
    remembered: Option<Known>,
}

/// Chooses the key for the mirror of `origin`: the one given, else the one
/// remembered (which the node's must match), else the node's; and recalls
/// the checkpoint remembered for that log.
fn mirror_trust(
    origin: &str,
    given: &BTreeMap<String, String>,
    node: Option<&str>,
    store: &TrustStore,
) -> Result<MirrorTrust, Fault> {
    let remembered = store
        .load(origin)
        .map_err(|e| Fault::general(crate::output::error_text(&e)))?;
    let (key, source) = mirror_key(origin, given, node, remembered.as_ref())?;
    Ok(MirrorTrust {
        key,
        source,
        remembered,
    })
}

fn mirror_key(
    origin: &str,
    given: &BTreeMap<String, String>,
    node: Option<&str>,
    known: Option<&Known>,
) -> Result<(String, KeySource), Fault> {
    if let Some(k) = given.get(origin) {
        return Ok((k.clone(), KeySource::Given));
    }
    match (known, node) {
        (Some(k), Some(n)) if k.verifier_key.trim() != n.trim() => Err(Fault {
            leaf: None,
            place: Some(format!("mirror of {origin}")),
            why: format!(
                "the node follows {origin} under key {n:?}, but this computer knows that log under key \
                 {:?}; give the right one with --peer-key {origin}=KEY after confirming it",
                k.verifier_key
            ),
        }),
        (Some(k), _) => Ok((k.verifier_key.clone(), KeySource::Remembered)),
        (None, Some(n)) => Ok((n.trim().to_owned(), KeySource::Node)),
        (None, None) => Ok((String::new(), KeySource::Unknown)),
    }
}

impl MirrorPlan {
    /// A plan for the mirrors of the log anchored in `a`, starting from the
    /// own log's verified checkpoints: its latest and the one remembered.
    fn new(a: &Anchored) -> MirrorPlan {
        let mut plan = MirrorPlan {
            own: a.origin.clone(),
            comparable: true,
            ..MirrorPlan::default()
        };
        let latest = plan
            .seen
            .record(&a.origin, a.size, a.root, "the log's latest checkpoint");
        let remembered = a.known.as_ref().map_or(Ok(()), |k| {
            plan.seen.record(
                &a.origin,
                k.size,
                k.root,
                "the checkpoint this computer remembered from an earlier check",
            )
        });
        plan.fault = latest.and(remembered).err();
        plan
    }

    /// Adds the mirror of `origin`, which holds `held` leaves, was last
    /// verified against the peer's checkpoint `verified` and has the
    /// complete checkpoint `complete`; `fold_to` is how many leaves to read
    /// given the complete checkpoint's size.
    fn add(
        &mut self,
        origin: &str,
        held: u64,
        verified: Option<&str>,
        complete: Option<&str>,
        trust: Result<MirrorTrust, Fault>,
        fold_to: impl FnOnce(u64) -> u64,
    ) {
        if self.fault.is_some() {
            return;
        }
        let here = || Some(format!("mirror of {origin}"));
        if origin == self.own {
            // Its checkpoints would be signed by the audited log's own key,
            // so a node could show a second history of its log as a mirror.
            self.fault = Some(Fault {
                leaf: None,
                place: here(),
                why: "the node lists the audited log itself among its mirrors: a node never mirrors \
                      its own log, and a second copy under the log's own key can hold another history"
                    .into(),
            });
            return;
        }
        if !self.listed.insert(origin.to_owned()) {
            self.fault = Some(Fault {
                leaf: None,
                place: here(),
                why: "the node lists this mirror twice: a node keeps one mirror per log".into(),
            });
            return;
        }
        let Some(note) = complete else {
            if held > 0 {
                self.comparable = false;
                self.notes.push(format!(
                    "the mirror of {origin} holds {held} leaves but no complete checkpoint yet; it \
                     was not audited, and the state hashes cannot be compared"
                ));
            }
            return;
        };
        let MirrorTrust {
            key,
            source,
            remembered,
        } = match trust {
            Ok(t) => t,
            Err(f) => {
                self.fault = Some(f);
                return;
            }
        };
        let opened = if source == KeySource::Unknown {
            unsigned_checkpoint(note, origin)
        } else {
            trust::open_checkpoint(note, origin, &key)
                .map(|v| (v.checkpoint().size(), *v.checkpoint().root()))
        };
        let (complete_size, complete_root) = match opened {
            Ok(v) => v,
            Err(e) => {
                self.fault = Some(Fault {
                    leaf: None,
                    place: Some(format!("mirror of {origin}")),
                    why: format!("its complete checkpoint: {}", crate::output::error_text(&e)),
                });
                return;
            }
        };
        if source != KeySource::Unknown {
            if let Err(f) = self.seen_signed(origin, &key, complete_size, complete_root, verified) {
                self.fault = Some(f);
                return;
            }
        }
        let key_from = KeyFrom::of(source == KeySource::Given, remembered.as_ref());
        let history = match &remembered {
            None => History::FirstSeen,
            Some(k) => match self.extends(origin, k, complete_size) {
                Err(f) => {
                    self.fault = Some(f);
                    return;
                }
                Ok(true) if k.size == complete_size => History::Unchanged,
                Ok(true) => History::Extended { from: k.size },
                Ok(false) => {
                    // Mirrors lag behind their logs as a matter of course.
                    // A shorter copy cannot be tied to the root remembered
                    // at a larger size, but it is no evidence of a fork.
                    self.notes.push(format!(
                        "the node's copy of {origin} is complete at {complete_size} leaves, fewer than \
                         the {} this computer verified before, so it was checked against its own \
                         signed checkpoint but could not be tied to the one remembered; audit again \
                         once the node has caught up",
                        k.size
                    ));
                    History::Behind { seen: k.size }
                }
            },
        };
        // A copy behind what was remembered is not tied to it.
        let remembered = match history {
            History::Behind { .. } => None,
            _ => remembered,
        };
        if complete_size > held {
            self.fault = Some(Fault {
                leaf: None,
                place: Some(format!("mirror of {origin}")),
                why: format!(
                    "the node says the mirror is complete at {complete_size} leaves but holds only {held}"
                ),
            });
            return;
        }
        if source == KeySource::Unknown {
            self.notes.push(format!(
                "no key for {origin} was given, remembered or reported by the node, so the signature \
                 on its checkpoint was not checked: its leaves' own signatures and the root they make \
                 were; pass --peer-key {origin}=KEY to check it"
            ));
        }
        if source == KeySource::Node {
            self.notes.push(format!(
                "the key for {origin} came from the audited node itself: a node that lies about its \
                 peers could lie about their keys too; pass --peer-key {origin}=KEY to check against \
                 a key you trust"
            ));
        }
        let size = fold_to(complete_size);
        if size < held {
            self.comparable = false;
            self.notes.push(format!(
                "the mirror of {origin} holds {held} leaves, {} beyond its complete checkpoint, which \
                 were not audited; the state hashes cannot be compared",
                held - complete_size
            ));
        } else if size > complete_size {
            self.notes.push(format!(
                "{} leaves of the mirror of {origin} beyond its complete checkpoint were checked for \
                 signatures and rules, not against a signed root",
                size - complete_size
            ));
        }
        self.mirrors.push(MirrorAnchor {
            origin: origin.to_owned(),
            key,
            source,
            key_from,
            size,
            complete_size,
            complete_root,
            complete_note: note.to_owned(),
            remembered: remembered.map(|k| (k.size, k.root)),
            history,
        });
    }
}

impl MirrorPlan {
    /// Whether a mirror's complete checkpoint, of `complete_size`, reaches
    /// the checkpoint `known` this computer verified for that log before
    /// (one of the same size must have the same root; that its leaves make
    /// the remembered root at the remembered size is checked as they are
    /// folded). A smaller one is a copy lagging behind: not a fault.
    fn extends(&mut self, origin: &str, known: &Known, complete_size: u64) -> Result<bool, Fault> {
        self.seen.record(
            origin,
            known.size,
            known.root,
            "the checkpoint this computer remembered from an earlier check",
        )?;
        Ok(complete_size >= known.size)
    }

    /// Records a mirror's verified checkpoints: its complete one, and the
    /// peer's checkpoint it was last verified against (`verified`), which
    /// the node holds as the peer signed it and must verify too.
    fn seen_signed(
        &mut self,
        origin: &str,
        key: &str,
        complete_size: u64,
        complete_root: Hash,
        verified: Option<&str>,
    ) -> Result<(), Fault> {
        self.seen.record(
            origin,
            complete_size,
            complete_root,
            "the mirror's complete checkpoint",
        )?;
        let Some(note) = verified else {
            return Ok(());
        };
        let v = trust::open_checkpoint(note, origin, key).map_err(|e| Fault {
            leaf: None,
            place: Some(format!("mirror of {origin}")),
            why: format!(
                "the peer's checkpoint it was last verified against: {}",
                crate::output::error_text(&e)
            ),
        })?;
        self.seen.record(
            origin,
            v.checkpoint().size(),
            *v.checkpoint().root(),
            "the peer's checkpoint the mirror was last verified against",
        )
    }
}

/// The size and root a checkpoint note of `origin` states, its signature
/// unchecked (no key to check it with).
fn unsigned_checkpoint(note: &str, origin: &str) -> Result<(u64, Hash)> {
    let parsed =
        Note::parse(note.as_bytes()).map_err(|e| anyhow!("the checkpoint is malformed: {e}"))?;
    let cp =
        Checkpoint::from_note(&parsed).map_err(|e| anyhow!("the checkpoint is malformed: {e}"))?;
    if cp.origin() != origin {
        anyhow::bail!("the checkpoint is of {}, not {origin}", cp.origin());
    }
    Ok((cp.size(), *cp.root()))
}

/// The mirrors of a node over HTTP: each one with a complete checkpoint,
/// read up to that checkpoint.
pub(super) async fn plan_url(
    client: &Client,
    store: &TrustStore,
    given: &BTreeMap<String, String>,
    own: &Anchored,
) -> Result<MirrorPlan> {
    let mirrors = client.mirrors().await?;
    // The peer list is only a fallback for keys; a node may hide it.
    let peers: BTreeMap<String, String> = client
        .get::<PeersList>("/v1/peers", "the node's peers")
        .await
        .map(|p| p.peers.into_iter().map(|p| (p.origin, p.key)).collect())
        .unwrap_or_default();
    let mut plan = MirrorPlan::new(own);
    for m in mirrors {
        plan.served_sizes.insert(m.origin.clone(), m.size);
        let key = mirror_trust(
            &m.origin,
            given,
            peers.get(&m.origin).map(String::as_str),
            store,
        );
        plan.add(
            &m.origin,
            m.size,
            m.checkpoint.as_deref(),
            m.complete.as_deref(),
            key,
            |c| c,
        );
    }
    Ok(plan)
}

/// The mirrors in a data directory: each one with a complete checkpoint,
/// read up to the size sled records (which its stored state covers).
pub(super) fn plan_dir(
    dir: &DataDir,
    store: &TrustStore,
    given: &BTreeMap<String, String>,
    own: &Anchored,
) -> Result<MirrorPlan> {
    let stored_keys = dir.stored_peer_keys();
    let mut plan = MirrorPlan::new(own);
    for origin in dir.mirror_origins()? {
        let meta = dir
            .mirror_meta(&origin)
            .map_err(fault_in(&format!("mirror of {origin}")))?;
        if meta.size == 0 && meta.complete.is_none() {
            continue;
        }
        let key = mirror_trust(
            &origin,
            given,
            stored_keys.get(&origin).map(String::as_str),
            store,
        );
        let held = meta.size;
        plan.add(
            &origin,
            held,
            meta.checkpoint.as_deref(),
            meta.complete.as_deref(),
            key,
            |_| held,
        );
    }
    Ok(plan)
}
