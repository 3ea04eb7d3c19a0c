"""The AWS CLI (v1, `python -m awscli`) against spate."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest

from spate_support import SEQUENCE_NUMBER_RE, ServerFactory, stream_arn, unique_name


@pytest.fixture(scope="module")
def aws(server, tmp_path_factory):
    """Run `aws kinesis ...` against the module's server; returns the parsed JSON output."""
    home = tmp_path_factory.mktemp("awscli-home")
    env = {
        **os.environ,
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": "AKIDSPATETEST",
        "AWS_SECRET_ACCESS_KEY": "spate-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
    }
    env.pop("AWS_PROFILE", None)

    def run(*args: str, expect_ok: bool = True):
        command = [
            sys.executable, "-m", "awscli", "kinesis", *args,
            "--endpoint-url", server.endpoint, "--output", "json",
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        if not expect_ok:
            assert done.returncode != 0, done.stdout
            return done.stderr
        assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else None

    return run


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Overrides conftest's: the CLI is slow to start, so test it against one durable server."""
    with ServerFactory(tmp_path_factory) as factory:
        yield factory("durable")


def test_cli_round_trip(aws):
    name = unique_name("cli")
    assert aws("create-stream", "--stream-name", name, "--shard-count", "1") is None
    aws("wait", "stream-exists", "--stream-name", name)

    assert name in aws("list-streams")["StreamNames"]
    summary = aws("describe-stream-summary", "--stream-name", name)["StreamDescriptionSummary"]
    assert summary["StreamARN"] == stream_arn(name)

    # AWS CLI v1 sends a blob argument's text as-is and prints blobs base64-encoded.
    put = aws("put-record", "--stream-name", name, "--partition-key", "cli-key", "--data", "hello from the cli")
    assert put["ShardId"] == "shardId-000000000000"
    assert SEQUENCE_NUMBER_RE.match(put["SequenceNumber"])

    shard_iterator = aws(
        "get-shard-iterator", "--stream-name", name, "--shard-id", "shardId-000000000000",
        "--shard-iterator-type", "TRIM_HORIZON",
    )["ShardIterator"]
    got = aws("get-records", "--shard-iterator", shard_iterator)
    [record] = got["Records"]
    assert base64.b64decode(record["Data"]) == b"hello from the cli"
    assert record["PartitionKey"] == "cli-key"
    assert record["SequenceNumber"] == put["SequenceNumber"]
    assert "NextShardIterator" in got


def test_cli_reports_service_errors(aws):
    stderr = aws("describe-stream", "--stream-name", unique_name("missing"), expect_ok=False)
    assert "ResourceNotFoundException" in stderr
