//! What `log verify`, `log proof` and `show` must not believe: a node that
//! lies in its answers (a [`Liar`] in front of a real node, signing with
//! the node's own key) and data directories altered behind a stopped
//! node's back. Each case is a fault (exit status 4) or a refusal, never OK.

use std::path::Path;
use std::process::Output;

use ed25519_dalek::SigningKey;
use kaitiaki_protocol::merkle::{leaf_hash, root_from_inclusion, MemoryTree};
use kaitiaki_protocol::note::{KeyName, NoteSigner};
use kaitiaki_protocol::statement::KeyAnnounce;
use kaitiaki_protocol::{Body, Hash, Leaf, Timestamp};
use serde_json::{json, Value};

use kaitiaki_cli::home::Home;
use kaitiaki_cli::trust::{Known, TrustStore};
use kaitiaki_node::storage::segment::encode_record;

use crate::liar::{self, bytes, raw_page, sign_checkpoint, Liar};
use crate::story::flip;
use crate::support::{copy_dir, dsse, get_json, post, sign, Cli, NodeProc};
use crate::verify_federation::{args, mirrors, peer_keys, seed};

/// A statement no other test uses: person `n` announcing a name.
fn announcement(n: u8) -> kaitiaki_protocol::Envelope {
    let key = SigningKey::from_bytes(&[n; 32]);
    let body = Body::KeyAnnounce(KeyAnnounce {
        display_name: format!("Person {n}"),
        affiliation: "A test of the audit".into(),
    });
    sign(&key, body)
}

/// A node over `data` holding `n` announcements, each sequenced on its own.
fn small_log(data: &Path, n: u8) -> (NodeProc, String) {
    let node = NodeProc::start(data);
    for i in 0..n {
        let (status, answer) = post(
            &format!("{}/v1/statements", node.url),
            dsse(&announcement(i + 1)),
        );
        assert!(status == 200 || status == 201, "{status}: {answer}");
    }
    let origin = get_json(&format!("{}/v1/checkpoint", node.url)).unwrap()["origin"]
        .as_str()
        .unwrap()
        .to_owned();
    (node, origin)
}

/// The JSON summary of a failed audit, which must exit with the fault status.
fn faulted(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(4),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON summary")
}

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    Timestamp::from_unix_millis(ms as i64).unwrap()
}

#[test]
fn a_log_key_for_another_log_is_the_users_mistake_not_a_fault() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let (node, origin) = small_log(&data, 1);
    let cli = Cli::new(dir.path(), &node.url);
    let other = NoteSigner::from_seed(KeyName::new("another.example").unwrap(), &[9; 32])
        .verifier()
        .to_string();
    let url_audit = cli.run(&[
        "--log-key",
        &other,
        "log",
        "verify",
        "--no-remember",
        &node.url,
    ]);
    node.stop();
    let dir_audit = cli.run(&[
        "--log-key",
        &other,
        "log",
        "verify",
        "--no-remember",
        data.to_str().unwrap(),
    ]);
    for out in [url_audit, dir_audit] {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "a usage error, not a fault: {err}"
        );
        assert!(
            err.contains("is the key of the log \"another.example\"")
                && err.contains(&format!("holds the log \"{origin}\"")),
            "{err}"
        );
    }
}

#[test]
fn a_mirror_of_the_audited_log_itself_is_a_fault() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let (node, origin) = small_log(&data, 3);
    let cli = Cli::new(dir.path(), &node.url);
    // An honest audit first: this computer now knows the log's key.
    cli.json(&["log", "verify", &node.url]);

    // A second history of the log, listed as a mirror of itself: one other
    // statement, signed with the log's own key as its tree of size 1.
    let other = Leaf::new(now(), announcement(9)).to_bytes();
    let note = sign_checkpoint(&data, &origin, 1, leaf_hash(&other));
    let mirrors = json!({"mirrors": [
        {"origin": origin, "size": 1, "checkpoint": note, "complete": note}
    ]});
    let leaves_path = format!("/v1/mirrors/{origin}/leaves/raw");
    let leaves = vec![other];
    let liar = Liar::start(&node.url, move |path, query| match path {
        "/v1/mirrors" => Some(liar::json(&mirrors)),
        p if p == leaves_path => Some(bytes(raw_page(&leaves, query))),
        _ => None,
    });
    let summary = faulted(&cli.run(&["--json", "log", "verify", &liar.url]));
    assert_eq!(
        summary["fault"]["place"],
        format!("mirror of {origin}"),
        "{summary}"
    );
    let why = summary["fault"]["why"].as_str().unwrap();
    assert!(why.contains("the audited log itself"), "{why}");
}

