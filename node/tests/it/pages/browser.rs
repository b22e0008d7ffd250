//! The pages in a real browser: headless Chromium against a real node on
//! 127.0.0.1:0 seeded with the story. Asserts on the DOM the browser built,
//! saves a screenshot of each page under `target/pages-screenshots/`, and
//! checks the pages stay a page long with thousands of requests.
//!
//! Chromium is required: without it these tests fail and say how to
//! install it, rather than pass without having looked.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kaitiaki_protocol::statement::UseCategory;
use kaitiaki_protocol::Body;

use super::html::{self, assert_accessible};
use super::seed::{self, request};
use crate::support::{sign_for, tempdir, TestNode, NETWORK};

/// The Chromium binary, or a failure that says how to get it.
fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Some(dir) = std::env::var_os("PATH")
            .and_then(|p| std::env::split_paths(&p).find(|d| d.join(name).is_file()))
        {
            return dir.join(name);
        }
    }
    panic!("the community-page browser tests need Chromium, and none was found on PATH. Install it with `apt-get install -y chromium chromium-driver` (CI's .ci/run does this).");
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pages-screenshots");
    std::fs::create_dir_all(&dir).expect("artifact directory");
    dir
}

async fn chrome(args: &[String]) -> String {
    let profile = tempdir();
    let mut cmd = tokio::process::Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(args)
    .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .expect("Chromium finished within 90 s")
        .expect("Chromium runs");
    assert!(
        out.status.success(),
        "Chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The DOM Chromium built for `url`, parsed.
async fn dom(url: &str) -> html::El {
    let text = chrome(&["--dump-dom".into(), url.into()]).await;
    html::parse(&text).unwrap_or_else(|e| panic!("Chromium's DOM of {url} did not parse: {e}"))
}

/// Screenshots of `url` at phone and desktop widths, saved as `name-*.png`.
async fn screenshots(url: &str, name: &str) {
    for (suffix, size) in [("phone", "390,1800"), ("desktop", "1280,1800")] {
        let file = artifacts().join(format!("{name}-{suffix}.png"));
        let _ = std::fs::remove_file(&file);
        chrome(&[
            format!("--screenshot={}", file.display()),
            format!("--window-size={size}"),
            url.into(),
        ])
        .await;
        let len = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        assert!(
            len > 10_000,
            "the screenshot {} is missing or blank ({len} bytes)",
            file.display()
        );
    }
}

/// How a page lays out at a given width: the document's scroll width and
/// client width, and each block whose content overflows its own box (a
/// word too long for its card), as `tag.class scrollWidth>clientWidth`.
#[derive(Debug)]
pub(super) struct Layout {
    pub scroll: u64,
    pub client: u64,
    pub overflowing: Vec<String>,
}

/// How each page of `urls` lays out in a viewport `width` CSS pixels wide,
/// with every `<details>` open as a reader may open it: a page that reflows
/// (WCAG 1.4.10) is no wider than its viewport, and no block's content
/// spills out of it. Measured through chromedriver, whose scripts run
/// outside the pages' Content Security Policy.
pub(super) async fn layouts(urls: &[String], width: u32) -> Vec<Layout> {
    use serde_json::{json, Value};
    const MEASURE: &str = "
        document.querySelectorAll('details').forEach(function (d) { d.open = true; });
        var over = [];
        document.querySelectorAll('body *').forEach(function (e) {
            var s = getComputedStyle(e);
            if (s.display === 'inline' || s.display === 'none' || s.overflowX !== 'visible' || e.closest('svg')) { return; }
            if (e.scrollWidth > e.clientWidth + 1) {
                over.push(e.tagName.toLowerCase() + (typeof e.className === 'string' && e.className ? '.' + e.className.split(' ').join('.') : '')
                    + ' ' + e.scrollWidth + '>' + e.clientWidth);
            }
        });
        return [document.documentElement.scrollWidth, document.documentElement.clientWidth, over];";
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut driver = tokio::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver runs (apt-get install -y chromium-driver)");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while http.get(format!("{base}/status")).send().await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "chromedriver never answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = tempdir();
    let call = |method: reqwest::Method, path: String, body: Value| {
        let req = http.request(method, format!("{base}{path}")).json(&body);
        async move {
            let r: Value = req
                .send()
                .await
                .expect("chromedriver answers")
                .json()
                .await
                .expect("JSON");
            r
        }
    };
    let session = call(
        reqwest::Method::POST,
        "/session".into(),
        json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": chromium(),
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                     format!("--window-size={width},900"),
                     format!("--user-data-dir={}", profile.path().display())],
        }}}}),
    )
    .await;
    let id = session["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no session: {session}"))
        .to_owned();
    // The viewport exactly `width` wide, as on a phone.
    call(
        reqwest::Method::POST,
        format!("/session/{id}/goog/cdp/execute"),
        json!({"cmd": "Emulation.setDeviceMetricsOverride",
               "params": {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": true}}),
    )
    .await;
    let mut out = Vec::new();
    for url in urls {
        call(
            reqwest::Method::POST,
            format!("/session/{id}/url"),
            json!({ "url": url }),
        )
        .await;
        let r = call(
            reqwest::Method::POST,
            format!("/session/{id}/execute/sync"),
            json!({ "script": MEASURE, "args": [] }),
        )
        .await;
        let w = |i: usize| {
            r["value"][i]
                .as_u64()
                .unwrap_or_else(|| panic!("{url}: {r}"))
        };
        out.push(Layout {
            scroll: w(0),
            client: w(1),
            overflowing: r["value"][2]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    call(reqwest::Method::DELETE, format!("/session/{id}"), json!({})).await;
    let _ = driver.kill().await;
    out
}

/// Asserts that each page of `urls` reflows at 320 CSS pixels, a phone's
/// narrowest width (WCAG 1.4.10).
pub(super) async fn assert_reflows_at_320(urls: &[String]) {
    for (url, l) in urls.iter().zip(layouts(urls, 320).await) {
        assert_eq!(l.client, 320, "{url}: the viewport is a phone's");
        assert!(
            l.scroll <= l.client && l.overflowing.is_empty(),
            "{url} does not reflow at 320 px: {l:?}"
        );
    }
}

/// The page's HTML as the server sent it, checked for validity and
/// accessibility.
async fn served(node: &TestNode, path: &str) -> (u16, String) {
    let r = node.http.get(node.at(path)).send().await.expect("GET");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    assert_accessible(path, &text);
    (status, text)
}

/// A motion on `request`'s approval put to `body` by member `proposer`
/// (a `support::key` number), carried by the approving votes of `voters`.
async fn carried_motion(
    node: &TestNode,
    request: kaitiaki_protocol::StatementId,
    body: kaitiaki_protocol::StatementId,
    action: kaitiaki_protocol::statement::ApprovalAction,
    reason: &str,
    voters: &[u64],
) -> kaitiaki_protocol::StatementId {
    use kaitiaki_protocol::statement::{ApprovalMotion, Choice, Vote};
    let key = crate::support::key;
    let motion = seed::say(
        node,
        &key(voters[0]),
        Body::ApprovalMotion(ApprovalMotion {
            request,
            body,
            action,
            reason: reason.into(),
        }),
    )
    .await;
    for who in voters {
        let vote = Vote {
            subject: motion,
            body,
            choice: Choice::Approve,
            conditions: vec![],
            reason: "Agreed.".into(),
        };
        seed::say(node, &key(*who), Body::Vote(vote)).await;
    }
    motion
}

/// The text of the `<section>` a page labels with the heading `id`.
fn section(d: &html::El, id: &str) -> String {
    d.find("section")
        .into_iter()
        .find(|s| s.attr("aria-labelledby") == Some(id))
        .unwrap_or_else(|| panic!("no section {id}"))
        .text()
}

/// The text of the first `<tag>` whose class names `class`.
fn classed(d: &html::El, tag: &str, class: &str) -> String {
    d.find(tag)
        .into_iter()
        .find(|e| e.attr("class").is_some_and(|c| c.contains(class)))
        .unwrap_or_else(|| panic!("no {tag} of class {class}"))
        .text()
}

/// A node on a fresh data directory, with the story written to it. Keep
/// the directory for as long as the node runs.
async fn seeded() -> (tempfile::TempDir, TestNode, seed::Story) {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let story = seed::seed(&node).await;
    (dir, node, story)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_show_the_story_in_a_browser() {
    let (_dir, node, story) = seeded().await;

    let pages = [
        ("/".to_owned(), "overview"),
        (format!("/datasets/{}", story.wellbeing), "dataset"),
        (format!("/requests/{}", story.approved), "request"),
        (format!("/bodies/{}", story.iwi_board), "body"),
        (format!("/records/{}", story.approved), "record"),
        ("/requests".to_owned(), "search"),
        ("/glossary".to_owned(), "glossary"),
    ];
    for (path, _) in &pages {
        let (status, _) = served(&node, path).await;
        assert_eq!(status, 200, "{path}");
    }

    // The overview shows the story's datasets, boards, rāhui, decisions and
    // concern, and says the log checked out.
    let d = dom(&node.at("/")).await;
    let text = d.text();
    for want in [
        "Whānau wellbeing survey (synthetic example)",
        "Te Poari Raraunga o Ngāti Tauira",
        "Pacific Data Governance Board (example)",
        "A tangihanga in the community",
        "Rangatahi wellbeing and access to services",
        "Household risk profiles",
        "Will our whānau be recognisable",
        "was checked just now",
    ] {
        assert!(text.contains(want), "the overview lacks {want:?}: {text}");
    }
    assert!(d
        .find("span")
        .iter()
        .any(|s| s.attr("lang") == Some("mi") && s.text() == "Tirohanga whānui"));

    // The dataset page: labels explained, history, chart.
    let d = dom(&node.at(&format!("/datasets/{}", story.wellbeing))).await;
    let text = d.text();
    for want in [
        "TK Attribution",
        "Name Ngāti Tauira and the Pacific communities in every output.",
        "General research use",
        "Insurance risk scoring",
        "Rangatahi wellbeing and access to services",
        "Household risk profiles",
        "Ministry of Example Services",
    ] {
        assert!(text.contains(want), "the dataset page lacks {want:?}");
    }
    let svg = d.find("svg");
    assert!(
        svg.iter()
            .any(|s| s.attr("role") == Some("img") && !s.find("rect").is_empty()),
        "the chart has bars"
    );
    assert!(d.hrefs().iter().any(|h| h.ends_with("/feed.atom")));

    // The request page: votes with reasons, conditions, report, output,
    // concern and response, and the form's honest explanation.
    let d = dom(&node.at(&format!("/requests/{}", story.approved))).await;
    let text = d.text();
    for want in [
        "Dr Aroha Whaanga",
        "University of Example",
        "The purpose serves our whānau, and the safeguards are sound.",
        "Report back every 6 months on how the data is used.",
        "Acknowledge Ngāti Tauira in every output.",
        "Summary tables: service reach by age group",
        "We cleaned the survey answers",
        "Counts under 6 are hidden",
        "Safe setting",
        "kaitiaki --node",
        "concern raise",
    ] {
        assert!(text.contains(want), "the request page lacks {want:?}");
    }
    assert!(
        d.find("span")
            .iter()
            .any(|s| s.attr("lang") == Some("mi") && s.text() == "Kua whakaaetia"),
        "status shown bilingually"
    );
    let form = d
        .by_id("concern-form")
        .expect("the concern form is in the page");
    // Chromium runs the script: the form is shown only if it can sign.
    let can_sign = form.attr("hidden").is_none();
    assert!(
        d.by_id("concern-nojs").is_some(),
        "the command-line explanation stays"
    );
    eprintln!("concern form shown by the script (WebCrypto Ed25519 available): {can_sign}");

    // Declined and suspended show as such; the board page lists decisions.
    let d = dom(&node.at(&format!("/requests/{}", story.declined))).await;
    assert!(d.text().contains("A board declined this request"));
    let d = dom(&node.at(&format!("/requests/{}", story.suspended))).await;
    assert!(d.text().contains("Suspended"), "{}", d.text());
    let d = dom(&node.at(&format!("/requests/{}", story.under_review))).await;
    assert!(
        d.text().contains("Will kaumātua be asked")
            && d.text().contains("hold hui with kaumātua first")
    );
    let d = dom(&node.at(&format!("/datasets/{}", story.housing))).await;
    assert!(d
        .text()
        .contains("No new approvals, and approved uses are paused."));
    let d = dom(&node.at(&format!("/bodies/{}", story.iwi_board))).await;
    assert!(d
        .text()
        .contains("A request is approved once 2 of the 3 members approve it."));
    assert!(d.text().contains("Kaumātua housing needs"));
    let d = dom(&node.at(&format!("/records/{}", story.concern))).await;
    assert!(d
        .text()
        .contains("gives exactly the root the checkpoint signs"));
    assert!(d
        .find("span")
        .iter()
        .any(|s| s.attr("class").is_some_and(|c| c.contains("ok"))));

    // Feeds.
    let feed = node
        .http
        .get(node.at(&format!("/bodies/{}/feed.atom", story.iwi_board)))
        .send()
        .await
        .expect("feed");
    assert_eq!(
        feed.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let feed = feed.text().await.expect("feed body");
    assert!(
        feed.contains("Approved — Rangatahi wellbeing")
            && feed.contains("Declined — Household risk profiles"),
        "{feed}"
    );

    // A missing record: a helpful 404, in the browser too.
    let missing = format!("/requests/{}", "ab".repeat(32));
    let (status, _) = served(&node, &missing).await;
    assert_eq!(status, 404);
    let d = dom(&node.at(&missing)).await;
    assert!(d.text().contains("We could not find that page") && d.hrefs().contains(&"/requests"));
    let (status, _) = served(&node, "/datasets/not-an-id").await;
    assert_eq!(status, 404);

    for (path, name) in &pages {
        screenshots(&node.at(path), name).await;
    }
    screenshots(&node.at(&missing), "not-found").await;

    // At 320 CSS pixels, a phone's width, every page reflows (WCAG 1.4.10):
    // nothing, not even the chart's table, makes it wider than the screen.
    let urls: Vec<String> = pages.iter().map(|(path, _)| node.at(path)).collect();
    assert_reflows_at_320(&urls).await;
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_keep_working_with_thousands_of_requests() {
    let (_dir, node, story) = seeded().await;
    const N: usize = 3000;
    let mut batch = Vec::new();
    for i in 0..N {
        let body = Body::RequestSubmit(request(
            &format!("Study number {i:04}"),
            story.wellbeing,
            "A study.",
            UseCategory::Research,
        ));
        batch.push(sign_for(NETWORK, &story.researcher, body).to_dsse());
        if batch.len() == 500 || i == N - 1 {
            let (status, reply) = node
                .post_raw(serde_json::to_vec(&batch).expect("json"))
                .await;
            assert!(status < 300, "batch refused ({status}): {reply}");
            batch.clear();
        }
    }

    let count = |d: &html::El, class: &str| {
        d.all()
            .into_iter()
            .filter(|e| e.tag == "ol" && e.attr("class") == Some(class))
            .map(|ol| {
                ol.children
                    .iter()
                    .filter(|c| matches!(c, html::Node::El(e) if e.tag == "li"))
                    .count()
            })
            .sum::<usize>()
    };
    let next_of = |d: &html::El| {
        d.find("a")
            .into_iter()
            .find(|a| a.attr("rel") == Some("next"))
            .and_then(|a| a.attr("href"))
            .map(str::to_owned)
    };

    // A cursor that cannot be read starts a record's list from the
    // beginning; the record is still there.
    for path in [
        format!("/datasets/{}?after=zz", story.wellbeing),
        format!("/bodies/{}?after=abc", story.pacific_board),
    ] {
        let (status, text) = served(&node, &path).await;
        assert_eq!(status, 200, "{path}");
        let d = html::parse(&text).expect("parses");
        assert_eq!(count(&d, "timeline"), 20, "{path} lists the first page");
    }
    for path in [
        "/".to_owned(),
        "/requests".to_owned(),
        format!("/datasets/{}", story.wellbeing),
        format!("/bodies/{}", story.pacific_board),
    ] {
        let (status, text) = served(&node, &path).await;
        assert_eq!(status, 200, "{path}");
        let d = html::parse(&text).expect("parses");
        if path != "/" {
            let n = count(
                &d,
                if path == "/requests" {
                    "results"
                } else {
                    "timeline"
                },
            );
            assert_eq!(n, 20, "{path} lists one page");
            assert!(next_of(&d).is_some(), "{path} links the next page");
        }
    }
    // Following "next" gives the next twenty, not the same ones.
    let (_, first) = served(&node, "/requests?dataset=".to_owned().as_str()).await;
    let first = html::parse(&first).expect("parses");
    let next = next_of(&first).expect("next link");
    let (_, second) = served(&node, &next).await;
    let second = html::parse(&second).expect("parses");
    let titles = |d: &html::El| {
        d.find("ol")
            .into_iter()
            .filter(|o| o.attr("class") == Some("results"))
            .flat_map(|o| o.find("a"))
            .filter(|a| a.attr("href").is_some_and(|h| h.starts_with("/requests/")))
            .map(|a| a.text())
            .collect::<Vec<_>>()
    };
    let (a, b) = (titles(&first), titles(&second));
    assert_eq!(b.len(), 20);
    assert!(
        a.iter().all(|t| !b.contains(t)),
        "page two repeats page one"
    );
    // Filters narrow and keep to a page.
    let (_, declined) = served(&node, "/requests?status=declined").await;
    assert_eq!(
        count(&html::parse(&declined).expect("parses"), "results"),
        1
    );
    let d = dom(&node.at(&format!("/datasets/{}", story.wellbeing))).await;
    assert!(
        d.text().contains("3002 requests received") || d.text().contains("requests received"),
        "chart described"
    );
    screenshots(&node.at("/requests"), "search-3000").await;
    node.stop().await;
}

/// What a reader is told on the pages the review found wanting: what
/// suspends a request, who has yet to vote, a concern on its own page, and
/// filters that cannot be used.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_name_causes_count_every_member_and_refuse_bad_filters() {
    let (_dir, node, story) = seeded().await;
    let text = |html: &str| html::parse(html).expect("parses").text();

    // The suspended request names the rāhui: its dataset, board, reason, date.
    let (_, page) = served(&node, &format!("/requests/{}", story.suspended)).await;
    let t = text(&page);
    for want in [
        "Why access is paused",
        "A rāhui on the dataset Housing support records (synthetic example), placed by Te Poari Raraunga o Ngāti Tauira on",
        "until the board lifts it.",
        "A tangihanga in the community",
    ] {
        assert!(t.contains(want), "the suspended request lacks {want:?}: {t}");
    }
    let links = html::parse(&page).expect("parses");
    assert!(links
        .hrefs()
        .contains(&format!("/datasets/{}", story.housing).as_str()));

    // The declined request asks for a use its dataset does not list as
    // permitted, and its page says so; the approved one asks for none.
    let (_, page) = served(&node, &format!("/requests/{}", story.declined)).await;
    let t = text(&page);
    assert!(
        t.contains("lists its permitted uses as DUO:0000042, DUO:0000006; this request also asks for DUO:0000007"),
        "{t}"
    );
    let (_, page) = served(&node, &format!("/requests/{}", story.approved)).await;
    assert!(!text(&page).contains("lists its permitted uses"));

    // Nobody on the iwi board has voted on the request under review: all three are yet to.
    let (_, page) = served(&node, &format!("/requests/{}", story.under_review)).await;
    let t = text(&page);
    assert!(
        t.contains("0 approve · 0 decline · 0 abstain · 3 not voted"),
        "{t}"
    );
    assert!(t.contains("This board has not decided yet."), "{t}");

    // The concern's own record: its words, its subject, the board's response.
    let d = dom(&node.at(&format!("/records/{}", story.concern))).await;
    let t = d.text();
    for want in [
        "The concern",
        "Will our whānau be recognisable in the tables?",
        "about the request Rangatahi wellbeing and access to services",
        "Te Poari Raraunga o Ngāti Tauira responded on",
        "Counts under 6 are hidden",
        "and left it open",
    ] {
        assert!(t.contains(want), "the concern's record lacks {want:?}: {t}");
    }
    assert!(d
        .hrefs()
        .contains(&format!("/requests/{}", story.approved).as_str()));

    // Filters that cannot be used list nothing, and say how to clear them.
    for (query, says) in [
        ("status=bogus", "That status is not one this node knows."),
        (
            "status=approved&status=declined",
            "The address gives the filter “status” more than once: choose one value of each.",
        ),
        ("dataset=xyz", "That dataset id is not valid"),
        ("requester=fb3f18", "at least its first 8"),
        (
            "requester=00000000",
            "No request here was made with a key that begins with 00000000.",
        ),
    ] {
        let (status, page) = served(&node, &format!("/requests?{query}")).await;
        assert_eq!(status, 200);
        let d = html::parse(&page).expect("parses");
        assert!(d.text().contains(says), "{query}: {}", d.text());
        assert!(d.by_id("results").is_none(), "{query} lists requests");
        assert!(d.hrefs().contains(&"/requests"), "{query}: no way to clear");
    }

    // The first eight characters of a key, as shown beside a name, are enough.
    let key = kaitiaki_protocol::PublicKey::of(&story.researcher).to_hex();
    let (_, page) = served(&node, &format!("/requests?requester={}", &key[..8])).await;
    let d = html::parse(&page).expect("parses");
    let t = d.text();
    assert!(t.contains(&key), "the whole key is shown: {t}");
    for title in [
        "Rangatahi wellbeing and access to services",
        "Kaumātua housing needs",
        "Housing stability over ten years",
    ] {
        assert!(t.contains(title), "{title} missing: {t}");
    }
    assert!(
        !t.contains("Household risk profiles"),
        "another requester's: {t}"
    );
    node.stop().await;
}

/// A record's "check this record" page links to the page it is part of:
/// a request's, a board's, a dataset's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_page_leads_to_what_the_record_is_part_of() {
    let (_dir, node, story) = seeded().await;
    for (record, page) in [
        (story.approved, format!("/requests/{}", story.approved)),
        (story.iwi_board, format!("/bodies/{}", story.iwi_board)),
        (story.housing, format!("/datasets/{}", story.housing)),
    ] {
        let (status, text) = served(&node, &format!("/records/{record}")).await;
        assert_eq!(status, 200);
        let d = html::parse(&text).expect("parses");
        let part_of = d
            .find("p")
            .into_iter()
            .find(|p| p.text().starts_with("Part of the record of "))
            .unwrap_or_else(|| panic!("no link onward on the page of {record}"));
        assert!(
            part_of.hrefs().contains(&page.as_str()),
            "{page}: {}",
            part_of.text()
        );
    }
    node.stop().await;
}

/// Every page's navigation leads to the lists of datasets and of boards,
/// and marks the one a person is on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_navigation_leads_to_the_datasets_and_the_boards() {
    let (_dir, node, _story) = seeded().await;
    for (path, current) in [
        ("/", "/"),
        ("/datasets", "/datasets"),
        ("/bodies", "/bodies"),
        ("/requests", "/requests"),
    ] {
        let (status, text) = served(&node, path).await;
        assert_eq!(status, 200, "{path}");
        let d = html::parse(&text).expect("parses");
        let nav = d.find("nav").into_iter().next().expect("a navigation");
        let hrefs = nav.hrefs();
        for want in ["/", "/requests", "/datasets", "/bodies", "/glossary"] {
            assert!(hrefs.contains(&want), "{path}: {hrefs:?}");
        }
        let marked: Vec<&str> = nav
            .find("a")
            .into_iter()
            .filter(|a| a.attr("aria-current") == Some("page"))
            .filter_map(|a| a.attr("href"))
            .collect();
        assert_eq!(marked, vec![current], "{path}");
    }
    node.stop().await;
}

/// A dataset's page shows each concern about it with where it stands, and
/// how to raise one, as a request's page does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dataset_page_shows_its_concerns_and_how_to_raise_one() {
    use kaitiaki_protocol::statement::ConcernRaise;
    let (_dir, node, story) = seeded().await;
    let path = format!("/datasets/{}", story.housing);
    let (_, before) = served(&node, &path).await;
    let d = html::parse(&before).expect("parses");
    assert!(
        d.by_id("concern-form").is_some(),
        "no way to raise a concern"
    );
    assert!(d
        .text()
        .contains("Nobody has raised a concern about this dataset."));

    let concern = seed::say(
        &node,
        &story.researcher,
        kaitiaki_protocol::Body::ConcernRaise(ConcernRaise {
            subject: story.housing,
            text: "Who can see these records?".into(),
        }),
    )
    .await;
    let (_, after) = served(&node, &path).await;
    let d = html::parse(&after).expect("parses");
    let card = d
        .find("article")
        .into_iter()
        .find(|a| a.text().contains("Who can see these records?"))
        .expect("the concern is shown");
    let text = card.text();
    assert!(
        text.contains("Open") && text.contains("No board has responded yet."),
        "{text}"
    );
    assert!(
        card.hrefs()
            .contains(&format!("/records/{concern}").as_str()),
        "{text}"
    );

    // The concern is the log's last record: people count it from 1, as
    // "record n of n", like the overview's count of records; the leaf
    // index, which counts from 0, is given only as the leaf index.
    let (size, _) = node.head().await;
    let overview = html::parse(&node.text("/").await).expect("parses").text();
    assert!(
        overview.contains(&format!("holds {size} records")),
        "{overview}"
    );
    let (_, page) = served(&node, &format!("/records/{concern}")).await;
    let d = html::parse(&page).expect("parses");
    let ordinal = format!("Record {size} of {size}");
    let h1 = d.find("h1").first().map(|h| h.text()).unwrap_or_default();
    assert!(h1.starts_with(&format!("{ordinal}: ")), "{h1}");
    let title = d
        .find("title")
        .first()
        .map(|t| t.text())
        .unwrap_or_default();
    assert!(title.starts_with(&ordinal), "{title}");
    let text = d.text();
    assert!(
        text.contains(&format!(
            "This record is record {size} of {size} in that checkpoint"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Leaf index{} (leaf indexes count from 0, so this is record {size})",
            size - 1
        )),
        "{text}"
    );
    assert!(
        !text.to_lowercase().contains("record #"),
        "no ordinal that reads off by one: {text}"
    );
    // The kind in words for people; its code name only where people check
    // the record with their own tools.
    assert!(h1.ends_with(": a concern"), "{h1}");
    let yourself = section(&d, "yourself");
    assert!(
        yourself.contains("Kind of statementconcern.raise"),
        "{yourself}"
    );
    let before = &text[..text.find("Check it yourself").expect("the section")];
    assert!(!before.contains("concern.raise"), "{before}");
    // The line atop the dataset's page counts its record the same way.
    let (_, page) = served(&node, &path).await;
    let summary = classed(
        &html::parse(&page).expect("parses"),
        "aside",
        "verify-summary",
    );
    assert!(
        summary.starts_with("✓ Record ")
            && summary.contains(&format!(" of {size} in this node's log."))
            && !summary.contains('#'),
        "{summary}"
    );
    // The form's script counts from 1 too.
    let js = node.text("/assets/concern.js").await;
    assert!(
        js.contains(
            "\"Thank you. Your concern is recorded as record \" + (Number(r.body.index) + 1)"
        ),
        "{js}"
    );
    node.stop().await;
}

/// A board's page lists the rāhui it placed: those in force, then those
/// lifted or ended, each newest first, with the dataset, when, until when
/// and why; another board's rāhui are not among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_page_lists_the_rahui_it_placed() {
    use kaitiaki_protocol::statement::{RahuiLift, RahuiPlace};
    let (_dir, node, story) = seeded().await;
    let key = crate::support::key;
    let place = |body, dataset, reason: &str| {
        Body::RahuiPlace(RahuiPlace {
            body,
            dataset,
            reason: reason.into(),
            until: None,
        })
    };
    // The iwi board places two more on the wellbeing data and lifts both,
    // the older first; the Pacific board places one of its own.
    let mut lifted = Vec::new();
    for (n, why) in [(1, "A hui about the survey."), (2, "A second hui.")] {
        let r = seed::say(&node, &key(1), place(story.iwi_board, story.wellbeing, why)).await;
        let lift = Body::RahuiLift(RahuiLift {
            rahui: r,
            reason: format!("The hui is over ({n})."),
        });
        seed::say(&node, &key(2), lift).await;
        lifted.push(r);
    }
    seed::say(
        &node,
        &key(4),
        place(
            story.pacific_board,
            story.wellbeing,
            "Pacific families asked for a pause.",
        ),
    )
    .await;

    let (_, page) = served(&node, &format!("/bodies/{}", story.iwi_board)).await;
    let d = html::parse(&page).expect("parses");
    let text = section(&d, "rahui");
    assert!(text.starts_with("Rāhui placed by this board"), "{text}");
    let in_force = text.find("In force now").expect("those in force");
    let past = text.find("Lifted or ended").expect("those lifted");
    let housing = text
        .find("A tangihanga in the community")
        .expect("the housing rāhui");
    assert!(in_force < housing && housing < past, "{text}");
    assert!(
        text.contains("On Housing support records (synthetic example), placed on ")
            && text.contains(", until the board lifts it."),
        "{text}"
    );
    // Newest first, each with when and why it was lifted.
    let second = text.find("A second hui.").expect("the second");
    let first = text.find("A hui about the survey.").expect("the first");
    assert!(past < second && second < first, "{text}");
    assert!(text.contains("; lifted on "), "{text}");
    assert!(text.contains("The hui is over (2).") && text.contains("The hui is over (1)."));
    assert!(
        !text.contains("Pacific families"),
        "another board's: {text}"
    );
    let rahui = d
        .find("section")
        .into_iter()
        .find(|s| s.attr("aria-labelledby") == Some("rahui"))
        .expect("the section");
    let hrefs = rahui.hrefs();
    assert!(hrefs.contains(&format!("/datasets/{}", story.wellbeing).as_str()));
    assert!(hrefs.contains(&format!("/records/{}", lifted[0]).as_str()));
    // The word is te reo, marked as such.
    assert!(rahui
        .find("span")
        .iter()
        .any(|s| s.attr("lang") == Some("mi") && s.text() == "Rāhui"));

    let (_, page) = served(&node, &format!("/bodies/{}", story.pacific_board)).await;
    let text = section(&html::parse(&page).expect("parses"), "rahui");
    assert!(
        text.contains("Pacific families asked for a pause."),
        "{text}"
    );
    assert!(
        !text.contains("Lifted or ended") && !text.contains("tangihanga"),
        "{text}"
    );

    // The dataset's own page keeps them too, once lifted, newest first,
    // with the board that placed each and why it was lifted; the one in
    // force is told at the top, not among them.
    let (_, page) = served(&node, &format!("/datasets/{}", story.wellbeing)).await;
    let d = html::parse(&page).expect("parses");
    let text = section(&d, "past-rahui");
    assert!(text.starts_with("Rāhui lifted or ended"), "{text}");
    let second = text.find("A second hui.").expect("the second");
    let first = text.find("A hui about the survey.").expect("the first");
    assert!(second < first, "{text}");
    assert!(
        text.contains("By Te Poari Raraunga o Ngāti Tauira, placed on "),
        "{text}"
    );
    assert!(text.contains("The hui is over (2).") && text.contains("The hui is over (1)."));
    assert!(!text.contains("Pacific families"), "in force: {text}");
    node.stop().await;
}

/// A request's "What has happened" tells when a rāhui on one of its
/// datasets held it up (its votes while it awaited them, its access once
/// approved) and when the rāhui was lifted, in order with the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_timeline_tells_when_a_rahui_held_it_up_and_was_lifted() {
    use kaitiaki_protocol::statement::RahuiLift;
    let (_dir, node, story) = seeded().await;
    let timeline = |id: kaitiaki_protocol::StatementId| {
        let node = &node;
        async move {
            let (_, page) = served(node, &format!("/requests/{id}")).await;
            section(&html::parse(&page).expect("parses"), "timeline")
        }
    };
    let placed = "Te Poari Raraunga o Ngāti Tauira placed a rāhui on Housing support records (synthetic example).";
    let text = timeline(story.under_review).await;
    let at = text.find(placed).unwrap_or_else(|| panic!("{text}"));
    assert!(
        text.find("hold hui with kaumātua first")
            .is_some_and(|a| a < at),
        "in order: {text}"
    );
    assert!(
        text.contains("No board's vote on this request counts while it is in force.")
            && text.contains("It was placed until the board lifts it.")
            && text.contains("A tangihanga in the community"),
        "{text}"
    );
    let text = timeline(story.suspended).await;
    assert!(
        text.contains(placed) && text.contains("Access to the data was paused"),
        "{text}"
    );
    // A request made while the rāhui is in force was held up from the start.
    let later = seed::say(
        &node,
        &story.researcher,
        Body::RequestSubmit(request(
            "Housing and kaumātua health",
            story.housing,
            "To see whether housing support helps kaumātua stay well.",
            UseCategory::Research,
        )),
    )
    .await;
    let text = timeline(later).await;
    assert!(
        text.contains("A rāhui that Te Poari Raraunga o Ngāti Tauira placed on Housing support records (synthetic example), on ")
            && text.contains("was in force when this request was made."),
        "{text}"
    );
    // Dated when it was placed, it comes before the request in the story.
    assert!(
        text.find("A rāhui that") < text.find("Asked for access."),
        "{text}"
    );
    // A request on other data tells of none.
    assert!(!timeline(story.approved).await.contains("rāhui"));

    let lift = seed::say(
        &node,
        &crate::support::key(2),
        Body::RahuiLift(RahuiLift {
            rahui: story.rahui,
            reason: "The tangihanga is over.".into(),
        }),
    )
    .await;
    let lifted = "Te Poari Raraunga o Ngāti Tauira lifted the rāhui on Housing support records (synthetic example).";
    for (id, resumes) in [
        (story.under_review, "Votes on this request can count again."),
        (later, "Votes on this request can count again."),
        (
            story.suspended,
            "Access could resume, unless something else still pauses it.",
        ),
    ] {
        let text = timeline(id).await;
        let (p, l) = (text.find("placed").expect("placed"), text.find(lifted));
        assert!(l.is_some_and(|l| p < l), "{text}");
        assert!(
            text.contains("The tangihanga is over.") && text.contains(resumes),
            "{text}"
        );
        let (_, page) = served(&node, &format!("/requests/{id}")).await;
        let d = html::parse(&page).expect("parses");
        assert!(d.hrefs().contains(&format!("/records/{lift}").as_str()));
    }
    node.stop().await;
}

/// A rāhui whose end its board set ended at that end: a lift after it is
/// refused, and the board's page and the rāhui's own record say it ended,
/// with its date, and neither says it was lifted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rahui_lifted_after_its_set_end_ended_at_that_end_on_every_page() {
    use kaitiaki_node::pages::layout::date_text;
    use kaitiaki_protocol::statement::{RahuiLift, RahuiPlace};
    let key = crate::support::key;
    let dir = tempdir();
    let clock = kaitiaki_node::Clock::system();
    let now = clock.now();
    clock.set(now.minus_days(30));
    let node = TestNode::start_with_clock(crate::support::config(dir.path()), clock.clone()).await;
    let story = seed::seed(&node).await;
    let until = now.minus_days(20);
    let rahui = seed::say(
        &node,
        &key(1),
        Body::RahuiPlace(RahuiPlace {
            body: story.iwi_board,
            dataset: story.wellbeing,
            reason: "Until the hui has met.".into(),
            until: Some(until),
        }),
    )
    .await;
    clock.reset();
    let lift = sign_for(
        NETWORK,
        &key(2),
        Body::RahuiLift(RahuiLift {
            rahui,
            reason: "Lifted once someone noticed.".into(),
        }),
    );
    let (status, refused) = node.post(&lift).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("rahui_already_lifted")),
        "{refused}"
    );
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("already ended at")),
        "{refused}"
    );
    let ended = date_text(until);
    assert_ne!(
        ended,
        date_text(now),
        "the end and the lifting fall on different days"
    );

    let (_, page) = served(&node, &format!("/bodies/{}", story.iwi_board)).await;
    let text = section(&html::parse(&page).expect("parses"), "rahui");
    // Its line, from "On <dataset>" to its reason.
    let reason = text.find("Until the hui has met.").expect("the rāhui");
    let line = &text[text[..reason].rfind("On ").expect("its line")..reason];
    assert!(
        line.contains(&format!("; ended on {ended}, as the board had set.")),
        "{text}"
    );
    assert!(!line.contains("lifted on"), "{line}");
    assert!(!text.contains("Lifted once someone noticed."), "{text}");

    let (status, page) = served(&node, &format!("/records/{rahui}")).await;
    assert_eq!(status, 200);
    let words = section(&html::parse(&page).expect("parses"), "in-words");
    assert!(words.contains(&format!("NowEnded on {ended}")), "{words}");

    // The board's feed tells of its end on that date, under an id of its
    // own, and of no lifting.
    let feed = node
        .text(&format!("/bodies/{}/feed.atom", story.iwi_board))
        .await;
    let entry = feed
        .split("<entry>")
        .find(|e| e.contains("rāhui ended"))
        .unwrap_or_else(|| panic!("no end: {feed}"));
    assert!(
        entry.contains(&format!("records/{rahui}/ended</id>"))
            && entry.contains(&format!("ended on {ended}, the end the board had set")),
        "{entry}"
    );
    assert!(!feed.contains("rāhui lifted — Whānau wellbeing"), "{feed}");
    let placed = feed
        .split("<entry>")
        .find(|e| e.contains("Until the hui has met."))
        .expect("its placing");
    assert!(
        placed.contains(&format!("are paused, until {ended}.")),
        "{placed}"
    );

    // The story of a request whose access it paused ends it on that date,
    // signed by nobody: no person is named for it.
    let (_, page) = served(&node, &format!("/requests/{}", story.approved)).await;
    let text = section(&html::parse(&page).expect("parses"), "timeline");
    let short = &rahui.to_hex()[..8];
    assert!(
        text.contains(&format!(
            "{ended} · Check this record {short}The rāhui on Whānau wellbeing survey \
             (synthetic example) ended, on the date Te Poari Raraunga o Ngāti Tauira had set."
        )),
        "{text}"
    );
    node.stop().await;
}

