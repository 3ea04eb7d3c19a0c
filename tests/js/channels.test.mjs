// Kinesis channels with the unmodified AWS SDK for JavaScript v3 (@aws-sdk/client-kinesis,
// whose default handler is HTTP/2): CreateChannel on an ON_DEMAND stream, records put after it
// delivered to a local bucket directory under the channel's key template (GZIP), records that
// are not JSON written as dead letters, then DescribeChannel, ListChannels and DeleteChannel.
// The Python suite tests the same against a real S3 server (SeaweedFS).
//
// SPATE_BIN selects the binary (default /work/cargo-target/release/spate).

import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";

import {
  CreateChannelCommand,
  CreateStreamCommand,
  DeleteChannelCommand,
  DescribeChannelCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListChannelsCommand,
  PutRecordsCommand,
} from "@aws-sdk/client-kinesis";

import { admin, files } from "./helpers.mjs";
import { startServer, stopServer } from "./spate-server.mjs";

const credentials = { accessKeyId: "spate", secretAccessKey: "spate" };

describe("Kinesis channels with the JavaScript SDK v3 (HTTP/2)", () => {
  let server;
  let buckets;
  let client;

  before(async () => {
    buckets = await mkdtemp(join(tmpdir(), "spate-js-channels-"));
    server = await startServer(["--buckets-dir", buckets]);
    client = new KinesisClient({ region: "us-east-1", endpoint: server.endpoint, credentials });
  });

  after(async () => {
    client?.destroy();
    if (server) await stopServer(server.child);
    await rm(buckets, { recursive: true, force: true });
  });

  it("delivers a stream's new records to the bucket and dead-letters bad ones", async () => {
    await client.send(new CreateStreamCommand({ StreamName: "orders", StreamModeDetails: { StreamMode: "ON_DEMAND" } }));
    const { StreamDescriptionSummary: summary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: "orders" }));
    const { ChannelDescription: created } = await client.send(new CreateChannelCommand({
      ChannelName: "orders-to-lake",
      ServiceExecutionRoleARN: "arn:aws:iam::000000000000:role/channel",
      StreamConfigurationList: [{ StreamARN: summary.StreamARN, RecordConfiguration: { RecordFormatType: "JSON" } }],
      S3DestinationConfiguration: {
        StorageConfiguration: {
          BucketARN: "arn:aws:s3:::lake", ExpectedBucketOwner: "000000000000", CompressionType: "GZIP",
          OutputKeyTemplate: "orders/!{stream-name}/!{yyyy}/!{channel-name}!{extension}",
        },
      },
    }));
    const arn = created.ChannelARN;
    assert.ok(arn.endsWith(`:channel/${created.ChannelId}`));
    await client.send(new PutRecordsCommand({
      StreamName: "orders",
      Records: ['{"id": 1}', "not json", '{"id": 2}'].map((d, i) => ({ Data: Buffer.from(d), PartitionKey: `k${i}` })),
    }));
    const lake = join(buckets, "lake");
    const deadline = Date.now() + 20_000;
    let lines = [];
    let letters = [];
    while (lines.length < 2 || letters.length < 1) {
      assert.ok(Date.now() < deadline, `timed out: ${lines.length} lines, ${letters.length} dead letters`);
      await admin(server.endpoint, "FlushChannel", { ChannelARN: arn }, "kinesis");
      const found = await files(lake);
      const data = found.filter((f) => relative(lake, f).startsWith("orders/orders/"));
      lines = (await Promise.all(data.map(async (f) => gunzipSync(await readFile(f)).toString()))).join("").split("\n").filter(Boolean);
      const dead = found.filter((f) => relative(lake, f).startsWith("kinesis-channel/errors/orders-to-lake/"));
      letters = (await Promise.all(dead.map(async (f) => (await readFile(f, "utf8")).split("\n").filter(Boolean)))).flat();
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(lines.map((l) => JSON.parse(l).id).sort(), [1, 2]);
    assert.equal(JSON.parse(letters[0]).errorCode, "RecordFormatMismatch");

    const { ChannelDescription: described } = await client.send(new DescribeChannelCommand({ ChannelARN: arn }));
    assert.equal(described.ChannelStatus, "ACTIVE");
    assert.equal(described.S3DestinationConfiguration.DataFreshnessInSeconds, 300);
    const { ChannelSummaries } = await client.send(new ListChannelsCommand({ StreamFilter: [{ StreamARN: summary.StreamARN }] }));
    assert.deepEqual(ChannelSummaries.map((c) => c.ChannelARN), [arn]);
    await client.send(new DeleteChannelCommand({ ChannelARN: arn }));
    await assert.rejects(client.send(new DescribeChannelCommand({ ChannelARN: arn })), { name: "ResourceNotFoundException" });
  });
});
