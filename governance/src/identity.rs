//! Identity: announced keys, rotation and revocation, and who a key speaks for.
//!
//! - `key.announce` gives a key a display name and affiliation; the latest
//!   announcement before the key ends is the one shown.
//! - A key *ends* at its earliest `key.rotate` or `key.revoke` (earliest by
//!   position, see [`crate::Pos`]). Statements it signed before stand;
//!   statements placed after are excluded (`key_rotated`, `key_revoked`),
//!   including any second rotation or revocation.
//! - A rotation passes the old key's authority to the new key *from the
//!   rotation on*: from then, the new key speaks for the old one (its
//!   memberships, its requests). Authority is transitive along a chain of
//!   rotations; a key's *lineage* is every key whose authority it holds, and
//!   since when.
//!
//! Revocation and rotation are compared with the *sequenced* time of the
//! statements they affect, never the author's `created_at`: whoever holds a
//! compromised key can write any `created_at`, but not the time an honest
//! node sequenced a leaf.

use kaitiaki_protocol::{Body, StatementId};
use serde::{Deserialize, Serialize};

use crate::codec::{self, key, KeyBytes, Pos};
use crate::engine::Engine;
use crate::entry::{Agg, Verdict};
use crate::error::StateError;
use crate::rejection::{Rejection, RejectionCode};
use crate::rules::{Rule, Stop};
use crate::store::{Store, Table};

/// What the state knows about a key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The name from the latest valid announcement.
    pub display_name: Option<String>,
    /// The affiliation from the latest valid announcement.
    pub affiliation: Option<String>,
    /// Where that announcement sits.
    pub announced: Option<Pos>,
    /// The rotation or revocation that ended the key, if any.
    pub end: Option<KeyEnd>,
    /// Keys whose authority this key holds, by key.
    pub lineage: Vec<Lineage>,
}

/// How and when a key ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEnd {
    /// The `key.rotate` or `key.revoke` statement.
    pub id: StatementId,
    /// Where it sits.
    pub pos: Pos,
    /// The new key, for a rotation.
    pub rotated_to: Option<KeyBytes>,
    /// The reason, for a revocation.
    pub reason: Option<String>,
}

/// One key whose authority another holds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Lineage {
    /// The earlier key.
    pub key: KeyBytes,
    /// From when its authority is held (the rotation that handed it on).
    pub since: Pos,
}

