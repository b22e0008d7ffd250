//! Witnessing: `POST /add-checkpoint` as C2SP tlog-witness defines it (the
//! edge cases, the atomic size check, forks kept as evidence), and nodes
//! that witness each other so every checkpoint carries the others'
//! cosignatures, checked with the protocol crate alone.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use kaitiaki_node::config::{WitnessConfig, WitnessPeer, WitnessedLog};
use kaitiaki_node::identity::Identity;
use kaitiaki_node::witness::Witness;
use kaitiaki_node::{Config, Node, NodeError};
use kaitiaki_protocol::checkpoint::{Checkpoint, VerifiedCheckpoint};
use kaitiaki_protocol::cosignature::{require_cosignatures, CosignatureVerifier, Cosigner};
use kaitiaki_protocol::merkle::{self, MemoryTree};
use kaitiaki_protocol::note::{KeyName, Note, NoteSignature, NoteSigner, NoteVerifier};
use kaitiaki_protocol::Hash;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::support::{self, announce, tempdir, TestNode};

/// The test log the single-witness tests submit checkpoints of.
const LOG: &str = "test-log.example";
const LOG_SEED: [u8; 32] = [9; 32];

fn name(s: &str) -> KeyName {
    KeyName::new(s).unwrap()
}

fn log_signer() -> NoteSigner {
    NoteSigner::from_seed(name(LOG), &LOG_SEED)
}

/// Writes a node key with a known seed, so its keys are known before it starts.
fn write_node_key(dir: &Path, seed: [u8; 32]) {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("node.key");
    std::fs::write(&path, format!("{}\n", hex::encode(seed))).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A tree of `n` leaves; `fork` makes every leaf different.
fn tree(n: u64, fork: bool) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.append(format!("leaf {i} {fork}").as_bytes());
    }
    t
}

fn signed_checkpoint(origin: &str, t: &MemoryTree, size: u64, signer: &NoteSigner) -> String {
    let root = merkle::root(t, size).unwrap();
    Checkpoint::new(origin, size, root)
        .unwrap()
        .sign(signer)
        .unwrap()
        .to_string()
}

fn body(old: u64, proof: &[Hash], note: &str) -> String {
    let mut b = format!("old {old}\n");
    for h in proof {
        b.push_str(&h.to_base64());
        b.push('\n');
    }
    b.push('\n');
    b.push_str(note);
    b
}

/// An add-checkpoint request from `old` to `new` over `t`, signed by the log.
fn request(t: &MemoryTree, old: u64, new: u64) -> String {
    let proof = if old == 0 || old == new {
        Vec::new()
    } else {
        merkle::consistency_proof(t, old, new).unwrap()
    };
    body(old, &proof, &signed_checkpoint(LOG, t, new, &log_signer()))
}

/// POSTs to `<url>/add-checkpoint`: status, content type, body text.
async fn add(http: &reqwest::Client, url: &str, body: String) -> (u16, String, String) {
    let r = http
        .post(format!("{url}/add-checkpoint"))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ctype, r.text().await.unwrap())
}

const WITNESS_ORIGIN: &str = "witness-node.example";
const WITNESS_SEED: [u8; 32] = [5; 32];

fn witness_verifier() -> CosignatureVerifier {
    Cosigner::from_seed(name(WITNESS_ORIGIN), &WITNESS_SEED).verifier()
}

/// A node that witnesses the test log (and an empty one).
fn witness_config(dir: &Path) -> Config {
    write_node_key(dir, WITNESS_SEED);
    let mut c = support::config(dir);
    c.origin = WITNESS_ORIGIN.into();
    c.witness.logs = vec![
        WitnessedLog {
            origin: None,
            key: log_signer().verifier().to_string(),
        },
        WitnessedLog {
            origin: Some("empty-log.example".into()),
            key: NoteSigner::from_seed(name("empty-log.example"), &[8; 32])
                .verifier()
                .to_string(),
        },
    ];
    c
}

fn assert_cosigned(text: &str, t: &MemoryTree, size: u64) {
    let lines = NoteSignature::parse_lines(text).unwrap();
    assert_eq!(lines.len(), 1, "{text}");
    let checkpoint = Checkpoint::new(LOG, size, merkle::root(t, size).unwrap()).unwrap();
    let cosig = witness_verifier()
        .verify_cosignature(&checkpoint, &lines[0])
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(cosig.timestamp().abs_diff(now) < 60);
}

