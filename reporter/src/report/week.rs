//! ISO 8601 weeks: `2026-W47` runs from Monday 00:00 to the next Monday 00:00 in the reporting
//! time zone (a fixed UTC offset; Kazakhstan uses UTC+5 all year).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use time::{Date, Duration, OffsetDateTime, UtcOffset, Weekday};

use super::ReportError;

const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;

/// One ISO week of one ISO year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    year: i32,
    week: u8,
}

impl IsoWeek {
    /// The week, if `year` has it (weeks 1–52, or 1–53 in long years).
    pub fn new(year: i32, week: u8) -> Option<IsoWeek> {
        (week >= 1 && week <= time::util::weeks_in_year(year) && (1..=9999).contains(&year))
            .then_some(IsoWeek { year, week })
    }

    /// The ISO year (may differ from the calendar year around New Year).
    pub fn year(self) -> i32 {
        self.year
    }

    /// The week number, 1–53.
    pub fn week(self) -> u8 {
        self.week
    }

    /// The Monday that starts the week.
    pub fn monday(self) -> Date {
        // `new` checked the range, so this cannot fail; the fallback keeps it panic-free.
        Date::from_iso_week_date(self.year, self.week, Weekday::Monday).unwrap_or(Date::MIN)
    }

    /// `[start, end)` in ms since the epoch, for a week starting Monday 00:00 at `utc_offset_minutes`.
    pub fn bounds_ms(self, utc_offset_minutes: i32) -> (i64, i64) {
        let start_utc = self.monday().midnight().assume_utc().unix_timestamp() * 1000;
        let start = start_utc - i64::from(utc_offset_minutes) * 60_000;
        (start, start + WEEK_MS)
    }

    /// The week that contains the instant `ms` in the given time zone.
    pub fn containing(ms: i64, utc_offset_minutes: i32) -> IsoWeek {
        let offset = UtcOffset::from_whole_seconds(utc_offset_minutes.saturating_mul(60))
            .unwrap_or(UtcOffset::UTC);
        let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .to_offset(offset);
        let (year, week, _) = t.date().to_iso_week_date();
        IsoWeek { year, week }
    }

    /// The last week that has ended at `now_ms`: the week before the current one. This is the
    /// default for `kuzet report weekly` and the scheduled job.
    pub fn last_complete(now_ms: i64, utc_offset_minutes: i32) -> IsoWeek {
        let current = IsoWeek::containing(now_ms, utc_offset_minutes);
        let prev = current.monday() - Duration::days(7);
        let (year, week, _) = prev.to_iso_week_date();
        IsoWeek { year, week }
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

impl FromStr for IsoWeek {
    type Err = ReportError;

    /// Parses exactly `YYYY-Www` (`2026-W47`; a lower-case `w` is accepted).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ReportError::BadWeek(s.chars().take(40).collect());
        let b = s.as_bytes();
        if b.len() != 8 || b[4] != b'-' || !matches!(b[5], b'W' | b'w') {
            return Err(bad());
        }
        let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
        if !digits(&b[..4]) || !digits(&b[6..]) {
            return Err(bad());
        }
        let year: i32 = s[..4].parse().map_err(|_| bad())?;
        let week: u8 = s[6..].parse().map_err(|_| bad())?;
        IsoWeek::new(year, week).ok_or_else(bad)
    }
}

impl Serialize for IsoWeek {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let w: IsoWeek = "2026-W47".parse().unwrap();
        assert_eq!((w.year(), w.week()), (2026, 47));
        assert_eq!(w.to_string(), "2026-W47");
        assert_eq!(
            "2026-w01".parse::<IsoWeek>().unwrap().to_string(),
            "2026-W01"
        );
        // 2026 has 53 ISO weeks (it starts on a Thursday); 2025 has 52.
        assert!("2026-W53".parse::<IsoWeek>().is_ok());
        for bad in [
            "2025-W53",
            "2026-W00",
            "2026-W54",
            "2026W47",
            "2026-47",
            "26-W47",
            "2026-W4",
            "2026-W047",
            "2026-Wxx",
            "",
            "+026-W47",
            "２０２６-W47",
            "0000-W01",
        ] {
            assert!(bad.parse::<IsoWeek>().is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn bounds_start_on_monday_midnight() {
        let w: IsoWeek = "2026-W47".parse().unwrap();
        // Monday 2026-11-16 00:00 UTC = 1_794_787_200 s.
        assert_eq!(w.bounds_ms(0), (1_794_787_200_000, 1_795_392_000_000));
        // At UTC+5 the week starts five hours earlier in UTC.
        assert_eq!(w.bounds_ms(300).0, 1_794_787_200_000 - 5 * 3_600_000);
        // Week 1 of 2026 starts in December 2025.
        assert_eq!(
            "2026-W01".parse::<IsoWeek>().unwrap().monday().to_string(),
            "2025-12-29"
        );
    }

    #[test]
    fn last_complete_week() {
        let w: IsoWeek = "2026-W47".parse().unwrap();
        let (start, end) = w.bounds_ms(0);
        // Any instant in W48 → W47; the very first instant of W47 → W46.
        assert_eq!(IsoWeek::last_complete(end, 0), w);
        assert_eq!(IsoWeek::last_complete(end + 3 * 86_400_000, 0), w);
        assert_eq!(IsoWeek::last_complete(start, 0).to_string(), "2026-W46");
        assert_eq!(IsoWeek::containing(end - 1, 0), w);
        // Across the year boundary: 2026-01-05 is in W02, so W01 is the last complete one.
        let jan5 = "2026-W02".parse::<IsoWeek>().unwrap().bounds_ms(0).0;
        assert_eq!(IsoWeek::last_complete(jan5, 0).to_string(), "2026-W01");
        assert_eq!(IsoWeek::last_complete(jan5 - 1, 0).to_string(), "2025-W52");
    }
}
