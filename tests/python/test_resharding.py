"""Resharding: SplitShard, MergeShards, UpdateShardCount, shard lineage and ChildShards, the
UPDATING state, ListShards filters over closed shards, and exactly-once, per-key-ordered
reading across reshards made under concurrent producers."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from spate_support import (
    MAX_HASH_KEY,
    assert_strictly_increasing,
    aws_error,
    create_stream,
    hash_key,
    iterator,
    list_all_shards,
    read_shard,
    shard_for_hash,
    stream_arn,
    unique_name,
)

KEY_SPACE = 2**128
MIDPOINT = 2**127  # NewStartingHashKey that halves a shard covering the whole key space
UPDATING_DELAY_MS = 1500
NOT_ELIGIBLE = "has already been merged or split, and thus is not eligible for merging or splitting"
NOT_ACTIVE = "not ACTIVE, instead in state UPDATING"


def shard_id(index: int) -> str:
    return f"shardId-{index:012d}"


SHARD0, SHARD1, SHARD2, SHARD3, SHARD4 = (shard_id(i) for i in range(5))


def ids(shards) -> list[str]:
    return [s["ShardId"] for s in shards]


def hash_range(shard: dict) -> tuple[int, int]:
    rng = shard["HashKeyRange"]
    return int(rng["StartingHashKey"]), int(rng["EndingHashKey"])


def key_range(start: int, end: int) -> dict:
    return {"StartingHashKey": str(start), "EndingHashKey": str(end)}


def is_closed(shard: dict) -> bool:
    return "EndingSequenceNumber" in shard["SequenceNumberRange"]


def parents(shard: dict) -> list[str]:
    return [shard[k] for k in ("ParentShardId", "AdjacentParentShardId") if shard.get(k)]


def midpoint(shard: dict) -> int:
    start, end = hash_range(shard)
    return start + (end - start + 1) // 2


def listed(client, name: str, **shard_filter) -> list[dict]:
    kwargs = {"ShardFilter": shard_filter} if shard_filter else {}
    return client.list_shards(StreamName=name, **kwargs)["Shards"]


def open_shards(client, name: str) -> list[dict]:
    """The open shards (ListShards AT_LATEST), in hash key order."""
    return sorted(listed(client, name, Type="AT_LATEST"), key=hash_range)


def status(client, name: str) -> str:
    return client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]


def wait_active(client, name: str, deadline_s: float = 30.0) -> list[tuple[str, list[str]]]:
    """Poll until ACTIVE. Returns (status, shard ids listed just before that status was read)."""
    observations = []
    deadline = time.monotonic() + deadline_s
    while True:
        shard_ids = ids(list_all_shards(client, name))  # listed first, on purpose
        observations.append((status(client, name), shard_ids))
        if observations[-1][0] == "ACTIVE":
            return observations
        assert time.monotonic() < deadline, f"{name} still {observations[-1][0]} after {deadline_s}s"
        time.sleep(0.05)


def slow_updating_server(spawn_server, mode: str = "durable"):
    """A server on which every reshard keeps the stream UPDATING for UPDATING_DELAY_MS (this
    replaces the default `--updating-delay-ms 0`: the CLI rejects a repeated flag)."""
    server = spawn_server(mode, start=False)
    default_command = server.command

    def command() -> list[str]:
        args = default_command()
        args[args.index("--updating-delay-ms") + 1] = str(UPDATING_DELAY_MS)
        return args

    server.command = command
    return server.start()


def read_to_end(client, name: str, shard: dict, deadline_s: float = 30.0):
    """Every record of `shard` from TRIM_HORIZON, and the ChildShards of the last page: a closed
    shard is read until there is no NextShardIterator, an open one until it is caught up."""
    closed = is_closed(shard)
    shard_iterator = iterator(client, name, shard["ShardId"])
    records: list[dict] = []
    deadline = time.monotonic() + deadline_s
    while True:
        assert time.monotonic() < deadline, f"{shard['ShardId']} not read to its end in {deadline_s}s"
        resp = client.get_records(ShardIterator=shard_iterator, Limit=10000)
        records += resp["Records"]
        shard_iterator = resp.get("NextShardIterator")
        if shard_iterator is None:
            assert closed, f"open shard {shard['ShardId']} returned no NextShardIterator"
            return records, resp.get("ChildShards")
        if not closed and not resp["Records"] and resp["MillisBehindLatest"] == 0:
            return records, resp.get("ChildShards")


def children_from_records(child_shards) -> list[tuple]:
    """GetRecords ChildShards as comparable tuples (parent order is not significant)."""
    return sorted((c["ShardId"], tuple(sorted(c["ParentShards"])), hash_range(c)) for c in child_shards or [])


def children_from_listing(shards: list[dict], parent_id: str) -> list[tuple]:
    """The same tuples, derived from the lineage ListShards reports."""
    return sorted((s["ShardId"], tuple(sorted(parents(s))), hash_range(s)) for s in shards if parent_id in parents(s))


def assert_contiguous_cover(shards: list[dict]) -> None:
    """`shards` (in hash key order) tile 0..2^128-1 without gaps or overlaps."""
    ranges = [hash_range(s) for s in shards]
    assert ranges[0][0] == 0 and ranges[-1][1] == MAX_HASH_KEY, ranges
    for (_, end), (next_start, _) in zip(ranges, ranges[1:]):
        assert next_start == end + 1, f"open shards have a gap or overlap: {ranges}"


def assert_even_cover(shards: list[dict], count: int) -> None:
    """`shards` are `count` ranges of equal width (within 1 of 2^128 / count) tiling the key space."""
    assert len(shards) == count, ids(shards)
    assert_contiguous_cover(shards)
    for start, end in map(hash_range, shards):
        assert abs((end - start + 1) * count - KEY_SPACE) < count, f"uneven: {list(map(hash_range, shards))}"


def put_keys(client, name: str, tag: str, count: int) -> list[dict]:
    """One PutRecord per key `{tag}{i}`; returns {Data, PartitionKey, ShardId, SequenceNumber}."""
    entries = [{"Data": f"{tag}{i}".encode(), "PartitionKey": f"{tag}{i}"} for i in range(count)]
    return [{**e, **client.put_record(StreamName=name, **e)} for e in entries]


def stored(records) -> list[tuple]:
    return [(r["Data"], r["PartitionKey"], r["SequenceNumber"]) for r in records]


def acked(acks, shard: str | None = None) -> list[tuple]:
    return [(a["Data"], a["PartitionKey"], a["SequenceNumber"]) for a in acks if shard in (None, a["ShardId"])]


# -- SplitShard ------------------------------------------------------------------------------------


def test_split_shard_lineage_routing_and_child_shards(kinesis, stream):
    """The parent closes with an EndingSequenceNumber and keeps its records; new ids continue the
    numbering; the children split the range at NewStartingHashKey and take the new writes; the
    drained parent's last GetRecords names both children and has no NextShardIterator."""
    before = put_keys(kinesis, stream, "before", 20)
    kinesis.split_shard(StreamName=stream, ShardToSplit=SHARD0, NewStartingHashKey=str(MIDPOINT))

    shards = list_all_shards(kinesis, stream)
    assert ids(shards) == [SHARD0, SHARD1, SHARD2]
    parent, low, high = shards
    assert is_closed(parent) and not is_closed(low) and not is_closed(high)
    assert hash_range(parent) == (0, MAX_HASH_KEY)
    assert (low.get("ParentShardId"), hash_range(low)) == (SHARD0, (0, MIDPOINT - 1))
    assert (high.get("ParentShardId"), hash_range(high)) == (SHARD0, (MIDPOINT, MAX_HASH_KEY))
    assert "AdjacentParentShardId" not in low and "AdjacentParentShardId" not in high
    assert ids(open_shards(kinesis, stream)) == [SHARD1, SHARD2]
    summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    assert (summary["StreamStatus"], summary["OpenShardCount"]) == ("ACTIVE", 2)

    after = put_keys(kinesis, stream, "after", 20)
    for ack in after:
        assert ack["ShardId"] == shard_for_hash([low, high], hash_key(ack["PartitionKey"])), ack
    assert {a["ShardId"] for a in after} == {SHARD1, SHARD2}, "test keys should hit both children"

    records, children = read_to_end(kinesis, stream, parent)
    assert stored(records) == acked(before)
    ending = int(parent["SequenceNumberRange"]["EndingSequenceNumber"])
    assert all(int(r["SequenceNumber"]) <= ending for r in records)
    assert sorted(children, key=lambda c: c["ShardId"]) == [
        {"ShardId": SHARD1, "ParentShards": [SHARD0], "HashKeyRange": key_range(0, MIDPOINT - 1)},
        {"ShardId": SHARD2, "ParentShards": [SHARD0], "HashKeyRange": key_range(MIDPOINT, MAX_HASH_KEY)},
    ]
    for child in (low, high):
        assert stored(read_shard(kinesis, stream, child["ShardId"])) == acked(after, child["ShardId"])