#[tokio::test]
async fn add_checkpoint_follows_the_c2sp_spec() {
    let dir = tempdir();
    let node = TestNode::start_with(witness_config(dir.path())).await;
    let http = &node.http;
    let url = &node.url;
    let t = tree(10, false);

    // Malformed bodies: 400.
    for bad in [
        "old 01\n\n".to_owned(),
        "old x\n\n".to_owned(),
        "nonsense".to_owned(),
        body(0, &[], "not a note\n"),
        format!(
            "old 0\nnot-base64\n\n{}",
            signed_checkpoint(LOG, &t, 3, &log_signer())
        ),
    ] {
        let (status, _, text) = add(http, url, bad.clone()).await;
        assert_eq!(status, 400, "{bad:?}: {text}");
    }

    // An unknown log: 404.
    let other = NoteSigner::from_seed(name("other-log.example"), &LOG_SEED);
    let (status, _, _) = add(
        http,
        url,
        body(
            0,
            &[],
            &signed_checkpoint("other-log.example", &t, 3, &other),
        ),
    )
    .await;
    assert_eq!(status, 404);

    // A known log signed by another key under its name: 403.
    let impostor = NoteSigner::from_seed(name(LOG), &[1; 32]);
    let (status, _, _) = add(
        http,
        url,
        body(0, &[], &signed_checkpoint(LOG, &t, 3, &impostor)),
    )
    .await;
    assert_eq!(status, 403);

    // Nothing held yet: any old size but 0 is a conflict naming size 0.
    let (status, ctype, text) = add(http, url, request(&t, 2, 4)).await;
    assert_eq!(
        (status, ctype.as_str(), text.as_str()),
        (409, "text/x.tlog.size", "0\n")
    );

    // Old size 0 needs an empty proof.
    let proof = merkle::consistency_proof(&t, 2, 4).unwrap();
    let (status, _, _) = add(
        http,
        url,
        body(0, &proof, &signed_checkpoint(LOG, &t, 4, &log_signer())),
    )
    .await;
    assert_eq!(status, 422);

    // Old size 0, empty proof: cosigned.
    let (status, ctype, text) = add(http, url, request(&t, 0, 4)).await;
    assert_eq!(status, 200, "{text}");
    assert!(ctype.starts_with("text/plain"));
    assert!(text.starts_with(&format!("— {WITNESS_ORIGIN} ")));
    assert_cosigned(&text, &t, 4);

    // Old size 0 again: the witness now holds 4.
    let (status, ctype, text) = add(http, url, request(&t, 0, 6)).await;
    assert_eq!(
        (status, ctype.as_str(), text.as_str()),
        (409, "text/x.tlog.size", "4\n")
    );

    // A proof that does not verify: 422, and the attempt is kept.
    let mut proof = merkle::consistency_proof(&t, 4, 6).unwrap();
    proof[0] = Hash::from_slice(&[0xAB; 32]).unwrap();
    let (status, _, _) = add(
        http,
        url,
        body(4, &proof, &signed_checkpoint(LOG, &t, 6, &log_signer())),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(node.metric("kaitiaki_witness_evidence").await, 1);
    assert_eq!(node.metric("kaitiaki_witness_equivocations").await, 0);

    // The right proof: cosigned.
    let (status, _, text) = add(http, url, request(&t, 4, 6)).await;
    assert_eq!(status, 200, "{text}");
    assert_cosigned(&text, &t, 6);

    // Sizes never go backwards: an old size above the checkpoint's is 400,
    // and an older checkpoint from the held size is refused.
    let (status, _, _) = add(
        http,
        url,
        body(6, &[], &signed_checkpoint(LOG, &t, 5, &log_signer())),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _, text) = add(http, url, request(&t, 4, 5)).await;
    assert_eq!((status, text.as_str()), (409, "6\n"));

    // The same checkpoint again (old = new, empty proof): cosigned again.
    let (status, _, text) = add(http, url, request(&t, 6, 6)).await;
    assert_eq!(status, 200, "{text}");
    assert_cosigned(&text, &t, 6);

    // A log witnessed from nothing to the empty tree.
    let empty = NoteSigner::from_seed(name("empty-log.example"), &[8; 32]);
    let note = Checkpoint::new("empty-log.example", 0, merkle::empty_root())
        .unwrap()
        .sign(&empty)
        .unwrap()
        .to_string();
    let (status, _, text) = add(http, url, body(0, &[], &note)).await;
    assert_eq!(status, 200, "{text}");

    let (_, info) = node.get("/v1/witness").await;
    assert_eq!(info["verifier_key"], witness_verifier().to_string());
    assert_eq!(info["logs"][0]["origin"], "empty-log.example");
    assert_eq!(info["logs"][1]["origin"], LOG);
    assert_eq!(info["logs"][1]["size"], 6);
    assert_eq!(node.metric("kaitiaki_witness_cosigned_total").await, 4);
    node.stop().await;
}

#[tokio::test]
async fn a_fork_is_refused_and_kept_as_evidence() {
    let dir = tempdir();
    let config = witness_config(dir.path());
    let node = TestNode::start_with(config.clone()).await;
    let honest = tree(8, false);
    let forked = tree(8, true);
    let (status, _, _) = add(&node.http, &node.url, request(&honest, 0, 8)).await;
    assert_eq!(status, 200);

    // Same size, another root, signed by the log's own key.
    let (status, ctype, text) = add(&node.http, &node.url, request(&forked, 8, 8)).await;
    assert_eq!(
        (status, ctype.as_str(), text.as_str()),
        (409, "text/x.tlog.size", "8\n")
    );
    // Presented from another old size, it is still recognised as a fork.
    let (status, _, text) = add(&node.http, &node.url, request(&forked, 0, 8)).await;
    assert_eq!((status, text.as_str()), (409, "8\n"));
    assert_eq!(node.metric("kaitiaki_witness_equivocations").await, 1);
    assert_eq!(node.metric("kaitiaki_witness_evidence").await, 1);
    // The witness still holds, and cosigns, the honest checkpoint.
    let (status, _, _) = add(&node.http, &node.url, request(&honest, 8, 8)).await;
    assert_eq!(status, 200);
    node.stop().await;

    // The evidence verifies with the protocol crate alone.
    let identity = Identity::load_or_create(dir.path(), WITNESS_ORIGIN).unwrap();
    let witness = Witness::open(dir.path(), &config.witness, &identity).unwrap();
    let held = Note::parse(&witness.held(LOG).unwrap().unwrap()).unwrap();
    assert_eq!(
        Checkpoint::from_note(&held).unwrap().size(),
        8,
        "held across a restart"
    );
    let evidence = witness.evidence().unwrap();
    assert_eq!(evidence.len(), 1);
    let e = &evidence[0];
    assert_eq!((e.kind.as_str(), e.origin.as_str()), ("equivocation", LOG));
    let key = [NoteVerifier::parse(&log_signer().verifier().to_string()).unwrap()];
    let held = VerifiedCheckpoint::open(e.held.as_bytes(), LOG, &key).unwrap();
    let presented = VerifiedCheckpoint::open(e.presented.as_bytes(), LOG, &key).unwrap();
    assert_eq!(held.checkpoint().size(), presented.checkpoint().size());
    assert_ne!(held.checkpoint().root(), presented.checkpoint().root());
}

// Several worker threads, so the handlers really run at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_requests_from_one_old_size_advance_it_once() {
    let dir = tempdir();
    let node = TestNode::start_with(witness_config(dir.path())).await;
    let t = tree(200, false);
    let (status, _, _) = add(&node.http, &node.url, request(&t, 0, 5)).await;
    assert_eq!(status, 200);

    for round in 0..8u64 {
        let (_, info) = node.get("/v1/witness").await;
        let old = info["logs"][1]["size"].as_u64().unwrap();
        let tasks: Vec<_> = (1..=16u64)
            .map(|k| {
                let (http, url) = (node.http.clone(), node.url.clone());
                let body = request(&t, old, old + k);
                tokio::spawn(async move { (k, add(&http, &url, body).await) })
            })
            .collect();
        let mut winners = Vec::new();
        let mut conflicts = Vec::new();
        for task in tasks {
            let (k, (status, _, text)) = task.await.unwrap();
            match status {
                200 => winners.push(k),
                409 => conflicts.push(text),
                other => panic!("round {round}: unexpected status {other}: {text}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let held = old + winners[0];
        let (_, info) = node.get("/v1/witness").await;
        assert_eq!(info["logs"][1]["size"], held);
        // Every loser either saw the winner's size, or ran before it.
        for text in conflicts {
            assert_eq!(text, format!("{held}\n"));
        }
    }
    node.stop().await;
}

/// A node served on a listener bound before its configuration was written.
struct Peer {
    url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), NodeError>>>,
}

impl Peer {
    async fn start(config: Config, listener: tokio::net::TcpListener) -> Peer {
        let node = tokio::task::spawn_blocking(move || Node::open(config))
            .await
            .unwrap()
            .expect("node opens");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(kaitiaki_node::serve(node, listener, async {
            let _ = stopped.await;
        }));
        Peer {
            url,
            stop: Some(stop),
            task: Some(task),
        }
    }

    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().expect("node shuts down cleanly");
        }
    }
}

