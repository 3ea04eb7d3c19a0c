//! Member rules shared by the operations (botocore's `kinesis/2013-12-02` model for limits,
//! AWS's wording for messages), and the conversions of checked members to domain values.

use crate::errors::invalid;
use crate::model::{ConsumerArn, ConsumerName, StreamArn, StreamName, StreamRef, Tags};
use spate_wire::validate::{
    is_hash_key, is_name, is_sequence_number, render_list, render_map, Validator,
};
use spate_wire::{ApiError, Int, List, Map, Str};

pub const NAME_PATTERN: &str = "[a-zA-Z0-9_.-]+";
pub const STREAM_ARN_PATTERN: &str = "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+";
pub const CONSUMER_ARN_PATTERN: &str =
    "^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+";
pub const RESOURCE_ARN_PATTERN: &str = "arn:aws.*:kinesis:.*:\\d{12}:.*(stream|channel|queue)/\\S+";
pub const HASH_KEY_PATTERN: &str = "0|([1-9]\\d{0,38})";
pub const SEQUENCE_PATTERN: &str = "0|([1-9]\\d{0,128})";

pub fn text(v: &Option<Str>) -> Option<&str> {
    v.as_deref()
}

pub fn int(v: &Option<Int>) -> Option<i64> {
    v.map(|i| i.0)
}

pub fn stream_name(v: &mut Validator, name: Option<&str>, member: &str) {
    v.pattern(name, member, NAME_PATTERN, is_name)
        .length(name, member, 1, 128);
}

pub fn stream_arn(v: &mut Validator, arn: Option<&str>, member: &str) {
    v.length(arn, member, 1, 2048)
        .pattern(arn, member, STREAM_ARN_PATTERN, |a| {
            StreamArn::parse(a).is_some()
        });
}

