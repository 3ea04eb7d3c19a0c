//! Event source mappings end to end in process: batches, order, retries, bisection, partial
//! failures, on-failure destinations, filters, LATEST, resharding and restarts.

use super::{flat, wait_for, Harness};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapping_delivers_every_record_in_order_in_batches() {
    let h = Harness::new().await;
    h.create_stream("s", 1).await;
    let datas: Vec<String> = (0..25).map(|i| format!("r{i:02}")).collect();
    let refs: Vec<&str> = datas.iter().map(String::as_str).collect();
    h.put("s", &refs).await;
    let out = h.create_function("f", "ok").await;
    let uuid = h.create_mapping("f", "s", json!({"BatchSize": 10})).await;
    let seen = wait_for(&out, "25 records", |b| flat(b).len() >= 25).await;
    assert_eq!(flat(&seen), datas, "every record once, in order");
    assert!(seen.iter().all(|b| b.len() <= 10), "{seen:?}");
    // Records put later arrive too.
    h.put("s", &["late"]).await;
    wait_for(&out, "the late record", |b| {
        flat(b).contains(&"late".to_string())
    })
    .await;
    let (status, m, _) = h
        .rest(
            "GET",
            &format!("/2015-03-31/event-source-mappings/{uuid}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(m["State"], "Enabled");
    assert_eq!(m["LastProcessingResult"], "OK");
    assert_eq!(m["BatchSize"], 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bisection_isolates_a_poison_record_and_its_record_goes_to_s3() {
    let h = Harness::new().await;
    h.create_stream("s", 1).await;
    h.put("s", &["a", "b", "c", "d", "e", "poison", "f", "g"])
        .await;
    let out = h.create_function("f", "fail-on-poison").await;
    let extra = json!({
        "BisectBatchOnFunctionError": true,
        "MaximumRetryAttempts": 0,
        "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:s3:::failures"}},
    });
    let uuid = h.create_mapping("f", "s", extra).await;
    h.put("s", &["after"]).await;
    let after = "after".to_string();
    let seen = wait_for(&out, "the record after the poison, without it", |b| {
        b.iter()
            .any(|batch| batch.contains(&after) && !batch.contains(&"poison".to_string()))
    })
    .await;
    // The poison record ended up alone in a batch before it was discarded.
    assert!(seen.contains(&vec!["poison".to_string()]), "{seen:?}");
    for good in ["a", "b", "c", "d", "e", "f", "g"] {
        assert!(
            flat(&seen).contains(&good.to_string()),
            "{good} never delivered"
        );
    }
    let objects = h.objects.objects();
    let prefix = format!("aws/lambda/{uuid}/shardId-000000000000/");
    let failures: Vec<_> = objects
        .iter()
        .filter(|(b, k, _, _)| b == "failures" && k.starts_with(&prefix))
        .collect();
    assert_eq!(failures.len(), 1, "{objects:?}");
    let record: Value = serde_json::from_slice(&failures[0].2).expect("record json");
    assert_eq!(
        record["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(record["responseContext"]["functionError"], "Unhandled");
    assert_eq!(record["KinesisBatchInfo"]["batchSize"], 1);
    assert_eq!(
        record["KinesisBatchInfo"]["streamArn"],
        "arn:aws:kinesis:us-east-1:000000000000:stream/s"
    );
    let payload: Value =
        serde_json::from_str(record["payload"].as_str().expect("payload")).expect("event");
    assert_eq!(payload["Records"][0]["kinesis"]["data"], "cG9pc29u");
    assert_eq!(
        payload["Records"][0]["kinesis"]["sequenceNumber"],
        record["KinesisBatchInfo"]["startSequenceNumber"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_failures_resume_from_the_first_failed_record_then_go_to_a_stream() {
    let h = Harness::new().await;
    h.create_stream("s", 1).await;
    h.create_stream("dlq", 1).await;
    h.put("s", &["a", "b", "poison", "c"]).await;
    let out = h.create_function("f", "report").await;
    let extra = json!({
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "MaximumRetryAttempts": 1,
        "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:kinesis:us-east-1:000000000000:stream/dlq"}},
    });
    h.create_mapping("f", "s", extra).await;
    let seen = wait_for(&out, "the retry", |b| b.len() >= 2).await;
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(seen[0], s(&["a", "b", "poison", "c"]), "{seen:?}");
    // The retry starts at the failed record; after one retry the rest is discarded.
    assert_eq!(seen[1], s(&["poison", "c"]), "{seen:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let records = loop {
        let shard = h.kinesis("GetShardIterator", json!({"StreamName": "dlq", "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"})).await;
        let got = h
            .kinesis(
                "GetRecords",
                json!({"ShardIterator": shard["ShardIterator"]}),
            )
            .await;
        let records = got["Records"].as_array().cloned().unwrap_or_default();
        if !records.is_empty() {
            break records;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing in the dlq stream"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(records.len(), 1, "{records:?}");
    h.put("s", &["after"]).await;
    let seen = wait_for(&out, "the record after", |b| {
        flat(b).contains(&"after".to_string())
    })
    .await;
    assert_eq!(
        seen.len(),
        3,
        "the discarded records are not retried again: {seen:?}"
    );
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD
        .decode(records[0]["Data"].as_str().unwrap())
        .unwrap();
    let record: Value = serde_json::from_slice(&data).expect("invocation record");
    assert_eq!(record["KinesisBatchInfo"]["batchSize"], 2);
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_drop_records_before_invocation_and_latest_skips_older_ones() {
    let h = Harness::new().await;
    h.create_stream("s", 1).await;
    h.put("s", &[r#"{"kind":"order","n":1}"#]).await;
    let out = h.create_function("f", "ok").await;
    let pattern = r#"{"data": {"kind": ["order"]}}"#;
    let uuid = h
        .create_mapping(
            "f",
            "s",
            json!({
                "StartingPosition": "LATEST",
                "FilterCriteria": {"Filters": [{"Pattern": pattern}]},
            }),
        )
        .await;
    // LATEST: the mapping starts at the tail as it is now, saved before reading.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while h
        .lambda
        .mappings
        .registry
        .progress(&uuid)
        .unwrap()
        .is_none_or(|p| p.positions.get(&0) != Some(&1))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no starting position saved"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    h.put(
        "s",
        &[
            r#"{"kind":"refund","n":2}"#,
            "not json",
            r#"{"kind":"order","n":3}"#,
        ],
    )
    .await;
    let seen = wait_for(&out, "order 3", |b| {
        flat(b).iter().any(|d| d.contains("\"n\":3"))
    })
    .await;
    assert_eq!(flat(&seen), vec![r#"{"kind":"order","n":3}"#.to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parents_are_read_to_their_end_before_children() {
    let h = Harness::new().await;
    h.create_stream("s", 1).await;
    h.put("s", &["p1", "p2", "p3"]).await;
    h.kinesis(
        "SplitShard",
        json!({
            "StreamName": "s",
            "ShardToSplit": "shardId-000000000000",
            "NewStartingHashKey": "170141183460469231731687303715884105728",
        }),
    )
    .await;
    h.put("s", &["c1", "c2", "c3", "c4"]).await;
    let out = h.create_function("f", "ok").await;
    h.create_mapping("f", "s", json!({})).await;
    let seen = wait_for(&out, "7 records", |b| flat(b).len() >= 7).await;
    let all = flat(&seen);
    let last_parent = all.iter().rposition(|d| d.starts_with('p')).unwrap();
    let first_child = all.iter().position(|d| d.starts_with('c')).unwrap();
    assert!(last_parent < first_child, "{all:?}");
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(sorted, vec!["c1", "c2", "c3", "c4", "p1", "p2", "p3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_mapping_resumes_after_its_checkpoint() {
    let h = Harness::new().await;
    h.create_stream("s", 1).await;
    h.put("s", &["a", "b", "c"]).await;
    let out = h.create_function("f", "ok").await;
    let uuid = h.create_mapping("f", "s", json!({})).await;
    wait_for(&out, "3 records", |b| flat(b).len() >= 3).await;
    // The checkpoint is saved right after the batch: wait for it to reach the catalog.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while h
        .lambda
        .mappings
        .registry
        .progress(&uuid)
        .unwrap()
        .is_none_or(|p| p.positions.get(&0) != Some(&3))
    {
        assert!(std::time::Instant::now() < deadline, "no checkpoint");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let h = h.restart_after_crash().await;
    h.put("s", &["d", "e"]).await;
    let seen = wait_for(&out, "5 records", |b| flat(b).len() >= 5).await;
    assert_eq!(
        flat(&seen),
        vec!["a", "b", "c", "d", "e"],
        "nothing lost, nothing processed twice"
    );
    // Disabling keeps the position; enabling resumes there.
    let path = format!("/2015-03-31/event-source-mappings/{uuid}");
    let (status, m, _) = h.rest("PUT", &path, json!({"Enabled": false})).await;
    assert_eq!((status, m["State"].as_str()), (202, Some("Updating")));
    h.put("s", &["f"]).await;
    let (_, m, _) = h.rest("GET", &path, Value::Null).await;
    assert_eq!(m["State"], "Disabled");
    h.rest("PUT", &path, json!({"Enabled": true})).await;
    let seen = wait_for(&out, "6 records", |b| flat(b).len() >= 6).await;
    assert_eq!(flat(&seen).last().map(String::as_str), Some("f"));
    assert_eq!(flat(&seen).len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parallelization_factor_keeps_each_keys_order() {
    let h = Harness::new().await;
    h.create_stream("s", 1).await;
    let records: Vec<(String, String)> = (0..5)
        .flat_map(|n| (0..4).map(move |k| (format!("key{k}"), format!("key{k}-{n}"))))
        .collect();
    h.put_keyed("s", &records).await;
    let out = h.create_function("f", "ok").await;
    h.create_mapping(
        "f",
        "s",
        json!({"ParallelizationFactor": 4, "BatchSize": 2}),
    )
    .await;
    let seen = wait_for(&out, "20 records", |b| flat(b).len() >= 20).await;
    assert!(seen.iter().all(|b| b.len() <= 2), "{seen:?}");
    let all = flat(&seen);
    assert_eq!(all.len(), 20, "each record once: {all:?}");
    for k in 0..4 {
        let of_key: Vec<&String> = all
            .iter()
            .filter(|d| d.starts_with(&format!("key{k}-")))
            .collect();
        let expected: Vec<String> = (0..5).map(|n| format!("key{k}-{n}")).collect();
        assert_eq!(
            of_key,
            expected.iter().collect::<Vec<_>>(),
            "key{k} in order"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tumbling_windows_carry_state_and_end_with_a_final_invocation() {
    let h = Harness::new().await;
    h.create_stream("s", 1).await;
    let out = h.create_function("f", "window").await;
    h.create_mapping("f", "s", json!({"TumblingWindowInSeconds": 60}))
        .await;
    h.put("s", &["a", "b", "c"]).await;
    wait_for(&out, "3 records", |b| flat(b).len() >= 3).await;
    let uuid = h.lambda.mappings.list(None, None)[0].uuid.clone();
    h.put("s", &["d", "e"]).await;
    wait_for(&out, "5 records", |b| flat(b).len() >= 5).await;
    // The window's state is checkpointed with the position: a crash keeps both.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while h
        .lambda
        .mappings
        .registry
        .progress(&uuid)
        .unwrap()
        .is_none_or(|p| p.positions.get(&0) != Some(&5))
    {
        assert!(std::time::Instant::now() < deadline, "no checkpoint");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let h = h.restart_after_crash().await;
    h.now.fetch_add(61_000, std::sync::atomic::Ordering::SeqCst);
    let windows_file = std::path::PathBuf::from(format!("{}.windows", out.display()));
    let windows = || -> Vec<Value> {
        std::fs::read_to_string(&windows_file)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !windows().iter().any(|w| w["final"] == true) {
        assert!(
            std::time::Instant::now() < deadline,
            "no final invocation: {:?}",
            windows()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    h.put("s", &["next"]).await;
    wait_for(&out, "the next window's record", |b| {
        flat(b).contains(&"next".to_string())
    })
    .await;
    let w = windows();
    let last_of_first = w
        .iter()
        .rposition(|x| x["final"] == false && x["start"] == "2026-12-01T00:00:00Z")
        .unwrap();
    assert_eq!(
        w[last_of_first]["state"]["count"].as_u64().unwrap()
            + w[last_of_first]["n"].as_u64().unwrap(),
        5
    );
    let last = w.iter().find(|x| x["final"] == true).unwrap();
    assert_eq!(
        (last["state"]["count"].as_u64(), last["n"].as_u64()),
        (Some(5), Some(0))
    );
    let fresh = w.last().unwrap();
    assert_eq!(fresh["start"], "2026-12-01T00:01:00Z");
    assert_eq!(
        fresh["state"],
        json!({}),
        "a new window starts from an empty state"
    );
}
