"""Enhanced fan-out: stream consumers (Register/Describe/List/DeregisterStreamConsumer) and
SubscribeToShard event streams read through boto3: push delivery, starting positions,
continuation and resume, the 5-second takeover rule, ChildShards at a split, slow consumers,
the subscription lifetime, and the errors returned before any event is streamed."""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import queue
import re
import threading
import time

import pytest
from botocore.exceptions import EventStreamError

from spate_support import (
    ACCOUNT,
    REGION,
    assert_strictly_increasing,
    aws_error,
    create_stream,
    list_all_shards,
    read_shard,
    stream_arn,
    to_millis,
    unique_name,
)

SHARD0, SHARD1, SHARD2 = (f"shardId-{i:012d}" for i in range(3))
MIDPOINT = 2**127
WAIT_S = 10.0  # how long any single expectation about a live subscription may take
TAKEOVER_S = 6.0  # a little over the 5 s during which a (consumer, shard) subscription is exclusive
IN_USE_MESSAGE = "because there are consumers associated with this data stream"


# -- helpers -----------------------------------------------------------------------------------


def payloads(n: int, tag: str = "r") -> list[bytes]:
    return [f"{tag}-{i}".encode() for i in range(n)]


def put(client, stream: str, datas, keys=None, batch_bytes: int = 4 * 1024 * 1024) -> list[dict]:
    """PutRecords in batches (<= 500 records, <= batch_bytes); every record must be accepted.
    Returns one {Data, PartitionKey, ShardId, SequenceNumber} per record, in order."""
    entries = [{"Data": d, "PartitionKey": keys[i] if keys else "pk"} for i, d in enumerate(datas)]
    acks: list[dict] = []
    start = 0
    while start < len(entries):
        end, size = start, 0
        while end < len(entries) and end - start < 500:
            size += len(entries[end]["Data"])
            if end > start and size > batch_bytes:
                break
            end += 1
        resp = client.put_records(StreamName=stream, Records=entries[start:end])
        assert resp["FailedRecordCount"] == 0, resp["Records"][:3]
        acks += [{**e, **r} for e, r in zip(entries[start:end], resp["Records"], strict=True)]
        start = end
    return acks


def seqs(records) -> list[str]:
    return [r["SequenceNumber"] for r in records]


def hash_range(shard: dict) -> tuple[str, str]:
    return shard["HashKeyRange"]["StartingHashKey"], shard["HashKeyRange"]["EndingHashKey"]


def describe(client, consumer_arn: str) -> dict:
    return client.describe_stream_consumer(ConsumerARN=consumer_arn)["ConsumerDescription"]


def wait_status(client, consumer_arn: str, status: str, deadline_s: float = WAIT_S) -> dict:
    deadline = time.monotonic() + deadline_s
    while (description := describe(client, consumer_arn))["ConsumerStatus"] != status:
        assert time.monotonic() < deadline, f"consumer still {description['ConsumerStatus']}, not {status}"
        time.sleep(0.05)
    return description


def register(client, stream: str, name: str | None = None) -> str:
    """Register a consumer, wait until it is ACTIVE and return its ARN."""
    consumer = client.register_stream_consumer(StreamARN=stream_arn(stream), ConsumerName=name or unique_name("c"))
    return wait_status(client, consumer["Consumer"]["ConsumerARN"], "ACTIVE")["ConsumerARN"]


def consumer_count(client, stream: str) -> int:
    return client.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["ConsumerCount"]


def assert_consumer(consumer: dict, stream: str, name: str) -> None:
    pattern = rf"^arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{re.escape(stream)}/consumer/{re.escape(name)}:(\d+)$"
    match = re.match(pattern, consumer["ConsumerARN"])
    assert match, consumer["ConsumerARN"]
    assert consumer["ConsumerName"] == name
    assert consumer["ConsumerStatus"] in ("CREATING", "ACTIVE"), consumer
    created = consumer["ConsumerCreationTimestamp"]
    now = dt.datetime.now(dt.timezone.utc)
    assert abs((now - created).total_seconds()) < 60, created
    assert abs(int(match.group(1)) - created.timestamp()) <= 1, "ARN suffix is the creation time in epoch seconds"


