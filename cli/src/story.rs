//! What `kaitiaki show` says for people about a request, a concern and a
//! governance body: the node's governance view, put into sentences.
//!
//! Everything here is pure: it reads the node's JSON view of the record
//! (exactly what `--json` prints under `state`) and the [`Related`] records
//! [`crate::show`] looked up beside it (board names, dataset names,
//! people's announced names, a concern's responses), and writes text. The words
//! for statuses, choices and conditions are the community pages' own
//! ([`crate::words`]). Ids a person may want for the next command are
//! printed whole.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::output;
use crate::show::scalar;
use crate::words;

/// Other records a view refers to, looked up for people (never part of
/// `--json`, which keeps the node's view as it is).
#[derive(Debug, Default)]
pub struct Related {
    /// Board names, by charter id.
    pub boards: BTreeMap<String, String>,
    /// Dataset names, by registration id.
    pub datasets: BTreeMap<String, String>,
    /// Announced names of people, by public key (hex).
    pub people: BTreeMap<String, String>,
    /// Statements referred to (a concern's subject and responses, a
    /// vote's subject), by id: their payloads, as the node serves them.
    pub statements: BTreeMap<String, Value>,
    /// For a statement the node keeps no view of its own for (a vote, a
    /// renewal, an amendment…): what the state files it under, as
    /// `(type, id, the node's view of it)`.
    pub owner: Option<(String, String, Value)>,
}

impl Related {
    /// A board's name, or its id when the node did not say.
    fn board(&self, id: &str) -> String {
        match self.boards.get(id) {
            Some(name) => name.clone(),
            None => format!("board {id}"),
        }
    }

    /// A dataset's name, or its id when the node did not say.
    fn dataset<'a>(&'a self, id: &'a str) -> &'a str {
        self.datasets.get(id).map_or(id, String::as_str)
    }

    /// Who holds a key: their announced name, else the start of the key.
    fn person(&self, key: &str) -> String {
        match self.people.get(key) {
            Some(name) => name.clone(),
            None => output::short(&key),
        }
    }
}

/// The string at `pointer`, or "—".
fn text(view: &Value, pointer: &str) -> String {
    view.pointer(pointer)
        .filter(|v| !v.is_null())
        .map(scalar)
        .unwrap_or_else(|| "—".into())
}

/// The time of a position in a log (`{"at", "index", "log"}`) or a time.
fn time(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m.get("at").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

fn array<'a>(view: &'a Value, pointer: &str) -> &'a [Value] {
    view.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn tally(t: Option<&Value>) -> String {
    let Some(t) = t.filter(|t| t.is_object()) else {
        return String::new();
    };
    let n = |k: &str| t.get(k).map(scalar).unwrap_or_else(|| "0".into());
    // A motion, an amendment or another board's part of a renewal holds
    // an empty tally until a member votes: not "0 not voted".
    if ["approve", "decline", "abstain", "not_voted"]
        .iter()
        .all(|k| n(k) == "0")
    {
        return " (no votes yet)".into();
    }
    format!(
        " ({} approve, {} decline, {} abstain, {} not voted)",
        n("approve"),
        n("decline"),
        n("abstain"),
        n("not_voted")
    )
}

/// Widest texts the timeline shows before cutting (`--json` has them whole).
const TIMELINE_TEXT: usize = 90;

/// A request: where it stands, why, on what terms and until when, each
/// board's decision, and its timeline, one line per statement.
pub fn request(id: &str, view: &Value, related: &Related, out: &mut String) {
    let status = view.get("status").and_then(Value::as_str).unwrap_or("");
    // A request the rules left out has no status: its standing says why.
    if !status.is_empty() {
        out.push_str(&format!("status: {}\n", words::status(status)));
    }
    let approval = view.pointer("/record/approval").filter(|a| a.is_object());
    // Each end is a position in a log (`{"at": {"at", …}, "by"}`).
    let withdrawn = time(view.pointer("/record/withdrawn/at"));
    if let Some(at) = &withdrawn {
        out.push_str(&format!("withdrawn: {at}\n"));
    }
    if let Some(a) = approval {
        if let Some(at) = time(a.pointer("/revoked/at")) {
            out.push_str(&format!("revoked: {at}\n"));
        }
        if let Some(at) = time(a.pointer("/completed/at")) {
            out.push_str(&format!("completed: {at}\n"));
        }
        if let Some(until) = time(a.get("expires_at")) {
            match status {
                "approved" | "suspended" => {
                    out.push_str(&format!("access ends: {until}, unless renewed\n"))
                }
                "expired" => out.push_str(&format!("access ended: {until}\n")),
                _ => {}
            }
        }
        // The approval's own conditions, as its boards set them; those a
        // renewal added are listed with that renewal (a renewal's "at most
        // N days" caps the days it adds, not the whole approval).
        let conditions = approved_conditions(array(view, "/record/decisions"));
        if !conditions.is_empty() {
            out.push_str("conditions of the approval:\n");
            for c in conditions {
                out.push_str(&format!("  - {c}\n"));
            }
        }
    }
    if status == "suspended" {
        suspended_because(view, related, out);
    }
    votes_paused(view, related, out);
    unlisted_uses(view, related, out);
    unchecked_exclusions(view, related, out);
    let overdue = array(view, "/overdue");
    if !overdue.is_empty() {
        out.push_str(&format!("reports overdue: {}\n", overdue.len()));
        for o in overdue {
            out.push_str(&format!(
                "  - {} report, due {}\n",
                words::report_kind(&text(o, "/kind")),
                text(o, "/due")
            ));
        }
    }
    if let Some(next) = view.get("next_report").filter(|n| !n.is_null()) {
        // With reports overdue, the next due date is the one after them.
        let label = if overdue.is_empty() {
            "next report due"
        } else {
            "then the next report due"
        };
        out.push_str(&format!(
            "{label}: {} ({} report)\n",
            text(next, "/due"),
            words::report_kind(&text(next, "/kind"))
        ));
    }
    let decisions = array(view, "/record/decisions");
    if !decisions.is_empty() {
        out.push_str("decisions:\n");
    }
    for d in decisions {
        let board = text(d, "/body");
        let decided = d.get("decision").filter(|x| x.is_object());
        let line = match decided {
            Some(x) => format!(
                "{} on {}",
                words::status(&text(x, "/outcome")),
                time(x.get("at")).unwrap_or_default()
            ),
            None if withdrawn.is_some() => "not decided: the request was withdrawn".into(),
            None => match time(d.get("notice_until")) {
                Some(n) => format!("not decided yet; open for community comment until {n}"),
                None => "not decided yet".into(),
            },
        };
        out.push_str(&format!(
            "  {}: {line}{}\n",
            related.board(&board),
            tally(d.get("tally"))
        ));
        if related.boards.contains_key(&board) {
            out.push_str(&format!("    board {board}\n"));
        }
        // Before the approval, each board's conditions are its own.
        if approval.is_none() {
            for c in decided.map(|x| array(x, "/conditions")).unwrap_or_default() {
                out.push_str(&format!("    on condition: {}\n", words::condition(c)));
            }
        }
    }
    if let Some(a) = approval {
        renewals_and_motions(view, a, related, out);
    }
    timeline(
        id,
        view,
        "/timeline",
        "timeline: nothing has happened since it was asked",
        related,
        out,
    );
}

/// ", but it changed nothing (…)" for a carried motion the node's view of
/// its request lists among `motions_without_effect`; nothing otherwise.
fn no_change(view: &Value, motion: &Value) -> String {
    let id = text(motion, "/id");
    if !array(view, "/motions_without_effect")
        .iter()
        .any(|m| m.as_str() == Some(id.as_str()))
    {
        return String::new();
    }
    // The pages' words for why, so the two never disagree.
    match serde_json::from_value(motion.get("action").cloned().unwrap_or_default()) {
        Ok(action) => format!(
            ", but it changed nothing ({})",
            kaitiaki_node::pages::request::no_change_why(
                &kaitiaki_node::pages::request::VoteOn::Motion { action }
            )
        ),
        Err(_) => ", but it changed nothing".into(),
    }
}

/// ", for N more days" when the node's view of the request says an
/// approved renewal added fewer days than were asked; nothing otherwise.
fn fewer_days(view: &Value, renewal: &Value) -> String {
    let id = text(renewal, "/id");
    let asked = renewal.get("extra_days").and_then(Value::as_u64);
    let granted = array(view, "/renewals_granted")
        .iter()
        .find(|g| text(g, "/renewal") == id)
        .and_then(|g| g.get("days").and_then(Value::as_u64));
    match (asked, granted) {
        (Some(a), Some(g)) if g < a => format!(", for {g} more days"),
        _ => String::new(),
    }
}

/// The conditions of every approving decision among `decisions`, each once,
/// in words.
fn approved_conditions(decisions: &[Value]) -> Vec<String> {
    let mut all: Vec<String> = decisions
        .iter()
        .filter_map(|d| d.get("decision").filter(|x| x.is_object()))
        .filter(|x| text(x, "/outcome") == "approved")
        .flat_map(|x| array(x, "/conditions"))
        .map(words::condition)
        .collect();
    all.sort();
    all.dedup();
    all
}

