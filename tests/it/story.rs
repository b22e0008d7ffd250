//! The main story, end to end through the real CLI and a real node: two
//! boards, a dataset, a request, votes, approval, a report — every step
//! visible over the API and through `kaitiaki show` — then a full audit,
//! and audits of tampered copies that must fail and name the place.

use std::path::Path;

use kaitiaki_node::storage::Storage;
use kaitiaki_protocol::merkle::Subtree;

use crate::support::{checkpoint, copy_dir, get_json, get_text, Cli, NodeProc};

/// Two boards co-governing one dataset, as the CLI's people.
pub struct Boards {
    /// The iwi board's charter id.
    pub iwi: String,
    /// The Pacific board's charter id.
    pub pacific: String,
    /// The dataset's id.
    pub dataset: String,
}

/// Where most stories start: a node of its own, a CLI home beside it, and
/// [`two_boards`] on it. Bind every field (`dir: _dir` when unused), so
/// the node stops before its directory goes.
pub struct Scene {
    /// The directory holding the node's data and the CLI's home.
    pub dir: tempfile::TempDir,
    /// The node.
    pub node: NodeProc,
    /// The CLI, pointed at it.
    pub cli: Cli,
    /// The boards and their dataset.
    pub b: Boards,
}

/// A new [`Scene`].
pub fn scene() -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProc::start(&dir.path().join("node"));
    let cli = Cli::new(dir.path(), &node.url);
    let b = two_boards(&cli);
    Scene { dir, node, cli, b }
}

/// Founds an iwi board (2 of 3) and a Pacific board (majority, quorum 2)
/// and registers a dataset both govern, which excludes commercial use.
pub fn two_boards(cli: &Cli) -> Boards {
    for k in [
        "iwi-1",
        "iwi-2",
        "iwi-3",
        "pac-1",
        "pac-2",
        "pac-3",
        "steward",
        "researcher",
    ] {
        cli.key(k);
    }
    let iwi = cli.say(&[
        "--key",
        "iwi-1",
        "body",
        "create",
        "--name",
        "Te Poari Raraunga o Ngāti Tauira",
        "--description",
        "The iwi's data board.",
        "--member",
        "iwi-1:chair",
        "--member",
        "iwi-2",
        "--member",
        "iwi-3",
        "--rule",
        "threshold:2",
    ]);
    let pacific = cli.say(&[
        "--key",
        "pac-1",
        "body",
        "create",
        "--name",
        "Pacific Data Board",
        "--description",
        "Pacific communities' data board.",
        "--member",
        "pac-1:chair",
        "--member",
        "pac-2",
        "--member",
        "pac-3",
        "--rule",
        "majority:2",
    ]);
    let dataset = cli.say(&[
        "--key",
        "steward",
        "dataset",
        "register",
        "--name",
        "Wellbeing survey (synthetic)",
        "--description",
        "Linked survey records.",
        "--steward",
        "Ministry of Example",
        "--body",
        &iwi,
        "--body",
        &pacific,
        "--sensitivity",
        "sensitive",
        "--exclude",
        "custom:commercial-use",
        "--label",
        "TK_A=Attribution",
    ]);
    Boards {
        iwi,
        pacific,
        dataset,
    }
}

/// Submits a research request for the dataset as `researcher`.
pub fn request(cli: &Cli, dataset: &str, title: &str) -> String {
    request_with_uses(cli, dataset, title, &[])
}

/// The arguments of `request submit` by the local key `key`, of the use
/// category `category`, naming no uses.
pub fn request_args<'a>(
    key: &'a str,
    dataset: &'a str,
    title: &'a str,
    category: &'a str,
) -> Vec<&'a str> {
    vec![
        "--key",
        key,
        "request",
        "submit",
        "--title",
        title,
        "--dataset",
        dataset,
        "--purpose",
        "Understand service access for rangatahi.",
        "--use-category",
        category,
        "--duration-days",
        "365",
        "--setting",
        "Secure data lab",
        "--people",
        "Two accredited researchers",
        "--benefit",
        "Better services",
        "--outputs-plan",
        "Aggregate tables, reviewed",
    ]
}

