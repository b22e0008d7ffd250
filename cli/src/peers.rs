//! `kaitiaki peer …` and `kaitiaki evidence`: which nodes this node
//! follows, adding one while it runs, lifting a quarantine, and the
//! evidence of misbehaviour it keeps — checked here with the protocol
//! crate and the log's key, not taken on the node's word.
//!
//! Changing a node's peers is the node operator's act: the request is
//! signed with the node's own key, read from its data directory, so run
//! these on the node's machine (`--data`, default `./kaitiaki-data`).

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};
use kaitiaki_node::api::attachments::sign_request;
use kaitiaki_node::identity::Identity;
use kaitiaki_protocol::evidence::Evidence;
use kaitiaki_protocol::note::NoteVerifier;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::output::{table, Printer, Render};

/// `kaitiaki peer …`.
#[derive(Debug, Subcommand)]
pub enum PeerCmd {
    /// List the peers the node follows, with how far each is mirrored.
    List,
    /// Follow another node from now on (and after restarts).
    Add(PeerAddArgs),
    /// Stop following a peer added with `peer add`: its log is no longer
    /// copied, and the two nodes no longer witness each other. What was
    /// copied stays, and still counts.
    Remove(PeerRemoveArgs),
    /// Lift a peer's quarantine after its operators have put things right
    /// (the evidence stays).
    Forgive(PeerForgiveArgs),
}

/// Arguments of `peer remove`.
#[derive(Debug, Args)]
pub struct PeerRemoveArgs {
    /// The peer log's origin, as `peer list` shows it.
    pub origin: String,
    /// The node's data directory, whose key signs the request.
    #[arg(long, default_value = "./kaitiaki-data")]
    pub data: PathBuf,
}

/// The answer to `peer remove`: the peer's last status.
#[derive(Debug, Serialize, Deserialize)]
pub struct Removed(pub PeerRow);

impl Render for Removed {
    fn human(&self, out: &mut String) {
        let p = &self.0;
        out.push_str(&format!(
            "No longer following {} at {}. The {} records copied from it stay, and what they say \
             still counts.\n",
            p.origin, p.url, p.mirrored
        ));
    }
}

/// Arguments of `peer add`.
#[derive(Debug, Args)]
pub struct PeerAddArgs {
    /// The peer's URL, e.g. `http://iwi.example:7878`.
    pub url: String,
    /// The peer's log key (`<origin>+<id>+<base64>`), as its operator gave
    /// it to you. Without it, the key the peer shows now is trusted (and
    /// printed, so you can check it with its operator).
    #[arg(long = "peer-key", value_name = "KEY")]
    pub peer_key: Option<String>,
    /// Do not witness each other's checkpoints.
    #[arg(long)]
    pub no_witness: bool,
    /// The node's data directory, whose key signs the request.
    #[arg(long, default_value = "./kaitiaki-data")]
    pub data: PathBuf,
}

/// Arguments of `peer forgive`.
#[derive(Debug, Args)]
pub struct PeerForgiveArgs {
    /// The quarantined peer's log origin.
    pub origin: String,
    /// The node's data directory, whose key signs the request.
    #[arg(long, default_value = "./kaitiaki-data")]
    pub data: PathBuf,
}

/// One peer, as the node reports it.
#[derive(Debug, Serialize, Deserialize)]
pub struct PeerRow {
    /// URL.
    pub url: String,
    /// Log origin.
    pub origin: String,
    /// Log key.
    pub key: String,
    /// starting, following, unreachable, unverified, quarantined or removed.
    pub state: String,
    /// Whether the two witness each other's checkpoints.
    #[serde(default)]
    pub witness: bool,
    /// Whether the node's configuration names it.
    #[serde(default)]
    pub configured: bool,
    /// Leaves mirrored.
    pub mirrored: u64,
    /// The peer's latest size seen.
    pub remote_size: u64,
    /// The last problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The quarantine, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<serde_json::Value>,
}

/// `GET /v1/peers`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Peers {
    /// The peers.
    pub peers: Vec<PeerRow>,
}

