// Provisioning benchmark for Azure: `wp create … --type azure-container-instance:push --provision-infra`
// against the Azure simulator (test/sim/azure) with 100 ms added to every answer. Measures the concurrent
// engine against `--sequential` for a first run and a re-run (which must make no mutating request).
// Prints one JSON document; progress goes to stderr. Run after `npm run build`.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { startAzureSim } from "../test/sim/azure/server.mjs";

const LATENCY_MS = 100;
const root = new URL("..", import.meta.url).pathname;
const wp = join(root, "bin/wp.js");
const log = (m) => process.stderr.write(`[bench:aci] ${m}\n`);

function run(args, env) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [wp, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`wp ${args.join(" ")} exited ${code}:\n${err}`));
      resolve({ wallMs: Math.round(performance.now() - started), report: JSON.parse(out) });
    });
  });
}

async function scenario(name, extra) {
  const sim = await startAzureSim({ latencyMs: LATENCY_MS });
  const home = mkdtempSync(join(tmpdir(), "wp-bench-aci-"));
  try {
    const env = {
      PATH: process.env.PATH,
      HOME: home,
      WP_HOME: join(home, "wp"),
      PREFECT_HOME: join(home, "prefect"),
      DOCKER_CONFIG: join(home, "docker"),
      DOCKER_HOST: `unix://${home}/no-engine.sock`,
      NO_COLOR: "1",
      ...sim.env,
    };
    const args = [
      "create",
      "bench-pool",
      "--type",
      "azure-container-instance:push",
      "--provision-infra",
      "--yes",
      "-o",
      "json",
      ...extra,
    ];
    const summary = async (label, argv = args, runEnv = env) => {
      sim.clearLog();
      const { wallMs } = await run(argv, runEnv);
      const requests = sim.state.log.length;
      const mutating = sim.mutations().length;
      log(`${name} ${label}: ${wallMs} ms, ${requests} Azure requests (${mutating} mutating)`);
      if (process.env.WP_BENCH_TRACE === "1")
        for (const r of sim.state.log) log(`  ${JSON.stringify(r).slice(0, 400)}`);
      return { wallMs, requests, mutating };
    };
    const create = await summary("create");
    const rerun = await summary("rerun");
    if (extra.length) return { create, rerun };
    const verifyEnv = { ...env, WP_VERIFY_POLL_MS: String(LATENCY_MS) };
    return { create, rerun, verify: await summary("verify", ["verify", "bench-pool", "-o", "json"], verifyEnv) };
  } finally {
    await sim.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(sim.cert.dir, { recursive: true, force: true });
  }
}

/** Concurrent vs sequential create and re-run against the Azure simulator (+100 ms per answer). */
export async function benchAci() {
  const concurrent = await scenario("concurrent", []);
  const sequential = await scenario("sequential", ["--sequential"]);
  return {
    latencyMs: LATENCY_MS,
    concurrent,
    sequential,
    speedup: Math.round((sequential.create.wallMs / concurrent.create.wallMs) * 100) / 100,
    goals: {
      concurrentFaster: concurrent.create.wallMs < sequential.create.wallMs,
      rerunReadOnly: concurrent.rerun.mutating === 0 && sequential.rerun.mutating === 0,
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.stdout.write(`${JSON.stringify(await benchAci(), null, 2)}\n`);
}
