#!/usr/bin/env node
// @ts-check
/**
 * `npm run sim:azure -- [--port N] [--principal-lag N] [--latency-ms N] [--realistic] [--fault NAME]…`: starts the
 * Azure simulator (`--realistic` or WP_AZURE_SIM_REALISTIC=1: real-length propagation lags, cached listings and
 * small pages, see realism.mjs; `--fault` switches a named fault on)
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
  realistic: process.argv.includes("--realistic") || process.env.WP_AZURE_SIM_REALISTIC === "1" ? "real" : false,
  faultsOn: /** @type {import("./server.d.mts").FaultName[]} */ (
    process.argv.flatMap((a, i) => (a === "--fault" && process.argv[i + 1] ? [process.argv[i + 1]] : []))
  ),
});
process.stdout.on("error", () => {});
const quote = (/** @type {string} */ v) => `'${v.replace(/'/g, "'\\''")}'`;
// One write, ending with `# ready`: a script that redirects this to a file waits for that line.
process.stdout.write(
  `${Object.entries(sim.env)
    .map(([k, v]) => `export ${k}=${quote(v)}\n`)
    .join("")}# ready: Azure simulator on ${sim.url}\n`,
);
process.stderr.write(
  `Azure simulator on ${sim.url} (subscription ${sim.state.subscriptions[0]?.subscriptionId})` +
    `${sim.faults.lags.role ? `, realistic (real-length lags: ${JSON.stringify(sim.faults.lags)})` : ""}` +
    `${sim.faults.active.size ? `, faults: ${[...sim.faults.active].join(", ")}` : ""}; Ctrl-C stops it.\n`,
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
