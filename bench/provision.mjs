// Provisioning benchmark: `wp create … --type ecs:push --provision-infra` against moto_server behind a
// proxy that adds 100 ms to every AWS request. Measures the concurrent engine against `--sequential`,
// for a first run (full VPC path) and a re-run (which should be read-only). Prints one JSON document;
// progress and per-run request timelines go to stderr (WP_BENCH_TRACE=1 adds every request). The same
// for Cloud Run against the GCP simulator (bench/provision-gcp.mjs; result key `cloudRun`) and ACI against the Azure
// simulator (bench/provision-aci.mjs; result key `aci`) follow.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

const LATENCY_MS = 100;
const root = new URL("..", import.meta.url).pathname;
const wp = join(root, "bin/wp.js");
const trace = process.env.WP_BENCH_TRACE === "1";
const log = (m) => process.stderr.write(`[bench] ${m}\n`);
const sleep = (t) => new Promise((r) => setTimeout(r, t));
const cleanups = [];
// The bench process itself loads @aws-sdk/client-ec2 (default-VPC removal); keep its Node 20 notice quiet.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function startMoto() {
  const port = await freePort();
  const child = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: "true" },
    stdio: "ignore",
  });
  let spawnError;
  child.on("error", (err) => {
    spawnError = err;
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null || spawnError) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };
  cleanups.push(stop);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (spawnError) throw new Error(`moto_server could not be started: ${spawnError.message}`);
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/moto-api/`)).status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error("moto_server did not answer within 30 s");
    await sleep(150);
  }
  return { url, stop };
}

const isMutating = (action) => !/^(Get|List|Describe)/.test(action);

/** Loopback proxy: waits LATENCY_MS, then forwards; records service, action and timing of each request. */
async function startProxy(target) {
  const to = new URL(target);
  const proxy = { url: "", requests: [], t0: performance.now(), inFlight: 0, maxInFlight: 0 };
  const server = createServer((req, res) => {
    const start = performance.now();
    proxy.inFlight += 1;
    proxy.maxInFlight = Math.max(proxy.maxInFlight, proxy.inFlight);
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      const amzTarget = req.headers["x-amz-target"];
      const scope = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(req.headers.authorization ?? "");
      const action =
        typeof amzTarget === "string"
          ? (amzTarget.split(".").pop() ?? "")
          : (new URLSearchParams(body.toString()).get("Action") ?? `${req.method} ${req.url}`);
      const rec = {
        service: scope?.[1] ?? "unknown",
        action,
        mutating: isMutating(action),
        startMs: start - proxy.t0,
        endMs: 0,
      };
      proxy.requests.push(rec);
      await sleep(LATENCY_MS);
      const done = () => {
        rec.endMs = performance.now() - proxy.t0;
        proxy.inFlight -= 1;
      };
      const fwd = request(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          up.on("end", done);
        },
      );
      fwd.on("error", (err) => {
        done();
        res.writeHead(502);
        res.end(String(err));
      });
      fwd.end(body);
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  proxy.url = `http://127.0.0.1:${server.address().port}`;
  proxy.reset = () => {
    proxy.requests = [];
    proxy.t0 = performance.now();
    proxy.maxInFlight = 0;
  };
  cleanups.push(() => new Promise((r) => server.close(() => r())));
  return proxy;
}

/**
 * moto's RunTask fails (HTTP 500) in a VPC without DNS hostnames: it reads an ENI's private DNS name,
 * which moto only sets when the VPC has them. Real AWS does not need them for a Fargate task with a
 * public IP, and wp (like Prefect) leaves the attribute alone; the benchmark turns it on for moto only.
 */
async function enableDnsHostnames(motoUrl) {
  const { EC2Client, DescribeVpcsCommand, ModifyVpcAttributeCommand } = await import("@aws-sdk/client-ec2");
  const ec2 = new EC2Client({
    endpoint: motoUrl,
    region: "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
  try {
    for (const v of (await ec2.send(new DescribeVpcsCommand({}))).Vpcs ?? [])
      await ec2.send(new ModifyVpcAttributeCommand({ VpcId: v.VpcId, EnableDnsHostnames: { Value: true } }));
  } finally {
    ec2.destroy();
  }
}

async function resetMoto(motoUrl) {
  const res = await fetch(`${motoUrl}/moto-api/reset`, { method: "POST" });
  if (!res.ok) throw new Error(`moto reset failed: ${res.status}`);
  const { EC2Client, DeleteSubnetCommand, DeleteVpcCommand, DescribeSubnetsCommand, DescribeVpcsCommand } =
    await import("@aws-sdk/client-ec2");
  const ec2 = new EC2Client({
    endpoint: motoUrl,
    region: "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
  try {
    const vpcs = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["true"] }] }));
    for (const v of vpcs.Vpcs ?? []) {
      const filter = [{ Name: "vpc-id", Values: [v.VpcId ?? ""] }];
      const subnets = await ec2.send(new DescribeSubnetsCommand({ Filters: filter }));
      for (const s of subnets.Subnets ?? []) await ec2.send(new DeleteSubnetCommand({ SubnetId: s.SubnetId ?? "" }));
      await ec2.send(new DeleteVpcCommand({ VpcId: v.VpcId ?? "" }));
    }
    const left = await ec2.send(new DescribeVpcsCommand({}));
    if ((left.Vpcs ?? []).length > 0) throw new Error(`moto still has ${left.Vpcs.length} VPC(s) after the reset`);
  } finally {
    ec2.destroy();
  }
}

