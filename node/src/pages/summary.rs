//! A record in plain words, for its page: what it did, the facts a reader
//! asks about it, and the page that tells the story it is part of.

use kaitiaki_governance::query;
use kaitiaki_governance::rules::Outcome;
use kaitiaki_governance::KeyBytes;
use kaitiaki_protocol::statement as st;
use kaitiaki_protocol::{Body, Statement, StatementId, Timestamp};

use super::assemble::rahui_state;
use super::body::RahuiState;
use super::gather::{Ctx, GatherError, Gathered};
use super::layout::person_name;
use super::overview::outcome_key;
use super::request::{action_verb, condition_words, motion_word};
use super::verify::{Fact, RecordSummary};

/// A page's address and what to call it.
type Page = (String, String);

/// The record `s`, whose id is `id`, in plain words for its page; `None`
/// for a kind with no words here (a concern has its own section) or a
/// record it refers to that this node cannot read. Reads at most the one
/// or two records it refers to.
pub fn record_summary(
    ctx: &Ctx<'_>,
    id: &StatementId,
    s: Statement,
) -> Gathered<Option<RecordSummary>> {
    use super::layout::date_text;
    // A record the rules left out did nothing: say that, not what it asked.
    let verdict = query::statement_state(ctx.store(), id).map_err(GatherError::of)?;
    if let Some(why) = verdict.and_then(|st| super::gather::excluded(&st.verdict)) {
        return Ok(Some(RecordSummary {
            said: format!(
                "This record does not count under the governance rules, so it changed nothing: \
                 {why}."
            ),
            facts: Vec::new(),
            story: None,
        }));
    }
    let who = person_name(&ctx.person(&KeyBytes::of(&s.author)));
    let request = |r: &StatementId| {
        (
            format!("/requests/{}", r.to_hex()),
            format!("the request “{}”", ctx.request_title(r)),
        )
    };
    let board = |b: &StatementId| (format!("/bodies/{}", b.to_hex()), ctx.body_name(b));
    let dataset = |d: &StatementId| (format!("/datasets/{}", d.to_hex()), ctx.dataset_name(d));
    let link = |(href, name): (String, String)| Fact::Link(href, name);
    let quote = |label: &'static str, text: &str| {
        (!text.trim().is_empty()).then(|| (label, Fact::Quote(text.to_owned())))
    };
    // A board's review of a report or an output on a request: the board,
    // what it reviewed (a label, its record, what to call it), its reason,
    // and the request's reports as the story.
    let review = |body: &StatementId,
                  (label, record, called): (&'static str, &StatementId, &str),
                  reason: &str,
                  on: &StatementId| {
        let mut facts = vec![
            ("Board", link(board(body))),
            (
                label,
                Fact::Link(format!("/records/{}", record.to_hex()), called.to_owned()),
            ),
        ];
        facts.extend(quote("The board's reason", reason));
        let story = (
            format!("/requests/{}#reports", on.to_hex()),
            ctx.request_title(on),
        );
        (facts, story)
    };
    let decided = |d: Option<(Outcome, Timestamp)>, words: [&str; 2]| {
        Fact::Text(match d {
            Some((Outcome::Approved, at)) => format!("{} on {}", words[0], date_text(at)),
            Some((Outcome::Declined, at)) => format!("{} on {}", words[1], date_text(at)),
            None => "Not decided yet".to_owned(),
        })
    };
    let (said, mut facts, story): (String, Vec<(&'static str, Fact)>, Option<Page>) =
        match s.body {
            Body::Vote(v) => {
                let (board_href, board_name) = board(&v.body);
                let owner = query::statement_state(ctx.store(), &v.subject)
                    .map_err(GatherError::of)?
                    .and_then(|st| st.owner);
                // What it was on, the story, and what it decided if it was
                // the deciding vote.
                let (on, story, decided) = match owner {
                    Some(kaitiaki_governance::Agg::Body(b)) => {
                        let decided = ctx.body_record(&b)?.and_then(|rec| {
                            let a = rec.amendments.into_iter().find(|a| a.id == v.subject)?;
                            a.decision.filter(|d| d.vote == *id).map(|d| d.outcome)
                        });
                        (
                            "a change to its charter".to_owned(),
                            (format!("/bodies/{}#amendments", b.to_hex()), ctx.body_name(&b)),
                            decided.map(|o| format!("It decided the change: {}", outcome_key(o))),
                        )
                    }
                    Some(kaitiaki_governance::Agg::Request(r)) => {
                        let outcome = ctx
                            .request_record(&r)?
                            .and_then(|rec| super::story::decided_by(&rec, id));
                        let (href, name) = request(&r);
                        let answer = format!("It decided {board_name}'s answer");
                        let (on, decided) = match ctx.own_statement(&v.subject).map(|x| x.body) {
                            Some(Body::RenewalRequest(n)) => (
                                format!("the renewal for {} more days of {name}", n.extra_days),
                                outcome.map(|o| format!("{answer} to the renewal: {}", outcome_key(o))),
                            ),
                            Some(Body::ApprovalMotion(m)) => (
                                format!(
                                    "the motion to {} the approval of {name}",
                                    action_verb(m.action)
                                ),
                                outcome.map(|o| format!("It decided the motion: {}", motion_word(o))),
                            ),
                            _ => (name.clone(), outcome.map(|o| format!("{answer}: {}", outcome_key(o)))),
                        };
                        (on, (href, ctx.request_title(&r)), decided)
                    }
                    _ => (
                        "a record this node does not hold".to_owned(),
                        (board_href.clone(), board_name.clone()),
                        None,
                    ),
                };
                let mut facts = vec![
                    ("Who voted", Fact::Text(who.clone())),
                    ("For the board", Fact::Link(board_href, board_name.clone())),
                    ("On", Fact::Text(on.clone())),
                    ("Their choice", Fact::Choice(v.choice)),
                ];
                facts.extend(quote("Their reason", &v.reason));
                if !v.conditions.is_empty() {
                    let c: Vec<String> = v.conditions.iter().map(condition_words).collect();
                    facts.push(("Conditions they set", Fact::Text(c.join(" "))));
                }
                if let Some(decided) = decided {
                    facts.push(("What came of it", Fact::Text(decided)));
                }
                (
                    format!("{who} voted, as a member of {board_name}, on {on}."),
                    facts,
                    Some(story),
                )
            }
            Body::RahuiPlace(r) => {
                // The dataset read whole first: its name comes with it.
                let now = ctx
                    .dataset_record(&r.dataset)?
                    .and_then(|d| d.rahui.into_iter().find(|x| x.id == *id))
                    .and_then(|x| {
                        Some(match rahui_state(&x, ctx.now)? {
                            RahuiState::InForce => "In force".to_owned(),
                            RahuiState::Lifted { at, .. } => format!("Lifted on {}", date_text(at)),
                            RahuiState::Ended { at } => format!("Ended on {}", date_text(at)),
                        })
                    })
                    .unwrap_or_else(|| "Not yet in force".to_owned());
                let (_, board_name) = board(&r.body);
                let (_, data_name) = dataset(&r.dataset);
                let mut facts = vec![
                    ("Placed by", link(board(&r.body))),
                    ("On the dataset", link(dataset(&r.dataset))),
                    (
                        "Until",
                        Fact::Text(match r.until {
                            Some(u) => date_text(u),
                            None => "The board lifts it".to_owned(),
                        }),
                    ),
                ];
                facts.extend(quote("The board's reason", &r.reason));
                facts.push(("Now", Fact::Text(now)));
                (
                    format!(
                        "{board_name} placed a rāhui on {data_name}: while it is in force, no request for it can be approved and approved uses of it are paused."
                    ),
                    facts,
                    Some(dataset(&r.dataset)),
                )
            }
            Body::RahuiLift(lf) => {
                let Some(Body::RahuiPlace(r)) = ctx.own_statement(&lf.rahui).map(|x| x.body) else {
                    return Ok(None);
                };
                let (_, board_name) = board(&r.body);
                let (_, data_name) = dataset(&r.dataset);
                let mut facts = vec![
                    ("Lifted by", link(board(&r.body))),
                    ("On the dataset", link(dataset(&r.dataset))),
                    (
                        "The rāhui it lifts",
                        Fact::Link(format!("/records/{}", lf.rahui.to_hex()), r.reason.clone()),
                    ),
                ];
                facts.extend(quote("Why it was lifted", &lf.reason));
                (
                    format!("{board_name} lifted its rāhui on {data_name}."),
                    facts,
                    Some(dataset(&r.dataset)),
                )
            }
            Body::UseReport(u) => {
                let (href, name) = request(&u.request);
                let kind = match u.kind {
                    st::ReportKind::Periodic => "regular",
                    st::ReportKind::Final => "final",
                };
                let mut facts = vec![("Request", Fact::Link(href.clone(), ctx.request_title(&u.request)))];
                facts.extend(quote("What was done", &u.summary));
                facts.extend(quote("What came back to the community", &u.benefit_returned));
                if !u.incidents.is_empty() {
                    facts.push(("Incidents reported", Fact::Text(u.incidents.join(" "))));
                }
                (
                    format!("{who} filed a {kind} use report on {name}."),
                    facts,
                    Some((format!("{href}#reports"), ctx.request_title(&u.request))),
                )
            }
            Body::ReportReview(r) => {
                let Some(Body::UseReport(u)) = ctx.own_statement(&r.report).map(|x| x.body) else {
                    return Ok(None);
                };
                let (_, name) = request(&u.request);
                let (_, board_name) = board(&r.body);
                let (facts, story) =
                    review(&r.body, ("The report", &r.report, &u.summary), &r.reason, &u.request);
                (
                    if r.accepted {
                        format!("{board_name} accepted a use report on {name}.")
                    } else {
                        format!("{board_name} returned a use report on {name} for more detail.")
                    },
                    facts,
                    Some(story),
                )
            }
            Body::RenewalRequest(n) => {
                let renewal = ctx
                    .request_record(&n.request)?
                    .and_then(|rec| rec.approval?.renewals.into_iter().find(|x| x.id == *id));
                let (href, name) = request(&n.request);
                let mut facts = vec![("Request", Fact::Link(href.clone(), ctx.request_title(&n.request)))];
                facts.extend(quote("Their reason", &n.reason));
                facts.push((
                    "The boards",
                    Fact::Text(match renewal.as_ref().and_then(|r| r.outcome.map(|o| (o, r))) {
                        // Fewer days than asked where a board's conditions allow fewer.
                        Some((Outcome::Approved, r)) => match r.days_granted() {
                            Some(days) if days < n.extra_days => format!(
                                "Every board approved it, for {} of the {} days asked",
                                days, n.extra_days
                            ),
                            _ => "Every board approved it".to_owned(),
                        },
                        Some((Outcome::Declined, _)) => "A board declined it".to_owned(),
                        None => "Not decided yet".to_owned(),
                    }),
                ));
                (
                    format!("{who} asked for {} more days of access for {name}.", n.extra_days),
                    facts,
                    Some((href, ctx.request_title(&n.request))),
                )
            }
            Body::ApprovalMotion(m) => {
                let decision = ctx.request_record(&m.request)?.and_then(|rec| {
                    let motion = rec.approval?.motions.into_iter().find(|x| x.id == *id)?;
                    motion.decision.map(|d| (d.outcome, d.at.at))
                });
                let (href, name) = request(&m.request);
                let (_, board_name) = board(&m.body);
                let mut facts = vec![
                    ("Board", link(board(&m.body))),
                    ("Request", Fact::Link(href.clone(), ctx.request_title(&m.request))),
                ];
                facts.extend(quote("Their reason", &m.reason));
                facts.push(("The board", decided(decision, ["Carried", "Rejected"])));
                (
                    format!(
                        "{who} proposed that {board_name} {} the approval of {name}.",
                        action_verb(m.action)
                    ),
                    facts,
                    Some((href, ctx.request_title(&m.request))),
                )
            }
            Body::RequestWithdraw(w) => {
                let (href, name) = request(&w.request);
                let facts = quote("Their reason", &w.reason).into_iter().collect();
                (
                    format!("{who} withdrew {name}: no board will decide it."),
                    facts,
                    Some((href, ctx.request_title(&w.request))),
                )
            }
            Body::RequestQuestion(q) => {
                let (href, name) = request(&q.request);
                (
                    format!("{who} asked a question about {name}."),
                    quote("The question", &q.text).into_iter().collect(),
                    Some((href, ctx.request_title(&q.request))),
                )
            }
            Body::RequestAnswer(a) => {
                let Some(Body::RequestQuestion(q)) = ctx.own_statement(&a.question).map(|x| x.body)
                else {
                    return Ok(None);
                };
                let (href, name) = request(&q.request);
                let mut facts: Vec<_> = quote("The question", &q.text).into_iter().collect();
                facts.extend(quote("The answer", &a.text));
                (
                    format!("{who} answered a question about {name}."),
                    facts,
                    Some((href, ctx.request_title(&q.request))),
                )
            }
            Body::OutputSubmit(o) => {
                let (href, name) = request(&o.request);
                let mut facts = vec![("Output", Fact::Text(o.title.clone()))];
                if let Some(at) = &o.link {
                    facts.push(("Where to find it", Fact::Text(at.clone())));
                }
                (
                    format!("{who} submitted an output of the work on {name}."),
                    facts,
                    Some((format!("{href}#reports"), ctx.request_title(&o.request))),
                )
            }
            Body::OutputReview(r) => {
                let Some(Body::OutputSubmit(o)) = ctx.own_statement(&r.output).map(|x| x.body) else {
                    return Ok(None);
                };
                let (_, board_name) = board(&r.body);
                let did = if r.release { "released" } else { "withheld" };
                let (facts, story) =
                    review(&r.body, ("The output", &r.output, &o.title), &r.reason, &o.request);
                (
                    format!("{board_name} {did} the output “{}”.", o.title),
                    facts,
                    Some(story),
                )
            }
            Body::RequestSubmit(r) => {
                let names: Vec<String> = r.datasets.iter().map(|d| ctx.dataset_name(d)).collect();
                (
                    format!("{who} asked for access to {} for {} days: “{}”.", names.join(" and "), r.duration_days, r.title),
                    quote("Purpose", &r.purpose).into_iter().collect(),
                    Some((format!("/requests/{}", id.to_hex()), r.title.clone())),
                )
            }
            Body::BodyCharter(c) => (
                format!(
                    "{who} set up the governance board {}, with {}, its decisions recorded on the \
                     node {}.",
                    c.name,
                    super::layout::counted(c.members.len(), "member", "members"),
                    c.home_log
                ),
                quote("Who it speaks for", &c.description).into_iter().collect(),
                Some(board(id)),
            ),
            Body::BodyAmend(m) => {
                let decision = ctx.body_record(&m.body)?.and_then(|b| {
                    let a = b.amendments.into_iter().find(|x| x.id == *id)?;
                    a.decision.map(|d| (d.outcome, d.at.at))
                });
                let (_, board_name) = board(&m.body);
                let mut facts = vec![("Board", link(board(&m.body)))];
                facts.extend(quote("Their reason", &m.reason));
                facts.push(("The board", decided(decision, ["Approved", "Declined"])));
                (
                    format!("{who} proposed a change to the charter of {board_name}."),
                    facts,
                    Some((format!("/bodies/{}#amendments", m.body.to_hex()), board_name)),
                )
            }
            Body::DatasetRegister(d) => {
                let boards: Vec<String> = d.governing_bodies.iter().map(|b| ctx.body_name(b)).collect();
                (
                    format!("{who} registered the dataset {}, held by {}.", d.name, d.steward),
                    vec![("Who decides on its use", Fact::Text(boards.join(" and ")))],
                    Some((format!("/datasets/{}", id.to_hex()), d.name.clone())),
                )
            }
            Body::KeyAnnounce(k) => (
                format!(
                    "The holder of this key says they are {}, {}.",
                    k.display_name, k.affiliation
                ),
                Vec::new(),
                Some((
                    format!("/requests?requester={}", KeyBytes::of(&s.author).to_hex()),
                    "Every request made with this key".to_owned(),
                )),
            ),
            Body::KeyRotate(k) => (
                format!(
                    "{who} moved to a new key, {}: what they sign with it counts as theirs, and this key signs nothing more.",
                    super::layout::short(&KeyBytes::of(&k.new_key).to_hex())
                ),
                Vec::new(),
                None,
            ),
            Body::KeyRevoke(k) => (
                format!("{who} withdrew this key: nothing signed with it from now on counts."),
                quote("Their reason", &k.reason).into_iter().collect(),
                None,
            ),
            _ => return Ok(None),
        };
    facts.retain(|(_, f)| !matches!(f, Fact::Text(t) if t.is_empty()));
    Ok(Some(RecordSummary { said, facts, story }))
}
