//! Confidential attachments through the CLI: a member of the readers body
//! fetches the exact bytes, anyone else is refused with the node's code,
//! and a member can erase them while the commitment stays in the log.

use crate::story::{request, scene, Scene};

#[test]
fn members_fetch_and_erase_an_attachment_and_others_are_refused() {
    let Scene { dir, node, cli, b } = scene();
    let req = request(&cli, &b.dataset, "A study with a plan");
    let bytes = b"Data management plan.\nAdvisers: named here, for the board only.\n\x00\xff";
    let file = dir.path().join("plan.bin");
    std::fs::write(&file, bytes).unwrap();
    let added = cli.json(&[
        "--key",
        "researcher",
        "attachment",
        "add",
        &req,
        "--readers",
        &b.iwi,
        "--file",
        file.to_str().unwrap(),
        "--description",
        "The study's data management plan",
    ]);
    assert_eq!(added["uploaded"], true, "{added}");
    let hash = added["content_hash"].as_str().unwrap().to_owned();

    // A member of the readers body gets the exact bytes, to a new file
    // only its owner can read, or on standard output.
    let get_to = |out: &std::path::Path| {
        cli.run(&[
            "--key",
            "iwi-2",
            "attachment",
            "get",
            &hash,
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let saved = dir.path().join("fetched.bin");
    let fetched = get_to(&saved);
    let text = String::from_utf8_lossy(&fetched.stdout);
    assert!(fetched.status.success(), "{fetched:?}");
    assert!(text.contains("Saved"), "{text}");
    assert_eq!(std::fs::read(&saved).unwrap(), bytes);
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&saved).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let piped = cli.run(&["--key", "iwi-3", "attachment", "get", &hash]);
    assert!(piped.status.success(), "{piped:?}");
    assert_eq!(piped.stdout, bytes);
    // A file already there is never overwritten, whatever it holds.
    let mine = dir.path().join("mine.txt");
    std::fs::write(&mine, b"Someone else's notes.\n").unwrap();
    let again = get_to(&mine);
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{err}");
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&mine).unwrap(), b"Someone else's notes.\n");

    // Not a member of the readers body (the requester, and the other
    // board's chair): refused with the node's code. A refused read exits
    // 1; a refused erasure is a refused change and exits 3.
    for key in ["researcher", "pac-1"] {
        let out = cli.run(&["--key", key, "attachment", "get", &hash]);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("the node refused the read (forbidden, HTTP 403)"),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
    let out = cli.run(&["--key", "researcher", "attachment", "erase", &hash]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused (forbidden, HTTP 403)"));

    // A member erases it; then nobody can fetch it, and the commitment
    // still shows and verifies.
    let erased = cli.json(&["--key", "iwi-1", "attachment", "erase", &hash]);
    assert_eq!(erased["erased"], true, "{erased}");
    let gone = cli.run(&["--key", "iwi-2", "attachment", "get", &hash]);
    assert_eq!(gone.status.code(), Some(1), "{gone:?}");
    assert!(String::from_utf8_lossy(&gone.stderr).contains("not_found"));
    let commit = added["commit"]["id"].as_str().unwrap();
    let shown = cli.json(&["show", commit]);
    assert_eq!(shown["body"]["content_hash"], hash.as_str(), "{shown}");
    node.stop();
}
