//! Saying something: build the statement, sign it, send it, report the result.
//!
//! Every action command ends here. The statement's `network` comes from
//! `--network` or, failing that, from the node itself (`/healthz`), so a
//! person never has to know their deployment's name; `created_at` is this
//! computer's clock, which the protocol treats as informative only.

use anyhow::Result;
use ed25519_dalek::SigningKey;
use kaitiaki_protocol::{Body, Envelope, PublicKey, Statement, StatementId};
use serde::Serialize;
use serde_json::Value;

use crate::client::{Client, Health};
use crate::keys::KeyStore;
use crate::output::{Printer, Render};
use crate::parse;

/// Everything a command needs to talk to a node as someone.
pub struct Session {
    /// The node.
    pub client: Client,
    /// The local keys.
    pub keys: KeyStore,
    /// `--key`, if given.
    pub key_name: Option<String>,
    /// `--network`, if given.
    pub network: Option<String>,
    /// How to print.
    pub printer: Printer,
    /// Print the signed envelope instead of sending it.
    pub dry_run: bool,
}

/// A statement the node accepted (or, with `--dry-run`, would be sent).
#[derive(Debug, Serialize)]
pub struct Submitted {
    /// The statement kind.
    pub kind: String,
    /// Its id: how other statements and `kaitiaki show` refer to it.
    pub id: StatementId,
    /// Its leaf index in the node's log (absent for a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// `created`, `existing` (sent before; nothing changed), or `dry_run`.
    pub status: String,
    /// The local key that signed.
    pub key: String,
    /// Its public half.
    pub author: PublicKey,
    /// The signed envelope, for `--dry-run`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub envelope: Option<serde_json::Value>,
    /// For a vote: the same member's earlier vote for the same body, which
    /// this one replaces (only a member's latest vote counts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Replaced>,
    /// For a vote: what became of what it was cast on, in words (this
    /// vote decided it, another had, or it is not decided yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// An earlier vote a new one replaces.
#[derive(Debug, Serialize)]
pub struct Replaced {
    /// The earlier vote's id.
    pub id: String,
    /// Its choice.
    pub choice: String,
    /// When it was sequenced.
    pub at: String,
}

impl Render for Submitted {
    fn human(&self, out: &mut String) {
        match (self.status.as_str(), self.index) {
            ("dry_run", _) => {
                out.push_str(&format!(
                    "Signed {} with key {} (not sent: --dry-run).\nid: {}\n",
                    self.kind, self.key, self.id
                ));
                // The statement in words, then the envelope to send.
                if let Some(e) = &self.envelope {
                    if let Some(statement) = signed_statement(e) {
                        out.push_str("says:\n");
                        crate::show::yamlish(&statement, 1, out);
                    }
                    out.push_str(&format!("envelope:\n{e}\n"));
                }
            }
            ("existing", Some(i)) => out.push_str(&format!(
                "Already in the log at leaf {i} ({}); nothing changed.\nid: {}\n",
                self.kind, self.id
            )),
            (_, Some(i)) => {
                out.push_str(&format!(
                    "Recorded {} at leaf {i}, signed by {}.\nid: {}\n",
                    self.kind, self.key, self.id
                ));
                if let Some(r) = &self.replaces {
                    out.push_str(&format!(
                        "It replaces your earlier vote ({}, {}): a member's latest vote is the one \
                         counted.\n",
                        crate::words::choice(&r.choice),
                        r.at
                    ));
                }
                if let Some(o) = &self.outcome {
                    out.push_str(&format!("{o}\n"));
                }
            }
            _ => out.push_str(&format!("{} {}\n", self.kind, self.id)),
        }
    }
}

impl Session {
    /// The node's health and identity; fails with a clear message if the
    /// node is not there.
    pub async fn health(&self) -> Result<Health> {
        self.client.health().await.map_err(|e| {
            // A URL that cannot be right says so itself; a refusal is the
            // node answering; nothing listening was advised on already.
            let refused_connection = e.chain().any(|c| {
                c.downcast_ref::<reqwest::Error>()
                    .is_some_and(reqwest::Error::is_connect)
            });
            if refused_connection
                || e.is::<crate::client::UrlMistake>()
                || e.is::<crate::rejections::Rejected>()
            {
                return e;
            }
            e.context(format!(
                "is a node running at {}? Start one with `kaitiaki node serve` or `kaitiaki demo`, \
                 or point at another with --node URL",
                self.client.base()
            ))
        })
    }