#[test]
fn a_mirror_must_extend_the_checkpoint_remembered_for_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    seed(&data);
    let agency = data.join("agency");
    let target = agency.to_str().unwrap();
    let cli = Cli::new(dir.path(), "http://127.0.0.1:9");
    let keys = peer_keys(&data, &agency);
    let origin = "iwi.demo.kaitiaki.localhost";
    let mirror_of = |audit: &Value| {
        mirrors(audit)
            .iter()
            .find(|m| m["origin"] == origin)
            .cloned()
            .unwrap()
    };

    // An honest audit remembers each mirror's checkpoint with the own log's.
    let audit = cli.json(&args(&["log", "verify"], &keys, target));
    assert_eq!(mirror_of(&audit)["history"]["status"], "first_seen");
    let store = TrustStore::new(&Home::at(&cli.home));
    let known = store
        .load(origin)
        .unwrap()
        .expect("the mirror's checkpoint");
    assert_eq!(known.size, mirror_of(&audit)["checkpoint_size"]);
    let audit = cli.json(&args(&["log", "verify", "--no-remember"], &keys, target));
    assert_eq!(mirror_of(&audit)["history"]["status"], "unchanged");

    // What this computer saw of the log before, and the node's copy of it,
    // cannot both be true.
    let other = leaf_hash(b"another history");
    let cases = [
        (known.size, other, format!("log {origin}"), "forked"),
        (
            known.size - 1,
            other,
            format!("mirror of {origin}, "),
            "differ from those this computer verified before",
        ),
    ];
    for (size, root, place, told) in cases {
        store
            .save(&Known {
                size,
                root,
                ..known.clone()
            })
            .unwrap();
        let out = cli.run(&args(
            &["--json", "log", "verify", "--no-remember"],
            &keys,
            target,
        ));
        let summary = faulted(&out);
        let fault = &summary["fault"];
        assert!(
            fault["place"].as_str().unwrap().starts_with(&place),
            "{summary}"
        );
        assert!(fault["why"].as_str().unwrap().contains(told), "{summary}");
    }

    // A copy shorter than what this computer saw before only lags behind:
    // the audit passes with a note, and keeps remembering the larger one.
    let ahead = Known {
        size: known.size + 5,
        ..known.clone()
    };
    store.save(&ahead).unwrap();
    let audit = cli.json(&args(&["log", "verify"], &keys, target));
    assert_eq!(audit["result"], "ok", "{audit}");
    let notes = audit["notes"].to_string();
    assert!(
        notes.contains("could not be tied to the one remembered"),
        "{notes}"
    );
    // And the summary says so: behind what was seen, not seen for the first time.
    let mirror = audit["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["origin"] == origin)
        .unwrap_or_else(|| panic!("no summary of the mirror of {origin}: {audit}"));
    assert_eq!(mirror["history"]["status"], "behind", "{mirror}");
    assert_eq!(mirror["history"]["seen"], ahead.size, "{mirror}");
    assert_eq!(
        store.load(origin).unwrap().map(|k| k.size),
        Some(ahead.size)
    );
}

