//! Request metrics, recorded once for every service in the front door and served at
//! `GET /metrics` in the Prometheus text format.

use spate_wire::service::{BoxFuture, RestCall, RestReply, RestService};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Series {
    count: u64,
    seconds: f64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, &'static str, u16), Series>>,
    pub connections_open: AtomicI64,
    pub response_buffer_bytes: AtomicI64,
}

impl Metrics {
    /// One answered request: its service (target prefix or route), operation, status, time.
    pub fn record(&self, service: &str, operation: &'static str, status: u16, took: Duration) {
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let series = requests
            .entry((service.to_string(), operation, status))
            .or_default();
        series.count += 1;
        series.seconds += took.as_secs_f64();
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# TYPE spate_requests_total counter\n");
        let requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        for ((service, operation, status), s) in requests.iter() {
            let _ = writeln!(
                out,
                "spate_requests_total{{service=\"{service}\",operation=\"{operation}\",status=\"{status}\"}} {}",
                s.count
            );
        }
        out.push_str("# TYPE spate_request_duration_seconds_sum counter\n");
        for ((service, operation, status), s) in requests.iter() {
            let _ = writeln!(
                out,
                "spate_request_duration_seconds_sum{{service=\"{service}\",operation=\"{operation}\",status=\"{status}\"}} {:.6}",
                s.seconds
            );
        }
        let _ = writeln!(
            out,
            "# TYPE spate_connections_open gauge\nspate_connections_open {}",
            self.connections_open.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# TYPE spate_response_buffer_bytes gauge\nspate_response_buffer_bytes {}",
            self.response_buffer_bytes.load(Ordering::Relaxed)
        );
        out
    }
}

/// `GET /metrics` and `GET /health` (`/healthz`).
pub struct Operational {
    pub metrics: Arc<Metrics>,
}

impl RestService for Operational {
    fn name(&self) -> &'static str {
        "operational"
    }

    fn authenticated(&self) -> bool {
        false
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        method == "GET" && matches!(path, "/health" | "/healthz" | "/metrics")
    }

    fn call(self: Arc<Self>, call: RestCall) -> BoxFuture<RestReply> {
        Box::pin(async move {
            match call.path.as_str() {
                "/metrics" => RestReply {
                    operation: "Metrics",
                    status: 200,
                    content_type: "text/plain; version=0.0.4",
                    headers: Vec::new(),
                    body: self.metrics.render().into_bytes(),
                },
                _ => RestReply::text(200, "ok\n"),
            }
        })
    }
}
