//! Wall-clock time as whole Unix seconds, passed in rather than read deep inside logic.
//!
//! Token lifetimes are wall-clock facts (Spotify's `expires_in`, the 6-month refresh
//! limit), so a monotonic clock is the wrong tool here. Tests use [`ManualClock`].

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn plus_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// Seconds from `now` until `self`; negative once `self` has passed.
    pub fn secs_after(self, now: Timestamp) -> i64 {
        self.0.saturating_sub(now.0)
    }

    /// The same moment of day `months` calendar months later, the day clamped to the
    /// length of the target month (31 Aug + 6 months = 28/29 Feb).
    pub fn plus_months(self, months: u32) -> Self {
        let days = self.0.div_euclid(86_400);
        let rest = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let total = i64::from(m) - 1 + i64::from(months);
        let (y, m) = (y + total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
        let d = d.min(days_in_month(y, m));
        Self(days_from_civil(y, m, d) * 86_400 + rest)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, for people and for JSON.
    pub fn to_rfc3339(self) -> String {
        let days = self.0.div_euclid(86_400);
        let rest = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
    }

    /// Reads back what [`Self::to_rfc3339`] writes (`YYYY-MM-DDTHH:MM:SSZ`), nothing else.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        let shape_ok = b.len() == 20
            && [4, 7].iter().all(|&i| b[i] == b'-')
            && b[10] == b'T'
            && [13, 16].iter().all(|&i| b[i] == b':')
            && b[19] == b'Z';
        if !shape_ok {
            return None;
        }
        let num = |from: usize, to: usize| text.get(from..to)?.parse::<u32>().ok();
        let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (hh, mm, ss) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        let y = i64::from(y);
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || hh > 23 || mm > 59 || ss > 59 {
            return None;
        }
        Some(Self(days_from_civil(y, m, d) * 86_400 + i64::from(hh * 3600 + mm * 60 + ss)))
    }
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil-date algorithms: exact for the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Where "now" comes from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs();
        Timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
    }
}

/// A clock that only moves when told to; shared by clones.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self(Arc::new(AtomicI64::new(start.0)))
    }

    pub fn advance(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

/// How the person's locale writes a time of day, so the tray, the window and the
/// activity view agree: the locale as a BCP 47 tag ("en-GB"), and whether its clock
/// counts 12 hours ("2:32 PM") or 24 ("14:32"). Read from `LC_ALL`, `LC_TIME`, `LANG`,
/// the first one set, as the C library does; the C and POSIX locales write 24 hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ClockStyle {
    /// `None` for the C and POSIX locales (and when none is set).
    pub locale: Option<String>,
    pub hour12: bool,
}

/// Regions whose locales write the time with 12 hours and AM/PM (CLDR's preferred hour
/// format), for the languages below that follow it there.
const TWELVE_HOUR_REGIONS: [&str; 24] = [
    "US", "CA", "AU", "NZ", "IN", "PH", "PK", "BD", "EG", "SA", "AE", "JO", "KW", "QA", "OM", "BH", "IQ", "SY", "LB",
    "KR", "TW", "MY", "CO", "PR",
];