async fn get_json(http: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = http.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn nodes_witness_each_other() {
    let origins = ["iwi.example", "pacific.example", "agency.example"];
    let seeds = [[11u8; 32], [12; 32], [13; 32]];
    let dirs: Vec<_> = (0..3).map(|_| tempdir()).collect();
    let mut listeners = Vec::new();
    for _ in 0..3 {
        listeners.push(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
    }
    let urls: Vec<String> = listeners
        .iter()
        .map(|l| format!("http://{}", l.local_addr().unwrap()))
        .collect();
    let log_key = |i: usize| NoteSigner::from_seed(name(origins[i]), &seeds[i]).verifier();
    let witness_key = |i: usize| Cosigner::from_seed(name(origins[i]), &seeds[i]).verifier();

    let mut peers = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        write_node_key(dirs[i].path(), seeds[i]);
        let mut c = support::config(dirs[i].path());
        c.origin = origins[i].into();
        let others: Vec<usize> = (0..3).filter(|j| *j != i).collect();
        c.witness = WitnessConfig {
            logs: others
                .iter()
                .map(|j| WitnessedLog {
                    origin: None,
                    key: log_key(*j).to_string(),
                })
                .collect(),
            witnesses: others
                .iter()
                .map(|j| WitnessPeer {
                    url: urls[*j].clone(),
                    key: witness_key(*j).to_string(),
                })
                .collect(),
            // The agency node serves only checkpoints both others cosigned.
            require: if i == 2 { 2 } else { 0 },
        };
        peers.push(Peer::start(c, listener).await);
    }
    let http = reqwest::Client::new();

    // Writes to every node, in a few rounds so checkpoints advance while
    // witnesses are cosigning earlier ones.
    for round in 0..3u64 {
        for (i, p) in peers.iter().enumerate() {
            for n in 0..3u64 {
                let env = announce(100 * i as u64 + 10 * round + n, "witness");
                let r = http
                    .post(format!("{}/v1/statements", p.url))
                    .header("content-type", "application/json")
                    .body(serde_json::to_vec(&env.to_dsse()).unwrap())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 201);
            }
        }
    }

    for (i, p) in peers.iter().enumerate() {
        let others: Vec<CosignatureVerifier> =
            (0..3).filter(|j| *j != i).map(witness_key).collect();
        let deadline = Instant::now() + Duration::from_secs(30);
        let (c, note_text) = loop {
            let (status, c) = get_json(&http, &format!("{}/v1/checkpoint", p.url)).await;
            if status == 200 && c["size"] == 9 && c["cosignatures"].as_array().unwrap().len() == 2 {
                let text = http
                    .get(format!("{}/v1/checkpoint/note", p.url))
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                break (c, text);
            }
            assert!(
                Instant::now() < deadline,
                "node {i} not cosigned: {status} {c}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        // The JSON's note plus its cosignature lines is the text note.
        let mut joined = c["note"].as_str().unwrap().to_owned();
        for line in c["cosignatures"].as_array().unwrap() {
            joined.push_str(line.as_str().unwrap());
            joined.push('\n');
        }
        assert_eq!(joined, note_text);
        // Verified with the protocol crate: the log's signature, then 2 of 2 witnesses.
        let opened =
            VerifiedCheckpoint::open(note_text.as_bytes(), origins[i], &[log_key(i)]).unwrap();
        assert_eq!(opened.checkpoint().size(), 9);
        let cosigned = require_cosignatures(opened.note(), &others, 2).unwrap();
        assert_eq!(cosigned.len(), 2);
        let note = Note::parse(note_text.as_bytes()).unwrap();
        assert_eq!(note.signatures().len(), 3);
    }

    // Each node, as a witness, holds the others' latest checkpoints.
    for (i, p) in peers.iter().enumerate() {
        let (_, info) = get_json(&http, &format!("{}/v1/witness", p.url)).await;
        assert_eq!(info["verifier_key"], witness_key(i).to_string());
        for log in info["logs"].as_array().unwrap() {
            assert_eq!(log["size"], 9, "node {i}: {info}");
        }
    }
    for p in peers {
        p.stop().await;
    }
}

#[tokio::test]
async fn the_publish_policy_holds_back_unwitnessed_checkpoints() {
    let dir = tempdir();
    let mut c = support::config(dir.path());
    // A witness that never answers.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    c.witness.witnesses = vec![WitnessPeer {
        url: dead_url,
        key: witness_verifier().to_string(),
    }];
    c.witness.require = 1;
    let node = TestNode::start_with(c).await;
    let (status, _) = node.post(&announce(1, "policy")).await;
    assert_eq!(status, 201, "writes never wait for witnesses");
    let (status, body) = node.get("/v1/checkpoint").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("witness_policy_unmet"))
    );
    let (status, _) = node.get("/v1/checkpoints/1").await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(node.metric("kaitiaki_witness_ask_failures_total").await >= 1);
    node.stop().await;
}

