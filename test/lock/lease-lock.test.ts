/**
 * Locks held in the Prefect API: two "machines" (separate WP_HOMEs) against one `wp server`. The server runs in this
 * process, so its lease clock can be moved on instead of sleeping through 60 s leases.
 */
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LEASE_SECONDS, limitName } from "../../src/engine/lease-lock.js";
import { acquireLocks } from "../../src/engine/lock.js";
import type { PrefectApi } from "../../src/prefect/api.js";
import { connect } from "../../src/prefect/client.js";
import { setLeaseClock } from "../../src/prefect/embedded/concurrency.js";
import { startServer } from "../../src/prefect/embedded/http.js";
import type { LeaseApi } from "../../src/prefect/leases.js";
import { loadSettings } from "../../src/prefect/settings.js";
import { validateRequest, validateResponse } from "../helpers/openapi.js";
import { startRecordingProxy } from "../helpers/recording-proxy.js";
import { makeHome } from "../helpers/run-cli.js";

const SCOPES = ["AWS account 123456789012 in us-east-1", "Prefect API http://x/api"];

let server: Awaited<ReturnType<typeof startServer>>;
const homes: ReturnType<typeof makeHome>[] = [];
let t = Date.now();

async function machine(url = server.url): Promise<{ api: PrefectApi; home: string }> {
  const h = makeHome();
  homes.push(h);
  const env = { ...h.env, PREFECT_API_URL: url };
  return { api: await connect(await loadSettings(env), { env }), home: h.env.WP_HOME };
}

beforeAll(async () => {
  const h = makeHome();
  homes.push(h);
  server = await startServer({ home: h.env.WP_HOME, host: "127.0.0.1", port: 0, registerBlockTypes: false });
});
afterEach(() => setLeaseClock(null));
afterAll(async () => {
  await server.close();
  for (const h of homes) h.cleanup();
});

