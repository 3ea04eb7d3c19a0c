//! Connections, request bodies, responses.

use crate::kinesis_routes;
use crate::subscribe::ServerBody;
use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use spate_streams::Kinesis;
use spate_wire::codec::{encode, Encoding};
use spate_wire::{ApiError, ErrorKind};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Largest request body accepted: a 10 MiB PutRecords grows by a third in base64.
    pub max_body_bytes: usize,
    /// Connections still open this long after shutdown starts are dropped.
    pub shutdown_grace_ms: u64,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_body_bytes: 16 << 20,
            shutdown_grace_ms: 5_000,
        }
    }
}

/// Serves until `shutdown` resolves, then stops accepting and drains open connections.
pub async fn serve(
    listener: TcpListener,
    kinesis: Arc<Kinesis>,
    options: ServerOptions,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let options = Arc::new(options);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let kinesis = kinesis.clone();
                let options = options.clone();
                let service = hyper::service::service_fn(move |req| {
                    let kinesis = kinesis.clone();
                    let options = options.clone();
                    async move { Ok::<_, std::convert::Infallible>(handle(req, &kinesis, &options).await) }
                });
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!("connection ended: {e}");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    // Event streams would hold their connections open until the grace period ends.
    kinesis.close_subscriptions();
    let grace = Duration::from_millis(options.shutdown_grace_ms);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {grace:?}; closing them");
    }
    Ok(())
}

async fn handle(
    req: Request<Incoming>,
    kinesis: &Arc<Kinesis>,
    options: &ServerOptions,
) -> Response<ServerBody> {
    let subscribe = req
        .headers()
        .get("x-amz-target")
        .is_some_and(|t| t.as_bytes() == SUBSCRIBE_TARGET.as_bytes());
    if subscribe && req.method() == Method::POST {
        let encoding = Encoding::from_content_type(
            req.headers()
                .get(hyper::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        );
        return match read_body(req, options, encoding).await {
            Ok(body) => crate::subscribe::subscribe(kinesis, encoding, &body).await,
            Err(response) => response.map(Either::Left),
        };
    }
    handle_unary(req, kinesis, options).await.map(Either::Left)
}

/// SubscribeToShard answers with an event stream; everything else with one body.
const SUBSCRIBE_TARGET: &str = "Kinesis_20131202.SubscribeToShard";

/// Reads a request body up to the limit; a too large or broken body is an error response.
async fn read_body(
    req: Request<Incoming>,
    options: &ServerOptions,
    encoding: Encoding,
) -> Result<Bytes, Response<Full<Bytes>>> {
    match Limited::new(req.into_body(), options.max_body_bytes)
        .collect()
        .await
    {
        Ok(body) => Ok(body.to_bytes()),
        Err(e) => {
            let too_big = e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            let message = if too_big {
                format!(
                    "Request body exceeds the maximum of {} bytes.",
                    options.max_body_bytes
                )
            } else {
                format!("Could not read the request body: {e}")
            };
            let mut response = error(encoding, &ApiError::new(ErrorKind::Serialization, message));
            if too_big {
                *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            }
            Err(response)
        }
    }
}

async fn handle_unary(
    req: Request<Incoming>,
    kinesis: &Arc<Kinesis>,
    options: &ServerOptions,
) -> Response<Full<Bytes>> {
    if req.method() == Method::GET {
        return match req.uri().path() {
            "/health" | "/healthz" => text(StatusCode::OK, "ok\n"),
            _ => text(StatusCode::NOT_FOUND, "not found\n"),
        };
    }
    let encoding = Encoding::from_content_type(
        req.headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    );
    if req.method() != Method::POST {
        return error(
            encoding,
            &ApiError::new(ErrorKind::UnknownOperation, "Only POST is supported."),
        );
    }
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = match read_body(req, options, encoding).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    if let Some(operation) = target.strip_prefix(spate_wire::admin::TARGET_PREFIX) {
        return kinesis_routes::dispatch_admin(kinesis, operation, encoding, &body).await;
    }
    match target.strip_prefix(spate_wire::kinesis::TARGET_PREFIX) {
        Some(operation) => kinesis_routes::dispatch(kinesis, operation, encoding, &body).await,
        None => error(
            encoding,
            &ApiError::new(
                ErrorKind::UnknownOperation,
                format!("Unknown operation: {target}"),
            ),
        ),
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r
}

static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A UUID-shaped request id, unique per process (and, with the start time mixed in, across runs).
fn request_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let n = REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed);
    let state = std::collections::hash_map::RandomState::new();
    let mut h = state.build_hasher();
    h.write_u64(n);
    let a = h.finish();
    let b = state.hash_one(n.wrapping_add(0x9e37_79b9_7f4a_7c15));
    let x = (u128::from(a) << 64) | u128::from(b);
    let s = format!("{x:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &s[0..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..32]
    )
}

pub(crate) fn respond(
    encoding: Encoding,
    status: StatusCode,
    body: Vec<u8>,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(encoding.content_type()),
    );
    with_request_id(r)
}

/// Adds a fresh `x-amzn-RequestId`.
pub(crate) fn with_request_id<B>(mut r: Response<B>) -> Response<B> {
    if let Ok(id) = hyper::header::HeaderValue::from_str(&request_id()) {
        r.headers_mut().insert("x-amzn-requestid", id);
    }
    r
}

pub(crate) fn error(encoding: Encoding, e: &ApiError) -> Response<Full<Bytes>> {
    if e.kind == ErrorKind::InternalFailure {
        tracing::error!("{e}");
    } else {
        tracing::debug!("{e}");
    }
    let status = StatusCode::from_u16(e.kind.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = respond(encoding, status, encode(encoding, &e.body()));
    r.headers_mut().insert(
        "x-amzn-errortype",
        hyper::header::HeaderValue::from_static(e.kind.code()),
    );
    r
}
