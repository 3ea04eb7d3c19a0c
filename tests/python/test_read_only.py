"""Issue 10, item 9: a data directory on a read-only file system is served read-only.

The test mounts a small tmpfs, fills it through a normal server, remounts it read-only and
starts the server again: reads are served, every write is refused with a clear error, and
nothing on the disk changes. Mounting needs root; elsewhere the test is skipped.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from spate_support import create_stream, read_shard, spate_bin


def _mount(target: Path, *options: str) -> bool:
    return subprocess.run(["mount", *options, str(target)], capture_output=True).returncode == 0


@pytest.fixture
def small_mount(tmp_path):
    target = tmp_path / "mnt"
    target.mkdir()
    if not _mount(target, "-t", "tmpfs", "-o", "size=64m", "tmpfs"):
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN)")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_a_read_only_file_system_is_served_read_only(spawn_server, small_mount):
    data_dir = small_mount / "data"
    server = spawn_server("durable", data_dir=data_dir)
    client = server.client()
    name = create_stream(client, shards=1)
    for i in range(20):
        client.put_record(StreamName=name, PartitionKey=f"k{i}", Data=f"record {i}".encode())
    assert server.stop() == 0

    assert _mount(small_mount, "-o", "remount,ro"), "remounting read-only failed"
    before = _digest(data_dir)
    server.start()
    client = server.client()
    assert "read-only" in server.stderr_text()

    records = read_shard(client, name, "shardId-000000000000")
    assert [r["Data"] for r in records] == [f"record {i}".encode() for i in range(20)]
    assert client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
        "StreamStatus"
    ] == "ACTIVE"

    for attempt in (
        lambda: client.put_record(StreamName=name, PartitionKey="k", Data=b"x"),
        lambda: client.create_stream(StreamName="another", ShardCount=1),
        lambda: client.add_tags_to_stream(StreamName=name, Tags={"a": "b"}),
    ):
        with pytest.raises(ClientError) as caught:
            attempt()
        error = caught.value.response
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 500, error
        assert error["Error"]["Code"] == "InternalFailureException", error
        assert "read-only" in error["Error"]["Message"], error

    assert server.stop() == 0
    assert _digest(data_dir) == before, "a read-only server changed the data directory"

    check = subprocess.run(
        [spate_bin(), "log", "check", "--data-dir", str(data_dir)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    assert "20 record(s)" in check.stdout, check.stdout