def assert_events_consistent(events: list[dict]) -> None:
    """Every event carries MillisBehindLatest (int >= 0); while the shard is open, a
    ContinuationSequenceNumber equal to the last record it delivered; no ChildShards."""
    for event in events:
        assert isinstance(event["MillisBehindLatest"], int) and event["MillisBehindLatest"] >= 0, event
        assert not event.get("ChildShards"), event
        assert re.match(r"^\d+$", event["ContinuationSequenceNumber"]), event
        if event["Records"]:
            assert event["ContinuationSequenceNumber"] == event["Records"][-1]["SequenceNumber"], event


_END = object()


class Subscription:
    """One SubscribeToShard call. The call runs in the caller's thread, so errors found before
    streaming raise there; a daemon thread then drains the event stream into a queue, and the
    wait_* methods take from it with deadlines, so a broken server fails a test, never hangs it."""

    def __init__(self, client, consumer_arn: str, shard_id: str, position: str, *, pump: bool = True, **position_args):
        self.response = client.subscribe_to_shard(
            ConsumerARN=consumer_arn, ShardId=shard_id, StartingPosition={"Type": position, **position_args}
        )
        self.opened_at = time.monotonic()
        self.event_stream = self.response["EventStream"]
        self.events: list[dict] = []  # SubscribeToShardEvent payloads taken so far
        self.records: list[dict] = []
        self.error: BaseException | None = None  # what ended the iteration, if not a clean EOF
        self.ended = False
        self.finished_at: float | None = None
        self._queue: queue.Queue = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._pump, daemon=True) if pump else None
        if self._thread:
            self._thread.start()

    def _pump(self) -> None:
        try:
            for event in self.event_stream:
                self._queue.put(event["SubscribeToShardEvent"])
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self._queue.put(exc)
        finally:
            self.finished_at = time.monotonic()
            self._queue.put(_END)

    def _take(self, timeout: float) -> None:
        if self.ended or timeout <= 0:
            return
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return
        if item is _END:
            self.ended = True
        elif isinstance(item, BaseException):
            self.error = item
        else:
            self.events.append(item)
            self.records += item.get("Records", [])

    def wait_records(self, count: int, timeout: float = WAIT_S) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.records) < count:
            assert not self.ended, f"event stream ended after {len(self.records)}/{count} records: {self.error!r}"
            assert time.monotonic() < deadline, f"only {len(self.records)}/{count} records after {timeout}s"
            self._take(deadline - time.monotonic())
        return self.records

    def wait_end(self, timeout: float = WAIT_S) -> list[dict]:
        deadline = time.monotonic() + timeout
        while not self.ended:
            assert time.monotonic() < deadline, f"event stream still open after {timeout}s"
            self._take(deadline - time.monotonic())
        return self.events

    def quiet(self, seconds: float = 0.5) -> None:
        """Nothing more is delivered for `seconds` (no duplicates after the expected records)."""
        before = len(self.records)
        deadline = time.monotonic() + seconds
        while not self.ended and time.monotonic() < deadline:
            self._take(deadline - time.monotonic())
        assert len(self.records) == before, f"unexpected extra records: {seqs(self.records[before:])}"

    @property
    def checkpoint(self) -> str:
        return self.events[-1]["ContinuationSequenceNumber"]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        raw = getattr(self.event_stream, "_raw_stream", None)
        with contextlib.suppress(Exception):
            raw.shutdown()  # wakes the pump thread out of a blocking read
        with contextlib.suppress(Exception):
            self.event_stream.close()
        if self._thread:
            self._thread.join(5)


def error_code(exc: BaseException | None) -> str | None:
    return exc.response["Error"]["Code"] if isinstance(exc, EventStreamError) else None


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def efo(server):
    """A client for SubscribeToShard calls, with room for many concurrent connections."""
    return server.client(max_pool_connections=64)


@pytest.fixture
def subscribe():
    """`subscribe(client, consumer_arn, shard_id, position, **position_args)` -> Subscription;
    every subscription is closed at teardown."""
    opened: list[Subscription] = []

    def open_subscription(client, consumer_arn, shard_id=SHARD0, position="LATEST", **kwargs):
        opened.append(Subscription(client, consumer_arn, shard_id, position, **kwargs))
        return opened[-1]

    yield open_subscription
    for subscription in opened:
        subscription.close()


