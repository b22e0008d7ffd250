//! Asking this node's witnesses to cosign its checkpoints.
//!
//! [`spawn`] starts one task per configured witness. Each task wakes when
//! the node publishes a checkpoint (the events broadcast; a lagged
//! receiver just wakes it too) and sends the latest published checkpoint
//! to its witness with `POST <url>/add-checkpoint`, with a consistency
//! proof from the size that witness last cosigned:
//!
//! - 200: every line from the witness's configured key is verified
//!   against the checkpoint with the protocol crate, then stored with the
//!   checkpoint ([`Witness::store_cosignature`]); lines from other keys are
//!   ignored, an invalid line from the witness's key is a failure.
//! - 409: the body (`text/x.tlog.size`) is the size the witness holds; the
//!   task retries at once from that size (a few times, then backs off).
//! - anything else, no answer, or an answer over 16 KiB (read no
//!   further): exponential backoff from 0.5 s to 60 s.
//!
//! The size each witness holds is remembered in the `witnessed_by` tree,
//! so a restarted node resumes without a 409 round trip. The tasks hold
//! the node only weakly and never across a network call, and stop when the
//! node closes. Nothing here is on the write path: a slow or absent witness
//! delays only its own cosignatures.

use std::sync::{Arc, Weak};
use std::time::Duration;

use kaitiaki_protocol::checkpoint::Checkpoint;
use kaitiaki_protocol::note::{Note, NoteSignature};
use tokio::sync::broadcast::error::RecvError;

use crate::node::Shared;
use crate::replication::bounded;
use crate::storage::read_u64;

/// How long one request to a witness may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The first backoff after a failure; it doubles up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_millis(500);
/// The longest backoff.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// 409 answers in a row before the task backs off instead of retrying.
const MAX_CONFLICT_RETRIES: u32 = 3;
/// The longest answer read from a witness: cosignature lines, a size, or
/// an error. A longer one fails the request (see
/// [`crate::replication::bounded`]).
const ANSWER_CAP: usize = 16 * 1024;

/// Starts one cosigning task per configured witness. Call from within a
/// tokio runtime; [`crate::serve`] does.
pub(crate) fn spawn(shared: &Arc<Shared>) {
    for index in 0..shared.witness.slots() {
        spawn_one(shared, index);
    }
}

/// Starts the cosigning task of witness `index` (one added at run time).
pub(crate) fn spawn_one(shared: &Arc<Shared>, index: usize) {
    let task = Asker {
        shared: Arc::downgrade(shared),
        index,
        http: match reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot build the witness HTTP client");
                return;
            }
        },
    };
    let events = shared.events.subscribe();
    let closing = shared.closing.subscribe();
    tokio::spawn(task.run(events, closing));
}

/// Waits for the next checkpoint event (or a lag, which may have hidden
/// one); true when the channel is closed.
async fn next_checkpoint(
    events: &mut tokio::sync::broadcast::Receiver<Arc<crate::events::Event>>,
) -> bool {
    loop {
        match events.recv().await {
            Ok(e) if matches!(*e, crate::events::Event::Checkpoint { .. }) => return false,
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => return false,
            Err(RecvError::Closed) => return true,
        }
    }
}

/// What one round of asking came to.
enum Round {
    /// Nothing new to ask for.
    Idle,
    /// The witness cosigned this size.
    Cosigned(u64),
    /// The witness holds this size; ask again from it.
    Conflict(u64),
    /// The request failed; back off.
    Failed(String),
}

struct Asker {
    shared: Weak<Shared>,
    index: usize,
    http: reqwest::Client,
}

/// A request ready to send, prepared while holding the node.
struct Prepared {
    url: String,
    body: Vec<u8>,
    size: u64,
    note: String,
    checkpoint: Checkpoint,
    verifier: kaitiaki_protocol::cosignature::CosignatureVerifier,
}