/// [`request`], asking for the given uses.
pub fn request_with_uses(cli: &Cli, dataset: &str, title: &str, uses: &[&str]) -> String {
    let mut args = request_args("researcher", dataset, title, "research");
    for u in uses {
        args.extend(["--use", u]);
    }
    cli.say(&args)
}

/// A table of requests names the people in it by what they announced,
/// with the start of their key; `--json` keeps the node's listing.
#[test]
fn lists_name_people_by_what_they_announced() {
    let Scene {
        dir: _dir,
        node,
        cli,
        b,
    } = scene();
    request(&cli, &b.dataset, "Rangatahi and services");
    let listed = cli.ok(&["list", "requests"]);
    assert!(!listed.contains("Dr Kahu Ngata"), "{listed}");
    cli.say(&[
        "--key",
        "researcher",
        "keys",
        "announce",
        "--display-name",
        "Dr Kahu Ngata",
        "--affiliation",
        "University of Example",
    ]);
    let listed = cli.ok(&["list", "requests"]);
    assert!(listed.contains("Dr Kahu Ngata ("), "{listed}");
    let json = cli.json(&["list", "requests"]);
    assert!(!json.to_string().contains("Dr Kahu Ngata"), "{json}");
    // The start of the requester's key, as the table and the pages show
    // it, finds their requests; digits no requester's key begins with are
    // said to match nobody, not taken for a key name to make.
    let key = json[0]["requester"].as_str().unwrap().to_owned();
    let by_start = cli.json(&["list", "requests", "--requester", &key[..8]]);
    assert_eq!(by_start, json, "{by_start}");
    let nobody = if key.starts_with("0000") {
        "ffffffff"
    } else {
        "00000000"
    };
    let out = cli.run(&["list", "requests", "--requester", nobody]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains(&format!("begins with {nobody}"))
            && !err.contains("keys new"),
        "{err}"
    );
    // Filtered by the dataset it asks for, it is there; by a dataset the
    // node does not hold (here, the request's own id), the mistake is said.
    let by_dataset = cli.json(&["list", "requests", "--dataset", &b.dataset]);
    assert_eq!(by_dataset.as_array().map(Vec::len), Some(1), "{by_dataset}");
    let request_id = by_dataset[0]["id"].as_str().unwrap().to_owned();
    let out = cli.run(&["list", "requests", "--dataset", &request_id]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() == Some(1)
            && err.contains(&format!("holds no dataset {request_id}"))
            && err.contains("kaitiaki list datasets"),
        "{err}"
    );
    node.stop();
}

/// A member who votes again is told which earlier vote the new one
/// replaces; only a member's latest vote counts.
#[test]
fn a_second_vote_says_which_it_replaces() {
    let Scene {
        dir: _dir,
        node,
        cli,
        b,
    } = scene();
    let req = request(&cli, &b.dataset, "Rangatahi and services");
    let (req_id, pacific) = (req.as_str(), b.pacific.as_str());
    let vote = move |choice: &'static str| {
        [
            "--key",
            "pac-1",
            "vote",
            req_id,
            choice,
            "--body",
            pacific,
            "--reason",
            "Thought again.",
        ]
    };
    let first = cli.json(&vote("approve"));
    assert!(first.get("replaces").is_none(), "{first}");
    let second = cli.json(&vote("abstain"));
    assert_eq!(second["replaces"]["id"], first["id"], "{second}");
    assert_eq!(second["replaces"]["choice"], "approve", "{second}");
    let said = cli.ok(&vote("decline"));
    assert!(
        said.contains("It replaces your earlier vote (Abstain, "),
        "{said}"
    );
    // The request's history marks the two replaced votes, in `show` and
    // on the community page, and not the one that counts.
    let shown = cli.ok(&["show", &req]);
    assert_eq!(
        shown.matches("[replaced by a later vote]").count(),
        2,
        "{shown}"
    );
    let page = get_text(&format!("{}/requests/{req}", node.url));
    assert_eq!(
        page.matches("Replaced by this member&#39;s later vote")
            .count()
            + page.matches("Replaced by this member's later vote").count(),
        2,
        "{page}"
    );
    // Another member's vote replaces nothing.
    let other = cli.json(&[
        "--key", "pac-2", "vote", &req, "approve", "--body", &b.pacific, "--reason", "Sound.",
    ]);
    assert!(other.get("replaces").is_none(), "{other}");
    node.stop();
}

