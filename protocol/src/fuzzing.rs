//! Entry points shared by the `cargo fuzz` targets and the corpus replay test.
//!
//! Each function feeds arbitrary bytes to every decoder of one family and
//! asserts what must hold for anything that decodes: it re-encodes to the
//! same bytes. A panic here is a bug, found either by the fuzzer or by the
//! replay of its corpus in the ordinary tests.

use crate::checkpoint::Checkpoint;
use crate::envelope::Envelope;
use crate::leaf::Leaf;
use crate::note::Note;
use crate::statement::Statement;

/// Binary envelopes, leaves, DSSE JSON and statement payloads.
pub fn envelope(data: &[u8]) {
    if let Ok(env) = Envelope::from_bytes(data) {
        assert_eq!(env.to_bytes(), data, "binary envelope must round-trip");
        let _ = env.open();
    }
    if let Ok(leaf) = Leaf::from_bytes(data) {
        assert_eq!(leaf.to_bytes(), data, "leaf must round-trip");
    }
    if let Ok(env) = Envelope::from_dsse_json(data) {
        assert_eq!(Envelope::from_dsse(&env.to_dsse()).ok(), Some(env.clone()));
        let _ = env.open();
    }
    if let Ok(statement) = Statement::decode(data) {
        if let Ok(bytes) = statement.encode() {
            assert_eq!(Statement::decode(&bytes).ok(), Some(statement));
        }
    }
}

/// C2SP signed notes and checkpoints.
pub fn note(data: &[u8]) {
    if let Ok(note) = Note::parse(data) {
        assert_eq!(note.to_bytes(), data, "a note must round-trip");
        let _ = Checkpoint::from_note(&note);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(cp) = Checkpoint::parse(text) {
            assert_eq!(cp.to_text(), text, "a checkpoint body must round-trip");
        }
    }
}