/// A record's page says what the record did in plain words (who, which
/// board, on what, why, and where it stands), links to the page that tells
/// its story, and keeps the signed JSON for people checking it themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_page_says_what_the_record_did_in_words() {
    use kaitiaki_protocol::statement::{
        ApprovalAction, Choice, KeyAnnounce, OutputReview, RahuiLift, ReportReview,
        RequestQuestion, Vote,
    };
    let (_dir, node, story) = seeded().await;
    let key = crate::support::key;
    let words = |id: kaitiaki_protocol::StatementId| {
        let node = &node;
        async move {
            let (status, page) = served(node, &format!("/records/{id}")).await;
            assert_eq!(status, 200, "{id}");
            let d = html::parse(&page).expect("parses");
            assert!(
                section(&d, "yourself").contains("What was signed"),
                "the raw statement stays"
            );
            let said = d
                .find("section")
                .into_iter()
                .find(|s| s.attr("aria-labelledby") == Some("in-words"));
            said.map(|s| {
                (
                    s.text(),
                    s.hrefs().iter().map(|h| h.to_string()).collect::<Vec<_>>(),
                )
            })
        }
    };
    let board = "Te Poari Raraunga o Ngāti Tauira";
    let housing = "Housing support records (synthetic example)";

    // A rāhui: which board, which dataset, until when, why, and whether in force.
    let (text, links) = words(story.rahui).await.expect("words for a rāhui");
    assert!(
        text.contains(&format!("{board} placed a rāhui on {housing}"))
            && text.contains("UntilThe board lifts it")
            && text.contains("A tangihanga in the community")
            && text.contains("NowIn force"),
        "{text}"
    );
    assert!(
        links.contains(&format!("/datasets/{}", story.housing)),
        "{links:?}"
    );
    let lift = seed::say(
        &node,
        &key(2),
        Body::RahuiLift(RahuiLift {
            rahui: story.rahui,
            reason: "The tangihanga is over.".into(),
        }),
    )
    .await;
    let (text, _) = words(story.rahui).await.expect("words");
    assert!(text.contains("NowLifted on "), "{text}");
    let (text, links) = words(lift).await.expect("words for a lifting");
    assert!(
        text.contains(&format!("{board} lifted its rāhui on {housing}."))
            && text.contains("Why it was liftedThe tangihanga is over."),
        "{text}"
    );
    assert!(
        links.contains(&format!("/records/{}", story.rahui)),
        "{links:?}"
    );

    // A vote: who, which board, on what, the choice and the reason.
    let asked = seed::say(
        &node,
        &story.researcher,
        Body::RequestSubmit(request(
            "Whānau and school attendance",
            story.wellbeing,
            "To see how whānau wellbeing and school attendance go together.",
            UseCategory::Research,
        )),
    )
    .await;
    let vote = seed::say(
        &node,
        &key(1),
        Body::Vote(Vote {
            subject: asked,
            body: story.iwi_board,
            choice: Choice::Decline,
            conditions: vec![],
            reason: "Attendance data is not ours to link.".into(),
        }),
    )
    .await;
    let (text, links) = words(vote).await.expect("words for a vote");
    assert!(
        text.contains(&format!(
            "Huia Tamati, Te Poari Raraunga o Ngāti Tauira voted, as a member of {board}, on the request “Whānau and school attendance”."
        )) && text.contains("Their choiceWhakakāhore | Decline")
            && text.contains("Attendance data is not ours to link."),
        "{text}"
    );
    assert!(
        links.contains(&format!("/requests/{asked}"))
            && links.contains(&format!("/bodies/{}", story.iwi_board)),
        "{links:?}"
    );
    // A question, a motion, a charter, a dataset, a key's announcement.
    let question = seed::say(
        &node,
        &key(3),
        Body::RequestQuestion(RequestQuestion {
            request: asked,
            text: "Which schools?".into(),
        }),
    )
    .await;
    let (text, _) = words(question).await.expect("words for a question");
    assert!(
        text.contains("asked a question about the request “Whānau and school attendance”.")
            && text.contains("Which schools?"),
        "{text}"
    );
    let motion = carried_motion(
        &node,
        story.approved,
        story.iwi_board,
        ApprovalAction::Suspend,
        "Tables were shared too early.",
        &[1, 2],
    )
    .await;
    let (text, links) = words(motion).await.expect("words for a motion");
    assert!(
        text.contains(&format!("proposed that {board} suspend the approval of the request “Rangatahi wellbeing and access to services”."))
            && text.contains("The boardCarried on "),
        "{text}"
    );
    assert!(
        links.contains(&format!("/requests/{}", story.approved)),
        "{links:?}"
    );
    let (text, _) = words(story.iwi_board).await.expect("words for a charter");
    assert!(
        text.contains(&format!(
            "set up the governance board {board}, with 3 members"
        )),
        "{text}"
    );
    let (text, _) = words(story.housing).await.expect("words for a dataset");
    assert!(
        text.contains(&format!(
            "registered the dataset {housing}, held by Ministry of Example Services."
        )) && text.contains(&format!("Who decides on its use{board}")),
        "{text}"
    );
    let announce = seed::say(
        &node,
        &key(11),
        Body::KeyAnnounce(KeyAnnounce {
            display_name: "Mere Paki".into(),
            affiliation: "Ngāti Tauira whānau".into(),
        }),
    )
    .await;
    let (text, _) = words(announce).await.expect("words for a key");
    assert!(
        text.contains("The holder of this key says they are Mere Paki, Ngāti Tauira whānau."),
        "{text}"
    );
    // A board's reviews of a report and of an output: the board, what it
    // reviewed (linked), its reason, and the request's reports as the story.
    let reports = format!("/requests/{}#reports", story.approved);
    for (body, called, record, said) in [
        (
            Body::ReportReview(ReportReview {
                report: story.report,
                body: story.iwi_board,
                accepted: false,
                reason: "Say which tables went to the hui.".into(),
            }),
            "The reportWe cleaned the survey answers",
            story.report,
            format!("{board} returned a use report on the request “"),
        ),
        (
            Body::OutputReview(OutputReview {
                output: story.output,
                body: story.iwi_board,
                release: true,
                reason: "Say which tables went to the hui.".into(),
            }),
            "The outputSummary tables: service reach by age group",
            story.output,
            format!("{board} released the output “Summary tables: service reach by age group”."),
        ),
    ] {
        let review = seed::say(&node, &key(1), body).await;
        let (text, links) = words(review).await.expect("words for a review");
        assert!(
            text.contains(&said)
                && text.contains(&format!("Board{board}"))
                && text.contains(called)
                && text.contains("The board's reasonSay which tables went to the hui.")
                && text.ends_with("The whole story: Rangatahi wellbeing and access to services"),
            "{text}"
        );
        for link in [format!("/records/{record}"), reports.clone()] {
            assert!(links.contains(&link), "{link} in {links:?}");
        }
    }

    // A concern keeps its own section instead.
    assert!(words(story.concern).await.is_none());
    node.stop().await;
}

