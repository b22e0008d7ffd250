//! The typed body of every statement kind.
//!
//! Each body is a plain struct with `deny_unknown_fields`; references to other
//! statements are [`StatementId`]s, people are [`PublicKey`]s. What a body
//! *means* — who may author it and what it changes — is the `governance`
//! crate's business; this module only fixes the shape and the limits.

use serde::{Deserialize, Serialize};

use crate::id::{ContentHash, StatementId};
use crate::keys::{PublicKey, Signature};
use crate::time::Timestamp;

/// `key.announce`: the author introduces their key to the federation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyAnnounce {
    /// The name people know the key holder by.
    pub display_name: String,
    /// The iwi, hapū, organisation or agency they speak for.
    pub affiliation: String,
}

/// `key.rotate`: the author hands their authority to a new key.
///
/// The new key proves possession by signing [`crate::statement::KEY_ROTATION_CONTEXT`]
/// followed by the network name and the old key (see PROTOCOL.md), so nobody
/// can rotate into a key they do not hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRotate {
    /// The key that holds the author's authority from this statement on.
    pub new_key: PublicKey,
    /// The new key's signature of the rotation context, network and old key.
    pub proof: Signature,
}

/// `key.revoke`: the author declares their own key revoked (lost or compromised).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRevoke {
    /// Why, in plain language.
    pub reason: String,
}

/// How a body reaches a decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DecisionRule {
    /// At least `k` approvals; declined once approval can no longer be reached.
    Threshold {
        /// Approvals needed.
        k: u32,
    },
    /// More approvals than declines among at least `quorum` votes cast (abstentions count to quorum).
    Majority {
        /// Votes needed before the majority counts.
        quorum: u32,
    },
    /// At least `quorum` votes and no decline.
    Consensus {
        /// Votes needed before consensus counts.
        quorum: u32,
    },
}

/// A member of a governance body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// The member's key.
    pub key: PublicKey,
    /// Their role on the body (e.g. "chair", "member", "kaumātua").
    pub role: String,
}

/// `body.charter`: founds a governance body. Its id is this statement's id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyCharter {
    /// The body's name.
    pub name: String,
    /// Who the body speaks for and what it looks after.
    pub description: String,
    /// The origin of the log where the body's decisions must be sequenced.
    pub home_log: String,
    /// The founding members.
    pub members: Vec<Member>,
    /// The decision rule for requests and for amending this charter.
    pub rule: DecisionRule,
    /// Days a request stays open for community comment before votes can decide it.
    pub notice_days: u32,
}

/// `body.amend`: proposes a change to a charter; members vote on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyAmend {
    /// The body (its charter's id).
    pub body: StatementId,
    /// Members to add.
    #[serde(default, deserialize_with = "crate::json::null_as_empty")]
    pub add_members: Vec<Member>,
    /// Members to remove.
    #[serde(default, deserialize_with = "crate::json::null_as_empty")]
    pub remove_members: Vec<PublicKey>,
    /// A new decision rule, if it changes.
    #[serde(default)]
    pub rule: Option<DecisionRule>,
    /// A new notice period, if it changes.
    #[serde(default)]
    pub notice_days: Option<u32>,
    /// A new description, if it changes.
    #[serde(default)]
    pub description: Option<String>,
    /// Why the change is proposed.
    pub reason: String,
}

/// How sensitive a dataset is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    /// Open data.
    Open,
    /// Access needs approval.
    Restricted,
    /// Personal or sensitive information about people.
    Sensitive,
    /// Tapu: sacred or restricted knowledge.
    Tapu,
}

/// A Local Contexts label (or a custom one) attached to a dataset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// The label code, e.g. `TK_A` (TK Attribution), `BC_R` (BC Research Use), or `custom:…`.
    pub code: String,
    /// The community's own words for this label on this dataset.
    #[serde(default)]
    pub text: Option<String>,
}

