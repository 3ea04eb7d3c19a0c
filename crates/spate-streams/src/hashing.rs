//! Partition keys to 128-bit hash keys, and hash key ranges of shards.

use md5::{Digest, Md5};

/// MD5 of the partition key as a big-endian unsigned 128-bit integer, as Kinesis maps keys.
pub fn hash_key(partition_key: &str) -> u128 {
    u128::from_be_bytes(Md5::digest(partition_key.as_bytes()).into())
}

/// Splits the whole key space into `n` contiguous ranges as AWS does at creation: each range is
/// `floor(2^128 / n)` wide and the last one runs to `2^128 - 1`.
pub fn even_ranges(n: u32) -> Vec<(u128, u128)> {
    let n = u128::from(n.max(1));
    // floor(2^128 / n), computed without 2^128: one more than floor((2^128 - 1) / n) exactly when
    // n divides 2^128. For n = 1 that is 2^128 itself, which does not fit: one range covers all.
    if n == 1 {
        return vec![(0, u128::MAX)];
    }
    let width = u128::MAX / n + u128::from(u128::MAX % n == n - 1);
    (0..n)
        .map(|i| {
            let start = i * width;
            let end = if i == n - 1 {
                u128::MAX
            } else {
                start + width - 1
            };
            (start, end)
        })
        .collect()
}

/// Parses an `ExplicitHashKey` (already checked against `0|([1-9]\d{0,38})`): `None` if it does
/// not fit in 128 bits.
pub fn parse_hash_key(text: &str) -> Option<u128> {
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_md5_values() {
        // md5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(hash_key(""), 0xd41d8cd98f00b204e9800998ecf8427e);
        // md5("a") = 0cc175b9c0f1b6a831c399e269772661
        assert_eq!(hash_key("a"), 0x0cc175b9c0f1b6a831c399e269772661);
    }

    #[test]
    fn two_and_three_shards_match_aws() {
        let two = even_ranges(2);
        assert_eq!(two[0], (0, 170141183460469231731687303715884105727));
        assert_eq!(two[1], (170141183460469231731687303715884105728, u128::MAX));
        let three = even_ranges(3);
        assert_eq!(three[0].1, 113427455640312821154458202477256070484);
        assert_eq!(three[1].0, 113427455640312821154458202477256070485);
    }

    #[test]
    fn one_shard_covers_everything() {
        assert_eq!(even_ranges(1), vec![(0, u128::MAX)]);
        assert_eq!(even_ranges(0), vec![(0, u128::MAX)]);
    }

    proptest! {
        #[test]
        fn ranges_cover_the_key_space_without_gaps(n in 1u32..2000) {
            let r = even_ranges(n);
            prop_assert_eq!(r.len(), n as usize);
            prop_assert_eq!(r[0].0, 0);
            prop_assert_eq!(r[r.len() - 1].1, u128::MAX);
            for w in r.windows(2) {
                prop_assert_eq!(w[0].1 + 1, w[1].0);
                prop_assert!(w[0].0 <= w[0].1);
            }
        }
    }

    #[test]
    fn oversized_explicit_hash_key_is_rejected() {
        assert_eq!(
            parse_hash_key("340282366920938463463374607431768211455"),
            Some(u128::MAX)
        );
        assert_eq!(
            parse_hash_key("340282366920938463463374607431768211456"),
            None
        );
    }
}
