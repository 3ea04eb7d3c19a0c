"""Shared helpers for the spate end-to-end tests: process control, clients, readers."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "us-east-1"
ACCOUNT = "000000000000"
TARGET_PREFIX = "Kinesis_20131202"
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
CBOR_CONTENT_TYPE = "application/x-amz-cbor-1.1"
MAX_HASH_KEY = 2**128 - 1
SEQUENCE_NUMBER_RE = re.compile(r"^\d{56}$")
LISTENING_RE = re.compile(r"^spate listening on (https?://127\.0\.0\.1:(\d+))$")
STARTUP_TIMEOUT_S = 20.0
DEFAULT_BIN = "/work/cargo-target/release/spate"
DUMMY_CREDENTIALS = {"aws_access_key_id": "AKIDSPATETEST", "aws_secret_access_key": "spate-secret"}


def spate_bin() -> str:
    return os.environ.get("SPATE_BIN", DEFAULT_BIN)


def stream_arn(name: str) -> str:
    return f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"


def unique_name(prefix: str = "s") -> str:
    """A stream name no other test uses (valid: [a-zA-Z0-9_.-]+, <= 128 chars)."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def make_client(endpoint: str, service: str = "kinesis", **config):
    """A boto3 client (Kinesis unless `service` says otherwise) for `endpoint` that never
    retries (so failures surface as-is)."""
    options = {
        "retries": {"total_max_attempts": 1, "mode": "standard"},
        "connect_timeout": 5,
        "read_timeout": 30,
    }
    options.update(config)
    session = boto3.session.Session()  # one session per client: sessions are not thread-safe
    return session.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        config=Config(**options),
        **DUMMY_CREDENTIALS,
    )


