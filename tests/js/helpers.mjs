// Helpers the Firehose and channel suites share: files under a bucket directory, polling,
// a loopback receiver for HTTP destinations, and Spate's admin flush.

import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";

/** Every file below `dir` (none when it does not exist yet). */
export async function files(dir) {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name));
  } catch {
    return [];
  }
}

/** Polls `what` until it returns something truthy; fails after `timeoutMs`. */
export async function until(what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await what();
    if (value) return value;
    assert.ok(Date.now() < deadline, "timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A loopback HTTP server answering each POST with `answer(path, headers, body)` ->
 * [status, json]; every request is kept. */
export async function receiver(answer) {
  const requests = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      requests.push({ path: req.url, headers: req.headers, body });
      const [status, json] = answer(req.url, req.headers, body);
      const text = JSON.stringify(json);
      res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
      res.end(text);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, requests, close: () => server.close() };
}

/** A SpateAdmin_20261126 operation (FlushDeliveryStream, FlushChannel: deliver what is
 * buffered now), signed as `service` with the credentials the tests use; fails unless 200. */
export async function admin(endpoint, operation, body, service = "firehose") {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": `SpateAdmin_20261126.${operation}`,
      "X-Amz-Date": "20261201T000000Z",
      Authorization: `AWS4-HMAC-SHA256 Credential=spate/20261201/us-east-1/${service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`,
    },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, await response.text());
}
