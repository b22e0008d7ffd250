//! Routing: which aggregate a statement belongs to, and waiting for what it
//! refers to.
//!
//! Only the references that decide the aggregate are followed here (a vote's
//! subject, a lift's rāhui, a review's report); everything else a statement
//! refers to is checked by its aggregate's rules. A statement whose route
//! passes through something unknown waits in [`Table::Pending`] and is routed
//! when that arrives.

use kaitiaki_protocol::{Body, Kind, StatementId};

use crate::codec::{self, key, KeyBytes};
use crate::engine::Engine;
use crate::entry::{Agg, Verdict, VerdictRecord};
use crate::error::StateError;
use crate::rejection::{Rejection, RejectionCode};
use crate::store::{Store, Table};

impl<S: Store + ?Sized> Engine<'_, S> {
    /// Sends a new statement to its aggregate, or records why it cannot go yet.
    pub(crate) fn route(
        &mut self,
        id: &StatementId,
        author: &KeyBytes,
        body: &Body,
        new: bool,
    ) -> Result<(), StateError> {
        match self.owner_of(id, author, body)? {
            Route::To(agg) => {
                // A statement that waited to be routed stops waiting (a new
                // one has no record yet).
                let waited = if new { None } else { self.record(id)? };
                if let Some(VerdictRecord {
                    verdict: Verdict::Pending { missing },
                    ..
                }) = waited
                {
                    self.tx
                        .delete(Table::Pending, &key(&[missing.as_bytes(), id.as_bytes()]))?;
                }
                self.tx
                    .put(Table::Members, &key(&[&agg.key(), id.as_bytes()]), &[])?;
                // A placeholder until the owner's recomputation sets the real verdict.
                let placeholder = VerdictRecord {
                    verdict: Verdict::Pending { missing: *id },
                    owner: Some(agg),
                    pos: None,
                    sides: Vec::new(),
                };
                self.write_record(id, &placeholder)?;
                self.mark(agg);
            }
            Route::Wait(missing) => {
                self.set_verdict(
                    id,
                    author,
                    None,
                    None,
                    Verdict::Pending { missing },
                    Vec::new(),
                )?;
            }
            Route::Refuse(rejection) => {
                self.set_verdict(
                    id,
                    author,
                    None,
                    None,
                    Verdict::excluded(rejection),
                    Vec::new(),
                )?;
            }
        }
        Ok(())
    }

    /// Wakes the statements waiting for `id`.
    pub(crate) fn wake(&mut self, id: &StatementId) -> Result<(), StateError> {
        for (k, _) in self.scan_all(Table::Pending, id.as_bytes(), None)? {
            let waiter = codec::id_at(Table::Pending, &k, 32)?;
            let Some(rec) = self.record(&waiter)? else {
                continue;
            };
            match rec.owner {
                Some(owner) => self.mark(owner),
                None => {
                    let loaded = self.load(&waiter)?.ok_or_else(|| {
                        StateError::corrupt(Table::Statements, "a waiting statement is not stored")
                    })?;
                    self.route(&waiter, &loaded.author, &loaded.body, false)?;
                }
            }
        }
        Ok(())
    }

    /// Which aggregate a statement belongs to. Only references that decide
    /// the aggregate are followed here; the rest are checked by the owner.
    fn owner_of(
        &self,
        id: &StatementId,
        author: &KeyBytes,
        body: &Body,
    ) -> Result<Route, StateError> {
        let route = self.route_by_kind(id, author, body)?;
        // Following a chain (a lift → its rāhui → the dataset) can name an
        // aggregate whose root is not known yet: wait for the root too.
        if let Route::To(agg) = &route {
            let root = match agg {
                Agg::Body(r) | Agg::Dataset(r) | Agg::Request(r) | Agg::Concern(r) => Some(*r),
                Agg::Key(_) | Agg::Item(_) => None,
            };
            if let Some(r) = root.filter(|r| r != id && !names_directly(body, r)) {
                if self.tx.get(Table::Statements, r.as_bytes())?.is_none() {
                    return Ok(Route::Wait(r));
                }
            }
        }
        Ok(route)
    }

    fn route_by_kind(
        &self,
        id: &StatementId,
        author: &KeyBytes,
        body: &Body,
    ) -> Result<Route, StateError> {
        let via = |target: &StatementId,
                   what: &str,
                   ok: &dyn Fn(&Body) -> Option<Agg>|
         -> Result<Route, StateError> {
            match self.load(target)? {
                None => Ok(Route::Wait(*target)),
                Some(t) => Ok(match ok(&t.body) {
                    Some(agg) => Route::To(agg),
                    None => Route::Refuse(Rejection::new(
                        RejectionCode::WrongReference,
                        format!(
                            "{target} is a {}, not {what}; check the id you referred to.",
                            t.kind()
                        ),
                    )),
                }),
            }
        };
        // A statement about a request needs only the kind of what it names.
        let on_request = |target: &StatementId| -> Result<Route, StateError> {
            Ok(match self.kind_of(target)? {
                None => Route::Wait(*target),
                Some(Kind::RequestSubmit) => Route::To(Agg::Request(*target)),
                Some(k) => Route::Refuse(Rejection::new(
                    RejectionCode::WrongReference,
                    format!("{target} is a {k}, not a request; check the id you referred to."),
                )),
            })
        };
        Ok(match body {
            Body::KeyAnnounce(_) | Body::KeyRotate(_) | Body::KeyRevoke(_) => {
                Route::To(Agg::Key(*author))
            }
            Body::BodyCharter(_) => Route::To(Agg::Body(*id)),
            Body::BodyAmend(b) => via(&b.body, "a body charter", &|t| {
                matches!(t, Body::BodyCharter(_)).then_some(Agg::Body(b.body))
            })?,
            Body::DatasetRegister(_) => Route::To(Agg::Dataset(*id)),
            Body::RahuiPlace(b) => via(&b.dataset, "a dataset registration", &|t| {
                matches!(t, Body::DatasetRegister(_)).then_some(Agg::Dataset(b.dataset))
            })?,
            Body::RahuiLift(b) => via(&b.rahui, "a rāhui", &|t| match t {
                Body::RahuiPlace(p) => Some(Agg::Dataset(p.dataset)),
                _ => None,
            })?,
            Body::RequestSubmit(_) => Route::To(Agg::Request(*id)),
            Body::RequestWithdraw(b) => on_request(&b.request)?,
            Body::ApprovalMotion(b) => on_request(&b.request)?,
            Body::RenewalRequest(b) => on_request(&b.request)?,
            Body::UseReport(b) => on_request(&b.request)?,
            Body::OutputSubmit(b) => on_request(&b.request)?,
            Body::ReportReview(b) => via(&b.report, "a use report", &|t| match t {
                Body::UseReport(r) => Some(Agg::Request(r.request)),
                _ => None,
            })?,
            Body::OutputReview(b) => via(&b.output, "an output", &|t| match t {
                Body::OutputSubmit(o) => Some(Agg::Request(o.request)),
                _ => None,
            })?,
            // Most votes are on requests: their kind is enough to route them.
            Body::Vote(v) if self.kind_of(&v.subject)? == Some(Kind::RequestSubmit) => {
                Route::To(Agg::Request(v.subject))
            }
            Body::Vote(v) => via(
                &v.subject,
                "a request, amendment, renewal or approval motion",
                &|t| match t {
                    Body::RequestSubmit(_) => Some(Agg::Request(v.subject)),
                    Body::BodyAmend(a) => Some(Agg::Body(a.body)),
                    Body::RenewalRequest(r) => Some(Agg::Request(r.request)),
                    Body::ApprovalMotion(m) => Some(Agg::Request(m.request)),
                    _ => None,
                },
            )?,
            Body::ConcernRaise(_) => Route::To(Agg::Concern(*id)),
            Body::ConcernRespond(b) => via(&b.concern, "a concern", &|t| {
                matches!(t, Body::ConcernRaise(_)).then_some(Agg::Concern(b.concern))
            })?,
            Body::RequestQuestion(_) | Body::RequestAnswer(_) | Body::AttachmentCommit(_) => {
                Route::To(Agg::Item(*id))
            }
            // A kind this version does not know: it cannot count, and says so.
            _ => Route::Refuse(Rejection::new(
                RejectionCode::WrongReference,
                format!(
                    "Statements of kind {} are not understood by this version of the rules.",
                    body.kind()
                ),
            )),
        })
    }
}

/// Whether routing `body` read `root` itself (so it is known to exist):
/// a vote, withdrawal, motion, renewal, report or output names its request.
fn names_directly(body: &Body, root: &StatementId) -> bool {
    match body {
        Body::Vote(v) => v.subject == *root,
        Body::RequestWithdraw(b) => b.request == *root,
        Body::ApprovalMotion(b) => b.request == *root,
        Body::RenewalRequest(b) => b.request == *root,
        Body::UseReport(b) => b.request == *root,
        Body::OutputSubmit(b) => b.request == *root,
        Body::BodyAmend(b) => b.body == *root,
        Body::RahuiPlace(b) => b.dataset == *root,
        Body::ConcernRespond(b) => b.concern == *root,
        _ => false,
    }
}

enum Route {
    To(Agg),
    Wait(StatementId),
    Refuse(Rejection),
}
