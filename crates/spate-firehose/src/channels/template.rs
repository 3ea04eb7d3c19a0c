//! A channel's S3 output key template (OutputKeyTemplate), checked by the rules of the Kinesis
//! Data Streams developer guide ("S3 output key template for Amazon S3 delivery") and expanded
//! into object keys: `!{channel-name}`, `!{channel-id}`, `!{stream-name}`, `!{yyyy}`, `!{yy}`,
//! `!{MM}`, `!{dd}`, `!{HH}`, `!{mm}` (UTC) and a final `!{extension}` or
//! `!{extension:.literal}`. Every key gets a unique suffix (`-` and a UUID, 37 characters; AWS
//! says "up to 38"); Spate puts it before the extension, so keys keep ending in `.gz`.

use jiff::Zoned;

/// AWS's default template.
pub const DEFAULT_TEMPLATE: &str = "kinesis-channel/!{channel-name}/!{channel-id}/!{yyyy}/!{MM}/!{dd}/!{HH}/!{channel-name}-!{channel-id}-!{yyyy}-!{MM}-!{dd}-!{HH}-!{mm}!{extension}";

/// The longest an expanded template may be, in characters: the S3 key limit (1,024) less the
/// suffix AWS reserves (38).
pub const EXPANDED_MAX_CHARS: usize = 986;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    ChannelName,
    ChannelId,
    StreamName,
    Year,
    Year2,
    Month,
    Day,
    Hour,
    Minute,
    /// The compression's extension (`.gz`, `.zst`, none).
    Extension,
    /// `!{extension:.json}`.
    LiteralExtension(String),
}

/// A checked template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTemplate {
    parts: Vec<Part>,
}

/// What a key is made of besides the template.
pub struct KeyContext<'a> {
    pub channel_name: &'a str,
    pub channel_id: &'a str,
    pub stream_name: &'a str,
    /// The compression's extension: `.gz`, `.zst` or empty.
    pub extension: &'a str,
}

fn allowed_literal(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!-_'.*()/=".contains(c)
}

fn variable(name: &str) -> Result<Part, String> {
    Ok(match name {
        "channel-name" => Part::ChannelName,
        "channel-id" => Part::ChannelId,
        "stream-name" => Part::StreamName,
        "yyyy" => Part::Year,
        "yy" => Part::Year2,
        "MM" => Part::Month,
        "dd" => Part::Day,
        "HH" => Part::Hour,
        "mm" => Part::Minute,
        "extension" => Part::Extension,
        other => match other.strip_prefix("extension:") {
            Some(ext)
                if ext.starts_with('.')
                    && ext.len() > 1
                    && ext.chars().all(|c| c == '.' || c.is_ascii_lowercase()) =>
            {
                Part::LiteralExtension(ext.to_string())
            }
            Some(_) => return Err(format!("!{{{other}}} is not a valid literal extension: it must start with a period and contain only lowercase letters and periods.")),
            None => return Err(format!("!{{{other}}} is not a supported variable.")),
        },
    })
}

impl KeyTemplate {
    /// Checks `text`; `compressed`: GZIP or ZSTD is configured (an extension is then required).
    pub fn parse(text: &str, compressed: bool) -> Result<KeyTemplate, String> {
        let fail = |why: &str| Err(format!("OutputKeyTemplate {text} is not valid: {why}"));
        if text.starts_with('/') {
            return fail("it must not start with a forward slash.");
        }
        if text.contains("//") {
            return fail("it must not contain consecutive slashes.");
        }
        if text.contains("..") || text.split('/').any(|segment| segment == ".") {
            return fail("it must not contain path traversal (.. or a . segment).");
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            match rest.find("!{") {
                Some(0) => {
                    let Some(end) = rest.find('}') else {
                        return fail("a variable placeholder is not closed.");
                    };
                    match variable(&rest[2..end]) {
                        Ok(part) => parts.push(part),
                        Err(why) => return fail(&why),
                    }
                    rest = &rest[end + 1..];
                }
                at => {
                    let end = at.unwrap_or(rest.len());
                    let literal = &rest[..end];
                    if let Some(bad) = literal.chars().find(|c| !allowed_literal(*c)) {
                        return fail(&format!("{bad:?} is not allowed outside a placeholder (alphanumerics and ! - _ ' . * ( ) / = are)."));
                    }
                    parts.push(Part::Literal(literal.to_string()));
                    rest = &rest[end..];
                }
            }
        }
        let is_extension = |p: &Part| matches!(p, Part::Extension | Part::LiteralExtension(_));
        let extensions = parts.iter().filter(|p| is_extension(p)).count();
        if extensions > 1 {
            return fail("it may contain at most one extension placeholder.");
        }
        if extensions == 1 && !parts.last().is_some_and(is_extension) {
            return fail("the extension placeholder must come at the end.");
        }
        if compressed && extensions == 0 {
            return fail(
                "with GZIP or ZSTD compression it must end with an extension placeholder.",
            );
        }
        Ok(KeyTemplate { parts })
    }

