//! Kaitiaki governance: the rules of collective decision, as a pure,
//! deterministic fold of signed statements into state.
//!
//! **No I/O, no clock, no randomness.** `state = fold(set of statements, now)`:
//! the caller passes in a [`Store`] to keep the state in, sequenced statements
//! ([`Entry`]) to fold in, and `now` to every view that depends on time. The
//! same set of statements, applied in any order and in any batches, gives
//! byte-identical store contents and the same [`state_hash`].
//!
//! # Reading order
//!
//! 1. [`store`] — the key-value [`Store`] the state lives in, its [`Table`]s,
//!    [`MemStore`] and [`Overlay`] (buffer a batch, commit it atomically).
//! 2. [`Entry`], [`Verdict`], [`Rejection`] — what goes in (a statement as
//!    sequenced in a log) and what comes out (whether it counts, and why not).
//! 3. [`apply`], [`check`] and [`admit`] (both in one pass, for a node
//!    sequencing new statements) — the fold. Each statement belongs to one
//!    aggregate (a key, a body, a dataset, a request, a concern, or itself);
//!    applying it recomputes that aggregate from its statements, and whatever
//!    depends on what changed (see the engine's docs in the source). A vote
//!    that comes after everything else about its request continues the
//!    request's fold from where the last statement left it instead.
//! 4. The rules, one module per concept: [`identity`] (keys, rotation,
//!    revocation), [`bodies`] (charters, amendments, home logs), [`rules`]
//!    (decision rules and tallies), [`datasets`] (governing bodies, excluded
//!    uses, rāhui), [`requests`] (deliberation, withdrawal, the approval and
//!    what happens to it, report schedules, status at `now`), [`items`]
//!    (questions and answers, concerns, attachments).
//! 5. Reading the state: [`query`] (one record with its story) and [`lists`]
//!    (filtered, paginated listings), and the O(1) [`state_hash`].
//!
//! # Who may say what, and where
//!
//! "Home log" is the log named by the body's charter (`home_log`): a body's
//! statements count only when sequenced there, so its decisions live on its
//! own node. Statements elsewhere are refused with `wrong_home_log`, which
//! names the right log. Every author must hold an unrevoked, unrotated key
//! at the statement's position (`key_revoked`, `key_rotated`).
//!
//! | kind | who | where |
//! |---|---|---|
//! | `key.announce`, `key.rotate`, `key.revoke` | the key itself | any log |
//! | `body.charter` | anyone (founds the body) | the home log it names |
//! | `body.amend`, votes on amendments | members in force | home log |
//! | `dataset.register` | anyone; counts once all its governing bodies do | any log |
//! | `request.submit` | anyone; refused if a dataset excludes a use asked for | any log |
//! | `request.question` | anyone | any log |
//! | `request.answer`, `request.withdraw`, `request.renew`, `report.file`, `output.submit` | the requester (or the key it rotated to) | any log |
//! | `vote` on a request or renewal | members of a governing body of every dataset asked for | that body's home log |
//! | `rahui.place`, `rahui.lift` | members of a governing body of the dataset (lift: of the body that placed it) | home log |
//! | `approval.motion` and its votes | members of a governing body | home log |
//! | `report.review`, `output.review` | members of a governing body | home log |
//! | `concern.raise` | anyone, about a request or dataset | any log |
//! | `concern.respond` | members of a body governing the subject | home log |
//! | `attachment.commit` | the author of the statement it belongs to | any log |
//!
//! Reviews, rāhui and responses are acts of one member on the body's
//! behalf: the body's own tikanga decides who speaks, and its home node
//! accepts only members. Amendments, requests, renewals and approval motions
//! are decided by votes under the body's rule ([`rules`]).
//!
//! # Which time each rule uses, and why
//!
//! A statement carries its author's `created_at`; a leaf carries the time
//! its node *sequenced* it (`sequenced_at`). An author can write any
//! `created_at` — a stolen key can backdate, a requester could skip a notice
//! period — so **no rule uses `created_at`**; it is shown, never trusted.
//! Every rule uses sequenced times, through a statement's *position*
//! [`Pos`] = (sequenced_at, log origin, index):
//!
//! | rule | time used |
//! |---|---|
//! | a body's statements: order of votes, "the moment the rule is satisfied", latest vote of a member, charter version in force | the body's home-log order (index); nodes sequence with non-decreasing time, so it equals position order |
//! | key revocation and rotation | position of the revocation or rotation vs. position of each statement by the key |
//! | notice period | the request's sequenced time + `notice_days` of the charter in force then vs. the vote's sequenced time (home node) |
//! | rāhui in force for a vote | the rāhui's and lift's positions (home node) and its `until` vs. the vote's position |
//! | withdrawal before decision | the withdrawal's position vs. the deciding vote's position |
//! | approval start, expiry (`duration_days`, `expires_after_days`), renewals | the sequenced time of the last body's approving vote, plus days |
//! | report schedule | calendar months from the approval's sequenced time; final report due 30 days after access ends |
//! | status (expired, suspended, rāhui in force) and overdue reports | `now`, given by the caller |
//!
//! A statement placed in several logs (mirrored, replayed) counts once, at
//! its earliest placement — for a body's statements, its earliest placement
//! in the home log.
//!
//! # Life cycle of a request
//!
//! Stored as a time-independent [`requests::Phase`]; the [`RequestStatus`]
//! at `now` refines it with expiry and rāhui.
//!
//! | from | to | when |
//! |---|---|---|
//! | — | submitted | a `request.submit` counts (key valid, datasets counted, no excluded use) |
//! | submitted | under review | a governing body counts a first vote (after the notice period) |
//! | submitted, under review | approved | every governing body's rule is satisfied (at the latest such vote) |
//! | submitted, under review | declined | any governing body's rule can no longer be satisfied (at the earliest such vote) |
//! | submitted, under review | withdrawn | the requester withdraws before the decision |
//! | approved | suspended | a rāhui on a dataset is in force at `now`, or a body's suspend motion passed |
//! | suspended | approved | the rāhui ends (lifted or its `until` passes) and every suspending body reinstated, unless expired or revoked meanwhile |
//! | approved, suspended | expired | `now` reaches the expiry |
//! | approved, suspended | approved (longer) | a renewal asked for before expiry is approved by every body, for the days asked or fewer if an approving body's `expires_after_days` allows fewer |
//! | expired | approved | a renewal asked for before expiry is approved after it expired, for the days added |
//! | approved, suspended, expired | revoked | a body's revoke motion passes |
//! | approved, suspended, expired | completed | a final report is accepted by every governing body |
//! | completed | approved, suspended, expired | a governing body's later review returns that final report, and no other stands accepted: the final report is owed again |
//!
//! Declined, withdrawn and revoked are final. Completed is final unless the
//! final report that completed the request is later returned.
//!
//! # Order and pending statements
//!
//! Across logs there is no order, so nothing depends on arrival order: a
//! statement that refers to one not known yet waits ([`Verdict::Pending`],
//! [`lists::pending`]) and is applied when it arrives; a late statement that
//! changes an earlier judgement (a revocation, a rāhui, a withdrawal sequenced
//! earlier elsewhere) makes the affected aggregates recompute, and their
//! verdicts change accordingly ([`Applied::changed`]).
//!
//! # Cost
//!
//! Applying a statement recomputes its own aggregate — for a vote, its
//! request's statements and the body's charter versions — plus what depends
//! on what actually changed. The common case is cheaper still: a new vote
//! sequenced after everything else about its request (almost every vote)
//! continues the request's fold from the stored state after its last step
//! (its run and each member's latest ballot), reading and writing a fixed
//! handful of records whatever the request's or the state's size. Records
//! are stored in a compact binary spelling (fixed field order,
//! length-prefixed, canonical); read them through [`query`]. Nothing scans
//! the whole state; listings walk indexes from a cursor. The state hash is a
//! running multiset hash, O(1) to read. The benchmark `benches/apply.rs`
//! measures apply cost at 10 000 and 1 000 000 statements.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