function privateEnv(home, proxyUrl) {
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    WP_HOME: join(home, "wp"),
    PREFECT_HOME: join(home, "prefect"),
    DOCKER_CONFIG: join(home, "docker"),
    DOCKER_HOST: `unix://${home}/no-engine.sock`,
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_REGION: "us-east-1",
    AWS_ENDPOINT_URL: proxyUrl,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: "/nonexistent",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    NO_COLOR: "1",
  };
  mkdirSync(env.DOCKER_CONFIG, { recursive: true });
  return env;
}

/** Runs the CLI once; returns wall time, the proxy's records and the child's stderr lines with their times. */
async function runCli(label, args, env, proxy) {
  proxy.reset();
  const t0 = performance.now();
  const child = spawn(process.execPath, [wp, ...args], { env, cwd: env.HOME, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  const stderrLines = [];
  let partial = "";
  child.stdout.on("data", (c) => {
    stdout += c;
  });
  child.stderr.on("data", (c) => {
    const now = performance.now() - proxy.t0;
    const parts = (partial + c).split("\n");
    partial = parts.pop() ?? "";
    for (const line of parts) stderrLines.push({ atMs: now, line });
  });
  const code = await new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (c) => resolve(c));
  });
  const wallMs = Math.round(performance.now() - t0);
  if (partial) stderrLines.push({ atMs: performance.now() - proxy.t0, line: partial });
  const stderr = stderrLines.map((l) => l.line).join("\n");
  if (code !== 0) throw new Error(`${label}: wp exited ${code}\n${stderr}`);
  let report;
  try {
    report = JSON.parse(stdout);
  } catch {
    throw new Error(`${label}: stdout is not JSON:\n${stdout}\n${stderr}`);
  }
  // `wp verify -o json` has no steps: its verdict is `ok`.
  if (report.ok === false) throw new Error(`${label}: verify failed:\n${stdout}`);
  const results = report.results ?? report.provision?.results ?? (report.ok === true ? [] : undefined);
  if (!Array.isArray(results)) throw new Error(`${label}: no results in the JSON output:\n${stdout}`);
  const failed = results.filter((r) => r.status === "failed");
  if (failed.length) throw new Error(`${label}: failed steps: ${JSON.stringify(failed)}`);
  const requests = proxy.requests.slice();
  const summary = { wallMs, requests: requests.length, mutating: requests.filter((r) => r.mutating).length };
  describeRun(label, summary, requests, stderrLines, results, proxy.maxInFlight);
  return summary;
}

const ms = (x) => `${Math.round(x)}`.padStart(6);

/** Stderr evidence of where the time went: a summary line, and with WP_BENCH_TRACE=1 every request and stderr line. */
function describeRun(label, summary, requests, stderrLines, results, maxInFlight) {
  log(
    `${label}: ${summary.wallMs} ms, ${summary.requests} AWS requests (${summary.mutating} mutating), ` +
      `max ${maxInFlight} in flight; results: ${results.map((r) => `${r.id}=${r.status}`).join(" ")}`,
  );
  if (trace) {
    for (const r of requests) {
      log(`  ${ms(r.startMs)} → ${ms(r.endMs)}  ${r.mutating ? "W" : " "} ${r.service.padEnd(4)} ${r.action}`);
    }
    for (const l of stderrLines) log(`  ${ms(l.atMs)} stderr: ${l.line}`);
  }
}

async function scenario(name, motoUrl, proxy, extra) {
  log(`${name}: resetting moto and removing its default VPC`);
  await resetMoto(motoUrl);
  const home = mkdtempSync(join(tmpdir(), "wp-bench-provision-"));
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  const env = privateEnv(home, proxy.url);
  const args = ["create", "bench-pool", "--type", "ecs:push", "--provision-infra", "--yes", "-o", "json", ...extra];
  log(`${name}: create`);
  const create = await runCli(`${name} create`, args, env, proxy);
  log(`${name}: re-run`);
  const rerun = await runCli(`${name} rerun`, args, env, proxy);
  if (extra.length) return { create, rerun };
  await enableDnsHostnames(motoUrl);
  log(`${name}: verify`);
  const verifyEnv = { ...env, WP_VERIFY_POLL_MS: String(LATENCY_MS) };
  const verify = await runCli(`${name} verify`, ["verify", "bench-pool", "-o", "json"], verifyEnv, proxy);
  return { create, rerun, verify };
}

async function main() {
  log("starting moto_server");
  const moto = await startMoto();
  const proxy = await startProxy(moto.url);
  log(`moto at ${moto.url}, proxy (+${LATENCY_MS} ms per request) at ${proxy.url}`);
  const concurrent = await scenario("concurrent", moto.url, proxy, []);
  const sequential = await scenario("sequential", moto.url, proxy, ["--sequential"]);
  const speedup = Math.round((sequential.create.wallMs / concurrent.create.wallMs) * 100) / 100;
  log("Cloud Run against the GCP simulator (bench/provision-gcp.mjs)");
  const cloudRun = await (await import("./provision-gcp.mjs")).benchCloudRun();
  log("Azure Container Instances against the Azure simulator (bench/provision-aci.mjs)");
  const aci = await (await import("./provision-aci.mjs")).benchAci();
  const result = {
    latencyMs: LATENCY_MS,
    concurrent,
    sequential,
    speedup,
    goals: {
      concurrentAtMostHalfOfSequential: concurrent.create.wallMs * 2 <= sequential.create.wallMs,
      rerunReadOnly: concurrent.rerun.mutating === 0 && sequential.rerun.mutating === 0,
    },
    cloudRun,
    aci,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

async function cleanup() {
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch (err) {
      log(`cleanup: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  cleanups.length = 0;
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    cleanup().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (err) {
  process.exitCode = 1;
  log(`failed: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await cleanup();
}