class SpateServer:
    """One `spate serve` process. Restartable on the same data dir (the port changes)."""

    def __init__(self, log_dir: Path, *, data_dir: Path | None = None, extra_args=()):
        self.log_dir = Path(log_dir)
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.extra_args = list(extra_args)
        self.proc: subprocess.Popen | None = None
        self.endpoint: str | None = None
        self.port: int | None = None
        self.starts = 0
        self._stderr_path: Path | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def command(self) -> list[str]:
        storage = ["--data-dir", str(self.data_dir)] if self.data_dir else ["--in-memory"]
        return [
            spate_bin(), "serve", "--host", "127.0.0.1", "--port", "0", *storage,
            "--creating-delay-ms", "0", "--deleting-delay-ms", "0", "--updating-delay-ms", "0",
            *self.extra_args,
        ]

    def start(self) -> "SpateServer":
        assert self.proc is None, "server already running"
        if not os.path.exists(spate_bin()):
            pytest.fail(f"spate binary not found at {spate_bin()} (set SPATE_BIN)")
        self.starts += 1
        self._stderr_path = self.log_dir / f"spate-stderr-{self.starts}.log"
        stderr = open(self._stderr_path, "wb")
        try:
            self.proc = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr
            )
        finally:
            stderr.close()
        line = self._first_stdout_line(STARTUP_TIMEOUT_S)
        match = LISTENING_RE.match(line or "")
        if not match:
            self._force_kill()
            pytest.fail(
                f"spate did not announce its address within {STARTUP_TIMEOUT_S}s "
                f"(first stdout line: {line!r}).\ncommand: {' '.join(self.command())}\n"
                f"stderr:\n{self.stderr_text()}"
            )
        self.endpoint, self.port = match.group(1), int(match.group(2))
        return self

    def _first_stdout_line(self, timeout: float) -> str | None:
        lines: queue.Queue = queue.Queue()

        def pump(stream):
            # Keep draining stdout for the life of the process so it can never block on a pipe.
            for raw in iter(stream.readline, b""):
                lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
            lines.put(None)

        threading.Thread(target=pump, args=(self.proc.stdout,), daemon=True).start()
        try:
            return lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def stop(self, timeout: float = 10.0) -> int | None:
        """Graceful shutdown (SIGTERM), escalating to SIGKILL. Returns the exit code."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def kill(self) -> None:
        """kill -9: no chance to flush anything."""
        self._force_kill()

    def _force_kill(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.kill()
        proc.wait()

    def restart(self, *, graceful: bool = False) -> "SpateServer":
        self.stop() if graceful else self.kill()
        return self.start()

    # -- conveniences ----------------------------------------------------------------------

    def client(self, service: str = "kinesis", **config):
        return make_client(self.endpoint, service, **config)

    def stderr_text(self, tail: int = 8000) -> str:
        if self._stderr_path is None or not self._stderr_path.exists():
            return ""
        return self._stderr_path.read_bytes()[-tail:].decode("utf-8", "replace")


class ServerFactory:
    """Starts servers on demand and guarantees they are all stopped at teardown."""

    def __init__(self, tmp_path_factory):
        self._tmp = tmp_path_factory
        self._servers: list[SpateServer] = []

    def __call__(self, mode: str = "durable", *, data_dir=None, extra_args=(), start: bool = True):
        assert mode in ("durable", "memory"), mode
        log_dir = self._tmp.mktemp("spate-logs")
        if mode == "durable" and data_dir is None:
            data_dir = self._tmp.mktemp("spate-data")
        server = SpateServer(
            log_dir, data_dir=data_dir if mode == "durable" else None, extra_args=extra_args
        )
        self._servers.append(server)
        return server.start() if start else server

    @property
    def servers(self) -> list[SpateServer]:
        return list(self._servers)

    def __enter__(self) -> "ServerFactory":
        return self

    def __exit__(self, *exc) -> None:
        for server in self._servers:
            server.stop()


# -- stream helpers ------------------------------------------------------------------------


def create_stream(client, name: str | None = None, shards: int | None = 1, **kwargs) -> str:
    """Create a stream (PROVISIONED with `shards`, or pass StreamModeDetails) and wait for it."""
    name = name or unique_name()
    if shards is not None:
        kwargs["ShardCount"] = shards
    client.create_stream(StreamName=name, **kwargs)
    client.get_waiter("stream_exists").wait(
        StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    return name


def list_all_shards(client, name: str) -> list[dict]:
    return client.list_shards(StreamName=name)["Shards"]


def hash_key(partition_key: str) -> int:
    """Kinesis routing: MD5 of the UTF-8 partition key, read as a big-endian 128-bit integer."""
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")


def shard_for_hash(shards: list[dict], key: int) -> str:
    for shard in shards:
        rng = shard["HashKeyRange"]
        if int(rng["StartingHashKey"]) <= key <= int(rng["EndingHashKey"]):
            return shard["ShardId"]
    raise AssertionError(f"no shard covers hash key {key}")


def to_millis(timestamp) -> int:
    """A botocore-parsed datetime to integer epoch milliseconds."""
    return round(timestamp.timestamp() * 1000)


def iterator(client, stream: str, shard_id: str, iterator_type: str = "TRIM_HORIZON", **kwargs) -> str:
    return client.get_shard_iterator(
        StreamName=stream, ShardId=shard_id, ShardIteratorType=iterator_type, **kwargs
    )["ShardIterator"]


def drain(client, shard_iterator: str, *, limit: int = 10000, deadline_s: float = 30.0) -> list[dict]:
    """Follow NextShardIterator until the shard is caught up; return every record read."""
    records: list[dict] = []
    deadline = time.monotonic() + deadline_s
    while shard_iterator:
        assert time.monotonic() < deadline, f"shard not caught up after {deadline_s}s"
        resp = client.get_records(ShardIterator=shard_iterator, Limit=limit)
        records.extend(resp["Records"])
        if not resp["Records"] and resp.get("MillisBehindLatest", 0) == 0:
            break
        shard_iterator = resp.get("NextShardIterator")
    return records


def read_shard(client, stream: str, shard_id: str, iterator_type: str = "TRIM_HORIZON", **kwargs):
    return drain(client, iterator(client, stream, shard_id, iterator_type, **kwargs))


def read_stream(client, stream: str) -> dict[str, list[dict]]:
    """Every record of every shard, from TRIM_HORIZON, keyed by shard id."""
    return {
        shard["ShardId"]: read_shard(client, stream, shard["ShardId"])
        for shard in list_all_shards(client, stream)
    }


def assert_strictly_increasing(sequence_numbers, what: str = "sequence numbers") -> None:
    ints = [int(s) for s in sequence_numbers]
    for earlier, later in zip(ints, ints[1:]):
        assert earlier < later, f"{what} not strictly increasing: {earlier} then {later}"


@contextlib.contextmanager
def aws_error(code: str, message: str | None = None):
    """Expect the boto3 call in the block to fail with HTTP 400 and error `code`."""
    with pytest.raises(ClientError) as excinfo:
        yield excinfo
    response = excinfo.value.response
    assert response["Error"]["Code"] == code, response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, response
    if message is not None:
        assert message in response["Error"]["Message"], response


# -- raw HTTP -------------------------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def error_type(self) -> str | None:
        try:
            return self.json().get("__type")
        except ValueError:
            return None


def raw_call(
    endpoint: str,
    operation: str | None,
    body,
    *,
    content_type: str = JSON_CONTENT_TYPE,
    target: str | None = None,
    method: str = "POST",
    path: str = "/",
) -> RawResponse:
    """Send one request the way an SDK would (dummy SigV4 header), without any client checks.

    `body` may be bytes/str (sent verbatim) or anything else (JSON-encoded).
    """
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode("utf-8")
    host_port = endpoint.removeprefix("http://")
    headers = {
        "Content-Type": content_type,
        "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
        "Authorization": (
            "AWS4-HMAC-SHA256 Credential=AKIDSPATETEST/20240101/us-east-1/kinesis/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64
        ),
    }
    if target is not None or operation is not None:
        headers["X-Amz-Target"] = target if target is not None else f"{TARGET_PREFIX}.{operation}"
    conn = http.client.HTTPConnection(host_port, timeout=30)
    try:
        conn.request(method, path, body=bytes(body) if method != "GET" else None, headers=headers)
        resp = conn.getresponse()
        return RawResponse(
            resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        )
    finally:
        conn.close()
