import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ApiError, AuthError } from "../../src/errors.js";
import { connect, errorDetail, uiUrl } from "../../src/prefect/client.js";
import { retryDelay } from "../../src/prefect/http.js";
import { loadSettings } from "../../src/prefect/settings.js";

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
const servers: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function fake(
  handler: Handler,
): Promise<{ url: string; seen: Array<{ method: string; url: string; headers: IncomingMessage["headers"] }> }> {
  const seen: Array<{ method: string; url: string; headers: IncomingMessage["headers"] }> = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`, seen };
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(body === undefined ? "" : JSON.stringify(body));
};

async function client(env: Record<string, string>) {
  const settings = await loadSettings({ PREFECT_HOME: "/nonexistent-wp-test", ...env });
  return connect(settings, { env });
}

describe("HTTP client", () => {
  it("sends the API version, Bearer auth, and retries 503/429 honouring Retry-After", async () => {
    let calls = 0;
    const srv = await fake((req, _b, res) => {
      if (req.url?.startsWith("/api/csrf-token")) return json(res, 404, { detail: "Not Found" });
      calls += 1;
      if (calls === 1) return json(res, 503, { detail: "busy" }, { "retry-after": "0" });
      if (calls === 2) return json(res, 429, { detail: "slow down" }, { "retry-after": "0" });
      json(res, 200, []);
    });
    const api = await client({ PREFECT_API_URL: srv.url, PREFECT_API_KEY: "pnu_secret" });
    expect(await api.listWorkPools()).toEqual([]);
    expect(calls).toBe(3);
    expect(srv.seen[0]?.headers["x-prefect-api-version"]).toBe("0.8.4");
    expect(srv.seen[0]?.headers.authorization).toBe("Bearer pnu_secret");
  });

  it("gives up after PREFECT_CLIENT_MAX_RETRIES and reports the detail", async () => {
    const srv = await fake((_req, _b, res) => json(res, 502, { detail: "bad gateway" }, { "retry-after": "0" }));
    const api = await client({ PREFECT_API_URL: srv.url, PREFECT_CLIENT_MAX_RETRIES: "2" });
    await expect(api.readWorkPool("p")).rejects.toThrow("bad gateway");
    expect(srv.seen.length).toBe(3);
  });

  it("PREFECT_API_AUTH_STRING wins with Basic auth", async () => {
    const srv = await fake((_req, _b, res) => json(res, 200, true));
    const api = await client({ PREFECT_API_URL: srv.url, PREFECT_API_KEY: "k", PREFECT_API_AUTH_STRING: "admin:pass" });
    await api.health();
    expect(srv.seen[0]?.headers.authorization).toBe(`Basic ${Buffer.from("admin:pass").toString("base64")}`);
  });

  it("fetches a CSRF token before the first write and sends it; refreshes on 'Invalid CSRF token'", async () => {
    let tokens = 0;
    let rejectedOnce = false;
    const srv = await fake((req, _b, res) => {
      if (req.url?.startsWith("/api/csrf-token")) {
        tokens += 1;
        return json(res, 200, {
          token: `t${tokens}`,
          client: "c",
          expiration: new Date(Date.now() + 60_000).toISOString(),
        });
      }
      if (req.method === "PATCH" && !rejectedOnce) {
        rejectedOnce = true;
        return json(res, 403, { detail: "Invalid CSRF token or client identifier." });
      }
      if (req.method === "PATCH") return json(res, 204, undefined);
      json(res, 200, {});
    });
    const api = await client({ PREFECT_API_URL: srv.url });
    await api.updateWorkPool("p", { is_paused: true });
    const patches = srv.seen.filter((s) => s.method === "PATCH");
    expect(patches.map((p) => p.headers["prefect-csrf-token"])).toEqual(["t1", "t2"]);
    expect(patches[0]?.headers["prefect-csrf-client"]).toBeTruthy();
  });

  it("disables CSRF when the server says it is off (422) and never asks on reads", async () => {
    const srv = await fake((req, _b, res) => {
      if (req.url?.startsWith("/api/csrf-token")) return json(res, 422, { detail: "CSRF protection is disabled." });
      json(res, 204, undefined);
    });
    const api = await client({ PREFECT_API_URL: srv.url });
    await api.updateWorkPool("a", { is_paused: true });
    await api.updateWorkPool("b", { is_paused: true });
    expect(srv.seen.filter((s) => s.url.startsWith("/api/csrf-token")).length).toBe(1);
    expect(srv.seen.filter((s) => s.method === "PATCH").every((s) => !s.headers["prefect-csrf-token"])).toBe(true);
  });

  it("maps 401 to AuthError, 404 reads to null, and 4xx to ApiError with Prefect's message", async () => {
    const srv = await fake((req, _b, res) => {
      if (req.url === "/api/work_pools/nope") return json(res, 404, { detail: 'Work pool "nope" not found.' });
      if (req.url === "/api/work_pools/") {
        return json(res, 422, {
          exception_message: "Invalid request received.",
          exception_detail: [{ msg: "Value error, bad template" }],
        });
      }
      json(res, 401, { detail: "Unauthorized" });
    });
    const api = await client({ PREFECT_API_URL: srv.url });
    expect(await api.readWorkPool("nope")).toBeNull();
    await expect(api.createWorkPool({ name: "x", type: "process", is_paused: false })).rejects.toThrow(ApiError);
    await expect(api.createWorkPool({ name: "x", type: "process", is_paused: false })).rejects.toThrow("bad template");
    await expect(api.health()).rejects.toThrow(AuthError);
  });

  it("Cloud URLs are Cloud: no CSRF, Cloud worker types route, app UI URL", async () => {
    const settings = await loadSettings({
      PREFECT_HOME: "/nonexistent-wp-test",
      PREFECT_API_URL: "https://api.prefect.cloud/api/accounts/a1/workspaces/w1",
    });
    expect(uiUrl(settings)).toBe("https://app.prefect.cloud/account/a1/workspace/w1");
    const api = await connect(settings, { env: {} });
    expect(api.kind).toBe("cloud");
    expect(api.label).toBe("Prefect Cloud workspace a1/w1");
  });

  it("retry delays follow Retry-After seconds and dates, else exponential", () => {
    expect(retryDelay("2", 1)).toBe(2000);
    expect(retryDelay(new Date(Date.now() + 5000).toUTCString(), 1)).toBeGreaterThan(3000);
    const d = retryDelay(null, 2);
    expect(d).toBeGreaterThanOrEqual(3200);
    expect(d).toBeLessThanOrEqual(4800);
  });

  it("errorDetail reads detail, exception_detail and plain text", () => {
    expect(errorDetail({ detail: "x" })).toBe("x");
    expect(errorDetail({ exception_detail: [{ msg: "Value error, y" }] })).toBe("y");
    expect(errorDetail("plain")).toBe("plain");
    expect(errorDetail(undefined)).toBeNull();
  });
});

describe("settings", () => {
  it("env beats the profile, the flag picks the profile, local profile points at 127.0.0.1:4200", async () => {
    const local = await loadSettings({ PREFECT_HOME: "/nonexistent-wp-test" }, "local");
    expect(local.apiUrl).toBe("http://127.0.0.1:4200/api");
    const env = await loadSettings(
      { PREFECT_HOME: "/nonexistent-wp-test", PREFECT_API_URL: "http://h:1/api/" },
      "local",
    );
    expect(env.apiUrl).toBe("http://h:1/api");
    const none = await loadSettings({ PREFECT_HOME: "/nonexistent-wp-test" });
    expect(none.profile).toBe("ephemeral");
    expect(none.apiUrl).toBeNull();
  });
});

describe("profiles and timeouts", () => {
  it("reads PREFECT_PROFILES_PATH (with the $PREFECT_HOME template) and its active profile; PREFECT_PROFILE wins", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const home = mkdtempSync(join(tmpdir(), "wp-profiles-"));
    writeFileSync(
      join(home, "custom.toml"),
      'active = "a"\n[profiles.a]\nPREFECT_API_URL = "http://a:1/api"\n[profiles.b]\nPREFECT_API_URL = "http://b:2/api"\nPREFECT_API_KEY = "kb"\n',
    );
    const env = { PREFECT_HOME: home, PREFECT_PROFILES_PATH: "$PREFECT_HOME/custom.toml" };
    const a = await loadSettings(env);
    expect([a.profile, a.apiUrl, a.profilesPath]).toEqual(["a", "http://a:1/api", join(home, "custom.toml")]);
    const b = await loadSettings({ ...env, PREFECT_PROFILE: "b" });
    expect([b.profile, b.apiUrl, b.apiKey]).toEqual(["b", "http://b:2/api", "kb"]);
    const flag = await loadSettings({ ...env, PREFECT_PROFILE: "b" }, "a");
    expect(flag.profile).toBe("a");
  });

  it("a server that does not answer in PREFECT_API_REQUEST_TIMEOUT is one clear error", async () => {
    const srv = await fake(() => {
      // never answers
    });
    const api = await client({ PREFECT_API_URL: srv.url, PREFECT_API_REQUEST_TIMEOUT: "0.2" });
    await expect(api.readWorkPool("p")).rejects.toThrow("did not answer in time");
  });
});
