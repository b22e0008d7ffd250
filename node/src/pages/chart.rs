//! The chart of requests and decisions over time, drawn on the server as
//! SVG: no script, no external library, readable by screen readers (a
//! `<title>`, a `<desc>` and the same numbers as a table).
//!
//! Each bar is one calendar month (UTC) of requests received, split by what
//! has become of them: approved, approved but paused now (suspended),
//! declined, still being decided, or ended another way (withdrawn, expired,
//! revoked).

use chrono::{Datelike, TimeZone, Utc};
use kaitiaki_governance::RequestStatus;
use kaitiaki_protocol::Timestamp;
use maud::{html, Markup};

/// How many months the chart covers, ending with the current one.
pub const MONTHS: usize = 12;

/// One month of the chart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Month {
    /// "Mar 2026".
    pub label: String,
    /// Requests received that month, now approved (or completed).
    pub approved: u32,
    /// … approved, and paused now by a rāhui or a board's motion.
    pub paused: u32,
    /// … now declined.
    pub declined: u32,
    /// … still waiting for a decision.
    pub waiting: u32,
    /// … ended another way: withdrawn, revoked, expired.
    pub other: u32,
}

impl Month {
    fn total(&self) -> u32 {
        self.approved + self.paused + self.declined + self.waiting + self.other
    }
}

/// The chart's data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChartData {
    /// The months, oldest first.
    pub months: Vec<Month>,
    /// Set when more requests fell in the window than the chart reads; the
    /// chart then says it shows only part of them.
    pub capped: bool,
}

/// The first instant of the month `back` months before the month of `now`.
pub fn month_start(now: Timestamp, back: u32) -> Timestamp {
    let d = chrono::DateTime::from_timestamp_millis(now.unix_millis()).unwrap_or_default();
    let total = d.year() * 12 + d.month0() as i32 - back as i32;
    let (y, m) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    let start = Utc
        .with_ymd_and_hms(y, m, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    Timestamp::from_unix_millis(start.timestamp_millis()).unwrap_or(Timestamp::EPOCH)
}

/// Puts requests (their submission time and status now) into the
/// [`MONTHS`] months ending with the month of `now`.
pub fn bin(now: Timestamp, requests: &[(Timestamp, RequestStatus)], capped: bool) -> ChartData {
    let starts: Vec<Timestamp> = (0..MONTHS as u32)
        .rev()
        .map(|b| month_start(now, b))
        .collect();
    let mut months: Vec<Month> = starts
        .iter()
        .map(|s| Month {
            label: chrono::DateTime::from_timestamp_millis(s.unix_millis())
                .map(|d| d.format("%b %Y").to_string())
                .unwrap_or_default(),
            ..Month::default()
        })
        .collect();
    for (at, status) in requests {
        let Some(i) = starts.iter().rposition(|s| s <= at) else {
            continue;
        };
        let m = &mut months[i];
        match status {
            RequestStatus::Approved | RequestStatus::Completed => m.approved += 1,
            RequestStatus::Suspended => m.paused += 1,
            RequestStatus::Declined => m.declined += 1,
            RequestStatus::Submitted | RequestStatus::UnderReview => m.waiting += 1,
            _ => m.other += 1,
        }
    }
    ChartData { months, capped }
}

/// A round number at least `n`, so the axis has tidy steps.
fn nice_max(n: u32) -> u32 {
    // Four grid steps of 1, 2 or 5 times a power of ten.
    let mut p: u32 = 1;
    loop {
        for m in [1, 2, 5] {
            let top = p.saturating_mul(4 * m);
            if top >= n.max(4) || top == u32::MAX {
                return top;
            }
        }
        p = p.saturating_mul(10);
    }
}

/// `n` requests, in words: "1 request", "2 requests".
fn requests(n: u32) -> String {
    format!("{n} {}", if n == 1 { "request" } else { "requests" })
}

/// A month's label ("Jan 2026") in full: "January 2026".
fn long_label(label: &str) -> String {
    chrono::NaiveDate::parse_from_str(&format!("1 {label}"), "%d %b %Y")
        .map(|d| d.format("%B %Y").to_string())
        .unwrap_or_else(|_| label.to_owned())
}

/// Whether the axis names month `i` of `months`: every other month
/// (counting back from the latest) when there are many, but always the
/// first, every January (the year changes there), and every month that has
/// a bar, so no bar stands over an unnamed month.
fn labelled(months: &[Month], i: usize) -> bool {
    let Some(m) = months.get(i) else {
        return false;
    };
    months.len() <= 6
        || (months.len() - 1 - i) % 2 == 0
        || i == 0
        || m.label.starts_with("Jan")
        || m.total() > 0
}

const SERIES: [(&str, &str); 5] = [
    ("approved", "Approved: in use or completed"),
    ("paused", "Approved, paused now"),
    ("declined", "Declined"),
    ("waiting", "Still being decided"),
    ("other", "Ended another way"),
];

/// What became of the requests of a series, in words for a tooltip.
fn series_words(series: &str) -> &'static str {
    match series {
        "approved" => "approved, in use or completed",
        "paused" => "approved and paused now",
        "declined" => "declined",
        "waiting" => "still being decided",
        _ => "ended another way",
    }
}

