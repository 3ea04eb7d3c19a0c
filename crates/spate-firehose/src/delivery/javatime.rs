//! The part of Java's `DateTimeFormatter` pattern language that Firehose prefixes use:
//! `!{timestamp:yyyy/MM/dd/HH/}`. Patterns are parsed once (at create or update time, so a bad
//! pattern is refused there) and formatted for each object.
//!
//! Supported letters: `y`/`u` (year; `yy` is two digits), `M` (month: `M`, `MM`, `MMM` = Jan,
//! `MMMM` = January), `d`, `D` (day of year), `H`, `h` (1-12), `k` (1-24), `K` (0-11), `m`, `s`,
//! `S` (fraction of a second), `a` (AM/PM), `E` (Mon; `EEEE` = Monday), `e` (day of week,
//! Monday = 1). Text in single quotes is literal (`''` is a quote); other characters that are
//! not ASCII letters are literal. Any other letter is refused, as Java reserves all letters.

use jiff::civil::Weekday;
use jiff::Zoned;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Field(char, usize),
}

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pieces: Vec<Piece>,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl Pattern {
    /// Parses a pattern; the error names what is wrong.
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let mut pieces = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' && chars.peek() == Some(&'\'') {
                // `''` is a single quote, inside or outside quoted text.
                chars.next();
                pieces.push(Piece::Literal("'".to_string()));
            } else if c == '\'' {
                let mut literal = String::new();
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            literal.push('\'');
                        }
                        Some('\'') => break,
                        Some(c) => literal.push(c),
                        None => return Err(format!("unterminated quote in pattern {text:?}")),
                    }
                }
                pieces.push(Piece::Literal(literal));
            } else if c.is_ascii_alphabetic() {
                if !"yuMdDHhkKmsSaEe".contains(c) {
                    return Err(format!("unsupported pattern letter '{c}' in {text:?}"));
                }
                let mut width = 1;
                while chars.peek() == Some(&c) {
                    chars.next();
                    width += 1;
                }
                pieces.push(Piece::Field(c, width));
            } else {
                pieces.push(Piece::Literal(c.to_string()));
            }
        }
        Ok(Pattern { pieces })
    }

    /// `yyyy/MM/dd/HH/`: Firehose's default prefix.
    pub fn hourly() -> Pattern {
        let slash = || Piece::Literal("/".to_string());
        Pattern {
            pieces: vec![
                Piece::Field('y', 4),
                slash(),
                Piece::Field('M', 2),
                slash(),
                Piece::Field('d', 2),
                slash(),
                Piece::Field('H', 2),
                slash(),
            ],
        }
    }

    /// The pattern in strptime's language, to parse times with (HiveJsonSerDe's
    /// TimestampFormats); `None` names a letter parsing does not support (`k`, `K`, `e`).
    pub fn to_strptime(&self) -> Result<String, String> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(&text.replace('%', "%%")),
                Piece::Field(letter, width) => out.push_str(match (letter, width) {
                    ('y' | 'u', 2) => "%y",
                    ('y' | 'u', _) => "%Y",
                    ('M', 1 | 2) => "%m",
                    ('M', 3) => "%b",
                    ('M', _) => "%B",
                    ('d', _) => "%d",
                    ('D', _) => "%j",
                    ('H', _) => "%H",
                    ('h', _) => "%I",
                    ('m', _) => "%M",
                    ('s', _) => "%S",
                    ('S', _) => "%f",
                    ('a', _) => "%p",
                    ('E', 1..=3) => "%a",
                    ('E', _) => "%A",
                    (other, _) => return Err(format!("pattern letter '{other}' cannot be parsed")),
                }),
            }
        }
        Ok(out)
    }

    pub fn format(&self, time: &Zoned) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Field(letter, width) => field(&mut out, *letter, *width, time),
            }
        }
        out
    }
}

fn number(out: &mut String, value: i64, width: usize) {
    out.push_str(&format!("{value:0width$}"));
}

