//! Governance bodies: charters, amendments, and the charter in force.
//!
//! A `body.charter` founds a body; its id is the body's id. It counts only
//! when sequenced in the log it names as `home_log`, and so does everything
//! the body says afterwards: amendments, votes, rāhui, approval motions,
//! report and output reviews, responses to concerns. A node can mirror these
//! from the home node; it can never author them.
//!
//! A member proposes a `body.amend`; the members vote on it under the rule in
//! force, exactly like a request ([`crate::rules`]). An approved amendment
//! makes a new charter *version*, in force for every statement after the
//! deciding vote in the home log. Which version governs a request whose
//! deliberation spans an amendment: each vote, and the tally after it, are
//! judged by the version in force at that vote's place in the home log. So a
//! member removed by the amendment no longer counts (their earlier vote is
//! dropped from later tallies), a member added may vote, and a new rule
//! applies from the next vote on. A new notice period applies to requests
//! submitted after it: one already submitted keeps the notice it was given
//! ([`crate::requests`]).
//!
//! Each key in `remove_members` removes the seat it holds where the
//! amendment is proposed: its own, or the one it holds by rotation (seats
//! stay under the key they were given). A key that holds no seat is
//! refused (`invalid_amendment`): removing it would change nothing.
//! An amendment that would leave the body without members, or with fewer
//! members than its rule needs (`k`, or the quorum), is refused when
//! proposed (`invalid_amendment`): the body could never act again. A
//! charter is checked the same way by the protocol's limits.

use std::collections::BTreeMap;
use std::rc::Rc;

use kaitiaki_protocol::statement::limits::members_needed;
use kaitiaki_protocol::statement::{BodyAmend, BodyCharter};
use kaitiaki_protocol::{Body, StatementId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::codec::{self, key, KeyBytes, Pos};
use crate::engine::{authored_side, Engine, Loaded};
use crate::entry::{Agg, Side, Verdict};
use crate::error::StateError;
use crate::rejection::{Rejection, RejectionCode};
use crate::rules::{
    already_decided, check_plain_ballot, reject, Decision, Deliberation, Outcome, Rule, Seat, Stop,
    Tally, Version,
};
use crate::store::{Store, Table};

/// What the state knows about a body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyRecord {
    /// The body's name.
    pub name: String,
    /// The origin of its home log.
    pub home_log: String,
    /// Whether its charter counts.
    pub valid: bool,
    /// Where the charter sits in the home log.
    pub founded: Option<Pos>,
    /// Every amendment proposed, in home-log order.
    pub amendments: Vec<AmendmentRecord>,
}

/// An amendment and how it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmendmentRecord {
    /// The `body.amend` statement.
    pub id: StatementId,
    /// Who proposed it.
    pub proposer: KeyBytes,
    /// Where it sits.
    pub proposed: Pos,
    /// The tally after the latest counted vote.
    pub tally: Tally,
    /// The decision, once reached.
    pub decision: Option<Decision>,
}

/// A body as other aggregates see it.
pub(crate) struct BodyRef {
    pub id: StatementId,
    pub name: String,
    pub home_log: String,
}

/// `body ‖ inverted index`: versions sort newest first.
fn version_key(body: &StatementId, since_index: u64) -> Vec<u8> {
    key(&[body.as_bytes(), &(u64::MAX - since_index).to_be_bytes()])
}

/// The side entry placing a statement in its body's home-log sequence.
pub(crate) fn body_log_side(
    body: &StatementId,
    pos: &Pos,
    id: &StatementId,
    owner: Agg,
) -> Result<Side, StateError> {
    Ok(Side {
        table: Table::BodyLog,
        key: key(&[body.as_bytes(), &pos.index.to_be_bytes(), id.as_bytes()]),
        value: codec::encode(Table::BodyLog, &Some(owner))?,
    })
}

/// An amendment as proposed: what it says, and the seats its
/// `remove_members` name, resolved where it was proposed.
struct Proposal {
    amend: BodyAmend,
    removed: Vec<KeyBytes>,
}

