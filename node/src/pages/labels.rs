//! The labels the pages use — headings, navigation, statuses, choices,
//! categories, condition names and what label and use codes mean — in one
//! translation file a board can review and replace, English always, te reo
//! Māori only where an established term exists (`node/assets/labels.toml`,
//! compiled in). The sentences that explain a page are in the page code.
//!
//! A node uses `labels.toml` in its data directory instead, entry by entry,
//! when one is there: a board edits its own copy and the next page view
//! shows it, without a rebuild or a restart. A broken replacement never
//! takes the pages down; the built-in words are used and the error is
//! logged, because a typo in a translation file must not hide the record.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use maud::{html, Markup};
use serde::Deserialize;

/// The built-in translation file.
pub const BUILT_IN: &str = include_str!("../../assets/labels.toml");

/// The name of a node's own translation file, in its data directory.
pub const FILE_NAME: &str = "labels.toml";

/// One interface label: English, and te reo Māori when reviewed.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Term {
    /// The English words.
    pub en: String,
    /// The te reo Māori words, only where an established term exists.
    #[serde(default)]
    pub mi: Option<String>,
}

/// A label or use code explained in plain language.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Code {
    /// The code's usual name, e.g. "TK Attribution".
    pub name: String,
    /// What it means, in plain words.
    pub meaning: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Meta {
    #[serde(default)]
    reviewed_by: Option<String>,
    #[serde(default)]
    mi_words: Option<Vec<String>>,
}

/// The file as written: every section optional, so a replacement may hold
/// only what a board reviewed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    meta: Meta,
    #[serde(default)]
    ui: BTreeMap<String, Term>,
    #[serde(default)]
    status: BTreeMap<String, Term>,
    #[serde(default)]
    choice: BTreeMap<String, Term>,
    #[serde(default)]
    use_category: BTreeMap<String, Term>,
    #[serde(default)]
    sensitivity: BTreeMap<String, Term>,
    #[serde(default)]
    codes: BTreeMap<String, Code>,
}

/// Which table a term comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// Interface labels.
    Ui,
    /// Request statuses.
    Status,
    /// Vote choices.
    Choice,
    /// Use categories.
    UseCategory,
    /// Dataset sensitivity.
    Sensitivity,
}

/// The labels the pages show (see the module documentation for what is not among them).
#[derive(Clone, Debug, Default)]
pub struct Labels {
    file: File,
    reviewed_by: Option<String>,
    mi_words: Vec<String>,
}

impl Labels {
    /// Reads a translation file. Entries it leaves out are not filled in:
    /// see [`Labels::layered`].
    pub fn parse(text: &str) -> Result<Labels, toml::de::Error> {
        let file: File = toml::from_str(text)?;
        let reviewed_by = file
            .meta
            .reviewed_by
            .clone()
            .filter(|r| !r.trim().is_empty());
        // A blank word would match everywhere, and find nothing to mark.
        let mi_words = file
            .meta
            .mi_words
            .iter()
            .flatten()
            .map(|w| w.trim().to_owned())
            .filter(|w| !w.is_empty())
            .collect();
        Ok(Labels {
            file,
            reviewed_by,
            mi_words,
        })
    }

    /// The built-in labels.
    pub fn built_in() -> Arc<Labels> {
        static BUILT: OnceLock<Arc<Labels>> = OnceLock::new();
        Arc::clone(BUILT.get_or_init(|| {
            // The built-in file is checked by a test; an empty set is the
            // fallback that can never fail, so a bad build still serves.
            Arc::new(Labels::parse(BUILT_IN).unwrap_or_default())
        }))
    }

    /// `over` on top of `base`: each entry of `over` replaces the one of
    /// the same name.
    pub fn layered(base: &Labels, over: Labels) -> Labels {
        let mut out = base.clone();
        let f = over.file;
        out.file.ui.extend(f.ui);
        out.file.status.extend(f.status);
        out.file.choice.extend(f.choice);
        out.file.use_category.extend(f.use_category);
        out.file.sensitivity.extend(f.sensitivity);
        out.file.codes.extend(f.codes);
        if over.reviewed_by.is_some() {
            out.reviewed_by = over.reviewed_by;
        }
        if f.meta.mi_words.is_some() {
            out.mi_words = over.mi_words;
        }
        out
    }

