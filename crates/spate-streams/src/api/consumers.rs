//! Enhanced fan-out operations at the edge, SubscribeToShard's event stream included.

use super::check::{self, int, text};
use super::Reply;
use crate::consumers::ConsumerRef;
use crate::model::{ConsumerArn, StartingPosition};
use crate::records::starting_position;
use crate::service::Kinesis;
use crate::subscribe::SubscriptionEvent;
use bytes::Bytes;
use serde::Serialize;
use spate_wire::codec::{decode, encode, Encoding};
use spate_wire::eventstream;
use spate_wire::kinesis::*;
use spate_wire::service::Call;
use spate_wire::validate::Validator;
use spate_wire::ApiError;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Frames waiting for the connection, per subscription: a consumer that stops reading holds
/// its own subscription at most this many events (about 1 MiB each) ahead.
const QUEUED_FRAMES: usize = 1;

fn consumer_ref(
    v_arn: &Option<spate_wire::Str>,
    stream_arn: &Option<spate_wire::Str>,
    name: &Option<spate_wire::Str>,
) -> Result<ConsumerRef, ApiError> {
    if let Some(arn) = text(v_arn).and_then(ConsumerArn::parse) {
        return Ok(ConsumerRef::Arn(arn));
    }
    match (text(stream_arn), check::consumer_name_of(name)) {
        (Some(_), Some(name)) => Ok(ConsumerRef::Named {
            stream: check::arn_of(stream_arn)?,
            name,
        }),
        _ => Err(crate::errors::invalid(
            "Either ConsumerARN or both ConsumerName and StreamARN must be provided.",
        )),
    }
}

fn check_consumer_ref(v: &mut Validator, i: &ConsumerRefInput) {
    check::stream_arn(v, text(&i.stream_arn), "streamARN");
    check::consumer_name(v, text(&i.consumer_name));
    check::consumer_arn(v, text(&i.consumer_arn));
}

pub async fn register(
    k: &Arc<Kinesis>,
    i: RegisterStreamConsumerInput,
) -> Result<RegisterStreamConsumerOutput, ApiError> {
    let mut v = Validator::new();
    v.required(&i.stream_arn, "streamARN");
    check::stream_arn(&mut v, text(&i.stream_arn), "streamARN");
    v.required(&i.consumer_name, "consumerName");
    check::consumer_name(&mut v, text(&i.consumer_name));
    check::tags(&mut v, &i.tags, "tags");
    v.finish()?;
    let stream = check::arn_of(&i.stream_arn)?;
    let name = check::consumer_name_of(&i.consumer_name)
        .ok_or_else(|| crate::errors::invalid("ConsumerName is required."))?;
    k.consumers
        .register(&stream, &name, check::tags_of(i.tags))
        .await
}

pub async fn deregister(k: &Arc<Kinesis>, i: ConsumerRefInput) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    check_consumer_ref(&mut v, &i);
    v.finish()?;
    let consumer = consumer_ref(&i.consumer_arn, &i.stream_arn, &i.consumer_name)?;
    k.consumers.deregister(&consumer).await?;
    Ok(EmptyOutput {})
}

pub async fn describe(
    k: &Arc<Kinesis>,
    i: ConsumerRefInput,
) -> Result<DescribeStreamConsumerOutput, ApiError> {
    let mut v = Validator::new();
    check_consumer_ref(&mut v, &i);
    v.finish()?;
    k.consumers.describe(&consumer_ref(
        &i.consumer_arn,
        &i.stream_arn,
        &i.consumer_name,
    )?)
}

pub async fn list(
    k: &Arc<Kinesis>,
    i: ListStreamConsumersInput,
) -> Result<ListStreamConsumersOutput, ApiError> {
    let mut v = Validator::new();
    v.required(&i.stream_arn, "streamARN");
    check::stream_arn(&mut v, text(&i.stream_arn), "streamARN");
    v.length(text(&i.next_token), "nextToken", 1, 1_048_576);
    v.range(int(&i.max_results), "maxResults", 1, 10_000);
    v.finish()?;
    let stream = check::arn_of(&i.stream_arn)?;
    let max = int(&i.max_results).unwrap_or(100) as usize;
    let created = i.stream_creation_timestamp.map(|t| t.epoch_millis);
    k.consumers.list(&stream, text(&i.next_token), max, created)
}

#[derive(Serialize)]
struct ExceptionBody<'a> {
    message: &'a str,
}

/// The `:content-type` of event payloads.
fn event_content_type(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Json | Encoding::Json10 => "application/json",
        Encoding::Cbor => "application/x-amz-cbor-1.1",
    }
}

/// Validates and starts a subscription (errors are plain responses), then streams its events:
/// the `initial-response`, then `SubscribeToShardEvent`s, then (if it ends in error) an
/// exception frame.
pub async fn subscribe_to_shard(k: &Arc<Kinesis>, call: &Call) -> Reply {
    let encoding = call.encoding;
    let subscription = match start_subscription(k, call).await {
        Ok(subscription) => subscription,
        Err(e) => return Reply::Error(e),
    };
    let content_type = event_content_type(encoding);
    let (tx, rx) = mpsc::channel::<Bytes>(QUEUED_FRAMES);
    let initial = eventstream::event(
        "initial-response",
        content_type,
        &encode(encoding, &EmptyOutput {}),
    );
    // The channel is new and empty: the initial response always fits.
    let _ = tx.try_send(Bytes::from(initial));
    tokio::spawn(pump(subscription, tx, encoding));
    Reply::EventStream(rx)
}

async fn start_subscription(
    k: &Arc<Kinesis>,
    call: &Call,
) -> Result<crate::subscribe::Subscription, ApiError> {
    let i: SubscribeToShardInput = decode(call.encoding, &call.body)?;
    let start = i.starting_position.as_ref().map(|p| &p.0);
    let kind = start.and_then(|p| text(&p.kind));
    let mut v = Validator::new();
    v.required(&i.consumer_arn, "consumerARN");
    check::consumer_arn(&mut v, text(&i.consumer_arn));
    v.required(&i.shard_id, "shardId");
    check::shard_id(&mut v, text(&i.shard_id), "shardId");
    v.required(&i.starting_position, "startingPosition");
    if start.is_some() {
        v.required(&kind, "startingPosition.type");
    }
    v.one_of(kind, "startingPosition.type", &StartingPosition::TYPES);
    v.finish()?;
    let consumer = text(&i.consumer_arn)
        .and_then(ConsumerArn::parse)
        .map(ConsumerRef::Arn)
        .ok_or_else(|| crate::errors::invalid("Invalid ConsumerARN."))?;
    let position = starting_position(
        kind.unwrap_or_default(),
        start.and_then(|p| text(&p.sequence_number)),
        start.and_then(|p| p.timestamp).map(|t| t.epoch_millis),
    )?;
    k.consumers
        .subscribe(&consumer, text(&i.shard_id).unwrap_or_default(), &position)
        .await
}

async fn pump(
    mut subscription: crate::subscribe::Subscription,
    tx: mpsc::Sender<Bytes>,
    encoding: Encoding,
) {
    let content_type = event_content_type(encoding);
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
                &encode(encoding, &page.event()),
            ),
            Some(SubscriptionEvent::Failed(e)) => {
                let payload = encode(
                    encoding,
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
}