impl Render for Peers {
    fn human(&self, out: &mut String) {
        if self.peers.is_empty() {
            out.push_str("This node follows no peers. Add one with `kaitiaki peer add <url>`.\n");
            return;
        }
        let mut rows = vec![vec![
            "origin".to_owned(),
            "state".to_owned(),
            "records copied".to_owned(),
            "witness".to_owned(),
            "from".to_owned(),
            "url".to_owned(),
        ]];
        for p in &self.peers {
            rows.push(vec![
                p.origin.clone(),
                p.state.clone(),
                match (p.state.as_str(), p.remote_size) {
                    ("removed", _) => format!("{} (kept)", p.mirrored),
                    (_, 0) => format!("{} so far", p.mirrored),
                    (_, remote) => format!("{} of {remote}", p.mirrored),
                },
                if p.witness { "both ways" } else { "no" }.to_owned(),
                if p.configured {
                    "configuration"
                } else {
                    "peer add"
                }
                .to_owned(),
                p.url.clone(),
            ]);
        }
        table(&rows, out);
        for p in &self.peers {
            if let Some(q) = &p.quarantine {
                out.push_str(&format!(
                    "\n{} is quarantined: {} (evidence {})\n",
                    p.origin,
                    q["reason"].as_str().unwrap_or("misbehaved"),
                    q["evidence"].as_str().unwrap_or("?")
                ));
            } else if let Some(e) = &p.last_error {
                out.push_str(&format!("\n{}: {e}\n", p.origin));
            }
        }
    }
}

/// The answer to `peer add`: the peer's status, and whether it was
/// followed already (then nothing changed).
#[derive(Debug, Serialize)]
pub struct Added {
    /// The peer's status.
    #[serde(flatten)]
    pub row: PeerRow,
    /// Whether the node followed it already, at this address with this key.
    pub already: bool,
}

impl Render for Added {
    fn human(&self, out: &mut String) {
        let p = &self.row;
        if self.already {
            out.push_str(&format!(
                "Already following {} at {}; nothing changed. To follow it another way (say \
                 without witnessing), remove it and add it again; a peer named in the node's \
                 configuration is changed there.\n",
                p.origin, p.url
            ));
            return;
        }
        out.push_str(&format!(
            "Following {} at {}\n  log key: {}\n  state: {}, ",
            p.origin, p.url, p.key, p.state
        ));
        if p.remote_size == 0 {
            out.push_str(&format!("{} records copied so far\n", p.mirrored));
        } else {
            out.push_str(&format!(
                "{} of {} records copied\n",
                p.mirrored, p.remote_size
            ));
        }
    }
}

/// The answer to `peer forgive`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Forgiven {
    /// Whether it was quarantined.
    pub was_quarantined: bool,
}

impl Render for Forgiven {
    fn human(&self, out: &mut String) {
        out.push_str(if self.was_quarantined {
            "The quarantine is lifted; the node follows the peer again. The evidence is kept.\n"
        } else {
            "That peer was not quarantined.\n"
        });
    }
}

/// A refusal of a peer change explained as one, not as a refused statement.
fn peer_refusal(e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<crate::rejections::Rejected>() {
        Ok(r) => r.of_peer_change().into(),
        Err(e) => e,
    }
}

/// The part of a node's `GET /v1/witness` that names its cosigning key.
#[derive(serde::Deserialize)]
struct WitnessKey {
    verifier_key: String,
}

