//! Verification, shown to people: is this record really in the log, and is
//! the log the same one everybody else sees?
//!
//! The check runs here, on the server, with the protocol crate: the leaf's
//! RFC 6962 hash, its inclusion proof, the root that proof leads to, and the
//! node's signature on the checkpoint that names that root, and each
//! witness cosignature on that checkpoint against the witness keys the node
//! trusts. The page says exactly what was checked and what was not, and
//! links the raw signed statement and the proof so anyone can check again
//! with other tools.

use kaitiaki_protocol::checkpoint::{Checkpoint, VerifiedCheckpoint};
use kaitiaki_protocol::cosignature::CosignatureVerifier;
use kaitiaki_protocol::merkle::{leaf_hash, verify_inclusion};
use kaitiaki_protocol::note::{Note, NoteSignature, NoteVerifier, Verifier};
use kaitiaki_protocol::{Hash, Statement, Timestamp};
use maud::{html, Markup};

use super::concern::ConcernRecordView;
use super::labels::Labels;
use super::layout::{date, date_time, person, prose, short, NodeInfo, Person};

/// What checking one witness line against the trusted witness keys found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WitnessCheck {
    /// A witness this node trusts cosigned the checkpoint, at this time
    /// (the time is part of what the witness signed).
    Verified {
        /// When the witness cosigned.
        at: Timestamp,
    },
    /// The line names a key this node does not trust as a witness, so it
    /// says nothing either way.
    UnknownKey,
    /// The line names a trusted witness, but its signature does not check
    /// out against this checkpoint.
    Invalid,
}

/// A witness signature line found on the checkpoint, and whether it checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witness {
    /// The witness's key name.
    pub name: String,
    /// Its key id, 8 hex digits.
    pub key_id: String,
    /// What checking the line found.
    pub check: WitnessCheck,
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
    /// Witness signature lines on the checkpoint, each checked.
    pub witnesses: Vec<Witness>,
    /// How many witnesses this node trusts (its configured witness keys).
    pub trusted: usize,
    /// Equivocation evidence.
    pub evidence: Evidence,
    /// The nodes this node follows, and how far it has mirrored each.
    pub peers: Vec<PeerLine>,
    /// The node's note verifier key, for people checking with other tools.
    pub verifier_key: String,
}

/// One followed node, as the overview shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerLine {
    /// Its log's origin.
    pub origin: String,
    /// Its address.
    pub url: String,
    /// `starting`, `following`, `unreachable`, `unverified`, `quarantined`
    /// or `removed`.
    pub state: String,
    /// Records mirrored here, each checked.
    pub mirrored: u64,
    /// Records its latest checkpoint covers.
    pub remote_size: u64,
    /// Why it is quarantined, if it is.
    pub quarantine: Option<String>,
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
    /// For a record of a peer's log mirrored here: that node's address.
    pub mirrored_from: Option<String>,
    /// The page of what the record is part of (a request, a dataset, a
    /// board), when there is one: its address and its title or name.
    pub about: Option<(String, String)>,
    /// The statement, decoded, if it decodes (for the words about it).
    pub statement: Option<Statement>,
}

/// A record in plain words, for its page: what it did, the facts a reader
/// asks about it, and the page that tells the story it is part of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordSummary {
    /// What it did, in a sentence.
    pub said: String,
    /// What a reader asks about it, each with a label.
    pub facts: Vec<(&'static str, Fact)>,
    /// The page that tells its story: address and what to call it.
    pub story: Option<(String, String)>,
}

/// One fact about a record, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact {
    /// A few words.
    Text(String),
    /// A page: address and name.
    Link(String, String),
    /// Someone's own words, quoted.
    Quote(String),
    /// A vote's choice.
    Choice(kaitiaki_protocol::statement::Choice),
}

/// A [`RecordSummary`], as the top of a record's page shows it.
fn in_words(l: &Labels, s: &RecordSummary) -> Markup {
    html! {
        section.card.in-words aria-labelledby="in-words" {
            h2 #in-words { "What this record says" }
            p { (l.english(&s.said)) }
            @if !s.facts.is_empty() {
                dl.facts {
                    @for (label, fact) in &s.facts {
                        dt { (l.english(label)) }
                        dd {
                            @match fact {
                                Fact::Text(t) => { (l.english(t)) }
                                Fact::Link(href, name) => { a href=(href) { (name) } }
                                Fact::Quote(q) => { blockquote { (prose(q)) } }
                                Fact::Choice(c) => { (super::request::choice_label(l, *c)) }
                            }
                        }
                    }
                }
            }
            @if let Some((href, name)) = &s.story {
                p { "The whole story: " a href=(href) { (name) } }
            }
        }
    }
}