# -- consumer control plane --------------------------------------------------------------------


def test_register_and_describe_consumer(kinesis, stream):
    name = unique_name("c")
    consumer = kinesis.register_stream_consumer(StreamARN=stream_arn(stream), ConsumerName=name)["Consumer"]
    assert_consumer(consumer, stream, name)
    arn = consumer["ConsumerARN"]

    by_arn = wait_status(kinesis, arn, "ACTIVE")
    by_name = kinesis.describe_stream_consumer(StreamARN=stream_arn(stream), ConsumerName=name)["ConsumerDescription"]
    assert by_arn == by_name
    assert by_arn["StreamARN"] == stream_arn(stream)
    assert (by_arn["ConsumerName"], by_arn["ConsumerARN"]) == (name, arn)
    assert by_arn["ConsumerCreationTimestamp"] == consumer["ConsumerCreationTimestamp"]
    listed = kinesis.list_stream_consumers(StreamARN=stream_arn(stream))["Consumers"]
    assert [(c["ConsumerName"], c["ConsumerARN"], c["ConsumerStatus"]) for c in listed] == [(name, arn, "ACTIVE")]


def test_register_errors(kinesis, stream):
    name = unique_name("c")
    register(kinesis, stream, name)
    with aws_error("ResourceInUseException"):
        kinesis.register_stream_consumer(StreamARN=stream_arn(stream), ConsumerName=name)
    with aws_error("ResourceNotFoundException"):
        kinesis.register_stream_consumer(StreamARN=stream_arn(unique_name("gone")), ConsumerName="c")
    # A name outside the model's pattern fails the model's validation, as every member does.
    with aws_error("ValidationException", "consumerName"):
        kinesis.register_stream_consumer(StreamARN=stream_arn(stream), ConsumerName="bad name!")
    assert consumer_count(kinesis, stream) == 1


def test_describe_consumer_errors(kinesis, stream):
    name = unique_name("c")
    arn = register(kinesis, stream, name)
    with aws_error("InvalidArgumentException"):
        kinesis.describe_stream_consumer()
    with aws_error("InvalidArgumentException"):
        kinesis.describe_stream_consumer(StreamARN=stream_arn(stream))
    with aws_error("ResourceNotFoundException"):
        kinesis.describe_stream_consumer(StreamARN=stream_arn(stream), ConsumerName="nobody")
    with aws_error("ResourceNotFoundException"):
        kinesis.describe_stream_consumer(ConsumerARN=arn.replace(f"/consumer/{name}:", "/consumer/nobody:"))
    with aws_error("ResourceNotFoundException"):
        kinesis.describe_stream_consumer(ConsumerARN=arn.replace(f"stream/{stream}/", f"stream/{stream}-x/"))


def test_list_stream_consumers_pages(kinesis, stream):
    assert kinesis.list_stream_consumers(StreamARN=stream_arn(stream))["Consumers"] == []
    names = {unique_name(f"c{i}") for i in range(7)}
    for name in names:
        register(kinesis, stream, name)

    pages, token = [], None
    while True:
        kwargs = {"NextToken": token} if token else {}
        resp = kinesis.list_stream_consumers(StreamARN=stream_arn(stream), MaxResults=3, **kwargs)
        pages.append([c["ConsumerName"] for c in resp["Consumers"]])
        token = resp.get("NextToken")
        if not token:
            break
        assert len(pages) < 10, "NextToken does not advance"
    assert [len(p) for p in pages] == [3, 3, 1]
    assert sorted(sum(pages, [])) == sorted(names)

    paginator = kinesis.get_paginator("list_stream_consumers")
    paged = [c for page in paginator.paginate(StreamARN=stream_arn(stream), PaginationConfig={"PageSize": 2})
             for c in page["Consumers"]]
    assert sorted(c["ConsumerName"] for c in paged) == sorted(names)
    assert all(c["ConsumerStatus"] == "ACTIVE" for c in paged)

    with aws_error("ResourceNotFoundException"):
        kinesis.list_stream_consumers(StreamARN=stream_arn(unique_name("gone")))


