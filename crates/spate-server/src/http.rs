//! Connections: HTTP/1.1 and HTTP/2, cleartext or TLS, on one port, a bounded number of them, each
//! watched for idleness and stalled responses; graceful drain at shutdown.

use crate::body::{Budget, ConnectionBudget, ServerBody};
use crate::conn::{watchdog, ConnState, TrackedIo};
use crate::metrics::{Metrics, Operational};
use crate::options::ServerOptions;
use crate::request::handle;
use crate::router::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// Everything a request handler needs, shared by all connections.
pub(crate) struct Shared {
    pub router: Router,
    pub options: ServerOptions,
    pub metrics: Arc<Metrics>,
}

/// Serves until `shutdown` resolves, then stops accepting, tells the services, and drains open
/// connections (for at most `shutdown_grace_ms`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServerOptions,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let metrics = Arc::new(Metrics::default());
    let router = router.with_rest(Arc::new(Operational {
        metrics: metrics.clone(),
    }));
    let shared = Arc::new(Shared {
        router,
        options: options.clone(),
        metrics,
    });
    let builder = http_builder(&options);
    let budget = Budget::new(
        options.response_buffer_bytes_max,
        options.connection_response_buffer_bytes_max,
        Duration::from_millis(options.response_stall_timeout_ms),
    );
    let graceful = GracefulShutdown::new();
    let tls = match &options.tls {
        Some(files) => Some(files.acceptor().map_err(std::io::Error::other)?),
        None => None,
    };
    let slots = Arc::new(Semaphore::new(options.connections_max.max(1)));
    tokio::pin!(shutdown);
    loop {
        // Take a connection slot before accepting: past `connections_max`, clients wait in the
        // kernel's listen backlog instead of taking descriptors.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            _ = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, _)) => {
                let connection = Connection {
                    shared: shared.clone(),
                    budget: budget.for_connection(),
                    slot,
                };
                connection.spawn(stream, &builder, &graceful, tls.as_ref());
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    drop(listener);
    // Event streams would hold their connections open until the grace period ends.
    shared.router.close();
    let grace = Duration::from_millis(options.shutdown_grace_ms);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {grace:?}; closing them");
    }
    Ok(())
}

/// One accepted connection and what it holds.
struct Connection {
    shared: Arc<Shared>,
    budget: ConnectionBudget,
    /// Released when the connection ends.
    slot: tokio::sync::OwnedSemaphorePermit,
}

impl Connection {
    /// Serves the connection on its own task (after the TLS handshake, if the port speaks
    /// TLS), under the watchdog.
    fn spawn(
        self,
        stream: tokio::net::TcpStream,
        builder: &auto::Builder<TokioExecutor>,
        graceful: &GracefulShutdown,
        tls: Option<&TlsAcceptor>,
    ) {
        let _ = stream.set_nodelay(true);
        let peer = stream.peer_addr().ok().map(|a| a.ip());
        let state = ConnState::with_peer(peer, tls.is_some());
        let (builder, watcher, tls) = (builder.clone(), graceful.watcher(), tls.cloned());
        // A client must finish the handshake as fast as it must send its headers.
        let handshake = Duration::from_millis(self.shared.options.header_read_timeout_ms);
        let metrics = self.shared.metrics.clone();
        tokio::spawn(async move {
            metrics.connections_open.fetch_add(1, Ordering::Relaxed);
            let io = TrackedIo::new(stream, state.clone());
            match tls {
                None => self.run(TokioIo::new(io), &builder, watcher, state).await,
                Some(acceptor) => {
                    match tokio::time::timeout(handshake, acceptor.accept(io)).await {
                        Ok(Ok(tls)) => self.run(TokioIo::new(tls), &builder, watcher, state).await,
                        Ok(Err(e)) => tracing::debug!("TLS handshake failed: {e}"),
                        Err(_) => {
                            tracing::debug!("TLS handshake not finished within {handshake:?}")
                        }
                    }
                }
            }
            metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
        });
    }

    /// Serves HTTP/1.1 or HTTP/2 (by the client's preface) until the connection ends or the
    /// watchdog closes it; the connection slot is released on return.
    async fn run<I>(
        self,
        io: TokioIo<I>,
        builder: &auto::Builder<TokioExecutor>,
        watcher: hyper_util::server::graceful::Watcher,
        state: Arc<ConnState>,
    ) where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let service = service_for(self.shared.clone(), state.clone(), self.budget);
        let conn = watcher.watch(
            builder
                .serve_connection_with_upgrades(io, service)
                .into_owned(),
        );
        let options = &self.shared.options;
        let idle = Duration::from_millis(options.idle_timeout_ms);
        let stall = Duration::from_millis(options.response_stall_timeout_ms);
        tokio::select! {
            ended = conn => if let Err(e) = ended {
                tracing::debug!("connection ended: {e}");
            },
            why = watchdog(state, idle, stall) => tracing::debug!("closing connection: {why}"),
        }
        drop(self.slot);
    }
}

fn http_builder(options: &ServerOptions) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(options.header_read_timeout_ms));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(options.h2_max_concurrent_streams)
        // Detects peers that vanished without closing.
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(20));
    builder
}

fn service_for(
    shared: Arc<Shared>,
    state: Arc<ConnState>,
    budget: ConnectionBudget,
) -> impl hyper::service::Service<
    hyper::Request<hyper::body::Incoming>,
    Response = hyper::Response<ServerBody>,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<hyper::Response<ServerBody>, std::convert::Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |req| {
        let shared = shared.clone();
        let state = state.clone();
        let budget = budget.clone();
        async move { Ok(handle(req, &shared, &state, &budget).await) }
    })
}
