// Start-up benchmark: median wall time and peak memory of `node -e 0`, `wp --help`,
// `wp ls -o json` on an embedded store holding 200 pools, and `wp inspect`. Prints one JSON document.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

const RUNS = Number(process.env.WP_BENCH_RUNS ?? 15);
const root = new URL("..", import.meta.url).pathname;
const wp = join(root, "bin/wp.js");
const home = mkdtempSync(join(tmpdir(), "wp-bench-"));
const env = { ...process.env, WP_HOME: join(home, "wp"), PREFECT_HOME: join(home, "prefect"), NO_COLOR: "1" };
for (const k of ["PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE"]) delete env[k];

function run(args, extraEnv = {}) {
  const r = spawnSync(process.execPath, args, { env: { ...env, ...extraEnv }, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r;
}

// Seed 200 pools through the embedded API in-process (the CLI would take 200 process starts).
const { createEmbeddedApi } = await import(join(root, "dist/prefect/embedded/api.js"));
const api = createEmbeddedApi({ home: env.WP_HOME });
const template = JSON.parse(run([wp, "get-default-base-job-template", "--type", "process"]).stdout);
for (let i = 0; i < 200; i++) {
  const res = await api.handle({
    method: "POST",
    path: "/work_pools/",
    body: { name: `pool-${i}`, type: "process", base_job_template: template, is_paused: false },
  });
  if (res.status !== 201) throw new Error(`seeding failed: ${res.status}`);
}
api.close();

function measure(name, args) {
  run(args); // warm the file cache
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    run(args);
    times.push(performance.now() - t0);
  }
  const rssFile = join(home, `${name.replace(/\W+/g, "_")}.rss`);
  for (let i = 0; i < 3; i++)
    run(["--import", join(root, "bench/rss-hook.mjs"), ...args], { WP_BENCH_RSS_FILE: rssFile });
  const rss = readFileSync(rssFile, "utf8").trim().split("\n").map(Number);
  times.sort((a, b) => a - b);
  return {
    name,
    medianMs: Math.round(times[Math.floor(times.length / 2)] * 10) / 10,
    peakRssMB: Math.round(Math.max(...rss) / 102.4) / 10,
  };
}

const results = [
  measure("node -e 0", ["-e", "0"]),
  measure("wp --help", [wp, "--help"]),
  measure("wp ls -o json (200 pools)", [wp, "ls", "-o", "json"]),
  measure("wp inspect", [wp, "inspect", "pool-100", "-o", "json"]),
];
const base = results[0].medianMs;
const help = results[1].medianMs;
process.stdout.write(
  `${JSON.stringify({ runs: RUNS, node: process.version, results, helpVsNode: Math.round((help / base) * 100) / 100 }, null, 2)}\n`,
);
rmSync(home, { recursive: true, force: true });
