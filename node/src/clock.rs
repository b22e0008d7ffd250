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
//!
//! This module is the one place the node reads the system's time.

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
        self.reading(system_millis())
    }

    /// The time now.
    pub fn now(&self) -> Timestamp {
        Timestamp::saturating_from_unix_millis(self.now_millis())
    }

    /// Makes the clock read `at` now: every node sharing this clock moves
    /// with it. Setting a time at or after the system's returns to it: the
    /// clock is never ahead of the system's.
    pub fn set(&self, at: Timestamp) {
        self.set_when(at, system_millis());
    }

    /// Returns the clock to the system time.
    pub fn reset(&self) {
        self.shift_ms.store(0, Ordering::Release);
    }

    /// What the clock reads when the system clock reads `system_ms`.
    fn reading(&self, system_ms: i64) -> i64 {
        system_ms.saturating_add(self.shift_ms.load(Ordering::Acquire))
    }

    /// [`Clock::set`], with the system clock reading `system_ms`.
    fn set_when(&self, at: Timestamp, system_ms: i64) {
        let shift = at.unix_millis().saturating_sub(system_ms).min(0);
        self.shift_ms.store(shift, Ordering::Release);
    }
}

/// The system's wall clock in Unix milliseconds (0 if it reads before 1970).
pub fn system_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The system's wall clock in whole Unix seconds.
pub fn system_secs() -> u64 {
    u64::try_from(system_millis() / 1000).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn a_set_clock_reads_the_time_set_and_moves_on_with_the_system() {
        let clock = Clock::system();
        let shared = clock.clone();
        let system = 1_780_000_000_000;
        let past = Timestamp::from_unix_millis(system - 400 * DAY).unwrap();
        clock.set_when(past, system);
        // Every handle reads the time set, and moves on as the system does.
        assert_eq!(shared.reading(system), past.unix_millis());
        assert_eq!(shared.reading(system + 1_500), past.unix_millis() + 1_500);
        clock.reset();
        assert_eq!(shared.reading(system + 1_500), system + 1_500);
    }

    #[test]
    fn a_clock_is_never_set_ahead_of_the_system() {
        let clock = Clock::system();
        let system = 1_780_000_000_000;
        clock.set_when(Timestamp::from_unix_millis(system + DAY).unwrap(), system);
        assert_eq!(clock.reading(system), system);
    }
}