/// Runs a `peer` command against the node at `client`.
pub async fn run(cmd: &PeerCmd, client: &Client, printer: Printer) -> Result<()> {
    match cmd {
        PeerCmd::List => printer.emit(&client.get::<Peers>("/v1/peers", "the peer list").await?),
        PeerCmd::Add(a) => {
            let url = a.url.trim().trim_end_matches('/');
            if let Some(root) = url.strip_suffix("/v1") {
                bail!(
                    "the peer's URL {url} ends in /v1; give the peer node's own address, without \
                     /v1: kaitiaki peer add {root}"
                );
            }
            if url == client.base() {
                bail!(
                    "{url} is the node this command talks to (--node): a node does not follow \
                     itself; give the URL of the partner's node"
                );
            }
            // A key given is checked first: a malformed one is the mistake,
            // whatever the peer serves.
            // (A witness key parses as a key too: the check against what the
            // peer serves below names that mistake better.)
            if let Some(k) = &a
                .peer_key
                .as_ref()
                .filter(|k| kaitiaki_protocol::cosignature::CosignatureVerifier::parse(k).is_err())
            {
                NoteVerifier::parse(k).map_err(|e| {
                    anyhow::anyhow!(
                        "--peer-key {k:?} is not a log key ({e}); it looks like \
                         origin+1a2b3c4d+AQ…, as `kaitiaki node init` printed it at the peer \
                         or `verifier_key` in its /v1/checkpoint"
                    )
                })?;
            }
            // What the peer serves now, if it answers.
            let peer = Client::named_by(url, "the peer's URL");
            let shown = match &peer {
                Ok(peer) => peer.checkpoint().await.map(|c| c.verifier_key),
                Err(e) => Err(anyhow::anyhow!("{e:#}")),
            };
            // The node's own log under another name (localhost for
            // 127.0.0.1, say): refused before anything is trusted.
            let own = client.checkpoint().await.map(|c| c.verifier_key).ok();
            let same = |k: &str| own.as_deref().is_some_and(|o| o.trim() == k.trim());
            match (&shown, a.peer_key.as_deref()) {
                (Ok(k), _) if same(k) => bail!(
                    "{url} is the node this command talks to (--node {}), under another name: \
                     its log key is {k}; a node does not follow itself, so give the URL of the \
                     partner's node",
                    client.base()
                ),
                (Err(_), Some(k)) if same(k) => bail!(
                    "the key given is the log key of the node this command talks to (--node \
                     {}); a node does not follow itself: give the partner's log key, as its \
                     operator gave it to you",
                    client.base()
                ),
                _ => {}
            }
            let key = match (&a.peer_key, shown) {
                (Some(k), Ok(shown)) if shown.trim() != k.trim() => {
                    // Both keys are on offer at a node; the other one is the
                    // easy mistake.
                    let witness = match &peer {
                        Ok(peer) => peer
                            .get::<WitnessKey>("/v1/witness", "the peer's witness key")
                            .await
                            .ok(),
                        Err(_) => None,
                    };
                    if witness.is_some_and(|w| w.verifier_key.trim() == k.trim()) {
                        bail!(
                            "the key given is the witness key of the node at {url} (it cosigns \
                             other logs' checkpoints, under /v1/witness); a peer is followed \
                             under its log key, `verifier_key` in {url}/v1/checkpoint: {shown}"
                        );
                    }
                    bail!(
                        "the node at {url} signs its log with the key {shown}, not the key given \
                         ({k}); check the URL and the key with the peer's operator"
                    )
                }
                (Some(k), Ok(_)) => k.clone(),
                (Some(k), Err(e)) => {
                    if !printer.json() {
                        eprintln!(
                            "{url} does not answer now ({}); adding it anyway: the node will keep \
                             trying, and `kaitiaki peer list` shows how it goes.",
                            crate::output::error_text(&e)
                        );
                    }
                    k.clone()
                }
                (None, Ok(key)) => {
                    if !printer.json() {
                        eprintln!(
                            "Trusting the log key {url} shows now: {key}\n\
                             Check it with its operator; pass --peer-key to pin it instead."
                        );
                    }
                    key
                }
                (None, Err(e)) => {
                    return Err(e.context(format!(
                        "cannot learn the log key of {url}; check the address, or pass --peer-key \
                         with the key its operator gave you"
                    )))
                }
            };
            NoteVerifier::parse(&key).context("the peer key is not a log key")?;
            let mut url = reqwest::Url::parse("http://node.invalid/v1/peers")?;
            url.query_pairs_mut()
                .append_pair("url", &a.url)
                .append_pair("key", &key);
            if a.no_witness {
                url.query_pairs_mut().append_pair("witness", "false");
            }
            let path = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            };
            let header = operator_signature(client, &a.data, "POST", &path).await?;
            let (status, row): (_, PeerRow) = client
                .signed_with_status("POST", &path, &header, "adding a peer")
                .await
                .map_err(peer_refusal)?;
            // 201 when the node began to follow it, 200 when it already did.
            let already = status == reqwest::StatusCode::OK;
            printer.emit(&Added { row, already })
        }
        PeerCmd::Remove(a) => {
            let path = format!("/v1/peers/{}", a.origin);
            let header = operator_signature(client, &a.data, "DELETE", &path).await?;
            let row: PeerRow = client
                .signed("DELETE", &path, &header, "removing a peer")
                .await
                .map_err(peer_refusal)?;
            printer.emit(&Removed(row))
        }
        PeerCmd::Forgive(a) => {
            let path = format!("/v1/peers/{}/quarantine", a.origin);
            let header = operator_signature(client, &a.data, "DELETE", &path).await?;
            let f: Forgiven = client
                .signed("DELETE", &path, &header, "lifting a quarantine")
                .await
                .map_err(peer_refusal)?;
            printer.emit(&f)
        }
    }
}

