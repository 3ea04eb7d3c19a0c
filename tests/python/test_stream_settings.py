"""Stream settings: capacity mode, warm throughput, record size, monitoring, resource policies."""

from __future__ import annotations

import json
import time

import pytest

from spate_support import (
    ACCOUNT,
    aws_error,
    create_stream,
    list_all_shards,
    stream_arn,
    unique_name,
)

ONE_MIB = 1024 * 1024
ON_DEMAND = {"StreamMode": "ON_DEMAND"}
PROVISIONED = {"StreamMode": "PROVISIONED"}
ALL_METRICS = [
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
]


def summary(client, name: str) -> dict:
    return client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]


def on_demand_stream(client, **kwargs) -> str:
    return create_stream(client, shards=None, StreamModeDetails=ON_DEMAND, **kwargs)


def policy_document(name: str, effect: str = "Allow", action: str = "kinesis:GetRecords") -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": effect,
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": action,
            "Resource": stream_arn(name),
        }],
    })


def pattern(size: int, seed: int = 0) -> bytes:
    """`size` bytes of a pattern that is not periodic in any small block size."""
    block = bytes((i * 31 + seed + i // 256) % 256 for i in range(65_537))
    return (block * (size // len(block) + 1))[:size]


def read_only_record(client, name: str) -> bytes:
    shard = list_all_shards(client, name)[0]["ShardId"]
    it = client.get_shard_iterator(
        StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = client.get_records(ShardIterator=it)["Records"]
    assert len(records) == 1, f"expected one record, got {len(records)}"
    return records[0]["Data"]


# -- UpdateStreamMode --------------------------------------------------------------------------


def test_update_stream_mode_switches_and_keeps_shards(kinesis):
    """UpdateStreamMode changes StreamModeDetails both ways and leaves the shard map alone."""
    name = create_stream(kinesis, shards=2)
    shards_before = list_all_shards(kinesis, name)

    kinesis.update_stream_mode(StreamARN=stream_arn(name), StreamModeDetails=ON_DEMAND)
    after = summary(kinesis, name)
    assert after["StreamModeDetails"] == ON_DEMAND
    assert after["StreamStatus"] == "ACTIVE"
    assert after["OpenShardCount"] == 2
    assert list_all_shards(kinesis, name) == shards_before

    kinesis.update_stream_mode(StreamARN=stream_arn(name), StreamModeDetails=PROVISIONED)
    assert summary(kinesis, name)["StreamModeDetails"] == PROVISIONED
    assert list_all_shards(kinesis, name) == shards_before


def test_update_stream_mode_to_current_mode_is_a_no_op(kinesis, stream):
    """Asking for the mode the stream already has succeeds and changes nothing."""
    resp = kinesis.update_stream_mode(StreamARN=stream_arn(stream), StreamModeDetails=PROVISIONED)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert summary(kinesis, stream)["StreamModeDetails"] == PROVISIONED


def test_update_stream_mode_at_most_two_switches_per_day(kinesis, stream):
    """A third capacity-mode switch within 24 hours is LimitExceededException."""
    arn = stream_arn(stream)
    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails=ON_DEMAND)
    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails=PROVISIONED)
    expected = f"Rate exceeded for stream {stream} under account {ACCOUNT}."
    with aws_error("LimitExceededException", expected):
        kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails=ON_DEMAND)
    assert summary(kinesis, stream)["StreamModeDetails"] == PROVISIONED
    # A no-op request is not a switch, so it is still accepted.
    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails=PROVISIONED)


def test_update_stream_mode_rejects_unknown_mode(kinesis_unvalidated, stream):
    """A StreamMode outside PROVISIONED | ON_DEMAND is a ValidationException."""
    with aws_error("ValidationException"):
        kinesis_unvalidated.update_stream_mode(
            StreamARN=stream_arn(stream), StreamModeDetails={"StreamMode": "SERVERLESS"}
        )
    assert summary(kinesis_unvalidated, stream)["StreamModeDetails"] == PROVISIONED


def test_update_stream_mode_of_unknown_stream(kinesis):
    """UpdateStreamMode on an ARN that names no stream is ResourceNotFoundException."""
    with aws_error("ResourceNotFoundException"):
        kinesis.update_stream_mode(
            StreamARN=stream_arn(unique_name("missing")), StreamModeDetails=ON_DEMAND
        )


RESHARDS = {
    "UpdateShardCount": lambda client, name, shards: client.update_shard_count(
        StreamName=name, TargetShardCount=8, ScalingType="UNIFORM_SCALING"
    ),
    "SplitShard": lambda client, name, shards: client.split_shard(
        StreamName=name, ShardToSplit=shards[0]["ShardId"], NewStartingHashKey="1000"
    ),
    "MergeShards": lambda client, name, shards: client.merge_shards(
        StreamName=name, ShardToMerge=shards[0]["ShardId"], AdjacentShardToMerge=shards[1]["ShardId"]
    ),
}


@pytest.mark.parametrize("operation", list(RESHARDS))
def test_manual_resharding_refused_on_demand(kinesis, operation):
    """UpdateShardCount, SplitShard and MergeShards are for PROVISIONED streams only."""
    name = on_demand_stream(kinesis)
    shards = list_all_shards(kinesis, name)
    message = "only supported for data streams with the provisioned capacity mode"
    with aws_error("ValidationException", message):
        RESHARDS[operation](kinesis, name, shards)
    assert list_all_shards(kinesis, name) == shards


# -- UpdateStreamWarmThroughput ------------------------------------------------------------------


def test_warm_throughput_on_demand(kinesis):
    """UpdateStreamWarmThroughput answers the new target; the summary then reports it."""
    name = on_demand_stream(kinesis)
    resp = kinesis.update_stream_warm_throughput(StreamName=name, WarmThroughputMiBps=12)
    assert resp["StreamName"] == name
    assert resp["StreamARN"] == stream_arn(name)
    assert resp["WarmThroughput"]["TargetMiBps"] == 12
    assert isinstance(resp["WarmThroughput"]["CurrentMiBps"], int)
    assert summary(kinesis, name)["WarmThroughput"]["TargetMiBps"] == 12

    resp = kinesis.update_stream_warm_throughput(StreamARN=stream_arn(name), WarmThroughputMiBps=30)
    assert resp["WarmThroughput"]["TargetMiBps"] == 30
    assert summary(kinesis, name)["WarmThroughput"]["TargetMiBps"] == 30


def test_warm_throughput_refused_for_provisioned(kinesis, stream):
    """Warm throughput is an ON_DEMAND feature: PROVISIONED is InvalidArgumentException."""
    with aws_error("InvalidArgumentException"):
        kinesis.update_stream_warm_throughput(StreamName=stream, WarmThroughputMiBps=10)
    assert "WarmThroughput" not in summary(kinesis, stream)


def test_warm_throughput_given_at_creation(kinesis):
    """CreateStream(ON_DEMAND, WarmThroughputMiBps) sets the summary's TargetMiBps."""
    name = on_demand_stream(kinesis, WarmThroughputMiBps=7)
    assert summary(kinesis, name)["WarmThroughput"]["TargetMiBps"] == 7


# -- UpdateMaxRecordSize ---------------------------------------------------------------------------


def test_update_max_record_size(kinesis, stream):
    """UpdateMaxRecordSize shows in DescribeStreamSummary's MaxRecordSizeInKiB."""
    assert summary(kinesis, stream)["MaxRecordSizeInKiB"] == 1024
    kinesis.update_max_record_size(StreamARN=stream_arn(stream), MaxRecordSizeInKiB=5000)
    assert summary(kinesis, stream)["MaxRecordSizeInKiB"] == 5000
    kinesis.update_max_record_size(StreamARN=stream_arn(stream), MaxRecordSizeInKiB=1024)
    assert summary(kinesis, stream)["MaxRecordSizeInKiB"] == 1024


@pytest.mark.parametrize("size", [1023, 10241, 20000])
def test_update_max_record_size_out_of_range(kinesis_unvalidated, stream, size):
    """MaxRecordSizeInKiB outside 1024..10240 is a ValidationException."""
    with aws_error("ValidationException"):
        kinesis_unvalidated.update_max_record_size(
            StreamARN=stream_arn(stream), MaxRecordSizeInKiB=size
        )
    assert summary(kinesis_unvalidated, stream)["MaxRecordSizeInKiB"] == 1024


def test_update_max_record_size_of_unknown_stream(kinesis):
    """UpdateMaxRecordSize on an ARN that names no stream is ResourceNotFoundException."""
    with aws_error("ResourceNotFoundException"):
        kinesis.update_max_record_size(
            StreamARN=stream_arn(unique_name("missing")), MaxRecordSizeInKiB=2048
        )


def test_ten_mib_record_after_raising_the_limit(server, stream):
    """A 2 MiB record fails at the default 1 MiB limit; at 10240 KiB, 10 MiB round-trips."""
    client = server.client(read_timeout=60)
    with aws_error("ValidationException"):
        client.put_record(StreamName=stream, Data=pattern(2 * ONE_MIB), PartitionKey="big")

    client.update_max_record_size(StreamARN=stream_arn(stream), MaxRecordSizeInKiB=10240)
    with aws_error("ValidationException"):
        client.put_record(StreamName=stream, Data=pattern(10 * ONE_MIB + 1), PartitionKey="big")
    payload = pattern(10 * ONE_MIB, seed=7)
    client.put_record(StreamName=stream, Data=payload, PartitionKey="big")

    data = read_only_record(client, stream)
    assert len(data) == len(payload)
    assert data == payload, "the 10 MiB record came back altered"


def test_max_record_size_given_at_creation(server):
    """CreateStream(MaxRecordSizeInKiB=2048) accepts a 2 MiB record and nothing bigger."""
    client = server.client(read_timeout=60)
    name = create_stream(client, shards=1, MaxRecordSizeInKiB=2048)
    assert summary(client, name)["MaxRecordSizeInKiB"] == 2048
    with aws_error("ValidationException"):
        client.put_record(StreamName=name, Data=pattern(2 * ONE_MIB + 1), PartitionKey="k")
    payload = pattern(2 * ONE_MIB, seed=3)
    client.put_record(StreamName=name, Data=payload, PartitionKey="k")
    assert read_only_record(client, name) == payload


# -- enhanced monitoring ----------------------------------------------------------------------------


def monitoring(client, name: str) -> list[dict]:
    """EnhancedMonitoring as both DescribeStream and DescribeStreamSummary report it."""
    described = client.describe_stream(StreamName=name)["StreamDescription"]["EnhancedMonitoring"]
    assert summary(client, name)["EnhancedMonitoring"] == described
    return described


def test_enhanced_monitoring_enable_and_disable(kinesis, stream):
    """Enable is a union, Disable a difference; responses carry the before and after sets."""
    assert monitoring(kinesis, stream) == [{"ShardLevelMetrics": []}]

    resp = kinesis.enable_enhanced_monitoring(
        StreamName=stream, ShardLevelMetrics=["OutgoingBytes", "IncomingBytes"]
    )
    assert resp["StreamName"] == stream
    assert resp["StreamARN"] == stream_arn(stream)
    assert resp["CurrentShardLevelMetrics"] == []
    assert resp["DesiredShardLevelMetrics"] == ["IncomingBytes", "OutgoingBytes"]
    assert monitoring(kinesis, stream) == [{"ShardLevelMetrics": ["IncomingBytes", "OutgoingBytes"]}]

    resp = kinesis.enable_enhanced_monitoring(
        StreamARN=stream_arn(stream), ShardLevelMetrics=["IteratorAgeMilliseconds", "IncomingBytes"]
    )
    assert resp["CurrentShardLevelMetrics"] == ["IncomingBytes", "OutgoingBytes"]
    expected = ["IncomingBytes", "OutgoingBytes", "IteratorAgeMilliseconds"]
    assert resp["DesiredShardLevelMetrics"] == expected
    assert monitoring(kinesis, stream) == [{"ShardLevelMetrics": expected}]

    resp = kinesis.disable_enhanced_monitoring(
        StreamName=stream, ShardLevelMetrics=["OutgoingBytes", "IncomingRecords"]
    )
    assert resp["CurrentShardLevelMetrics"] == expected
    assert resp["DesiredShardLevelMetrics"] == ["IncomingBytes", "IteratorAgeMilliseconds"]
    assert monitoring(kinesis, stream) == [
        {"ShardLevelMetrics": ["IncomingBytes", "IteratorAgeMilliseconds"]}
    ]


def test_enhanced_monitoring_all(kinesis, stream):
    """"ALL" stands for the seven shard-level metrics, in AWS's order, both ways."""
    resp = kinesis.enable_enhanced_monitoring(StreamName=stream, ShardLevelMetrics=["ALL"])
    assert resp["DesiredShardLevelMetrics"] == ALL_METRICS
    assert monitoring(kinesis, stream) == [{"ShardLevelMetrics": ALL_METRICS}]

    resp = kinesis.disable_enhanced_monitoring(StreamName=stream, ShardLevelMetrics=["ALL"])
    assert resp["CurrentShardLevelMetrics"] == ALL_METRICS
    assert resp["DesiredShardLevelMetrics"] == []
    assert monitoring(kinesis, stream) == [{"ShardLevelMetrics": []}]


def test_enhanced_monitoring_rejects_unknown_metric(kinesis_unvalidated, stream):
    """A metric name outside the enum is a ValidationException and changes nothing."""
    with aws_error("ValidationException"):
        kinesis_unvalidated.enable_enhanced_monitoring(
            StreamName=stream, ShardLevelMetrics=["IncomingBytes", "CpuUtilization"]
        )
    assert monitoring(kinesis_unvalidated, stream) == [{"ShardLevelMetrics": []}]


# -- resource policies --------------------------------------------------------------------------------


def test_resource_policy_lifecycle(kinesis, stream):
    """Get answers '{}' without a policy; Put stores the exact text, replaces; Delete removes."""
    arn = stream_arn(stream)
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"

    first = policy_document(stream)
    kinesis.put_resource_policy(ResourceARN=arn, Policy=first)
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == first

    second = policy_document(stream, effect="Deny", action="kinesis:PutRecord")
    kinesis.put_resource_policy(ResourceARN=arn, Policy=second)
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == second

    kinesis.delete_resource_policy(ResourceARN=arn)
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"
    with aws_error("ResourceNotFoundException"):
        kinesis.delete_resource_policy(ResourceARN=arn)


@pytest.mark.parametrize(
    "policy",
    [
        "this is not json",
        json.dumps({"Version": "2012-10-17"}),
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "*"}]}),
    ],
    ids=["not-json", "no-statement", "bad-effect"],
)
def test_resource_policy_rejects_invalid_documents(kinesis, stream, policy):
    """A policy that is not an IAM document with Allow/Deny effects is InvalidArgumentException."""
    arn = stream_arn(stream)
    with aws_error("InvalidArgumentException"):
        kinesis.put_resource_policy(ResourceARN=arn, Policy=policy)
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"