def test_deregister_and_consumer_count(kinesis, stream):
    assert consumer_count(kinesis, stream) == 0
    first, second = unique_name("c"), unique_name("c")
    first_arn, second_arn = register(kinesis, stream, first), register(kinesis, stream, second)
    assert consumer_count(kinesis, stream) == 2

    kinesis.deregister_stream_consumer(ConsumerARN=first_arn)
    with aws_error("ResourceNotFoundException"):
        describe(kinesis, first_arn)
    assert consumer_count(kinesis, stream) == 1
    kinesis.deregister_stream_consumer(StreamARN=stream_arn(stream), ConsumerName=second)
    with aws_error("ResourceNotFoundException"):
        describe(kinesis, second_arn)
    assert consumer_count(kinesis, stream) == 0
    assert kinesis.list_stream_consumers(StreamARN=stream_arn(stream))["Consumers"] == []
    with aws_error("ResourceNotFoundException"):
        kinesis.deregister_stream_consumer(ConsumerARN=first_arn)
    # A name registered again a second later is a new consumer with a new ARN: tested in Rust
    # with the injected clock (spate-streams tests::consumers), not by sleeping here.


def test_twenty_consumers_per_stream(kinesis, stream):
    arns = [register(kinesis, stream, f"c{i}") for i in range(20)]
    with aws_error("LimitExceededException"):
        kinesis.register_stream_consumer(StreamARN=stream_arn(stream), ConsumerName="c20")
    assert consumer_count(kinesis, stream) == 20
    kinesis.deregister_stream_consumer(ConsumerARN=arns[0])
    register(kinesis, stream, "c20")


def test_consumer_limit_flag(spawn_server):
    client = spawn_server("memory", extra_args=["--consumer-limit", "3"]).client()
    name = create_stream(client)
    for i in range(3):
        register(client, name, f"c{i}")
    with aws_error("LimitExceededException"):
        client.register_stream_consumer(StreamARN=stream_arn(name), ConsumerName="c3")


def test_delete_stream_with_consumers(kinesis, efo, subscribe, stream):
    arn = register(kinesis, stream)
    with aws_error("ResourceInUseException", IN_USE_MESSAGE):
        kinesis.delete_stream(StreamName=stream)
    with aws_error("ResourceInUseException", IN_USE_MESSAGE):
        kinesis.delete_stream(StreamName=stream, EnforceConsumerDeletion=False)
    assert kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"

    live = subscribe(efo, arn, SHARD0, "LATEST")
    kinesis.delete_stream(StreamName=stream, EnforceConsumerDeletion=True)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    with aws_error("ResourceNotFoundException"):
        describe(kinesis, arn)
    live.wait_end()  # the live subscription ends (cleanly or with an exception event)
    assert live.error is None or error_code(live.error) in ("ResourceNotFoundException", "ResourceInUseException")

    # A new stream with the same name starts without consumers.
    create_stream(kinesis, stream)
    assert kinesis.list_stream_consumers(StreamARN=stream_arn(stream))["Consumers"] == []
    assert consumer_count(kinesis, stream) == 0


def test_creating_and_deleting_states(spawn_server, subscribe):
    server = spawn_server("memory", extra_args=["--creating-delay-ms", "2000", "--deleting-delay-ms", "2000"])
    client = server.client()
    name = create_stream(client)
    arn = stream_arn(name)
    consumers = [client.register_stream_consumer(StreamARN=arn, ConsumerName=f"c{i}")["Consumer"] for i in range(5)]
    assert [c["ConsumerStatus"] for c in consumers] == ["CREATING"] * 5
    with aws_error("LimitExceededException"):  # at most 5 consumers CREATING at once
        client.register_stream_consumer(StreamARN=arn, ConsumerName="c5")
    with aws_error("ResourceInUseException"):
        client.subscribe_to_shard(ConsumerARN=consumers[0]["ConsumerARN"], ShardId=SHARD0,
                                  StartingPosition={"Type": "LATEST"})
    assert consumer_count(client, name) == 5

    for consumer in consumers:
        wait_status(client, consumer["ConsumerARN"], "ACTIVE")
    register(client, name, "c5")
    subscribe(client, consumers[0]["ConsumerARN"], SHARD0, "LATEST")

    doomed = consumers[1]["ConsumerARN"]
    client.deregister_stream_consumer(ConsumerARN=doomed)
    assert describe(client, doomed)["ConsumerStatus"] == "DELETING"
    with aws_error("ResourceInUseException"):
        client.subscribe_to_shard(ConsumerARN=doomed, ShardId=SHARD0, StartingPosition={"Type": "LATEST"})
    deadline = time.monotonic() + WAIT_S
    with aws_error("ResourceNotFoundException"):
        while time.monotonic() < deadline:
            describe(client, doomed)
            time.sleep(0.1)


