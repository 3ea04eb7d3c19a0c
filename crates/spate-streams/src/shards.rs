//! ListShards: the shard map, paged and filtered by lineage and time.

use crate::errors::{invalid, not_found};
use crate::iterator::encode_token;
use crate::model::{ShardFilter, ShardId, StreamName, StreamRef};
use crate::output::shard_out;
use crate::streams::{check_token, Streams};
use spate_catalog::ShardRecord;
use spate_wire::kinesis::ListShardsOutput;
use spate_wire::ApiError;

/// Where a ListShards call starts: a stream, or the token of a previous page.
#[derive(Debug, Clone)]
pub enum ListShardsFrom {
    Stream {
        stream: StreamRef,
        exclusive_start: Option<ShardId>,
        /// Epoch milliseconds: the stream must have been created at this second.
        created_ms: Option<i64>,
    },
    Token(String),
}

/// ListShards, validated.
#[derive(Debug, Clone)]
pub struct ListShards {
    pub from: ListShardsFrom,
    pub max_results: usize,
    pub filter: Option<ShardFilter>,
}

impl Streams {
    pub fn list_shards(&self, request: ListShards) -> Result<ListShardsOutput, ApiError> {
        let store = self.store();
        let now = store.now();
        let (stream, after) = match &request.from {
            ListShardsFrom::Token(token) => {
                let position = check_token(store, token, now)?;
                let (name, after) = position
                    .rsplit_once('/')
                    .ok_or_else(|| invalid("The specified NextToken is invalid."))?;
                let name = StreamName::parse(name)
                    .ok_or_else(|| invalid("The specified NextToken is invalid."))?;
                (store.get(&name)?, after.parse::<u32>().ok().map(ShardId))
            }
            ListShardsFrom::Stream {
                stream,
                exclusive_start,
                created_ms,
            } => {
                let found = store.resolve(stream)?;
                if let Some(ms) = created_ms {
                    if ms / 1000 != found.record.created_ms / 1000 {
                        return Err(not_found(&store.config, &found.record.name));
                    }
                }
                (found, *exclusive_start)
            }
        };
        let filter_after = match request.filter {
            Some(ShardFilter::AfterShardId(id)) => Some(id),
            _ => None,
        };
        let retention_start = now - stream.retention_ms();
        let at_time = match request.filter {
            Some(ShardFilter::AtTimestamp(t)) | Some(ShardFilter::FromTimestamp(t)) => t,
            _ => now,
        };
        let t = at_time.max(retention_start);
        let keep = |s: &ShardRecord| passes(s, request.filter, t, stream.record.created_ms);
        let start_after = after.max(filter_after);
        let mut shards: Vec<&ShardRecord> = stream
            .record
            .shards
            .iter()
            .filter(|s| start_after.is_none_or(|a| s.index > a.0))
            .filter(|s| keep(s))
            .collect();
        shards.sort_by_key(|s| s.index);
        let limit = request.max_results;
        let has_more = shards.len() > limit;
        shards.truncate(limit);
        let next_token = has_more
            .then(|| {
                shards
                    .last()
                    .map(|s| encode_token(&format!("{}/{}", stream.record.name, s.index), now))
            })
            .flatten();
        Ok(ListShardsOutput {
            shards: shards.into_iter().map(|s| shard_out(&stream, s)).collect(),
            next_token,
        })
    }
}

/// Whether a shard passes a filter at time `t` (`stream_created_ms`: shards created with the
/// stream count as open from the start of time, as AWS shows them).
fn passes(s: &ShardRecord, filter: Option<ShardFilter>, t: i64, stream_created_ms: i64) -> bool {
    // Not closed by T (a closed shard's records all arrived before it closed).
    let open_at_t = s.closed_ms.is_none_or(|closed| closed > t);
    match filter {
        Some(ShardFilter::AtLatest) => s.ending_counter.is_none(),
        // Open at T: created by then and not yet closed.
        Some(ShardFilter::AtTimestamp(_)) => {
            (s.created_ms <= t || s.created_ms == stream_created_ms) && open_at_t
        }
        // Open at T, and every descendant of those: whatever was not closed by T.
        Some(ShardFilter::FromTimestamp(_)) => open_at_t,
        _ => true,
    }
}
