import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { makeHome, runCli } from "../helpers/run-cli.js";

interface Case {
  name: string;
  argv: string[];
  env?: Record<string, string>;
  message: string;
  code?: number;
}

let home: ReturnType<typeof makeHome>;
let denyUrl = "";
let deny: Server;

beforeAll(async () => {
  home = makeHome();
  const dir = home.dir;
  writeFileSync(join(dir, "bad.json"), "{ not json");
  writeFileSync(join(dir, "nokeys.json"), JSON.stringify({ job_configuration: { a: 1 } }));
  writeFileSync(
    join(dir, "undeclared.json"),
    JSON.stringify({
      job_configuration: { command: "{{ command }} {{ image }}" },
      variables: { properties: { command: {} } },
    }),
  );
  writeFileSync(join(dir, "list.json"), "[1, 2]");
  // A parser message that quotes the input, newlines and an escape sequence included.
  writeFileSync(join(dir, "multiline.json"), '{\n  "job_configuration": \u001b[31m\n}\n');
  writeFileSync(
    join(dir, "huge.json"),
    `{"variables": {}, "job_configuration": {}, "pad": "${"x".repeat(1024 * 1024)}"}`,
  );
  mkdirSync(join(dir, "adir.json"));
  // A server that rejects every key, as Prefect Cloud does for a wrong API key.
  deny = createServer((_req, res) => {
    res.writeHead(401, { "content-type": "application/json" });
    res.end(JSON.stringify({ detail: "Invalid authentication credentials" }));
  });
  await new Promise<void>((r) => deny.listen(0, "127.0.0.1", r));
  denyUrl = `http://127.0.0.1:${(deny.address() as AddressInfo).port}/api`;
  const seed = await runCli(["create", "existing", "--type", "process", "--paused"], { env: home.env });
  expect(seed.code).toBe(0);
});

afterAll(() => {
  deny.close();
  home.cleanup();
});

const f = (name: string) => join(home.dir, name);
// biome-ignore lint/suspicious/noControlCharactersInRegex: asserting there is no escape character
const ESCAPE = /\u001b/;

