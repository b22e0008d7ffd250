//! From the node's state to view models: the only part of the pages that
//! reads storage. Every function here is bounded: it reads one record, or
//! one page of an index, or a fixed tail of the log; none walks the whole
//! log. Time-dependent answers use the `now` the handler passes in.

use std::cell::RefCell;
use std::collections::BTreeMap;

use kaitiaki_governance::datasets::DatasetRecord;
use kaitiaki_governance::lists::{self, RequestFilter, RequestSummary};
use kaitiaki_governance::query::{self, TimelineItem};
use kaitiaki_governance::requests::RequestRecord;
use kaitiaki_governance::{Cursor, KeyBytes, Verdict};
use kaitiaki_protocol::note::Note;
use kaitiaki_protocol::{Statement, StatementId, Timestamp};

use super::concern::ConcernForm;
use super::layout::{NodeInfo, Person};
use super::verify::{self, Checked, Evidence, LogStatus, RecordCheck};
use crate::node::Shared;
use crate::storage::state::StateTrees;

/// Items on one page of a list.
pub const PAGE: usize = 20;

/// Why a page could not be gathered.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GatherError(pub String);

impl GatherError {
    pub(crate) fn of(e: impl std::fmt::Display) -> GatherError {
        GatherError(e.to_string())
    }
}

/// A result of gathering.
pub type Gathered<T> = Result<T, GatherError>;

