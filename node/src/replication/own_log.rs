//! This node's own log against the copies its peers hold of it.
//!
//! A node restored from a copy of its log that is shorter than what its
//! peers hold would sequence new records where they already hold others:
//! two histories under one key, which every peer then quarantines. So each
//! follower, before anything else, asks its peer for the checkpoint of the
//! peer's copy of this node's log (`GET <peer>/tlog/mirrors/<origin>/checkpoint`),
//! signed by this node's own key, and compares it with the log here. If the
//! peer's copy is longer than the log here, or another history, the node
//! refuses new statements (`unavailable`, 503, with the reason) and
//! `/healthz` says so, until its operator restores the fuller copy.
//!
//! A node that opens on records with no index of them (a restore, or a
//! lost database), or on its key in a data directory whose database never
//! recorded it (a restore from the key alone, or a key made before the
//! node's first start), begins a wait: new statements wait until every
//! peer followed has answered once (a copy, or none), since a statement
//! taken before then could be the one that splits the log. A peer that
//! does not answer is asked again each round, and the refusal names it; an
//! operator who must go on without it stops following it (`peer remove`,
//! or out of the configuration), and it is no longer waited for. A peer
//! added at run time, or forgiven, while the wait lasts is waited for too
//! (unless it has answered).
//!
//! A refusal is kept in the data directory (the file [`REFUSAL_FILE`]), so
//! that restarting the node does not lift it: only restoring the log into
//! an empty data directory, as README says, or removing the file, does.
//! So is the wait (the file [`UNCHECKED_FILE`], written before anything
//! else of the start): it ends once a peer has answered and none is left
//! to, or once the node, with no peer to wait for, takes a statement (the
//! wait then protects nothing). Otherwise a node opened again before then,
//! by `kaitiaki node init` or with no peer to ask, would find its log
//! indexed and its key recorded, and take statements unchecked.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use kaitiaki_protocol::checkpoint::VerifiedCheckpoint;

use crate::error::{code, ApiError};
use crate::node::Shared;
use crate::storage::StorageError;

/// The file, in the data directory, that keeps a refusal across restarts.
pub const REFUSAL_FILE: &str = "refusing-statements.txt";

/// The file, in the data directory, that keeps what a start found that
/// made the node wait for its peers, until they have answered.
pub const UNCHECKED_FILE: &str = "waiting-for-peers.txt";

/// What the peers' copies have told about this node's log.
#[derive(Debug)]
pub struct OwnLogCheck {
    // One lock for both, so that a statement is judged on one moment:
    // never after a refusal but before the peer that caused it is counted.
    state: Mutex<State>,
    // Set, under that lock, while no peer is waited for and nothing is
    // refused: every append reads this, and takes the lock only when unset.
    clear: AtomicBool,
    // Where the refusal is kept.
    file: PathBuf,
    // Where a wait not yet over is kept.
    unchecked_file: PathBuf,
    // Set while that file is kept: every batch reads this.
    unchecked_now: AtomicBool,
}

#[derive(Debug)]
struct State {
    /// Peers (by origin) still to answer before new statements are taken.
    waiting: BTreeSet<String>,
    /// What the node found that made it wait for them.
    found: String,
    /// Whether that is kept in the data directory, until a peer
    /// has answered and none is left to.
    unchecked: bool,
    /// Whether a peer has answered since the node opened.
    heard: bool,
    /// Why new statements are refused, once a peer's copy showed more.
    refused: Option<String>,
}

/// What one peer's copy of this node's log showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// Nothing to compare: the peer holds no copy, or nothing that proves.
    Nothing,
    /// A prefix of the log here, or all of it.
    Prefix,
    /// More than the log here, or another history: the reason.
    Ahead(String),
}

impl OwnLogCheck {
    /// The check of the node whose data directory is `dir`, with any
    /// refusal kept there from before.
    pub(crate) fn open(dir: &Path) -> Result<OwnLogCheck, StorageError> {
        let file = dir.join(REFUSAL_FILE);
        let refused = read_kept(&file)?;
        if let Some(why) = &refused {
            tracing::error!(problem = %why, file = %file.display(), "refusing new statements, as before the last stop");
        }
        let unchecked_file = dir.join(UNCHECKED_FILE);
        let found = read_kept(&unchecked_file)?;
        Ok(OwnLogCheck {
            clear: AtomicBool::new(refused.is_none()),
            unchecked_now: AtomicBool::new(found.is_some()),
            state: Mutex::new(State {
                waiting: BTreeSet::new(),
                unchecked: found.is_some(),
                found: found.unwrap_or_default(),
                heard: false,
                refused,
            }),
            file,
            unchecked_file,
        })
    }

