// End-to-end test of enhanced fan-out with the unmodified AWS SDK for JavaScript v3: a stream
// consumer is registered, SubscribeToShard is called at LATEST, and the records put afterwards
// are read from the event stream (vnd.amazon.eventstream frames over HTTP/2 cleartext, the
// client's default NodeHttp2Handler).
//
// SPATE_BIN selects the binary (default /work/cargo-target/release/spate).

import { randomUUID } from "node:crypto";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DeregisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListStreamConsumersCommand,
  PutRecordsCommand,
  RegisterStreamConsumerCommand,
  SubscribeToShardCommand,
  waitUntilStreamExists,
} from "@aws-sdk/client-kinesis";

import { startServer, stopServer } from "./spate-server.mjs";

const WAIT_MS = 10_000;
const SHARD0 = "shardId-000000000000";

/** `promise`, or a rejection naming `what` after `ms`. The timer never outlives the race. */
async function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads SubscribeToShardEvents from `eventStream` until `count` records have arrived; fails if
 * the stream ends first or `timeoutMs` passes. Returns the records and the events.
 */
async function collect(eventStream, count, timeoutMs) {
  const iterator = eventStream[Symbol.asyncIterator]();
  const deadline = Date.now() + timeoutMs;
  const records = [];
  const events = [];
  while (records.length < count) {
    const next = iterator.next();
    next.catch(() => {}); // if the race is lost, a later failure (the abort) is not unhandled
    const remaining = Math.max(deadline - Date.now(), 0);
    const step = await within(next, remaining, `event stream after ${records.length}/${count} records`);
    assert.ok(!step.done, `event stream ended after ${records.length}/${count} records`);
    const event = step.value.SubscribeToShardEvent;
    if (event) {
      events.push(event);
      records.push(...(event.Records ?? []));
    }
  }
  return { records, events };
}

