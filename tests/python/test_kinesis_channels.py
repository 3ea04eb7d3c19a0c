"""Kinesis channels end to end: boto3's kinesis client (CreateChannel, DescribeChannel,
ListChannels with its paginator, UpdateChannel, DeleteChannel) against the real binary,
delivering a stream's records to a real S3 server (SeaweedFS): keys from OutputKeyTemplate,
GZIP and ZSTD objects read back with the standard decoders, records that fail their format to
the dead-letter prefix, no backfill, a stream with a channel kept from deletion, and nothing
lost across kill -9."""

from __future__ import annotations

import gzip
import json
import time
import uuid

import pytest
import zstandard

from spate_support import ServerFactory, aws_error, raw_call

ROLE = "arn:aws:iam::000000000000:role/channel"
OWNER = "000000000000"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    with ServerFactory(tmp_path_factory) as f:
        yield f


@pytest.fixture(scope="module")
def server(factory, seaweedfs):
    return factory("durable", extra_args=["--s3-endpoint", seaweedfs.endpoint])


@pytest.fixture
def bucket(seaweedfs) -> str:
    name = unique("ch")
    seaweedfs.client().create_bucket(Bucket=name)
    return name


def on_demand_stream(kinesis) -> tuple[str, str]:
    name = unique("src")
    kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    return name, kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]


def create_channel(kinesis, stream_arn: str, bucket: str, *, fmt="JSON", **storage) -> dict:
    return kinesis.create_channel(
        ChannelName=unique("chan"), ServiceExecutionRoleARN=ROLE,
        StreamConfigurationList=[{"StreamARN": stream_arn, "RecordConfiguration": {"RecordFormatType": fmt}}],
        S3DestinationConfiguration={"StorageConfiguration": {
            "BucketARN": f"arn:aws:s3:::{bucket}", "ExpectedBucketOwner": OWNER, "CompressionType": "GZIP", **storage}},
    )["ChannelDescription"]


def flush(endpoint: str, arn: str) -> None:
    response = raw_call(endpoint, None, {"ChannelARN": arn}, target="SpateAdmin_20261126.FlushChannel")
    assert response.status == 200, response.body


