//! Response bodies and the response buffer budget.
//!
//! Every response holds a reservation of the server's and its connection's budget for the
//! bytes it has not yet handed to the connection: `response_buffer_bytes_max` in all, and
//! `connection_response_buffer_bytes_max` per connection. A request reserves its operation's
//! largest possible response before it runs (and gives back what it did not need), so a client
//! that stops reading (a zero HTTP/2 flow-control window, a full TCP window) cannot make the
//! server build response after response for it: its next request waits for budget, and after
//! `response_stall_timeout_ms` gets a 503. Bodies hand out their bytes in chunks and release
//! the reservation chunk by chunk, so what HTTP/2 buffers beyond it is at most one chunk per
//! stream.

use crate::conn::ConnState;
use bytes::Bytes;
use hyper::body::Frame;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// Bytes a body hands to the connection at a time.
const CHUNK_BYTES: usize = 64 << 10;

/// The server-wide budget.
#[derive(Clone)]
pub struct Budget {
    server: Arc<Semaphore>,
    server_max: usize,
    connection_max: usize,
    stall_timeout: Duration,
}

impl Budget {
    pub fn new(server_max: usize, connection_max: usize, stall_timeout: Duration) -> Budget {
        let server_max = server_max.clamp(1, u32::MAX as usize);
        Budget {
            server: Arc::new(Semaphore::new(server_max)),
            server_max,
            connection_max: connection_max.clamp(1, server_max),
            stall_timeout,
        }
    }

    /// The budget of one new connection.
    pub fn for_connection(&self) -> ConnectionBudget {
        ConnectionBudget {
            budget: self.clone(),
            connection: Arc::new(Semaphore::new(self.connection_max)),
        }
    }
}

#[derive(Clone)]
pub struct ConnectionBudget {
    budget: Budget,
    connection: Arc<Semaphore>,
}

/// Bytes of budget held for one response.
pub struct Reservation {
    connection: OwnedSemaphorePermit,
    server: OwnedSemaphorePermit,
    state: Arc<ConnState>,
}

impl ConnectionBudget {
    /// Reserves `bytes` (capped at what one connection may hold), waiting at most the stall
    /// timeout; `None` if the budget stayed exhausted that long.
    pub async fn reserve(&self, bytes: usize, state: &Arc<ConnState>) -> Option<Reservation> {
        let bytes = bytes.clamp(1, self.budget.connection_max) as u32;
        let acquire = async {
            let connection = self
                .connection
                .clone()
                .acquire_many_owned(bytes)
                .await
                .ok()?;
            let server = self
                .budget
                .server
                .clone()
                .acquire_many_owned(bytes)
                .await
                .ok()?;
            Some((connection, server))
        };
        let (connection, server) = tokio::time::timeout(self.budget.stall_timeout, acquire)
            .await
            .ok()??;
        state.responses_started();
        Some(Reservation {
            connection,
            server,
            state: state.clone(),
        })
    }

    /// Bytes reserved now across the server (for tests and metrics).
    pub fn server_reserved(&self) -> usize {
        self.budget.server_max - self.budget.server.available_permits()
    }
}

impl Reservation {
    /// Keeps at most `bytes` reserved, giving back the rest.
    fn keep(&mut self, bytes: usize) {
        let extra = self.connection.num_permits().saturating_sub(bytes.max(1));
        if extra > 0 {
            drop(self.connection.split(extra));
            drop(self.server.split(extra));
        }
    }

    /// Gives back what a chunk handed to the connection held.
    fn release(&mut self, bytes: usize) {
        let n = bytes.min(self.connection.num_permits().saturating_sub(1));
        if n > 0 {
            drop(self.connection.split(n));
            drop(self.server.split(n));
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.state.responses_finished();
    }
}

/// A whole response body, handed out in chunks.
pub struct FullBody {
    data: Bytes,
    reservation: Option<Reservation>,
}

impl FullBody {
    pub fn new(data: impl Into<Bytes>, reservation: Option<Reservation>) -> FullBody {
        let data = data.into();
        let mut reservation = reservation;
        if let Some(r) = &mut reservation {
            r.keep(data.len());
        }
        FullBody { data, reservation }
    }

    pub fn empty() -> FullBody {
        FullBody::new(Bytes::new(), None)
    }
}

impl hyper::body::Body for FullBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.data.is_empty() {
            self.reservation = None;
            return Poll::Ready(None);
        }
        let n = self.data.len().min(CHUNK_BYTES);
        let chunk = self.data.split_to(n);
        if let Some(r) = &mut self.reservation {
            r.state.wrote_response_bytes();
            r.release(n);
        }
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_empty()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.data.len() as u64)
    }
}

/// An event-stream body: frames arrive over a channel; the reservation is held for the life
/// of the stream.
pub struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
    reservation: Option<Reservation>,
}

impl ChannelBody {
    pub fn new(rx: mpsc::Receiver<Bytes>, reservation: Option<Reservation>) -> ChannelBody {
        ChannelBody { rx, reservation }
    }
}

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let polled = self.rx.poll_recv(cx);
        if let (Poll::Ready(Some(_)), Some(r)) = (&polled, &self.reservation) {
            r.state.wrote_response_bytes();
        }
        polled.map(|f| f.map(|b| Ok(Frame::data(b))))
    }
}

/// Every response body.
pub type ServerBody = http_body_util::Either<FullBody, ChannelBody>;