#[test]
fn a_proof_into_another_signed_tree_of_the_same_size_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let (node, origin) = small_log(&data, 4);
    let cli = Cli::new(dir.path(), &node.url);
    let leaf = &get_json(&format!("{}/v1/leaves?start=1&limit=1", node.url)).unwrap()["leaves"][0];
    let id = leaf["id"].as_str().unwrap().to_owned();
    cli.ok(&["log", "proof", "inclusion", &id]);
    cli.ok(&["show", &id]);

    // The same statement, proved into another tree of the log's size: one
    // sibling hash changed, and the root it then leads to signed with the
    // log's key.
    let mut view = get_json(&format!("{}/v1/statements/{id}", node.url)).unwrap();
    let mut hashes: Vec<Hash> = serde_json::from_value(view["proof"]["hashes"].clone()).unwrap();
    hashes[0] = leaf_hash(b"another leaf");
    let leaf_hash: Hash = serde_json::from_value(view["leaf_hash"].clone()).unwrap();
    let size = view["proof"]["size"].as_u64().unwrap();
    let index = view["index"].as_u64().unwrap();
    let root = root_from_inclusion(&leaf_hash, index, size, &hashes).unwrap();
    view["proof"]["hashes"] = serde_json::to_value(&hashes).unwrap();
    view["proof"]["root"] = serde_json::to_value(root).unwrap();
    view["checkpoint"] = sign_checkpoint(&data, &origin, size, root).into();
    let path = format!("/v1/statements/{id}");
    let liar = Liar::start(&node.url, move |p, _| {
        (p == path).then(|| liar::json(&view))
    });
    let lied_to = Cli {
        home: cli.home.clone(),
        node: liar.url.clone(),
    };
    for command in [&["log", "proof", "inclusion", &id][..], &["show", &id][..]] {
        let out = lied_to.run(command);
        let err = String::from_utf8_lossy(&out.stderr);
        // A refused proof is an error of the command (status 1), not an
        // audit's fault (status 4): nothing was audited.
        assert_eq!(out.status.code(), Some(1), "{command:?}: {err}");
        assert!(err.contains("forked"), "{command:?}: {err}");
    }
}

/// A node killed just after it acknowledged writes has them synced in its
/// segments and signed, though its database may not have written the
/// checkpoint yet: an audit of its directory finds them covered, and the
/// log whole, not records beyond the last checkpoint.
#[test]
fn a_directory_audited_after_a_crash_covers_every_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let (node, _) = small_log(&data, 3);
    node.kill();
    let cli = Cli::new(dir.path(), "http://127.0.0.1:9");
    let audit = cli.json(&["log", "verify", "--no-remember", data.to_str().unwrap()]);
    assert_eq!(
        (&audit["result"], &audit["size"], &audit["leaves_checked"]),
        (&Value::from("ok"), &Value::from(3), &Value::from(3)),
        "{audit}"
    );
}

/// The same, made certain: a directory whose database lags the segments
/// and tree files by a batch, as a crash before sled wrote its files
/// leaves it. The checkpoint kept in tree/ covers the batch; the audit
/// checks it against that, and says the stored state was not compared.
#[test]
fn a_database_a_batch_behind_its_segments_is_audited_against_the_kept_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let (node, _) = small_log(&data, 2);
    node.stop();
    let before = dir.path().join("before");
    copy_dir(&data, &before);
    let node = NodeProc::start(&data);
    let (status, answer) = post(
        &format!("{}/v1/statements", node.url),
        dsse(&announcement(7)),
    );
    assert!(status == 200 || status == 201, "{status}: {answer}");
    node.stop();
    // The database as it was before the last batch; everything else after.
    let lagging = dir.path().join("lagging");
    copy_dir(&before, &lagging);
    for part in ["log", "tree"] {
        std::fs::remove_dir_all(lagging.join(part)).unwrap();
        copy_dir(&data.join(part), &lagging.join(part));
    }
    let cli = Cli::new(dir.path(), "http://127.0.0.1:9");
    let audit = cli.json(&["log", "verify", "--no-remember", lagging.to_str().unwrap()]);
    assert_eq!(
        (&audit["result"], &audit["size"]),
        (&Value::from("ok"), &Value::from(3)),
        "{audit}"
    );
    assert!(
        audit["notes"]
            .to_string()
            .contains("the database indexes 2 leaves of the log, not the 3"),
        "{audit}"
    );
}

#[test]
fn records_beyond_the_checkpoint_in_a_data_directory_are_a_fault() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let (node, _) = small_log(&data, 3);
    node.stop();
    let cli = Cli::new(dir.path(), "http://127.0.0.1:9");
    // One more well-formed record, as the node writes them, that no
    // checkpoint covers: the node would index and sign it at its next start.
    let leaf = Leaf::new(now(), announcement(9)).to_bytes();
    let mut record = Vec::new();
    encode_record(&leaf, &mut record);
    let appended = |name: &str, bytes: &[u8]| {
        let copy = dir.path().join(name);
        copy_dir(&data, &copy);
        let segment = copy.join("log").join("00000000000000000000.seg");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(segment)
            .unwrap();
        std::io::Write::write_all(&mut file, bytes).unwrap();
        copy
    };

    // Half of it, as a node that stopped while writing leaves it: a note.
    let torn = appended("torn", &record[..record.len() / 2]);
    let audit = cli.json(&["log", "verify", "--no-remember", torn.to_str().unwrap()]);
    assert_eq!(audit["result"], "ok", "{audit}");
    let notes = audit["notes"].to_string();
    assert!(notes.contains("ends in a torn record"), "{audit}");

    // All of it: a fault, at the leaf it would be.
    let whole = appended("whole", &record);
    let summary = faulted(&cli.run(&[
        "--json",
        "log",
        "verify",
        "--no-remember",
        whole.to_str().unwrap(),
    ]));
    assert_eq!(summary["fault"]["leaf"], 3, "{summary}");
    let place = summary["fault"]["place"].as_str().unwrap();
    assert!(
        place.starts_with("00000000000000000000.seg, byte "),
        "{place}"
    );
    let why = summary["fault"]["why"].as_str().unwrap();
    assert!(
        why.contains("beyond the latest signed checkpoint (size 3)"),
        "{why}"
    );
}