/// StreamId ("Not Implemented. Reserved for future use."): checked against the model's
/// pattern `[a-z0-9]{20}-[a-z0-9]{3}` and otherwise ignored.
pub fn stream_id(v: &mut Validator, id: Option<&str>) {
    let valid = |s: &str| {
        let b = s.as_bytes();
        b.len() == 24
            && b[20] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 20 || c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    v.pattern(id, "streamId", "[a-z0-9]{20}-[a-z0-9]{3}", valid)
        .length(id, "streamId", 1, 24);
}

/// A shard id member: `[a-zA-Z0-9_.-]+`, 1 to 128 characters.
pub fn shard_id(v: &mut Validator, id: Option<&str>, member: &str) {
    v.pattern(id, member, NAME_PATTERN, is_name)
        .length(id, member, 1, 128);
}

pub fn consumer_name(v: &mut Validator, name: Option<&str>) {
    v.pattern(name, "consumerName", NAME_PATTERN, is_name)
        .length(name, "consumerName", 1, 128);
}

pub fn consumer_arn(v: &mut Validator, arn: Option<&str>) {
    v.length(arn, "consumerARN", 1, 2048)
        .pattern(arn, "consumerARN", CONSUMER_ARN_PATTERN, |a| {
            ConsumerArn::parse(a).is_some()
        });
}

pub fn resource_arn(v: &mut Validator, arn: Option<&str>) {
    v.length(arn, "resourceARN", 1, 2048)
        .pattern(arn, "resourceARN", RESOURCE_ARN_PATTERN, |a| {
            a.starts_with("arn:aws") && a.contains(":kinesis:")
        });
}

/// MaxRecordSizeInKiB: 1,024 to 10,240 (the model's range).
pub fn max_record_size_kib(v: &mut Validator, kib: Option<i64>) {
    v.range(kib, "maxRecordSizeInKiB", 1024, 10240);
}

pub fn hash_key(v: &mut Validator, key: Option<&str>, member: &str) {
    v.pattern(key, member, HASH_KEY_PATTERN, is_hash_key);
}

pub fn sequence_number(v: &mut Validator, seq: Option<&str>, member: &str) {
    v.pattern(seq, member, SEQUENCE_PATTERN, is_sequence_number);
}

/// Both optional ways of naming a stream.
pub fn stream_members(v: &mut Validator, name: &Option<Str>, arn: &Option<Str>) {
    stream_name(v, text(name), "streamName");
    stream_arn(v, text(arn), "streamARN");
}

/// The stream a (validated) request names: by name if it gives one, else by ARN.
pub fn stream_ref(name: &Option<Str>, arn: &Option<Str>) -> Result<StreamRef, ApiError> {
    let by_name = text(name).and_then(StreamName::parse).map(StreamRef::Name);
    let by_arn = || text(arn).and_then(StreamArn::parse).map(StreamRef::Arn);
    by_name
        .or_else(by_arn)
        .ok_or_else(|| invalid("Either StreamName or StreamARN must be provided."))
}

/// A validated stream ARN member.
pub fn arn_of(arn: &Option<Str>) -> Result<StreamArn, ApiError> {
    text(arn)
        .and_then(StreamArn::parse)
        .ok_or_else(|| invalid("StreamARN must be provided."))
}

pub fn consumer_name_of(name: &Option<Str>) -> Option<ConsumerName> {
    text(name).and_then(ConsumerName::parse)
}

/// A tag map member: 1 to 200 tags, keys 1 to 128 characters, values up to 256.
pub fn tags(v: &mut Validator, tags: &Option<Map<Str>>, member: &str) {
    let Some(map) = tags else { return };
    let pairs: Vec<(String, String)> = map
        .0
        .iter()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    v.count(Some(pairs.len()), || render(&pairs), member, 1, 200)
        .key_lengths(Some(&pairs), member, 1, 128)
        .value_lengths(Some(&pairs), member, 0, 256);
}

/// A tag key list member: 1 to 50 keys of 1 to 128 characters.
pub fn tag_keys(v: &mut Validator, keys: &Option<List<Str>>, member: &str) {
    let Some(list) = keys else { return };
    let keys: Vec<&str> = list.0.iter().map(|k| k.as_str()).collect();
    v.count(
        Some(keys.len()),
        || render_list(keys.iter().copied()),
        member,
        1,
        50,
    )
    .element_lengths(Some(&keys[..]), member, 1, 128);
}

/// How AWS shows a map: keys that read as array indexes first, ascending, then the others in
/// request order (the order of JavaScript object properties, which AWS's messages follow).
fn render(pairs: &[(String, String)]) -> String {
    let index = |k: &str| -> Option<u32> {
        (k == "0" || (!k.starts_with('0') && k.bytes().all(|b| b.is_ascii_digit())))
            .then(|| k.parse::<u32>().ok())
            .flatten()
            .filter(|&n| n < u32::MAX)
    };
    let mut ordered: Vec<&(String, String)> = pairs.iter().collect();
    ordered.sort_by_key(|(k, _)| index(k).map_or((1, 0), |n| (0, n)));
    render_map(ordered.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

pub fn tags_of(tags: Option<Map<Str>>) -> Tags {
    tags.map(|m| m.0.into_iter().map(|(k, v)| (k, v.0)).collect())
        .unwrap_or_default()
}

pub fn keys_of(keys: Option<List<Str>>) -> Vec<String> {
    keys.map(|l| l.0.into_iter().map(|k| k.0).collect())
        .unwrap_or_default()
}

/// AWS's tag character rule, "Unicode letters, digits, white space, `_ . / = + - % @ :`", as
/// AWS applies it: ASCII letters and digits, the code points U+00C0..U+1FFF and
/// U+2C00..U+D7FF, and those punctuation marks and the space (not tabs or newlines).
pub fn valid_tag_text(text: &str) -> bool {
    text.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(c, '_' | '.' | '/' | '=' | '+' | '-' | '@' | '%' | ':' | ' ')
            || ('\u{00C0}'..='\u{1FFF}').contains(&c)
            || ('\u{2C00}'..='\u{D7FF}').contains(&c)
    })
}

/// Tag texts AWS refuses: characters outside its set; `%` gets its own message, naming the
/// operation ("add tags to" / "remove tags from").
pub fn check_tag_texts<'a>(
    texts: impl IntoIterator<Item = &'a str> + Clone,
    action: &str,
    stream: &str,
    account: &str,
) -> Result<(), ApiError> {
    if texts.clone().into_iter().any(|t| !valid_tag_text(t)) {
        return Err(invalid(
            "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @ :.",
        ));
    }
    if texts.into_iter().any(|t| t.contains('%')) {
        return Err(invalid(format!(
            "Failed to {action} stream {stream} under account {account} because some tags contained illegal characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@',':'."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_render_in_javascript_property_order() {
        let pairs: Vec<(String, String)> = [("b", "1"), ("10", "x"), ("a", "2"), ("2", "y")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(render(&pairs), "{2=y, 10=x, b=1, a=2}");
    }

    #[test]
    fn tag_characters_follow_aws() {
        for ok in ["a b", "x_y.z/w=v+u-t@s:r", "Ünïcödé", "日本", "a%b"] {
            assert!(valid_tag_text(ok), "{ok}");
        }
        for bad in ["a;b", "a,b", "a\tb", "a\nb", "a*b"] {
            assert!(!valid_tag_text(bad), "{bad:?}");
        }
        assert!(check_tag_texts(["a%b"], "add tags to", "s", "0").is_err());
        assert!(check_tag_texts(["ab"], "add tags to", "s", "0").is_ok());
    }
}
