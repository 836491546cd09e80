/**
 * No dependency's runtime warning reaches the user, on any supported Node: the built CLI on an AWS path
 * against moto, with the variable that vitest.config.ts sets for in-process tests taken out of the
 * child's environment. wp's own warnings still print.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { awsWpEnv, requireMoto, useMoto } from "../helpers/moto.js";
import { requireBuilt, wpProcess } from "../helpers/wp-process.js";

const hasMoto = requireMoto("test/ecs/warnings.test.ts (the built CLI's stderr on an AWS path)");

describe.skipIf(!hasMoto)("the built CLI on an AWS path prints no dependency warning", () => {
  const sim = useMoto();
  let t: ReturnType<typeof awsWpEnv>;
  beforeEach(() => {
    requireBuilt();
    t = awsWpEnv(sim.moto.url);
    return t.cleanup;
  });

  /** The child's environment: no AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED from the test runner. */
  function env(): Record<string, string> {
    const e: Record<string, string> = { PATH: process.env.PATH ?? "", ...t.env };
    delete e.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    return e;
  }

  async function run(args: string[], extra: string[] = []) {
    const p = wpProcess(args, env(), extra);
    const { code } = await p.exit;
    return { code, stdout: p.stdout(), stderr: p.stderr() };
  }

  it(`create --provision-infra --dry-run (node ${process.version}): a plan, and no NodeVersionSupportWarning`, async () => {
    const r = await run(["create", "d", "--type", "ecs:push", "--provision-infra", "--dry-run"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Dry run: nothing was changed.");
    expect(r.stderr).not.toContain("NodeVersionSupportWarning");
    expect(r.stderr).not.toMatch(/wp: warning|DeprecationWarning/);
  });

  it("bad input on the AWS path (an unknown region): the error, and no warning", async () => {
    const r = await run([
      "create",
      "d",
      "--type",
      "ecs:push",
      "--provision-infra",
      "--dry-run",
      "--region",
      "nowhere-9",
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).not.toContain("NodeVersionSupportWarning");
    expect(r.stderr).not.toMatch(/wp: warning|DeprecationWarning/);
  });

  it("a warning raised inside node_modules is dropped (shown with --debug); one raised elsewhere prints", async () => {
    // A preload that waits for wp's own warning listener, then raises one warning from a file under
    // node_modules/ and one from a file outside it.
    const dir = t.home.dir;
    mkdirSync(join(dir, "node_modules", "noisy"), { recursive: true });
    writeFileSync(
      join(dir, "node_modules", "noisy", "index.mjs"),
      `export function warn() { process.emitWarning("from a package", "DeprecationWarning"); }\n`,
    );
    writeFileSync(
      join(dir, "preload.mjs"),
      `import { warn } from "./node_modules/noisy/index.mjs";
const before = process.listeners("warning");
const timer = setInterval(() => {
  const now = process.listeners("warning");
  if (now.length === 0 || now.some((l) => before.includes(l))) return;
  clearInterval(timer);
  warn();
  process.emitWarning("from wp itself");
}, 2);
timer.unref();
`,
    );
    const preload = ["--import", join(dir, "preload.mjs")];
    const quiet = await run(["create", "d", "--type", "ecs:push", "--provision-infra", "--dry-run"], preload);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toContain("wp: warning: Warning: from wp itself");
    expect(quiet.stderr).not.toContain("from a package");
    const debug = await run(
      ["create", "d", "--type", "ecs:push", "--provision-infra", "--dry-run", "--debug"],
      preload,
    );
    expect(debug.stderr).toContain("wp: warning: DeprecationWarning: from a package");
  });
});
