//! One request: CORS, body limits, REST routes, the AWS protocol edge, the service call, and the
//! headers every response carries (request ids, CORS).

use crate::body::{ChannelBody, ConnectionBudget, FullBody, ServerBody};
use crate::conn::ConnState;
use crate::edge::{self, Answer, Decision};
use crate::http::Shared;
use bytes::Bytes;
use http_body_util::{BodyExt, Either, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use spate_wire::codec::Encoding;
use spate_wire::service::{Call, Reply, TargetService};
use spate_wire::{eventstream, ApiError, ErrorKind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const EXPOSED_HEADERS: &str =
    "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date";

pub(crate) async fn handle(
    req: Request<Incoming>,
    shared: &Shared,
    state: &Arc<ConnState>,
    budget: &ConnectionBudget,
) -> Response<ServerBody> {
    let started = Instant::now();
    let origin = req.headers().contains_key(hyper::header::ORIGIN);
    let preflight = origin && req.method() == Method::OPTIONS;
    let (mut response, service, operation) = if preflight {
        (
            preflight_response(req.headers()),
            "cors".to_string(),
            "Preflight",
        )
    } else {
        route(req, shared, state, budget).await
    };
    decorate(response.headers_mut(), origin, preflight);
    shared.metrics.record(
        &service,
        operation,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

pub(crate) type Routed = (Response<ServerBody>, String, &'static str);

/// Everything but CORS preflights: (response, service, operation) for metrics.
async fn route(
    req: Request<Incoming>,
    shared: &Shared,
    state: &Arc<ConnState>,
    budget: &ConnectionBudget,
) -> Routed {
    let options = &shared.options;
    if declared_length(req.headers()).is_some_and(|n| n > options.max_body_bytes as u64) {
        return (too_large(options.max_body_bytes), "edge".into(), "TooLarge");
    }
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    if let Some(rest) = shared.router.rest(&method, &path) {
        return crate::rest::call_rest(rest, req, shared, state).await;
    }
    let uri = req.uri().clone();
    let headers = req.headers().clone();
    let query = req.uri().query().map(String::from);
    let body = match read_body(req, shared).await {
        Ok(body) => body,
        Err(response) => return (response, "edge".into(), "Body"),
    };
    let request = edge::Request {
        method: &method,
        content_type: header(&headers, "content-type"),
        target: header(&headers, "x-amz-target"),
        authorization: header(&headers, "authorization"),
        has_date: headers.contains_key("x-amz-date") || headers.contains_key("date"),
        query: query.as_deref(),
        body: &body,
    };
    let decision = if method == "POST" {
        edge::decide(&shared.router, &request, options.auth)
    } else {
        Decision::Answer(edge::unroutable(&request, options.auth))
    };
    match decision {
        Decision::Answer(answer) => (answered(answer), "edge".into(), "Edge"),
        Decision::Dispatch {
            service,
            operation,
            encoding,
        } => {
            let request = (method.as_str(), &uri, &headers);
            if let Err(e) = admit(shared, state, &*service, operation.name, request, &body) {
                return (answered(Answer::error(encoding, &e)), "edge".into(), "Auth");
            }
            let prefix = service.target_prefix().to_string();
            let call = Call {
                operation: operation.name,
                encoding,
                body,
            };
            let response = dispatch(
                service,
                call,
                operation.response_max_bytes,
                shared,
                state,
                budget,
            )
            .await;
            (response, prefix, operation.name)
        }
    }
}

/// Verifies a JSON call's signature, then its principal's policies; audits the call.
fn admit(
    shared: &Shared,
    state: &ConnState,
    service: &dyn TargetService,
    operation: &'static str,
    (method, uri, headers): (&str, &hyper::Uri, &HeaderMap),
    body: &[u8],
) -> Result<(), ApiError> {
    let authenticated = authenticate(shared, method, uri, headers, body)
        .map_err(|e| ApiError::new(auth_kind(&e), e.message()));
    let credential = authenticated.as_ref().ok().cloned().flatten();
    let checked = authenticated.and_then(|_| match &credential {
        Some(c) => crate::authorize::authorize(&shared.options, service, operation, body, c, state),
        None => Ok(()),
    });
    if let Some(audit) = &shared.options.audit {
        let call = crate::audit::Call {
            service,
            operation,
            body,
            headers,
            source: state.peer,
        };
        let refused = checked.as_ref().err();
        audit.record_call(&shared.options, &call, credential.as_ref(), refused);
    }
    checked
}

/// With credentials configured, the request's SigV4 signature verified against them.
pub(crate) fn authenticate(
    shared: &Shared,
    method: &str,
    uri: &hyper::Uri,
    headers: &hyper::HeaderMap,
    body: &[u8],
) -> Result<Option<spate_auth::Credential>, spate_auth::AuthError> {
    let Some(store) = &shared.options.credentials else {
        return Ok(None);
    };
    let credentials = store.current();
    let mut list: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    // HTTP/2 carries the host as `:authority`: the SDKs sign it as `host` or, as the JS SDK v3
    // does over HTTP/2, under its own name.
    if let Some(authority) = uri.authority() {
        if !list.iter().any(|(n, _)| n == "host") {
            list.push(("host".into(), authority.as_str().to_string()));
        }
        list.push((":authority".into(), authority.as_str().to_string()));
    }
    let request = spate_auth::SignedRequest {
        method,
        path: uri.path(),
        query: uri.query(),
        headers: &list,
        body,
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    spate_auth::verify(&request, &credentials, now_ms).map(|c| Some(c.clone()))
}

pub(crate) fn auth_kind(e: &spate_auth::AuthError) -> ErrorKind {
    match e {
        spate_auth::AuthError::UnrecognizedClient => ErrorKind::UnrecognizedClient,
        spate_auth::AuthError::InvalidSignature(_) => ErrorKind::InvalidSignature,
        spate_auth::AuthError::Incomplete(_) => ErrorKind::IncompleteSignature,
    }
}

/// Calls a service operation once its largest response fits the buffer budget.
async fn dispatch(
    service: Arc<dyn TargetService>,
    call: Call,
    response_max_bytes: usize,
    shared: &Shared,
    state: &Arc<ConnState>,
    budget: &ConnectionBudget,
) -> Response<ServerBody> {
    let encoding = call.encoding;
    let Some(reservation) = budget.reserve(response_max_bytes, state).await else {
        return busy(encoding);
    };
    let reserved = i64::try_from(budget.server_reserved()).unwrap_or(i64::MAX);
    shared
        .metrics
        .response_buffer_bytes
        .store(reserved, Ordering::Relaxed);
    match service.call(call).await {
        Reply::Output(bytes) => {
            let mut r = Response::new(Either::Left(FullBody::new(bytes, Some(reservation))));
            insert(
                r.headers_mut(),
                hyper::header::CONTENT_TYPE,
                encoding.content_type(),
            );
            r
        }
        Reply::Error(e) => with_body(Answer::error(encoding, &log(e)), Some(reservation)),
        Reply::EventStream(rx) => {
            let mut r = Response::new(Either::Right(ChannelBody::new(rx, Some(reservation))));
            insert(
                r.headers_mut(),
                hyper::header::CONTENT_TYPE,
                eventstream::CONTENT_TYPE,
            );
            r
        }
    }
}

fn log(e: ApiError) -> ApiError {
    if e.kind == ErrorKind::InternalFailure {
        tracing::error!("{e}");
    } else {
        tracing::debug!("{e}");
    }
    e
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    header(headers, "content-length").and_then(|v| v.trim().parse().ok())
}

/// Reads a request body up to the limit and within the body timeout.
pub(crate) async fn read_body(
    req: Request<Incoming>,
    shared: &Shared,
) -> Result<Bytes, Response<ServerBody>> {
    let options = &shared.options;
    let limited = Limited::new(req.into_body(), options.max_body_bytes).collect();
    let timeout = Duration::from_millis(options.body_read_timeout_ms);
    match tokio::time::timeout(timeout, limited).await {
        Ok(Ok(body)) => Ok(body.to_bytes()),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(too_large(options.max_body_bytes))
        }
        Ok(Err(e)) => {
            let e = ApiError::new(
                ErrorKind::Serialization,
                format!("Could not read the request body: {e}"),
            );
            Err(answered(Answer::error(Encoding::Json, &e)))
        }
        Err(_) => Err(plain(
            StatusCode::REQUEST_TIMEOUT,
            "The request body did not arrive in time.\n",
        )),
    }
}

fn too_large(max: usize) -> Response<ServerBody> {
    let text = format!("Request body exceeds the maximum of {max} bytes.\n");
    plain(StatusCode::PAYLOAD_TOO_LARGE, &text)
}

/// The response buffer budget stayed exhausted: the client should back off and retry.
fn busy(encoding: Encoding) -> Response<ServerBody> {
    let e = ApiError::new(
        ErrorKind::ServiceUnavailable,
        "The server is buffering too many unread responses; retry later.",
    );
    answered(Answer::error(encoding, &e))
}

fn plain(status: StatusCode, text: &str) -> Response<ServerBody> {
    let mut r = Response::new(Either::Left(FullBody::new(text.to_string(), None)));
    *r.status_mut() = status;
    insert(
        r.headers_mut(),
        hyper::header::CONTENT_TYPE,
        "text/plain; charset=utf-8",
    );
    r
}

fn answered(answer: Answer) -> Response<ServerBody> {
    with_body(answer, None)
}

fn with_body(
    answer: Answer,
    reservation: Option<crate::body::Reservation>,
) -> Response<ServerBody> {
    let mut r = Response::new(Either::Left(FullBody::new(answer.body, reservation)));
    *r.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_REQUEST);
    if let Some(ct) = answer.content_type {
        insert(r.headers_mut(), hyper::header::CONTENT_TYPE, ct);
    }
    if let Some(kind) = answer.error_type {
        insert(
            r.headers_mut(),
            HeaderName::from_static("x-amzn-errortype"),
            kind,
        );
    }
    r
}

/// `OPTIONS` with `Origin`: 200, allowing whatever the preflight asks for.
fn preflight_response(headers: &HeaderMap) -> Response<ServerBody> {
    let mut r = Response::new(Either::Left(FullBody::empty()));
    let h = r.headers_mut();
    if let Some(v) = headers.get("access-control-request-headers") {
        h.insert("access-control-allow-headers", v.clone());
    }
    if let Some(v) = headers.get("access-control-request-method") {
        h.insert("access-control-allow-methods", v.clone());
    }
    insert(
        h,
        HeaderName::from_static("access-control-max-age"),
        "172800",
    );
    r
}

/// Request ids on every response; CORS on every response to a request with `Origin`.
fn decorate(h: &mut HeaderMap, origin: bool, preflight: bool) {
    insert(
        h,
        HeaderName::from_static("x-amzn-requestid"),
        &request_id(),
    );
    if !preflight {
        insert(
            h,
            HeaderName::from_static("x-amz-id-2"),
            &extended_request_id(),
        );
    }
    if origin {
        insert(
            h,
            HeaderName::from_static("access-control-allow-origin"),
            "*",
        );
        if !preflight {
            insert(
                h,
                HeaderName::from_static("access-control-expose-headers"),
                EXPOSED_HEADERS,
            );
        }
    }
}

pub(crate) fn insert(h: &mut HeaderMap, name: impl Into<HeaderName>, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name.into(), v);
    }
}

static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(0);

/// 64 pseudo-random bits, different on every call (ids need uniqueness, not secrecy).
fn random_u64() -> u64 {
    use std::hash::BuildHasher;
    let n = REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed);
    std::collections::hash_map::RandomState::new().hash_one(n)
}

/// A version-4-shaped UUID, as AWS's `x-amzn-RequestId`.
fn request_id() -> String {
    let x = (u128::from(random_u64()) << 64) | u128::from(random_u64());
    let s = format!("{x:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &s[0..8],
        &s[8..12],
        &s[13..16],
        &s[17..20],
        &s[20..32]
    )
}

/// `x-amz-id-2`: base64 of 72 random bytes, as AWS sends it.
fn extended_request_id() -> String {
    use base64::Engine;
    let bytes: Vec<u8> = (0..9).flat_map(|_| random_u64().to_be_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
