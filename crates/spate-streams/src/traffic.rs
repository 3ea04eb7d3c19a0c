//! Per-shard traffic: AWS's per-shard limits as token buckets (switchable), and the observed write
//! rate of every shard with the spread of its hash keys, for hot-shard detection and ON_DEMAND
//! scaling.
//!
//! Buckets follow AWS's documented behaviour: write capacity is "a tank that refills at a steady
//! rate", so a record is admitted while the byte bucket is not empty and may overdraw it (a 10 MiB
//! record then throttles the shard for about nine seconds); records per second and GetRecords calls
//! per second are strict. Reads overdraw the same way: a 10 MiB GetRecords response throttles the
//! shard's readers for about five seconds, as AWS documents.

use spate_log::ShardLogId;
use std::collections::HashMap;
use std::sync::Mutex;

/// How many slices of a shard's hash range the write histogram keeps.
pub const HASH_BUCKETS: usize = 32;

/// Observed rates average over about this long by default (an exponential moving average).
pub const DEFAULT_RATE_WINDOW_MS: u64 = 10_000;

/// AWS's per-shard limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShardLimits {
    pub write_bytes_per_sec: f64,
    pub write_records_per_sec: f64,
    pub read_bytes_per_sec: f64,
    pub read_calls_per_sec: f64,
}

impl Default for ShardLimits {
    fn default() -> Self {
        ShardLimits {
            write_bytes_per_sec: 1024.0 * 1024.0,
            write_records_per_sec: 1000.0,
            read_bytes_per_sec: 2.0 * 1024.0 * 1024.0,
            read_calls_per_sec: 5.0,
        }
    }
}

/// A token bucket holding at most one second of its rate.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last_ms: i64,
}

impl Bucket {
    fn full(rate: f64, now_ms: i64) -> Bucket {
        Bucket {
            tokens: rate,
            last_ms: now_ms,
        }
    }

    fn refill(&mut self, rate: f64, now_ms: i64) {
        let elapsed = (now_ms - self.last_ms).max(0) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * rate).min(rate);
        self.last_ms = now_ms.max(self.last_ms);
    }
}

/// An exponentially decayed sum; `rate()` is per second.
#[derive(Debug, Clone, Copy, Default)]
struct Meter {
    sum: f64,
}

impl Meter {
    fn per_sec(&self, window_ms: f64) -> f64 {
        self.sum / (window_ms / 1000.0)
    }
}

/// What one shard has seen, and its buckets.
#[derive(Debug, Clone)]
struct ShardTraffic {
    last_ms: i64,
    write_bytes: Meter,
    write_records: Meter,
    read_bytes: Meter,
    write_throttled: Meter,
    read_throttled: Meter,
    /// Decayed bytes written per slice of the shard's hash range.
    histogram: [f64; HASH_BUCKETS],
    buckets: [Bucket; 4],
}

const WRITE_BYTES: usize = 0;
const WRITE_RECORDS: usize = 1;
const READ_BYTES: usize = 2;
const READ_CALLS: usize = 3;

impl ShardTraffic {
    fn new(limits: &ShardLimits, now_ms: i64) -> ShardTraffic {
        ShardTraffic {
            last_ms: now_ms,
            write_bytes: Meter::default(),
            write_records: Meter::default(),
            read_bytes: Meter::default(),
            write_throttled: Meter::default(),
            read_throttled: Meter::default(),
            histogram: [0.0; HASH_BUCKETS],
            buckets: [
                Bucket::full(limits.write_bytes_per_sec, now_ms),
                Bucket::full(limits.write_records_per_sec, now_ms),
                Bucket::full(limits.read_bytes_per_sec, now_ms),
                Bucket::full(limits.read_calls_per_sec, now_ms),
            ],
        }
    }

    /// Ages the meters to `now_ms` and refills the buckets.
    fn advance(&mut self, limits: &ShardLimits, window_ms: f64, now_ms: i64) {
        if now_ms > self.last_ms {
            let decay = (-((now_ms - self.last_ms) as f64) / window_ms).exp();
            for meter in [
                &mut self.write_bytes,
                &mut self.write_records,
                &mut self.read_bytes,
                &mut self.write_throttled,
                &mut self.read_throttled,
            ] {
                meter.sum *= decay;
            }
            for slot in &mut self.histogram {
                *slot *= decay;
            }
            self.last_ms = now_ms;
        }
        let rates = [
            limits.write_bytes_per_sec,
            limits.write_records_per_sec,
            limits.read_bytes_per_sec,
            limits.read_calls_per_sec,
        ];
        for (bucket, rate) in self.buckets.iter_mut().zip(rates) {
            bucket.refill(rate, now_ms);
        }
    }
}

/// Observed traffic of one shard, per second over the last ~10 s.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficReport {
    pub write_bytes_per_sec: f64,
    pub write_records_per_sec: f64,
    pub read_bytes_per_sec: f64,
    pub write_throttled_per_sec: f64,
    pub read_throttled_per_sec: f64,
    /// Share of the written bytes per slice of the hash range (sums to 1, or all 0 when idle).
    pub hash_spread: Vec<f64>,
}

