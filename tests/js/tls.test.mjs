// TLS with the unmodified AWS SDK for JavaScript v3: Kinesis over HTTP/2 (the client's default
// NodeHttp2Handler, ALPN `h2`) including a SubscribeToShard event stream, Firehose over HTTPS
// HTTP/1.1 (its default handler), every request SigV4-verified; the certificates come from
// `spate cert generate` and the clients trust its authority only.

import { randomUUID } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  CreateStreamCommand,
  DescribeStreamConsumerCommand,
  KinesisClient,
  ListStreamsCommand,
  PutRecordsCommand,
  RegisterStreamConsumerCommand,
  SubscribeToShardCommand,
  waitUntilStreamExists,
} from "@aws-sdk/client-kinesis";
import { FirehoseClient, ListDeliveryStreamsCommand } from "@aws-sdk/client-firehose";

import { SPATE_BIN, startServer, stopServer } from "./spate-server.mjs";

const credentials = { accessKeyId: "AKIDTLS", secretAccessKey: "tls-secret" };

describe("TLS with @aws-sdk/client-kinesis (HTTP/2) and @aws-sdk/client-firehose (HTTP/1.1)", () => {
  let server;
  let endpoint;
  let ca;
  let kinesis;
  const protocolsSeen = new Set();

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), "spate-tls-"));
    const generated = spawnSync(SPATE_BIN, ["cert", "generate", "--dir", dir], { encoding: "utf8" });
    assert.equal(generated.status, 0, generated.stderr);
    ca = readFileSync(join(dir, "ca.pem"));
    const keys = join(dir, "credentials.toml");
    writeFileSync(
      keys,
      '[[credentials]]\naccess_key_id = "AKIDTLS"\nsecret_access_key = "tls-secret"\nprincipal = "arn:aws:iam::000000000000:user/tls"\n',
    );
    ({ child: server, endpoint } = await startServer([
      "--tls-cert", join(dir, "cert.pem"),
      "--tls-key", join(dir, "key.pem"),
      "--credentials-file", keys,
    ]));
    // Options for the client's own default handler (NodeHttp2Handler): trust the authority.
    kinesis = new KinesisClient({
      endpoint,
      region: "us-east-1",
      credentials,
      requestHandler: { nodeHttp2ConnectOptions: { ca } },
    });
    kinesis.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        protocolsSeen.add(result.response?.body?.session?.alpnProtocol);
        return result;
      },
      { step: "deserialize", priority: "low", name: "recordHttpProtocol" },
    );
  });

  after(async () => {
    kinesis?.destroy();
    if (server) await stopServer(server);
  });

  it("serves https", () => {
    assert.match(endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it("streams SubscribeToShard events over HTTP/2 with TLS", { timeout: 60_000 }, async () => {
    const StreamName = `js-tls-${randomUUID().slice(0, 8)}`;
    await kinesis.send(new CreateStreamCommand({ StreamName, ShardCount: 1 }));
    await waitUntilStreamExists({ client: kinesis, minDelay: 1, maxDelay: 2, maxWaitTime: 20 }, { StreamName });
    const streamArn = `arn:aws:kinesis:us-east-1:000000000000:stream/${StreamName}`;
    const { Consumer } = await kinesis.send(
      new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: "tls" }),
    );
    for (;;) {
      const { ConsumerDescription } = await kinesis.send(
        new DescribeStreamConsumerCommand({ ConsumerARN: Consumer.ConsumerARN }),
      );
      if (ConsumerDescription.ConsumerStatus === "ACTIVE") break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const abort = new AbortController();
    try {
      const response = await kinesis.send(
        new SubscribeToShardCommand({
          ConsumerARN: Consumer.ConsumerARN,
          ShardId: "shardId-000000000000",
          StartingPosition: { Type: "TRIM_HORIZON" },
        }),
        { abortSignal: abort.signal },
      );
      const Records = Array.from({ length: 5 }, (_, i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(`r${i}`) }));
      await kinesis.send(new PutRecordsCommand({ StreamName, Records }));
      const got = [];
      for await (const event of response.EventStream) {
        got.push(...(event.SubscribeToShardEvent?.Records ?? []));
        if (got.length >= 5) break;
      }
      assert.deepEqual(got.map((r) => Buffer.from(r.Data).toString()), ["r0", "r1", "r2", "r3", "r4"]);
    } finally {
      abort.abort();
    }
    assert.deepEqual([...protocolsSeen], ["h2"]);
  });

  it("serves Firehose to the default HTTP/1.1 handler over TLS", async () => {
    const firehose = new FirehoseClient({
      endpoint,
      region: "us-east-1",
      credentials,
      requestHandler: { httpsAgent: new Agent({ ca }) },
    });
    const out = await firehose.send(new ListDeliveryStreamsCommand({}));
    assert.ok(Array.isArray(out.DeliveryStreamNames));
    firehose.destroy();
  });

  it("is refused by a client that does not trust the authority", async () => {
    const doubting = new KinesisClient({ endpoint, region: "us-east-1", credentials, maxAttempts: 1 });
    await assert.rejects(doubting.send(new ListStreamsCommand({})), (e) => {
      // HTTP/2 reports the refused handshake as the cause of a cancelled stream.
      assert.equal(e.cause?.code ?? e.code, "SELF_SIGNED_CERT_IN_CHAIN");
      return true;
    });
    doubting.destroy();
  });
});
