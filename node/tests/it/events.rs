//! The event stream: a listener hears of new leaves, filtered by what they
//! concern.

use std::time::Duration;

use futures::StreamExt;

use crate::support::{announce, tempdir, TestNode};

/// Reads SSE text from `resp` until `pred` matches an event's data.
async fn wait_for(resp: reqwest::Response, pred: impl Fn(&str, &str) -> bool) -> bool {
    let mut stream = resp.bytes_stream();
    let mut buf = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let chunk = match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(c))) => c,
            _ => return false,
        };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            let name = event
                .lines()
                .find_map(|l| l.strip_prefix("event:"))
                .unwrap_or("")
                .trim()
                .to_owned();
            let data = event
                .lines()
                .find_map(|l| l.strip_prefix("data:"))
                .unwrap_or("")
                .trim()
                .to_owned();
            if pred(&name, &data) {
                return true;
            }
        }
    }
}

#[tokio::test]
async fn listeners_hear_new_leaves_and_checkpoints() {
    let dir = tempdir();
    let node = TestNode::start(dir.path()).await;
    let resp = node.http.get(node.at("/v1/events")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let env = announce(1, "event");
    let id = env.id().to_hex();
    let poster = {
        let node_url = node.at("/v1/statements");
        let http = node.http.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            http.post(node_url)
                .body(serde_json::to_vec(&env.to_dsse()).unwrap())
                .send()
                .await
                .unwrap();
        })
    };
    assert!(wait_for(resp, |name, data| name == "leaf" && data.contains(&id)).await);
    poster.await.unwrap();

    // A filter that matches nothing hears only checkpoints.
    let other = "cd".repeat(32);
    let resp = node
        .http
        .get(node.at(&format!("/v1/events?body={other}")))
        .send()
        .await
        .unwrap();
    let env = announce(2, "event");
    node.post(&env).await;
    assert!(
        wait_for(resp, |name, data| {
            assert_ne!(name, "leaf", "a filtered stream delivered {data}");
            name == "checkpoint"
        })
        .await
    );
    let (status, _) = node.get("/v1/events?dataset=nope").await;
    assert_eq!(status, 400);
    // Open streams do not hold up shutdown.
    let _open = node.http.get(node.at("/v1/events")).send().await.unwrap();
    node.stop().await;
}