/// What every gatherer needs: the node, the time, and small caches of
/// names so a page that mentions one person ten times looks them up once.
pub struct Ctx<'a> {
    pub(crate) shared: &'a Shared,
    /// The time the page is about.
    pub now: Timestamp,
    /// The node as the page's frame describes it.
    pub node: NodeInfo,
    people: RefCell<BTreeMap<KeyBytes, Person>>,
    names: RefCell<BTreeMap<StatementId, String>>,
    checkpoint: RefCell<Option<Result<Checked, String>>>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(shared: &'a Shared, now: Timestamp, node: NodeInfo) -> Ctx<'a> {
        Ctx {
            shared,
            now,
            node,
            people: RefCell::default(),
            names: RefCell::default(),
            checkpoint: RefCell::default(),
        }
    }

    /// The governance tables.
    pub(crate) fn store(&self) -> &StateTrees {
        self.shared.storage.state()
    }

    /// A request's derived record alone: one read, through governance's
    /// own decoder (records are stored in its compact binary form).
    /// Its title is remembered, as each record read whole gives its name.
    pub(crate) fn request_record(&self, id: &StatementId) -> Gathered<Option<RequestRecord>> {
        let r = query::request_record(self.store(), id).map_err(GatherError::of)?;
        self.remember(id, r.as_ref().map(|r| r.title.as_str()));
        Ok(r)
    }

    /// A dataset's record.
    pub(crate) fn dataset_record(&self, id: &StatementId) -> Gathered<Option<DatasetRecord>> {
        let d = query::dataset_record(self.store(), id).map_err(GatherError::of)?;
        self.remember(id, d.as_ref().map(|d| d.name.as_str()));
        Ok(d)
    }

    /// A board's record (without its charter versions).
    pub(crate) fn body_record(
        &self,
        id: &StatementId,
    ) -> Gathered<Option<kaitiaki_governance::bodies::BodyRecord>> {
        let b = query::body_record(self.store(), id).map_err(GatherError::of)?;
        self.remember(id, b.as_ref().map(|b| b.name.as_str()));
        Ok(b)
    }

    /// Keeps the `name` of `id`, read with its whole record, for
    /// [`Ctx::named`].
    fn remember(&self, id: &StatementId, name: Option<&str>) {
        if let Some(name) = name {
            self.names
                .borrow_mut()
                .entry(*id)
                .or_insert_with(|| name.to_owned());
        }
    }

    /// A person, by key.
    pub(crate) fn person(&self, k: &KeyBytes) -> Person {
        if let Some(p) = self.people.borrow().get(k) {
            return p.clone();
        }
        let rec = query::key(self.store(), k).ok().flatten();
        let p = Person {
            name: rec.as_ref().and_then(|r| r.display_name.clone()),
            affiliation: rec.as_ref().and_then(|r| r.affiliation.clone()),
            key: k.to_hex(),
        };
        self.people.borrow_mut().insert(*k, p.clone());
        p
    }

    fn named(&self, id: &StatementId, find: impl FnOnce() -> Option<String>) -> String {
        if let Some(n) = self.names.borrow().get(id) {
            return n.clone();
        }
        let n = find().unwrap_or_else(|| format!("record {}", &id.to_hex()[..8]));
        self.names.borrow_mut().insert(*id, n.clone());
        n
    }

    /// A board's name.
    pub(crate) fn body_name(&self, id: &StatementId) -> String {
        self.named(id, || {
            query::body_record(self.store(), id)
                .ok()
                .flatten()
                .map(|b| b.name)
        })
    }

    /// A dataset's name.
    pub(crate) fn dataset_name(&self, id: &StatementId) -> String {
        self.named(id, || {
            query::dataset_record(self.store(), id)
                .ok()
                .flatten()
                .map(|d| d.name)
        })
    }

    /// A request's title.
    pub(crate) fn request_title(&self, id: &StatementId) -> String {
        self.named(id, || {
            query::request_record(self.store(), id)
                .ok()
                .flatten()
                .map(|r| r.title)
        })
    }

    /// The page a statement belongs on: the request, dataset or board the
    /// state files it under, or for a question or an attachment, what it
    /// is about. `None` for a key's announcements and for what the state
    /// does not hold.
    fn about(&self, id: &StatementId, statement: Option<&Statement>) -> Option<(String, String)> {
        use kaitiaki_governance::Agg;
        use kaitiaki_protocol::Body;
        let owner = query::statement_state(self.store(), id).ok()??.owner;
        let on = |kind: &str, of: &StatementId| -> Option<(String, String)> {
            let name = match kind {
                "requests" => self.request_title(of),
                "datasets" => self.dataset_name(of),
                _ => self.body_name(of),
            };
            Some((format!("/{kind}/{}", of.to_hex()), name))
        };
        let request_or_dataset = |of: &StatementId| {
            if self.request_record(of).ok()?.is_some() {
                on("requests", of)
            } else {
                on("datasets", of)
            }
        };
        match owner? {
            Agg::Request(r) => on("requests", &r),
            Agg::Dataset(d) => on("datasets", &d),
            Agg::Body(b) => on("bodies", &b),
            Agg::Item(_) => match &statement?.body {
                Body::RequestQuestion(q) => on("requests", &q.request),
                Body::AttachmentCommit(a) => request_or_dataset(&a.subject),
                _ => None,
            },
            _ => None,
        }
    }

    /// A statement of this node's own log or of a mirror, parsed.
    pub(crate) fn own_statement(&self, id: &StatementId) -> Option<Statement> {
        let storage = &self.shared.storage;
        let place = storage.locate(id).ok()??;
        let leaf = match place.log {
            None => {
                if place.index >= self.shared.published().size {
                    return None;
                }
                storage.leaf(place.index).ok()??
            }
            Some(origin) => {
                let mirror = storage.existing_mirror(&origin).ok()??;
                let bytes = mirror.leaf_bytes(place.index).ok()??;
                kaitiaki_protocol::Leaf::from_bytes(&bytes).ok()?
            }
        };
        Statement::decode(leaf.envelope().payload()).ok()
    }

    fn checked(&self) -> Result<Checked, String> {
        if let Some(c) = self.checkpoint.borrow().as_ref() {
            return c.clone();
        }
        let p = self.shared.published();
        // The same checkpoint with the cosignatures its witnesses have
        // given it so far, when they gave any.
        let witness = &self.shared.witness;
        let cosigned = witness
            .cosigned_note(p.size)
            .ok()
            .flatten()
            .filter(|n| Note::parse(p.note.as_bytes()).is_ok_and(|o| o.text() == n.text()))
            .map(|n| n.to_string());
        let c = verify::open_checkpoint(
            cosigned.as_deref().unwrap_or(&p.note),
            &self.shared.config.origin,
            &self.shared.identity.verifier(),
            &witness.peer_verifiers(),
        );
        *self.checkpoint.borrow_mut() = Some(c.clone());
        c
    }

    /// The node's log status.
    pub fn log_status(&self) -> LogStatus {
        let p = self.shared.published();
        let checked = self.checked();
        let latest = match p.size {
            0 => None,
            n => self
                .shared
                .storage
                .leaf(n - 1)
                .ok()
                .flatten()
                .map(|l| l.sequenced_at()),
        };
        LogStatus {
            origin: self.shared.config.origin.clone(),
            size: p.size,
            root: p.root.to_hex(),
            latest,
            witnesses: checked
                .as_ref()
                .map(|c| c.witnesses.clone())
                .unwrap_or_default(),
            trusted: self.shared.witness.peer_verifiers().len(),
            signed: checked.map(|_| ()),
            evidence: self.evidence(),
            peers: self
                .shared
                .replication
                .peers()
                .iter()
                .map(|f| {
                    let s = f.status();
                    crate::pages::verify::PeerLine {
                        origin: s.origin,
                        url: s.url,
                        state: serde_json::to_value(s.state)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        mirrored: s.mirrored,
                        remote_size: s.remote_size,
                        quarantine: s.quarantine.map(|q| q.reason),
                    }
                })
                .collect(),
            verifier_key: self.shared.identity.verifier().to_string(),
        }
    }

    /// What this node knows about misbehaviour of the logs it follows or
    /// witnesses.
    fn evidence(&self) -> Evidence {
        let shared = &self.shared;
        if shared.replication.peers().is_empty() && shared.witness.logs_count() == 0 {
            return Evidence::NotCollected;
        }
        match crate::api::federation::all_evidence(shared) {
            Ok(records) if records.is_empty() => Evidence::None,
            Ok(records) => Evidence::Found(
                records
                    .iter()
                    .map(|r| {
                        format!(
                            "{}: {} ({}, found by {})",
                            r.origin,
                            match r.evidence.kind().as_str() {
                                "equivocation" =>
                                    "signed two different histories of the same length",
                                "inconsistent" =>
                                    "signed two histories where one should extend the other",
                                "bad_leaf" =>
                                    "signed a history holding a record whose signature is forged",
                                "rewritten_leaves" =>
                                    "served records that are not in the history it signed",
                                "breaks_rule" =>
                                    "recorded a decision outside its board's home node",
                                _ => "served a proof that does not hold",
                            },
                            if r.self_verifying {
                                "a proof anyone can check"
                            } else {
                                "what this node saw"
                            },
                            r.found_by
                        )
                    })
                    .collect(),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the evidence for the overview");
                Evidence::None
            }
        }
    }

    /// A statement of this node's log checked against the latest signed
    /// checkpoint; `None` if it is not in this log.
    pub fn check(&self, id: &StatementId) -> Option<RecordCheck> {
        let storage = &self.shared.storage;
        let checked = self.checked();
        let size = match &checked {
            Ok(c) => c.size,
            Err(_) => self.shared.published().size,
        };
        let Some(index) = storage.index_of(id).ok()? else {
            return self.check_mirrored(id);
        };
        if index >= size {
            return None;
        }
        let leaf = storage.leaf(index).ok()??;
        let bytes = leaf.to_bytes();
        let proof = storage.inclusion_proof(index, size).ok()?;
        let found = Found {
            leaf,
            bytes,
            index,
            proof,
        };
        Some(self.record_check(id, found, &checked, self.log_status(), None))
    }

    /// A record check of `found` against `checked`, the checkpoint of `log`.
    fn record_check(
        &self,
        id: &StatementId,
        found: Found,
        checked: &Result<Checked, String>,
        log: LogStatus,
        mirrored_from: Option<String>,
    ) -> RecordCheck {
        let Found {
            leaf,
            bytes,
            index,
            proof,
        } = found;
        let included = match checked {
            Ok(c) => verify::check_inclusion(&bytes, index, &proof, c),
            Err(e) => Err(e.clone()),
        };
        let payload = leaf.envelope().payload();
        let statement = Statement::decode(payload).ok();
        let pretty = serde_json::from_slice::<serde_json::Value>(payload)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_else(|_| String::from_utf8_lossy(payload).into_owned());
        RecordCheck {
            id: id.to_hex(),
            kind: statement
                .as_ref()
                .map(|s| s.kind().name().to_owned())
                .unwrap_or_default(),
            author: self.person(&KeyBytes::of(leaf.envelope().author())),
            created_at: statement
                .as_ref()
                .map(|s| s.created_at)
                .unwrap_or(leaf.sequenced_at()),
            sequenced_at: leaf.sequenced_at(),
            index,
            leaf_hash: kaitiaki_protocol::merkle::leaf_hash(&bytes).to_hex(),
            proof: proof.iter().map(|h| h.to_hex()).collect(),
            included,
            signature: leaf
                .envelope()
                .verify_signature()
                .map_err(|e| format!("the signature did not check out: {e}")),
            log,
            payload: pretty,
            about: self.about(id, statement.as_ref()),
            mirrored_from,
            statement,
        }
    }

    /// A statement of a peer's log that this node mirrors, checked against
    /// the peer's latest checkpoint whose whole tree the mirror holds,
    /// under the key this node follows the peer by.
    fn check_mirrored(&self, id: &StatementId) -> Option<RecordCheck> {
        let storage = &self.shared.storage;
        let place = storage.locate(id).ok()??;
        let origin = place.log?;
        let index = place.index;
        let peer = self.shared.replication.peer(&origin)?;
        let mirror = storage.existing_mirror(&origin).ok()??;
        let note = String::from_utf8(mirror.complete_checkpoint().ok()??).ok()?;
        // The witnesses of a peer's log: this node and its other peers (a
        // log does not witness itself).
        let mut trusted: Vec<_> = self
            .shared
            .witness
            .peer_verifiers()
            .into_iter()
            .filter(|v| kaitiaki_protocol::note::Verifier::name(v).as_str() != origin)
            .collect();
        trusted.push(self.shared.witness.verifier());
        let checked = verify::open_checkpoint(&note, &origin, &peer.peer.verifier, &trusted);
        let size = checked.as_ref().map(|c| c.size).ok()?;
        if index >= size {
            return None;
        }
        let bytes = mirror.leaf_bytes(index).ok()??;
        let leaf = kaitiaki_protocol::Leaf::from_bytes(&bytes).ok()?;
        let proof = mirror.tree().inclusion_proof(index, size).ok()?;
        let log = LogStatus {
            origin: origin.clone(),
            size,
            root: checked
                .as_ref()
                .map(|c| c.root.to_hex())
                .unwrap_or_default(),
            latest: None,
            witnesses: checked
                .as_ref()
                .map(|c| c.witnesses.clone())
                .unwrap_or_default(),
            trusted: trusted.len(),
            signed: checked.as_ref().map(|_| ()).map_err(Clone::clone),
            evidence: self.evidence(),
            peers: Vec::new(),
            verifier_key: peer.peer.config.key.clone(),
        };
        let found = Found {
            leaf,
            bytes,
            index,
            proof,
        };
        let from = Some(peer.peer.url.clone());
        Some(self.record_check(id, found, &checked, log, from))
    }

    /// What the concern form needs.
    pub fn concern_form(&self) -> ConcernForm {
        ConcernForm {
            network: self.shared.config.network.clone(),
            base_url: self.node.base_url.clone(),
            contact: self.node.contact.clone(),
        }
    }

    /// One page of requests.
    pub(crate) fn requests(
        &self,
        filter: &RequestFilter,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Gathered<(Vec<RequestSummary>, Option<String>)> {
        let page = lists::requests(self.store(), filter, self.now, after, limit)
            .map_err(GatherError::of)?;
        Ok((page.items, page.next.map(|c| c.to_hex())))
    }

    /// Requests of one index prefix (a dataset's or a board's) received
    /// from `since` on, at most `cap` of them, and whether there were more.
    ///
    /// Index keys are `prefix ‖ u64be(received ms) ‖ id` (governance
    /// `lists`), so the key `prefix ‖ u64be(since - 1)` is a cursor that
    /// starts the walk at `since` without reading anything older.
    pub(crate) fn requests_since(
        &self,
        filter: &RequestFilter,
        prefix: &StatementId,
        since: Timestamp,
        cap: usize,
    ) -> Gathered<(Vec<RequestSummary>, bool)> {
        let mut key = prefix.as_bytes().to_vec();
        key.extend_from_slice(&((since.unix_millis().max(1) - 1) as u64).to_be_bytes());
        let mut after = Cursor::from_hex(&hex::encode(&key));
        let mut out = Vec::new();
        loop {
            let want = (cap - out.len()).min(lists::MAX_PAGE);
            let page = lists::requests(self.store(), filter, self.now, after.as_ref(), want)
                .map_err(GatherError::of)?;
            out.extend(page.items);
            match page.next {
                Some(next) if out.len() < cap => after = Some(next),
                Some(_) => return Ok((out, true)),
                None => return Ok((out, false)),
            }
        }
    }
}

/// Parses a 64-hex-digit id from an address.
pub fn parse_id(text: &str) -> Option<StatementId> {
    StatementId::from_hex(text)
}

/// The verdict of a timeline item as words, when it does not count.
pub fn excluded(v: &Verdict) -> Option<String> {
    match v {
        Verdict::Valid => None,
        Verdict::Pending { missing } => Some(format!(
            "it waits for record {} to arrive",
            &missing.to_hex()[..8]
        )),
        Verdict::Excluded { rejection } => Some(rejection.to_string()),
    }
}

/// When a timeline item was recorded: its placement, else its author's clock.
pub fn when(item: &TimelineItem) -> Timestamp {
    item.pos.as_ref().map(|p| p.at).unwrap_or(item.created_at)
}

/// A leaf found in a log, with its inclusion proof.
struct Found {
    leaf: kaitiaki_protocol::Leaf,
    bytes: Vec<u8>,
    index: u64,
    proof: Vec<kaitiaki_protocol::Hash>,
}
