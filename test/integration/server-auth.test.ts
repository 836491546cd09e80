/**
 * `wp server` is safe to expose: HTTP Basic auth from PREFECT_SERVER_API_AUTH_STRING (as Prefect's server does),
 * no unauthenticated non-loopback serving, request bodies capped before they are read, no internal error text
 * to clients, and one-line exit-2 errors for bad hosts and ports. Every server here listens on 127.0.0.1.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isLoopbackAddress, isLoopbackHost, MAX_BODY, startServer } from "../../src/prefect/embedded/http.js";
import type { BlockDocument } from "../../src/prefect/types.js";
import { makeHome, runCli } from "../helpers/run-cli.js";

const AUTH = "admin:c0rrect horse";
const basic = (s: string) => `Basic ${Buffer.from(s, "utf8").toString("base64")}`;

let serverHome: string;
let server: Awaited<ReturnType<typeof startServer>>;
const logged: string[] = [];
let home: ReturnType<typeof makeHome>;

beforeAll(async () => {
  serverHome = mkdtempSync(join(tmpdir(), "wp-auth-"));
  server = await startServer({
    home: serverHome,
    host: "127.0.0.1",
    port: 0,
    authString: AUTH,
    log: (l) => logged.push(l),
  });
  home = makeHome();
});

afterAll(async () => {
  await server.close();
  rmSync(serverHome, { recursive: true, force: true });
  home.cleanup();
});

async function get(path: string, authorization?: string) {
  const res = await fetch(`${server.url}${path}`, { headers: authorization ? { authorization } : {} });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/** A free port on 127.0.0.1 (listened on, then closed). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Whether anything accepts a TCP connection on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = request({ host: "127.0.0.1", port, path: "/api/health" });
    socket.on("response", (res) => {
      res.resume();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
    socket.end();
  });
}

const oneLine = (stderr: string) => stderr.trimEnd().split("\n");

describe("PREFECT_SERVER_API_AUTH_STRING", () => {
  it("answers 401 {exception_message: Unauthorized} without credentials, with wrong ones, or with another scheme", async () => {
    for (const authorization of [
      undefined,
      basic("admin:wrong"),
      basic("admin"),
      basic(`${AUTH} `),
      `Bearer ${AUTH}`,
      `basic ${Buffer.from(AUTH).toString("base64")}`,
      "Basic",
      "Basic !!!not-base64!!!",
    ]) {
      const r = await get("/health", authorization);
      expect({ authorization, status: r.status, body: JSON.parse(r.body) }).toEqual({
        authorization,
        status: 401,
        body: { exception_message: "Unauthorized" },
      });
    }
    // Routes and methods are not revealed either.
    expect((await get("/work_pools/nope")).status).toBe(401);
  });

  it("answers 200 with the right credentials", async () => {
    const r = await get("/health", basic(AUTH));
    expect({ status: r.status, body: r.body }).toEqual({ status: 200, body: "true" });
  });

  it("the CLI with the matching PREFECT_API_AUTH_STRING works end to end; wrong or missing is exit 4, one line", async () => {
    const env = { ...home.env, PREFECT_API_URL: server.url };
    const ok = await runCli(["create", "guarded", "-t", "process", "-o", "json"], {
      env: { ...env, PREFECT_API_AUTH_STRING: AUTH },
    });
    expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(ok.stdout).name).toBe("guarded");
    const ls = await runCli(["ls", "-o", "json"], { env: { ...env, PREFECT_API_AUTH_STRING: AUTH } });
    expect(JSON.parse(ls.stdout).map((p: { name: string }) => p.name)).toEqual(["guarded"]);
    for (const auth of [{ PREFECT_API_AUTH_STRING: "admin:wrong" }, {}, { PREFECT_API_KEY: "pnu_not_basic" }]) {
      for (const argv of [["ls"], ["inspect", "guarded"], ["create", "other", "-t", "process"]]) {
        const r = await runCli(argv, { env: { ...env, ...auth } });
        expect({ argv, auth, code: r.code, stdout: r.stdout }).toEqual({ argv, auth, code: 4, stdout: "" });
        expect(oneLine(r.stderr)).toEqual([
          `Error: The Prefect API at ${server.url} refused the request (401: Unauthorized). ` +
            "Check PREFECT_API_KEY or PREFECT_API_AUTH_STRING for this server.",
        ]);
      }
    }
    const after = await runCli(["ls", "-o", "json"], { env: { ...env, PREFECT_API_AUTH_STRING: AUTH } });
    expect(JSON.parse(after.stdout).map((p: { name: string }) => p.name)).toEqual(["guarded"]);
  });

  it("without an auth string the server needs no credentials", async () => {
    const open = mkdtempSync(join(tmpdir(), "wp-open-"));
    const s = await startServer({ home: open, host: "127.0.0.1", port: 0 });
    try {
      const res = await fetch(`${s.url}/health`);
      expect(res.status).toBe(200);
      const r = await runCli(["ls", "-o", "json"], { env: { ...home.env, PREFECT_API_URL: s.url } });
      expect({ code: r.code, out: JSON.parse(r.stdout) }).toEqual({ code: 0, out: [] });
    } finally {
      await s.close();
      rmSync(open, { recursive: true, force: true });
    }
  });

  it("paths outside /api are 404, before any credentials are asked for", async () => {
    for (const path of ["/", "/health", "/apifoo", "//api/health", "/docs"]) {
      const res = await fetch(`${new URL(server.url).origin}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
  });
});

describe("request bodies over the limit (16 MiB)", () => {
  /** Sends a POST whose headers are `headers`, writing `chunks` MiB of body unless the answer comes first. */
  function post(headers: Record<string, string>, chunks: number): Promise<{ status: number; sent: number }> {
    const origin = new URL(server.url);
    return new Promise((resolve, reject) => {
      let sent = 0;
      let answered = false;
      const req = request({
        host: origin.hostname,
        port: origin.port,
        method: "POST",
        path: "/api/work_pools/",
        headers: { authorization: basic(AUTH), "content-type": "application/json", ...headers },
      });
      req.on("response", (res) => {
        answered = true;
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, sent }));
      });
      req.on("error", (err) => {
        if (!answered) reject(err);
      });
      req.flushHeaders();
      const mib = Buffer.alloc(1024 * 1024, 0x20);
      const pump = () => {
        while (!answered && sent < chunks) {
          sent += 1;
          if (!req.write(mib)) {
            req.once("drain", pump);
            return;
          }
        }
        // A declared length is never sent: the answer must come without the body.
        if (!answered && chunks > 0 && sent >= chunks) req.end();
      };
      pump();
    });
  }

  it("a declared Content-Length over the limit is 413 at once, before the body is sent", async () => {
    expect(MAX_BODY).toBe(16 * 1024 * 1024);
    const r = await post({ "content-length": String(MAX_BODY + 1) }, 0);
    expect(r).toEqual({ status: 413, sent: 0 });
  });

  it("a chunked body is cut off with 413 once it passes the limit", async () => {
    const r = await post({ "transfer-encoding": "chunked" }, 40);
    expect(r.status).toBe(413);
    expect(r.sent).toBeGreaterThan(16);
    expect(r.sent).toBeLessThan(40);
    // The server is fine afterwards, and nothing was created.
    const pools = await fetch(`${server.url}/work_pools/filter`, {
      method: "POST",
      headers: { authorization: basic(AUTH), "content-type": "application/json" },
      body: "{}",
    });
    expect(pools.status).toBe(200);
  });
});