/// Each renewal the requester asked for and each motion on the approval,
/// with what came of it.
fn renewals_and_motions(view: &Value, approval: &Value, related: &Related, out: &mut String) {
    let renewals = array(approval, "/renewals");
    if !renewals.is_empty() {
        out.push_str("renewals:\n");
    }
    for r in renewals {
        let outcome = match r.get("outcome").and_then(Value::as_str) {
            Some("approved") => format!("approved by every board{}", fewer_days(view, r)),
            Some("declined") => "declined".to_owned(),
            _ => "not decided yet".to_owned(),
        };
        out.push_str(&format!(
            "  {} more days asked on {}: {outcome}\n    renewal {}\n",
            text(r, "/extra_days"),
            time(r.get("filed")).unwrap_or_default(),
            text(r, "/id")
        ));
        if r.get("outcome").and_then(Value::as_str) == Some("approved") {
            for c in approved_conditions(array(r, "/decisions")) {
                out.push_str(&format!("    on condition: {c}\n"));
            }
        }
        // Each board's standing on a renewal not yet decided.
        if r.get("outcome").is_none_or(Value::is_null) {
            for d in array(r, "/decisions") {
                out.push_str(&format!(
                    "    {}{}\n",
                    related.board(&text(d, "/body")),
                    tally(d.get("tally"))
                ));
            }
        }
    }
    let motions = array(approval, "/motions");
    if !motions.is_empty() {
        out.push_str("motions on the approval:\n");
    }
    for m in motions {
        let decided = m.get("decision").filter(|x| x.is_object());
        let outcome = match decided.map(|x| (text(x, "/outcome"), time(x.get("at")))) {
            Some((o, at)) if o == "approved" => format!(
                "carried on {}{}",
                at.unwrap_or_default(),
                no_change(view, m)
            ),
            Some((o, at)) if o == "declined" => format!("rejected on {}", at.unwrap_or_default()),
            Some((o, _)) => o,
            None => format!("not decided yet{}", tally(m.get("tally"))),
        };
        out.push_str(&format!(
            "  {} to {} the approval: {outcome}\n    motion {}\n",
            related.board(&text(m, "/body")),
            text(m, "/action"),
            text(m, "/id")
        ));
    }
}

/// Why an approval is paused, as the node says in `suspended_by`: each
/// rāhui in force on its datasets, then each board's suspension not yet
/// reinstated.
fn suspended_because(view: &Value, related: &Related, out: &mut String) {
    let reasons = causes(array(view, "/suspended_by"), related);
    if reasons.is_empty() {
        out.push_str(
            "suspended because: the node does not say (a rāhui on a dataset, or a board's motion)\n",
        );
        return;
    }
    out.push_str("suspended because:\n");
    for r in reasons {
        out.push_str(&format!("  - {r}\n"));
    }
}

/// Why no board can vote on a request awaiting its decision, as the node
/// says in `votes_paused_by`: each rāhui in force on its datasets.
fn votes_paused(view: &Value, related: &Related, out: &mut String) {
    let reasons = causes(array(view, "/votes_paused_by"), related);
    if reasons.is_empty() {
        return;
    }
    out.push_str("votes paused (no board can vote until each ends or is lifted):\n");
    for r in reasons {
        out.push_str(&format!("  - {r}\n"));
    }
}

/// Each cause of a pause (a rāhui, a board's suspension), in words.
fn causes(items: &[Value], related: &Related) -> Vec<String> {
    let mut reasons = Vec::new();
    for cause in items {
        let board = related.board(&text(cause, "/body"));
        let since = time(cause.get("since")).unwrap_or_default();
        let mut line = match cause.get("kind").and_then(Value::as_str) {
            Some("rahui") => {
                let dataset = text(cause, "/dataset");
                let mut line = format!(
                    "a rāhui on {} placed by {board} on {since}",
                    related.dataset(&dataset)
                );
                if let Some(until) = time(cause.get("until")) {
                    line.push_str(&format!(", until {until}"));
                }
                line
            }
            Some("motion") => format!(
                "{board} suspended the approval on {since} (motion {})",
                text(cause, "/motion")
            ),
            // A cause this CLI does not know yet: what it can say of it.
            other => format!(
                "suspended by {board} on {since} ({})",
                other.unwrap_or("no kind given")
            ),
        };
        if let Some(reason) = cause.get("reason").and_then(Value::as_str) {
            line.push_str(&format!(": {reason}"));
        }
        reasons.push(line);
    }
    reasons
}

