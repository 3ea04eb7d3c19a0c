"""Durability of the data dir: acknowledged records survive kill -9 and restart, unchanged.

The randomised test prints its seed; rerun a failure with SPATE_CRASH_SEED=<seed>.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from spate_support import (
    assert_strictly_increasing,
    create_stream,
    make_client,
    read_shard,
    read_stream,
    to_millis,
)

SHARD0 = "shardId-000000000000"


# -- a small deterministic check first -----------------------------------------------------------


def test_acked_records_survive_immediate_kill(spawn_server):
    server = spawn_server("durable")
    client = server.client()
    name = create_stream(client, shards=1)
    single = client.put_record(StreamName=name, Data=b"single", PartitionKey="k")
    batch = client.put_records(
        StreamName=name, Records=[{"Data": f"b{i}".encode(), "PartitionKey": "k"} for i in range(10)]
    )
    before = read_shard(client, name, SHARD0)

    server.restart(graceful=False)  # kill -9 right after the acknowledgements
    client = server.client()
    after = read_shard(client, name, SHARD0)

    assert [r["Data"] for r in after] == [b"single"] + [f"b{i}".encode() for i in range(10)]
    expected_seqs = [single["SequenceNumber"]] + [r["SequenceNumber"] for r in batch["Records"]]
    assert [r["SequenceNumber"] for r in after] == expected_seqs
    assert [to_millis(r["ApproximateArrivalTimestamp"]) for r in after] == [
        to_millis(r["ApproximateArrivalTimestamp"]) for r in before
    ]

    newer = client.put_record(StreamName=name, Data=b"after restart", PartitionKey="k")
    assert int(newer["SequenceNumber"]) > int(expected_seqs[-1])


def test_graceful_restart_keeps_streams_and_metadata(spawn_server):
    server = spawn_server("durable")
    client = server.client()
    name = create_stream(client, shards=3, Tags={"team": "spate"})
    client.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=100)
    client.put_record(StreamName=name, Data=b"kept", PartitionKey="k", ExplicitHashKey="0")
    created = client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]

    assert server.stop() == 0, f"SIGTERM should exit cleanly:\n{server.stderr_text()}"
    server.start()
    client = server.client()

    summary = client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["StreamStatus"] == "ACTIVE"
    assert summary["OpenShardCount"] == 3
    assert summary["RetentionPeriodHours"] == 100
    assert summary["StreamCreationTimestamp"] == created["StreamCreationTimestamp"]
    assert client.list_tags_for_stream(StreamName=name)["Tags"] == [{"Key": "team", "Value": "spate"}]
    assert [r["Data"] for r in read_shard(client, name, SHARD0)] == [b"kept"]


def test_control_plane_changes_survive_kill_9(spawn_server):
    server = spawn_server("durable")
    client = server.client()
    kept = create_stream(client, shards=2, Tags={"a": "1"})
    client.add_tags_to_stream(StreamName=kept, Tags={"b": "2"})
    client.remove_tags_from_stream(StreamName=kept, TagKeys=["a"])
    client.increase_stream_retention_period(StreamName=kept, RetentionPeriodHours=72)
    on_demand = create_stream(client, shards=None, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    gone = create_stream(client, shards=1)
    client.delete_stream(StreamName=gone)

    server.restart(graceful=False)
    client = server.client()

    summary = client.describe_stream_summary(StreamName=kept)["StreamDescriptionSummary"]
    assert (summary["OpenShardCount"], summary["RetentionPeriodHours"]) == (2, 72)
    assert client.list_tags_for_stream(StreamName=kept)["Tags"] == [{"Key": "b", "Value": "2"}]
    summary = client.describe_stream_summary(StreamName=on_demand)["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert summary["OpenShardCount"] == 4
    names = client.list_streams()["StreamNames"]
    assert kept in names and on_demand in names and gone not in names


def test_create_stream_flag_keeps_existing_data(spawn_server):
    server = spawn_server("durable", extra_args=["--create-stream", "boot:2"])
    client = server.client()
    put = client.put_record(StreamName="boot", Data=b"before restart", PartitionKey="k")

    server.restart(graceful=False)  # same flags, same data dir: the stream must not be re-created
    client = server.client()
    assert client.describe_stream_summary(StreamName="boot")["StreamDescriptionSummary"]["OpenShardCount"] == 2
    assert [r["Data"] for r in read_shard(client, "boot", put["ShardId"])] == [b"before restart"]


# -- randomised kill -9 under concurrent producers -------------------------------------------------

SHARDS = 4
PRODUCERS = 4
KEYS_PER_PRODUCER = 6
CRASH_CYCLES = 4


@dataclass(frozen=True)
class Ack:
    shard_id: str
    sequence_number: str
    generation: int
    sent_ms: int
    acked_ms: int


@dataclass(frozen=True)
class Stored:
    shard_id: str
    sequence_number: str
    partition_key: str
    arrival_ms: int


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def partition_key(payload: str) -> str:
    producer, counter = payload.split("-")
    return f"key-{producer}-{int(counter) % KEYS_PER_PRODUCER}"


class Target:
    """The current endpoint of a server that is killed and restarted under the producers."""

    def __init__(self, endpoint: str):
        self._lock = threading.Lock()
        self._endpoint, self._generation = endpoint, 0

    def get(self) -> tuple[int, str]:
        with self._lock:
            return self._generation, self._endpoint

    def move(self, endpoint: str) -> None:
        with self._lock:
            self._endpoint, self._generation = endpoint, self._generation + 1


class Producer(threading.Thread):
    """Writes unique payloads, never retrying: a failed request's records count as unacked."""

    def __init__(self, index: int, stream: str, target: Target, stop: threading.Event, seed: int):
        super().__init__(name=f"producer-{index}", daemon=True)
        self.index, self.stream, self.target, self.stop = index, stream, target, stop
        self.rng = random.Random(seed)
        self.counter = 0
        self.acked: dict[str, Ack] = {}
        self.unacked: set[str] = set()
        self.failures: Counter = Counter()
        self.acks_by_generation: Counter = Counter()
        self.crash: BaseException | None = None

    def run(self) -> None:
        try:
            self._produce()
        except BaseException as exc:  # surfaced by the test after join()
            self.crash = exc

    def _next_payload(self) -> str:
        self.counter += 1
        return f"p{self.index}-{self.counter:08d}"

    def _produce(self) -> None:
        client, generation = None, None
        while not self.stop.is_set():
            current, endpoint = self.target.get()
            if current != generation:
                client, generation = make_client(endpoint, connect_timeout=1, read_timeout=10), current
            batch = [self._next_payload() for _ in range(self.rng.choice([1, 1, 5, 20, 50]))]
            sent = now_ms()
            try:
                results = self._send(client, batch)
            except (BotoCoreError, ClientError) as exc:  # connection refused/reset, timeouts, 5xx
                self.unacked.update(batch)
                self.failures[type(exc).__name__] += 1
                time.sleep(0.005)
                continue
            acked = now_ms()
            assert len(results) == len(batch), "PutRecords answered a different number of records"
            for payload, result in zip(batch, results):
                if "SequenceNumber" in result:
                    self.acked[payload] = Ack(result["ShardId"], result["SequenceNumber"], generation, sent, acked)
                    self.acks_by_generation[generation] += 1
                else:
                    self.unacked.add(payload)
                    self.failures[result.get("ErrorCode", "?")] += 1

    def _send(self, client, batch: list[str]) -> list[dict]:
        if len(batch) == 1:
            payload = batch[0]
            return [client.put_record(StreamName=self.stream, Data=payload.encode(), PartitionKey=partition_key(payload))]
        records = [{"Data": p.encode(), "PartitionKey": partition_key(p)} for p in batch]
        return client.put_records(StreamName=self.stream, Records=records)["Records"]


