//! SubscribeToShard over HTTP: a `vnd.amazon.eventstream` response body fed by the
//! subscription, one frame per event (chunked on HTTP/1.1, DATA frames on HTTP/2).
//!
//! The body is a channel with room for one frame: a consumer that stops reading holds its own
//! subscription at most one event behind what its connection accepted (each event carries at
//! most about 1 MiB of records, or one larger record), and nothing else waits for it.

use crate::http::{error, with_request_id};
use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Frame;
use hyper::{Response, StatusCode};
use serde::Serialize;
use spate_streams::{Kinesis, SubscriptionEvent};
use spate_wire::codec::{decode, encode, Encoding};
use spate_wire::eventstream;
use spate_wire::kinesis::EmptyOutput;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Frames waiting for the connection, per subscription.
const QUEUED_FRAMES: usize = 1;

/// A response body whose frames arrive over a channel.
pub struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|f| f.map(|b| Ok(Frame::data(b))))
    }
}

/// Every response: a whole body, or an event stream.
pub type ServerBody = Either<Full<Bytes>, ChannelBody>;

#[derive(Serialize)]
struct ExceptionBody<'a> {
    message: &'a str,
}

/// The `:content-type` of event payloads.
fn event_content_type(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Json => "application/json",
        Encoding::Cbor => "application/x-amz-cbor-1.1",
    }
}

pub async fn subscribe(k: &Arc<Kinesis>, enc: Encoding, body: &[u8]) -> Response<ServerBody> {
    let input = match decode(enc, body) {
        Ok(input) => input,
        Err(e) => return error(enc, &e).map(Either::Left),
    };
    let mut subscription = match k.subscribe_to_shard(input).await {
        Ok(subscription) => subscription,
        Err(e) => return error(enc, &e).map(Either::Left),
    };
    let content_type = event_content_type(enc);
    let (tx, rx) = mpsc::channel::<Bytes>(QUEUED_FRAMES);
    let initial = eventstream::event(
        "initial-response",
        content_type,
        &encode(enc, &EmptyOutput {}),
    );
    // The channel is new and empty: the initial response always fits.
    let _ = tx.try_send(Bytes::from(initial));
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                event = subscription.next() => event,
                _ = tx.closed() => break,
            };
            let frame = match next {
                None => break,
                Some(SubscriptionEvent::Records(page)) => eventstream::event(
                    "SubscribeToShardEvent",
                    content_type,
                    &encode(enc, &page.event()),
                ),
                Some(SubscriptionEvent::Failed(e)) => {
                    let payload = encode(
                        enc,
                        &ExceptionBody {
                            message: &e.message,
                        },
                    );
                    let frame = eventstream::exception(e.kind.code(), content_type, &payload);
                    let _ = tx.send(Bytes::from(frame)).await;
                    break;
                }
            };
            if tx.send(Bytes::from(frame)).await.is_err() {
                break;
            }
        }
    });
    let mut response = Response::new(Either::Right(ChannelBody { rx }));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(eventstream::CONTENT_TYPE),
    );
    with_request_id(response)
}
