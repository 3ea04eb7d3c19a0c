//! Enhanced fan-out through the real `aws-sdk-kinesis`: consumers and SubscribeToShard.

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{
    ConsumerStatus, ShardIteratorType, StartingPosition, SubscribeToShardEventStream,
};
use spate_e2e_rust_sdk::{client, start_server};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_to_shard_receives_every_record_in_order() {
    let mut server = start_server(&[]).await;
    let k = client(&server.endpoint);
    k.create_stream()
        .stream_name("efo")
        .shard_count(1)
        .send()
        .await
        .expect("create");
    let stream_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/efo";
    let consumer = k
        .register_stream_consumer()
        .stream_arn(stream_arn)
        .consumer_name("dashboard")
        .send()
        .await
        .expect("register")
        .consumer
        .expect("consumer");
    let described = k
        .describe_stream_consumer()
        .consumer_arn(consumer.consumer_arn())
        .send()
        .await
        .expect("describe");
    assert_eq!(
        described
            .consumer_description()
            .map(|d| d.consumer_status()),
        Some(&ConsumerStatus::Active)
    );

    let mut subscription = k
        .subscribe_to_shard()
        .consumer_arn(consumer.consumer_arn())
        .shard_id("shardId-000000000000")
        .starting_position(
            StartingPosition::builder()
                .r#type(ShardIteratorType::Latest)
                .build()
                .expect("position"),
        )
        .send()
        .await
        .expect("subscribe");
    let sent: Vec<String> = (0..20).map(|i| format!("event {i}")).collect();
    for data in &sent {
        k.put_record()
            .stream_name("efo")
            .partition_key("p")
            .data(Blob::new(data.as_bytes().to_vec()))
            .send()
            .await
            .expect("put");
    }
    let mut received = Vec::new();
    let mut last_continuation = None;
    while received.len() < sent.len() {
        let event = tokio::time::timeout(Duration::from_secs(10), subscription.event_stream.recv())
            .await
            .expect("an event within 10 s")
            .expect("no stream error")
            .expect("stream still open");
        if let SubscribeToShardEventStream::SubscribeToShardEvent(event) = event {
            for r in event.records() {
                received.push(String::from_utf8_lossy(r.data().as_ref()).into_owned());
                last_continuation = Some(r.sequence_number().to_string());
            }
            if !event.records().is_empty() {
                assert_eq!(
                    Some(event.continuation_sequence_number()),
                    last_continuation.as_deref()
                );
            }
        }
    }
    assert_eq!(received, sent);

    k.deregister_stream_consumer()
        .consumer_arn(consumer.consumer_arn())
        .send()
        .await
        .expect("deregister");
    let listed = k
        .list_stream_consumers()
        .stream_arn(stream_arn)
        .send()
        .await
        .expect("list");
    assert!(listed.consumers().is_empty());
    let _ = server.child.kill().await;
}