const cases: Case[] = [
  { name: "empty name", argv: ["create", "", "-t", "process"], message: "Work pool name cannot be empty." },
  { name: "emptyish name", argv: ["create", "' '", "-t", "process"], message: "Work pool name cannot be empty." },
  { name: "reserved name", argv: ["create", "Prefect-pool", "-t", "process"], message: "is reserved" },
  { name: "name with /", argv: ["create", "a/b", "-t", "process"], message: "contains '/'" },
  { name: "name with %", argv: ["create", "a%b", "-t", "process"], message: "contains '%'" },
  { name: "name with &", argv: ["create", "a&b", "-t", "process"], message: "contains '&'" },
  { name: "name with <", argv: ["create", "a<b", "-t", "process"], message: "contains '<'" },
  { name: "name with >", argv: ["create", "a>b", "-t", "process"], message: "contains '>'" },
  { name: "name ..", argv: ["create", "..", "-t", "process"], message: "'.' and '..' are URL path segments" },
  { name: "name .", argv: ["inspect", "."], message: "'.' and '..' are URL path segments" },
  {
    name: "profiles path naming a directory",
    argv: ["ls"],
    env: { PREFECT_PROFILES_PATH: "/" },
    message: "Cannot read the Prefect profiles file /: it is a directory, not a file.",
  },
  {
    name: "unknown type",
    argv: ["create", "x", "--type", "nope"],
    message: "Unknown work pool type 'nope'. Choose from",
  },
  { name: "empty type", argv: ["create", "x", "--type", ""], message: "--type cannot be empty." },
  { name: "missing type without terminal", argv: ["create", "x"], message: "Missing --type" },
  {
    name: "unreadable template file",
    argv: ["create", "x", "-t", "process", "--base-job-template", "/nonexistent/t.json"],
    message: "Cannot read --base-job-template file /nonexistent/t.json (ENOENT)",
  },
  {
    name: "invalid JSON template",
    argv: ["create", "x", "-t", "process", "--base-job-template", "@bad"],
    message: "is not valid JSON",
  },
  {
    name: "template that is not an object",
    argv: ["create", "x", "-t", "process", "--base-job-template", "@list"],
    message: "must be a JSON object",
  },
  {
    name: "template missing keys",
    argv: ["create", "x", "-t", "process", "--base-job-template", "@nokeys"],
    message: "must contain both a `job_configuration` key and a `variables` key",
  },
  {
    name: "template with undeclared placeholders",
    argv: ["create", "x", "-t", "process", "--base-job-template", "@undeclared"],
    message: "undeclared variable(s): image.",
  },
  {
    name: "update with a bad template",
    argv: ["update", "existing", "--base-job-template", "@undeclared"],
    message: "undeclared variable(s): image.",
  },
  {
    name: "negative concurrency limit",
    argv: ["update", "existing", "--concurrency-limit", "-1"],
    message: "--concurrency-limit must be a whole number of 0 or more, not '-1'",
  },
  {
    name: "non-numeric limit",
    argv: ["set-concurrency-limit", "existing", "ten"],
    message: "LIMIT must be a whole number of 0 or more, not 'ten'",
  },
  { name: "fractional limit", argv: ["set-concurrency-limit", "existing", "1.5"], message: "not '1.5'" },
  { name: "update with nothing to change", argv: ["update", "existing"], message: "Nothing to update." },
  { name: "unknown profile", argv: ["--profile", "nope", "ls"], message: "Unknown profile 'nope'." },
  {
    name: "unknown profile from env",
    argv: ["ls"],
    env: { PREFECT_PROFILE: "ghost" },
    message: "Unknown profile 'ghost'.",
  },
  {
    name: "malformed API URL",
    argv: ["ls"],
    env: { PREFECT_API_URL: "not-a-url" },
    message: "PREFECT_API_URL 'not-a-url' is not a valid http(s) URL.",
  },
  {
    name: "non-http API URL",
    argv: ["ls"],
    env: { PREFECT_API_URL: "ftp://example.com/api" },
    message: "is not a valid http(s) URL",
  },
  {
    name: "unreachable server",
    argv: ["create", "x", "-t", "process"],
    env: { PREFECT_API_URL: "http://127.0.0.1:9/api" },
    message: "Cannot reach the Prefect API at http://127.0.0.1:9/api",
    code: 1,
  },
  {
    name: "wrong API key",
    argv: ["create", "x", "-t", "process"],
    env: { PREFECT_API_KEY: "pnu_wrong" },
    message: "refused the request (401: Invalid authentication credentials)",
    code: 4,
  },
  {
    name: "bad timeout setting",
    argv: ["ls"],
    env: { PREFECT_API_REQUEST_TIMEOUT: "soon" },
    message: "PREFECT_API_REQUEST_TIMEOUT must be a non-negative number",
  },
  { name: "-o xml", argv: ["ls", "-o", "xml"], message: "Unknown output format 'xml'." },
  { name: "inspect -o yaml", argv: ["inspect", "existing", "-o", "yaml"], message: "Unknown output format 'yaml'." },
  { name: "inspect a missing pool", argv: ["inspect", "ghost"], message: "Work pool 'ghost' not found.", code: 1 },
  { name: "pause a missing pool", argv: ["pause", "ghost"], message: "Work pool 'ghost' not found.", code: 1 },
  {
    name: "delete a missing pool",
    argv: ["delete", "ghost", "--yes"],
    message: "Work pool 'ghost' not found.",
    code: 1,
  },
  {
    name: "--dry-run without --provision-infra",
    argv: ["create", "x", "-t", "process", "--dry-run"],
    message: "--dry-run and --sequential go with --provision-infra.",
  },
  {
    name: "provisioning an unsupported type",
    argv: ["create", "x", "-t", "process", "--provision-infra"],
    message: "Automatic infrastructure provisioning is not supported for 'process' work pools.",
  },
  {
    name: "preview --hours 0",
    argv: ["preview", "existing", "--hours", "0"],
    message: "--hours must be a positive number",
  },
  {
    name: "get-default-base-job-template without --type",
    argv: ["get-default-base-job-template"],
    message: "Missing --type.",
  },
  {
    name: "get-default-base-job-template unknown type",
    argv: ["get-default-base-job-template", "-t", "zzz"],
    message: "Unknown work pool type 'zzz'.",
  },
  {
    name: "server start with a bad port",
    argv: ["server", "start", "--port", "99999"],
    message: "--port must be a number from 0 to 65535",
  },
  { name: "unknown command", argv: ["frobnicate"], message: "unknown command 'frobnicate'" },
  { name: "unknown command with --help", argv: ["frobnicate", "--help"], message: "unknown command 'frobnicate'" },
  {
    name: "unknown subcommand with --help",
    argv: ["work-pool", "frobnicate", "--help"],
    message: "unknown command 'frobnicate'",
  },
  { name: "unknown server subcommand with -h", argv: ["server", "stop", "-h"], message: "unknown command 'stop'" },
  {
    name: "unknown command quoting an escape sequence",
    argv: ["\u001b[2Jx"],
    message: "unknown command '\\x1b[2Jx'",
  },
  { name: "--json with -o table", argv: ["ls", "--json", "-o", "table"], message: "--json and -o table contradict" },
  {
    name: "--json with -o text",
    argv: ["inspect", "existing", "-o", "text", "--json"],
    message: "--json and -o text contradict",
  },
  {
    name: "--json with -o table on a write",
    argv: ["create", "x", "-t", "process", "--json", "-o", "table"],
    message: "--json and -o table contradict",
  },
  {
    name: "limit over Prefect's integer",
    argv: ["set-concurrency-limit", "existing", "2147483648"],
    message: "LIMIT 2147483648 is too large. The largest concurrency limit Prefect stores is 2147483647.",
  },
  {
    name: "huge --concurrency-limit",
    argv: ["update", "existing", "--concurrency-limit", "99999999999999999999999"],
    message: "is too large",
  },
  { name: "preview --hours 1e9", argv: ["preview", "existing", "--hours", "1e9"], message: "not '1e9'" },
  { name: "preview --hours 0x10", argv: ["preview", "existing", "--hours", "0x10"], message: "not '0x10'" },
  { name: "preview --hours Infinity", argv: ["preview", "existing", "--hours", "Infinity"], message: "not 'Infinity'" },
  { name: "preview --hours abc", argv: ["preview", "existing", "--hours", "abc"], message: "not 'abc'" },
  {
    name: "preview --hours too far",
    argv: ["preview", "existing", "--hours", "876001"],
    message: "--hours 876001 is too far ahead. The most --hours takes is 876000",
  },
  {
    name: "template that is a directory",
    argv: ["create", "x", "-t", "process", "--base-job-template", "@adir"],
    message: "is a directory, not a file.",
  },
  {
    name: "template over 1 MiB",
    argv: ["update", "existing", "--base-job-template", "@huge"],
    message: "is larger than the 1 MiB limit.",
  },
  {
    name: "template whose parser message spans lines",
    argv: ["create", "x", "-t", "process", "--base-job-template", "@multiline"],
    message: "is not valid JSON.",
  },
  { name: "server start --port abc", argv: ["server", "start", "--port", "abc"], message: "--port must be a number" },
  { name: "server start --port -1", argv: ["server", "start", "--port", "-1"], message: "--port must be a number" },
  { name: "server start --port 1e3", argv: ["server", "start", "--port", "1e3"], message: "--port must be a number" },
  { name: "unknown option", argv: ["ls", "--bogus"], message: "unknown option '--bogus'" },
  { name: "missing argument", argv: ["inspect"], message: "missing required argument 'name'" },
];