impl ClockStyle {
    /// This process's style, read from its environment once (it does not change while
    /// the process runs): the tray and every overview of the window use it.
    pub fn of_process() -> &'static Self {
        static STYLE: std::sync::OnceLock<ClockStyle> = std::sync::OnceLock::new();
        STYLE.get_or_init(Self::from_env)
    }

    pub fn from_env() -> Self {
        let set = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self::from_posix_locale(set("LC_ALL").or_else(|| set("LC_TIME")).or_else(|| set("LANG")).as_deref())
    }

    /// From a POSIX locale name: `language[_TERRITORY][.codeset][@modifier]`.
    pub fn from_posix_locale(name: Option<&str>) -> Self {
        let name = name.unwrap_or("C").trim();
        let base = name.split(['.', '@']).next().unwrap_or_default();
        let (language, region) = base.split_once('_').unwrap_or((base, ""));
        let valid = |s: &str, len: std::ops::RangeInclusive<usize>| {
            len.contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphabetic())
        };
        if matches!(base, "C" | "POSIX" | "") || !valid(language, 2..=3) || !(region.is_empty() || valid(region, 2..=2))
        {
            return Self { locale: None, hour12: false };
        }
        let (language, region) = (language.to_ascii_lowercase(), region.to_ascii_uppercase());
        // French in Canada, Spanish in the US and Portuguese anywhere keep 24 hours.
        let hour12 = TWELVE_HOUR_REGIONS.contains(&region.as_str()) && !matches!(language.as_str(), "fr" | "es" | "pt")
            || matches!(language.as_str(), "ko" | "ar" | "hi" | "bn" | "ur" | "fil");
        let locale = if region.is_empty() { language } else { format!("{language}-{region}") };
        Self { locale: Some(locale), hour12 }
    }

    /// The `strftime` pattern of an hour and minute in this style.
    pub fn time_pattern(&self) -> &'static str {
        if self.hour12 { "%-I:%M %p" } else { "%H:%M" }
    }

    /// "14:32" or "2:32 PM": `at` in the local time zone, in this style.
    pub fn local_time(&self, at: Timestamp) -> String {
        self.local(at, self.time_pattern())
    }

    /// "Sat 5 Dec 14:32" or "Sat 5 Dec 2:32 PM": for times that may be another day.
    pub fn local_day_and_time(&self, at: Timestamp) -> String {
        self.local(at, if self.hour12 { "%a %-d %b %-I:%M %p" } else { "%a %-d %b %H:%M" })
    }

    fn local(&self, at: Timestamp, pattern: &str) -> String {
        chrono::DateTime::from_timestamp(at.0, 0)
            .map(|t| t.with_timezone(&chrono::Local).format(pattern).to_string())
            .unwrap_or_default()
    }
}

