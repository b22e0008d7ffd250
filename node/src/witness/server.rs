//! `POST /add-checkpoint`: the C2SP tlog-witness endpoint.
//!
//! The request body is
//!
//! ```text
//! old <size>\n
//! <consistency proof hash, base64>\n      (0 to 63 lines)
//! \n
//! <signed checkpoint note>
//! ```
//!
//! and the checks run in the order the spec gives them:
//!
//! | answer | when |
//! |---|---|
//! | 400 `malformed` | the body breaks the syntax above, or the note or checkpoint is malformed |
//! | 404 `unknown_log` | the checkpoint's origin is not a log this node witnesses |
//! | 403 `bad_signature` | no signature from the log's configured key verifies (or one from it fails) |
//! | 400 `old_size_greater` | the old size is above the checkpoint's size |
//! | 409, `text/x.tlog.size` | the old size is not the size of the checkpoint held for the log (0 if none); the body is the held size and a newline |
//! | 422 `bad_proof` | the consistency proof from the held checkpoint does not verify (an old size of 0 needs an empty proof; equal sizes need an empty proof) |
//! | 409, `text/x.tlog.size` | the old size equals the checkpoint's size but the roots differ |
//! | 200, `text/plain` | the cosignature line `— <witness name> <base64>` (tlog-cosignature v1, timestamped now) |
//!
//! The held checkpoint is read, checked against, and replaced with one sled
//! `compare_and_swap` on the log's entry: if another request moved it in
//! between, the checks run again against the new entry. So two requests
//! from the same old size can never both advance it, and a size can never
//! go backwards. The new entry is flushed and `fsync`'d before the cosignature is
//! returned, so that not even a power cut makes the witness forget it.
//!
//! A validly signed checkpoint with the held size and another root is an
//! equivocation, whatever old size the request named; one whose proof from
//! the held checkpoint fails is suspect. Both are stored as [`Evidence`].

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kaitiaki_protocol::checkpoint::{Checkpoint, OpenCheckpointError, VerifiedCheckpoint};
use kaitiaki_protocol::merkle::verify_consistency;
use kaitiaki_protocol::note::Note;
use kaitiaki_protocol::Hash;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{unix_now, Evidence, Witness};
use crate::api::{AppState, Body};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::storage::StorageError;

/// The content type of a 409 answer's body.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";
/// The most evidence records kept, so that a flood of validly signed but
/// badly proven checkpoints cannot fill the disk.
pub const MAX_EVIDENCE: u64 = 100_000;
/// The most consistency proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;

/// Codes of the witness's refusals.
pub mod code {
    /// The checkpoint's origin is not a log this node witnesses.
    pub const UNKNOWN_LOG: &str = "unknown_log";
    /// The old size is above the checkpoint's size.
    pub const OLD_SIZE_GREATER: &str = "old_size_greater";
    /// The consistency proof does not verify.
    pub const BAD_PROOF: &str = "bad_proof";
}

/// The witness's routes: `POST /add-checkpoint` and `GET /v1/witness`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/v1/witness", get(info))
}

/// A parsed add-checkpoint request body.
#[derive(Debug)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the client believes the witness holds.
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, unparsed.
    pub note: Vec<u8>,
}

/// Parses a request body; the error says what is wrong.
pub fn parse_request(body: &[u8]) -> Result<AddCheckpoint, String> {
    let mut rest = body;
    let mut next_line = || -> Result<&[u8], String> {
        let end = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or("every line must end in a newline")?;
        let line = &rest[..end];
        rest = &rest[end + 1..];
        Ok(line)
    };
    let first = std::str::from_utf8(next_line()?).map_err(|_| "the old size line is not UTF-8")?;
    let old = first
        .strip_prefix("old ")
        .and_then(kaitiaki_protocol::merkle::tiles::plain_number)
        .ok_or("the first line must be `old <size>`, the size in decimal without leading zeros")?;
    let mut proof = Vec::new();
    loop {
        let line = next_line()?;
        if line.is_empty() {
            break;
        }
        if proof.len() == MAX_PROOF_LINES {
            return Err(format!(
                "at most {MAX_PROOF_LINES} consistency proof lines are allowed"
            ));
        }
        let hash = std::str::from_utf8(line)
            .ok()
            .and_then(Hash::from_base64)
            .filter(|h| h.to_base64().as_bytes() == line)
            .ok_or("a consistency proof line must be one hash in canonical base64")?;
        proof.push(hash);
    }
    Ok(AddCheckpoint {
        old,
        proof,
        note: rest.to_vec(),
    })
}

fn size_conflict(held: u64) -> Response {
    (
        StatusCode::CONFLICT,
        [(header::CONTENT_TYPE, SIZE_CONTENT_TYPE)],
        format!("{held}\n"),
    )
        .into_response()
}

