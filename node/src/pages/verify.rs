//! Verification, shown to people: is this record really in the log, and is
//! the log the same one everybody else sees?
//!
//! The check runs here, on the server, with the protocol crate: the leaf's
//! RFC 6962 hash, its inclusion proof, the root that proof leads to, and the
//! node's signature on the checkpoint that names that root. The page says
//! exactly what was checked and what was not, and links the raw signed
//! statement and the proof so anyone can check again with other tools.

use kaitiaki_protocol::checkpoint::VerifiedCheckpoint;
use kaitiaki_protocol::merkle::{leaf_hash, verify_inclusion};
use kaitiaki_protocol::note::{Note, NoteVerifier};
use kaitiaki_protocol::{Hash, Timestamp};
use maud::{html, Markup};

use super::labels::Labels;
use super::layout::{date, person, short, NodeInfo, Person};

/// A witness signature line found on the checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witness {
    /// The witness's key name.
    pub name: String,
    /// Its key id, 8 hex digits.
    pub key_id: String,
}

/// What this node knows about equivocation: two checkpoints of one log
/// that cannot both be true.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// The node does not compare checkpoints with other nodes, so it has
    /// nothing to say either way; the page says so rather than "none".
    NotCollected,
    /// Checked, and none found.
    None,
    /// Evidence kept, one line each.
    Found(Vec<String>),
}

/// The state of the node's own log, shown on the overview and on every
/// record check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogStatus {
    /// The log's origin.
    pub origin: String,
    /// The size of the latest checkpoint.
    pub size: u64,
    /// Its root, hex.
    pub root: String,
    /// When the newest leaf was sequenced, if any.
    pub latest: Option<Timestamp>,
    /// Whether the checkpoint's signature by the node's key checked out,
    /// and if not, why.
    pub signed: Result<(), String>,
    /// Witness signature lines on the checkpoint.
    pub witnesses: Vec<Witness>,
    /// Equivocation evidence.
    pub evidence: Evidence,
    /// The node's note verifier key, for people checking with other tools.
    pub verifier_key: String,
}

/// A record checked against the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordCheck {
    /// The statement id.
    pub id: String,
    /// Its kind, e.g. `vote`.
    pub kind: String,
    /// Who signed it.
    pub author: Person,
    /// When the author says they made it.
    pub created_at: Timestamp,
    /// When the node sequenced it.
    pub sequenced_at: Timestamp,
    /// Its leaf index.
    pub index: u64,
    /// Its RFC 6962 leaf hash, hex.
    pub leaf_hash: String,
    /// The inclusion proof, hex, leaf upwards.
    pub proof: Vec<String>,
    /// Whether the proof led to the signed checkpoint's root, and if not, why.
    pub included: Result<(), String>,
    /// Whether the author's signature on the statement checked out (strict
    /// Ed25519 over the exact signed bytes), and if not, why.
    pub signature: Result<(), String>,
    /// The log and its checkpoint.
    pub log: LogStatus,
    /// The signed statement payload, pretty-printed.
    pub payload: String,
}

/// A checkpoint whose signature checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// Its tree size.
    pub size: u64,
    /// Its root.
    pub root: Hash,
    /// Witness lines on it (not checked: see the page).
    pub witnesses: Vec<Witness>,
}

/// Opens the signed checkpoint `note` of the log `origin` with the node's
/// key and lists the other signature lines on it.
pub fn open_checkpoint(
    note: &str,
    origin: &str,
    verifier: &NoteVerifier,
) -> Result<Checked, String> {
    let opened = VerifiedCheckpoint::open(note.as_bytes(), origin, std::slice::from_ref(verifier))
        .map_err(|e| {
            format!(
                "the checkpoint's signature did not check out ({})",
                e.code()
            )
        })?;
    let witnesses = witnesses(opened.note(), origin);
    Ok(Checked {
        size: opened.checkpoint().size(),
        root: *opened.checkpoint().root(),
        witnesses,
    })
}

fn witnesses(note: &Note, origin: &str) -> Vec<Witness> {
    note.signatures()
        .iter()
        .filter(|s| s.name().as_str() != origin)
        .map(|s| Witness {
            name: s.name().as_str().to_owned(),
            key_id: s.key_id().to_string(),
        })
        .collect()
}

/// Checks that `leaf` (its exact bytes) is leaf `index` of the tree whose
/// root the checkpoint signs, using `proof`.
pub fn check_inclusion(
    leaf: &[u8],
    index: u64,
    proof: &[Hash],
    checkpoint: &Checked,
) -> Result<(), String> {
    verify_inclusion(
        &leaf_hash(leaf),
        index,
        checkpoint.size,
        proof,
        &checkpoint.root,
    )
    .map_err(|e| format!("the inclusion proof did not lead to the signed root: {e}"))
}

