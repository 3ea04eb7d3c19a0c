// End-to-end test: the unmodified AWS SDK for JavaScript v3 Kinesis client against a real
// `spate serve` process. The client keeps its default configuration (only endpoint, region and
// dummy credentials are set), so it talks HTTP/2 cleartext with prior knowledge, as it would to
// any endpoint.
//
// SPATE_BIN selects the binary (default /work/cargo-target/release/spate).

import { createHash, randomBytes, randomUUID } from "node:crypto";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  AddTagsToStreamCommand,
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  ListStreamsCommand,
  ListTagsForStreamCommand,
  PutRecordCommand,
  PutRecordsCommand,
  RemoveTagsFromStreamCommand,
  waitUntilStreamExists,
  waitUntilStreamNotExists,
} from "@aws-sdk/client-kinesis";

import { startServer, stopServer } from "./spate-server.mjs";


/** The partition key's MD5 as a big-endian 128-bit integer: what picks the shard. */
function hashKey(partitionKey) {
  return BigInt("0x" + createHash("md5").update(partitionKey, "utf8").digest("hex"));
}

describe("Kinesis via @aws-sdk/client-kinesis (HTTP/2 cleartext)", () => {
  const streamName = `js-e2e-${randomUUID().slice(0, 8)}`;
  /** @type {import("node:child_process").ChildProcess} */
  let server;
  /** @type {KinesisClient} */
  let client;
  /** ALPN protocol of the HTTP session that carried each response (node says "h2c" for h2 without TLS). */
  const protocolsSeen = [];
  /** Every record written: sequence number -> { shardId, partitionKey, data }. */
  const written = new Map();
  /** ListShards result, filled in by the ListShards test. */
  let shards = [];

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
      (next) => async (args) => {
        const result = await next(args);
        protocolsSeen.push(result.response?.body?.session?.alpnProtocol);
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

  it("uses the SDK's default HTTP/2 handler", () => {
    const handler = client.config.requestHandler;
    assert.equal(handler.constructor.name, "NodeHttp2Handler");
    assert.equal(handler.metadata?.handlerProtocol, "h2");
  });

  it("creates a stream with 2 shards that becomes ACTIVE", async () => {
    await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 2 }));
    await waitUntilStreamExists(
      { client, minDelay: 1, maxDelay: 2, maxWaitTime: 20 },
      { StreamName: streamName },
    );

    const { StreamDescriptionSummary: summary } = await client.send(
      new DescribeStreamSummaryCommand({ StreamName: streamName }),
    );
    assert.equal(summary.StreamName, streamName);
    assert.equal(summary.StreamStatus, "ACTIVE");
    assert.equal(summary.OpenShardCount, 2);
    assert.match(summary.StreamARN, new RegExp(`^arn:aws:kinesis:us-east-1:\\d{12}:stream/${streamName}$`));

    const listed = await client.send(new ListStreamsCommand({}));
    assert.ok(listed.StreamNames.includes(streamName), `ListStreams: ${listed.StreamNames}`);
  });

  it("lists 2 shards that split the hash key space", async () => {
    const result = await client.send(new ListShardsCommand({ StreamName: streamName }));
    shards = result.Shards;
    assert.deepEqual(
      shards.map((s) => s.ShardId),
      ["shardId-000000000000", "shardId-000000000001"],
    );
    // Contiguous, non-overlapping hash ranges covering [0, 2^128 - 1].
    let next = 0n;
    for (const shard of shards) {
      assert.equal(BigInt(shard.HashKeyRange.StartingHashKey), next, `${shard.ShardId} start`);
      next = BigInt(shard.HashKeyRange.EndingHashKey) + 1n;
      assert.match(shard.SequenceNumberRange.StartingSequenceNumber, /^\d+$/);
      assert.equal(shard.SequenceNumberRange.EndingSequenceNumber, undefined, "shard is open");
    }
    assert.equal(next, 2n ** 128n);
  });

  it("puts records with PutRecord", async () => {
    const records = [
      { PartitionKey: "greeting", Data: Buffer.from("hello, spate \u{1F30A}", "utf8") },
      { PartitionKey: "binary-256KiB", Data: randomBytes(256 * 1024) },
    ];
    for (const record of records) {
      const out = await client.send(new PutRecordCommand({ StreamName: streamName, ...record }));
      assert.match(out.SequenceNumber, /^\d+$/);
      assert.match(out.ShardId, /^shardId-\d{12}$/);
      written.set(out.SequenceNumber, {
        shardId: out.ShardId,
        partitionKey: record.PartitionKey,
        data: record.Data,
      });
    }
  });

  it("puts 100 records with random keys in one PutRecords call", async () => {
    const records = Array.from({ length: 100 }, (_, i) => ({
      PartitionKey: randomUUID(),
      Data: randomBytes(1 + ((i * 97) % 2000)),
    }));
    const out = await client.send(new PutRecordsCommand({ StreamName: streamName, Records: records }));
    assert.equal(out.FailedRecordCount ?? 0, 0);
    assert.equal(out.Records.length, records.length);
    out.Records.forEach((result, i) => {
      assert.equal(result.ErrorCode, undefined, `record ${i}: ${result.ErrorCode} ${result.ErrorMessage}`);
      assert.match(result.SequenceNumber, /^\d+$/);
      assert.ok(!written.has(result.SequenceNumber), `duplicate sequence number ${result.SequenceNumber}`);
      written.set(result.SequenceNumber, {
        shardId: result.ShardId,
        partitionKey: records[i].PartitionKey,
        data: records[i].Data,
      });
    });
  });

  it("routes each partition key to the shard whose hash range holds its MD5", () => {
    assert.equal(shards.length, 2, "needs the ListShards test");
    const perShard = new Map(shards.map((s) => [s.ShardId, 0]));
    for (const { shardId, partitionKey } of written.values()) {
      const shard = shards.find((s) => s.ShardId === shardId);
      assert.ok(shard, `unknown shard ${shardId}`);
      const h = hashKey(partitionKey);
      const { StartingHashKey, EndingHashKey } = shard.HashKeyRange;
      assert.ok(
        BigInt(StartingHashKey) <= h && h <= BigInt(EndingHashKey),
        `key ${partitionKey} (hash ${h}) landed on ${shardId} [${StartingHashKey}, ${EndingHashKey}]`,
      );
      perShard.set(shardId, perShard.get(shardId) + 1);
    }
    // 100 random keys over two halves: both shards get some (all on one side: p = 2^-99).
    for (const [shardId, count] of perShard) assert.ok(count > 0, `no records on ${shardId}`);
  });

  it("reads every record back from TRIM_HORIZON, byte for byte, in order", async () => {
    assert.equal(written.size, 102, "needs the put tests");
    const read = new Map();
    for (const { ShardId } of shards) {
      const { ShardIterator } = await client.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId,
          ShardIteratorType: "TRIM_HORIZON",
        }),
      );
      let iterator = ShardIterator;
      let previous = -1n;
      // Read until a call returns nothing and says we are at the tip; bounded.
      for (let calls = 0; ; calls++) {
        assert.ok(calls < 50, `${ShardId}: still not at the tip after 50 GetRecords calls`);
        const out = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 30 }));
        for (const record of out.Records) {
          const seq = BigInt(record.SequenceNumber);
          assert.ok(seq > previous, `${ShardId}: ${record.SequenceNumber} after ${previous}`);
          previous = seq;
          assert.ok(!read.has(record.SequenceNumber), `read twice: ${record.SequenceNumber}`);
          read.set(record.SequenceNumber, { shardId: ShardId, record });
        }
        assert.ok(out.NextShardIterator, `${ShardId}: open shard must return NextShardIterator`);
        iterator = out.NextShardIterator;
        if (out.Records.length === 0 && out.MillisBehindLatest === 0) break;
      }
    }

    assert.deepEqual([...read.keys()].sort(), [...written.keys()].sort(), "sequence numbers read vs written");
    for (const [seq, { shardId, record }] of read) {
      const expected = written.get(seq);
      assert.equal(shardId, expected.shardId, `${seq}: shard`);
      assert.equal(record.PartitionKey, expected.partitionKey, `${seq}: partition key`);
      assert.ok(record.Data instanceof Uint8Array, `${seq}: Data is bytes`);
      assert.ok(
        Buffer.from(record.Data).equals(expected.data),
        `${seq}: payload differs (${record.Data.length} bytes read, ${expected.data.length} written)`,
      );
      assert.ok(record.ApproximateArrivalTimestamp instanceof Date, `${seq}: arrival timestamp`);
    }
  });

  it("adds, lists and removes tags", async () => {
    const tagsNow = async () => {
      const out = await client.send(new ListTagsForStreamCommand({ StreamName: streamName }));
      assert.equal(out.HasMoreTags, false);
      return Object.fromEntries(out.Tags.map((t) => [t.Key, t.Value]));
    };
    assert.deepEqual(await tagsNow(), {});
    await client.send(
      new AddTagsToStreamCommand({ StreamName: streamName, Tags: { env: "test", team: "spate" } }),
    );
    assert.deepEqual(await tagsNow(), { env: "test", team: "spate" });
    await client.send(new RemoveTagsFromStreamCommand({ StreamName: streamName, TagKeys: ["team"] }));
    assert.deepEqual(await tagsNow(), { env: "test" });
  });

  it("answers ResourceNotFoundException (HTTP 400) for an unknown stream", async () => {
    await assert.rejects(
      client.send(new DescribeStreamSummaryCommand({ StreamName: `no-such-stream-${randomUUID()}` })),
      (err) => {
        assert.equal(err.name, "ResourceNotFoundException");
        assert.equal(err.$metadata?.httpStatusCode, 400);
        assert.equal(err.$fault, "client");
        return true;
      },
    );
  });

  it("deletes the stream", async () => {
    await client.send(new DeleteStreamCommand({ StreamName: streamName }));
    await waitUntilStreamNotExists(
      { client, minDelay: 1, maxDelay: 2, maxWaitTime: 20 },
      { StreamName: streamName },
    );
    const listed = await client.send(new ListStreamsCommand({}));
    assert.ok(!listed.StreamNames.includes(streamName), `still listed: ${listed.StreamNames}`);
  });

  it("carried every response over HTTP/2 cleartext", () => {
    assert.ok(protocolsSeen.length > 10, `saw ${protocolsSeen.length} responses`);
    assert.deepEqual([...new Set(protocolsSeen)], ["h2c"]);
  });
});
