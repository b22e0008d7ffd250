//! Snapshots of what people read: help texts and plain outputs of the CLI.
//!
//! A change to any of these shows up as a snapshot diff in review, which is
//! where wording should be argued about. Update with `INSTA_UPDATE=always`
//! (or `cargo insta review`) after reading the diff.

use std::process::Command;

use crate::support::BIN;

/// Runs the CLI in an empty environment of its own and returns stdout and
/// stderr together, as a person at a terminal would see them.
fn run(args: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(args)
        .env_clear()
        .env("KAITIAKI_HOME", home.path())
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    format!("exit: {}\n{text}", out.status.code().unwrap_or(-1))
}

#[test]
fn top_level_help() {
    insta::assert_snapshot!(run(&["--help"]));
}

#[test]
fn vote_help() {
    insta::assert_snapshot!(run(&["vote", "-h"]));
}

#[test]
fn request_submit_help() {
    insta::assert_snapshot!(run(&["request", "submit", "-h"]));
}

#[test]
fn log_verify_help() {
    insta::assert_snapshot!(run(&["log", "verify", "-h"]));
}

#[test]
fn no_keys_yet() {
    insta::assert_snapshot!(run(&["keys", "list"]));
}

#[test]
fn a_bad_condition_says_which_forms_work() {
    insta::assert_snapshot!(run(&[
        "vote",
        &"a".repeat(64),
        "approve",
        "--body",
        &"b".repeat(64),
        "--reason",
        "x",
        "--condition",
        "every-so-often",
    ]));
}

#[test]
fn no_node_running_is_explained() {
    let out = run(&["--node", "http://127.0.0.1:9", "list", "bodies"]);
    assert!(out.starts_with("exit: 1\n"), "{out}");
    assert!(
        out.contains("cannot reach the node at http://127.0.0.1:9")
            && out.contains("is a node running there? Start one with `kaitiaki node serve`"),
        "{out}"
    );
    // A URL given as the command's own argument is not --node's to change.
    let out = run(&["log", "verify", "http://127.0.0.1:9"]);
    assert!(
        out.contains("cannot reach the node at http://127.0.0.1:9") && !out.contains("--node"),
        "{out}"
    );
}

/// The CLI run with nothing of this machine's environment but `home`.
fn in_home(home: &std::path::Path) -> impl Fn(&[&str]) -> std::process::Output + '_ {
    move |args| {
        Command::new(BIN)
            .args(args)
            .env_clear()
            .env("KAITIAKI_HOME", home)
            .output()
            .unwrap()
    }
}

/// The CLI's output for `args` signed with a new key and not sent
/// (`--dry-run`), so no node is needed.
fn dry_run(args: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let cli = in_home(home.path());
    assert!(cli(&["keys", "new", "kahu"]).status.success());
    let mut all = vec!["--network", "kaitiaki-local", "--dry-run"];
    all.extend_from_slice(args);
    cli(&all)
}

#[test]
fn a_broken_limit_is_said_once() {
    let out = dry_run(&["concern", "raise", &"a".repeat(64), "--text", ""]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("must not be empty").count(), 1, "{err}");
    // Named by the flag typed, not by the statement's field ("body" reads
    // as `--body`, the board).
    assert!(err.contains("--text: must not be empty"), "{err}");
    assert!(!err.contains("field body"), "{err}");
}

#[test]
fn an_amendment_that_changes_nothing_says_what_to_give() {
    let out = dry_run(&["body", "amend", &"a".repeat(64), "--reason", "Tidy up."]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the amendment changes nothing: give at least one of --add-member"),
        "{err}"
    );
}

#[test]
fn a_dry_run_shows_the_statement_in_words_and_the_envelope() {
    let out = dry_run(&[
        "keys",
        "announce",
        "--display-name",
        "Kahu",
        "--affiliation",
        "Ngāti Tauira",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for want in [
        "not sent: --dry-run",
        "says:\n",
        "    display_name: Kahu\n",
        "    affiliation: Ngāti Tauira\n",
        "  kind: key.announce\n",
        "envelope:\n{\"payload\":",
    ] {
        assert!(text.contains(want), "{want:?} is not in {text}");
    }
}

#[test]
fn key_file_errors_are_one_plain_sentence() {
    let home = tempfile::tempdir().unwrap();
    let cli = in_home(home.path());
    assert!(cli(&["keys", "new", "kahu"]).status.success());
    // Each says what is wrong and what to do, on one line, with no
    // operating-system error text behind it.
    let dup = cli(&["keys", "new", "kahu"]);
    let missing = cli(&["--key", "nobody", "keys", "show"]);
    for (out, said) in [
        (
            dup,
            "error: a key named \"kahu\" already exists; choose another name, or see it with \
             `kaitiaki keys show kahu`\n",
        ),
        (
            missing,
            "error: no key named \"nobody\"; see `kaitiaki keys list` or make one with \
             `kaitiaki keys new nobody`\n",
        ),
    ] {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err, said);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!err.contains("os error"), "{err}");
    }
}

#[test]
fn a_node_url_ending_in_v1_is_explained() {
    let out = run(&["--node", "http://127.0.0.1:9/v1", "list", "bodies"]);
    assert!(out.starts_with("exit: 1\n"), "{out}");
    assert!(
        out.contains("without /v1: --node http://127.0.0.1:9"),
        "{out}"
    );
    // `log verify` takes its URL as an argument, and says so.
    let out = run(&["log", "verify", "http://127.0.0.1:9/v1/"]);
    assert!(out.starts_with("exit: 1\n"), "{out}");
    assert!(
        out.contains("without /v1: kaitiaki log verify http://127.0.0.1:9\n"),
        "{out}"
    );
}

#[test]
fn an_address_without_http_is_explained() {
    let out = run(&["log", "verify", "127.0.0.1:9"]);
    assert!(out.starts_with("exit: 1\n"), "{out}");
    assert!(
        out.contains("start it with http:// (http://127.0.0.1:9)"),
        "{out}"
    );
    // A directory name is only told it is not a data directory.
    let out = run(&["log", "verify", "no-such-dir"]);
    assert!(out.contains("is not a node's data directory"), "{out}");
    assert!(!out.contains("http://"), "{out}");
}

#[test]
fn a_mistyped_duo_code_is_refused_before_anything_is_signed() {
    let out = run(&[
        "request",
        "submit",
        "--dataset",
        &"a".repeat(64),
        "--title",
        "t",
        "--purpose",
        "p",
        "--use-category",
        "research",
        "--use",
        "DUO:999",
        "--duration-days",
        "30",
    ]);
    assert!(out.starts_with("exit: 2\n"), "{out}");
    assert!(
        out.contains("DUO:999") && out.contains("a DUO code is DUO: and seven digits"),
        "{out}"
    );
}