const until = async (what: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("locks in the Prefect API", () => {
  it("every request a lock makes, and every answer, is valid against Prefect's OpenAPI schema", async () => {
    const proxy = await startRecordingProxy(new URL(server.url).origin);
    try {
      const a = await machine(`${proxy.url}/api`);
      const release = await acquireLocks(SCOPES, { home: a.home, api: a.api, waiting: () => {} });
      await release();
      const paths = proxy.exchanges.map((x) => `${x.method} ${x.path.replace(/[0-9a-f-]{36}/, "<id>")} ${x.status}`);
      expect(paths).toContain("POST /api/v2/concurrency_limits/increment-with-lease 200");
      expect(paths).toContain("POST /api/v2/concurrency_limits/decrement-with-lease 204");
      expect(
        paths.some(
          (p) => p.startsWith("PATCH /api/variables/name/wp_lock_") || p.startsWith("POST /api/variables/ 201"),
        ),
      ).toBe(true);
      const errors = proxy.exchanges.flatMap((x) => {
        const path = x.path.replace(/^\/api/, "");
        return [
          ...validateRequest(x.method, path, x.requestBody).map((e) => `${x.method} ${path} request: ${e}`),
          ...validateResponse(x.method, path, x.status, x.responseBody).map(
            (e) => `${x.method} ${path} ${x.status}: ${e}`,
          ),
        ];
      });
      expect(errors).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it("a run on another machine waits, told who holds the lock and when its lease lapses, then takes it", async () => {
    const a = await machine();
    const b = await machine();
    const releaseA = await acquireLocks(SCOPES, { home: a.home, api: a.api, waiting: () => {} });
    const told: string[] = [];
    let bHolds = false;
    const bRun = acquireLocks(SCOPES, { home: b.home, api: b.api, waiting: (m) => told.push(m) }).then((r) => {
      bHolds = true;
      return r;
    });
    await until(() => told.length > 0);
    expect(told[0]).toMatch(
      new RegExp(
        `^Waiting for another wp run \\(pid ${process.pid} on ${hostname()}, since \\d\\d:\\d\\d:\\d\\d UTC\\) that is ` +
          "provisioning (AWS account 123456789012 in us-east-1|Prefect API http://x/api); its lease lapses at " +
          "\\d\\d:\\d\\d:\\d\\d UTC unless that run renews it\\.\\.\\.$",
      ),
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(bHolds).toBe(false);
    expect(told).toHaveLength(1);
    await releaseA();
    const releaseB = await bRun;
    // The holder's record is B's now, and gone with its release.
    const record = await b.api.leases?.readVariable(limitName(SCOPES[0] ?? "").replaceAll("-", "_"));
    expect(record).toMatchObject({ pid: process.pid, scope: SCOPES[0] });
    await releaseB();
    expect(await b.api.leases?.readVariable(limitName(SCOPES[0] ?? "").replaceAll("-", "_"))).toBeNull();
  });

  it("the holder renews its lease, so it outlives the first 60 s", async () => {
    t = Math.max(t, Date.now());
    setLeaseClock(() => t);
    const a = await machine();
    const b = await machine();
    const { acquireLease } = await import("../../src/engine/lease-lock.js");
    const release = await acquireLease({ api: a.api, scopes: SCOPES, waiting: () => {}, note: () => {}, renewMs: 50 });
    if (!release) throw new Error("no lease");
    for (let i = 0; i < 4; i++) {
      t += 40_000;
      await new Promise((r) => setTimeout(r, 300));
    }
    // 160 s after it was taken, the 60 s lease still holds the slot.
    expect(await b.api.leases?.increment([limitName(SCOPES[0] ?? "")], LEASE_SECONDS)).toBe("locked");
    await release();
    const after = await b.api.leases?.increment([limitName(SCOPES[0] ?? "")], LEASE_SECONDS);
    if (!after || after === "locked") throw new Error("still locked after the release");
    await b.api.leases?.decrement(after.leaseId);
  });

  it("a holder that stopped renewing (killed) loses the lock once its lease lapses and Prefect repossesses it", async () => {
    t = Math.max(t, Date.now());
    setLeaseClock(() => t);
    const a = await machine();
    const b = await machine();
    // What a killed run leaves: a lease nobody renews, and its holder record.
    const leases = a.api.leases as LeaseApi;
    const names = [...new Set(SCOPES.map(limitName))].sort();
    for (const n of names) await leases.createLimit(n, 1);
    const taken = await leases.increment(names, LEASE_SECONDS);
    expect(taken).not.toBe("locked");
    const since = new Date(t).toISOString();
    await leases.writeVariable(names[0]?.replaceAll("-", "_") ?? "", {
      host: "machine-a",
      pid: 4242,
      scope: SCOPES[0],
      since,
      lease_expires: new Date(t + 60_000).toISOString(),
    });
    const told: string[] = [];
    let held = false;
    const bRun = acquireLocks(SCOPES, { home: b.home, api: b.api, waiting: (m) => told.push(m) }).then((r) => {
      held = true;
      return r;
    });
    await until(() => told.length > 0);
    expect(told[0]).toContain("(pid 4242 on machine-a, since");
    t += 59_000;
    await new Promise((r) => setTimeout(r, 2500));
    expect(held).toBe(false);
    t += 1000 + 15_000;
    await until(() => held);
    await (await bRun)();
  });

  it.each([
    [404, "Not Found", /has no global concurrency limits \(404\)\./],
    [
      403,
      "Forbidden",
      /refused to create global concurrency limit wp-lock-[0-9a-f]+ \(403: Forbidden\); a role that may manage concurrency limits lets wp lock across machines\./,
    ],
  ])(
    "a server answering %i to leases is said once, and the lock file on this machine still holds",
    async (status, text, said) => {
      // A Prefect server of an older release (404 Not Found), or a key whose role may not manage limits (403).
      const old = createServer((req, res) => {
        if (req.url?.startsWith("/api/v2/")) {
          res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ detail: text }));
          return;
        }
        const up = new URL(server.url);
        const fwd = request({
          host: up.hostname,
          port: up.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        });
        fwd.on("response", (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        });
        req.pipe(fwd);
      });
      await new Promise<void>((r) => old.listen(0, "127.0.0.1", r));
      try {
        const url = `http://127.0.0.1:${(old.address() as AddressInfo).port}/api`;
        const a = await machine(url);
        const notes: string[] = [];
        for (let i = 0; i < 2; i++) {
          const release = await acquireLocks(SCOPES, {
            home: a.home,
            api: a.api,
            waiting: () => {},
            note: (m) => notes.push(m),
          });
          await release();
        }
        expect(notes).toHaveLength(1);
        expect(notes[0]).toMatch(/^Prefect server http:\/\/127\.0\.0\.1:\d+\/api /);
        expect(notes[0]).toMatch(said);
        expect(notes[0]).toMatch(
          / wp keeps its lock in a file on this machine only: runs on other machines are not kept apart\.$/,
        );
      } finally {
        await new Promise<void>((r) => old.close(() => r()));
      }
    },
  );
});
