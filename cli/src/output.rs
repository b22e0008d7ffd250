//! Printing results: a sentence or a table for people, JSON for scripts.
//!
//! Every command produces a value that is both [`Serialize`] (for `--json`)
//! and [`Render`] (for people), so the two outputs can never drift apart in
//! what they say, only in how.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

/// How a result reads for a person.
pub trait Render {
    /// Appends the human-readable form, ending in a newline.
    fn human(&self, out: &mut String);
}

/// Where results go and in which form.
#[derive(Clone, Copy, Debug)]
pub struct Printer {
    json: bool,
}

impl Printer {
    /// JSON when `json`, human text otherwise.
    pub fn new(json: bool) -> Printer {
        Printer { json }
    }

    /// Whether output is JSON.
    pub fn json(&self) -> bool {
        self.json
    }

    /// Prints one result to standard output.
    pub fn emit<T: Serialize + Render>(&self, value: &T) -> Result<()> {
        let text = self.format(value)?;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()?;
        Ok(())
    }

    /// The text [`Printer::emit`] would print.
    pub fn format<T: Serialize + Render>(&self, value: &T) -> Result<String> {
        if self.json {
            let mut text = serde_json::to_string_pretty(value)?;
            text.push('\n');
            Ok(text)
        } else {
            let mut text = String::new();
            value.human(&mut text);
            Ok(text)
        }
    }
}

/// Shortens a 64-digit id for tables; the full id is always in `--json`.
pub fn short(id: &impl std::fmt::Display) -> String {
    let full = id.to_string();
    match full.get(..12) {
        Some(head) if full.len() > 16 => format!("{head}…"),
        _ => full,
    }
}

/// An error and its causes on one line, each said once. Libraries often
/// both print their cause and return it as the error's source, so the
/// usual `{:#}` says it twice ("field x: too long: field x: too long");
/// a cause the text already ends with is left out.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.ends_with(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// Lays out rows as aligned columns, the first row being the header.
pub fn table(rows: &[Vec<String>], out: &mut String) {
    let Some(first) = rows.first() else {
        return;
    };
    let mut widths = vec![0usize; first.len()];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// A plain message, for commands whose result is a sentence.
#[derive(Debug, Serialize)]
pub struct Message {
    /// What happened.
    pub message: String,
}

impl Render for Message {
    fn human(&self, out: &mut String) {
        out.push_str(&self.message);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_on_characters_not_bytes() {
        let mut out = String::new();
        table(
            &[
                vec!["name".into(), "state".into()],
                vec!["Rāhui".into(), "in force".into()],
            ],
            &mut out,
        );
        assert_eq!(out, "name   state\nRāhui  in force\n");
    }

    #[test]
    fn a_cause_already_said_is_not_said_again() {
        #[derive(Debug, thiserror::Error)]
        #[error("field body.text: must not be empty or only white space")]
        struct Limit;
        #[derive(Debug, thiserror::Error)]
        #[error("{0}")]
        struct Wrapper(#[from] Limit);
        let e = anyhow::Error::new(Wrapper(Limit)).context("the statement breaks a protocol limit");
        assert_eq!(
            error_text(&e),
            "the statement breaks a protocol limit: field body.text: must not be empty or only white space"
        );
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_text(&plain), "outer: inner");
    }

    #[test]
    fn short_ids_keep_their_head() {
        assert_eq!(short(&"a".repeat(64)), format!("{}…", "a".repeat(12)));
        assert_eq!(short(&"abc"), "abc");
    }
}