/// Uses asked for beyond those a dataset lists as permitted, as the node
/// says in `unlisted_uses`: for the boards to weigh, not a refusal.
fn unlisted_uses(view: &Value, related: &Related, out: &mut String) {
    let items = array(view, "/unlisted_uses");
    if items.is_empty() {
        return;
    }
    out.push_str("uses beyond those a dataset lists as permitted (the boards decide):\n");
    let codes = |item: &Value, field: &str| -> String {
        array(item, &format!("/{field}"))
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    for item in items {
        let dataset = text(item, "/dataset");
        out.push_str(&format!(
            "  - {}: asks for {}; it lists {}\n",
            related.dataset(&dataset),
            codes(item, "asked"),
            codes(item, "permitted"),
        ));
    }
}

/// For a request that names no uses, the uses its datasets never allow,
/// as the node says in `unchecked_exclusions`: nothing was checked against
/// them, so the boards weigh the purpose against them.
fn unchecked_exclusions(view: &Value, related: &Related, out: &mut String) {
    let items = array(view, "/unchecked_exclusions");
    if items.is_empty() {
        return;
    }
    out.push_str(
        "uses asked for: none named, so none was checked against what its datasets never allow \
         (the boards weigh the purpose against it):\n",
    );
    for item in items {
        let excluded: Vec<&str> = array(item, "/excluded")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        out.push_str(&format!(
            "  - {} never allows {}\n",
            related.dataset(&text(item, "/dataset")),
            excluded.join(", ")
        ));
    }
}

/// One line per statement of a request's story; long texts are cut at a
/// word, and a last line says where to read them whole.
fn timeline(
    id: &str,
    view: &Value,
    pointer: &str,
    empty: &str,
    related: &Related,
    out: &mut String,
) {
    let items = array(view, pointer);
    if items.is_empty() {
        out.push_str(&format!("{empty}\n"));
        return;
    }
    out.push_str(&format!("{}:\n", pointer.trim_start_matches('/')));
    // What each vote is on: the request, or a renewal or motion on it.
    let kinds: BTreeMap<String, String> = items
        .iter()
        .map(|i| (text(i, "/id"), text(i, "/kind")))
        .collect();
    // Votes a later one by the same member, for the same board on the same
    // subject, replaced: only a member's latest vote counts.
    let mut latest: BTreeMap<(String, String, String), String> = BTreeMap::new();
    let mut replaced = std::collections::BTreeSet::new();
    for item in items.iter().filter(|i| {
        text(i, "/kind") == "vote"
            && matches!(
                i.pointer("/verdict/state").and_then(Value::as_str),
                Some("valid") | None
            )
    }) {
        let key = (
            text(item, "/author"),
            text(item, "/body/body"),
            text(item, "/body/subject"),
        );
        if let Some(earlier) = latest.insert(key, text(item, "/id")) {
            replaced.insert(earlier);
        }
    }
    let rows: Vec<(String, String, String, String, String)> = items
        .iter()
        .map(|item| {
            let at = time(item.get("pos")).unwrap_or_else(|| text(item, "/created_at"));
            let mut kind = text(item, "/kind");
            if kind == "vote" {
                match kinds.get(&text(item, "/body/subject")).map(String::as_str) {
                    Some("request.renew") => kind = "vote on renewal".into(),
                    Some("approval.motion") => kind = "vote on motion".into(),
                    _ => {}
                }
            }
            let who = related.person(&text(item, "/author"));
            let body = item.get("body");
            let field = |k: &str| body.and_then(|b| b.get(k)).filter(|v| !v.is_null());
            let mut parts = Vec::new();
            if let Some(c) = field("choice").and_then(Value::as_str) {
                parts.push(words::choice(c));
            }
            if let Some(a) = field("action") {
                parts.push(scalar(a));
            }
            if let Some(k) = field("kind").and_then(Value::as_str) {
                parts.push(format!("{} report", words::report_kind(k)));
            }
            // Which report or output a review is of.
            if let Some(o) = field("output").and_then(Value::as_str) {
                if let Some(o) = found(view, "/record/outputs", o) {
                    parts.push(format!("“{}”", text(o, "/title")));
                }
            }
            if let Some(r) = field("report").and_then(Value::as_str) {
                if let Some(r) = found(view, "/record/reports", r) {
                    parts.push(format!(
                        "the {} report of {}",
                        words::report_kind(&text(r, "/kind")),
                        time(r.get("filed")).unwrap_or_default()
                    ));
                }
            }
            // A review's verdict, in the pages' words.
            if let Some(accepted) = field("accepted").and_then(Value::as_bool) {
                parts.push(
                    if accepted {
                        "accepted"
                    } else {
                        "returned for more detail"
                    }
                    .into(),
                );
            }
            if let Some(release) = field("release").and_then(Value::as_bool) {
                parts.push(if release { "released" } else { "withheld" }.into());
            }
            for k in ["text", "reason", "summary", "title", "description"] {
                if let Some(v) = field(k) {
                    parts.push(scalar(v));
                }
            }
            let standing = match item.pointer("/verdict/state").and_then(Value::as_str) {
                _ if replaced.contains(&text(item, "/id")) => "  [replaced by a later vote]".into(),
                Some("valid") | None => String::new(),
                Some(other) => format!("  [{other}]"),
            };
            (at, kind, who, parts.join(" — "), standing)
        })
        .collect();
    let who_width = rows.iter().map(|r| r.2.chars().count()).max().unwrap_or(0);
    let mut cut_any = false;
    for (at, kind, who, detail, standing) in rows {
        let (detail, cut) = words::excerpt(&detail, TIMELINE_TEXT);
        cut_any |= cut;
        let pad = " ".repeat(who_width - who.chars().count());
        let line = format!("  {at}  {kind:<18} {who}{pad}  {detail}{standing}");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if cut_any {
        out.push_str(&format!(
            "(Texts cut short end in …; `kaitiaki show {id} --json` has them whole.)\n"
        ));
    }
}

/// A dataset: who holds it, the boards that govern it, what it may and may
/// never be used for, its labels, and its rāhui, in force and past.
pub fn dataset(view: &Value, related: &Related, out: &mut String) {
    let record = view.get("record").unwrap_or(&Value::Null);
    out.push_str(&format!("{}\n", text(record, "/name")));
    if record.get("valid").and_then(Value::as_bool) == Some(false) {
        out.push_str(
            "  its registration does not count under the governance rules (see standing above)\n",
        );
    }
    out.push_str(&format!("  held by:        {}\n", text(record, "/steward")));
    out.push_str(&format!(
        "  sensitivity:    {}\n",
        words::sensitivity(&text(record, "/sensitivity"))
    ));
    out.push_str("  governed by (every one must approve any access):\n");
    for b in array(record, "/governing_bodies")
        .iter()
        .filter_map(Value::as_str)
    {
        out.push_str(&format!("    {}  board {b}\n", related.board(b)));
    }
    let codes = |pointer: &str| -> Vec<String> {
        array(record, pointer)
            .iter()
            .filter_map(Value::as_str)
            .map(words::code)
            .collect()
    };
    let permitted = codes("/permitted_uses");
    if !permitted.is_empty() {
        out.push_str(&format!("  permitted uses: {}\n", permitted.join(", ")));
    }
    let excluded = codes("/excluded_uses");
    if !excluded.is_empty() {
        out.push_str(&format!(
            "  never allowed (a request for these is refused): {}\n",
            excluded.join(", ")
        ));
    }
    let labels: Vec<String> = array(record, "/labels")
        .iter()
        .map(|l| {
            let code = words::code(&text(l, "/code"));
            match l.get("text").and_then(Value::as_str) {
                Some(t) => format!("{code}: {t}"),
                None => code,
            }
        })
        .collect();
    if !labels.is_empty() {
        out.push_str("  labels:\n");
        for l in labels {
            out.push_str(&format!("    - {l}\n"));
        }
    }
    let rahui = array(record, "/rahui");
    if rahui.is_empty() {
        out.push_str("rāhui: none has been placed\n");
    } else {
        out.push_str("rāhui:\n");
    }
    for r in rahui {
        let id = text(r, "/id");
        out.push_str(&format!(
            "  placed {} by {}: {}\n    {}\n    rāhui {id}\n",
            time(r.get("placed")).unwrap_or_default(),
            related.board(&text(r, "/body")),
            text(r, "/reason"),
            rahui_now(view, &id)
        ));
    }
    out.push_str(&format!(
        "description:\n  {}\n",
        text(record, "/description")
    ));
    // Questions and concerns about it, with their answers and responses.
    timeline(
        &text(view, "/id"),
        view,
        "/thread",
        "thread: no question or concern about it yet",
        related,
        out,
    );
}

/// A concern: open or resolved, what it is about, who raised it, and each
/// board's response in its own words.
pub fn concern(view: &Value, related: &Related, out: &mut String) {
    let open = view.get("open").and_then(Value::as_bool);
    // Once a board has resolved it, name those it still waits for, as the
    // pages do: a concern stays open until every board resolves it.
    let resolved_by: Vec<String> = array(view, "/resolved_by").iter().map(scalar).collect();
    let waiting: Vec<String> = array(view, "/bodies")
        .iter()
        .map(scalar)
        .filter(|b| !resolved_by.contains(b))
        .map(|b| related.board(&b))
        .collect();
    out.push_str(&format!(
        "concern: {}\n",
        match open {
            Some(true) if !resolved_by.is_empty() && !waiting.is_empty() => {
                format!(
                    "open, waiting for {} to resolve it too",
                    waiting.join(" and ")
                )
            }
            Some(true) => "open".into(),
            Some(false) => "resolved".into(),
            None => "—".into(),
        }
    ));
    let subject = text(view, "/subject");
    let about = related.statements.get(&subject).map(|s| {
        let kind = s.get("kind").and_then(Value::as_str).unwrap_or("");
        let body = s.get("body").cloned().unwrap_or(Value::Null);
        let what = match kind {
            "request.submit" => "the request",
            "dataset.register" => "the dataset",
            other => other,
        };
        let name = body
            .get("title")
            .or_else(|| body.get("name"))
            .map(scalar)
            .unwrap_or_default();
        format!("{what} “{name}”")
    });
    match about {
        Some(about) => out.push_str(&format!("about: {about}\n  {subject}\n")),
        None => out.push_str(&format!("about: {subject}\n")),
    }
    out.push_str(&format!(
        "raised by: {} on {}\n",
        related.person(&text(view, "/raised_by")),
        time(view.get("raised")).unwrap_or_default()
    ));
    let boards: Vec<String> = array(view, "/bodies")
        .iter()
        .map(|b| related.board(&scalar(b)))
        .collect();
    if !boards.is_empty() {
        out.push_str(&format!("boards that may respond: {}\n", boards.join(", ")));
    }
    let responses = array(view, "/responses");
    if responses.is_empty() {
        out.push_str("responses: none yet\n");
        return;
    }
    out.push_str("responses:\n");
    for r in responses {
        let id = text(r, "/id");
        let closed = if r.get("resolved").and_then(Value::as_bool) == Some(true) {
            ", who consider it resolved"
        } else {
            ""
        };
        out.push_str(&format!(
            "  {} — {}{closed}:\n",
            time(r.get("at")).unwrap_or_default(),
            related.board(&text(r, "/body"))
        ));
        let words = related
            .statements
            .get(&id)
            .and_then(|s| s.pointer("/body/text"))
            .map(scalar);
        match words {
            Some(t) => out.push_str(&format!("    {t}\n")),
            None => out.push_str(&format!("    (the node did not serve the response {id})\n")),
        }
    }
}

/// A governance body: the charter in force now (name, members, rule,
/// notice period), then how it came to be, founding and amendments.
pub fn body(view: &Value, related: &Related, out: &mut String) {
    let versions = array(view, "/versions");
    let Some(now) = versions.last() else {
        out.push_str("as the node sees it now:\n");
        crate::show::yamlish(view, 1, out);
        return;
    };
    out.push_str(&format!("{}\n", text(view, "/record/name")));
    let since = time(now.get("since")).unwrap_or_default();
    match now.get("amendment").and_then(Value::as_str) {
        Some(a) => out.push_str(&format!(
            "charter in force since {since}, as amended by {a}:\n"
        )),
        None => out.push_str(&format!("charter in force since {since}, as founded:\n")),
    }
    let members = array(now, "/members");
    out.push_str(&format!(
        "  home log:       {}\n",
        text(view, "/record/home_log")
    ));
    out.push_str(&format!(
        "  decides by:     {} ({} members)\n",
        now.get("rule").map(words::rule).unwrap_or_default(),
        members.len()
    ));
    out.push_str(&format!("  notice period:  {}\n", notice(now)));
    out.push_str("  members:\n");
    let rows: Vec<Vec<String>> = members
        .iter()
        .map(|m| {
            let key = text(m, "/key");
            vec![
                format!("    {}", text(m, "/role")),
                related
                    .people
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| "—".into()),
                key,
            ]
        })
        .collect();
    output::table(&rows, out);
    out.push_str(&format!(
        "  description:    {}\n",
        text(now, "/description")
    ));

    out.push_str("history:\n");
    let mut before: Option<&Value> = None;
    for v in versions {
        let at = time(v.get("since")).unwrap_or_default();
        match (before, v.get("amendment").and_then(Value::as_str)) {
            (Some(b), Some(amendment)) => out.push_str(&format!(
                "  {at}  amended by {amendment}: {}\n",
                changes(b, v, related)
            )),
            _ => out.push_str(&format!(
                "  {at}  founded: {} members, decides by {}, notice period: {}\n",
                array(v, "/members").len(),
                v.get("rule").map(words::rule).unwrap_or_default(),
                notice(v)
            )),
        }
        before = Some(v);
    }
    for a in array(view, "/record/amendments") {
        let decided = a.get("decision").filter(|d| d.is_object());
        let outcome = decided.map(|d| text(d, "/outcome"));
        if outcome.as_deref() == Some("approved") {
            continue; // a version above
        }
        let state = match decided {
            Some(d) => format!(
                "{} on {}",
                words::status(&text(d, "/outcome")).to_lowercase(),
                time(d.get("at")).unwrap_or_default()
            ),
            None => format!("being decided{}", tally(a.get("tally"))),
        };
        out.push_str(&format!(
            "  {}  amendment {} proposed: {state}\n",
            time(a.get("proposed")).unwrap_or_default(),
            text(a, "/id")
        ));
    }
}

fn notice(version: &Value) -> String {
    match version.get("notice_days").and_then(Value::as_u64) {
        Some(0) | None => "none".into(),
        Some(1) => "1 day".into(),
        Some(n) => format!("{n} days"),
    }
}

/// What an amendment changed, from one charter version to the next.
fn changes(before: &Value, after: &Value, related: &Related) -> String {
    let keys = |v: &Value| -> Vec<(String, String)> {
        array(v, "/members")
            .iter()
            .map(|m| (text(m, "/key"), text(m, "/role")))
            .collect()
    };
    let (old, new) = (keys(before), keys(after));
    let mut said = Vec::new();
    for (k, role) in new.iter().filter(|m| !old.contains(m)) {
        said.push(format!("added {role} {}", related.person(k)));
    }
    for (k, role) in old.iter().filter(|m| !new.contains(m)) {
        said.push(format!("removed {role} {}", related.person(k)));
    }
    if before.get("rule") != after.get("rule") {
        said.push(format!(
            "decides by {} (was {})",
            after.get("rule").map(words::rule).unwrap_or_default(),
            before.get("rule").map(words::rule).unwrap_or_default()
        ));
    }
    if before.get("notice_days") != after.get("notice_days") {
        said.push(format!(
            "notice period {} (was {})",
            notice(after),
            notice(before)
        ));
    }
    if before.get("description") != after.get("description") {
        said.push("new description".into());
    }
    if said.is_empty() {
        "no change to the charter".into()
    } else {
        said.join("; ")
    }
}

/// What a statement with no view of its own (a vote, a renewal, a motion,
/// an amendment, a report…) is part of, and, for those that decide or ask
/// something, what it says in words and what came of it. `id` is the
/// statement's, `kind` its kind, `author` its signer and `says` its body.
pub fn part_of(
    id: &str,
    kind: &str,
    author: &str,
    says: &Value,
    related: &Related,
    out: &mut String,
) {
    let Some((owner_type, owner_id, view)) = &related.owner else {
        return;
    };
    let name = match owner_type.as_str() {
        "request" => format!("the request “{}”", text(view, "/record/title")),
        "body" => format!("the board {}", text(view, "/record/name")),
        "dataset" => format!("the dataset {}", text(view, "/record/name")),
        "concern" => "a concern".to_owned(),
        other => format!("a {other}"),
    };
    out.push_str(&format!("part of {name}\n  kaitiaki show {owner_id}\n"));
    let who = related.person(author);
    let board = |pointer: &str| related.board(&text(says, pointer));
    let mut lines = Vec::new();
    match kind {
        "vote" => {
            let subject = text(says, "/subject");
            let on = match related.statements.get(&subject) {
                Some(s) => match s.get("kind").and_then(Value::as_str) {
                    Some("request.renew") => format!(
                        "on the renewal asking for {} more days",
                        text(s, "/body/extra_days")
                    ),
                    Some("approval.motion") => {
                        format!("on the motion to {} the approval", text(s, "/body/action"))
                    }
                    Some("body.amend") => "on a change to its charter".to_owned(),
                    _ => format!("on {subject}"),
                },
                None if subject == *owner_id => match owner_type.as_str() {
                    "request" => "on the request".to_owned(),
                    _ => format!("on {name}"),
                },
                None => format!("on {subject}"),
            };
            let choice = text(says, "/choice");
            lines.push(format!(
                "{who} voted {} for {}, {on}.",
                words::choice(&choice),
                board("/body")
            ));
            for c in array(says, "/conditions") {
                lines.push(format!("  condition: {}", words::condition(c)));
            }
            lines.extend(vote_outcome(id, says, related));
        }
        "request.renew" => {
            lines.push(format!(
                "{who} asked for {} more days of access.",
                text(says, "/extra_days")
            ));
            let renewal = array(view, "/record/approval/renewals")
                .iter()
                .find(|r| r.get("id").and_then(Value::as_str) == Some(id));
            lines.push(
                match renewal
                    .and_then(|r| r.get("outcome"))
                    .and_then(Value::as_str)
                {
                    Some("approved") => format!(
                        "Every board approved the renewal{}.",
                        renewal.map(|r| fewer_days(view, r)).unwrap_or_default()
                    ),
                    Some("declined") => "A board declined the renewal.".to_owned(),
                    _ => "The boards have not decided the renewal yet.".to_owned(),
                },
            );
        }
        "approval.motion" => {
            let action = text(says, "/action");
            lines.push(format!(
                "{who} proposed that {} {action} the approval.",
                board("/body")
            ));
            let approval = view.pointer("/record/approval").unwrap_or(&Value::Null);
            let motion = array(approval, "/motions")
                .iter()
                .find(|m| text(m, "/id") == id);
            lines.push(match decided_here(view, "/record/approval/motions", id) {
                Some(("approved", at)) => format!(
                    "The board carried the motion on {at}{}.",
                    motion.map(|m| no_change(view, m)).unwrap_or_default()
                ),
                Some((_, at)) => format!("The board rejected the motion on {at}."),
                None => "The board has not decided the motion yet.".to_owned(),
            });
        }
        "body.amend" => {
            lines.push(format!("{who} proposed a change to the board's charter:"));
            for m in array(says, "/add_members") {
                lines.push(format!(
                    "  adds {} as {}",
                    related.person(&text(m, "/key")),
                    text(m, "/role")
                ));
            }
            for k in array(says, "/remove_members") {
                lines.push(format!("  removes {}", related.person(&scalar(k))));
            }
            if let Some(rule) = says.get("rule").filter(|r| !r.is_null()) {
                lines.push(format!("  a new rule: {}", words::rule(rule)));
            }
            if let Some(days) = says.get("notice_days").and_then(Value::as_u64) {
                lines.push(format!(
                    "  {}",
                    kaitiaki_node::pages::body::notice_words(days.try_into().unwrap_or(u32::MAX))
                ));
            }
            if says.get("description").is_some_and(|d| !d.is_null()) {
                lines.push("  a new description of the board".to_owned());
            }
            lines.push(match decided_here(view, "/record/amendments", id) {
                Some((outcome, at)) => {
                    format!("The board decided it on {at}: {}.", words::status(outcome))
                }
                None => "The board has not decided it yet.".to_owned(),
            });
        }
        "request.question" => {
            lines.push(format!(
                "{who} asked the requester: “{}”",
                text(says, "/text")
            ));
            // Only an answer that counts (the requester's): an excluded one
            // is in the timeline too, marked.
            let answer = array(view, "/timeline").iter().find(|i| {
                text(i, "/kind") == "request.answer"
                    && text(i, "/body/question") == id
                    && matches!(
                        i.pointer("/verdict/state").and_then(Value::as_str),
                        Some("valid") | None
                    )
            });
            lines.push(match answer {
                Some(a) => format!(
                    "The requester answered on {}: “{}”",
                    time(a.get("pos")).unwrap_or_else(|| text(a, "/created_at")),
                    text(a, "/body/text")
                ),
                None => "The requester has not answered it yet.".to_owned(),
            });
        }
        "request.answer" => {
            let question = text(says, "/question");
            let asked = array(view, "/timeline")
                .iter()
                .find(|i| text(i, "/id") == question);
            lines.push(match asked {
                Some(q) => format!("{who} answered the question “{}”.", text(q, "/body/text")),
                None => format!("{who} answered the question {}.", short(&question)),
            });
        }
        "rahui.place" => {
            lines.push(format!(
                "{who} placed a rāhui on the dataset for {}.",
                board("/body")
            ));
            lines.push(rahui_now(view, id));
        }
        "rahui.lift" => {
            let rahui = text(says, "/rahui");
            lines.push(format!("{who} lifted the rāhui {}.", short(&rahui)));
            lines.push(rahui_now(view, &rahui));
        }
        "report.file" => {
            lines.push(format!(
                "{who} filed a {} report.",
                words::report_kind(&text(says, "/kind"))
            ));
            lines.extend(report_now(view, id));
        }
        "report.review" => {
            let report = text(says, "/report");
            let accepted = says.get("accepted").and_then(Value::as_bool) == Some(true);
            let which = found(view, "/record/reports", &report)
                .map(|r| {
                    format!(
                        "the {} report filed on {}",
                        words::report_kind(&text(r, "/kind")),
                        time(r.get("filed")).unwrap_or_default()
                    )
                })
                .unwrap_or_else(|| format!("the report {}", short(&report)));
            lines.push(if accepted {
                format!("{who} accepted {which}, for {}.", board("/body"))
            } else {
                format!(
                    "{who} returned {which} for more detail, for {}.",
                    board("/body")
                )
            });
            lines.extend(report_now(view, &report));
        }
        "output.submit" => {
            lines.push(format!(
                "{who} submitted the output “{}”.",
                text(says, "/title")
            ));
            lines.extend(output_now(view, id));
        }
        "output.review" => {
            let output = text(says, "/output");
            let verdict = match says.get("release").and_then(Value::as_bool) {
                Some(true) => "released",
                _ => "withheld",
            };
            let which = found(view, "/record/outputs", &output)
                .map(|o| format!("the output “{}”", text(o, "/title")))
                .unwrap_or_else(|| format!("the output {}", short(&output)));
            lines.push(format!("{who} {verdict} {which}, for {}.", board("/body")));
            lines.extend(output_now(view, &output));
        }
        _ => {}
    }
    if !lines.is_empty() {
        out.push_str("in words:\n");
        for l in lines {
            out.push_str(&format!("  {l}\n"));
        }
    }
}

/// What became of what the vote `id` (saying `says`) was cast on: this
/// vote decided it, another did, or it is not decided yet; `None` when
/// the node's view of what it is part of is not known here.
pub fn vote_outcome(id: &str, says: &Value, related: &Related) -> Option<String> {
    let (_, owner_id, view) = related.owner.as_ref()?;
    let subject = text(says, "/subject");
    let board = |pointer: &str| related.board(&text(says, pointer));
    let subject_kind = related
        .statements
        .get(&subject)
        .and_then(|s| s.get("kind"))
        .and_then(Value::as_str);
    let voted_for = text(says, "/body");
    // Where the decision of `what` sits in the owner's view.
    let decision = match subject_kind {
        Some("request.renew") => array(view, "/record/approval/renewals")
            .iter()
            .find(|r| text(r, "/id") == subject)
            .map(|r| array(r, "/decisions"))
            .and_then(|ds| ds.iter().find(|d| text(d, "/body") == voted_for))
            .and_then(|d| d.get("decision")),
        Some("approval.motion") => array(view, "/record/approval/motions")
            .iter()
            .find(|m| text(m, "/id") == subject)
            .and_then(|m| m.get("decision")),
        Some("body.amend") => array(view, "/record/amendments")
            .iter()
            .find(|a| text(a, "/id") == subject)
            .and_then(|a| a.get("decision")),
        _ => array(view, "/record/decisions")
            .iter()
            .find(|d| text(d, "/body") == voted_for)
            .and_then(|d| d.get("decision")),
    }
    .filter(|d| d.is_object());
    let by = board("/body");
    // A subject that is neither the owner nor a statement this
    // command could fetch: what it decided is not known here.
    let known = subject == *owner_id || subject_kind.is_some();
    known.then(|| match decision {
        Some(d) => {
            let outcome = text(d, "/outcome");
            let word = match (subject_kind, outcome.as_str()) {
                (Some("approval.motion"), "approved") => "carried".to_owned(),
                (Some("approval.motion"), "declined") => "rejected".to_owned(),
                (_, o) => words::status(o),
            };
            let this = text(d, "/vote") == id;
            match (subject_kind, this) {
                (Some("approval.motion"), true) => {
                    format!("With this vote, the motion was {word}.")
                }
                (Some("approval.motion"), false) => {
                    format!("Another vote decided the motion: {word}.")
                }
                (Some("body.amend"), true) => {
                    format!("With this vote, the board decided the change: {word}.")
                }
                (Some("body.amend"), false) => {
                    format!("Another vote decided the change: {word}.")
                }
                (Some("request.renew"), true) => {
                    format!("With this vote, {by} reached its answer to the renewal: {word}.")
                }
                (Some("request.renew"), false) => {
                    format!("Another vote reached {by}'s answer to the renewal: {word}.")
                }
                (_, true) => format!("With this vote, {by} reached its answer: {word}."),
                (_, false) => format!("Another vote reached {by}'s answer: {word}."),
            }
        }
        None => match subject_kind {
            Some("approval.motion") => "The motion is not decided yet.".to_owned(),
            Some("body.amend") => "The change is not decided yet.".to_owned(),
            Some("request.renew") => format!("{by} has not answered the renewal yet."),
            _ => format!("{by} has not answered yet."),
        },
    })
}

/// The item with id `id` in the list at `pointer` of `view`.
fn found<'v>(view: &'v Value, pointer: &str, id: &str) -> Option<&'v Value> {
    array(view, pointer).iter().find(|x| text(x, "/id") == id)
}

