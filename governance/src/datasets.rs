//! Datasets and rāhui.
//!
//! A `dataset.register` records a dataset, its steward and its governing
//! bodies; it counts once every governing body's charter counts. Any access
//! to it needs the approval of **every** governing body (partnerships,
//! plural). A request asking for a use the dataset excludes is refused.
//!
//! A member of a governing body places a `rahui.place` in the body's home
//! log; a member of the same body lifts it with `rahui.lift`. A rāhui is in
//! force from the moment it is sequenced until it is lifted or its `until`
//! time passes. While it is in force no vote on a request or renewal for the
//! dataset is accepted (`rahui_in_force`), so no approval can be reached, by
//! any body; approvals already given are suspended (see
//! [`crate::RequestStatus`]) and resume when it ends, unless they expired
//! or were revoked meanwhile.

use kaitiaki_protocol::statement::{DatasetRegister, Label, Sensitivity};
use kaitiaki_protocol::{Body, StatementId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::bodies::body_log_side;
use crate::codec::{self, key, Pos};
use crate::engine::{depends_on, Engine, Loaded};
use crate::entry::Agg;
use crate::error::StateError;
use crate::rejection::{Rejection, RejectionCode};
use crate::rules::{reject, Rule, Stop};
use crate::store::{Store, Table};

/// What the state knows about a dataset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetRecord {
    /// Its name.
    pub name: String,
    /// What it holds, about whom.
    pub description: String,
    /// Who holds it.
    pub steward: String,
    /// Bodies that must all approve any access.
    pub governing_bodies: Vec<StatementId>,
    /// Local Contexts and custom labels.
    pub labels: Vec<Label>,
    /// Permitted uses (information for the bodies; DUO hierarchies are theirs to judge).
    pub permitted_uses: Vec<String>,
    /// Uses that are refused outright.
    pub excluded_uses: Vec<String>,
    /// How sensitive it is.
    pub sensitivity: Sensitivity,
    /// Where the registration sits.
    pub registered: Pos,
    /// Whether the registration counts.
    pub valid: bool,
    /// Every valid rāhui, in the order placed.
    pub rahui: Vec<RahuiRecord>,
}

/// A rāhui on a dataset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RahuiRecord {
    /// The `rahui.place` statement.
    pub id: StatementId,
    /// The body that placed it.
    pub body: StatementId,
    /// Where it sits in the body's home log.
    pub placed: Pos,
    /// When it ends by itself, if it does.
    pub until: Option<Timestamp>,
    /// Why, as the body chose to say.
    pub reason: String,
    /// Its lifting, if it was lifted.
    pub lifted: Option<Lifted>,
}

/// The lifting of a rāhui.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifted {
    /// The `rahui.lift` statement.
    pub id: StatementId,
    /// Where it sits.
    pub at: Pos,
    /// Why.
    pub reason: String,
}

impl RahuiRecord {
    /// Whether it is in force for a statement at `pos`.
    pub fn in_force_at(&self, pos: &Pos) -> bool {
        self.placed < *pos
            && self.lifted.as_ref().is_none_or(|l| *pos < l.at)
            && self.until.is_none_or(|u| pos.at < u)
    }

    /// Whether it is in force at `now`.
    pub fn in_force_now(&self, now: Timestamp) -> bool {
        self.placed.at <= now
            && self.lifted.as_ref().is_none_or(|l| now < l.at.at)
            && self.until.is_none_or(|u| now < u)
    }

    /// When it ended, if it had by `now`: at its lifting or at the end the
    /// body set, whichever came first, with the lifting if that is what
    /// ended it (a lifting after its end is refused, so none is kept; a
    /// state folded under an older state version could hold one).
    pub fn ended_by(&self, now: Timestamp) -> Option<(Timestamp, Option<&Lifted>)> {
        let lifted = self.lifted.as_ref().filter(|l| l.at.at <= now);
        match (lifted, self.until.filter(|u| *u <= now)) {
            (Some(l), Some(u)) if u < l.at.at => Some((u, None)),
            (Some(l), _) => Some((l.at.at, Some(l))),
            (None, until) => until.map(|u| (u, None)),
        }
    }
}