/// A node whose operator gives a contact (`[pages] contact`) shows it where
/// a concern can be raised, for whoever cannot use the form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_contact_is_shown_where_a_concern_can_be_raised() {
    let dir = tempdir();
    let mut config = crate::support::config(dir.path());
    config.pages.contact = "Ask at the marae office, 0800 000 000".into();
    let node = TestNode::start_with(config).await;
    let story = seed::seed(&node).await;
    for path in [
        format!("/datasets/{}", story.housing),
        format!("/requests/{}", story.approved),
    ] {
        let (_, page) = served(&node, &path).await;
        let d = html::parse(&page).expect("parses");
        let nojs = d.by_id("concern-nojs").expect("the written way").text();
        assert!(
            nojs.contains(
                "ask the people who run this node: Ask at the marae office, 0800 000 000."
            ),
            "{path}: {nojs}"
        );
    }
    node.stop().await;
}

/// A dataset's feed, and the feed of the board that placed it, tell of a
/// rāhui: someone following the data learns that its use is paused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_tell_of_a_rahui() {
    let (_dir, node, story) = seeded().await;
    for path in [
        format!("/datasets/{}/feed.atom", story.housing),
        format!("/bodies/{}/feed.atom", story.iwi_board),
    ] {
        let r = node.http.get(node.at(&path)).send().await.expect("feed");
        assert_eq!(r.status(), 200, "{path}");
        let feed = r.text().await.expect("feed body");
        let entry = feed
            .split("<entry>")
            .find(|e| e.contains("rāhui placed"))
            .unwrap_or_else(|| panic!("{path} tells of no rāhui: {feed}"));
        assert!(
            entry.contains("Te Poari Raraunga o Ngāti Tauira: rāhui placed — "),
            "{entry}"
        );
        assert!(
            entry.contains(&format!("/datasets/{}", story.housing)),
            "{entry}"
        );
        assert!(entry.contains("approved uses are paused"), "{entry}");

        // The page the feed is of advertises it in its head, under the
        // feed's own title, so a feed reader finds it from the page.
        let page = path.trim_end_matches("/feed.atom");
        let (_, html) = served(&node, page).await;
        let d = html::parse(&html).expect("parses");
        let head = d.find("head");
        let links = head.first().map(|h| h.find("link")).unwrap_or_default();
        let feed_title = feed
            .split("<title>")
            .nth(1)
            .and_then(|t| t.split("</title>").next())
            .expect("the feed's title");
        assert!(
            links.iter().any(|l| l.attr("rel") == Some("alternate")
                && l.attr("type") == Some("application/atom+xml")
                && l.attr("href") == Some(path.as_str())
                && l.attr("title") == Some(feed_title)),
            "{page} does not advertise {path} as {feed_title:?}: {html}"
        );
    }
    // Pages without a feed advertise none.
    for page in ["/".to_owned(), format!("/requests/{}", story.approved)] {
        let (_, html) = served(&node, &page).await;
        assert!(!html.contains("application/atom+xml"), "{page}");
    }
    // The wellbeing data has no rāhui, and its feed says none.
    let feed = node
        .text(&format!("/datasets/{}/feed.atom", story.wellbeing))
        .await;
    assert!(!feed.contains("rāhui"), "{feed}");
    node.stop().await;
}

