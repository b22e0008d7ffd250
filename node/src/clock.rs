//! The node's clock: what time a leaf is sequenced at, and the `now` that
//! governance queries are answered at (which reports are overdue, which
//! rāhui are in force, whether a notice period has run).
//!
//! It is the system clock, unless whoever opens the node shifts it: the
//! demo seeds months of history in a minute by starting its nodes' shared
//! clock in the past and moving it forward step by step, back to the system
//! time, so the example shows reports falling due and going overdue. A
//! shift never makes the log's time run backwards: the sequencer never
//! sequences a leaf earlier than the one before it. Configuration cannot
//! shift the clock; only code that opens a node can
//! ([`crate::Node::open_with_clock`]).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use kaitiaki_protocol::Timestamp;

/// A clock shared by the nodes given it: the system clock plus a shift.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    shift_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock, unshifted.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// The time now, in Unix milliseconds.
    pub fn now_millis(&self) -> i64 {
        system_millis().saturating_add(self.shift_ms.load(Ordering::Relaxed))
    }

    /// The time now.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.now_millis()).unwrap_or(Timestamp::EPOCH)
    }

    /// Makes the clock read `at` now: every node sharing this clock moves
    /// with it. Setting a time at or after the system's returns to it.
    pub fn set(&self, at: Timestamp) {
        let shift = at.unix_millis().saturating_sub(system_millis()).min(0);
        self.shift_ms.store(shift, Ordering::Relaxed);
    }

    /// Returns the clock to the system time.
    pub fn reset(&self) {
        self.shift_ms.store(0, Ordering::Relaxed);
    }
}

/// The system's wall clock in Unix milliseconds.
pub fn system_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_clock_reads_the_time_set_and_moves_on_from_it() {
        let clock = Clock::system();
        let shared = clock.clone();
        let before = system_millis();
        let past = Timestamp::from_unix_millis(before - 400 * 86_400_000).unwrap();
        clock.set(past);
        // Read through another handle: the time set, plus what has passed
        // since, which is no more than the system clock saw pass.
        let read = shared.now_millis();
        let after = system_millis();
        assert!(
            read >= past.unix_millis(),
            "{read} < {}",
            past.unix_millis()
        );
        assert!(read - past.unix_millis() <= after - before, "{read}");
        clock.reset();
        let before = system_millis();
        let read = shared.now_millis();
        assert!((before..=system_millis()).contains(&read), "{read}");
    }

    #[test]
    fn a_clock_is_never_set_ahead_of_the_system() {
        let clock = Clock::system();
        let future = Timestamp::from_unix_millis(system_millis() + 86_400_000).unwrap();
        clock.set(future);
        assert!(clock.now_millis() <= system_millis());
    }
}
