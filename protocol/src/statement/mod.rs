//! Statements: what people say to the federation, signed by their author.
//!
//! A statement's payload is one strict JSON object:
//!
//! ```json
//! {"network":"…","author":"<hex key>","created_at":"…Z","kind":"vote","body":{…}}
//! ```
//!
//! The payload bytes are signed as they are (see [`crate::envelope`]) and
//! never re-serialised to be checked, so [`Statement::decode`] is only ever
//! asked "what do these exact bytes say?". It refuses unknown fields,
//! duplicate keys, wrong types, trailing bytes and anything over the limits in
//! [`limits`].

mod body;
pub mod limits;

pub use body::*;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::json::{from_value_exact, parse_strict, JsonError, ShapeError};
use crate::keys::PublicKey;
use crate::time::Timestamp;

/// The signing context a new key signs, with the network and the old key, to prove it consents to a rotation.
pub const KEY_ROTATION_CONTEXT: &[u8] = b"kaitiaki key rotation v1\n";

macro_rules! kinds {
    ($( $variant:ident ( $ty:ty ) = $name:literal ),* $(,)?) => {
        /// The typed body of a statement, one variant per kind.
        #[derive(Clone, Debug, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum Body {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant($ty),
            )*
        }

        /// The name of each kind as it appears in the `kind` field.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Kind {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl Kind {
            /// Every kind, in a fixed order: that of the vector statements and log,
            /// which PROTOCOL.md §10 lists (not the order of its §3.3 table).
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),*];

            /// The kind's wire name.
            pub const fn name(self) -> &'static str {
                match self { $(Kind::$variant => $name),* }
            }

            /// The kind with this wire name.
            pub fn from_name(name: &str) -> Option<Kind> {
                match name { $($name => Some(Kind::$variant),)* _ => None }
            }
        }

        impl Body {
            /// The kind of this body.
            pub const fn kind(&self) -> Kind {
                match self { $(Body::$variant(_) => Kind::$variant),* }
            }

            fn to_value(&self) -> Result<Value, serde_json::Error> {
                match self { $(Body::$variant(b) => serde_json::to_value(b)),* }
            }

            fn from_value(kind: Kind, value: Value) -> Result<Body, ShapeError> {
                Ok(match kind { $(Kind::$variant => Body::$variant(from_value_exact(&value)?)),* })
            }
        }
    };
}

kinds! {
    KeyAnnounce(KeyAnnounce) = "key.announce",
    KeyRotate(KeyRotate) = "key.rotate",
    KeyRevoke(KeyRevoke) = "key.revoke",
    BodyCharter(BodyCharter) = "body.charter",
    BodyAmend(BodyAmend) = "body.amend",
    DatasetRegister(DatasetRegister) = "dataset.register",
    RequestSubmit(RequestSubmit) = "request.submit",
    RequestQuestion(RequestQuestion) = "request.question",
    RequestAnswer(RequestAnswer) = "request.answer",
    RequestWithdraw(RequestWithdraw) = "request.withdraw",
    Vote(Vote) = "vote",
    RahuiPlace(RahuiPlace) = "rahui.place",
    RahuiLift(RahuiLift) = "rahui.lift",
    ApprovalMotion(ApprovalMotion) = "approval.motion",
    RenewalRequest(RenewalRequest) = "request.renew",
    UseReport(UseReport) = "report.file",
    ReportReview(ReportReview) = "report.review",
    OutputSubmit(OutputSubmit) = "output.submit",
    OutputReview(OutputReview) = "output.review",
    ConcernRaise(ConcernRaise) = "concern.raise",
    ConcernRespond(ConcernRespond) = "concern.respond",
    AttachmentCommit(AttachmentCommit) = "attachment.commit",
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A decoded statement: who said what, when, to which network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The deployment this statement belongs to; nodes refuse other networks'.
    pub network: String,
    /// The key that signs the envelope.
    pub author: PublicKey,
    /// When the author made it (the author's clock: informative, not trusted for ordering).
    pub created_at: Timestamp,
    /// What it says.
    pub body: Body,
}

/// The outer object as written.
#[derive(Serialize)]
struct Wire<'a> {
    network: &'a str,
    author: &'a PublicKey,
    created_at: Timestamp,
    kind: &'static str,
    body: Value,
}

/// The outer object as read, before the body is read by kind.
///
/// The author stays text here: when the signer's key is already known
/// (opening an envelope), comparing bytes saves decompressing the same
/// curve point a second time.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireIn {
    network: String,
    author: String,
    created_at: Timestamp,
    kind: String,
    body: Value,
}

