"""Running out of disk space or file descriptors fails only the writes that hit it (issue 10,
item 7): they get a retryable InternalFailure that names the cause, nothing of them is kept, the
log stays healthy, and writes succeed again once the cause clears. With the real binary.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from botocore.exceptions import ClientError

from spate_support import SpateServer, create_stream, read_shard


def _mount_tmpfs(target, size: str) -> bool:
    cmd = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)]
    return subprocess.run(cmd, capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    target = tmp_path / "disk"
    target.mkdir()
    if not _mount_tmpfs(target, "16m"):
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN)")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def internal_failure(error: ClientError) -> str:
    response = error.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 500, response
    assert response["Error"]["Code"] == "InternalFailureException", response
    return response["Error"]["Message"]


def test_a_full_disk_fails_the_batch_and_writes_resume_when_space_is_back(spawn_server, small_disk):
    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\0" * (4 << 20))
    server = spawn_server("durable", data_dir=small_disk / "data")
    client = server.client()
    name = create_stream(client, shards=1)
    acked, message = [], None
    for i in range(200):
        data = bytes([i % 251]) * (256 << 10)
        try:
            client.put_record(StreamName=name, PartitionKey="k", Data=data)
            acked.append(data)
        except ClientError as e:
            message = internal_failure(e)
            break
    assert message is not None, "the disk never filled up"
    assert "disk is full" in message, message
    # Reads go on; the failed write left nothing behind.
    assert [r["Data"] for r in read_shard(client, name, "shardId-000000000000")] == acked
    ballast.unlink()
    client.put_record(StreamName=name, PartitionKey="k", Data=b"after")
    acked.append(b"after")
    # Everything acknowledged is there after a kill -9, and nothing else.
    server.restart()
    client = server.client()
    assert [r["Data"] for r in read_shard(client, name, "shardId-000000000000")] == acked


class DescriptorLimitedServer(SpateServer):
    """A server whose process may hold at most `limit` open files (soft and hard)."""

    def __init__(self, *args, limit: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit = limit

    def command(self) -> list[str]:
        return ["prlimit", f"--nofile={self.limit}:{self.limit}", "--", *super().command()]


def test_running_out_of_descriptors_fails_writes_until_some_are_free(tmp_path):
    if subprocess.run(["prlimit", "--version"], capture_output=True).returncode != 0:
        pytest.skip("prlimit (util-linux) is not installed")
    (tmp_path / "logs").mkdir()
    server = DescriptorLimitedServer(tmp_path / "logs", data_dir=tmp_path / "data", limit=64).start()
    try:
        client = server.client()
        wide = create_stream(client, shards=80)
        shards = client.list_shards(StreamName=wide)["Shards"]
        # One record per shard: each shard's first write opens a segment file.
        records = [
            {"Data": b"x", "PartitionKey": "k", "ExplicitHashKey": s["HashKeyRange"]["StartingHashKey"]}
            for s in shards
        ]
        failures = []
        for chunk in (records[i:i + 10] for i in range(0, len(records), 10)):
            try:
                client.put_records(StreamName=wide, Records=chunk)
            except ClientError as e:
                failures.append(internal_failure(e))
        assert failures, "descriptors never ran out"
        assert all("file descriptors" in m for m in failures), failures
        # The log is not stopped: free the descriptors and write again.
        client.delete_stream(StreamName=wide)
        narrow = create_stream(client, shards=2)
        client.put_record(StreamName=narrow, PartitionKey="k", Data=b"fine")
        assert [r["Data"] for r in read_shard(client, narrow, "shardId-000000000000")
                + read_shard(client, narrow, "shardId-000000000001")] == [b"fine"]
    finally:
        server.stop()
