"""Live tailing: one reader per shard follows NextShardIterator from LATEST while producers
write concurrently. Every acknowledged record must reach the tail of its shard exactly once,
in sequence-number order: no record may be skipped at the moving end of the shard."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict

import pytest

from spate_support import assert_strictly_increasing, create_stream, iterator, list_all_shards

SHARDS = 4
PRODUCERS = 4
REQUESTS_PER_PRODUCER = 120
CATCH_UP_TIMEOUT_S = 30.0


class Worker(threading.Thread):
    """A thread whose exception is re-raised by `finish()`."""

    def __init__(self, name: str):
        super().__init__(name=name, daemon=True)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.work()
        except BaseException as exc:
            self.error = exc

    def work(self) -> None:
        raise NotImplementedError

    def finish(self, timeout: float) -> None:
        self.join(timeout)
        assert not self.is_alive(), f"{self.name} is stuck"
        if self.error:
            raise self.error


class Producer(Worker):
    def __init__(self, index: int, client, stream: str, seed: int):
        super().__init__(f"producer-{index}")
        self.index, self.client, self.stream = index, client, stream
        self.rng = random.Random(seed)
        self.acked: list[tuple[str, str, bytes]] = []  # (shard id, sequence number, data)

    def work(self) -> None:
        for request in range(REQUESTS_PER_PRODUCER):
            size = self.rng.choice([1, 1, 2, 10, 40])
            batch = [
                {"Data": f"p{self.index}-r{request}-{i}".encode(), "PartitionKey": f"k{self.rng.randrange(1000)}"}
                for i in range(size)
            ]
            if size == 1:
                results = [self.client.put_record(StreamName=self.stream, **batch[0])]
            else:
                resp = self.client.put_records(StreamName=self.stream, Records=batch)
                assert resp["FailedRecordCount"] == 0, resp
                results = resp["Records"]
            for entry, result in zip(batch, results, strict=True):
                self.acked.append((result["ShardId"], result["SequenceNumber"], entry["Data"]))


class Tail(Worker):
    def __init__(self, client, shard_id: str, shard_iterator: str, seed: int):
        super().__init__(f"tail-{shard_id}")
        self.client, self.shard_id, self.shard_iterator = client, shard_id, shard_iterator
        self.rng = random.Random(seed)
        self.seen: list[tuple[str, bytes]] = []  # (sequence number, data)
        self.expected: int | None = None  # set once producers are done
        self.done = threading.Event()

    def work(self) -> None:
        it = self.shard_iterator
        deadline = None
        while True:
            resp = self.client.get_records(ShardIterator=it, Limit=self.rng.choice([1, 7, 100, 10000]))
            self.seen += [(r["SequenceNumber"], r["Data"]) for r in resp["Records"]]
            it = resp["NextShardIterator"]
            assert it, "an open shard returned no NextShardIterator"
            if resp["Records"]:
                continue
            if self.done.is_set():
                deadline = deadline or time.monotonic() + CATCH_UP_TIMEOUT_S
                if len(self.seen) >= self.expected or time.monotonic() > deadline:
                    return
            time.sleep(0.005)


@pytest.mark.parametrize("mode", ["durable", "memory"])
def test_tails_see_every_record(spawn_server, mode):
    server = spawn_server(mode)
    admin = server.client()
    stream = create_stream(admin, shards=SHARDS)
    seed = random.SystemRandom().randrange(2**32)
    print(f"live tail seed: {seed}")

    tails = [
        Tail(server.client(), s["ShardId"], iterator(admin, stream, s["ShardId"], "LATEST"), seed + n)
        for n, s in enumerate(list_all_shards(admin, stream))
    ]
    producers = [Producer(i, server.client(), stream, seed + 100 + i) for i in range(PRODUCERS)]
    for worker in tails + producers:
        worker.start()
    for producer in producers:
        producer.finish(timeout=120)

    acked_by_shard: dict[str, list[tuple[str, bytes]]] = defaultdict(list)
    for producer in producers:
        for shard_id, sequence_number, data in producer.acked:
            acked_by_shard[shard_id].append((sequence_number, data))
    for tail in tails:
        tail.expected = len(acked_by_shard[tail.shard_id])
        tail.done.set()
    for tail in tails:
        tail.finish(timeout=CATCH_UP_TIMEOUT_S + 30)

    assert len(acked_by_shard) == SHARDS, "random partition keys should reach every shard"
    for tail in tails:
        expected = sorted(acked_by_shard[tail.shard_id], key=lambda entry: int(entry[0]))
        seen_seqs = [seq for seq, _ in tail.seen]
        missing = {seq for seq, _ in expected} - set(seen_seqs)
        assert not missing, f"{tail.shard_id}: tail skipped {len(missing)} of {len(expected)} acked records"
        assert_strictly_increasing(seen_seqs, f"{tail.shard_id} tail sequence numbers")
        assert tail.seen == expected, f"{tail.shard_id}: tail saw extra or altered records"