/// A short line for the top of a record's page: where it is and whether
/// it checked out.
pub fn summary(check: &Option<RecordCheck>, id: &str) -> Markup {
    html! {
        aside.verify-summary aria-label="Verification" {
            @match check {
                Some(c) => {
                    @match &c.included {
                        Ok(()) => {
                            p {
                                span.ok aria-hidden="true" { "✓ " }
                                "Record " strong { "#" (c.index) } " of this node's log. This node checked, just now, that it is included "
                                "in the log its latest signed checkpoint (" (c.log.size) " records) describes. "
                                a href={ "/records/" (id) } { "See how, and check it yourself" }
                            }
                        }
                        Err(e) => {
                            p.warn {
                                strong { "Warning: this record could not be verified. " } (e) ". "
                                a href={ "/records/" (id) } { "Details" }
                            }
                        }
                    }
                }
                None => {
                    p {
                        "This record was not written to this node's own log, so this node cannot prove it is included. "
                        a href={ "/records/" (id) } { "More about checking records" }
                    }
                }
            }
        }
    }
}

/// The status of the node's log: for the overview.
pub fn log_status(l: &Labels, s: &LogStatus) -> Markup {
    html! {
        section.card.log-status aria-labelledby="log-status" {
            h2 #log-status { (l.ui("verification_status")) }
            @match &s.signed {
                Ok(()) => p {
                    span.ok aria-hidden="true" { "✓ " }
                    "This node's log holds " strong { (s.size) " records" }
                    @if let Some(t) = s.latest { ", the newest from " (date(t)) }
                    ". Its latest checkpoint (a signed summary of every record, in order) was checked just now "
                    "with the node's public key."
                },
                Err(e) => p.warn { strong { "Warning: " } (e) "." },
            }
            (witness_list(&s.witnesses))
            (evidence(&s.evidence))
            details {
                summary { "For people checking with their own tools" }
                dl.facts {
                    dt { "Log" } dd { code { (s.origin) } }
                    dt { "Root hash" } dd { code.hash { (s.root) } }
                    dt { "Node key" } dd { code.hash { (s.verifier_key) } }
                }
                p { a href="/v1/checkpoint/note" { "The signed checkpoint" } " (C2SP signed note)." }
            }
        }
    }
}

fn witness_list(w: &[Witness]) -> Markup {
    html! {
        @if w.is_empty() {
            p {
                "No witness has cosigned this checkpoint yet. A witness is another node that keeps this log's "
                "checkpoints and signs each one only if it agrees with everything it saw before; with witnesses, "
                "this node could not show one history to you and another to someone else without being caught."
            }
        } @else {
            p { "Witnesses that have cosigned this checkpoint:" }
            ul {
                @for x in w { li { strong { (x.name) } " (key id " code { (x.key_id) } ")" } }
            }
            p.small {
                "This page lists the witness lines on the checkpoint. It does not check the witnesses' signatures "
                "itself, because this node keeps no list of witness keys yet: check them with your own tools."
            }
        }
    }
}

fn evidence(e: &Evidence) -> Markup {
    html! {
        @match e {
            Evidence::NotCollected => p {
                "Equivocation (a log showing two different histories) is caught by comparing checkpoints between nodes. "
                "This node does not follow other nodes yet, so it has no such comparison to show."
            },
            Evidence::None => p { span.ok aria-hidden="true" { "✓ " } "No equivocation has been found." },
            Evidence::Found(lines) => div.alert role="alert" {
                p { strong { "Evidence of equivocation was found." } " A log signed two histories that cannot both be true:" }
                ul { @for x in lines { li { (x) } } }
            },
        }
    }
}

