//! Limits every statement must keep, so that no payload can make a node or
//! a page do unbounded work, and no text can hide control characters.

use std::fmt::Display;

use serde_json::Value;

use super::{Body, DecisionRule, Member, Statement};

/// The largest payload, in bytes.
pub const MAX_PAYLOAD: usize = 64 * 1024;
/// The most characters in a free-text field (purpose, reasons, reports).
pub const MAX_TEXT: usize = 8_000;
/// The most characters in a name-like field (names, titles, roles, codes).
pub const MAX_NAME: usize = 200;
/// The most items in any list.
pub const MAX_ITEMS: usize = 100;
/// The longest duration, notice period or extension, in days (about 100 years).
pub const MAX_DAYS: u32 = 36_500;
/// The longest interval between use reports a condition may ask for, in
/// months.
pub const MAX_REPORT_MONTHS: u32 = 120;
/// The most characters in a network name or log origin.
pub const MAX_NETWORK: usize = 64;

/// A field that breaks a limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field {field}: {problem}")]
pub struct LimitError {
    /// The field, as a dotted path where known.
    pub field: String,
    /// What is wrong, in words a person can act on.
    pub problem: String,
}

fn err(field: impl Into<String>, problem: impl Into<String>) -> LimitError {
    LimitError {
        field: field.into(),
        problem: problem.into(),
    }
}

/// Checks a whole statement against every limit.
pub fn check(s: &Statement) -> Result<(), LimitError> {
    check_network(&s.network)?;
    check_typed(&s.body)?;
    let value = super::Body::to_value(&s.body).map_err(|e| err("body", e.to_string()))?;
    check_value("body", &value)
}

/// A network name: 1 to 64 of `a-z 0-9 . -`.
pub fn check_network(network: &str) -> Result<(), LimitError> {
    let ok = !network.is_empty()
        && network.len() <= MAX_NETWORK
        && network
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(err(
            "network",
            "must be 1 to 64 characters of a-z, 0-9, '.' and '-'",
        ))
    }
}

/// Every string and list anywhere in a body: length and characters.
pub(super) fn check_value(path: &str, v: &Value) -> Result<(), LimitError> {
    match v {
        Value::String(s) => {
            if s.chars().count() > MAX_TEXT {
                return Err(err(path, format!("longer than {MAX_TEXT} characters")));
            }
            if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                return Err(err(path, "contains a control character"));
            }
            Ok(())
        }
        Value::Array(items) => {
            if items.len() > MAX_ITEMS {
                return Err(err(path, format!("more than {MAX_ITEMS} items")));
            }
            items
                .iter()
                .enumerate()
                .try_for_each(|(i, item)| check_value(&format!("{path}[{i}]"), item))
        }
        Value::Object(map) => map
            .iter()
            .try_for_each(|(k, item)| check_value(&format!("{path}.{k}"), item)),
        _ => Ok(()),
    }
}

// The checks of one field take its path as anything that spells it, so a
// path with an index in it (`format_args!`) is only written out when the
// check fails.

fn name(field: impl Display, text: &str) -> Result<(), LimitError> {
    if text.trim().is_empty() {
        return Err(err(
            field.to_string(),
            "must not be empty or only white space",
        ));
    }
    if text.chars().count() > MAX_NAME || text.contains(['\n', '\t']) {
        return Err(err(
            field.to_string(),
            format!("must be one line of at most {MAX_NAME} characters"),
        ));
    }
    Ok(())
}

fn text(field: impl Display, text: &str) -> Result<(), LimitError> {
    if text.trim().is_empty() {
        return Err(err(
            field.to_string(),
            "must not be empty or only white space",
        ));
    }
    Ok(())
}

/// A link people will follow from a community page: an `https://` or
/// `http://` URL of at most [`MAX_TEXT`] characters, no white space or
/// control characters in it. Nothing else (`data:`, `javascript:`, a
/// bare word) is a place to find an output.
fn link(field: &str, l: &str) -> Result<(), LimitError> {
    text(field, l)?;
    let scheme = |s: &str| {
        l.as_bytes()
            .get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s.as_bytes()))
    };
    // The scheme matched is ASCII, so its length is a character boundary.
    let rest = if scheme("https://") {
        &l[8..]
    } else if scheme("http://") {
        &l[7..]
    } else {
        return Err(err(field, "must be an https:// or http:// URL"));
    };
    if rest.is_empty()
        || rest.starts_with('/')
        || l.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(err(
            field,
            "must be an https:// or http:// URL with a host and no spaces",
        ));
    }
    Ok(())
}

/// Every item of a list of names.
fn names(field: &str, items: &[String]) -> Result<(), LimitError> {
    items
        .iter()
        .enumerate()
        .try_for_each(|(i, n)| name(format_args!("{field}[{i}]"), n))
}

