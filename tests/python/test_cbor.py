"""CBOR protocol (application/x-amz-cbor-1.1) as the Java SDK v1 speaks it.

Blobs are CBOR byte strings; timestamps are tag 1 wrapping integer epoch *milliseconds*.
cbor2 would turn tag 1 into a datetime (and fails on millisecond values), so responses are
decoded by `decode_cbor` below, which keeps every tag as a `cbor2.CBORTag`.
"""

from __future__ import annotations

import struct
import time

import cbor2
import pytest

from spate_support import (
    CBOR_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    SEQUENCE_NUMBER_RE,
    create_stream,
    raw_call,
    read_shard,
    to_millis,
    unique_name,
)

SHARD0 = "shardId-000000000000"
YEAR_2020_MS, YEAR_2100_MS = 1_577_836_800_000, 4_102_444_800_000


# -- a tag-preserving CBOR decoder --------------------------------------------------------------

_BREAK = object()


def decode_cbor(data: bytes):
    value, end = _decode_item(data, 0)
    assert end == len(data), f"{len(data) - end} trailing bytes after the CBOR item"
    return value


def _decode_item(buf: bytes, pos: int):
    initial = buf[pos]
    pos += 1
    major, info = initial >> 5, initial & 0x1F
    if major == 7:
        return _decode_simple(buf, pos, info)
    if info == 31:
        return _decode_indefinite(buf, pos, major)
    if info < 24:
        arg = info
    else:
        assert info <= 27, f"malformed CBOR: reserved additional info {info} at byte {pos - 1}"
        size = {24: 1, 25: 2, 26: 4, 27: 8}[info]
        arg, pos = int.from_bytes(buf[pos:pos + size], "big"), pos + size
    if major == 0:
        return arg, pos
    if major == 1:
        return -1 - arg, pos
    if major == 2:
        return bytes(buf[pos:pos + arg]), pos + arg
    if major == 3:
        return buf[pos:pos + arg].decode("utf-8"), pos + arg
    if major == 4:
        items = []
        for _ in range(arg):
            item, pos = _decode_item(buf, pos)
            items.append(item)
        return items, pos
    if major == 5:
        mapping = {}
        for _ in range(arg):
            key, pos = _decode_item(buf, pos)
            mapping[key], pos = _decode_item(buf, pos)
        return mapping, pos
    tagged, pos = _decode_item(buf, pos)  # major 6
    return cbor2.CBORTag(arg, tagged), pos


def _decode_simple(buf: bytes, pos: int, info: int):
    if info in (20, 21):
        return info == 21, pos
    if info in (22, 23):
        return None, pos
    if info == 31:
        return _BREAK, pos
    fmt = {25: ">e", 26: ">f", 27: ">d"}.get(info)
    assert fmt, f"unsupported CBOR simple value {info}"
    size = struct.calcsize(fmt)
    return struct.unpack(fmt, buf[pos:pos + size])[0], pos + size


def _decode_indefinite(buf: bytes, pos: int, major: int):
    items = []
    while True:
        item, pos = _decode_item(buf, pos)
        if item is _BREAK:
            break
        items.append(item)
    if major in (2, 3):
        return (b"" if major == 2 else "").join(items), pos
    if major == 4:
        return items, pos
    assert major == 5, f"indefinite length not allowed for major type {major}"
    return dict(zip(items[::2], items[1::2])), pos


def test_decoder_keeps_millisecond_timestamps():
    encoded = cbor2.dumps({"t": cbor2.CBORTag(1, 1_700_000_000_123), "d": b"\x00\xff", "n": [1, -2, 1.5]})
    assert decode_cbor(encoded) == {"t": cbor2.CBORTag(1, 1_700_000_000_123), "d": b"\x00\xff", "n": [1, -2, 1.5]}


# -- helpers -------------------------------------------------------------------------------------


def cbor_call(endpoint: str, operation: str, payload: dict):
    """POST a CBOR request; return (status, decoded body). Successful replies must be CBOR."""
    resp = raw_call(endpoint, operation, cbor2.dumps(payload), content_type=CBOR_CONTENT_TYPE)
    content_type = resp.headers.get("content-type", "")
    if resp.status == 200:
        assert content_type.startswith(CBOR_CONTENT_TYPE), resp.headers
    if not resp.body:
        # Operations without output answer an empty body, as AWS does.
        return resp.status, {}
    if content_type.startswith(JSON_CONTENT_TYPE):
        return resp.status, resp.json()
    return resp.status, decode_cbor(resp.body)


def cbor_ok(endpoint: str, operation: str, payload: dict) -> dict:
    status, body = cbor_call(endpoint, operation, payload)
    assert status == 200, body
    return body


