//! Federation: nodes that follow each other mirror each other's logs, fold
//! every log they hold into one governance state, and witness each other.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use kaitiaki_node::api::attachments::sign_request;
use kaitiaki_node::config::PeerConfig;
use kaitiaki_node::{Config, Node};
use kaitiaki_protocol::checkpoint::VerifiedCheckpoint;
use kaitiaki_protocol::cosignature::{require_cosignatures, CosignatureVerifier, Cosigner};
use kaitiaki_protocol::envelope::Dsse;
use kaitiaki_protocol::merkle::{leaf_hash, verify_inclusion};
use kaitiaki_protocol::note::{KeyName, NoteSigner};
use kaitiaki_protocol::statement::{
    BodyCharter, DatasetRegister, DecisionRule, Member, Sensitivity,
};
use kaitiaki_protocol::{Body, Envelope, Hash, Leaf, PublicKey, StatementId, Timestamp};
use serde_json::Value;

use crate::governance::{approve, env, ok, request};
use crate::recovery::spawn_crash_child;
use crate::support::{self, announce, key, now, tempdir, TestNode};

/// Writes a node key with a known seed, so its log key is known before it starts.
pub fn write_node_key(dir: &Path, seed: [u8; 32]) {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("node.key");
    std::fs::write(&path, format!("{}\n", hex::encode(seed))).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The log key text of a node with `origin` and `seed`.
pub fn log_key(origin: &str, seed: [u8; 32]) -> String {
    NoteSigner::from_seed(KeyName::new(origin).unwrap(), &seed)
        .verifier()
        .to_string()
}

/// Configurations for `n` nodes in `dirs`, each peering with every other,
/// listening on the given listeners' ports.
pub fn mesh(origins: &[&str], seeds: &[[u8; 32]], dirs: &[&Path], urls: &[String]) -> Vec<Config> {
    (0..origins.len())
        .map(|i| {
            write_node_key(dirs[i], seeds[i]);
            let mut c = support::config(dirs[i]);
            c.origin = origins[i].into();
            c.replication.poll_ms = 50;
            c.peers = (0..origins.len())
                .filter(|j| *j != i)
                .map(|j| PeerConfig::new(urls[j].clone(), log_key(origins[j], seeds[j])))
                .collect();
            c
        })
        .collect()
}

/// Starts a node for each of `origins` in `dirs`, each following all the
/// others (see [`mesh`]).
pub async fn start_mesh(
    origins: &[&str],
    seeds: &[[u8; 32]],
    dirs: &[tempfile::TempDir],
) -> Vec<TestNode> {
    let (ls, urls) = listeners(origins.len()).await;
    let paths: Vec<&Path> = dirs.iter().map(|d| d.path()).collect();
    let mut nodes = Vec::new();
    for (c, l) in mesh(origins, seeds, &paths, &urls).into_iter().zip(ls) {
        nodes.push(TestNode::start_on(c, l).await);
    }
    for n in &nodes {
        n.wait_for_peers_answer().await;
    }
    nodes
}

async fn get(http: &reqwest::Client, url: &str) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn two_nodes_mirror_each_other_and_agree_on_the_state() {
    let origins = ["iwi.example", "agency.example"];
    let seeds = [[21u8; 32], [22u8; 32]];
    let dirs = [tempdir(), tempdir()];
    let nodes = start_mesh(&origins, &seeds, &dirs).await;
    for (i, n) in nodes.iter().enumerate() {
        for k in 0..5u64 {
            let (status, body) = n.post(&announce(100 * i as u64 + k, "federation")).await;
            assert_eq!(status, 201, "{body}");
        }
    }
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let a = get(&http, &format!("{}/v1/state/hash", nodes[0].url)).await;
        let b = get(&http, &format!("{}/v1/state/hash", nodes[1].url)).await;
        let pa = get(&http, &format!("{}/v1/peers", nodes[0].url)).await;
        let pb = get(&http, &format!("{}/v1/peers", nodes[1].url)).await;
        // Each state covers its own five leaves and the other's five.
        let covers = |h: &serde_json::Value, other: &str| {
            h["size"] == 5 && h["mirrors"] == serde_json::json!({ other: 5 })
        };
        if a["state_hash"] == b["state_hash"]
            && covers(&a, "agency.example")
            && covers(&b, "iwi.example")
            && pa["peers"][0]["mirrored"] == 5
            && pb["peers"][0]["mirrored"] == 5
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no convergence: {a} {b} {pa} {pb}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for n in nodes {
        n.stop().await;
    }
}

/// GETs `url` as text.
async fn get_text(http: &reqwest::Client, url: &str) -> String {
    http.get(url).send().await.unwrap().text().await.unwrap()
}

/// Binds `n` loopback listeners and returns them with their URLs.
async fn listeners(n: usize) -> (Vec<tokio::net::TcpListener>, Vec<String>) {
    let mut ls = Vec::new();
    for _ in 0..n {
        ls.push(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
    }
    let urls = ls
        .iter()
        .map(|l| format!("http://{}", l.local_addr().unwrap()))
        .collect();
    (ls, urls)
}

/// Waits until `node` serves statement `id` (mirrored or its own).
async fn wait_for_statement(node: &TestNode, id: StatementId, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = node.get(&format!("/v1/statements/{id}")).await;
        if status == 200 {
            return;
        }
        let (_, peers) = node.get("/v1/peers").await;
        assert!(
            Instant::now() < deadline,
            "{} never served {what} {id}: {status} {body}; peers: {peers}",
            node.url
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A board charter with its own name, homed on `home`, threshold 1, no
/// notice period.
fn board(name: &str, home: &str, members: &[&SigningKey]) -> Body {
    Body::BodyCharter(BodyCharter {
        name: name.into(),
        description: format!("{name}, deciding on data about its people"),
        home_log: home.into(),
        members: members
            .iter()
            .map(|k| Member {
                key: PublicKey::of(k),
                role: "member".into(),
            })
            .collect(),
        rule: DecisionRule::Threshold { k: 1 },
        notice_days: 0,
    })
}

/// A dataset governed by every board in `boards`.
fn shared_dataset(boards: &[StatementId]) -> Body {
    Body::DatasetRegister(DatasetRegister {
        name: "Regional health survey".into(),
        description: "Survey answers from iwi and Pacific communities".into(),
        steward: "The agency".into(),
        governing_bodies: boards.to_vec(),
        labels: vec![],
        permitted_uses: vec!["DUO:0000042".into()],
        excluded_uses: vec!["DUO:0000046".into()],
        sensitivity: Sensitivity::Sensitive,
    })
}

#[tokio::test]
async fn three_nodes_converge_on_a_decision_of_two_boards() {
    let origins = ["iwi.example", "pacific.example", "agency.example"];
    let seeds = [[31u8; 32], [32; 32], [33; 32]];
    let dirs = [tempdir(), tempdir(), tempdir()];
    let nodes = start_mesh(&origins, &seeds, &dirs).await;
    let (iwi, pacific, agency) = (&nodes[0], &nodes[1], &nodes[2]);
    let (aroha, mere) = (key(601), key(602));
    let (sione, losa) = (key(611), key(612));
    let (steward, researcher) = (key(621), key(622));

    let iwi_board = ok(
        iwi,
        env(
            &aroha,
            board("Iwi data board", origins[0], &[&aroha, &mere]),
        ),
    )
    .await;
    let pacific_board = ok(
        pacific,
        env(
            &sione,
            board("Pacific data board", origins[1], &[&sione, &losa]),
        ),
    )
    .await;
    wait_for_statement(agency, iwi_board, "the iwi board").await;
    wait_for_statement(agency, pacific_board, "the Pacific board").await;
    let data = ok(
        agency,
        env(&steward, shared_dataset(&[iwi_board, pacific_board])),
    )
    .await;
    let req = ok(agency, env(&researcher, request(data, &["DUO:0000042"]))).await;

    wait_for_statement(iwi, req, "the request").await;
    let iwi_vote = env(&mere, approve(req, iwi_board));
    let iwi_vote_id = ok(iwi, iwi_vote.clone()).await;
    wait_for_statement(pacific, req, "the request").await;
    let pacific_vote_id = ok(pacific, env(&losa, approve(req, pacific_board))).await;

    // Every node folds all three logs into the same state.
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut hashes = Vec::new();
        let mut statuses = Vec::new();
        for n in &nodes {
            hashes.push(get(&http, &n.at("/v1/state/hash")).await["state_hash"].clone());
            let (_, r) = n.get(&format!("/v1/requests/{req}")).await;
            statuses.push(r["status"].clone());
        }
        let agree = hashes.iter().all(|h| *h == hashes[0] && h.is_string());
        if agree && statuses.iter().all(|s| s == "approved") {
            break;
        }
        let mut peers = Vec::new();
        for n in &nodes {
            peers.push(get(&http, &n.at("/v1/peers")).await);
        }
        assert!(
            Instant::now() < deadline,
            "no convergence: hashes {hashes:?}, statuses {statuses:?}, peers {peers:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for n in &nodes {
        for id in [
            iwi_board,
            pacific_board,
            data,
            req,
            iwi_vote_id,
            pacific_vote_id,
        ] {
            let (status, body) = n.get(&format!("/v1/statements/{id}")).await;
            assert_eq!(status, 200, "{} lacks {id}: {body}", n.url);
        }
    }

    // Each node's latest checkpoint (two statements in every log) carries
    // the other two nodes' cosignatures, checked with the protocol crate.
    for (i, n) in nodes.iter().enumerate() {
        let log = NoteSigner::from_seed(KeyName::new(origins[i]).unwrap(), &seeds[i]).verifier();
        let witnesses: Vec<CosignatureVerifier> = (0..3)
            .filter(|j| *j != i)
            .map(|j| Cosigner::from_seed(KeyName::new(origins[j]).unwrap(), &seeds[j]).verifier())
            .collect();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = get_text(&http, &n.at("/v1/checkpoint/note")).await;
            let opened =
                VerifiedCheckpoint::open(text.as_bytes(), origins[i], std::slice::from_ref(&log))
                    .unwrap_or_else(|e| {
                        panic!("{}: checkpoint does not open: {e}\n{text}", origins[i])
                    });
            let size = opened.checkpoint().size();
            let cosigned = require_cosignatures(opened.note(), &witnesses, 2);
            if size == 2 && cosigned.as_ref().is_ok_and(|c| c.len() == 2) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{}: the checkpoint of size {size} is not cosigned by both others \
                 ({:?}):\n{text}",
                origins[i],
                cosigned.map(|c| c.len())
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // The agency serves the iwi board's vote from its mirror, with a proof
    // against the iwi log's own signed checkpoint.
    let (status, view) = agency.get(&format!("/v1/statements/{iwi_vote_id}")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["log"], origins[0], "{view}");
    assert_eq!(view["id"], iwi_vote_id.to_hex(), "{view}");
    let iwi_log = NoteSigner::from_seed(KeyName::new(origins[0]).unwrap(), &seeds[0]).verifier();
    let note = view["checkpoint"].as_str().unwrap();
    let opened = VerifiedCheckpoint::open(note.as_bytes(), origins[0], &[iwi_log])
        .unwrap_or_else(|e| panic!("the iwi checkpoint does not open: {e}\n{note}"));
    let root = *opened.checkpoint().root();
    let size = opened.checkpoint().size();
    assert_eq!(view["proof"]["size"], size, "{view}");
    assert_eq!(view["proof"]["root"], root.to_hex(), "{view}");
    let dsse: Dsse = serde_json::from_value(view["envelope"].clone()).unwrap();
    let envelope = Envelope::from_dsse(&dsse).unwrap();
    assert_eq!(envelope.id(), iwi_vote.id());
    let sequenced_at = Timestamp::parse(view["sequenced_at"].as_str().unwrap()).unwrap();
    let leaf = Leaf::new(sequenced_at, envelope).to_bytes();
    let hash = leaf_hash(&leaf);
    assert_eq!(view["leaf_hash"], hash.to_hex(), "{view}");
    let proof: Vec<Hash> = serde_json::from_value(view["proof"]["hashes"].clone()).unwrap();
    let index = view["proof"]["index"].as_u64().unwrap();
    assert_eq!(view["index"], index, "{view}");
    verify_inclusion(&hash, index, size, &proof, &root)
        .unwrap_or_else(|e| panic!("the inclusion proof does not verify: {e:?}\n{view}"));

    for n in nodes {
        n.stop().await;
    }
}

#[tokio::test]
async fn a_vote_sent_to_the_wrong_node_is_refused_with_a_routing_hint() {
    let origins = ["iwi.example", "agency.example"];
    let seeds = [[41u8; 32], [42; 32]];
    let dirs = [tempdir(), tempdir()];
    let nodes = start_mesh(&origins, &seeds, &dirs).await;
    let (iwi, agency) = (&nodes[0], &nodes[1]);
    let (aroha, steward, researcher) = (key(701), key(702), key(703));
    let charter = env(&aroha, board("Iwi data board", origins[0], &[&aroha]));
    let iwi_board = ok(iwi, charter.clone()).await;
    wait_for_statement(agency, iwi_board, "the iwi board").await;
    // The charter itself, already in its home log and mirrored here, is
    // refused here too: a copy in this log would break the home-log rule
    // for anyone who follows this node but not the iwi's.
    let (status, body) = agency.post(&charter).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (421, Some("wrong_home_log")),
        "{body}"
    );
    assert_eq!(agency.head().await.0, 0, "the copy was sequenced");
    let data = ok(agency, env(&steward, shared_dataset(&[iwi_board]))).await;
    let req = ok(agency, env(&researcher, request(data, &["DUO:0000042"]))).await;

    let before = agency.head().await;
    let (status, body) = agency.post(&env(&aroha, approve(req, iwi_board))).await;
    assert_eq!(status, 421, "{body}");
    assert_eq!(body["code"], "wrong_home_log", "{body}");
    assert_eq!(body["home_log"], origins[0], "{body}");
    assert_eq!(body["home_url"], iwi.url, "{body}");
    assert_eq!(
        agency.head().await,
        before,
        "a refused vote changed the log"
    );
    assert_eq!(
        before.0, 2,
        "the agency log holds the dataset and the request"
    );

    for n in nodes {
        n.stop().await;
    }
}

/// The mirror `origin` in `GET /v1/mirrors`.
fn mirror_of<'a>(mirrors: &'a Value, origin: &str) -> Option<&'a Value> {
    mirrors["mirrors"]
        .as_array()?
        .iter()
        .find(|m| m["origin"] == origin)
}

#[tokio::test]
async fn a_follower_restarted_mid_replication_catches_up_without_duplicates() {
    const TOTAL: u64 = 3000;
    let (a_origin, b_origin) = ("source.example", "follower.example");
    let (a_seed, b_seed) = ([51u8; 32], [52u8; 32]);
    let (a_dir, b_dir) = (tempdir(), tempdir());
    write_node_key(a_dir.path(), a_seed);
    let mut ac = support::config(a_dir.path());
    ac.origin = a_origin.into();
    let a = TestNode::start_with(ac).await;

    let envs: Vec<Envelope> = (0..TOTAL)
        .map(|n| announce(10_000 + n, "restart"))
        .collect();
    for chunk in envs.chunks(500) {
        let body: Vec<_> = chunk.iter().map(|e| e.to_dsse()).collect();
        let (status, answer) = a.post_raw(serde_json::to_vec(&body).unwrap()).await;
        assert_eq!(status, 200, "{answer}");
        let results = answer["results"].as_array().unwrap();
        assert_eq!(results.len(), chunk.len());
        assert!(results.iter().all(|r| r["status"] == "created"), "{answer}");
    }
    assert_eq!(a.head().await.0, TOTAL);

    write_node_key(b_dir.path(), b_seed);
    let b_config = |peer_url: &str| {
        let mut c = support::config(b_dir.path());
        c.origin = b_origin.into();
        c.replication.poll_ms = 50;
        c.replication.batch_leaves = 100;
        let mut p = PeerConfig::new(peer_url, log_key(a_origin, a_seed));
        p.witness = false;
        c.peers = vec![p];
        c
    };

    // First run: stopped as soon as part of A's log is mirrored. (Until
    // the node waits for its followers when it stops, reopening right after
    // can fail now and then with a held lock; see the stalled-peer test.)
    let b = TestNode::start_with(b_config(&a.url)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let seen = loop {
        let (_, peers) = b.get("/v1/peers").await;
        let mirrored = peers["peers"][0]["mirrored"].as_u64().unwrap_or(0);
        if mirrored > 0 {
            assert!(
                mirrored < TOTAL,
                "the follower mirrored everything before it could be stopped: {peers}"
            );
            break mirrored;
        }
        assert!(Instant::now() < deadline, "nothing mirrored: {peers}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    b.stop().await;
    assert!(
        b_dir
            .path()
            .join("mirrors")
            .join(a_origin)
            .join("log")
            .is_dir(),
        "no mirror directory for {a_origin}"
    );

    // While A is out of reach, the restarted follower shows exactly what
    // the first run made durable.
    let dead_url = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let b = TestNode::start_with(b_config(&dead_url)).await;
    let (_, peers) = b.get("/v1/peers").await;
    let durable = peers["peers"][0]["mirrored"].as_u64().unwrap();
    assert!(
        durable >= seen && durable < TOTAL,
        "the first run showed {seen} mirrored, the restart holds {durable}: {peers}"
    );
    let (_, mirrors) = b.get("/v1/mirrors").await;
    assert_eq!(
        mirror_of(&mirrors, a_origin).map(|m| m["size"].clone()),
        Some(durable.into()),
        "{mirrors}"
    );
    assert_eq!(b.metric("kaitiaki_replicated_leaves_total").await, 0);
    b.stop().await;

    // Restarted with A reachable: it catches up to exactly A's size.
    let b = TestNode::start_with(b_config(&a.url)).await;
    let a_log = NoteSigner::from_seed(KeyName::new(a_origin).unwrap(), &a_seed).verifier();
    let a_hash = a.get("/v1/state/hash").await.1["state_hash"].clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, peers) = b.get("/v1/peers").await;
        let (_, mirrors) = b.get("/v1/mirrors").await;
        let (_, hash) = b.get("/v1/state/hash").await;
        let mirror = mirror_of(&mirrors, a_origin);
        let held = mirror.and_then(|m| {
            let note = m["checkpoint"].as_str()?;
            let opened =
                VerifiedCheckpoint::open(note.as_bytes(), a_origin, std::slice::from_ref(&a_log));
            Some(opened.unwrap().checkpoint().size())
        });
        if peers["peers"][0]["mirrored"] == TOTAL
            && mirror.is_some_and(|m| m["size"] == TOTAL)
            && held == Some(TOTAL)
            && hash["state_hash"] == a_hash
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no catch-up: peers {peers}, mirror {mirror:?}, checkpoint size {held:?}, \
             state {hash} vs {a_hash}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Only the remainder was fetched again: nothing twice.
    let again = b.metric("kaitiaki_replicated_leaves_total").await;
    assert_eq!(again, TOTAL - durable, "leaves stored after the restart");
    assert!(again <= TOTAL - seen);
    assert_eq!(
        b.metric("kaitiaki_peer_mirrored_leaves{origin=\"source.example\"}")
            .await,
        TOTAL
    );
    assert_eq!(
        b.head().await.0,
        0,
        "the follower has no statements of its own"
    );
    let segments = std::fs::read_dir(b_dir.path().join("mirrors").join(a_origin).join("log"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "seg")
        })
        .count();
    assert!(
        segments > 0,
        "the mirror of {a_origin} has no segment files"
    );
    b.stop().await;
    a.stop().await;
}

/// `POST /v1/peers?url=…&key=…` to `node`, signed with `signer` if any.
async fn add_peer(
    node: &TestNode,
    origin: &str,
    signer: Option<&SigningKey>,
    url: &str,
    key: &str,
) -> (u16, Value) {
    add_peer_at(&node.http, &node.url, origin, signer, url, key).await
}

/// [`add_peer`] to the node at `base`.
async fn add_peer_at(
    http: &reqwest::Client,
    base: &str,
    origin: &str,
    signer: Option<&SigningKey>,
    url: &str,
    key: &str,
) -> (u16, Value) {
    let mut target = reqwest::Url::parse(&format!("{base}/v1/peers")).unwrap();
    target
        .query_pairs_mut()
        .append_pair("url", url)
        .append_pair("key", key);
    let path = format!("{}?{}", target.path(), target.query().unwrap());
    let mut req = http.post(target);
    if let Some(k) = signer {
        req = req.header(
            "Kaitiaki-Signature",
            sign_request(k, origin, "POST", &path, now()),
        );
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Waits until `follower` mirrors `n` leaves of `origin` and agrees with
/// `source` on the state.
pub async fn wait_mirrored(follower: &TestNode, source: &TestNode, origin: &str, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, peers) = follower.get("/v1/peers").await;
        let (_, a) = source.get("/v1/state/hash").await;
        let (_, b) = follower.get("/v1/state/hash").await;
        let peer = peers["peers"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["origin"] == origin));
        if peer.is_some_and(|p| p["mirrored"] == n) && a["state_hash"] == b["state_hash"] {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{origin} not mirrored up to {n}: peers {peers}, state {a} vs {b}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_peer_added_at_run_time_is_followed_remembered_and_removed() {
    let (a_origin, b_origin) = ("alpha.example", "beta.example");
    let (a_seed, b_seed) = ([61u8; 32], [62u8; 32]);
    let (a_dir, b_dir) = (tempdir(), tempdir());
    let start = |dir: &Path, origin: &str, seed: [u8; 32]| {
        write_node_key(dir, seed);
        let mut c = support::config(dir);
        c.origin = origin.into();
        c.replication.poll_ms = 50;
        c
    };
    let a = TestNode::start_with(start(a_dir.path(), a_origin, a_seed)).await;
    let b = TestNode::start_with(start(b_dir.path(), b_origin, b_seed)).await;
    for n in 0..3 {
        let (status, body) = a.post(&announce(800 + n, "run time")).await;
        assert_eq!(status, 201, "{body}");
    }
    let (_, peers) = b.get("/v1/peers").await;
    assert_eq!(peers["peers"], serde_json::json!([]), "{peers}");

    let b_key = SigningKey::from_bytes(&b_seed);
    let a_key = log_key(a_origin, a_seed);
    let (status, body) = add_peer(&b, b_origin, None, &a.url, &a_key).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    let (status, body) = add_peer(&b, b_origin, Some(&key(899)), &a.url, &a_key).await;
    assert_eq!(status, 403, "{body}");
    let (_, peers) = b.get("/v1/peers").await;
    assert_eq!(
        peers["peers"],
        serde_json::json!([]),
        "refused adds changed the peers: {peers}"
    );

    let (status, body) = add_peer(&b, b_origin, Some(&b_key), &a.url, &a_key).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["origin"], a_origin, "{body}");
    assert_eq!(body["url"], a.url, "{body}");
    assert_eq!(
        (&body["witness"], &body["configured"]),
        (&Value::Bool(true), &Value::Bool(false)),
        "{body}"
    );
    let (status, body) = add_peer(&b, b_origin, Some(&b_key), &a.url, &a_key).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["origin"], a_origin, "{body}");
    wait_mirrored(&b, &a, a_origin, 3).await;
    let (_, peers) = b.get("/v1/peers").await;
    assert_eq!(peers["peers"].as_array().unwrap().len(), 1, "{peers}");
    b.stop().await;

    // After a restart (no peers in its configuration), B still follows A.
    for n in 3..5 {
        let (status, body) = a.post(&announce(800 + n, "run time")).await;
        assert_eq!(status, 201, "{body}");
    }
    let b = TestNode::start_with(start(b_dir.path(), b_origin, b_seed)).await;
    wait_mirrored(&b, &a, a_origin, 5).await;
    let (_, peers) = b.get("/v1/peers").await;
    assert_eq!(peers["peers"].as_array().unwrap().len(), 1, "{peers}");
    assert_eq!(peers["peers"][0]["url"], a.url, "{peers}");
    let witnessed = |w: &Value| {
        w["logs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["origin"] == a_origin)
    };
    assert!(witnessed(&b.get("/v1/witness").await.1), "B witnesses A");

    // Removing it takes the node's own key, and an origin it follows.
    let (status, body) = remove_peer(&b, b_origin, None, a_origin).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    let (status, body) = remove_peer(&b, b_origin, Some(&key(899)), a_origin).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    let (status, body) = remove_peer(&b, b_origin, Some(&b_key), "gamma.example").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    assert_eq!(
        b.get("/v1/peers").await.1["peers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Removed: no longer followed or witnessed, and what was copied stays
    // and still counts.
    let hash = b.get("/v1/state/hash").await.1["state_hash"].clone();
    let (status, body) = remove_peer(&b, b_origin, Some(&b_key), a_origin).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["origin"].as_str(), body["mirrored"].as_u64()),
        (Some(a_origin), Some(5))
    );
    // Still listed, as removed, with the key its copy was checked under.
    let removed = |peers: &Value| {
        let p = &peers["peers"];
        p.as_array().map(Vec::len) == Some(1)
            && p[0]["state"] == "removed"
            && p[0]["key"] == a_key.as_str()
            && p[0]["mirrored"] == 5
    };
    let (_, peers) = b.get("/v1/peers").await;
    assert!(removed(&peers), "{peers}");
    assert!(
        !witnessed(&b.get("/v1/witness").await.1),
        "B no longer witnesses A"
    );
    for n in 5..7 {
        let (status, body) = a.post(&announce(800 + n, "run time")).await;
        assert_eq!(status, 201, "{body}");
    }
    // Forty polling intervals: a follower still running would have copied them.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let (_, mirrors) = b.get("/v1/mirrors").await;
    assert_eq!(
        mirror_of(&mirrors, a_origin).map(|m| m["size"].clone()),
        Some(5.into()),
        "{mirrors}"
    );
    assert_eq!(b.get("/v1/state/hash").await.1["state_hash"], hash);
    let (status, body) = remove_peer(&b, b_origin, Some(&b_key), a_origin).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    b.stop().await;

    // Not after a restart either.
    let b = TestNode::start_with(start(b_dir.path(), b_origin, b_seed)).await;
    let (_, peers) = b.get("/v1/peers").await;
    assert!(removed(&peers), "{peers}");
    assert!(!witnessed(&b.get("/v1/witness").await.1), "{peers}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, mirrors) = b.get("/v1/mirrors").await;
    assert_eq!(
        mirror_of(&mirrors, a_origin).map(|m| m["size"].clone()),
        Some(5.into()),
        "not followed after a restart: {mirrors}"
    );
    // The community page still names the log whose records count here.
    let page = b.text("/").await;
    assert!(
        page.contains("no longer followed, as this node&#39;s operator decided: ")
            || page.contains("no longer followed, as this node's operator decided: "),
        "{page}"
    );
    assert!(
        page.contains("5 records copied and checked before then, which are kept and still count"),
        "{page}"
    );
    // Not under another key: the copy kept was checked under this one.
    let other_key = log_key(a_origin, [69u8; 32]);
    let (status, body) = add_peer(&b, b_origin, Some(&b_key), &a.url, &other_key).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("peer_conflict")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("only under the same key"),
        "{body}"
    );
    // Added again, it carries on from what was copied.
    let (status, body) = add_peer(&b, b_origin, Some(&b_key), &a.url, &a_key).await;
    assert_eq!(status, 201, "{body}");
    wait_mirrored(&b, &a, a_origin, 7).await;
    let (_, peers) = b.get("/v1/peers").await;
    assert_eq!(peers["peers"].as_array().map(Vec::len), Some(1), "{peers}");
    assert_eq!(peers["peers"][0]["state"], "following", "{peers}");
    assert!(
        witnessed(&b.get("/v1/witness").await.1),
        "B witnesses A again"
    );
    b.stop().await;

    // A peer the configuration names is removed from the configuration.
    let mut c = start(b_dir.path(), b_origin, b_seed);
    c.peers = vec![PeerConfig::new(&a.url, &a_key)];
    let b = TestNode::start_with(c).await;
    let (status, body) = remove_peer(&b, b_origin, Some(&b_key), a_origin).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("peer_conflict")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("[[peers]]"),
        "{body}"
    );
    assert_eq!(b.get("/v1/peers").await.1["peers"][0]["configured"], true);
    assert_eq!(
        b.get("/v1/peers").await.1["peers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    b.stop().await;
    a.stop().await;
}

/// `DELETE /v1/peers/{origin}` to `node`, signed with `signer` if any.
async fn remove_peer(
    node: &TestNode,
    origin: &str,
    signer: Option<&SigningKey>,
    peer: &str,
) -> (u16, Value) {
    let path = format!("/v1/peers/{peer}");
    let mut req = node.http.delete(node.at(&path));
    if let Some(k) = signer {
        req = req.header(
            "Kaitiaki-Signature",
            sign_request(k, origin, "DELETE", &path, now()),
        );
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A peer added at run time is remembered even when the node is killed
/// the moment it answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_added_at_run_time_survives_a_crash() {
    let (a_origin, a_seed, b_seed) = ("alpha.example", [63u8; 32], [64u8; 32]);
    let (a_dir, b_dir) = (tempdir(), tempdir());
    write_node_key(a_dir.path(), a_seed);
    let mut c = support::config(a_dir.path());
    c.origin = a_origin.into();
    let a = TestNode::start_with(c).await;
    write_node_key(b_dir.path(), b_seed);
    let (mut child, port) = spawn_crash_child(b_dir.path()).await;
    let (status, body) = add_peer_at(
        &reqwest::Client::new(),
        &format!("http://127.0.0.1:{port}"),
        support::ORIGIN,
        Some(&SigningKey::from_bytes(&b_seed)),
        &a.url,
        &log_key(a_origin, a_seed),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    child.kill().unwrap();
    child.wait().unwrap();

    let b = TestNode::start(b_dir.path()).await;
    let (_, peers) = b.get("/v1/peers").await;
    assert_eq!(peers["peers"][0]["origin"], a_origin, "{peers}");
    b.stop().await;
    a.stop().await;
}

/// Waits until `node`'s latest checkpoint carries a valid cosignature of
/// the witness with `origin` and `seed` (checked with the protocol crate).
async fn wait_cosigned(node: &TestNode, origin: &str, seed: [u8; 32], by: &str, by_seed: [u8; 32]) {
    let log = NoteSigner::from_seed(KeyName::new(origin).unwrap(), &seed).verifier();
    let witness = Cosigner::from_seed(KeyName::new(by).unwrap(), &by_seed).verifier();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = get_text(&node.http, &node.at("/v1/checkpoint/note")).await;
        if let Ok(opened) =
            VerifiedCheckpoint::open(text.as_bytes(), origin, std::slice::from_ref(&log))
        {
            if require_cosignatures(opened.note(), std::slice::from_ref(&witness), 1).is_ok() {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{origin}'s checkpoint never carried {by}'s cosignature: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn peers_added_at_run_time_witness_each_other_at_once_and_after_a_restart() {
    let (a_origin, b_origin) = ("gamma.example", "delta.example");
    let (a_seed, b_seed) = ([63u8; 32], [64u8; 32]);
    let (a_dir, b_dir) = (tempdir(), tempdir());
    let config = |dir: &Path, origin: &str, seed: [u8; 32]| {
        write_node_key(dir, seed);
        let mut c = support::config(dir);
        c.origin = origin.into();
        c.replication.poll_ms = 50;
        c
    };
    let a = TestNode::start_with(config(a_dir.path(), a_origin, a_seed)).await;
    let b = TestNode::start_with(config(b_dir.path(), b_origin, b_seed)).await;
    let (status, body) = add_peer(
        &a,
        a_origin,
        Some(&SigningKey::from_bytes(&a_seed)),
        &b.url,
        &log_key(b_origin, b_seed),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = add_peer(
        &b,
        b_origin,
        Some(&SigningKey::from_bytes(&b_seed)),
        &a.url,
        &log_key(a_origin, a_seed),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    for (i, n) in [&a, &b].into_iter().enumerate() {
        // Keys made before their logs: a peer added before the first
        // statement is asked what it holds of the log first.
        n.wait_for_peers_answer().await;
        let (status, body) = n.post(&announce(850 + i as u64, "witnessed")).await;
        assert_eq!(status, 201, "{body}");
    }
    wait_cosigned(&a, a_origin, a_seed, b_origin, b_seed).await;
    wait_cosigned(&b, b_origin, b_seed, a_origin, a_seed).await;

    // The stored peer is a witness again after a restart.
    b.stop().await;
    let b = TestNode::start_with(config(b_dir.path(), b_origin, b_seed)).await;
    // Its key came before its log; if its peer had not answered what it
    // holds of that log before the stop, the node asks again first.
    b.wait_for_peers_answer().await;
    let (status, body) = b.post(&announce(852, "witnessed")).await;
    assert_eq!(status, 201, "{body}");
    wait_cosigned(&b, b_origin, b_seed, a_origin, a_seed).await;
    let (_, info) = b.get("/v1/witness").await;
    assert!(
        info["logs"]
            .as_array()
            .is_some_and(|logs| logs.iter().any(|l| l["origin"] == a_origin)),
        "{info}"
    );
    b.stop().await;
    a.stop().await;
}

/// In front of a real node: serves its checkpoint note, holds no copy of
/// the follower's own log (404), but never answers a request for leaves
/// (and tells when one arrives).
async fn stalling_proxy(
    source: String,
) -> (
    String,
    Arc<tokio::sync::Notify>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let asked = Arc::new(tokio::sync::Notify::new());
    let notify = Arc::clone(&asked);
    let router = axum::Router::new()
        .route(
            "/v1/checkpoint/note",
            axum::routing::get(move || {
                let source = source.clone();
                async move {
                    get_text(
                        &reqwest::Client::new(),
                        &format!("{source}/v1/checkpoint/note"),
                    )
                    .await
                }
            }),
        )
        .route(
            "/tlog/mirrors/{origin}/checkpoint",
            axum::routing::get(|| async { axum::http::StatusCode::NOT_FOUND }),
        )
        .fallback(move || {
            notify.notify_one();
            std::future::pending::<String>()
        });
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, asked, task)
}

// A follower task must not keep the node's storage open across its
// network calls once the node stops: the data directory must be free again.
#[tokio::test]
async fn a_node_stopped_while_a_peer_stalls_releases_its_data_directory() {
    let (a_origin, b_origin) = ("stalled-source.example", "stalled-follower.example");
    let (a_seed, b_seed) = ([71u8; 32], [72u8; 32]);
    let (a_dir, b_dir) = (tempdir(), tempdir());
    write_node_key(a_dir.path(), a_seed);
    let mut ac = support::config(a_dir.path());
    ac.origin = a_origin.into();
    let a = TestNode::start_with(ac).await;
    for n in 0..5 {
        let (status, body) = a.post(&announce(900 + n, "stall")).await;
        assert_eq!(status, 201, "{body}");
    }
    let (proxy, asked, proxy_task) = stalling_proxy(a.url.clone()).await;

    write_node_key(b_dir.path(), b_seed);
    let b_config = || {
        let mut c = support::config(b_dir.path());
        c.origin = b_origin.into();
        c.replication.poll_ms = 50;
        let mut p = PeerConfig::new(proxy.clone(), log_key(a_origin, a_seed));
        p.witness = false;
        c.peers = vec![p];
        c
    };
    let b = TestNode::start_with(b_config()).await;
    // The follower has A's checkpoint and now waits for leaves that never come.
    tokio::time::timeout(Duration::from_secs(30), asked.notified())
        .await
        .expect("the follower never asked for leaves");
    let (_, peers) = b.get("/v1/peers").await;
    assert_eq!(peers["peers"][0]["remote_size"], 5, "{peers}");
    assert_eq!(peers["peers"][0]["mirrored"], 0, "{peers}");
    b.stop().await;

    let config = b_config();
    let reopened = tokio::task::spawn_blocking(move || Node::open(config))
        .await
        .unwrap();
    match reopened {
        Ok(node) => tokio::task::spawn_blocking(move || node.close())
            .await
            .unwrap()
            .unwrap(),
        Err(e) => panic!(
            "the stopped node still holds its data directory, so it cannot be opened \
             again: {e}"
        ),
    }
    proxy_task.abort();
    a.stop().await;
}

/// A node's configuration in `dir`, with its key written there, polling
/// its `peers` fast.
fn node_config(dir: &Path, origin: &str, seed: [u8; 32], peers: Vec<PeerConfig>) -> Config {
    write_node_key(dir, seed);
    let mut c = support::config(dir);
    c.origin = origin.into();
    c.replication.poll_ms = 50;
    c.peers = peers;
    c
}

/// Posts `n` announcements to `node`, numbered from `first`; their ids.
async fn announcements(node: &TestNode, first: u64, n: u64, tag: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for k in first..first + n {
        let (status, body) = node.post(&announce(k, tag)).await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    ids
}

/// Node A, holding `n` announcements numbered from `first`, and node B
/// following it (without witnessing), stopped once its copy holds them
/// all: A, the ids, and B's configuration to start it again.
async fn copied(
    (a_dir, a_origin, a_seed): (&Path, &str, [u8; 32]),
    (b_dir, b_origin, b_seed): (&Path, &str, [u8; 32]),
    (first, n): (u64, u64),
) -> (TestNode, Vec<String>, Config) {
    let a = TestNode::start_with(node_config(a_dir, a_origin, a_seed, vec![])).await;
    let ids = announcements(&a, first, n, a_origin).await;
    let mut peer = PeerConfig::new(&a.url, log_key(a_origin, a_seed));
    peer.witness = false;
    let b_config = node_config(b_dir, b_origin, b_seed, vec![peer]);
    let b = TestNode::start_with(b_config.clone()).await;
    wait_mirrored(&b, &a, a_origin, n).await;
    b.stop().await;
    (a, ids, b_config)
}

/// A damaged hash in a mirror's tree files: the node serves no proof made
/// from it (`500 tree_damaged`, naming that mirror's tree files), serves
/// those it can stand by, and `/healthz` names the mirror while staying
/// healthy: its own log is not affected.
#[tokio::test]
async fn a_proof_from_a_damaged_mirror_tree_is_not_served() {
    let (a_origin, b_origin) = ("mirror-a.example", "mirror-b.example");
    let (a_seed, b_seed) = ([81u8; 32], [82u8; 32]);
    let (a_dir, b_dir) = (tempdir(), tempdir());
    let (a, ids, b_config) = copied(
        (a_dir.path(), a_origin, a_seed),
        (b_dir.path(), b_origin, b_seed),
        (900, 6),
    )
    .await;

    // Leaf 1's hash in B's copy: the proof of leaf 0 uses it, that of
    // leaf 4 does not, and the copy's right edge (made of the hashes of
    // leaves 0–3 and 4–5) does not either.
    let path = b_dir
        .path()
        .join("mirrors")
        .join(a_origin)
        .join("tree")
        .join("level-00");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[40] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();

    let b = TestNode::start_with(b_config.clone()).await;
    let (status, body) = b.get(&format!("/v1/statements/{}", ids[4])).await;
    assert_eq!(status, 200, "{body}");
    for _ in 0..2 {
        let (status, body) = b.get(&format!("/v1/statements/{}", ids[0])).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (500, Some("tree_damaged")),
            "{body}"
        );
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("mirrors/{a_origin}/tree/")),
            "{message}"
        );
    }
    let (status, health) = b.get("/healthz").await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(
        health["damaged_mirrors"],
        serde_json::json!([a_origin]),
        "{health}"
    );
    let (_, health) = a.get("/healthz").await;
    assert!(health.get("damaged_mirrors").is_none(), "{health}");
    b.stop().await;
    a.stop().await;
}

/// A follower killed after its copy of a peer's leaves was synced but
/// before the commit that held the peer's checkpoint: recovery re-indexes
/// the leaves from the segments, which hold no checkpoint. The next round
/// makes the peer's checkpoint of that size complete again (its root
/// checked against the copy), so the statements there are served with
/// their proofs, not said to be unknown until the peer writes again.
#[tokio::test]
async fn a_copy_recovered_after_a_crash_is_complete_again_without_new_leaves() {
    let (a_origin, b_origin) = ("recover-a.example", "recover-b.example");
    let (a_seed, b_seed) = ([83u8; 32], [84u8; 32]);
    let (a_dir, b_dir) = (tempdir(), tempdir());
    let a = TestNode::start_with(node_config(a_dir.path(), a_origin, a_seed, vec![])).await;
    let mut peer = PeerConfig::new(&a.url, log_key(a_origin, a_seed));
    peer.witness = false;
    let b_config = node_config(b_dir.path(), b_origin, b_seed, vec![peer]);
    let mut ids = announcements(&a, 950, 3, "recovered copy").await;
    let b = TestNode::start_with(b_config.clone()).await;
    wait_mirrored(&b, &a, a_origin, 3).await;
    b.stop().await;
    let saved = tempdir();
    crate::recovery::copy_dir(&b_dir.path().join("db"), saved.path());
    let b = TestNode::start_with(b_config.clone()).await;
    ids.extend(announcements(&a, 953, 3, "recovered copy").await);
    wait_mirrored(&b, &a, a_origin, 6).await;
    b.stop().await;
    // The database as it was before the last three leaves were committed.
    std::fs::remove_dir_all(b_dir.path().join("db")).unwrap();
    crate::recovery::copy_dir(saved.path(), &b_dir.path().join("db"));

    let b = TestNode::start_with(b_config.clone()).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = b.get(&format!("/v1/statements/{}", ids[4])).await;
        if status == 200 {
            assert_eq!(body["log"], a_origin, "{body}");
            assert_eq!(body["index"], 4, "{body}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the recovered copy's statement is still not served: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, mirrors) = b.get("/v1/mirrors").await;
    let m = mirror_of(&mirrors, a_origin).expect("the mirror");
    assert_eq!(m["size"], 6, "{mirrors}");
    b.stop().await;
    a.stop().await;
}

/// A record damaged in a copy of a peer's log, met by a read: the node
/// serves nothing from it and `/healthz` names the copy under
/// `damaged_mirrors`, staying healthy (its own log is not affected).
#[tokio::test]
async fn a_damaged_record_in_a_copy_is_named_at_healthz() {
    let (a_origin, b_origin) = ("copy-a.example", "copy-b.example");
    let (a_seed, b_seed) = ([85u8; 32], [86u8; 32]);
    let (a_dir, b_dir) = (tempdir(), tempdir());
    let (a, ids, b_config) = copied(
        (a_dir.path(), a_origin, a_seed),
        (b_dir.path(), b_origin, b_seed),
        (970, 4),
    )
    .await;
    let log = b_dir.path().join("mirrors").join(a_origin).join("log");
    let segment = std::fs::read_dir(&log)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "seg"))
        .expect("a segment");
    let mut bytes = std::fs::read(&segment).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    std::fs::write(&segment, bytes).unwrap();

    let b = TestNode::start_with(b_config.clone()).await;
    let mut refused = 0;
    for id in &ids {
        let (status, _) = b.get(&format!("/v1/statements/{id}")).await;
        refused += usize::from(status != 200);
    }
    assert_eq!(refused, 1, "one record is damaged");
    let (status, health) = b.get("/healthz").await;
    assert_eq!((status, &health["status"]), (200, &"ok".into()), "{health}");
    assert_eq!(
        health["damaged_mirrors"],
        serde_json::json!([a_origin]),
        "{health}"
    );
    b.stop().await;
    a.stop().await;
}