/// A feed read at two addresses of one node (say a LAN address and a
/// public name) gives the same ids, made from the node's origin, so a feed
/// reader does not show its entries twice; its links are the address used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_ids_are_the_same_at_any_address() {
    let (_dir, node, story) = seeded().await;
    let path = format!("/bodies/{}/feed.atom", story.iwi_board);
    let read = |host: &'static str| {
        let req = node.http.get(node.at(&path)).header("host", host);
        async move { req.send().await.expect("feed").text().await.expect("body") }
    };
    let ids = |feed: &str| -> Vec<String> {
        feed.split("<id>")
            .skip(1)
            .filter_map(|s| s.split("</id>").next())
            .map(str::to_owned)
            .collect()
    };
    let near = read("127.0.0.1:7878").await;
    let far = read("kaitiaki.iwi.example").await;
    let (near_ids, far_ids) = (ids(&near), ids(&far));
    assert!(near_ids.len() > 1, "{near}");
    assert_eq!(near_ids, far_ids, "{near}\n{far}");
    let origin = crate::support::ORIGIN;
    assert_eq!(
        near_ids[0],
        format!("tag:{origin},2026:bodies/{}/feed.atom", story.iwi_board)
    );
    for id in &near_ids[1..] {
        assert!(
            id.starts_with(&format!("tag:{origin},2026:records/")),
            "{id}"
        );
    }
    // Each entry's id names the statement that made the decision.
    let rahui = near
        .split("<entry>")
        .find(|e| e.contains("rāhui placed"))
        .expect("the rāhui's entry");
    let record = rahui
        .split("<id>")
        .nth(1)
        .and_then(|s| s.split("</id>").next())
        .and_then(|id| id.rsplit('/').next())
        .expect("an id");
    let (status, _) = served(&node, &format!("/records/{record}")).await;
    assert_eq!(status, 200, "{record}");
    // The links are absolute, at the address the reader used.
    assert!(
        far.contains("href=\"http://kaitiaki.iwi.example/requests/"),
        "{far}"
    );
    assert!(
        near.contains("href=\"http://127.0.0.1:7878/requests/"),
        "{near}"
    );
    node.stop().await;
}

