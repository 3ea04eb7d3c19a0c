//! Tumbling windows (TumblingWindowInSeconds): a shard's records are grouped into windows of
//! their arrival time, aligned to multiples of the window length; each invocation gets the
//! window, the state the function returned last in it, and at the window's end one final
//! invocation (no records, `isFinalInvokeForWindow` true) with the aggregate.

use crate::functions::invoke::Outcome;
use serde_json::{json, Value};
use spate_streams::reader::SourceRecord;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Window {
    pub start_ms: i64,
    pub end_ms: i64,
    pub state: Value,
}

impl Window {
    /// The window holding `arrival_ms`.
    pub fn of(arrival_ms: i64, secs: u32) -> Window {
        let length = i64::from(secs.max(1)) * 1000;
        let start_ms = arrival_ms.div_euclid(length) * length;
        Window {
            start_ms,
            end_ms: start_ms + length,
            state: json!({}),
        }
    }

    /// Adds the window members to an event.
    pub fn decorate(&self, event: &mut Value, shard_id: &str, stream_arn: &str, last: bool) {
        let iso = |ms: i64| {
            jiff::Timestamp::from_millisecond(ms)
                .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default()
        };
        event["window"] = json!({"start": iso(self.start_ms), "end": iso(self.end_ms)});
        event["state"] = self.state.clone();
        event["shardId"] = json!(shard_id);
        event["eventSourceARN"] = json!(stream_arn);
        event["isFinalInvokeForWindow"] = json!(last);
        event["isWindowTerminatedEarly"] = json!(false);
    }

    /// Keeps the state a successful invocation returned.
    pub fn absorb(&mut self, outcome: &Outcome) {
        if let Outcome::Ok(result) = outcome {
            if let Some(state) = result.get("state").filter(|s| s.is_object()) {
                self.state = state.clone();
            }
        }
    }
}

/// Cuts `records` at the first record of a later window than the first one's; the position of
/// the first record cut off.
pub fn cut_at_window(records: &mut Vec<SourceRecord>, secs: u32) -> Option<u64> {
    let first = Window::of(records.first()?.arrival_ms, secs).start_ms;
    let cut = records
        .iter()
        .position(|r| Window::of(r.arrival_ms, secs).start_ms != first)?;
    let next = records[cut].counter;
    records.truncate(cut);
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(counter: u64, arrival_ms: i64) -> SourceRecord {
        SourceRecord {
            counter,
            arrival_ms,
            partition_key: "k".into(),
            data: vec![],
        }
    }

    #[test]
    fn windows_align_and_batches_stop_at_their_edge() {
        let w = Window::of(125_500, 60);
        assert_eq!((w.start_ms, w.end_ms), (120_000, 180_000));
        let mut records = vec![record(0, 170_000), record(1, 179_999), record(2, 180_000)];
        assert_eq!(cut_at_window(&mut records, 60), Some(2));
        assert_eq!(records.len(), 2);
        assert_eq!(cut_at_window(&mut records, 60), None);
        let mut event = json!({"Records": []});
        w.decorate(&mut event, "shardId-000000000000", "arn", true);
        assert_eq!(event["window"]["start"], "1970-01-01T00:02:00Z");
        assert_eq!(event["isFinalInvokeForWindow"], true);
        let mut w = w;
        w.absorb(&Outcome::Ok(json!({"state": {"n": 3}})));
        assert_eq!(w.state, json!({"n": 3}));
        w.absorb(&Outcome::error("E", "x"));
        assert_eq!(w.state, json!({"n": 3}));
    }
}