/// `dataset.register`: the steward records a dataset and who governs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetRegister {
    /// The dataset's name.
    pub name: String,
    /// What it holds, about whom.
    pub description: String,
    /// The organisation that holds it.
    pub steward: String,
    /// Bodies that must all approve any access (their charter ids).
    pub governing_bodies: Vec<StatementId>,
    /// Local Contexts TK/BC labels and custom labels.
    #[serde(default, deserialize_with = "crate::json::null_as_empty")]
    pub labels: Vec<Label>,
    /// GA4GH DUO-style codes of permitted uses, e.g. `DUO:0000042`.
    #[serde(default, deserialize_with = "crate::json::null_as_empty")]
    pub permitted_uses: Vec<String>,
    /// GA4GH DUO-style codes of uses that are never allowed.
    #[serde(default, deserialize_with = "crate::json::null_as_empty")]
    pub excluded_uses: Vec<String>,
    /// How sensitive it is.
    pub sensitivity: Sensitivity,
}

/// The broad category of a request's use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UseCategory {
    /// Delivering a service to the people the data is about (primary use).
    ServiceDelivery,
    /// Research (secondary use).
    Research,
    /// Evaluation of a programme or policy.
    Evaluation,
    /// Commercial use.
    Commercial,
    /// Anything else, explained in the purpose.
    Other,
}

/// `request.submit`: a researcher or analyst asks for access. The Five Safes are fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSubmit {
    /// A short title.
    pub title: String,
    /// The datasets asked for (their registration ids).
    pub datasets: Vec<StatementId>,
    /// Safe projects: the purpose in plain language.
    pub purpose: String,
    /// The category of use.
    pub use_category: UseCategory,
    /// DUO-style codes of the uses asked for; checked against each dataset's exclusions.
    #[serde(default, deserialize_with = "crate::json::null_as_empty")]
    pub uses: Vec<String>,
    /// How many days access is asked for.
    pub duration_days: u32,
    /// Safe data: other data this would be linked with ("none" if none).
    pub linkage: String,
    /// Safe settings: where the data is used (e.g. a secure data lab).
    pub setting: String,
    /// Safe people: who will see the data, and their accreditation.
    pub people: String,
    /// Expected benefit to the community.
    pub community_benefit: String,
    /// Safe outputs: what will be produced and how it is checked before release.
    pub outputs_plan: String,
}

/// `request.question`: anyone asks about a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestQuestion {
    /// The request.
    pub request: StatementId,
    /// The question.
    pub text: String,
}

/// `request.answer`: the requester answers a question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestAnswer {
    /// The question.
    pub question: StatementId,
    /// The answer.
    pub text: String,
}

/// `request.withdraw`: the requester withdraws their request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestWithdraw {
    /// The request.
    pub request: StatementId,
    /// Why.
    pub reason: String,
}

/// A member's choice in a vote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// Approve.
    Approve,
    /// Approve, subject to the conditions given.
    ApproveWithConditions,
    /// Decline.
    Decline,
    /// Abstain (counts towards quorum only).
    Abstain,
}

/// A condition attached to an approval.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// A use report every `months` months.
    ReportEvery {
        /// Months between reports.
        months: u32,
    },
    /// A final report at the end of the approval.
    FinalReport,
    /// Outputs are reviewed by the body before release.
    OutputsReviewed,
    /// Findings are returned to the community.
    FindingsReturned,
    /// No linkage with the named data.
    NoLinkage {
        /// What must not be linked.
        with: String,
    },
    /// Acknowledge the named people in every output.
    Acknowledge {
        /// Whom to acknowledge.
        who: String,
    },
    /// Approval ends after this many days (shorter than asked).
    ExpiresAfterDays {
        /// Days from the decision.
        days: u32,
    },
    /// Any other condition, in plain language.
    Other {
        /// The condition.
        text: String,
    },
}

/// `vote`: a member's vote on a motion before their body.
///
/// The subject is a request, a charter amendment, a renewal, a revocation
/// motion or a rāhui motion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vote {
    /// What is being decided.
    pub subject: StatementId,
    /// The body voting (its charter id).
    pub body: StatementId,
    /// The member's choice.
    pub choice: Choice,
    /// Conditions, for `approve_with_conditions`.
    #[serde(default, deserialize_with = "crate::json::null_as_empty")]
    pub conditions: Vec<Condition>,
    /// Reasons, in plain language.
    pub reason: String,
}

