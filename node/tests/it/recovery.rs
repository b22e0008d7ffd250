//! Start-up reconciliation: a torn tail is cut off, a tail sled lost is
//! re-indexed, and a node killed mid-load loses no acknowledged write.

use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kaitiaki_node::Node;

use crate::support::{announce, config, segments, tempdir, TestNode};

async fn fill(node: &TestNode, from: u64, n: u64) -> Vec<String> {
    let mut ids = Vec::new();
    for i in from..from + n {
        let env = announce(i, "fill");
        let (status, body) = node.post(&env).await;
        assert_eq!(status, 201, "{body}");
        ids.push(env.id().to_hex());
    }
    ids
}

fn append_to_last_segment(dir: &Path, bytes: &[u8]) {
    let last = segments(dir).pop().unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(last).unwrap();
    f.write_all(bytes).unwrap();
}

#[tokio::test]
async fn a_torn_final_record_is_cut_off() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    fill(&node, 0, 10).await;
    let head = node.head().await;
    node.stop().await;

    // Garbage after the last record, as if a write was torn mid-header.
    append_to_last_segment(dir.path(), b"\x00\x00\x01");
    let node = TestNode::start(dir.path()).await;
    assert_eq!(node.recovery.truncated_bytes, 3);
    assert_eq!(node.head().await, head);
    fill(&node, 10, 1).await;
    node.stop().await;

    // A header that promises more bytes than follow, as if torn mid-body.
    let mut torn = 500u32.to_be_bytes().to_vec();
    torn.extend_from_slice(&[0xAB; 4 + 100]);
    append_to_last_segment(dir.path(), &torn);
    let node = TestNode::start(dir.path()).await;
    assert_eq!(node.recovery.truncated_bytes, torn.len() as u64);
    assert_eq!(node.head().await.0, 11);
    node.stop().await;

    let node = TestNode::start(dir.path()).await;
    assert_eq!(node.recovery.truncated_bytes, 0);
    node.stop().await;
}

#[tokio::test]
async fn losing_an_acknowledged_record_is_refused_not_papered_over() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    fill(&node, 0, 3).await;
    node.stop().await;

    // Cut into the last record, which sled knows was acknowledged.
    let last = segments(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&last).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&last)
        .unwrap()
        .set_len(len - 5)
        .unwrap();
    let err = Node::open(config(dir.path())).unwrap_err();
    assert!(err.to_string().contains("corrupt"), "{err}");

    // Still refused when the governance state is to be folded again (a
    // state version change forgets sled's count of indexed leaves): the
    // signed checkpoint still says how many were durable.
    state_of_another_version(dir.path(), Some(0));
    let err = Node::open(config(dir.path())).unwrap_err().to_string();
    assert!(
        err.contains("3 leaves were durable") && err.contains("acknowledged leaf 2 is lost"),
        "{err}"
    );
}

/// A record damaged inside the log, with the database moved aside (as the
/// repair of a damaged database says): the checkpoint kept in the tree
/// files still tells how many leaves were acknowledged, so the damage is
/// refused as a lost leaf, not cut off with everything after it as a torn
/// tail.
#[tokio::test]
async fn a_damaged_record_below_the_kept_checkpoint_is_not_cut_off() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    fill(&node, 0, 6).await;
    node.stop().await;
    std::fs::remove_dir_all(dir.path().join("db")).unwrap();
    let first = segments(dir.path()).remove(0);
    let before = std::fs::metadata(&first).unwrap().len();
    // Inside the second record (the first starts after the 8-byte magic).
    let at = std::fs::read(&first).unwrap().len() / 3;
    let mut bytes = std::fs::read(&first).unwrap();
    bytes[at] ^= 0xff;
    std::fs::write(&first, bytes).unwrap();

    let err = open_refused(config(dir.path())).await;
    assert!(
        err.contains("6 leaves were durable") && err.contains("is lost"),
        "{err}"
    );
    assert_eq!(
        std::fs::metadata(&first).unwrap().len(),
        before,
        "nothing was cut off"
    );
}

/// A record damaged inside the log while the database is intact: start-up
/// reads only the tail past what the database indexes, so the damage is
/// first met by a read. That read fails, and from then on `/healthz` says
/// `log_damaged` and what to do, rather than `ok`.
#[tokio::test]
async fn a_damaged_record_met_by_a_read_makes_the_node_unhealthy() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let ids = fill(&node, 0, 6).await;
    node.stop().await;
    let cfg = config(dir.path());
    let at = tokio::task::spawn_blocking(move || {
        let node = Node::open(cfg).unwrap();
        let at = node.storage().location(2).unwrap().unwrap();
        node.close().unwrap();
        at
    })
    .await
    .unwrap();
    let first = segments(dir.path()).remove(0);
    let mut bytes = std::fs::read(&first).unwrap();
    bytes[at.offset as usize + 20] ^= 0xff;
    std::fs::write(&first, bytes).unwrap();

    let node = TestNode::start(dir.path()).await;
    let (status, health) = node.get("/healthz").await;
    assert_eq!((status, &health["status"]), (200, &"ok".into()), "{health}");
    let (status, body) = node.get(&format!("/v1/statements/{}", ids[2])).await;
    assert_eq!(status, 500, "{body}");
    let (status, body) = node.get(&format!("/v1/statements/{}", ids[3])).await;
    assert_eq!(status, 200, "the others are still served: {body}");
    let (status, health) = node.get("/healthz").await;
    assert_eq!(
        (status, health["status"].as_str()),
        (503, Some("log_damaged")),
        "{health}"
    );
    let problem = health["problem"].as_str().unwrap();
    assert!(
        problem.contains(&format!("offset {}", at.offset))
            && problem.contains("kaitiaki log verify"),
        "{problem}"
    );
    node.stop().await;
}