#[test]
fn a_leaf_sequenced_before_the_one_before_it_is_a_fault() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let (node, origin) = small_log(&data, 4);
    let real = get_json(&format!("{}/v1/checkpoint", node.url)).unwrap();
    let size = real["size"].as_u64().unwrap();

    // The log as the node could have written it: leaf 2 an hour before
    // leaf 1, every signature still good, the tree signed with its key.
    let mut leaves = liar::fetch_leaves(&node.url, size);
    let time = |leaf: &[u8]| u64::from_be_bytes(leaf[1..9].try_into().unwrap());
    let earlier = time(&leaves[1]) - 3_600_000;
    leaves[2][1..9].copy_from_slice(&earlier.to_be_bytes());
    let tree = MemoryTree::from_leaf_hashes(leaves.iter().map(|l| leaf_hash(l)));
    let mut checkpoint = real.clone();
    checkpoint["root"] = serde_json::to_value(tree.root()).unwrap();
    checkpoint["note"] = sign_checkpoint(&data, &origin, size, tree.root()).into();
    let liar = Liar::start(&node.url, move |path, query| match path {
        "/v1/checkpoint" => Some(liar::json(&checkpoint)),
        "/v1/leaves/raw" => Some(bytes(raw_page(&leaves, query))),
        // Governance reads the times; without the node's state hash to
        // compare with, only the order of the times tells.
        "/v1/state/hash" => Some(liar::status(404)),
        _ => None,
    });
    let cli = Cli::new(dir.path(), &liar.url);
    let summary = faulted(&cli.run(&["--json", "log", "verify", "--no-remember", &liar.url]));
    assert_eq!(summary["fault"]["leaf"], 2, "{summary}");
    let why = summary["fault"]["why"].as_str().unwrap();
    assert!(why.contains("earlier than the leaf before it"), "{why}");
}

#[test]
fn an_answer_longer_than_any_honest_one_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let (node, _) = small_log(&data, 3);
    let checkpoint =
        serde_json::to_vec(&get_json(&format!("{}/v1/checkpoint", node.url)).unwrap()).unwrap();
    let leaves = liar::fetch_leaves(&node.url, 3);
    let cli = Cli::new(dir.path(), &node.url);
    let lying = |what: &'static str| {
        let (checkpoint, leaves) = (checkpoint.clone(), leaves.clone());
        // Valid answers, then white space the CLI would have to keep
        // reading: JSON allows it, and bytes after the leaves asked for
        // were ignored.
        Liar::start(&node.url, move |path, query| match (what, path) {
            ("checkpoint", "/v1/checkpoint") => Some(liar::streamed(checkpoint.clone(), 10 << 20)),
            ("leaves", "/v1/leaves/raw") => Some(liar::streamed(raw_page(&leaves, query), 1 << 20)),
            _ => None,
        })
    };

    let liar = lying("checkpoint");
    let out = cli.run(&["log", "verify", "--no-remember", &liar.url]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("is too long"), "{err}");

    let liar = lying("leaves");
    let summary = faulted(&cli.run(&["--json", "log", "verify", "--no-remember", &liar.url]));
    assert_eq!(summary["fault"]["leaf"], 0, "{summary}");
    let why = summary["fault"]["why"].as_str().unwrap();
    assert!(why.contains("is too long"), "{why}");
}

