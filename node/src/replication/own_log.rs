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
//! added at run time, or forgiven, while the wait lasts is waited for too,
//! unless it answered since the node opened (a peer removed and added
//! again is asked again).
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

/// The peers a wait is for, as they are at the moment it is asked: who is
/// waited for is never kept apart from who is followed, so the two cannot
/// disagree.
pub trait Peers {
    /// The origins of the peers followed now that have not yet answered
    /// what they hold of this node's log, in order. Asked under the
    /// check's lock, which a peer's answer also takes (see
    /// [`OwnLogCheck::answered`]).
    fn still_to_answer(&self) -> Vec<String>;
}

impl Peers for super::Replication {
    fn still_to_answer(&self) -> Vec<String> {
        self.peers()
            .iter()
            // Followers of quarantined or removed peers ask nothing.
            .filter(|f| {
                f.status().state.is_followed() && !f.own_log_answered.load(Ordering::Acquire)
            })
            .map(|f| f.peer.origin.clone())
            .collect()
    }
}

/// What the peers' copies have told about this node's log.
#[derive(Debug)]
pub struct OwnLogCheck {
    // One lock for the refusal and the wait, so that a statement is judged
    // on one moment: never after a peer's answer is counted but before
    // the refusal it brought is.
    state: Mutex<State>,
    // Set, under that lock, while no wait is kept and nothing is refused:
    // every append reads this, and takes the lock only when unset.
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
    /// What the node found that made it wait for its peers.
    found: String,
    /// Whether that is kept in the data directory, until a peer
    /// has answered and none is left to.
    unchecked: bool,
    /// Whether a peer has answered since the node opened.
    heard: bool,
    /// Why new statements are refused, once a peer's copy showed more.
    refused: Option<String>,
}