/// The first eight digits of an id, as the pages show it.
fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// Where the rāhui `id` of a dataset's `view` stands now.
fn rahui_now(view: &Value, id: &str) -> String {
    let Some(r) = found(view, "/record/rahui", id) else {
        return "The dataset does not list it.".to_owned();
    };
    let until = time(r.get("until"));
    if let Some(lifted) = r.get("lifted").filter(|l| l.is_object()) {
        return format!(
            "It was lifted on {}: {}",
            time(lifted.get("at")).unwrap_or_default(),
            text(lifted, "/reason")
        );
    }
    let in_force = array(view, "/rahui_in_force")
        .iter()
        .any(|x| text(x, "/id") == id);
    match (in_force, until) {
        (true, Some(u)) => format!("It is in force until {u}, unless lifted before."),
        (true, None) => "It is in force until its board lifts it.".to_owned(),
        (false, Some(u)) => format!("It ended on {u}, the end its board set."),
        (false, None) => "It is not in force.".to_owned(),
    }
}

/// Where the report `id` of a request's `view` stands now.
fn report_now(view: &Value, id: &str) -> Option<String> {
    let r = found(view, "/record/reports", id)?;
    Some(
        match r.get("status").and_then(Value::as_str) {
            Some("accepted") => "Every board has accepted the report.",
            Some("returned") => {
                "A board returned the report for more detail; it does not count until filed again."
            }
            _ => "The report waits for every board's review.",
        }
        .to_owned(),
    )
}