/// A board's feed tells of a motion decided today on a request received
/// before the feed's window: revoking an old approval is news too. The
/// approval itself, outside the window, is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_tell_of_a_motion_on_a_request_older_than_their_window() {
    use crate::support::key;
    use kaitiaki_protocol::statement::{ApprovalAction, Choice, Vote};
    use kaitiaki_protocol::StatementId;
    let dir = tempdir();
    let clock = kaitiaki_node::Clock::system();
    let now = clock.now();
    clock.set(now.minus_days(420));
    let node = TestNode::start_with_clock(crate::support::config(dir.path()), clock.clone()).await;
    let story = seed::seed(&node).await;
    let vote = |subject: StatementId, body: StatementId| {
        Body::Vote(Vote {
            subject,
            body,
            choice: Choice::Approve,
            conditions: vec![],
            reason: "Agreed.".into(),
        })
    };
    let mut submit = request(
        "Two years of service use",
        story.wellbeing,
        "To follow service use over two years.",
        UseCategory::Research,
    );
    submit.duration_days = 730;
    let old = seed::say(&node, &story.researcher, Body::RequestSubmit(submit)).await;
    for (who, board) in [
        (1, story.iwi_board),
        (2, story.iwi_board),
        (4, story.pacific_board),
        (5, story.pacific_board),
    ] {
        seed::say(&node, &key(who), vote(old, board)).await;
    }
    clock.reset();
    carried_motion(
        &node,
        old,
        story.iwi_board,
        ApprovalAction::Revoke,
        "The data was shared outside the lab.",
        &[1, 2],
    )
    .await;
    for path in [
        format!("/bodies/{}/feed.atom", story.iwi_board),
        format!("/datasets/{}/feed.atom", story.wellbeing),
    ] {
        let feed = node.text(&path).await;
        assert!(
            feed.contains("Te Poari Raraunga o Ngāti Tauira: motion to revoke carried — Two years of service use"),
            "{path}: {feed}"
        );
        assert!(
            !feed.contains(": Approved — Two years of service use"),
            "{path}: an approval outside the window: {feed}"
        );
    }
    // The Pacific board decided nothing about it in the window.
    let feed = node
        .text(&format!("/bodies/{}/feed.atom", story.pacific_board))
        .await;
    assert!(!feed.contains("Two years of service use"), "{feed}");
    node.stop().await;
}