impl TrafficReport {
    /// The hash key that splits the shard's observed write traffic in halves, if the traffic is
    /// spread over more than one slice (one hot key cannot be split).
    pub fn halving_key(&self, start: u128, end: u128) -> Option<u128> {
        let mut best: Option<(f64, usize)> = None;
        let mut left = 0.0;
        for boundary in 1..HASH_BUCKETS {
            left += self.hash_spread[boundary - 1];
            let imbalance = (left - 0.5).abs();
            if left > 0.0 && left < 1.0 && best.is_none_or(|(b, _)| imbalance < b) {
                best = Some((imbalance, boundary));
            }
        }
        let (_, boundary) = best?;
        let key = slice_start(start, end, boundary);
        (key > start + 1 && key < end).then_some(key)
    }
}

/// The slice of a shard's range a hash key falls in.
pub fn hash_slice(start: u128, end: u128, hash: u128) -> usize {
    let width = (end - start) / HASH_BUCKETS as u128 + 1;
    (((hash.saturating_sub(start)) / width) as usize).min(HASH_BUCKETS - 1)
}

fn slice_start(start: u128, end: u128, slice: usize) -> u128 {
    let width = (end - start) / HASH_BUCKETS as u128 + 1;
    start + width * slice as u128
}

/// Every shard's traffic. One lock: a request touches it once per record batch.
pub struct Traffic {
    limits: ShardLimits,
    enforce: bool,
    window_ms: f64,
    shards: Mutex<HashMap<ShardLogId, ShardTraffic>>,
}

/// One record offered for writing.
#[derive(Debug, Clone, Copy)]
pub struct WriteOffer {
    pub shard: ShardLogId,
    pub slice: usize,
    pub bytes: usize,
}

impl Traffic {
    /// `enforce` switches the limits on; traffic is observed either way, as moving averages over
    /// about `window_ms`.
    pub fn new(limits: ShardLimits, enforce: bool, window_ms: u64) -> Traffic {
        Traffic {
            limits,
            enforce,
            window_ms: window_ms.max(1) as f64,
            shards: Mutex::new(HashMap::new()),
        }
    }

    pub fn enforcing(&self) -> bool {
        self.enforce
    }

    fn with_shard<T>(
        &self,
        shards: &mut HashMap<ShardLogId, ShardTraffic>,
        shard: ShardLogId,
        now_ms: i64,
        f: impl FnOnce(&mut ShardTraffic) -> T,
    ) -> T {
        let entry = shards
            .entry(shard)
            .or_insert_with(|| ShardTraffic::new(&self.limits, now_ms));
        entry.advance(&self.limits, self.window_ms, now_ms);
        f(entry)
    }

    /// Decides for each offered record whether its shard has capacity (`admitted[i]`), and
    /// counts the admitted ones. Without enforcement everything is admitted.
    pub fn admit_writes(&self, now_ms: i64, offers: &[WriteOffer], admitted: &mut Vec<bool>) {
        admitted.clear();
        let mut shards = self.shards.lock().unwrap_or_else(|e| e.into_inner());
        for offer in offers {
            let enforce = self.enforce;
            let ok = self.with_shard(&mut shards, offer.shard, now_ms, |t| {
                let ok = !enforce
                    || (t.buckets[WRITE_RECORDS].tokens >= 1.0
                        && t.buckets[WRITE_BYTES].tokens > 0.0);
                if ok {
                    t.buckets[WRITE_RECORDS].tokens -= 1.0;
                    t.buckets[WRITE_BYTES].tokens -= offer.bytes as f64;
                    t.write_bytes.sum += offer.bytes as f64;
                    t.write_records.sum += 1.0;
                    t.histogram[offer.slice.min(HASH_BUCKETS - 1)] += offer.bytes as f64;
                } else {
                    t.write_throttled.sum += 1.0;
                }
                ok
            });
            admitted.push(ok);
        }
    }

    /// Takes one GetRecords call from the shard's read capacity; false when throttled.
    pub fn admit_read(&self, now_ms: i64, shard: ShardLogId) -> bool {
        if !self.enforce {
            return true;
        }
        let mut shards = self.shards.lock().unwrap_or_else(|e| e.into_inner());
        self.with_shard(&mut shards, shard, now_ms, |t| {
            let ok = t.buckets[READ_CALLS].tokens >= 1.0 && t.buckets[READ_BYTES].tokens > 0.0;
            if ok {
                t.buckets[READ_CALLS].tokens -= 1.0;
            } else {
                t.read_throttled.sum += 1.0;
            }
            ok
        })
    }

    /// Counts bytes a read returned (against the read bucket when enforcing).
    pub fn record_read(&self, now_ms: i64, shard: ShardLogId, bytes: usize) {
        let mut shards = self.shards.lock().unwrap_or_else(|e| e.into_inner());
        let enforce = self.enforce;
        self.with_shard(&mut shards, shard, now_ms, |t| {
            t.read_bytes.sum += bytes as f64;
            if enforce {
                t.buckets[READ_BYTES].tokens -= bytes as f64;
            }
        });
    }