def test_parent_with_no_records_still_reports_child_shards(kinesis, stream):
    """An empty closed parent answers its first GetRecords with ChildShards and no iterator."""
    kinesis.split_shard(StreamName=stream, ShardToSplit=SHARD0, NewStartingHashKey="1000")
    resp = kinesis.get_records(ShardIterator=iterator(kinesis, stream, SHARD0))
    assert resp["Records"] == []
    assert resp.get("NextShardIterator") is None
    assert children_from_records(resp["ChildShards"]) == [
        (SHARD1, (SHARD0,), (0, 999)),
        (SHARD2, (SHARD0,), (1000, MAX_HASH_KEY)),
    ]


# -- MergeShards -----------------------------------------------------------------------------------


def test_merge_shards(kinesis):
    """The merged shard takes the union of the ranges and names both parents; both parents close
    and each, once drained, reports the merged shard as its only child."""
    name = create_stream(kinesis, shards=2)
    before = put_keys(kinesis, name, "before", 20)
    assert {a["ShardId"] for a in before} == {SHARD0, SHARD1}

    kinesis.merge_shards(StreamName=name, ShardToMerge=SHARD0, AdjacentShardToMerge=SHARD1)

    shards = list_all_shards(kinesis, name)
    assert ids(shards) == [SHARD0, SHARD1, SHARD2]
    merged = shards[2]
    lineage = (merged.get("ParentShardId"), merged.get("AdjacentParentShardId"), hash_range(merged))
    assert lineage == (SHARD0, SHARD1, (0, MAX_HASH_KEY))
    assert is_closed(shards[0]) and is_closed(shards[1]) and not is_closed(merged)
    assert ids(open_shards(kinesis, name)) == [SHARD2]

    after = put_keys(kinesis, name, "after", 10)
    assert {a["ShardId"] for a in after} == {SHARD2}

    for parent in shards[:2]:
        records, children = read_to_end(kinesis, name, parent)
        assert stored(records) == acked(before, parent["ShardId"])
        assert children_from_records(children) == [(SHARD2, (SHARD0, SHARD1), (0, MAX_HASH_KEY))]
    assert stored(read_shard(kinesis, name, SHARD2)) == acked(after)