    /// The labels for a node whose data directory is `dir`: its own file
    /// over the built-in one, re-read when the file changes.
    pub fn for_node(dir: &Path) -> Arc<Labels> {
        type Cache = Mutex<BTreeMap<PathBuf, (SystemTime, Arc<Labels>)>>;
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let path = dir.join(FILE_NAME);
        let Ok(modified) = std::fs::metadata(&path).and_then(|m| m.modified()) else {
            return Labels::built_in();
        };
        let cache = CACHE.get_or_init(Cache::default);
        let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, labels)) = cache.get(&path) {
            if *at == modified {
                return Arc::clone(labels);
            }
        }
        let labels = match std::fs::read_to_string(&path).map(|t| Labels::parse(&t)) {
            Ok(Ok(own)) => Arc::new(Labels::layered(&Labels::built_in(), own)),
            Ok(Err(e)) => {
                tracing::warn!(path = %path.display(), error = %e, "labels.toml is not valid; using the built-in labels");
                Labels::built_in()
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "labels.toml could not be read; using the built-in labels");
                Labels::built_in()
            }
        };
        cache.insert(path, (modified, Arc::clone(&labels)));
        labels
    }

    /// The term `key` of `section`. A missing key shows as itself, so a
    /// gap in a replacement file is visible rather than blank.
    pub fn term(&self, section: Section, key: &str) -> Term {
        let table = match section {
            Section::Ui => &self.file.ui,
            Section::Status => &self.file.status,
            Section::Choice => &self.file.choice,
            Section::UseCategory => &self.file.use_category,
            Section::Sensitivity => &self.file.sensitivity,
        };
        table.get(key).cloned().unwrap_or_else(|| Term {
            en: key.replace('_', " "),
            mi: None,
        })
    }

    /// An interface label as plain English text (for `title`, `aria-label`
    /// and other attributes, where markup cannot go).
    pub fn text(&self, key: &str) -> String {
        self.term(Section::Ui, key).en
    }

    /// An interface label, Māori first where there is a term:
    /// "Pūrongo | Reports", each language marked.
    pub fn ui(&self, key: &str) -> Markup {
        self.bi(Section::Ui, key)
    }

    /// A term of any section, bilingual where reviewed.
    pub fn bi(&self, section: Section, key: &str) -> Markup {
        let t = self.term(section, key);
        match &t.mi {
            Some(mi) => html! {
                span.bi {
                    span lang="mi" { (mi) }
                    span.sep aria-hidden="true" { " | " }
                    span.en { (self.english(&t.en)) }
                }
            },
            None => self.english(&t.en),
        }
    }

    /// English interface text with the Māori words in it marked
    /// `lang="mi"`, so screen readers say them in te reo. One pass over
    /// the text: at the start of each word, the longest listed word that
    /// is whole there is marked.
    pub fn english(&self, text: &str) -> Markup {
        let whole_at = |at: usize| {
            let rest = &text[at..];
            self.mi_words
                .iter()
                .filter(|w| {
                    rest.starts_with(w.as_str())
                        && rest[w.len()..]
                            .chars()
                            .next()
                            .is_none_or(|c| !c.is_alphanumeric())
                })
                .map(String::len)
                .max()
        };
        let mut parts: Vec<(bool, &str)> = Vec::new();
        let mut plain_from = 0;
        let mut prev: Option<char> = None;
        for (at, c) in text.char_indices() {
            if at < plain_from {
                prev = Some(c);
                continue;
            }
            let starts_word = c.is_alphanumeric() && prev.is_none_or(|p| !p.is_alphanumeric());
            prev = Some(c);
            if !starts_word {
                continue;
            }
            if let Some(len) = whole_at(at) {
                if at > plain_from {
                    parts.push((false, &text[plain_from..at]));
                }
                parts.push((true, &text[at..at + len]));
                plain_from = at + len;
            }
        }
        if plain_from < text.len() {
            parts.push((false, &text[plain_from..]));
        }
        html! {
            @for (mi, p) in parts {
                @if mi { span lang="mi" { (p) } } @else { (p) }
            }
        }
    }

    /// A code explained, if this file knows it.
    pub fn code(&self, code: &str) -> Option<&Code> {
        self.file.codes.get(code)
    }

    /// Every code this file explains, in code order.
    pub fn codes(&self) -> impl Iterator<Item = (&String, &Code)> {
        self.file.codes.iter()
    }

    /// Who reviewed these labels, if a board said so.
    pub fn reviewed_by(&self) -> Option<&str> {
        self.reviewed_by.as_deref()
    }

    /// Every term with a Māori form, for checks on the file itself.
    pub fn all_terms(&self) -> Vec<(&'static str, &String, &Term)> {
        let mut out = Vec::new();
        for (name, table) in [
            ("ui", &self.file.ui),
            ("status", &self.file.status),
            ("choice", &self.file.choice),
            ("use_category", &self.file.use_category),
            ("sensitivity", &self.file.sensitivity),
        ] {
            out.extend(table.iter().map(|(k, t)| (name, k, t)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_file_parses_and_has_the_core_terms() {
        let l = Labels::parse(BUILT_IN).expect("built-in labels parse");
        assert_eq!(
            l.term(Section::Ui, "reports").mi.as_deref(),
            Some("Pūrongo")
        );
        assert!(l.code("TK_A").is_some());
        assert!(l.code("DUO:0000042").is_some());
    }

    #[test]
    fn maori_comes_first_and_is_marked() {
        let l = Labels::parse(BUILT_IN).expect("parse");
        let html = l.ui("reports").into_string();
        let mi = html.find("lang=\"mi\"").expect("marked");
        let en = html.find("Reports").expect("english");
        assert!(mi < en, "{html}");
    }

    #[test]
    fn maori_words_in_english_text_are_marked_as_whole_words() {
        let l = Labels::parse(BUILT_IN).expect("parse");
        let html = l
            .english("Rāhui in force for whānau, not whānaunga")
            .into_string();
        assert!(html.contains("<span lang=\"mi\">Rāhui</span>"), "{html}");
        assert!(html.contains("<span lang=\"mi\">whānau</span>,"), "{html}");
        assert!(html.contains("whānaunga"), "{html}");
        assert_eq!(html.matches("lang=\"mi\"").count(), 2, "{html}");
    }

    #[test]
    fn every_word_is_marked_whatever_the_order_of_the_list() {
        // The list names "whānau" before "rāhui"; the text has them the
        // other way round. A blank word in a board's file is ignored.
        let l = Labels::parse("[meta]\nmi_words = [\"\", \"whānau\", \"  \", \"rāhui\"]\n")
            .expect("parse");
        let html = l.english("A rāhui, then whānau.").into_string();
        assert_eq!(
            html,
            "A <span lang=\"mi\">rāhui</span>, then <span lang=\"mi\">whānau</span>."
        );
    }

    #[test]
    fn a_replacement_overrides_only_what_it_names() {
        let base = Labels::parse(BUILT_IN).expect("parse");
        let own = Labels::parse(
            "[meta]\nreviewed_by = \"Te Poari\"\n[ui]\nreports = { en = \"Reports back\" }\n",
        )
        .expect("parse");
        let l = Labels::layered(&base, own);
        assert_eq!(l.term(Section::Ui, "reports").en, "Reports back");
        assert_eq!(l.term(Section::Ui, "reports").mi, None);
        assert_eq!(
            l.term(Section::Ui, "overview").mi.as_deref(),
            Some("Tirohanga whānui")
        );
        assert_eq!(l.reviewed_by(), Some("Te Poari"));
    }
}
