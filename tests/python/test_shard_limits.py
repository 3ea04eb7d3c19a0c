"""Per-shard limits (`--enforce-shard-limits`): AWS's token buckets and throttling errors."""

from __future__ import annotations

import time

import pytest

from spate_support import ACCOUNT, aws_error, create_stream, iterator, read_shard

SHARD = "shardId-000000000000"


@pytest.fixture(scope="module", params=["durable", "memory"])
def limited(request, tmp_path_factory):
    """A server that enforces the per-shard limits, and a boto3 client without retries."""
    from spate_support import ServerFactory

    with ServerFactory(tmp_path_factory) as factory:
        server = factory(request.param, extra_args=["--enforce-shard-limits"])
        yield server, server.client()


def entries(n: int, size: int, prefix: str = "k"):
    return [{"Data": b"x" * size, "PartitionKey": f"{prefix}{i}"} for i in range(n)]


def test_put_records_fails_only_the_records_over_the_limit(limited):
    """1,000 records/s per shard (a bucket holding one second): of 2,000 records sent in less
    than a second, the ones over the limit are refused per record, with AWS's error code and
    message; refused records are not stored."""
    server, kinesis = limited
    name = create_stream(kinesis, shards=1)
    results = []
    started = time.monotonic()
    for batch in range(4):
        resp = kinesis.put_records(StreamName=name, Records=entries(500, 10, f"b{batch}-"))
        results.append(resp)
    elapsed = time.monotonic() - started
    assert results[0]["FailedRecordCount"] == 0
    acked = sum(1 for resp in results for r in resp["Records"] if "SequenceNumber" in r)
    # Never more than the full bucket plus what it refilled meanwhile.
    assert acked <= 1000 + 1000 * elapsed + 1, (acked, elapsed)
    assert elapsed < 0.9, f"the machine took {elapsed:.2f}s for four calls; the limit cannot show"
    failed = [r for resp in results for r in resp["Records"] if "ErrorCode" in r]
    assert failed, "records over the limit must be refused"
    for entry in failed:
        assert entry["ErrorCode"] == "ProvisionedThroughputExceededException"
        assert entry["ErrorMessage"] == (
            f"Rate exceeded for shard {SHARD} in stream {name} under account {ACCOUNT}."
        )
        assert "SequenceNumber" not in entry and "ShardId" not in entry
    total_failed = sum(resp["FailedRecordCount"] for resp in results)
    assert acked + total_failed == 2000 and total_failed == len(failed)
    assert len(read_shard(server.client(), name, SHARD)) == acked


def test_put_record_is_refused_whole_after_a_large_record(limited):
    """A large record overdraws the 1 MiB/s byte bucket; PutRecord then fails with HTTP 400."""
    _, kinesis = limited
    name = create_stream(kinesis, shards=1, MaxRecordSizeInKiB=10240)
    kinesis.put_record(StreamName=name, Data=b"y" * (10 * 1024 * 1024), PartitionKey="big")
    with aws_error(
        "ProvisionedThroughputExceededException",
        f"Rate exceeded for shard {SHARD} in stream {name} under account {ACCOUNT}.",
    ):
        kinesis.put_record(StreamName=name, Data=b"z", PartitionKey="small")


def test_get_records_allows_five_calls_per_second(limited):
    """Five GetRecords calls per second per shard; the next is refused with AWS's message."""
    _, kinesis = limited
    name = create_stream(kinesis, shards=1)
    shard_iterator = iterator(kinesis, name, SHARD)
    throttled = 0
    for _ in range(20):
        try:
            kinesis.get_records(ShardIterator=shard_iterator)
        except kinesis.exceptions.ProvisionedThroughputExceededException as e:
            throttled += 1
            assert e.response["Error"]["Message"] == f"Rate exceeded for Shard - {ACCOUNT}/{name}/{SHARD}"
    assert throttled >= 1


def test_resending_failed_entries_gets_everything_through(limited):
    """A producer that resends failed PutRecords entries after a pause (as the KPL does) lands
    every record, exactly once, at about the shard's rate."""
    server, kinesis = limited
    name = create_stream(kinesis, shards=1)
    stored = 0
    for batch in range(4):
        pending = entries(500, 10, f"r{batch}-")
        for _ in range(100):
            resp = kinesis.put_records(StreamName=name, Records=pending)
            stored += len(pending) - resp["FailedRecordCount"]
            pending = [e for e, r in zip(pending, resp["Records"]) if "ErrorCode" in r]
            if not pending:
                break
            time.sleep(0.1)
        assert not pending, "records still refused after 100 attempts"
    assert stored == 2000
    assert len(read_shard(server.client(), name, SHARD)) == 2000


def test_sdk_retries_a_throttled_put_record(limited):
    """PutRecord's ProvisionedThroughputExceededException is a throttling error the SDK retries
    with backoff, so a retrying client succeeds once the bucket refills."""
    server, kinesis = limited
    name = create_stream(kinesis, shards=1, MaxRecordSizeInKiB=4096)
    # Overdraws the byte bucket by 3 MiB: about three seconds of throttling.
    kinesis.put_record(StreamName=name, Data=b"y" * (4 * 1024 * 1024), PartitionKey="big")
    with aws_error("ProvisionedThroughputExceededException"):
        kinesis.put_record(StreamName=name, Data=b"z", PartitionKey="small")
    retrying = server.client(retries={"mode": "standard", "max_attempts": 30})
    resp = retrying.put_record(StreamName=name, Data=b"z", PartitionKey="small")
    assert resp["ResponseMetadata"]["RetryAttempts"] >= 1
    assert [r["Data"] for r in read_shard(retrying, name, SHARD)][-1] == b"z"


def test_limits_are_off_by_default(kinesis):
    """Without the flag the server takes what it can: 3,000 records in a second on one shard."""
    name = create_stream(kinesis, shards=1)
    for batch in range(6):
        resp = kinesis.put_records(StreamName=name, Records=entries(500, 10, f"d{batch}-"))
        assert resp["FailedRecordCount"] == 0
