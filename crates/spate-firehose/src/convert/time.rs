//! Timestamps and dates in JSON, read as the deserializers read them.
//!
//! * OpenX JSON SerDe (Firehose's developer guide lists its formats):
//!   `yyyy-MM-dd'T'HH:mm:ss[.S]Z` (an RFC 3339 time with `Z` or an offset),
//!   `yyyy-[M]M-[d]d HH:mm:ss[.S]`, epoch seconds (`1518033528`), epoch milliseconds
//!   (`1518033528123`; an integer of 12 or more digits) and fractional epoch seconds
//!   (`1518033528.123`).
//! * Hive JSON SerDe: each of TimestampFormats in turn (JodaTime patterns, or `millis` for
//!   epoch milliseconds), then `java.sql.Timestamp.valueOf`'s `yyyy-[m]m-[d]d hh:mm:ss[.f...]`.
//!
//! Hive timestamps carry no zone: times with an offset are converted to UTC.

use crate::delivery::javatime::Pattern;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use serde_json::Value;

/// One of HiveJsonSerDe's TimestampFormats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimestampFormat {
    /// `millis`: epoch milliseconds.
    Millis,
    /// A JodaTime pattern, translated to strptime's language.
    Pattern(String),
}

impl TimestampFormat {
    /// Parses one of TimestampFormats; the error names a pattern that cannot be read.
    pub fn parse(text: &str) -> Result<TimestampFormat, String> {
        if text == "millis" {
            return Ok(TimestampFormat::Millis);
        }
        let pattern = Pattern::parse(text)?;
        Ok(TimestampFormat::Pattern(pattern.to_strptime()?))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeReader {
    OpenX,
    Hive(Vec<TimestampFormat>),
}

/// Epoch integers of this many digits or more are milliseconds (OpenX): 10^11 seconds is
/// the year 5138.
const MILLIS_FROM: i64 = 100_000_000_000;

impl TimeReader {
    /// Nanoseconds since the epoch.
    pub fn timestamp(&self, value: &Value) -> Result<i64, String> {
        let found = match (self, value) {
            (TimeReader::OpenX, Value::Number(n)) => n.as_i64().map_or_else(
                || n.as_f64().and_then(|s| seconds_f64(s).ok()),
                |i| Some(epoch_integer(i)),
            ),
            (TimeReader::OpenX, Value::String(s)) => openx_text(s.trim()),
            (TimeReader::Hive(formats), value) => hive(formats, value),
            _ => None,
        };
        found.ok_or_else(|| {
            format!(
                "{} is not a timestamp in a format the deserializer reads",
                super::json::shown(value)
            )
        })
    }

    /// Days since the epoch, from `yyyy-MM-dd`.
    pub fn date(&self, value: &Value) -> Result<i32, String> {
        let date = match value {
            Value::String(s) => s.trim().parse::<Date>().ok(),
            _ => None,
        };
        let date = date.ok_or_else(|| {
            format!(
                "expected a date (yyyy-MM-dd), found {}",
                super::json::shown(value)
            )
        })?;
        let days = date
            .since(Date::constant(1970, 1, 1))
            .map_err(|e| e.to_string())?
            .get_days();
        Ok(days)
    }
}

fn epoch_integer(n: i64) -> i64 {
    if n.unsigned_abs() >= MILLIS_FROM.unsigned_abs() {
        n.saturating_mul(1_000_000)
    } else {
        n.saturating_mul(1_000_000_000)
    }
}

fn seconds_f64(seconds: f64) -> Result<i64, String> {
    let nanos = seconds * 1e9;
    if nanos.is_finite() && nanos.abs() < 9.2e18 {
        Ok(nanos.round() as i64)
    } else {
        Err("out of range".into())
    }
}

fn openx_text(s: &str) -> Option<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return Some(epoch_integer(n));
    }
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return i64::try_from(t.as_nanosecond()).ok();
    }
    if let Ok(seconds) = s.parse::<f64>() {
        return seconds_f64(seconds).ok();
    }
    sql_timestamp(s)
}

