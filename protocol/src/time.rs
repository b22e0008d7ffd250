//! Timestamps: RFC 3339 in UTC, millisecond resolution.
//!
//! Statements carry the author's `created_at`; leaves carry the time the home
//! node sequenced them. Both are [`Timestamp`]s. Only the `Z` offset is
//! accepted, so one instant has few spellings and nobody has to reason about
//! time zones when reading a log.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

/// An instant in UTC, as milliseconds since the Unix epoch.
///
/// INVARIANT: the value lies between 1970-01-01T00:00:00Z and
/// 9999-12-31T23:59:59.999Z, so it always formats as a four-digit year.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// The text is not `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
    #[error("timestamp {0:?} is not RFC 3339 UTC of the form YYYY-MM-DDTHH:MM:SS[.fff]Z")]
    Format(String),
    /// The instant is before 1970 or after the year 9999.
    #[error("timestamp is out of range (1970 to 9999)")]
    Range,
}

/// The largest representable instant: 9999-12-31T23:59:59.999Z.
const MAX_MILLIS: i64 = 253_402_300_799_999;

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// The latest instant PROTOCOL.md §2 allows, 9999-12-31T23:59:59.999Z.
    pub const MAX: Timestamp = Timestamp(MAX_MILLIS);

    /// From milliseconds since the epoch, clamped into the range the
    /// protocol allows (the epoch to [`Timestamp::MAX`]).
    pub fn saturating_from_unix_millis(ms: i64) -> Self {
        Timestamp(ms.clamp(0, MAX_MILLIS))
    }

    /// From milliseconds since the epoch.
    pub fn from_unix_millis(ms: i64) -> Result<Self, TimeError> {
        if (0..=MAX_MILLIS).contains(&ms) {
            Ok(Timestamp(ms))
        } else {
            Err(TimeError::Range)
        }
    }

    /// From whole seconds since the epoch.
    pub fn from_unix_seconds(s: i64) -> Result<Self, TimeError> {
        s.checked_mul(1000)
            .ok_or(TimeError::Range)
            .and_then(Self::from_unix_millis)
    }

    /// Milliseconds since the epoch.
    pub const fn unix_millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch (rounded down).
    pub const fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// This instant plus a number of whole days, saturating at the maximum.
    pub fn plus_days(self, days: u32) -> Timestamp {
        Timestamp((self.0 + i64::from(days) * 86_400_000).min(MAX_MILLIS))
    }

    /// This time less `days` whole days, no earlier than the epoch.
    pub fn minus_days(self, days: u32) -> Timestamp {
        Timestamp((self.0 - i64::from(days) * 86_400_000).max(0))
    }

    /// Parses the strict form `YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z`.
    pub fn parse(text: &str) -> Result<Self, TimeError> {
        let bad = || TimeError::Format(text.chars().take(64).collect());
        let body = text.strip_suffix('Z').ok_or_else(bad)?;
        let (main, frac) = match body.split_once('.') {
            Some((m, f)) => (m, Some(f)),
            None => (body, None),
        };
        // chrono's parser is lenient about widths; insist on the fixed shape first.
        let shape_ok = main.len() == 19
            && main.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                10 => b == b'T',
                13 | 16 => b == b':',
                _ => b.is_ascii_digit(),
            });
        // chrono reads a leap second (`:60`) as the second before it; the
        // protocol has none, so one time has one spelling.
        if !shape_ok || &main[17..] >= "60" {
            return Err(bad());
        }
        let naive = NaiveDateTime::parse_from_str(main, "%Y-%m-%dT%H:%M:%S").map_err(|_| bad())?;
        let mut ms = naive
            .and_utc()
            .timestamp()
            .checked_mul(1000)
            .ok_or(TimeError::Range)?;
        if let Some(f) = frac {
            if f.is_empty() || f.len() > 3 || !f.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let digits: i64 = f.parse().map_err(|_| bad())?;
            ms += digits * 10i64.pow(3 - f.len() as u32);
        }
        Self::from_unix_millis(ms)
    }

    /// The canonical text: seconds, plus `.fff` only when the milliseconds are not zero.
    pub fn to_rfc3339(self) -> String {
        let dt = DateTime::<Utc>::from_timestamp_millis(self.0).unwrap_or_default();
        if self.0 % 1000 == 0 {
            dt.to_rfc3339_opts(SecondsFormat::Secs, true)
        } else {
            dt.to_rfc3339_opts(SecondsFormat::Millis, true)
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse(s)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_canonically() {
        let t = Timestamp::parse("2026-11-22T09:30:00Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-22T09:30:00Z");
        let t = Timestamp::parse("2026-11-22T09:30:00.5Z").unwrap();
        assert_eq!(t.unix_millis() % 1000, 500);
        assert_eq!(t.to_rfc3339(), "2026-11-22T09:30:00.500Z");
    }

    #[test]
    fn saturating_millis_stay_in_the_protocols_range() {
        assert_eq!(Timestamp::MAX.to_rfc3339(), "9999-12-31T23:59:59.999Z");
        assert_eq!(
            Timestamp::saturating_from_unix_millis(i64::MAX),
            Timestamp::MAX
        );
        assert_eq!(Timestamp::saturating_from_unix_millis(-5), Timestamp::EPOCH);
        let t = Timestamp::from_unix_millis(10 * 86_400_000).unwrap();
        assert_eq!(t.minus_days(3).plus_days(3), t);
        assert_eq!(t.minus_days(11), Timestamp::EPOCH);
        assert_eq!(
            Timestamp::saturating_from_unix_millis(1_000).unix_millis(),
            1_000
        );
    }

    #[test]
    fn rejects_other_spellings() {
        for bad in [
            "2026-11-22T09:30:00+00:00",
            "2026-11-22 09:30:00Z",
            "2026-11-22T09:30Z",
            "2026-11-22T09:30:00.Z",
            "2026-11-22T09:30:00.1234Z",
            "2026-02-30T00:00:00Z",
            "+2026-11-22T09:30:00Z",
            "1969-12-31T23:59:59Z",
            "2026-11-01T00:10:60Z",
            "2016-12-31T23:59:60Z",
            "2016-12-31T23:59:60.500Z",
            "",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
