//! `kaitiaki demo`: three federated nodes (iwi, Pacific, agency) that
//! replicate and witness each other; seeds once through the real API,
//! reuses its data on the next run and says so, starts afresh with
//! `--reset`, and leaves logs with requests in every state that audit
//! cleanly.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{eventually, get_json, Cli, NodeProc, BIN};

const LABELS: [&str; 3] = ["iwi", "Pacific", "agency"];
const AGENCY_ORIGIN: &str = "agency.demo.kaitiaki.localhost";

/// The three node URLs the demo printed, labelled iwi, Pacific, agency.
fn urls(text: &str) -> Vec<String> {
    LABELS
        .iter()
        .map(|label| {
            text.lines()
                .filter(|l| l.trim_start().starts_with(&format!("{label} ")))
                .find_map(|l| {
                    l.split_whitespace()
                        .find(|w| w.starts_with("http://127.0.0.1:"))
                })
                .unwrap_or_else(|| panic!("no {label} node URL printed: {text}"))
                .trim_end_matches('/')
                .to_owned()
        })
        .collect()
}

/// `GET url`'s status code.
fn status(url: &str) -> u16 {
    crate::support::rt()
        .block_on(async { reqwest::get(url).await.map_or(0, |r| r.status().as_u16()) })
}

fn demo(data: &std::path::Path, extra: &[&str]) -> String {
    let out = std::process::Command::new(BIN)
        .args(["demo", "--seed-only", "--port", "0", "--data"])
        .arg(data)
        .args(extra)
        .env_remove("KAITIAKI_NODE")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

#[test]
fn demo_seeds_once_reuses_and_resets() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let first = demo(&data, &[]);
    assert!(first.contains("Seeded the example"), "{first}");
    assert!(first.contains("http://127.0.0.1:"), "{first}");
    let printed = urls(&first);
    assert_eq!(printed.iter().collect::<BTreeSet<_>>().len(), 3, "{first}");
    assert!(
        first.contains("All three nodes agree on the governance state: "),
        "{first}"
    );
    for dir in ["iwi", "pacific", "agency"] {
        assert!(data.join(dir).join("node.key").exists(), "no {dir} node");
    }
    let again = demo(&data, &[]);
    assert!(again.contains("Reusing the example"), "{again}");
    // What it lists is told as seeded, not as it stands now.
    assert!(again.contains("(as the example was seeded"), "{again}");
    assert!(!first.contains("(as the example was seeded"), "{first}");

    // Every state the example promises is there, as the agency's node
    // derives it from its own log and its mirrors of the boards' logs. The
    // demo's logs have their own origins and network; a node serving the
    // agency's data must say so.
    let node = NodeProc::start_with(
        &data.join("agency"),
        &[
            ("KAITIAKI_ORIGIN", AGENCY_ORIGIN),
            ("KAITIAKI_NETWORK", "kaitiaki-demo"),
        ],
    );
    let cli = Cli::new(dir.path(), &node.url);
    let requests = cli.json(&["list", "requests"]);
    let states: BTreeSet<&str> = requests
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    for state in [
        "submitted",
        "approved",
        "declined",
        "under_review",
        "withdrawn",
        "suspended",
        "completed",
    ] {
        assert!(states.contains(state), "no {state} request: {states:?}");
    }
    // Statuses are typed as everywhere else on the command line.
    let deciding = cli.json(&["list", "requests", "--status", "under-review"]);
    let deciding = deciding.as_array().unwrap();
    assert!(!deciding.is_empty());
    assert!(deciding.iter().all(|r| r["status"] == "under_review"));
    let table = cli.ok(&["list", "requests", "--status", "under-review"]);
    assert!(table.contains("Being decided"), "{table}");
    assert_eq!(cli.json(&["list", "rahui"]).as_array().unwrap().len(), 1);
    // A board whose home is another node: what waits for it says to vote
    // there, at the address this node follows that node by.
    let bodies = cli.json(&["list", "bodies"]);
    let away = bodies
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b.to_string().contains("iwi"))
        .unwrap_or_else(|| panic!("no iwi board: {bodies}"));
    let waits = cli.ok(&["list", "waiting", "--body", away["id"].as_str().unwrap()]);
    assert!(
        waits.contains("Vote with: kaitiaki --node ")
            && waits.contains("(Votes are recorded on the board's home node, iwi"),
        "{waits}"
    );
    // `show` says why the suspended request is paused, naming the rāhui's
    // dataset and board, as the node's view of the request gives it.
    let suspended = requests
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "suspended")
        .unwrap();
    let suspended_id = suspended["id"].as_str().unwrap();
    let shown = cli.ok(&["show", suspended_id]);
    // The short id the pages show finds the same statement.
    let short = cli.ok(&["show", &suspended_id[..8]]);
    assert!(short.contains(suspended_id), "{short}");
    assert!(short.contains("suspended because:"), "{short}");
    assert!(
        shown.contains(
            "suspended because:\n  - a rāhui on Housing and income records (synthetic example) \
             placed by Te Poari Raraunga o Ngāti Tauira on "
        ),
        "{shown}"
    );
    assert!(
        shown.contains(": A hui-ā-iwi asked for a pause while whānau talk through consent"),
        "{shown}"
    );
    // The request asked for under that rāhui waits, and says why no board
    // can vote on it.
    let held = requests
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "submitted")
        .unwrap();
    let shown = cli.ok(&["show", held["id"].as_str().unwrap()]);
    assert!(
        shown.contains(
            "votes paused (no board can vote until each ends or is lifted):\n  - a rāhui on \
             Housing and income records (synthetic example)"
        ),
        "{shown}"
    );
    // Both concerns are open: the one the iwi board answered is about a
    // request the Pacific board governs too, and a concern stays open until
    // every governing body resolves it.
    assert_eq!(cli.json(&["list", "concerns"]).as_array().unwrap().len(), 2);
    // The story spans months, told in a minute on the nodes' shared clock:
    // the rangatahi study's second six-monthly report is overdue, and the
    // monitoring's next monthly report falls due within the coming weeks.
    let seeded: Value =
        serde_json::from_slice(&std::fs::read(data.join("seeded.json")).unwrap()).unwrap();
    let listed = |what: &str| -> Vec<String> {
        let items = cli.json(&["list", what]);
        let items = items.as_array().unwrap();
        items
            .iter()
            .map(|i| i["request"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        listed("overdue"),
        [seeded["ids"]["request.approved"].as_str().unwrap()]
    );
    assert_eq!(
        listed("due"),
        [seeded["ids"]["request.reports_due"].as_str().unwrap()]
    );
    // The monitoring was renewed for fewer days than asked, and a motion
    // to pause it was rejected: `show` tells both.
    let shown = cli.ok(&[
        "show",
        seeded["ids"]["request.reports_due"].as_str().unwrap(),
    ]);
    for want in [
        "renewals:\n  180 more days asked on ",
        ": approved by every board, for 90 more days\n",
        &format!("    renewal {}\n", seeded["ids"]["renewal.reports_due"].as_str().unwrap()),
        "motions on the approval:\n  Te Poari Raraunga o Ngāti Tauira to suspend the approval: rejected on ",
        &format!("    motion {}\n", seeded["ids"]["motion.rejected"].as_str().unwrap()),
        "status: Approved",
    ] {
        assert!(shown.contains(want), "{want:?} is not in:\n{shown}");
    }
    let submitted = |label: &str| -> i64 {
        let id = seeded["ids"][label].as_str().unwrap();
        let r = requests
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap();
        let at = r["submitted"]["at"].as_str().unwrap();
        kaitiaki_protocol::Timestamp::parse(at)
            .unwrap()
            .unix_millis()
    };
    // Day 12 and day 413 of the story, each a few seconds into its day.
    let gap = submitted("request.under_review") - submitted("request.approved");
    assert!(
        (gap - 401 * 86_400_000).abs() < 60_000,
        "{gap} ms between the first and last request, not 401 days"
    );
    // The housing data excludes the commercial kind of use by its name:
    // a commercial request for it is refused, naming no use at all.
    assert!(cli.run(&["keys", "new", "insurer"]).status.success());
    let housing = seeded["ids"]["dataset.housing"].as_str().unwrap();
    let refused = cli.run(&crate::story::request_args(
        "insurer",
        housing,
        "Premiums",
        "commercial",
    ));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(3), "{err}");
    assert!(err.contains("excluded_use"), "{err}");
    let audit = cli.json(&["log", "verify", &node.url]);
    assert_eq!(audit["result"], "ok", "{audit}");
    node.stop();

    let reset = demo(&data, &["--reset"]);
    assert!(reset.contains("Removed the old demo data"), "{reset}");
    assert!(reset.contains("Seeded the example"), "{reset}");
}

