//! Signed envelopes: DSSE over the exact payload bytes.
//!
//! The author signs the DSSE pre-authentication encoding (PAE) of the fixed
//! payload type [`STATEMENT_PAYLOAD_TYPE`] and the payload bytes. The payload
//! is stored and served verbatim; nobody re-canonicalises JSON to check a
//! signature. An envelope has two spellings that carry the same bytes:
//!
//! - binary (`mod read` / `mod write` below): the leaf data in the log and
//!   the input of the statement id;
//! - DSSE JSON: what clients POST and the API serves.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::id::StatementId;
use crate::keys::{KeyCache, KeyError, PublicKey, Signature};
use crate::statement::{key_rotation_message, limits, Body, Statement, StatementError};

/// The DSSE payload type of every Kaitiaki statement.
pub const STATEMENT_PAYLOAD_TYPE: &str = "application/vnd.kaitiaki.statement.v1+json";
/// The first byte of a binary envelope.
pub const ENVELOPE_VERSION: u8 = 1;
/// Bytes before the payload in a binary envelope: version, key, signature, length.
pub const ENVELOPE_HEADER_LEN: usize = 1 + 32 + 64 + 4;

/// The DSSE v1 pre-authentication encoding:
/// `"DSSEv1" SP len(type) SP type SP len(payload) SP payload`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// A signed statement as it travels: author key, signature and payload bytes.
///
/// An `Envelope` is not yet trusted; [`Envelope::open`] checks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    author: PublicKey,
    signature: Signature,
    payload: Vec<u8>,
}

/// Why an envelope was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The binary or JSON form is malformed.
    #[error("malformed envelope: {0}")]
    Malformed(String),
    /// The signature does not verify for the envelope's key.
    #[error("the signature does not verify for key {0}")]
    BadSignature(Box<PublicKey>),
    /// The payload is not a valid statement.
    #[error(transparent)]
    Statement(#[from] StatementError),
    /// The payload's `author` is not the key that signed.
    #[error("the payload names author {payload} but the envelope is signed by {signer}")]
    AuthorMismatch {
        /// The key in the payload.
        payload: Box<PublicKey>,
        /// The key that signed.
        signer: Box<PublicKey>,
    },
    /// A `key.rotate` whose new key did not sign its consent.
    #[error("the new key's proof of possession does not verify")]
    BadRotationProof,
}

/// A statement whose envelope, signature and payload have all been checked.
#[derive(Clone, Debug)]
pub struct Verified {
    envelope: Envelope,
    statement: Statement,
    id: StatementId,
}

impl Verified {
    /// The envelope, as signed.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    /// What it says.
    pub fn statement(&self) -> &Statement {
        &self.statement
    }
    /// Its id.
    pub fn id(&self) -> StatementId {
        self.id
    }
    /// Takes it apart.
    pub fn into_parts(self) -> (Envelope, Statement, StatementId) {
        (self.envelope, self.statement, self.id)
    }
}

impl Envelope {
    /// Encodes and signs a statement with its author's key.
    ///
    /// The statement's `author` must be the public half of `key`.
    pub fn sign(key: &SigningKey, statement: &Statement) -> Result<Envelope, EnvelopeError> {
        let signer = PublicKey::of(key);
        if statement.author != signer {
            return Err(EnvelopeError::AuthorMismatch {
                payload: Box::new(statement.author),
                signer: Box::new(signer),
            });
        }
        let payload = statement.encode()?;
        Ok(Self::sign_payload(key, payload))
    }

    /// Signs payload bytes as they are (for tests of malformed payloads, and other encoders).
    pub fn sign_payload(key: &SigningKey, payload: Vec<u8>) -> Envelope {
        let signature = Signature::sign(key, &pae(STATEMENT_PAYLOAD_TYPE, &payload));
        Envelope {
            author: PublicKey::of(key),
            signature,
            payload,
        }
    }

    /// Assembles an envelope from parts (nothing is checked until [`Envelope::open`]).
    pub fn from_parts(author: PublicKey, signature: Signature, payload: Vec<u8>) -> Envelope {
        Envelope {
            author,
            signature,
            payload,
        }
    }

    /// The signing key.
    pub fn author(&self) -> &PublicKey {
        &self.author
    }
    /// The signature over the PAE.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }
    /// The exact payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The statement id: blake3 of the binary envelope.
    pub fn id(&self) -> StatementId {
        StatementId::of_envelope(&self.to_bytes())
    }

    /// Checks the signature only (cheap to run in parallel before anything else).
    pub fn verify_signature(&self) -> Result<(), EnvelopeError> {
        self.author
            .verify(&pae(STATEMENT_PAYLOAD_TYPE, &self.payload), &self.signature)
            .map_err(|_| EnvelopeError::BadSignature(Box::new(self.author)))
    }

    /// Checks everything a statement must satisfy on its own: the signature,
    /// the payload, that the payload's author signed it, and a rotation's proof.
    pub fn open(self) -> Result<Verified, EnvelopeError> {
        self.verify_signature()?;
        let statement = Statement::decode_signed(&self.payload, Some(&self.author))?;
        if statement.author != self.author {
            return Err(EnvelopeError::AuthorMismatch {
                payload: Box::new(statement.author),
                signer: Box::new(self.author),
            });
        }
        if let Body::KeyRotate(r) = &statement.body {
            let message = key_rotation_message(&statement.network, &self.author);
            r.new_key
                .verify(&message, &r.proof)
                .map_err(|_: KeyError| EnvelopeError::BadRotationProof)?;
        }
        let id = self.id();
        Ok(Verified {
            envelope: self,
            statement,
            id,
        })
    }

