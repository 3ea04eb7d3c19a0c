"""An HTTP endpoint that speaks Firehose's HTTP endpoint delivery protocol (developer guide,
"HTTP endpoint delivery request and response specifications"), written from that spec because
no real receiver installs here. It checks every request against the protocol and records what
it got; tests script its answers (failures, 413, a wrong requestId)."""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer

from loopback import LoopbackServer


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    request_id: str
    timestamp: int
    records: list[bytes]
    answered: int
    # Whether the answer was a success as Firehose judges it (200 naming the requestId).
    success: bool


@dataclass
class Receiver(LoopbackServer):
    server: ThreadingHTTPServer | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    # Answers to give, in order, before answering 200: (status, body) or "wrong-id".
    script: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    tls: bool = False

    def check(self, condition: bool, what: str) -> None:
        if not condition:
            self.violations.append(what)

    def parse(self, handler) -> tuple[dict[str, str], dict]:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        body = handler.rfile.read(int(headers.get("content-length", "0")))
        if headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        else:
            self.check("content-encoding" not in headers, "Content-Encoding without gzip")
        return headers, json.loads(body)

    def validate(self, headers: dict[str, str], document: dict) -> None:
        self.check(headers.get("content-type") == "application/json", "Content-Type")
        self.check(headers.get("x-amz-firehose-protocol-version") == "1.0", "protocol version")
        self.check(headers.get("x-amz-firehose-request-id") == document.get("requestId"), "request id header")
        self.check(headers.get("x-amz-firehose-source-arn", "").startswith("arn:aws:firehose:"), "source ARN")
        attributes = json.loads(headers.get("x-amz-firehose-common-attributes", "null") or "null")
        self.check(isinstance(attributes, dict) and "commonAttributes" in attributes, "common attributes")
        self.check(isinstance(document.get("timestamp"), int) and document["timestamp"] > 10**12, "timestamp in ms")
        self.check(isinstance(document.get("records"), list) and document["records"], "records")

    def handle(self, handler) -> None:
        headers, document = self.parse(handler)
        self.validate(headers, document)
        request_id = document.get("requestId", "")
        with self.lock:
            answer = self.script.pop(0) if self.script else None
        success = answer is None
        if answer is None:
            status, body = 200, {"requestId": request_id, "timestamp": int(time.time() * 1000)}
        elif answer == "wrong-id":
            status, body = 200, {"requestId": "not-" + request_id, "timestamp": int(time.time() * 1000)}
        else:
            status, body = answer
        records = [base64.b64decode(r["data"]) for r in document.get("records", [])]
        with self.lock:
            self.deliveries.append(Delivery(handler.path, headers, request_id,
                                            document.get("timestamp", 0), records, status, success))
        self.answer(handler, status, body)

    def accepted(self) -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries if d.success]