/// A checkpoint whose signature checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// Its tree size.
    pub size: u64,
    /// Its root.
    pub root: Hash,
    /// The other signature lines on it, each checked against the trusted
    /// witness keys.
    pub witnesses: Vec<Witness>,
    /// How many witnesses this node trusts.
    pub trusted: usize,
}

/// Opens the signed checkpoint `note` of the log `origin` with the node's
/// key, and checks every other signature line on it as a cosignature
/// against `trusted`, the witness keys this node trusts.
pub fn open_checkpoint(
    note: &str,
    origin: &str,
    verifier: &NoteVerifier,
    trusted: &[CosignatureVerifier],
) -> Result<Checked, String> {
    let opened = VerifiedCheckpoint::open(note.as_bytes(), origin, std::slice::from_ref(verifier))
        .map_err(|e| {
            format!(
                "the checkpoint's signature did not check out ({})",
                e.code()
            )
        })?;
    let witnesses = witnesses(opened.note(), opened.checkpoint(), verifier, trusted);
    Ok(Checked {
        size: opened.checkpoint().size(),
        root: *opened.checkpoint().root(),
        witnesses,
        trusted: trusted.len(),
    })
}

/// Every signature line of `note` except the log's own, each checked as a
/// cosignature of `checkpoint` with the protocol crate.
fn witnesses(
    note: &Note,
    checkpoint: &Checkpoint,
    log: &NoteVerifier,
    trusted: &[CosignatureVerifier],
) -> Vec<Witness> {
    note.signatures()
        .iter()
        .filter(|s| !s.is_from(Verifier::name(log), Verifier::key_id(log)))
        .map(|s| Witness {
            name: s.name().as_str().to_owned(),
            key_id: s.key_id().to_string(),
            check: check_cosignature(checkpoint, s, trusted),
        })
        .collect()
}

/// Checks one signature line against the trusted witness keys. A line is
/// verified only when a trusted key's cosignature check accepts it.
pub fn check_cosignature(
    checkpoint: &Checkpoint,
    line: &NoteSignature,
    trusted: &[CosignatureVerifier],
) -> WitnessCheck {
    let mut named = trusted
        .iter()
        .filter(|v| line.is_from(v.name(), v.key_id()));
    let Some(first) = named.next() else {
        return WitnessCheck::UnknownKey;
    };
    for v in std::iter::once(first).chain(named) {
        if let Ok(c) = v.verify_cosignature(checkpoint, line) {
            if let Some(at) = i64::try_from(c.timestamp())
                .ok()
                .and_then(|s| Timestamp::from_unix_seconds(s).ok())
            {
                return WitnessCheck::Verified { at };
            }
        }
    }
    WitnessCheck::Invalid
}