    /// The node found at start what makes it wait for its peers before it
    /// takes a statement (`found`, in words for people): kept in the data
    /// directory at once, before anything else of the start is, unless an
    /// earlier start's wait is kept there already. Blocking.
    /// Returns whether the wait began now; an error if it could not be
    /// kept (the node must not open then).
    pub(crate) fn begin(&self, found: String) -> Result<bool, StorageError> {
        let mut state = self.state();
        if state.unchecked {
            return Ok(false);
        }
        crate::storage::write_synced(&self.unchecked_file, found.as_bytes())?;
        state.unchecked = true;
        state.found = found;
        self.unchecked_now.store(true, Ordering::Release);
        Ok(true)
    }

    /// Ends a wait begun at this start that proved needless: the records
    /// it was begun for were none once recovery had cut a torn tail.
    pub(crate) fn abandon(&self) {
        let mut state = self.state();
        self.end_wait(&mut state);
        self.settle(&state);
    }

    /// What a start found that made the node wait for its peers, if they
    /// have not all answered since.
    #[cfg(test)]
    fn unchecked(&self) -> Option<String> {
        let state = self.state();
        state.unchecked.then(|| state.found.clone())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Says, while `state` is still locked, whether it holds anything back.
    fn settle(&self, state: &State) {
        let clear = state.waiting.is_empty() && state.refused.is_none();
        self.clear.store(clear, Ordering::Release);
    }

    /// If a wait is kept ([`OwnLogCheck::begin`]), new statements wait
    /// until each of the peers `origins` has answered. A peer followed
    /// from run time on is added the same way.
    pub(crate) fn hold_for(&self, origins: impl IntoIterator<Item = String>) {
        let mut state = self.state();
        if state.unchecked {
            state.waiting.extend(origins);
        }
        self.settle(&state);
    }

    /// If a wait is kept, new statements wait for the peer `origin` too,
    /// unless it has `answered` already (a peer forgiven during the wait,
    /// say, which asked nothing while quarantined). Its follower sets
    /// `answered` before it records the answer under this check's lock,
    /// so the peer is never left waited for after it has answered.
    /// `followed` is asked under that lock too.
    pub(crate) fn hold_unless_answered(
        &self,
        origin: &str,
        answered: &AtomicBool,
        followed: impl FnOnce() -> bool,
    ) {
        let mut state = self.state();
        if state.unchecked && !answered.load(Ordering::Acquire) && followed() {
            state.waiting.insert(origin.to_owned());
        }
        self.settle(&state);
    }

    /// The node took statements while nothing was waited for (it had no
    /// peer to ask): a wait kept from before protects nothing more, and
    /// ends. Blocking, the first time only; a load otherwise.
    pub(crate) fn took_statements(&self) {
        if !self.unchecked_now.load(Ordering::Acquire) {
            return;
        }
        let mut state = self.state();
        if state.waiting.is_empty() && state.refused.is_none() {
            self.end_wait(&mut state);
        }
    }

    /// The peer `origin` is no longer followed (removed, or quarantined):
    /// it is no longer waited for.
    pub(crate) fn not_followed(&self, origin: &str) {
        let mut state = self.state();
        state.waiting.remove(origin);
        self.over_if_heard(&mut state);
        self.settle(&state);
    }

    /// Ends a wait kept in the data directory once no peer is left to
    /// answer and one did.
    fn over_if_heard(&self, state: &mut State) {
        if state.heard && state.waiting.is_empty() && state.refused.is_none() {
            self.end_wait(state);
        }
    }

    fn end_wait(&self, state: &mut State) {
        if !state.unchecked {
            return;
        }
        if let Err(e) = std::fs::remove_file(&self.unchecked_file) {
            tracing::warn!(error = %e, "could not remove the finished wait for peers");
        }
        state.unchecked = false;
        self.unchecked_now.store(false, Ordering::Release);
    }

    /// Why new statements wait for peers to answer, if they do (and are not
    /// refused for good).
    pub fn waiting(&self) -> Option<String> {
        if self.clear.load(Ordering::Acquire) {
            return None;
        }
        let state = self.state();
        (state.refused.is_none())
            .then(|| waiting_message(&state))
            .flatten()
    }

    /// The peer `origin` answered, showing `seen`. Blocking: a refusal is
    /// written to the data directory and synced.
    pub(crate) fn answered(&self, origin: &str, seen: Seen) {
        let newly = {
            let mut state = self.state();
            let newly = match seen {
                Seen::Ahead(why) if state.refused.is_none() => {
                    state.refused = Some(why.clone());
                    Some(why)
                }
                _ => None,
            };
            state.waiting.remove(origin);
            // Any peer's answer counts, waited for or added since.
            state.heard = true;
            self.over_if_heard(&mut state);
            self.settle(&state);
            newly
        };
        let Some(why) = newly else { return };
        tracing::error!(problem = %why, "refusing new statements");
        // Kept durably, so a restart does not lift it; a failure to keep
        // it still refuses, for as long as this run lasts.
        if let Err(e) = crate::storage::write_synced(&self.file, why.as_bytes()) {
            tracing::error!(error = %e, "could not keep the refusal in the data directory");
        }
    }

    /// Why new statements are refused for good, if they are.
    pub fn refused(&self) -> Option<String> {
        self.state().refused.clone()
    }

    /// Whether new statements are held back now (waited for, or refused):
    /// one load when they are not.
    pub(crate) fn holds_back(&self) -> bool {
        if self.clear.load(Ordering::Acquire) {
            return false;
        }
        let state = self.state();
        !(state.waiting.is_empty() && state.refused.is_none())
    }

    /// The answer to a new statement now, if it must be refused.
    pub fn refusal(&self) -> Option<ApiError> {
        if self.clear.load(Ordering::Acquire) {
            return None;
        }
        let state = self.state();
        let unavailable = |m: String| {
            ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                code::UNAVAILABLE,
                m,
            )
        };
        if let Some(why) = &state.refused {
            return Some(unavailable(format!(
                "this node takes no new statements: {why}"
            )));
        }
        waiting_message(&state).map(unavailable)
    }
}

