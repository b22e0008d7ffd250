//! What each rejection code from a node means, and what to do about it.
//!
//! Nodes answer every refusal with `{"code","message"}`. The node's message
//! says what was wrong with *this* statement; this table adds, for each
//! stable code, a plain sentence about the rule and the next step, so that a
//! board member or researcher never has to look a code up. A code the table
//! does not know (a newer node) still prints the node's own message.

use std::fmt;

use serde::Serialize;

/// One row: the code, what it means, what to do.
#[derive(Clone, Copy, Debug)]
pub struct Explanation {
    /// The stable code.
    pub code: &'static str,
    /// What the rule is, in a sentence.
    pub meaning: &'static str,
    /// The next step.
    pub hint: &'static str,
}

macro_rules! table {
    ($($code:literal => $meaning:literal, $hint:literal;)*) => {
        /// Every code this CLI can explain, in the order people meet them.
        pub const EXPLANATIONS: &[Explanation] = &[
            $(Explanation { code: $code, meaning: $meaning, hint: $hint },)*
        ];
    };
}

table! {
    // Problems with the request itself (the node's own codes).
    "malformed" => "The node could not read what was sent.",
        "This is usually a bug in the tool that built the statement; check the node's message for the field, and report it.";
    "bad_signature" => "The signature does not verify for the key that claims to have signed.",
        "Sign again with the right key (`--key NAME`); a statement must not be changed after it is signed.";
    "payload_too_large" => "The statement or request is larger than the node accepts.",
        "Shorten the text, or move long detail into a confidential attachment (`kaitiaki attachment add`).";
    "wrong_network" => "The statement was signed for another Kaitiaki network than this node serves.",
        "Use the node of that network, or sign again with `--network` set to this node's network.";
    "not_found" => "The node has nothing under that id or path.",
        "Check the id or hash (`kaitiaki list …` lists records; `kaitiaki show` of an attachment's commitment gives its hash); if it was just submitted elsewhere it may not have replicated yet.";
    "rate_limited" => "Too many requests from this address.",
        "Wait a moment and try again.";
    "timeout" => "The node took too long to answer.",
        "Try again; submitting the same statement twice is safe and returns the first result.";
    "body_timeout" => "The request's body did not reach the node in time, so nothing was written.",
        "Check the network connection and send it again.";
    "unavailable" => "The node takes no new statements right now: its storage failed, it waits for its peers to say what they hold of its log, or a peer holds more of its log than it does (the node's message says which).",
        "If it waits for its peers, try again in a moment; otherwise tell the node's operator, who will find what to do in the node's message and README.";
    "internal" => "The node failed while answering.",
        "Tell the node's operator; the details are in the node's log.";
    "unauthorized" => "The signed read request is missing or invalid.",
        "Sign the read with a key that may read it (`--key NAME`).";
    "forbidden" => "The node does not allow your key to do this.",
        "For a confidential attachment: only members of the body its commitment names as readers may fetch or erase it, so sign with such a member's key (`--key NAME`) or ask one to share it.";
    "stale_request" => "The signed read request's time is too far from the node's clock.",
        "Check this computer's clock and try again.";
    "hash_mismatch" => "The uploaded file does not match its content hash.",
        "Upload the exact file that was committed to.";
    "not_committed" => "No statement in the log commits to a file with this content hash.",
        "To fetch a file, check its hash (`kaitiaki show` of its `attachment.commit` statement gives it). To upload one, `kaitiaki attachment add` commits to it and uploads it in one step.";
    "method_not_allowed" => "The node does not accept that method on this path.",
        "Check the node's API document at /openapi.json.";
    "tree_damaged" => "The node found its stored tree hashes damaged: a proof it made from them does not verify, so it serves none.",
        "Tell the node's operator: its /healthz says `tree_damaged`, and README says how to rebuild the tree from the log. Another node that copies this log can prove the record meanwhile.";
    "entry_too_large" => "A leaf is too long for a tlog-tiles entry bundle, which gives each entry a 2-byte length.",
        "Read that leaf from /v1/leaves/raw instead, as the node's message says.";
    // Governance: who may say what, and when.
    "key_revoked" => "Your key was revoked before this statement reached the log.",
        "Make a new key, announce it, and ask the body to add it.";
    "key_rotated" => "Your key was rotated to a new key before this statement reached the log.",
        "Sign with the new key.";
    "unknown_reference" => "The statement refers to something this node does not know (yet).",
        "Check the id; submit what it refers to first, or wait for it to replicate.";
    "wrong_reference" => "The statement refers to something of the wrong kind (for example a dataset where a request belongs).",
        "Check which id goes where (`kaitiaki show ID`).";
    "excluded_reference" => "The statement refers to something that was itself refused by the rules.",
        "Refer to a valid statement instead (`kaitiaki show ID` shows why the other was excluded).";
    "wrong_home_log" => "A body's own decisions count only in its home node's log.",
        "Submit it to the body's home node (its origin is in the message), with `--node URL`.";
    "not_a_member" => "Only members of the body may do this, and your key is not one.",
        "Sign with a member's key, or ask the body to add you by amending its charter.";
    "not_governing_body" => "That body does not govern the dataset or request concerned.",
        "Check the dataset's governing bodies (`kaitiaki show DATASET`).";
    "not_requester" => "Only the person who made the request may do this.",
        "Sign with the requester's key.";
    "excluded_use" => "The request asks for a use, or is of a use category, that a dataset excludes.",
        "Change what the node's message names (a `--use`, or the `--use-category`), or ask for another dataset; the excluded uses are listed on the dataset (`kaitiaki show DATASET`).";
    "notice_period" => "The request is still open for community comment; the body cannot decide it yet.",
        "Vote again after the notice period ends (`kaitiaki show REQUEST` shows when).";
    "rahui_in_force" => "A rāhui is in force on a dataset of this request.",
        "Wait until the body lifts the rāhui or it ends.";
    "decision_already_reached" => "It was already decided: votes can no longer change it, and a decided request can no longer be withdrawn.",
        "See the decision with `kaitiaki show ID`. A researcher who no longer needs an approved request's access can leave it unused and file a final report. A board that wants to change course does so by a new statement: a motion to suspend or revoke an approval (`kaitiaki approval suspend|revoke`), or a new amendment of its charter (`kaitiaki body amend`).";
    "request_withdrawn" => "The request was withdrawn.",
        "Make a new request if access is still wanted.";
    "not_approved" => "The request has no approval in force for this.",
        "Check its state with `kaitiaki show REQUEST`: while the boards are deciding, wait for their decision; a declined or withdrawn request is closed, and nothing more can be filed or decided on it.";
    "approval_ended" => "The approval has ended (revoked, expired or completed), so nothing more can be decided or asked on it.",
        "See how it ended with `kaitiaki show REQUEST`. If access is still wanted, make a new request (a renewal can only be asked for while the approval is in force).";
    "renewal_pending" => "Another renewal of this request is still being decided.",
        "Wait for that decision.";
    "conditions_mismatch" => "Conditions go with `approve-with-conditions` on a request or renewal, and that choice needs at least one; votes on amendments and approval motions take none.",
        "On a request or renewal, give conditions with --condition and approve-with-conditions; otherwise drop them for a plain vote.";
    "not_placing_body" => "The rāhui was already lifted, or another body placed it.",
        "Only the body that placed a rāhui may lift it.";
    "rahui_already_lifted" => "This rāhui is over: it was already lifted, or it reached the end its body set.",
        "Nothing more is needed; place a new rāhui if the dataset must be restricted again.";
    "not_author" => "Only the author of the statement referred to may do this.",
        "Sign with the key that made the original statement.";
    "attachment_already_committed" => "This node's log already commits to a file with this content; its readers are the ones named there.",
        "Ask a member of those readers' body to share the file, or commit to a changed file.";
    "invalid_amendment" => "The amendment cannot apply to the charter in force: it removes a key that holds no seat, or it would leave the body without members or with a rule they cannot meet.",
        "See the charter in force with `kaitiaki show BODY` and change the amendment where the node's message says.";
}

