// The seed's idempotent consumer, unmodified (tests/js/seed/dedupe-handler.mjs, copied verbatim
// from the seed): a Node handler behind an event source mapping claims each event id with
// @aws-sdk/client-dynamodb's PutItem and `attribute_not_exists(eventId)`; duplicates fail the
// condition and are skipped. Spate runs the stream, the mapping, the handler and the table.

import { randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { CreateStreamCommand, KinesisClient, PutRecordCommand, waitUntilStreamExists } from "@aws-sdk/client-kinesis";
import { CreateEventSourceMappingCommand, LambdaClient } from "@aws-sdk/client-lambda";

import { startServer, stopServer } from "./spate-server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const credentials = { accessKeyId: "AKIDDDB", secretAccessKey: "ddb-secret" };

async function eventually(check, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe("DynamoDB with @aws-sdk/client-dynamodb: the seed's dedupe claim", () => {
  let server;
  let endpoint;
  let ddb;

  before(async () => {
    ({ child: server, endpoint } = await startServer([
      "--function", `dedupe=node:${join(here, "seed", "dedupe-handler.handler")}`,
    ]));
    ddb = new DynamoDBClient({ endpoint, region: "us-east-1", credentials });
    await ddb.send(new CreateTableCommand({
      TableName: "dedupe",
      KeySchema: [{ AttributeName: "eventId", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "eventId", AttributeType: "S" }],
      BillingMode: "PAY_PER_REQUEST",
    }));
  });

  after(async () => {
    ddb?.destroy();
    if (server) await stopServer(server);
  });

  it("claims an event id once; the second claim is ConditionalCheckFailedException", async () => {
    const claim = () => ddb.send(new PutItemCommand({
      TableName: "dedupe",
      Item: { eventId: { S: "direct" }, ts: { N: String(Date.now()) } },
      ConditionExpression: "attribute_not_exists(eventId)",
    }));
    await claim();
    await assert.rejects(claim(), (e) => {
      assert.equal(e.name, "ConditionalCheckFailedException");
      assert.equal(e.$metadata.httpStatusCode, 400);
      return true;
    });
  });

  it("runs the seed's handler unmodified behind an event source mapping", { timeout: 60_000 }, async () => {
    const kinesis = new KinesisClient({ endpoint, region: "us-east-1", credentials });
    const lambda = new LambdaClient({ endpoint, region: "us-east-1", credentials });
    const StreamName = `dedupe-${randomUUID().slice(0, 8)}`;
    await kinesis.send(new CreateStreamCommand({ StreamName, ShardCount: 1 }));
    await waitUntilStreamExists({ client: kinesis, minDelay: 1, maxDelay: 2, maxWaitTime: 20 }, { StreamName });
    await lambda.send(new CreateEventSourceMappingCommand({
      FunctionName: "dedupe",
      EventSourceArn: `arn:aws:kinesis:us-east-1:000000000000:stream/${StreamName}`,
      StartingPosition: "TRIM_HORIZON",
      BatchSize: 10,
    }));
    // Duplicates in one batch and across batches: each id is claimed once, and the handler
    // skips the rest instead of failing (a failure would hold the shard: "last" never arrives).
    for (const id of ["a", "b", "a", "c", "b"]) {
      await kinesis.send(new PutRecordCommand({ StreamName, PartitionKey: "k", Data: Buffer.from(JSON.stringify({ eventId: id })) }));
    }
    const claimed = (id) => ddb.send(new GetItemCommand({ TableName: "dedupe", Key: { eventId: { S: id } }, ConsistentRead: true }));
    await eventually(async () => assert.ok((await claimed("c")).Item, "c claimed"));
    await kinesis.send(new PutRecordCommand({ StreamName, PartitionKey: "k", Data: Buffer.from(JSON.stringify({ eventId: "a" })) }));
    await kinesis.send(new PutRecordCommand({ StreamName, PartitionKey: "k", Data: Buffer.from(JSON.stringify({ eventId: "last" })) }));
    await eventually(async () => assert.ok((await claimed("last")).Item, "last claimed"));
    for (const id of ["a", "b", "c"]) {
      const { Item } = await claimed(id);
      assert.match(Item.ts.N, /^\d{13}$/);
    }
    kinesis.destroy();
    lambda.destroy();
  });
});