/// A proposed change to a board's charter is listed on its page with what
/// it would change, in words made from the signed amendment itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_page_says_what_a_proposed_amendment_changes() {
    use kaitiaki_protocol::statement::{BodyAmend, Choice, DecisionRule, Member, Vote};
    use kaitiaki_protocol::PublicKey;
    let (_dir, node, story) = seeded().await;
    let chair = crate::support::key(1);
    let newcomer = crate::support::key(10);
    let amendment = seed::say(
        &node,
        &chair,
        Body::BodyAmend(BodyAmend {
            body: story.iwi_board,
            add_members: vec![Member {
                key: PublicKey::of(&newcomer),
                role: "rangatahi representative".into(),
            }],
            remove_members: vec![],
            rule: Some(DecisionRule::Threshold { k: 3 }),
            notice_days: Some(7),
            description: None,
            reason: "Room for a young voice.".into(),
        }),
    )
    .await;
    let (_, page) = served(&node, &format!("/bodies/{}", story.iwi_board)).await;
    let d = html::parse(&page).expect("parses");
    let text = classed(&d, "ol", "amendments");
    for want in [
        "Adds Kiri Tamati, Ngāti Tauira whānau as rangatahi representative.",
        "A new rule: A request is approved once 3 members approve it.",
        "Every request stays open for community comment for 7 days",
        "Room for a young voice.",
        "Not decided yet",
    ] {
        assert!(text.contains(want), "missing {want:?}: {text}");
    }
    assert!(
        d.text().contains("1 proposed change, each decided"),
        "{}",
        d.text()
    );
    assert!(!text.contains(" voted "), "no votes yet: {text}");
    // It waits for the board's vote, and the board's page says so.
    let waits = section(&d, "waiting");
    assert!(
        waits.contains("A change to the charter, proposed by Huia Tamati"),
        "{waits}"
    );

    // The members vote on it: each vote is listed under the change, with
    // its reason, the tally, and which vote decided it.
    for (who, choice, reason) in [
        (3, Choice::Decline, "Ask the rangatahi first."),
        (1, Choice::Approve, "They asked us for this."),
        (2, Choice::Approve, "A young voice is overdue."),
    ] {
        seed::say(
            &node,
            &crate::support::key(who),
            Body::Vote(Vote {
                subject: amendment,
                body: story.iwi_board,
                choice,
                conditions: vec![],
                reason: reason.into(),
            }),
        )
        .await;
    }
    let (_, page) = served(&node, &format!("/bodies/{}", story.iwi_board)).await;
    let d = html::parse(&page).expect("parses");
    let text = classed(&d, "ol", "amendments");
    for want in [
        "2 approve · 1 decline · 0 abstain · 0 not voted",
        "Ngaio Pene, Ngāti Tauira",
        "voted Whakakāhore | Decline",
        "Ask the rangatahi first.",
        "A young voice is overdue.",
    ] {
        assert!(text.contains(want), "missing {want:?}: {text}");
    }
    assert_eq!(text.matches(" voted ").count(), 3, "{text}");
    assert_eq!(text.matches("(the deciding vote)").count(), 1, "{text}");
    let decided_by = text.find("(the deciding vote)").expect("a deciding vote");
    assert!(
        text[..decided_by].rfind("Matiu Rangi") > text[..decided_by].rfind("Huia Tamati"),
        "the last approval decided it: {text}"
    );
    assert!(text.contains("The board: "), "decided: {text}");
    let waits = section(&d, "waiting");
    assert!(
        !waits.contains("A change to the charter"),
        "decided: {waits}"
    );

    // The decision is news: on the overview and in the board's feed.
    let (_, page) = served(&node, "/").await;
    let recent = classed(&html::parse(&page).expect("parses"), "ul", "decisions");
    assert!(
        recent.contains("Approved a change to the charter of Te Poari Raraunga o Ngāti Tauira"),
        "{recent}"
    );
    let feed = node
        .text(&format!("/bodies/{}/feed.atom", story.iwi_board))
        .await;
    for want in [
        "Te Poari Raraunga o Ngāti Tauira: change to the charter approved",
        "Why it was proposed: Room for a young voice.",
        &format!("/bodies/{}#amendments", story.iwi_board),
    ] {
        assert!(feed.contains(want), "missing {want:?}: {feed}");
    }
    node.stop().await;
}