/// Calls `$m!` with every statement body kind, once: the binary record
/// codec and the JSON codec are both generated from this one list.
macro_rules! for_each_body_kind {
    ($m:ident) => {
        $m!(
            KeyAnnounce,
            KeyRotate,
            KeyRevoke,
            BodyCharter,
            BodyAmend,
            DatasetRegister,
            RequestSubmit,
            RequestQuestion,
            RequestAnswer,
            RequestWithdraw,
            Vote,
            RahuiPlace,
            RahuiLift,
            ApprovalMotion,
            RenewalRequest,
            UseReport,
            ReportReview,
            OutputSubmit,
            OutputReview,
            ConcernRaise,
            ConcernRespond,
            AttachmentCommit,
        );
    };
}

mod binary;
pub mod bodies;
mod codec;
pub mod datasets;
mod engine;
mod entry;
mod error;
mod hash;
pub mod identity;
pub mod items;
pub mod lists;
pub mod query;
mod rejection;
pub mod requests;
mod route;
pub mod rules;
pub mod store;

pub use codec::{Cursor, KeyBytes, Page, Pos};
pub use engine::{admit, apply, apply_all, check, CheckError};
pub use entry::{Agg, Applied, Entry, Verdict};
pub use error::StateError;
pub use hash::{recompute_state_hash, STATE_HASH_CONTEXT};
pub use query::state_hash;
pub use rejection::{Rejection, RejectionCode};
pub use requests::RequestStatus;
pub use store::{merge_scan, Change, MemStore, Overlay, Store, StoreWrite, Table};

/// The version of the derived state: its tables, their keys and value
/// encodings, and the rules and refusal wording that fill them.
///
/// It is raised with every change after which the same statements would
/// leave different tables (and so a different [`state_hash`]). A node
/// records the version its stored state was built under and rebuilds that
/// state from its logs when it finds another; an audit compares state
/// hashes only between states of the same version. A test pins this number
/// with the state hash of a scenario that leaves entries in every table,
/// so a change the scenario exercises fails there until the number is
/// raised; a change it does not exercise must be caught in review.
pub const STATE_VERSION: u32 = 4;
