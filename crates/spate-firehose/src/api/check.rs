//! Validation of Firehose members, with the model's patterns written out as matchers (Java
//! regex `matches` semantics: the whole string).

use crate::model::DeliveryStreamName;
use spate_wire::validate::Validator;
use spate_wire::{ApiError, Bool, Int, Str};

pub fn text(v: &Option<Str>) -> Option<&str> {
    v.as_deref()
}

pub fn int(v: &Option<Int>) -> Option<i64> {
    v.as_ref().map(|i| i.0)
}

pub fn flag(v: &Option<Bool>) -> Option<bool> {
    v.as_ref().map(|b| b.0)
}

/// `a.b` member paths as AWS writes them.
pub fn path(parent: &str, member: &str) -> String {
    if parent.is_empty() {
        member.to_string()
    } else {
        format!("{parent}.{member}")
    }
}

pub const NAME_PATTERN: &str = "[a-zA-Z0-9_.-]+";

pub fn stream_name(v: &mut Validator, name: Option<&str>, member: &str) {
    v.length(name, member, 1, 64);
    v.pattern(name, member, NAME_PATTERN, |n| {
        n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    });
}

/// The name after validation (which has already reported an invalid one).
pub fn name_of(name: &Option<Str>) -> Result<DeliveryStreamName, ApiError> {
    text(name)
        .and_then(DeliveryStreamName::parse)
        .ok_or_else(|| crate::errors::invalid("DeliveryStreamName is invalid."))
}

/// `arn:.*:<service>:<region>:<account>:<rest>`-style matching: `.*` may hold colons, so
/// every split point is tried.
fn arn_matches(arn: &str, service_marker: &str, tail: impl Fn(&str) -> bool) -> bool {
    let Some(rest) = arn.strip_prefix("arn:") else {
        return false;
    };
    rest.match_indices(service_marker)
        .any(|(at, _)| tail(&rest[at + service_marker.len()..]))
}

fn digits12(s: &str) -> Option<&str> {
    let (account, rest) = s.split_at_checked(12)?;
    account.bytes().all(|b| b.is_ascii_digit()).then_some(rest)
}

fn chars_in(s: &str, extra: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

/// `[a-zA-Z0-9\-]+:\d{12}:` then `rest`.
fn region_account(s: &str, rest: impl Fn(&str) -> bool) -> bool {
    let Some((region, after)) = s.split_once(':') else {
        return false;
    };
    chars_in(region, "-")
        && digits12(after)
            .and_then(|r| r.strip_prefix(':'))
            .is_some_and(rest)
}

pub const ROLE_ARN_PATTERN: &str = "arn:.*:iam::\\d{12}:role/[a-zA-Z_0-9+=,.@\\-_/]+";

pub fn role_arn(arn: &str) -> bool {
    arn_matches(arn, ":iam::", |t| {
        digits12(t)
            .and_then(|r| r.strip_prefix(":role/"))
            .is_some_and(|name| chars_in(name, "_+=,.@-/"))
    })
}

pub const BUCKET_ARN_PATTERN: &str = "arn:.*:s3:::[\\w\\.\\-]{1,255}";

pub fn bucket_arn(arn: &str) -> bool {
    arn_matches(arn, ":s3:::", |b| b.len() <= 255 && chars_in(b, "_.-"))
}

pub const KINESIS_STREAM_ARN_PATTERN: &str =
    "arn:.*:kinesis:[a-zA-Z0-9\\-]+:\\d{12}:stream/[a-zA-Z0-9_.-]+";

pub fn kinesis_stream_arn(arn: &str) -> bool {
    arn_matches(arn, ":kinesis:", |t| {
        region_account(t, |r| {
            r.strip_prefix("stream/")
                .is_some_and(|n| chars_in(n, "_.-"))
        })
    })
}

pub const KMS_KEY_ARN_PATTERN: &str =
    "arn:.*:kms:[a-zA-Z0-9\\-]+:\\d{12}:(key|alias)/[a-zA-Z_0-9+=,.@\\-_/]+";
pub const SSE_KEY_ARN_PATTERN: &str =
    "arn:.*:kms:[a-zA-Z0-9\\-]+:\\d{12}:key/[a-zA-Z_0-9+=,.@\\-_/]+";

pub fn kms_key_arn(arn: &str, alias_allowed: bool) -> bool {
    arn_matches(arn, ":kms:", |t| {
        region_account(t, |r| {
            let name = r
                .strip_prefix("key/")
                .or_else(|| r.strip_prefix("alias/").filter(|_| alias_allowed));
            name.is_some_and(|n| chars_in(n, "_+=,.@-/"))
        })
    })
}

pub const FILE_EXTENSION_PATTERN: &str = "^$|\\.[0-9a-z!\\-_.*'()]+";

pub fn file_extension(ext: &str) -> bool {
    ext.is_empty()
        || ext.strip_prefix('.').is_some_and(|rest| {
            !rest.is_empty()
                && rest.bytes().all(|b| {
                    b.is_ascii_digit() || b.is_ascii_lowercase() || b"!-_.*'()".contains(&b)
                })
        })
}

pub const TIME_ZONE_PATTERN: &str = "^$|[a-zA-Z/_]+";

pub fn time_zone(zone: &str) -> bool {
    zone.bytes()
        .all(|b| b.is_ascii_alphabetic() || b == b'/' || b == b'_')
}

pub const TAG_KEY_PATTERN: &str = "^(?!aws:)[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@%]*$";
pub const TAG_VALUE_PATTERN: &str = "^[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@%]*$";

pub fn tag_text(text: &str) -> bool {
    text.chars().all(|c| {
        c.is_alphabetic() || c.is_numeric() || c.is_whitespace() || "_.:/=+-@%".contains(c)
    })
}

pub fn tag_key(key: &str) -> bool {
    !key.starts_with("aws:") && tag_text(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_match_the_model_patterns() {
        assert!(role_arn("arn:aws:iam::123456789012:role/firehose_role"));
        assert!(!role_arn("arn:aws:iam::12345:role/x"));
        assert!(bucket_arn("arn:aws:s3:::my-bucket"));
        assert!(bucket_arn("arn:aws-cn:s3:::a.b_c"));
        assert!(!bucket_arn("arn:aws:s3::my-bucket"));
        assert!(kinesis_stream_arn(
            "arn:aws:kinesis:us-east-1:000000000000:stream/s.1"
        ));
        assert!(!kinesis_stream_arn(
            "arn:aws:kinesis:us-east-1:000:stream/s"
        ));
        assert!(kms_key_arn(
            "arn:aws:kms:us-east-1:123456789012:key/abc-1",
            false
        ));
        assert!(kms_key_arn(
            "arn:aws:kms:us-east-1:123456789012:alias/x",
            true
        ));
        assert!(!kms_key_arn(
            "arn:aws:kms:us-east-1:123456789012:alias/x",
            false
        ));
    }

    #[test]
    fn small_patterns() {
        assert!(file_extension(""));
        assert!(file_extension(".json.gz"));
        assert!(!file_extension("json"));
        assert!(!file_extension(".JSON"));
        assert!(time_zone("Asia/Tokyo") && time_zone("") && !time_zone("UTC+1"));
        assert!(tag_key("team") && !tag_key("aws:x") && !tag_key("a;b"));
    }
}