describe("internal errors", () => {
  it("answer 500 Internal Server Error without the internal text (paths), which goes to the server log", async () => {
    const env = { ...home.env, PREFECT_API_URL: server.url, PREFECT_API_AUTH_STRING: AUTH, MODAL_TOKEN_ID: "ak-1" };
    const made = await runCli(["create", "m", "--type", "modal:push", "--provision-infra", "--yes"], {
      env: { ...env, MODAL_TOKEN_SECRET: "as-secret" },
    });
    expect(made.code).toBe(0);
    const docPath = "/block_types/slug/modal-credentials/block_documents/name/m-modal-credentials";
    const doc = JSON.parse((await get(docPath, basic(AUTH))).body) as BlockDocument;
    // Damage the document's ciphertext behind the server's back.
    const db = new Database(join(serverHome, "wp.db"));
    db.prepare("UPDATE block_document SET data = ? WHERE id = ?").run(Buffer.alloc(40, 1), doc.id);
    db.close();
    const r = await get(docPath, basic(AUTH));
    expect({ status: r.status, body: JSON.parse(r.body) }).toEqual({
      status: 500,
      body: { exception_message: "Internal Server Error" },
    });
    expect(r.body).not.toContain(serverHome);
    expect(logged.join("\n")).toContain(join(serverHome, "secret.key"));
  });
});