def assert_millis_timestamp(value) -> int:
    assert isinstance(value, cbor2.CBORTag) and value.tag == 1, f"not a tag-1 timestamp: {value!r}"
    assert isinstance(value.value, int), f"tag 1 should wrap integer milliseconds: {value.value!r}"
    assert YEAR_2020_MS < value.value < YEAR_2100_MS, f"not epoch milliseconds: {value.value}"
    return value.value


def cbor_iterator(endpoint: str, stream: str, iterator_type: str, **extra) -> str:
    body = cbor_ok(endpoint, "GetShardIterator", {
        "StreamName": stream, "ShardId": SHARD0, "ShardIteratorType": iterator_type, **extra,
    })
    assert isinstance(body["ShardIterator"], str)
    return body["ShardIterator"]


def cbor_records(endpoint: str, shard_iterator: str) -> list[dict]:
    body = cbor_ok(endpoint, "GetRecords", {"ShardIterator": shard_iterator})
    assert isinstance(body["MillisBehindLatest"], int)
    assert isinstance(body["NextShardIterator"], str)
    return body["Records"]


def cbor_put(endpoint: str, stream: str, data: bytes, key: str = "pk") -> dict:
    body = cbor_ok(endpoint, "PutRecord", {"StreamName": stream, "Data": data, "PartitionKey": key})
    assert body["ShardId"] == SHARD0
    assert SEQUENCE_NUMBER_RE.match(body["SequenceNumber"]), body
    return body


# -- tests ---------------------------------------------------------------------------------------


def test_put_and_get_records(endpoint, kinesis, stream):
    sent = [bytes(range(256)), b"second \x00 record"]
    puts = [cbor_put(endpoint, stream, data) for data in sent]

    records = cbor_records(endpoint, cbor_iterator(endpoint, stream, "TRIM_HORIZON"))
    assert [r["Data"] for r in records] == sent
    assert all(isinstance(r["Data"], bytes) for r in records)
    assert [r["SequenceNumber"] for r in records] == [p["SequenceNumber"] for p in puts]
    assert [r["PartitionKey"] for r in records] == ["pk", "pk"]
    arrivals = [assert_millis_timestamp(r["ApproximateArrivalTimestamp"]) for r in records]

    # The JSON protocol sees the same bytes and the same arrival times, to the millisecond.
    json_records = read_shard(kinesis, stream, SHARD0)
    assert [r["Data"] for r in json_records] == sent
    assert [to_millis(r["ApproximateArrivalTimestamp"]) for r in json_records] == arrivals


def test_json_records_read_over_cbor(endpoint, kinesis, stream):
    kinesis.put_record(StreamName=stream, Data=b"\x01\x02 from json", PartitionKey="j")
    [record] = cbor_records(endpoint, cbor_iterator(endpoint, stream, "TRIM_HORIZON"))
    assert record["Data"] == b"\x01\x02 from json"
    assert record["PartitionKey"] == "j"


