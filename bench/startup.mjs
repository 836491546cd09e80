// Start-up benchmark, on each Node (the machine's, and Node 24 from .node24/, installed by scripts/node24.sh):
// `wp --help`, `wp ls -o json` on an embedded store holding 200 pools, and `wp ls -o json` against a
// `wp server` holding 50 pools, each timed in interleaved pairs with `node -e 0` on the same Node (so load on
// the machine hits both sides of a pair alike). Prints the median wall time, the median of the per-pair ratios,
// the best run and its ratio to node's best run, the peak RSS, and for the server run the time its event loop sat waiting (from a CPU profile) beside the time the
// server takes to answer the same two requests. WP_BENCH_RUNS (default 25) pairs per command; WP_BENCH_NODES=path:path overrides
// the Nodes.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

const RUNS = Number(process.env.WP_BENCH_RUNS ?? 25);
const root = new URL("..", import.meta.url).pathname;
const wp = join(root, "bin/wp.js");
const home = mkdtempSync(join(tmpdir(), "wp-bench-"));
const baseEnv = { ...process.env, NO_COLOR: "1" };
for (const k of ["PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE", "PREFECT_API_AUTH_STRING"]) delete baseEnv[k];
const embeddedEnv = { ...baseEnv, WP_HOME: join(home, "wp"), PREFECT_HOME: join(home, "prefect") };

function nodes() {
  if (process.env.WP_BENCH_NODES) return process.env.WP_BENCH_NODES.split(":");
  const node24 = execFileSync("bash", [join(root, "scripts/node24.sh")], { encoding: "utf8" }).trim();
  return [process.execPath, node24];
}

function run(node, args, env) {
  const t0 = performance.now();
  const r = spawnSync(node, args, { env, encoding: "utf8", maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${node} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

/** Seeds `count` pools into the embedded store at `wpHome`, in-process (the CLI would take a process per pool). */
async function seed(wpHome, count) {
  const { createEmbeddedApi } = await import(join(root, "dist/embedded-api.js"));
  const api = createEmbeddedApi({ home: wpHome });
  const template = JSON.parse(
    run(process.execPath, [wp, "get-default-base-job-template", "-t", "process"], baseEnv).stdout,
  );
  for (let i = 0; i < count; i++) {
    const res = await api.handle({
      method: "POST",
      path: "/work_pools/",
      body: { name: `pool-${i}`, type: "process", base_job_template: template, is_paused: false },
    });
    if (res.status !== 201) throw new Error(`seeding failed: ${res.status}`);
  }
  api.close();
}

/** `wp server` on a free port over a store of 50 pools; resolves with its API URL and a stop function. */
async function startServer(node) {
  const env = { ...baseEnv, WP_HOME: join(home, "server"), PREFECT_HOME: join(home, "server-prefect") };
  const child = spawn(node, [wp, "server", "start", "--port", "0"], { env, stdio: ["ignore", "pipe", "pipe"] });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(out.trim());
    });
    child.on("exit", (code) => reject(new Error(`wp server exited ${code}`)));
  });
  const stop = () =>
    new Promise((resolve) => {
      child.removeAllListeners("exit");
      child.on("exit", resolve);
      child.kill("SIGINT");
    });
  return { url, stop };
}

/** How long the server takes to answer what `wp ls` asks (its CSRF token, then the pool filter), in-process. */
async function serverAnswerMs(url) {
  const times = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    const headers = { "content-type": "application/json", "x-prefect-api-version": "0.8.4" };
    await (await fetch(`${url}/csrf-token?client=bench`, { headers })).text();
    await (await fetch(`${url}/work_pools/filter`, { method: "POST", headers, body: "{}" })).text();
    times.push(performance.now() - t0);
  }
  return median(times);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** Peak RSS (MB) and CPU time (ms) of 3 runs, via bench/rss-hook.mjs. */
function usage(node, args, env, tag) {
  const file = join(home, `${tag}.usage`);
  for (let i = 0; i < 3; i++)
    run(node, ["--import", join(root, "bench/rss-hook.mjs"), ...args], {
      ...env,
      WP_BENCH_RSS_FILE: file,
      WP_BENCH_CPU_FILE: `${file}.cpu`,
    });
  const rss = readFileSync(file, "utf8").trim().split("\n").map(Number);
  const cpu = readFileSync(`${file}.cpu`, "utf8").trim().split("\n").map(Number);
  return { peakRssMB: round(Math.max(...rss) / 1024), cpuMs: round(median(cpu) / 1000) };
}