/// A log restored from its segments and key alone, with one record
/// damaged inside it: nothing says how many leaves were acknowledged, but
/// whole records after the damage show it is no torn write at the end of
/// the log, so the start is refused and nothing is cut; a torn tail after
/// the last whole record is still cut off.
#[tokio::test]
async fn a_restored_log_damaged_inside_is_refused_not_cut() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    fill(&node, 0, 8).await;
    node.stop().await;
    let restored = tempdir();
    restore_key_and_log(dir.path(), restored.path());
    let first = segments(restored.path()).remove(0);
    let good = std::fs::read(&first).unwrap();
    let mut bytes = good.clone();
    // Inside a record about a third of the way in.
    let at = bytes.len() / 3;
    bytes[at] ^= 0xff;
    std::fs::write(&first, &bytes).unwrap();

    let err = open_refused(config(restored.path())).await;
    assert!(
        err.contains("whole records follow it") && err.contains("truncate -s"),
        "{err}"
    );
    assert_eq!(std::fs::read(&first).unwrap(), bytes, "nothing was cut");

    // Mended from the backup, with garbage after its last record: that is
    // a torn write, and is cut off.
    let mut torn = good.clone();
    torn.extend_from_slice(&[0xAB; 40]);
    std::fs::write(&first, &torn).unwrap();
    let node = TestNode::start(restored.path()).await;
    assert_eq!(node.recovery.truncated_bytes, 40);
    assert_eq!(node.head().await.0, 8);
    node.stop().await;
}

/// A write that fails (here the next segment cannot be made, as on a
/// full disk) stops writes: the writer is told the node stopped taking
/// them and must be restarted, `/healthz` says `failed` with why and what
/// to do, and after the cause is mended and the node restarted, every
/// acknowledged write is there and writes go on.
#[tokio::test]
async fn a_failed_write_stops_writes_and_says_why_until_a_restart() {
    let dir = tempdir();
    let node = TestNode::start_with(small_segments(dir.path())).await;
    let (status, body) = node.post(&announce(700, "before")).await;
    assert_eq!(status, 201, "{body}");
    // The segment being written stays open; the next one cannot be made.
    let log = dir.path().join("log");
    let aside = dir.path().join("log-aside");
    std::fs::rename(&log, &aside).unwrap();
    std::fs::write(&log, b"not a directory").unwrap();
    let mut acknowledged = vec![body["id"].as_str().unwrap().to_owned()];
    let refused = loop {
        let n = acknowledged.len() as u64;
        assert!(n < 200, "no write failed");
        let (status, body) = node.post(&announce(700 + n, "until the roll")).await;
        match status {
            201 => acknowledged.push(body["id"].as_str().unwrap().to_owned()),
            _ => break (status, body),
        }
    };
    assert_eq!(refused.0, 503, "{}", refused.1);
    let (status, body) = node.post(&announce(999, "after")).await;
    assert_eq!((status, body["code"].as_str()), (503, Some("unavailable")));
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("stopped taking writes") && message.contains("restart the node"),
        "{message}"
    );
    let (status, health) = node.get("/healthz").await;
    assert_eq!((status, health["status"].as_str()), (503, Some("failed")));
    let problem = health["problem"].as_str().unwrap();
    assert!(
        problem.contains("restart the node")
            && problem.contains("every write it acknowledged is kept"),
        "{problem}"
    );
    node.stop().await;

    std::fs::remove_file(&log).unwrap();
    std::fs::rename(&aside, &log).unwrap();
    let node = TestNode::start_with(small_segments(dir.path())).await;
    assert_eq!(node.head().await.0, acknowledged.len() as u64);
    for id in &acknowledged {
        let (status, _) = node.get(&format!("/v1/statements/{id}")).await;
        assert_eq!(status, 200, "{id}");
    }
    let (status, body) = node.post(&announce(999, "after")).await;
    assert_eq!(status, 201, "{body}");
    node.stop().await;
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// What an operator is told to do with a damaged database: delete `db/`.
/// The node rebuilds it from the segments: the same log, the same state.
#[tokio::test]
async fn a_deleted_database_is_rebuilt_from_the_segments() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let ids = fill(&node, 0, 12).await;
    let head = node.head().await;
    let (_, hash) = node.get("/v1/state/hash").await;
    node.stop().await;
    std::fs::remove_dir_all(dir.path().join("db")).unwrap();

    let node = TestNode::start(dir.path()).await;
    assert_eq!(node.recovery.reindexed, 12);
    assert_eq!(node.head().await, head);
    let (_, rebuilt) = node.get("/v1/state/hash").await;
    assert_eq!(rebuilt, hash);
    for (i, id) in ids.iter().enumerate() {
        let (status, s) = node.get(&format!("/v1/statements/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(s["index"].as_u64(), Some(i as u64));
    }
    fill(&node, 12, 1).await;
    node.stop().await;
}

/// The log position sled's newest snapshot of its page table covers.
fn newest_sled_snapshot(dir: &Path) -> Option<u64> {
    std::fs::read_dir(dir.join("db"))
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            u64::from_str_radix(name.strip_prefix("snap.")?, 16).ok()
        })
        .max()
}