#[test]
fn a_bad_signature_a_changed_key_or_a_malformed_checkpoint_is_a_fault() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let (node, _) = small_log(&data, 2);
    node.stop();
    let cli = Cli::new(dir.path(), "http://127.0.0.1:9");
    let altered = |name: &str, alter: &dyn Fn(&Path)| {
        let copy = dir.path().join(name);
        copy_dir(&data, &copy);
        alter(&copy);
        copy.to_str().unwrap().to_owned()
    };
    let audit = |target: &str| {
        let summary = faulted(&cli.run(&["--json", "log", "verify", "--no-remember", target]));
        let fault = summary["fault"].clone();
        (
            fault["place"].as_str().unwrap_or_default().to_owned(),
            fault["why"].as_str().unwrap_or_default().to_owned(),
        )
    };

    // Another key in the node's key file: its checkpoints do not verify.
    let rekeyed = altered("rekeyed", &|copy| {
        use std::os::unix::fs::PermissionsExt as _;
        let file = copy.join(kaitiaki_node::identity::KEY_FILE);
        std::fs::write(&file, format!("{}\n", "42".repeat(32))).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    });
    let (place, why) = audit(&rekeyed);
    assert_eq!(place, "the stored latest checkpoint", "{why}");
    assert!(why.contains("does not verify"), "{why}");

    // Once this computer knows the log's key, the other one is a change of key.
    cli.json(&["log", "verify", data.to_str().unwrap()]);
    let (place, why) = audit(&rekeyed);
    assert_eq!(place, "the log's key", "{why}");
    assert!(why.contains("must not change"), "{why}");

    // A latest checkpoint that is not a checkpoint at all.
    let garbled = altered("garbled", &|copy| {
        let storage = kaitiaki_node::storage::Storage::open(copy, 1 << 20).unwrap();
        storage
            .put_in(
                kaitiaki_node::storage::space::META,
                b"checkpoint",
                Some(b"not a checkpoint"),
            )
            .unwrap();
    });
    let (place, why) = audit(&garbled);
    assert_eq!(place, "the stored latest checkpoint", "{why}");
    assert!(why.contains("malformed"), "{why}");
}

#[test]
fn a_latest_checkpoint_swapped_for_an_older_one_is_a_fault() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let (node, _) = small_log(&data, 3);
    node.stop();
    let copy = dir.path().join("older");
    copy_dir(&data, &copy);
    {
        let storage = kaitiaki_node::storage::Storage::open(&copy, 1 << 20).unwrap();
        let older = storage
            .checkpoint_at(1)
            .unwrap()
            .expect("a checkpoint at size 1");
        storage
            .put_in(
                kaitiaki_node::storage::space::META,
                b"checkpoint",
                Some(&older),
            )
            .unwrap();
    }
    let cli = Cli::new(dir.path(), "http://127.0.0.1:9");
    let summary = faulted(&cli.run(&[
        "--json",
        "log",
        "verify",
        "--no-remember",
        copy.to_str().unwrap(),
    ]));
    assert_eq!(
        summary["fault"]["place"], "the stored latest checkpoint",
        "{summary}"
    );
    let why = summary["fault"]["why"].as_str().unwrap();
    assert!(why.contains("replaced by an older one"), "{why}");
}

#[test]
fn a_state_hash_not_compared_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let (node, _) = small_log(&data, 2);
    let cli = Cli::new(dir.path(), &node.url);
    let mut other_size = get_json(&format!("{}/v1/state/hash", node.url)).unwrap();
    other_size["size"] = json!(1);
    for (answer, told) in [
        (liar::status(404), "does not serve its state hash"),
        (
            liar::json(&other_size),
            "covers 1 leaves of its log, not the 2",
        ),
    ] {
        let answer = std::sync::Mutex::new(Some(answer));
        let liar = Liar::start(&node.url, move |path, _| {
            (path == "/v1/state/hash")
                .then(|| answer.lock().unwrap().take())
                .flatten()
        });
        let audit = cli.json(&["log", "verify", "--no-remember", &liar.url]);
        assert_eq!(audit["result"], "ok", "{audit}");
        assert!(audit["notes"].to_string().contains(told), "{audit}");
    }
}

