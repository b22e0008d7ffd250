//! A small HTML reader and checker for the community pages' tests: enough
//! of HTML to read what maud writes and what Chromium's `--dump-dom`
//! prints, and the accessibility rules the pages promise (one `h1`,
//! headings in order, labelled controls, alt text, titled SVG, landmarks,
//! unique ids, `lang` set).

use std::collections::BTreeMap;

/// An element.
#[derive(Debug, Default, Clone)]
pub struct El {
    pub tag: String,
    pub attrs: BTreeMap<String, String>,
    pub children: Vec<Node>,
}

/// A node: an element or text.
#[derive(Debug, Clone)]
pub enum Node {
    El(El),
    Text(String),
}

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

fn decode(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';').filter(|e| *e < 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let ent = &rest[1..end];
        let ch = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" | "#39" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ if ent.starts_with("#x") => u32::from_str_radix(&ent[2..], 16)
                .ok()
                .and_then(char::from_u32),
            _ if ent.starts_with('#') => ent[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Parses a document. Errors name the first structural problem.
pub fn parse(html: &str) -> Result<El, String> {
    let mut stack: Vec<El> = vec![El {
        tag: "#document".into(),
        ..El::default()
    }];
    let mut rest = html;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<!--") {
            let end = after.find("-->").ok_or("unclosed comment")?;
            rest = &after[end + 3..];
        } else if rest.starts_with("<!") {
            let end = rest.find('>').ok_or("unclosed doctype")?;
            rest = &rest[end + 1..];
        } else if let Some(after) = rest.strip_prefix("</") {
            let end = after.find('>').ok_or("unclosed end tag")?;
            let name = after[..end].trim().to_ascii_lowercase();
            rest = &after[end + 1..];
            let el = stack.pop().ok_or("end tag with nothing open")?;
            if el.tag != name {
                return Err(format!("</{name}> closes <{}>", el.tag));
            }
            stack
                .last_mut()
                .ok_or("end tag closes the document")?
                .children
                .push(Node::El(el));
        } else if rest.starts_with('<') && rest[1..].starts_with(|c: char| c.is_ascii_alphabetic())
        {
            let (el, after, self_closed) = open_tag(&rest[1..])?;
            rest = after;
            if VOID.contains(&el.tag.as_str()) || self_closed {
                stack
                    .last_mut()
                    .ok_or("no parent")?
                    .children
                    .push(Node::El(el));
            } else if el.tag == "script" || el.tag == "style" {
                let close = format!("</{}>", el.tag);
                let end = rest.find(&close).ok_or("unclosed raw text element")?;
                let mut el = el;
                el.children.push(Node::Text(rest[..end].to_owned()));
                rest = &rest[end + close.len()..];
                stack
                    .last_mut()
                    .ok_or("no parent")?
                    .children
                    .push(Node::El(el));
            } else {
                stack.push(el);
            }
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let text = decode(&rest[..end]);
            stack
                .last_mut()
                .ok_or("no parent")?
                .children
                .push(Node::Text(text));
            rest = &rest[end..];
        }
    }
    if stack.len() != 1 {
        return Err(format!(
            "<{}> is never closed",
            stack.last().map(|e| e.tag.clone()).unwrap_or_default()
        ));
    }
    stack.pop().ok_or_else(|| "empty".into())
}

fn open_tag(s: &str) -> Result<(El, &str, bool), String> {
    let name_end = s
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .ok_or("unclosed tag")?;
    let mut el = El {
        tag: s[..name_end].to_ascii_lowercase(),
        ..El::default()
    };
    let mut rest = &s[name_end..];
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("/>") {
            return Ok((el, r, true));
        }
        if let Some(r) = rest.strip_prefix('>') {
            return Ok((el, r, false));
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '>' || c == '/')
            .ok_or("bad attribute")?;
        if end == 0 {
            return Err(format!("bad attribute in <{}>", el.tag));
        }
        let name = rest[..end].to_ascii_lowercase();
        rest = &rest[end..];
        let mut value = String::new();
        if let Some(r) = rest.trim_start().strip_prefix('=') {
            let r = r.trim_start();
            let quote = r.chars().next().ok_or("attribute without value")?;
            if quote == '"' || quote == '\'' {
                let close = r[1..].find(quote).ok_or("unclosed attribute value")?;
                value = decode(&r[1..1 + close]);
                rest = &r[close + 2..];
            } else {
                let close = r
                    .find(|c: char| c.is_whitespace() || c == '>')
                    .unwrap_or(r.len());
                value = decode(&r[..close]);
                rest = &r[close..];
            }
        }
        if el.attrs.insert(name.clone(), value).is_some() {
            return Err(format!("<{}> has the attribute {name} twice", el.tag));
        }
    }
}