/// Submit a checkpoint with a consistency proof; get the witness's
/// cosignature (C2SP tlog-witness `add-checkpoint`).
#[utoipa::path(
    post,
    path = "/add-checkpoint",
    request_body(content = String, content_type = "text/plain", description = "`old <size>`, proof lines, a blank line, the signed checkpoint"),
    responses(
        (status = 200, content_type = "text/plain", body = String, description = "cosignature line(s)"),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, content_type = "text/x.tlog.size", body = String, description = "the size held, and a newline"),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn add_checkpoint(State(app): State<AppState>, Body(body): Body) -> ApiResult<Response> {
    let witness = &app.shared.witness;
    let req = parse_request(&body).map_err(ApiError::malformed)?;
    let note = Note::parse(&req.note)
        .map_err(|e| ApiError::malformed(format!("the checkpoint note is malformed: {e}")))?;
    // The origin is read before the signature is checked only to find the key.
    let origin = Checkpoint::from_note(&note)
        .map_err(|e| ApiError::malformed(format!("the note is not a checkpoint: {e}")))?
        .origin()
        .to_owned();
    let Some(verifier) = witness.log(&origin) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            code::UNKNOWN_LOG,
            format!("this witness does not witness the log {origin:?}"),
        ));
    };
    let verified = VerifiedCheckpoint::from_note(note, &origin, std::slice::from_ref(&verifier))
        .map_err(|e| match e {
            OpenCheckpointError::Signature(e) => ApiError::new(
                StatusCode::FORBIDDEN,
                crate::error::code::BAD_SIGNATURE,
                format!("the checkpoint is not validly signed by the log's key: {e}"),
            ),
            other => ApiError::malformed(other.to_string()),
        })?;
    let checkpoint = verified.checkpoint().clone();
    if req.old > checkpoint.size() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            code::OLD_SIZE_GREATER,
            format!(
                "old size {} is above the checkpoint's size {}",
                req.old,
                checkpoint.size()
            ),
        ));
    }
    let presented = verified.note().to_bytes();

    // Check and swap, again if another request moved the entry meanwhile.
    loop {
        let current = witness
            .held
            .get(origin.as_bytes())
            .map_err(StorageError::from)?;
        let held = match &current {
            Some(bytes) => Some(held_checkpoint(bytes)?),
            None => None,
        };
        let held_size = held.as_ref().map_or(0, Checkpoint::size);

        if let (Some(h), Some(bytes)) = (&held, &current) {
            if h.size() == checkpoint.size() && h.root() != checkpoint.root() {
                witness
                    .keep_evidence("equivocation", &origin, bytes, &presented, &req)
                    .await?;
            }
        }
        if req.old != held_size {
            witness.metrics.conflicts.fetch_add(1, Ordering::Relaxed);
            return Ok(size_conflict(held_size));
        }
        // Err((problem, whether the failure may be the log's)).
        let consistent: Result<(), (String, bool)> = match &held {
            _ if req.old == checkpoint.size() => {
                if !req.proof.is_empty() {
                    Err(("equal sizes need an empty proof".to_owned(), false))
                } else if held.as_ref().is_some_and(|h| h.root() != checkpoint.root()) {
                    // Kept as evidence above.
                    witness.metrics.conflicts.fetch_add(1, Ordering::Relaxed);
                    return Ok(size_conflict(held_size));
                } else {
                    Ok(())
                }
            }
            _ if req.old == 0 => {
                if req.proof.is_empty() {
                    Ok(())
                } else {
                    Err(("the proof from old size 0 must be empty".to_owned(), false))
                }
            }
            Some(h) => verify_consistency(
                h.size(),
                checkpoint.size(),
                h.root(),
                checkpoint.root(),
                &req.proof,
            )
            .map_err(|e| (e.to_string(), true)),
            // old != 0 and nothing held was answered 409 above.
            None => Err(("no checkpoint is held".to_owned(), false)),
        };
        if let Err((problem, suspect)) = consistent {
            if let (true, Some(bytes)) = (suspect, &current) {
                witness
                    .keep_evidence("proof_failed", &origin, bytes, &presented, &req)
                    .await?;
            }
            witness.metrics.bad_proofs.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                code::BAD_PROOF,
                format!("the consistency proof does not verify: {problem}"),
            ));
        }
        // An equal checkpoint keeps the entry as it was first received.
        let new = match &current {
            Some(bytes) if held_size == checkpoint.size() => bytes.to_vec(),
            _ => presented.clone(),
        };
        let swapped = witness
            .held
            .compare_and_swap(origin.as_bytes(), current, Some(new))
            .map_err(StorageError::from)?;
        if swapped.is_ok() {
            break;
        }
    }
    witness.flush().await?;
    let line = witness
        .cosigner
        .cosign(&checkpoint, unix_now())
        .map_err(|e| ApiError::internal(&e))?;
    witness.metrics.cosigned.fetch_add(1, Ordering::Relaxed);
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        line.to_line(),
    )
        .into_response())
}