/// The explanation of `code`, if this CLI knows it.
pub fn explain(code: &str) -> Option<&'static Explanation> {
    EXPLANATIONS.iter().find(|e| e.code == code)
}

/// Codes that mean something else when the node refuses a read (a query,
/// a listing, a download) rather than a statement.
pub const READ_EXPLANATIONS: &[Explanation] = &[Explanation {
    code: "malformed",
    meaning: "The node could not read the query.",
    hint: "Check the values given (the node's message names the one it could not read); if \
           they look right, this CLI and the node may be of different versions.",
}];

/// Codes that mean something else when the node refuses a change to its
/// peers (`peer add`, `peer remove`, `peer forgive`).
pub const PEER_EXPLANATIONS: &[Explanation] = &[
    Explanation {
        code: "not_found",
        meaning: "This node does not follow a log by that name.",
        hint: "`kaitiaki peer list` shows the logs it follows: give the log's origin (e.g. \
               iwi.example), not the peer's URL.",
    },
    Explanation {
        code: "malformed",
        meaning: "The node could not take the peer's address or key.",
        hint: "Give the peer node's own address (http://host:port, without /v1) and its log key \
               as its operator gave it (<origin>+<id>+<base64>, the key its checkpoints show).",
    },
    Explanation {
        code: "peer_conflict",
        meaning: "That conflicts with how this node follows the log now.",
        hint: "The node's message above says what to do instead.",
    },
    Explanation {
        code: "forbidden",
        meaning: "Only the node's own key may change its peers.",
        hint: "Run this on the node's machine, with --data <its data directory>.",
    },
];

