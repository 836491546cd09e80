// Cloud Run provisioning benchmark: `wp create … --type cloud-run-v2:push --provision-infra --yes`
// against the GCP simulator (test/sim/gcp, compiled by tsc) with 100 ms added to every request, then
// the same command again; both concurrent and `--sequential`. Run on its own (`node bench/provision-gcp.mjs`
// after `npm run build`) or from bench/provision.mjs. Prints one JSON document; progress on stderr.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";

const LATENCY_MS = 100;
const root = new URL("..", import.meta.url).pathname;
const wp = join(root, "bin/wp.js");
const log = (m) => process.stderr.write(`[bench:gcp] ${m}\n`);

async function loadSim() {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const built = spawnSync(process.execPath, [tsc, "-p", join(root, "test/sim/tsconfig.json")], { stdio: "inherit" });
  if (built.status !== 0) throw new Error("compiling the GCP simulator failed");
  return import(pathToFileURL(join(root, ".wp-test-sim/gcp/server.js")).href);
}

async function run(label, args, env, sim) {
  sim.clearLog();
  const t0 = performance.now();
  const child = spawn(process.execPath, [wp, ...args], { env, cwd: env.HOME, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => {
    stdout += c;
  });
  child.stderr.on("data", (c) => {
    stderr += c;
  });
  const code = await new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  const wallMs = Math.round(performance.now() - t0);
  if (code !== 0) throw new Error(`${label}: wp exited ${code}\n${stderr}`);
  const report = JSON.parse(stdout);
  if (report.ok === false) throw new Error(`${label}: verify failed:\n${stdout}`);
  const failed = (report.results ?? []).filter((r) => r.status === "failed");
  if (failed.length) throw new Error(`${label}: failed steps: ${JSON.stringify(failed)}`);
  const requests = sim.log.filter((r) => r.path !== "/token").length;
  const summary = { wallMs, requests, mutating: sim.mutations().length };
  log(`${label}: ${wallMs} ms, ${requests} Google requests (${summary.mutating} mutating)`);
  if (process.env.WP_BENCH_TRACE === "1")
    for (const r of sim.log.filter((x) => x.path !== "/token")) log(`  ${r.method} ${r.path}`.slice(0, 200));
  return summary;
}

async function scenario(name, GcpSim, extra) {
  const sim = new GcpSim({ latencyMs: LATENCY_MS, operationPolls: 1 });
  await sim.start();
  const home = mkdtempSync(join(tmpdir(), "wp-bench-gcp-"));
  try {
    const adc = join(home, "adc.json");
    writeFileSync(adc, sim.adcFile());
    mkdirSync(join(home, "bin"));
    const env = {
      HOME: home,
      PATH: join(home, "bin"),
      WP_HOME: join(home, "wp"),
      PREFECT_HOME: join(home, "prefect"),
      DOCKER_CONFIG: join(home, "docker"),
      DOCKER_HOST: `unix://${home}/no-engine.sock`,
      CLOUDSDK_CONFIG: join(home, "gcloud"),
      WP_GCP_ENDPOINT: sim.url,
      GOOGLE_APPLICATION_CREDENTIALS: adc,
      METADATA_SERVER_DETECTION: "none",
      WP_GCP_POLL_MS: String(LATENCY_MS),
      NO_COLOR: "1",
    };
    const args = ["create", "bench-pool", "--type", "cloud-run-v2:push", "--provision-infra", "--yes"];
    const all = [...args, "--project", "wp-sim-project", "-o", "json", ...extra];
    const create = await run(`${name} create`, all, env, sim);
    const rerun = await run(`${name} rerun`, all, env, sim);
    if (extra.length) return { create, rerun };
    const verifyEnv = { ...env, WP_VERIFY_POLL_MS: String(LATENCY_MS) };
    return {
      create,
      rerun,
      verify: await run(`${name} verify`, ["verify", "bench-pool", "-o", "json"], verifyEnv, sim),
    };
  } finally {
    await sim.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

export async function benchCloudRun() {
  const { GcpSim } = await loadSim();
  const concurrent = await scenario("concurrent", GcpSim, []);
  const sequential = await scenario("sequential", GcpSim, ["--sequential"]);
  return {
    latencyMs: LATENCY_MS,
    concurrent,
    sequential,
    speedup: Math.round((sequential.create.wallMs / concurrent.create.wallMs) * 100) / 100,
    goals: { rerunReadOnly: concurrent.rerun.mutating === 0 && sequential.rerun.mutating === 0 },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  try {
    process.stdout.write(`${JSON.stringify(await benchCloudRun(), null, 2)}\n`);
  } catch (err) {
    process.exitCode = 1;
    log(`failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
