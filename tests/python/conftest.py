"""Fixtures that run the spate binary (SPATE_BIN) and hand out clients for it."""

from __future__ import annotations

import os

import pytest

from seaweed import SeaweedFS
from spate_support import ServerFactory, SpateServer, create_stream

# Loopback traffic must never go through a proxy that the environment may define.
for _var in ("NO_PROXY", "no_proxy"):
    os.environ[_var] = ",".join(filter(None, [os.environ.get(_var), "127.0.0.1", "localhost"]))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the tail of the stderr of every server the test used."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    funcargs = getattr(item, "funcargs", {})
    servers = [funcargs["server"]] if isinstance(funcargs.get("server"), SpateServer) else []
    if isinstance(funcargs.get("spawn_server"), ServerFactory):
        servers += funcargs["spawn_server"].servers
    for index, server in enumerate(servers):
        report.sections.append((f"spate stderr #{index} ({server.endpoint})", server.stderr_text(4000)))


@pytest.fixture
def spawn_server(tmp_path_factory):
    """Factory: `spawn_server("durable" | "memory", extra_args=[...])` -> running SpateServer."""
    with ServerFactory(tmp_path_factory) as factory:
        yield factory


@pytest.fixture(scope="module", params=["durable", "memory"])
def server(request, tmp_path_factory):
    """One server per test module and storage mode; tests isolate themselves by stream name."""
    with ServerFactory(tmp_path_factory) as factory:
        yield factory(request.param)


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


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    """A real S3 server (SeaweedFS) on loopback for the whole session."""
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs")).start()
    try:
        yield server
    finally:
        server.stop()