#[test]
fn an_altered_tree_hash_of_a_mirror_is_a_fault() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    seed(&data);
    let agency = data.join("agency");
    let keys = peer_keys(&data, &agency);
    let cli = Cli::new(dir.path(), "http://127.0.0.1:9");
    let copy = dir.path().join("mirror-tree-tampered");
    copy_dir(&agency, &copy);
    // The stored hash of the mirror's first two leaves, (level 1, index 0).
    let origin = "iwi.demo.kaitiaki.localhost";
    let level = kaitiaki_node::storage::files::level_file_name(1);
    flip(
        &copy.join("mirrors").join(origin).join("tree").join(level),
        0,
    );
    let summary = faulted(&cli.run(&args(
        &["--json", "log", "verify", "--no-remember"],
        &keys,
        copy.to_str().unwrap(),
    )));
    let place = summary["fault"]["place"].as_str().unwrap();
    assert_eq!(
        place,
        format!("mirror of {origin}, stored tree hash (level 1, index 0), covering leaves 0..1"),
        "{summary}"
    );
}

/// A backup copy of a stopped node's data directory is behind the log this
/// computer audited since: with `--backup` it is audited whole, and said to
/// be behind; without (even with `--no-remember`), the shorter log is a
/// fault that says how to audit a copy.
#[test]
fn a_backup_behind_the_log_is_audited_whole_as_a_copy() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let (node, _) = small_log(&data, 2);
    node.stop();
    let backup = dir.path().join("backup");
    copy_dir(&data, &backup);
    let node = NodeProc::start(&data);
    let (status, answer) = post(
        &format!("{}/v1/statements", node.url),
        dsse(&announcement(7)),
    );
    assert!(status == 201, "{status}: {answer}");
    node.stop();
    let cli = Cli::new(dir.path(), "http://127.0.0.1:9");
    let audit = cli.json(&["log", "verify", data.to_str().unwrap()]);
    assert_eq!(
        (audit["result"].as_str(), audit["size"].as_u64()),
        (Some("ok"), Some(3))
    );

    let audit = cli.json(&["log", "verify", "--backup", backup.to_str().unwrap()]);
    assert_eq!(audit["result"], "ok", "{audit}");
    assert_eq!(audit["leaves_checked"], 2, "{audit}");
    assert_eq!(
        audit["history"],
        json!({ "status": "behind", "seen": 3 }),
        "{audit}"
    );
    assert!(
        audit["notes"]
            .to_string()
            .contains("this copy holds 2 leaves, fewer than the 3 this computer audited before"),
        "{audit}"
    );

    assert_eq!(audit["remembered"], false, "{audit}");
    for flags in [&[][..], &["--no-remember"][..]] {
        let mut args = vec!["--json", "log", "verify"];
        args.extend_from_slice(flags);
        args.push(backup.to_str().unwrap());
        let summary = faulted(&cli.run(&args));
        let why = summary["fault"]["why"].as_str().unwrap();
        assert!(
            why.contains(
                "a log may only grow; if this directory is a copy (a backup), audit it with --backup"
            ),
            "{flags:?}: {why}"
        );
    }
    // What this computer remembers is the log's, not the copy's.
    let audit = cli.json(&["log", "verify", data.to_str().unwrap()]);
    assert_eq!(audit["history"]["status"], "unchanged", "{audit}");
}

/// A log key learned from the node itself (trusted on first use) is said
/// to be so, at the first audit and at every later one until someone gives
/// it with `--log-key`: a node showing a forged log from the start would
/// offer the forger's key, and "remembered" alone would hide that.
#[test]
fn a_key_trusted_on_first_use_is_said_to_be_so_until_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let (node, _) = small_log(&data, 1);
    let cli = Cli::new(dir.path(), &node.url);
    let key = get_json(&format!("{}/v1/checkpoint", node.url)).unwrap()["verifier_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let said = cli.ok(&["log", "verify", &node.url]);
    assert!(
        said.contains("log key      offered by the node audited and trusted on first use"),
        "{said}"
    );
    let said = cli.ok(&["log", "verify", &node.url]);
    assert!(
        said.contains("first learned from the node audited; never confirmed with --log-key"),
        "{said}"
    );
    assert_eq!(
        cli.json(&["log", "verify", &node.url])["key_from"],
        "offered"
    );
    let said = cli.ok(&["--log-key", &key, "log", "verify", &node.url]);
    assert!(said.contains("log key      given with --log-key"), "{said}");
    let said = cli.ok(&["log", "verify", &node.url]);
    assert!(
        said.contains("remembered by this computer, as given with --log-key before"),
        "{said}"
    );
    assert_eq!(cli.json(&["log", "verify", &node.url])["key_from"], "given");
    node.stop();
}