describe("wp server start: hosts and ports", () => {
  const env = () => ({ ...home.env, WP_HOME: join(home.dir, "start-home") });

  it("refuses a non-loopback host without an auth string: exit 2, one line saying how, nothing listening", async () => {
    for (const host of ["0.0.0.0", "::", "192.0.2.10"]) {
      const port = await freePort();
      const r = await runCli(["server", "start", "--host", host, "--port", String(port)], { env: env() });
      expect({ host, code: r.code, stdout: r.stdout }).toEqual({ host, code: 2, stdout: "" });
      expect(oneLine(r.stderr)).toHaveLength(1);
      expect(r.stderr).toContain(`Refusing to serve on ${host} without authentication`);
      expect(r.stderr).toContain(`PREFECT_SERVER_API_AUTH_STRING=user:pass wp server start --host ${host}`);
      expect(await listening(port)).toBe(false);
      expect(existsSync(join(home.dir, "start-home"))).toBe(false);
    }
  });

  it("an auth string in the active profile counts too (the refusal is lifted; the bind then fails here)", async () => {
    mkdirSync(home.env.PREFECT_HOME, { recursive: true });
    writeFileSync(
      join(home.env.PREFECT_HOME, "profiles.toml"),
      `active = "exposed"\n[profiles.exposed]\nPREFECT_SERVER_API_AUTH_STRING = "${AUTH}"\n`,
    );
    // Binding a non-local address only fails while the kernel refuses non-local binds (the default).
    expect(readFileSync("/proc/sys/net/ipv4/ip_nonlocal_bind", "utf8").trim()).toBe("0");
    try {
      // 192.0.2.10 (TEST-NET-1) is no address of this machine: past the auth check, listen says EADDRNOTAVAIL.
      const r = await runCli(["server", "start", "--host", "192.0.2.10", "--port", "0"], { env: env() });
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
      expect(oneLine(r.stderr)).toEqual([
        "Error: Cannot listen on 192.0.2.10: it is not an address of this machine (EADDRNOTAVAIL). " +
          "Use 127.0.0.1, 0.0.0.0, or an address of one of this machine's interfaces.",
      ]);
    } finally {
      rmSync(join(home.env.PREFECT_HOME, "profiles.toml"));
    }
  });

  it("a host that is not an address and does not resolve is exit 2, one line", async () => {
    // Names that are not host names at all, so no DNS query leaves this machine.
    for (const host of ["300.1.2.3", "bad host", "-x.example", "a..b"]) {
      const r = await runCli(["server", "start", "--host", host, "--port", "0"], { env: env() });
      expect({ host, code: r.code, stdout: r.stdout }).toEqual({ host, code: 2, stdout: "" });
      expect(oneLine(r.stderr)).toHaveLength(1);
      expect(r.stderr).toContain(`--host '${host}' is not an IP address or a host name that resolves (`);
    }
  });

  it("a port in use is exit 2 (EADDRINUSE), one line; an invalid port too", async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    const { port } = busy.address() as { port: number };
    try {
      const r = await runCli(["server", "start", "--port", String(port)], { env: env() });
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
      expect(oneLine(r.stderr)).toEqual([
        `Error: Port ${port} on 127.0.0.1 is already in use (EADDRINUSE). ` +
          "Stop what is listening there or choose another --port (0 picks a free one).",
      ]);
    } finally {
      await new Promise<void>((r) => busy.close(() => r()));
    }
    for (const bad of ["70000", "-1", "http", "4200x"]) {
      const r = await runCli(["server", "start", `--port=${bad}`], { env: env() });
      expect({ bad, code: r.code, lines: oneLine(r.stderr).length }).toEqual({ bad, code: 2, lines: 1 });
      expect(r.stderr).toContain("--port must be a number from 0 to 65535");
    }
  });

  it("loopback is 127.0.0.0/8, ::1 and localhost; anything else is not", async () => {
    for (const a of ["127.0.0.1", "127.8.9.10", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"]) {
      expect({ a, loopback: isLoopbackAddress(a) }).toEqual({ a, loopback: true });
    }
    for (const a of ["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "::ffff:10.0.0.1", "::2", "localhost"]) {
      expect({ a, loopback: isLoopbackAddress(a) }).toEqual({ a, loopback: false });
    }
    expect(await isLoopbackHost("localhost")).toBe(true);
    expect(await isLoopbackHost("127.0.0.1")).toBe(true);
    expect(await isLoopbackHost("0.0.0.0")).toBe(false);
  });
});

describe("the real binary", () => {
  it("reads PREFECT_SERVER_API_AUTH_STRING from the environment and guards every route", async () => {
    const h = makeHome();
    try {
      const child = spawn(process.execPath, ["bin/wp.js", "server", "start", "--port", "0"], {
        env: { PATH: process.env.PATH, ...h.env, PREFECT_SERVER_API_AUTH_STRING: AUTH },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("\n")) resolve(out.trim());
        });
        child.on("exit", (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api$/);
      expect(stderr).toContain("HTTP Basic auth from PREFECT_SERVER_API_AUTH_STRING");
      expect(stderr).not.toContain(AUTH);
      expect((await fetch(`${url}/health`)).status).toBe(401);
      const ok = await runCli(["create", "bin-pool", "-t", "process"], {
        env: { ...h.env, PREFECT_API_URL: url, PREFECT_API_AUTH_STRING: AUTH },
      });
      expect(ok.code).toBe(0);
      const denied = await runCli(["inspect", "bin-pool"], { env: { ...h.env, PREFECT_API_URL: url } });
      expect(denied.code).toBe(4);
      const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      h.cleanup();
    }
  });
});