/// A renewal and a motion on an approval, voted through on a real node:
/// the request's page says what each vote was on and what came of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_page_tells_renewals_and_motions_apart_from_the_request() {
    use crate::support::key;
    use kaitiaki_protocol::statement::{ApprovalAction, Choice, RenewalRequest, Vote};
    use kaitiaki_protocol::StatementId;
    let (_dir, node, story) = seeded().await;
    let vote = |subject: StatementId, body: StatementId| {
        Body::Vote(Vote {
            subject,
            body,
            choice: Choice::Approve,
            conditions: vec![],
            reason: "Agreed.".into(),
        })
    };
    let renewal = seed::say(
        &node,
        &story.researcher,
        Body::RenewalRequest(RenewalRequest {
            request: story.approved,
            extra_days: 30,
            reason: "The linkage took longer.".into(),
        }),
    )
    .await;
    let mut renewal_votes = Vec::new();
    for (who, board) in [
        (1, story.iwi_board),
        (2, story.iwi_board),
        (4, story.pacific_board),
        (5, story.pacific_board),
    ] {
        let mut v = vote(renewal, board);
        // The Pacific board allows 20 of the 30 days asked.
        if let (4, Body::Vote(v)) = (who, &mut v) {
            v.choice = Choice::ApproveWithConditions;
            v.conditions =
                vec![kaitiaki_protocol::statement::Condition::ExpiresAfterDays { days: 20 }];
        }
        renewal_votes.push(seed::say(&node, &key(who), v).await);
    }
    carried_motion(
        &node,
        story.approved,
        story.iwi_board,
        ApprovalAction::Suspend,
        "Tables were shared before review.",
        &[1, 2],
    )
    .await;
    let (_, page) = served(&node, &format!("/requests/{}", story.approved)).await;
    let text = html::parse(&page).expect("parses").text();
    // The Decisions section gives each board's answers after the approval
    // too, not only the timeline: both answered the renewal, one the motion.
    let decisions = section(&html::parse(&page).expect("parses"), "decisions");
    assert_eq!(
        decisions
            .matches("On the renewal for 30 more days (")
            .count(),
        2,
        "{decisions}"
    );
    assert_eq!(
        decisions
            .matches("On the motion to suspend the approval (")
            .count(),
        1,
        "{decisions}"
    );
    assert!(decisions.contains("): Carried on "), "{decisions}");
    for want in [
        "Asked for 30 more days.",
        "Every board approved the renewal, for 20 more days of access",
        "on the requester's renewal, asking for 30 more days.",
        "answer to the renewal:",
        "Proposed that Te Poari Raraunga o Ngāti Tauira suspend the approval.",
        "The board carried the motion on ",
        "on the motion to suspend the approval.",
        "This vote decided the motion: carried",
    ] {
        assert!(text.contains(want), "missing {want:?}: {text}");
    }
    // Each of the four renewal votes says so, the two motion votes too, and
    // the votes on the request itself do not.
    assert_eq!(
        text.matches("on the requester's renewal").count(),
        4,
        "{text}"
    );
    assert_eq!(
        text.matches("on the motion to suspend").count(),
        2,
        "{text}"
    );
    assert!(text.contains("This vote decided Te Poari Raraunga o Ngāti Tauira's answer: "));
    // The record page of each board's deciding vote on the renewal says
    // what it decided; the other votes' pages do not.
    let mut deciding = Vec::new();
    for v in &renewal_votes {
        let (_, page) = served(&node, &format!("/records/{v}")).await;
        let words = section(&html::parse(&page).expect("parses"), "in-words");
        if let (Some(at), Some(end)) =
            (words.find("What came of it"), words.find("The whole story"))
        {
            deciding.push(words[at..end].to_owned());
        }
    }
    assert_eq!(
        deciding,
        [
            "What came of itIt decided Te Poari Raraunga o Ngāti Tauira's answer to the renewal: approved",
            "What came of itIt decided Pacific Data Governance Board (example)'s answer to the renewal: approved",
        ],
    );
    // The 20-day cap came with the renewal, not the approval: the page
    // says so, apart from the conditions the boards approved it with.
    let conditions = &text[text.find("Conditions").expect("conditions")..];
    let added = conditions
        .find("Added when a renewal was approved, on ")
        .unwrap_or_else(|| panic!("{conditions}"));
    let cap = "At most 20 days of access";
    assert!(
        conditions.find(cap).is_some_and(|c| c > added)
            && conditions
                .find("Return the findings to the community.")
                .is_some_and(|c| c < added),
        "{conditions}"
    );
    // The renewal's own record page says what was granted, as the
    // request's page does.
    let (_, page) = served(&node, &format!("/records/{renewal}")).await;
    let words = section(&html::parse(&page).expect("parses"), "in-words");
    assert!(
        words.contains("The boardsEvery board approved it, for 20 of the 30 days asked"),
        "{words}"
    );

    // The overview's recent decisions name the motion and the renewals,
    // each board's answer to the renewal apart, both of the one renewal
    // for 30 days (the Pacific board granting 20 of them); the renewal's
    // approval is since paused by the motion, and says so.
    let title = "Rangatahi wellbeing and access to services";
    let (_, page) = served(&node, "/").await;
    let d = html::parse(&page).expect("parses");
    let recent = classed(&d, "ul", "decisions");
    for want in [
        format!("Carried the motion to suspend the approval of {title}"),
        format!("Approved the renewal for 30 more days of {title} · now Suspended"),
        format!(
            "Approved the renewal for 30 more days (20 of them granted) of {title} · now Suspended"
        ),
    ] {
        assert!(recent.contains(&want), "missing {want:?}: {recent}");
    }
    assert!(
        recent.find("Carried the motion") < recent.find("Approved the renewal"),
        "newest first: {recent}"
    );

    // Each board's page gives its own answers under the request: both
    // boards decided the renewal (the Pacific board for 20 of the 30 days),
    // only one the motion.
    for (board, motion, approved) in [
        (story.iwi_board, true, "): Kua whakaaetia | Approved on "),
        (
            story.pacific_board,
            false,
            "): Kua whakaaetia | Approved, for 20 of them, on ",
        ),
    ] {
        let (_, page) = served(&node, &format!("/bodies/{board}")).await;
        let text = html::parse(&page).expect("parses").text();
        // The sentence that starts with `start`, up to its full stop.
        let sentence = |start: &str| {
            text.find(start).map(|i| {
                let rest = &text[i..];
                rest[..rest.find('.').map_or(rest.len(), |e| e + 1)].to_owned()
            })
        };
        let renewal = sentence("On the renewal for 30 more days (").expect("the renewal");
        assert!(renewal.contains(approved), "{renewal}");
        match sentence("On the motion to suspend the approval (") {
            Some(m) => assert!(motion && m.contains("): Carried on "), "{m}"),
            None => assert!(!motion, "{text}"),
        }
    }

    // The board's feed carries both too.
    let feed = node
        .text(&format!("/bodies/{}/feed.atom", story.iwi_board))
        .await;
    for want in [
        format!("Te Poari Raraunga o Ngāti Tauira: motion to suspend carried — {title}"),
        format!("Te Poari Raraunga o Ngāti Tauira: renewal approved — {title}"),
        // Each reason is named as whose it is: the motion's, the
        // requester's, and the board's deciding vote's.
        format!("Te Poari Raraunga o Ngāti Tauira carried the motion to suspend the approval of the request “{title}”. The motion's reason: Tables were shared before review. The reason given with the board's deciding vote: Agreed."),
        format!("Te Poari Raraunga o Ngāti Tauira approved the renewal for 30 more days of the request “{title}”. The requester's reason: The linkage took longer. The reason given with the board's deciding vote: Agreed."),
    ] {
        assert!(feed.contains(&want), "missing {want:?}: {feed}");
    }
    assert!(!feed.contains("The reason given:"), "{feed}");

    // The Pacific board carries a motion to reinstate what only the iwi
    // board suspended: it changes nothing, and every place says so.
    carried_motion(
        &node,
        story.approved,
        story.pacific_board,
        ApprovalAction::Reinstate,
        "Our families want the work to go on.",
        &[4, 5],
    )
    .await;
    let (_, page) = served(&node, &format!("/requests/{}", story.approved)).await;
    let text = html::parse(&page).expect("parses").text();
    assert!(
        text.contains(", but it changed nothing: the board had not suspended the approval"),
        "{text}"
    );
    assert!(text.contains("Suspended"), "{text}");
    let (_, page) = served(&node, "/").await;
    let text = html::parse(&page).expect("parses").text();
    assert!(
        text.contains(&format!(
            "Carried the motion to reinstate the approval of {title} · which changed nothing"
        )),
        "{text}"
    );
    let (_, page) = served(&node, &format!("/bodies/{}", story.pacific_board)).await;
    let text = html::parse(&page).expect("parses").text();
    assert!(
        text.contains(
            ", which changed nothing: the board had not suspended the approval, and a board lifts \
             only its own suspension."
        ),
        "{text}"
    );
    let feed = node
        .text(&format!("/bodies/{}/feed.atom", story.pacific_board))
        .await;
    assert!(
        feed.contains(&format!(
            "carried the motion to reinstate the approval of the request “{title}”, which changed \
             nothing: the board had not suspended the approval"
        )),
        "{feed}"
    );

    node.stop().await;
}

