//! The Splunk destination's protocol, as Firehose speaks it to the HTTP Event Collector: each
//! batch POSTed to `/services/collector/raw` or `/services/collector/event` with
//! `Authorization: Splunk <token>` on a request channel (`X-Splunk-Request-Channel`), then
//! indexer acknowledgement polled on `/services/collector/ack` until the batch's `ackId` is
//! `true` or HECAcknowledgmentTimeoutInSeconds passes. Failures carry the error codes and
//! texts of Firehose's developer guide ("Splunk data delivery errors").

use super::http::{exchange, ExchangeError, HttpClient};
use crate::model::{HecEndpointType, SplunkDestination};
use bytes::Bytes;
use http_body_util::Full;
use serde::Deserialize;
use std::time::Duration;
use tokio::time::Instant;

/// How long the collector has to answer one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The most of an answer that is read, in bytes.
const ANSWER_MAX_BYTES: usize = 64 << 10;
/// The first acknowledgement poll comes this soon after the send; the wait doubles up to
/// [`ACK_POLL_MAX`] between polls.
const ACK_POLL_FIRST: Duration = Duration::from_millis(50);
const ACK_POLL_MAX: Duration = Duration::from_secs(2);

/// Why a batch was not delivered: a Firehose error code (`Splunk.InvalidToken`) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HecError {
    pub code: &'static str,
    pub message: String,
}

impl HecError {
    fn new(code: &'static str, message: impl Into<String>) -> HecError {
        HecError {
            code,
            message: message.into(),
        }
    }

    fn of(code: &'static str) -> HecError {
        HecError::new(code, message_of(code))
    }
}

/// Firehose's texts for its Splunk error codes.
fn message_of(code: &str) -> &'static str {
    match code {
        "Splunk.ProxyWithoutStickySessions" => "If you have a proxy (ELB or other) between Firehose and the HEC node, you must enable sticky sessions to support HEC ACKs.",
        "Splunk.DisabledToken" => "The HEC token is disabled. Enable the token to allow data delivery to Splunk.",
        "Splunk.InvalidToken" => "The HEC token is invalid. Update Firehose with a valid HEC token.",
        "Splunk.InvalidDataFormat" => "The data is not formatted correctly. To see how to properly format data for Raw or Event HEC endpoints, see Splunk Event Data.",
        "Splunk.InvalidIndex" => "The HEC token or input is configured with an invalid index. Check your index configuration and try again.",
        "Splunk.ServerError" => "Data delivery to Splunk failed due to a server error from the HEC node. Firehose will retry sending the data if the retry duration in your Firehose stream is greater than 0. If all the retries fail, Firehose backs up the data to Amazon S3.",
        "Splunk.DisabledAck" => "Indexer acknowledgement is disabled for the HEC token. Enable indexer acknowledgement and try again.",
        "Splunk.AckTimeout" => "Did not receive an acknowledgement from HEC before the HEC acknowledgement timeout expired. Despite the acknowledgement timeout, it's possible the data was indexed successfully in Splunk. Firehose backs up in Amazon S3 data for which the acknowledgement timeout expired.",
        "Splunk.ConnectionTimeout" => "The connection to Splunk timed out. This might be a transient error and the request will be retried. Firehose backs up the data to Amazon S3 if all retries fail.",
        "Splunk.InvalidEndpoint" => "Could not connect to the HEC endpoint. Make sure that the HEC endpoint URL is valid and reachable from Firehose.",
        "Splunk.ConnectionClosed" => "Unable to send data to Splunk due to a connection failure. This might be a transient error. Increasing the retry duration in your Firehose configuration might guard against such transient failures.",
        "Splunk.SSLHandshake" => "Could not connect to the HEC endpoint. Make sure that the certificate and the host are valid.",
        "Splunk.URLNotFound" => "The requested URL was not found on the Splunk server. Check the Splunk cluster and make sure it is configured correctly.",
        _ => "Failed to deliver data to Splunk or to receive acknowledgment. Check your HEC health and try again.",
    }
}

