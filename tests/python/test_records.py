"""Data plane: PutRecord(s), GetShardIterator (all types), GetRecords, routing, limits."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from spate_support import (
    MAX_HASH_KEY,
    SEQUENCE_NUMBER_RE,
    assert_strictly_increasing,
    aws_error,
    create_stream,
    drain,
    hash_key,
    iterator,
    list_all_shards,
    read_shard,
    shard_for_hash,
    to_millis,
)

ONE_MIB = 1024 * 1024
SHARD0 = "shardId-000000000000"


def put_all(client, stream: str, payloads, partition_key: str = "pk") -> list[dict]:
    return [client.put_record(StreamName=stream, Data=p, PartitionKey=partition_key) for p in payloads]


def payloads(n: int, tag: str = "r") -> list[bytes]:
    return [f"{tag}-{i}".encode() for i in range(n)]


def data_of(records) -> list[bytes]:
    return [r["Data"] for r in records]


# -- put / get round trip ----------------------------------------------------------------


def test_put_record_response(kinesis, stream):
    resp = kinesis.put_record(StreamName=stream, Data=b"hello", PartitionKey="greeting")
    assert resp["ShardId"] == SHARD0
    assert SEQUENCE_NUMBER_RE.match(resp["SequenceNumber"]), resp["SequenceNumber"]


def test_round_trip_from_trim_horizon(kinesis, stream):
    sent = [b"", b"\x00\x01\xff binary", "unicode \u2603".encode(), b"x" * 1000]
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    puts = [kinesis.put_record(StreamName=stream, Data=d, PartitionKey=f"k{i}") for i, d in enumerate(sent)]

    records = read_shard(kinesis, stream, SHARD0)
    assert data_of(records) == sent
    assert [r["PartitionKey"] for r in records] == [f"k{i}" for i in range(len(sent))]
    assert [r["SequenceNumber"] for r in records] == [p["SequenceNumber"] for p in puts]
    after = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=5)
    for record in records:
        assert before <= record["ApproximateArrivalTimestamp"] <= after


def test_sequence_numbers_increase(kinesis, stream):
    singles = [p["SequenceNumber"] for p in put_all(kinesis, stream, payloads(20))]
    batch = kinesis.put_records(
        StreamName=stream, Records=[{"Data": d, "PartitionKey": "pk"} for d in payloads(20, "b")]
    )
    batched = [r["SequenceNumber"] for r in batch["Records"]]
    assert all(SEQUENCE_NUMBER_RE.match(s) for s in singles + batched)
    assert_strictly_increasing(singles + batched)


@pytest.mark.parametrize(
    "iterator_type, start_index, expected",
    [
        ("AT_SEQUENCE_NUMBER", 3, slice(3, None)),
        ("AFTER_SEQUENCE_NUMBER", 3, slice(4, None)),
        ("AT_SEQUENCE_NUMBER", 0, slice(0, None)),
        ("AFTER_SEQUENCE_NUMBER", 9, slice(10, None)),
    ],
)
def test_sequence_number_iterators(kinesis, stream, iterator_type, start_index, expected):
    sent = payloads(10)
    puts = put_all(kinesis, stream, sent)
    it = iterator(
        kinesis, stream, SHARD0, iterator_type, StartingSequenceNumber=puts[start_index]["SequenceNumber"]
    )
    assert data_of(drain(kinesis, it)) == sent[expected]


def test_trim_horizon_and_latest(kinesis, stream):
    put_all(kinesis, stream, payloads(3, "old"))
    latest = iterator(kinesis, stream, SHARD0, "LATEST")
    trim_horizon = iterator(kinesis, stream, SHARD0, "TRIM_HORIZON")

    assert kinesis.get_records(ShardIterator=latest)["Records"] == []
    put_all(kinesis, stream, payloads(2, "new"))

    assert data_of(drain(kinesis, latest)) == payloads(2, "new")
    assert data_of(drain(kinesis, trim_horizon)) == payloads(3, "old") + payloads(2, "new")


def test_latest_iterator_sees_records_put_after_it_was_issued(kinesis, stream):
    latest = iterator(kinesis, stream, SHARD0, "LATEST")
    put_all(kinesis, stream, payloads(4))
    assert data_of(drain(kinesis, latest)) == payloads(4)


def test_at_timestamp_between_records(kinesis, stream):
    put_all(kinesis, stream, payloads(3, "early"))
    time.sleep(0.05)  # make the two groups' arrival timestamps differ by a few milliseconds
    put_all(kinesis, stream, payloads(3, "late"))

    records = read_shard(kinesis, stream, SHARD0)
    last_early, first_late = (to_millis(r["ApproximateArrivalTimestamp"]) for r in records[2:4])
    assert first_late - last_early >= 2, "arrival timestamps did not advance across a 50 ms pause"
    # Half a millisecond past an integer millisecond strictly between the two groups, so that
    # flooring or rounding the float seconds botocore sends both land between them.
    between = ((last_early + first_late) // 2 + 0.5) / 1000
    it = iterator(kinesis, stream, SHARD0, "AT_TIMESTAMP", Timestamp=dt.datetime.fromtimestamp(between, dt.timezone.utc))
    assert data_of(drain(kinesis, it)) == payloads(3, "late")

    # A timestamp before everything starts at the oldest record.
    it = iterator(kinesis, stream, SHARD0, "AT_TIMESTAMP", Timestamp=dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc))
    assert data_of(drain(kinesis, it)) == payloads(3, "early") + payloads(3, "late")


def test_at_timestamp_in_the_future_is_refused(kinesis, stream):
    """AWS refuses an AT_TIMESTAMP iterator for a time that has not come yet."""
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    with aws_error(
        "InvalidArgumentException",
        "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "
        f"timestampInMillis: {round(future.timestamp() * 1000)}, currentTimestampInMillis: ",
    ):
        iterator(kinesis, stream, SHARD0, "AT_TIMESTAMP", Timestamp=future)


def test_get_records_limit_and_iterator_chaining(kinesis, stream):
    sent = payloads(10)
    put_all(kinesis, stream, sent)
    it = iterator(kinesis, stream, SHARD0)

    pages = []
    while True:
        resp = kinesis.get_records(ShardIterator=it, Limit=3)
        assert len(resp["Records"]) <= 3
        if not resp["Records"]:
            break
        pages.append(data_of(resp["Records"]))
        it = resp["NextShardIterator"]
        assert len(pages) <= len(sent), "iterator chaining does not advance"
    assert pages == [sent[0:3], sent[3:6], sent[6:9], sent[9:10]]


def test_limit_one_walks_every_record_in_order(kinesis, stream):
    puts = put_all(kinesis, stream, payloads(7))
    records = drain(kinesis, iterator(kinesis, stream, SHARD0), limit=1)
    assert [r["SequenceNumber"] for r in records] == [p["SequenceNumber"] for p in puts]


def test_millis_behind_latest(kinesis, stream):
    put_all(kinesis, stream, payloads(5))
    resp = kinesis.get_records(ShardIterator=iterator(kinesis, stream, SHARD0), Limit=2)
    assert isinstance(resp["MillisBehindLatest"], int) and resp["MillisBehindLatest"] >= 0

    resp = kinesis.get_records(ShardIterator=resp["NextShardIterator"])
    assert len(resp["Records"]) == 3
    caught_up = kinesis.get_records(ShardIterator=resp["NextShardIterator"])
    assert caught_up["Records"] == []
    assert caught_up["MillisBehindLatest"] == 0


def test_empty_shard_iterators(kinesis, stream):
    for iterator_type in ("TRIM_HORIZON", "LATEST"):
        resp = kinesis.get_records(ShardIterator=iterator(kinesis, stream, SHARD0, iterator_type))
        assert resp["Records"] == []
        assert resp["NextShardIterator"]
        assert resp["MillisBehindLatest"] == 0


# -- routing ---------------------------------------------------------------------------------


def test_partition_keys_route_by_md5(kinesis, stream4):
    shards = list_all_shards(kinesis, stream4)
    keys = [f"user-{i}" for i in range(60)] + ["\u00e9t\u00e9 \u2603", "a" * 256]
    expected = {k: shard_for_hash(shards, hash_key(k)) for k in keys}
    assert len(set(expected.values())) == 4, "test keys should hit every shard"

    for key in keys[:30]:
        assert kinesis.put_record(StreamName=stream4, Data=key.encode(), PartitionKey=key)["ShardId"] == expected[key]
    batch = kinesis.put_records(
        StreamName=stream4, Records=[{"Data": k.encode(), "PartitionKey": k} for k in keys[30:]]
    )
    assert batch["FailedRecordCount"] == 0
    assert [r["ShardId"] for r in batch["Records"]] == [expected[k] for k in keys[30:]]

    for shard in shards:
        records = read_shard(kinesis, stream4, shard["ShardId"])
        assert sorted(r["PartitionKey"] for r in records) == sorted(
            k for k in keys if expected[k] == shard["ShardId"]
        )


def test_explicit_hash_key_wins(kinesis, stream4):
    shards = list_all_shards(kinesis, stream4)
    key = "routing-key"
    natural = shard_for_hash(shards, hash_key(key))
    for shard in shards:
        for explicit in (shard["HashKeyRange"]["StartingHashKey"], shard["HashKeyRange"]["EndingHashKey"]):
            resp = kinesis.put_record(StreamName=stream4, Data=b"x", PartitionKey=key, ExplicitHashKey=explicit)
            assert resp["ShardId"] == shard["ShardId"], (explicit, natural)

    batch = kinesis.put_records(
        StreamName=stream4,
        Records=[{"Data": b"y", "PartitionKey": key, "ExplicitHashKey": str(MAX_HASH_KEY)}],
    )
    assert batch["Records"][0]["ShardId"] == shards[-1]["ShardId"]


def test_explicit_hash_key_out_of_range(kinesis, stream):
    with aws_error("InvalidArgumentException"):
        kinesis.put_record(StreamName=stream, Data=b"x", PartitionKey="k", ExplicitHashKey=str(2**128))


# -- size and count limits ----------------------------------------------------------------------


def test_one_mib_record_round_trips(kinesis, stream):
    big = bytes(range(256)) * (ONE_MIB // 256)
    assert len(big) == ONE_MIB
    kinesis.put_record(StreamName=stream, Data=big, PartitionKey="k")
    [record] = read_shard(kinesis, stream, SHARD0)
    assert record["Data"] == big


def test_record_over_one_mib_rejected(kinesis, stream):
    with aws_error("ValidationException"):
        kinesis.put_record(StreamName=stream, Data=b"x" * (ONE_MIB + 1), PartitionKey="k")
    with aws_error("ValidationException"):
        kinesis.put_records(StreamName=stream, Records=[{"Data": b"x" * (ONE_MIB + 1), "PartitionKey": "k"}])
    assert read_shard(kinesis, stream, SHARD0) == []


def test_get_records_returns_at_most_10_mib(kinesis, stream):
    for i in range(12):
        kinesis.put_record(StreamName=stream, Data=bytes([i]) * ONE_MIB, PartitionKey="k")
    first = kinesis.get_records(ShardIterator=iterator(kinesis, stream, SHARD0), Limit=10000)
    assert 0 < sum(len(r["Data"]) for r in first["Records"]) <= 10 * ONE_MIB
    rest = drain(kinesis, first["NextShardIterator"])
    assert [r["Data"][0] for r in first["Records"] + rest] == list(range(12))


def test_put_records_500_accepted_501_rejected(kinesis, stream4):
    entries = [{"Data": f"{i}".encode(), "PartitionKey": f"pk-{i}"} for i in range(501)]
    with aws_error("ValidationException"):
        kinesis.put_records(StreamName=stream4, Records=entries)

    resp = kinesis.put_records(StreamName=stream4, Records=entries[:500])
    assert resp["FailedRecordCount"] == 0
    assert len(resp["Records"]) == 500
    assert all(SEQUENCE_NUMBER_RE.match(r["SequenceNumber"]) for r in resp["Records"])

    stored = [r for shard in list_all_shards(kinesis, stream4) for r in read_shard(kinesis, stream4, shard["ShardId"])]
    assert sorted(int(r["Data"]) for r in stored) == list(range(500))


def test_put_records_over_5_mib_rejected(kinesis, stream):
    entries = [{"Data": b"x" * ONE_MIB, "PartitionKey": "k"}] * 5 + [{"Data": b"x", "PartitionKey": "k"}]
    with aws_error("InvalidArgumentException"):
        kinesis.put_records(StreamName=stream, Records=entries)
    assert read_shard(kinesis, stream, SHARD0) == []


def test_sequence_number_for_ordering(kinesis, stream):
    first = kinesis.put_record(StreamName=stream, Data=b"1", PartitionKey="k")
    second = kinesis.put_record(
        StreamName=stream, Data=b"2", PartitionKey="k", SequenceNumberForOrdering=first["SequenceNumber"]
    )
    assert int(second["SequenceNumber"]) > int(first["SequenceNumber"])


def test_put_records_keeps_request_order_within_a_shard(kinesis, stream):
    sent = payloads(50)
    resp = kinesis.put_records(StreamName=stream, Records=[{"Data": d, "PartitionKey": "same"} for d in sent])
    assert_strictly_increasing(r["SequenceNumber"] for r in resp["Records"])
    assert data_of(read_shard(kinesis, stream, SHARD0)) == sent


# -- iterator errors ------------------------------------------------------------------------------


def test_unknown_shard(kinesis, stream):
    with aws_error("ResourceNotFoundException"):
        iterator(kinesis, stream, "shardId-000000000007")


def test_sequence_number_iterator_needs_a_sequence_number(kinesis, stream):
    with aws_error("InvalidArgumentException"):
        iterator(kinesis, stream, SHARD0, "AT_SEQUENCE_NUMBER")


def test_timestamp_iterator_needs_a_timestamp(kinesis, stream):
    with aws_error("InvalidArgumentException"):
        iterator(kinesis, stream, SHARD0, "AT_TIMESTAMP")


def test_sequence_number_from_another_shard_rejected(kinesis, stream4):
    shards = list_all_shards(kinesis, stream4)
    seq = kinesis.put_record(StreamName=stream4, Data=b"x", PartitionKey="k", ExplicitHashKey="0")["SequenceNumber"]
    with aws_error("InvalidArgumentException"):
        iterator(kinesis, stream4, shards[3]["ShardId"], "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seq)


def test_garbage_iterator(kinesis):
    with aws_error("InvalidArgumentException"):
        kinesis.get_records(ShardIterator="not-a-real-iterator")


def test_iterator_of_deleted_stream(kinesis):
    name = create_stream(kinesis, shards=1)
    it = iterator(kinesis, name, SHARD0)
    kinesis.delete_stream(StreamName=name)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    with aws_error("ResourceNotFoundException"):
        kinesis.get_records(ShardIterator=it)


# Iterator expiry (5 minutes) is tested in Rust with the injected clock
# (spate-streams tests::records::iterators_expire_after_five_minutes), not by sleeping here.