/// Members a charter lists or an amendment adds: each with a role, no key
/// twice.
fn members(field: &str, items: &[Member]) -> Result<(), LimitError> {
    for (i, m) in items.iter().enumerate() {
        name(format_args!("{field}[{i}].role"), &m.role)?;
        if items[..i].iter().any(|o| o.key == m.key) {
            return Err(err(format!("{field}[{i}]"), "a key is listed twice"));
        }
    }
    Ok(())
}

fn days(field: impl Display, d: u32) -> Result<(), LimitError> {
    if d == 0 || d > MAX_DAYS {
        return Err(err(
            field.to_string(),
            format!("must be between 1 and {MAX_DAYS} days"),
        ));
    }
    Ok(())
}

/// How many members a decision rule needs before it can ever be met: its
/// threshold `k`, or its quorum.
pub fn members_needed(r: &DecisionRule) -> u32 {
    match *r {
        DecisionRule::Threshold { k } => k,
        DecisionRule::Majority { quorum } | DecisionRule::Consensus { quorum } => quorum,
    }
}

fn rule(r: &DecisionRule) -> Result<(), LimitError> {
    let n = members_needed(r);
    if n == 0 || n as usize > MAX_ITEMS {
        return Err(err(
            "body.rule",
            format!("must be between 1 and {MAX_ITEMS}"),
        ));
    }
    Ok(())
}