fn field(out: &mut String, letter: char, width: usize, t: &Zoned) {
    let hour = i64::from(t.hour());
    match letter {
        'y' | 'u' if width == 2 => number(out, i64::from(t.year()).rem_euclid(100), 2),
        'y' | 'u' => number(out, i64::from(t.year()), width),
        'M' => month(out, t.month(), width),
        'd' => number(out, i64::from(t.day()), width),
        'D' => number(out, i64::from(t.day_of_year()), width),
        'H' => number(out, hour, width),
        'h' => number(out, (hour + 11) % 12 + 1, width),
        'k' => number(out, if hour == 0 { 24 } else { hour }, width),
        'K' => number(out, hour % 12, width),
        'm' => number(out, i64::from(t.minute()), width),
        's' => number(out, i64::from(t.second()), width),
        'S' => fraction(out, t.subsec_nanosecond(), width),
        'a' => out.push_str(if hour < 12 { "AM" } else { "PM" }),
        'E' => weekday(out, t.weekday(), width),
        'e' => number(out, i64::from(t.weekday().to_monday_one_offset()), width),
        _ => {}
    }
}

fn month(out: &mut String, month: i8, width: usize) {
    let name = MONTHS[usize::try_from(month - 1).unwrap_or(0).min(11)];
    match width {
        1 | 2 => number(out, i64::from(month), width),
        3 => out.push_str(&name[..3]),
        _ => out.push_str(name),
    }
}

fn weekday(out: &mut String, day: Weekday, width: usize) {
    let name = match day {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    };
    out.push_str(if width >= 4 { name } else { &name[..3] });
}

/// `S`: the first `width` digits of the fraction of a second.
fn fraction(out: &mut String, nanos: i32, width: usize) {
    let digits = format!("{:09}", nanos.max(0));
    let shown = &digits[..width.min(9)];
    out.push_str(shown);
    out.extend(std::iter::repeat_n('0', width.saturating_sub(9)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::TimeZone;

    fn at(ms: i64, zone: &str) -> Zoned {
        let tz = TimeZone::get(zone).unwrap();
        jiff::Timestamp::from_millisecond(ms).unwrap().to_zoned(tz)
    }

    fn fmt(pattern: &str, time: &Zoned) -> String {
        Pattern::parse(pattern).unwrap().format(time)
    }

    #[test]
    fn formats_like_java() {
        // 2018-08-27T10:30:05.123Z, a Monday.
        let t = at(1_535_365_805_123, "UTC");
        assert_eq!(fmt("yyyy/MM/dd/HH/", &t), "2018/08/27/10/");
        assert_eq!(fmt("'year='yyyy'/month='MM", &t), "year=2018/month=08");
        assert_eq!(fmt("yy-M-d H:m:s.SSS", &t), "18-8-27 10:30:5.123");
        assert_eq!(
            fmt("EEE EEEE MMM MMMM D a hh", &t),
            "Mon Monday Aug August 239 AM 10"
        );
        assert_eq!(fmt("'it''s' ''", &t), "it's '");
        assert_eq!(fmt("yyyy-MM-dd-HH-mm-ss", &t), "2018-08-27-10-30-05");
    }

    #[test]
    fn the_hourly_layout_is_the_parsed_one() {
        assert_eq!(Pattern::hourly(), Pattern::parse("yyyy/MM/dd/HH/").unwrap());
    }

    #[test]
    fn time_zones_shift_the_fields() {
        let t = at(1_535_365_805_123, "Asia/Tokyo");
        assert_eq!(fmt("yyyy/MM/dd/HH", &t), "2018/08/27/19");
    }

    #[test]
    fn unknown_letters_and_open_quotes_are_refused() {
        assert!(Pattern::parse("yyyy-QQ").is_err());
        assert!(Pattern::parse("'open").is_err());
        assert!(Pattern::parse("VV").is_err());
    }
}
