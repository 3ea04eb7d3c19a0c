//! Planning a shard-map change: which shards close, which are created, with exact lineage.
//! UpdateShardCount is planned as real two-way splits and merges, so every new shard's
//! ParentShardId and AdjacentParentShardId cover exactly the data it continues.

use crate::hashing::even_ranges;
use spate_catalog::{PendingChange, ShardRecord};

/// A shard the change creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewShard {
    pub index: u32,
    pub start: u128,
    pub end: u128,
    pub parent: u32,
    pub adjacent_parent: Option<u32>,
    /// An intermediate shard of a multi-step change: created and closed at once, empty.
    pub closed: bool,
}

/// The shard map change: which existing shards close, which shards are created.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub close: Vec<u32>,
    pub create: Vec<NewShard>,
}

#[derive(Clone, Copy)]
struct Piece {
    index: u32,
    start: u128,
    end: u128,
}

impl Plan {
    fn new_shard(
        &mut self,
        next: &mut u32,
        start: u128,
        end: u128,
        parent: u32,
        adjacent: Option<u32>,
    ) -> Piece {
        let index = *next;
        *next += 1;
        self.create.push(NewShard {
            index,
            start,
            end,
            parent,
            adjacent_parent: adjacent,
            closed: false,
        });
        Piece { index, start, end }
    }

    /// Closes a shard: an existing one at its current tail, a new one at once.
    fn close_shard(&mut self, index: u32) {
        match self.create.iter_mut().find(|s| s.index == index) {
            Some(new) => new.closed = true,
            None => self.close.push(index),
        }
    }

    fn split(&mut self, next: &mut u32, shard: Piece, at: u128) -> (Piece, Piece) {
        self.close_shard(shard.index);
        let left = self.new_shard(next, shard.start, at - 1, shard.index, None);
        let right = self.new_shard(next, at, shard.end, shard.index, None);
        (left, right)
    }

    fn merge(&mut self, next: &mut u32, a: Piece, b: Piece) -> Piece {
        self.close_shard(a.index);
        self.close_shard(b.index);
        self.new_shard(next, a.start, b.end, a.index, Some(b.index))
    }
}

/// The plan of a change over the open shards (ascending by hash key); new shards are numbered
/// from `next_index`.
pub(crate) fn plan(open: &[&ShardRecord], change: &PendingChange, next_index: u32) -> Plan {
    let mut plan = Plan::default();
    let mut next = next_index;
    let piece = |s: &ShardRecord| Piece {
        index: s.index,
        start: s.starting_hash_key,
        end: s.ending_hash_key,
    };
    let find = |index: u32| open.iter().find(|s| s.index == index).map(|s| piece(s));
    match *change {
        PendingChange::Split {
            shard,
            new_starting_hash_key,
        } => {
            if let Some(p) = find(shard) {
                plan.split(&mut next, p, new_starting_hash_key);
            }
        }
        PendingChange::Merge { shard, adjacent } => {
            if let (Some(a), Some(b)) = (find(shard), find(adjacent)) {
                let (low, high) = if a.start < b.start { (a, b) } else { (b, a) };
                // The shard named first is the parent, the other the adjacent parent.
                let merged = plan.merge(&mut next, low, high);
                if let Some(new) = plan.create.iter_mut().find(|s| s.index == merged.index) {
                    new.parent = a.index;
                    new.adjacent_parent = Some(b.index);
                }
            }
        }
        PendingChange::Resize { target } => {
            // Uniform scaling as a sequence of real splits and merges, so that every new shard's
            // lineage (parent, adjacent parent) covers all the data it continues: first cut each
            // open shard at the target boundaries inside it, then merge the pieces of each target.
            let targets = even_ranges(target);
            let mut pieces: Vec<Piece> = Vec::new();
            for shard in open {
                let mut current = piece(shard);
                for &(boundary, _) in &targets {
                    if boundary > current.start && boundary <= current.end {
                        let (left, right) = plan.split(&mut next, current, boundary);
                        pieces.push(left);
                        current = right;
                    }
                }
                pieces.push(current);
            }
            for &(start, end) in &targets {
                let mut group = pieces.iter().filter(|p| p.start >= start && p.end <= end);
                if let Some(&first) = group.next() {
                    let rest: Vec<Piece> = group.copied().collect();
                    rest.into_iter()
                        .fold(first, |acc, p| plan.merge(&mut next, acc, p));
                }
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_shards(ranges: &[(u128, u128)]) -> Vec<ShardRecord> {
        ranges
            .iter()
            .enumerate()
            .map(|(i, &(start, end))| ShardRecord {
                index: i as u32,
                starting_hash_key: start,
                ending_hash_key: end,
                ..ShardRecord::default()
            })
            .collect()
    }

    /// The open shards after a plan, ascending.
    fn open_after(shards: &[ShardRecord], plan: &Plan) -> Vec<(u128, u128)> {
        let mut open: Vec<(u128, u128)> = shards
            .iter()
            .filter(|s| !plan.close.contains(&s.index))
            .map(|s| (s.starting_hash_key, s.ending_hash_key))
            .chain(
                plan.create
                    .iter()
                    .filter(|s| !s.closed)
                    .map(|s| (s.start, s.end)),
            )
            .collect();
        open.sort();
        open
    }

    #[test]
    fn split_and_merge_lineage() {
        let shards = open_shards(&even_ranges(2));
        let refs: Vec<&ShardRecord> = shards.iter().collect();
        let split = plan(
            &refs,
            &PendingChange::Split {
                shard: 1,
                new_starting_hash_key: shards[1].starting_hash_key + 10,
            },
            2,
        );
        assert_eq!(split.close, vec![1]);
        assert_eq!(split.create.len(), 2);
        assert!(split.create.iter().all(|s| s.parent == 1 && !s.closed));
        assert_eq!(split.create[0].end + 1, split.create[1].start);

        let merge = plan(
            &refs,
            &PendingChange::Merge {
                shard: 1,
                adjacent: 0,
            },
            2,
        );
        assert_eq!(merge.close, vec![0, 1]);
        assert_eq!(merge.create[0].parent, 1);
        assert_eq!(merge.create[0].adjacent_parent, Some(0));
        assert_eq!((merge.create[0].start, merge.create[0].end), (0, u128::MAX));
    }

    #[test]
    fn resize_reaches_even_ranges_through_valid_lineage() {
        for from in 1..=8u32 {
            for to in from.div_ceil(2)..=from * 2 {
                let shards = open_shards(&even_ranges(from));
                let refs: Vec<&ShardRecord> = shards.iter().collect();
                let plan = plan(&refs, &PendingChange::Resize { target: to }, from);
                assert_eq!(
                    open_after(&shards, &plan),
                    even_ranges(to),
                    "{from} -> {to}"
                );
                // Every new shard's parents together cover exactly its range.
                let range_of = |index: u32| {
                    shards
                        .iter()
                        .find(|s| s.index == index)
                        .map(|s| (s.starting_hash_key, s.ending_hash_key))
                        .or_else(|| {
                            plan.create
                                .iter()
                                .find(|s| s.index == index)
                                .map(|s| (s.start, s.end))
                        })
                        .unwrap()
                };
                for new in &plan.create {
                    let parent = range_of(new.parent);
                    let covered = match new.adjacent_parent.map(range_of) {
                        Some(adjacent) => (parent.0, adjacent.1),
                        None => (new.start.max(parent.0), new.end.min(parent.1)),
                    };
                    assert_eq!(covered, (new.start, new.end), "{from} -> {to}: {new:?}");
                }
            }
        }
    }
}