/// A refusal from a node: its status, code and message.
#[derive(Clone, Debug, Serialize)]
pub struct Rejected {
    /// The HTTP status.
    pub status: u16,
    /// The stable code.
    pub code: String,
    /// The node's message about this statement.
    pub message: String,
    /// For `wrong_home_log`: the log that must sequence it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_log: Option<String>,
    /// For `wrong_home_log`, when the node follows that log: the URL of the
    /// node that runs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_url: Option<String>,
    /// This CLI's sentence about the rule, if it knows the code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meaning: Option<&'static str>,
    /// What to do next, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<&'static str>,
    /// Whether this refused a read, which changed nothing, rather than a
    /// statement or other change (the binary exits 3 only for those).
    #[serde(skip)]
    pub read: bool,
}

impl Rejected {
    /// A refusal with its explanation filled in.
    pub fn new(status: u16, code: String, message: String, home_log: Option<String>) -> Rejected {
        let e = explain(&code);
        Rejected {
            status,
            meaning: e.map(|e| e.meaning),
            hint: e.map(|e| e.hint),
            code,
            message,
            home_log,
            home_url: None,
            read: false,
        }
    }

    /// The same refusal, as the answer to a read.
    pub fn of_read(mut self) -> Rejected {
        self.read = true;
        if let Some(e) = READ_EXPLANATIONS.iter().find(|e| e.code == self.code) {
            self.meaning = Some(e.meaning);
            self.hint = Some(e.hint);
        }
        self
    }

    /// The same refusal, as the answer to a change of the node's peers.
    pub fn of_peer_change(mut self) -> Rejected {
        if let Some(e) = PEER_EXPLANATIONS.iter().find(|e| e.code == self.code) {
            self.meaning = Some(e.meaning);
            self.hint = Some(e.hint);
        }
        self
    }

    /// Adds the URL of the node that runs the home log.
    pub fn with_home_url(mut self, url: Option<String>) -> Rejected {
        self.home_url = url;
        self
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.read {
            "the node refused the read"
        } else {
            "refused"
        };
        write!(f, "{what} ({}, HTTP {})", self.code, self.status)?;
        if let Some(m) = self.meaning {
            write!(f, ": {m}")?;
        }
        write!(f, "\n  node says: {}", self.message)?;
        if let Some(h) = &self.home_log {
            write!(f, "\n  home log: {h}")?;
        }
        if let Some(u) = &self.home_url {
            write!(f, "\n  submit it to: {u} (e.g. --node {u})")?;
        }
        if let Some(h) = self.hint {
            write!(f, "\n  what to do: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejected {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_explained() {
        let mut codes: Vec<_> = EXPLANATIONS.iter().map(|e| e.code).collect();
        codes.sort_unstable();
        let n = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), n, "a code is listed twice");
        for e in EXPLANATIONS {
            assert!(
                e.meaning.ends_with('.') && e.hint.ends_with('.'),
                "{}",
                e.code
            );
        }
    }

    #[test]
    fn every_node_code_is_explained() {
        // The node's own codes: in the main table, or, for those only a
        // peer change meets, in the peers' table.
        for &code in kaitiaki_node::error::code::ALL {
            assert!(
                explain(code).is_some() || PEER_EXPLANATIONS.iter().any(|e| e.code == code),
                "{code} is not explained"
            );
        }
    }

    #[test]
    fn every_governance_code_is_explained() {
        // Every code governance has: a new one fails this until the CLI
        // can explain it.
        for code in kaitiaki_governance::RejectionCode::ALL {
            let code = code.as_str();
            assert!(explain(code).is_some(), "{code} is not explained");
        }
    }

    #[test]
    fn a_malformed_read_is_not_called_a_bad_statement() {
        let r = Rejected::new(400, "malformed".into(), "unknown status".into(), None).of_read();
        let text = r.to_string();
        assert!(r.read);
        assert!(
            text.starts_with("the node refused the read (malformed, HTTP 400)"),
            "{text}"
        );
        assert!(!text.contains("statement"), "{text}");
        let statement = Rejected::new(400, "malformed".into(), "bad json".into(), None);
        assert!(!statement.read);
        assert!(statement.to_string().contains("built the statement"));
    }

    #[test]
    fn hints_spell_choices_as_the_cli_takes_them() {
        let e = explain("conditions_mismatch").unwrap();
        assert!(
            e.meaning.contains("approve-with-conditions"),
            "{}",
            e.meaning
        );
    }

    #[test]
    fn unknown_codes_keep_the_node_message() {
        let r = Rejected::new(409, "something_new".into(), "the node's words".into(), None);
        let text = r.to_string();
        assert!(text.contains("something_new") && text.contains("the node's words"));
    }
}
