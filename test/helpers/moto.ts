/**
 * moto_server for the ECS tests: start on a free port, reset between tests, stop on teardown.
 * Also a recording proxy in front of it (counts AWS requests by action, can inject failures) and
 * a tiny sequential step runner (check each step, apply when not `exists`) standing in for the engine.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { createEcsProvisioner } from "../../src/clouds/aws/index.js";
import type { Provisioner, StepContext, StepResult, StepState } from "../../src/engine/types.js";
import type { PrefectApi } from "../../src/prefect/api.js";
import { FakePrefect } from "./fake-prefect.js";
import { makeHome } from "./run-cli.js";

export function motoAvailable(): boolean {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    try {
      accessSync(join(dir, "moto_server"), constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

/**
 * Whether a moto-backed suite can run. Without moto_server: under CI this throws (the run fails);
 * locally it warns loudly, naming the suite, and the suite is skipped.
 */
export function requireMoto(suite: string): boolean {
  if (motoAvailable()) return true;
  if (process.env.CI) throw new Error(`moto_server is not on PATH; CI requires it for: ${suite}`);
  console.warn(`\n*** SKIPPED (moto_server not on PATH): ${suite} ***\n`);
  return false;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

export interface Moto {
  url: string;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const child: ChildProcess = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: "true" },
    stdio: "ignore",
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/moto-api/`)).status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error("moto_server did not answer within 30 s");
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return {
    url,
    async reset() {
      const res = await fetch(`${url}/moto-api/reset`, { method: "POST" });
      if (!res.ok) throw new Error(`moto reset failed: ${res.status}`);
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export interface AwsRequest {
  service: string;
  action: string;
  mutating: boolean;
}

/** Read-only AWS actions; everything else counts as a mutation. */
export const isMutating = (action: string): boolean => !/^(Get|List|Describe)/.test(action);

export interface RecordingProxy {
  url: string;
  requests: AwsRequest[];
  /** When set and true for a request, the proxy answers with error code InjectedFailure instead of forwarding. */
  failWhen?: ((r: AwsRequest, index: number) => boolean) | undefined;
  mutations(): AwsRequest[];
  clear(): void;
  close(): Promise<void>;
}

function errorBody(service: string, json: boolean): { type: string; body: string } {
  if (json) return { type: "application/x-amz-json-1.1", body: '{"__type":"InjectedFailure","message":"injected"}' };
  const error = "<Code>InjectedFailure</Code><Message>injected</Message>";
  if (service === "ec2") {
    return {
      type: "text/xml",
      body: `<Response><Errors><Error>${error}</Error></Errors><RequestID>1</RequestID></Response>`,
    };
  }
  return {
    type: "text/xml",
    body: `<ErrorResponse><Error><Type>Sender</Type>${error}</Error><RequestId>1</RequestId></ErrorResponse>`,
  };
}

/** A loopback proxy in front of `target` that records each request's service and action. */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const to = new URL(target);
  let index = 0;
  const proxy: RecordingProxy = {
    url: "",
    requests: [],
    mutations: () => proxy.requests.filter((r) => r.mutating),
    clear: () => {
      proxy.requests.length = 0;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const amzTarget = req.headers["x-amz-target"];
      const scope = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(req.headers.authorization ?? "");
      const service = scope?.[1] ?? "unknown";
      const action =
        typeof amzTarget === "string"
          ? (amzTarget.split(".").pop() ?? "")
          : (new URLSearchParams(body.toString()).get("Action") ?? `${req.method} ${req.url}`);
      const rec = { service, action, mutating: isMutating(action) };
      proxy.requests.push(rec);
      if (proxy.failWhen?.(rec, index++)) {
        const e = errorBody(service, typeof amzTarget === "string");
        res.writeHead(400, { "content-type": e.type });
        res.end(e.body);
        return;
      }
      const fwd = request(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      fwd.on("error", (err) => {
        res.writeHead(502);
        res.end(String(err));
      });
      fwd.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

export interface RunResult {
  states: Map<string, StepState>;
  results: Map<string, StepResult>;
  outputs: Map<string, unknown>;
  notes: string[];
}

/** The engine's job, minimally: check each step in order, apply the ones not `exists`. */
export async function runSteps(p: Provisioner, prefect: PrefectApi, opts: { planOnly?: boolean } = {}) {
  const notes: string[] = [];
  const ctx: StepContext = { prefect, outputs: new Map(), note: (m) => notes.push(m) };
  const result: RunResult = { states: new Map(), results: new Map(), outputs: ctx.outputs, notes };
  for (const step of p.steps()) {
    const state = await step.check(ctx);
    result.states.set(step.id, state);
    if (opts.planOnly || state.action === "exists") continue;
    result.results.set(step.id, await step.apply(ctx, state));
  }
  return result;
}

/**
 * Points the AWS SDK at nothing real: fake static credentials, no IMDS (169.254.169.254), no
 * shared config files, no profile. Returns a function restoring the previous environment.
 */
export function isolateAwsEnv(region = "us-east-1"): () => void {
  const vars: Record<string, string | undefined> = {
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_SESSION_TOKEN: undefined,
    AWS_SECURITY_TOKEN: undefined,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: "/nonexistent/aws-config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
    AWS_PROFILE: undefined,
    AWS_DEFAULT_PROFILE: undefined,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: undefined,
    AWS_ENDPOINT_URL: undefined,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(vars);
  return () => apply(saved);
}

/**
 * moto and a recording proxy for one describe block: started once with an isolated AWS environment,
 * reset (state, records, injected failures) before each test, stopped after.
 */
export function useMoto(): { readonly moto: Moto; readonly proxy: RecordingProxy } {
  const state = {} as { moto: Moto; proxy: RecordingProxy };
  let restoreEnv: (() => void) | undefined;
  beforeAll(async () => {
    restoreEnv = isolateAwsEnv();
    state.moto = await startMoto();
    state.proxy = await startRecordingProxy(state.moto.url);
  }, 60_000);
  afterAll(async () => {
    await state.proxy?.close();
    await state.moto?.stop();
    restoreEnv?.();
  });
  beforeEach(async () => {
    await state.moto.reset();
    state.proxy.clear();
    state.proxy.failWhen = undefined;
  });
  return state;
}

/** moto starts with a default VPC (as a real account has); "empty account" tests remove it. */
export async function removeDefaultVpc(motoUrl: string): Promise<void> {
  const { EC2Client, DeleteVpcCommand, DeleteSubnetCommand, DescribeSubnetsCommand, DescribeVpcsCommand } =
    await import("@aws-sdk/client-ec2");
  const c = new EC2Client({ region: "us-east-1", endpoint: motoUrl });
  const vpcs =
    (await c.send(new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["true"] }] }))).Vpcs ?? [];
  for (const v of vpcs) {
    const vpcId = v.VpcId ?? "";
    const subnets = (await c.send(new DescribeSubnetsCommand({ Filters: [{ Name: "vpc-id", Values: [vpcId] }] })))
      .Subnets;
    for (const sub of subnets ?? []) await c.send(new DeleteSubnetCommand({ SubnetId: sub.SubnetId ?? "" }));
    await c.send(new DeleteVpcCommand({ VpcId: vpcId }));
  }
}

/**
 * The step-level ECS fixture: a fresh FakePrefect with aws-credentials registered and a temp Docker
 * config before each test, and a provisioner for pool `my-pool` pointed at the recording proxy.
 */
export function useEcsFixture(sim: { readonly proxy: RecordingProxy }) {
  const fx = {
    prefect: new FakePrefect(),
    dockerDir: "",
    provisioner: () =>
      createEcsProvisioner({
        poolName: "my-pool",
        prefect: fx.prefect,
        endpoint: sim.proxy.url,
        env: { ...process.env, DOCKER_CONFIG: fx.dockerDir, DOCKER_HOST: `unix://${fx.dockerDir}/no-engine.sock` },
      }),
  };
  beforeEach(() => {
    fx.prefect = new FakePrefect();
    fx.prefect.register();
    fx.dockerDir = mkdtempSync(join(tmpdir(), "wp-docker-"));
    return () => rmSync(fx.dockerDir, { recursive: true, force: true });
  });
  return fx;
}

/**
 * wp's environment for one test against moto (or another AWS endpoint): a private home (makeHome),
 * static credentials (moto's "testing" unless given), no shared AWS files, and a Docker config whose
 * engine does not exist. `cleanup` removes the home and the Docker folder.
 */
export function awsWpEnv(
  endpoint: string,
  extra: Record<string, string> = {},
): { env: Record<string, string> & { WP_HOME: string }; home: ReturnType<typeof makeHome>; cleanup(): void } {
  const home = makeHome();
  const docker = mkdtempSync(join(tmpdir(), "wp-docker-"));
  return {
    home,
    env: {
      ...home.env,
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL: endpoint,
      AWS_CONFIG_FILE: "/nonexistent/aws-config",
      AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
      DOCKER_CONFIG: docker,
      DOCKER_HOST: `unix://${docker}/no-engine.sock`,
      ...extra,
    },
    cleanup() {
      home.cleanup();
      rmSync(docker, { recursive: true, force: true });
    },
  };
}
