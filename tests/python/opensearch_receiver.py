"""An in-tree stand-in for an OpenSearch cluster's `_bulk` API, written from OpenSearch's
documentation of the bulk request and response format because no OpenSearch server installs
here. It checks every request against the format (NDJSON, an action line with `_index` before
each source line), keeps the documents by index and id (re-indexing an id replaces the
document, as OpenSearch does), answers per item with a status and `errors: true` when any item
failed, and lets tests script failures: whole requests (HTTP status) or items (status)."""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer

from loopback import LoopbackServer


@dataclass
class Bulk:
    """One `_bulk` request as received: (action, metadata, source line) per item."""
    items: list[tuple[str, dict, bytes]]


@dataclass
class Cluster(LoopbackServer):
    content_type = "application/json; charset=UTF-8"
    server: ThreadingHTTPServer | None = None
    indices: dict[str, dict[str, dict]] = field(default_factory=dict)
    requests: list[Bulk] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    # Scripted answers, in order: an int is an HTTP status for the whole next request; a dict
    # {"fail_first": N, "status": S} fails the first N items of the next request with S.
    script: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count = field(default_factory=itertools.count)
    # While `hold` is set, a `_bulk` request is kept unanswered (recorded, not yet indexed)
    # until `release` is set: a request in flight for as long as a test needs.
    hold: bool = False
    release: threading.Event = field(default_factory=threading.Event)

    def documents(self, index: str | None = None) -> dict[str, dict]:
        with self.lock:
            if index is not None:
                return dict(self.indices.get(index, {}))
            return {f"{i}/{d}": doc for i, docs in self.indices.items() for d, doc in docs.items()}

    def parse(self, body: bytes) -> list[tuple[str, dict, bytes]]:
        lines = body.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        else:
            self.violations.append("the body does not end with a newline")
        if len(lines) % 2:
            self.violations.append(f"an odd number of lines ({len(lines)}) for index actions")
        items = []
        for action_line, source in zip(lines[0::2], lines[1::2]):
            action = json.loads(action_line)
            if len(action) != 1 or next(iter(action)) not in ("index", "create"):
                self.violations.append(f"unexpected action {action_line!r}")
            name, meta = next(iter(action.items()))
            if "_index" not in meta:
                self.violations.append(f"an action without _index: {action_line!r}")
            items.append((name, meta, source))
        return items

    def handle(self, handler) -> None:
        if handler.path.split("?")[0] != "/_bulk":
            return self.answer(handler, 404, {"error": "no such endpoint"})
        if not handler.headers.get("Content-Type", "").startswith("application/x-ndjson"):
            self.violations.append(f"content type {handler.headers.get('Content-Type')!r}")
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        with self.lock:
            items = self.parse(body)
            self.requests.append(Bulk(items))
            directive = self.script.pop(0) if self.script else None
            held = self.hold
        if held:
            self.release.wait(60)
        if isinstance(directive, int):
            return self.answer(handler, directive, {"error": {"type": "scripted", "reason": "scripted failure"}, "status": directive})
        fail_first = directive["fail_first"] if directive else 0
        results = []
        with self.lock:
            for i, (name, meta, source) in enumerate(items):
                index, doc_id = meta.get("_index", ""), meta.get("_id")
                if i < fail_first:
                    error = {"type": "es_rejected_execution_exception", "reason": "scripted rejection"}
                    results.append({name: {"_index": index, "_id": doc_id, "status": directive["status"], "error": error}})
                    continue
                try:
                    document = json.loads(source)
                    if not isinstance(document, dict):
                        raise ValueError("not an object")
                except ValueError as e:
                    error = {"type": "mapper_parsing_exception", "reason": f"failed to parse: {e}"}
                    results.append({name: {"_index": index, "_id": doc_id, "status": 400, "error": error}})
                    continue
                doc_id = doc_id or f"auto-{next(self.ids)}"
                docs = self.indices.setdefault(index, {})
                result = "updated" if doc_id in docs else "created"
                docs[doc_id] = document
                results.append({name: {"_index": index, "_id": doc_id, "_version": 1, "result": result,
                                       "status": 200 if result == "updated" else 201,
                                       "_shards": {"total": 1, "successful": 1, "failed": 0}}})
        errors = any("error" in next(iter(r.values())) for r in results)
        self.answer(handler, 200, {"took": 1, "errors": errors, "items": results})
