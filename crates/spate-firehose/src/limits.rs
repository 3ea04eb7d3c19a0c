//! Per-delivery-stream Direct PUT quotas (AWS, us-east-1: 2,000 requests/s, 500,000 records/s
//! and 5 MiB/s across PutRecord and PutRecordBatch), enforced when the server runs with
//! `--enforce-firehose-limits`. Over the request rate a call fails with
//! ServiceUnavailableException "Slow down."; over the record or byte rate the records that do
//! not fit fail one by one in PutRecordBatch (and PutRecord fails). Buckets refill with the
//! injected clock, so tests move time instead of sleeping.

use std::collections::HashMap;
use std::sync::Mutex;

/// Rates per delivery stream, per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quotas {
    pub requests: f64,
    pub records: f64,
    pub bytes: f64,
}

impl Default for Quotas {
    /// AWS's defaults in us-east-1, us-west-2 and eu-west-1.
    fn default() -> Self {
        Quotas {
            requests: 2_000.0,
            records: 500_000.0,
            bytes: 5.0 * 1024.0 * 1024.0,
        }
    }
}

/// A token bucket holding at most one second of its rate.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at_ms: i64,
}

impl Bucket {
    fn full(rate: f64, now_ms: i64) -> Bucket {
        Bucket {
            tokens: rate,
            at_ms: now_ms,
        }
    }

    fn refill(&mut self, rate: f64, now_ms: i64) {
        let elapsed = (now_ms - self.at_ms).max(0) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * rate).min(rate);
        self.at_ms = now_ms;
    }
}

#[derive(Debug)]
struct Buckets {
    requests: Bucket,
    records: Bucket,
    bytes: Bucket,
}

/// What a put may do under the quotas.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// The first `n` records fit (all of them, when `n` is the batch's length).
    Records(usize),
    /// Over the request rate: the whole call is refused.
    SlowDown,
}

pub struct Limits {
    quotas: Option<Quotas>,
    streams: Mutex<HashMap<String, Buckets>>,
}

impl Limits {
    /// `None`: nothing is enforced.
    pub fn new(quotas: Option<Quotas>) -> Limits {
        Limits {
            quotas,
            streams: Mutex::default(),
        }
    }

    /// Takes one request and as many of `sizes` (record sizes in bytes) as fit, in order.
    pub fn admit(&self, stream: &str, sizes: &[usize], now_ms: i64) -> Admission {
        let Some(q) = self.quotas else {
            return Admission::Records(sizes.len());
        };
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        let b = streams
            .entry(stream.to_string())
            .or_insert_with(|| Buckets {
                requests: Bucket::full(q.requests, now_ms),
                records: Bucket::full(q.records, now_ms),
                bytes: Bucket::full(q.bytes, now_ms),
            });
        b.requests.refill(q.requests, now_ms);
        b.records.refill(q.records, now_ms);
        b.bytes.refill(q.bytes, now_ms);
        if b.requests.tokens < 1.0 {
            return Admission::SlowDown;
        }
        b.requests.tokens -= 1.0;
        let mut admitted = 0;
        for &size in sizes {
            if b.records.tokens < 1.0 || b.bytes.tokens < size as f64 {
                break;
            }
            b.records.tokens -= 1.0;
            b.bytes.tokens -= size as f64;
            admitted += 1;
        }
        Admission::Records(admitted)
    }

    /// A deleted stream's buckets go with it.
    pub fn forget(&self, stream: &str) {
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        streams.remove(stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::new(Some(Quotas {
            requests: 2.0,
            records: 3.0,
            bytes: 100.0,
        }))
    }

    #[test]
    fn records_beyond_the_rate_fail_and_the_bucket_refills_with_time() {
        let l = limits();
        assert_eq!(l.admit("s", &[10, 10, 10, 10], 0), Admission::Records(3));
        assert_eq!(l.admit("s", &[10], 0), Admission::Records(0));
        assert_eq!(l.admit("s", &[10], 0), Admission::SlowDown);
        assert_eq!(l.admit("s", &[10], 1000), Admission::Records(1));
        assert_eq!(
            l.admit("other", &[10], 0),
            Admission::Records(1),
            "per stream"
        );
    }

    #[test]
    fn bytes_are_limited_too() {
        let l = limits();
        assert_eq!(l.admit("s", &[60, 60], 0), Admission::Records(1));
        assert_eq!(l.admit("s", &[60], 100), Admission::Records(0));
        assert_eq!(l.admit("s", &[60], 1000), Admission::Records(1));
    }

    #[test]
    fn nothing_is_enforced_without_quotas() {
        let l = Limits::new(None);
        assert_eq!(
            l.admit("s", &[usize::MAX; 1000], 0),
            Admission::Records(1000)
        );
    }
}
