//! The log read as C2SP tlog-tiles: a client that has only the tiles and
//! the checkpoint recomputes the root the node signed.

use std::io::Read as _;
use std::time::{Duration, Instant};

use kaitiaki_protocol::checkpoint::VerifiedCheckpoint;
use kaitiaki_protocol::merkle::tiles::decode_bundle;
use kaitiaki_protocol::merkle::{leaf_hash, CompactRange};
use kaitiaki_protocol::note::NoteVerifier;
use kaitiaki_protocol::statement::{BodyCharter, DecisionRule, Member};
use kaitiaki_protocol::{Body, Envelope, Hash, Leaf, PublicKey, Statement};

use crate::federation::{log_key, start_mesh};
use crate::support::{announce, key, now, tempdir, TestNode, NETWORK, ORIGIN};

struct Fetched {
    status: u16,
    cache: String,
    encoding: Option<String>,
    body: Vec<u8>,
}

async fn fetch(node: &TestNode, path: &str, gzip: bool) -> Fetched {
    let mut req = node.http.get(node.at(path));
    if gzip {
        req = req.header("accept-encoding", "gzip");
    }
    let r = req.send().await.unwrap();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    Fetched {
        status: r.status().as_u16(),
        cache: header("cache-control").unwrap_or_default(),
        encoding: header("content-encoding"),
        body: r.bytes().await.unwrap().to_vec(),
    }
}

/// A tile or bundle that must be there, served as immutable.
async fn tile(node: &TestNode, path: &str) -> Vec<u8> {
    let f = fetch(node, path, false).await;
    assert_eq!(
        f.status,
        200,
        "GET {path}: {}",
        String::from_utf8_lossy(&f.body)
    );
    assert_eq!(f.cache, "public, max-age=31536000, immutable", "{path}");
    f.body
}

fn hashes(tile: &[u8]) -> Vec<Hash> {
    assert_eq!(tile.len() % 32, 0);
    tile.chunks_exact(32)
        .map(|h| Hash::from_slice(h).unwrap())
        .collect()
}

fn root_of(leaf_hashes: &[Hash]) -> Hash {
    let mut c = CompactRange::new();
    for h in leaf_hashes {
        c.push_with(*h, |_, _| {}).unwrap();
    }
    c.root()
}

async fn append(node: &TestNode, from: u64, n: u64) -> Vec<String> {
    let envs: Vec<_> = (from..from + n).map(|i| announce(i, "tiles")).collect();
    let body: Vec<_> = envs.iter().map(|e| e.to_dsse()).collect();
    let (status, answer) = node.post_raw(serde_json::to_vec(&body).unwrap()).await;
    assert_eq!(status, 200, "{answer}");
    envs.iter().map(|e| e.id().to_hex()).collect()
}