/// A request that names no uses, for a dataset that excludes some, is
/// accepted (there is nothing to refuse), and its page shows the boards
/// the uses the dataset never allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_naming_no_uses_is_shown_against_the_excluded_ones() {
    let (_dir, node, story) = seeded().await;
    let mut submit = request(
        "Premiums by neighbourhood",
        story.wellbeing,
        "Price home insurance by neighbourhood.",
        UseCategory::Commercial,
    );
    submit.uses = vec![];
    let id = seed::say(&node, &story.researcher, Body::RequestSubmit(submit)).await;
    let (_, page) = served(&node, &format!("/requests/{id}")).await;
    let text = html::parse(&page).expect("parses").text();
    assert!(
        text.contains(
            "None named, so nothing was checked against the uses its datasets never allow."
        ),
        "{text}"
    );
    assert!(
        text.contains("never allows Insurance risk scoring"),
        "{text}"
    );
    // The node serves the same for the CLI and other tools.
    let (_, view) = node.get(&format!("/v1/requests/{id}")).await;
    assert_eq!(
        view["unchecked_exclusions"],
        serde_json::json!([{"dataset": story.wellbeing.to_hex(), "excluded": ["custom:insurance-risk-scoring"]}]),
        "{view}"
    );
    node.stop().await;
}

/// A short id, as the pages show one, finds its record: the API lists the
/// statements it starts, and a page address with it leads to the page of
/// the one it names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_id_leads_to_its_page() {
    let (_dir, node, story) = seeded().await;
    let full = story.approved.to_hex();
    let short = &full[..8];
    let (status, found) = node.get(&format!("/v1/statements?prefix={short}")).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(
        found,
        serde_json::json!({"items": [{"id": full, "kind": "request.submit"}]})
    );
    for bad in ["abc", "ABCDEF12", "zzzzzzzz"] {
        let (status, body) = node.get(&format!("/v1/statements?prefix={bad}")).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("malformed")),
            "{bad}: {body}"
        );
    }
    // Any record page's address takes it, and leads to the request's page.
    for base in ["/requests", "/records"] {
        let r = node
            .http
            .get(node.at(&format!("{base}/{short}")))
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status(), 200, "{base}");
        assert_eq!(r.url().path(), format!("/requests/{full}"), "{base}");
    }
    let board = story.iwi_board.to_hex();
    let r = node
        .http
        .get(node.at(&format!("/requests/{}", &board[..10])))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.url().path(), format!("/bodies/{board}"));
    // So does a whole id at another kind's address.
    let dataset = story.wellbeing.to_hex();
    for wrong in [format!("/requests/{dataset}"), format!("/bodies/{dataset}")] {
        let r = node.http.get(node.at(&wrong)).send().await.expect("GET");
        assert_eq!(r.status(), 200, "{wrong}");
        assert_eq!(r.url().path(), format!("/datasets/{dataset}"), "{wrong}");
    }
    // A start no statement has is the page that helps, as is a whole id
    // this node does not hold.
    let (status, _) = served(&node, "/requests/00000000").await;
    assert_eq!(status, 404);
    let (status, _) = served(&node, &format!("/requests/{}", "0".repeat(64))).await;
    assert_eq!(status, 404);
    node.stop().await;
}

/// Every board is listed at `/bodies`, a page at a time, and the overview,
/// which shows only the first boards, links there when there are more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_board_is_listed_a_page_at_a_time() {
    use kaitiaki_protocol::statement::{BodyCharter, DecisionRule, Member};
    use kaitiaki_protocol::PublicKey;
    let (_dir, node, story) = seeded().await;
    // The story's two boards and 20 more: more than the overview shows
    // (12) and than one page lists (20).
    let chair = crate::support::key(1);
    for i in 0..20 {
        seed::say(
            &node,
            &chair,
            Body::BodyCharter(BodyCharter {
                name: format!("Example board {i:02}"),
                description: "A board for the list.".into(),
                home_log: crate::support::ORIGIN.into(),
                members: vec![Member {
                    key: PublicKey::of(&chair),
                    role: "chair".into(),
                }],
                rule: DecisionRule::Threshold { k: 1 },
                notice_days: 0,
            }),
        )
        .await;
    }
    let (_, overview) = served(&node, "/").await;
    let d = html::parse(&overview).expect("parses");
    let boards = section(&d, "boards");
    assert_eq!(boards.matches(" member").count(), 12, "{boards}");
    assert!(
        d.find("a")
            .iter()
            .any(|a| a.attr("href") == Some("/bodies") && a.text() == "All boards"),
        "{boards}"
    );

    let (status, first) = served(&node, "/bodies").await;
    assert_eq!(status, 200);
    let d = html::parse(&first).expect("parses");
    let mut listed: Vec<String> = d
        .hrefs()
        .into_iter()
        .filter(|h| h.starts_with("/bodies/"))
        .map(str::to_owned)
        .collect();
    assert_eq!(listed.len(), 20, "{first}");
    let next = d
        .find("a")
        .into_iter()
        .find(|a| a.attr("rel") == Some("next"))
        .and_then(|a| a.attr("href"))
        .expect("a next page")
        .to_owned();
    assert!(next.starts_with("/bodies?after="), "{next}");
    let (status, second) = served(&node, &next).await;
    assert_eq!(status, 200);
    let d = html::parse(&second).expect("parses");
    listed.extend(
        d.hrefs()
            .into_iter()
            .filter(|h| h.starts_with("/bodies/"))
            .map(str::to_owned),
    );
    assert_eq!(listed.len(), 22, "{second}");
    for board in [story.iwi_board, story.pacific_board] {
        assert!(listed.contains(&format!("/bodies/{board}")), "{listed:?}");
    }
    assert!(
        !d.find("a").iter().any(|a| a.attr("rel") == Some("next")),
        "the last page"
    );
    node.stop().await;
}

/// At a phone's width, a request whose title is one long word (a pasted
/// address, say) breaks rather than widen its page, the list of requests
/// or its board's page (WCAG 1.4.10).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_title_without_spaces_reflows_at_320_px() {
    let (_dir, node, story) = seeded().await;
    let title = "https://research.example.org/projects/whanau-wellbeing-and-housing/\
                 linkage-study-2026/phase-two/approved-protocol-version-three";
    let long = seed::say(
        &node,
        &story.researcher,
        Body::RequestSubmit(request(
            title,
            story.wellbeing,
            "To follow the study's protocol.",
            UseCategory::Research,
        )),
    )
    .await;
    let (_, list) = served(&node, "/requests").await;
    assert!(list.contains(title), "the list shows it");
    assert_reflows_at_320(&[
        node.at(&format!("/requests/{long}")),
        node.at("/requests"),
        node.at(&format!("/bodies/{}", story.iwi_board)),
        node.at(&format!("/records/{long}")),
    ])
    .await;
    node.stop().await;
}