/** Time the event loop sat waiting (V8's "(idle)" samples in a CPU profile; median of 3 runs), in ms. */
function idleMs(node, args, env, tag) {
  const idle = [];
  for (let i = 0; i < 3; i++) {
    const dir = join(home, `prof-${tag}-${i}`);
    run(node, ["--cpu-prof", "--cpu-prof-dir", dir, ...args], env);
    const p = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), "utf8"));
    const idleIds = new Set(p.nodes.filter((n) => n.callFrame.functionName === "(idle)").map((n) => n.id));
    let us = 0;
    p.samples.forEach((id, k) => {
      if (idleIds.has(id)) us += p.timeDeltas[k] ?? 0;
    });
    idle.push(us / 1000);
  }
  return median(idle);
}

async function benchNode(node) {
  const version = execFileSync(node, ["-v"], { encoding: "utf8" }).trim();
  const server = await startServer(node);
  const serverEnv = { ...baseEnv, WP_HOME: join(home, "client"), PREFECT_HOME: join(home, "client-prefect") };
  serverEnv.PREFECT_API_URL = server.url;
  const cases = [
    { name: "wp --help", args: [wp, "--help"], env: embeddedEnv },
    { name: "wp ls -o json (embedded, 200 pools)", args: [wp, "ls", "-o", "json"], env: embeddedEnv },
    { name: "wp ls -o json (wp server, 50 pools)", args: [wp, "ls", "-o", "json"], env: serverEnv },
  ];
  const baseline = { args: ["-e", "0"], env: baseEnv };
  try {
    for (const c of [baseline, ...cases]) run(node, c.args, c.env); // warm the file and compile caches
    const base = [];
    const rows = cases.map((c) => ({ ...c, ms: [], ratio: [] }));
    for (let i = 0; i < RUNS; i++) {
      for (const r of rows) {
        const b = run(node, baseline.args, baseline.env).ms;
        const t = run(node, r.args, r.env).ms;
        base.push(b);
        r.ms.push(t);
        r.ratio.push(t / b);
      }
    }
    const answers = await serverAnswerMs(server.url);
    const baseUsage = usage(node, baseline.args, baseline.env, `${version}-base`);
    const results = [
      { name: "node -e 0", medianMs: round(median(base)), minMs: round(Math.min(...base)), ...baseUsage },
    ];
    rows.forEach((r, i) => {
      const u = usage(node, r.args, r.env, `${version}-${i}`);
      const row = {
        name: r.name,
        medianMs: round(median(r.ms)),
        vsNode: round(median(r.ratio), 2),
        // Best of the runs against node's best: what the machine's other load cannot inflate.
        minMs: round(Math.min(...r.ms)),
        minVsNode: round(Math.min(...r.ms) / Math.min(...base), 2),
        ...u,
      };
      if (r.env === serverEnv) {
        // The event loop's waiting time, less the server's own answers: what wp itself spends waiting on nothing.
        const idle = idleMs(node, r.args, r.env, `${version}-${i}`);
        row.serverAnswersMs = round(answers);
        row.idleMs = round(idle);
        row.idleBeyondAnswersMs = round(Math.max(0, idle - answers));
      }
      results.push(row);
    });
    return { node: version, results };
  } finally {
    await server.stop();
  }
}

try {
  const all = nodes();
  for (const n of all) if (!existsSync(n)) throw new Error(`no Node at ${n}`);
  await seed(embeddedEnv.WP_HOME, 200);
  await seed(join(home, "server"), 50);
  const out = { runs: RUNS, nodes: [] };
  for (const n of all) out.nodes.push(await benchNode(n));
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  for (const n of out.nodes)
    for (const r of n.results)
      process.stderr.write(
        `${n.node.padEnd(9)} ${r.name.padEnd(38)} ${String(r.medianMs).padStart(7)} ms  ${r.vsNode ? `${r.vsNode.toFixed(2)}×` : "     "}  best ${String(r.minMs).padStart(6)} ms${r.minVsNode ? ` ${r.minVsNode.toFixed(2)}×` : "      "}  ${String(r.peakRssMB).padStart(6)} MB${r.idleMs !== undefined ? `  idle ${r.idleMs} ms, server answers ${r.serverAnswersMs} ms` : ""}\n`,
      );
} finally {
  rmSync(home, { recursive: true, force: true });
}
