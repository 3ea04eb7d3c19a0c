//! The Lambda REST edge: `/2015-03-31/functions...` and `/2015-03-31/event-source-mappings...`
//! on the server's port, with the REST-JSON protocol's shapes, status codes and errors.

mod actions;
mod check;
mod functions;
mod mappings;

use crate::errors::{LambdaError, LambdaErrorKind};
use crate::service::Lambda;
use serde::Serialize;
use spate_wire::service::{BoxFuture, RestAction, RestCall, RestReply, RestService};
use std::sync::Arc;

const PREFIX: &str = "/2015-03-31/";

pub struct LambdaApi {
    lambda: Arc<Lambda>,
}

impl LambdaApi {
    pub fn new(lambda: Arc<Lambda>) -> Arc<LambdaApi> {
        Arc::new(LambdaApi { lambda })
    }
}

impl RestService for LambdaApi {
    fn name(&self) -> &'static str {
        "lambda"
    }

    fn matches(&self, _method: &str, path: &str) -> bool {
        path.starts_with(PREFIX)
    }

    fn action(&self, method: &str, path: &str, body: &[u8]) -> Option<RestAction> {
        self.action_of(method, path, body)
    }

    fn call(self: Arc<Self>, call: RestCall) -> BoxFuture<RestReply> {
        Box::pin(async move {
            let lambda = &self.lambda;
            let path = call
                .path
                .strip_prefix(PREFIX)
                .unwrap_or_default()
                .to_string();
            let segments: Vec<String> = path
                .trim_end_matches('/')
                .split('/')
                .map(percent_decode)
                .collect();
            let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
            let method = call.method.as_str();
            let result = match (method, segments.as_slice()) {
                ("POST", ["functions"]) => functions::create(lambda, &call).await,
                ("GET", ["functions"]) => functions::list(lambda, &call),
                ("GET", ["functions", name]) => functions::get(lambda, name, false),
                ("GET", ["functions", name, "configuration"]) => functions::get(lambda, name, true),
                ("DELETE", ["functions", name]) => functions::delete(lambda, name).await,
                ("POST", ["functions", name, "invocations"]) => {
                    functions::invoke(lambda, name, &call).await
                }
                ("POST", ["event-source-mappings"]) => mappings::create(lambda, &call).await,
                ("GET", ["event-source-mappings"]) => mappings::list(lambda, &call),
                ("GET", ["event-source-mappings", uuid]) => mappings::get(lambda, uuid),
                ("PUT", ["event-source-mappings", uuid]) => {
                    mappings::update(lambda, uuid, &call).await
                }
                ("DELETE", ["event-source-mappings", uuid]) => mappings::delete(lambda, uuid).await,
                _ => Err(LambdaError::new(
                    LambdaErrorKind::UnknownOperation,
                    format!("Spate does not serve {method} {}", call.path),
                )),
            };
            match result {
                Ok(reply) => reply,
                Err(e) => error_reply(&e),
            }
        })
    }
}

pub(crate) fn error_reply(e: &LambdaError) -> RestReply {
    RestReply {
        operation: "Error",
        status: e.kind.status(),
        content_type: "application/json",
        headers: vec![("x-amzn-errortype", e.kind.code().to_string())],
        body: e.body(),
    }
}

pub(crate) fn json_reply<T: Serialize>(
    operation: &'static str,
    status: u16,
    value: &T,
) -> Result<RestReply, LambdaError> {
    let body = serde_json::to_vec(value).map_err(|e| crate::errors::service(e.to_string()))?;
    Ok(RestReply {
        operation,
        status,
        content_type: "application/json",
        headers: Vec::new(),
        body,
    })
}

/// The body as JSON input; an empty body is an empty structure.
pub(crate) fn input<T: serde::de::DeserializeOwned + Default>(
    call: &RestCall,
) -> Result<T, LambdaError> {
    if call.body.is_empty() {
        return Ok(T::default());
    }
    serde_json::from_slice(&call.body).map_err(|e| {
        LambdaError::new(
            LambdaErrorKind::InvalidRequestContent,
            format!("Could not parse request body into json: {e}"),
        )
    })
}

/// The value of a query parameter, decoded.
pub(crate) fn query(call: &RestCall, name: &str) -> Option<String> {
    call.query.as_deref()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

/// Decodes `%XX` escapes (and `+` in queries is left as is: SDKs escape spaces as `%20`).
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied(),
            bytes.get(i + 2).copied(),
        ) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A page of `items` (sorted by `key`) after `marker`, at most `max` long, and the next marker.
pub(crate) fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    marker: Option<&str>,
    max: usize,
) -> (Vec<T>, Option<String>) {
    let mut rest: Vec<T> = match marker {
        Some(m) => items
            .into_iter()
            .skip_while(|i| key(i).as_str() <= m)
            .collect(),
        None => items,
    };
    if rest.len() > max {
        rest.truncate(max);
        let next = rest.last().map(&key);
        (rest, next)
    } else {
        (rest, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode() {
        assert_eq!(
            percent_decode("arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af"),
            "arn:aws:lambda:us-east-1:000000000000:function:f"
        );
        assert_eq!(percent_decode("a%zzb%"), "a%zzb%");
    }

    #[test]
    fn pages_resume_after_the_marker() {
        let items: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let (p, next) = page(items.clone(), |s| s.clone(), None, 2);
        assert_eq!(
            (p, next.as_deref()),
            (vec!["a".to_string(), "b".into()], Some("b"))
        );
        let (p, next) = page(items, |s| s.clone(), Some("b"), 2);
        assert_eq!((p, next), (vec!["c".to_string()], None));
    }
}
