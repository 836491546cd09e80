/**
 * `npm run sim:gcp` for a user: it starts, prints the exports that point wp at it, says whether it
 * models Google's time (`--realistic`: real-length lags; `--realistic short`), switches behaviours by
 * name over /_sim/fault, and stops on SIGTERM leaving no temp folder.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const root = process.cwd();

function startSim(args: string[]) {
  const child = spawn(process.execPath, [join(root, ".wp-test-sim/gcp/main.js"), "--port", "0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const ready = new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (err.includes("Ctrl-C to stop")) {
        clearInterval(t);
        resolve();
      }
    }, 50);
    child.on("exit", (code) => {
      clearInterval(t);
      reject(new Error(`simulator exited ${code}: ${err}`));
    });
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, ready, exited, out: () => out, err: () => err };
}

describe("npm run sim:gcp", () => {
  // What `npm run sim:gcp` compiles before it starts the simulator.
  beforeAll(() => {
    execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "test/sim/tsconfig.json"], {
      cwd: root,
    });
  });

  it("starts in realistic mode with Google's lengths, switches faults by name, stops cleanly", async () => {
    const sim = startSim(["--realistic"]);
    try {
      await sim.ready;
      expect(sim.err()).toContain('realistic (real lags: {"binding":120000,"serviceAccount":60000,"key":60000})');
      const env = Object.fromEntries(
        sim
          .out()
          .trim()
          .split("\n")
          .map((l) => l.replace(/^export /, "").split("=") as [string, string]),
      );
      expect(Object.keys(env)).toContain("WP_GCP_ENDPOINT");
      expect(existsSync(env.GOOGLE_APPLICATION_CREDENTIALS ?? "")).toBe(true);
      const on = await fetch(`${env.WP_GCP_ENDPOINT}_sim/fault?name=keys-forbidden-managed`, { method: "POST" });
      expect(((await on.json()) as { on: string[] }).on).toEqual([
        "binding-lag",
        "service-account-lag",
        "key-lag",
        "operation-503",
        "small-pages",
        "keys-forbidden-managed",
      ]);
      sim.child.kill("SIGTERM");
      expect(await sim.exited).toBe(0);
      expect(existsSync(env.GOOGLE_APPLICATION_CREDENTIALS ?? "")).toBe(false);
    } finally {
      if (sim.child.exitCode === null) sim.child.kill("SIGKILL");
    }
  });

  it("--realistic short uses lags of about a second", async () => {
    const sim = startSim(["--realistic", "short"]);
    try {
      await sim.ready;
      expect(sim.err()).toContain('realistic (short lags: {"binding":1200,"serviceAccount":400,"key":700})');
    } finally {
      sim.child.kill("SIGTERM");
      await sim.exited;
    }
  });
});