#[tokio::test]
async fn a_clean_stop_leaves_sled_a_current_snapshot() {
    // sled 0.34 writes its snapshot only while opening, and a start replays
    // sled's log from the snapshot on. A clean stop opens sled once more,
    // so the next start finds a snapshot that covers this run's writes.
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let at_start = newest_sled_snapshot(dir.path());
    fill(&node, 0, 20).await;
    let head = node.head().await;
    node.stop().await;
    let at_stop = newest_sled_snapshot(dir.path());
    assert!(
        at_stop > at_start,
        "no newer snapshot after a clean stop: {at_start:?} then {at_stop:?}"
    );

    let node = TestNode::start(dir.path()).await;
    assert_eq!(node.recovery.reindexed, 0);
    assert_eq!(node.head().await, head);
    node.stop().await;
}

#[tokio::test]
async fn leaves_sled_lost_are_reindexed_from_the_segments() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let mut ids = fill(&node, 0, 5).await;
    node.stop().await;
    // sled as it was after five leaves: what a crash before sled's next
    // flush would leave behind once five more leaves were durable.
    let saved = tempdir();
    copy_dir(&dir.path().join("db"), saved.path());

    let node = TestNode::start(dir.path()).await;
    ids.extend(fill(&node, 5, 5).await);
    let head = node.head().await;
    let (_, hash) = node.get("/v1/state/hash").await;
    node.stop().await;
    std::fs::remove_dir_all(dir.path().join("db")).unwrap();
    copy_dir(saved.path(), &dir.path().join("db"));
    // And a torn record on top, for good measure.
    append_to_last_segment(dir.path(), b"\x07");

    let node = TestNode::start(dir.path()).await;
    assert_eq!(node.recovery.reindexed, 5);
    assert_eq!(node.recovery.truncated_bytes, 1);
    assert_eq!(
        node.head().await,
        head,
        "same size and root as before the loss"
    );
    let (_, rebuilt) = node.get("/v1/state/hash").await;
    assert_eq!(
        rebuilt, hash,
        "governance state re-applied from the segments"
    );
    for (i, id) in ids.iter().enumerate() {
        let (status, s) = node.get(&format!("/v1/statements/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(s["index"].as_u64(), Some(i as u64));
    }
    let (_, health) = node.get("/healthz").await;
    assert_eq!(health["reindexed_at_startup"], 5);
    // Appending continues the same tree.
    fill(&node, 10, 1).await;
    node.stop().await;
}

/// A batch whose `fdatasync` failed is still readable from the page cache,
/// as if durable. The failed sync records where it began, and the next
/// start cuts the log there instead of signing a checkpoint over leaves a
/// reboot would lose.
#[tokio::test]
async fn leaves_whose_sync_failed_are_cut_off_not_trusted() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    fill(&node, 0, 5).await;
    let head = node.head().await;
    node.stop().await;
    let saved = tempdir();
    copy_dir(&dir.path().join("db"), saved.path());
    let kept = std::fs::read(tree_file(dir.path(), "checkpoint")).unwrap();

    // Five more leaves whose sled writes and kept checkpoint are then
    // lost, as after a failed sync (sled commits, and the checkpoint is
    // kept, only after one succeeds); the first of them is where the
    // failed batch began.
    let node = TestNode::start(dir.path()).await;
    fill(&node, 5, 5).await;
    node.stop().await;
    let cfg = config(dir.path());
    let at = tokio::task::spawn_blocking(move || {
        let node = Node::open(cfg).unwrap();
        let at = node.storage().location(5).unwrap().unwrap();
        node.close().unwrap();
        at
    })
    .await
    .unwrap();
    std::fs::remove_dir_all(dir.path().join("db")).unwrap();
    copy_dir(saved.path(), &dir.path().join("db"));
    std::fs::write(tree_file(dir.path(), "checkpoint"), kept).unwrap();
    kaitiaki_node::storage::recovery::mark_unsynced(&dir.path().join("log"), at, 5).unwrap();

    let node = TestNode::start(dir.path()).await;
    assert_eq!(
        node.recovery.reindexed, 0,
        "nothing past the failed sync is trusted"
    );
    assert!(node.recovery.truncated_bytes > 0);
    assert_eq!(
        node.head().await,
        head,
        "the log is as it was before the failed batch"
    );
    assert!(
        !dir.path().join("log").join("UNSYNCED").exists(),
        "the mark is consumed"
    );
    // Sequencing goes on from there.
    fill(&node, 100, 1).await;
    assert_eq!(node.head().await.0, 6);
    node.stop().await;
}