/// Where the output `id` of a request's `view` stands now.
fn output_now(view: &Value, id: &str) -> Option<String> {
    let o = found(view, "/record/outputs", id)?;
    Some(
        match o.get("status").and_then(Value::as_str) {
            Some("released") => "The output is released.",
            Some("withheld") => "A board has withheld the output.",
            _ => "The output waits for the boards' review before it is released.",
        }
        .to_owned(),
    )
}

/// The decision of the item with id `id` in the list at `pointer` of
/// `view`: its outcome and when.
fn decided_here<'v>(view: &'v Value, pointer: &str, id: &str) -> Option<(&'v str, String)> {
    let item = array(view, pointer)
        .iter()
        .find(|x| x.get("id").and_then(Value::as_str) == Some(id))?;
    let d = item.get("decision").filter(|d| d.is_object())?;
    Some((
        d.get("outcome").and_then(Value::as_str)?,
        time(d.get("at")).unwrap_or_default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pos(at: &str) -> Value {
        json!({"at": at, "index": 1, "log": "iwi.example"})
    }

    fn board_names() -> Related {
        let mut r = Related::default();
        r.boards.insert("b1".repeat(32), "Te Poari".into());
        r.boards.insert("b2".repeat(32), "Pacific Board".into());
        r
    }

    #[test]
    fn a_request_says_when_it_was_withdrawn_revoked_or_completed() {
        let ended = |at: &str| json!({"at": pos(at), "by": "c1".repeat(32)});
        let undecided = json!({"body": "b1".repeat(32), "notice_until": null,
            "tally": {"approve": 0, "decline": 0, "abstain": 0, "not_voted": 3},
            "decision": null});
        let mut out = String::new();
        let view = json!({"status": "withdrawn", "record": {
            "decisions": [undecided], "withdrawn": ended("2026-12-06T01:02:03Z"),
            "approval": null}});
        request("a1", &view, &board_names(), &mut out);
        assert!(
            out.contains("withdrawn: 2026-12-06T01:02:03Z\n")
                && out.contains("Te Poari: not decided: the request was withdrawn")
                && !out.contains("not decided yet"),
            "{out}"
        );
        for (end, status) in [("revoked", "revoked"), ("completed", "completed")] {
            let mut approval = json!({"conditions": [], "expires_at": "2027-12-06T00:00:00Z",
                "revoked": null, "completed": null, "suspensions": [], "renewals": [],
                "motions": []});
            approval[end] = ended("2026-12-07T04:05:06Z");
            let view = json!({"status": status, "record": {"decisions": [],
                "withdrawn": null, "approval": approval}});
            let mut out = String::new();
            request("a1", &view, &board_names(), &mut out);
            assert!(
                out.contains(&format!("{end}: 2026-12-07T04:05:06Z\n")),
                "{out}"
            );
        }
    }

    #[test]
    fn a_request_the_rules_left_out_has_no_status_line() {
        let mut out = String::new();
        request(
            "a1",
            &json!({"status": null, "record": null}),
            &board_names(),
            &mut out,
        );
        assert!(!out.contains("status:"), "{out}");
        let mut out = String::new();
        request(
            "a1",
            &json!({"status": "approved"}),
            &board_names(),
            &mut out,
        );
        assert!(out.starts_with("status: "), "{out}");
    }

    #[test]
    fn renewals_and_motions_say_what_came_of_them_and_votes_say_what_they_are_on() {
        let (renewal, motion) = ("e1".repeat(32), "f1".repeat(32));
        let view = json!({
            "status": "approved",
            // What the node derives: the days the first renewal added, and
            // the reinstatement that changed nothing.
            "renewals_granted": [{"renewal": renewal, "days": 90}],
            "motions_without_effect": ["f3".repeat(32)],
            "record": {
                "approval": {
                    "conditions": [], "expires_at": "2028-05-26T00:00:00Z",
                    "suspensions": [], "revoked": null,
                    "renewals": [
                        {"id": renewal, "filed": pos("2026-12-01T00:00:00Z"), "extra_days": 365,
                         "decisions": [{"body": "b2".repeat(32), "decision": {"outcome": "approved",
                             "conditions": [{"type": "expires_after_days", "days": 90}]}}],
                         "outcome": "approved"},
                        {"id": "e2".repeat(32), "filed": pos("2026-12-03T00:00:00Z"), "extra_days": 30,
                         "decisions": [], "outcome": "declined"},
                        {"id": "e3".repeat(32), "filed": pos("2026-12-04T00:00:00Z"), "extra_days": 20,
                         "decisions": [{"body": "b1".repeat(32), "tally": {"approve": 1, "decline": 0, "abstain": 0, "not_voted": 2}}],
                         "outcome": null}
                    ],
                    "motions": [
                        {"id": motion, "body": "b2".repeat(32), "action": "suspend",
                         "proposed": pos("2026-12-02T00:00:00Z"),
                         "tally": {"approve": 1, "decline": 0, "abstain": 0, "not_voted": 5},
                         "decision": null},
                        {"id": "f2".repeat(32), "body": "b1".repeat(32), "action": "revoke",
                         "proposed": pos("2026-12-02T00:00:00Z"), "tally": {},
                         "decision": {"outcome": "declined", "at": pos("2026-12-05T00:00:00Z")}},
                        {"id": "f3".repeat(32), "body": "b1".repeat(32), "action": "reinstate",
                         "proposed": pos("2026-12-02T00:00:00Z"), "tally": {},
                         "decision": {"outcome": "approved", "at": pos("2026-12-06T00:00:00Z")}},
                        {"id": "f4".repeat(32), "body": "b1".repeat(32), "action": "revoke",
                         "proposed": pos("2026-12-07T00:00:00Z"),
                         "tally": {"approve": 0, "decline": 0, "abstain": 0, "not_voted": 0},
                         "decision": null}
                    ]
                },
                "decisions": []
            },
            "overdue": [],
            "timeline": [
                {"id": renewal, "kind": "request.renew", "author": "aa".repeat(32), "pos": pos("2026-12-01T00:00:00Z"),
                 "body": {"request": "44".repeat(32), "extra_days": 365, "reason": "More time."}},
                {"id": "v1".repeat(32), "kind": "vote", "author": "bb".repeat(32), "pos": pos("2026-12-01T01:00:00Z"),
                 "body": {"subject": renewal, "body": "b1".repeat(32), "choice": "approve", "reason": "Yes."}},
                {"id": motion, "kind": "approval.motion", "author": "bb".repeat(32), "pos": pos("2026-12-02T00:00:00Z"),
                 "body": {"request": "44".repeat(32), "body": "b2".repeat(32), "action": "suspend", "reason": "A breach."}},
                {"id": "v2".repeat(32), "kind": "vote", "author": "bb".repeat(32), "pos": pos("2026-12-02T01:00:00Z"),
                 "body": {"subject": motion, "body": "b2".repeat(32), "choice": "approve", "reason": "Agreed."}}
            ]
        });
        let mut out = String::new();
        request(&"44".repeat(32), &view, &board_names(), &mut out);
        for want in [
            "renewals:\n  365 more days asked on 2026-12-01T00:00:00Z: approved by every board, for 90 more days\n",
            &format!("    renewal {renewal}\n"),
            "  30 more days asked on 2026-12-03T00:00:00Z: declined\n",
            "  20 more days asked on 2026-12-04T00:00:00Z: not decided yet\n",
            "    Te Poari (1 approve, 0 decline, 0 abstain, 2 not voted)\n",
            "motions on the approval:\n  Pacific Board to suspend the approval: not decided yet",
            &format!("    motion {motion}\n"),
            "  Te Poari to revoke the approval: rejected on 2026-12-05T00:00:00Z\n",
            "  Te Poari to reinstate the approval: carried on 2026-12-06T00:00:00Z, but it changed \
             nothing (the board had not suspended the approval, and a board lifts only its own \
             suspension)\n",
            "  Te Poari to revoke the approval: not decided yet (no votes yet)\n",
            "vote on renewal",
            "vote on motion",
        ] {
            assert!(out.contains(want), "{want:?} is not in:\n{out}");
        }
    }

    #[test]
    fn an_approved_request_says_its_conditions_and_when_access_ends() {
        let view = json!({
            "status": "approved",
            "record": {
                "approval": {
                    // The union of the boards' conditions and a renewal's.
                    "conditions": [{"type": "report_every", "months": 6}, {"type": "no_linkage", "with": "Justice records"},
                                   {"type": "expires_after_days", "days": 100}],
                    "expires_at": "2027-12-06T00:00:00Z",
                    "suspensions": [], "revoked": null,
                    "renewals": [{"id": "e1".repeat(32), "filed": pos("2027-06-01T00:00:00Z"), "extra_days": 200,
                        "outcome": "approved", "decisions": [{"body": "b1".repeat(32), "notice_until": null,
                        "tally": {"approve": 2, "decline": 0, "abstain": 0, "not_voted": 1},
                        "decision": {"outcome": "approved", "at": pos("2027-06-02T00:00:00Z"),
                            "conditions": [{"type": "expires_after_days", "days": 100}]}}]}]
                },
                "decisions": [
                    {"body": "b1".repeat(32), "decision": {"outcome": "approved", "at": pos("2026-12-06T00:00:00Z"),
                        "conditions": [{"type": "no_linkage", "with": "Justice records"}, {"type": "report_every", "months": 6}]},
                     "notice_until": null, "tally": {"approve": 2, "decline": 0, "abstain": 0, "not_voted": 1}}
                ]
            },
            "next_report": {"kind": "periodic", "due": "2027-06-06T00:00:00Z"},
            "overdue": [],
            "timeline": []
        });
        let mut out = String::new();
        request("r", &view, &board_names(), &mut out);
        assert!(out.contains("status: Approved\n"), "{out}");
        assert!(
            out.contains("access ends: 2027-12-06T00:00:00Z, unless renewed"),
            "{out}"
        );
        assert!(
            out.contains("  - Report back every 6 months on how the data is used.\n"),
            "{out}"
        );
        assert!(
            out.contains("  - Do not link this data with: Justice records.\n"),
            "{out}"
        );
        assert!(
            out.contains("next report due: 2027-06-06T00:00:00Z (regular report)"),
            "{out}"
        );
        // A renewal's cap on the days it adds is the renewal's, not the
        // approval's.
        let (approval, renewals) = out.split_once("renewals:\n").unwrap();
        assert!(!approval.contains("100 days"), "{out}");
        assert!(
            renewals.contains(
                "    on condition: At most 100 days of access (for a renewal, at most 100 more days).\n"
            ),
            "{out}"
        );
        assert!(
            out.contains("  Te Poari: Approved on 2026-12-06T00:00:00Z (2 approve"),
            "{out}"
        );
        assert!(
            out.contains(&format!("    board {}\n", "b1".repeat(32))),
            "{out}"
        );
        // With a report overdue, the next due date is said to come after it.
        let mut late = view.clone();
        late["overdue"] = json!([{"kind": "periodic", "due": "2026-11-08T00:00:00Z"}]);
        let mut out = String::new();
        request("r", &late, &board_names(), &mut out);
        assert!(
            out.contains("reports overdue: 1\n  - regular report, due 2026-11-08T00:00:00Z\nthen the next report due: 2027-06-06T00:00:00Z"),
            "{out}"
        );
        // No statement after the request itself: said in words, not as an
        // empty heading.
        assert!(
            out.ends_with("timeline: nothing has happened since it was asked\n"),
            "{out}"
        );
    }

    #[test]
    fn uses_beyond_a_datasets_permitted_ones_are_named_with_the_dataset() {
        let view = json!({
            "status": "under_review",
            "record": {"approval": null, "decisions": []},
            "overdue": [], "next_report": null, "timeline": [],
            "unlisted_uses": [{
                "dataset": "d1".repeat(32),
                "permitted": ["DUO:0000042", "DUO:0000006"],
                "asked": ["DUO:0000007"],
            }],
        });
        let mut related = board_names();
        related
            .datasets
            .insert("d1".repeat(32), "Whānau wellbeing".into());
        let mut out = String::new();
        request("r", &view, &related, &mut out);
        assert!(
            out.contains(
                "uses beyond those a dataset lists as permitted (the boards decide):\n  - Whānau \
                 wellbeing: asks for DUO:0000007; it lists DUO:0000042, DUO:0000006\n"
            ),
            "{out}"
        );
        let mut quiet = view.clone();
        quiet["unlisted_uses"] = json!([]);
        let mut out = String::new();
        request("r", &quiet, &related, &mut out);
        assert!(!out.contains("permitted"), "{out}");
    }

    #[test]
    fn a_request_naming_no_uses_lists_what_its_datasets_never_allow() {
        let view = json!({
            "status": "submitted",
            "record": {"approval": null, "decisions": []},
            "overdue": [], "next_report": null, "timeline": [],
            "unchecked_exclusions": [{"dataset": "d1".repeat(32), "excluded": ["custom:commercial-use", "custom:insurance-risk-scoring"]}],
        });
        let mut related = board_names();
        related
            .datasets
            .insert("d1".repeat(32), "Housing records".into());
        let mut out = String::new();
        request("r", &view, &related, &mut out);
        assert!(
            out.contains(
                "uses asked for: none named, so none was checked against what its datasets never \
                 allow (the boards weigh the purpose against it):\n  - Housing records never allows \
                 custom:commercial-use, custom:insurance-risk-scoring\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn a_request_in_its_notice_period_says_until_when() {
        let view = json!({
            "status": "under_review",
            "record": {"approval": null, "decisions": [
                {"body": "b1".repeat(32), "decision": null, "notice_until": "2026-12-20T00:00:00Z",
                 "tally": {"approve": 0, "decline": 0, "abstain": 0, "not_voted": 3}},
                {"body": "b2".repeat(32), "decision": {"outcome": "approved", "at": pos("2026-12-06T00:00:00Z"),
                 "conditions": [{"type": "findings_returned"}]}, "notice_until": null, "tally": null}
            ]},
            "timeline": []
        });
        let mut out = String::new();
        request("r", &view, &board_names(), &mut out);
        assert!(out.contains("status: Being decided\n"), "{out}");
        assert!(
            out.contains(
                "Te Poari: not decided yet; open for community comment until 2026-12-20T00:00:00Z"
            ),
            "{out}"
        );
        assert!(
            out.contains("    on condition: Return the findings to the community.\n"),
            "{out}"
        );
    }

    #[test]
    fn a_suspended_request_says_why() {
        let motion = "m1".repeat(32);
        let dataset = "d1".repeat(32);
        let view = json!({
            "status": "suspended",
            "record": {
                "approval": {"conditions": [], "expires_at": null, "revoked": null,
                    "suspensions": [{"body": "b2".repeat(32), "motion": motion, "from": pos("2026-12-07T00:00:00Z"), "until": null}]},
                "decisions": []
            },
            "timeline": [{"id": motion, "kind": "approval.motion", "author": "aa".repeat(32),
                "pos": pos("2026-12-07T00:00:00Z"), "body": {"action": "suspend", "reason": "A breach was reported."}}],
            "suspended_by": [
                {"kind": "rahui", "rahui": "r1".repeat(32), "dataset": dataset, "body": "b1".repeat(32),
                 "reason": "A hui asked for a pause.", "since": pos("2026-12-06T00:00:00Z"), "until": null},
                {"kind": "motion", "motion": motion, "body": "b2".repeat(32),
                 "reason": "A breach was reported.", "since": pos("2026-12-07T00:00:00Z")}
            ]
        });
        let mut related = board_names();
        related.datasets.insert(dataset, "Housing records".into());
        let mut out = String::new();
        request("r", &view, &related, &mut out);
        assert!(out.contains("status: Suspended\n"), "{out}");
        assert!(
            out.contains("  - a rāhui on Housing records placed by Te Poari on 2026-12-06T00:00:00Z: A hui asked for a pause.\n"),
            "{out}"
        );
        assert!(
            out.contains(&format!("  - Pacific Board suspended the approval on 2026-12-07T00:00:00Z (motion {motion}): A breach was reported.\n")),
            "{out}"
        );
        assert!(!out.contains("votes paused"), "{out}");
    }

    #[test]
    fn a_request_awaiting_votes_under_a_rahui_says_no_board_can_vote() {
        let dataset = "d1".repeat(32);
        let view = json!({
            "status": "submitted",
            "record": {"approval": null, "decisions": []},
            "timeline": [],
            "suspended_by": [],
            "votes_paused_by": [
                {"kind": "rahui", "rahui": "r1".repeat(32), "dataset": dataset, "body": "b1".repeat(32),
                 "reason": "A hui asked for a pause.", "since": pos("2026-12-06T00:00:00Z"),
                 "until": "2027-01-06T00:00:00Z"}
            ]
        });
        let mut related = board_names();
        related.datasets.insert(dataset, "Housing records".into());
        let mut out = String::new();
        request("r", &view, &related, &mut out);
        assert!(
            out.contains(
                "votes paused (no board can vote until each ends or is lifted):\n  - a rāhui on \
                 Housing records placed by Te Poari on 2026-12-06T00:00:00Z, until \
                 2027-01-06T00:00:00Z: A hui asked for a pause.\n"
            ),
            "{out}"
        );
        assert!(!out.contains("suspended because"), "{out}");
    }

    #[test]
    fn the_timeline_cuts_at_a_word_and_says_where_the_whole_text_is() {
        let long = "The approval suppresses any count under six and the board reviews outputs before anyone outside the lab sees them.";
        let view = json!({
            "status": "approved", "record": {"approval": null, "decisions": [],
                "outputs": [{"id": "e2".repeat(32), "title": "Tables by region", "status": "withheld"}]},
            "timeline": [{"kind": "concern.respond", "author": "aa".repeat(32), "pos": pos("2026-12-06T00:00:00Z"),
                "body": {"text": long}}, {"kind": "vote", "author": "bb".repeat(32), "pos": pos("2026-12-06T00:00:01Z"),
                "body": {"choice": "approve_with_conditions", "reason": "Sound."}},
                {"kind": "output.review", "author": "bb".repeat(32), "pos": pos("2026-12-06T00:00:02Z"),
                "body": {"output": "e2".repeat(32), "release": false, "reason": "Small counts."}}]
        });
        let mut related = Related::default();
        related.people.insert("aa".repeat(32), "Hine".into());
        let mut out = String::new();
        request("r1", &view, &related, &mut out);
        assert!(
            out.contains("Hine           The approval suppresses any count under six and the board reviews outputs before anyone…\n"),
            "{out}"
        );
        assert!(out.contains("Approve with conditions — Sound."), "{out}");
        // A review names what it reviewed.
        assert!(
            out.contains("“Tables by region” — withheld — Small counts."),
            "{out}"
        );
        assert!(
            out.contains("`kaitiaki show r1 --json` has them whole"),
            "{out}"
        );
    }

    #[test]
    fn a_concern_shows_each_response_with_its_board_and_time() {
        let subject = "5a".repeat(32);
        let response = "7e".repeat(32);
        let view = json!({
            "subject": subject, "open": false, "raised_by": "cc".repeat(32), "raised": pos("2026-12-06T00:00:00Z"),
            "bodies": ["b1".repeat(32)],
            "responses": [{"id": response, "body": "b1".repeat(32), "at": pos("2026-12-06T01:00:00Z"), "resolved": true}]
        });
        let mut related = board_names();
        related.statements.insert(
            subject.clone(),
            json!({"kind": "request.submit", "body": {"title": "Rangatahi wellbeing"}}),
        );
        related.statements.insert(response, json!({"kind": "concern.respond", "body": {"text": "Counts under six are suppressed."}}));
        let mut out = String::new();
        concern(&view, &related, &mut out);
        assert!(out.contains("concern: resolved\n"), "{out}");
        assert!(
            out.contains(&format!(
                "about: the request “Rangatahi wellbeing”\n  {subject}\n"
            )),
            "{out}"
        );
        assert!(
            out.contains("  2026-12-06T01:00:00Z — Te Poari, who consider it resolved:\n    Counts under six are suppressed.\n"),
            "{out}"
        );
    }

    #[test]
    fn a_concern_one_board_resolved_names_the_boards_it_waits_for() {
        let view = json!({
            "subject": "5a".repeat(32), "open": true, "raised_by": "cc".repeat(32), "raised": pos("2026-12-06T00:00:00Z"),
            "bodies": ["b1".repeat(32), "b2".repeat(32)],
            "resolved_by": ["b1".repeat(32)],
            "responses": []
        });
        let mut out = String::new();
        concern(&view, &board_names(), &mut out);
        assert!(
            out.contains("concern: open, waiting for Pacific Board to resolve it too\n"),
            "{out}"
        );
        // Before any board resolves it, it is just open.
        let mut view = view;
        view["resolved_by"] = json!([]);
        let mut out = String::new();
        concern(&view, &board_names(), &mut out);
        assert!(out.contains("concern: open\n"), "{out}");
    }

    #[test]
    fn a_body_shows_the_charter_in_force_before_its_history() {
        let member = |k: &str, role: &str| json!({"key": k.repeat(32), "role": role});
        let founding = json!({"amendment": null, "description": "The board.", "members": [member("a1", "chair"), member("a2", "member")],
            "notice_days": 0, "rule": {"type": "threshold", "k": 2}, "since": pos("2026-12-06T00:00:00Z")});
        let amended = json!({"amendment": "e1".repeat(32), "description": "The board.", "members": [member("a1", "chair"), member("a2", "member")],
            "notice_days": 14, "rule": {"type": "threshold", "k": 2}, "since": pos("2026-12-07T00:00:00Z")});
        let view = json!({"record": {"name": "Te Poari", "home_log": "iwi.example", "amendments": []}, "versions": [founding, amended]});
        let mut out = String::new();
        body(&view, &Related::default(), &mut out);
        let in_force = out.find("notice period:  14 days").expect(&out);
        let history = out.find("history:").expect(&out);
        assert!(in_force < history, "{out}");
        assert!(
            out.starts_with("Te Poari\ncharter in force since 2026-12-07T00:00:00Z"),
            "{out}"
        );
        assert!(out.contains(&"a1".repeat(32)), "{out}");
        assert!(out.contains("notice period 14 days (was none)"), "{out}");
        assert!(
            out.contains("decides by:     2 approvals (2 members)"),
            "{out}"
        );
    }

    #[test]
    fn reviews_name_what_they_review_and_say_where_it_stands() {
        let (request, report, output) = ("a1".repeat(32), "e1".repeat(32), "e2".repeat(32));
        let view = json!({"record": {"title": "Rangatahi wellbeing",
            "reports": [{"id": report, "kind": "periodic", "filed": pos("2026-12-01T00:00:00Z"),
                "reviews": [], "status": "returned"}],
            "outputs": [{"id": output, "title": "Tables by region", "reviews": [],
                "submitted": pos("2026-12-02T00:00:00Z"), "status": "released"}]}});
        let mut related = board_names();
        related.people.insert("0a".repeat(32), "Hine".into());
        related.owner = Some(("request".into(), request, view));
        let says = json!({"report": report, "body": "b1".repeat(32), "accepted": false, "reason": "More."});
        let mut out = String::new();
        part_of(
            &"c1".repeat(32),
            "report.review",
            &"0a".repeat(32),
            &says,
            &related,
            &mut out,
        );
        assert!(
            out.contains(
                "  Hine returned the regular report filed on 2026-12-01T00:00:00Z for more \
                 detail, for Te Poari.\n  A board returned the report"
            ),
            "{out}"
        );
        let says =
            json!({"output": output, "body": "b1".repeat(32), "release": true, "reason": "Fine."});
        let mut out = String::new();
        part_of(
            &"c2".repeat(32),
            "output.review",
            &"0a".repeat(32),
            &says,
            &related,
            &mut out,
        );
        assert!(
            out.contains(
                "  Hine released the output “Tables by region”, for Te Poari.\n  The output is released.\n"
            ),
            "{out}"
        );
        let mut out = String::new();
        let says = json!({"request": "a1".repeat(32), "title": "Tables by region"});
        part_of(
            &output,
            "output.submit",
            &"0a".repeat(32),
            &says,
            &related,
            &mut out,
        );
        assert!(out.ends_with("  The output is released.\n"), "{out}");
    }

    #[test]
    fn a_question_and_its_answer_say_what_they_ask_and_answer() {
        let (request, question, answer) = ("a1".repeat(32), "e1".repeat(32), "e2".repeat(32));
        let view = json!({"record": {"title": "Rangatahi wellbeing"}, "timeline": [
            {"id": question, "kind": "request.question", "author": "0a".repeat(32),
             "pos": pos("2026-12-01T00:00:00Z"), "body": {"request": request, "text": "Who sees it?"}},
            {"id": "e3".repeat(32), "kind": "request.answer", "author": "0a".repeat(32),
             "pos": pos("2026-12-01T12:00:00Z"), "body": {"question": question, "text": "Everyone."},
             "verdict": {"state": "excluded"}},
            {"id": answer, "kind": "request.answer", "author": "0b".repeat(32),
             "pos": pos("2026-12-02T00:00:00Z"), "body": {"question": question, "text": "Two analysts."},
             "verdict": {"state": "valid"}}]});
        let mut related = board_names();
        related.people.insert("0a".repeat(32), "Hine".into());
        related.people.insert("0b".repeat(32), "Sione".into());
        related.owner = Some(("request".into(), request.clone(), view));
        let mut out = String::new();
        let asked = json!({"request": request, "text": "Who sees it?"});
        part_of(
            &question,
            "request.question",
            &"0a".repeat(32),
            &asked,
            &related,
            &mut out,
        );
        assert!(
            out.starts_with("part of the request “Rangatahi wellbeing”\n")
                && out.contains("  Hine asked the requester: “Who sees it?”\n")
                && out.ends_with(
                    "  The requester answered on 2026-12-02T00:00:00Z: “Two analysts.”\n"
                ),
            "{out}"
        );
        let mut out = String::new();
        let said = json!({"question": question, "text": "Two analysts."});
        part_of(
            &answer,
            "request.answer",
            &"0b".repeat(32),
            &said,
            &related,
            &mut out,
        );
        assert!(
            out.ends_with("  Sione answered the question “Who sees it?”.\n"),
            "{out}"
        );
    }

    #[test]
    fn a_dataset_says_who_governs_it_what_it_never_allows_and_its_rahui() {
        let board = "b1".repeat(32);
        let view = json!({"id": "d1".repeat(32), "record": {
            "name": "Whānau Services", "description": "Visits to whānau services.",
            "steward": "Agency", "governing_bodies": [board], "sensitivity": "sensitive",
            "labels": [{"code": "TK_A", "text": null}, {"code": "custom:x", "text": "Ours"}],
            "permitted_uses": ["DUO:0000042"], "excluded_uses": ["commercial"],
            "registered": pos("2026-12-01T00:00:00Z"), "valid": true,
            "rahui": [{"id": "f1".repeat(32), "body": board, "placed": pos("2026-12-02T00:00:00Z"),
                "until": null, "reason": "Tangihanga.", "lifted": null}]},
            "rahui_in_force": [{"id": "f1".repeat(32)}], "thread": [
                {"id": "c1".repeat(32), "kind": "concern.raise", "author": "0a".repeat(32),
                 "pos": pos("2026-12-03T00:00:00Z"), "body": {"text": "Who sees our data?"},
                 "verdict": {"state": "valid"}}]});
        let mut related = board_names();
        related.people.insert("0a".repeat(32), "Hine".into());
        let mut out = String::new();
        dataset(&view, &related, &mut out);
        for line in [
            "Whānau Services\n",
            "  held by:        Agency\n",
            "  sensitivity:    Sensitive: personal information about people\n",
            &format!("    Te Poari  board {board}\n"),
            "  permitted uses: DUO:0000042 (",
            "  never allowed (a request for these is refused): commercial (",
            "    - TK_A (TK Attribution)\n",
            "    - custom:x: Ours\n",
            "  placed 2026-12-02T00:00:00Z by Te Poari: Tangihanga.\n    It is in force until its board lifts it.\n",
            "description:\n  Visits to whānau services.\nthread:\n  2026-12-03T00:00:00Z  concern.raise",
            "Hine  Who sees our data?\n",
        ] {
            assert!(out.contains(line), "{line:?} in\n{out}");
        }
    }

    #[test]
    fn a_rahui_says_whether_it_holds_was_lifted_or_ended() {
        let (dataset, held, lifted, ended) = (
            "d1".repeat(32),
            "f1".repeat(32),
            "f2".repeat(32),
            "f3".repeat(32),
        );
        let rahui = |id: &str, until: Value, lifted: Value| {
            json!({"id": id, "body": "b1".repeat(32), "placed": pos("2026-12-01T00:00:00Z"),
                "until": until, "reason": "Tangihanga.", "lifted": lifted})
        };
        let view = json!({
            "record": {"name": "Whānau Services", "rahui": [
                rahui(&held, json!("2027-01-01T00:00:00Z"), Value::Null),
                rahui(&lifted, Value::Null, json!({"id": "c9".repeat(32),
                    "at": pos("2026-12-03T00:00:00Z"), "reason": "The hui is over."})),
                rahui(&ended, json!("2026-12-02T00:00:00Z"), Value::Null)]},
            "rahui_in_force": [rahui(&held, json!("2027-01-01T00:00:00Z"), Value::Null)]});
        let mut related = board_names();
        related.people.insert("0a".repeat(32), "Hine".into());
        related.owner = Some(("dataset".into(), dataset, view));
        let says =
            json!({"body": "b1".repeat(32), "dataset": "d1".repeat(32), "reason": "Tangihanga."});
        let said = |id: &str| {
            let mut out = String::new();
            part_of(
                id,
                "rahui.place",
                &"0a".repeat(32),
                &says,
                &related,
                &mut out,
            );
            out
        };
        let out = said(&held);
        assert!(
            out.contains("part of the dataset Whānau Services\n")
                && out.contains("  Hine placed a rāhui on the dataset for Te Poari.\n")
                && out.ends_with(
                    "  It is in force until 2027-01-01T00:00:00Z, unless lifted before.\n"
                ),
            "{out}"
        );
        assert!(
            said(&lifted).ends_with("  It was lifted on 2026-12-03T00:00:00Z: The hui is over.\n"),
            "{}",
            said(&lifted)
        );
        assert!(
            said(&ended).ends_with("  It ended on 2026-12-02T00:00:00Z, the end its board set.\n"),
            "{}",
            said(&ended)
        );
        let mut out = String::new();
        let lift = json!({"rahui": lifted, "reason": "The hui is over."});
        part_of(
            &"c9".repeat(32),
            "rahui.lift",
            &"0a".repeat(32),
            &lift,
            &related,
            &mut out,
        );
        assert!(
            out.contains("  Hine lifted the rāhui f2f2f2f2.\n  It was lifted on"),
            "{out}"
        );
    }

    #[test]
    fn a_vote_an_amendment_and_a_motion_say_what_they_are_part_of() {
        let (request, motion, amendment) = ("a1".repeat(32), "f1".repeat(32), "d1".repeat(32));
        let (vote, other) = ("c1".repeat(32), "c2".repeat(32));
        let view = json!({
            "record": {
                "title": "Rangatahi wellbeing",
                "approval": {
                    "renewals": [],
                    "suspensions": [{"body": "b1".repeat(32), "motion": motion,
                        "from": pos("2026-12-05T00:00:00Z"), "until": null}],
                    "motions": [{"id": motion, "body": "b1".repeat(32), "action": "suspend",
                        "decision": {"outcome": "approved", "at": pos("2026-12-05T00:00:00Z"), "vote": vote}}],
                },
            },
        });
        let mut related = board_names();
        related.people.insert("0a".repeat(32), "Hine".into());
        related.statements.insert(
            motion.clone(),
            json!({"kind": "approval.motion", "body": {"action": "suspend"}}),
        );
        related.owner = Some(("request".into(), request.clone(), view));
        let says = json!({"subject": motion, "body": "b1".repeat(32), "choice": "approve", "conditions": []});
        let mut out = String::new();
        part_of(&vote, "vote", &"0a".repeat(32), &says, &related, &mut out);
        assert_eq!(
            out,
            format!(
                "part of the request “Rangatahi wellbeing”\n  kaitiaki show {request}\nin words:\n  \
                 Hine voted Approve for Te Poari, on the motion to suspend the approval.\n  \
                 With this vote, the motion was carried.\n"
            )
        );
        // Another vote on it did not decide it.
        let mut out = String::new();
        part_of(&other, "vote", &"0a".repeat(32), &says, &related, &mut out);
        assert!(
            out.ends_with("  Another vote decided the motion: carried.\n"),
            "{out}"
        );
        // Before any decision, it says none was reached.
        let mut undecided = related.owner.clone().expect("an owner");
        undecided.2["record"]["approval"]["motions"][0]["decision"] = Value::Null;
        let before = Related {
            owner: Some(undecided),
            statements: related.statements.clone(),
            ..board_names()
        };
        let mut out = String::new();
        part_of(&vote, "vote", &"0a".repeat(32), &says, &before, &mut out);
        assert!(out.ends_with("  The motion is not decided yet.\n"), "{out}");
        // The motion itself says what came of it.
        let mut out = String::new();
        let says = json!({"body": "b1".repeat(32), "action": "suspend"});
        part_of(
            &motion,
            "approval.motion",
            &"0a".repeat(32),
            &says,
            &related,
            &mut out,
        );
        assert!(
            out.contains(
                "  Hine proposed that Te Poari suspend the approval.\n  \
                          The board carried the motion on 2026-12-05T00:00:00Z.\n"
            ),
            "{out}"
        );

        // An amendment, part of its board, in words.
        let board = json!({"record": {"name": "Te Poari", "amendments": [
            {"id": amendment, "decision": null}]}});
        related.owner = Some(("body".into(), "b1".repeat(32), board));
        related.people.insert("0b".repeat(32), "Kiri".into());
        let says = json!({"body": "b1".repeat(32), "add_members": [{"key": "0b".repeat(32), "role": "rangatahi"}],
            "remove_members": [], "rule": {"type": "threshold", "k": 3}, "notice_days": 7, "description": null});
        let mut out = String::new();
        part_of(
            &amendment,
            "body.amend",
            &"0a".repeat(32),
            &says,
            &related,
            &mut out,
        );
        for want in [
            "part of the board Te Poari\n",
            "  Hine proposed a change to the board's charter:\n",
            "    adds Kiri as rangatahi\n",
            "    a new rule: ",
            "    Every request stays open for community comment for 7 days",
            "  The board has not decided it yet.\n",
        ] {
            assert!(out.contains(want), "missing {want:?}: {out}");
        }
        assert!(!out.contains("description"), "{out}");
    }

    #[test]
    fn a_board_s_history_names_who_was_added_and_removed() {
        let member = |key: &str, role: &str| json!({"key": key.repeat(32), "role": role});
        let view = json!({
            "record": {"name": "Te Poari", "home_log": "iwi.example"},
            "versions": [
                {"since": pos("2026-01-01T00:00:00Z"), "amendment": null,
                 "members": [member("0a", "chair"), member("0b", "member")],
                 "rule": {"type": "threshold", "k": 1}, "notice_days": 0, "description": "The board."},
                {"since": pos("2026-02-01T00:00:00Z"), "amendment": "d1".repeat(32),
                 "members": [member("0a", "chair"), member("0c", "rangatahi")],
                 "rule": {"type": "threshold", "k": 1}, "notice_days": 0, "description": "The board."}
            ]
        });
        let mut related = board_names();
        for (k, name) in [("0a", "Hine"), ("0b", "Rawiri"), ("0c", "Kiri")] {
            related.people.insert(k.repeat(32), name.into());
        }
        let mut out = String::new();
        body(&view, &related, &mut out);
        assert!(
            out.contains("amended by d1d1")
                && out.contains(": added rangatahi Kiri; removed member Rawiri\n"),
            "{out}"
        );
    }
}