def test_at_timestamp_with_millisecond_tag(endpoint, stream):
    cbor_put(endpoint, stream, b"first")
    time.sleep(0.05)
    cbor_put(endpoint, stream, b"second")
    records = cbor_records(endpoint, cbor_iterator(endpoint, stream, "TRIM_HORIZON"))
    first, second = (assert_millis_timestamp(r["ApproximateArrivalTimestamp"]) for r in records)
    assert first < second

    def read_at(millis: int) -> list[bytes]:
        it = cbor_iterator(endpoint, stream, "AT_TIMESTAMP", Timestamp=cbor2.CBORTag(1, millis))
        return [r["Data"] for r in cbor_records(endpoint, it)]

    assert read_at((first + second) // 2 + 1) == [b"second"]
    assert read_at(first) == [b"first", b"second"]
    assert read_at(second) == [b"second"]
    assert read_at(second + 1) == []


def test_put_records(endpoint, kinesis, stream):
    entries = [{"Data": f"batch-{i}".encode(), "PartitionKey": f"k{i}"} for i in range(5)]
    body = cbor_ok(endpoint, "PutRecords", {"StreamName": stream, "Records": entries})
    assert body["FailedRecordCount"] == 0
    assert len(body["Records"]) == 5
    assert all(SEQUENCE_NUMBER_RE.match(r["SequenceNumber"]) for r in body["Records"])
    assert [r["Data"] for r in read_shard(kinesis, stream, SHARD0)] == [e["Data"] for e in entries]


def test_describe_stream_summary_timestamp(endpoint, kinesis, stream):
    body = cbor_ok(endpoint, "DescribeStreamSummary", {"StreamName": stream})
    summary = body["StreamDescriptionSummary"]
    assert summary["StreamName"] == stream
    created = assert_millis_timestamp(summary["StreamCreationTimestamp"])
    json_summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    assert created == to_millis(json_summary["StreamCreationTimestamp"])


def test_create_stream_over_cbor(endpoint, kinesis):
    name = unique_name("cbor")
    status, body = cbor_call(endpoint, "CreateStream", {"StreamName": name, "ShardCount": 2})
    assert status == 200, body
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    assert len(kinesis.list_shards(StreamName=name)["Shards"]) == 2


def test_errors_over_cbor(endpoint):
    status, body = cbor_call(endpoint, "DescribeStreamSummary", {"StreamName": unique_name("missing")})
    assert status == 400
    assert body["__type"] == "ResourceNotFoundException"

    status, body = cbor_call(endpoint, "CreateStream", {"StreamName": unique_name("c"), "ShardCount": 0})
    assert status == 400
    assert body["__type"] == "ValidationException"

    resp = raw_call(endpoint, "DescribeStream", b"\xbf\x61", content_type=CBOR_CONTENT_TYPE)
    assert resp.status == 400, resp.body
    body = resp.json() if resp.headers.get("content-type", "").startswith(JSON_CONTENT_TYPE) else decode_cbor(resp.body)
    assert body["__type"] == "SerializationException"


def jackson_style(value) -> bytes:
    """Encode like Jackson's CBORGenerator (Java SDK v1): maps and arrays of indefinite length."""
    if isinstance(value, dict):
        return b"\xbf" + b"".join(cbor2.dumps(k) + jackson_style(v) for k, v in value.items()) + b"\xff"
    if isinstance(value, list):
        return b"\x9f" + b"".join(jackson_style(v) for v in value) + b"\xff"
    return cbor2.dumps(value)


def test_indefinite_length_requests(endpoint, kinesis, stream):
    entries = [{"Data": b"java-%d" % i, "PartitionKey": "k"} for i in range(3)]
    body = jackson_style({"StreamName": stream, "Records": entries})
    resp = raw_call(endpoint, "PutRecords", body, content_type=CBOR_CONTENT_TYPE)
    assert resp.status == 200, resp.body
    assert decode_cbor(resp.body)["FailedRecordCount"] == 0

    body = jackson_style({"StreamName": stream, "ShardId": SHARD0, "ShardIteratorType": "TRIM_HORIZON"})
    resp = raw_call(endpoint, "GetShardIterator", body, content_type=CBOR_CONTENT_TYPE)
    assert resp.status == 200, resp.body
    records = cbor_records(endpoint, decode_cbor(resp.body)["ShardIterator"])
    assert [r["Data"] for r in records] == [e["Data"] for e in entries]


@pytest.mark.parametrize("payload", [b"\x00", b"\xff" * 3, bytes(range(256)) * 4])
def test_binary_payloads(endpoint, stream, payload):
    cbor_put(endpoint, stream, payload)
    [record] = cbor_records(endpoint, cbor_iterator(endpoint, stream, "TRIM_HORIZON"))
    assert record["Data"] == payload


def test_subscribe_to_shard_over_cbor(spawn_server):
    """A CBOR SubscribeToShard (as the Java SDK sends it) gets CBOR event payloads: blobs as byte
    strings and tag-1 millisecond timestamps, with `:content-type` saying so."""
    from botocore.eventstream import EventStreamBuffer

    server = spawn_server("memory", extra_args=["--subscription-lifetime-secs", "1"])
    kinesis = server.client()
    name = create_stream(kinesis, shards=1)
    arn = f"arn:aws:kinesis:us-east-1:000000000000:stream/{name}"
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="cbor")["Consumer"]
    sent = [bytes(range(256)), b"second \x00 record"]
    for data in sent:
        cbor_put(server.endpoint, name, data)
    # The subscription ends by itself after one second, so the whole body can be read at once.
    resp = raw_call(server.endpoint, "SubscribeToShard", cbor2.dumps({
        "ConsumerARN": consumer["ConsumerARN"], "ShardId": SHARD0,
        "StartingPosition": {"Type": "TRIM_HORIZON"},
    }), content_type=CBOR_CONTENT_TYPE)
    assert resp.status == 200, resp.body
    assert resp.headers.get("content-type") == "application/vnd.amazon.eventstream"
    buffer = EventStreamBuffer()
    buffer.add_data(resp.body)
    messages = list(buffer)
    assert messages[0].headers[":event-type"] == "initial-response"
    records = []
    for message in messages[1:]:
        assert message.headers[":message-type"] == "event"
        assert message.headers[":event-type"] == "SubscribeToShardEvent"
        assert message.headers[":content-type"] == CBOR_CONTENT_TYPE
        event = decode_cbor(message.payload)
        assert isinstance(event["MillisBehindLatest"], int)
        for record in event["Records"]:
            assert_millis_timestamp(record["ApproximateArrivalTimestamp"])
            records.append(record["Data"])
    assert records == sent