fn value(m: &Month, series: &str) -> u32 {
    match series {
        "approved" => m.approved,
        "paused" => m.paused,
        "declined" => m.declined,
        "waiting" => m.waiting,
        _ => m.other,
    }
}

/// The non-empty segments of a month's bar: series, from, to.
fn stack(m: &Month) -> Vec<(&'static str, f64, f64)> {
    let mut base = 0.0;
    let mut out = Vec::new();
    for (key, _) in SERIES {
        let v = f64::from(value(m, key));
        if v > 0.0 {
            out.push((key, base, base + v));
        }
        base += v;
    }
    out
}

/// The chart, its legend and its table. `id` makes the element ids unique.
pub fn render(id: &str, data: &ChartData) -> Markup {
    let (w, h, left, bottom, top) = (640.0_f64, 260.0_f64, 36.0_f64, 40.0_f64, 16.0_f64);
    let total: u32 = data.months.iter().map(Month::total).sum();
    let max = nice_max(data.months.iter().map(Month::total).max().unwrap_or(0));
    let plot_h = h - bottom - top;
    let slot = (w - left - 8.0) / data.months.len().max(1) as f64;
    let bar = slot * 0.62;
    let y = |v: f64| top + plot_h - v / f64::from(max) * plot_h;
    let first = data
        .months
        .first()
        .map(|m| m.label.clone())
        .unwrap_or_default();
    let last = data
        .months
        .last()
        .map(|m| m.label.clone())
        .unwrap_or_default();
    let desc = format!(
        "{} received between {first} and {last}: {} approved (in use or completed), {} approved and paused now, {} declined, {} still being decided, {} ended another way.",
        requests(total),
        data.months.iter().map(|m| m.approved).sum::<u32>(),
        data.months.iter().map(|m| m.paused).sum::<u32>(),
        data.months.iter().map(|m| m.declined).sum::<u32>(),
        data.months.iter().map(|m| m.waiting).sum::<u32>(),
        data.months.iter().map(|m| m.other).sum::<u32>(),
    );
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (w) " " (h) } role="img" aria-labelledby={ (id) "-t " (id) "-d" } xmlns="http://www.w3.org/2000/svg" {
                title #{ (id) "-t" } { "Requests received each month, by what was decided" }
                desc #{ (id) "-d" } { (desc) }
                @for i in 0..=4u32 {
                    @let v = f64::from(max) * f64::from(i) / 4.0;
                    line.grid x1=(left) x2=(w - 4.0) y1=(y(v)) y2=(y(v)) {}
                    text.axis x=(left - 6.0) y=(y(v) + 4.0) text-anchor="end" { (v as u32) }
                }
                @for (i, m) in data.months.iter().enumerate() {
                    @let x = left + slot * i as f64 + (slot - bar) / 2.0;
                    @let month = long_label(&m.label);
                    g {
                        title { (month) ": " (requests(m.total())) " in all" }
                        @for (key, from, to) in stack(m) {
                            // Each part of the bar names its own count and
                            // what became of those requests.
                            rect class={ "bar " (key) } x=(x) width=(bar) y=(y(to)) height=(y(from) - y(to)) {
                                title { (month) ": " (requests(value(m, key))) ", " (series_words(key)) }
                            }
                        }
                        @if m.total() > 0 {
                            text.count x=(x + bar / 2.0) y=(y(f64::from(m.total())) - 4.0) text-anchor="middle" { (m.total()) }
                        }
                        @if labelled(&data.months, i) {
                            text.axis x=(x + bar / 2.0) y=(h - bottom + 16.0) text-anchor="middle" {
                                (m.label.split(' ').next().unwrap_or_default())
                            }
                            @if i == 0 || m.label.starts_with("Jan") {
                                text.axis x=(x + bar / 2.0) y=(h - bottom + 30.0) text-anchor="middle" {
                                    (m.label.split(' ').nth(1).unwrap_or_default())
                                }
                            }
                        }
                    }
                }
            }
            figcaption {
                p.small { "Requests received each month, " (long_label(&first)) " to " (long_label(&last)) ", by what has become of them." }
                ul.legend {
                    @for (key, name) in SERIES {
                        li { span class={ "swatch " (key) } aria-hidden="true" {} (name) }
                    }
                }
                @if data.capped {
                    p.small { "This chart shows only part of a very busy year: the list below has every request." }
                }
            }
            details {
                summary { "The numbers as a table" }
                // Wider than a phone: the table scrolls sideways in its
                // own box, which the keyboard can reach, rather than
                // widening the page.
                div.table-scroll role="region" aria-label="Requests received each month, as a table" tabindex="0" {
                table {
                    caption.visually-hidden { "Requests received each month" }
                    thead { tr { th scope="col" { "Month" } @for (_, name) in SERIES { th scope="col" { (name) } } } }
                    tbody {
                        @for m in &data.months {
                            tr { th scope="row" { (m.label) } @for (key, _) in SERIES { td { (value(m, key)) } } }
                        }
                    }
                }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).expect("time")
    }

    #[test]
    fn requests_fall_in_their_month_and_old_ones_are_left_out() {
        let now = t("2026-11-22T09:00:00Z");
        let data = bin(
            now,
            &[
                (t("2026-11-01T00:00:00Z"), RequestStatus::Approved),
                (t("2026-10-31T23:59:59Z"), RequestStatus::Declined),
                (t("2025-12-01T00:00:00Z"), RequestStatus::UnderReview),
                (t("2025-11-30T00:00:00Z"), RequestStatus::Approved),
                (t("2026-11-02T00:00:00Z"), RequestStatus::Suspended),
                (t("2026-11-03T00:00:00Z"), RequestStatus::Withdrawn),
            ],
            false,
        );
        assert_eq!(data.months.len(), MONTHS);
        assert_eq!(data.months[0].label, "Dec 2025");
        assert_eq!(data.months[0].waiting, 1);
        assert_eq!(data.months[10].declined, 1);
        assert_eq!(data.months[11].approved, 1);
        // An approval paused now is not counted as ended.
        assert_eq!((data.months[11].paused, data.months[11].other), (1, 1));
        let total: u32 = data.months.iter().map(Month::total).sum();
        assert_eq!(total, 5);
    }

    #[test]
    fn every_bar_has_its_month_named_and_each_part_says_what_it_counts() {
        let now = t("2026-11-22T09:00:00Z");
        // One request in January (a month the every-other rule leaves
        // out), two in February: a bar on each.
        let data = bin(
            now,
            &[
                (t("2026-01-10T00:00:00Z"), RequestStatus::Approved),
                (t("2026-02-10T00:00:00Z"), RequestStatus::Declined),
                (t("2026-02-11T00:00:00Z"), RequestStatus::Declined),
            ],
            false,
        );
        for (i, m) in data.months.iter().enumerate() {
            if m.total() > 0 {
                assert!(labelled(&data.months, i), "{} has a bar", m.label);
            }
        }
        // The first month is named, with its year.
        assert!(labelled(&data.months, 0));
        let svg = render("c", &data).into_string();
        assert!(
            svg.contains("<title>January 2026: 1 request, approved, in use or completed</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("<title>February 2026: 2 requests, declined</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("<title>January 2026: 1 request in all</title>"),
            "{svg}"
        );
        assert!(!svg.contains("1 requests"), "{svg}");
        assert!(
            svg.contains(">2025</text>") && svg.contains(">2026</text>"),
            "{svg}"
        );
        // The chart's description counts in words too, one as one.
        let one = bin(
            now,
            &[(t("2026-01-10T00:00:00Z"), RequestStatus::Approved)],
            false,
        );
        let svg = render("c", &one).into_string();
        assert!(svg.contains(">1 request received between"), "{svg}");
        assert!(svg.contains("December 2025 to November 2026"), "{svg}");
        // The table scrolls in its own box.
        assert!(svg.contains("<div class=\"table-scroll\""), "{svg}");
    }

    #[test]
    fn the_axis_is_round() {
        assert_eq!(nice_max(0), 4);
        assert_eq!(nice_max(7), 8);
        assert_eq!(nice_max(33), 40);
        assert_eq!(nice_max(1234), 2000);
    }
}
