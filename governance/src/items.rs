//! Community voice: questions and answers, concerns and responses, and
//! confidential attachments.
//!
//! - Anyone may ask a question about a request (`request.question`); only
//!   the requester answers (`request.answer`). Questions may come at any
//!   time, and especially during the notice period.
//! - Anyone may raise a concern about a request or a dataset
//!   (`concern.raise`). A member of a body governing the subject responds in
//!   that body's home log (`concern.respond`). A subject governed by several
//!   bodies answers to each of them: the concern is open until every
//!   governing body's latest response marks it resolved (a body that has
//!   not responded leaves it open), and a body's later response may reopen
//!   it.
//! - An attachment (`attachment.commit`) commits a confidential file to a
//!   statement by hash; only the author of that statement may attach to it,
//!   and the members of the named body may read it.

use kaitiaki_protocol::{Body, StatementId};
use serde::{Deserialize, Serialize};

use crate::bodies::body_log_side;
use crate::codec::{self, key, KeyBytes, Pos};
use crate::engine::{depends_on, Engine, Loaded};
use crate::entry::{Agg, Side, Verdict};
use crate::error::StateError;
use crate::rejection::RejectionCode;
use crate::rules::{reject, Rule, Stop};
use crate::store::{Store, Table};

/// A concern and how it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConcernRecord {
    /// The request or dataset it is about.
    pub subject: StatementId,
    /// Who raised it.
    pub raised_by: KeyBytes,
    /// Where it sits.
    pub raised: Pos,
    /// The bodies that may respond.
    pub bodies: Vec<StatementId>,
    /// Responses that count, in order.
    pub responses: Vec<Response>,
    /// The bodies whose latest response resolves it, by id.
    pub resolved_by: Vec<StatementId>,
    /// Whether it is still open: some body in `bodies` is not in `resolved_by`.
    pub open: bool,
}

/// A body's response to a concern.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// The `concern.respond` statement.
    pub id: StatementId,
    /// The body responding.
    pub body: StatementId,
    /// Where it sits.
    pub at: Pos,
    /// Whether it resolves the concern.
    pub resolved: bool,
}

/// The side entry listing an item under its subject's thread.
fn thread_side(subject: &StatementId, pos: &Pos, id: &StatementId, kind: &str) -> Side {
    Side {
        table: Table::Thread,
        key: key(&[subject.as_bytes(), &codec::time_key(pos.at), id.as_bytes()]),
        value: kind.as_bytes().to_vec(),
    }
}

