#!/usr/bin/env node
// @ts-check
/**
 * `npm run sim:azure -- [--port N] [--principal-lag N] [--latency-ms N]`: starts the Azure simulator
 * with one subscription, prints the `export NAME=value` lines that point wp at it, then serves until
 * stopped (Ctrl-C). Requests are logged to stderr, one line each.
 */
import { startAzureSim } from "./server.mjs";

/** @param {string} name */
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const sim = await startAzureSim({
  port: Number(arg("--port") ?? 0),
  principalLag: Number(arg("--principal-lag") ?? 0),
  latencyMs: Number(arg("--latency-ms") ?? 0),
});
process.stdout.on("error", () => {});
const quote = (/** @type {string} */ v) => `'${v.replace(/'/g, "'\\''")}'`;
for (const [k, v] of Object.entries(sim.env)) process.stdout.write(`export ${k}=${quote(v)}\n`);
process.stderr.write(
  `Azure simulator on ${sim.url} (subscription ${sim.state.subscriptions[0]?.subscriptionId}); Ctrl-C stops it.\n`,
);
let seen = 0;
const timer = setInterval(() => {
  for (; seen < sim.state.log.length; seen++) {
    const e = sim.state.log[seen];
    if (e) process.stderr.write(`${e.status} ${e.method} ${e.path}\n`);
  }
}, 200);
const stop = () => {
  clearInterval(timer);
  void sim.close().then(() => process.exit(0));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