/// A mark that points past the end of its segment (the file shorter than
/// the mark says) cuts nothing and never lengthens the file: cutting a
/// segment only ever shortens it.
#[tokio::test]
async fn a_mark_past_the_end_of_its_segment_lengthens_nothing() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    fill(&node, 0, 5).await;
    let head = node.head().await;
    node.stop().await;
    let all = segments(dir.path());
    assert_eq!(
        all.len(),
        1,
        "five leaves fit one segment, which starts at leaf 0"
    );
    let segment = all[0].clone();
    let len = std::fs::metadata(&segment).unwrap().len();
    let at = kaitiaki_node::storage::segment::Location {
        segment: 0,
        offset: len + 4096,
        len: 100,
    };
    kaitiaki_node::storage::recovery::mark_unsynced(&dir.path().join("log"), at, 5).unwrap();

    let node = TestNode::start(dir.path()).await;
    assert_eq!(std::fs::metadata(&segment).unwrap().len(), len);
    assert_eq!(node.recovery.truncated_bytes, 0);
    assert_eq!(node.head().await, head);
    assert!(!dir.path().join("log").join("UNSYNCED").exists());
    node.stop().await;
}

/// The child side of the crash test: serves a node until killed.
#[tokio::test]
#[ignore = "runs only as the child process of a_killed_node_loses_no_acknowledged_write"]
async fn crash_child() {
    let Ok(dir) = std::env::var("KAITIAKI_IT_CHILD_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let node = Node::open(config(&dir)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    std::fs::write(dir.join("port.tmp"), port.to_string()).unwrap();
    std::fs::rename(dir.join("port.tmp"), dir.join("port")).unwrap();
    kaitiaki_node::serve(node, listener, std::future::pending())
        .await
        .unwrap();
}

/// Starts [`crash_child`] as a process serving the node in `dir`; returns
/// it and the port it listens on, to be killed like a crash.
pub async fn spawn_crash_child(dir: &Path) -> (std::process::Child, String) {
    let _ = std::fs::remove_file(dir.join("port"));
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "recovery::crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KAITIAKI_IT_CHILD_DIR", dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let port = loop {
        if let Ok(p) = std::fs::read_to_string(dir.join("port")) {
            break p;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the child node did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    (child, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_node_loses_no_acknowledged_write() {
    let dir = tempdir();
    let start = Instant::now();
    let (mut child, port) = spawn_crash_child(dir.path()).await;
    let url = format!("http://127.0.0.1:{port}/v1/statements");
    let http = reqwest::Client::new();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for client in 0..16u64 {
        let (http, url, acked, stop) = (http.clone(), url.clone(), acked.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let env = announce(1000 + client, &format!("k{i}"));
                i += 1;
                let sent = http
                    .post(&url)
                    .body(serde_json::to_vec(&env.to_dsse()).unwrap())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().as_u16() == 201 => {
                        acked.lock().unwrap().push(env.id().to_hex())
                    }
                    Ok(_) => {}
                    Err(_) => break, // the node is gone
                }
            }
        }));
    }
    // Let writes flow, then kill -9 in the middle of them.
    while acked.lock().unwrap().len() < 200 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "writes did not flow"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();

    let node = TestNode::start(dir.path()).await;
    let (size, _) = node.head().await;
    assert!(size >= acked.len() as u64);
    for id in &acked {
        let (status, _) = node.get(&format!("/v1/statements/{id}")).await;
        assert_eq!(status, 200, "acknowledged statement {id} was lost");
    }
    node.stop().await;
}

/// Everything the derived files answer for a stopped node's log: its size,
/// root, every leaf's location and every inclusion proof.
type Snapshot = (
    u64,
    kaitiaki_protocol::Hash,
    Vec<kaitiaki_node::storage::Location>,
    Vec<Vec<kaitiaki_protocol::Hash>>,
);

async fn snapshot(dir: &Path) -> (Snapshot, kaitiaki_node::RecoveryReport) {
    let cfg = small_segments(dir);
    tokio::task::spawn_blocking(move || {
        let node = Node::open(cfg).unwrap();
        let report = node.recovery();
        let s = node.storage();
        let size = node.checkpoint().size;
        let root = s.root(size).unwrap();
        assert_eq!(root, node.checkpoint().root);
        let locations = (0..size).map(|i| s.location(i).unwrap().unwrap()).collect();
        let proofs = (0..size)
            .map(|i| s.inclusion_proof(i, size).unwrap())
            .collect();
        node.close().unwrap();
        ((size, root, locations, proofs), report)
    })
    .await
    .unwrap()
}

/// Small segments, so a few dozen leaves span several of them.
fn small_segments(dir: &Path) -> kaitiaki_node::Config {
    let mut c = config(dir);
    c.storage.segment_bytes = 4096;
    c
}

/// A node with `n` leaves over several segments, stopped; its snapshot.
async fn stopped_log(dir: &Path, n: u64) -> Snapshot {
    let node = TestNode::start_with(small_segments(dir)).await;
    fill(&node, 0, n).await;
    node.stop().await;
    assert!(segments(dir).len() > 1, "the log spans several segments");
    snapshot(dir).await.0
}

/// What `Node::open` says when it refuses to open `cfg`'s data directory.
async fn open_refused(cfg: kaitiaki_node::Config) -> String {
    tokio::task::spawn_blocking(move || Node::open(cfg))
        .await
        .unwrap()
        .map(|_| ())
        .unwrap_err()
        .to_string()
}

/// Restores `from`'s node key and segment files into `to`, as README's
/// restore from the key and the log does (with no peers file).
fn restore_key_and_log(from: &Path, to: &Path) {
    copy_log(from, to);
    std::fs::copy(from.join("node.key"), to.join("node.key")).unwrap();
}

/// Copies the segment files of the data directory `from` into `to`'s
/// `log/`, as a restore from the log alone does.
fn copy_log(from: &Path, to: &Path) {
    let log = to.join("log");
    std::fs::create_dir_all(&log).unwrap();
    for entry in std::fs::read_dir(from.join("log")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, log.join(path.file_name().unwrap())).unwrap();
    }
}