/// The text kept in `path`, if the file is there and says something. A
/// file that is there but cannot be read is an error: taking it for absent
/// would lift a refusal or a wait.
fn read_kept(path: &Path) -> Result<Option<String>, StorageError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.trim().to_owned()).filter(|t| !t.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StorageError::io(path, e)),
    }
}

/// What a node waiting for its peers says, if it waits.
fn waiting_message(state: &State) -> Option<String> {
    if state.waiting.is_empty() {
        return None;
    }
    let peers: Vec<&str> = state.waiting.iter().map(String::as_str).collect();
    Some(format!(
        "{}, and it takes no new statement until each peer it follows has said what it holds \
         of this log; still to answer: {}. Retry in a moment; if a peer stays down, its \
         operator can bring it back, or this node's operator can stop following it",
        state.found,
        peers.join(", ")
    ))
}

/// Compares the checkpoint `bytes` that the peer at `url` holds of this
/// node's log with the log here.
/// Returns `None` when this node cannot tell (its own tree could not be
/// read): nothing is claimed, and the peer is asked again.
pub(crate) fn compare(shared: &Shared, url: &str, bytes: &[u8]) -> Option<Seen> {
    // Only this node's own signature, for its own origin, makes the peer's
    // claim worth anything.
    let Ok(verified) =
        VerifiedCheckpoint::open(bytes, &shared.config.origin, &[shared.identity.verifier()])
    else {
        return Some(Seen::Nothing);
    };
    let theirs = verified.checkpoint();
    let ours = shared.published();
    let restore = "stop the node and restore its log from the fuller copy (README: \"Backing up \
                   and restoring a node\")";
    if theirs.size() > ours.size {
        return Some(Seen::Ahead(format!(
            "the peer at {url} holds {} records of this log, signed with this node's key, and \
             this node holds {}: it was restored from a shorter copy, and a new record here \
             would split the log in two; {restore}",
            theirs.size(),
            ours.size
        )));
    }
    let here = if theirs.size() == ours.size {
        Ok(ours.root)
    } else {
        shared.storage.root(theirs.size())
    };
    match here {
        Ok(root) if root == *theirs.root() => Some(Seen::Prefix),
        Ok(_) => Some(Seen::Ahead(format!(
            "the peer at {url} holds another history of this log at size {}, signed with this \
             node's key: this node was restored from a copy that is not its log; {restore}",
            theirs.size()
        ))),
        Err(e) => {
            tracing::warn!(error = %e, "could not read this log's tree to compare a peer's copy; asking again");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(c: &OwnLogCheck) -> Option<String> {
        c.refusal().map(|e| e.body().message.clone())
    }

    #[test]
    fn statements_wait_for_every_peer_and_a_refusal_outlives_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = OwnLogCheck::open(dir.path()).expect("opens");
        assert_eq!(message(&c), None);
        // Without a wait begun, a peer is not waited for.
        c.hold_for(["a.example".to_owned()]);
        assert_eq!(message(&c), None);
        c.begin("this node found a thing at start".to_owned())
            .expect("kept");
        c.hold_for(["a.example".to_owned(), "b.example".to_owned()]);
        let waiting = message(&c).expect("held");
        assert!(
            waiting.starts_with("this node found a thing at start, and it takes no new")
                && waiting.contains("still to answer: a.example, b.example"),
            "{waiting}"
        );
        assert_eq!(c.waiting(), Some(waiting));
        c.answered("a.example", Seen::Prefix);
        let waiting = message(&c).expect("held");
        assert!(waiting.contains("still to answer: b.example."), "{waiting}");
        c.answered("b.example", Seen::Nothing);
        assert_eq!(message(&c), None);
        assert_eq!(c.refused(), None);
        assert_eq!(c.waiting(), None);

        c.answered("b.example", Seen::Ahead("the peer holds more".into()));
        assert_eq!(c.refused().as_deref(), Some("the peer holds more"));
        assert!(message(&c)
            .expect("refused")
            .ends_with("the peer holds more"));
        assert_eq!(c.waiting(), None, "refused, not waiting");
        // A second reason does not replace the first.
        c.answered("a.example", Seen::Ahead("another".into()));
        assert_eq!(c.refused().as_deref(), Some("the peer holds more"));
        // Opened again on the same directory, it still refuses.
        let again = OwnLogCheck::open(dir.path()).expect("opens");
        assert_eq!(again.refused().as_deref(), Some("the peer holds more"));
    }

    #[test]
    fn a_wait_outlives_a_restart_until_a_peer_has_answered_or_statements_were_taken() {
        let dir = tempfile::tempdir().expect("tempdir");
        let found = || "this node found its key alone".to_owned();
        // Begun with no peer to ask (as by `node init`): nothing is held
        // now, but the wait is kept for the next start.
        let c = OwnLogCheck::open(dir.path()).expect("opens");
        assert!(c.begin(found()).expect("kept"));
        c.hold_for(Vec::<String>::new());
        assert_eq!(c.waiting(), None);
        let c = OwnLogCheck::open(dir.path()).expect("opens");
        assert_eq!(c.unchecked(), Some(found()));
        // Begun again, it keeps what the first start found.
        assert!(!c.begin("something else".to_owned()).expect("kept"));
        assert_eq!(c.unchecked(), Some(found()));
        // A peer waited for and then no longer followed answered nothing.
        c.hold_for(["a.example".to_owned()]);
        c.not_followed("a.example");
        assert_eq!(c.waiting(), None);
        let c = OwnLogCheck::open(dir.path()).expect("opens");
        assert_eq!(c.unchecked(), Some(found()));
        // Once a peer has answered and none is left to, the wait is over.
        c.hold_for(["a.example".to_owned(), "b.example".to_owned()]);
        c.answered("a.example", Seen::Nothing);
        assert!(c
            .waiting()
            .is_some_and(|w| w.starts_with("this node found its key alone")));
        c.took_statements();
        assert_eq!(c.unchecked(), Some(found()), "none could be taken yet");
        c.not_followed("b.example");
        assert_eq!(c.waiting(), None);
        assert_eq!(c.unchecked(), None);
        assert_eq!(
            OwnLogCheck::open(dir.path()).expect("opens").unchecked(),
            None
        );
        // A node with no peer to ask that takes statements ends its wait:
        // it protects nothing any more.
        let c = OwnLogCheck::open(dir.path()).expect("opens");
        assert!(c.begin(found()).expect("kept"));
        c.hold_for(Vec::<String>::new());
        c.took_statements();
        assert_eq!(
            OwnLogCheck::open(dir.path()).expect("opens").unchecked(),
            None
        );
    }

    #[test]
    fn a_peer_forgiven_during_the_wait_is_waited_for_unless_it_answered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = OwnLogCheck::open(dir.path()).expect("opens");
        let (asked, never) = (AtomicBool::new(true), AtomicBool::new(false));
        // No wait: nobody is waited for.
        let yes = || true;
        c.hold_unless_answered("a.example", &never, yes);
        assert_eq!(c.waiting(), None);
        c.begin("restored".to_owned()).expect("kept");
        c.hold_unless_answered("a.example", &asked, yes);
        assert_eq!(c.waiting(), None, "it had answered");
        c.hold_unless_answered("c.example", &never, || false);
        assert_eq!(c.waiting(), None, "no longer followed");
        c.hold_unless_answered("b.example", &never, yes);
        assert!(c
            .waiting()
            .is_some_and(|w| w.contains("still to answer: b.example.")));
        c.answered("b.example", Seen::Nothing);
        assert_eq!(c.waiting(), None);
    }
}
