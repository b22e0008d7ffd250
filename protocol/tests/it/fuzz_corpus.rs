//! Replays the `cargo fuzz` corpus through the same entry points the fuzzer
//! uses, so every input kept there is a regression test on stable Rust.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("readable corpus").path();
        let data = std::fs::read(&path).expect("readable input");
        run(&data);
        count += 1;
    }
    count
}

#[test]
fn envelope_corpus_replays_without_panic() {
    assert!(replay("envelope", kaitiaki_protocol::fuzzing::envelope) >= 10);
}

#[test]
fn note_corpus_replays_without_panic() {
    assert!(replay("note", kaitiaki_protocol::fuzzing::note) >= 5);
}
