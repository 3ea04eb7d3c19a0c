//! `ValidationException` messages worded and rendered as AWS words them:
//! `2 validation errors detected: Value '0' at 'shardCount' failed to satisfy constraint: Member
//! must have value greater than or equal to 1; Value null at 'streamName' failed to ...`.
//!
//! Values are shown as AWS's Java front end prints them: strings and numbers quoted, `null` bare,
//! blobs as `java.nio.HeapByteBuffer[pos=0 lim=N cap=N]`, lists as `[a, b]`, maps as
//! `{k=v, k2=v2}` (empty: `[]`, `{}`). At most ten violations are reported.

use crate::error::{ApiError, ErrorKind};

/// Violations reported at most, as AWS reports them.
pub const MAX_REPORTED: usize = 10;

/// Collects constraint violations of one request; `finish` turns them into one error.
#[derive(Default)]
pub struct Validator {
    errors: Vec<String>,
}

/// How a list is shown: `[a, b]`.
pub fn render_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.into_iter().collect();
    format!("[{}]", items.join(", "))
}

/// How a map is shown: `{k=v, k2=v2}`.
pub fn render_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let pairs: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

fn length_constraint(min: usize, max: usize) -> String {
    format!(
        "[Member must have length less than or equal to {max}, Member must have length greater than or equal to {min}]"
    )
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one violation: `Value <shown> at '<member>' failed to satisfy constraint: <what>`.
    /// `shown` is the value as rendered, without quotes (`None` for null).
    pub fn fail(&mut self, shown: Option<&str>, member: &str, constraint: &str) -> &mut Self {
        if self.errors.len() < MAX_REPORTED {
            let value = shown.map_or_else(|| "null".to_string(), |v| format!("'{v}'"));
            self.errors.push(format!(
                "Value {value} at '{member}' failed to satisfy constraint: {constraint}"
            ));
        }
        self
    }

    /// The member must be present.
    pub fn required<T>(&mut self, value: &Option<T>, member: &str) -> &mut Self {
        if value.is_none() {
            self.fail(None, member, "Member must not be null");
        }
        self
    }

    /// A string's length in characters, when present.
    pub fn length(
        &mut self,
        value: Option<&str>,
        member: &str,
        min: usize,
        max: usize,
    ) -> &mut Self {
        if let Some(v) = value {
            let len = v.chars().count();
            if len < min {
                let c = format!("Member must have length greater than or equal to {min}");
                self.fail(Some(v), member, &c);
            } else if len > max {
                let c = format!("Member must have length less than or equal to {max}");
                self.fail(Some(v), member, &c);
            }
        }
        self
    }

    /// A string matched against a pattern; `matches` implements `pattern`.
    pub fn pattern(
        &mut self,
        value: Option<&str>,
        member: &str,
        pattern: &str,
        matches: fn(&str) -> bool,
    ) -> &mut Self {
        if let Some(v) = value.filter(|v| !matches(v)) {
            let c = format!("Member must satisfy regular expression pattern: {pattern}");
            self.fail(Some(v), member, &c);
        }
        self
    }

    /// An integer range, when present.
    pub fn range(&mut self, value: Option<i64>, member: &str, min: i64, max: i64) -> &mut Self {
        if let Some(v) = value {
            let shown = v.to_string();
            if v < min {
                let c = format!("Member must have value greater than or equal to {min}");
                self.fail(Some(&shown), member, &c);
            } else if v > max {
                let c = format!("Member must have value less than or equal to {max}");
                self.fail(Some(&shown), member, &c);
            }
        }
        self
    }

    /// An enum member, when present; `allowed` in AWS's order.
    pub fn one_of(&mut self, value: Option<&str>, member: &str, allowed: &[&str]) -> &mut Self {
        if let Some(v) = value.filter(|v| !allowed.contains(v)) {
            let c = format!(
                "Member must satisfy enum value set: [{}]",
                allowed.join(", ")
            );
            self.fail(Some(v), member, &c);
        }
        self
    }

    /// A blob's length in bytes. AWS shows the Java buffer, which SDK users will recognise.
    pub fn blob_length(&mut self, len: Option<usize>, member: &str, max: usize) -> &mut Self {
        if let Some(len) = len.filter(|&len| len > max) {
            let shown = format!("java.nio.HeapByteBuffer[pos=0 lim={len} cap={len}]");
            let c = format!("Member must have length less than or equal to {max}");
            self.fail(Some(&shown), member, &c);
        }
        self
    }

    /// A list's or map's size, when present; `shown` renders it (see [`render_list`]).
    pub fn count(
        &mut self,
        len: Option<usize>,
        shown: impl FnOnce() -> String,
        member: &str,
        min: usize,
        max: usize,
    ) -> &mut Self {
        let constraint = match len {
            Some(len) if len < min => {
                format!("Member must have length greater than or equal to {min}")
            }
            Some(len) if len > max => {
                format!("Member must have length less than or equal to {max}")
            }
            _ => return self,
        };
        self.fail(Some(&shown()), member, &constraint)
    }

    /// Every element of a string list within a length range.
    pub fn element_lengths<'a>(
        &mut self,
        items: Option<&'a [impl AsRef<str> + 'a]>,
        member: &str,
        min: usize,
        max: usize,
    ) -> &mut Self {
        let Some(items) = items else { return self };
        let ok = |s: &str| (min..=max).contains(&s.chars().count());
        if !items.iter().all(|s| ok(s.as_ref())) {
            let shown = render_list(items.iter().map(|s| s.as_ref()));
            let c = format!(
                "Member must satisfy constraint: {}",
                length_constraint(min, max)
            );
            self.fail(Some(&shown), member, &c);
        }
        self
    }

    /// Every key of a map within a length range.
    pub fn key_lengths(
        &mut self,
        pairs: Option<&[(String, String)]>,
        member: &str,
        min: usize,
        max: usize,
    ) -> &mut Self {
        self.map_lengths(
            pairs,
            member,
            min,
            max,
            "Map keys must satisfy constraint",
            |p| &p.0,
        )
    }

    /// Every value of a map within a length range.
    pub fn value_lengths(
        &mut self,
        pairs: Option<&[(String, String)]>,
        member: &str,
        min: usize,
        max: usize,
    ) -> &mut Self {
        self.map_lengths(
            pairs,
            member,
            min,
            max,
            "Map value must satisfy constraint",
            |p| &p.1,
        )
    }

    fn map_lengths(
        &mut self,
        pairs: Option<&[(String, String)]>,
        member: &str,
        min: usize,
        max: usize,
        what: &str,
        side: fn(&(String, String)) -> &String,
    ) -> &mut Self {
        let Some(pairs) = pairs else { return self };
        if !pairs
            .iter()
            .all(|p| (min..=max).contains(&side(p).chars().count()))
        {
            let shown = render_map(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            self.fail(
                Some(&shown),
                member,
                &format!("{what}: {}", length_constraint(min, max)),
            );
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn finish(&mut self) -> Result<(), ApiError> {
        match self.errors.len() {
            0 => Ok(()),
            n => {
                let plural = if n == 1 { "error" } else { "errors" };
                Err(ApiError::new(
                    ErrorKind::Validation,
                    format!(
                        "{n} validation {plural} detected: {}",
                        self.errors.join("; ")
                    ),
                ))
            }
        }
    }
}

/// `[a-zA-Z0-9_.-]+`: stream names, shard ids, consumer names.
pub fn is_name(v: &str) -> bool {
    !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

/// `0|([1-9]\d{0,38})`: a hash key.
pub fn is_hash_key(v: &str) -> bool {
    is_decimal(v, 39)
}

/// `0|([1-9]\d{0,128})`: a sequence number.
pub fn is_sequence_number(v: &str) -> bool {
    is_decimal(v, 129)
}

fn is_decimal(v: &str, max_digits: usize) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && b.len() <= max_digits
        && b.iter().all(u8::is_ascii_digit)
        && (b[0] != b'0' || b.len() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_aws_wording() {
        let e = Validator::new()
            .range(Some(0), "shardCount", 1, 100_000)
            .required(&None::<String>, "streamName")
            .finish()
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Validation);
        assert_eq!(
            e.message,
            "2 validation errors detected: Value '0' at 'shardCount' failed to satisfy constraint: \
             Member must have value greater than or equal to 1; Value null at 'streamName' failed \
             to satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn single_error_is_singular() {
        let e = Validator::new()
            .pattern(Some("a b"), "streamName", "[a-zA-Z0-9_.-]+", is_name)
            .finish()
            .unwrap_err();
        assert_eq!(
            e.message,
            "1 validation error detected: Value 'a b' at 'streamName' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        );
    }

    #[test]
    fn lists_and_maps_render_as_aws_does() {
        let tags = vec![
            ("a".repeat(129), "1".to_string()),
            ("b".to_string(), "2".to_string()),
        ];
        let e = Validator::new()
            .count(Some(0), || render_list([]), "tagKeys", 1, 50)
            .count(Some(0), || render_map([]), "tags", 1, 200)
            .key_lengths(Some(&tags), "tags", 1, 128)
            .element_lengths(Some(&["".to_string()][..]), "tagKeys", 1, 128)
            .finish()
            .unwrap_err();
        assert!(
            e.message.starts_with("4 validation errors detected: "),
            "{}",
            e.message
        );
        assert!(e.message.contains("Value '[]' at 'tagKeys' failed to satisfy constraint: Member must have length greater than or equal to 1"));
        assert!(e.message.contains("Value '{}' at 'tags'"));
        assert!(e.message.contains(&format!(
            "Value '{{{}=1, b=2}}' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]",
            "a".repeat(129)
        )));
        assert!(e.message.contains("Value '[]' at 'tagKeys' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]"));
    }

    #[test]
    fn at_most_ten_are_reported() {
        let mut v = Validator::new();
        for i in 0..25 {
            v.required(&None::<u8>, &format!("records.{i}.member.data"));
        }
        let e = v.finish().unwrap_err();
        assert!(e.message.starts_with("10 validation errors detected: "));
        assert_eq!(e.message.matches("Value null").count(), 10);
    }

    #[test]
    fn decimal_patterns() {
        assert!(is_hash_key("0"));
        assert!(is_hash_key("340282366920938463463374607431768211455"));
        assert!(!is_hash_key("01"));
        assert!(!is_hash_key("1234567890123456789012345678901234567890"));
        assert!(!is_sequence_number(""));
        assert!(!is_sequence_number("12a"));
    }
}
