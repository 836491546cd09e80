/** The Google Cloud simulator for one test at a time: a fresh, empty project per test, and wp's env for it. */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import type { Lags } from "../sim/gcp/realism.js";
import { GcpSim } from "../sim/gcp/server.js";
import { makeHome } from "./run-cli.js";

export const PROJECT = "wp-sim-project";

export interface GcpFixture {
  sim: GcpSim;
  home: ReturnType<typeof makeHome>;
  /** wp's environment: the simulator's endpoints and ADC file, a private home, Docker config, no gcloud on PATH. */
  env: Record<string, string>;
  /** A folder on PATH for fake executables (empty by default: no gcloud). */
  bin: string;
  dockerConfig: string;
}

/** `realistic`: Google's documented lags and failures, with short lengths (see test/sim/gcp/realism.ts). */
export function useGcpSim(o: { operationPolls?: number; realistic?: boolean; lags?: Partial<Lags> } = {}): GcpFixture {
  const fx = {} as GcpFixture;
  beforeEach(async () => {
    fx.sim = new GcpSim({
      projects: [PROJECT],
      ...(o.operationPolls !== undefined ? { operationPolls: o.operationPolls } : {}),
      ...(o.realistic ? { realistic: "short" as const } : {}),
      ...(o.lags ? { lags: o.lags } : {}),
    });
    await fx.sim.start();
    fx.home = makeHome();
    fx.bin = join(fx.home.dir, "bin");
    mkdirSync(fx.bin);
    fx.dockerConfig = join(fx.home.dir, "docker");
    const adc = join(fx.home.dir, "adc.json");
    writeFileSync(adc, fx.sim.adcFile());
    fx.env = {
      ...fx.home.env,
      PATH: fx.bin,
      WP_GCP_ENDPOINT: fx.sim.url,
      GOOGLE_APPLICATION_CREDENTIALS: adc,
      WP_GCP_POLL_MS: "5",
      DOCKER_CONFIG: fx.dockerConfig,
      DOCKER_HOST: `unix://${fx.home.dir}/no-engine.sock`,
      CLOUDSDK_CONFIG: join(fx.home.dir, "gcloud"),
    };
  });
  afterEach(async () => {
    await fx.sim.stop();
    fx.home.cleanup();
  });
  return fx;
}

/** Writes an executable shell script into `dir`. */
export function fakeExecutable(dir: string, name: string, script: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${script}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Every file under `dir` whose text contains `needle` (skipping files over 20 MB). */
export function filesContaining(dir: string, needle: string, skip: (path: string) => boolean = () => false): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      if (skip(p)) continue;
      let s: ReturnType<typeof statSync>;
      try {
        s = statSync(p);
      } catch {
        continue;
      }
      if (s.isDirectory()) walk(p);
      else if (s.isFile() && s.size < 20e6 && readFileSync(p).includes(needle)) found.push(p);
    }
  };
  walk(dir);
  return found;
}

/** A scratch dir outside the test home. */
export function scratch(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "wp-gcp-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