    pub fn report(&self, now_ms: i64, shard: ShardLogId) -> TrafficReport {
        let mut shards = self.shards.lock().unwrap_or_else(|e| e.into_inner());
        let w = self.window_ms;
        self.with_shard(&mut shards, shard, now_ms, |t| {
            let total: f64 = t.histogram.iter().sum();
            TrafficReport {
                write_bytes_per_sec: t.write_bytes.per_sec(w),
                write_records_per_sec: t.write_records.per_sec(w),
                read_bytes_per_sec: t.read_bytes.per_sec(w),
                write_throttled_per_sec: t.write_throttled.per_sec(w),
                read_throttled_per_sec: t.read_throttled.per_sec(w),
                hash_spread: t
                    .histogram
                    .iter()
                    .map(|&b| if total > 0.0 { b / total } else { 0.0 })
                    .collect(),
            }
        })
    }

    /// Forgets shards that no longer exist.
    pub fn retain(&self, live: impl Fn(ShardLogId) -> bool) {
        self.shards
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|&id, _| live(id));
    }

    pub fn limits(&self) -> &ShardLimits {
        &self.limits
    }

    /// The larger of a report's write bytes and records as a fraction of the shard's limits.
    pub fn write_load(&self, report: &TrafficReport) -> f64 {
        (report.write_bytes_per_sec / self.limits.write_bytes_per_sec)
            .max(report.write_records_per_sec / self.limits.write_records_per_sec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(bytes: usize) -> WriteOffer {
        WriteOffer {
            shard: 1,
            slice: 0,
            bytes,
        }
    }

    #[test]
    fn records_per_second_are_strict_and_refill() {
        let t = Traffic::new(ShardLimits::default(), true, DEFAULT_RATE_WINDOW_MS);
        let mut admitted = Vec::new();
        t.admit_writes(0, &vec![offer(1); 1500], &mut admitted);
        assert_eq!(admitted.iter().filter(|&&a| a).count(), 1000);
        t.admit_writes(500, &vec![offer(1); 1000], &mut admitted);
        assert_eq!(admitted.iter().filter(|&&a| a).count(), 500);
    }

    #[test]
    fn a_large_record_overdraws_the_byte_bucket() {
        let t = Traffic::new(ShardLimits::default(), true, DEFAULT_RATE_WINDOW_MS);
        let mut admitted = Vec::new();
        t.admit_writes(0, &[offer(10 << 20), offer(1)], &mut admitted);
        assert_eq!(admitted, vec![true, false]);
        // Nine seconds later the bucket is still overdrawn; after ten it admits again.
        t.admit_writes(9_000, &[offer(1)], &mut admitted);
        assert_eq!(admitted, vec![false]);
        t.admit_writes(10_100, &[offer(1)], &mut admitted);
        assert_eq!(admitted, vec![true]);
    }

    #[test]
    fn reads_allow_five_calls_per_second() {
        let t = Traffic::new(ShardLimits::default(), true, DEFAULT_RATE_WINDOW_MS);
        let calls: Vec<bool> = (0..7).map(|_| t.admit_read(0, 1)).collect();
        assert_eq!(calls.iter().filter(|&&a| a).count(), 5);
        assert!(t.admit_read(200, 1));
    }

    #[test]
    fn without_enforcement_everything_is_admitted_and_observed() {
        let t = Traffic::new(ShardLimits::default(), false, DEFAULT_RATE_WINDOW_MS);
        let mut admitted = Vec::new();
        t.admit_writes(0, &vec![offer(100); 5000], &mut admitted);
        assert!(admitted.iter().all(|&a| a));
        let report = t.report(0, 1);
        assert!((report.write_records_per_sec - 500.0).abs() < 1e-6);
        assert!((report.write_bytes_per_sec - 50_000.0).abs() < 1e-6);
    }

    #[test]
    fn halving_key_follows_traffic_not_the_midpoint() {
        let t = Traffic::new(ShardLimits::default(), false, DEFAULT_RATE_WINDOW_MS);
        let (start, end) = (0u128, u128::MAX);
        // Three quarters of the bytes land in the first eighth of the range.
        let mut offers = Vec::new();
        for i in 0..4 {
            offers.push(WriteOffer {
                shard: 1,
                slice: i,
                bytes: 300,
            });
        }
        offers.push(WriteOffer {
            shard: 1,
            slice: 20,
            bytes: 400,
        });
        let mut admitted = Vec::new();
        t.admit_writes(0, &offers, &mut admitted);
        let key = t.report(0, 1).halving_key(start, end).unwrap();
        assert_eq!(hash_slice(start, end, key), 3);
        // One hot slice cannot be split.
        let t = Traffic::new(ShardLimits::default(), false, DEFAULT_RATE_WINDOW_MS);
        t.admit_writes(0, &[offer(100)], &mut admitted);
        assert_eq!(t.report(0, 1).halving_key(start, end), None);
        assert_eq!(hash_slice(start, end, end), HASH_BUCKETS - 1);
    }
}