/// `rahui.place`: a body restricts a dataset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RahuiPlace {
    /// The body placing it.
    pub body: StatementId,
    /// The dataset restricted.
    pub dataset: StatementId,
    /// Why, as the body chooses to say.
    pub reason: String,
    /// When it ends by itself, if it does.
    #[serde(default)]
    pub until: Option<Timestamp>,
}

/// `rahui.lift`: a body lifts its rāhui.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RahuiLift {
    /// The rāhui (its `rahui.place` id).
    pub rahui: StatementId,
    /// Why it is lifted.
    pub reason: String,
}

/// What a body does to an approval it gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalAction {
    /// Pause the approval until reinstated.
    Suspend,
    /// Resume a suspended approval.
    Reinstate,
    /// End the approval for good.
    Revoke,
}

/// `approval.action`: a motion to suspend, reinstate or revoke an approval, decided by the body's rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalMotion {
    /// The request whose approval is acted on.
    pub request: StatementId,
    /// The body acting.
    pub body: StatementId,
    /// What to do.
    pub action: ApprovalAction,
    /// Why (e.g. the breach).
    pub reason: String,
}

/// `request.renew`: the requester asks to extend an approval before it expires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewalRequest {
    /// The request.
    pub request: StatementId,
    /// How many more days.
    pub extra_days: u32,
    /// Why.
    pub reason: String,
}

/// Periodic or final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// One of the scheduled reports.
    Periodic,
    /// The closing report.
    Final,
}

/// `report.file`: the requester reports on their use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UseReport {
    /// The request reported on.
    pub request: StatementId,
    /// Periodic or final.
    pub kind: ReportKind,
    /// What was done with the data.
    pub summary: String,
    /// What came back to the community.
    pub benefit_returned: String,
    /// Incidents (breaches, near misses); empty if none.
    #[serde(default, deserialize_with = "crate::json::null_as_empty")]
    pub incidents: Vec<String>,
    /// Outputs produced (their `output.submit` ids).
    #[serde(default, deserialize_with = "crate::json::null_as_empty")]
    pub outputs: Vec<StatementId>,
}

/// `report.review`: a governing body accepts or returns a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportReview {
    /// The report.
    pub report: StatementId,
    /// The body reviewing it.
    pub body: StatementId,
    /// Accepted, or returned for more.
    pub accepted: bool,
    /// Why.
    pub reason: String,
}

/// `output.submit`: the requester submits an output (paper, table, model) for the record or for review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSubmit {
    /// The request it came from.
    pub request: StatementId,
    /// Its title.
    pub title: String,
    /// The content hash of the file.
    pub content_hash: ContentHash,
    /// Where it can be found, if public.
    #[serde(default)]
    pub link: Option<String>,
}

/// `output.review`: a body releases or withholds an output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputReview {
    /// The output.
    pub output: StatementId,
    /// The body reviewing it.
    pub body: StatementId,
    /// Released (true) or withheld (false).
    pub release: bool,
    /// Why.
    pub reason: String,
}

/// `concern.raise`: anyone raises a concern about a request or dataset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcernRaise {
    /// The request or dataset.
    pub subject: StatementId,
    /// The concern, in the raiser's words.
    pub text: String,
}

/// `concern.respond`: a body responds to a concern.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcernRespond {
    /// The concern.
    pub concern: StatementId,
    /// The body responding.
    pub body: StatementId,
    /// The response.
    pub text: String,
    /// Whether this closes the concern.
    pub resolved: bool,
}

/// `attachment.commit`: commits to a confidential file kept off the log.
///
/// The file can be erased later without breaking verification: the log keeps
/// only its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentCommit {
    /// The statement it belongs to (a request, report, output…).
    pub subject: StatementId,
    /// The body whose members may read it.
    pub readers: StatementId,
    /// The content hash of the file.
    pub content_hash: ContentHash,
    /// Its size in bytes.
    pub size: u64,
    /// Its media type, e.g. `application/pdf`.
    pub media_type: String,
    /// What it is, in words that reveal nothing confidential.
    pub description: String,
}
