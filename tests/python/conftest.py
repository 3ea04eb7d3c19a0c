"""Fixtures that run the spate binary (SPATE_BIN) and hand out clients for it."""

from __future__ import annotations

import pytest

from spate_support import SpateServer, create_stream


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory, request):
    return tmp_path_factory.mktemp(request.module.__name__.removeprefix("test_"))


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

    def stop_all(self) -> None:
        for server in self._servers:
            server.stop()


@pytest.fixture
def spawn_server(tmp_path_factory):
    """Factory: `spawn_server("durable" | "memory", extra_args=[...])` -> running SpateServer."""
    factory = ServerFactory(tmp_path_factory)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module", params=["durable", "memory"])
def server(request, tmp_path_factory):
    """One server per test module and storage mode; tests isolate themselves by stream name."""
    factory = ServerFactory(tmp_path_factory)
    yield factory(request.param)
    factory.stop_all()


@pytest.fixture(scope="module")
def endpoint(server) -> str:
    return server.endpoint


@pytest.fixture(scope="module")
def kinesis(server):
    """A boto3 Kinesis client for the module's server (no retries, dummy credentials)."""
    return server.client()


@pytest.fixture(scope="module")
def kinesis_unvalidated(server):
    """Like `kinesis`, but botocore does not reject out-of-range parameters client-side."""
    return server.client(parameter_validation=False)


@pytest.fixture
def stream(kinesis) -> str:
    """A fresh, ACTIVE one-shard stream."""
    return create_stream(kinesis, shards=1)


@pytest.fixture
def stream4(kinesis) -> str:
    """A fresh, ACTIVE four-shard stream."""
    return create_stream(kinesis, shards=4)