fn tree_file(dir: &Path, name: &str) -> std::path::PathBuf {
    dir.join("tree").join(name)
}

fn set_len(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

/// A stored tree hash damaged where start-up does not look (inside the
/// part last synced, off the log's right edge): the node serves no proof
/// made from it, answers `tree_damaged`, and says so at `/healthz`; proofs
/// it can stand by are still served. A damaged hash the root is computed
/// from stops the start, with what to do, and moving tree/ aside mends it.
#[tokio::test]
async fn a_proof_from_a_damaged_tree_is_not_served_and_health_says_why() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let ids = fill(&node, 0, 6).await;
    node.stop().await;
    let flip = |name: &str, at: usize| {
        let path = tree_file(dir.path(), name);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[at] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
    };
    // Leaf 1's hash, which the proof of leaf 0 uses and those of leaves 2
    // and 4 do not (each leaf was its own batch, so a checkpoint was signed
    // at every size).
    flip("level-00", 40);

    let node = TestNode::start(dir.path()).await;
    let (status, _) = node.get("/healthz").await;
    assert_eq!(status, 200, "nothing is known to be wrong yet");
    for index in [2, 4] {
        let (status, body) = node
            .get(&format!("/v1/proofs/inclusion?index={index}"))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    for path in [
        "/v1/proofs/inclusion?index=0".to_owned(),
        format!("/v1/statements/{}", ids[0]),
    ] {
        let (status, body) = node.get(&path).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (500, Some("tree_damaged")),
            "{path}: {body}"
        );
    }
    let (status, health) = node.get("/healthz").await;
    assert_eq!(
        (status, health["status"].as_str()),
        (503, Some("tree_damaged")),
        "{health}"
    );
    assert!(
        health["problem"]
            .as_str()
            .is_some_and(|p| p.contains("move tree/ aside")),
        "{health}"
    );
    // The hash of leaves 0–3, damaged while the node runs: the proof of
    // leaf 4 is made from it, at size 5 it is all the proof is, and the
    // root the tree files would give is made from it too; proofs are
    // checked against the root signed at their size.
    flip("level-02", 0);
    for query in ["index=4", "index=4&size=5"] {
        let (status, body) = node.get(&format!("/v1/proofs/inclusion?{query}")).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (500, Some("tree_damaged")),
            "{query}: {body}"
        );
    }
    let (status, body) = node.get("/v1/proofs/consistency?old=5&new=6").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (500, Some("tree_damaged")),
        "{body}"
    );
    node.stop().await;

    // The node does not start on it: the root at 6 is made from it.
    let cfg = config(dir.path());
    let err = open_refused(cfg).await;
    assert!(
        err.contains("but the node signed") && err.contains("move tree/ aside"),
        "{err}"
    );
    std::fs::rename(dir.path().join("tree"), dir.path().join("tree.damaged")).unwrap();
    let node = TestNode::start(dir.path()).await;
    for index in 0..5 {
        let (status, body) = node
            .get(&format!("/v1/proofs/inclusion?index={index}"))
            .await;
        assert_eq!(status, 200, "{index}: {body}");
    }
    assert_eq!(node.get("/healthz").await.0, 200);
    node.stop().await;
}

#[tokio::test]
async fn tree_files_shorter_than_the_log_are_rebuilt_from_the_segments() {
    let dir = tempdir();
    let before = stopped_log(dir.path(), 37).await;
    set_len(&tree_file(dir.path(), "level-00"), 3 * 32);
    set_len(&tree_file(dir.path(), "level-02"), 0);
    set_len(&tree_file(dir.path(), "locations"), 5 * 16 + 7);

    let (after, report) = snapshot(dir.path()).await;
    assert_eq!(after, before, "same tree, locations and proofs");
    assert_eq!(
        report.reindexed, 0,
        "sled lost nothing, so nothing is re-indexed"
    );
    let len = |name| {
        std::fs::metadata(tree_file(dir.path(), name))
            .unwrap()
            .len()
    };
    assert_eq!(len("level-00"), 37 * 32);
    assert_eq!(len("level-02"), 9 * 32);
    assert_eq!(len("locations"), 37 * 16);

    // Appending continues the same tree.
    let node = TestNode::start_with(small_segments(dir.path())).await;
    fill(&node, 37, 3).await;
    node.stop().await;
    let (more, _) = snapshot(dir.path()).await;
    assert_eq!(more.0, 40);
    assert_eq!(&more.2[..37], &before.2[..]);
}

