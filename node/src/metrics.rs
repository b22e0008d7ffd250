//! Metrics in the Prometheus text format, kept in atomics.
//!
//! A handful of counters and fixed-bucket histograms is all the node needs,
//! so they are written here rather than pulled in: recording is one or two
//! relaxed atomic adds, and `/metrics` renders them on demand.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// A histogram with fixed upper bounds.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    // One count per bound, plus the +Inf bucket; not cumulative.
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    // The sum in micro-units (µs for seconds, or the raw value × 10^6), so it
    // fits an integer atomic.
    sum_micros: AtomicU64,
}

impl Histogram {
    /// A histogram with the given upper bounds, ascending.
    pub fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// Records one value.
    pub fn observe(&self, value: f64) {
        let i = self
            .bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(self.bounds.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((value * 1e6) as u64, Ordering::Relaxed);
    }

    /// Records a duration in seconds.
    pub fn observe_duration(&self, d: Duration) {
        self.observe(d.as_secs_f64());
    }

    /// The number of values recorded.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn render(&self, out: &mut String, name: &str, help: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, bound) in self.bounds.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += self.buckets[self.bounds.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cumulative}"
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(
            out,
            "{name}_sum{braces} {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count{braces} {}", self.count());
        let _ = help;
    }
}

const LATENCY_BOUNDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
const BATCH_BOUNDS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0,
];

/// Every metric the node exports.
#[derive(Debug)]
pub struct Metrics {
    /// Leaves in the log.
    pub leaves: AtomicU64,
    /// Statements accepted and sequenced since start.
    pub appended: AtomicU64,
    /// Re-submissions answered with the existing leaf.
    pub duplicates: AtomicU64,
    /// Statements refused, by the sequencer or the handlers.
    pub rejected: AtomicU64,
    /// Leaves re-indexed from the segments at start-up.
    pub reindexed_at_startup: AtomicU64,
    /// Leaves per committed batch.
    pub batch_leaves: Histogram,
    /// Time spent in `fdatasync` per batch.
    pub fsync_seconds: Histogram,
    /// Time spent committing a batch to sled.
    pub commit_seconds: Histogram,
    /// Time the sequencer spends preparing a batch (dedupe, governance,
    /// segment write, tree), before it is synced.
    pub sequence_seconds: Histogram,
    /// Governance state entries written (put or delete).
    pub state_writes: AtomicU64,
    /// Request latency by route.
    requests: Mutex<Vec<(String, Histogram)>>,
    /// Responses by status class.
    pub responses_2xx: AtomicU64,
    /// Client errors.
    pub responses_4xx: AtomicU64,
    /// Server errors.
    pub responses_5xx: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            leaves: AtomicU64::new(0),
            appended: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            reindexed_at_startup: AtomicU64::new(0),
            batch_leaves: Histogram::new(BATCH_BOUNDS),
            fsync_seconds: Histogram::new(LATENCY_BOUNDS),
            commit_seconds: Histogram::new(LATENCY_BOUNDS),
            sequence_seconds: Histogram::new(LATENCY_BOUNDS),
            state_writes: AtomicU64::new(0),
            requests: Mutex::new(Vec::new()),
            responses_2xx: AtomicU64::new(0),
            responses_4xx: AtomicU64::new(0),
            responses_5xx: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// Records one request on a route (the route template, not the path, so
    /// the label set stays small) and its status.
    pub fn observe_request(&self, route: &str, status: u16, elapsed: Duration) {
        match status {
            200..=299 => &self.responses_2xx,
            400..=499 => &self.responses_4xx,
            _ => &self.responses_5xx,
        }
        .fetch_add(1, Ordering::Relaxed);
        let mut routes = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, h)) = routes.iter().find(|(r, _)| r == route) {
            h.observe_duration(elapsed);
        } else if routes.len() < 64 {
            let h = Histogram::new(LATENCY_BOUNDS);
            h.observe_duration(elapsed);
            routes.push((route.to_owned(), h));
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, kind: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {}", v.load(Ordering::Relaxed));
        };
        counter(
            &mut out,
            "kaitiaki_log_leaves",
            "gauge",
            "Leaves in the node's log.",
            &self.leaves,
        );
        counter(
            &mut out,
            "kaitiaki_appended_total",
            "counter",
            "Statements sequenced since start.",
            &self.appended,
        );
        counter(
            &mut out,
            "kaitiaki_duplicates_total",
            "counter",
            "Re-submissions answered with the existing leaf.",
            &self.duplicates,
        );
        counter(
            &mut out,
            "kaitiaki_rejected_total",
            "counter",
            "Statements refused.",
            &self.rejected,
        );
        counter(
            &mut out,
            "kaitiaki_startup_reindexed_leaves",
            "gauge",
            "Leaves re-indexed from the segments at the last start-up.",
            &self.reindexed_at_startup,
        );
        let hist = |out: &mut String, name: &str, help: &str, h: &Histogram| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
            h.render(out, name, help, "");
        };
        hist(
            &mut out,
            "kaitiaki_batch_leaves",
            "Leaves per group-committed batch.",
            &self.batch_leaves,
        );
        hist(
            &mut out,
            "kaitiaki_fsync_seconds",
            "fdatasync latency per batch.",
            &self.fsync_seconds,
        );
        hist(
            &mut out,
            "kaitiaki_commit_seconds",
            "sled commit latency per batch.",
            &self.commit_seconds,
        );
        hist(
            &mut out,
            "kaitiaki_sequence_seconds",
            "Time to prepare a batch: dedupe, governance, segment write, tree.",
            &self.sequence_seconds,
        );
        counter(
            &mut out,
            "kaitiaki_state_writes_total",
            "counter",
            "Governance state entries written.",
            &self.state_writes,
        );
        let _ = writeln!(
            out,
            "# HELP kaitiaki_request_seconds Request latency by route.\n# TYPE kaitiaki_request_seconds histogram"
        );
        for (route, h) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let label = format!(
                "route=\"{}\"",
                route.replace('\\', "\\\\").replace('"', "\\\"")
            );
            h.render(&mut out, "kaitiaki_request_seconds", "", &label);
        }
        let _ = writeln!(out, "# HELP kaitiaki_responses_total Responses by status class.\n# TYPE kaitiaki_responses_total counter");
        for (class, v) in [
            ("2xx", &self.responses_2xx),
            ("4xx", &self.responses_4xx),
            ("5xx", &self.responses_5xx),
        ] {
            let _ = writeln!(
                out,
                "kaitiaki_responses_total{{class=\"{class}\"}} {}",
                v.load(Ordering::Relaxed)
            );
        }
        if let Some(rss) = rss_bytes() {
            let _ = writeln!(
                out,
                "# HELP kaitiaki_resident_memory_bytes Resident set size.\n# TYPE kaitiaki_resident_memory_bytes gauge\nkaitiaki_resident_memory_bytes {rss}"
            );
        }
        out
    }
}

/// The process's resident set size, from `/proc/self/status` (Linux only).
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.batch_leaves.observe(3.0);
        m.batch_leaves.observe(5000.0);
        m.observe_request("/v1/statements", 201, Duration::from_millis(2));
        let text = m.render();
        assert!(
            text.contains("kaitiaki_batch_leaves_bucket{le=\"4\"} 1"),
            "{text}"
        );
        assert!(text.contains("kaitiaki_batch_leaves_bucket{le=\"+Inf\"} 2"));
        assert!(text.contains("kaitiaki_request_seconds_count{route=\"/v1/statements\"} 1"));
    }
}