#[tokio::test]
async fn a_client_with_only_the_tiles_recomputes_the_signed_root() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let mut ids = append(&node, 0, 150).await;
    ids.extend(append(&node, 150, 150).await);
    let (size, _) = node.head().await;
    assert_eq!(size, 300);

    // The checkpoint, as a signed note the node's key opens.
    let (_, json) = node.get("/v1/checkpoint").await;
    let key = NoteVerifier::parse(json["verifier_key"].as_str().unwrap()).unwrap();
    let note = fetch(&node, "/tlog/checkpoint", false).await;
    assert_eq!(note.status, 200);
    assert_eq!(note.cache, "no-cache");
    assert_eq!(
        String::from_utf8(note.body.clone()).unwrap(),
        node.text("/v1/checkpoint/note").await
    );
    let checkpoint = VerifiedCheckpoint::open(&note.body, ORIGIN, &[key])
        .unwrap()
        .checkpoint()
        .clone();
    assert_eq!(checkpoint.size(), 300);

    // The community page points tools at the tiles.
    assert!(node.text("/").await.contains("href=\"/tlog/checkpoint\""));

    // 300 leaves: a full tile of leaf hashes and a partial one of 44; one
    // level up, a partial tile holding the hash of the first 256 leaves.
    let full = hashes(&tile(&node, "/tlog/tile/0/000").await);
    let rest = hashes(&tile(&node, "/tlog/tile/0/001.p/44").await);
    assert_eq!((full.len(), rest.len()), (256, 44));
    let all: Vec<Hash> = full.iter().chain(&rest).copied().collect();
    assert_eq!(&root_of(&all), checkpoint.root());
    let above = hashes(&tile(&node, "/tlog/tile/1/000.p/1").await);
    assert_eq!(above, vec![root_of(&full)]);

    // Each entry of a bundle hashes to its place in the level-0 tile, and
    // is a leaf holding the statements in the order they were sent.
    let mut in_bundles = Vec::new();
    for (path, tile_hashes) in [
        ("/tlog/tile/entries/000", &full),
        ("/tlog/tile/entries/001.p/44", &rest),
    ] {
        let bundle = tile(&node, path).await;
        let entries = decode_bundle(&bundle).unwrap();
        assert_eq!(entries.len(), tile_hashes.len(), "{path}");
        for (entry, h) in entries.iter().zip(tile_hashes.iter()) {
            assert_eq!(&leaf_hash(entry), h, "{path}");
            let leaf = Leaf::from_bytes(entry).unwrap();
            in_bundles.push(leaf.envelope().id().to_hex());
        }
    }
    assert_eq!(in_bundles, ids);

    // Bundles are compressed for clients that accept gzip; hashes are not.
    let gz = fetch(&node, "/tlog/tile/entries/000", true).await;
    assert_eq!(gz.encoding.as_deref(), Some("gzip"));
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(gz.body.as_slice())
        .read_to_end(&mut plain)
        .unwrap();
    assert_eq!(plain, tile(&node, "/tlog/tile/entries/000").await);
    assert!(gz.body.len() < plain.len());
    let hashes_gz = fetch(&node, "/tlog/tile/0/000", true).await;
    assert_eq!(hashes_gz.encoding, None);
    assert_eq!(hashes_gz.body.len(), 256 * 32);

    // What the published log does not hold yet is not found; what is not a
    // tile path at all is malformed.
    for path in [
        "/tlog/tile/0/001",
        "/tlog/tile/0/001.p/45",
        "/tlog/tile/0/002.p/1",
        "/tlog/tile/1/000",
        "/tlog/tile/1/000.p/2",
        "/tlog/tile/2/000.p/1",
        "/tlog/tile/8/000.p/1",
        "/tlog/tile/entries/001",
        "/tlog/tile/entries/001.p/45",
    ] {
        let (status, body) = node.get(path).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }
    for path in [
        "/tlog/tile/0/1",
        "/tlog/tile/00/000",
        "/tlog/tile/64/000",
        "/tlog/tile/0/x000/001",
        "/tlog/tile/0/000.p/256",
        "/tlog/tile/0/000.p/0",
        "/tlog/tile/entries/entries/000",
        "/tlog/tile/entries/1/000",
    ] {
        let (status, body) = node.get(path).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("malformed")),
            "{path}"
        );
    }

    // Tiles never change: after more leaves the partial tile served before
    // is the same, and the wider one it grows into begins with it.
    append(&node, 300, 10).await;
    assert_eq!(hashes(&tile(&node, "/tlog/tile/0/001.p/44").await), rest);
    let wider = hashes(&tile(&node, "/tlog/tile/0/001.p/54").await);
    assert_eq!(&wider[..44], rest.as_slice());
    node.stop().await;
}

