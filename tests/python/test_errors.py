"""Raw HTTP error handling: status, __type, message wording, and never a 5xx for bad input."""

from __future__ import annotations

import json

import pytest

from spate_support import (
    ACCOUNT,
    JSON_CONTENT_TYPE,
    RawResponse,
    raw_call,
    unique_name,
)

KNOWN_ERROR_TYPES = {
    "ValidationException",
    "SerializationException",
    "InvalidArgumentException",
    "ResourceNotFoundException",
    "ResourceInUseException",
    "UnknownOperationException",
    "ExpiredIteratorException",
    "LimitExceededException",
    "AccessDeniedException",
    "MissingAuthenticationTokenException",
    "InvalidSignatureException",
}


# AWS's front end answers these with the exception type only, no message.
BARE_ERRORS = {"SerializationException", "UnknownOperationException"}


def assert_error(resp: RawResponse, error_type: str, message: str | None = None) -> dict:
    assert resp.status == 400, f"expected 400 {error_type}, got {resp.status}: {resp.body[:500]!r}"
    assert resp.headers.get("content-type", "").startswith(JSON_CONTENT_TYPE), resp.headers
    body = resp.json()
    assert body.get("__type") == error_type, body
    assert resp.headers.get("x-amzn-errortype", "").split(":")[0] == error_type, resp.headers
    text = body.get("message", body.get("Message"))
    if error_type in BARE_ERRORS and message is None:
        assert text is None or isinstance(text, str), body
        return body
    assert isinstance(text, str) and text, f"error without a message: {body}"
    if message is not None:
        assert message in text, body
    return body


def create_raw(endpoint: str) -> str:
    name = unique_name("err")
    resp = raw_call(endpoint, "CreateStream", {"StreamName": name, "ShardCount": 1})
    assert resp.status == 200, resp.body
    return name


@pytest.fixture(scope="module")
def existing(endpoint) -> str:
    """A one-shard stream created over raw HTTP, shared by the tests in this module."""
    return create_raw(endpoint)


@pytest.fixture(scope="module")
def victim(endpoint) -> str:
    """A stream the robustness test may modify or delete."""
    return create_raw(endpoint)


# -- wrong types, missing members, bad values -----------------------------------------------------

NAME = "errs-stream"  # used where the request must fail before the stream is looked up