describe("Enhanced fan-out via @aws-sdk/client-kinesis (HTTP/2 cleartext)", () => {
  const streamName = `js-efo-${randomUUID().slice(0, 8)}`;
  const consumerName = `js-consumer-${randomUUID().slice(0, 8)}`;
  /** @type {import("node:child_process").ChildProcess} */
  let server;
  /** @type {KinesisClient} */
  let client;
  let streamArn;
  let consumerArn;
  /** [command name, ALPN protocol of the HTTP session that carried the response]. */
  const protocolsSeen = [];

  before(async () => {
    const started = await startServer();
    server = started.child;
    client = new KinesisClient({
      endpoint: started.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "AKIDSPATETEST", secretAccessKey: "spate-test-secret" },
    });
    // Observe (not change) each raw response, innermost in the stack, before it is deserialised.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        protocolsSeen.push([context.commandName, result.response?.body?.session?.alpnProtocol]);
        return result;
      },
      { step: "deserialize", priority: "low", name: "recordHttpProtocol" },
    );
  });

  after(async () => {
    client?.destroy();
    if (server) {
      const ended = await stopServer(server);
      assert.deepEqual(ended, { code: 0, signal: null }, "spate should exit 0 on SIGTERM");
    }
  });

  it("registers a stream consumer that becomes ACTIVE", async () => {
    await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 1 }));
    await waitUntilStreamExists(
      { client, minDelay: 1, maxDelay: 2, maxWaitTime: 20 },
      { StreamName: streamName },
    );
    ({ StreamDescriptionSummary: { StreamARN: streamArn } } = await client.send(
      new DescribeStreamSummaryCommand({ StreamName: streamName }),
    ));

    const { Consumer: consumer } = await client.send(
      new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName }),
    );
    consumerArn = consumer.ConsumerARN;
    assert.match(consumerArn, new RegExp(`^${streamArn}/consumer/${consumerName}:\\d+$`));
    assert.equal(consumer.ConsumerName, consumerName);
    assert.ok(["CREATING", "ACTIVE"].includes(consumer.ConsumerStatus), consumer.ConsumerStatus);
    assert.ok(consumer.ConsumerCreationTimestamp instanceof Date);

    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const { ConsumerDescription: description } = await client.send(
        new DescribeStreamConsumerCommand({ ConsumerARN: consumerArn }),
      );
      assert.equal(description.StreamARN, streamArn);
      if (description.ConsumerStatus === "ACTIVE") break;
      assert.ok(Date.now() < deadline, `consumer still ${description.ConsumerStatus}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const { Consumers } = await client.send(new ListStreamConsumersCommand({ StreamARN: streamArn }));
    assert.deepEqual(Consumers.map((c) => [c.ConsumerName, c.ConsumerStatus]), [[consumerName, "ACTIVE"]]);
  });

  it("pushes the 50 records put after SubscribeToShard at LATEST", { timeout: 60_000 }, async () => {
    assert.ok(consumerArn, "needs the registration test");
    const abort = new AbortController();
    try {
      const subscribe = () =>
        client.send(
          new SubscribeToShardCommand({
            ConsumerARN: consumerArn,
            ShardId: SHARD0,
            StartingPosition: { Type: "LATEST" },
          }),
          { abortSignal: abort.signal },
        );
      // send() resolves once the initial-response frame has arrived.
      const response = await within(subscribe(), WAIT_MS, "SubscribeToShard");
      assert.equal(response.$metadata.httpStatusCode, 200);

      // The same consumer and shard again within 5 s: refused before any streaming, HTTP 400.
      await assert.rejects(within(subscribe(), WAIT_MS, "second SubscribeToShard"), (err) => {
        assert.equal(err.name, "ResourceInUseException");
        assert.equal(err.$metadata?.httpStatusCode, 400);
        return true;
      });

      const entries = Array.from({ length: 50 }, (_, i) => ({
        PartitionKey: `key-${i}`,
        Data: Buffer.from(`record-${i} \u{1F30A}`, "utf8"),
      }));
      const put = await client.send(new PutRecordsCommand({ StreamName: streamName, Records: entries }));
      assert.equal(put.FailedRecordCount ?? 0, 0);
      const written = put.Records.map((r) => r.SequenceNumber);

      const { records, events } = await collect(response.EventStream, 50, WAIT_MS);
      assert.deepEqual(records.map((r) => r.SequenceNumber), written, "order, exactly once");
      records.forEach((record, i) => {
        assert.equal(record.PartitionKey, entries[i].PartitionKey);
        assert.ok(record.Data instanceof Uint8Array, `record ${i}: Data is bytes`);
        assert.ok(Buffer.from(record.Data).equals(entries[i].Data), `record ${i}: payload differs`);
        assert.ok(record.ApproximateArrivalTimestamp instanceof Date, `record ${i}: arrival timestamp`);
      });
      for (const event of events) {
        assert.equal(typeof event.MillisBehindLatest, "number");
        assert.ok(event.MillisBehindLatest >= 0);
        assert.equal(event.ChildShards, undefined);
        if (event.Records?.length) {
          assert.equal(event.ContinuationSequenceNumber, event.Records.at(-1).SequenceNumber);
        }
      }
    } finally {
      abort.abort();
    }
  });

  it("carried SubscribeToShard (and every other call) over HTTP/2 cleartext", () => {
    const subscribes = protocolsSeen.filter(([name]) => name === "SubscribeToShardCommand");
    assert.ok(subscribes.length >= 1, `saw ${JSON.stringify(protocolsSeen)}`);
    assert.deepEqual([...new Set(protocolsSeen.map(([, protocol]) => protocol))], ["h2c"]);
  });

  it("deregisters the consumer and deletes the stream", async () => {
    await client.send(new DeregisterStreamConsumerCommand({ ConsumerARN: consumerArn }));
    await assert.rejects(
      client.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumerArn })),
      (err) => err.name === "ResourceNotFoundException",
    );
    await client.send(new DeleteStreamCommand({ StreamName: streamName }));
  });
});
