//! HTTP URL functions: the event is POSTed as JSON; a 2xx answer's body is the result. Any other
//! status, an unreachable URL, a timeout or a body that is not JSON is a function error.

use super::invoke::{InvokeContext, Outcome};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// The most of a function's answer that is read, in bytes (Lambda's 6 MB response limit).
pub const RESPONSE_MAX_BYTES: usize = 6 * 1024 * 1024;

#[derive(Clone)]
pub struct UrlInvoker {
    client: Client<spate_outbound::Connector, Full<Bytes>>,
}

impl UrlInvoker {
    /// `http://` and `https://` URLs, the latter verified against `trust`.
    pub fn new(trust: &spate_outbound::Trust) -> Result<UrlInvoker, String> {
        Ok(UrlInvoker {
            client: Client::builder(TokioExecutor::new()).build(trust.connector()?),
        })
    }
}

impl UrlInvoker {
    pub async fn invoke(
        &self,
        url: &str,
        event: Bytes,
        context: &InvokeContext,
        timeout: Duration,
    ) -> Outcome {
        let request = hyper::Request::post(url)
            .header("content-type", "application/json")
            .header("lambda-runtime-aws-request-id", &context.request_id)
            .header("lambda-runtime-invoked-function-arn", &context.function_arn)
            .header(
                "lambda-runtime-deadline-ms",
                context.deadline_ms.to_string(),
            )
            .body(Full::new(event));
        let request = match request {
            Ok(r) => r,
            Err(e) => return Outcome::error("Runtime.InvalidUrl", format!("{url}: {e}")),
        };
        let call = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| spate_outbound::describe(&e))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), RESPONSE_MAX_BYTES)
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, body))
        };
        match tokio::time::timeout(timeout, call).await {
            Err(_) => Outcome::timed_out(&context.request_id, timeout.as_secs() as u32),
            Ok(Err(e)) => Outcome::error("Runtime.Unreachable", format!("{url}: {e}")),
            Ok(Ok((status, body))) if !status.is_success() => Outcome::error(
                "Runtime.HttpError",
                format!(
                    "{url} answered {status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(1024)])
                ),
            ),
            Ok(Ok((_, body))) if body.is_empty() => Outcome::Ok(serde_json::Value::Null),
            Ok(Ok((_, body))) => match serde_json::from_slice(&body) {
                Ok(value) => Outcome::Ok(value),
                Err(e) => Outcome::error(
                    "Runtime.InvalidResponse",
                    format!("the function's answer is not JSON: {e}"),
                ),
            },
        }
    }
}
