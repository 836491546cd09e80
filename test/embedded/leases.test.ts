/**
 * Global concurrency limits with leases and variables in the embedded API. The recorded part replays, in order, the
 * requests a genuine Prefect 3.4.25 server answered (fixtures/v2-concurrency-leases.json, copied from
 * ../shared/prefect/recorded with its provenance in ../shared/prefect/SOURCES.md) and compares status and body; ids
 * and timestamps are compared by form, and ids the requests carry are mapped to this server's.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createEmbeddedApi } from "../../src/prefect/embedded/api.js";
import { setLeaseClock } from "../../src/prefect/embedded/concurrency.js";
import { startServer } from "../../src/prefect/embedded/http.js";
import type { ApiRequest, ApiResponse } from "../../src/prefect/transport.js";
import { validateResponse } from "../helpers/openapi.js";

interface Recorded {
  method: ApiRequest["method"];
  path: string;
  body: unknown;
  status: number;
  answer: unknown;
}

const recording = JSON.parse(
  readFileSync(new URL("../../fixtures/v2-concurrency-leases.json", import.meta.url), "utf8"),
) as Recorded[];

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Ids and timestamps by form. A validation error's `ctx` is left out: this recording has it (`{"ge": 60.0}`), the
 * 117-answer recording (fixtures/prefect-3.4.25-answers.json) has none on the same kind of error, and the embedded
 * API answers as that one (type, loc, msg and input are compared).
 */
function normalise(v: unknown): unknown {
  if (typeof v === "string") return TS.test(v) ? "<ts>" : v.replace(UUID, "<uuid>");
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => k !== "ctx")
        .map(([k, x]) => [k, normalise(x)]),
    );
  return v;
}

let home: string;
let api: ReturnType<typeof createEmbeddedApi>;
let t: number;
const call = (method: ApiRequest["method"], path: string, body?: unknown): Promise<ApiResponse> =>
  api.handle({ method, path, ...(body === undefined ? {} : { body }) });

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "wp-leases-"));
  api = createEmbeddedApi({ home, registerBlockTypes: false });
  t = Date.parse("2026-12-04T00:00:00Z");
  setLeaseClock(() => t);
});
afterEach(() => {
  setLeaseClock(null);
  api.close();
  rmSync(home, { recursive: true, force: true });
});