/// A held entry's checkpoint. Held entries were verified before they were
/// stored, so only the text is read.
fn held_checkpoint(bytes: &[u8]) -> Result<Checkpoint, StorageError> {
    Note::parse(bytes)
        .ok()
        .and_then(|n| Checkpoint::from_note(&n).ok())
        .ok_or_else(|| StorageError::Corrupt("a held witness checkpoint does not parse".into()))
}

impl Witness {
    /// Stores an evidence record once (keyed by its content) and counts it.
    async fn keep_evidence(
        &self,
        kind: &str,
        origin: &str,
        held: &[u8],
        presented: &[u8],
        req: &AddCheckpoint,
    ) -> Result<(), StorageError> {
        let mut id = Sha256::new();
        for part in [kind.as_bytes(), held, presented] {
            id.update((part.len() as u64).to_be_bytes());
            id.update(part);
        }
        let record = Evidence {
            kind: kind.to_owned(),
            origin: origin.to_owned(),
            held: String::from_utf8_lossy(held).into_owned(),
            presented: String::from_utf8_lossy(presented).into_owned(),
            old_size: req.old,
            proof: req.proof.iter().map(Hash::to_base64).collect(),
            received_at: unix_now(),
        };
        if self.metrics.evidence.load(Ordering::Relaxed) >= MAX_EVIDENCE {
            tracing::error!(origin, kind, "evidence store full; not keeping this record");
            return Ok(());
        }
        let value = serde_json::to_vec(&record)
            .map_err(|e| StorageError::Corrupt(format!("evidence record: {e}")))?;
        let inserted =
            self.evidence
                .compare_and_swap(id.finalize().as_slice(), None::<&[u8]>, Some(value))?;
        if inserted.is_ok() {
            tracing::warn!(origin, kind, "kept evidence of a conflicting checkpoint");
            self.metrics.evidence.fetch_add(1, Ordering::Relaxed);
            if kind == "equivocation" {
                self.metrics.equivocations.fetch_add(1, Ordering::Relaxed);
            }
            self.flush().await?;
        }
        Ok(())
    }
}

/// What this node witnesses, and its witness key.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WitnessInfo {
    /// The witness key name (the node's origin).
    pub name: String,
    /// The cosignature verifier key text logs configure to count this witness.
    pub verifier_key: String,
    /// The logs witnessed, with the size held for each (0 if none yet).
    pub logs: Vec<WitnessedLogInfo>,
    /// Evidence records of conflicting checkpoints stored.
    pub evidence: u64,
}

/// One witnessed log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WitnessedLogInfo {
    /// Its origin.
    pub origin: String,
    /// The size of the checkpoint held (and last cosigned).
    pub size: u64,
}

/// The witness's key and the logs it witnesses.
#[utoipa::path(get, path = "/v1/witness", responses((status = 200, body = WitnessInfo)))]
pub async fn info(State(app): State<AppState>) -> ApiResult<Json<WitnessInfo>> {
    let w = &app.shared.witness;
    let mut logs = Vec::new();
    for origin in w.log_origins() {
        let size = match w.held.get(origin.as_bytes()).map_err(StorageError::from)? {
            Some(bytes) => held_checkpoint(&bytes)?.size(),
            None => 0,
        };
        logs.push(WitnessedLogInfo {
            origin: origin.clone(),
            size,
        });
    }
    Ok(Json(WitnessInfo {
        name: w.cosigner.name().to_string(),
        verifier_key: w.verifier().to_string(),
        logs,
        evidence: w.metrics.evidence.load(Ordering::Relaxed),
    }))
}

/// The OpenAPI paths of the witness, to merge into the node's document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(add_checkpoint, info),
    components(schemas(WitnessInfo, WitnessedLogInfo))
)]
pub struct WitnessDoc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies_parse_strictly() {
        let h = Hash::from_slice(&[7; 32]).unwrap().to_base64();
        let ok = parse_request(format!("old 12\n{h}\n{h}\n\nnote\n").as_bytes()).unwrap();
        assert_eq!(
            (ok.old, ok.proof.len(), ok.note.as_slice()),
            (12, 2, &b"note\n"[..])
        );
        let zero = parse_request(b"old 0\n\nx").unwrap();
        assert_eq!((zero.old, zero.proof.len()), (0, 0));
        let many = format!("old 1\n{}\nn", format!("{h}\n").repeat(MAX_PROOF_LINES + 1));
        assert!(parse_request(many.as_bytes()).is_err());
        let most = format!("old 1\n{}\nn", format!("{h}\n").repeat(MAX_PROOF_LINES));
        assert!(parse_request(most.as_bytes()).is_ok());
        // Non-canonical base64 (unused bits set), leading zeros, no blank line.
        let bad_b64 = format!("{}B=", &h[..h.len() - 2]);
        for bad in [
            format!("old 1\n{bad_b64}\n\nn"),
            "old 007\n\nn".to_owned(),
            "old 1\n".to_owned(),
            "old -1\n\nn".to_owned(),
            "old 1 \n\nn".to_owned(),
            format!("old 1\n{h}"),
        ] {
            assert!(parse_request(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