#[tokio::test]
async fn a_leaf_too_long_for_a_bundle_is_refused_by_name() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    // A charter within the 64 KiB payload limit whose leaf is not within a
    // bundle's u16 length: its text is written with `\u` escapes, six bytes
    // to a character, which the author may do (the payload is signed as
    // written).
    let founder = key(1);
    let members: Vec<Member> = (0..14)
        .map(|i| Member {
            key: PublicKey::of(&key(100 + i)),
            role: "ROLE".into(),
        })
        .chain([Member {
            key: PublicKey::of(&founder),
            role: "founder".into(),
        }])
        .collect();
    let statement = Statement {
        network: NETWORK.into(),
        author: PublicKey::of(&founder),
        created_at: now(),
        body: Body::BodyCharter(BodyCharter {
            name: "A board with a long charter".into(),
            description: "DESCRIPTION".into(),
            home_log: ORIGIN.into(),
            members,
            rule: DecisionRule::Threshold { k: 1 },
            notice_days: 0,
        }),
    };
    let plain = String::from_utf8(statement.encode().unwrap()).unwrap();
    let escaped = |n: usize| "\\u0101".repeat(n);
    let role = escaped(200);
    let with_roles = plain.replace("\"ROLE\"", &format!("\"{role}\""));
    let room = 65_500 - (with_roles.len() - "DESCRIPTION".len());
    let payload = with_roles.replace("DESCRIPTION", &escaped(room / 6));
    assert!(
        payload.len() <= 65_536 && payload.len() > 65_400,
        "{}",
        payload.len()
    );
    let env = Envelope::sign_payload(&founder, payload.into_bytes());
    let (status, body) = node.post(&env).await;
    assert_eq!(status, 201, "{body}");
    assert!(Leaf::new(now(), env.clone()).to_bytes().len() > 65_535);

    // Its hash is in the tiles as any other; its bundle cannot be written.
    let hashes_tile = tile(&node, "/tlog/tile/0/000.p/1").await;
    assert_eq!(hashes_tile.len(), 32);
    let (status, body) = node.get("/tlog/tile/entries/000.p/1").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (501, Some("entry_too_large")),
        "{body}"
    );
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("leaf 0 is"), "{body}");
    assert!(message.contains("/v1/leaves/raw?start=0&limit=1"), "{body}");
    node.stop().await;
}

#[tokio::test]
async fn a_follower_serves_the_tiles_of_the_log_it_mirrors() {
    let origins = ["iwi.example", "agency.example"];
    let seeds = [[31u8; 32], [32u8; 32]];
    let dirs = [tempdir(), tempdir()];
    let nodes = start_mesh(&origins, &seeds, &dirs).await;
    let (source, follower) = (&nodes[0], &nodes[1]);
    append(source, 0, 150).await;
    append(source, 150, 150).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, peers) = follower.get("/v1/peers").await;
        if peers["peers"][0]["mirrored"] == 300 {
            break;
        }
        assert!(Instant::now() < deadline, "not mirrored: {peers}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The follower's copy is tile for tile the source's own.
    let mirror = "/tlog/mirrors/iwi.example";
    for tile_path in [
        "/tile/0/000",
        "/tile/0/001.p/44",
        "/tile/1/000.p/1",
        "/tile/entries/000",
        "/tile/entries/001.p/44",
    ] {
        let own = tile(source, &format!("/tlog{tile_path}")).await;
        let copy = tile(follower, &format!("{mirror}{tile_path}")).await;
        assert!(own == copy, "{tile_path} differs");
    }
    // Its checkpoint is the source's, opened with the source's key, and
    // the follower's tiles alone give its root.
    let key = NoteVerifier::parse(&log_key(origins[0], seeds[0])).unwrap();
    let note = fetch(follower, &format!("{mirror}/checkpoint"), false).await;
    assert_eq!((note.status, note.cache.as_str()), (200, "no-cache"));
    let copied = VerifiedCheckpoint::open(&note.body, origins[0], &[key]).unwrap();
    assert_eq!(copied.checkpoint().size(), 300);
    let mut leaves = hashes(&tile(follower, &format!("{mirror}/tile/0/000")).await);
    leaves.extend(hashes(
        &tile(follower, &format!("{mirror}/tile/0/001.p/44")).await,
    ));
    assert_eq!(&root_of(&leaves), copied.checkpoint().root());

    // Beyond what it holds, or of a log it does not copy: not found.
    for path in [
        format!("{mirror}/tile/0/001.p/45"),
        format!("{mirror}/tile/entries/001"),
        "/tlog/mirrors/other.example/checkpoint".to_owned(),
        "/tlog/mirrors/other.example/tile/0/000".to_owned(),
        "/tlog/mirrors/agency.example/tile/0/000".to_owned(),
        "/tlog/mirrors/..%2Fx/tile/0/000".to_owned(),
    ] {
        let (status, body) = follower.get(&path).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }
    let (status, body) = follower.get(&format!("{mirror}/tile/0/1")).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("malformed")));
    for n in nodes {
        n.stop().await;
    }
}
