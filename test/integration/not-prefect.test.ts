/**
 * A PREFECT_API_URL that is not a Prefect API (a web app, a proxy's error or login page, a JSON API of another shape)
 * is one line on stderr naming the URL, exit 1 and nothing on stdout — never `undefined`, never the page itself.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorDetail } from "../../src/prefect/client.js";
import { oneLine } from "../../src/prefect/not-prefect.js";
import { loadedModules } from "../helpers/bundle.js";
import { makeHome, runCli } from "../helpers/run-cli.js";

const HTML =
  "<!doctype html>\n<html>\r\n<head><title>Welcome</title></head>\n<body>\u001b[31mHello\u0007</body>\n</html>\n";
const LOGIN = "<html>\n<body><form action='/login'>Sign in</form></body>\n</html>\n";

type Mode = (req: IncomingMessage, res: ServerResponse) => void;
const json =
  (status: number, body: unknown, extra: Record<string, string> = {}) =>
  (res: ServerResponse) => {
    res.writeHead(status, { "content-type": "application/json", ...extra }).end(JSON.stringify(body));
  };
const html =
  (status: number, body = HTML, reason?: string) =>
  (res: ServerResponse) => {
    if (reason === undefined) res.writeHead(status, { "content-type": "text/html; charset=utf-8" }).end(body);
    else res.writeHead(status, reason, { "content-type": "text/html; charset=utf-8" }).end(body);
  };

const VALID_POOL = {
  id: "6a0f6f9e-6f0e-4c25-9d0b-3b1d0a1c2e3f",
  name: "x",
  type: "process",
  base_job_template: {},
  is_paused: false,
  status: "READY",
  // Fields a newer Prefect might add pass through.
  future_field: { anything: [1, 2] },
};

const MODES: Record<string, Mode> = {
  "200 {hello: 1}": (_q, res) => json(200, { hello: 1 })(res),
  "200 HTML": (_q, res) => html(200)(res),
  "502 HTML": (_q, res) => html(502)(res),
  "200 JSON array": (_q, res) => json(200, [{ hello: 1 }])(res),
  "redirect to an HTML login page": (req, res) => {
    if (req.url?.startsWith("/login")) return html(200, LOGIN)(res);
    res.writeHead(302, { location: "/login?next=%2Fapi" }).end();
  },
  "404 JSON that is not Prefect's": (_q, res) => json(404, { error: "no such thing" })(res),
  "200 empty body": (_q, res) => res.writeHead(200).end(),
};

let server: Server;
let base: string;
let mode: Mode = MODES["200 {hello: 1}"] as Mode;
let home: ReturnType<typeof makeHome>;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => mode(req, res));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  home = makeHome();
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  home.cleanup();
});

const wp = (argv: string[], env: Record<string, string> = {}) =>
  runCli(argv, { env: { ...home.env, PREFECT_API_URL: `${base}/api`, PREFECT_CLIENT_MAX_RETRIES: "0", ...env } });

const COMMANDS = [["ls"], ["inspect", "x"], ["create", "x", "-t", "process"], ["ls", "-o", "json"]];

describe("a PREFECT_API_URL that is not a Prefect API", () => {
  for (const [name, handler] of Object.entries(MODES)) {
    it(`${name}: ls, inspect and create exit 1 with one line naming the URL; stdout empty, or the error as the JSON document`, async () => {
      mode = handler;
      for (const argv of COMMANDS) {
        const r = await wp(argv);
        if (argv.includes("json")) {
          expect({ argv, code: r.code }).toEqual({ argv, code: 1 });
          expect(JSON.parse(r.stdout).error).toMatchObject({ type: "error", exitCode: 1 });
        } else expect({ argv, code: r.code, stdout: r.stdout }).toEqual({ argv, code: 1, stdout: "" });
        const lines = r.stderr.split("\n");
        expect({ argv, lines: lines.length, last: lines[1] }).toEqual({ argv, lines: 2, last: "" });
        const line = lines[0] ?? "";
        expect(line).toMatch(/^Error: Prefect server http:\/\/127\.0\.0\.1:\d+\/api answered /);
        expect(line).toContain(`${base}/api answered`);
        expect(line).toMatch(/ — is PREFECT_API_URL a Prefect API\?$/);
        expect(line).not.toMatch(/[\p{Cc}]/u);
        expect(line).not.toMatch(/<html|<body|Welcome|Sign in|undefined/i);
      }
    });
  }

  it("exact lines: an HTML error page gives its status and content type, a login redirect says where it went", async () => {
    mode = MODES["502 HTML"] as Mode;
    const bad = await wp(["inspect", "x"]);
    expect(bad.stderr).toBe(
      `Error: Prefect server ${base}/api answered 502 Bad Gateway (text/html), not JSON — is PREFECT_API_URL a Prefect API?\n`,
    );
    mode = MODES["404 JSON that is not Prefect's"] as Mode;
    const notFound = await wp(["inspect", "x"]);
    expect(notFound.stderr).toBe(
      `Error: Prefect server ${base}/api answered 404 to GET /work_pools/x without Prefect's error body — ` +
        "is PREFECT_API_URL a Prefect API?\n",
    );
    mode = MODES["redirect to an HTML login page"] as Mode;
    const login = await wp(["ls"]);
    expect(login.stderr).toBe(
      `Error: Prefect server ${base}/api answered 200 OK (text/html) after a redirect to ${base}/login, not JSON — ` +
        "is PREFECT_API_URL a Prefect API?\n",
    );
    mode = MODES["200 {hello: 1}"] as Mode;
    const shape = await wp(["inspect", "x"]);
    expect(shape.stderr).toBe(
      `Error: Prefect server ${base}/api answered GET /work_pools/x with JSON that is not a work pool ` +
        "(id: missing) — is PREFECT_API_URL a Prefect API?\n",
    );
    mode = MODES["200 JSON array"] as Mode;
    const list = await wp(["ls"]);
    expect(list.stderr).toBe(
      `Error: Prefect server ${base}/api answered POST /work_pools/filter with JSON that is not a list of work pools ` +
        "([0].id: missing) — is PREFECT_API_URL a Prefect API?\n",
    );
  });

  it("a proxy's HTML 401 is an auth failure: exit 4, one line, not the page", async () => {
    mode = (_q, res) => html(401, LOGIN)(res);
    const r = await wp(["inspect", "x"]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 4, stdout: "" });
    expect(r.stderr).toBe(
      `Error: The Prefect API at ${base}/api refused the request (401). ` +
        "Check PREFECT_API_KEY or PREFECT_API_AUTH_STRING for this server.\n",
    );
  });

  it("JSON error bodies are one line: Prefect's detail with newlines and escapes is flattened", async () => {
    mode = (_q, res) => json(409, { detail: "line one\nline two\u001b[2J\u202eevil" })(res);
    const r = await wp(["create", "x", "-t", "process"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("Error: line one line two [2J evil\n");
    expect(errorDetail("a\r\nb")).toBe("a b");
    expect(oneLine("x".repeat(400), 10)).toBe(`${"x".repeat(9)}…`);
  });

  it("Prefect's shapes with extra fields pass: the schemas are loose where Prefect adds fields", async () => {
    mode = (req, res) => {
      if (req.url?.startsWith("/api/work_pools/x")) return json(200, VALID_POOL)(res);
      if (req.url?.startsWith("/api/work_pools/filter")) return json(200, [VALID_POOL])(res);
      if (req.url?.startsWith("/api/work_pools/nope")) return json(404, { detail: 'Work pool "nope" not found.' })(res);
      json(404, { detail: "Not Found" })(res);
    };
    const inspect = await wp(["inspect", "x", "-o", "json"]);
    expect({ code: inspect.code, stderr: inspect.stderr }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(inspect.stdout).future_field).toEqual({ anything: [1, 2] });
    const ls = await wp(["ls", "-o", "json"]);
    expect(JSON.parse(ls.stdout).map((p: { name: string }) => p.name)).toEqual(["x"]);
    const missing = await wp(["inspect", "nope"]);
    expect({ code: missing.code, lines: missing.stderr.split("\n").length }).toEqual({ code: 1, lines: 2 });
    expect(missing.stderr).toMatch(/^Error: Work pool 'nope' not found\./);
  });
});

describe("zod loads only on the HTTP path", () => {
  it("`wp --help` and the embedded `wp ls` never load zod; `wp ls` over HTTP does", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wp-zod-"));
    try {
      // A module hook that records every module loaded; zod is bundled into a lazy chunk of dist/, so the
      // loaded chunks are mapped back to their modules through the build's metafile.
      const hooks = join(dir, "hooks.mjs");
      writeFileSync(
        hooks,
        `import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  appendFileSync(process.env.WP_LOADED_FILE, url + "\\n");
  return next(url, context);
}\n`,
      );
      const register = join(dir, "register.mjs");
      writeFileSync(
        register,
        `import { register } from "node:module";\nregister(${JSON.stringify(`file://${hooks}`)});\n`,
      );
      // Not spawnSync: the HTTP run talks to this process's server, which must keep answering.
      const run = async (args: string[], env: Record<string, string> = {}) => {
        const log = join(dir, `${args.join("-")}-${Object.keys(env).length}.log`);
        writeFileSync(log, "");
        const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, ["--import", register, "bin/wp.js", ...args], {
            env: { PATH: process.env.PATH, ...home.env, ...env, WP_LOADED_FILE: log },
            stdio: ["ignore", "ignore", "pipe"],
          });
          let stderr = "";
          child.stderr.on("data", (d) => {
            stderr += String(d);
          });
          child.on("close", (status) => resolve({ status, stderr }));
        });
        const zod = loadedModules(readFileSync(log, "utf8").split("\n").filter(Boolean)).filter((m) =>
          /node_modules\/zod\//.test(m),
        );
        return { status: r.status, stderr: r.stderr, zod: zod.length > 0 };
      };
      expect(await run(["--help"])).toEqual({ status: 0, stderr: "", zod: false });
      expect(await run(["ls", "-o", "json"])).toEqual({ status: 0, stderr: "", zod: false });
      const remote = await run(["ls"], { PREFECT_API_URL: `${base}/api` });
      expect(remote.zod, remote.stderr).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