/// The charter version an amendment of `v` leads to, removing the seats
/// `removed`, or why it may not be made: a body must keep members, and a
/// rule they can meet — otherwise it could never act again, not even to
/// amend itself.
fn amended(
    v: &Version,
    a: &BodyAmend,
    removed: &[KeyBytes],
    name: &str,
) -> Result<Version, String> {
    let mut members: BTreeMap<KeyBytes, Seat> =
        v.members.iter().map(|m| (m.key, m.clone())).collect();
    for k in removed {
        members.remove(k);
    }
    for m in &a.add_members {
        members.insert(KeyBytes::of(&m.key), Seat::from(m));
    }
    if members.is_empty() {
        return Err(format!(
            "This amendment would leave {name} without members."
        ));
    }
    let rule = a.rule.clone().unwrap_or_else(|| v.rule.clone());
    let needed = members_needed(&rule);
    if needed as usize > members.len() {
        return Err(format!(
            "This amendment would leave {name} with {} members under a rule that needs {needed} \
             to decide, so it could never act again. Change the rule in the same amendment.",
            members.len()
        ));
    }
    let next = Version {
        members: members.into_values().collect(),
        rule,
        notice_days: a.notice_days.unwrap_or(v.notice_days),
        description: a
            .description
            .clone()
            .unwrap_or_else(|| v.description.clone()),
        ..v.clone()
    };
    Ok(next)
}