/// The whole "check this record" page body.
pub fn record_page(l: &Labels, node: &NodeInfo, c: &RecordCheck) -> Markup {
    html! {
        p.kicker { (l.ui("verification")) }
        h1 { "Record #" (c.index) ": " (l.english(kind_words(&c.kind))) }
        p.meta { "Kind of statement: " code { (c.kind) } }
        p.lead {
            "Signed by " (person(&c.author)) ". Made on " (date(c.created_at))
            "; entered this node's log on " (date(c.sequenced_at)) "."
        }
        section.card aria-labelledby="what-checked" {
            h2 #what-checked { "What this node checked, just now" }
            ol.checks {
                li {
                    (mark(&c.log.signed))
                    "The latest checkpoint of the log " code { (c.log.origin) } " (" (c.log.size) " records) is signed with this node's key."
                }
                li {
                    (mark(&c.included))
                    "This record is record #" (c.index) " of that checkpoint: hashing the record and the " (c.proof.len())
                    " hashes of its inclusion proof gives exactly the root the checkpoint signs."
                    @if let Err(e) = &c.included { " " strong { (e) } }
                }
                li {
                    (mark(&c.signature))
                    "The statement is signed by the key shown above: its signature over the exact signed bytes checks out."
                    @if let Err(e) = &c.signature { " " strong { (e) } }
                }
            }
            (witness_list(&c.log.witnesses))
            (evidence(&c.log.evidence))
        }
        section.card aria-labelledby="yourself" {
            h2 #yourself { "Check it yourself" }
            p {
                "Nobody has to trust this page. With the " code { "kaitiaki" } " command you can fetch the record and its proof and check them on your own computer:"
            }
            pre { code { "kaitiaki --node " (node.base_url) " log proof inclusion " (c.id) } }
            ul {
                li { a href={ "/v1/statements/" (c.id) } { "The signed statement, its proof and checkpoint (JSON)" } }
                li { a href="/v1/checkpoint/note" { "The latest signed checkpoint" } }
            }
            dl.facts {
                dt { "Statement id" } dd { code.hash { (c.id) } }
                dt { "Leaf hash" } dd { code.hash { (c.leaf_hash) } }
                dt { "Root hash" } dd { code.hash { (c.log.root) } }
                dt { "Node key" } dd { code.hash { (c.log.verifier_key) } }
            }
            details {
                summary { "The inclusion proof (" (c.proof.len()) " hashes)" }
                ol.proof { @for h in &c.proof { li { code.hash { (h) } } } }
            }
            details {
                summary { "What was signed" }
                pre.payload { code { (c.payload) } }
            }
        }
        p { "Statement " code { (short(&c.id)) } "… is part of the public record. " a href="/" { "Back to the overview" } }
    }
}

/// A statement kind in plain words.
pub fn kind_words(kind: &str) -> &'static str {
    match kind {
        "key.announce" => "someone says who they are",
        "key.rotate" => "someone changes their key",
        "key.revoke" => "someone withdraws their key",
        "body.charter" => "a governance board's charter",
        "body.amend" => "a proposed change to a charter",
        "dataset.register" => "a dataset is registered",
        "request.submit" => "a request for access",
        "request.question" => "a question about a request",
        "request.answer" => "an answer to a question",
        "request.withdraw" => "a request is withdrawn",
        "request.renew" => "a request for more time",
        "vote" => "a board member's vote",
        "rahui.place" => "a rāhui is placed",
        "rahui.lift" => "a rāhui is lifted",
        "approval.motion" => "a motion about an approval",
        "report.file" => "a use report",
        "report.review" => "a board reviews a report",
        "output.submit" => "an output of the work",
        "output.review" => "a board reviews an output",
        "concern.raise" => "a concern",
        "concern.respond" => "a board responds to a concern",
        "attachment.commit" => "a confidential document, kept off the log",
        _ => "a statement",
    }
}

fn mark(r: &Result<(), String>) -> Markup {
    html! {
        @match r {
            Ok(()) => span.ok { "✓" span.visually-hidden { " checked:" } " " },
            Err(_) => span.bad { "✗" span.visually-hidden { " failed:" } " " },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kaitiaki_protocol::checkpoint::Checkpoint;
    use kaitiaki_protocol::merkle::MemoryTree;
    use kaitiaki_protocol::note::{KeyName, NoteSigner};

    #[test]
    fn a_leaf_checks_against_a_signed_checkpoint_and_a_wrong_one_does_not() {
        let mut tree = MemoryTree::new();
        let leaves: Vec<Vec<u8>> = (0u8..5).map(|i| vec![i; 10]).collect();
        for l in &leaves {
            tree.append(l);
        }
        let signer = NoteSigner::from_seed(KeyName::new("log.example").expect("name"), &[9; 32]);
        let cp = Checkpoint::new("log.example", 5, tree.root()).expect("cp");
        let note = String::from_utf8(cp.sign(&signer).expect("sign").to_bytes()).expect("utf8");
        let checked = open_checkpoint(&note, "log.example", &signer.verifier()).expect("opens");
        let proof = kaitiaki_protocol::merkle::inclusion_proof(&tree, 3, 5).expect("proof");
        assert_eq!(check_inclusion(&leaves[3], 3, &proof, &checked), Ok(()));
        assert!(check_inclusion(&leaves[2], 3, &proof, &checked).is_err());
        assert!(open_checkpoint(&note, "other.example", &signer.verifier()).is_err());
    }
}