/// "1h 02m", "5m 10s", "12d 3h": short, for countdowns in a terminal.
pub fn human_duration(secs: i64) -> String {
    if secs <= 0 {
        return "expired".to_string();
    }
    let (d, h, m, s) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s:02}s"),
        (0, _, _) => format!("{h}h {m:02}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// `30s`, `15m`, `24h`, `7d`, `2w` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let unit_secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    n.checked_mul(unit_secs).map(std::time::Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        let secs = |t: &str| parse_duration(t).map(|d| d.as_secs());
        assert_eq!(secs("90"), Some(90));
        assert_eq!(secs("15m"), Some(900));
        assert_eq!(secs("24h"), Some(86_400));
        assert_eq!(secs("7d"), Some(604_800));
        assert_eq!(secs("2w"), Some(1_209_600));
        for bad in ["", "d", "7x", "-1d", "1.5h", "99999999999999999999d"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    // 2026-08-31T12:00:00Z
    const AUG_31: Timestamp = Timestamp(1_788_177_600);

    proptest::proptest! {
        #![proptest_config(crate::proptest_config())]
        #[test]
        fn rfc3339_reads_back_what_it_writes(secs in 0i64..10_000_000_000) {
            let at = Timestamp(secs);
            proptest::prop_assert_eq!(Timestamp::parse_rfc3339(&at.to_rfc3339()), Some(at));
        }
    }

    #[test]
    fn the_clock_style_follows_the_locale() {
        let style = |name: &str| ClockStyle::from_posix_locale(Some(name));
        assert_eq!(style("en_US.UTF-8"), ClockStyle { locale: Some("en-US".into()), hour12: true });
        assert_eq!(style("en_GB.UTF-8"), ClockStyle { locale: Some("en-GB".into()), hour12: false });
        assert_eq!(style("de_DE.UTF-8@euro"), ClockStyle { locale: Some("de-DE".into()), hour12: false });
        assert_eq!(style("fr_CA.UTF-8"), ClockStyle { locale: Some("fr-CA".into()), hour12: false });
        assert_eq!(style("en_CA.UTF-8"), ClockStyle { locale: Some("en-CA".into()), hour12: true });
        assert_eq!(style("ko_KR.UTF-8"), ClockStyle { locale: Some("ko-KR".into()), hour12: true });
        assert_eq!(style("nl"), ClockStyle { locale: Some("nl".into()), hour12: false });
        for c in ["C", "POSIX", "C.UTF-8", "", "not a locale", "e_US"] {
            assert_eq!(style(c), ClockStyle { locale: None, hour12: false }, "{c:?}");
        }
        assert_eq!(ClockStyle::from_posix_locale(None).time_pattern(), "%H:%M");
        assert_eq!(style("en_US.UTF-8").time_pattern(), "%-I:%M %p");
    }

    /// Read from `LC_ALL`, `LC_TIME` and `LANG`, the first one set and not blank, in a
    /// child run with that environment; `of_process` is the same.
    #[test]
    fn the_clock_style_is_read_from_the_first_locale_variable_set() {
        if let Some(out) = std::env::var_os(crate::TEST_CHILD_OUT) {
            let (style, once) = (ClockStyle::from_env(), ClockStyle::of_process());
            assert_eq!(&style, once);
            std::fs::write(out, format!("{} {}", style.locale.unwrap_or_default(), style.hour12)).unwrap();
            return;
        }
        let cases = [
            ([("LC_ALL", ""), ("LC_TIME", "en_US.UTF-8"), ("LANG", "de_DE.UTF-8")], "en-US true"),
            ([("LC_ALL", "fr_CA.UTF-8"), ("LC_TIME", "en_US.UTF-8"), ("LANG", "de_DE.UTF-8")], "fr-CA false"),
            ([("LC_ALL", " "), ("LC_TIME", ""), ("LANG", "ko_KR.UTF-8")], "ko-KR true"),
            ([("LC_ALL", ""), ("LC_TIME", ""), ("LANG", "")], " false"),
        ];
        for (envs, said) in cases {
            let found =
                crate::run_as_child("clock::tests::the_clock_style_is_read_from_the_first_locale_variable_set", &envs);
            assert_eq!(found, said, "{envs:?}");
        }
    }

    /// The local time zone is the machine's, so the shape is checked, and that the
    /// three agree on the minute; 2026-08-31T12:00Z is 31 Aug or 1 Sep in every zone.
    #[test]
    fn local_times_are_written_in_the_style() {
        let h24 = ClockStyle { locale: None, hour12: false };
        let h12 = ClockStyle { locale: Some("en-US".into()), hour12: true };
        let time = h24.local_time(AUG_31);
        let (hour, minute) = time.split_once(':').expect("HH:MM");
        let h24_hour: u32 = hour.parse().unwrap_or_else(|_| panic!("{time}"));
        assert!(hour.len() == 2 && h24_hour < 24, "{time}");
        assert!(minute.len() == 2 && minute.parse::<u32>().is_ok_and(|m| m < 60), "{time}");

        let time12 = h12.local_time(AUG_31);
        let (clock, half) = time12.split_once(' ').expect("H:MM AM");
        assert!(half == "AM" || half == "PM", "{time12}");
        let (hour12, minute12) = clock.split_once(':').unwrap();
        let h12_hour: u32 = hour12.parse().unwrap_or_else(|_| panic!("{time12}"));
        assert!((1..=12).contains(&h12_hour), "{time12}");
        assert_eq!(h12_hour % 12, h24_hour % 12);
        assert_eq!(minute12, minute);
        assert_eq!(half == "PM", h24_hour >= 12);

        let day = h24.local_day_and_time(AUG_31);
        let date = day.strip_suffix(&format!(" {time}")).unwrap_or_else(|| panic!("{day} ends with {time}"));
        assert!(date == "Mon 31 Aug" || date == "Tue 1 Sep", "{day}");
        assert_eq!(h12.local_day_and_time(AUG_31), format!("{date} {time12}"));
        // A moment chrono cannot place: nothing rather than a wrong time.
        assert_eq!(h24.local_time(Timestamp(i64::MAX)), "");
    }

    #[test]
    fn the_system_clock_tells_the_time_now() {
        let now = SystemClock.now();
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        assert!((secs - 1..=secs).contains(&now.0), "{now:?} is not {secs}");
    }

    #[test]
    fn rfc3339_refuses_other_shapes() {
        // Each field one past its range, alone (each month's last day in
        // `every_month_ends_where_the_calendar_says`), then other shapes.
        let out_of_range = [
            "2026-00-25T18:00:00Z",
            "2026-13-25T18:00:00Z",
            "2026-11-00T18:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-25T24:00:00Z",
            "2026-11-25T18:60:00Z",
            "2026-11-25T18:00:60Z",
        ];
        for text in out_of_range.into_iter().chain(["2026-11-25 18:00:00Z", "2026-11-25T18:00:00+01:00", ""]) {
            assert_eq!(Timestamp::parse_rfc3339(text), None, "{text}");
        }
        assert_eq!(Timestamp::parse_rfc3339("1970-01-01T00:01:01Z"), Some(Timestamp(61)));
    }

    #[test]
    fn formats_as_rfc3339() {
        assert_eq!(AUG_31.to_rfc3339(), "2026-08-31T12:00:00Z");
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00Z");
        // The last day of a 400-year cycle and the days around it, where the civil-date
        // algorithms' rarest terms count; checked against Python's calendar.timegm.
        let edges = [
            (946_598_400, "1999-12-31"),
            (951_782_400, "2000-02-29"),
            (951_868_800, "2000-03-01"),
            (4_107_542_400, "2100-03-01"),
            (13_574_563_200, "2400-02-29"),
        ];
        for (secs, day) in edges {
            let text = format!("{day}T00:00:00Z");
            assert_eq!(Timestamp(secs).to_rfc3339(), text);
            assert_eq!(Timestamp::parse_rfc3339(&text), Some(Timestamp(secs)));
        }
    }

    #[test]
    fn six_months_clamps_to_the_end_of_february() {
        assert_eq!(AUG_31.plus_months(6).to_rfc3339(), "2027-02-28T12:00:00Z");
        let jan_15 = Timestamp(1_768_478_400); // 2026-01-15T12:00:00Z
        assert_eq!(jan_15.to_rfc3339(), "2026-01-15T12:00:00Z");
        assert_eq!(jan_15.plus_months(6).to_rfc3339(), "2026-07-15T12:00:00Z");
        assert_eq!(jan_15.plus_months(12).to_rfc3339(), "2027-01-15T12:00:00Z");
    }

    /// The last day of a month, and the day after it, with February's by the Gregorian
    /// rule: every fourth year, but not a century unless it is a fourth one.
    #[test]
    fn every_month_ends_where_the_calendar_says() {
        let ends = [
            ("2026-01", 31),
            ("2026-02", 28),
            ("2026-03", 31),
            ("2026-04", 30),
            ("2026-05", 31),
            ("2026-06", 30),
            ("2026-07", 31),
            ("2026-08", 31),
            ("2026-09", 30),
            ("2026-10", 31),
            ("2026-11", 30),
            ("2026-12", 31),
            ("2028-02", 29),
            ("2000-02", 29),
            ("2100-02", 28),
            ("1900-02", 28),
            ("0004-02", 29),
            ("0100-02", 28),
        ];
        for (month, last) in ends {
            let day = |d: u32| Timestamp::parse_rfc3339(&format!("{month}-{d:02}T00:00:00Z"));
            assert!(day(last).is_some(), "{month}-{last}");
            assert_eq!(day(last + 1), None, "{month}-{}", last + 1);
        }
        let mar_31 = Timestamp::parse_rfc3339("2026-03-31T09:30:00Z").unwrap();
        assert_eq!(mar_31.plus_months(1).to_rfc3339(), "2026-04-30T09:30:00Z");
    }

    #[test]
    fn leap_years_keep_the_29th() {
        let aug_29_2027 = Timestamp(1_819_526_400); // 2027-08-29T08:00:00Z
        assert_eq!(aug_29_2027.to_rfc3339(), "2027-08-29T08:00:00Z");
        assert_eq!(aug_29_2027.plus_months(6).to_rfc3339(), "2028-02-29T08:00:00Z");
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(AUG_31);
        assert_eq!(clock.now(), AUG_31);
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now().secs_after(AUG_31), 90);
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(0), "expired");
        assert_eq!(human_duration(42), "42s");
        assert_eq!(human_duration(310), "5m 10s");
        assert_eq!(human_duration(3720), "1h 02m");
        assert_eq!(human_duration(86_400 * 12 + 3 * 3600), "12d 3h");
    }
}