def test_consumers_survive_restart(spawn_server):
    server = spawn_server("durable")
    client = server.client()
    name = create_stream(client)
    arns = {register(client, name, f"c{i}") for i in range(3)}
    server.restart()  # kill -9
    client = server.client()
    listed = client.list_stream_consumers(StreamARN=stream_arn(name))["Consumers"]
    assert {c["ConsumerARN"] for c in listed} == arns
    assert {c["ConsumerStatus"] for c in listed} == {"ACTIVE"}
    assert consumer_count(client, name) == 3


# -- SubscribeToShard --------------------------------------------------------------------------


def test_latest_pushes_records_put_afterwards(kinesis, efo, subscribe, stream):
    """200 records written by another client after subscribing at LATEST arrive in order,
    exactly once, with their data, keys and arrival timestamps."""
    sub = subscribe(efo, register(kinesis, stream), SHARD0, "LATEST")
    headers = sub.response["ResponseMetadata"]["HTTPHeaders"]
    assert sub.response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert headers["content-type"] == "application/vnd.amazon.eventstream"
    assert headers.get("transfer-encoding") == "chunked", "HTTP/1.1 event streams must be chunked"

    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    acks = put(kinesis, stream, payloads(200), keys=[f"key-{i}" for i in range(200)])
    records = sub.wait_records(200)
    sub.quiet()

    assert seqs(records) == seqs(acks)
    assert [(r["Data"], r["PartitionKey"]) for r in records] == [(a["Data"], a["PartitionKey"]) for a in acks]
    after = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=5)
    assert all(before <= r["ApproximateArrivalTimestamp"] <= after for r in records)
    assert_events_consistent(sub.events)
    assert [e for e in sub.events if e["Records"]][-1]["MillisBehindLatest"] == 0, "caught up at the end"