async function state(): Promise<string> {
  const r = await runCli(["ls", "-o", "json"], { env: home.env });
  expect(r.code).toBe(0);
  return r.stdout;
}

describe("bad input: one clear line, non-zero exit, nothing created or changed", () => {
  let before = "";
  beforeEach(async () => {
    before = await state();
  });

  it.each(cases)("$name", async (c) => {
    const argv = c.argv.map((a) => (a.startsWith("@") ? f(`${a.slice(1)}.json`) : a));
    const env = { ...home.env, ...c.env };
    if (c.name === "wrong API key") env.PREFECT_API_URL = denyUrl;
    const r = await runCli(argv, { env });
    expect(r.stderr).toContain(c.message);
    expect(r.code).toBe(c.code ?? 2);
    expect(r.stdout).toBe("");
    // One line of error.
    expect(r.stderr.trim().split("\n").length).toBe(1);
    // Nothing typed or read reaches the terminal raw.
    expect(r.stderr).not.toMatch(ESCAPE);
    expect(await state()).toBe(before);
  });

  it("a parser error (unknown option, unknown command) is one line, with the pointer to the help", async () => {
    for (const argv of [["create", "ok1", "--type", "process", "--bogus"], ["frobnicate"]]) {
      const r = await runCli(argv, { env: home.env });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /^Error: unknown (option '--bogus'|command 'frobnicate')\. Run 'wp --help' or 'wp <command> --help' for usage\.\n$/,
      );
    }
  });

  it("has at least 25 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });
});
