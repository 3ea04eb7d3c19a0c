//! The Splunk destination against an in-process HTTP Event Collector, with tokio's clock
//! paused: acknowledgement timeouts (180–600 s) and the retry duration that leaves out the
//! time spent waiting for acknowledgements, without waiting for them.

use super::{instant_config, Harness};
use crate::FirehoseConfig;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the collector received in one send.
#[derive(Debug, Clone)]
struct Sent {
    path: String,
    channel: String,
    authorization: String,
    body: Vec<u8>,
}

/// A collector that acknowledges the sends numbered `ack_from` and later (ackIds count from
/// 0), and never the earlier ones.
#[derive(Default)]
struct Collector {
    sends: Mutex<Vec<Sent>>,
    polls: Mutex<Vec<(String, Vec<u64>)>>,
    ack_from: usize,
}

impl Collector {
    fn answer(&self, path: &str, headers: &hyper::HeaderMap, body: &[u8]) -> (u16, Value) {
        let header = |name: &str| {
            let value = headers.get(name).and_then(|v| v.to_str().ok());
            value.unwrap_or_default().to_string()
        };
        if header("authorization") != "Splunk secret-token" {
            return (403, json!({"text": "Invalid token", "code": 4}));
        }
        if let Some(query) = path.strip_prefix("/services/collector/ack?channel=") {
            let asked: Value = serde_json::from_slice(body).unwrap_or_default();
            let ids: Vec<u64> = asked["acks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
                .collect();
            self.polls
                .lock()
                .unwrap()
                .push((query.to_string(), ids.clone()));
            let acks: serde_json::Map<String, Value> = ids
                .iter()
                .map(|id| (id.to_string(), json!(*id as usize >= self.ack_from)))
                .collect();
            return (200, json!({ "acks": acks }));
        }
        let mut sends = self.sends.lock().unwrap();
        sends.push(Sent {
            path: path.to_string(),
            channel: header("x-splunk-request-channel"),
            authorization: header("authorization"),
            body: body.to_vec(),
        });
        (
            200,
            json!({"text": "Success", "code": 0, "ackId": sends.len() - 1}),
        )
    }

    /// Serves on a loopback port; the URL to give as HECEndpoint.
    async fn start(self: &Arc<Self>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let collector = self.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let collector = collector.clone();
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let collector = collector.clone();
                    async move {
                        let path = request.uri().to_string();
                        let headers = request.headers().clone();
                        let body = request.into_body().collect().await?.to_bytes();
                        let (status, answer) = collector.answer(&path, &headers, &body);
                        let response = hyper::Response::builder()
                            .status(status)
                            .body(Full::new(Bytes::from(answer.to_string())))
                            .unwrap();
                        Ok::<_, hyper::Error>(response)
                    }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service);
                tokio::spawn(connection);
            }
        });
        url
    }

    fn sends(&self) -> Vec<Sent> {
        self.sends.lock().unwrap().clone()
    }
}

async fn harness() -> Harness {
    Harness::new(FirehoseConfig {
        allow_http_endpoints: true,
        ..instant_config()
    })
    .await
}

async fn create(h: &Harness, url: &str, extra: Value) {
    let mut config = json!({
        "HECEndpoint": url, "HECEndpointType": "Raw", "HECToken": "secret-token",
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
        "S3Configuration": {"RoleARN": "arn:aws:iam::000000000000:role/firehose", "BucketARN": "arn:aws:s3:::bucket-1"},
    });
    if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    let body = json!({"DeliveryStreamName": "s", "SplunkDestinationConfiguration": config});
    h.ok("CreateDeliveryStream", body).await;
}

/// Lets paused time run in steps of 250 ms until `done`, for at most `seconds`. Each step
/// first gives real work a real millisecond: loopback answers and the blocking pool's work
/// are not instantaneous, and a paused clock moves on whenever nothing is ready.
async fn run_until(h: &Harness, seconds: u64, done: impl Fn() -> bool) {
    for _ in 0..seconds * 4 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let status = h.firehose.delivery_status("s");
    panic!("not done within {seconds} s of paused time: {status:?}");
}

