//! Enhanced fan-out retrieval: a registered stream consumer, and per leased shard a
//! SubscribeToShard event stream from the checkpoint, renewed from the last continuation
//! sequence number each time a subscription ends (every five minutes, or on error).

use crate::lease::{LATEST, TRIM_HORIZON};
use crate::shard::{children_of, fresh, kinesis_error, start_of, Ended, ShardContext, Stop};
use crate::{ConsumerError, RecordProcessor};
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::types::{
    ConsumerStatus, ShardIteratorType, StartingPosition, SubscribeToShardEventStream,
};
use std::time::Duration;
use tokio::sync::watch;

/// Wait before subscribing again after a refusal (another subscription of this consumer to the
/// shard is still open: Kinesis allows one per 5 s).
const RESUBSCRIBE_DELAY: Duration = Duration::from_millis(500);

/// Registers `name` on the stream (or finds it registered) and waits until it is ACTIVE;
/// answers its ARN.
pub(crate) async fn register(
    kinesis: &aws_sdk_kinesis::Client,
    stream: &str,
    name: &str,
) -> Result<String, ConsumerError> {
    let summary = kinesis
        .describe_stream_summary()
        .stream_name(stream)
        .send()
        .await
        .map_err(kinesis_error)?;
    let stream_arn = summary
        .stream_description_summary()
        .map(|s| s.stream_arn().to_string())
        .unwrap_or_default();
    match kinesis
        .register_stream_consumer()
        .stream_arn(&stream_arn)
        .consumer_name(name)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if e.code() == Some("ResourceInUseException") => {}
        Err(e) => return Err(kinesis_error(e)),
    }
    for _ in 0..600 {
        let described = kinesis
            .describe_stream_consumer()
            .stream_arn(&stream_arn)
            .consumer_name(name)
            .send()
            .await
            .map_err(kinesis_error)?;
        if let Some(c) = described.consumer_description() {
            if c.consumer_status() == &ConsumerStatus::Active {
                return Ok(c.consumer_arn().to_string());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(ConsumerError::Kinesis(format!(
        "consumer {name} did not become ACTIVE"
    )))
}

fn position(at: &str, after: bool) -> Result<StartingPosition, ConsumerError> {
    let builder = match at {
        TRIM_HORIZON => StartingPosition::builder().r#type(ShardIteratorType::TrimHorizon),
        LATEST => StartingPosition::builder().r#type(ShardIteratorType::Latest),
        sequence if after => StartingPosition::builder()
            .r#type(ShardIteratorType::AfterSequenceNumber)
            .sequence_number(sequence),
        sequence => StartingPosition::builder()
            .r#type(ShardIteratorType::AtSequenceNumber)
            .sequence_number(sequence),
    };
    builder
        .build()
        .map_err(|e| ConsumerError::Kinesis(e.to_string()))
}

/// Runs `processor` on the shard over SubscribeToShard until its end or until told to stop.
pub(crate) async fn consume<P: RecordProcessor>(
    ctx: &ShardContext,
    mut processor: P,
    mut stop: watch::Receiver<Stop>,
) -> Result<Ended, ConsumerError> {
    let checkpointer = ctx.checkpointer();
    let lease = &ctx.lease;
    let consumer_arn = ctx.consumer_arn.clone().unwrap_or_default();
    let (start, mut resume) = start_of(lease, ctx.config.initial_position);
    let (mut at, mut after) = (start, false);
    loop {
        let subscribed = ctx
            .kinesis
            .subscribe_to_shard()
            .consumer_arn(&consumer_arn)
            .shard_id(&lease.shard_id)
            .starting_position(position(&at, after)?)
            .send()
            .await;
        let mut subscription = match subscribed {
            Ok(s) => s,
            Err(e) if e.code() == Some("ResourceInUseException") => {
                tokio::time::sleep(RESUBSCRIBE_DELAY).await;
                continue;
            }
            Err(e) => return Err(kinesis_error(e)),
        };
        loop {
            let event = tokio::select! {
                event = subscription.event_stream.recv() => event,
                _ = stop.changed() => {
                    let signal = *stop.borrow();
                    match crate::shard::stopping(signal, &mut processor, &checkpointer).await {
                        Some(ended) => return Ok(ended),
                        None => continue,
                    }
                }
            };
            let event = match event {
                Ok(Some(SubscribeToShardEventStream::SubscribeToShardEvent(event))) => event,
                Ok(Some(_)) => continue,
                // The subscription ended (its five minutes, or the server stopping): renew it.
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!("{}: subscription ended: {e}", lease.shard_id);
                    break;
                }
            };
            let records = fresh(event.records(), lease, &resume);
            if let Some(last) = event.records().last() {
                resume = None;
                (at, after) = (last.sequence_number().to_string(), true);
            }
            if !records.is_empty() {
                processor.process_records(&records, &checkpointer).await;
            }
            if !event.child_shards().is_empty() {
                ctx.create_children(&children_of(event.child_shards()))
                    .await?;
                processor.shard_ended(&checkpointer).await;
                return Ok(Ended::ShardEnd);
            }
            let continuation = event.continuation_sequence_number();
            if !continuation.is_empty() {
                (at, after) = (continuation.to_string(), true);
            }
        }
    }
}