def objects(s3, bucket: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def flush_until(endpoint: str, arn: str, s3, bucket: str, done, timeout: float = 30.0) -> dict[str, bytes]:
    """Flushes until `done(objects)` (the copy from Kinesis runs on its own)."""
    deadline = time.monotonic() + timeout
    while True:
        flush(endpoint, arn)
        found = objects(s3, bucket)
        if done(found):
            return found
        assert time.monotonic() < deadline, f"timed out; have {sorted(found)}"
        time.sleep(0.1)


def put(kinesis, stream: str, records: list[bytes]) -> None:
    kinesis.put_records(StreamName=stream, Records=[{"Data": r, "PartitionKey": f"k{i}"} for i, r in enumerate(records)])


def test_a_channel_is_described_listed_updated_and_deleted(server, bucket):
    kinesis = server.client()
    stream, stream_arn = on_demand_stream(kinesis)
    d = create_channel(kinesis, stream_arn, bucket)
    arn, cid = d["ChannelARN"], d["ChannelId"]
    assert arn.endswith(f":channel/{cid}") and d["ChannelStatus"] in ("CREATING", "ACTIVE")
    s3 = d["S3DestinationConfiguration"]
    assert s3["DataFreshnessInSeconds"] == 300
    assert s3["StorageConfiguration"]["OutputKeyTemplate"].startswith("kinesis-channel/!{channel-name}/!{channel-id}/")
    assert s3["DeadLetterQueueS3Configuration"]["ErrorOutputPrefix"] == f"kinesis-channel/errors/{d['ChannelName']}/{cid}/"
    pages = kinesis.get_paginator("list_channels").paginate(StreamFilter=[{"StreamARN": stream_arn}])
    summaries = [s for page in pages for s in page["ChannelSummaries"]]
    assert [s["ChannelARN"] for s in summaries] == [arn]
    assert summaries[0]["Streams"][0]["StreamARN"] == stream_arn
    limits = kinesis.describe_limits()
    assert limits["ChannelCount"] >= 1 and limits["ChannelCountLimit"] == 100
    assert kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["ChannelCount"] == 1
    with aws_error("ResourceInUseException", "channels"):
        kinesis.delete_stream(StreamName=stream)
    updated = kinesis.update_channel(ChannelARN=arn, S3DestinationConfiguration={"DataFreshnessInSeconds": 900})
    assert updated["ChannelDescription"]["S3DestinationConfiguration"]["DataFreshnessInSeconds"] == 900
    with aws_error("ValidationException", "between 300 and 900"):
        kinesis.update_channel(ChannelARN=arn, S3DestinationConfiguration={"DataFreshnessInSeconds": 30})
    kinesis.delete_channel(ChannelARN=arn)
    with aws_error("ResourceNotFoundException"):
        kinesis.describe_channel(ChannelARN=arn)
    kinesis.delete_stream(StreamName=stream)


def test_records_are_delivered_by_the_template_and_bad_ones_dead_lettered(server, seaweedfs, bucket):
    kinesis, s3 = server.client(), seaweedfs.client()
    stream, stream_arn = on_demand_stream(kinesis)
    put(kinesis, stream, [b'{"before": "the channel"}'])
    time.sleep(0.01)
    template = "events/stream=!{stream-name}/!{yyyy}/!{MM}/!{channel-name}!{extension:.json.gz}"
    d = create_channel(kinesis, stream_arn, bucket, OutputKeyTemplate=template)
    put(kinesis, stream, [b'{"n": 1}', b"not json", b'{"n": 2}'])
    dlq_prefix = f"kinesis-channel/errors/{d['ChannelName']}/{d['ChannelId']}/"

    def split(found):
        data = {k: v for k, v in found.items() if k.startswith("events/")}
        lines = [json.loads(line) for v in data.values() for line in gzip.decompress(v).splitlines()]
        letters = [json.loads(line) for k, v in found.items() if k.startswith(dlq_prefix) for line in v.splitlines()]
        return data, lines, letters

    found = flush_until(server.endpoint, d["ChannelARN"], s3, bucket,
                        lambda o: len(split(o)[1]) >= 2 and len(split(o)[2]) >= 1)
    data, lines, letters = split(found)
    for key in data:
        assert key.startswith(f"events/stream={stream}/") and key.endswith(".json.gz"), key
        assert f"/{d['ChannelName']}-" in key, "the unique suffix follows the template"
    assert sorted(line["n"] for line in lines) == [1, 2], "no backfill; one record per line"
    assert set(found) == set(data) | {k for k in found if k.startswith(dlq_prefix)}
    [letter] = letters
    assert letter["errorCode"] == "RecordFormatMismatch" and letter["streamARN"] == stream_arn
    assert letter["shardId"].startswith("shardId-") and letter["sequenceNumber"].isdigit()


def test_zstd_byte_arrays_survive_kill_9(factory, seaweedfs, bucket):
    server = factory("durable", extra_args=["--s3-endpoint", seaweedfs.endpoint])
    kinesis, s3 = server.client(), seaweedfs.client()
    stream, stream_arn = on_demand_stream(kinesis)
    d = create_channel(kinesis, stream_arn, bucket, fmt="BYTE_ARRAY", CompressionType="ZSTD",
                       OutputKeyTemplate="raw/!{channel-id}!{extension}")
    sent = [bytes([i % 256]) * 10 for i in range(300)]
    put(kinesis, stream, sent[:150])
    server.restart()  # kill -9, then start on the same data directory
    kinesis = server.client()
    put(kinesis, stream, sent[150:])

    def everything(found):
        body = b"".join(zstandard.ZstdDecompressor().decompressobj().decompress(v) for v in found.values())
        return len(body) >= sum(map(len, sent)) and found

    found = flush_until(server.endpoint, d["ChannelARN"], s3, bucket, everything)
    assert all(k.startswith(f"raw/{d['ChannelId']}-") and k.endswith(".zst") for k in found)
    delivered = b"".join(zstandard.ZstdDecompressor().decompressobj().decompress(v) for v in found.values())
    for record in sent:
        assert record in delivered


def test_requests_are_checked(server, bucket):
    kinesis = server.client()
    unchecked = server.client(parameter_validation=False)
    name = unique("prov")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    with aws_error("ValidationException", "on-demand"):
        create_channel(kinesis, arn, bucket)
    _, arn = on_demand_stream(kinesis)
    with aws_error("ValidationException", "extension placeholder"):
        create_channel(kinesis, arn, bucket, OutputKeyTemplate="data/!{channel-name}")
    with aws_error("ValidationException", "compressionType"):
        create_channel(unchecked, arn, bucket, CompressionType="LZ4")
    with aws_error("InvalidArgumentException", "S3 Tables"):
        kinesis.create_channel(
            ChannelName=unique("t"), ServiceExecutionRoleARN=ROLE,
            StreamConfigurationList=[{"StreamARN": arn, "RecordConfiguration": {"RecordFormatType": "GSR_JSON"}}],
            S3TablesDestinationConfiguration={
                "DeadLetterQueueS3Configuration": {"BucketARN": f"arn:aws:s3:::{bucket}", "ExpectedBucketOwner": OWNER},
                "S3TablesConfigurationList": [{"TableBucketARN": f"arn:aws:s3tables:us-east-1:{OWNER}:bucket/tb1",
                                               "Namespace": "ns", "TableName": "t", "CompressionType": "ZSTD"}]})
    create_channel(kinesis, arn, bucket)
    with aws_error("LimitExceededException", "the most it can have"):
        create_channel(kinesis, arn, bucket)
