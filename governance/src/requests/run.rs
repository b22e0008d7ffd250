//! Counting a vote without recomputing its request.
//!
//! Almost every statement a node sees is a vote on a request, sequenced in
//! its body's home log after everything else said about that request. A
//! full recomputation ([`Engine::recompute_request`]) would reload every
//! statement of the request to reach the same place the last one left it
//! in. Instead, every recomputation stores a [`Run`] (the last statement of
//! the request in position order, [`Table::RequestRuns`]) and each member's
//! latest counted ballot ([`Table::Ballots`]) — with the request's record,
//! the state of the fold after its last step. A new vote that comes after
//! that last step continues the fold from there, by the same rules
//! ([`Engine::request_vote`], [`decide::record_from`]), and writes exactly
//! what a full recomputation would: the earlier steps are judged exactly as
//! before (a decision this vote reaches comes after every withdrawal, so no
//! withdrawal's verdict changes), and the record is rebuilt from the same
//! deliberations.
//!
//! That holds when the vote is the only thing that changes, it is the last
//! step, and nothing after the decision depends on it. So the shortcut is
//! taken only when:
//!
//! - the vote is new, on the request itself, and nothing else was marked;
//! - its body governs the request, counts, and the vote sits in its home
//!   log, after the run's last statement;
//! - the request has no statements acting on its approval (motions,
//!   renewals, reports, outputs), whose verdicts an approval reached by
//!   this vote would change.
//!
//! Everything else — late statements, statements placed again, refusals
//! that need a wait — takes the full recomputation, which writes the same
//! [`Run`] from scratch. Order independence is kept by construction (both
//! paths write identical records) and checked by the property tests, which
//! fold the same statements in many orders and batchings.

use std::collections::BTreeMap;

use kaitiaki_protocol::statement::Vote;
use kaitiaki_protocol::{Body, StatementId};

use super::decide::{self, Delibs};
use super::{dataset_vote_side, Req, Step};
use crate::bodies::body_log_side;
use crate::codec::{self, key, KeyBytes, Pos};
use crate::engine::{Engine, Loaded};
use crate::entry::{Agg, Verdict};
use crate::error::StateError;
use crate::rules::{Ballot, Deliberation, Stop};
use crate::store::{KeyValues, Store, Table};

/// How far a request's deliberation has got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Run {
    /// The last statement of the request (after its submission) in
    /// position order, as a full recomputation orders them.
    pub last: Option<(Pos, StatementId)>,
    /// Whether any statement acts on the approval.
    pub care: bool,
}

/// `request ‖ body ‖ slot`, the key of a ballot.
fn ballot_key(r: &StatementId, body: &StatementId, slot: &KeyBytes) -> Vec<u8> {
    key(&[r.as_bytes(), body.as_bytes(), slot.as_bytes()])
}