/// The uses a request asks for that a dataset excludes. A use category's own
/// name (e.g. `commercial`) counts as a use, so a dataset can exclude a whole
/// category.
pub(crate) fn excluded_uses(d: &DatasetRecord, uses: &[String], category: &str) -> Vec<String> {
    let mut out: Vec<String> = d
        .excluded_uses
        .iter()
        .filter(|x| uses.contains(x) || x.as_str() == category)
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

fn record_from(reg: &DatasetRegister, registered: Pos) -> DatasetRecord {
    let mut bodies = reg.governing_bodies.clone();
    bodies.sort();
    bodies.dedup();
    DatasetRecord {
        name: reg.name.clone(),
        description: reg.description.clone(),
        steward: reg.steward.clone(),
        governing_bodies: bodies,
        labels: reg.labels.clone(),
        permitted_uses: reg.permitted_uses.clone(),
        excluded_uses: reg.excluded_uses.clone(),
        sensitivity: reg.sensitivity,
        registered,
        valid: false,
        rahui: Vec::new(),
    }
}

impl<S: Store + ?Sized> Engine<'_, S> {
    pub(crate) fn dataset_record(
        &self,
        d: &StatementId,
    ) -> Result<Option<DatasetRecord>, StateError> {
        self.tx
            .get(Table::Datasets, d.as_bytes())?
            .map(|b| codec::decode(Table::Datasets, &b))
            .transpose()
    }

    pub(crate) fn recompute_dataset(&mut self, d: &StatementId) -> Result<(), StateError> {
        let agg = Agg::Dataset(*d);
        let items = self.members(&agg)?;
        let Some(reg_l) = items.iter().find(|l| l.id == *d) else {
            return Err(StateError::corrupt(
                Table::Members,
                "a dataset aggregate has no registration",
            ));
        };
        let (Body::DatasetRegister(reg), Some(pos)) = (&reg_l.body, reg_l.first().cloned()) else {
            return Err(StateError::corrupt(
                Table::Members,
                "a dataset aggregate is not rooted at a registration",
            ));
        };
        let mut record = record_from(reg, pos.clone());
        let mut sides = Vec::new();
        for b in &record.governing_bodies {
            sides.push(depends_on(b, d, agg)?);
        }
        let check = self.authority(&reg_l.author, &pos).and_then(|_| {
            for b in &record.governing_bodies {
                self.body_ref(b)?;
            }
            Ok(())
        });
        let verdict = self.verdict_of(check)?;
        record.valid = verdict.is_valid();
        self.set_verdict(d, &reg_l.author, Some(agg), Some(pos), verdict, sides)?;

        // Placements first, then lifts, each in order.
        let mut places: Vec<&Loaded> = items
            .iter()
            .filter(|l| matches!(l.body, Body::RahuiPlace(_)))
            .collect();
        let mut lifts: Vec<&Loaded> = items
            .iter()
            .filter(|l| matches!(l.body, Body::RahuiLift(_)))
            .collect();
        places.sort_by(|a, b| (a.first(), a.id).cmp(&(b.first(), b.id)));
        lifts.sort_by(|a, b| (a.first(), a.id).cmp(&(b.first(), b.id)));
        for l in places.into_iter().chain(lifts) {
            let mut home = None;
            let outcome = self.rahui_step(&mut record, l, &mut home);
            let verdict = self.verdict_of(outcome)?;
            let pos = home.clone().or_else(|| l.first().cloned());
            let sides = match (&home, &l.body) {
                (Some(p), Body::RahuiPlace(r)) => vec![body_log_side(&r.body, p, &l.id, agg)?],
                (Some(p), Body::RahuiLift(_)) => {
                    let body = self.rahui_body(l)?;
                    vec![body_log_side(&body, p, &l.id, agg)?]
                }
                _ => Vec::new(),
            };
            self.set_verdict(&l.id, &l.author, Some(agg), pos, verdict, sides)?;
        }
        self.store_dataset(d, record)
    }

    /// The body whose home log a lift belongs to: the one that placed the rāhui.
    fn rahui_body(&self, lift: &Loaded) -> Result<StatementId, StateError> {
        let Body::RahuiLift(lf) = &lift.body else {
            return Err(StateError::corrupt(Table::Members, "not a lift"));
        };
        match self.load(&lf.rahui)?.map(|l| l.body) {
            Some(Body::RahuiPlace(p)) => Ok(p.body),
            _ => Err(StateError::corrupt(
                Table::Members,
                "a lift routed without its rāhui",
            )),
        }
    }

    /// One placement or lift; sets `home` to its home-log position once known.
    fn rahui_step(
        &self,
        record: &mut DatasetRecord,
        l: &Loaded,
        home: &mut Option<Pos>,
    ) -> Rule<()> {
        match &l.body {
            Body::RahuiPlace(p) => {
                let body = self.body_ref(&p.body)?;
                let pos = self.home_pos(l, &body)?;
                *home = Some(pos.clone());
                if !record.valid {
                    return reject(
                        RejectionCode::ExcludedReference,
                        format!("The registration of {} does not count, so a rāhui on it does not either.", record.name),
                    );
                }
                if !record.governing_bodies.contains(&p.body) {
                    return reject(
                        RejectionCode::NotGoverningBody,
                        format!(
                            "{} does not govern {}, so it cannot place a rāhui on it.",
                            body.name, record.name
                        ),
                    );
                }
                self.member_at(&body, &l.author, &pos)?;
                record.rahui.push(RahuiRecord {
                    id: l.id,
                    body: p.body,
                    placed: pos,
                    until: p.until,
                    reason: p.reason.clone(),
                    lifted: None,
                });
                Ok(())
            }
            Body::RahuiLift(lf) => {
                let placed_by = self.rahui_body(l)?;
                let body = self.body_ref(&placed_by)?;
                let pos = self.home_pos(l, &body)?;
                *home = Some(pos.clone());
                self.member_at(&body, &l.author, &pos)?;
                let Some(r) = record.rahui.iter_mut().find(|r| r.id == lf.rahui) else {
                    return reject(
                        RejectionCode::ExcludedReference,
                        format!(
                            "The rāhui {} does not count, so there is nothing to lift.",
                            lf.rahui
                        ),
                    );
                };
                if r.placed >= pos {
                    return reject(
                        RejectionCode::ExcludedReference,
                        "A rāhui cannot be lifted before it is placed.",
                    );
                }
                if let Some(done) = &r.lifted {
                    return reject(
                        RejectionCode::RahuiAlreadyLifted,
                        format!("This rāhui was already lifted at {}.", done.at.at),
                    );
                }
                // One that reached the end its body set is over: nothing
                // is left to lift, and the record keeps how it ended.
                if let Some(until) = r.until.filter(|u| *u <= pos.at) {
                    return reject(
                        RejectionCode::RahuiAlreadyLifted,
                        format!("This rāhui already ended at {until}, the end its body set."),
                    );
                }
                r.lifted = Some(Lifted {
                    id: l.id,
                    at: pos,
                    reason: lf.reason.clone(),
                });
                Ok(())
            }
            _ => Err(Stop::Reject(Rejection::new(
                RejectionCode::WrongReference,
                "not a dataset statement",
            ))),
        }
    }

    fn store_dataset(&mut self, d: &StatementId, record: DatasetRecord) -> Result<(), StateError> {
        let old = self.dataset_record(d)?;
        if old.as_ref() == Some(&record) {
            return Ok(());
        }
        let rahui_key = |r: &RahuiRecord| key(&[&codec::time_key(r.placed.at), r.id.as_bytes()]);
        let body_key = |b: &StatementId| key(&[b.as_bytes(), d.as_bytes()]);
        if let Some(old) = &old {
            for r in &old.rahui {
                self.tx.delete(Table::Rahui, &rahui_key(r))?;
            }
            if old.valid {
                for b in &old.governing_bodies {
                    self.tx.delete(Table::DatasetsByBody, &body_key(b))?;
                }
            }
        }
        for r in &record.rahui {
            self.tx.put(Table::Rahui, &rahui_key(r), d.as_bytes())?;
        }
        if record.valid {
            for b in &record.governing_bodies {
                self.tx.put(Table::DatasetsByBody, &body_key(b), &[])?;
            }
        }
        // Requests voted on while a changed rāhui was (or now is) in force must be re-judged.
        let old_rahui = old.as_ref().map(|o| o.rahui.as_slice()).unwrap_or_default();
        let changed_from = old_rahui
            .iter()
            .filter(|r| !record.rahui.contains(r))
            .chain(record.rahui.iter().filter(|r| !old_rahui.contains(r)))
            .map(|r| r.placed.at)
            .min();
        self.tx.put_record(Table::Datasets, d.as_bytes(), &record)?;
        if let Some(from) = changed_from {
            self.mark_owners(
                Table::DatasetVotes,
                d.as_bytes(),
                Some(&codec::time_key(from)),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: i64) -> Timestamp {
        Timestamp::from_unix_millis(day * 86_400_000).expect("in range")
    }

    fn pos(day: i64) -> Pos {
        Pos {
            at: at(day),
            log: "a.example".into(),
            index: 0,
        }
    }

    #[test]
    fn a_rahui_ends_at_its_lifting_or_its_end_whichever_came_first() {
        let id = StatementId::from_bytes([1; 32]);
        let lifting = Lifted {
            id: StatementId::from_bytes([2; 32]),
            at: pos(20),
            reason: String::new(),
        };
        let r = |until: Option<i64>, lifted: Option<Lifted>| RahuiRecord {
            id,
            body: id,
            placed: pos(1),
            until: until.map(at),
            reason: String::new(),
            lifted,
        };
        let open = r(None, None);
        assert_eq!(open.ended_by(at(100)), None);
        assert_eq!(r(Some(10), None).ended_by(at(5)), None);
        assert_eq!(r(Some(10), None).ended_by(at(10)), Some((at(10), None)));
        let lifted = r(Some(30), Some(lifting.clone()));
        assert_eq!(lifted.ended_by(at(19)), None);
        assert_eq!(lifted.ended_by(at(25)), Some((at(20), Some(&lifting))));
        // Lifted after the end it had set: it ended then, not at the lifting.
        let late = r(Some(10), Some(lifting.clone()));
        assert_eq!(late.ended_by(at(15)), Some((at(10), None)));
        assert_eq!(late.ended_by(at(25)), Some((at(10), None)));
    }
}