/// The Firehose error code for a collector's refusal: HEC's own `code` when it gave one
/// (Splunk's "Troubleshoot HTTP Event Collector" status codes), else the HTTP status.
pub fn error_code(status: u16, hec_code: Option<i64>) -> &'static str {
    match (hec_code, status) {
        (Some(1), _) => "Splunk.DisabledToken",
        (Some(2..=4), _) | (None, 401 | 403) => "Splunk.InvalidToken",
        (Some(5 | 6 | 12 | 13 | 15), _) => "Splunk.InvalidDataFormat",
        (Some(7), _) => "Splunk.InvalidIndex",
        (Some(10 | 11), _) => "Splunk.ProxyWithoutStickySessions",
        (Some(14), _) => "Splunk.DisabledAck",
        (_, 404) => "Splunk.URLNotFound",
        (_, 400) => "Splunk.InvalidDataFormat",
        _ => "Splunk.ServerError",
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendAnswer {
    code: Option<i64>,
    text: Option<String>,
    ack_id: Option<u64>,
}

#[derive(Deserialize)]
struct AckAnswer {
    #[serde(default)]
    acks: std::collections::HashMap<String, bool>,
    code: Option<i64>,
}

/// The batch's `ackId` from the collector's answer to a send.
pub fn judge_send(status: u16, body: &[u8]) -> Result<u64, HecError> {
    let answer: Option<SendAnswer> = serde_json::from_slice(body).ok();
    let code = answer.as_ref().and_then(|a| a.code);
    if status != 200 || code.is_some_and(|c| c != 0) {
        let text = answer.and_then(|a| a.text).unwrap_or_default();
        let firehose_code = error_code(status, code);
        let message = format!(
            "{} HEC answered {status} {text:?} (code {}).",
            message_of(firehose_code),
            code.map_or("none".into(), |c| c.to_string())
        );
        return Err(HecError::new(firehose_code, message));
    }
    match answer.and_then(|a| a.ack_id) {
        Some(id) => Ok(id),
        // A 200 without an ackId: the token does not acknowledge.
        None => Err(HecError::of("Splunk.DisabledAck")),
    }
}

/// Whether the collector's answer to an acknowledgement poll says `ack_id` is indexed.
pub fn judge_ack(status: u16, body: &[u8], ack_id: u64) -> Result<bool, HecError> {
    let answer: Option<AckAnswer> = serde_json::from_slice(body).ok();
    match answer {
        Some(a) if status == 200 => Ok(a.acks.get(&ack_id.to_string()) == Some(&true)),
        Some(a) => Err(HecError::of(error_code(status, a.code))),
        None if status == 200 => Err(HecError::new(
            "Splunk.ServerError",
            "HEC answered the acknowledgement poll with something that is not its JSON.",
        )),
        None => Err(HecError::of(error_code(status, None))),
    }
}

/// Talks to collectors (http or https, trusting `--ca-bundle`) on one request channel.
pub struct HecClient {
    client: HttpClient,
    channel: String,
}

/// What one delivery attempt came to, and how long it waited for the acknowledgement (which
/// does not count against the retry duration).
pub struct Attempt {
    pub outcome: Result<(), HecError>,
    pub ack_wait: Duration,
}

impl HecClient {
    pub fn new(trust: &spate_outbound::Trust) -> Result<HecClient, String> {
        Ok(HecClient {
            client: super::http::client(trust)?,
            channel: crate::ids::uuid_v4(),
        })
    }

    /// Sends `body` and waits for its acknowledgement.
    pub async fn deliver(&self, d: &SplunkDestination, body: Bytes) -> Attempt {
        let path = match d.endpoint_type {
            HecEndpointType::Raw => "/services/collector/raw",
            HecEndpointType::Event => "/services/collector/event",
        };
        let ack_id = match self.exchange(d, path, body).await {
            Ok((status, answer)) => judge_send(status, &answer),
            Err(e) => Err(e),
        };
        let ack_id = match ack_id {
            Ok(id) => id,
            Err(e) => {
                return Attempt {
                    outcome: Err(e),
                    ack_wait: Duration::ZERO,
                }
            }
        };
        let started = Instant::now();
        let outcome = self.await_ack(d, ack_id, started).await;
        Attempt {
            outcome,
            ack_wait: started.elapsed(),
        }
    }

    /// Polls until `ack_id` is acknowledged or HECAcknowledgmentTimeoutInSeconds has passed
    /// since `started`. A poll that fails is tried again: only the timeout ends the wait.
    async fn await_ack(
        &self,
        d: &SplunkDestination,
        ack_id: u64,
        started: Instant,
    ) -> Result<(), HecError> {
        let deadline = started + Duration::from_secs(d.ack_timeout_secs.max(0) as u64);
        let mut pause = ACK_POLL_FIRST;
        let mut last_error: Option<HecError> = None;
        loop {
            let now = Instant::now();
            if now >= deadline {
                let timeout = message_of("Splunk.AckTimeout");
                return Err(HecError::new(
                    "Splunk.AckTimeout",
                    match last_error {
                        Some(e) => format!("{timeout} The last poll failed: {}", e.message),
                        None => timeout.to_string(),
                    },
                ));
            }
            tokio::time::sleep_until((now + pause).min(deadline)).await;
            pause = (pause * 2).min(ACK_POLL_MAX);
            let query = format!("{{\"acks\":[{ack_id}]}}");
            let path = format!("/services/collector/ack?channel={}", self.channel);
            let polled = self.exchange(d, &path, Bytes::from(query)).await;
            match polled.and_then(|(status, body)| judge_ack(status, &body, ack_id)) {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                // Token and acknowledgement settings do not heal while we wait.
                Err(e) if matches!(e.code, "Splunk.DisabledAck" | "Splunk.InvalidToken") => {
                    return Err(e)
                }
                Err(e) => last_error = Some(e),
            }
        }
    }

    /// One POST to the collector: its status and answer.
    async fn exchange(
        &self,
        d: &SplunkDestination,
        path: &str,
        body: Bytes,
    ) -> Result<(u16, Bytes), HecError> {
        let mut request = hyper::Request::post(format!("{}{path}", d.endpoint))
            .header("content-type", "application/json")
            .header("x-splunk-request-channel", &self.channel);
        if let Some(token) = &d.token {
            request = request.header("authorization", format!("Splunk {token}"));
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| HecError::new("Splunk.InvalidEndpoint", format!("{}: {e}", d.endpoint)))?;
        let answer = exchange(&self.client, request, REQUEST_TIMEOUT, ANSWER_MAX_BYTES).await;
        answer.map_err(|e| match e {
            ExchangeError::Request(e) => connection_error(e),
            ExchangeError::Body { why, .. } => {
                let closed = message_of("Splunk.ConnectionClosed");
                HecError::new("Splunk.ConnectionClosed", format!("{closed}: {why}"))
            }
            ExchangeError::Timeout(_) => HecError::of("Splunk.ConnectionTimeout"),
        })
    }
}

/// A request that got no answer: the code Firehose gives the cause, with the cause.
fn connection_error(e: hyper_util::client::legacy::Error) -> HecError {
    let cause = spate_outbound::describe(&e);
    let code = if cause.contains("certificate") || cause.contains("handshake") {
        "Splunk.SSLHandshake"
    } else if e.is_connect() {
        "Splunk.InvalidEndpoint"
    } else {
        "Splunk.ConnectionClosed"
    };
    HecError::new(code, format!("{} ({cause})", message_of(code)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_are_judged_by_status_hec_code_and_ack_id() {
        let ok = br#"{"text":"Success","code":0,"ackId":7}"#;
        assert_eq!(judge_send(200, ok), Ok(7));
        let no_ack = br#"{"text":"Success","code":0}"#;
        assert_eq!(
            judge_send(200, no_ack).unwrap_err().code,
            "Splunk.DisabledAck"
        );
        let invalid = br#"{"text":"Invalid token","code":4}"#;
        let e = judge_send(403, invalid).unwrap_err();
        assert_eq!(e.code, "Splunk.InvalidToken");
        assert!(
            e.message.contains("\"Invalid token\" (code 4)"),
            "{}",
            e.message
        );
        let disabled = br#"{"text":"Token disabled","code":1}"#;
        assert_eq!(
            judge_send(403, disabled).unwrap_err().code,
            "Splunk.DisabledToken"
        );
        let format = br#"{"text":"Invalid data format","code":6,"invalid-event-number":0}"#;
        assert_eq!(
            judge_send(400, format).unwrap_err().code,
            "Splunk.InvalidDataFormat"
        );
        assert_eq!(
            judge_send(503, b"busy").unwrap_err().code,
            "Splunk.ServerError"
        );
        assert_eq!(judge_send(404, b"").unwrap_err().code, "Splunk.URLNotFound");
    }

    #[test]
    fn acks_are_true_only_for_the_batch_asked_about() {
        assert_eq!(judge_ack(200, br#"{"acks":{"7":true}}"#, 7), Ok(true));
        assert_eq!(judge_ack(200, br#"{"acks":{"7":false}}"#, 7), Ok(false));
        assert_eq!(judge_ack(200, br#"{"acks":{"8":true}}"#, 7), Ok(false));
        let disabled = br#"{"text":"ACK is disabled","code":14}"#;
        assert_eq!(
            judge_ack(400, disabled, 7).unwrap_err().code,
            "Splunk.DisabledAck"
        );
        assert_eq!(
            judge_ack(200, b"<html>", 7).unwrap_err().code,
            "Splunk.ServerError"
        );
    }
}
