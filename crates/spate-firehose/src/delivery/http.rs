//! The HTTP endpoint destination's protocol, as Firehose speaks it: one POST per batch with
//! `{"requestId", "timestamp" (ms), "records": [{"data": base64}]}`, the `X-Amz-Firehose-*`
//! headers, gzip when configured; only a 200 whose body names the same requestId is success,
//! 413 is final, anything else is retried by the caller (developer guide, "HTTP endpoint
//! delivery request and response specifications").

use crate::model::HttpDestination;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::time::Duration;

/// How long an endpoint has to answer (AWS: 3 minutes).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(180);
/// The most of an endpoint's answer that is read, in bytes (AWS: 1 MiB).
const RESPONSE_MAX_BYTES: usize = 1 << 20;

/// Why a POST did not deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostError {
    /// Worth retrying: a connection failure, a timeout, a status other than 200 and 413, or an
    /// answer that is not Firehose's response format.
    Retriable(String),
    /// 413: the endpoint will never take this batch.
    TooLarge(String),
}

impl PostError {
    pub fn message(&self) -> &str {
        match self {
            PostError::Retriable(m) | PostError::TooLarge(m) => m,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    request_id: &'a str,
    timestamp: i64,
    records: Vec<RequestRecord>,
}

#[derive(Serialize)]
struct RequestRecord {
    data: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    request_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CommonAttributes<'a> {
    common_attributes: std::collections::BTreeMap<&'a str, &'a str>,
}

/// Why a request got no (whole) answer.
#[derive(Debug)]
pub enum ExchangeError {
    /// The request could not be made (connection, TLS, closed early).
    Request(hyper_util::client::legacy::Error),
    /// The answer (with this status) broke off or was larger than the limit.
    Body { status: u16, why: String },
    /// No whole answer within the timeout.
    Timeout(Duration),
}

/// The client every HTTP destination uses (http or https with Spate's trust).
pub type HttpClient = Client<spate_outbound::Connector, Full<Bytes>>;

pub fn client(trust: &spate_outbound::Trust) -> Result<HttpClient, String> {
    Ok(Client::builder(TokioExecutor::new()).build(trust.connector()?))
}

/// Sends `request` and reads at most `max_bytes` of the answer, all within `timeout`: the
/// status and body.
pub async fn exchange(
    client: &HttpClient,
    request: hyper::Request<Full<Bytes>>,
    timeout: Duration,
    max_bytes: usize,
) -> Result<(u16, Bytes), ExchangeError> {
    let answer = tokio::time::timeout(timeout, async {
        let response = client
            .request(request)
            .await
            .map_err(ExchangeError::Request)?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), max_bytes)
            .collect()
            .await
            .map_err(|e| ExchangeError::Body {
                status,
                why: e.to_string(),
            })?
            .to_bytes();
        Ok((status, body))
    })
    .await;
    answer.map_err(|_| ExchangeError::Timeout(timeout))?
}

pub struct HttpSender {
    client: HttpClient,
}

impl HttpSender {
    /// A client for `https://` endpoints (rustls; the system's roots and `--ca-bundle`) that
    /// also speaks plain `http://` for endpoints the operator allowed.
    pub fn new(trust: &spate_outbound::Trust) -> Result<HttpSender, String> {
        Ok(HttpSender {
            client: client(trust)?,
        })
    }

    /// Sends a request [`build_request`] made and judges the answer.
    pub async fn send(
        &self,
        request: hyper::Request<Full<Bytes>>,
        request_id: &str,
    ) -> Result<(), PostError> {
        let answer = exchange(&self.client, request, RESPONSE_TIMEOUT, RESPONSE_MAX_BYTES).await;
        let (status, body) = match answer {
            Ok(answer) => answer,
            // A body that broke off is judged as an empty one.
            Err(ExchangeError::Body { status, .. }) => return judge(status, b"", request_id),
            Err(ExchangeError::Request(e)) => {
                return Err(PostError::Retriable(format!(
                    "the endpoint could not be reached: {}",
                    spate_outbound::describe(&e)
                )))
            }
            Err(ExchangeError::Timeout(_)) => {
                return Err(PostError::Retriable(
                    "the endpoint did not answer within 180 s".into(),
                ))
            }
        };
        judge(status, &body, request_id)
    }
}

/// Success is a 200 whose JSON body names our requestId.
fn judge(status: u16, body: &[u8], request_id: &str) -> Result<(), PostError> {
    let text = String::from_utf8_lossy(body);
    let received =
        format!("Received the following response from the endpoint destination. {status}: {text}");
    match status {
        200 => match serde_json::from_slice::<Response>(body) {
            Ok(Response {
                request_id: Some(id),
            }) if id == request_id => Ok(()),
            _ => Err(PostError::Retriable(format!(
                "{received} (the response must be JSON naming requestId {request_id})"
            ))),
        },
        413 => Err(PostError::TooLarge(received)),
        _ => Err(PostError::Retriable(received)),
    }
}