impl<S: Store + ?Sized> Engine<'_, S> {
    pub(crate) fn run_record(&self, r: &StatementId) -> Result<Option<Run>, StateError> {
        self.tx
            .get(Table::RequestRuns, r.as_bytes())?
            .map(|b| codec::decode(Table::RequestRuns, &b))
            .transpose()
    }

    /// Every body's latest ballots on a request, as stored.
    fn stored_ballots(&self, r: &StatementId) -> Result<KeyValues, StateError> {
        self.scan_all(Table::Ballots, r.as_bytes(), None)
    }

    /// Writes a request's run and ballots (`None`: it has none, as when it does not count).
    pub(crate) fn store_run(
        &mut self,
        r: &StatementId,
        run: Option<(Run, &Delibs)>,
    ) -> Result<(), StateError> {
        let stored = self.stored_ballots(r)?;
        match run {
            Some((run, delibs)) => {
                self.tx.put_record(Table::RequestRuns, r.as_bytes(), &run)?;
                self.write_ballots(r, delibs, stored)
            }
            None => {
                self.tx.delete(Table::RequestRuns, r.as_bytes())?;
                self.write_ballots(r, &Delibs::new(), stored)
            }
        }
    }

    /// Brings the stored ballots in step with `delibs`, writing only what differs.
    fn write_ballots(
        &mut self,
        r: &StatementId,
        delibs: &Delibs,
        stored: KeyValues,
    ) -> Result<(), StateError> {
        let mut new: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for (b, d) in delibs {
            for (slot, ballot) in &d.latest {
                new.insert(
                    ballot_key(r, b, slot),
                    codec::encode(Table::Ballots, ballot)?,
                );
            }
        }
        for (k, v) in stored {
            match new.get(&k) {
                Some(n) if *n == v => {
                    new.remove(&k);
                }
                Some(_) => {}
                None => self.tx.delete(Table::Ballots, &k)?,
            }
        }
        for (k, v) in new {
            self.tx.put(Table::Ballots, &k, &v)?;
        }
        Ok(())
    }

    /// Counts the statement being applied at once if it is a vote the
    /// shortcut covers (see the module docs); otherwise leaves it to the
    /// full recomputation.
    pub(crate) fn try_fast_vote(&mut self) -> Result<(), StateError> {
        let Some(l) = self.fresh.take() else {
            return Ok(());
        };
        let done = match &l.body {
            Body::Vote(v)
                if self.work.len() == 1 && self.work.contains(&Agg::Request(v.subject)) =>
            {
                self.fast_vote(&l, v)?
            }
            _ => false,
        };
        if let Body::Vote(v) = &l.body {
            if done {
                self.work.remove(&Agg::Request(v.subject));
            }
        }
        self.fresh = Some(l);
        Ok(())
    }

    /// Returns whether the vote was counted; writes nothing when it returns `false`.
    fn fast_vote(&mut self, l: &Loaded, v: &Vote) -> Result<bool, StateError> {
        let r = v.subject;
        let agg = Agg::Request(r);
        let Some(run) = self.run_record(&r)? else {
            return Ok(false);
        };
        if run.care {
            return Ok(false);
        }
        let Some(old) = self.request_record(&r)? else {
            return Ok(false);
        };
        if !old.bodies.contains(&v.body) {
            return Ok(false);
        }
        let pos = match self.body_ref(&v.body).and_then(|b| self.home_pos(l, &b)) {
            Ok(p) => p,
            Err(Stop::Fail(e)) => return Err(e),
            Err(_) => return Ok(false),
        };
        if run
            .last
            .as_ref()
            .is_some_and(|(p, id)| (&pos, l.id) <= (p, *id))
        {
            return Ok(false);
        }
        let mut datasets = Vec::with_capacity(old.datasets.len());
        for d in &old.datasets {
            match self.dataset_record(d)? {
                Some(rec) => datasets.push((*d, rec)),
                None => return Ok(false),
            }
        }
        let req = Req {
            id: r,
            title: old.title.clone(),
            use_category: old.use_category,
            duration_days: old.duration_days,
            requester: old.requester,
            at: old.submitted.clone(),
            datasets,
            bodies: old.bodies.clone(),
        };
        let mut delibs: Delibs = BTreeMap::new();
        for (k, v) in &self.stored_ballots(&r)? {
            let b = codec::id_at(Table::Ballots, k, 32)?;
            let slot = codec::pubkey_at(Table::Ballots, k, 64)?;
            let ballot: Ballot = codec::decode(Table::Ballots, v)?;
            let d = delibs.entry(b).or_insert_with(|| {
                let d = old.decisions.iter().find(|d| d.body == b);
                Deliberation {
                    latest: BTreeMap::new(),
                    decided: d.and_then(|d| d.decision.clone()),
                    tally: d.map(|d| d.tally).unwrap_or_default(),
                }
            });
            d.latest.insert(slot, ballot);
        }

        let step = Step {
            l,
            pos: pos.clone(),
            sides: Vec::new(),
            verdict: None,
        };
        let cutoff = old.withdrawn.as_ref().map(|w| &w.at);
        let (verdict, slot) = match self.request_vote(&req, &step, v, cutoff, &mut delibs) {
            Ok(slot) => (Verdict::Valid, Some(slot)),
            Err(Stop::Reject(rej)) => (Verdict::excluded(rej), None),
            Err(Stop::Fail(e)) => return Err(e),
            Err(Stop::Wait(_)) => return Ok(false),
        };

        let mut sides = vec![body_log_side(&v.body, &pos, &l.id, agg)?];
        for (d, _) in &req.datasets {
            sides.push(dataset_vote_side(d, &pos, &l.id, agg)?);
        }
        // A body without ballots stands as it did before any vote, as the
        // stored record says.
        let openings: Vec<_> = old
            .decisions
            .iter()
            .map(|d| decide::Opening {
                notice_until: d.notice_until,
                tally: d.tally,
            })
            .collect();
        let mut record = decide::record_from(&req, &delibs, old.withdrawn.clone(), &openings);
        self.aftercare(&req, &mut record, &mut [])?;

        self.set_verdict(
            &l.id,
            &l.author,
            Some(agg),
            Some(pos.clone()),
            verdict,
            sides,
        )?;
        let run = Run {
            last: Some((pos, l.id)),
            care: false,
        };
        self.tx.put_record(Table::RequestRuns, r.as_bytes(), &run)?;
        // Only the voter's ballot changed, if the vote counted.
        let ballot = slot.and_then(|k| Some((k, delibs.get(&v.body)?.latest.get(&k)?)));
        if let Some((k, b)) = ballot {
            self.tx
                .put_record(Table::Ballots, &ballot_key(&r, &v.body, &k), b)?;
        }
        self.store_request(&r, Some(old), Some(record))?;
        Ok(true)
    }
}