impl El {
    /// Every element below this one, depth first, in document order.
    pub fn all(&self) -> Vec<&El> {
        let mut out = Vec::new();
        fn walk<'a>(e: &'a El, out: &mut Vec<&'a El>) {
            for c in &e.children {
                if let Node::El(x) = c {
                    out.push(x);
                    walk(x, out);
                }
            }
        }
        walk(self, &mut out);
        out
    }

    /// Elements with this tag.
    pub fn find(&self, tag: &str) -> Vec<&El> {
        self.all().into_iter().filter(|e| e.tag == tag).collect()
    }

    /// The attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }

    /// All text inside, spaces collapsed.
    pub fn text(&self) -> String {
        let mut s = String::new();
        fn walk(e: &El, s: &mut String) {
            for c in &e.children {
                match c {
                    Node::Text(t) if e.tag != "script" && e.tag != "style" => s.push_str(t),
                    Node::El(x) => walk(x, s),
                    _ => {}
                }
            }
        }
        walk(self, &mut s);
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The element with this id.
    pub fn by_id(&self, id: &str) -> Option<&El> {
        self.all().into_iter().find(|e| e.attr("id") == Some(id))
    }

    /// Links' targets.
    pub fn hrefs(&self) -> Vec<&str> {
        self.find("a")
            .into_iter()
            .filter_map(|a| a.attr("href"))
            .collect()
    }
}

/// The accessibility and validity problems of a whole page; empty when it
/// passes.
pub fn problems(html: &str) -> Vec<String> {
    let doc = match parse(html) {
        Ok(d) => d,
        Err(e) => return vec![format!("not well-formed: {e}")],
    };
    let mut out = Vec::new();
    let all = doc.all();
    match doc.find("html").first() {
        Some(h) if h.attr("lang").is_some_and(|l| !l.is_empty()) => {}
        _ => out.push("<html> has no lang".into()),
    }
    if doc
        .find("title")
        .first()
        .is_none_or(|t| t.text().is_empty())
    {
        out.push("no <title>".into());
    }
    for landmark in ["main", "nav", "header", "footer"] {
        if doc.find(landmark).is_empty() {
            out.push(format!("no <{landmark}> landmark"));
        }
    }
    if doc.find("main").len() > 1 {
        out.push("more than one <main>".into());
    }
    let h1 = doc.find("h1").len();
    if h1 != 1 {
        out.push(format!("{h1} <h1> elements, want exactly one"));
    }
    let mut last = 0;
    for e in &all {
        if let Some(level) = e
            .tag
            .strip_prefix('h')
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|_| e.tag.len() == 2)
        {
            if last > 0 && level > last + 1 {
                out.push(format!(
                    "heading h{level} \"{}\" skips a level after h{last}",
                    e.text()
                ));
            }
            if e.text().is_empty() {
                out.push(format!("empty h{level}"));
            }
            last = level;
        }
    }
    let mut ids = BTreeMap::new();
    for e in &all {
        if let Some(id) = e.attr("id") {
            *ids.entry(id.to_owned()).or_insert(0) += 1;
        }
    }
    for (id, n) in &ids {
        if *n > 1 {
            out.push(format!("id {id:?} used {n} times"));
        }
    }
    let labelled: Vec<&str> = doc
        .find("label")
        .into_iter()
        .filter_map(|l| l.attr("for"))
        .collect();
    for e in &all {
        let t = e.attr("type").unwrap_or("text");
        let control = matches!(e.tag.as_str(), "select" | "textarea")
            || (e.tag == "input" && !matches!(t, "hidden" | "submit" | "button"));
        if control {
            let ok = e.attr("aria-label").is_some()
                || e.attr("id").is_some_and(|id| labelled.contains(&id));
            if !ok {
                out.push(format!("<{}> without a label", e.tag));
            }
        }
        if e.tag == "img" && e.attr("alt").is_none() {
            out.push("<img> without alt".into());
        }
        if e.tag == "svg" {
            let named = e.attr("aria-label").is_some()
                || e.attr("aria-labelledby").is_some()
                || e.attr("aria-hidden") == Some("true");
            if !named || e.find("title").is_empty() && e.attr("aria-label").is_none() {
                out.push("<svg> without a title or label".into());
            }
        }
        if (e.tag == "a" || e.tag == "button")
            && e.text().is_empty()
            && e.attr("aria-label").is_none()
        {
            out.push(format!("<{}> without text", e.tag));
        }
        if e.tag == "a" && e.attr("href").is_none() {
            out.push("<a> without href".into());
        }
        for refs in ["aria-labelledby", "aria-describedby"] {
            for r in e.attr(refs).unwrap_or_default().split_whitespace() {
                if !ids.contains_key(r) {
                    out.push(format!("{refs} points at missing id {r:?}"));
                }
            }
        }
        if let Some(l) = e.attr("lang") {
            if l != "mi" && l != "en" {
                out.push(format!("unexpected lang {l:?}"));
            }
        }
    }
    out
}

/// Fails with every problem of the page.
pub fn assert_accessible(what: &str, html: &str) {
    let p = problems(html);
    assert!(p.is_empty(), "{what} has problems:\n- {}", p.join("\n- "));
}

#[test]
fn the_checker_catches_what_it_promises() {
    let bad = r#"<!DOCTYPE html><html><head><title>x</title></head><body><header></header><nav></nav><main>
        <h1>a</h1><h3>b</h3><img src="x"><input id="q"><a href="/"></a><span id="d"></span><span id="d"></span>
        <svg role="img"></svg></main><footer></footer></body></html>"#;
    let p = problems(bad);
    for want in [
        "no lang",
        "skips a level",
        "without alt",
        "without a label",
        "<a> without text",
        "used 2 times",
        "<svg>",
    ] {
        assert!(
            p.iter().any(|x| x.contains(want)),
            "missing {want:?} in {p:?}"
        );
    }
    assert!(problems("<html lang=en><p></html>")[0].contains("not well-formed"));
}