/// The POST for `records` (CPU work: base64, JSON, gzip; callers run it off the async threads).
/// `request_id` stays the same for every attempt of a batch.
pub fn build_request<'a>(
    d: &HttpDestination,
    source_arn: &str,
    request_id: &str,
    now_ms: i64,
    records: impl Iterator<Item = &'a [u8]>,
) -> Result<hyper::Request<Full<Bytes>>, String> {
    let records = records
        .map(|r| RequestRecord {
            data: STANDARD.encode(r),
        })
        .collect();
    let body = serde_json::to_vec(&Request {
        request_id,
        timestamp: now_ms,
        records,
    })
    .map_err(|e| e.to_string())?;
    let attributes = CommonAttributes {
        common_attributes: d
            .common_attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
    };
    let attributes = serde_json::to_string(&attributes).map_err(|e| e.to_string())?;
    let mut builder = hyper::Request::post(d.url.as_str())
        .header("Content-Type", "application/json")
        .header("User-Agent", "Spate-Firehose/1.0")
        .header("X-Amz-Firehose-Protocol-Version", "1.0")
        .header("X-Amz-Firehose-Request-Id", request_id)
        .header("X-Amz-Firehose-Source-Arn", source_arn)
        .header("X-Amz-Firehose-Common-Attributes", attributes);
    if let Some(key) = &d.access_key {
        builder = builder.header("X-Amz-Firehose-Access-Key", key.as_str());
    }
    let body = if d.gzip {
        builder = builder.header("Content-Encoding", "gzip");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&body).map_err(|e| e.to_string())?;
        gz.finish().map_err(|e| e.to_string())?
    } else {
        body
    };
    builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Buffering, CloudWatchLogging, S3Destination};
    use http_body_util::BodyExt;
    use std::io::Read;

    fn destination(gzip: bool) -> HttpDestination {
        HttpDestination {
            url: "https://example.com/in?x=1".into(),
            name: None,
            access_key: Some("k".into()),
            buffering: Buffering::default(),
            logging: CloudWatchLogging::default(),
            gzip,
            common_attributes: vec![("env".into(), "prod".into())],
            processing: None,
            role_arn: None,
            retry_duration_secs: 300,
            backup_all: false,
            s3: S3Destination::default(),
            secrets_manager_enabled: None,
        }
    }

    #[tokio::test]
    async fn requests_carry_firehoses_headers_and_body() {
        let records = [&b"hi"[..], &b""[..]];
        let request = build_request(
            &destination(true),
            "arn:src",
            "rid",
            1_700_000_000_123,
            records.into_iter(),
        )
        .unwrap();
        let h = request.headers();
        assert_eq!(h["x-amz-firehose-protocol-version"], "1.0");
        assert_eq!(h["x-amz-firehose-request-id"], "rid");
        assert_eq!(h["x-amz-firehose-source-arn"], "arn:src");
        assert_eq!(h["x-amz-firehose-access-key"], "k");
        assert_eq!(
            h["x-amz-firehose-common-attributes"],
            r#"{"commonAttributes":{"env":"prod"}}"#
        );
        assert_eq!(h["content-encoding"], "gzip");
        assert_eq!(request.uri(), "https://example.com/in?x=1");
        let body = request.into_body().collect().await.unwrap().to_bytes();
        let mut json = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut json)
            .unwrap();
        assert_eq!(
            json,
            r#"{"requestId":"rid","timestamp":1700000000123,"records":[{"data":"aGk="},{"data":""}]}"#
        );
        let plain = build_request(&destination(false), "a", "r", 0, std::iter::empty()).unwrap();
        assert!(plain.headers().get("content-encoding").is_none());
    }

    #[test]
    fn only_a_200_naming_the_request_is_success() {
        assert_eq!(
            judge(200, br#"{"requestId":"r1","timestamp":1}"#, "r1"),
            Ok(())
        );
        assert!(matches!(
            judge(200, br#"{"requestId":"r2"}"#, "r1"),
            Err(PostError::Retriable(_))
        ));
        assert!(matches!(
            judge(200, b"ok", "r1"),
            Err(PostError::Retriable(_))
        ));
        assert!(matches!(
            judge(201, br#"{"requestId":"r1"}"#, "r1"),
            Err(PostError::Retriable(_))
        ));
        assert!(matches!(judge(413, b"", "r1"), Err(PostError::TooLarge(_))));
        let Err(PostError::Retriable(m)) = judge(500, b"{\"errorMessage\":\"down\"}", "r1") else {
            panic!("500 must be retried");
        };
        assert_eq!(m, "Received the following response from the endpoint destination. 500: {\"errorMessage\":\"down\"}");
    }
}