impl Asker {
    async fn run(
        self,
        mut events: tokio::sync::broadcast::Receiver<Arc<crate::events::Event>>,
        mut closing: tokio::sync::watch::Receiver<bool>,
    ) {
        // The size the witness holds for this log, if known.
        let mut known: Option<u64> = self.remembered();
        // The size it last cosigned in this run.
        let mut done: Option<u64> = None;
        let mut backoff = MIN_BACKOFF;
        let mut conflicts = 0;
        // The problem last warned about: a witness that keeps failing the
        // same way is warned about once, then at debug level.
        let mut said: Option<String> = None;
        loop {
            if *closing.borrow() || !self.asked() {
                return;
            }
            let wait = match self.round(known, done).await {
                Round::Idle => None,
                Round::Cosigned(size) => {
                    known = Some(size);
                    done = Some(size);
                    backoff = MIN_BACKOFF;
                    conflicts = 0;
                    self.remember(size);
                    if said.take().is_some() {
                        self.recovered();
                    }
                    continue;
                }
                Round::Conflict(size) if conflicts < MAX_CONFLICT_RETRIES => {
                    conflicts += 1;
                    known = Some(size);
                    continue;
                }
                Round::Conflict(size) => {
                    known = Some(size);
                    self.failed(
                        &format!("the witness keeps answering 409 (holds {size})"),
                        &mut said,
                    );
                    Some(backoff)
                }
                Round::Failed(why) => {
                    self.failed(&why, &mut said);
                    // Learn the held size afresh on the next try.
                    known = None;
                    Some(backoff)
                }
            };
            if let Some(delay) = wait {
                conflicts = 0;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = closing.changed() => return,
                }
            } else {
                tokio::select! {
                    closed = next_checkpoint(&mut events) => if closed { return },
                    _ = closing.changed() => return,
                }
            }
        }
    }

    /// Whether this witness is still one to ask (it goes with its peer).
    fn asked(&self) -> bool {
        self.shared
            .upgrade()
            .is_some_and(|s| s.witness.peer(self.index).is_some())
    }

    /// Counts a failed request; warns when the problem is new (`said` is
    /// the one warned about last), else logs it at debug level.
    fn failed(&self, why: &str, said: &mut Option<String>) {
        if let Some(shared) = self.shared.upgrade() {
            let Some(peer) = shared.witness.peer(self.index) else {
                return;
            };
            shared
                .witness
                .metrics
                .ask_failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if said.as_deref() == Some(why) {
                tracing::debug!(witness = %peer.url, problem = why, "witness did not cosign");
            } else {
                tracing::warn!(witness = %peer.url, problem = why,
                    "witness did not cosign; retrying with backoff, and saying so again only if the problem changes");
                *said = Some(why.to_owned());
            }
        }
    }

    /// Says a witness that failed cosigns again.
    fn recovered(&self) {
        if let Some(peer) = self
            .shared
            .upgrade()
            .and_then(|s| s.witness.peer(self.index))
        {
            tracing::info!(witness = %peer.url, "the witness cosigns again");
        }
    }

    fn remembered(&self) -> Option<u64> {
        let shared = self.shared.upgrade()?;
        let peer = shared.witness.peer(self.index)?;
        let bytes = shared
            .witness
            .witnessed_by
            .get(peer.key_text.as_bytes())
            .ok()??;
        read_u64(&bytes).ok()
    }

    fn remember(&self, size: u64) {
        if let Some(shared) = self.shared.upgrade() {
            let Some(peer) = shared.witness.peer(self.index) else {
                return;
            };
            let _ = shared
                .witness
                .witnessed_by
                .insert(peer.key_text.as_bytes(), &size.to_be_bytes());
        }
    }

    /// Builds the request for the latest published checkpoint, or `None`
    /// when the witness already cosigned it.
    async fn prepare(
        &self,
        known: Option<u64>,
        done: Option<u64>,
    ) -> Result<Option<Prepared>, String> {
        let Some(shared) = self.shared.upgrade() else {
            return Ok(None);
        };
        let published = shared.published();
        if done == Some(published.size) || published.note.is_empty() {
            return Ok(None);
        }
        let old = known.unwrap_or(0);
        if old > published.size {
            return Err(format!(
                "the witness holds size {old}, beyond this log's {}",
                published.size
            ));
        }
        let size = published.size;
        let proof = if old == 0 || old == size {
            Vec::new()
        } else {
            let s = Arc::clone(&shared);
            tokio::task::spawn_blocking(move || s.storage.consistency_proof(old, size))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("consistency proof {old}..{size}: {e:?}"))?
        };
        let mut body = format!("old {old}\n").into_bytes();
        for h in &proof {
            body.extend_from_slice(h.to_base64().as_bytes());
            body.push(b'\n');
        }
        body.push(b'\n');
        body.extend_from_slice(published.note.as_bytes());
        let checkpoint = Checkpoint::new(shared.config.origin.clone(), size, published.root)
            .map_err(|e| e.to_string())?;
        let Some(peer) = shared.witness.peer(self.index) else {
            return Ok(None);
        };
        Ok(Some(Prepared {
            url: format!("{}/add-checkpoint", peer.url),
            body,
            size,
            note: published.note.clone(),
            checkpoint,
            verifier: peer.verifier.clone(),
        }))
    }

    async fn round(&self, known: Option<u64>, done: Option<u64>) -> Round {
        let prepared = match self.prepare(known, done).await {
            Ok(Some(p)) => p,
            Ok(None) => return Round::Idle,
            Err(e) => return Round::Failed(e),
        };
        let response = match self
            .http
            .post(&prepared.url)
            .header("content-type", "text/plain")
            .body(prepared.body.clone())
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return Round::Failed(format!("request failed: {e}")),
        };
        let status = response.status().as_u16();
        let text = match bounded::read(response, ANSWER_CAP).await {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => return Round::Failed(e.to_string()),
        };
        match status {
            200 => self.accept(&prepared, &text),
            409 => match text.strip_suffix('\n').and_then(|s| s.parse::<u64>().ok()) {
                Some(held) if held != known.unwrap_or(0) => Round::Conflict(held),
                Some(held) => Round::Failed(format!(
                    "the witness holds another checkpoint of size {held} (a root conflict)"
                )),
                None => Round::Failed(format!("409 without a size: {text:?}")),
            },
            other => Round::Failed(format!("status {other}: {}", text.trim())),
        }
    }

    /// Verifies the witness's cosignature lines and stores them.
    fn accept(&self, prepared: &Prepared, text: &str) -> Round {
        let lines = match NoteSignature::parse_lines(text) {
            Ok(l) => l,
            Err(e) => return Round::Failed(format!("the answer is not signature lines: {e}")),
        };
        let mut valid = Vec::new();
        for line in &lines {
            match prepared
                .verifier
                .verify_cosignature(&prepared.checkpoint, line)
            {
                Ok(_) => valid.push(line.clone()),
                Err(kaitiaki_protocol::cosignature::CosignatureError::WrongKey { .. }) => {}
                Err(e) => return Round::Failed(format!("invalid cosignature: {e}")),
            }
        }
        if valid.is_empty() {
            return Round::Failed("no cosignature from the witness's key".into());
        }
        let Some(shared) = self.shared.upgrade() else {
            return Round::Idle;
        };
        // The note must still be ours (a sanity check on what was sent).
        if Note::parse(prepared.note.as_bytes()).is_err() {
            return Round::Failed("the published note does not parse".into());
        }
        for line in &valid {
            if let Err(e) = shared
                .witness
                .store_cosignature(prepared.size, &prepared.note, line)
            {
                return Round::Failed(format!("storing the cosignature: {e}"));
            }
            shared
                .witness
                .metrics
                .collected
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Round::Cosigned(prepared.size)
    }
}
