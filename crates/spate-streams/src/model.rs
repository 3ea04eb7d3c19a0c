//! Validated domain values, produced once at the edge (`api`) and used by every component:
//! the service never compares raw strings from a request.

use std::collections::BTreeMap;
use std::fmt;

/// `[a-zA-Z0-9_.-]+`: stream names, consumer names.
pub fn is_name(v: &str) -> bool {
    !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

/// A stream name: 1 to 128 characters of `[a-zA-Z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamName(String);

impl StreamName {
    pub fn parse(text: &str) -> Option<StreamName> {
        (is_name(text) && text.len() <= 128).then(|| StreamName(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A consumer name: 1 to 128 characters of `[a-zA-Z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConsumerName(String);

impl ConsumerName {
    pub fn parse(text: &str) -> Option<ConsumerName> {
        (is_name(text) && text.len() <= 128).then(|| ConsumerName(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A shard, by its index: `shardId-000000000003` is `ShardId(3)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShardId(pub u32);

impl ShardId {
    /// AWS's reading of a shard id in a request: the text between the first and the second
    /// `-` (or the whole text when there is none, or it is empty) must be a number up to
    /// 2147483647; the prefix is ignored. So `shardId-000000000003`, `shard-3`, `anything-3`,
    /// `x-3-y` and `3` all name shard 3, and messages then show the normalised id. `None` if no
    /// number can be read (messages then show the id as given).
    pub fn resolve(text: &str) -> Option<ShardId> {
        let digits = text
            .split('-')
            .nth(1)
            .filter(|d| !d.is_empty())
            .unwrap_or(text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let significant = digits.trim_start_matches('0');
        if significant.len() > 10 {
            return None;
        }
        let value: u64 = if significant.is_empty() {
            0
        } else {
            significant.parse().ok()?
        };
        (value <= i32::MAX as u64).then_some(ShardId(value as u32))
    }
}

impl fmt::Display for ShardId {
    /// `shardId-` and twelve digits, written in one piece: PutRecords names a shard for every
    /// record it acknowledges, so `{:012}` formatting showed up in ingest profiles.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let mut text = *b"shardId-000000000000";
        let mut value = self.0;
        for slot in text[8..].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
        // Only ASCII digits and the ASCII prefix were written.
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

/// A stream ARN of any account and region: `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamArn {
    pub region: String,
    pub account: String,
    pub name: String,
}

impl StreamArn {
    pub fn parse(arn: &str) -> Option<StreamArn> {
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
        ok.then(|| StreamArn {
            region: region.to_string(),
            account: account.to_string(),
            name: name.to_string(),
        })
    }
}

/// How a request names its stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamRef {
    Name(StreamName),
    Arn(StreamArn),
}

impl StreamRef {
    /// The name the request used, for messages.
    pub fn name(&self) -> &str {
        match self {
            StreamRef::Name(n) => n.as_str(),
            StreamRef::Arn(a) => &a.name,
        }
    }
}

/// A consumer ARN: `<stream ARN>/consumer/NAME:CREATION_SECONDS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerArn {
    pub stream: StreamArn,
    pub name: String,
    pub created_secs: i64,
}

impl ConsumerArn {
    pub fn parse(arn: &str) -> Option<ConsumerArn> {
        let (stream_arn, rest) = arn.split_once("/consumer/")?;
        let (name, secs) = rest.rsplit_once(':')?;
        let created_secs = secs.parse().ok()?;
        let stream = StreamArn::parse(stream_arn)?;
        is_name(name).then(|| ConsumerArn {
            stream,
            name: name.to_string(),
            created_secs,
        })
    }
}

/// Where a reader starts in a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartingPosition {
    /// A sequence number as given (checked against the shard when it is used).
    AtSequenceNumber(String),
    AfterSequenceNumber(String),
    TrimHorizon,
    Latest,
    /// Epoch milliseconds.
    AtTimestamp(i64),
}

impl StartingPosition {
    /// The enum values in AWS's order (for validation messages).
    pub const TYPES: [&'static str; 5] = [
        "AFTER_SEQUENCE_NUMBER",
        "LATEST",
        "AT_TIMESTAMP",
        "AT_SEQUENCE_NUMBER",
        "TRIM_HORIZON",
    ];
}

/// ListShards' ShardFilter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardFilter {
    AfterShardId(ShardId),
    AtTrimHorizon,
    FromTrimHorizon,
    AtLatest,
    /// Epoch milliseconds.
    AtTimestamp(i64),
    FromTimestamp(i64),
}

/// Tags of a stream or consumer, validated.
pub type Tags = BTreeMap<String, String>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_ids_print_with_twelve_digits() {
        assert_eq!(ShardId(0).to_string(), "shardId-000000000000");
        assert_eq!(ShardId(42).to_string(), "shardId-000000000042");
        assert_eq!(ShardId(u32::MAX).to_string(), "shardId-004294967295");
        assert_eq!(format!("{}", ShardId(7)), format!("shardId-{:012}", 7));
    }

    #[test]
    fn shard_ids_resolve_as_aws_reads_them() {
        for (text, index) in [
            ("shardId-000000000003", Some(3)),
            ("shard-3", Some(3)),
            ("anything-3", Some(3)),
            ("x-3-2", Some(3)),
            ("3", Some(3)),
            ("shardId-0", Some(0)),
            ("2147483647", Some(2147483647)),
            ("-00002147483647", Some(2147483647)),
            ("a-00002147483647", Some(2147483647)),
            ("2147483648", None),
            ("shardId-002147483648", None),
            ("a-b-12", None),
            ("shardId-", None),
            ("shardId-x", None),
            ("ABKLFD8", None),
            ("2.14E4", None),
            ("shardId-99999999999999999999", None),
        ] {
            assert_eq!(ShardId::resolve(text).map(|s| s.0), index, "{text}");
        }
        assert_eq!(ShardId(12).to_string(), "shardId-000000000012");
    }

    #[test]
    fn arns_parse() {
        let arn = StreamArn::parse("arn:aws:kinesis:us-east-1:000000000000:stream/s").unwrap();
        assert_eq!((arn.region.as_str(), arn.name.as_str()), ("us-east-1", "s"));
        assert!(StreamArn::parse("arn:aws:kinesis:us-east-1:0000:stream/s").is_none());
        assert!(StreamArn::parse("arn:aws:sqs:us-east-1:000000000000:stream/s").is_none());
        let c = ConsumerArn::parse(
            "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c-1:1700000000",
        )
        .unwrap();
        assert_eq!((c.name.as_str(), c.created_secs), ("c-1", 1_700_000_000));
        assert!(ConsumerArn::parse("nonsense").is_none());
    }
}