fn hive(formats: &[TimestampFormat], value: &Value) -> Option<i64> {
    let text = match value {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    for format in formats {
        let found = match format {
            TimestampFormat::Millis => text
                .parse::<i64>()
                .ok()
                .map(|ms| ms.saturating_mul(1_000_000)),
            TimestampFormat::Pattern(p) => jiff::fmt::strtime::parse(p, &text)
                .and_then(|t| t.to_datetime())
                .ok()
                .and_then(civil_nanos),
        };
        if found.is_some() {
            return found;
        }
    }
    sql_timestamp(&text)
}

/// `yyyy-[m]m-[d]d hh:mm:ss[.f...]` (java.sql.Timestamp.valueOf).
fn sql_timestamp(s: &str) -> Option<i64> {
    let (date, time) = s.split_once(' ')?;
    let mut parts = date.splitn(3, '-');
    let year: i16 = parts.next()?.parse().ok()?;
    let month: i8 = parts.next()?.parse().ok()?;
    let day: i8 = parts.next()?.parse().ok()?;
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut hms = clock.splitn(3, ':');
    let hour: i8 = hms.next()?.parse().ok()?;
    let minute: i8 = hms.next()?.parse().ok()?;
    let second: i8 = hms.next()?.parse().ok()?;
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos = format!("{fraction:0<9}").parse::<i32>().ok()?;
    let dt = DateTime::new(year, month, day, hour, minute, second, nanos).ok()?;
    civil_nanos(dt)
}

fn civil_nanos(dt: DateTime) -> Option<i64> {
    let t = dt.to_zoned(TimeZone::UTC).ok()?.timestamp();
    i64::try_from(t.as_nanosecond()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T: i64 = 1_518_033_528_000_000_000; // 2018-02-07T19:58:48Z

    #[test]
    fn openx_reads_its_documented_formats() {
        let r = TimeReader::OpenX;
        assert_eq!(r.timestamp(&json!(1_518_033_528)), Ok(T));
        assert_eq!(
            r.timestamp(&json!(1_518_033_528_123i64)),
            Ok(T + 123_000_000)
        );
        assert_eq!(r.timestamp(&json!(1_518_033_528.5)), Ok(T + 500_000_000));
        assert_eq!(
            r.timestamp(&json!("2018-02-07T19:58:48.25Z")),
            Ok(T + 250_000_000)
        );
        assert_eq!(r.timestamp(&json!("2018-02-07T20:58:48+01:00")), Ok(T));
        assert_eq!(
            r.timestamp(&json!("2018-2-7 19:58:48.1")),
            Ok(T + 100_000_000)
        );
        assert!(r.timestamp(&json!("yesterday")).is_err());
        assert!(r.timestamp(&json!(true)).is_err());
    }

    #[test]
    fn hive_tries_each_format_then_the_sql_form() {
        let formats = ["millis", "dd/MM/yyyy HH:mm:ss"]
            .iter()
            .map(|f| TimestampFormat::parse(f).unwrap())
            .collect();
        let r = TimeReader::Hive(formats);
        assert_eq!(r.timestamp(&json!(1_518_033_528_000i64)), Ok(T));
        assert_eq!(r.timestamp(&json!("07/02/2018 19:58:48")), Ok(T));
        assert_eq!(r.timestamp(&json!("2018-02-07 19:58:48")), Ok(T));
        assert!(r.timestamp(&json!("2018-02-07T19:58:48Z")).is_err());
        assert!(TimestampFormat::parse("kk:mm").is_err());
    }

    #[test]
    fn dates_are_days_since_the_epoch() {
        let r = TimeReader::OpenX;
        assert_eq!(r.date(&json!("1970-01-02")), Ok(1));
        assert_eq!(r.date(&json!("1969-12-31")), Ok(-1));
        assert!(r.date(&json!(5)).is_err());
    }
}