    /// The network to sign for: `--network`, or the node's.
    pub async fn network(&self) -> Result<String> {
        match &self.network {
            Some(n) => Ok(n.clone()),
            None => Ok(self.health().await?.network),
        }
    }

    /// The signing key chosen with `--key` (or the only one).
    pub fn signer(&self) -> Result<(String, SigningKey)> {
        self.keys.choose(self.key_name.as_deref())
    }

    /// Signs `body` as the chosen key and sends it.
    pub async fn say(&self, body: Body) -> Result<Submitted> {
        let (name, key) = self.signer()?;
        let network = self.network().await?;
        self.say_as(&name, &key, &network, body).await
    }

    /// Signs `body` with `key` for `network` and sends it (or, for a dry
    /// run, only signs it).
    pub async fn say_as(
        &self,
        name: &str,
        key: &SigningKey,
        network: &str,
        body: Body,
    ) -> Result<Submitted> {
        let envelope = sign(key, network, body.clone())?;
        let kind = body.kind().name().to_owned();
        let author = PublicKey::of(key);
        if self.dry_run {
            return Ok(Submitted {
                kind,
                id: envelope.id(),
                index: None,
                status: "dry_run".into(),
                key: name.to_owned(),
                author,
                envelope: Some(serde_json::to_value(envelope.to_dsse())?),
                replaces: None,
                outcome: None,
            });
        }
        let accepted = self.client.submit(&envelope).await?;
        Ok(Submitted {
            kind,
            id: accepted.id,
            index: Some(accepted.index),
            status: accepted.status,
            key: name.to_owned(),
            author,
            envelope: None,
            replaces: None,
            outcome: None,
        })
    }

    /// Signs and sends a vote, and prints it with the vote it replaces, if
    /// the same member voted for the same body on the same request before.
    pub async fn vote(&self, body: Body) -> Result<()> {
        let Body::Vote(v) = &body else {
            return self.say_and_print(body).await;
        };
        let (subject, board) = (v.subject.to_hex(), v.body.to_hex());
        // A mistyped --body would be refused as a board that does not
        // govern the request, which sends a member looking at the wrong
        // thing.
        if !self.dry_run {
            if let Ok(None) = self
                .client
                .query_optional(&format!("/v1/bodies/{board}"))
                .await
            {
                anyhow::bail!(
                    "the node at {} holds no board {board}: check --body (`kaitiaki list \
                     bodies` lists the boards it holds)",
                    self.client.base()
                );
            }
        }
        let mut done = self.say(body).await?;
        if done.status == "created" {
            // Best effort: the vote is recorded whatever this finds.
            let related = self.vote_related(&done).await;
            if let Some(says) = &related.says {
                done.outcome = crate::story::vote_outcome(&done.id.to_hex(), says, &related.of);
            }
            if let Some(("request", id, request)) = related
                .of
                .owner
                .as_ref()
                .map(|(kind, id, view)| (kind.as_str(), id, view))
            {
                done.replaces = earlier_vote(request, &done, &board, &subject);
                // A vote on a request that another board, or its
                // requester, has already ended decides nothing: say so.
                let status = request["status"].as_str().unwrap_or_default();
                let ended = matches!(status, "declined" | "withdrawn" | "revoked" | "expired");
                if ended && *id == subject {
                    done.outcome = Some(format!(
                        "The request is {} already, so this vote is recorded but decides \
                         nothing.",
                        crate::words::status(status).to_lowercase()
                    ));
                }
            }
        }
        self.printer.emit(&done)
    }