    /// The key for an object whose time is `time` (UTC), with `suffix` (the unique part)
    /// before the extension.
    pub fn key(&self, ctx: &KeyContext<'_>, time: &Zoned, suffix: &str) -> String {
        let mut key = String::new();
        let mut extension = "";
        for part in &self.parts {
            match part {
                Part::Literal(text) => key.push_str(text),
                Part::ChannelName => key.push_str(ctx.channel_name),
                Part::ChannelId => key.push_str(ctx.channel_id),
                Part::StreamName => key.push_str(ctx.stream_name),
                Part::Year => key.push_str(&format!("{:04}", time.year())),
                Part::Year2 => key.push_str(&format!("{:02}", time.year().rem_euclid(100))),
                Part::Month => key.push_str(&format!("{:02}", time.month())),
                Part::Day => key.push_str(&format!("{:02}", time.day())),
                Part::Hour => key.push_str(&format!("{:02}", time.hour())),
                Part::Minute => key.push_str(&format!("{:02}", time.minute())),
                Part::Extension => extension = ctx.extension,
                Part::LiteralExtension(ext) => extension = ext,
            }
        }
        format!("{key}{suffix}{extension}")
    }

    /// The expanded length without the suffix, in characters.
    pub fn expanded_chars(&self, ctx: &KeyContext<'_>, time: &Zoned) -> usize {
        self.key(ctx, time, "").chars().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> KeyContext<'static> {
        KeyContext {
            channel_name: "orders",
            channel_id: "id-1",
            stream_name: "src",
            extension: ".gz",
        }
    }

    fn time() -> Zoned {
        // 2026-07-20T14:30:05Z.
        jiff::Timestamp::from_second(1_784_557_805)
            .unwrap()
            .to_zoned(jiff::tz::TimeZone::UTC)
    }

    #[test]
    fn the_default_template_expands_as_documented() {
        let t = KeyTemplate::parse(DEFAULT_TEMPLATE, true).unwrap();
        assert_eq!(
            t.key(&ctx(), &time(), "-u"),
            "kinesis-channel/orders/id-1/2026/07/20/14/orders-id-1-2026-07-20-14-30-u.gz"
        );
        let hive = "data/stream=!{stream-name}/!{yy}-!{MM}-!{dd}/!{HH}!{mm}!{extension:.json.gz}";
        let t = KeyTemplate::parse(hive, true).unwrap();
        assert_eq!(
            t.key(&ctx(), &time(), "-u"),
            "data/stream=src/26-07-20/1430-u.json.gz"
        );
        let minimal = KeyTemplate::parse("!{channel-name}/!{channel-id}", false).unwrap();
        assert_eq!(minimal.key(&ctx(), &time(), "-u"), "orders/id-1-u");
    }

    #[test]
    fn the_guides_invalid_templates_are_refused() {
        for (text, compressed, why) in [
            (
                "/data/!{channel-name}!{extension}",
                false,
                "start with a forward slash",
            ),
            (
                "data/../!{channel-name}!{extension}",
                false,
                "path traversal",
            ),
            ("data/./x", false, "path traversal"),
            (
                "data//!{channel-name}!{extension}",
                false,
                "consecutive slashes",
            ),
            ("!{channel-name}!{extension}/!{yyyy}", false, "at the end"),
            (
                "data/!{partition-id}!{extension}",
                false,
                "not a supported variable",
            ),
            ("data/!{channel-name}", true, "GZIP or ZSTD"),
            ("data/!{channel-name}/!{yyyy", false, "not closed"),
            ("data/!{extension:.JSON}", false, "lowercase"),
            ("data/x y", false, "not allowed"),
            ("a!{extension}!{extension}", false, "at most one"),
        ] {
            let error = KeyTemplate::parse(text, compressed).unwrap_err();
            assert!(error.contains(why), "{text}: {error}");
        }
    }
}
