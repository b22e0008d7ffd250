//! The binary spelling of every stored record.
//!
//! Records are written field by field in a fixed order: integers and
//! lengths as LEB128 varints, times as big-endian milliseconds (8 bytes),
//! ids and keys as their 32 raw bytes, strings and lists length-prefixed,
//! options and enums as a one-byte tag. Every collection in a record is a
//! sorted `Vec`, so the encoding is a function of the logical record: the
//! same record is always the same bytes, which is what keeps the state hash
//! comparable between nodes. Decoding reads back exactly what encoding
//! wrote and refuses anything else (trailing bytes included).
//!
//! `write` and `read` sit side by side in each impl, and the tests below
//! check that they undo each other.

use kaitiaki_protocol::statement::{
    ApprovalAction, ApprovalMotion, AttachmentCommit, BodyAmend, BodyCharter, Choice, ConcernRaise,
    ConcernRespond, Condition, DatasetRegister, DecisionRule, KeyAnnounce, KeyRevoke, KeyRotate,
    Label, Member, OutputReview, OutputSubmit, RahuiLift, RahuiPlace, RenewalRequest, ReportKind,
    ReportReview, RequestAnswer, RequestQuestion, RequestSubmit, RequestWithdraw, Sensitivity,
    UseCategory, UseReport, Vote,
};
use kaitiaki_protocol::{Body, ContentHash, Kind, PublicKey, Signature, StatementId, Timestamp};

use crate::codec::{KeyBytes, Pos};
use crate::error::StateError;
use crate::store::Table;

/// A cursor over bytes being decoded.
pub(crate) struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b }
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn varint(&mut self) -> Option<u64> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            out |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(out);
            }
        }
        None
    }

    fn len(&mut self) -> Option<usize> {
        let n = usize::try_from(self.varint()?).ok()?;
        // A length can never exceed what is left to read (every item takes a byte).
        (n <= self.b.len()).then_some(n)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.b.is_empty()
    }
}

fn put_varint(o: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        o.push((v as u8) | 0x80);
        v >>= 7;
    }
    o.push(v as u8);
}

