//! Queues as domain values (persisted as catalog documents), receipt handles and record ids.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const FORMAT_VERSION: u32 = 1;
/// AWS's defaults: 30 s visibility, dead letters after 6 receives.
pub const DEFAULT_VISIBILITY_SECS: u32 = 30;
pub const DEFAULT_MAX_RECEIVES: u32 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
    AtTimestamp(i64),
}

impl StartingPosition {
    pub fn as_str(&self) -> &'static str {
        match self {
            StartingPosition::TrimHorizon => "TRIM_HORIZON",
            StartingPosition::Latest => "LATEST",
            StartingPosition::AtTimestamp(_) => "AT_TIMESTAMP",
        }
    }
}

/// One stream a queue delivers from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStream {
    pub arn: String,
    pub name: String,
    /// Tells this stream from a later one of the same name.
    pub created_ms: i64,
    pub starting: StartingPosition,
    /// Where each shard that existed at creation starts (LATEST and AT_TIMESTAMP are fixed then;
    /// shards created later start at their beginning).
    pub starts: BTreeMap<u32, u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lifecycle {
    Creating { until_ms: i64 },
    Active,
    Updating { until_ms: i64 },
    Deleting { until_ms: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueRecord {
    pub format: u32,
    pub name: String,
    pub arn: String,
    pub created_ms: i64,
    pub streams: Vec<QueueStream>,
    pub visibility_secs: u32,
    /// `None`: dead-letter handling off (TargetType NONE).
    pub max_receives: Option<u32>,
    pub lifecycle: Lifecycle,
    pub tags: BTreeMap<String, String>,
    /// The log shard holding the queue's journal.
    pub journal: u64,
}

impl QueueRecord {
    pub fn status(&self, now: i64) -> &'static str {
        match self.lifecycle {
            Lifecycle::Creating { until_ms } if now < until_ms => "CREATING",
            Lifecycle::Updating { until_ms } if now < until_ms => "UPDATING",
            Lifecycle::Deleting { .. } => "DELETING",
            _ => "ACTIVE",
        }
    }

    /// Receiving works while ACTIVE or UPDATING.
    pub fn delivers(&self, now: i64) -> bool {
        matches!(self.status(now), "ACTIVE" | "UPDATING")
    }
}

/// A receipt handle: which queue incarnation, record and receive it names, opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handle {
    pub queue_created_ms: i64,
    pub key: crate::state::Key,
    pub generation: u32,
}

impl Handle {
    pub fn encode(&self) -> String {
        let (s, shard, p) = self.key;
        let text = format!(
            "{}.{s}.{shard}.{p}.{}",
            self.queue_created_ms, self.generation
        );
        URL_SAFE_NO_PAD.encode(text)
    }

    pub fn decode(text: &str) -> Option<Handle> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut parts = text.split('.');
        let mut next = || parts.next();
        let handle = Handle {
            queue_created_ms: next()?.parse().ok()?,
            key: (
                next()?.parse().ok()?,
                next()?.parse().ok()?,
                next()?.parse().ok()?,
            ),
            generation: next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(handle)
    }
}

/// A record's id: the same in every delivery and every queue on the stream (lower-case hex of
/// the stream's creation, the shard and the position).
pub fn record_id(stream_created_ms: i64, shard: u32, position: u64) -> String {
    format!(
        "{:011x}{shard:08x}{position:016x}",
        stream_created_ms.max(0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip_and_garbage_is_refused() {
        let h = Handle {
            queue_created_ms: 1_796_083_200_000,
            key: (1, 7, 123_456),
            generation: 3,
        };
        assert_eq!(Handle::decode(&h.encode()), Some(h));
        for bad in ["", "abc", "!!!", &URL_SAFE_NO_PAD.encode("1.2.3")] {
            assert_eq!(Handle::decode(bad), None, "{bad}");
        }
        let id = record_id(1_796_083_200_000, 7, 123_456);
        assert!(
            id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        );
    }
}
