//! The queue control plane: shapes, validation, ON_DEMAND only, consumers and deletion rules.

use super::Harness;
use serde_json::json;
use spate_wire::ErrorKind;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_are_created_described_listed_updated_and_deleted() {
    let h = Harness::new().await;
    let stream = h.on_demand_stream("s").await;
    let arn = h.queue("q", &stream, serde_json::Value::Null).await;
    assert_eq!(arn, "arn:aws:kinesis:us-east-1:000000000000:queue/q");
    let d = h.ok("DescribeQueue", json!({"QueueARN": arn})).await["QueueDescription"].clone();
    assert_eq!(d["QueueStatus"], "ACTIVE");
    assert_eq!(d["QueueAttributes"]["VisibilityTimeoutSeconds"], 30);
    assert_eq!(
        d["QueueAttributes"]["DeadLetterConfiguration"],
        json!({"TargetType": "BUILT_IN", "MaxReceiveCount": 6})
    );
    assert_eq!(
        d["StreamConfigurationList"][0]["StartingPosition"]["Type"],
        "TRIM_HORIZON"
    );
    let body = json!({"QueueARN": arn, "QueueAttributes": {"VisibilityTimeoutSeconds": 5, "DeadLetterConfiguration": {"TargetType": "NONE"}}});
    let u = h.ok("UpdateQueue", body).await["QueueDescription"].clone();
    assert_eq!(u["QueueAttributes"]["VisibilityTimeoutSeconds"], 5);
    assert_eq!(
        u["QueueAttributes"]["DeadLetterConfiguration"],
        json!({"TargetType": "NONE"})
    );
    let list = h
        .ok(
            "ListQueues",
            json!({"StreamFilter": [{"StreamARN": stream}]}),
        )
        .await;
    assert_eq!(list["QueueSummaries"][0]["QueueName"], "q");
    assert!(list["QueueSummaries"][0]["Streams"][0]["StreamCreationTimestamp"].is_number());
    let e = h
        .call(
            "CreateQueue",
            json!({"QueueName": "q", "StreamConfigurationList": [{"StreamARN": stream}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::ResourceInUse);
    // A stream with a queue cannot be deleted.
    let e = h
        .kinesis("DeleteStream", json!({"StreamName": "s"}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::ResourceInUse, "{e}");
    h.ok("DeleteQueue", json!({"QueueARN": arn})).await;
    let e = h
        .call("DescribeQueue", json!({"QueueARN": arn}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::ResourceNotFound);
    h.kinesis("DeleteStream", json!({"StreamName": "s"}))
        .await
        .expect("deletable now");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_need_on_demand_streams_and_valid_requests() {
    let h = Harness::new().await;
    h.kinesis("CreateStream", json!({"StreamName": "p", "ShardCount": 1}))
        .await
        .unwrap();
    let provisioned = "arn:aws:kinesis:us-east-1:000000000000:stream/p";
    let e = h
        .call(
            "CreateQueue",
            json!({"QueueName": "q", "StreamConfigurationList": [{"StreamARN": provisioned}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Validation, "{e}");
    let e = h
        .call(
            "CreateQueue",
            json!({"QueueName": "bad name", "StreamConfigurationList": []}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Validation);
    assert!(
        e.message.starts_with("2 validation errors detected"),
        "{}",
        e.message
    );
    let e = h
        .call(
            "ReceiveQueueRecords",
            json!({"QueueARN": "arn:aws:kinesis:us-east-1:000000000000:queue/none", "Limit": 11}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.message, "1 validation error detected: Value '11' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10");
    let e = h
        .call(
            "ReceiveQueueRecords",
            json!({"QueueARN": "arn:aws:kinesis:us-east-1:000000000000:queue/none"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::ResourceNotFound);
    let stream = h.on_demand_stream("s").await;
    let body = json!({"QueueName": "q", "StreamConfigurationList": [{"StreamARN": stream, "StartingPosition": {"Type": "LATEST", "Timestamp": 1}}]});
    assert_eq!(
        h.call("CreateQueue", body).await.unwrap_err().kind,
        ErrorKind::Validation
    );
    let body = json!({"QueueName": "q", "StreamConfigurationList": [{"StreamARN": stream}], "QueueAttributes": {"DeadLetterConfiguration": {"TargetType": "BUILT_IN"}}});
    assert_eq!(
        h.call("CreateQueue", body).await.unwrap_err().kind,
        ErrorKind::Validation
    );
    // Switching the stream to PROVISIONED is refused while it has a queue.
    h.queue("q", &stream, serde_json::Value::Null).await;
    let e = h
        .kinesis(
            "UpdateStreamMode",
            json!({"StreamARN": stream, "StreamModeDetails": {"StreamMode": "PROVISIONED"}}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::ResourceInUse, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_counts_as_a_registered_consumer() {
    let mut config = crate::QueuesConfig::new("us-east-1", "000000000000");
    config.consumer_limit = 2;
    let h = Harness::with(config).await;
    let stream = h.on_demand_stream("s").await;
    h.queue("q1", &stream, serde_json::Value::Null).await;
    h.kinesis(
        "RegisterStreamConsumer",
        json!({"StreamARN": stream, "ConsumerName": "c"}),
    )
    .await
    .unwrap();
    let e = h
        .call(
            "CreateQueue",
            json!({"QueueName": "q2", "StreamConfigurationList": [{"StreamARN": stream}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::LimitExceeded, "{e}");
}