#[tokio::test]
async fn missing_tree_files_are_rebuilt_from_the_segments() {
    let dir = tempdir();
    let before = stopped_log(dir.path(), 30).await;
    std::fs::remove_dir_all(dir.path().join("tree")).unwrap();
    let (after, report) = snapshot(dir.path()).await;
    assert_eq!(after, before);
    assert_eq!(report.reindexed, 0);

    std::fs::remove_file(tree_file(dir.path(), "level-01")).unwrap();
    std::fs::remove_file(tree_file(dir.path(), "locations")).unwrap();
    assert_eq!(snapshot(dir.path()).await.0, before);
}

#[tokio::test]
async fn a_corrupted_unsynced_tail_of_the_tree_files_is_derived_again() {
    let dir = tempdir();
    let node = TestNode::start_with(small_segments(dir.path())).await;
    fill(&node, 0, 10).await;
    node.stop().await;
    // sled as it was at ten leaves: its watermark says the derived files
    // were synced up to leaf 10 and no further.
    let saved = tempdir();
    copy_dir(&dir.path().join("db"), saved.path());
    let before = snapshot(dir.path()).await.0;
    let node = TestNode::start_with(small_segments(dir.path())).await;
    fill(&node, 10, 20).await;
    node.stop().await;
    let before_full = snapshot(dir.path()).await.0;
    assert_eq!(&before_full.2[..10], &before.2[..]);

    // As after a power cut: sled is back at ten leaves, and the files'
    // pages past the watermark hold garbage, with a torn entry at the end.
    std::fs::remove_dir_all(dir.path().join("db")).unwrap();
    copy_dir(saved.path(), &dir.path().join("db"));
    for (name, at) in [
        ("level-00", 25 * 32),
        ("level-01", 12 * 32),
        ("locations", 20 * 16),
    ] {
        let path = tree_file(dir.path(), name);
        let mut bytes = std::fs::read(&path).unwrap();
        for b in &mut bytes[at..] {
            *b = 0xEE;
        }
        bytes.extend_from_slice(&[0xEE; 5]);
        std::fs::write(&path, bytes).unwrap();
    }

    let (after, report) = snapshot(dir.path()).await;
    assert_eq!(report.reindexed, 20, "sled re-indexed what it lost");
    assert_eq!(after, before_full, "the garbage was derived again");
}

#[tokio::test]
async fn a_data_directory_of_another_origin_or_key_is_refused() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    fill(&node, 0, 2).await;
    node.stop().await;

    let mut other = config(dir.path());
    other.origin = "elsewhere.example".into();
    let err = Node::open(other).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("test-node.example") && text.contains("elsewhere.example"),
        "{text}"
    );

    // Another node.key: the log was signed by a different key.
    let key = dir.path().join(kaitiaki_node::identity::KEY_FILE);
    let original = std::fs::read(&key).unwrap();
    std::fs::write(&key, format!("{}\n", "07".repeat(32))).unwrap();
    let err = Node::open(config(dir.path())).unwrap_err();
    assert!(err.to_string().contains("node.key"), "{err}");

    // Put back, the node starts as before.
    std::fs::write(&key, original).unwrap();
    let node = TestNode::start(dir.path()).await;
    assert_eq!(node.head().await.0, 2);
    node.stop().await;

    // A directory an earlier version wrote (no layout recorded) is refused
    // by name, not read as if it were this version's.
    let set_layout = |value: Option<&[u8]>| {
        with_db(dir.path(), |db| {
            let log = db.open_tree("log").unwrap();
            match value {
                Some(v) => log.insert(b"meta\0layout", v).unwrap(),
                None => log.remove(b"meta\0layout").unwrap(),
            };
        })
    };
    set_layout(None);
    let err = Node::open(config(dir.path())).unwrap_err().to_string();
    assert!(
        err.contains("layout 1") && err.contains("new data directory"),
        "{err}"
    );
    set_layout(Some(&2u32.to_be_bytes()));
    let node = TestNode::start(dir.path()).await;
    assert_eq!(node.head().await.0, 2);
    node.stop().await;
}