#[test]
fn witness_configuration_is_checked() {
    let mut c = Config::default();
    c.witness.require = 1;
    assert!(c.validate().is_err(), "k above n");
    c.witness.require = 0;
    c.witness.witnesses = vec![WitnessPeer {
        url: "ftp://x".into(),
        key: witness_verifier().to_string(),
    }];
    assert!(c.validate().is_err(), "not http");
    c.witness.witnesses[0].url = "http://x".into();
    c.validate().unwrap();
    // A log key where a witness key is expected, and the other way round.
    c.witness.witnesses[0].key = log_signer().verifier().to_string();
    assert!(c.validate().is_err());
    c.witness.witnesses.clear();
    c.witness.logs = vec![WitnessedLog {
        origin: None,
        key: witness_verifier().to_string(),
    }];
    assert!(c.validate().is_err());
    let parsed = Config::from_toml(&format!(
        "[witness]\nrequire = 1\n[[witness.logs]]\nkey = \"{}\"\n[[witness.witnesses]]\nurl = \"http://127.0.0.1:1\"\nkey = \"{}\"\n",
        log_signer().verifier(),
        witness_verifier()
    ))
    .unwrap();
    parsed.validate().unwrap();
    assert_eq!(parsed.witness.logs.len(), 1);
}

#[tokio::test]
async fn a_node_learns_the_size_its_witness_holds_and_proves_from_it() {
    const A: &str = "log-a.example";
    const A_SEED: [u8; 32] = [21; 32];
    let (wdir, adir) = (tempdir(), tempdir());
    let mut wc = support::config(wdir.path());
    write_node_key(wdir.path(), WITNESS_SEED);
    wc.origin = WITNESS_ORIGIN.into();
    wc.witness.logs = vec![WitnessedLog {
        origin: None,
        key: NoteSigner::from_seed(name(A), &A_SEED)
            .verifier()
            .to_string(),
    }];
    let w = TestNode::start_with(wc).await;

    // Log A, not yet asking anyone, writes 5 statements; its checkpoint at
    // 5 is handed to the witness by someone else (a monitor, say).
    write_node_key(adir.path(), A_SEED);
    let mut ac = support::config(adir.path());
    ac.origin = A.into();
    let a = TestNode::start_with(ac.clone()).await;
    for n in 0..5 {
        assert_eq!(a.post(&announce(n, "learn")).await.0, 201);
    }
    let note = a.text("/v1/checkpoints/5").await;
    let (status, _, _) = add(&w.http, &w.url, body(0, &[], &note)).await;
    assert_eq!(status, 200);
    a.stop().await;

    // A restarts asking the witness: its first request (old 0) gets 409
    // naming 5, and it proves consistency from 5 to 7.
    ac.witness.witnesses = vec![WitnessPeer {
        url: w.url.clone(),
        key: witness_verifier().to_string(),
    }];
    let a = TestNode::start_with(ac.clone()).await;
    for n in 5..7 {
        assert_eq!(a.post(&announce(n, "learn")).await.0, 201);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, c) = a.get("/v1/checkpoint").await;
        if c["size"] == 7 && c["cosignatures"].as_array().unwrap().len() == 1 {
            let line = NoteSignature::parse(c["cosignatures"][0].as_str().unwrap()).unwrap();
            let checkpoint =
                Checkpoint::new(A, 7, Hash::from_hex(c["root"].as_str().unwrap()).unwrap())
                    .unwrap();
            witness_verifier()
                .verify_cosignature(&checkpoint, &line)
                .unwrap();
            break;
        }
        assert!(Instant::now() < deadline, "not cosigned: {c}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let conflicts = w.metric("kaitiaki_witness_conflicts_total").await;
    assert!(conflicts >= 1);
    let (_, info) = w.get("/v1/witness").await;
    assert_eq!(info["logs"][0]["size"], 7);
    a.stop().await;

    // Restarted again, A remembers that the witness holds 7: no 409 this time.
    let a = TestNode::start_with(ac).await;
    assert_eq!(a.post(&announce(7, "learn")).await.0, 201);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, c) = a.get("/v1/checkpoint").await;
        if c["size"] == 8 && c["cosignatures"].as_array().unwrap().len() == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "not cosigned: {c}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        w.metric("kaitiaki_witness_conflicts_total").await,
        conflicts
    );
    a.stop().await;
    w.stop().await;
}
