//! Per-shard rate limits: token buckets for records and bytes, refilled continuously at a
//! percentage of the shard's write limits (1,000 records/s, 1 MiB/s), holding at most one
//! second's worth.

use std::time::Instant;

/// A shard's write limits.
const SHARD_RECORDS_PER_SEC: f64 = 1000.0;
const SHARD_BYTES_PER_SEC: f64 = 1_048_576.0;

#[derive(Debug, Clone)]
pub struct ShardLimit {
    records: f64,
    bytes: f64,
    records_per_sec: f64,
    bytes_per_sec: f64,
    at: Instant,
}

impl ShardLimit {
    pub fn new(percent: u32, now: Instant) -> ShardLimit {
        let share = f64::from(percent.max(1)) / 100.0;
        ShardLimit {
            records: SHARD_RECORDS_PER_SEC * share,
            bytes: SHARD_BYTES_PER_SEC * share,
            records_per_sec: SHARD_RECORDS_PER_SEC * share,
            bytes_per_sec: SHARD_BYTES_PER_SEC * share,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let secs = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now;
        self.records = (self.records + secs * self.records_per_sec).min(self.records_per_sec);
        self.bytes = (self.bytes + secs * self.bytes_per_sec).min(self.bytes_per_sec);
    }

    /// Takes one record of `bytes` if the shard has room for it now. A record larger than a
    /// full bucket passes when the bucket is full, so nothing waits forever.
    pub fn take(&mut self, bytes: usize, now: Instant) -> bool {
        self.refill(now);
        let bytes = bytes as f64;
        let fits = self.records >= 1.0 && (self.bytes >= bytes || self.bytes >= self.bytes_per_sec);
        if fits {
            self.records -= 1.0;
            self.bytes -= bytes;
        }
        fits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_shard_takes_its_percentage_per_second() {
        let t0 = Instant::now();
        let mut limit = ShardLimit::new(100, t0);
        let taken = (0..5000).filter(|_| limit.take(10, t0)).count();
        assert_eq!(taken, 1000, "one second's records at once");
        assert!(!limit.take(10, t0));
        assert!(
            limit.take(10, t0 + Duration::from_millis(2)),
            "refilled after 1 ms"
        );
        let mut big = ShardLimit::new(100, t0);
        assert!(
            big.take(2 << 20, t0),
            "an oversized record passes on a full bucket"
        );
        assert!(!big.take(1, t0), "then the bucket is in debt");
    }
}
