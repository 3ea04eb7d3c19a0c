//! Receiving, acknowledging, visibility, dead letters, long polls and durability.

use super::Harness;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_received_once_in_flight_and_never_again_once_acknowledged() {
    let h = Harness::new().await;
    let stream = h.on_demand_stream("s").await;
    h.put("s", &["a", "b", "c"]).await;
    let arn = h
        .queue("q", &stream, json!({"VisibilityTimeoutSeconds": 30}))
        .await;
    let first = h.receive(&arn, 10).await;
    let mut datas: Vec<&str> = first.iter().map(|r| r.0.as_str()).collect();
    datas.sort();
    assert_eq!(datas, ["a", "b", "c"]);
    assert!(first.iter().all(|r| r.2 == 1));
    assert!(h.receive(&arn, 10).await.is_empty(), "in flight: invisible");
    let handles: Vec<&str> = first.iter().take(2).map(|r| r.1.as_str()).collect();
    let out = h.entries("AcknowledgeQueueRecords", &arn, &handles).await;
    assert_eq!(out["Successful"].as_array().map(Vec::len), Some(2));
    // Past the visibility timeout only the unacknowledged record comes back, counted twice,
    // with the same record id and a new handle.
    h.advance(30_001);
    let again = h.receive(&arn, 10).await;
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].2, &again[0].3), (2, &first[2].3));
    assert_ne!(again[0].1, first[2].1);
    let stale = h
        .entries("AcknowledgeQueueRecords", &arn, &[&first[2].1, "garbage"])
        .await;
    assert_eq!(stale["Failed"].as_array().map(Vec::len), Some(2), "{stale}");
    assert_eq!(stale["Failed"][0]["ErrorCode"], "InvalidReceiptHandle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visibility_can_be_changed_and_dead_letters_restored() {
    let h = Harness::new().await;
    let stream = h.on_demand_stream("s").await;
    h.put("s", &["poison"]).await;
    let attributes = json!({"VisibilityTimeoutSeconds": 10, "DeadLetterConfiguration": {"TargetType": "BUILT_IN", "MaxReceiveCount": 2}});
    let arn = h.queue("q", &stream, attributes).await;
    let r = h.receive(&arn, 1).await;
    // Visibility 0: visible again at once.
    let body = json!({"QueueARN": arn, "Entries": [{"ReceiptHandle": r[0].1, "VisibilityTimeoutSeconds": 0}]});
    let out = h.ok("UpdateQueueRecordsVisibility", body).await;
    assert_eq!(out["Successful"].as_array().map(Vec::len), Some(1));
    let r = h.receive(&arn, 1).await;
    assert_eq!(r[0].2, 2);
    h.advance(10_001);
    assert!(
        h.receive(&arn, 1).await.is_empty(),
        "received twice: a dead letter now"
    );
    let dead = h
        .receive_from("ReceiveDeadLetterQueueRecords", &arn, 10)
        .await;
    assert_eq!(
        (dead.len(), dead[0].0.as_str(), dead[0].2),
        (1, "poison", 2)
    );
    let wrong = h
        .entries("AcknowledgeQueueRecords", &arn, &[&dead[0].1])
        .await;
    assert_eq!(wrong["Failed"].as_array().map(Vec::len), Some(1));
    let restored = h
        .entries("RestoreDeadLetterQueueRecords", &arn, &[&dead[0].1])
        .await;
    assert_eq!(
        restored["Successful"].as_array().map(Vec::len),
        Some(1),
        "{restored}"
    );
    let back = h.receive(&arn, 1).await;
    assert_eq!((back[0].0.as_str(), back[0].2), ("poison", 1));
    h.entries("AcknowledgeQueueRecords", &arn, &[&back[0].1])
        .await;
    h.advance(100_000);
    assert!(h.receive(&arn, 10).await.is_empty());
    assert!(h
        .receive_from("ReceiveDeadLetterQueueRecords", &arn, 10)
        .await
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_wakes_when_a_record_is_appended() {
    let h = std::sync::Arc::new(Harness::new().await);
    let stream = h.on_demand_stream("s").await;
    let arn = h.queue("q", &stream, Value::Null).await;
    let (h2, arn2) = (h.clone(), arn.clone());
    let started = std::time::Instant::now();
    let poll = tokio::spawn(async move {
        h2.ok(
            "ReceiveQueueRecords",
            json!({"QueueARN": arn2, "WaitTimeSeconds": 20}),
        )
        .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    h.put("s", &["late"]).await;
    let out = poll.await.expect("poll");
    assert_eq!(out["QueueRecords"].as_array().map(Vec::len), Some(1));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "woke on the append, not the 20 s timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loses_no_acknowledgement_and_keeps_receive_counts() {
    let mut config = crate::QueuesConfig::new("us-east-1", "000000000000");
    config.compact_after_changes = 5;
    let h = Harness::with(config).await;
    let stream = h.on_demand_stream("s").await;
    let datas: Vec<String> = (0..12).map(|i| format!("r{i:02}")).collect();
    let refs: Vec<&str> = datas.iter().map(String::as_str).collect();
    h.put("s", &refs).await;
    let arn = h
        .queue("q", &stream, json!({"VisibilityTimeoutSeconds": 30}))
        .await;
    let mut acked = Vec::new();
    for _ in 0..2 {
        let got = h.receive(&arn, 3).await;
        let handles: Vec<&str> = got.iter().map(|r| r.1.as_str()).collect();
        h.entries("AcknowledgeQueueRecords", &arn, &handles).await;
        acked.extend(got.iter().map(|r| r.0.clone()));
    }
    let in_flight = h.receive(&arn, 2).await;
    // Compaction ran (every 5 changes): the journal moved to a fresh shard.
    let queue = h.queues.get(&arn).await.expect("queue");
    let first_journal = queue.record().journal;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while queue.journal_shard().await == first_journal {
        assert!(std::time::Instant::now() < deadline, "never compacted");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    drop(queue);
    let h = h.restart_after_crash().await;
    h.advance(30_001);
    let mut seen = Vec::new();
    loop {
        let got = h.receive(&arn, 10).await;
        if got.is_empty() {
            break;
        }
        seen.extend(got);
    }
    let datas: Vec<&str> = seen.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(seen.len(), 6, "12 records, 6 acknowledged: {datas:?}");
    for a in &acked {
        assert!(
            !datas.contains(&a.as_str()),
            "{a} was acknowledged before the crash"
        );
    }
    for f in &in_flight {
        let again = seen
            .iter()
            .find(|r| r.0 == f.0)
            .expect("in-flight record redelivered");
        assert_eq!(again.2, 2, "its receive count survived the crash");
    }
}
