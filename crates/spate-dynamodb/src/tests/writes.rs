use super::*;

#[tokio::test]
async fn transactions_are_all_or_nothing_with_reasons() {
    let h = Harness::new();
    h.table("tbl").await;
    h.ok(
        "PutItem",
        json!({"TableName": "tbl", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "n": {"N": "1"}}}),
    )
    .await;
    let transaction = |expected: &str| {
        json!({"TransactItems": [
            {"Put": {"TableName": "tbl", "Item": {"pk": {"S": "b"}, "sk": {"N": "1"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Update": {"TableName": "tbl", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "UpdateExpression": "ADD n :one", "ConditionExpression": "n = :n",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":n": {"N": expected}}}},
        ]})
    };
    let (code, message) = h
        .call("TransactWriteItems", transaction("7"))
        .await
        .unwrap_err();
    assert_eq!(code, "TransactionCanceledException");
    assert_eq!(message, "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]");
    let missing = h
        .ok(
            "GetItem",
            json!({"TableName": "tbl", "Key": {"pk": {"S": "b"}, "sk": {"N": "1"}}}),
        )
        .await;
    assert_eq!(
        missing,
        json!({}),
        "nothing of a cancelled transaction is written"
    );
    h.ok("TransactWriteItems", transaction("1")).await;
    let a = h
        .reopen()
        .ok(
            "GetItem",
            json!({"TableName": "tbl", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}}),
        )
        .await;
    assert_eq!(a["Item"]["n"], json!({"N": "2"}));
    let twice = json!({"TransactItems": [
        {"Delete": {"TableName": "tbl", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}}},
        {"ConditionCheck": {"TableName": "tbl", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ConditionExpression": "attribute_exists(pk)"}},
    ]});
    assert_eq!(
        h.call("TransactWriteItems", twice).await.unwrap_err().1,
        "Transaction request cannot include multiple operations on one item"
    );
}

#[tokio::test]
async fn kcl_legacy_expected_and_attribute_updates_work() {
    let h = Harness::new();
    h.table("tbl").await;
    let key = json!({"pk": {"S": "shardId-0"}, "sk": {"N": "0"}});
    // KCL 2.x creates a lease only if none exists, then renews it by counter.
    h.ok("PutItem", json!({"TableName": "tbl", "Item": {"pk": {"S": "shardId-0"}, "sk": {"N": "0"}, "leaseCounter": {"N": "0"}},
        "Expected": {"pk": {"Exists": false}}})).await;
    let again = h.call("PutItem", json!({"TableName": "tbl", "Item": {"pk": {"S": "shardId-0"}, "sk": {"N": "0"}}, "Expected": {"pk": {"Exists": false}}})).await;
    assert_eq!(again.unwrap_err().0, "ConditionalCheckFailedException");
    let renew = json!({"TableName": "tbl", "Key": key, "ReturnValues": "ALL_NEW",
        "Expected": {"leaseCounter": {"Value": {"N": "0"}, "Exists": true}},
        "AttributeUpdates": {"leaseCounter": {"Action": "ADD", "Value": {"N": "1"}}, "leaseOwner": {"Action": "PUT", "Value": {"S": "w1"}}, "gone": {"Action": "DELETE"}}});
    let out = h.ok("UpdateItem", renew.clone()).await;
    assert_eq!(out["Attributes"]["leaseCounter"], json!({"N": "1"}));
    assert_eq!(out["Attributes"]["leaseOwner"], json!({"S": "w1"}));
    assert_eq!(
        h.call("UpdateItem", renew).await.unwrap_err().0,
        "ConditionalCheckFailedException",
        "a stale counter loses"
    );
    let mixed = h.call("UpdateItem", json!({"TableName": "tbl", "Key": key, "UpdateExpression": "SET a = :a", "ExpressionAttributeValues": {":a": {"S": "x"}},
        "Expected": {"pk": {"Exists": true, "Value": {"S": "shardId-0"}}}})).await;
    assert_eq!(mixed.unwrap_err().1, "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {Expected} Expression parameters: {UpdateExpression}");
    let comparison = h.call("DeleteItem", json!({"TableName": "tbl", "Key": key,
        "Expected": {"leaseCounter": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "5"}]}}})).await;
    assert_eq!(comparison.unwrap_err().0, "ConditionalCheckFailedException");
}

#[tokio::test]
async fn update_item_return_values_and_key_protection() {
    let h = Harness::new();
    h.table("tbl").await;
    let key = json!({"pk": {"S": "k"}, "sk": {"N": "1"}});
    let created = h.ok("UpdateItem", json!({"TableName": "tbl", "Key": key, "UpdateExpression": "SET c = if_not_exists(c, :zero) + :one",
        "ExpressionAttributeValues": {":zero": {"N": "0"}, ":one": {"N": "1"}}, "ReturnValues": "UPDATED_NEW"})).await;
    assert_eq!(
        created["Attributes"],
        json!({"c": {"N": "1"}}),
        "a missing item is created from its key"
    );
    let old = h
        .ok(
            "UpdateItem",
            json!({"TableName": "tbl", "Key": key, "UpdateExpression": "SET c = c + :one, d = :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}}, "ReturnValues": "UPDATED_OLD"}),
        )
        .await;
    assert_eq!(old["Attributes"], json!({"c": {"N": "1"}}));
    let err = h.call("UpdateItem", json!({"TableName": "tbl", "Key": key, "UpdateExpression": "SET pk = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}})).await;
    assert_eq!(err.unwrap_err().1, "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key");
    let err = h
        .call(
            "UpdateItem",
            json!({"TableName": "tbl", "Key": key, "UpdateExpression": "SET c = :v"}),
        )
        .await;
    assert_eq!(err.unwrap_err().1, "Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :v");
}

#[tokio::test]
async fn oversized_and_deeply_nested_expressions_are_refused_not_parsed() {
    let h = Harness::new();
    h.table("tbl").await;
    let put = |condition: String| {
        json!({"TableName": "tbl", "Item": {"pk": {"S": "k"}, "sk": {"N": "1"}},
            "ConditionExpression": condition, "ExpressionAttributeValues": {":a": {"S": "x"}}})
    };
    let deep = format!("{}a = :a{}", "(".repeat(100), ")".repeat(100));
    let err = h.call("PutItem", put(deep)).await.unwrap_err();
    assert!(err.1.contains("nested too deeply"), "{err:?}");
    let nots = format!("{}a = :a", "NOT ".repeat(1000));
    let err = h.call("PutItem", put(nots)).await.unwrap_err();
    assert!(err.1.contains("nested too deeply"), "{err:?}");
    let long = format!("a = :a{}", " AND a = :a".repeat(400));
    let err = h.call("PutItem", put(long)).await.unwrap_err();
    assert!(
        err.1
            .starts_with("Invalid ConditionExpression: Expression size has exceeded"),
        "{err:?}"
    );
    let fine = format!("{}a = :a{}", "(".repeat(60), ")".repeat(60));
    let err = h.call("PutItem", put(fine)).await.unwrap_err();
    assert_eq!(
        err.0, "ConditionalCheckFailedException",
        "60 levels parse and evaluate"
    );
}
