//! The words people read for the API's stable names: request statuses, vote
//! choices, report kinds, conditions, decision rules.
//!
//! The community pages and this CLI describe the same records to the same
//! people, so a status the pages call "Being decided" must not read
//! `under_review` here. Statuses, choices and conditions therefore come from
//! the pages' own built-in wording (`node/assets/labels.toml` and the
//! request page), not from a second list that could drift. `--json` keeps
//! the API's names; only the text for people changes.

use kaitiaki_node::pages::labels::{Labels, Section};
use kaitiaki_protocol::statement::{Condition, DecisionRule};
use serde_json::Value;

/// A request status (`under_review`) as the pages show it ("Being decided").
pub fn status(name: &str) -> String {
    Labels::built_in().term(Section::Status, name).en
}

/// A dataset's sensitivity (`sensitive`) as the pages show it.
pub fn sensitivity(name: &str) -> String {
    Labels::built_in().term(Section::Sensitivity, name).en
}

/// A label or use code with its usual name, as the pages' glossary gives
/// it ("DUO:0000042 (general research use)"), or the code alone.
pub fn code(code: &str) -> String {
    match Labels::built_in().code(code) {
        Some(c) => format!("{code} ({})", c.name),
        None => code.to_owned(),
    }
}

/// A vote choice (`approve_with_conditions`) as the pages show it.
pub fn choice(name: &str) -> String {
    Labels::built_in().term(Section::Choice, name).en
}

/// A report kind (`periodic`) as the pages show it ("regular").
pub fn report_kind(name: &str) -> String {
    match name {
        "periodic" => "regular".into(),
        other => other.replace('_', " "),
    }
}

/// A condition as served (`{"type":"report_every","months":6}`), in the
/// pages' words; a shape this CLI does not know is shown as it came.
pub fn condition(value: &Value) -> String {
    match serde_json::from_value::<Condition>(value.clone()) {
        Ok(c) => kaitiaki_node::pages::request::condition_words(&c),
        Err(_) => value.to_string(),
    }
}

/// A decision rule as served (`{"type":"threshold","k":3}`), in a phrase.
pub fn rule(value: &Value) -> String {
    match serde_json::from_value::<DecisionRule>(value.clone()) {
        Ok(r) => crate::parse::describe_rule(&r),
        Err(_) => value.to_string(),
    }
}

/// At most `max` characters of `text`, cut at a word and marked with an
/// ellipsis; the second value says whether anything was cut.
pub fn excerpt(text: &str, max: usize) -> (String, bool) {
    if text.chars().count() <= max {
        return (text.to_owned(), false);
    }
    let head: String = text.chars().take(max).collect();
    // Cut at the last space, unless that would leave almost nothing (one
    // very long word): then cut inside it.
    let cut = match head.rsplit_once(' ') {
        Some((before, _)) if before.chars().count() >= max / 2 => before,
        _ => head.as_str(),
    };
    let cut = cut.trim_end_matches([' ', ',', ';', ':', '.', '—', '-']);
    (format!("{cut}…"), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_kinds_read_as_on_the_pages() {
        assert_eq!(status("under_review"), "Being decided");
        assert_eq!(status("submitted"), "Waiting for the boards");
        assert_eq!(status("approved"), "Approved");
        assert_eq!(choice("approve_with_conditions"), "Approve with conditions");
        assert_eq!(report_kind("periodic"), "regular");
        assert_eq!(report_kind("final"), "final");
    }

    #[test]
    fn conditions_and_rules_read_as_words() {
        let c = serde_json::json!({"type": "report_every", "months": 6});
        assert_eq!(
            condition(&c),
            "Report back every 6 months on how the data is used."
        );
        let r = serde_json::json!({"type": "threshold", "k": 3});
        assert_eq!(rule(&r), "3 approvals");
        let odd = serde_json::json!({"type": "something_new"});
        assert_eq!(condition(&odd), odd.to_string());
    }

    #[test]
    fn excerpts_cut_at_a_word_with_an_ellipsis() {
        assert_eq!(excerpt("short", 10), ("short".into(), false));
        let (cut, was_cut) = excerpt("the board reviews outputs before anyone sees them", 40);
        assert!(was_cut);
        assert_eq!(cut, "the board reviews outputs before anyone…");
        let (cut, _) = excerpt(&"x".repeat(50), 10);
        assert_eq!(cut, format!("{}…", "x".repeat(10)));
    }
}