describe("the embedded API answers a lock's life as Prefect 3.4.25 does", () => {
  it("replays the recorded requests with the recorded statuses and bodies, each valid against the OpenAPI", async () => {
    const ids = new Map<string, string>();
    const learn = (recorded: unknown, ours: unknown) => {
      if (typeof recorded === "string" && typeof ours === "string" && UUID.test(recorded)) ids.set(recorded, ours);
      else if (recorded && ours && typeof recorded === "object" && typeof ours === "object") {
        for (const [k, v] of Object.entries(recorded)) learn(v, (ours as Record<string, unknown>)[k]);
      }
      UUID.lastIndex = 0;
    };
    for (const [i, r] of recording.entries()) {
      const path = r.path.replace(/^\/api/, "").replace(UUID, (id) => ids.get(id) ?? id);
      const body = JSON.parse(JSON.stringify(r.body ?? undefined) ?? "null", (_k, v) =>
        typeof v === "string" ? (ids.get(v) ?? v) : v,
      );
      const res = await call(r.method, path, r.body === null ? undefined : body);
      const where = `#${i} ${r.method} ${r.path}`;
      expect({ where, status: res.status }).toEqual({ where, status: r.status });
      expect({ where, body: normalise(res.body ?? null) }).toEqual({ where, body: normalise(r.answer) });
      expect(validateResponse(r.method, path, res.status, res.body ?? null), where).toEqual([]);
      learn(r.answer, res.body);
    }
  });

  it("a taken slot answers 423 with Retry-After; the lease's release frees it", async () => {
    await call("POST", "/v2/concurrency_limits/", { name: "l", limit: 1 });
    const take = { names: ["l"], slots: 1, mode: "concurrency", lease_duration: 60 };
    const first = await call("POST", "/v2/concurrency_limits/increment-with-lease", take);
    const second = await call("POST", "/v2/concurrency_limits/increment-with-lease", take);
    expect(second.status).toBe(423);
    expect(Number(second.headers["retry-after"])).toBeGreaterThan(0);
    const lease = (first.body as { lease_id: string }).lease_id;
    expect((await call("POST", "/v2/concurrency_limits/decrement-with-lease", { lease_id: lease })).status).toBe(204);
    expect((await call("POST", "/v2/concurrency_limits/increment-with-lease", take)).status).toBe(200);
  });

  it("takes every named limit or none", async () => {
    await call("POST", "/v2/concurrency_limits/", { name: "a", limit: 1 });
    await call("POST", "/v2/concurrency_limits/", { name: "b", limit: 1 });
    const lease = (n: string[]) =>
      call("POST", "/v2/concurrency_limits/increment-with-lease", { names: n, slots: 1, lease_duration: 60 });
    expect((await lease(["b"])).status).toBe(200);
    expect((await lease(["a", "b"])).status).toBe(423);
    const a = (await call("GET", "/v2/concurrency_limits/a")).body as { active_slots: number };
    expect(a.active_slots).toBe(0);
  });

  it("a lease not renewed lapses: renew answers 410 and the Repossessor frees the slot within 15 s", async () => {
    await call("POST", "/v2/concurrency_limits/", { name: "l", limit: 1 });
    const take = { names: ["l"], slots: 1, lease_duration: 60 };
    const held = await call("POST", "/v2/concurrency_limits/increment-with-lease", take);
    const id = (held.body as { lease_id: string }).lease_id;
    t += 40_000;
    expect((await call("POST", `/v2/concurrency_limits/leases/${id}/renew`, { lease_duration: 60 })).status).toBe(204);
    t += 59_000;
    expect((await call("POST", "/v2/concurrency_limits/increment-with-lease", take)).status).toBe(423);
    t += 2_000;
    const gone = await call("POST", `/v2/concurrency_limits/leases/${id}/renew`, { lease_duration: 60 });
    expect(gone).toMatchObject({
      status: 410,
      body: { detail: "Lease not found - it may have expired or been revoked" },
    });
    // Freed on the Repossessor's next pass: no later than 15 s after the expiry.
    let freedAfter = -1;
    for (let s = 0; s <= 15; s++) {
      const r = await call("POST", "/v2/concurrency_limits/increment-with-lease", take);
      if (r.status === 200) {
        freedAfter = s;
        break;
      }
      t += 1000;
    }
    expect(freedAfter).toBeGreaterThanOrEqual(0);
    expect(freedAfter).toBeLessThanOrEqual(15);
  });

  it("a lease below Prefect's 60 s minimum, or above a day, is refused 422", async () => {
    for (const lease_duration of [59, 86_401]) {
      const r = await call("POST", "/v2/concurrency_limits/increment-with-lease", {
        names: ["x"],
        slots: 1,
        lease_duration,
      });
      expect(r.status).toBe(422);
    }
  });

  it("variables: create, read, update and delete by name; a taken name 409; a missing one 404", async () => {
    const created = await call("POST", "/variables/", { name: "wp_lock_x", value: { pid: 1 } });
    expect(created.status).toBe(201);
    expect(validateResponse("POST", "/variables/", 201, created.body)).toEqual([]);
    expect((await call("POST", "/variables/", { name: "wp_lock_x", value: 1 })).status).toBe(409);
    expect((await call("PATCH", "/variables/name/wp_lock_x", { value: { pid: 2 } })).status).toBe(204);
    const read = await call("GET", "/variables/name/wp_lock_x");
    expect(read.body).toMatchObject({ name: "wp_lock_x", value: { pid: 2 }, tags: [] });
    expect(validateResponse("GET", "/variables/name/wp_lock_x", 200, read.body)).toEqual([]);
    expect((await call("DELETE", "/variables/name/wp_lock_x")).status).toBe(204);
    expect(await call("GET", "/variables/name/wp_lock_x")).toMatchObject({
      status: 404,
      body: { detail: "Variable not found." },
    });
  });
});

describe("`wp server` over HTTP", () => {
  it("sends the 423's Retry-After header", async () => {
    setLeaseClock(null);
    const server = await startServer({ home, host: "127.0.0.1", port: 0, registerBlockTypes: false });
    try {
      const post = (path: string, body: unknown) =>
        fetch(`${server.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      await post("/v2/concurrency_limits/", { name: "h", limit: 1 });
      const take = { names: ["h"], slots: 1, lease_duration: 60 };
      expect((await post("/v2/concurrency_limits/increment-with-lease", take)).status).toBe(200);
      const locked = await post("/v2/concurrency_limits/increment-with-lease", take);
      expect(locked.status).toBe(423);
      expect(locked.headers.get("retry-after")).toMatch(/^\d+(\.\d+)?$/);
      expect(await locked.json()).toEqual({ detail: "Locked" });
    } finally {
      await server.close();
    }
  });
});