/// Why new statements are held back, if they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Held {
    /// For good: a peer's copy showed more than the log here. The reason.
    Refused(String),
    /// Until the peers named in it have answered. What to tell people.
    Waiting(String),
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
    /// refusal or wait kept there from before.
    pub(crate) fn open(dir: &Path) -> Result<OwnLogCheck, StorageError> {
        let file = dir.join(REFUSAL_FILE);
        let refused = read_kept(&file)?;
        if let Some(why) = &refused {
            tracing::error!(problem = %why, file = %file.display(), "refusing new statements, as before the last stop");
        }
        let unchecked_file = dir.join(UNCHECKED_FILE);
        let found = read_kept(&unchecked_file)?;
        Ok(OwnLogCheck {
            clear: AtomicBool::new(refused.is_none() && found.is_none()),
            unchecked_now: AtomicBool::new(found.is_some()),
            state: Mutex::new(State {
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
        self.settle(&state);
        Ok(true)
    }

    /// Whether a start found what makes the node wait for its peers (a
    /// restore), and has not heard from them all since.
    pub(crate) fn waits_for_peers(&self) -> bool {
        self.unchecked_now.load(Ordering::Acquire)
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

    /// Says, while `state` is still locked, whether it may hold anything
    /// back.
    fn settle(&self, state: &State) {
        let clear = !state.unchecked && state.refused.is_none();
        self.clear.store(clear, Ordering::Release);
    }

    /// Why new statements are held back now, if they are: refused, or
    /// waiting for the peers of `peers` that have not answered. No lock
    /// is taken when nothing is kept.
    pub fn holding(&self, peers: &impl Peers) -> Option<Held> {
        if self.clear.load(Ordering::Acquire) {
            return None;
        }
        let state = self.state();
        if let Some(why) = &state.refused {
            return Some(Held::Refused(why.clone()));
        }
        if !state.unchecked {
            return None;
        }
        waiting_message(&state.found, &peers.still_to_answer()).map(Held::Waiting)
    }

    /// Whether new statements are held back now (waited for, or refused):
    /// one load when no wait is kept and nothing is refused, and no message
    /// made when one is (the sequencer asks this once a batch).
    pub(crate) fn holds_back(&self, peers: &impl Peers) -> bool {
        if self.clear.load(Ordering::Acquire) {
            return false;
        }
        let state = self.state();
        state.refused.is_some() || (state.unchecked && !peers.still_to_answer().is_empty())
    }

    /// The answer to a new statement now, if it must be refused.
    pub fn refusal(&self, peers: &impl Peers) -> Option<ApiError> {
        let message = match self.holding(peers)? {
            Held::Refused(why) => format!("this node takes no new statements: {why}"),
            Held::Waiting(message) => message,
        };
        Some(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            code::UNAVAILABLE,
            message,
        ))
    }

    /// Why new statements are refused for good, if they are.
    #[cfg(test)]
    fn refused(&self) -> Option<String> {
        self.state().refused.clone()
    }

    /// The node took statements while nothing was waited for (no peer was
    /// left to ask): a wait kept from before protects nothing more, and
    /// ends. Blocking, the first time only; a load otherwise.
    pub(crate) fn took_statements(&self, peers: &impl Peers) {
        if !self.unchecked_now.load(Ordering::Acquire) {
            return;
        }
        let mut state = self.state();
        if state.refused.is_none() && peers.still_to_answer().is_empty() {
            self.end_wait(&mut state);
        }
        self.settle(&state);
    }

    /// The peers followed changed (one removed, or quarantined): if one
    /// has answered and none is left to, the wait is over. Blocking.
    pub(crate) fn peers_changed(&self, peers: &impl Peers) {
        let mut state = self.state();
        self.over_if_heard(&mut state, peers);
        self.settle(&state);
    }

    /// Ends a wait kept in the data directory once no peer is left to
    /// answer and one did.
    fn over_if_heard(&self, state: &mut State, peers: &impl Peers) {
        if state.unchecked
            && state.heard
            && state.refused.is_none()
            && peers.still_to_answer().is_empty()
        {
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

    /// A peer answered, showing `seen`: its flag `answered` (which
    /// [`Peers::still_to_answer`] reads) is set under the check's lock,
    /// with any refusal the answer brings, so no statement is judged
    /// between the two. Blocking: a refusal is written to the data
    /// directory and synced.
    pub(crate) fn answered(&self, answered: &AtomicBool, seen: Seen, peers: &impl Peers) {
        let newly = {
            let mut state = self.state();
            let newly = match seen {
                Seen::Ahead(why) if state.refused.is_none() => {
                    state.refused = Some(why.clone());
                    Some(why)
                }
                _ => None,
            };
            answered.store(true, Ordering::Release);
            // Any peer's answer counts, waited for or added since.
            state.heard = true;
            self.over_if_heard(&mut state, peers);
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

/// What a node waiting for its peers says, if any is `still` to answer.
fn waiting_message(found: &str, still: &[String]) -> Option<String> {
    if still.is_empty() {
        return None;
    }
    Some(format!(
        "{found}, and it takes no new statement until each peer it follows has said what it holds \
         of this log; still to answer: {}. Retry in a moment; if a peer stays down, its \
         operator can bring it back, or this node's operator can stop following it",
        still.join(", ")
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
        // Nothing it can prove; but a copy of a log of this name under
        // another key is what a node that lost its key and started afresh
        // sees, and its operator should hear of it.
        tracing::warn!(peer = %url, origin = %shared.config.origin,
            "the peer holds a checkpoint of a log of this node's name that does not verify under \
             this node's key; if this node once kept a log under another key, stop it and \
             restore its node.key from a backup (README: \"Backing up and restoring a node\")");
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
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;

    /// Peers as a test sets them: origin → (followed, answered).
    #[derive(Default)]
    struct TestPeers(Mutex<BTreeMap<String, (bool, Arc<AtomicBool>)>>);

    impl TestPeers {
        fn with(origins: &[&str]) -> TestPeers {
            let peers = TestPeers::default();
            for o in origins {
                peers.follow(o);
            }
            peers
        }

        fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (bool, Arc<AtomicBool>)>> {
            self.0.lock().expect("not poisoned")
        }

        /// Follows `origin` (again, keeping whether it answered).
        fn follow(&self, origin: &str) {
            self.map()
                .entry(origin.to_owned())
                .or_insert_with(|| (true, Arc::default()))
                .0 = true;
        }

        /// Stops following `origin` (removed, or quarantined).
        fn unfollow(&self, origin: &str) {
            if let Some(p) = self.map().get_mut(origin) {
                p.0 = false;
            }
        }

        fn flag(&self, origin: &str) -> Arc<AtomicBool> {
            Arc::clone(&self.map()[origin].1)
        }
    }

    impl Peers for TestPeers {
        fn still_to_answer(&self) -> Vec<String> {
            self.map()
                .iter()
                .filter(|(_, (followed, answered))| *followed && !answered.load(Ordering::Acquire))
                .map(|(o, _)| o.clone())
                .collect()
        }
    }

    fn message(c: &OwnLogCheck, peers: &TestPeers) -> Option<String> {
        c.refusal(peers).map(|e| e.body().message.clone())
    }

    fn waiting(c: &OwnLogCheck, peers: &TestPeers) -> Option<String> {
        match c.holding(peers)? {
            Held::Waiting(w) => Some(w),
            Held::Refused(_) => None,
        }
    }

    #[test]
    fn statements_wait_for_every_peer_and_a_refusal_outlives_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = OwnLogCheck::open(dir.path()).expect("opens");
        let peers = TestPeers::with(&["a.example", "b.example"]);
        // Without a wait begun, no peer is waited for.
        assert_eq!(message(&c, &peers), None);
        c.begin("this node found a thing at start".to_owned())
            .expect("kept");
        let held = message(&c, &peers).expect("held");
        assert!(
            held.starts_with("this node found a thing at start, and it takes no new")
                && held.contains("still to answer: a.example, b.example"),
            "{held}"
        );
        assert_eq!(waiting(&c, &peers), Some(held));
        assert!(c.holds_back(&peers));
        c.answered(&peers.flag("a.example"), Seen::Prefix, &peers);
        let held = message(&c, &peers).expect("held");
        assert!(held.contains("still to answer: b.example."), "{held}");
        c.answered(&peers.flag("b.example"), Seen::Nothing, &peers);
        assert_eq!(message(&c, &peers), None);
        assert!(!c.holds_back(&peers));
        assert_eq!(c.refused(), None);
        assert_eq!(c.unchecked(), None, "every peer answered: the wait is over");

        let b = peers.flag("b.example");
        c.answered(&b, Seen::Ahead("the peer holds more".into()), &peers);
        assert_eq!(c.refused().as_deref(), Some("the peer holds more"));
        assert!(message(&c, &peers)
            .expect("refused")
            .ends_with("the peer holds more"));
        assert_eq!(
            c.holding(&peers),
            Some(Held::Refused("the peer holds more".into())),
            "refused, not waiting"
        );
        // A second reason does not replace the first.
        let a = peers.flag("a.example");
        c.answered(&a, Seen::Ahead("another".into()), &peers);
        assert_eq!(c.refused().as_deref(), Some("the peer holds more"));
        // Opened again on the same directory, it still refuses.
        let again = OwnLogCheck::open(dir.path()).expect("opens");
        assert_eq!(again.refused().as_deref(), Some("the peer holds more"));
        assert!(again.holds_back(&TestPeers::default()));
    }

    #[test]
    fn a_wait_outlives_a_restart_until_a_peer_has_answered_or_statements_were_taken() {
        let dir = tempfile::tempdir().expect("tempdir");
        let found = || "this node found its key alone".to_owned();
        let none = TestPeers::default();
        // Begun with no peer to ask (as by `node init`): nothing is held
        // now, but the wait is kept for the next start.
        let c = OwnLogCheck::open(dir.path()).expect("opens");
        assert!(c.begin(found()).expect("kept"));
        assert_eq!(c.holding(&none), None);
        let c = OwnLogCheck::open(dir.path()).expect("opens");
        assert_eq!(c.unchecked(), Some(found()));
        // Begun again, it keeps what the first start found.
        assert!(!c.begin("something else".to_owned()).expect("kept"));
        assert_eq!(c.unchecked(), Some(found()));
        // A peer waited for and then no longer followed answered nothing.
        let peers = TestPeers::with(&["a.example"]);
        assert!(c.holds_back(&peers));
        peers.unfollow("a.example");
        c.peers_changed(&peers);
        assert_eq!(c.holding(&peers), None);
        let c = OwnLogCheck::open(dir.path()).expect("opens");
        assert_eq!(c.unchecked(), Some(found()));
        // Once a peer has answered and none is left to, the wait is over.
        let peers = TestPeers::with(&["a.example", "b.example"]);
        c.answered(&peers.flag("a.example"), Seen::Nothing, &peers);
        assert!(waiting(&c, &peers).is_some_and(|w| w.starts_with("this node found its key alone")));
        c.took_statements(&peers);
        assert_eq!(c.unchecked(), Some(found()), "none could be taken yet");
        peers.unfollow("b.example");
        c.peers_changed(&peers);
        assert_eq!(c.holding(&peers), None);
        assert_eq!(c.unchecked(), None);
        assert_eq!(
            OwnLogCheck::open(dir.path()).expect("opens").unchecked(),
            None
        );
        // A node with no peer to ask that takes statements ends its wait:
        // it protects nothing any more.
        let c = OwnLogCheck::open(dir.path()).expect("opens");
        assert!(c.begin(found()).expect("kept"));
        c.took_statements(&none);
        assert_eq!(
            OwnLogCheck::open(dir.path()).expect("opens").unchecked(),
            None
        );
    }

    #[test]
    fn a_peer_followed_again_during_the_wait_is_waited_for_unless_it_answered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = OwnLogCheck::open(dir.path()).expect("opens");
        let peers = TestPeers::with(&["a.example", "b.example", "c.example"]);
        c.begin("restored".to_owned()).expect("kept");
        // a answers; c is quarantined before it does, while b still waits.
        c.answered(&peers.flag("a.example"), Seen::Prefix, &peers);
        peers.unfollow("c.example");
        c.peers_changed(&peers);
        assert!(waiting(&c, &peers).is_some_and(|w| w.contains("still to answer: b.example.")));
        // Forgiven, c is waited for again; a, quarantined and forgiven
        // after its answer, is not asked again.
        peers.follow("c.example");
        peers.unfollow("a.example");
        c.peers_changed(&peers);
        peers.follow("a.example");
        assert!(waiting(&c, &peers)
            .is_some_and(|w| w.contains("still to answer: b.example, c.example.")));
        c.answered(&peers.flag("b.example"), Seen::Nothing, &peers);
        assert!(c.holds_back(&peers));
        c.answered(&peers.flag("c.example"), Seen::Nothing, &peers);
        assert_eq!(c.holding(&peers), None);
        assert_eq!(c.unchecked(), None);
    }
}
