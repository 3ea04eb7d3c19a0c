// SigV4 verification over HTTP/2 cleartext: the JS SDK v3 signs `host` from the endpoint, and
// HTTP/2 carries it as `:authority`; Spate must verify the two as one. A wrong secret is refused.

import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { KinesisClient, ListStreamsCommand } from "@aws-sdk/client-kinesis";

import { startServer, stopServer } from "./spate-server.mjs";

describe("SigV4 verification with @aws-sdk/client-kinesis (HTTP/2 cleartext)", () => {
  let server;
  let endpoint;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), "spate-auth-"));
    const keys = join(dir, "credentials.toml");
    writeFileSync(
      keys,
      '[[credentials]]\naccess_key_id = "AKIDJS"\nsecret_access_key = "js-secret"\nprincipal = "arn:aws:iam::000000000000:user/js"\n',
    );
    ({ child: server, endpoint } = await startServer(["--credentials-file", keys]));
  });

  after(async () => {
    await stopServer(server);
  });

  const client = (secretAccessKey) =>
    new KinesisClient({
      endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "AKIDJS", secretAccessKey },
      maxAttempts: 1,
    });

  it("accepts the configured key over h2c", async () => {
    const out = await client("js-secret").send(new ListStreamsCommand({}));
    assert.ok(Array.isArray(out.StreamNames));
  });

  it("refuses a wrong secret with InvalidSignatureException", async () => {
    await assert.rejects(client("wrong").send(new ListStreamsCommand({})), (e) => {
      assert.equal(e.name, "InvalidSignatureException");
      return true;
    });
  });
});
