//! Enhanced fan-out consumers and ON_DEMAND scaling: registration by the injected clock,
//! subscriptions by tokio's paused clock, scaling passes called directly.

use super::Harness;
use crate::config::AutoscaleConfig;
use crate::consumers::ConsumerRef;
use crate::model::{ConsumerArn, StartingPosition};
use crate::subscribe::{Subscription, SubscriptionEvent};
use crate::ServiceConfig;
use serde_json::{json, Value};
use spate_wire::{ApiError, ErrorKind};
use std::time::Duration;

const SHARD0: &str = "shardId-000000000000";

async fn stream_arn(h: &Harness, name: &str) -> Value {
    let summary = h
        .ok("DescribeStreamSummary", json!({"StreamName": name}))
        .await;
    summary["StreamDescriptionSummary"]["StreamARN"].clone()
}

async fn register(h: &Harness, stream: &str, consumer: &str) -> String {
    let body = json!({"StreamARN": stream_arn(h, stream).await, "ConsumerName": consumer});
    let out = h.ok("RegisterStreamConsumer", body).await;
    out["Consumer"]["ConsumerARN"]
        .as_str()
        .expect("arn")
        .to_string()
}

async fn subscribe(h: &Harness, arn: &str) -> Result<Subscription, ApiError> {
    let consumer = ConsumerRef::Arn(ConsumerArn::parse(arn).expect("consumer arn"));
    let start = StartingPosition::Latest;
    h.kinesis
        .consumers
        .subscribe(&consumer, SHARD0, &start)
        .await
}

#[tokio::test]
async fn a_consumer_registered_again_later_is_a_new_consumer() {
    let h = Harness::instant().await;
    h.create("s", 1).await;
    let first = register(&h, "s", "c").await;
    h.ok("DeregisterStreamConsumer", json!({"ConsumerARN": first}))
        .await;
    // The ARN ends in the creation time in seconds.
    h.advance(1_000);
    let again = register(&h, "s", "c").await;
    assert_ne!(first, again);
    let e = h
        .err("DescribeStreamConsumer", json!({"ConsumerARN": first}))
        .await;
    assert_eq!(e.kind, ErrorKind::ResourceNotFound);
    h.ok("DescribeStreamConsumer", json!({"ConsumerARN": again}))
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_subscription_is_exclusive_for_five_seconds_then_taken_over() {
    let h = Harness::instant().await;
    h.create("s", 1).await;
    let arn = register(&h, "s", "c").await;
    let mut old = subscribe(&h, &arn).await.expect("first subscription");
    let refused = |r: Result<Subscription, ApiError>| match r {
        Ok(_) => panic!("a second subscription within 5 s was accepted"),
        Err(e) => assert_eq!(e.kind, ErrorKind::ResourceInUse),
    };
    refused(subscribe(&h, &arn).await);
    // Another consumer of the same shard is not affected.
    let other = register(&h, "s", "other").await;
    subscribe(&h, &other).await.expect("another consumer");

    tokio::time::advance(Duration::from_millis(4_999)).await;
    refused(subscribe(&h, &arn).await);
    tokio::time::advance(Duration::from_millis(1)).await;
    let mut new = subscribe(&h, &arn).await.expect("takeover after 5 s");

    loop {
        match old.next().await {
            Some(SubscriptionEvent::Records(_)) => continue,
            Some(SubscriptionEvent::Failed(e)) => {
                assert_eq!(e.kind, ErrorKind::ResourceInUse);
                break;
            }
            None => panic!("the old subscription ended without ResourceInUseException"),
        }
    }
    h.put("s", "k", b"after takeover").await.expect("put");
    loop {
        match new.next().await {
            Some(SubscriptionEvent::Records(page)) if page.batch.is_empty() => continue,
            Some(SubscriptionEvent::Records(page)) => {
                assert_eq!(page.batch.len(), 1);
                break;
            }
            Some(SubscriptionEvent::Failed(e)) => panic!("the new subscription failed: {e:?}"),
            None => panic!("the new subscription ended"),
        }
    }
}

#[tokio::test]
async fn warm_throughput_splits_an_on_demand_stream_up_to_its_target_and_no_further() {
    let h = Harness::new(ServiceConfig {
        creating_delay_ms: 0,
        deleting_delay_ms: 0,
        updating_delay_ms: 0,
        on_demand_shard_count: 1,
        autoscale: AutoscaleConfig {
            up_cooldown_ms: 0,
            ..AutoscaleConfig::default()
        },
        ..ServiceConfig::default()
    })
    .await;
    let mode = json!({"StreamMode": "ON_DEMAND"});
    h.ok(
        "CreateStream",
        json!({"StreamName": "s", "StreamModeDetails": mode}),
    )
    .await;
    let body = json!({"StreamName": "s", "WarmThroughputMiBps": 4});
    h.ok("UpdateStreamWarmThroughput", body).await;
    for _ in 0..10 {
        h.kinesis.autoscale().await;
        h.advance(1);
        h.kinesis.tick().await;
    }
    let listed = h.ok("ListShards", json!({"StreamName": "s"})).await;
    let open = listed["Shards"]
        .as_array()
        .expect("shards")
        .iter()
        .filter(|s| {
            s["SequenceNumberRange"]
                .get("EndingSequenceNumber")
                .is_none()
        })
        .count();
    assert_eq!(open, 4, "{listed}");
    let summary = h
        .ok("DescribeStreamSummary", json!({"StreamName": "s"}))
        .await;
    let warm = &summary["StreamDescriptionSummary"]["WarmThroughput"];
    assert_eq!(warm, &json!({"TargetMiBps": 4, "CurrentMiBps": 4}));
}
