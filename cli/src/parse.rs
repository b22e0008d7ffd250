//! Reading the short forms people type on the command line into protocol
//! values: decision rules, members, conditions, labels, ids and times.
//!
//! Each form is small and spelled the way it is said aloud
//! (`threshold:3`, `report-every:6`, `KEY:chair`), and each parser's error
//! lists the accepted forms, because that is what the person needs next.

use kaitiaki_protocol::statement::{limits, Condition, DecisionRule, Label};
use kaitiaki_protocol::{ContentHash, StatementId, Timestamp};

/// `threshold:K`, `majority:QUORUM` or `consensus:QUORUM`.
pub fn rule(text: &str) -> Result<DecisionRule, String> {
    let bad = || {
        format!(
            "{text:?} is not a decision rule; use threshold:K, majority:QUORUM or consensus:QUORUM"
        )
    };
    let (kind, n) = text.split_once(':').ok_or_else(bad)?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    match kind.trim() {
        "threshold" => Ok(DecisionRule::Threshold { k: n }),
        "majority" => Ok(DecisionRule::Majority { quorum: n }),
        "consensus" => Ok(DecisionRule::Consensus { quorum: n }),
        _ => Err(bad()),
    }
}

/// How a rule reads in a sentence.
pub fn describe_rule(rule: &DecisionRule) -> String {
    match rule {
        DecisionRule::Threshold { k } => format!("{k} approvals"),
        DecisionRule::Majority { quorum } => format!("majority, quorum {quorum}"),
        DecisionRule::Consensus { quorum } => format!("consensus (no objection), quorum {quorum}"),
    }
}

/// A member as typed: `KEY` or `KEY:ROLE`, where KEY is 64 hex digits or a
/// local key name. The key is resolved later, against the key store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberArg {
    /// A public key in hex, or a local key name.
    pub key: String,
    /// The role on the body.
    pub role: String,
}

/// `KEY[:ROLE]`; the role defaults to `member`.
pub fn member(text: &str) -> Result<MemberArg, String> {
    let (key, role) = match text.split_once(':') {
        Some((k, r)) => (k.trim(), r.trim()),
        None => (text.trim(), "member"),
    };
    if key.is_empty() || role.is_empty() {
        return Err(format!("{text:?} is not a member; use KEY or KEY:ROLE"));
    }
    Ok(MemberArg {
        key: key.to_owned(),
        role: role.to_owned(),
    })
}

/// The condition forms, for help texts and errors.
pub const CONDITION_FORMS: &str = "report-every:MONTHS, final-report, outputs-reviewed, \
findings-returned, no-linkage:WHAT, acknowledge:WHOM, expires-after-days:DAYS, other:TEXT";

/// One condition of an approval, e.g. `report-every:6` or `acknowledge:Ngāti Kahu`.
pub fn condition(text: &str) -> Result<Condition, String> {
    let bad = || format!("{text:?} is not a condition; use one of {CONDITION_FORMS}");
    let (name, arg) = match text.split_once(':') {
        Some((n, a)) => (n.trim(), Some(a.trim())),
        None => (text.trim(), None),
    };
    let number = |a: Option<&str>| a.and_then(|a| a.parse::<u32>().ok()).ok_or_else(bad);
    let within = |n: u32, max: u32, unit: &str| {
        if (1..=max).contains(&n) {
            Ok(n)
        } else {
            Err(format!("{text:?}: the number of {unit} must be 1 to {max}"))
        }
    };
    let words = |a: Option<&str>| {
        a.filter(|a| !a.is_empty())
            .map(str::to_owned)
            .ok_or_else(bad)
    };
    Ok(match name.replace('_', "-").as_str() {
        "report-every" => Condition::ReportEvery {
            months: within(number(arg)?, limits::MAX_REPORT_MONTHS, "months")?,
        },
        "final-report" => Condition::FinalReport,
        "outputs-reviewed" => Condition::OutputsReviewed,
        "findings-returned" => Condition::FindingsReturned,
        "no-linkage" => Condition::NoLinkage { with: words(arg)? },
        "acknowledge" => Condition::Acknowledge { who: words(arg)? },
        "expires-after-days" => Condition::ExpiresAfterDays {
            days: within(number(arg)?, limits::MAX_DAYS, "days")?,
        },
        "other" => Condition::Other { text: words(arg)? },
        _ => return Err(bad()),
    })
}

/// A number of days (of access, or more of it): 1 to the protocol's most.
pub fn days(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if (1..=limits::MAX_DAYS).contains(&n) => Ok(n),
        _ => Err(format!(
            "must be a whole number of days from 1 to {}",
            limits::MAX_DAYS
        )),
    }
}

/// A use code as typed: a GA4GH DUO code must be `DUO:` and seven digits
/// (`DUO:0000042`), so a mistyped one is refused rather than signed as a
/// code nobody will match; any other code (a community's own,
/// `custom:…`, or a category) is taken as it is.
pub fn use_code(text: &str) -> Result<String, String> {
    let code = text.trim();
    match code.get(..4) {
        Some(prefix) if prefix.eq_ignore_ascii_case("DUO:") => {
            let digits = &code[4..];
            if digits.len() == 7 && digits.bytes().all(|b| b.is_ascii_digit()) {
                Ok(code.to_owned())
            } else {
                Err("a DUO code is DUO: and seven digits, e.g. DUO:0000042".to_owned())
            }
        }
        _ if code.is_empty() => Err("must not be empty".to_owned()),
        _ => Ok(code.to_owned()),
    }
}

