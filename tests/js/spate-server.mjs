// Starts and stops the real `spate` binary for the end-to-end suites.
//
// SPATE_BIN selects the binary (default /work/cargo-target/release/spate).

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

export const SPATE_BIN = process.env.SPATE_BIN || "/work/cargo-target/release/spate";
const STARTUP_TIMEOUT_MS = 20_000;
const LISTENING = /^spate listening on (https?:\/\/\S+)$/;

/** Starts `spate serve` on a free port (with `extraArgs`); resolves once it prints its
 * listening line. */
export function startServer(extraArgs = []) {
  const child = spawn(
    SPATE_BIN,
    [
      "serve",
      "--host", "127.0.0.1",
      "--port", "0",
      "--in-memory",
      "--creating-delay-ms", "0",
      "--deleting-delay-ms", "0",
      "--updating-delay-ms", "0",
      ...extraArgs,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  // Keep the last logs so that a failure to start can show them.
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-16_384);
  });

  return new Promise((resolve, reject) => {
    const fail = (why) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      child.stdout.destroy();
      child.stderr.destroy();
      reject(new Error(`${why}\n--- spate stderr (tail) ---\n${stderr}`));
    };
    const timer = setTimeout(
      () => fail(`spate did not print its listening line within ${STARTUP_TIMEOUT_MS} ms`),
      STARTUP_TIMEOUT_MS,
    );
    child.once("error", (err) => fail(`cannot start ${SPATE_BIN}: ${err.message}`));
    child.once("exit", (code, signal) => fail(`spate exited early (code ${code}, signal ${signal})`));
    createInterface({ input: child.stdout }).on("line", (line) => {
      const match = LISTENING.exec(line.trim());
      if (match) {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        resolve({ child, endpoint: match[1] });
      }
    });
  });
}

/** Sends SIGTERM (graceful shutdown), SIGKILL after 5 s; resolves to how the process ended. */
export async function stopServer(child) {
  const exited = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode, early: true });
    } else {
      child.once("exit", (code, signal) => resolve({ code, signal }));
    }
  });
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  const ended = await exited;
  clearTimeout(timer);
  return ended;
}
