//! The shard map: open shards' hash key ranges, from ListShards, so records (and aggregates)
//! go to the shard their partition key hashes into, as the KPL predicts them.

/// An open shard and the hash keys it owns (inclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardRange {
    pub shard_id: String,
    pub start: u128,
    pub end: u128,
}

/// Open shards sorted by their first hash key.
#[derive(Debug, Clone, Default)]
pub struct ShardMap {
    shards: Vec<ShardRange>,
}

pub use spate_kpl::hash_key;

impl ShardMap {
    /// From (shard id, starting hash key, ending hash key) of the open shards.
    pub fn new(mut shards: Vec<ShardRange>) -> ShardMap {
        shards.sort_by_key(|s| s.start);
        ShardMap { shards }
    }

    pub fn is_empty(&self) -> bool {
        self.shards.is_empty()
    }

    pub fn len(&self) -> usize {
        self.shards.len()
    }

    /// The index of the shard owning `hash`, if the map covers it.
    pub fn shard_for(&self, hash: u128) -> Option<usize> {
        let at = self.shards.partition_point(|s| s.start <= hash);
        let i = at.checked_sub(1)?;
        (self.shards[i].end >= hash).then_some(i)
    }

    pub fn shard(&self, index: usize) -> Option<&ShardRange> {
        self.shards.get(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_keys_route_to_the_owning_shard() {
        let half = u128::MAX / 2;
        let map = ShardMap::new(vec![
            ShardRange {
                shard_id: "b".into(),
                start: half + 1,
                end: u128::MAX,
            },
            ShardRange {
                shard_id: "a".into(),
                start: 0,
                end: half,
            },
        ]);
        assert_eq!(map.shard_for(0), Some(0));
        assert_eq!(map.shard_for(half), Some(0));
        assert_eq!(map.shard_for(half + 1), Some(1));
        assert_eq!(map.shard_for(u128::MAX), Some(1));
        // Kinesis's own example: MD5("a") as a decimal hash key.
        assert_eq!(hash_key("a"), 0x0cc175b9c0f1b6a831c399e269772661);
    }
}
