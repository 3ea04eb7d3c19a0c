//! Shared member checks, in AWS's wording.

use spate_wire::validate::{is_name, Validator};

pub const NAME_PATTERN: &str = "[a-zA-Z0-9_.-]+";
pub const ARN_PATTERN: &str = "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+";

pub fn stream_name(v: &mut Validator, name: Option<&str>, member: &str) {
    v.length(name, member, 1, 128)
        .pattern(name, member, NAME_PATTERN, is_name);
}

pub fn stream_arn(v: &mut Validator, arn: Option<&str>, member: &str) {
    v.length(arn, member, 1, 2048)
        .pattern(arn, member, ARN_PATTERN, is_stream_arn);
}

/// Both optional ways of naming a stream.
pub fn stream_ref(v: &mut Validator, input: &impl spate_wire::kinesis::NamesStream) {
    stream_name(v, input.stream_name(), "streamName");
    stream_arn(v, input.stream_arn(), "streamARN");
}

pub fn shard_id(v: &mut Validator, id: Option<&str>, member: &str) {
    v.length(id, member, 1, 128)
        .pattern(id, member, NAME_PATTERN, is_name);
}

fn is_stream_arn(arn: &str) -> bool {
    split_stream_arn(arn).is_some()
}

/// `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME` -> (region, account, name).
pub fn split_stream_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (arn_lit, partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let name = resource.strip_prefix("stream/")?;
    let ok = arn_lit == "arn"
        && partition.starts_with("aws")
        && service == "kinesis"
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && !name.contains(char::is_whitespace);
    ok.then_some((region, account, name))
}

/// `shardId-000000000003` -> 3. AWS also accepts the bare number.
pub fn parse_shard_id(id: &str) -> Option<u32> {
    id.strip_prefix("shardId-").unwrap_or(id).parse().ok()
}

pub fn format_shard_id(index: u32) -> String {
    format!("shardId-{index:012}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_shard_ids() {
        assert_eq!(
            split_stream_arn("arn:aws:kinesis:us-east-1:000000000000:stream/s"),
            Some(("us-east-1", "000000000000", "s"))
        );
        assert_eq!(
            split_stream_arn("arn:aws:kinesis:us-east-1:0000:stream/s"),
            None
        );
        assert_eq!(
            split_stream_arn("arn:aws:sqs:us-east-1:000000000000:stream/s"),
            None
        );
        assert_eq!(parse_shard_id("shardId-000000000012"), Some(12));
        assert_eq!(format_shard_id(12), "shardId-000000000012");
        assert_eq!(parse_shard_id("shardId-x"), None);
    }
}
