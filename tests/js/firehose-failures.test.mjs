// Firehose with the unmodified AWS SDK for JavaScript v3 over HTTP/2 cleartext, the paths
// where records do not go through as sent: record format conversion by a Glue table made with
// @aws-sdk/client-glue (Parquet out, misfits to format-conversion-failed), and destinations
// that refuse a batch (an HTTP endpoint's 500, an OpenSearch item's 400, Splunk's invalid
// token) with RetryOptions of 0 seconds, so the records go to the S3 backup at once as error
// records. The Python suite reads the Parquet files back with pyarrow and tests each failure
// path in depth.
//
// SPATE_BIN selects the binary (default /work/cargo-target/release/spate).

import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";

import { CreateDeliveryStreamCommand, FirehoseClient, PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import { CreateDatabaseCommand, CreateTableCommand, GetTableCommand, GlueClient } from "@aws-sdk/client-glue";
import { NodeHttp2Handler } from "@smithy/node-http-handler";

import { files, receiver, until } from "./helpers.mjs";
import { startServer, stopServer } from "./spate-server.mjs";

const credentials = { accessKeyId: "spate", secretAccessKey: "spate" };
const ROLE = "arn:aws:iam::000000000000:role/firehose";
const now = { SizeInMBs: 1, IntervalInSeconds: 0 };
const noRetries = { DurationInSeconds: 0 };

describe("Firehose failure paths with the JavaScript SDK v3 (HTTP/2)", () => {
  let server;
  let buckets;
  let firehose;
  let glue;

  before(async () => {
    buckets = await mkdtemp(join(tmpdir(), "spate-js-fail-"));
    server = await startServer(["--buckets-dir", buckets, "--firehose-allow-http"]);
    const config = { region: "us-east-1", endpoint: server.endpoint, credentials, requestHandler: new NodeHttp2Handler() };
    firehose = new FirehoseClient(config);
    glue = new GlueClient({ ...config, requestHandler: new NodeHttp2Handler() });
  });

  after(async () => {
    firehose?.destroy();
    glue?.destroy();
    if (server) await stopServer(server.child);
    await rm(buckets, { recursive: true, force: true });
  });

  const put = (name, records) => firehose.send(new PutRecordBatchCommand({
    DeliveryStreamName: name, Records: records.map((r) => ({ Data: Buffer.from(r) })),
  }));

  /** The JSON lines of every object under `bucket/prefix` once there are `count` of them. */
  const errorLines = async (bucket, prefix, count) => {
    const dir = join(buckets, bucket);
    return until(async () => {
      const found = (await files(dir)).filter((f) => relative(dir, f).startsWith(prefix));
      const lines = (await Promise.all(found.map((f) => readFile(f, "utf8"))))
        .flatMap((text) => text.split("\n").filter(Boolean).map((l) => JSON.parse(l)));
      return lines.length >= count && lines;
    });
  };

  it("converts JSON to Parquet by a Glue table and sends misfits to the error output", async () => {
    await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: "jsdb" } }));
    await glue.send(new CreateTableCommand({
      DatabaseName: "jsdb",
      TableInput: { Name: "clicks", StorageDescriptor: { Columns: [{ Name: "page", Type: "string" }, { Name: "n", Type: "int" }] } },
    }));
    const table = await glue.send(new GetTableCommand({ DatabaseName: "jsdb", Name: "clicks" }));
    assert.deepEqual(table.Table.StorageDescriptor.Columns.map((c) => c.Type), ["string", "int"]);
    await firehose.send(new CreateDeliveryStreamCommand({
      DeliveryStreamName: "js-parquet",
      ExtendedS3DestinationConfiguration: {
        RoleARN: ROLE, BucketARN: "arn:aws:s3:::js-parquet", Prefix: "data/",
        ErrorOutputPrefix: "errors/!{firehose:error-output-type}/",
        BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 0 },
        DataFormatConversionConfiguration: {
          SchemaConfiguration: { RoleARN: ROLE, DatabaseName: "jsdb", TableName: "clicks" },
          InputFormatConfiguration: { Deserializer: { OpenXJsonSerDe: {} } },
          OutputFormatConfiguration: { Serializer: { ParquetSerDe: { Compression: "SNAPPY" } } },
        },
      },
    }));
    await put("js-parquet", ['{"page":"/a","n":1}', '{"page":"/b","n":"many"}', "not json"]);
    const dir = join(buckets, "js-parquet");
    const data = await until(async () => (await files(dir)).find((f) => relative(dir, f).startsWith("data/")));
    assert.ok(data.endsWith(".parquet"), data);
    const body = await readFile(data);
    assert.equal(body.subarray(0, 4).toString(), "PAR1");
    assert.equal(body.subarray(body.length - 4).toString(), "PAR1");
    const lines = await errorLines("js-parquet", "errors/format-conversion-failed/", 2);
    assert.deepEqual(lines.map((l) => l.lastErrorCode).sort(),
      ["DataFormatConversion.MalformedData", "DataFormatConversion.ParseError"]);
    assert.ok(lines.every((l) => l.dataCatalogTable.tableName === "clicks"));
  });

  it("backs up what an HTTP endpoint refuses", async () => {
    const endpoint = await receiver(() => [500, { error: "down" }]);
    try {
      await firehose.send(new CreateDeliveryStreamCommand({
        DeliveryStreamName: "js-http-down",
        HttpEndpointDestinationConfiguration: {
          EndpointConfiguration: { Url: endpoint.url }, BufferingHints: now, RetryOptions: noRetries,
          S3Configuration: { RoleARN: ROLE, BucketARN: "arn:aws:s3:::js-http-backup" },
        },
      }));
      await put("js-http-down", ["lost?"]);
      const [line] = await errorLines("js-http-backup", "", 1);
      assert.equal(line.errorCode, "HttpEndpoint.DestinationException");
      assert.equal(Buffer.from(line.rawData, "base64").toString(), "lost?");
      assert.ok(endpoint.requests.length >= 1);
    } finally {
      endpoint.close();
    }
  });

  it("backs up documents an OpenSearch cluster refuses", async () => {
    const cluster = await receiver((_path, _headers, body) => {
      const lines = body.toString().trimEnd().split("\n");
      const items = [];
      for (let i = 0; i < lines.length; i += 2) {
        const bad = JSON.parse(lines[i + 1]).bad === true;
        items.push({ index: bad
          ? { status: 400, error: { type: "mapper_parsing_exception", reason: "failed to parse" } }
          : { status: 201, result: "created" } });
      }
      return [200, { took: 1, errors: items.some((i) => i.index.status >= 300), items }];
    });
    try {
      await firehose.send(new CreateDeliveryStreamCommand({
        DeliveryStreamName: "js-os-refused",
        AmazonopensearchserviceDestinationConfiguration: {
          RoleARN: ROLE, ClusterEndpoint: cluster.url, IndexName: "logs", IndexRotationPeriod: "NoRotation",
          BufferingHints: now, RetryOptions: noRetries,
          S3Configuration: { RoleARN: ROLE, BucketARN: "arn:aws:s3:::js-os-backup" },
        },
      }));
      await put("js-os-refused", ['{"ok":true}', '{"bad":true}']);
      const [line] = await errorLines("js-os-backup", "", 1);
      assert.equal(Buffer.from(line.rawData, "base64").toString(), '{"bad":true}');
      assert.equal(line.esIndexName, "logs");
      assert.match(line.errorCode, /400|mapper_parsing_exception/);
    } finally {
      cluster.close();
    }
  });

  it("backs up events Splunk refuses with an invalid token", async () => {
    const collector = await receiver(() => [403, { text: "Invalid token", code: 4 }]);
    try {
      await firehose.send(new CreateDeliveryStreamCommand({
        DeliveryStreamName: "js-splunk-refused",
        SplunkDestinationConfiguration: {
          HECEndpoint: collector.url, HECEndpointType: "Raw", HECToken: "00000000-0000-0000-0000-000000000000",
          BufferingHints: now, RetryOptions: noRetries,
          S3Configuration: { RoleARN: ROLE, BucketARN: "arn:aws:s3:::js-splunk-backup" },
        },
      }));
      await put("js-splunk-refused", ["event one"]);
      const [line] = await errorLines("js-splunk-backup", "", 1);
      assert.equal(line.errorCode, "Splunk.InvalidToken");
      assert.equal(Buffer.from(line.rawData, "base64").toString(), "event one");
    } finally {
      collector.close();
    }
  });
});
