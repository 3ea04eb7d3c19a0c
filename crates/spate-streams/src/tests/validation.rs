//! Validation texts as AWS renders them (member paths, maps, lists, enums, the ten-error cap)
//! and the tag character rules.

use super::Harness;
use serde_json::json;
use spate_wire::ErrorKind;

#[tokio::test]
async fn an_empty_request_reports_one_error_per_missing_member() {
    let h = Harness::instant().await;
    let e = h.err("PutRecord", json!({})).await;
    assert_eq!(e.kind, ErrorKind::Validation);
    assert_eq!(
        e.message,
        "2 validation errors detected: Value null at 'partitionKey' failed to satisfy constraint: Member must not be null; Value null at 'data' failed to satisfy constraint: Member must not be null"
    );
}

#[tokio::test]
async fn enums_are_listed_in_aws_order() {
    let h = Harness::instant().await;
    let body = json!({"StreamName": "s", "ShardId": "0", "ShardIteratorType": "latest"});
    let e = h.err("GetShardIterator", body).await;
    assert_eq!(
        e.message,
        "1 validation error detected: Value 'latest' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"
    );
}

#[tokio::test]
async fn maps_and_lists_render_as_aws_renders_them() {
    let h = Harness::instant().await;
    let e = h
        .err("AddTagsToStream", json!({"StreamName": "s", "Tags": {}}))
        .await;
    assert_eq!(e.message, "1 validation error detected: Value '{}' at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1");
    let long = "k".repeat(129);
    let e = h
        .err(
            "AddTagsToStream",
            json!({"StreamName": "s", "Tags": {"a": "1", long.clone(): "2"}}),
        )
        .await;
    assert_eq!(e.message, format!("1 validation error detected: Value '{{a=1, {long}=2}}' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]"));
    let e = h
        .err(
            "RemoveTagsFromStream",
            json!({"StreamName": "s", "TagKeys": []}),
        )
        .await;
    assert_eq!(e.message, "1 validation error detected: Value '[]' at 'tagKeys' failed to satisfy constraint: Member must have length greater than or equal to 1");
}

#[tokio::test]
async fn at_most_ten_errors_are_reported() {
    let h = Harness::instant().await;
    let records: Vec<_> = (0..20).map(|_| json!({})).collect();
    let e = h
        .err("PutRecords", json!({"StreamName": "s", "Records": records}))
        .await;
    assert!(
        e.message.starts_with("10 validation errors detected: "),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn wrong_member_types_are_serialization_errors_with_aws_texts() {
    let h = Harness::instant().await;
    let e = h
        .err("CreateStream", json!({"StreamName": true, "ShardCount": 1}))
        .await;
    assert_eq!(
        (e.kind, e.message.as_str()),
        (
            ErrorKind::Serialization,
            "class java.lang.Boolean can not be converted to an String"
        )
    );
    let e = h
        .err("PutRecords", json!({"StreamName": "s", "Records": [[]]}))
        .await;
    assert_eq!(e.message, "Start of list found where not expected");
}

#[tokio::test]
async fn tags_must_use_aws_characters() {
    let h = Harness::instant().await;
    h.create("s", 1).await;
    for bad in ["a;b", "a,b", "a\tb", "a\nb"] {
        let e = h
            .err(
                "AddTagsToStream",
                json!({"StreamName": "s", "Tags": {bad: "v"}}),
            )
            .await;
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert_eq!(e.message, "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @ :.");
        let e = h
            .err(
                "RemoveTagsFromStream",
                json!({"StreamName": "s", "TagKeys": [bad]}),
            )
            .await;
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
    }
    let e = h
        .err(
            "AddTagsToStream",
            json!({"StreamName": "s", "Tags": {"a%b": "v"}}),
        )
        .await;
    assert!(e.message.starts_with("Failed to add tags to stream s under account 000000000000 because some tags contained illegal characters."), "{}", e.message);
    h.ok(
        "AddTagsToStream",
        json!({"StreamName": "s", "Tags": {"ü0 _.": "/=+-@:"}}),
    )
    .await;
    // The stream is looked up before the characters are checked.
    let e = h
        .err(
            "RemoveTagsFromStream",
            json!({"StreamName": "missing", "TagKeys": [";"]}),
        )
        .await;
    assert_eq!(e.kind, ErrorKind::ResourceNotFound);
}

#[tokio::test]
async fn operations_without_output_answer_an_empty_body() {
    let h = Harness::instant().await;
    assert_eq!(
        h.ok("CreateStream", json!({"StreamName": "s", "ShardCount": 1}))
            .await,
        serde_json::Value::Null
    );
    assert_eq!(
        h.ok(
            "AddTagsToStream",
            json!({"StreamName": "s", "Tags": {"a": "b"}})
        )
        .await,
        serde_json::Value::Null
    );
}