impl<S: Store + ?Sized> Engine<'_, S> {
    pub(crate) fn body_record(
        &self,
        body: &StatementId,
    ) -> Result<Option<Rc<BodyRecord>>, StateError> {
        if let Some(r) = self.cache.bodies.borrow().get(body) {
            return Ok(r.clone());
        }
        let r: Option<Rc<BodyRecord>> = self
            .tx
            .get(Table::Bodies, body.as_bytes())?
            .map(|b| codec::decode(Table::Bodies, &b).map(Rc::new))
            .transpose()?;
        self.cache.bodies.borrow_mut().insert(*body, r.clone());
        Ok(r)
    }

    /// A body that counts, or why it cannot be used.
    pub(crate) fn body_ref(&self, body: &StatementId) -> Rule<BodyRef> {
        // Only a charter has a body record, so the statement itself is read
        // only when there is none (it is unknown, or not a charter).
        match self.body_record(body)? {
            Some(r) if r.valid => Ok(BodyRef {
                id: *body,
                name: r.name.clone(),
                home_log: r.home_log.clone(),
            }),
            Some(r) => reject(
                RejectionCode::ExcludedReference,
                format!(
                    "The charter of {} ({body}) does not count, so the body cannot act.",
                    r.name
                ),
            ),
            None => match self.load(body)? {
                Some(l) if !matches!(l.body, Body::BodyCharter(_)) => reject(
                    RejectionCode::WrongReference,
                    format!("{body} is a {}, not a body charter.", l.kind()),
                ),
                _ => Err(Stop::Wait(*body)),
            },
        }
    }

    /// The earliest placement of `l` in the body's home log.
    pub(crate) fn home_pos(&self, l: &Loaded, body: &BodyRef) -> Rule<Pos> {
        match self.first_in_home(l, &body.home_log) {
            Some(p) => Ok(p),
            None => Err(Stop::Reject(Rejection::wrong_home_log(
                &body.name,
                &body.home_log,
                self.placed_in(l),
            ))),
        }
    }

    /// Every charter version of a body, newest first.
    fn versions(&self, body: &StatementId) -> Result<Rc<[Rc<Version>]>, StateError> {
        if let Some(all) = self.cache.versions.borrow().get(body) {
            return Ok(all.clone());
        }
        // A body has few versions; read them all once per recomputation.
        let mut all = Vec::new();
        for (_, v) in self.scan_all(Table::BodyVersions, body.as_bytes(), None)? {
            all.push(Rc::new(codec::decode::<Version>(Table::BodyVersions, &v)?));
        }
        let all: Rc<[Rc<Version>]> = all.into();
        self.cache.versions.borrow_mut().insert(*body, all.clone());
        Ok(all)
    }

    /// The charter version in force for a statement at `index` of the body's home log.
    pub(crate) fn version_at(
        &self,
        body: &StatementId,
        index: u64,
    ) -> Result<Option<Rc<Version>>, StateError> {
        // Stored newest first: the first one in force before `index`.
        Ok(self
            .versions(body)?
            .iter()
            .find(|v| v.since_index < index)
            .cloned())
    }

    /// The charter version in force at `pos`, a position in any log (a
    /// request's submission): the latest one made before it. Versions are
    /// made in home-log order, which is also their position order.
    pub(crate) fn version_at_pos(
        &self,
        body: &StatementId,
        pos: &Pos,
    ) -> Result<Option<Rc<Version>>, StateError> {
        Ok(self
            .versions(body)?
            .iter()
            .find(|v| v.since < *pos)
            .cloned())
    }

    /// The member slot the author fills at `pos` of the body's home log.
    pub(crate) fn member_at(
        &self,
        body: &BodyRef,
        author: &KeyBytes,
        pos: &Pos,
    ) -> Rule<(KeyBytes, Rc<Version>)> {
        let identity = self.authority(author, pos)?;
        let Some(version) = self.version_at(&body.id, pos.index)? else {
            return reject(
                RejectionCode::NotAMember,
                format!(
                    "{} had no charter in force at this point of its home log.",
                    body.name
                ),
            );
        };
        match version.slot(&identity) {
            Some(slot) => Ok((slot, version)),
            None => reject(
                RejectionCode::NotAMember,
                format!(
                    "Key {author} is not a member of {} at this point; only its members may act for it.",
                    body.name
                ),
            ),
        }
    }

    pub(crate) fn recompute_body(&mut self, b: &StatementId) -> Result<(), StateError> {
        let agg = Agg::Body(*b);
        let items = self.members(&agg)?;
        let Some(charter_l) = items.iter().find(|l| l.id == *b) else {
            return Err(StateError::corrupt(
                Table::Members,
                "a body aggregate has no charter",
            ));
        };
        let Body::BodyCharter(charter) = &charter_l.body else {
            return Err(StateError::corrupt(
                Table::Members,
                "a body aggregate is not rooted at a charter",
            ));
        };
        let charter: BodyCharter = charter.clone();
        let bref = BodyRef {
            id: *b,
            name: charter.name.clone(),
            home_log: charter.home_log.clone(),
        };

        // The charter itself.
        let founded = self.first_in_home(charter_l, &charter.home_log);
        let charter_verdict: Rule<()> = match &founded {
            None => Err(Stop::Reject(Rejection::wrong_home_log(
                &charter.name,
                &charter.home_log,
                self.placed_in(charter_l),
            ))),
            Some(p) => self.authority(&charter_l.author, p).map(|_| ()),
        };
        let charter_verdict = self.verdict_of(charter_verdict)?;
        let valid = charter_verdict.is_valid();
        let charter_pos = founded.clone().or_else(|| charter_l.first().cloned());
        let mut sides = Vec::new();
        if let Some(p) = &founded {
            sides.push(body_log_side(b, p, b, agg)?);
        }
        self.set_verdict(
            b,
            &charter_l.author,
            Some(agg),
            charter_pos,
            charter_verdict.clone(),
            sides,
        )?;

        let mut versions: Vec<Version> = Vec::new();
        if let (true, Some(p)) = (valid, &founded) {
            let mut members: Vec<Seat> = charter.members.iter().map(Seat::from).collect();
            members.sort_by_key(|m| m.key);
            versions.push(Version {
                since_index: p.index,
                since: p.clone(),
                amendment: None,
                members,
                rule: charter.rule.clone(),
                notice_days: charter.notice_days,
                description: charter.description.clone(),
            });
        }

        // Amendments and the votes on them, in home-log order.
        let mut ordered = Vec::new();
        for l in items.iter().filter(|l| l.id != *b) {
            match (valid, self.first_in_home(l, &charter.home_log)) {
                (true, Some(p)) => ordered.push((p, l)),
                (true, None) => {
                    let v = Verdict::excluded(Rejection::wrong_home_log(
                        &charter.name,
                        &charter.home_log,
                        self.placed_in(l),
                    ));
                    self.set_verdict(
                        &l.id,
                        &l.author,
                        Some(agg),
                        l.first().cloned(),
                        v,
                        Vec::new(),
                    )?;
                }
                (false, home) => {
                    let v = Verdict::excluded(Rejection::new(
                        RejectionCode::ExcludedReference,
                        format!(
                            "The charter of {} does not count, so neither does this.",
                            charter.name
                        ),
                    ));
                    let sides = match &home {
                        Some(p) => vec![body_log_side(b, p, &l.id, agg)?],
                        None => Vec::new(),
                    };
                    self.set_verdict(
                        &l.id,
                        &l.author,
                        Some(agg),
                        home.or_else(|| l.first().cloned()),
                        v,
                        sides,
                    )?;
                }
            }
        }
        ordered.sort_by(|x, y| (&x.0, x.1.id).cmp(&(&y.0, y.1.id)));

        let mut amendments: BTreeMap<StatementId, (AmendmentRecord, Deliberation, Proposal)> =
            BTreeMap::new();
        for (pos, l) in ordered {
            let outcome = self.body_step(&bref, &pos, l, &mut versions, &mut amendments);
            let verdict = self.verdict_of(outcome)?;
            let mut sides = vec![body_log_side(b, &pos, &l.id, agg)?];
            if let Body::BodyAmend(a) = &l.body {
                // Which seat a removed key names depends on its rotations:
                // a change to them recomputes the body, as for an author.
                for k in &a.remove_members {
                    sides.push(authored_side(&KeyBytes::of(k), &pos, &l.id, Some(agg))?);
                }
            }
            self.set_verdict(&l.id, &l.author, Some(agg), Some(pos), verdict, sides)?;
        }

        let record = BodyRecord {
            name: charter.name.clone(),
            home_log: charter.home_log.clone(),
            valid,
            founded,
            amendments: amendments
                .into_values()
                .map(|(mut r, d, _)| {
                    r.tally = d.tally;
                    r.decision = d.decided;
                    r
                })
                .collect(),
        };
        self.tx.put_record(Table::Bodies, b.as_bytes(), &record)?;
        self.cache.clear();
        self.store_versions(b, &versions)
    }

    /// One amendment or vote on an amendment, in home-log order.
    fn body_step(
        &self,
        body: &BodyRef,
        pos: &Pos,
        l: &Loaded,
        versions: &mut Vec<Version>,
        amendments: &mut BTreeMap<StatementId, (AmendmentRecord, Deliberation, Proposal)>,
    ) -> Rule<()> {
        let Some(version) = versions
            .iter()
            .rev()
            .find(|v| v.since_index < pos.index)
            .cloned()
        else {
            return reject(
                RejectionCode::NotAMember,
                format!(
                    "{} had no charter in force at this point of its home log.",
                    body.name
                ),
            );
        };
        let identity = self.authority(&l.author, pos)?;
        let Some(slot) = version.slot(&identity) else {
            return reject(
                RejectionCode::NotAMember,
                format!(
                    "Key {} is not a member of {} at this point.",
                    l.author, body.name
                ),
            );
        };
        match &l.body {
            Body::BodyAmend(a) => {
                let removed = self.seats_named(&version, a, pos, &body.name)?;
                if let Err(why) = amended(&version, a, &removed, &body.name) {
                    return reject(RejectionCode::InvalidAmendment, why);
                }
                let record = AmendmentRecord {
                    id: l.id,
                    proposer: l.author,
                    proposed: pos.clone(),
                    tally: Tally::default(),
                    decision: None,
                };
                let proposal = Proposal {
                    amend: a.clone(),
                    removed,
                };
                amendments.insert(l.id, (record, Deliberation::default(), proposal));
                Ok(())
            }
            Body::Vote(v) => {
                if v.body != body.id {
                    return reject(
                        RejectionCode::NotGoverningBody,
                        format!(
                            "An amendment of {} can only be voted on by {} itself.",
                            body.name, body.name
                        ),
                    );
                }
                check_plain_ballot(v, "amendment")?;
                let Some((_, delib, proposal)) = amendments.get_mut(&v.subject) else {
                    return reject(
                        RejectionCode::ExcludedReference,
                        format!(
                            "The amendment {} does not count (or comes later in the home log).",
                            v.subject
                        ),
                    );
                };
                if let Some(d) = &delib.decided {
                    return Err(Stop::Reject(already_decided("amendment", d)));
                }
                delib.cast(slot, l.id, pos, v, &version);
                if let Some(d) = &delib.decided {
                    if d.outcome == Outcome::Approved {
                        // Checked when proposed; an amendment approved
                        // since may have made it impossible, and then it
                        // changes nothing.
                        let (a, removed) = (&proposal.amend, &proposal.removed);
                        if let Ok(mut next) = amended(&version, a, removed, &body.name) {
                            next.since_index = pos.index;
                            next.since = pos.clone();
                            next.amendment = Some(v.subject);
                            versions.push(next);
                        }
                    }
                }
                Ok(())
            }
            _ => reject(RejectionCode::WrongReference, "not a body statement"),
        }
    }

    /// The seats an amendment's `remove_members` name in `version`, at `pos`:
    /// each key names the seat it holds, under its own key or, after a
    /// rotation, under a key it rotated from. A key that holds no seat is
    /// refused, since removing it would silently change nothing.
    fn seats_named(
        &self,
        version: &Version,
        a: &BodyAmend,
        pos: &Pos,
        name: &str,
    ) -> Rule<Vec<KeyBytes>> {
        let mut out = Vec::new();
        for k in &a.remove_members {
            let k = KeyBytes::of(k);
            let holds = self.lineage_at(&k, pos)?;
            let seats: Vec<KeyBytes> = version
                .members
                .iter()
                .map(|m| m.key)
                .filter(|s| holds.contains(s))
                .collect();
            if seats.is_empty() {
                return reject(
                    RejectionCode::InvalidAmendment,
                    format!("Key {k} holds no seat on {name}, so it cannot be removed."),
                );
            }
            out.extend(seats);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Turns a rule's result into a verdict; store failures propagate.
    pub(crate) fn verdict_of(&self, r: Rule<()>) -> Result<Verdict, StateError> {
        match r {
            Ok(()) => Ok(Verdict::Valid),
            Err(Stop::Reject(rej)) => Ok(Verdict::excluded(rej)),
            Err(Stop::Wait(missing)) => Ok(Verdict::Pending { missing }),
            Err(Stop::Fail(e)) => Err(e),
        }
    }

    /// Writes the versions and marks what was sequenced after the first change.
    fn store_versions(&mut self, b: &StatementId, versions: &[Version]) -> Result<(), StateError> {
        let mut old = Vec::new();
        for (k, v) in self.scan_all(Table::BodyVersions, b.as_bytes(), None)? {
            old.push((k, codec::decode::<Version>(Table::BodyVersions, &v)?));
        }
        // Stored newest first.
        old.reverse();
        let first_change = old
            .iter()
            .map(|(_, v)| Some(v))
            .chain(std::iter::repeat(None))
            .zip(versions.iter().map(Some).chain(std::iter::repeat(None)))
            .take(old.len().max(versions.len()))
            .find(|(o, n)| o != n)
            .map(|(o, n)| {
                let a = o.map_or(u64::MAX, |v| v.since_index);
                let c = n.map_or(u64::MAX, |v| v.since_index);
                // Versions are made in home-log order, so the earlier of
                // the two differing ones is where the change starts in time too.
                let at = [o, n].into_iter().flatten().map(|v| v.since.at).min();
                (a.min(c), at)
            });
        let Some((from, from_at)) = first_change else {
            return Ok(());
        };
        for (k, _) in &old {
            self.tx.delete(Table::BodyVersions, k)?;
        }
        for v in versions {
            self.tx
                .put_record(Table::BodyVersions, &version_key(b, v.since_index), v)?;
        }
        self.cache.clear();
        self.mark_owners(Table::BodyLog, b.as_bytes(), Some(&from.to_be_bytes()))?;
        // A request's record shows the notice period in force for each of
        // its bodies when it was submitted, wherever that was: the requests
        // the body governs that were submitted from the change on depend
        // on these versions even when nothing of theirs is in the home log.
        if let Some(at) = from_at {
            self.mark_requests_since(b, at)?;
        }
        Ok(())
    }

    /// Marks the requests `b` governs that were submitted at `at` or later.
    fn mark_requests_since(&mut self, b: &StatementId, at: Timestamp) -> Result<(), StateError> {
        let prefix = b.as_bytes();
        // `after` is exclusive and every full key is longer than
        // body ‖ time, so requests submitted exactly at `at` are included.
        let after = key(&[prefix, &codec::time_key(at)]);
        let found = self.scan_all(Table::RequestsByBody, prefix, Some(&after))?;
        for (k, _) in found {
            let r = codec::id_at(Table::RequestsByBody, &k, prefix.len() + 8)?;
            self.mark(Agg::Request(r));
        }
        Ok(())
    }
}