@pytest.mark.parametrize(
    "position, start, expected",
    [
        ("TRIM_HORIZON", None, slice(0, None)),
        ("LATEST", None, slice(10, None)),
        ("AT_SEQUENCE_NUMBER", 0, slice(0, None)),
        ("AT_SEQUENCE_NUMBER", 3, slice(3, None)),
        ("AFTER_SEQUENCE_NUMBER", 3, slice(4, None)),
        ("AFTER_SEQUENCE_NUMBER", 9, slice(10, None)),
        ("AT_TIMESTAMP", "between", slice(5, None)),
        ("AT_TIMESTAMP", "long ago", slice(0, None)),
    ],
)
def test_starting_positions(kinesis, efo, subscribe, stream, position, start, expected):
    """Each starting position delivers the backlog GetShardIterator would, then live records."""
    acks = put(kinesis, stream, payloads(5, "early"))
    time.sleep(0.05)  # the two groups' arrival timestamps differ by a few milliseconds
    acks += put(kinesis, stream, payloads(5, "late"))

    if position.endswith("SEQUENCE_NUMBER"):
        sub_args = {"SequenceNumber": acks[start]["SequenceNumber"]}
        it_args = {"StartingSequenceNumber": acks[start]["SequenceNumber"]}
    elif start == "between":
        stored = read_shard(kinesis, stream, SHARD0)
        last_early, first_late = (to_millis(r["ApproximateArrivalTimestamp"]) for r in stored[4:6])
        assert first_late - last_early >= 2, "arrival timestamps did not advance across a 50 ms pause"
        moment = dt.datetime.fromtimestamp(((last_early + first_late) // 2 + 0.5) / 1000, dt.timezone.utc)
        sub_args = it_args = {"Timestamp": moment}
    elif start == "long ago":
        sub_args = it_args = {"Timestamp": dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc)}
    else:
        sub_args = it_args = {}
    backlog = seqs(acks[expected])
    assert seqs(read_shard(kinesis, stream, SHARD0, position, **it_args)) == backlog

    sub = subscribe(efo, register(kinesis, stream), SHARD0, position, **sub_args)
    sub.wait_records(len(backlog))
    live = put(kinesis, stream, [b"live"])
    sub.wait_records(len(backlog) + 1)
    sub.quiet(0.3)
    assert seqs(sub.records) == backlog + seqs(live)
    assert_events_consistent(sub.events)


def test_resume_after_continuation_sequence_number(kinesis, efo, subscribe, stream):
    """AFTER_SEQUENCE_NUMBER = the last ContinuationSequenceNumber resumes exactly at the next
    unread record (a second consumer resumes, which avoids the 5 s exclusivity of the first)."""
    first = put(kinesis, stream, payloads(40, "first"))
    reader = subscribe(efo, register(kinesis, stream), SHARD0, "TRIM_HORIZON")
    assert seqs(reader.wait_records(40)) == seqs(first)
    checkpoint = reader.checkpoint
    assert checkpoint == first[-1]["SequenceNumber"]
    reader.close()

    rest = put(kinesis, stream, payloads(25, "rest"))
    resumed = subscribe(efo, register(kinesis, stream), SHARD0, "AFTER_SEQUENCE_NUMBER", SequenceNumber=checkpoint)
    resumed.wait_records(25)
    resumed.quiet()
    assert seqs(resumed.records) == seqs(rest)


def test_exclusive_for_five_seconds_then_taken_over(kinesis, efo, subscribe, stream):
    """A second subscription of the same consumer and shard within 5 s is refused (HTTP 400);
    after 5 s it takes over, resumes from the checkpoint, and the old stream ends with a
    ResourceInUseException event."""
    arn = register(kinesis, stream)
    first = put(kinesis, stream, payloads(30, "first"))
    old = subscribe(efo, arn, SHARD0, "TRIM_HORIZON")
    with aws_error("ResourceInUseException"):
        efo.subscribe_to_shard(ConsumerARN=arn, ShardId=SHARD0, StartingPosition={"Type": "LATEST"})
    # Another consumer of the same shard is not affected.
    subscribe(efo, register(kinesis, stream), SHARD0, "LATEST")

    assert seqs(old.wait_records(30)) == seqs(first)
    checkpoint = old.checkpoint
    rest = put(kinesis, stream, payloads(20, "rest"))
    time.sleep(max(0.0, old.opened_at + TAKEOVER_S - time.monotonic()))

    new = subscribe(efo, arn, SHARD0, "AFTER_SEQUENCE_NUMBER", SequenceNumber=checkpoint)
    old.wait_end()
    assert error_code(old.error) == "ResourceInUseException", repr(old.error)
    new.wait_records(20)
    assert seqs(new.records) == seqs(rest)
    more = put(kinesis, stream, payloads(5, "more"))
    assert seqs(new.wait_records(25)[20:]) == seqs(more)


def test_twenty_consumers_each_receive_everything(kinesis, efo, subscribe, stream):
    subs = [subscribe(efo, register(kinesis, stream, f"fan{i}"), SHARD0, "LATEST") for i in range(20)]
    acks = []
    for part in range(3):
        acks += put(kinesis, stream, payloads(100, f"part{part}"), keys=[f"k{i}" for i in range(100)])
    deadline = time.monotonic() + 30
    for index, sub in enumerate(subs):
        sub.wait_records(300, timeout=max(deadline - time.monotonic(), 1.0))
        assert seqs(sub.records) == seqs(acks), f"consumer {index}"
        assert [r["Data"] for r in sub.records] == [a["Data"] for a in acks], f"consumer {index}"


def test_split_during_subscription_ends_with_child_shards(kinesis, efo, subscribe, stream):
    arn = register(kinesis, stream)
    parent_sub = subscribe(efo, arn, SHARD0, "LATEST")
    before = put(kinesis, stream, payloads(40, "before"), keys=[f"before{i}" for i in range(40)])
    kinesis.split_shard(StreamName=stream, ShardToSplit=SHARD0, NewStartingHashKey=str(MIDPOINT))
    after = put(kinesis, stream, payloads(40, "after"), keys=[f"after{i}" for i in range(40)])
    assert {a["ShardId"] for a in after} == {SHARD1, SHARD2}, "test keys should hit both children"

    shards = {s["ShardId"]: s for s in list_all_shards(kinesis, stream)}
    expected_children = sorted((sid, (SHARD0,), hash_range(shards[sid])) for sid in (SHARD1, SHARD2))

    def assert_ends_with_children(sub: Subscription) -> None:
        events = sub.wait_end()
        assert sub.error is None, repr(sub.error)
        assert seqs(sub.records) == seqs(before)
        assert_events_consistent(events[:-1])
        final = events[-1]
        assert "ContinuationSequenceNumber" not in final, final
        assert isinstance(final["MillisBehindLatest"], int)
        children = [(c["ShardId"], tuple(c["ParentShards"]), hash_range(c)) for c in final["ChildShards"]]
        assert sorted(children) == expected_children

    assert_ends_with_children(parent_sub)
    # Reading the closed parent again (another consumer) gives the same records and ending.
    assert_ends_with_children(subscribe(efo, register(kinesis, stream), SHARD0, "TRIM_HORIZON"))

    for child in (SHARD1, SHARD2):
        expected = [a for a in after if a["ShardId"] == child]
        sub = subscribe(efo, arn, child, "TRIM_HORIZON")
        sub.wait_records(len(expected))
        sub.quiet(0.3)
        assert seqs(sub.records) == seqs(expected), child
        assert_strictly_increasing(seqs(sub.records))


def test_slow_consumer_does_not_block_producer_or_others(kinesis, efo, subscribe, stream):
    """One consumer never reads while ~20 MiB are written: the producer still finishes, a live
    consumer gets everything, and a consumer starting later from TRIM_HORIZON is told it is behind
    (20 MiB base64-encoded exceeds what botocore accepts in one event, so it needs several)."""
    slow = subscribe(efo, register(kinesis, stream), SHARD0, "LATEST", pump=False)
    live = subscribe(efo, register(kinesis, stream), SHARD0, "LATEST")
    size = 100 * 1024
    datas = [i.to_bytes(4, "big") + bytes([i % 251]) * (size - 4) for i in range(200)]

    executor = concurrent.futures.ThreadPoolExecutor(1)
    try:
        acks = executor.submit(put, kinesis, stream, datas, None, 1024 * 1024).result(timeout=90)
    finally:
        executor.shutdown(wait=False)
    produced_at = time.monotonic()

    live.wait_records(200, timeout=60)
    assert seqs(live.records) == seqs(acks)
    assert all(r["Data"] == d for r, d in zip(live.records, datas, strict=True))

    time.sleep(max(0.0, produced_at + 1.2 - time.monotonic()))
    late = subscribe(efo, register(kinesis, stream), SHARD0, "TRIM_HORIZON")
    late.wait_records(200, timeout=60)
    assert seqs(late.records) == seqs(acks)
    with_records = [e for e in late.events if e["Records"]]
    assert len(with_records) >= 2, "20 MiB cannot fit in one event"
    assert with_records[0]["MillisBehindLatest"] > 0, with_records[0]["MillisBehindLatest"]
    assert with_records[-1]["MillisBehindLatest"] == 0
    assert_events_consistent(late.events)
    slow.close()


def test_subscription_ends_when_consumer_is_deregistered(kinesis, efo, subscribe, stream):
    arn = register(kinesis, stream)
    sub = subscribe(efo, arn, SHARD0, "LATEST")
    kinesis.deregister_stream_consumer(ConsumerARN=arn)
    sub.wait_end()
    assert sub.error is None or error_code(sub.error) in ("ResourceNotFoundException", "ResourceInUseException")
    with aws_error("ResourceNotFoundException"):
        efo.subscribe_to_shard(ConsumerARN=arn, ShardId=SHARD0, StartingPosition={"Type": "LATEST"})


def test_subscription_lifetime(spawn_server, subscribe):
    """With --subscription-lifetime-secs 2 the event stream ends by itself, without error."""
    server = spawn_server("memory", extra_args=["--subscription-lifetime-secs", "2"])
    client = server.client()
    name = create_stream(client)
    sub = subscribe(client, register(client, name), SHARD0, "LATEST")
    acks = put(client, name, payloads(3))
    assert seqs(sub.wait_records(3)) == seqs(acks)
    sub.wait_end()
    assert sub.error is None, repr(sub.error)
    lasted = sub.finished_at - sub.opened_at
    assert 1.0 <= lasted <= 4.5, f"subscription lasted {lasted:.2f}s"


def test_graceful_shutdown_ends_subscriptions_cleanly(spawn_server, subscribe):
    """SIGTERM ends live event streams normally (no exception event), so the server exits at
    once instead of waiting out its connection grace period for them."""
    server = spawn_server("durable")
    client = server.client()
    name = create_stream(client)
    sub = subscribe(client, register(client, name), SHARD0, "LATEST")
    acks = put(client, name, payloads(2))
    assert seqs(sub.wait_records(2)) == seqs(acks)
    stopped_at = time.monotonic()
    assert server.stop(timeout=4.0) == 0, "the server did not exit cleanly within 4 s"
    took = time.monotonic() - stopped_at
    sub.wait_end()
    assert sub.error is None, repr(sub.error)
    # The connection grace period is 5 s; an open event stream must not hold shutdown that long.
    assert took < 4.0, f"shutdown took {took:.2f}s"


def test_idle_subscription_gets_heartbeat_events(spawn_server, subscribe):
    """While nothing is written, empty events keep arriving (every --subscription-heartbeat-ms),
    each with a ContinuationSequenceNumber that resumes exactly where reading stopped."""
    server = spawn_server("memory", extra_args=["--subscription-heartbeat-ms", "200"])
    client = server.client()
    name = create_stream(client)
    arn = register(client, name)
    before = put(client, name, payloads(2, "old"))
    sub = subscribe(client, arn, SHARD0, "LATEST")
    deadline = time.monotonic() + WAIT_S
    while len(sub.events) < 4:
        assert time.monotonic() < deadline, f"only {len(sub.events)} events while idle"
        sub._take(deadline - time.monotonic())
    assert sub.records == []
    assert all(e["Records"] == [] and e["MillisBehindLatest"] == 0 for e in sub.events)
    checkpoint = sub.checkpoint
    assert checkpoint > before[-1]["SequenceNumber"]
    # Resuming after the idle checkpoint yields exactly the records written since.
    after = put(client, name, payloads(3, "new"))
    other = subscribe(client, register(client, name, "second"), SHARD0, "AFTER_SEQUENCE_NUMBER",
                      SequenceNumber=checkpoint)
    assert seqs(other.wait_records(3)) == seqs(after)
    other.quiet()


@pytest.mark.parametrize(
    "case, code",
    [
        ("unknown consumer", "ResourceNotFoundException"),
        ("consumer of an unknown stream", "ResourceNotFoundException"),
        ("malformed consumer ARN", "ValidationException"),
        ("unknown shard", "ResourceNotFoundException"),
        ("AT_SEQUENCE_NUMBER without SequenceNumber", "InvalidArgumentException"),
        ("AFTER_SEQUENCE_NUMBER without SequenceNumber", "InvalidArgumentException"),
        ("AT_TIMESTAMP without Timestamp", "InvalidArgumentException"),
    ],
)
def test_subscribe_errors_before_streaming(kinesis, efo, subscribe, stream, case, code):
    arn = register(kinesis, stream, "reader")
    args = {"ConsumerARN": arn, "ShardId": SHARD0, "StartingPosition": {"Type": "LATEST"}}
    if case == "unknown consumer":
        args["ConsumerARN"] = arn.replace("/consumer/reader:", "/consumer/nobody:")
    elif case == "consumer of an unknown stream":
        args["ConsumerARN"] = arn.replace(f"stream/{stream}/", f"stream/{stream}-x/")
    elif case == "malformed consumer ARN":
        args["ConsumerARN"] = "not-an-arn"
    elif case == "unknown shard":
        args["ShardId"] = "shardId-000000000007"
    else:
        args["StartingPosition"] = {"Type": case.split()[0]}
    with aws_error(code):
        efo.subscribe_to_shard(**args)
    # None of these counts as a subscription: a valid one can start at once.
    subscribe(efo, arn, SHARD0, "LATEST")
