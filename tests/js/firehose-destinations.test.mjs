// Firehose's processing and destinations other than S3 with the unmodified AWS SDK for
// JavaScript v3 over HTTP/2 cleartext: jq dynamic partitioning with a delimiter, an HTTP
// endpoint (Firehose's request format), an OpenSearch cluster (`_bulk`) and Splunk's HTTP
// Event Collector (with indexer acknowledgement). The receivers here are small Node servers
// that answer as the real protocols do; the Python suite tests each protocol and its failure
// paths in depth against fuller in-tree receivers.
//
// SPATE_BIN selects the binary (default /work/cargo-target/release/spate).

import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";

import {
  CreateDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  PutRecordBatchCommand,
} from "@aws-sdk/client-firehose";
import { NodeHttp2Handler } from "@smithy/node-http-handler";

import { files, receiver, until } from "./helpers.mjs";
import { startServer, stopServer } from "./spate-server.mjs";

const credentials = { accessKeyId: "spate", secretAccessKey: "spate" };
const ROLE = "arn:aws:iam::000000000000:role/firehose";
const HEC_TOKEN = "11111111-2222-3333-4444-555555555555";

const backup = (name) => ({ RoleARN: ROLE, BucketARN: "arn:aws:s3:::js-backup", Prefix: `${name}/` });
const now = { SizeInMBs: 1, IntervalInSeconds: 0 };

