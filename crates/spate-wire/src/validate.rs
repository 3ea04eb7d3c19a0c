//! `ValidationException` messages worded as AWS words them:
//! `2 validation errors detected: Value '0' at 'shardCount' failed to satisfy constraint: Member
//! must have value greater than or equal to 1; Value null at 'streamName' failed to ...`.

use crate::error::{ApiError, ErrorKind};

/// Collects constraint violations of one request; `finish` turns them into one error.
#[derive(Default)]
pub struct Validator {
    errors: Vec<String>,
}

/// How a value is shown in a message: strings quoted, `null` bare.
fn shown(value: &str) -> String {
    format!("'{value}'")
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    fn fail(&mut self, value: String, member: &str, constraint: &str) {
        self.errors.push(format!(
            "Value {value} at '{member}' failed to satisfy constraint: Member must {constraint}"
        ));
    }

    /// The member must be present.
    pub fn required<T>(&mut self, value: &Option<T>, member: &str) -> &mut Self {
        if value.is_none() {
            self.errors.push(format!(
                "Value null at '{member}' failed to satisfy constraint: Member must not be null"
            ));
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
                self.fail(
                    shown(v),
                    member,
                    &format!("have length greater than or equal to {min}"),
                );
            } else if len > max {
                self.fail(
                    shown(v),
                    member,
                    &format!("have length less than or equal to {max}"),
                );
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
        if let Some(v) = value {
            if !matches(v) {
                self.fail(
                    shown(v),
                    member,
                    &format!("satisfy regular expression pattern: {pattern}"),
                );
            }
        }
        self
    }

    /// An integer range, when present.
    pub fn range(&mut self, value: Option<i64>, member: &str, min: i64, max: i64) -> &mut Self {
        if let Some(v) = value {
            if v < min {
                self.fail(
                    shown(&v.to_string()),
                    member,
                    &format!("have value greater than or equal to {min}"),
                );
            } else if v > max {
                self.fail(
                    shown(&v.to_string()),
                    member,
                    &format!("have value less than or equal to {max}"),
                );
            }
        }
        self
    }

    /// An enum member, when present.
    pub fn one_of(&mut self, value: Option<&str>, member: &str, allowed: &[&str]) -> &mut Self {
        if let Some(v) = value {
            if !allowed.contains(&v) {
                self.fail(
                    shown(v),
                    member,
                    &format!("satisfy enum value set: [{}]", allowed.join(", ")),
                );
            }
        }
        self
    }

    /// A blob's length in bytes. AWS shows the Java buffer, which SDK users will recognise.
    pub fn blob_length(&mut self, len: Option<usize>, member: &str, max: usize) -> &mut Self {
        if let Some(len) = len {
            if len > max {
                let value = format!("'java.nio.HeapByteBuffer[pos=0 lim={len} cap={len}]'");
                self.fail(
                    value,
                    member,
                    &format!("have length less than or equal to {max}"),
                );
            }
        }
        self
    }

    /// A collection's size, when present.
    pub fn count(&mut self, len: Option<usize>, member: &str, min: usize, max: usize) -> &mut Self {
        if let Some(len) = len {
            if len < min {
                self.fail(
                    format!("'[{len} items]'"),
                    member,
                    &format!("have length greater than or equal to {min}"),
                );
            } else if len > max {
                self.fail(
                    format!("'[{len} items]'"),
                    member,
                    &format!("have length less than or equal to {max}"),
                );
            }
        }
        self
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
    fn decimal_patterns() {
        assert!(is_hash_key("0"));
        assert!(is_hash_key("340282366920938463463374607431768211455"));
        assert!(!is_hash_key("01"));
        assert!(!is_hash_key("1234567890123456789012345678901234567890"));
        assert!(!is_sequence_number(""));
        assert!(!is_sequence_number("12a"));
    }
}