def test_resource_policy_of_unknown_stream(kinesis):
    """Put, Get and Delete on an ARN naming no stream are ResourceNotFoundException."""
    name = unique_name("missing")
    arn = stream_arn(name)
    with aws_error("ResourceNotFoundException"):
        kinesis.put_resource_policy(ResourceARN=arn, Policy=policy_document(name))
    with aws_error("ResourceNotFoundException"):
        kinesis.get_resource_policy(ResourceARN=arn)
    with aws_error("ResourceNotFoundException"):
        kinesis.delete_resource_policy(ResourceARN=arn)


# -- durability and the UPDATING window ---------------------------------------------------------------


def test_settings_survive_restart(spawn_server):
    """Mode, record size, monitoring and policy are durable across a kill -9 and restart."""
    server = spawn_server("durable")
    client = server.client()
    name = create_stream(client, shards=2)
    arn = stream_arn(name)
    client.update_stream_mode(StreamARN=arn, StreamModeDetails=ON_DEMAND)
    client.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=4096)
    client.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["IncomingBytes"])
    policy = policy_document(name)
    client.put_resource_policy(ResourceARN=arn, Policy=policy)

    server.restart()
    client = server.client()
    after = summary(client, name)
    assert after["StreamModeDetails"] == ON_DEMAND
    assert after["MaxRecordSizeInKiB"] == 4096
    assert after["EnhancedMonitoring"] == [{"ShardLevelMetrics": ["IncomingBytes"]}]
    assert after["OpenShardCount"] == 2
    assert client.get_resource_policy(ResourceARN=arn)["Policy"] == policy


def test_update_max_record_size_shows_updating(spawn_server):
    """The stream is UPDATING for a while after UpdateMaxRecordSize; changes then are refused."""
    client = spawn_server("durable", extra_args=["--updating-delay-ms", "1500"]).client()
    name = create_stream(client, shards=1)
    arn = stream_arn(name)
    client.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=2048)
    assert summary(client, name)["StreamStatus"] == "UPDATING"
    with aws_error("ResourceInUseException"):
        client.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=4096)

    deadline = time.monotonic() + 10
    while (status := summary(client, name)["StreamStatus"]) == "UPDATING":
        assert time.monotonic() < deadline, "stream still UPDATING after 10 s"
        time.sleep(0.1)
    assert status == "ACTIVE"
    assert summary(client, name)["MaxRecordSizeInKiB"] == 2048