/// Why a payload is not a valid statement.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    /// The payload is larger than [`limits::MAX_PAYLOAD`].
    #[error("the statement is {0} bytes; the limit is {max}", max = limits::MAX_PAYLOAD)]
    TooLarge(usize),
    /// Not strict JSON.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// The outer object has a missing, unknown or mistyped field.
    #[error("the statement's outer object is malformed: {0}")]
    Shape(#[source] serde_json::Error),
    /// The `kind` names no statement kind.
    #[error("unknown statement kind {0:?}")]
    UnknownKind(String),
    /// The body does not match its kind.
    #[error("the body of a {kind} statement is malformed: {source}")]
    BodyShape {
        /// The kind.
        kind: Kind,
        /// What is wrong, and where.
        #[source]
        source: ShapeError,
    },
    /// A field breaks a limit (length, count, characters, range).
    #[error("{0}")]
    Limit(#[from] limits::LimitError),
}

impl Statement {
    /// Reads a statement from its exact payload bytes.
    pub fn decode(payload: &[u8]) -> Result<Statement, StatementError> {
        Self::decode_signed(payload, None)
    }

    /// Reads a statement whose envelope was signed by `signer`: the same
    /// checks as [`Statement::decode`], reusing the signer's key when the
    /// payload names it as author.
    pub(crate) fn decode_signed(
        payload: &[u8],
        signer: Option<&PublicKey>,
    ) -> Result<Statement, StatementError> {
        if payload.len() > limits::MAX_PAYLOAD {
            return Err(StatementError::TooLarge(payload.len()));
        }
        let value = parse_strict(payload)?;
        if !value.is_object() {
            return Err(StatementError::Shape(serde::de::Error::custom(
                "a statement is one JSON object",
            )));
        }
        let wire: WireIn = serde_json::from_value(value).map_err(StatementError::Shape)?;
        let same_as_signer = |key: &PublicKey| {
            let mut raw = [0u8; 32];
            // Lowercase only, as `PublicKey::from_hex` requires: one spelling per key.
            !wire.author.bytes().any(|b| b.is_ascii_uppercase())
                && hex::decode_to_slice(&wire.author, &mut raw).is_ok()
                && &raw == key.as_bytes()
        };
        let author = match signer {
            Some(key) if same_as_signer(key) => *key,
            _ => PublicKey::from_hex(&wire.author).map_err(|e| {
                StatementError::Shape(serde::de::Error::custom(format!("author: {e}")))
            })?,
        };
        let kind = Kind::from_name(&wire.kind).ok_or(StatementError::UnknownKind(wire.kind))?;
        limits::check_network(&wire.network)?;
        limits::check_value("body", &wire.body)?;
        let body = Body::from_value(kind, wire.body)
            .map_err(|source| StatementError::BodyShape { kind, source })?;
        limits::check_typed(&body)?;
        Ok(Statement {
            network: wire.network,
            author,
            created_at: wire.created_at,
            body,
        })
    }

    /// Writes the payload bytes a client signs: compact JSON, fields in a fixed order.
    ///
    /// Any other spelling of the same statement is just as valid to sign;
    /// this is simply the one Kaitiaki's own tools write.
    pub fn encode(&self) -> Result<Vec<u8>, StatementError> {
        limits::check(self)?;
        let body = self.body.to_value().map_err(StatementError::Shape)?;
        let wire = Wire {
            network: &self.network,
            author: &self.author,
            created_at: self.created_at,
            kind: self.body.kind().name(),
            body,
        };
        let bytes = serde_json::to_vec(&wire).map_err(StatementError::Shape)?;
        if bytes.len() > limits::MAX_PAYLOAD {
            return Err(StatementError::TooLarge(bytes.len()));
        }
        Ok(bytes)
    }

    /// The kind of this statement.
    pub fn kind(&self) -> Kind {
        self.body.kind()
    }
}

/// The message a new key signs to consent to a rotation away from `old`.
pub fn key_rotation_message(network: &str, old: &PublicKey) -> Vec<u8> {
    let mut m = Vec::with_capacity(KEY_ROTATION_CONTEXT.len() + network.len() + 1 + 32);
    m.extend_from_slice(KEY_ROTATION_CONTEXT);
    m.extend_from_slice(network.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(old.as_bytes());
    m
}
