use super::*;

#[tokio::test]
async fn expired_items_are_removed_and_stay_removed() {
    let h = Harness::new();
    h.table("tbl").await;
    h.ok("UpdateTimeToLive", json!({"TableName": "tbl", "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "expires"}})).await;
    let err = h.call("UpdateTimeToLive", json!({"TableName": "tbl", "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "expires"}})).await;
    assert_eq!(
        err.unwrap_err(),
        (
            "ValidationException".into(),
            "TimeToLive is already enabled".into()
        )
    );
    let described = h
        .ok("DescribeTimeToLive", json!({"TableName": "tbl"}))
        .await;
    assert_eq!(
        described["TimeToLiveDescription"],
        json!({"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"})
    );
    let now = 1_796_083_200i64;
    for (sk, expires) in [
        (1, json!({"N": (now - 10).to_string()})),
        (2, json!({"N": (now + 10).to_string()})),
        (3, json!({"S": "not a number"})),
        (4, json!({"N": "1000"})),
    ] {
        h.ok("PutItem", json!({"TableName": "tbl", "Item": {"pk": {"S": "p"}, "sk": {"N": sk.to_string()}, "expires": expires}})).await;
    }
    h.ok(
        "PutItem",
        json!({"TableName": "tbl", "Item": {"pk": {"S": "p"}, "sk": {"N": "5"}}}),
    )
    .await;
    assert_eq!(
        h.db.expire(now).await.unwrap(),
        1,
        "only the item expired within five years"
    );
    assert_eq!(h.db.expire(now).await.unwrap(), 0);
    let left = h.ok("Query", json!({"TableName": "tbl", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p"}}})).await;
    let sks: Vec<&str> = left["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sk"]["N"].as_str().unwrap())
        .collect();
    assert_eq!(sks, ["2", "3", "4", "5"]);
    // The deletion is durable: a reopened service does not see the item again.
    let reopened = h.reopen();
    assert_eq!(
        reopened
            .ok("DescribeTable", json!({"TableName": "tbl"}))
            .await["Table"]["ItemCount"],
        4
    );
    assert_eq!(
        reopened
            .ok("DescribeTimeToLive", json!({"TableName": "tbl"}))
            .await["TimeToLiveDescription"]["TimeToLiveStatus"],
        "ENABLED"
    );
}