/// A notice period in days: 0 (none) to the protocol's most.
pub fn notice_days(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if n <= limits::MAX_DAYS => Ok(n),
        _ => Err(format!(
            "must be a whole number of days from 0 (no notice period) to {}",
            limits::MAX_DAYS
        )),
    }
}

/// How a condition reads in a sentence.
pub fn describe_condition(c: &Condition) -> String {
    match c {
        Condition::ReportEvery { months } => format!("a use report every {months} months"),
        Condition::FinalReport => "a final report".into(),
        Condition::OutputsReviewed => "outputs reviewed before release".into(),
        Condition::FindingsReturned => "findings returned to the community".into(),
        Condition::NoLinkage { with } => format!("no linkage with {with}"),
        Condition::Acknowledge { who } => format!("acknowledge {who}"),
        Condition::ExpiresAfterDays { days } => format!("ends after {days} days"),
        Condition::Other { text } => text.clone(),
    }
}

/// A Local Contexts label: `CODE` or `CODE=the community's words`.
pub fn label(text: &str) -> Result<Label, String> {
    let (code, words) = match text.split_once('=') {
        Some((c, w)) => (
            c.trim(),
            Some(w.trim().to_owned()).filter(|w| !w.is_empty()),
        ),
        None => (text.trim(), None),
    };
    if code.is_empty() {
        return Err(format!(
            "{text:?} is not a label; use CODE or CODE=TEXT (e.g. TK_A)"
        ));
    }
    Ok(Label {
        code: code.to_owned(),
        text: words,
    })
}

/// A statement id: 64 lowercase hex digits.
pub fn id(text: &str) -> Result<StatementId, String> {
    let digits = text.trim().to_ascii_lowercase();
    StatementId::from_hex(&digits).ok_or_else(|| {
        let short = kaitiaki_governance::query::SHORT_ID_DIGITS;
        if (short..64).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            format!(
                "{text:?} is the start of an id, as the pages show it; this command signs what it \
                 names, so it takes the whole id: `kaitiaki show {digits}` prints it"
            )
        } else {
            format!("{text:?} is not a statement id (64 hex digits, as `kaitiaki list` shows)")
        }
    })
}

/// A statement id, whole or its start as the pages show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdArg {
    /// The whole id.
    Whole(StatementId),
    /// Its first 8 to 63 lowercase hex digits, for the node to complete.
    Start(String),
}

impl std::fmt::Display for IdArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdArg::Whole(id) => write!(f, "{id}"),
            IdArg::Start(digits) => f.write_str(digits),
        }
    }
}

/// A statement id, or its first 8 to 63 lowercase hex digits.
pub fn id_or_start(text: &str) -> Result<IdArg, String> {
    let lower = text.trim().to_ascii_lowercase();
    let text = lower.as_str();
    if let Some(id) = StatementId::from_hex(text) {
        return Ok(IdArg::Whole(id));
    }
    let digits = kaitiaki_governance::query::SHORT_ID_DIGITS;
    if (digits..64).contains(&text.len())
        && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Ok(IdArg::Start(text.to_owned()));
    }
    Err(format!(
        "{text:?} is not a statement id: 64 hex digits, as `kaitiaki list` shows, or at least the \
         first {digits} of them, as the pages show"
    ))
}

/// A file's content hash: 64 lowercase hex digits.
pub fn content_hash(text: &str) -> Result<ContentHash, String> {
    ContentHash::from_hex(text.trim()).ok_or_else(|| {
        format!(
            "{text:?} is not a content hash (64 lowercase hex digits, as `kaitiaki attachment add` \
             prints it)"
        )
    })
}

/// An RFC 3339 time with any offset (`2027-03-01T09:00:00+13:00`, kept as
/// the same instant in UTC, as the log keeps every time) or a date
/// (`2027-03-01`, meaning midnight UTC).
pub fn time(text: &str) -> Result<Timestamp, String> {
    let text = text.trim();
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    };
    let hint = "a date such as 2027-03-01 (midnight UTC) or a time such as \
                2027-03-01T09:00:00+13:00 also works";
    let at = chrono::DateTime::parse_from_rfc3339(&full)
        .map_err(|e| format!("{text:?} is not a date or an RFC 3339 time ({e}); {hint}"))?;
    // The log keeps times to the millisecond and has no leap seconds
    // (chrono reads :60 as the next minute's start): refuse rather than
    // change the time asked for.
    use chrono::Timelike as _;
    if at.nanosecond() >= 1_000_000_000 || at.nanosecond() % 1_000_000 != 0 {
        return Err(format!(
            "{text:?} is finer than the millisecond, or a leap second, which the log cannot hold; {hint}"
        ));
    }
    Timestamp::from_unix_millis(at.timestamp_millis()).map_err(|e| format!("{e}; {hint}"))
}