describe("Firehose destinations with the JavaScript SDK v3 (HTTP/2)", () => {
  let server;
  let buckets;
  let client;

  before(async () => {
    buckets = await mkdtemp(join(tmpdir(), "spate-js-dest-"));
    server = await startServer(["--buckets-dir", buckets, "--firehose-allow-http"]);
    client = new FirehoseClient({
      region: "us-east-1", endpoint: server.endpoint, credentials, requestHandler: new NodeHttp2Handler(),
    });
  });

  after(async () => {
    client?.destroy();
    if (server) await stopServer(server.child);
    await rm(buckets, { recursive: true, force: true });
  });

  const put = (name, records) => client.send(new PutRecordBatchCommand({
    DeliveryStreamName: name, Records: records.map((r) => ({ Data: Buffer.from(r) })),
  }));

  it("partitions records by a jq query and appends a delimiter", async () => {
    const name = "js-partitioned";
    await client.send(new CreateDeliveryStreamCommand({
      DeliveryStreamName: name,
      ExtendedS3DestinationConfiguration: {
        RoleARN: ROLE, BucketARN: "arn:aws:s3:::js-parts",
        Prefix: "customer=!{partitionKeyFromQuery:customer}/", ErrorOutputPrefix: "errors/!{firehose:error-output-type}/",
        BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 0 },
        DynamicPartitioningConfiguration: { Enabled: true },
        ProcessingConfiguration: {
          Enabled: true,
          Processors: [
            { Type: "MetadataExtraction", Parameters: [
              { ParameterName: "MetadataExtractionQuery", ParameterValue: "{customer: .customer}" },
              { ParameterName: "JsonParsingEngine", ParameterValue: "JQ-1.6" },
            ] },
            { Type: "AppendDelimiterToRecord", Parameters: [] },
          ],
        },
      },
    }));
    await put(name, ['{"customer":"a","n":1}', '{"customer":"b","n":2}', '{"customer":"a","n":3}']);
    const dir = join(buckets, "js-parts");
    const objects = await until(async () => {
      const found = await files(dir);
      return found.length === 2 && found;
    });
    const byPrefix = Object.fromEntries(await Promise.all(objects.map(async (f) => [relative(dir, f).split("/")[0], await readFile(f, "utf8")])));
    assert.deepEqual(byPrefix, {
      "customer=a": '{"customer":"a","n":1}\n{"customer":"a","n":3}\n',
      "customer=b": '{"customer":"b","n":2}\n',
    });
  });

  it("posts to an HTTP endpoint in Firehose's request format", async () => {
    const endpoint = await receiver((_path, headers, body) => {
      const request = JSON.parse(body);
      return [200, { requestId: headers["x-amz-firehose-request-id"], timestamp: request.timestamp }];
    });
    try {
      const name = "js-http";
      await client.send(new CreateDeliveryStreamCommand({
        DeliveryStreamName: name,
        HttpEndpointDestinationConfiguration: {
          EndpointConfiguration: { Url: endpoint.url, Name: "js", AccessKey: "secret" },
          BufferingHints: now, S3Configuration: backup(name),
        },
      }));
      await put(name, ["one", "two"]);
      const [request] = await until(() => endpoint.requests.length && endpoint.requests);
      const body = JSON.parse(request.body);
      assert.equal(body.requestId, request.headers["x-amz-firehose-request-id"]);
      assert.equal(request.headers["x-amz-firehose-access-key"], "secret");
      assert.deepEqual(body.records.map((r) => Buffer.from(r.data, "base64").toString()), ["one", "two"]);
    } finally {
      endpoint.close();
    }
  });

  it("indexes documents in an OpenSearch cluster with _bulk", async () => {
    const cluster = await receiver((path, _headers, body) => {
      const lines = body.toString().trimEnd().split("\n");
      const items = [];
      for (let i = 0; i < lines.length; i += 2) {
        const meta = JSON.parse(lines[i]).index;
        items.push({ index: { _index: meta._index, _id: meta._id, status: 201, result: "created" } });
      }
      return path === "/_bulk" ? [200, { took: 1, errors: false, items }] : [404, {}];
    });
    try {
      const name = "js-opensearch";
      await client.send(new CreateDeliveryStreamCommand({
        DeliveryStreamName: name,
        AmazonopensearchserviceDestinationConfiguration: {
          RoleARN: ROLE, ClusterEndpoint: cluster.url, IndexName: "logs", IndexRotationPeriod: "NoRotation",
          BufferingHints: now, S3Configuration: backup(name),
        },
      }));
      const described = await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name }));
      const os = described.DeliveryStreamDescription.Destinations[0].AmazonopensearchserviceDestinationDescription;
      assert.equal(os.DocumentIdOptions.DefaultDocumentIdFormat, "FIREHOSE_DEFAULT");
      await put(name, ['{"a":1}', '{"a":2}']);
      const [bulk] = await until(() => cluster.requests.length && cluster.requests);
      const lines = bulk.body.toString().trimEnd().split("\n");
      assert.equal(lines.length, 4);
      assert.equal(JSON.parse(lines[0]).index._index, "logs");
      assert.ok(JSON.parse(lines[0]).index._id);
      assert.deepEqual(JSON.parse(lines[3]), { a: 2 });
    } finally {
      cluster.close();
    }
  });

  it("sends events to Splunk and waits for their acknowledgement", async () => {
    let nextAck = 0;
    const collector = await receiver((path, headers, body) => {
      if (headers.authorization !== `Splunk ${HEC_TOKEN}`) return [403, { text: "Invalid token", code: 4 }];
      if (path.startsWith("/services/collector/ack")) {
        const { acks } = JSON.parse(body);
        return [200, { acks: Object.fromEntries(acks.map((id) => [String(id), id < nextAck])) }];
      }
      return [200, { text: "Success", code: 0, ackId: nextAck++ }];
    });
    try {
      const name = "js-splunk";
      await client.send(new CreateDeliveryStreamCommand({
        DeliveryStreamName: name,
        SplunkDestinationConfiguration: {
          HECEndpoint: collector.url, HECEndpointType: "Event", HECToken: HEC_TOKEN,
          BufferingHints: now, S3Configuration: backup(name),
        },
      }));
      const described = await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name }));
      const splunk = described.DeliveryStreamDescription.Destinations[0].SplunkDestinationDescription;
      assert.equal(splunk.HECAcknowledgmentTimeoutInSeconds, 180);
      await put(name, ['{"event":"login","sourcetype":"app"}']);
      const requests = await until(() => collector.requests.some((r) => r.path.startsWith("/services/collector/ack")) && collector.requests);
      const [send, poll] = requests;
      assert.equal(send.path, "/services/collector/event");
      assert.equal(send.body.toString(), '{"event":"login","sourcetype":"app"}');
      assert.equal(poll.headers["x-splunk-request-channel"], send.headers["x-splunk-request-channel"]);
      assert.deepEqual(JSON.parse(poll.body), { acks: [0] });
    } finally {
      collector.close();
    }
  });
});
