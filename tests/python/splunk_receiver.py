"""An in-tree stand-in for Splunk's HTTP Event Collector with indexer acknowledgement, written
from Splunk's documentation of HEC (the /services/collector/raw, /event and /ack endpoints, the
`Authorization: Splunk <token>` header, request channels, and the status codes and JSON
answers of "Troubleshoot HTTP Event Collector"), because no Splunk server installs here.

It checks every request against that protocol (violations are listed), keeps the events it
accepted, hands out one ackId sequence per channel, and lets tests script the collector:
`acknowledge` turns acknowledgement on and off (unacknowledged ids stay false, as on an indexer
that has not indexed them yet), and `token` is the only token accepted."""

from __future__ import annotations

import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer

from loopback import LoopbackServer


@dataclass
class Send:
    """One accepted send: its endpoint, channel, ackId and body."""
    endpoint: str
    channel: str
    ack_id: int
    body: bytes


@dataclass
class Collector(LoopbackServer):
    content_type = "application/json; charset=UTF-8"
    token: str = "00000000-0000-0000-0000-000000000000"
    acknowledge: bool = True
    server: ThreadingHTTPServer | None = None
    sends: list[Send] = field(default_factory=list)
    events: list = field(default_factory=list)
    polls: list[tuple[str, list[int]]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    next_ack: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def raw_text(self) -> bytes:
        with self.lock:
            return b"".join(s.body for s in self.sends if s.endpoint == "raw")

    def handle(self, handler) -> None:
        url = urllib.parse.urlsplit(handler.path)
        query = urllib.parse.parse_qs(url.query)
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        auth = handler.headers.get("Authorization")
        if auth is None:
            return self.answer(handler, 401, {"text": "Token is required", "code": 2})
        if not auth.startswith("Splunk "):
            return self.answer(handler, 401, {"text": "Invalid authorization", "code": 3})
        if auth.removeprefix("Splunk ") != self.token:
            return self.answer(handler, 403, {"text": "Invalid token", "code": 4})
        channel = handler.headers.get("X-Splunk-Request-Channel") or (query.get("channel") or [None])[0]
        if not channel:
            return self.answer(handler, 400, {"text": "Data channel is missing", "code": 10})
        if url.path == "/services/collector/ack":
            return self.handle_ack(handler, channel, body)
        endpoint = {"/services/collector/raw": "raw", "/services/collector/event": "event"}.get(url.path)
        if endpoint is None:
            return self.answer(handler, 404, {"text": "The requested URL was not found on this server.", "code": 404})
        if not body:
            return self.answer(handler, 400, {"text": "No data", "code": 5})
        if endpoint == "event":
            events, refusal = self.parse_events(body)
            if refusal is not None:
                return self.answer(handler, 400, refusal)
        with self.lock:
            ack_id = self.next_ack.get(channel, 0)
            self.next_ack[channel] = ack_id + 1
            self.sends.append(Send(endpoint, channel, ack_id, body))
            if endpoint == "event":
                self.events += events
        self.answer(handler, 200, {"text": "Success", "code": 0, "ackId": ack_id})

    @staticmethod
    def parse_events(body: bytes):
        """HEC's event format: JSON objects one after another, each with a non-empty `event`."""
        decoder, text, events, at = json.JSONDecoder(), body.decode(), [], 0
        while at < len(text):
            while at < len(text) and text[at].isspace():
                at += 1
            if at == len(text):
                break
            try:
                event, at = decoder.raw_decode(text, at)
            except ValueError:
                return None, {"text": "Invalid data format", "code": 6, "invalid-event-number": len(events)}
            if not isinstance(event, dict) or "event" not in event:
                return None, {"text": "Event field is required", "code": 12, "invalid-event-number": len(events)}
            if event["event"] in ("", None):
                return None, {"text": "Event field cannot be blank", "code": 13, "invalid-event-number": len(events)}
            events.append(event)
        return events, None

    def handle_ack(self, handler, channel: str, body: bytes) -> None:
        try:
            asked = json.loads(body)["acks"]
            assert isinstance(asked, list) and all(isinstance(i, int) for i in asked)
        except (ValueError, KeyError, AssertionError):
            self.violations.append(f"an acknowledgement query that is not {{\"acks\": [ids]}}: {body!r}")
            return self.answer(handler, 400, {"text": "Invalid data format", "code": 6})
        with self.lock:
            self.polls.append((channel, asked))
            known = self.next_ack.get(channel, 0)
            unknown = [i for i in asked if i >= known]
            if unknown:
                self.violations.append(f"acknowledgement asked for ids never handed out on {channel}: {unknown}")
            acks = {str(i): self.acknowledge and i < known for i in asked}
        self.answer(handler, 200, {"acks": acks})
