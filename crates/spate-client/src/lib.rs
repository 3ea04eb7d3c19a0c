//! A small Kinesis client for Spate's own tools: JSON 1.1 over HTTP/1.1 keep-alive connections,
//! SigV4-signed so the tools work against real AWS too; `http://` and `https://` endpoints (rustls,
//! the system's roots plus an optional CA bundle).

pub mod sigv4;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("transport: {0}")]
    Transport(String),
    #[error("bad response: {0}")]
    Decode(String),
}

impl ClientError {
    /// Throttling errors that the SDKs retry.
    pub fn is_throttling(&self) -> bool {
        matches!(self, ClientError::Api { code, .. } if code == "ProvisionedThroughputExceededException" || code == "LimitExceededException")
    }
}

#[derive(Clone)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
}

/// One endpoint, region and credential set; cheap to clone (connections are pooled).
#[derive(Clone)]
pub struct KinesisClient {
    http: HyperClient<spate_outbound::Connector, Full<Bytes>>,
    endpoint: http::Uri,
    host: String,
    region: String,
    credentials: Credentials,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "__type", default)]
    kind: String,
    #[serde(default, alias = "Message")]
    message: String,
}

/// Reads a whole response body.
async fn whole_body(response: http::Response<hyper::body::Incoming>) -> Result<Bytes, ClientError> {
    Ok(response
        .into_body()
        .collect()
        .await
        .map_err(|e| ClientError::Transport(e.to_string()))?
        .to_bytes())
}

/// The error an AWS-style error body describes.
fn api_error(status: u16, bytes: &[u8]) -> ClientError {
    let err: ErrorBody = serde_json::from_slice(bytes).unwrap_or(ErrorBody {
        kind: format!("HTTP {status}"),
        message: String::new(),
    });
    let code = err.kind.rsplit('#').next().unwrap_or_default().to_string();
    ClientError::Api {
        status,
        code,
        message: err.message,
    }
}

impl KinesisClient {
    /// A client trusting the system's root certificates for `https://` endpoints.
    pub fn new(
        endpoint: &str,
        region: &str,
        credentials: Credentials,
    ) -> Result<Self, ClientError> {
        KinesisClient::with_trust(
            endpoint,
            region,
            credentials,
            &spate_outbound::Trust::system(),
        )
    }

    /// A client trusting `trust` for `https://` endpoints.
    pub fn with_trust(
        endpoint: &str,
        region: &str,
        credentials: Credentials,
        trust: &spate_outbound::Trust,
    ) -> Result<Self, ClientError> {
        let endpoint: http::Uri = endpoint
            .parse()
            .map_err(|e| ClientError::Transport(format!("endpoint {endpoint}: {e}")))?;
        if !matches!(endpoint.scheme_str(), Some("http" | "https")) {
            return Err(ClientError::Transport(format!(
                "endpoint {endpoint}: expected http:// or https://"
            )));
        }
        let host = endpoint
            .authority()
            .map(|a| a.to_string())
            .ok_or_else(|| ClientError::Transport("endpoint has no host".into()))?;
        let connector = trust.connector().map_err(ClientError::Transport)?;
        let http = HyperClient::builder(TokioExecutor::new())
            .pool_max_idle_per_host(1024)
            .build(connector);
        Ok(KinesisClient {
            http,
            endpoint,
            host,
            region: region.to_string(),
            credentials,
        })
    }

    /// Sends one Kinesis operation with a ready JSON body; returns the raw response body.
    pub async fn call_raw(&self, operation: &str, body: Vec<u8>) -> Result<Bytes, ClientError> {
        self.call_target(&format!("Kinesis_20131202.{operation}"), body)
            .await
    }

    /// Sends a Kinesis operation whose response is a stream (SubscribeToShard); returns the
    /// response body to read frames from as they arrive.
    pub async fn call_streaming(
        &self,
        operation: &str,
        body: Vec<u8>,
    ) -> Result<hyper::body::Incoming, ClientError> {
        let response = self
            .send(&format!("Kinesis_20131202.{operation}"), body)
            .await?;
        if response.status().as_u16() >= 300 {
            let status = response.status().as_u16();
            return Err(api_error(status, &whole_body(response).await?));
        }
        Ok(response.into_body())
    }

    /// Sends a JSON body with the given `X-Amz-Target` (Spate's own operations use another
    /// prefix than Kinesis').
    pub async fn call_target(&self, target: &str, body: Vec<u8>) -> Result<Bytes, ClientError> {
        let response = self.send(target, body).await?;
        let status = response.status().as_u16();
        let bytes = whole_body(response).await?;
        if status >= 300 {
            return Err(api_error(status, &bytes));
        }
        Ok(bytes)
    }

    /// Signs and sends one request of an AWS JSON service (`X-Amz-Target`).
    async fn send(
        &self,
        target: &str,
        body: Vec<u8>,
    ) -> Result<http::Response<hyper::body::Incoming>, ClientError> {
        // The signing name tells servers that route by it (moto) which service is called.
        let service = if target.starts_with("Firehose_") {
            "firehose"
        } else {
            "kinesis"
        };
        let builder = self.signed(&sigv4::Request {
            method: "POST",
            path: "/",
            content_type: "application/x-amz-json-1.1",
            host: &self.host,
            target: Some(target),
            body: &body,
            region: &self.region,
            service,
            credentials: &self.credentials,
            now: std::time::SystemTime::now(),
        });
        self.send_built(builder, body).await
    }

    /// Sends one signed request to a REST-JSON service (Lambda's `/2015-03-31/...`) at `path`
    /// (canonical form, no query); returns the status and the body, whatever the status.
    pub async fn call_rest(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Bytes), ClientError> {
        let builder = self.signed(&sigv4::Request {
            method,
            path,
            content_type: "application/json",
            host: &self.host,
            target: None,
            body: &body,
            region: &self.region,
            service: "lambda",
            credentials: &self.credentials,
            now: std::time::SystemTime::now(),
        });
        let response = self.send_built(builder, body).await?;
        let status = response.status().as_u16();
        Ok((status, whole_body(response).await?))
    }

    /// A request builder for `r` with the headers its signature covers.
    fn signed(&self, r: &sigv4::Request<'_>) -> http::request::Builder {
        let signed = sigv4::sign(r);
        let uri = format!(
            "{}{}",
            self.endpoint.to_string().trim_end_matches('/'),
            r.path
        );
        let mut builder = http::Request::builder()
            .method(r.method)
            .uri(uri)
            .header("content-type", r.content_type)
            .header("x-amz-date", &signed.amz_date)
            .header("x-amz-content-sha256", &signed.payload_hash)
            .header("authorization", &signed.authorization);
        if let Some(target) = r.target {
            builder = builder.header("x-amz-target", target);
        }
        if let Some(token) = &self.credentials.session_token {
            builder = builder.header("x-amz-security-token", token);
        }
        builder
    }

    async fn send_built(
        &self,
        builder: http::request::Builder,
        body: Vec<u8>,
    ) -> Result<http::Response<hyper::body::Incoming>, ClientError> {
        let request = builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        self.http
            .request(request)
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))
    }

    pub async fn call<O: DeserializeOwned>(
        &self,
        operation: &str,
        body: &serde_json::Value,
    ) -> Result<O, ClientError> {
        let raw = self
            .call_raw(operation, body.to_string().into_bytes())
            .await?;
        // Some servers (kinesalite) answer operations without output with an empty body.
        let raw: &[u8] = if raw.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &raw
        };
        serde_json::from_slice(raw).map_err(|e| ClientError::Decode(e.to_string()))
    }
}