VALIDATION_CASES = [
    # (operation, body, error type, message fragment)
    ("CreateStream", {"StreamName": NAME, "ShardCount": "abc"}, "SerializationException", None),
    ("CreateStream", {"StreamName": ["a"], "ShardCount": 1}, "SerializationException", None),
    ("CreateStream", {"StreamName": {"a": 1}, "ShardCount": 1}, "SerializationException", None),
    ("CreateStream", {"StreamName": NAME, "ShardCount": {"n": 1}}, "SerializationException", None),
    ("CreateStream", {"StreamName": NAME, "ShardCount": 1, "Tags": ["a"]}, "SerializationException", None),
    ("PutRecords", {"StreamName": NAME, "Records": {"Data": "YQ=="}}, "SerializationException", None),
    ("PutRecord", {"StreamName": NAME, "PartitionKey": "k", "Data": 12}, "SerializationException", None),
    (
        "CreateStream",
        {"StreamName": NAME, "ShardCount": 0},
        "ValidationException",
        "1 validation error detected: Value '0' at 'shardCount' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1",
    ),
    (
        "CreateStream",
        {"ShardCount": 1},
        "ValidationException",
        "Value null at 'streamName' failed to satisfy constraint: Member must not be null",
    ),
    (
        "CreateStream",
        {"StreamName": "a" * 129, "ShardCount": 1},
        "ValidationException",
        "at 'streamName' failed to satisfy constraint: Member must have length less than or equal to 128",
    ),
    (
        "CreateStream",
        {"StreamName": "", "ShardCount": 1},
        "ValidationException",
        "at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
    ),
    (
        "CreateStream",
        {"StreamName": "bad name!", "ShardCount": 1},
        "ValidationException",
        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
    ),
    ("CreateStream", {"StreamName": "a" * 129, "ShardCount": 0}, "ValidationException", "2 validation errors detected: "),
    (
        "PutRecord",
        {"StreamName": NAME, "Data": "YQ=="},
        "ValidationException",
        "Value null at 'partitionKey' failed to satisfy constraint: Member must not be null",
    ),
    (
        "PutRecord",
        {"StreamName": NAME, "Data": "YQ==", "PartitionKey": "k" * 257},
        "ValidationException",
        "at 'partitionKey' failed to satisfy constraint: Member must have length less than or equal to 256",
    ),
    ("PutRecords", {"StreamName": NAME, "Records": []}, "ValidationException", "at 'records'"),
    (
        "PutRecords",
        {"StreamName": NAME, "Records": [{"Data": "YQ=="}]},
        "ValidationException",
        "Value null at 'records.1.member.partitionKey' failed to satisfy constraint",
    ),
    ("GetShardIterator", {"StreamName": NAME, "ShardId": "shardId-000000000000"}, "ValidationException", "'shardIteratorType'"),
    (
        "GetShardIterator",
        {"StreamName": NAME, "ShardId": "shardId-000000000000", "ShardIteratorType": "SIDEWAYS"},
        "ValidationException",
        "Member must satisfy enum value set",
    ),
    (
        "GetShardIterator",
        {"StreamName": NAME, "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": "abc"},
        "ValidationException",
        "'startingSequenceNumber'",
    ),
    ("GetRecords", {}, "ValidationException", "Value null at 'shardIterator' failed to satisfy constraint: Member must not be null"),
    ("GetRecords", {"ShardIterator": "x", "Limit": 0}, "ValidationException", "Member must have value greater than or equal to 1"),
    ("GetRecords", {"ShardIterator": "x", "Limit": 10001}, "ValidationException", "Member must have value less than or equal to 10000"),
    ("GetRecords", {"ShardIterator": "x" * 513}, "ValidationException", "Member must have length less than or equal to 512"),
    ("ListStreams", {"Limit": 0}, "ValidationException", "at 'limit'"),
    ("ListShards", {"StreamName": NAME, "MaxResults": 0}, "ValidationException", "at 'maxResults'"),
    ("AddTagsToStream", {"StreamName": NAME}, "ValidationException", "at 'tags'"),
]


@pytest.mark.parametrize(
    "operation, body, error_type, message",
    VALIDATION_CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(VALIDATION_CASES)],
)
def test_bad_input_rejected(endpoint, operation, body, error_type, message):
    assert_error(raw_call(endpoint, operation, body), error_type, message)


def test_garbage_json_is_serialization_exception(endpoint):
    for body in (b"{not json", b'{"StreamName": "a"', b"\xff\xfe\x00garbage"):
        assert_error(raw_call(endpoint, "DescribeStream", body), "SerializationException")


def test_unknown_operation(endpoint):
    assert_error(raw_call(endpoint, "DescribeEverything", {}), "UnknownOperationException")
    assert_error(raw_call(endpoint, None, {}, target="Kinesis_19990101.ListStreams"), "UnknownOperationException")


def test_garbage_iterator(endpoint):
    for junk in ("garbage", "AAAAAAAAAAAAAAAAAAAA", "x" * 512):
        assert_error(raw_call(endpoint, "GetRecords", {"ShardIterator": junk}), "InvalidArgumentException")


def test_unknown_stream(endpoint):
    name = unique_name("nope")
    expected = f"Stream {name} under account {ACCOUNT} not found."
    requests = [
        ("DescribeStream", {"StreamName": name}),
        ("DescribeStreamSummary", {"StreamName": name}),
        ("DeleteStream", {"StreamName": name}),
        ("PutRecord", {"StreamName": name, "Data": "YQ==", "PartitionKey": "k"}),
        ("PutRecords", {"StreamName": name, "Records": [{"Data": "YQ==", "PartitionKey": "k"}]}),
        ("ListShards", {"StreamName": name}),
        ("ListTagsForStream", {"StreamName": name}),
    ]
    for operation, body in requests:
        assert_error(raw_call(endpoint, operation, body), "ResourceNotFoundException", expected)
    # GetShardIterator names the shard, not the stream, as AWS does.
    body = {"StreamName": name, "ShardId": "shard-0", "ShardIteratorType": "LATEST"}
    assert_error(
        raw_call(endpoint, "GetShardIterator", body),
        "ResourceNotFoundException",
        f"Shard shardId-000000000000 in stream {name} under account {ACCOUNT} does not exist",
    )