@dataclass
class Observation:
    stored: dict[str, Stored]  # payload -> where it is stored
    occurrences: Counter  # payload -> how many times it is stored
    shard_sequences: dict[str, list[str]]  # shard -> sequence numbers in read order


def observe(client, stream: str) -> Observation:
    """Everything readable now, from TRIM_HORIZON of every shard."""
    seen = Observation({}, Counter(), {})
    for shard_id, records in read_stream(client, stream).items():
        seen.shard_sequences[shard_id] = [r["SequenceNumber"] for r in records]
        for r in records:
            payload = r["Data"].decode()
            seen.occurrences[payload] += 1
            seen.stored[payload] = Stored(
                shard_id, r["SequenceNumber"], r["PartitionKey"], to_millis(r["ApproximateArrivalTimestamp"])
            )
    return seen


def wait_for_acks(producers: list["Producer"], generation: int, server, timeout_s: float = 30.0) -> None:
    """Block until every producer has had a write acknowledged by server incarnation `generation`."""
    deadline = time.monotonic() + timeout_s
    while not all(p.acks_by_generation[generation] for p in producers):
        crashed = [p.crash for p in producers if p.crash]
        if crashed:
            raise crashed[0]
        assert time.monotonic() < deadline, (
            f"server incarnation {generation} acknowledged no write within {timeout_s}s; "
            f"failures: {[dict(p.failures) for p in producers]}\n{server.stderr_text()}"
        )
        time.sleep(0.01)