/// How many of the trusted witnesses verifiably cosigned (a witness with
/// several valid lines counts once).
pub fn verified_count(w: &[Witness]) -> usize {
    let mut keys: Vec<(&str, &str)> = w
        .iter()
        .filter(|x| matches!(x.check, WitnessCheck::Verified { .. }))
        .map(|x| (x.name.as_str(), x.key_id.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys.len()
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

impl RecordCheck {
    /// Where the record sits, as people count: "39 of 39" for the last of
    /// 39 records (leaf index 38). The leaf index itself, which counts
    /// from 0, is shown only where it is labelled as such, for people
    /// checking with their own tools.
    pub fn ordinal(&self) -> String {
        format!("{} of {}", self.index.saturating_add(1), self.log.size)
    }
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
                                @if c.mirrored_from.is_some() {
                                    "Record " strong { (c.ordinal()) } " in the log of " code { (c.log.origin) } ", copied here from the node that runs it. "
                                    "This node checked, just now, that it is included in the history that node signed (" (c.log.size) " records). "
                                } @else {
                                    "Record " strong { (c.ordinal()) } " in this node's log. This node checked, just now, that it is included "
                                    "in the log its latest signed checkpoint (" (c.log.size) " records) describes. "
                                }
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
                        "This record is not (yet) in a log this node holds in full, so this node cannot prove it is included. "
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
            (witness_list(l, &s.witnesses, s.trusted))
            (peer_list(&s.peers))
            (evidence(&s.evidence))
            details {
                summary { "For people checking with their own tools" }
                dl.facts {
                    dt { "Log" } dd { code { (s.origin) } }
                    dt { "Root hash" } dd { code.hash { (s.root) } }
                    dt { "Node key" } dd { code.hash { (s.verifier_key) } }
                }
                p { a href="/v1/checkpoint/note" { "The signed checkpoint" } " (C2SP signed note)." }
                p {
                    "The whole log as C2SP tlog-tiles, for transparency-log tools and caches: "
                    "this node's address followed by " code { "/tlog" } " (its "
                    a href="/tlog/checkpoint" { "checkpoint" } ")."
                }
            }
        }
    }
}

fn witness_list(l: &Labels, w: &[Witness], trusted: usize) -> Markup {
    let verified = verified_count(w);
    let invalid = w.iter().any(|x| x.check == WitnessCheck::Invalid);
    let summary = html! {
        p.witness-summary {
            @if trusted > 0 && verified == trusted && !invalid {
                span.ok aria-hidden="true" { "✓ " }
            }
            strong {
                "Cosigned by " (verified) " of " (trusted) " "
                (if trusted == 1 { "witness" } else { "witnesses" }) " this node trusts."
            }
        }
    };
    html! {
        @if w.is_empty() {
            @if trusted > 0 { (summary) }
            p {
                "No witness has cosigned this checkpoint yet. A witness is another node that keeps this log's "
                "checkpoints and signs each one only if it agrees with everything it saw before; with witnesses, "
                "this node could not show one history to you and another to someone else without being caught."
            }
        } @else {
            @if trusted > 0 {
                (summary)
            } @else {
                p.witness-summary {
                    "This node trusts no witness keys, so it cannot check the witness lines below: "
                    "check them with your own tools."
                }
            }
            @if invalid {
                p.warn {
                    strong { "Warning: " }
                    "a line below names a witness this node trusts, but its signature does not match this checkpoint. "
                    "It does not count as a cosignature."
                }
            }
            ul.witnesses {
                @for x in w {
                    li {
                        strong { (x.name) } " (key id " code { (x.key_id) } "): "
                        @match &x.check {
                            WitnessCheck::Verified { at } => {
                                span.ok { "✓ " (l.ui("witness_verified")) }
                                ", cosigned on " (date_time(*at))
                            }
                            // A key this node does not trust, or no longer
                            // does (a witness removed with its peer): not a
                            // fault, only not counted.
                            WitnessCheck::UnknownKey => {
                                span { (l.ui("witness_unknown_key")) }
                            }
                            WitnessCheck::Invalid => {
                                span.bad { "✗ " (l.ui("witness_invalid")) }
                            }
                        }
                    }
                }
            }
            p.small {
                "Each witness line was checked just now, with the witness keys this node trusts, against this "
                "checkpoint. Only verified lines are counted."
            }
        }
    }
}

fn peer_list(peers: &[PeerLine]) -> Markup {
    html! {
        @if !peers.is_empty() {
            h3 { "Other nodes this node keeps a copy of" }
            p.small {
                "Every record copied from another node is checked here first: its signature, the rules, and that it "
                "belongs to the history that node signed."
            }
            ul.peers {
                @for p in peers {
                    li {
                        code { (p.origin) } " — "
                        @match p.state.as_str() {
                            "following" => { span.ok aria-hidden="true" { "✓ " } "in step: " }
                            "quarantined" => { strong { "set aside: " } }
                            "unreachable" => { "not answering just now: " }
                            "unverified" => { "answering, but not as the node this one follows there, so nothing new is copied: " }
                            "removed" => { "no longer followed, as this node's operator decided: " }
                            _ => { "starting: " }
                        }
                        @if p.state == "removed" {
                            (p.mirrored) " records copied and checked before then, which are kept and still count"
                        } @else {
                            (p.mirrored) " of " (p.remote_size) " records copied and checked"
                        }
                        @if let Some(q) = &p.quarantine {
                            ". " strong { "It is no longer followed because " (q) "." }
                        }
                    }
                }
            }
        }
    }
}

fn evidence(e: &Evidence) -> Markup {
    html! {
        @match e {
            Evidence::NotCollected => p {
                "Equivocation (a log showing two different histories) is caught by comparing checkpoints between nodes. "
                "This node does not follow or witness other nodes, so it has no such comparison to show."
            },
            Evidence::None => p { span.ok aria-hidden="true" { "✓ " } "No equivocation or other misbehaviour has been found: every log this node follows or witnesses has told one consistent story." },
            Evidence::Found(lines) => div.alert role="alert" {
                p { strong { "Evidence of misbehaviour was found." } " A log signed something that cannot be true, or broke the federation's rules:" }
                ul { @for x in lines { li { (x) } } }
                p.small { "The evidence itself, which anyone can check with the log's public key: " a href="/v1/evidence" { "/v1/evidence" } "." }
            },
        }
    }
}

/// The whole "check this record" page body. For a concern, or a response
/// to one, `concern` is what it says and what it is about, shown first;
/// for any other record, `words` says what it did, when there are words
/// for its kind.
pub fn record_page(
    l: &Labels,
    node: &NodeInfo,
    c: &RecordCheck,
    concern: Option<&ConcernRecordView>,
    words: Option<&RecordSummary>,
) -> Markup {
    html! {
        p.kicker { (l.ui("verification")) }
        h1 { "Record " (c.ordinal()) ": " (l.english(kind_words(&c.kind))) }
        p.lead {
            "Signed by " (person(&c.author)) ". Made on " (date(c.created_at))
            @if c.mirrored_from.is_some() {
                "; entered the log of " code { (c.log.origin) } " on " (date(c.sequenced_at)) ", and was copied here from it."
            } @else {
                "; entered this node's log on " (date(c.sequenced_at)) "."
            }
        }
        @if let Some((href, name)) = &c.about {
            @if concern.is_none() { p { "Part of the record of " a href=(href) { (name) } "." } }
        }
        @if let Some(v) = concern { (super::concern::record_section(v)) }
        @else if let Some(w) = words { (in_words(l, w)) }
        section.card aria-labelledby="what-checked" {
            h2 #what-checked { "What this node checked, just now" }
            ol.checks {
                li {
                    (mark(&c.log.signed))
                    "The latest checkpoint of the log " code { (c.log.origin) } " (" (c.log.size) " records) is signed with "
                    @if c.mirrored_from.is_some() { "the key of the node that runs it (the key this node follows it by)." } @else { "this node's key." }
                }
                li {
                    (mark(&c.included))
                    "This record is record " (c.ordinal()) " in that checkpoint: hashing the record and the " (c.proof.len())
                    " hashes of its inclusion proof gives exactly the root the checkpoint signs."
                    @if let Err(e) = &c.included { " " strong { (e) } }
                }
                li {
                    (mark(&c.signature))
                    "The statement is signed by the key shown above: its signature over the exact signed bytes checks out."
                    @if let Err(e) = &c.signature { " " strong { (e) } }
                }
            }
            (witness_list(l, &c.log.witnesses, c.log.trusted))
            (evidence(&c.log.evidence))
        }
        section.card aria-labelledby="yourself" {
            h2 #yourself { "Check it yourself" }
            p {
                "Nobody has to trust this page. With the " code { "kaitiaki" } " command you can fetch the record and its proof and check them on your own computer:"
            }
            pre { code { "kaitiaki --node " (c.mirrored_from.as_deref().unwrap_or(&node.base_url)) " log proof inclusion " (c.id) } }
            ul {
                li { a href={ "/v1/statements/" (c.id) } { "The signed statement, its proof and checkpoint (JSON)" } }
                @if c.mirrored_from.is_some() {
                    li { a href="/v1/mirrors" { "The checkpoints of the logs this node copies" } }
                } @else {
                    li { a href="/v1/checkpoint/note" { "The latest signed checkpoint" } }
                }
            }
            dl.facts {
                dt { "Statement id" } dd { code.hash { (c.id) } }
                // The kind as the log and the `kaitiaki` command name it;
                // the heading above says it in words.
                dt { "Kind of statement" } dd { code { (c.kind) } }
                dt { "Leaf index" } dd { code { (c.index) } " (leaf indexes count from 0, so this is record " (c.index.saturating_add(1)) ")" }
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
        let checked =
            open_checkpoint(&note, "log.example", &signer.verifier(), &[]).expect("opens");
        let proof = kaitiaki_protocol::merkle::inclusion_proof(&tree, 3, 5).expect("proof");
        assert_eq!(check_inclusion(&leaves[3], 3, &proof, &checked), Ok(()));
        assert!(check_inclusion(&leaves[2], 3, &proof, &checked).is_err());
        assert!(open_checkpoint(&note, "other.example", &signer.verifier(), &[]).is_err());
    }

    #[test]
    fn only_a_trusted_witness_valid_cosignature_is_verified() {
        use kaitiaki_protocol::cosignature::Cosigner;
        let root = |b: u8| Hash::from_bytes([b; 32]);
        let cp = Checkpoint::new("log.example", 5, root(1)).expect("cp");
        let other = Checkpoint::new("log.example", 5, root(2)).expect("cp");
        let w = Cosigner::from_seed(KeyName::new("w.example").expect("name"), &[3; 32]);
        let stranger = Cosigner::from_seed(KeyName::new("w.example").expect("name"), &[4; 32]);
        let trusted = [w.verifier()];
        let line = w.cosign(&cp, 1_795_000_000).expect("cosign");
        assert_eq!(
            check_cosignature(&cp, &line, &trusted),
            WitnessCheck::Verified {
                at: Timestamp::from_unix_seconds(1_795_000_000).expect("time")
            }
        );
        // A cosignature of another checkpoint does not verify on this one.
        let wrong = w.cosign(&other, 1_795_000_000).expect("cosign");
        assert_eq!(
            check_cosignature(&cp, &wrong, &trusted),
            WitnessCheck::Invalid
        );
        // Same name, another key: not a witness this node trusts.
        let line = stranger.cosign(&cp, 1_795_000_000).expect("cosign");
        assert_eq!(
            check_cosignature(&cp, &line, &trusted),
            WitnessCheck::UnknownKey
        );
        assert_eq!(check_cosignature(&cp, &line, &[]), WitnessCheck::UnknownKey);
    }
}