/// A value with a binary spelling.
pub(crate) trait Bin: Sized {
    /// Appends the value's bytes.
    fn write(&self, o: &mut Vec<u8>);
    /// Reads a value back; `None` if the bytes are not one.
    fn read(r: &mut Reader<'_>) -> Option<Self>;
}

/// The bytes of a record.
pub(crate) fn to_bytes<T: Bin>(v: &T) -> Vec<u8> {
    let mut o = Vec::with_capacity(128);
    v.write(&mut o);
    o
}

/// A record read back from a table; every byte must be used.
pub(crate) fn from_bytes<T: Bin>(table: Table, b: &[u8]) -> Result<T, StateError> {
    let mut r = Reader::new(b);
    match T::read(&mut r) {
        Some(v) if r.is_empty() => Ok(v),
        _ => Err(StateError::corrupt(
            table,
            "a stored record does not decode",
        )),
    }
}

impl Bin for u8 {
    fn write(&self, o: &mut Vec<u8>) {
        o.push(*self);
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        r.byte()
    }
}

impl Bin for bool {
    fn write(&self, o: &mut Vec<u8>) {
        o.push(u8::from(*self));
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        match r.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
}

impl Bin for u32 {
    fn write(&self, o: &mut Vec<u8>) {
        put_varint(o, u64::from(*self));
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        u32::try_from(r.varint()?).ok()
    }
}

impl Bin for u64 {
    fn write(&self, o: &mut Vec<u8>) {
        put_varint(o, *self);
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        r.varint()
    }
}

impl Bin for String {
    fn write(&self, o: &mut Vec<u8>) {
        put_varint(o, self.len() as u64);
        o.extend_from_slice(self.as_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        let n = r.len()?;
        String::from_utf8(r.take(n)?.to_vec()).ok()
    }
}

impl<T: Bin> Bin for Vec<T> {
    fn write(&self, o: &mut Vec<u8>) {
        put_varint(o, self.len() as u64);
        for x in self {
            x.write(o);
        }
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        let n = r.len()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(T::read(r)?);
        }
        Some(out)
    }
}

impl<T: Bin> Bin for Option<T> {
    fn write(&self, o: &mut Vec<u8>) {
        match self {
            None => o.push(0),
            Some(x) => {
                o.push(1);
                x.write(o);
            }
        }
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        match r.byte()? {
            0 => Some(None),
            1 => Some(Some(T::read(r)?)),
            _ => None,
        }
    }
}

impl<A: Bin, B: Bin> Bin for (A, B) {
    fn write(&self, o: &mut Vec<u8>) {
        self.0.write(o);
        self.1.write(o);
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        Some((A::read(r)?, B::read(r)?))
    }
}

fn read32(r: &mut Reader<'_>) -> Option<[u8; 32]> {
    r.take(32).and_then(|b| b.try_into().ok())
}

impl Bin for StatementId {
    fn write(&self, o: &mut Vec<u8>) {
        o.extend_from_slice(self.as_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        read32(r).map(StatementId::from_bytes)
    }
}

impl Bin for ContentHash {
    fn write(&self, o: &mut Vec<u8>) {
        o.extend_from_slice(self.as_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        read32(r).map(ContentHash::from_bytes)
    }
}

impl Bin for KeyBytes {
    fn write(&self, o: &mut Vec<u8>) {
        o.extend_from_slice(self.as_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        KeyBytes::from_slice(r.take(32)?)
    }
}

impl Bin for Timestamp {
    fn write(&self, o: &mut Vec<u8>) {
        o.extend_from_slice(&crate::codec::time_key(*self));
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        let b: [u8; 8] = r.take(8)?.try_into().ok()?;
        let ms = i64::try_from(u64::from_be_bytes(b)).ok()?;
        Timestamp::from_unix_millis(ms).ok()
    }
}

/// Writes and reads a struct field by field, in the order listed. Leaving a
/// field out fails to compile (the struct literal would be incomplete).
macro_rules! bin_struct {
    ($t:ty { $($f:ident),* $(,)? }) => {
        impl $crate::binary::Bin for $t {
            fn write(&self, o: &mut Vec<u8>) {
                $($crate::binary::Bin::write(&self.$f, o);)*
            }
            fn read(r: &mut $crate::binary::Reader<'_>) -> Option<Self> {
                Some(Self { $($f: $crate::binary::Bin::read(r)?,)* })
            }
        }
    };
}

/// Writes and reads a fieldless enum as its position in the list. The
/// list is the format: append new variants, never reorder.
macro_rules! bin_unit_enum {
    ($t:ident { $($v:ident),* $(,)? }) => {
        impl $crate::binary::Bin for $t {
            fn write(&self, o: &mut Vec<u8>) {
                const ALL: &[$t] = &[$($t::$v),*];
                let i = ALL.iter().position(|x| x == self).unwrap_or(usize::from(u8::MAX));
                o.push(i as u8);
            }
            fn read(r: &mut $crate::binary::Reader<'_>) -> Option<Self> {
                const ALL: &[$t] = &[$($t::$v),*];
                ALL.get(usize::from(r.take(1)?[0])).copied()
            }
        }
    };
}

impl Bin for PublicKey {
    fn write(&self, o: &mut Vec<u8>) {
        o.extend_from_slice(self.as_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        // Only keys that were checked when their statement was are stored.
        PublicKey::from_bytes(r.take(32)?).ok()
    }
}

impl Bin for Signature {
    fn write(&self, o: &mut Vec<u8>) {
        o.extend_from_slice(self.as_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        Signature::from_slice(r.take(64)?).ok()
    }
}

bin_struct!(Pos { at, log, index });

// Statement bodies, as the state keeps them (the signed bytes stay with the node).
bin_struct!(Member { key, role });
bin_struct!(KeyAnnounce {
    display_name,
    affiliation
});
bin_struct!(KeyRotate { new_key, proof });
bin_struct!(KeyRevoke { reason });
bin_struct!(BodyCharter {
    name,
    description,
    home_log,
    members,
    rule,
    notice_days
});
bin_struct!(BodyAmend {
    body,
    add_members,
    remove_members,
    rule,
    notice_days,
    description,
    reason
});
bin_struct!(DatasetRegister {
    name,
    description,
    steward,
    governing_bodies,
    labels,
    permitted_uses,
    excluded_uses,
    sensitivity
});
bin_struct!(RequestSubmit {
    title,
    datasets,
    purpose,
    use_category,
    uses,
    duration_days,
    linkage,
    setting,
    people,
    community_benefit,
    outputs_plan
});
bin_struct!(RequestQuestion { request, text });
bin_struct!(RequestAnswer { question, text });
bin_struct!(RequestWithdraw { request, reason });
bin_struct!(Vote {
    subject,
    body,
    choice,
    conditions,
    reason
});
bin_struct!(RahuiPlace {
    body,
    dataset,
    reason,
    until
});
bin_struct!(RahuiLift { rahui, reason });
bin_struct!(ApprovalMotion {
    request,
    body,
    action,
    reason
});
bin_struct!(RenewalRequest {
    request,
    extra_days,
    reason
});
bin_struct!(UseReport {
    request,
    kind,
    summary,
    benefit_returned,
    incidents,
    outputs
});
bin_struct!(ReportReview {
    report,
    body,
    accepted,
    reason
});
bin_struct!(OutputSubmit {
    request,
    title,
    content_hash,
    link
});
bin_struct!(OutputReview {
    output,
    body,
    release,
    reason
});
bin_struct!(ConcernRaise { subject, text });
bin_struct!(ConcernRespond {
    concern,
    body,
    text,
    resolved
});
bin_struct!(AttachmentCommit {
    subject,
    readers,
    content_hash,
    size,
    media_type,
    description
});

macro_rules! body_codec {
    ($($v:ident),* $(,)?) => {
        /// Appends a body's bytes (its kind is stored beside it); `None` for a
        /// kind this version does not know.
        pub(crate) fn write_body(b: &Body, o: &mut Vec<u8>) -> Option<()> {
            match b {
                $(Body::$v(x) => x.write(o),)*
                _ => return None,
            }
            Some(())
        }

        /// Reads a body of `kind` back.
        pub(crate) fn read_body(kind: Kind, r: &mut Reader<'_>) -> Option<Body> {
            Some(match kind {
                $(Kind::$v => Body::$v(Bin::read(r)?),)*
                _ => return None,
            })
        }
    };
}

for_each_body_kind!(body_codec);
bin_struct!(Label { code, text });
bin_unit_enum!(Choice {
    Approve,
    ApproveWithConditions,
    Decline,
    Abstain
});
bin_unit_enum!(Sensitivity {
    Open,
    Restricted,
    Sensitive,
    Tapu
});
bin_unit_enum!(UseCategory {
    ServiceDelivery,
    Research,
    Evaluation,
    Commercial,
    Other
});
bin_unit_enum!(ApprovalAction {
    Suspend,
    Reinstate,
    Revoke
});
bin_unit_enum!(ReportKind { Periodic, Final });

impl Bin for Condition {
    fn write(&self, o: &mut Vec<u8>) {
        match self {
            Condition::ReportEvery { months } => {
                o.push(0);
                months.write(o);
            }
            Condition::FinalReport => o.push(1),
            Condition::OutputsReviewed => o.push(2),
            Condition::FindingsReturned => o.push(3),
            Condition::NoLinkage { with } => {
                o.push(4);
                with.write(o);
            }
            Condition::Acknowledge { who } => {
                o.push(5);
                who.write(o);
            }
            Condition::ExpiresAfterDays { days } => {
                o.push(6);
                days.write(o);
            }
            Condition::Other { text } => {
                o.push(7);
                text.write(o);
            }
        }
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        Some(match r.byte()? {
            0 => Condition::ReportEvery {
                months: Bin::read(r)?,
            },
            1 => Condition::FinalReport,
            2 => Condition::OutputsReviewed,
            3 => Condition::FindingsReturned,
            4 => Condition::NoLinkage {
                with: Bin::read(r)?,
            },
            5 => Condition::Acknowledge { who: Bin::read(r)? },
            6 => Condition::ExpiresAfterDays {
                days: Bin::read(r)?,
            },
            7 => Condition::Other {
                text: Bin::read(r)?,
            },
            _ => return None,
        })
    }
}

impl Bin for DecisionRule {
    fn write(&self, o: &mut Vec<u8>) {
        let (tag, n) = match self {
            DecisionRule::Threshold { k } => (0u8, k),
            DecisionRule::Majority { quorum } => (1, quorum),
            DecisionRule::Consensus { quorum } => (2, quorum),
        };
        o.push(tag);
        n.write(o);
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        let tag = r.byte()?;
        let n = u32::read(r)?;
        Some(match tag {
            0 => DecisionRule::Threshold { k: n },
            1 => DecisionRule::Majority { quorum: n },
            2 => DecisionRule::Consensus { quorum: n },
            _ => return None,
        })
    }
}

// The crate's own records.

use crate::bodies::{AmendmentRecord, BodyRecord};
use crate::datasets::{DatasetRecord, Lifted, RahuiRecord};
use crate::entry::{Agg, Side, Verdict, VerdictRecord};
use crate::identity::{KeyEnd, KeyRecord, Lineage};
use crate::items::{ConcernRecord, Response};
use crate::rejection::{Rejection, RejectionCode};
use crate::requests::{
    Approval, BodyDecision, Ended, MotionRecord, OutputRecord, OutputStatus, Phase, RenewalRecord,
    ReportRecord, ReportStatus, RequestRecord, Review, Schedule, Suspension,
};
use crate::rules::{Ballot, Decision, Outcome, Seat, Tally, Version};

impl Bin for Table {
    fn write(&self, o: &mut Vec<u8>) {
        let i = Table::ALL.iter().position(|t| t == self).unwrap_or(255);
        o.push(i as u8);
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        Table::ALL.get(usize::from(r.byte()?)).copied()
    }
}

impl Bin for Verdict {
    fn write(&self, o: &mut Vec<u8>) {
        match self {
            Verdict::Valid => o.push(0),
            Verdict::Pending { missing } => {
                o.push(1);
                missing.write(o);
            }
            Verdict::Excluded { rejection } => {
                o.push(2);
                rejection.write(o);
            }
        }
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        Some(match r.byte()? {
            0 => Verdict::Valid,
            1 => Verdict::Pending {
                missing: Bin::read(r)?,
            },
            2 => Verdict::Excluded {
                rejection: Bin::read(r)?,
            },
            _ => return None,
        })
    }
}

impl Bin for Agg {
    fn write(&self, o: &mut Vec<u8>) {
        o.extend_from_slice(&self.key());
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        let tag = r.byte()?;
        let b = read32(r)?;
        let id = StatementId::from_bytes(b);
        Some(match tag {
            0 => Agg::Key(KeyBytes::from_slice(&b)?),
            1 => Agg::Body(id),
            2 => Agg::Dataset(id),
            3 => Agg::Request(id),
            4 => Agg::Concern(id),
            5 => Agg::Item(id),
            _ => return None,
        })
    }
}

impl Bin for RejectionCode {
    // A code's tag is its place in `RejectionCode::ALL`.
    fn write(&self, o: &mut Vec<u8>) {
        let i = RejectionCode::ALL
            .iter()
            .position(|x| x == self)
            .unwrap_or(usize::from(u8::MAX));
        o.push(i as u8);
    }
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        RejectionCode::ALL.get(usize::from(r.take(1)?[0])).copied()
    }
}
bin_unit_enum!(Outcome { Approved, Declined });
bin_unit_enum!(Phase {
    Submitted,
    UnderReview,
    Approved,
    Declined,
    Withdrawn,
    Revoked,
    Completed,
});
bin_unit_enum!(ReportStatus {
    Received,
    Accepted,
    Returned
});
bin_unit_enum!(OutputStatus {
    PendingReview,
    Released,
    Withheld
});

bin_struct!(Rejection {
    code,
    message,
    home_log
});
/// The bytes of a statement's verdict record. A side's value is always a
/// function of its table and the statement's owner (kept in the same
/// record), so only where it is written is stored, and every side key that
/// ends with the statement's own id (all of them, today) is stored without
/// it. A side read back has an empty value and serves to remove the entry.
pub(crate) fn verdict_to_bytes(id: &StatementId, rec: &VerdictRecord) -> Vec<u8> {
    let mut o = Vec::with_capacity(192);
    rec.verdict.write(&mut o);
    rec.owner.write(&mut o);
    rec.pos.write(&mut o);
    put_varint(&mut o, rec.sides.len() as u64);
    for side in &rec.sides {
        side.table.write(&mut o);
        let (flag, key) = match side.key.strip_suffix(id.as_bytes()) {
            Some(head) => (1u8, head),
            None => (0, side.key.as_slice()),
        };
        o.push(flag);
        put_varint(&mut o, key.len() as u64);
        o.extend_from_slice(key);
    }
    o
}

/// Reads back what [`verdict_to_bytes`] wrote for `id`.
pub(crate) fn verdict_from_bytes(id: &StatementId, b: &[u8]) -> Result<VerdictRecord, StateError> {
    let read = |r: &mut Reader<'_>| -> Option<VerdictRecord> {
        let verdict = Verdict::read(r)?;
        let owner = Option::<Agg>::read(r)?;
        let pos = Option::<Pos>::read(r)?;
        let n = r.len()?;
        let mut sides = Vec::with_capacity(n);
        for _ in 0..n {
            let table = Table::read(r)?;
            let flag = r.byte()?;
            let len = r.len()?;
            let mut key = Vec::with_capacity(len + 32);
            key.extend_from_slice(r.take(len)?);
            match flag {
                0 => {}
                1 => key.extend_from_slice(id.as_bytes()),
                _ => return None,
            }
            sides.push(Side {
                table,
                key,
                value: Vec::new(),
            });
        }
        Some(VerdictRecord {
            verdict,
            owner,
            pos,
            sides,
        })
    };
    let mut r = Reader::new(b);
    match read(&mut r) {
        Some(v) if r.is_empty() => Ok(v),
        _ => Err(StateError::corrupt(
            Table::Verdicts,
            "a stored verdict does not decode",
        )),
    }
}

bin_struct!(KeyRecord {
    display_name,
    affiliation,
    announced,
    end,
    lineage
});
bin_struct!(KeyEnd {
    id,
    pos,
    rotated_to,
    reason
});
bin_struct!(Lineage { key, since });
bin_struct!(BodyRecord {
    name,
    home_log,
    valid,
    founded,
    amendments
});
bin_struct!(AmendmentRecord {
    id,
    proposer,
    proposed,
    tally,
    decision
});
bin_struct!(Version {
    since_index,
    since,
    amendment,
    members,
    rule,
    notice_days,
    description
});
bin_struct!(Seat { key, role });
bin_struct!(Tally {
    approve,
    decline,
    abstain,
    not_voted
});
bin_struct!(Decision {
    outcome,
    at,
    vote,
    conditions,
    tally
});
bin_struct!(DatasetRecord {
    name,
    description,
    steward,
    governing_bodies,
    labels,
    permitted_uses,
    excluded_uses,
    sensitivity,
    registered,
    valid,
    rahui
});
bin_struct!(RahuiRecord {
    id,
    body,
    placed,
    until,
    reason,
    lifted
});
bin_struct!(Lifted { id, at, reason });
bin_struct!(RequestRecord {
    requester,
    title,
    use_category,
    submitted,
    datasets,
    bodies,
    duration_days,
    phase,
    decisions,
    withdrawn,
    approval,
    reports,
    outputs
});
bin_struct!(BodyDecision {
    body,
    notice_until,
    tally,
    decision
});
bin_struct!(Ended { at, by });
bin_struct!(Approval {
    approved,
    conditions,
    expires_at,
    schedule,
    suspensions,
    revoked,
    completed,
    renewals,
    motions
});
bin_struct!(Schedule {
    every_months,
    final_required
});
bin_struct!(Suspension {
    body,
    motion,
    from,
    until
});
bin_struct!(RenewalRecord {
    id,
    filed,
    extra_days,
    decisions,
    outcome
});
bin_struct!(MotionRecord {
    id,
    body,
    action,
    proposed,
    tally,
    decision
});
bin_struct!(ReportRecord {
    id,
    kind,
    filed,
    reviews,
    status
});
bin_struct!(Review {
    body,
    id,
    at,
    accepted
});
bin_struct!(OutputRecord {
    id,
    title,
    content_hash,
    link,
    submitted,
    reviews,
    status
});
bin_struct!(ConcernRecord {
    subject,
    raised_by,
    raised,
    bodies,
    responses,
    resolved_by,
    open
});
bin_struct!(Ballot { choice, conditions });
bin_struct!(crate::requests::run::Run { last, care });
bin_struct!(Response {
    id,
    body,
    at,
    resolved
});

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Bin + PartialEq + std::fmt::Debug>(v: T) {
        let b = to_bytes(&v);
        assert_eq!(from_bytes::<T>(Table::Meta, &b).unwrap(), v);
        // A truncated or extended spelling is refused.
        if !b.is_empty() {
            assert!(from_bytes::<T>(Table::Meta, &b[..b.len() - 1]).is_err());
        }
        let mut longer = b.clone();
        longer.push(0);
        assert!(from_bytes::<T>(Table::Meta, &longer).is_err());
    }

    #[test]
    fn values_round_trip() {
        for n in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            round_trip(n);
        }
        round_trip(String::from("rāhui"));
        round_trip(vec![Some(3u32), None]);
        round_trip(Pos {
            at: Timestamp::from_unix_millis(1_780_000_000_123).unwrap(),
            log: "iwi.example".into(),
            index: 42,
        });
        round_trip(vec![
            Condition::ReportEvery { months: 6 },
            Condition::FinalReport,
            Condition::OutputsReviewed,
            Condition::FindingsReturned,
            Condition::NoLinkage { with: "x".into() },
            Condition::Acknowledge { who: "y".into() },
            Condition::ExpiresAfterDays { days: 30 },
            Condition::Other { text: "z".into() },
        ]);
        round_trip(DecisionRule::Majority { quorum: 4 });
        round_trip(Choice::Abstain);
        round_trip(UseCategory::Other);
    }
}