/// An old single-node demo directory is recognised, and `--reset` clears it.
#[test]
fn demo_says_how_to_leave_the_single_node_layout() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    std::fs::create_dir_all(data.join("node").join("log")).unwrap();
    std::fs::write(data.join("seeded.json"), "{}").unwrap();
    let out = Command::new(BIN)
        .args(["demo", "--seed-only", "--port", "0", "--data"])
        .arg(&data)
        .env_remove("KAITIAKI_NODE")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(text.contains("single-node demo"), "{text}");
    assert!(text.contains("kaitiaki demo --reset"), "{text}");
    let reset = demo(&data, &["--reset"]);
    assert!(reset.contains("Seeded the example"), "{reset}");
    assert!(!data.join("node").exists());
}

/// The running demo: three nodes that serve, follow each other, agree on
/// the governance state, serve each other's statements, and stop on Ctrl-C.
#[test]
fn demo_runs_three_federated_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let mut child = Command::new(BIN)
        .args(["demo", "--port", "0", "--data"])
        .arg(&data)
        .env_remove("KAITIAKI_NODE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    struct Guard(std::process::Child);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = child.stderr.take().unwrap();
    let mut child = Guard(child);
    let mut text = String::new();
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            let mut err = String::new();
            let _ = stderr.read_to_string(&mut err);
            panic!("the demo ended early: {text}{err}");
        }
        text.push_str(&line);
        if line.contains("Ctrl-C stops") {
            break;
        }
    }
    assert!(
        text.contains("replicate") || text.contains("mirror"),
        "{text}"
    );
    assert!(text.contains("witness"), "{text}");
    let urls = urls(&text);

    for url in &urls {
        assert_eq!(status(&format!("{url}/healthz")), 200, "{url}");
    }
    eventually("the three nodes agree on the state", || {
        let hashes: Vec<Value> = urls
            .iter()
            .map(|u| get_json(&format!("{u}/v1/state/hash")).map(|v| v["state_hash"].clone()))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        if hashes.iter().all(|h| h.is_string() && *h == hashes[0]) {
            Ok(())
        } else {
            Err(format!("{hashes:?}"))
        }
    });
    eventually("each node follows the other two", || {
        for url in &urls {
            let peers = get_json(&format!("{url}/v1/peers")).map_err(|e| e.to_string())?;
            let list = peers["peers"].as_array().cloned().unwrap_or_default();
            if list.len() != 2 || list.iter().any(|p| p["state"] != "following") {
                return Err(format!("{url}: {peers}"));
            }
        }
        Ok(())
    });
    // A second demo on the same data names the running one and touches
    // nothing, not even with --reset; auditing a node's data directory
    // while it runs says so in one sentence, with the URL to audit instead.
    let again = |extra: &[&str]| {
        let out = Command::new(BIN)
            .args(["demo", "--seed-only", "--port", "0", "--data"])
            .arg(&data)
            .args(extra)
            .env_remove("KAITIAKI_NODE")
            .env("KAITIAKI_HOME", dir.path().join("cli-home"))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    for extra in [&[][..], &["--reset"][..]] {
        let err = again(extra);
        assert!(err.contains("a demo is already running"), "{err}");
        for url in &urls {
            assert!(err.contains(url.as_str()), "{url} not in {err}");
        }
        assert!(!err.contains("Port "), "{err}");
    }
    assert!(data.join("seeded.json").exists());
    let out = Command::new(BIN)
        .args(["log", "verify"])
        .arg(data.join("iwi"))
        .env("KAITIAKI_HOME", dir.path().join("cli-home"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("is in use by a running node"), "{err}");
    assert!(
        err.contains(&format!("kaitiaki log verify {}", urls[0])),
        "{err}"
    );
    assert!(
        !err.contains("Os {") && !err.contains("WouldBlock"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // Without its record of where it runs, the databases' locks still
    // tell a second demo that the data is in use.
    std::fs::remove_file(data.join("running.json")).unwrap();
    let err = again(&[]);
    assert!(err.contains("a demo is already running"), "{err}");
    assert!(!err.contains("Os {"), "{err}");

    // A request sequenced on the agency's node, served by the iwi node
    // from its mirror.
    let seeded: Value =
        serde_json::from_slice(&std::fs::read(data.join("seeded.json")).unwrap()).unwrap();
    let request = seeded["ids"]["request.approved"].as_str().unwrap();
    let view = get_json(&format!("{}/v1/statements/{request}", urls[0])).unwrap();
    assert_eq!(view["log"], AGENCY_ORIGIN, "{view}");
    // The boards vote on their own nodes; the agency's overview still
    // shows their recent decisions on its requests, from its mirrors.
    let agency = urls
        .iter()
        .find(|u| {
            get_json(&format!("{u}/v1/checkpoint")).is_ok_and(|c| c["origin"] == AGENCY_ORIGIN)
        })
        .expect("the agency's node");
    let overview = crate::support::rt().block_on(async {
        reqwest::get(agency.as_str())
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    let decisions = overview
        .split_once("id=\"decisions\"")
        .and_then(|(_, rest)| rest.split_once("</section>"))
        .map(|(section, _)| section)
        .unwrap_or_default();
    for board in [
        "Te Poari Raraunga o Ngāti Tauira",
        "Pacific Data Governance Board",
    ] {
        assert!(decisions.contains(board), "{board} not in {decisions}");
    }

    let pid = child.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let exit = child.0.wait().unwrap();
    let mut err = String::new();
    let _ = stderr.read_to_string(&mut err);
    assert!(
        exit.success(),
        "the demo did not stop cleanly: {exit} {err}"
    );
    assert!(err.contains("Stopped."), "{err}");
}
