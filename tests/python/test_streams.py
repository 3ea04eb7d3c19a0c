"""Stream control plane: lifecycle, listing, shards, retention, tags, limits, account settings."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from spate_support import (
    ACCOUNT,
    MAX_HASH_KEY,
    SEQUENCE_NUMBER_RE,
    aws_error,
    create_stream,
    list_all_shards,
    stream_arn,
    unique_name,
)


def shard_id(index: int) -> str:
    return f"shardId-{index:012d}"


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# -- lifecycle -----------------------------------------------------------------------------


def test_create_then_describe(kinesis):
    before = now_utc() - dt.timedelta(seconds=5)
    name = create_stream(kinesis, shards=3)

    desc = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert desc["StreamName"] == name
    assert desc["StreamARN"] == stream_arn(name)
    assert desc["StreamStatus"] == "ACTIVE"
    assert desc["RetentionPeriodHours"] == 24
    assert desc["HasMoreShards"] is False
    assert desc["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert before <= desc["StreamCreationTimestamp"] <= now_utc() + dt.timedelta(seconds=5)
    assert [s["ShardId"] for s in desc["Shards"]] == [shard_id(i) for i in range(3)]
    for shard in desc["Shards"]:
        assert SEQUENCE_NUMBER_RE.match(shard["SequenceNumberRange"]["StartingSequenceNumber"])
        assert "EndingSequenceNumber" not in shard["SequenceNumberRange"]  # still open


def test_describe_stream_summary(kinesis):
    name = create_stream(kinesis, shards=2)
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["StreamName"] == name
    assert summary["StreamARN"] == stream_arn(name)
    assert summary["StreamStatus"] == "ACTIVE"
    assert summary["OpenShardCount"] == 2
    assert summary["RetentionPeriodHours"] == 24
    assert summary["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert "StreamCreationTimestamp" in summary


def test_describe_stream_pages_shards(kinesis):
    name = create_stream(kinesis, shards=3)
    first = kinesis.describe_stream(StreamName=name, Limit=2)["StreamDescription"]
    assert [s["ShardId"] for s in first["Shards"]] == [shard_id(0), shard_id(1)]
    assert first["HasMoreShards"] is True

    rest = kinesis.describe_stream(StreamName=name, ExclusiveStartShardId=shard_id(1))
    assert [s["ShardId"] for s in rest["StreamDescription"]["Shards"]] == [shard_id(2)]
    assert rest["StreamDescription"]["HasMoreShards"] is False


def test_create_existing_stream_is_resource_in_use(kinesis, stream):
    with aws_error("ResourceInUseException"):
        kinesis.create_stream(StreamName=stream, ShardCount=1)


def test_concurrent_creates_of_one_name(server):
    """Racing CreateStream calls: exactly one wins, the rest see ResourceInUseException."""
    name = unique_name("race")
    clients = [server.client() for _ in range(8)]

    def attempt(client) -> str:
        try:
            client.create_stream(StreamName=name, ShardCount=2)
            return "created"
        except ClientError as exc:
            return exc.response["Error"]["Code"]

    with ThreadPoolExecutor(len(clients)) as pool:
        outcomes = sorted(pool.map(attempt, clients))
    assert outcomes == ["ResourceInUseException"] * 7 + ["created"]
    assert len(list_all_shards(clients[0], name)) == 2


def test_shard_limit(spawn_server):
    client = spawn_server("memory", extra_args=["--shard-limit", "5"]).client()
    create_stream(client, shards=3)
    with aws_error("LimitExceededException"):
        client.create_stream(StreamName=unique_name(), ShardCount=3)
    assert client.describe_limits()["ShardLimit"] == 5
    assert client.describe_limits()["OpenShardCount"] == 3
    create_stream(client, shards=2)  # exactly at the limit is fine


def test_unknown_stream_is_resource_not_found(kinesis):
    name = unique_name("missing")
    expected = f"Stream {name} under account {ACCOUNT} not found."
    for call in (kinesis.describe_stream, kinesis.describe_stream_summary, kinesis.delete_stream):
        with aws_error("ResourceNotFoundException", expected):
            call(StreamName=name)


def test_delete_stream(kinesis):
    name = create_stream(kinesis, shards=1)
    kinesis.delete_stream(StreamName=name)
    kinesis.get_waiter("stream_not_exists").wait(
        StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    with aws_error("ResourceNotFoundException"):
        kinesis.describe_stream_summary(StreamName=name)
    assert name not in all_stream_summaries(kinesis)

    # The name is free again, and the new stream starts empty.
    create_stream(kinesis, name=name, shards=2)
    assert len(list_all_shards(kinesis, name)) == 2


def test_on_demand_stream_has_four_shards(kinesis):
    name = create_stream(kinesis, shards=None, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert summary["OpenShardCount"] == 4
    assert len(list_all_shards(kinesis, name)) == 4
    assert all_stream_summaries(kinesis)[name]["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}


def test_stream_created_from_command_line(spawn_server):
    server = spawn_server("memory", extra_args=["--create-stream", "preset:2"])
    client = server.client()
    summary = client.describe_stream_summary(StreamName="preset")["StreamDescriptionSummary"]
    assert summary["StreamStatus"] == "ACTIVE"
    assert summary["OpenShardCount"] == 2


# -- ListStreams ---------------------------------------------------------------------------


def all_stream_summaries(client, page_size: int = 100) -> dict[str, dict]:
    """Every stream via ListStreams + NextToken, checking each page on the way."""
    summaries: dict[str, dict] = {}
    token = None
    while True:
        resp = client.list_streams(Limit=page_size, **({"NextToken": token} if token else {}))
        assert len(resp["StreamNames"]) <= page_size
        assert [s["StreamName"] for s in resp["StreamSummaries"]] == resp["StreamNames"]
        for summary in resp["StreamSummaries"]:
            assert summary["StreamName"] not in summaries, "a stream was listed twice"
            summaries[summary["StreamName"]] = summary
        if not resp["HasMoreStreams"]:
            return summaries
        token = resp["NextToken"]
        assert len(summaries) < 100_000, "ListStreams pagination does not terminate"


def test_list_streams_paginates_with_next_token(kinesis):
    prefix = unique_name("ls")
    mine = [create_stream(kinesis, name=f"{prefix}-{i}") for i in range(5)]

    names = list(all_stream_summaries(kinesis, page_size=2))
    assert names == sorted(names), "ListStreams is not in name order"
    assert set(mine) <= set(names)


def test_list_streams_exclusive_start_stream_name(kinesis):
    prefix = unique_name("lx")
    mine = [create_stream(kinesis, name=f"{prefix}-{i}") for i in range(4)]

    resp = kinesis.list_streams(ExclusiveStartStreamName=mine[1], Limit=2)
    assert resp["StreamNames"] == mine[2:4]
    assert resp["StreamSummaries"][0]["StreamARN"] == stream_arn(mine[2])
    assert resp["StreamSummaries"][0]["StreamStatus"] == "ACTIVE"

    tail = kinesis.list_streams(ExclusiveStartStreamName=mine[2], Limit=1)
    assert tail["StreamNames"] == [mine[3]]
    assert tail["HasMoreStreams"] == (max(all_stream_summaries(kinesis)) != mine[3])


# -- ListShards ----------------------------------------------------------------------------


def test_list_shards_paginates_with_next_token(kinesis):
    name = create_stream(kinesis, shards=5)
    first = kinesis.list_shards(StreamName=name, MaxResults=2)
    ids = [s["ShardId"] for s in first["Shards"]]
    token = first["NextToken"]
    while token:
        page = kinesis.list_shards(NextToken=token, MaxResults=2)
        assert len(page["Shards"]) <= 2
        ids += [s["ShardId"] for s in page["Shards"]]
        token = page.get("NextToken")
        assert len(ids) <= 5, "ListShards pagination does not terminate"
    assert ids == [shard_id(i) for i in range(5)]


def test_list_shards_rejects_stream_name_with_next_token(kinesis):
    name = create_stream(kinesis, shards=2)
    token = kinesis.list_shards(StreamName=name, MaxResults=1)["NextToken"]
    with aws_error("InvalidArgumentException"):
        kinesis.list_shards(StreamName=name, NextToken=token)


def test_list_shards_exclusive_start_shard_id(kinesis):
    name = create_stream(kinesis, shards=3)
    resp = kinesis.list_shards(StreamName=name, ExclusiveStartShardId=shard_id(0))
    assert [s["ShardId"] for s in resp["Shards"]] == [shard_id(1), shard_id(2)]


SHARD_FILTERS = {
    "AT_LATEST": ({"Type": "AT_LATEST"}, [0, 1, 2]),
    "AT_TRIM_HORIZON": ({"Type": "AT_TRIM_HORIZON"}, [0, 1, 2]),
    "FROM_TRIM_HORIZON": ({"Type": "FROM_TRIM_HORIZON"}, [0, 1, 2]),
    "AFTER_SHARD_ID-first": ({"Type": "AFTER_SHARD_ID", "ShardId": shard_id(0)}, [1, 2]),
    "AFTER_SHARD_ID-last": ({"Type": "AFTER_SHARD_ID", "ShardId": shard_id(2)}, []),
    "AT_TIMESTAMP": ({"Type": "AT_TIMESTAMP", "Timestamp": "now"}, [0, 1, 2]),
    "FROM_TIMESTAMP": ({"Type": "FROM_TIMESTAMP", "Timestamp": "now"}, [0, 1, 2]),
}


@pytest.mark.parametrize("shard_filter, expected", SHARD_FILTERS.values(), ids=SHARD_FILTERS.keys())
def test_list_shards_filters(kinesis, shard_filter, expected):
    name = create_stream(kinesis, shards=3)
    if shard_filter.get("Timestamp") == "now":
        shard_filter = {**shard_filter, "Timestamp": now_utc()}
    resp = kinesis.list_shards(StreamName=name, ShardFilter=shard_filter)
    assert [s["ShardId"] for s in resp["Shards"]] == [shard_id(i) for i in expected]


def test_after_shard_id_filter_needs_a_shard_id(kinesis, stream):
    with aws_error("InvalidArgumentException"):
        kinesis.list_shards(StreamName=stream, ShardFilter={"Type": "AFTER_SHARD_ID"})


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 10])
def test_hash_ranges_split_evenly_and_cover_everything(kinesis, count):
    shards = list_all_shards(kinesis, create_stream(kinesis, shards=count))
    assert [s["ShardId"] for s in shards] == [shard_id(i) for i in range(count)]

    ranges = [
        (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
        for s in shards
    ]
    assert ranges[0][0] == 0
    assert ranges[-1][1] == MAX_HASH_KEY
    for (_, end), (next_start, _) in zip(ranges, ranges[1:]):
        assert next_start == end + 1, "hash ranges have a gap or overlap"
    ideal = 2**128 // count
    for start, end in ranges:
        assert abs((end - start + 1) - ideal) < count, "hash ranges are not an even split"


# -- retention -----------------------------------------------------------------------------


def retention(client, name: str) -> int:
    return client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
        "RetentionPeriodHours"
    ]


def test_retention_increase_and_decrease(kinesis, stream):
    kinesis.increase_stream_retention_period(StreamName=stream, RetentionPeriodHours=48)
    assert retention(kinesis, stream) == 48
    kinesis.increase_stream_retention_period(StreamName=stream, RetentionPeriodHours=8760)
    assert retention(kinesis, stream) == 8760
    kinesis.decrease_stream_retention_period(StreamName=stream, RetentionPeriodHours=72)
    assert retention(kinesis, stream) == 72
    kinesis.decrease_stream_retention_period(StreamName=stream, RetentionPeriodHours=24)
    assert retention(kinesis, stream) == 24


@pytest.mark.parametrize(
    "operation, hours",
    [
        ("increase_stream_retention_period", 12),  # shorter than the current 48
        ("increase_stream_retention_period", 8761),  # above the 1-year maximum
        ("decrease_stream_retention_period", 100),  # longer than the current 48
        ("decrease_stream_retention_period", 23),  # below the 24-hour minimum
        ("decrease_stream_retention_period", 1),
    ],
)
def test_retention_rules(kinesis_unvalidated, stream, operation, hours):
    kinesis_unvalidated.increase_stream_retention_period(StreamName=stream, RetentionPeriodHours=48)
    with aws_error("InvalidArgumentException"):
        getattr(kinesis_unvalidated, operation)(StreamName=stream, RetentionPeriodHours=hours)
    assert retention(kinesis_unvalidated, stream) == 48, "a rejected change was applied"


def test_retention_of_unknown_stream(kinesis):
    with aws_error("ResourceNotFoundException"):
        kinesis.increase_stream_retention_period(
            StreamName=unique_name("missing"), RetentionPeriodHours=48
        )


# -- tags ----------------------------------------------------------------------------------


def stream_tags(client, **target) -> dict[str, str]:
    """All tags via ListTagsForStream, one tag per page to exercise ExclusiveStartTagKey."""
    tags: dict[str, str] = {}
    start: dict = {}
    while True:
        resp = client.list_tags_for_stream(Limit=1, **target, **start)
        assert len(resp["Tags"]) <= 1
        for tag in resp["Tags"]:
            assert tag["Key"] not in tags, f"tag {tag['Key']} listed twice"
            tags[tag["Key"]] = tag.get("Value", "")
        if not resp["HasMoreTags"]:
            return tags
        start = {"ExclusiveStartTagKey": resp["Tags"][-1]["Key"]}
        assert len(tags) <= 50, "ListTagsForStream pagination does not terminate"


def resource_tags(client, arn: str) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in client.list_tags_for_resource(ResourceARN=arn)["Tags"]}


def test_stream_tags(kinesis, stream):
    assert stream_tags(kinesis, StreamName=stream) == {}
    kinesis.add_tags_to_stream(StreamName=stream, Tags={"team": "data", "env": "test", "empty": ""})
    kinesis.add_tags_to_stream(StreamName=stream, Tags={"env": "prod"})  # overwrite
    assert stream_tags(kinesis, StreamName=stream) == {"team": "data", "env": "prod", "empty": ""}

    kinesis.remove_tags_from_stream(StreamName=stream, TagKeys=["team", "not-there"])
    assert stream_tags(kinesis, StreamName=stream) == {"env": "prod", "empty": ""}
    assert resource_tags(kinesis, stream_arn(stream)) == {"env": "prod", "empty": ""}


def test_resource_tags(kinesis, stream):
    arn = stream_arn(stream)
    kinesis.tag_resource(ResourceARN=arn, Tags={"a": "1", "b": "2"})
    assert resource_tags(kinesis, arn) == {"a": "1", "b": "2"}
    assert stream_tags(kinesis, StreamName=stream) == {"a": "1", "b": "2"}

    kinesis.untag_resource(ResourceARN=arn, TagKeys=["a"])
    assert resource_tags(kinesis, arn) == {"b": "2"}


def test_tags_given_at_creation(kinesis):
    name = create_stream(kinesis, shards=1, Tags={"owner": "spate"})
    assert stream_tags(kinesis, StreamName=name) == {"owner": "spate"}


def test_at_most_50_tags(kinesis, stream):
    kinesis.add_tags_to_stream(StreamName=stream, Tags={f"k{i}": "v" for i in range(50)})
    with aws_error("InvalidArgumentException"):
        kinesis.add_tags_to_stream(StreamName=stream, Tags={"one-too-many": "v"})
    assert len(stream_tags(kinesis, StreamName=stream)) == 50


def test_tags_of_unknown_stream(kinesis):
    name = unique_name("missing")
    with aws_error("ResourceNotFoundException"):
        kinesis.list_tags_for_stream(StreamName=name)
    with aws_error("ResourceNotFoundException"):
        kinesis.add_tags_to_stream(StreamName=name, Tags={"a": "b"})
    with aws_error("ResourceNotFoundException"):
        kinesis.list_tags_for_resource(ResourceARN=stream_arn(name))


# -- StreamARN instead of StreamName ---------------------------------------------------------


def test_stream_arn_accepted_in_place_of_name(kinesis, stream):
    arn = stream_arn(stream)
    summary = kinesis.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]
    assert summary["StreamName"] == stream
    assert kinesis.describe_stream(StreamARN=arn)["StreamDescription"]["StreamName"] == stream
    shards = kinesis.list_shards(StreamARN=arn)["Shards"]
    assert [s["ShardId"] for s in shards] == [shard_id(0)]

    put = kinesis.put_record(StreamARN=arn, Data=b"via-arn", PartitionKey="k")
    it = kinesis.get_shard_iterator(
        StreamARN=arn, ShardId=put["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=it, StreamARN=arn)["Records"]
    assert [r["Data"] for r in records] == [b"via-arn"]

    kinesis.add_tags_to_stream(StreamARN=arn, Tags={"k": "v"})
    assert stream_tags(kinesis, StreamARN=arn) == {"k": "v"}

    kinesis.increase_stream_retention_period(StreamARN=arn, RetentionPeriodHours=30)
    assert retention(kinesis, stream) == 30

    kinesis.delete_stream(StreamARN=arn)
    with aws_error("ResourceNotFoundException"):
        kinesis.describe_stream_summary(StreamName=stream)


# -- limits and account settings ---------------------------------------------------------------


def test_describe_limits_counts_shards_and_on_demand_streams(kinesis):
    before = kinesis.describe_limits()
    assert before["ShardLimit"] > 0
    assert before["OnDemandStreamCountLimit"] > 0

    create_stream(kinesis, shards=3)
    create_stream(kinesis, shards=None, StreamModeDetails={"StreamMode": "ON_DEMAND"})

    after = kinesis.describe_limits()
    assert after["OpenShardCount"] == before["OpenShardCount"] + 3 + 4
    assert after["OnDemandStreamCount"] == before["OnDemandStreamCount"] + 1
    assert after["ShardLimit"] == before["ShardLimit"]


def test_account_settings_round_trip(kinesis):
    statuses = {"ENABLED", "DISABLED", "ENABLED_UNTIL_EARLIEST_ALLOWED_END"}
    initial = kinesis.describe_account_settings()
    assert initial["MinimumThroughputBillingCommitment"]["Status"] in statuses

    updated = kinesis.update_account_settings(
        MinimumThroughputBillingCommitment={"Status": "ENABLED"}
    )["MinimumThroughputBillingCommitment"]
    assert updated["Status"] == "ENABLED"
    assert "StartedAt" in updated
    described = kinesis.describe_account_settings()["MinimumThroughputBillingCommitment"]
    assert described["Status"] == "ENABLED"
    assert described["StartedAt"] == updated["StartedAt"]

    disabled = kinesis.update_account_settings(
        MinimumThroughputBillingCommitment={"Status": "DISABLED"}
    )["MinimumThroughputBillingCommitment"]
    assert disabled["Status"] in {"DISABLED", "ENABLED_UNTIL_EARLIEST_ALLOWED_END"}
    assert kinesis.describe_account_settings()["MinimumThroughputBillingCommitment"] == disabled