/// The current time, by this computer's clock (statements' `created_at` is
/// the author's word and is informative only).
pub fn now() -> Timestamp {
    kaitiaki_node::Clock::system().now()
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_duo_code_has_seven_digits_and_other_codes_pass_as_typed() {
        assert_eq!(use_code("DUO:0000042").as_deref(), Ok("DUO:0000042"));
        assert_eq!(
            use_code("custom:insurance-risk-scoring").as_deref(),
            Ok("custom:insurance-risk-scoring")
        );
        assert_eq!(use_code("commercial").as_deref(), Ok("commercial"));
        for bad in ["DUO:999", "duo:00000042", "DUO:00000a2", "DUO:", ""] {
            assert!(use_code(bad).is_err(), "{bad}");
        }
    }
    use super::*;

    #[test]
    fn numbers_out_of_the_protocol_s_range_are_refused_by_the_argument_parser() {
        assert_eq!(days("30"), Ok(30));
        assert_eq!(days("36500"), Ok(36_500));
        for bad in ["0", "36501", "-1", "ten"] {
            assert!(days(bad).unwrap_err().contains("1 to 36500"), "{bad}");
        }
        assert_eq!(notice_days("0"), Ok(0));
        assert!(notice_days("36501").is_err());
        assert_eq!(
            condition("report-every:120"),
            Ok(Condition::ReportEvery { months: 120 })
        );
        for bad in ["report-every:0", "report-every:121"] {
            assert!(
                condition(bad)
                    .unwrap_err()
                    .contains("months must be 1 to 120"),
                "{bad}"
            );
        }
        assert!(condition("expires-after-days:0")
            .unwrap_err()
            .contains("days must be 1 to 36500"));
    }

    #[test]
    fn rules_parse() {
        assert_eq!(rule("threshold:3"), Ok(DecisionRule::Threshold { k: 3 }));
        assert_eq!(rule("majority:4"), Ok(DecisionRule::Majority { quorum: 4 }));
        assert!(rule("most:4").is_err());
        assert!(rule("threshold").is_err());
    }

    #[test]
    fn conditions_parse_with_arguments_containing_colons() {
        assert_eq!(
            condition("report-every:6"),
            Ok(Condition::ReportEvery { months: 6 })
        );
        assert_eq!(condition("final_report"), Ok(Condition::FinalReport));
        assert_eq!(
            condition("other:see: the hui minutes"),
            Ok(Condition::Other {
                text: "see: the hui minutes".into()
            })
        );
        assert!(condition("acknowledge").is_err());
        assert!(condition("report-every:often").is_err());
    }

    #[test]
    fn members_labels_and_times() {
        assert_eq!(member("aroha:chair").unwrap().role, "chair");
        assert_eq!(member("aroha").unwrap().role, "member");
        assert_eq!(
            label("TK_A=Attribution").unwrap().text.as_deref(),
            Some("Attribution")
        );
        assert_eq!(
            time("2027-03-01").unwrap().to_rfc3339(),
            "2027-03-01T00:00:00Z"
        );
        // A time with an offset is the same instant, kept in UTC.
        assert_eq!(
            time("2027-03-01T09:00:00+13:00").unwrap().to_rfc3339(),
            "2027-02-28T20:00:00Z"
        );
        assert_eq!(
            time("2027-03-01T09:00:00.5Z").unwrap().to_rfc3339(),
            "2027-03-01T09:00:00.500Z"
        );
        let err = time("next tuesday").unwrap_err();
        assert!(err.contains("2027-03-01T09:00:00+13:00"), "{err}");
        // chrono's reason is kept; what the log cannot hold is refused.
        let err = time("2027-02-30").unwrap_err();
        assert!(err.contains("out of range"), "{err}");
        assert!(time("2027-03-01T09:15:60Z").is_err());
        assert!(time("2027-03-01T09:15:00.123456Z").is_err());
        assert!(time("1969-12-31").is_err());
        assert!(id("ABC").is_err());
        let whole = "ab".repeat(32);
        assert_eq!(
            id_or_start(&whole),
            Ok(IdArg::Whole(StatementId::from_hex(&whole).unwrap()))
        );
        assert_eq!(id_or_start("abcdef12"), Ok(IdArg::Start("abcdef12".into())));
        // Hex digits in either case, as people copy them.
        assert_eq!(id_or_start("ABCDEF12"), Ok(IdArg::Start("abcdef12".into())));
        assert_eq!(id(&"AB".repeat(32)).ok(), StatementId::from_hex(&whole));
        for bad in ["abcdef1", "abcdefgh", &"ab".repeat(33)] {
            let err = id_or_start(bad).unwrap_err();
            assert!(err.contains("at least the first 8"), "{bad}: {err}");
        }
        // A command that signs takes the whole id, and says how to find it.
        let err = id("ABCDEF12").unwrap_err();
        assert!(
            err.contains("takes the whole id: `kaitiaki show abcdef12` prints it"),
            "{err}"
        );
    }
}
