// Spate's runner for Node.js handler modules: loads `<dir>/<module>.{mjs,js,cjs}` once and
// answers invocations over Spate's line protocol (one JSON line in on stdin, one out on
// stdout). The handler's own console output goes to stderr so it cannot break the protocol.
import { createInterface } from "node:readline";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { format } from "node:util";

const [dir, spec] = process.argv.slice(2);
const protocol = process.stdout.write.bind(process.stdout);
for (const name of ["log", "info", "debug", "warn", "error", "trace"]) {
  console[name] = (...args) => process.stderr.write(format(...args) + "\n");
}

function describe(e) {
  if (e instanceof Error) {
    return { errorType: e.name, errorMessage: e.message, stackTrace: (e.stack || "").split("\n").slice(1).map((l) => l.trim()) };
  }
  return { errorType: typeof e, errorMessage: String(e) };
}

async function load() {
  const dot = spec.lastIndexOf(".");
  if (dot <= 0) throw Object.assign(new Error(`Bad handler ${spec}`), { name: "Runtime.MalformedHandlerName" });
  const [moduleName, exportName] = [spec.slice(0, dot), spec.slice(dot + 1)];
  const file = [".mjs", ".js", ".cjs"].map((ext) => join(dir, moduleName + ext)).find(existsSync);
  if (!file) throw Object.assign(new Error(`Cannot find module '${moduleName}'`), { name: "Runtime.ImportModuleError" });
  const mod = await import(pathToFileURL(file).href);
  const fn = mod[exportName] ?? mod.default?.[exportName];
  if (typeof fn !== "function") {
    throw Object.assign(new Error(`${spec} is undefined or not exported`), { name: "Runtime.HandlerNotFound" });
  }
  return fn;
}

let handler, initError;
try {
  handler = await load();
} catch (e) {
  initError = describe(e);
}

function call(event, context) {
  if (handler.length >= 3) {
    return new Promise((resolve, reject) => {
      const r = handler(event, context, (err, result) => (err ? reject(err) : resolve(result)));
      if (r && typeof r.then === "function") r.then(resolve, reject);
    });
  }
  return Promise.resolve().then(() => handler(event, context));
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  const { id, event, context: c } = JSON.parse(line);
  if (initError) {
    protocol(JSON.stringify({ id, error: initError }) + "\n");
    continue;
  }
  const context = {
    functionName: c.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: c.invokedFunctionArn,
    memoryLimitInMB: String(c.memoryLimitInMB),
    awsRequestId: c.awsRequestId,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, c.deadlineMs - Date.now()),
  };
  let answer;
  try {
    const result = await call(event, context);
    answer = { id, result: result === undefined ? null : result };
  } catch (e) {
    answer = { id, error: describe(e) };
  }
  protocol(JSON.stringify(answer) + "\n");
}
