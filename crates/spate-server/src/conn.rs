//! Per-connection bookkeeping: when the connection last moved bytes, how many responses it has
//! in flight, and when one last made progress; the watchdog that closes idle and stalled
//! connections uses it.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What the watchdog knows of one connection.
pub struct ConnState {
    started: Instant,
    /// Milliseconds since `started` of the last byte read or written.
    last_io_ms: AtomicI64,
    /// Milliseconds since `started` of the last response progress (a chunk handed out).
    last_progress_ms: AtomicI64,
    in_flight: AtomicUsize,
    /// The client's address (for `aws:SourceIp` and the audit log).
    pub peer: Option<std::net::IpAddr>,
    /// Whether the connection is TLS (`aws:SecureTransport`).
    pub secure: bool,
}

impl ConnState {
    #[cfg(test)]
    pub fn new() -> Arc<ConnState> {
        ConnState::with_peer(None, false)
    }

    pub fn with_peer(peer: Option<std::net::IpAddr>, secure: bool) -> Arc<ConnState> {
        Arc::new(ConnState {
            started: Instant::now(),
            last_io_ms: AtomicI64::new(0),
            last_progress_ms: AtomicI64::new(0),
            in_flight: AtomicUsize::new(0),
            peer,
            secure,
        })
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    fn touch(&self) {
        self.last_io_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    pub fn responses_started(&self) {
        if self.in_flight.fetch_add(1, Ordering::AcqRel) == 0 {
            self.last_progress_ms
                .store(self.now_ms(), Ordering::Relaxed);
        }
    }

    pub fn responses_finished(&self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    pub fn wrote_response_bytes(&self) {
        self.last_progress_ms
            .store(self.now_ms(), Ordering::Relaxed);
    }

    /// Why the connection should be closed now, if it should.
    pub fn verdict(&self, idle: Duration, stall: Duration) -> Option<&'static str> {
        let now = self.now_ms();
        let since =
            |t: &AtomicI64| Duration::from_millis((now - t.load(Ordering::Relaxed)).max(0) as u64);
        if self.in_flight.load(Ordering::Acquire) > 0 {
            (since(&self.last_progress_ms) >= stall).then_some("a response made no progress")
        } else {
            (since(&self.last_io_ms) >= idle).then_some("idle")
        }
    }
}

/// Waits until the connection should be closed; returns why.
pub async fn watchdog(state: Arc<ConnState>, idle: Duration, stall: Duration) -> &'static str {
    let every = idle.min(stall).max(Duration::from_millis(10)) / 4;
    loop {
        tokio::time::sleep(every).await;
        if let Some(why) = state.verdict(idle, stall) {
            return why;
        }
    }
}

/// A stream that records its activity in a [`ConnState`].
pub struct TrackedIo<T> {
    inner: T,
    state: Arc<ConnState>,
}

impl<T> TrackedIo<T> {
    pub fn new(inner: T, state: Arc<ConnState>) -> TrackedIo<T> {
        state.touch();
        TrackedIo { inner, state }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TrackedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.state.touch();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TrackedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.state.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.state.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_and_stalled_connections_are_told_apart() {
        let state = ConnState::new();
        let (idle, stall) = (Duration::from_millis(0), Duration::from_secs(3600));
        assert_eq!(state.verdict(idle, stall), Some("idle"));
        state.responses_started();
        assert_eq!(
            state.verdict(idle, stall),
            None,
            "a response in flight is not idle"
        );
        assert_eq!(
            state.verdict(stall, Duration::ZERO),
            Some("a response made no progress")
        );
        state.responses_finished();
        assert_eq!(state.verdict(stall, Duration::ZERO), None);
    }
}