    /// The binary form: `version(1) ‖ author(32) ‖ signature(64) ‖ len(u32 BE) ‖ payload`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ENVELOPE_HEADER_LEN + self.payload.len());
        self.write_to(&mut out);
        out
    }

    /// Appends the binary form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.push(ENVELOPE_VERSION);
        out.extend_from_slice(self.author.as_bytes());
        out.extend_from_slice(self.signature.as_bytes());
        // The payload limit keeps this well inside u32.
        out.extend_from_slice(&(self.payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.payload);
    }

    /// Reads the binary form; the input must be exactly one envelope.
    pub fn from_bytes(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        Self::decode(bytes, PublicKey::from_bytes)
    }

    /// [`Envelope::from_bytes`], decoding the author's key through `keys`.
    pub fn from_bytes_with(bytes: &[u8], keys: &mut KeyCache) -> Result<Envelope, EnvelopeError> {
        Self::decode(bytes, |b| keys.get(b))
    }

    fn decode(
        bytes: &[u8],
        key: impl FnOnce(&[u8]) -> Result<PublicKey, KeyError>,
    ) -> Result<Envelope, EnvelopeError> {
        let bad = |m: &str| EnvelopeError::Malformed(m.to_owned());
        if bytes.len() < ENVELOPE_HEADER_LEN {
            return Err(bad("shorter than the envelope header"));
        }
        if bytes[0] != ENVELOPE_VERSION {
            return Err(bad("unknown envelope version"));
        }
        let author = key(&bytes[1..33]).map_err(|e| bad(&e.to_string()))?;
        let signature = Signature::from_slice(&bytes[33..97]).map_err(|e| bad(&e.to_string()))?;
        let mut len = [0u8; 4];
        len.copy_from_slice(&bytes[97..101]);
        let len = u32::from_be_bytes(len) as usize;
        if len > limits::MAX_PAYLOAD {
            return Err(bad("payload longer than the limit"));
        }
        let payload = &bytes[ENVELOPE_HEADER_LEN..];
        if payload.len() != len {
            return Err(bad("payload length does not match the bytes that follow"));
        }
        Ok(Envelope {
            author,
            signature,
            payload: payload.to_vec(),
        })
    }

    /// The DSSE JSON form.
    pub fn to_dsse(&self) -> Dsse {
        Dsse {
            payload_type: STATEMENT_PAYLOAD_TYPE.to_owned(),
            payload: STANDARD.encode(&self.payload),
            signatures: vec![DsseSignature {
                keyid: self.author.to_hex(),
                sig: STANDARD.encode(self.signature.as_bytes()),
            }],
        }
    }

    /// Reads the DSSE JSON form: the Kaitiaki payload type and exactly one signature.
    pub fn from_dsse(d: &Dsse) -> Result<Envelope, EnvelopeError> {
        Self::read_dsse(d, PublicKey::from_hex)
    }

    /// [`Envelope::from_dsse`], decoding the author's key through `keys`.
    pub fn from_dsse_with(d: &Dsse, keys: &mut KeyCache) -> Result<Envelope, EnvelopeError> {
        Self::read_dsse(d, |hex| keys.get_hex(hex))
    }

    fn read_dsse(
        d: &Dsse,
        key: impl FnOnce(&str) -> Result<PublicKey, KeyError>,
    ) -> Result<Envelope, EnvelopeError> {
        let bad = |m: &str| EnvelopeError::Malformed(m.to_owned());
        if d.payload_type != STATEMENT_PAYLOAD_TYPE {
            return Err(bad("payloadType is not the Kaitiaki statement type"));
        }
        let [sig] = d.signatures.as_slice() else {
            return Err(bad("a statement carries exactly one signature"));
        };
        let author = key(&sig.keyid).map_err(|e| bad(&format!("keyid: {e}")))?;
        let sig_bytes = STANDARD
            .decode(&sig.sig)
            .map_err(|_| bad("sig is not standard base64"))?;
        let signature = Signature::from_slice(&sig_bytes).map_err(|e| bad(&e.to_string()))?;
        let payload = STANDARD
            .decode(&d.payload)
            .map_err(|_| bad("payload is not standard base64"))?;
        if payload.len() > limits::MAX_PAYLOAD {
            return Err(bad("payload longer than the limit"));
        }
        Ok(Envelope {
            author,
            signature,
            payload,
        })
    }

    /// Parses DSSE JSON text strictly (no duplicate or unknown keys).
    pub fn from_dsse_json(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        let value = crate::json::parse_strict(bytes)
            .map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        let d: Dsse = crate::json::from_value_exact(&value)
            .map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        Self::from_dsse(&d)
    }
}

/// The DSSE envelope JSON, as defined by the DSSE specification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dsse {
    /// Always [`STATEMENT_PAYLOAD_TYPE`].
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The payload, standard base64.
    pub payload: String,
    /// Exactly one signature.
    pub signatures: Vec<DsseSignature>,
}

/// One DSSE signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DsseSignature {
    /// The author's public key, 64 hex digits.
    pub keyid: String,
    /// The Ed25519 signature over the PAE, standard base64.
    pub sig: String,
}