    /// What a vote just recorded is part of, as `show` reads it.
    async fn vote_related(&self, done: &Submitted) -> VoteRelated {
        let id = done.id;
        let Ok(Some(view)) = self.client.statement(&id).await else {
            return VoteRelated::default();
        };
        let says = view.statement.get("body").cloned().unwrap_or(Value::Null);
        let standing = self
            .client
            .query_optional(&format!("/v1/statements/{id}/state"))
            .await
            .ok()
            .flatten();
        let of = crate::show::owner(
            &self.client,
            &says,
            &done.author.to_hex(),
            standing.as_ref(),
        )
        .await;
        VoteRelated {
            of,
            says: Some(says),
        }
    }

    /// Signs, sends and prints.
    pub async fn say_and_print(&self, body: Body) -> Result<()> {
        let done = self.say(body).await?;
        self.printer.emit(&done)
    }
}

/// What [`Session::vote`] learns of a vote it recorded.
#[derive(Default)]
struct VoteRelated {
    /// What the vote is part of, and the names and statements around it,
    /// as `show` gathers them.
    of: crate::story::Related,
    /// The vote's own body, as the node serves it.
    says: Option<Value>,
}

/// The latest vote in a request's timeline by the author of `done` for
/// `board` on `subject` (the request, or a renewal or motion of it), other
/// than `done` itself.
fn earlier_vote(
    request: &serde_json::Value,
    done: &Submitted,
    board: &str,
    subject: &str,
) -> Option<Replaced> {
    let (me, new) = (done.author.to_hex(), done.id.to_hex());
    request
        .get("timeline")?
        .as_array()?
        .iter()
        .rfind(|item| {
            item["kind"] == "vote"
                && item["author"] == me.as_str()
                && item["body"]["body"] == board
                && item["body"]["subject"] == subject
                && item["id"] != new.as_str()
        })
        .map(|item| Replaced {
            id: item["id"].as_str().unwrap_or_default().to_owned(),
            choice: item["body"]["choice"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            at: item["pos"]["at"].as_str().unwrap_or_default().to_owned(),
        })
}

/// The statement a DSSE envelope (as JSON) carries, as JSON.
fn signed_statement(envelope: &serde_json::Value) -> Option<serde_json::Value> {
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(envelope.get("payload")?.as_str()?)
        .ok()?;
    serde_json::from_slice(&payload).ok()
}

/// Builds and signs a statement by `key` for `network`, made now.
pub fn sign(key: &SigningKey, network: &str, body: Body) -> Result<Envelope> {
    sign_at(key, network, body, parse::now())
}

/// [`sign`], made at `created_at` rather than now.
pub fn sign_at(
    key: &SigningKey,
    network: &str,
    body: Body,
    created_at: kaitiaki_protocol::Timestamp,
) -> Result<Envelope> {
    let statement = Statement {
        network: network.to_owned(),
        author: PublicKey::of(key),
        created_at,
        body,
    };
    Envelope::sign(key, &statement).map_err(|e| match &e {
        kaitiaki_protocol::envelope::EnvelopeError::Statement(
            kaitiaki_protocol::statement::StatementError::Limit(l),
        ) => match flag_of(l) {
            Some(said) => anyhow::anyhow!(said),
            None => anyhow::Error::new(e).context("the statement breaks a protocol limit"),
        },
        _ => anyhow::Error::new(e).context("the statement breaks a protocol limit"),
    })
}

/// Fields of a statement's body that a command sets from a flag of the
/// same name (`display_name` from `--display-name`).
const FLAG_FIELDS: &[&str] = &[
    "text",
    "reason",
    "link",
    "title",
    "purpose",
    "summary",
    "description",
    "display_name",
    "affiliation",
    "name",
    "steward",
];

/// A limit a statement breaks, in the words of the flag that set the
/// field, when one did: `--text must not be empty…`, not `field
/// body.text: …` (where "body" reads as `--body`, the board).
fn flag_of(l: &kaitiaki_protocol::statement::limits::LimitError) -> Option<String> {
    if l.field == "body" && l.problem.contains("amendment must change something") {
        return Some(
            "the amendment changes nothing: give at least one of --add-member, \
             --remove-member, --rule, --notice-days or --description"
                .to_owned(),
        );
    }
    let name = l.field.strip_prefix("body.")?;
    FLAG_FIELDS
        .contains(&name)
        .then(|| format!("--{}: {}", name.replace('_', "-"), l.problem))
}