def sample(items, n: int = 5) -> list:
    return sorted(items)[:n]


def test_kill_9_under_load_loses_no_acknowledged_record(spawn_server):
    seed = int(os.environ.get("SPATE_CRASH_SEED", random.SystemRandom().randrange(2**32)))
    print(f"crash test seed: {seed} (rerun with SPATE_CRASH_SEED={seed})")
    rng = random.Random(seed)

    server = spawn_server("durable")
    stream = create_stream(server.client(), name="crash", shards=SHARDS)
    target, stop = Target(server.endpoint), threading.Event()
    producers = [Producer(i, stream, target, stop, seed + i) for i in range(PRODUCERS)]
    snapshot: dict[str, Stored] = {}  # what readers saw before some crash

    for producer in producers:
        producer.start()
    try:
        for generation in range(CRASH_CYCLES):
            wait_for_acks(producers, generation, server)
            time.sleep(rng.uniform(0.05, 1.0))
            if rng.random() < 0.5:
                snapshot.update(observe(server.client(), stream).stored)
                time.sleep(rng.uniform(0, 0.2))
            server.kill()
            time.sleep(rng.uniform(0, 0.4))  # producers hit a dead port meanwhile
            server.start()
            target.move(server.endpoint)
        wait_for_acks(producers, CRASH_CYCLES, server)
        time.sleep(rng.uniform(0.05, 0.5))
    finally:
        stop.set()
        for producer in producers:
            producer.join(timeout=30)
    for producer in producers:
        assert not producer.is_alive(), f"{producer.name} did not stop"
        if producer.crash:
            raise producer.crash

    # Quiet now: remember what is visible, crash once more, and compare.
    snapshot.update(observe(server.client(), stream).stored)
    server.kill()
    server.start()
    final = observe(server.client(), stream)
    stored, occurrences = final.stored, final.occurrences

    acked = {p: a for producer in producers for p, a in producer.acked.items()}
    unacked = set().union(*(producer.unacked for producer in producers))
    failures = sum((producer.failures for producer in producers), Counter())
    print(f"acked={len(acked)} unacked={len(unacked)} stored={len(stored)} failures={dict(failures)}")

    duplicated = [p for p, n in occurrences.items() if n > 1]
    assert not duplicated, f"{len(duplicated)} payloads stored more than once, e.g. {sample(duplicated)}"
    unknown = set(stored) - set(acked) - unacked
    assert not unknown, f"{len(unknown)} payloads nobody sent, e.g. {sample(unknown)}"
    missing = set(acked) - set(stored)
    assert not missing, f"{len(missing)} acknowledged records lost, e.g. {sample(missing)}"

    moved = {
        p: (ack, stored[p]) for p, ack in acked.items()
        if (stored[p].shard_id, stored[p].sequence_number) != (ack.shard_id, ack.sequence_number)
    }
    assert not moved, f"{len(moved)} records changed shard/sequence number, e.g. {sample(moved.items(), 3)}"

    wrong_key = [p for p, s in stored.items() if s.partition_key != partition_key(p)]
    assert not wrong_key, f"partition keys changed, e.g. {sample(wrong_key)}"

    # Arrival timestamps: identical (to the millisecond) to what readers saw before the crashes,
    # and plausible for when the record was sent (a recovered record is not re-stamped).
    changed = {p: (before.arrival_ms, stored[p].arrival_ms) for p, before in snapshot.items()
               if p in acked and stored[p].arrival_ms != before.arrival_ms}
    assert not changed, f"{len(changed)} arrival timestamps changed across restarts, e.g. {sample(changed.items(), 3)}"
    implausible = [p for p, a in acked.items() if not a.sent_ms - 1000 <= stored[p].arrival_ms <= a.acked_ms + 1000]
    assert not implausible, f"{len(implausible)} arrival timestamps outside their put call, e.g. {sample(implausible)}"

    for shard_id, sequence_numbers in final.shard_sequences.items():
        assert_strictly_increasing(sequence_numbers, f"{shard_id} sequence numbers")

    by_key: dict[str, list[str]] = defaultdict(list)
    for payload in sorted(acked):  # payload order == production order within a producer
        by_key[partition_key(payload)].append(acked[payload].sequence_number)
    for key, seqs in by_key.items():
        assert_strictly_increasing(seqs, f"sequence numbers of partition key {key}")
