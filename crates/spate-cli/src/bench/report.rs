//! Latency percentiles and the printed report.

use std::time::Duration;

/// Latencies of individual requests, in microseconds.
#[derive(Default)]
pub struct Latencies(Vec<u32>);

impl Latencies {
    pub fn record(&mut self, d: Duration) {
        self.0.push(d.as_micros().min(u128::from(u32::MAX)) as u32);
    }
    pub fn merge(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }
    /// p50, p90, p99, p99.9 and max in milliseconds.
    pub fn summary_ms(&mut self) -> [f64; 5] {
        self.0.sort_unstable();
        let at = |q: f64| -> f64 {
            if self.0.is_empty() {
                return 0.0;
            }
            let i = ((self.0.len() as f64 - 1.0) * q).round() as usize;
            f64::from(self.0[i]) / 1000.0
        };
        [at(0.50), at(0.90), at(0.99), at(0.999), at(1.0)]
    }
}