#[test]
fn a_data_directory_another_holder_has_open_is_in_use() {
    use kaitiaki_node::storage::{Storage, StorageError};
    let dir = tempdir();
    // Held by another opener, and with no node key yet: the node says the
    // directory is in use before anything else (it takes the lock first).
    let _held = Storage::open(dir.path(), 1 << 20).unwrap();
    let err = Storage::open(dir.path(), 1 << 20).unwrap_err();
    assert!(
        matches!(&err, StorageError::InUse { path } if path == dir.path()),
        "{err:?}"
    );
    let err = Node::open(config(dir.path())).unwrap_err();
    assert!(
        matches!(
            &err,
            kaitiaki_node::NodeError::Storage(StorageError::InUse { .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "a node seems to be running on the data directory {}; stop it first",
            dir.path().display()
        )
    );
}

/// Opens the data directory's sled (the node is stopped) and runs `f` on it.
fn with_db(dir: &Path, f: impl FnOnce(&sled::Db)) {
    let db = sled::Config::new()
        .path(dir.join("db"))
        .segment_size(8 << 20)
        .open()
        .unwrap();
    f(&db);
    db.flush().unwrap();
}

/// Makes the stored governance state look built under `version` (none:
/// by a node from before versions were recorded), and unlike what this
/// version folds: a stray entry, and a running hash that is not the sum.
fn state_of_another_version(dir: &Path, version: Option<u32>) {
    with_db(dir, |db| {
        match version {
            Some(v) => db.insert(b"state_version", &v.to_be_bytes()).unwrap(),
            None => db.remove(b"state_version").unwrap(),
        };
        let log = db.open_tree("log").unwrap();
        log.insert(b"gov.keys\0stray", b"from older rules").unwrap();
        log.insert(b"gov.meta\0state_hash", &[7u8; 32]).unwrap();
    });
}

fn stored_state_version(dir: &Path) -> Option<u32> {
    let storage = kaitiaki_node::storage::Storage::open(dir, 1 << 20).unwrap();
    storage.state_version().unwrap()
}

#[tokio::test]
async fn state_built_under_another_version_is_rebuilt_from_the_logs() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let ids = fill(&node, 0, 12).await;
    let head = node.head().await;
    let (_, hash) = node.get("/v1/state/hash").await;
    assert_eq!(
        hash["state_version"],
        kaitiaki_governance::STATE_VERSION,
        "{hash}"
    );
    node.stop().await;
    assert_eq!(
        stored_state_version(dir.path()),
        Some(kaitiaki_governance::STATE_VERSION)
    );

    for version in [Some(kaitiaki_governance::STATE_VERSION + 1), None] {
        state_of_another_version(dir.path(), version);
        let node = TestNode::start(dir.path()).await;
        assert_eq!(node.recovery.reindexed, 12, "every leaf folded again");
        assert_eq!(node.head().await, head);
        let (_, rebuilt) = node.get("/v1/state/hash").await;
        assert_eq!(rebuilt, hash, "the state this version folds the log into");
        for (i, id) in ids.iter().enumerate() {
            let (status, s) = node.get(&format!("/v1/statements/{id}")).await;
            assert_eq!(status, 200);
            assert_eq!(s["index"].as_u64(), Some(i as u64));
        }
        node.stop().await;
        assert_eq!(
            stored_state_version(dir.path()),
            Some(kaitiaki_governance::STATE_VERSION)
        );
        with_db(dir.path(), |db| {
            let log = db.open_tree("log").unwrap();
            assert_eq!(log.get(b"gov.keys\0stray").unwrap(), None, "forgotten");
        });
    }

    // State of this version is kept as it is.
    let node = TestNode::start(dir.path()).await;
    assert_eq!(node.recovery.reindexed, 0);
    fill(&node, 12, 1).await;
    node.stop().await;
}

#[tokio::test]
async fn mirrors_are_folded_again_when_the_state_version_changes() {
    use crate::federation::{start_mesh, wait_mirrored};
    let origins = ["iwi.example", "agency.example"];
    let seeds = [[31u8; 32], [32u8; 32]];
    let dirs = [tempdir(), tempdir()];
    let nodes = start_mesh(&origins, &seeds, &dirs).await;
    fill(&nodes[0], 0, 6).await;
    fill(&nodes[1], 100, 3).await;
    wait_mirrored(&nodes[1], &nodes[0], origins[0], 6).await;
    let (_, before) = nodes[1].get("/v1/state/hash").await;
    assert_eq!(before["mirrors"], serde_json::json!({ "iwi.example": 6 }));
    for n in nodes {
        n.stop().await;
    }

    state_of_another_version(dirs[1].path(), Some(0));
    // Alone, without peers: what it shows comes from its own disk.
    let alone = crate::federation::mesh(
        &origins[1..],
        &seeds[1..],
        &[dirs[1].path()],
        &[String::new()],
    )
    .remove(0);
    assert!(alone.peers.is_empty());
    let node = TestNode::start_with(alone).await;
    assert_eq!(node.recovery.reindexed, 3, "its own log folded again");
    let (_, after) = node.get("/v1/state/hash").await;
    assert_eq!(after, before, "and the mirror too");
    node.stop().await;

    // Again, following the peer at an address where nothing answers: the
    // peer list shows what the mirror holds from the start, not 0 until a
    // fetch that cannot happen.
    state_of_another_version(dirs[1].path(), Some(0));
    let unreachable = crate::federation::mesh(
        &origins,
        &seeds,
        &[dirs[0].path(), dirs[1].path()],
        &["http://127.0.0.1:9".to_owned(), String::new()],
    )
    .remove(1);
    let node = TestNode::start_with(unreachable).await;
    let (_, peers) = node.get("/v1/peers").await;
    assert_eq!(peers["peers"][0]["origin"], origins[0], "{peers}");
    assert_eq!(peers["peers"][0]["mirrored"], 6, "{peers}");
    node.stop().await;
}

/// A node started with another network than its log's (a mistyped
/// setting) refuses to start, rather than take statements its peers refuse.
#[tokio::test]
async fn a_node_configured_with_another_network_refuses_to_start() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    fill(&node, 0, 2).await;
    node.stop().await;
    let mut cfg = config(dir.path());
    let network = cfg.network.clone();
    cfg.network = format!("{network}-typo");
    let err = open_refused(cfg).await;
    assert!(
        err.contains(&format!("holds a log of the network {network:?}"))
            && err.contains(&format!("set network = {network:?}")),
        "{err}"
    );
    // A restore of the key and the segments alone is checked before it is
    // rebuilt.
    let restored = tempdir();
    restore_key_and_log(dir.path(), restored.path());
    let mut cfg = config(restored.path());
    cfg.network = format!("{network}-typo");
    let err = open_refused(cfg).await;
    assert!(err.contains("holds a log of the network"), "{err}");
    assert!(
        !restored.path().join("waiting-for-peers.txt").exists(),
        "refused before anything of the start was kept"
    );

    let node = TestNode::start(dir.path()).await;
    assert_eq!(node.get("/v1/checkpoint").await.1["size"], 2);
    node.stop().await;
}

