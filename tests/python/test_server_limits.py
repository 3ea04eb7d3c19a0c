"""The server must not fall over (issue 10, items 6 and 8), with the real binary: a bounded
number of connections, idle, header and body timeouts, a raised descriptor limit, and a
bounded response buffer that a client with a zero HTTP/2 flow-control window cannot inflate.
"""

from __future__ import annotations

import json
import socket
import time

import h2.config
import h2.connection
import h2.events
import h2.settings
import pytest

from spate_support import create_stream

SHORT = [
    "--idle-timeout-ms", "400",
    "--header-read-timeout-ms", "400",
    "--body-read-timeout-ms", "400",
]


def connect(server) -> socket.socket:
    host, port = server.endpoint.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def closed_by_server(s: socket.socket, within: float) -> bool:
    s.settimeout(within)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return True
    except (socket.timeout, TimeoutError):
        return False
    except ConnectionResetError:
        return True


def rss_mib(server) -> float:
    with open(f"/proc/{server.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_idle_connections_are_closed(spawn_server):
    server = spawn_server("memory", extra_args=SHORT)
    idle = [connect(server) for _ in range(20)]
    assert all(closed_by_server(s, 5) for s in idle)


def test_slow_headers_are_cut_off(spawn_server):
    server = spawn_server("memory", extra_args=SHORT)
    s = connect(server)
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    started = time.monotonic()
    assert closed_by_server(s, 5)
    assert time.monotonic() - started < 4


def test_a_body_that_stops_arriving_times_out(spawn_server):
    server = spawn_server("memory", extra_args=SHORT)
    s = connect(server)
    s.sendall(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n"
        b"X-Amz-Target: Kinesis_20131202.ListStreams\r\nContent-Length: 100\r\n\r\n{\"Li"
    )
    s.settimeout(5)
    reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 408"), reply


def test_connections_beyond_the_limit_wait_for_a_free_slot(spawn_server):
    server = spawn_server("memory", extra_args=["--connections-max", "3"])
    held = [connect(server) for _ in range(3)]
    time.sleep(0.2)
    waiting = connect(server)  # accepted by the kernel, not yet by the server
    waiting.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    waiting.settimeout(0.5)
    with pytest.raises((socket.timeout, TimeoutError)):
        waiting.recv(100)
    held[0].close()
    waiting.settimeout(5)
    assert waiting.recv(100).startswith(b"HTTP/1.1 200")


def test_the_open_files_limit_is_raised_to_the_hard_limit(spawn_server):
    server = spawn_server("memory")
    with open(f"/proc/{server.proc.pid}/limits") as f:
        line = next(l for l in f if l.startswith("Max open files"))
    soft, hard = line.split()[3:5]
    assert soft == hard, line


def h2_get_records_flood(server, iterator: str, requests: int) -> socket.socket:
    """Opens an HTTP/2 connection with a zero flow-control window and sends GetRecords requests
    on it; never reads a byte of any response."""
    s = connect(server)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
    s.sendall(conn.data_to_send())
    body = json.dumps({"ShardIterator": iterator}).encode()
    host = server.endpoint.removeprefix("http://")
    for _ in range(requests):
        try:
            stream_id = conn.get_next_available_stream_id()
            conn.send_headers(stream_id, [
                (":method", "POST"), (":path", "/"), (":scheme", "http"), (":authority", host),
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", "Kinesis_20131202.GetRecords"),
                ("x-amz-date", "20240101T000000Z"),
                ("authorization", "AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=0"),
                ("content-length", str(len(body))),
            ])
            conn.send_data(stream_id, body, end_stream=True)
            s.sendall(conn.data_to_send())
        except (h2.exceptions.TooManyStreamsError, OSError):
            break
    return s


def test_a_client_that_reads_nothing_cannot_inflate_memory(spawn_server):
    """Before the fix: 200 GetRecords of 10 MiB pages on one zero-window HTTP/2 connection drove
    the server from 41 MB to about 3 GB."""
    server = spawn_server("memory", extra_args=["--response-stall-timeout-ms", "3000"])
    client = server.client()
    name = create_stream(client, shards=1)
    for _ in range(10):
        client.put_records(StreamName=name, Records=[{"Data": b"x" * (200 << 10), "PartitionKey": "k"}] * 5)
    iterator = client.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    before = rss_mib(server)
    flood = h2_get_records_flood(server, iterator, 200)
    time.sleep(2)
    during = rss_mib(server)
    # The per-connection response buffer is 64 MiB; allow for allocator slack and in-flight reads.
    assert during - before < 400, (before, during)
    # Other clients are served meanwhile.
    assert client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"
    # The stalled connection is closed after the stall timeout.
    assert closed_by_server(flood, 10)
