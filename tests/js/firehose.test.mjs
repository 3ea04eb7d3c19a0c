// End-to-end test of Firehose with the unmodified AWS SDK for JavaScript v3: the seed's own
// snippet (PutRecordCommand to "my-firehose-stream" with a JSON line) is delivered as an
// object, with the client's default handler (HTTP/1.1) and with its HTTP/2 handler (h2c).
// Objects go to local bucket directories here; the Python suite proves the same delivery
// against a real S3 server (SeaweedFS).
//
// SPATE_BIN selects the binary (default /work/cargo-target/release/spate).

import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import {
  CreateDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  PutRecordBatchCommand,
  PutRecordCommand,
} from "@aws-sdk/client-firehose";
import { NodeHttp2Handler } from "@smithy/node-http-handler";

import { admin, files } from "./helpers.mjs";
import { startServer, stopServer } from "./spate-server.mjs";

const credentials = { accessKeyId: "spate", secretAccessKey: "spate" };

describe("Firehose with the JavaScript SDK v3", () => {
  let server;
  let buckets;

  before(async () => {
    buckets = await mkdtemp(join(tmpdir(), "spate-js-buckets-"));
    server = await startServer(["--buckets-dir", buckets]);
  });

  after(async () => {
    if (server) await stopServer(server.child);
    await rm(buckets, { recursive: true, force: true });
  });

  for (const [label, handler] of [["HTTP/1.1 (default)", undefined], ["HTTP/2 cleartext", new NodeHttp2Handler()]]) {
    it(`delivers the seed's PutRecordCommand over ${label}`, async () => {
      const client = new FirehoseClient({
        region: "us-east-1", endpoint: server.endpoint, credentials, requestHandler: handler,
      });
      const name = `my-firehose-stream-${label.startsWith("HTTP/2") ? "h2" : "h1"}`;
      const bucket = `bucket-${label.startsWith("HTTP/2") ? "h2" : "h1"}`;
      await client.send(new CreateDeliveryStreamCommand({
        DeliveryStreamName: name,
        ExtendedS3DestinationConfiguration: {
          RoleARN: "arn:aws:iam::000000000000:role/firehose",
          BucketARN: `arn:aws:s3:::${bucket}`,
        },
      }));
      const described = await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name }));
      assert.equal(described.DeliveryStreamDescription.DeliveryStreamStatus, "ACTIVE");

      // The seed's snippet, verbatim but for the stream name.
      const put = await client.send(new PutRecordCommand({
        DeliveryStreamName: name,
        Record: { Data: Buffer.from(JSON.stringify({ user: 1, action: "click" }) + "\n") },
      }));
      assert.equal(put.RecordId.length, 224);
      const batch = await client.send(new PutRecordBatchCommand({
        DeliveryStreamName: name,
        Records: [{ Data: Buffer.from("second\n") }],
      }));
      assert.equal(batch.FailedPutCount, 0);

      await admin(server.endpoint, "FlushDeliveryStream", { DeliveryStreamName: name });
      const [object] = await files(join(buckets, bucket));
      assert.ok(object.includes(`${name}-1-`), object);
      assert.equal(await readFile(object, "utf8"), '{"user":1,"action":"click"}\nsecond\n');
      client.destroy();
    });
  }
});