/// The signed-request header for `method path`, signed with the node key
/// in `data`.
async fn operator_signature(
    client: &Client,
    data: &std::path::Path,
    method: &str,
    path: &str,
) -> Result<String> {
    let origin = client.health().await?.origin;
    let identity = Identity::load(data, &origin).with_context(|| {
        format!(
            "cannot read the node key in {}; run this on the node's machine with --data <its data directory>",
            data.display()
        )
    })?;
    let now = crate::parse::now();
    Ok(sign_request(
        identity.signing_key(),
        &origin,
        method,
        path,
        now,
    ))
}

/// One evidence record, as the node keeps it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    /// Its id.
    pub id: String,
    /// The misbehaving log.
    pub origin: String,
    /// When found, Unix seconds.
    pub found_at: u64,
    /// replication, gossip or witness.
    pub found_by: String,
    /// Whether it verifies with the protocol crate alone.
    pub self_verifying: bool,
    /// The evidence.
    pub evidence: serde_json::Value,
    /// What this CLI found when it checked it (added here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked: Option<String>,
}

/// `kaitiaki evidence`.
#[derive(Debug, Serialize, Deserialize)]
pub struct EvidenceList {
    /// The records.
    pub evidence: Vec<Record>,
}

impl Render for EvidenceList {
    fn human(&self, out: &mut String) {
        if self.evidence.is_empty() {
            out.push_str("No evidence of misbehaviour: every log this node follows or witnesses has told one consistent story.\n");
            return;
        }
        for r in &self.evidence {
            out.push_str(&format!(
                "{} — {} by {} (found by {})\n  id: {}\n",
                r.evidence["kind"].as_str().unwrap_or("?"),
                r.origin,
                if r.self_verifying { "proof" } else { "claim" },
                r.found_by,
                r.id
            ));
            match &r.checked {
                Some(c) => out.push_str(&format!("  checked here: {c}\n")),
                None => out.push_str(&format!(
                    "  {}\n",
                    r.evidence["detail"]
                        .as_str()
                        .unwrap_or("(not checkable here: the log's key is not known)")
                )),
            }
        }
    }
}

/// Lists the node's evidence and checks every self-verifying record with
/// the protocol crate, under the log key the node follows it by (or
/// `--log-key` when given).
pub async fn evidence(client: &Client, printer: Printer, log_key: Option<&str>) -> Result<()> {
    let mut list: EvidenceList = client.get("/v1/evidence", "the evidence list").await?;
    let peers: Peers = client.get("/v1/peers", "the peer list").await?;
    for r in &mut list.evidence {
        if !r.self_verifying {
            continue;
        }
        let key = match log_key {
            Some(k) => Some(k.to_owned()),
            None => peers
                .peers
                .iter()
                .find(|p| p.origin == r.origin)
                .map(|p| p.key.clone()),
        };
        let Some(key) = key else { continue };
        let verifier =
            NoteVerifier::parse(&key).context("the log key is not a note verifier key")?;
        let parsed = Evidence::from_json(&r.evidence.to_string());
        r.checked = Some(match parsed.and_then(|e| e.verify(&verifier)) {
            Ok(finding) => format!("verified with the log's key: {finding}"),
            Err(e) => format!("does NOT verify ({}): {e}", e.code()),
        });
    }
    if list.evidence.iter().any(|r| {
        r.checked
            .as_deref()
            .is_some_and(|c| c.starts_with("does NOT"))
    }) {
        printer.emit(&list)?;
        bail!("some evidence the node serves does not verify");
    }
    printer.emit(&list)
}