/// The error records of the `splunk-failed` objects.
fn backed_up(h: &Harness) -> Vec<Value> {
    h.delivered()
        .into_iter()
        .filter(|(key, _)| key.contains("splunk-failed"))
        .flat_map(|(_, body)| {
            let text = String::from_utf8(body).unwrap();
            text.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect()
}

#[tokio::test]
async fn acknowledged_batches_are_delivered_on_one_channel_with_the_token() {
    let collector = Arc::new(Collector::default());
    let url = collector.start().await;
    let h = harness().await;
    create(&h, &url, json!({})).await;
    h.put_batch("s", &[b"one\n", b"two\n"]).await;
    tokio::time::pause();
    run_until(&h, 10, || {
        h.firehose.delivery_status("s").delivered_objects == 1
    })
    .await;
    let sends = collector.sends();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].path, "/services/collector/raw");
    assert_eq!(sends[0].body, b"one\ntwo\n");
    assert_eq!(sends[0].authorization, "Splunk secret-token");
    let polls = collector.polls.lock().unwrap().clone();
    assert_eq!(polls.last().unwrap(), &(sends[0].channel.clone(), vec![0]));
    assert!(backed_up(&h).is_empty());
}

#[tokio::test]
async fn a_batch_never_acknowledged_is_backed_up_with_ack_timeout_after_the_timeout() {
    let collector = Arc::new(Collector {
        ack_from: usize::MAX,
        ..Collector::default()
    });
    let url = collector.start().await;
    let h = harness().await;
    create(
        &h,
        &url,
        json!({"RetryOptions": {"DurationInSeconds": 0}, "HECEndpointType": "Event"}),
    )
    .await;
    h.put_batch("s", &[br#"{"event":"a"}"#, br#"{"event":"b"}"#])
        .await;
    tokio::time::pause();
    let started = tokio::time::Instant::now();
    run_until(&h, 400, || !backed_up(&h).is_empty()).await;
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(180),
        "backed up after {waited:?}, before the 180 s acknowledgement timeout"
    );
    assert!(waited < Duration::from_secs(190), "{waited:?}");
    let failed = backed_up(&h);
    assert_eq!(failed.len(), 2, "one error record per event");
    assert_eq!(failed[0]["errorCode"], "Splunk.AckTimeout");
    assert!(failed[0]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("acknowledgement timeout expired"));
    let raw = base64::engine::general_purpose::STANDARD
        .decode(failed[1]["rawData"].as_str().unwrap())
        .unwrap();
    assert_eq!(raw, br#"{"event":"b"}"#);
    assert!(failed[0]["EventId"]
        .as_str()
        .is_some_and(|id| !id.is_empty()));
    assert_ne!(failed[0]["EventId"], failed[1]["EventId"]);
    assert_eq!(collector.sends().len(), 1);
    assert_eq!(collector.sends()[0].path, "/services/collector/event");
}

#[tokio::test]
async fn time_waiting_for_acknowledgements_does_not_count_against_the_retry_duration() {
    // Sends 0 and 1 time out (180 s each); send 2 is acknowledged. With 100 s of retries the
    // batch is still delivered: the second wait is not counted (it would be 181 s > 100 s).
    let collector = Arc::new(Collector {
        ack_from: 2,
        ..Collector::default()
    });
    let url = collector.start().await;
    let h = harness().await;
    create(
        &h,
        &url,
        json!({"RetryOptions": {"DurationInSeconds": 100}}),
    )
    .await;
    h.put_batch("s", &[b"kept"]).await;
    tokio::time::pause();
    run_until(&h, 600, || {
        h.firehose.delivery_status("s").delivered_objects == 1
    })
    .await;
    assert_eq!(collector.sends().len(), 3);
    assert!(
        collector.sends().iter().all(|s| s.body == b"kept"),
        "the same batch each time"
    );
    assert!(backed_up(&h).is_empty());
}

#[tokio::test]
async fn a_refused_token_is_retried_then_backed_up_with_splunks_code() {
    let collector = Arc::new(Collector::default());
    let url = collector.start().await;
    let h = harness().await;
    create(&h, &url, json!({"HECToken": "wrong", "RetryOptions": {"DurationInSeconds": 10}, "S3BackupMode": "AllEvents"})).await;
    h.put_batch("s", &[b"x"]).await;
    tokio::time::pause();
    run_until(&h, 60, || !backed_up(&h).is_empty()).await;
    let failed = backed_up(&h);
    assert_eq!(failed[0]["errorCode"], "Splunk.InvalidToken");
    assert!(
        failed[0]["attemptsMade"].as_u64().unwrap() > 1,
        "retried first: {failed:?}"
    );
    run_until(&h, 10, || h.delivered().len() == 2).await;
    let copy = h
        .delivered()
        .into_iter()
        .find(|(k, _)| !k.contains("splunk-failed"))
        .unwrap();
    assert_eq!(copy.1, b"x", "AllEvents writes every record to S3 too");
}