/// After a crash that left sled behind the segments, recovery signs the
/// leaves it indexes again: never over a damaged stored hash of the log's
/// right edge where sled stopped.
#[tokio::test]
async fn recovery_signs_nothing_over_a_damaged_right_edge() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    fill(&node, 0, 5).await;
    node.stop().await;
    let saved = tempdir();
    copy_dir(&dir.path().join("db"), saved.path());
    let node = TestNode::start(dir.path()).await;
    fill(&node, 5, 3).await;
    node.stop().await;
    // sled as it was at five leaves, and the hash of leaves 0–3 (the
    // right edge at five) damaged.
    std::fs::remove_dir_all(dir.path().join("db")).unwrap();
    copy_dir(saved.path(), &dir.path().join("db"));
    let path = tree_file(dir.path(), "level-02");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();

    let err = open_refused(config(dir.path())).await;
    assert!(
        err.contains("at size 5, but the node signed") && err.contains("move tree/ aside"),
        "{err}"
    );
    std::fs::rename(dir.path().join("tree"), dir.path().join("tree.damaged")).unwrap();
    let node = TestNode::start(dir.path()).await;
    assert_eq!(node.recovery.reindexed, 3);
    for index in 0..8 {
        let (status, body) = node
            .get(&format!("/v1/proofs/inclusion?index={index}"))
            .await;
        assert_eq!(status, 200, "{index}: {body}");
    }
    node.stop().await;
}

/// A run-time peer the node cannot follow stops the start, naming the
/// file: skipped, a restored node would not wait for it.
#[tokio::test]
async fn a_peer_in_peers_toml_that_cannot_be_followed_stops_the_start() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    node.stop().await;
    std::fs::write(
        dir.path().join("peers.toml"),
        "[[following]]\nurl = \"ftp://127.0.0.1:9\"\nkey = \"not a key\"\n",
    )
    .unwrap();
    let cfg = config(dir.path());
    let err = open_refused(cfg).await;
    assert!(
        err.contains("peers.toml names a peer this node cannot follow")
            && err.contains("correct or remove that entry"),
        "{err}"
    );
}

/// A node key lost from a data directory that holds a log is not replaced
/// by a new one: the node refuses to start, and the directory is left as
/// it was, so the operator can restore the key.
#[tokio::test]
async fn a_lost_node_key_is_not_replaced() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    fill(&node, 0, 3).await;
    node.stop().await;
    let key = dir.path().join("node.key");
    let saved = std::fs::read(&key).unwrap();
    std::fs::remove_file(&key).unwrap();

    let cfg = config(dir.path());
    let err = open_refused(cfg).await;
    assert!(err.to_string().contains("restore node.key"), "{err}");
    assert!(!key.exists(), "no new key was written");

    // Nor when the log alone is restored, with no database to name its
    // key: its records were signed with a key that must come back.
    let restored = tempdir();
    copy_log(dir.path(), restored.path());
    let cfg = config(restored.path());
    let err = open_refused(cfg).await;
    assert!(err.to_string().contains("restore node.key"), "{err}");
    assert!(
        !restored.path().join("node.key").exists(),
        "no new key was written"
    );

    std::fs::write(&key, saved).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let node = TestNode::start(dir.path()).await;
    let (_, cp) = node.get("/v1/checkpoint").await;
    assert_eq!(cp["size"], 3, "{cp}");
    node.stop().await;
}

/// A new node killed during its first write leaves a torn record and no
/// index: recovery cuts the record off, and the node, which holds no log
/// after all, does not wait for peers as a restored one would.
#[tokio::test]
async fn a_torn_first_record_is_no_restored_log() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    node.stop().await;
    append_to_last_segment(dir.path(), b"\x00\x00\x01");
    let node = TestNode::start(dir.path()).await;
    assert_eq!(node.recovery.truncated_bytes, 3);
    assert!(!dir
        .path()
        .join(kaitiaki_node::replication::own_log::UNCHECKED_FILE)
        .exists());
    let (status, body) = node.post(&announce(1, "first")).await;
    assert_eq!(status, 201, "{body}");
    node.stop().await;
}