def test_reshard_by_stream_arn(kinesis):
    """SplitShard, MergeShards and UpdateShardCount accept StreamARN in place of StreamName."""
    name = create_stream(kinesis, shards=2)
    arn = stream_arn(name)
    shard0 = list_all_shards(kinesis, name)[0]
    kinesis.split_shard(StreamARN=arn, ShardToSplit=SHARD0, NewStartingHashKey=str(midpoint(shard0)))
    assert ids(open_shards(kinesis, name)) == [SHARD2, SHARD3, SHARD1]
    kinesis.merge_shards(StreamARN=arn, ShardToMerge=SHARD2, AdjacentShardToMerge=SHARD3)
    assert ids(open_shards(kinesis, name)) == [SHARD4, SHARD1]
    assert hash_range(open_shards(kinesis, name)[0]) == hash_range(shard0)

    resp = kinesis.update_shard_count(StreamARN=arn, TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    assert (resp["StreamName"], resp["CurrentShardCount"], resp["TargetShardCount"]) == (name, 2, 4)
    wait_active(kinesis, name)
    assert_even_cover(open_shards(kinesis, name), 4)


# -- UpdateShardCount ------------------------------------------------------------------------------


@pytest.mark.parametrize("current, target", [(1, 2), (4, 2), (3, 5), (5, 3)])
def test_update_shard_count_uniform_scaling(kinesis, current, target):
    """Afterwards exactly `target` shards are open, with equal contiguous ranges over the whole
    key space, and every shard's parents are listed."""
    name = create_stream(kinesis, shards=current)
    resp = kinesis.update_shard_count(StreamName=name, TargetShardCount=target, ScalingType="UNIFORM_SCALING")
    resp.pop("ResponseMetadata")
    assert resp == {
        "StreamName": name, "StreamARN": stream_arn(name), "CurrentShardCount": current, "TargetShardCount": target,
    }
    wait_active(kinesis, name)

    opened = open_shards(kinesis, name)
    assert_even_cover(opened, target)
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == target

    everything = list_all_shards(kinesis, name)
    known = set(ids(everything))
    assert ids(everything) == sorted(known), "ListShards is not in shard id order"
    assert set(ids(opened)) <= known
    for shard in everything:
        assert set(parents(shard)) <= known, f"{shard['ShardId']} has an unlisted parent"
    for original in everything[:current]:
        assert is_closed(original), f"{original['ShardId']} should have been resharded away"
    for shard in everything[current:]:
        assert parents(shard), f"new shard {shard['ShardId']} has no parent"


SCALE_UP = "cannot scale up over double your current open shard count"
SCALE_DOWN = "cannot scale down below half your current open shard count"


@pytest.mark.parametrize(
    "current, target, message", [(2, 5, SCALE_UP), (3, 7, SCALE_UP), (4, 1, SCALE_DOWN), (5, 2, SCALE_DOWN)]
)
def test_update_shard_count_limits(kinesis, current, target, message):
    """At most double, and at least half, the open shard count; a rejected change is not applied."""
    name = create_stream(kinesis, shards=current)
    with aws_error("LimitExceededException", message):
        kinesis.update_shard_count(StreamName=name, TargetShardCount=target, ScalingType="UNIFORM_SCALING")
    assert ids(list_all_shards(kinesis, name)) == [shard_id(i) for i in range(current)]
    assert status(kinesis, name) == "ACTIVE"


# -- errors ----------------------------------------------------------------------------------------


def test_split_of_a_closed_shard(kinesis, stream):
    """A shard that was already split cannot be split again."""
    kinesis.split_shard(StreamName=stream, ShardToSplit=SHARD0, NewStartingHashKey=str(MIDPOINT))
    with aws_error("ResourceInUseException", NOT_ELIGIBLE):
        kinesis.split_shard(StreamName=stream, ShardToSplit=SHARD0, NewStartingHashKey=str(2**126))
    assert ids(list_all_shards(kinesis, stream)) == [SHARD0, SHARD1, SHARD2]


def test_merge_with_a_closed_shard(kinesis):
    """Adjacent ranges, but one of the two shards was already split."""
    name = create_stream(kinesis, shards=2)
    second = list_all_shards(kinesis, name)[1]
    kinesis.split_shard(StreamName=name, ShardToSplit=SHARD1, NewStartingHashKey=str(midpoint(second)))
    with aws_error("ResourceInUseException"):
        kinesis.merge_shards(StreamName=name, ShardToMerge=SHARD0, AdjacentShardToMerge=SHARD1)
    assert ids(open_shards(kinesis, name)) == [SHARD0, SHARD2, SHARD3]


def test_split_hash_key_must_be_inside_the_shard(kinesis):
    """NewStartingHashKey at the shard's first key, or past its last, is rejected."""
    name = create_stream(kinesis, shards=2)
    first, second = list_all_shards(kinesis, name)
    message = "is not both greater than one plus the shard's StartingHashKey"
    for bad_key in (hash_range(first)[0], hash_range(second)[0] + 5):
        with aws_error("InvalidArgumentException", message):
            kinesis.split_shard(StreamName=name, ShardToSplit=SHARD0, NewStartingHashKey=str(bad_key))
    assert ids(list_all_shards(kinesis, name)) == [SHARD0, SHARD1]
    assert not any(is_closed(s) for s in list_all_shards(kinesis, name))


def test_unknown_shard_or_stream(kinesis, stream):
    """Resharding a shard or stream that does not exist is ResourceNotFoundException."""
    missing = shard_id(99)
    with aws_error("ResourceNotFoundException", f"Could not find shard {missing}"):
        kinesis.split_shard(StreamName=stream, ShardToSplit=missing, NewStartingHashKey=str(MIDPOINT))
    with aws_error("ResourceNotFoundException"):
        kinesis.merge_shards(StreamName=stream, ShardToMerge=SHARD0, AdjacentShardToMerge=missing)
    gone = unique_name("missing")
    with aws_error("ResourceNotFoundException"):
        kinesis.split_shard(StreamName=gone, ShardToSplit=SHARD0, NewStartingHashKey=str(MIDPOINT))
    with aws_error("ResourceNotFoundException"):
        kinesis.update_shard_count(StreamName=gone, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    assert ids(list_all_shards(kinesis, stream)) == [SHARD0]


def test_merge_of_non_adjacent_shards(kinesis):
    """Only shards whose hash ranges touch can be merged."""
    name = create_stream(kinesis, shards=3)
    with aws_error("InvalidArgumentException", "are not an adjacent pair of shards eligible for merging"):
        kinesis.merge_shards(StreamName=name, ShardToMerge=SHARD0, AdjacentShardToMerge=SHARD2)
    assert ids(open_shards(kinesis, name)) == [SHARD0, SHARD1, SHARD2]


# -- the UPDATING state ----------------------------------------------------------------------------


def test_no_reshard_while_updating(spawn_server):
    """While a reshard is in progress every further reshard is refused; afterwards one is accepted."""
    client = slow_updating_server(spawn_server).client()
    name = create_stream(client, shards=3)
    client.split_shard(StreamName=name, ShardToSplit=SHARD0, NewStartingHashKey="1000")
    assert status(client, name) == "UPDATING"

    with aws_error("ResourceInUseException", NOT_ACTIVE):
        client.split_shard(StreamName=name, ShardToSplit=SHARD1, NewStartingHashKey=str(MIDPOINT))
    with aws_error("ResourceInUseException", NOT_ACTIVE):
        client.merge_shards(StreamName=name, ShardToMerge=SHARD1, AdjacentShardToMerge=SHARD2)
    with aws_error("ResourceInUseException", NOT_ACTIVE):
        client.update_shard_count(StreamName=name, TargetShardCount=4, ScalingType="UNIFORM_SCALING")

    wait_active(client, name)
    assert ids(list_all_shards(client, name)) == [shard_id(i) for i in range(5)]
    client.split_shard(StreamName=name, ShardToSplit=SHARD1, NewStartingHashKey=str(MIDPOINT))
    wait_active(client, name)
    assert ids(list_all_shards(client, name)) == [shard_id(i) for i in range(7)]


def test_data_plane_works_while_updating(spawn_server):
    """PutRecord and GetRecords keep working during a split; the stream shows UPDATING, then
    ACTIVE, and the children are listed only once it is ACTIVE."""
    client = slow_updating_server(spawn_server).client()
    name = create_stream(client, shards=1)
    before = put_keys(client, name, "before", 5)
    client.split_shard(StreamName=name, ShardToSplit=SHARD0, NewStartingHashKey=str(MIDPOINT))

    during = put_keys(client, name, "during", 5)
    assert {a["ShardId"] for a in during} == {SHARD0}, "no child may take writes before ACTIVE"
    assert stored(read_shard(client, name, SHARD0)) == acked(before + during)

    observations = wait_active(client, name)
    assert observations[0][0] == "UPDATING", observations
    assert {s for s, _ in observations} <= {"UPDATING", "ACTIVE"}, observations
    for seen_status, listed_ids in observations:
        if seen_status == "UPDATING":  # listed before UPDATING was read: children cannot show yet
            assert listed_ids == [SHARD0], observations

    shards = list_all_shards(client, name)
    assert ids(shards) == [SHARD0, SHARD1, SHARD2]
    assert is_closed(shards[0])
    after = put_keys(client, name, "after", 10)
    assert {a["ShardId"] for a in after} <= {SHARD1, SHARD2}
    records, children = read_to_end(client, name, shards[0])
    assert stored(records) == acked(before + during)
    assert children_from_records(children) == children_from_listing(shards, SHARD0)


# -- ListShards filters over resharded streams -----------------------------------------------------


def test_list_shards_filters_after_a_split(kinesis):
    """AT_LATEST lists open shards only; the TRIM_HORIZON filters list closed ones too; AT_TIMESTAMP
    lists the shards open at that time; FROM_TIMESTAMP adds every shard created since."""
    name = create_stream(kinesis, shards=1)
    time.sleep(0.02)  # separate the timestamps below from shard creation by a few milliseconds
    before_split = dt.datetime.now(dt.timezone.utc)
    time.sleep(0.02)
    kinesis.split_shard(StreamName=name, ShardToSplit=SHARD0, NewStartingHashKey=str(MIDPOINT))
    time.sleep(0.02)
    after_split = dt.datetime.now(dt.timezone.utc)

    assert ids(listed(kinesis, name, Type="AT_LATEST")) == [SHARD1, SHARD2]
    assert ids(listed(kinesis, name, Type="AT_TRIM_HORIZON")) == [SHARD0, SHARD1, SHARD2]
    assert ids(listed(kinesis, name, Type="FROM_TRIM_HORIZON")) == [SHARD0, SHARD1, SHARD2]
    assert ids(listed(kinesis, name, Type="AFTER_SHARD_ID", ShardId=SHARD0)) == [SHARD1, SHARD2]
    assert ids(listed(kinesis, name, Type="AFTER_SHARD_ID", ShardId=SHARD1)) == [SHARD2]
    assert ids(listed(kinesis, name, Type="AT_TIMESTAMP", Timestamp=before_split)) == [SHARD0]
    assert ids(listed(kinesis, name, Type="AT_TIMESTAMP", Timestamp=after_split)) == [SHARD1, SHARD2]
    assert ids(listed(kinesis, name, Type="FROM_TIMESTAMP", Timestamp=before_split)) == [SHARD0, SHARD1, SHARD2]


# -- exactly once, in order, across reshards under load --------------------------------------------

KEYS = [f"k{i}" for i in range(50)]
PRODUCERS = 3
ACKS_BETWEEN_RESHARDS = 60


class Producer(threading.Thread):
    """Writes `key:n` with a per-key counter over its own share of KEYS until told to stop."""

    def __init__(self, index: int, client, name: str, stop: threading.Event):
        super().__init__(name=f"producer-{index}", daemon=True)
        self.client, self.stream, self.stop = client, name, stop
        self.keys = KEYS[index::PRODUCERS]  # disjoint key sets: each key has a single writer
        self.next_n = dict.fromkeys(self.keys, 0)
        self.requests = 0
        self.acked: dict[tuple[str, int], tuple[str, str]] = {}  # (key, n) -> (shard, sequence)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.put_once()
        except BaseException as exc:  # re-raised by finish()
            self.error = exc

    def put_once(self) -> None:
        sizes = [1, 1, 3, 10, 40]
        batch = []
        for _ in range(sizes[self.requests % len(sizes)]):
            key = self.keys[(self.requests * 7 + len(batch) * 13) % len(self.keys)]
            batch.append((key, self.next_n[key]))
            self.next_n[key] += 1
        self.requests += 1
        entries = [{"Data": f"{k}:{n}".encode(), "PartitionKey": k} for k, n in batch]
        if len(entries) == 1:
            results = [self.client.put_record(StreamName=self.stream, **entries[0])]
        else:
            resp = self.client.put_records(StreamName=self.stream, Records=entries)
            assert resp["FailedRecordCount"] == 0, resp
            results = resp["Records"]
        for entry, result in zip(batch, results, strict=True):
            self.acked[entry] = (result["ShardId"], result["SequenceNumber"])

    def finish(self, timeout: float = 60.0) -> None:
        self.join(timeout)
        assert not self.is_alive(), f"{self.name} is stuck"
        if self.error:
            raise self.error


def wait_for_acks(producers, at_least: int, deadline_s: float = 30.0) -> int:
    deadline = time.monotonic() + deadline_s
    while True:
        for producer in producers:
            if producer.error:
                raise producer.error
        total = sum(len(p.acked) for p in producers)
        if total >= at_least:
            return total
        assert time.monotonic() < deadline, f"producers acked only {total} of {at_least} records"
        time.sleep(0.005)


def reshard(client, name: str, step) -> None:
    """One reshard of the open shards: split the widest, merge the narrowest adjacent pair, or
    UpdateShardCount to the given target."""
    shards = open_shards(client, name)
    if step == "split":
        widest = max(shards, key=lambda s: hash_range(s)[1] - hash_range(s)[0])
        client.split_shard(StreamName=name, ShardToSplit=widest["ShardId"], NewStartingHashKey=str(midpoint(widest)))
    elif step == "merge":
        low, high = min(zip(shards, shards[1:]), key=lambda p: hash_range(p[1])[1] - hash_range(p[0])[0])
        client.merge_shards(StreamName=name, ShardToMerge=low["ShardId"], AdjacentShardToMerge=high["ShardId"])
    else:
        client.update_shard_count(StreamName=name, TargetShardCount=step, ScalingType="UNIFORM_SCALING")
    wait_active(client, name)
    opened = open_shards(client, name)
    assert_contiguous_cover(opened)
    if isinstance(step, int):
        assert len(opened) == step, ids(opened)


def read_in_lineage_order(client, name: str):
    """(shard, records, child shards) for every shard, each read only after its listed parents."""
    shards = list_all_shards(client, name)
    known = set(ids(shards))
    done: set[str] = set()
    pending = list(shards)
    result = []
    while pending:
        ready = [s for s in pending if all(p in done for p in parents(s) if p in known)]
        assert ready, f"shard lineage has a cycle: {ids(pending)}"
        shard = ready[0]
        pending.remove(shard)
        records, children = read_to_end(client, name, shard)
        result.append((shard, records, children))
        done.add(shard["ShardId"])
    return shards, result


def test_exactly_once_in_key_order_across_reshards(server, kinesis):
    """Splits, merges and UpdateShardCount made while producers write: reading parents before
    children yields every acknowledged record exactly once, each key's records in write order."""
    name = create_stream(kinesis, shards=2)
    stop = threading.Event()
    producers = [Producer(i, server.client(), name, stop) for i in range(PRODUCERS)]
    for producer in producers:
        producer.start()
    steps = ["split", "merge", "split", 4, "merge", "split", 2]
    try:
        wait_for_acks(producers, ACKS_BETWEEN_RESHARDS)
        for step in steps:
            reshard(kinesis, name, step)
            # Let the producers write to the new shards before the next reshard.
            wait_for_acks(producers, sum(len(p.acked) for p in producers) + ACKS_BETWEEN_RESHARDS)
    finally:
        stop.set()
        for producer in producers:
            producer.join(60)
    for producer in producers:
        producer.finish()

    acks = {entry: ack for producer in producers for entry, ack in producer.acked.items()}
    shards, reads = read_in_lineage_order(kinesis, name)
    assert len(shards) >= 2 + len(steps), ids(shards)

    seen: list[tuple[str, int]] = []
    where: dict[tuple[str, int], tuple[str, str]] = {}
    for shard, records, children in reads:
        sid = shard["ShardId"]
        assert_strictly_increasing([r["SequenceNumber"] for r in records], f"{sid} sequence numbers")
        low, high = hash_range(shard)
        seq_range = shard["SequenceNumberRange"]
        for record in records:
            key, n = record["Data"].decode().split(":")
            assert key == record["PartitionKey"], record
            assert low <= hash_key(key) <= high, f"{key} stored in {sid} outside its hash range"
            assert int(record["SequenceNumber"]) >= int(seq_range["StartingSequenceNumber"])
            if is_closed(shard):
                assert int(record["SequenceNumber"]) <= int(seq_range["EndingSequenceNumber"])
            seen.append((key, int(n)))
            where[(key, int(n))] = (sid, record["SequenceNumber"])
        if is_closed(shard):
            assert children_from_records(children) == children_from_listing(shards, sid), sid

    duplicates = len(seen) - len(set(seen))
    assert duplicates == 0, f"{duplicates} records read more than once"
    missing, extra = set(acks) - set(seen), set(seen) - set(acks)
    assert not missing, f"{len(missing)} of {len(acks)} acked records not read, e.g. {sorted(missing)[:5]}"
    assert not extra, f"{len(extra)} records read that were never acked, e.g. {sorted(extra)[:5]}"
    mismatched = [k for k in acks if acks[k] != where[k]]
    assert not mismatched, f"read at another shard/sequence number than acked: {mismatched[:5]}"

    last_n: dict[str, int] = {}
    for key, n in seen:
        assert n > last_n.get(key, -1), f"{key}: {n} read after {last_n[key]} (lineage order broken)"
        last_n[key] = n
    assert len({sid for sid, _ in where.values()}) >= len(steps), "records should span many shards"


# -- durability ------------------------------------------------------------------------------------


def test_split_survives_restart(spawn_server):
    """After kill -9 and restart the lineage, closed parents, open children and every record are
    unchanged, and new shard ids keep counting from where they were."""
    server = spawn_server("durable")
    client = server.client()
    name = create_stream(client, shards=1)
    before = put_keys(client, name, "before", 10)
    client.split_shard(StreamName=name, ShardToSplit=SHARD0, NewStartingHashKey=str(MIDPOINT))
    after = put_keys(client, name, "after", 20)
    shards = list_all_shards(client, name)
    assert ids(shards) == [SHARD0, SHARD1, SHARD2]

    server.restart()
    client = server.client()

    assert list_all_shards(client, name) == shards
    assert [is_closed(s) for s in shards] == [True, False, False]
    assert ids(open_shards(client, name)) == [SHARD1, SHARD2]
    records, children = read_to_end(client, name, shards[0])
    assert stored(records) == acked(before)
    assert children_from_records(children) == children_from_listing(shards, SHARD0)
    for child in shards[1:]:
        assert stored(read_shard(client, name, child["ShardId"])) == acked(after, child["ShardId"])

    late = client.put_record(StreamName=name, Data=b"late", PartitionKey="k", ExplicitHashKey="0")
    assert late["ShardId"] == SHARD1
    client.merge_shards(StreamName=name, ShardToMerge=SHARD1, AdjacentShardToMerge=SHARD2)
    assert ids(open_shards(client, name)) == [SHARD3]
    assert list_all_shards(client, name)[3]["AdjacentParentShardId"] == SHARD2


def test_update_shard_count_caps_a_stream_at_ten_thousand_shards(spawn_server):
    """Past 10,000 shards UpdateShardCount answers LimitExceededException, even within double
    the open count and the account's shard limit."""
    server = spawn_server("memory", extra_args=["--shard-limit", "30000"])
    kinesis = server.client()
    name = create_stream(kinesis, shards=5001)
    with aws_error("LimitExceededException", "more than 10000 shards in a stream"):
        kinesis.update_shard_count(StreamName=name, TargetShardCount=10002, ScalingType="UNIFORM_SCALING")
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"] == 5001
