"""DynamoDB tables on Spate's port with boto3's DynamoDB client: tables, conditional writes as
the seed's dedupe claim and KCL's lease renewals make them, DynamoDB's errors, and items
surviving a restart of a durable server."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from spate_support import ServerFactory, unique_name


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    with ServerFactory(tmp_path_factory) as f:
        yield f


@pytest.fixture(scope="module")
def server(factory):
    return factory("durable")


@pytest.fixture(scope="module")
def ddb(server):
    return server.client("dynamodb")


def error(e: pytest.ExceptionInfo) -> tuple[str, str]:
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def leases_table(ddb, name=None) -> str:
    name = name or unique_name("leases")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "leaseKey", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "leaseKey", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def test_tables_are_created_described_listed_and_deleted(ddb):
    name = unique_name("t")
    out = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )["TableDescription"]
    assert out["TableStatus"] == "ACTIVE"
    assert out["TableArn"] == f"arn:aws:dynamodb:us-east-1:000000000000:table/{name}"
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    described = ddb.describe_table(TableName=name)["Table"]
    assert described["KeySchema"][1] == {"AttributeName": "sk", "KeyType": "RANGE"}
    assert described["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert name in ddb.list_tables()["TableNames"]
    with pytest.raises(ClientError) as e:
        ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    assert error(e) == ("ResourceInUseException", f"Table already exists: {name}")
    assert ddb.delete_table(TableName=name)["TableDescription"]["TableStatus"] == "DELETING"
    with pytest.raises(ClientError) as e:
        ddb.describe_table(TableName=name)
    assert error(e) == ("ResourceNotFoundException", f"Requested resource not found: Table: {name} not found")


def test_list_tables_pages(ddb):
    prefix = unique_name("page")
    names = [f"{prefix}-{i}" for i in range(3)]
    for n in names:
        leases_table(ddb, n)
    seen, start = [], None
    while True:
        kwargs = {"Limit": 2, **({"ExclusiveStartTableName": start} if start else {})}
        page = ddb.list_tables(**kwargs)
        seen += page["TableNames"]
        start = page.get("LastEvaluatedTableName")
        if not start:
            break
    assert [n for n in seen if n.startswith(prefix)] == names


def test_the_dedupe_claim_succeeds_once(ddb):
    ddb.create_table(TableName=(t := unique_name("dedupe")), KeySchema=[{"AttributeName": "eventId", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "eventId", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    claim = dict(TableName=t, Item={"eventId": {"S": "e-1"}, "ts": {"N": "1"}},
                 ConditionExpression="attribute_not_exists(eventId)")
    ddb.put_item(**claim)
    with pytest.raises(ClientError) as e:
        ddb.put_item(**claim)
    assert error(e) == ("ConditionalCheckFailedException", "The conditional request failed")
    assert ddb.get_item(TableName=t, Key={"eventId": {"S": "e-1"}}, ConsistentRead=True)["Item"]["ts"] == {"N": "1"}


def test_lease_renewal_is_a_conditional_write_on_the_counter(ddb):
    t = leases_table(ddb)
    lease = {"leaseKey": {"S": "shardId-000000000000"}, "leaseOwner": {"S": "w1"}, "leaseCounter": {"N": "1"},
             "checkpoint": {"S": "TRIM_HORIZON"}, "parentShardId": {"SS": ["shardId-x"]}}
    ddb.put_item(TableName=t, Item=lease, ConditionExpression="attribute_not_exists(leaseKey)")
    renewed = {**lease, "leaseCounter": {"N": "2"}}
    expect = dict(ConditionExpression="leaseCounter = :c AND #o = :o",
                  ExpressionAttributeNames={"#o": "leaseOwner"})
    old = ddb.put_item(TableName=t, Item=renewed, ReturnValues="ALL_OLD",
                       ExpressionAttributeValues={":c": {"N": "1"}, ":o": {"S": "w1"}}, **expect)
    assert old["Attributes"]["leaseCounter"] == {"N": "1"}
    # Another worker renewing from a stale counter loses.
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName=t, Item=renewed, ExpressionAttributeValues={":c": {"N": "1"}, ":o": {"S": "w1"}}, **expect)
    assert error(e)[0] == "ConditionalCheckFailedException"
    with pytest.raises(ClientError) as e:
        ddb.delete_item(TableName=t, Key={"leaseKey": {"S": "shardId-000000000000"}},
                        ConditionExpression="leaseOwner = :o", ExpressionAttributeValues={":o": {"S": "w2"}})
    assert error(e)[0] == "ConditionalCheckFailedException"
    gone = ddb.delete_item(TableName=t, Key={"leaseKey": {"S": "shardId-000000000000"}}, ReturnValues="ALL_OLD",
                           ConditionExpression="leaseOwner = :o", ExpressionAttributeValues={":o": {"S": "w1"}})
    assert gone["Attributes"]["leaseCounter"] == {"N": "2"}
    assert "Item" not in ddb.get_item(TableName=t, Key={"leaseKey": {"S": "shardId-000000000000"}})


def test_validation_errors_use_dynamodbs_words(ddb):
    t = leases_table(ddb)
    cases = [
        (dict(Item={"other": {"S": "x"}}), "One or more parameter values were invalid: Missing the key leaseKey in the item"),
        (dict(Item={"leaseKey": {"N": "1"}}),
         "One or more parameter values were invalid: Type mismatch for key leaseKey expected: S actual: N"),
        (dict(Item={"leaseKey": {"S": "k"}}, ConditionExpression="a = = :b", ExpressionAttributeValues={":b": {"S": "x"}}),
         'Invalid ConditionExpression: Syntax error; token: "=", near: "= = :b"'),
        (dict(Item={"leaseKey": {"S": "k"}}, ConditionExpression="a = :missing"),
         "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :missing"),
        (dict(Item={"leaseKey": {"S": "k"}}, ConditionExpression="attribute_exists(#n)"),
         "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #n"),
        (dict(Item={"leaseKey": {"S": "k"}}, ConditionExpression="attribute_exists(a)", ExpressionAttributeValues={":x": {"S": "x"}}),
         "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}"),
        (dict(Item={"leaseKey": {"S": "k"}}, ExpressionAttributeNames={"#a": "a"}),
         "ExpressionAttributeNames can only be specified when using expressions"),
        (dict(Item={"leaseKey": {"S": "k"}, "big": {"S": "x" * 410_000}}), "Item size has exceeded the maximum allowed size"),
    ]
    for extra, message in cases:
        with pytest.raises(ClientError) as e:
            ddb.put_item(TableName=t, **extra)
        assert error(e) == ("ValidationException", message), extra
    with pytest.raises(ClientError) as e:
        ddb.get_item(TableName=t, Key={"leaseKey": {"S": "k"}, "extra": {"S": "x"}})
    assert error(e) == ("ValidationException", "The provided key element does not match the schema")
    with pytest.raises(ClientError) as e:
        ddb.get_item(TableName=unique_name("nope"), Key={"leaseKey": {"S": "k"}})
    assert error(e) == ("ResourceNotFoundException", "Requested resource not found")


def test_every_attribute_type_round_trips(ddb):
    t = leases_table(ddb)
    item = {"leaseKey": {"S": "all"}, "n": {"N": "-1.5e3"}, "b": {"B": b"\x00\xff"}, "bool": {"BOOL": False},
            "null": {"NULL": True}, "m": {"M": {"x": {"L": [{"S": "y"}, {"N": "2"}]}}},
            "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": [b"a", b"b"]}}
    ddb.put_item(TableName=t, Item=item)
    got = ddb.get_item(TableName=t, Key={"leaseKey": {"S": "all"}})["Item"]
    assert got == item


def test_tables_and_items_survive_a_restart(factory):
    server = factory("durable")
    ddb = server.client("dynamodb")
    t = leases_table(ddb)
    ddb.put_item(TableName=t, Item={"leaseKey": {"S": "kept"}, "leaseCounter": {"N": "9"}})
    ddb.put_item(TableName=t, Item={"leaseKey": {"S": "deleted"}})
    ddb.delete_item(TableName=t, Key={"leaseKey": {"S": "deleted"}})
    server.restart()  # kill -9, then start on the same data directory
    ddb = server.client("dynamodb")
    assert ddb.describe_table(TableName=t)["Table"]["ItemCount"] == 1
    assert ddb.get_item(TableName=t, Key={"leaseKey": {"S": "kept"}})["Item"]["leaseCounter"] == {"N": "9"}
    assert "Item" not in ddb.get_item(TableName=t, Key={"leaseKey": {"S": "deleted"}})


def test_operations_spate_does_not_serve_are_unknown(server):
    from spate_support import raw_call

    response = raw_call(server.endpoint, None, {}, target="DynamoDB_20120810.ExportTableToPointInTime",
                        content_type="application/x-amz-json-1.0")
    assert response.status == 400
    assert response.error_type == "UnknownOperationException"


def test_update_item_with_expressions_and_return_values(ddb):
    t = leases_table(ddb)
    key = {"leaseKey": {"S": "shardId-000000000001"}}
    out = ddb.update_item(TableName=t, Key=key, ReturnValues="ALL_NEW",
                          UpdateExpression="SET leaseCounter = if_not_exists(leaseCounter, :zero) + :one, #o = :w, parents = list_append(if_not_exists(parents, :empty), :p) ADD tags :t",
                          ExpressionAttributeNames={"#o": "leaseOwner"},
                          ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": "1"}, ":w": {"S": "w1"},
                                                     ":empty": {"L": []}, ":p": {"L": [{"S": "shardId-0"}]}, ":t": {"SS": ["a"]}})
    assert out["Attributes"] == {**key, "leaseCounter": {"N": "1"}, "leaseOwner": {"S": "w1"},
                                 "parents": {"L": [{"S": "shardId-0"}]}, "tags": {"SS": ["a"]}}
    out = ddb.update_item(TableName=t, Key=key, ReturnValues="UPDATED_OLD",
                          UpdateExpression="SET leaseCounter = leaseCounter + :one REMOVE parents DELETE tags :t",
                          ConditionExpression="leaseOwner = :w",
                          ExpressionAttributeValues={":one": {"N": "1"}, ":w": {"S": "w1"}, ":t": {"SS": ["a"]}})
    assert out["Attributes"] == {"leaseCounter": {"N": "1"}, "parents": {"L": [{"S": "shardId-0"}]}, "tags": {"SS": ["a"]}}
    item = ddb.get_item(TableName=t, Key=key, ProjectionExpression="leaseCounter, #o", ExpressionAttributeNames={"#o": "leaseOwner"})["Item"]
    assert item == {"leaseCounter": {"N": "2"}, "leaseOwner": {"S": "w1"}}
    with pytest.raises(ClientError) as e:
        ddb.update_item(TableName=t, Key=key, UpdateExpression="SET leaseKey = :v", ExpressionAttributeValues={":v": {"S": "x"}})
    assert error(e) == ("ValidationException",
                        "One or more parameter values were invalid: Cannot update attribute leaseKey. This attribute is part of the key")


def test_kcl_style_legacy_parameters(ddb):
    t = leases_table(ddb)
    key = {"leaseKey": {"S": "shardId-000000000002"}}
    ddb.put_item(TableName=t, Item={**key, "leaseCounter": {"N": "0"}}, Expected={"leaseKey": {"Exists": False}})
    out = ddb.update_item(TableName=t, Key=key, ReturnValues="ALL_NEW",
                          Expected={"leaseCounter": {"Value": {"N": "0"}}},
                          AttributeUpdates={"leaseCounter": {"Action": "ADD", "Value": {"N": "1"}},
                                            "leaseOwner": {"Action": "PUT", "Value": {"S": "w2"}}})
    assert out["Attributes"]["leaseCounter"] == {"N": "1"}
    with pytest.raises(ClientError) as e:
        ddb.delete_item(TableName=t, Key=key, Expected={"leaseOwner": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "w1"}]}})
    assert error(e)[0] == "ConditionalCheckFailedException"


def test_scan_pages_segments_filters_and_counts(ddb):
    t = leases_table(ddb)
    for i in range(25):
        ddb.put_item(TableName=t, Item={"leaseKey": {"S": f"shard-{i:02}"}, "n": {"N": str(i)}})
    seen, start = [], None
    while True:
        page = ddb.scan(TableName=t, Limit=7, **({"ExclusiveStartKey": start} if start else {}))
        assert page["Count"] == len(page["Items"]) <= 7
        seen += [i["leaseKey"]["S"] for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert sorted(seen) == [f"shard-{i:02}" for i in range(25)] and len(set(seen)) == 25
    parts = [ddb.scan(TableName=t, Segment=s, TotalSegments=3)["Items"] for s in range(3)]
    assert sorted(i["leaseKey"]["S"] for p in parts for i in p) == sorted(seen)
    filtered = ddb.scan(TableName=t, FilterExpression="n >= :ten", ExpressionAttributeValues={":ten": {"N": "10"}})
    assert (filtered["Count"], filtered["ScannedCount"]) == (15, 25)
    assert ddb.scan(TableName=t, Select="COUNT")["Count"] == 25
    paginator = ddb.get_paginator("scan")
    assert sum(p["Count"] for p in paginator.paginate(TableName=t, PaginationConfig={"PageSize": 4})) == 25


def test_query_on_the_table_and_on_an_index_as_kcl_3_does(ddb):
    t = unique_name("kcl3")
    ddb.create_table(
        TableName=t,
        KeySchema=[{"AttributeName": "leaseKey", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "leaseKey", "AttributeType": "S"}, {"AttributeName": "leaseOwner", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[{"IndexName": "LeaseOwnerToLeaseKeyIndex",
                                 "KeySchema": [{"AttributeName": "leaseOwner", "KeyType": "HASH"}, {"AttributeName": "leaseKey", "KeyType": "RANGE"}],
                                 "Projection": {"ProjectionType": "KEYS_ONLY"}}],
    )
    index = ddb.describe_table(TableName=t)["Table"]["GlobalSecondaryIndexes"][0]
    assert (index["IndexName"], index["IndexStatus"]) == ("LeaseOwnerToLeaseKeyIndex", "ACTIVE")
    for shard, owner in [("s-3", "w1"), ("s-1", "w1"), ("s-2", "w2"), ("s-4", None)]:
        item = {"leaseKey": {"S": shard}, "checkpoint": {"S": "TRIM_HORIZON"}}
        if owner:
            item["leaseOwner"] = {"S": owner}
        ddb.put_item(TableName=t, Item=item)
    mine = ddb.query(TableName=t, IndexName="LeaseOwnerToLeaseKeyIndex", KeyConditionExpression="leaseOwner = :w",
                     ExpressionAttributeValues={":w": {"S": "w1"}})
    assert [i["leaseKey"]["S"] for i in mine["Items"]] == ["s-1", "s-3"]
    assert set(mine["Items"][0]) == {"leaseKey", "leaseOwner"}, "KEYS_ONLY projects the keys"
    desc = ddb.query(TableName=t, IndexName="LeaseOwnerToLeaseKeyIndex", ScanIndexForward=False, Limit=1,
                     KeyConditionExpression="leaseOwner = :w AND begins_with(leaseKey, :s)",
                     ExpressionAttributeValues={":w": {"S": "w1"}, ":s": {"S": "s-"}})
    assert [i["leaseKey"]["S"] for i in desc["Items"]] == ["s-3"] and "LastEvaluatedKey" in desc
    one = ddb.query(TableName=t, KeyConditionExpression="leaseKey = :k", ExpressionAttributeValues={":k": {"S": "s-4"}})
    assert one["Items"][0]["checkpoint"] == {"S": "TRIM_HORIZON"}
    with pytest.raises(ClientError) as e:
        ddb.query(TableName=t, KeyConditionExpression="checkpoint = :c", ExpressionAttributeValues={":c": {"S": "x"}})
    assert error(e) == ("ValidationException", "Query condition missed key schema element: leaseKey")
    ddb.update_table(TableName=t, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "LeaseOwnerToLeaseKeyIndex"}}])
    assert "GlobalSecondaryIndexes" not in ddb.describe_table(TableName=t)["Table"]


def test_transactions_and_ttl_settings(ddb):
    t = leases_table(ddb)
    ddb.put_item(TableName=t, Item={"leaseKey": {"S": "a"}, "owner": {"S": "w1"}})
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": t, "Item": {"leaseKey": {"S": "b"}}}},
            {"ConditionCheck": {"TableName": t, "Key": {"leaseKey": {"S": "a"}}, "ConditionExpression": "#o = :w",
                                "ExpressionAttributeNames": {"#o": "owner"}, "ExpressionAttributeValues": {":w": {"S": "w2"}}}},
        ])
    assert e.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in e.value.response["CancellationReasons"]] == ["None", "ConditionalCheckFailed"]
    assert "Item" not in ddb.get_item(TableName=t, Key={"leaseKey": {"S": "b"}})
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": t, "Item": {"leaseKey": {"S": "b"}}}},
        {"Update": {"TableName": t, "Key": {"leaseKey": {"S": "a"}}, "UpdateExpression": "SET #o = :w",
                    "ExpressionAttributeNames": {"#o": "owner"}, "ExpressionAttributeValues": {":w": {"S": "w2"}}}},
    ])
    assert ddb.get_item(TableName=t, Key={"leaseKey": {"S": "a"}})["Item"]["owner"] == {"S": "w2"}
    assert ddb.describe_time_to_live(TableName=t)["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}
    ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"})
    assert ddb.describe_time_to_live(TableName=t)["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}
