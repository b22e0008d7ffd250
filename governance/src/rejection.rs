//! Why a statement does not count: a stable code for machines and a sentence
//! for people.
//!
//! A rejection is a value, not an error: [`crate::check`] returns one to the
//! node, which sends it over HTTP as `{"code","message"}` and sequences
//! nothing; a statement found in a mirrored log that breaks a rule is
//! recorded as excluded with its rejection and listed, and the state goes on
//! without it.

use serde::{Deserialize, Serialize};

/// Defines [`RejectionCode`] from one list: each code's doc, variant and
/// stable string, in the order its one-byte stored tag follows.
macro_rules! rejection_codes {
    ($($(#[doc = $doc:literal])* $v:ident => $s:literal,)*) => {
        /// The machine-readable reason for a rejection. Codes are stable: a client
        /// may match on [`RejectionCode::as_str`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum RejectionCode {
            $($(#[doc = $doc])* $v,)*
        }

        impl RejectionCode {
            /// Every code, in declaration order (stored records tag a code by
            /// its place here, so new codes go at the end).
            pub const ALL: &'static [RejectionCode] = &[$(RejectionCode::$v),*];

            /// The stable code, e.g. `not_a_member`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(RejectionCode::$v => $s,)*
                }
            }
        }
    };
}

rejection_codes! {
    /// The author's key was revoked before this statement was sequenced.
    KeyRevoked => "key_revoked",
    /// The author's key had been rotated to another key before this statement was sequenced.
    KeyRotated => "key_rotated",
    /// A statement this one refers to is not known (yet).
    UnknownReference => "unknown_reference",
    /// A statement this one refers to is of the wrong kind.
    WrongReference => "wrong_reference",
    /// A statement this one refers to was itself excluded.
    ExcludedReference => "excluded_reference",
    /// A body's statement was sequenced outside the body's home log.
    WrongHomeLog => "wrong_home_log",
    /// The author is not a member of the body at this point of its home log.
    NotAMember => "not_a_member",
    /// The body named does not govern the dataset or request concerned.
    NotGoverningBody => "not_governing_body",
    /// Only the requester may do this.
    NotRequester => "not_requester",
    /// The request asks for a use that a dataset excludes.
    ExcludedUse => "excluded_use",
    /// The request is still open for community comment; votes come after.
    NoticePeriod => "notice_period",
    /// A rāhui is in force on a dataset of the request.
    RahuiInForce => "rahui_in_force",
    /// The body has already decided this.
    DecisionAlreadyReached => "decision_already_reached",
    /// The request was withdrawn.
    RequestWithdrawn => "request_withdrawn",
    /// The request has no approval in force for this.
    NotApproved => "not_approved",
    /// The approval has ended (revoked, expired or completed).
    ApprovalEnded => "approval_ended",
    /// Another renewal of this request is still undecided.
    RenewalPending => "renewal_pending",
    /// Conditions were given with a choice other than `approve_with_conditions`, or none were given with it.
    ConditionsMismatch => "conditions_mismatch",
    /// The amendment would leave the body without members.
    InvalidAmendment => "invalid_amendment",
    /// The rāhui was already lifted.
    RahuiAlreadyLifted => "rahui_already_lifted",
    /// Only the author of the statement concerned may do this.
    NotAuthor => "not_author",
    /// The node's log already commits to this attachment's content hash
    /// (a node rule: the first commitment decides who may read the file).
    AttachmentAlreadyCommitted => "attachment_already_committed",
}

impl std::fmt::Display for RejectionCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule a statement breaks, with what to do about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The stable code.
    pub code: RejectionCode,
    /// A sentence a person can act on.
    pub message: String,
    /// For [`RejectionCode::WrongHomeLog`]: the origin of the log where the
    /// statement must be sequenced, so the node can point the client there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_log: Option<String>,
}

impl Rejection {
    /// A rejection with a code and a message.
    pub fn new(code: RejectionCode, message: impl Into<String>) -> Rejection {
        Rejection {
            code,
            message: message.into(),
            home_log: None,
        }
    }

    /// A [`RejectionCode::WrongHomeLog`] rejection naming the right log.
    pub fn wrong_home_log(body_name: &str, home_log: &str, got: &str) -> Rejection {
        Rejection {
            code: RejectionCode::WrongHomeLog,
            message: format!(
                "Statements of {body_name} count only when sequenced in its home log {home_log}, \
                 not in {got}; submit it to the node that runs {home_log}."
            ),
            home_log: Some(home_log.to_owned()),
        }
    }

    /// A [`RejectionCode::UnknownReference`] rejection.
    pub fn unknown(what: &str, id: &kaitiaki_protocol::StatementId) -> Rejection {
        Rejection::new(
            RejectionCode::UnknownReference,
            format!(
                "The {what} {id} is not known to this node yet; submit it (or wait for it to \
                 replicate) before statements that refer to it."
            ),
        )
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Rejection {}