pub(super) fn check_typed(body: &Body) -> Result<(), LimitError> {
    match body {
        Body::KeyAnnounce(b) => {
            name("body.display_name", &b.display_name)?;
            name("body.affiliation", &b.affiliation)
        }
        Body::KeyRotate(_) => Ok(()),
        Body::KeyRevoke(b) => text("body.reason", &b.reason),
        Body::BodyCharter(b) => {
            name("body.name", &b.name)?;
            text("body.description", &b.description)?;
            check_network(&b.home_log).map_err(|e| err("body.home_log", e.problem))?;
            if b.members.is_empty() {
                return Err(err("body.members", "a body needs at least one member"));
            }
            members("body.members", &b.members)?;
            rule(&b.rule)?;
            // A charter is self-contained: a rule needing more members than
            // it lists could never be met, so the body could never act.
            let needed = members_needed(&b.rule);
            if needed as usize > b.members.len() {
                return Err(err(
                    "body.rule",
                    format!(
                        "needs {needed} members to decide, but the charter lists {}",
                        b.members.len()
                    ),
                ));
            }
            if b.notice_days > MAX_DAYS {
                return Err(err("body.notice_days", format!("at most {MAX_DAYS}")));
            }
            Ok(())
        }
        Body::BodyAmend(b) => {
            text("body.reason", &b.reason)?;
            members("body.add_members", &b.add_members)?;
            if let Some(d) = &b.description {
                text("body.description", d)?;
            }
            if let Some(r) = &b.rule {
                rule(r)?;
            }
            if b.notice_days.is_some_and(|d| d > MAX_DAYS) {
                return Err(err("body.notice_days", format!("at most {MAX_DAYS}")));
            }
            if b.add_members.is_empty()
                && b.remove_members.is_empty()
                && b.rule.is_none()
                && b.notice_days.is_none()
                && b.description.is_none()
            {
                return Err(err("body", "an amendment must change something"));
            }
            Ok(())
        }
        Body::DatasetRegister(b) => {
            name("body.name", &b.name)?;
            text("body.description", &b.description)?;
            name("body.steward", &b.steward)?;
            if b.governing_bodies.is_empty() {
                return Err(err(
                    "body.governing_bodies",
                    "a dataset needs at least one governing body",
                ));
            }
            for (i, l) in b.labels.iter().enumerate() {
                name(format_args!("body.labels[{i}].code"), &l.code)?;
                if let Some(t) = &l.text {
                    text(format_args!("body.labels[{i}].text"), t)?;
                }
            }
            names("body.permitted_uses", &b.permitted_uses)?;
            names("body.excluded_uses", &b.excluded_uses)?;
            Ok(())
        }
        Body::RequestSubmit(b) => {
            name("body.title", &b.title)?;
            if b.datasets.is_empty() {
                return Err(err("body.datasets", "a request names at least one dataset"));
            }
            text("body.purpose", &b.purpose)?;
            names("body.uses", &b.uses)?;
            days("body.duration_days", b.duration_days)?;
            text("body.linkage", &b.linkage)?;
            text("body.setting", &b.setting)?;
            text("body.people", &b.people)?;
            text("body.community_benefit", &b.community_benefit)?;
            text("body.outputs_plan", &b.outputs_plan)
        }
        Body::RequestQuestion(b) => text("body.text", &b.text),
        Body::RequestAnswer(b) => text("body.text", &b.text),
        Body::RequestWithdraw(b) => text("body.reason", &b.reason),
        Body::Vote(b) => {
            text("body.reason", &b.reason)?;
            for (i, c) in b.conditions.iter().enumerate() {
                match c {
                    super::Condition::ReportEvery { months }
                        if *months == 0 || *months > MAX_REPORT_MONTHS =>
                    {
                        return Err(err(
                            format!("body.conditions[{i}].months"),
                            format!("must be 1 to {MAX_REPORT_MONTHS}"),
                        ))
                    }
                    super::Condition::ExpiresAfterDays { days: d } => {
                        days(format_args!("body.conditions[{i}].days"), *d)?
                    }
                    super::Condition::NoLinkage { with: t } => {
                        text(format_args!("body.conditions[{i}].with"), t)?
                    }
                    super::Condition::Acknowledge { who: t } => {
                        text(format_args!("body.conditions[{i}].who"), t)?
                    }
                    super::Condition::Other { text: t } => {
                        text(format_args!("body.conditions[{i}].text"), t)?
                    }
                    _ => {}
                }
            }
            Ok(())
        }
        Body::RahuiPlace(b) => text("body.reason", &b.reason),
        Body::RahuiLift(b) => text("body.reason", &b.reason),
        Body::ApprovalMotion(b) => text("body.reason", &b.reason),
        Body::RenewalRequest(b) => {
            days("body.extra_days", b.extra_days)?;
            text("body.reason", &b.reason)
        }
        Body::UseReport(b) => {
            text("body.summary", &b.summary)?;
            text("body.benefit_returned", &b.benefit_returned)?;
            for (i, t) in b.incidents.iter().enumerate() {
                text(format_args!("body.incidents[{i}]"), t)?;
            }
            Ok(())
        }
        Body::ReportReview(b) => text("body.reason", &b.reason),
        Body::OutputSubmit(b) => {
            name("body.title", &b.title)?;
            match &b.link {
                Some(l) => link("body.link", l),
                None => Ok(()),
            }
        }
        Body::OutputReview(b) => text("body.reason", &b.reason),
        Body::ConcernRaise(b) => text("body.text", &b.text),
        Body::ConcernRespond(b) => text("body.text", &b.text),
        Body::AttachmentCommit(b) => {
            name("body.media_type", &b.media_type)?;
            text("body.description", &b.description)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statement::{BodyCharter, Member};
    use crate::PublicKey;

    fn charter(members: u8, rule: DecisionRule) -> Body {
        Body::BodyCharter(BodyCharter {
            name: "Board".into(),
            description: "A board.".into(),
            home_log: "iwi.example".into(),
            members: (1..=members)
                .map(|n| Member {
                    key: PublicKey::of(&ed25519_dalek::SigningKey::from_bytes(&[n; 32])),
                    role: "member".into(),
                })
                .collect(),
            rule,
            notice_days: 0,
        })
    }

    #[test]
    fn a_charter_rule_must_be_within_reach_of_its_members() {
        assert!(check_typed(&charter(3, DecisionRule::Threshold { k: 3 })).is_ok());
        assert!(check_typed(&charter(3, DecisionRule::Majority { quorum: 3 })).is_ok());
        for rule in [
            DecisionRule::Threshold { k: 4 },
            DecisionRule::Majority { quorum: 4 },
            DecisionRule::Consensus { quorum: 4 },
        ] {
            let e = check_typed(&charter(3, rule)).unwrap_err();
            assert_eq!(e.field, "body.rule");
            assert!(e.problem.contains("lists 3"), "{}", e.problem);
        }
    }

    #[test]
    fn a_link_names_its_scheme_in_any_case_and_a_host() {
        for ok in [
            "https://a.example/x",
            "HTTPS://a.example",
            "Http://a",
            "hTtP://a/b?c",
        ] {
            assert_eq!(link("body.link", ok), Ok(()), "{ok}");
        }
        let scheme = "must be an https:// or http:// URL";
        let host = "must be an https:// or http:// URL with a host and no spaces";
        for (bad, problem) in [
            ("ftp://a.example", scheme),
            ("http:/a", scheme),
            ("http", scheme),
            ("ħttps://a.example", scheme),
            ("httpsː//a", scheme),
            ("javascript:alert(1)", scheme),
            ("https://", host),
            ("HTTP://", host),
            ("http:///a", host),
            ("https://a b", host),
        ] {
            let e = link("body.link", bad).unwrap_err();
            assert_eq!(
                (e.field.as_str(), e.problem.as_str()),
                ("body.link", problem),
                "{bad}"
            );
        }
    }
}