def test_unknown_shard(endpoint, existing):
    body = {"StreamName": existing, "ShardId": "shardId-000000000099", "ShardIteratorType": "LATEST"}
    assert_error(raw_call(endpoint, "GetShardIterator", body), "ResourceNotFoundException")


def test_existing_stream_is_resource_in_use(endpoint, existing):
    resp = raw_call(endpoint, "CreateStream", {"StreamName": existing, "ShardCount": 1})
    assert_error(resp, "ResourceInUseException")


def test_valid_raw_request_succeeds(endpoint, existing):
    """Guards the cases above: the raw client itself is fine."""
    resp = raw_call(endpoint, "DescribeStreamSummary", {"StreamName": existing})
    assert resp.status == 200, resp.body
    assert resp.headers["content-type"].startswith(JSON_CONTENT_TYPE)
    assert resp.json()["StreamDescriptionSummary"]["StreamName"] == existing


def test_health(endpoint):
    resp = raw_call(endpoint, None, b"", method="GET", path="/health")
    assert resp.status == 200


# -- robustness: odd bodies for every operation never produce a 5xx -----------------------------

OPERATIONS = [
    "CreateStream", "DeleteStream", "DescribeStream", "DescribeStreamSummary", "ListStreams",
    "ListShards", "PutRecord", "PutRecords", "GetShardIterator", "GetRecords",
    "IncreaseStreamRetentionPeriod", "DecreaseStreamRetentionPeriod", "AddTagsToStream",
    "RemoveTagsFromStream", "ListTagsForStream", "TagResource", "UntagResource",
    "ListTagsForResource", "DescribeLimits", "DescribeAccountSettings", "UpdateAccountSettings",
]

ODD_BODIES = [
    b"", b"null", b"[]", b'"text"', b"42", b"{}", b'{"StreamName": null}', b'{"StreamName": true}',
    b'{"StreamName": "%s"}', b'{"StreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/"}',
    b'{"StreamARN": "not-an-arn"}', b'{"ResourceARN": 7}', b'{"ShardIterator": ""}',
    b'{"Records": [null]}', b'{"Records": [{"Data": "!!!not base64!!!", "PartitionKey": "k"}]}',
    b'{"StreamName": "%s", "Data": "====", "PartitionKey": "k"}',
    b'{"StreamName": "%s", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": "yesterday"}',
    b'{"StreamName": "%s", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": -1e300}',
    b'{"StreamName": "%s", "ShardId": "shardId-000000000000", "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": "99999999999999999999999999999999999999999999999999999999999999"}',
    b'{"StreamName": "%s", "RetentionPeriodHours": 99999999999999999999}',
    b'{"StreamName": "%s", "ShardCount": -5}',
    b'{"StreamName": "%s", "ShardCount": 2147483648}',
    b'{"StreamName": "%s", "Tags": {"": "v"}}',
    b'{"StreamName": "%s", "TagKeys": []}',
    b'{"StreamName": "%s", "ShardFilter": {"Type": "AFTER_SHARD_ID"}}',
    b'{"StreamName": "%s", "ShardFilter": {"Type": "AT_TIMESTAMP"}}',
    b'{"MinimumThroughputBillingCommitment": {"Status": "MAYBE"}}',
    b'{"a": {"b": {"c": {"d": [[[[[[[[[[[]]]]]]]]]]]}}}}',
]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_odd_bodies_never_cause_server_errors(endpoint, victim, operation):
    for template in ODD_BODIES:
        body = template.replace(b"%s", victim.encode())
        resp = raw_call(endpoint, operation, body)
        context = f"{operation} {body!r} -> {resp.status} {resp.body[:300]!r}"
        assert resp.status < 500, context
        if resp.status != 200:
            assert resp.status == 400, context
            assert resp.error_type in KNOWN_ERROR_TYPES, context
        else:
            json.loads(resp.body or b"{}")  # a success still has a JSON body