impl<S: Store + ?Sized> Engine<'_, S> {
    pub(crate) fn key_record(&self, k: &KeyBytes) -> Result<KeyRecord, StateError> {
        if let Some(r) = self.cache.keys.borrow().get(k) {
            return Ok(r.clone());
        }
        let r: KeyRecord = self
            .tx
            .get(Table::Keys, k.as_bytes())?
            .map(|b| codec::decode(Table::Keys, &b))
            .transpose()?
            .unwrap_or_default();
        self.cache.keys.borrow_mut().insert(*k, r.clone());
        Ok(r)
    }

    /// The keys `author` speaks for at `pos`, or why it may not speak at all.
    pub(crate) fn authority(&self, author: &KeyBytes, pos: &Pos) -> Rule<Vec<KeyBytes>> {
        let rec = self.key_record(author)?;
        if let Some(end) = &rec.end {
            if end.pos < *pos {
                return Err(Stop::Reject(match end.rotated_to {
                    Some(to) => Rejection::new(
                        RejectionCode::KeyRotated,
                        format!(
                            "Key {author} was rotated to {to} at {}; sign with the new key.",
                            end.pos.at
                        ),
                    ),
                    None => Rejection::new(
                        RejectionCode::KeyRevoked,
                        format!(
                            "Key {author} was revoked at {}; statements it signs after that do not count. \
                             Announce a new key and sign with it.",
                            end.pos.at
                        ),
                    ),
                }));
            }
        }
        let mut keys = self.lineage_at(author, pos)?;
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    /// The keys whose seats `k` holds at `pos`, ended or not: itself and
    /// every key that rotated into it before `pos`.
    pub(crate) fn lineage_at(&self, k: &KeyBytes, pos: &Pos) -> Result<Vec<KeyBytes>, StateError> {
        let rec = self.key_record(k)?;
        let mut keys = vec![*k];
        keys.extend(rec.lineage.iter().filter(|l| l.since < *pos).map(|l| l.key));
        Ok(keys)
    }

    pub(crate) fn recompute_key(&mut self, k: &KeyBytes) -> Result<(), StateError> {
        let agg = Agg::Key(*k);
        let mut items = Vec::new();
        for l in self.members(&agg)? {
            if let Some(p) = l.first().cloned() {
                items.push((p, l));
            }
        }
        items.sort_by(|a, b| (&a.0, a.1.id).cmp(&(&b.0, b.1.id)));

        let mut rec = KeyRecord::default();
        for (pos, l) in &items {
            let verdict = match (&rec.end, &l.body) {
                (Some(end), _) => Verdict::excluded(Rejection::new(
                    if end.rotated_to.is_some() {
                        RejectionCode::KeyRotated
                    } else {
                        RejectionCode::KeyRevoked
                    },
                    format!(
                        "Key {k} had already ended at {}; this statement does not count.",
                        end.pos.at
                    ),
                )),
                (None, Body::KeyAnnounce(a)) => {
                    rec.display_name = Some(a.display_name.clone());
                    rec.affiliation = Some(a.affiliation.clone());
                    rec.announced = Some(pos.clone());
                    Verdict::Valid
                }
                (None, Body::KeyRotate(r)) => {
                    rec.end = Some(KeyEnd {
                        id: l.id,
                        pos: pos.clone(),
                        rotated_to: Some(KeyBytes::of(&r.new_key)),
                        reason: None,
                    });
                    Verdict::Valid
                }
                (None, Body::KeyRevoke(r)) => {
                    rec.end = Some(KeyEnd {
                        id: l.id,
                        pos: pos.clone(),
                        rotated_to: None,
                        reason: Some(r.reason.clone()),
                    });
                    Verdict::Valid
                }
                (None, _) => Verdict::excluded(Rejection::new(
                    RejectionCode::WrongReference,
                    "not a key statement",
                )),
            };
            self.set_verdict(
                &l.id,
                &l.author,
                Some(agg),
                Some(pos.clone()),
                verdict,
                Vec::new(),
            )?;
        }

        // Lineage: every key that rotated into this one, and their lineage,
        // held from the rotation on.
        let mut lineage: Vec<Lineage> = Vec::new();
        for (kk, _) in self.scan_all(Table::RotationsInto, k.as_bytes(), None)? {
            let old = codec::pubkey_at(Table::RotationsInto, &kk, 32)?;
            let old_rec = self.key_record(&old)?;
            let Some(end) = old_rec.end.filter(|e| e.rotated_to == Some(*k)) else {
                continue;
            };
            lineage.push(Lineage {
                key: old,
                since: end.pos.clone(),
            });
            for l in old_rec.lineage {
                lineage.push(Lineage {
                    key: l.key,
                    since: end.pos.clone(),
                });
            }
        }
        lineage.retain(|l| l.key != *k);
        // Keep the earliest `since` per key.
        lineage.sort();
        lineage.dedup_by(|later, earlier| later.key == earlier.key);
        rec.lineage = lineage;

        let old = self.key_record(k)?;
        if old == rec {
            return Ok(());
        }
        if rec == KeyRecord::default() {
            self.tx.delete(Table::Keys, k.as_bytes())?;
        } else {
            self.tx.put_record(Table::Keys, k.as_bytes(), &rec)?;
        }
        self.cache.clear();

        if old.end != rec.end {
            let from = [old.end.as_ref(), rec.end.as_ref()]
                .into_iter()
                .flatten()
                .map(|e| e.pos.at)
                .min();
            if let Some(from) = from {
                self.mark_owners(Table::Authored, k.as_bytes(), Some(&codec::time_key(from)))?;
            }
            let old_to = old.end.as_ref().and_then(|e| e.rotated_to);
            let new_to = rec.end.as_ref().and_then(|e| e.rotated_to);
            if old_to != new_to {
                if let Some(t) = old_to {
                    self.tx
                        .delete(Table::RotationsInto, &key(&[t.as_bytes(), k.as_bytes()]))?;
                    self.mark(Agg::Key(t));
                }
                if let Some(t) = new_to {
                    self.tx.put(
                        Table::RotationsInto,
                        &key(&[t.as_bytes(), k.as_bytes()]),
                        &[],
                    )?;
                    self.mark(Agg::Key(t));
                }
            } else if let Some(t) = new_to {
                // Same successor, different time: its lineage changes.
                self.mark(Agg::Key(t));
            }
        }
        if old.lineage != rec.lineage {
            let changed_from = old
                .lineage
                .iter()
                .filter(|l| !rec.lineage.contains(l))
                .chain(rec.lineage.iter().filter(|l| !old.lineage.contains(l)))
                .map(|l| l.since.at)
                .min();
            if let Some(from) = changed_from {
                self.mark_owners(Table::Authored, k.as_bytes(), Some(&codec::time_key(from)))?;
            }
            if let Some(t) = rec.end.as_ref().and_then(|e| e.rotated_to) {
                self.mark(Agg::Key(t));
            }
        }
        Ok(())
    }
}