impl<S: Store + ?Sized> Engine<'_, S> {
    /// A referenced statement of the right kind that counts.
    pub(crate) fn counted(
        &self,
        id: &StatementId,
        what: &str,
        ok: fn(&Body) -> bool,
    ) -> Rule<Loaded> {
        let Some(l) = self.load(id)? else {
            return Err(Stop::Wait(*id));
        };
        if !ok(&l.body) {
            return reject(
                RejectionCode::WrongReference,
                format!("{id} is a {}, not {what}.", l.body.kind()),
            );
        }
        match self.record(id)?.map(|r| r.verdict) {
            Some(Verdict::Valid) => Ok(l),
            Some(Verdict::Pending { missing }) => Err(Stop::Wait(missing)),
            Some(Verdict::Excluded { .. }) => reject(
                RejectionCode::ExcludedReference,
                format!("The {what} {id} does not count, so nothing can refer to it."),
            ),
            None => Err(Stop::Wait(*id)),
        }
    }

    pub(crate) fn recompute_item(&mut self, x: &StatementId) -> Result<(), StateError> {
        let agg = Agg::Item(*x);
        let Some(l) = self.load(x)? else {
            return Err(StateError::corrupt(Table::Members, "an item is not stored"));
        };
        let Some(pos) = l.first().cloned() else {
            return Err(StateError::corrupt(
                Table::Placements,
                "an item has no placement",
            ));
        };
        let mut sides = Vec::new();
        let rule: Rule<()> = match &l.body {
            Body::RequestQuestion(q) => {
                sides.push(depends_on(&q.request, x, agg)?);
                sides.push(thread_side(&q.request, &pos, x, "question"));
                self.authority(&l.author, &pos)
                    .and_then(|_| {
                        self.counted(&q.request, "a request", |b| {
                            matches!(b, Body::RequestSubmit(_))
                        })
                    })
                    .map(|_| ())
            }
            Body::RequestAnswer(a) => {
                sides.push(depends_on(&a.question, x, agg)?);
                sides.push(thread_side(&a.question, &pos, x, "answer"));
                (|| {
                    let identity = self.authority(&l.author, &pos)?;
                    let q = self.counted(&a.question, "a question", |b| {
                        matches!(b, Body::RequestQuestion(_))
                    })?;
                    let Body::RequestQuestion(q) = &q.body else {
                        return reject(RejectionCode::WrongReference, "not a question");
                    };
                    let r = self.counted(&q.request, "a request", |b| {
                        matches!(b, Body::RequestSubmit(_))
                    })?;
                    if !identity.contains(&r.author) {
                        return reject(
                            RejectionCode::NotRequester,
                            "Only the requester may answer questions about a request.",
                        );
                    }
                    Ok(())
                })()
            }
            Body::AttachmentCommit(a) => {
                sides.push(depends_on(&a.subject, x, agg)?);
                sides.push(depends_on(&a.readers, x, agg)?);
                sides.push(thread_side(&a.subject, &pos, x, "attachment"));
                (|| {
                    let identity = self.authority(&l.author, &pos)?;
                    let s = self.counted(&a.subject, "a statement", |_| true)?;
                    self.body_ref(&a.readers)?;
                    if !identity.contains(&s.author) {
                        return reject(
                            RejectionCode::NotAuthor,
                            "Only the author of a statement may attach a confidential file to it.",
                        );
                    }
                    Ok(())
                })()
            }
            _ => reject(RejectionCode::WrongReference, "not an item"),
        };
        let verdict = self.verdict_of(rule)?;
        self.set_verdict(x, &l.author, Some(agg), Some(pos), verdict, sides)
    }

    pub(crate) fn concern_record(
        &self,
        c: &StatementId,
    ) -> Result<Option<ConcernRecord>, StateError> {
        self.tx
            .get(Table::Concerns, c.as_bytes())?
            .map(|b| codec::decode(Table::Concerns, &b))
            .transpose()
    }

    /// The bodies that may respond to a concern about `subject`.
    fn subject_bodies(&self, subject: &StatementId) -> Rule<Vec<StatementId>> {
        let s = self.counted(subject, "a request or dataset", |b| {
            matches!(b, Body::RequestSubmit(_) | Body::DatasetRegister(_))
        })?;
        let bodies = match &s.body {
            Body::DatasetRegister(_) => self.dataset_record(subject)?.map(|d| d.governing_bodies),
            _ => self.request_record(subject)?.map(|r| r.bodies),
        };
        bodies.ok_or(Stop::Wait(*subject))
    }

    pub(crate) fn recompute_concern(&mut self, c: &StatementId) -> Result<(), StateError> {
        let agg = Agg::Concern(*c);
        let items = self.members(&agg)?;
        let Some(root) = items.iter().find(|l| l.id == *c) else {
            return Err(StateError::corrupt(
                Table::Members,
                "a concern aggregate has no concern",
            ));
        };
        let (Body::ConcernRaise(raise), Some(pos)) = (&root.body, root.first().cloned()) else {
            return Err(StateError::corrupt(
                Table::Members,
                "a concern aggregate is not rooted at a concern",
            ));
        };
        let sides = vec![
            depends_on(&raise.subject, c, agg)?,
            thread_side(&raise.subject, &pos, c, "concern"),
        ];
        let bodies = self
            .authority(&root.author, &pos)
            .and_then(|_| self.subject_bodies(&raise.subject));
        let (bodies, root_verdict) = match bodies {
            Ok(b) => (Some(b), Verdict::Valid),
            Err(stop) => (None, self.verdict_of(Err(stop))?),
        };
        self.set_verdict(
            c,
            &root.author,
            Some(agg),
            Some(pos.clone()),
            root_verdict.clone(),
            sides,
        )?;

        let mut responses = Vec::new();
        let mut steps: Vec<(Pos, &Loaded, Rule<()>, Vec<Side>)> = Vec::new();
        for l in items.iter().filter(|l| l.id != *c) {
            let Body::ConcernRespond(resp) = &l.body else {
                continue;
            };
            let first = l.first().cloned().unwrap_or_else(|| pos.clone());
            let Some(bodies) = &bodies else {
                let r = match &root_verdict {
                    Verdict::Pending { missing } => Err(Stop::Wait(*missing)),
                    _ => reject(
                        RejectionCode::ExcludedReference,
                        "The concern does not count, so neither do responses to it.",
                    ),
                };
                steps.push((first, l, r, Vec::new()));
                continue;
            };
            if !bodies.contains(&resp.body) {
                let r = reject(
                    RejectionCode::NotGoverningBody,
                    "Only a body that governs the subject of a concern may respond to it.",
                );
                steps.push((first, l, r, Vec::new()));
                continue;
            }
            let placed = self
                .body_ref(&resp.body)
                .and_then(|b| Ok((self.home_pos(l, &b)?, b)));
            match placed {
                Err(stop) => steps.push((first, l, Err(stop), Vec::new())),
                Ok((home, b)) => {
                    let side = body_log_side(&resp.body, &home, &l.id, agg)?;
                    let r = self.member_at(&b, &l.author, &home).map(|_| ());
                    if r.is_ok() {
                        responses.push(Response {
                            id: l.id,
                            body: resp.body,
                            at: home.clone(),
                            resolved: resp.resolved,
                        });
                    }
                    steps.push((home, l, r, vec![side]));
                }
            }
        }
        for (p, l, r, sides) in steps {
            let v = self.verdict_of(r)?;
            self.set_verdict(&l.id, &l.author, Some(agg), Some(p), v, sides)?;
        }
        responses.sort_by(|a, b| (&a.at, a.id).cmp(&(&b.at, b.id)));

        let record = bodies.map(|bodies| {
            // Responses are in order, so the last of each body's is its latest.
            let mut latest = std::collections::BTreeMap::new();
            for r in &responses {
                latest.insert(r.body, r.resolved);
            }
            let resolved_by: Vec<StatementId> = latest
                .into_iter()
                .filter_map(|(b, resolved)| resolved.then_some(b))
                .collect();
            ConcernRecord {
                subject: raise.subject,
                raised_by: root.author,
                raised: pos.clone(),
                open: !bodies.iter().all(|b| resolved_by.contains(b)),
                bodies,
                resolved_by,
                responses,
            }
        });
        let old = self.concern_record(c)?;
        if old == record {
            return Ok(());
        }
        let open_key = |r: &ConcernRecord| key(&[&codec::time_key(r.raised.at), c.as_bytes()]);
        if let Some(o) = old.as_ref().filter(|o| o.open) {
            self.tx.delete(Table::OpenConcerns, &open_key(o))?;
        }
        match &record {
            Some(r) => {
                if r.open {
                    self.tx.put(Table::OpenConcerns, &open_key(r), &[])?;
                }
                self.tx.put_record(Table::Concerns, c.as_bytes(), r)
            }
            None => self.tx.delete(Table::Concerns, c.as_bytes()),
        }
    }
}