/// The researcher asks to renew the approval of `req` for 60 more days.
fn renew(cli: &Cli, req: &str) -> String {
    cli.say(&[
        "--key",
        "researcher",
        "renew",
        req,
        "--extra-days",
        "60",
        "--reason",
        "The linkage took longer.",
    ])
}

/// A vote says what became of what it was cast on: not decided yet, or
/// decided by this very vote; and a second vote on a renewal says which
/// vote it replaces, as one on a request does.
#[test]
fn a_vote_says_whether_it_decided_and_what_it_replaces_on_a_renewal() {
    let Scene {
        dir: _dir,
        node,
        cli,
        b,
    } = scene();
    let req = request(&cli, &b.dataset, "Rangatahi and services");
    let vote = |key: &str, subject: &str, choice: &str, body: &str| {
        cli.ok(&[
            "--key", key, "vote", subject, choice, "--body", body, "--reason", "Agreed.",
        ])
    };
    // A mistyped board is said to be unknown, not a board that does not
    // govern the request.
    let mut typo = b.iwi.clone();
    typo.replace_range(63.., if b.iwi.ends_with('0') { "1" } else { "0" });
    let out = cli.run(&[
        "--key", "iwi-1", "vote", &req, "approve", "--body", &typo, "--reason", "Agreed.",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains(&format!("holds no board {typo}")),
        "{err}"
    );
    let first = vote("iwi-1", &req, "approve", &b.iwi);
    assert!(first.contains("has not answered yet."), "{first}");
    let second = vote("iwi-2", &req, "approve", &b.iwi);
    assert!(
        second.contains("With this vote, ") && second.contains("reached its answer: Approved."),
        "{second}"
    );
    vote("pac-1", &req, "approve", &b.pacific);
    vote("pac-2", &req, "approve", &b.pacific);
    // On a request another board has declined, a vote decides nothing,
    // and says so.
    let other = request(&cli, &b.dataset, "Declined first");
    vote("iwi-1", &other, "decline", &b.iwi);
    vote("iwi-2", &other, "decline", &b.iwi);
    let late = vote("pac-1", &other, "approve", &b.pacific);
    assert!(
        late.contains(
            "The request is declined already, so this vote is recorded but decides nothing."
        ),
        "{late}"
    );
    let renewal = renew(&cli, &req);
    let first = cli.json(&[
        "--key", "iwi-1", "vote", &renewal, "approve", "--body", &b.iwi, "--reason", "Yes.",
    ]);
    assert!(first.get("replaces").is_none(), "{first}");
    assert!(
        first["outcome"]
            .as_str()
            .is_some_and(|o| o.contains("has not answered the renewal yet")),
        "{first}"
    );
    let again = vote("iwi-1", &renewal, "decline", &b.iwi);
    assert!(
        again.contains("It replaces your earlier vote (Approve, "),
        "{again}"
    );
    node.stop();
}

/// After approval, through the CLI: the researcher asks to renew
/// (`kaitiaki renew`), the boards grant fewer days than asked, a board
/// carries a motion to revoke (`kaitiaki revoke`), and `show` tells it all,
/// each vote saying what it decided.
#[test]
fn a_renewal_and_a_revocation_through_the_cli() {
    let Scene {
        dir: _dir,
        node,
        cli,
        b,
    } = scene();
    let req = request(&cli, &b.dataset, "Rangatahi and services");
    let vote = |key: &str, subject: &str, body: &str, extra: &[&str]| {
        let mut args = vec![
            "--key", key, "vote", subject, "approve", "--body", body, "--reason", "Agreed.",
        ];
        args.extend(extra);
        cli.say(&args)
    };
    for (key, body) in [
        ("iwi-1", &b.iwi),
        ("iwi-2", &b.iwi),
        ("pac-1", &b.pacific),
        ("pac-2", &b.pacific),
    ] {
        vote(key, &req, body, &[]);
    }
    let renewal = renew(&cli, &req);
    // Each board sees the renewal waiting for its vote.
    let waiting = |body: &str| cli.ok(&["list", "waiting", "--body", body]);
    let waits = cli.json(&["list", "waiting", "--body", &b.iwi]);
    assert_eq!(waits["renewals"][0]["id"], renewal.as_str(), "{waits}");
    let listed = waiting(&b.pacific);
    // The start of the board's id, as the pages show it, does as well.
    assert_eq!(waiting(&b.pacific[..8]), listed);
    assert!(
        listed.contains(&format!(
            "  {renewal}  60 more days of “Rangatahi and services”, asked "
        )),
        "{listed}"
    );
    vote("iwi-1", &renewal, &b.iwi, &[]);
    vote("iwi-2", &renewal, &b.iwi, &[]);
    let waits = cli.json(&["list", "waiting", "--body", &b.iwi]);
    assert_eq!(
        waits["renewals"],
        serde_json::json!([]),
        "answered: {waits}"
    );
    vote("pac-1", &renewal, &b.pacific, &[]);
    let mut capped = vec![
        "--key",
        "pac-2",
        "vote",
        &renewal,
        "approve-with-conditions",
    ];
    capped.extend(["--body", &b.pacific, "--reason", "Thirty days is enough."]);
    capped.extend(["--condition", "expires-after-days:30"]);
    let deciding = cli.say(&capped);
    let motion = cli.say(&[
        "--key",
        "iwi-1",
        "revoke",
        &req,
        "--body",
        &b.iwi,
        "--reason",
        "Tables were shared before review.",
    ]);
    let listed = waiting(&b.iwi);
    assert!(
        listed.contains(&format!(
            "  {motion}  to revoke the approval of “Rangatahi and services”, proposed "
        )),
        "{listed}"
    );
    vote("iwi-1", &motion, &b.iwi, &[]);
    vote("iwi-2", &motion, &b.iwi, &[]);
    let listed = waiting(&b.iwi);
    assert!(listed.starts_with("Nothing waits for "), "{listed}");

    let shown = cli.ok(&["show", &req]);
    for want in [
        "status: Revoked",
        "renewals:\n  60 more days asked on ",
        ": approved by every board, for 30 more days\n",
        &format!("    renewal {renewal}\n"),
        "motions on the approval:\n  ",
        " to revoke the approval: carried on ",
        &format!("    motion {motion}\n"),
    ] {
        assert!(shown.contains(want), "{want:?} is not in:\n{shown}");
    }
    let shown = cli.ok(&["show", &renewal]);
    assert!(
        shown.contains("asked for 60 more days of access.")
            && shown.contains("Every board approved the renewal, for 30 more days."),
        "{shown}"
    );
    let shown = cli.ok(&["show", &deciding]);
    assert!(
        shown.contains("on the renewal asking for 60 more days.")
            && shown.contains("reached its answer to the renewal: Approved."),
        "{shown}"
    );
    let shown = cli.ok(&["show", &motion]);
    assert!(
        shown.contains("proposed that ")
            && shown.contains(" revoke the approval.")
            && shown.contains("The board carried the motion on "),
        "{shown}"
    );
    node.stop();
}

/// `show` tells a board member which uses a request asks for beyond those
/// its dataset lists as permitted, naming the dataset; a request within
/// them says nothing of it.
#[test]
fn show_names_uses_beyond_a_datasets_permitted_ones() {
    let Scene {
        dir: _dir,
        node,
        cli,
        b,
    } = scene();
    let dataset = cli.say(&[
        "--key",
        "steward",
        "dataset",
        "register",
        "--name",
        "Clinic visits (synthetic)",
        "--description",
        "Visits to community clinics.",
        "--steward",
        "Ministry of Example",
        "--body",
        &b.iwi,
        "--sensitivity",
        "restricted",
        "--permit",
        "DUO:0000042",
    ]);
    let wider = request_with_uses(
        &cli,
        &dataset,
        "Clinic reach",
        &["DUO:0000042", "DUO:0000007"],
    );
    let shown = cli.ok(&["show", &wider]);
    assert!(
        shown.contains(
            "uses beyond those a dataset lists as permitted (the boards decide):\n  - Clinic visits \
             (synthetic): asks for DUO:0000007; it lists DUO:0000042\n"
        ),
        "{shown}"
    );
    let within = request_with_uses(&cli, &dataset, "Clinic reach", &["DUO:0000042"]);
    let shown = cli.ok(&["show", &within]);
    assert!(!shown.contains("uses beyond"), "{shown}");
    node.stop();
}

fn statement(url: &str, id: &str) -> serde_json::Value {
    get_json(&format!("{url}/v1/statements/{id}")).unwrap_or_else(|e| panic!("statement {id}: {e}"))
}

#[test]
fn request_is_voted_approved_reported_and_the_log_audits() {
    let Scene { dir, node, cli, b } = scene();
    let req = request(&cli, &b.dataset, "Rangatahi and services");

    let mut steps = vec![
        b.iwi.clone(),
        b.pacific.clone(),
        b.dataset.clone(),
        req.clone(),
    ];
    for (key, body) in [
        ("iwi-1", &b.iwi),
        ("iwi-2", &b.iwi),
        ("pac-1", &b.pacific),
        ("pac-2", &b.pacific),
    ] {
        let mut args = vec![
            "--key",
            key,
            "vote",
            &req,
            "approve",
            "--body",
            body,
            "--reason",
            "Sound plan.",
        ];
        if key == "iwi-1" {
            args.extend([
                "--condition",
                "report-every:6",
                "--condition",
                "findings-returned",
            ]);
        }
        let vote = cli.json(&args);
        assert_eq!(vote["kind"], "vote");
        assert_eq!(vote["status"], "created");
        steps.push(vote["id"].as_str().unwrap().to_owned());
    }
    // Approved with a report every six months: the first is due then,
    // and the API and `kaitiaki show` say so.
    let view = get_json(&format!("{}/v1/requests/{req}", node.url)).unwrap();
    let approved = view["record"]["approval"]["approved"]["at"]
        .as_str()
        .unwrap();
    let next = &view["next_report"];
    assert_eq!(next["kind"], "periodic", "{view}");
    assert!(next["due"].as_str().unwrap() > approved, "{view}");
    let shown = cli.ok(&["show", &req]);
    assert!(shown.contains("next report due:"), "{shown}");
    assert!(shown.contains("(regular report)"), "{shown}");
    // It is coming due within the next 200 days, not the next 30.
    let listed = |days: &str| -> Vec<String> {
        let items = cli.json(&["list", "due", "--days", days]);
        items
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["request"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(listed("200"), vec![req.clone()]);
    let table = cli.ok(&["list", "due", "--days", "200"]);
    for want in [
        req.as_str(),
        "regular",
        &next["due"].as_str().unwrap()[..10],
    ] {
        assert!(table.contains(want), "{want} not in {table}");
    }
    assert!(listed("30").is_empty());
    let refused = cli.run(&["list", "due", "--days", "400"]);
    assert!(!refused.status.success(), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("1..=366"),
        "{refused:?}"
    );
    // The node refuses such a window too, with a stable code.
    let (status, body) = crate::support::rt().block_on(async {
        let r = reqwest::get(format!("{}/v1/reports/due?within_days=400", node.url))
            .await
            .unwrap();
        (
            r.status().as_u16(),
            r.json::<serde_json::Value>().await.unwrap(),
        )
    });
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("malformed")),
        "{body}"
    );
    let report = cli.say(&[
        "--key",
        "researcher",
        "report",
        "file",
        &req,
        "--kind",
        "periodic",
        "--summary",
        "Tables produced in the lab.",
        "--benefit",
        "Shared at a hui.",
    ]);
    steps.push(report.clone());

    // Every step is in the log, in order, with a proof, over the API.
    for (i, id) in steps.iter().enumerate() {
        let s = statement(&node.url, id);
        assert_eq!(s["index"].as_u64(), Some(i as u64), "{id}");
        assert_eq!(s["id"].as_str(), Some(id.as_str()));
        assert!(s["proof"]["hashes"].is_array());
    }
    // The node's governance view: approved, with the whole story in order.
    let view = get_json(&format!("{}/v1/requests/{req}", node.url)).unwrap();
    assert_eq!(view["status"], "approved", "{view}");
    // The one periodic report a year of access asks for is filed.
    assert!(view["next_report"].is_null(), "{view}");
    let timeline: Vec<&str> = view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        timeline,
        steps[4..].iter().map(String::as_str).collect::<Vec<_>>()
    );

    // `kaitiaki show` checks and shows each step.
    let shown = cli.ok(&["show", &req]);
    assert!(shown.contains("request.submit"), "{shown}");
    assert!(
        shown.contains("verified    signature, id, and inclusion"),
        "{shown}"
    );
    assert!(shown.contains("Rangatahi and services"), "{shown}");
    assert!(shown.contains("status: Approved"), "{shown}");
    // The approval's conditions, in the pages' words, and when access ends.
    assert!(
        shown.contains("Report back every 6 months on how the data is used."),
        "{shown}"
    );
    assert!(shown.contains("access ends: "), "{shown}");
    let vote = cli.json(&["show", &steps[4]]);
    assert_eq!(vote["kind"], "vote");
    assert_eq!(vote["body"]["choice"], "approve_with_conditions");
    // A vote, shown to a person, says what it is part of, in words, and
    // whether it decided its board's answer.
    let deciding: Vec<(String, String)> = view["record"]["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let name = get_json(&format!(
                "{}/v1/bodies/{}",
                node.url,
                d["body"].as_str().unwrap()
            ))
            .unwrap()["record"]["name"]
                .as_str()
                .unwrap()
                .to_owned();
            (d["decision"]["vote"].as_str().unwrap().to_owned(), name)
        })
        .collect();
    assert_eq!(deciding.len(), 2, "{view}");
    for id in &steps[4..steps.len() - 1] {
        let shown = cli.ok(&["show", id]);
        assert!(
            shown.contains("part of the request “Rangatahi and services”")
                && shown.contains(&format!("kaitiaki show {req}")),
            "{shown}"
        );
        assert!(shown.contains(", on the request."), "{shown}");
        match deciding.iter().find(|(v, _)| v == id) {
            Some((_, board)) => assert!(
                shown.contains(&format!(
                    "With this vote, {board} reached its answer: Approved."
                )),
                "{shown}"
            ),
            None => assert!(
                shown.contains("Another vote reached ") && shown.contains("'s answer: Approved."),
                "{shown}"
            ),
        }
    }
    let shown = cli.json(&["show", &report]);
    assert_eq!(shown["kind"], "report.file");
    assert_eq!(shown["index"].as_u64(), Some(steps.len() as u64 - 1));

    // A full audit over HTTP passes, and so do the proofs.
    let audit = cli.json(&["log", "verify", &node.url]);
    assert_eq!(audit["result"], "ok", "{audit}");
    assert_eq!(audit["leaves_checked"].as_u64(), Some(steps.len() as u64));
    assert_eq!(audit["remembered"], true, "{audit}");
    let proved = cli.ok(&["log", "proof", "inclusion", &req]);
    assert_eq!(cli.ok(&["log", "proof", "inclusion", &req[..12]]), proved);
    cli.ok(&["log", "proof", "consistency", "2"]);

    // Stopped, the data directory audits too; then tampered copies fail.
    let size = checkpoint(&node.url).0;
    node.stop();
    let data = dir.path().join("node");
    let audit = cli.json(&["log", "verify", data.to_str().unwrap()]);
    assert_eq!(audit["result"], "ok", "{audit}");
    assert!(audit["counts"]["stored_hashes"].as_u64().unwrap() >= size);
    assert!(
        audit["counts"]["checkpoints"].as_u64().unwrap() >= 2,
        "{audit}"
    );

    // One flipped byte inside the last stored leaf.
    let leaf_copy = dir.path().join("leaf-tampered");
    copy_dir(&data, &leaf_copy);
    let segment = leaf_copy.join("log").join("00000000000000000000.seg");
    let len = std::fs::metadata(&segment).unwrap().len();
    flip(&segment, len - 20);
    let out = cli.run(&[
        "log",
        "verify",
        "--no-remember",
        leaf_copy.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("first fault  leaf {}", size - 1)),
        "{text}"
    );
    assert!(text.contains("checksum"), "{text}");

    // A node whose segment is gone refuses to start, and says what to do.
    let lost_copy = dir.path().join("segment-lost");
    copy_dir(&data, &lost_copy);
    std::fs::remove_file(lost_copy.join("log").join("00000000000000000000.seg")).unwrap();
    let out = cli.run(&[
        "node",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data",
        lost_copy.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    for told in [
        "no segment files",
        "kaitiaki log verify",
        "restore the data directory from a backup",
        "holds a verified copy of it, in the same files (mirrors/<origin>/log",
    ] {
        assert!(err.contains(told), "{err}");
    }

    // One flipped byte in a stored tree hash (the pair of leaves 2 and 3).
    let summary = audit_tampered(&cli, &data, &dir.path().join("tree-tampered"), |copy| {
        flip_tree_hash(copy, Subtree::new(1, 1))
    });
    assert_eq!(summary["result"], "fault");
    let place = summary["fault"]["place"].as_str().unwrap();
    assert!(
        place.contains("stored tree hash (level 1, index 1), covering leaves 2..3"),
        "{place}"
    );

    // The database's id index pointing leaf 2's statement at leaf 4.
    let summary = audit_tampered(&cli, &data, &dir.path().join("index-tampered"), |copy| {
        repoint_id_index(copy, 2, 4)
    });
    assert_eq!(summary["fault"]["leaf"], 2, "{summary}");
    assert_eq!(summary["fault"]["place"], "the database's id index");
    let why = summary["fault"]["why"].as_str().unwrap();
    assert!(why.contains("at leaf 4"), "{why}");
    assert!(why.contains("move db/"), "{why}");

    // A stored checkpoint replaced by an earlier one.
    let mut later = 0;
    let summary = audit_tampered(
        &cli,
        &data,
        &dir.path().join("checkpoint-tampered"),
        |copy| later = swap_in_earlier_checkpoint(copy),
    );
    assert_eq!(summary["fault"]["leaf"], later - 1, "{summary}");
    assert_eq!(
        summary["fault"]["place"],
        format!("stored checkpoint at size {later}")
    );
    // The empty log's checkpoint, kept since the first start, is checked
    // too: one of a later size stored in its place is found.
    let summary = audit_tampered(
        &cli,
        &data,
        &dir.path().join("empty-checkpoint-tampered"),
        |copy| {
            let storage = Storage::open(copy, 1 << 20).unwrap();
            let (_, first) = storage
                .checkpoints()
                .map(Result::unwrap)
                .find(|(size, _)| *size > 0)
                .expect("a checkpoint after the first batch");
            storage
                .put_in(b"checkpoints\0", &0u64.to_be_bytes(), Some(&first))
                .unwrap();
        },
    );
    assert_eq!(
        summary["fault"]["place"], "stored checkpoint at size 0",
        "{summary}"
    );
}

/// Audits a copy of the stopped node's `data` at `copy`, altered by
/// `tamper`; the audit must fail (exit status 4). Returns its JSON summary.
fn audit_tampered(
    cli: &Cli,
    data: &Path,
    copy: &Path,
    tamper: impl FnOnce(&Path),
) -> serde_json::Value {
    copy_dir(data, copy);
    tamper(copy);
    let out = cli.run(&[
        "--json",
        "log",
        "verify",
        "--no-remember",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Stores a stopped node's first stored checkpoint in place of its second
/// (as the node never would), and returns the size of the second.
fn swap_in_earlier_checkpoint(data: &Path) -> u64 {
    const CHECKPOINTS: &[u8] = b"checkpoints\0";
    let storage = Storage::open(data, 1 << 20).unwrap();
    let stored: Vec<(u64, Vec<u8>)> = storage
        .checkpoints()
        .map(Result::unwrap)
        .filter(|(size, _)| *size > 0)
        .take(2)
        .collect();
    let [(_, first), (later, _)] = &stored[..] else {
        panic!("two stored checkpoints")
    };
    storage
        .put_in(CHECKPOINTS, &later.to_be_bytes(), Some(first))
        .unwrap();
    *later
}

/// Makes a stopped node's id index place the statement of leaf `from` at
/// leaf `to`. The index is part of the statement's group in sled, whose
/// last entry is the leaf index in the own log (8 bytes, big-endian); the
/// node offers no way to write it on its own, so this writes the raw group.
fn repoint_id_index(data: &Path, from: u64, to: u64) {
    const GROUPS: &[u8] = b"gov.by-statement\0";
    let storage = Storage::open(data, 1 << 20).unwrap();
    let id = storage
        .own_index()
        .map(Result::unwrap)
        .find_map(|(id, at)| (at == from).then_some(id))
        .expect("the leaf is indexed");
    let mut group = storage
        .get_in(GROUPS, id.as_bytes())
        .unwrap()
        .expect("its group");
    let tail = group.len() - 8;
    assert_eq!(group[tail..], from.to_be_bytes());
    group[tail..].copy_from_slice(&to.to_be_bytes());
    storage.put_in(GROUPS, id.as_bytes(), Some(&group)).unwrap();
}

/// Flips one bit of the byte at `offset` in `file`.
pub fn flip(file: &Path, offset: u64) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[offset as usize] ^= 0x01;
    std::fs::write(file, bytes).unwrap();
}

/// Flips one bit of a stored subtree hash in a stopped node's data directory.
///
/// The node offers no way to write a tree hash on its own (rightly), so
/// this writes the file directly: the hashes live in one file per level
/// under `tree/`, at the place the node's storage names.
pub fn flip_tree_hash(data: &Path, at: Subtree) {
    let (hash, file, offset) = {
        let storage = Storage::open(data, 1 << 20).unwrap();
        let hash = storage.subtree_hash(&at).unwrap().expect("stored hash");
        let (file, offset) = storage.subtree_place(&at);
        (hash, file, offset)
    };
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(
        &bytes[offset as usize..offset as usize + 32],
        hash.as_slice()
    );
    flip(&file, offset);
}
