/** `wp --help` and `wp ls` load no Azure package (the provider declaration is cheap; the SDKs load when a run needs them). */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadedModules } from "../helpers/bundle.js";

const BIN = join(process.cwd(), "bin", "wp.js");

describe("Azure is loaded lazily", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "wp-lazy-"));
    // A loader hook that records every module URL the process loads.
    writeFileSync(
      join(dir, "hooks.mjs"),
      `import { appendFileSync } from "node:fs";\nexport async function load(url, context, next) {\n  appendFileSync(process.env.WP_LOADED_FILE, url + "\\n");\n  return next(url, context);\n}\n`,
    );
    writeFileSync(
      join(dir, "register.mjs"),
      `import { register } from "node:module";\nimport { pathToFileURL } from "node:url";\nregister(pathToFileURL(${JSON.stringify(join(dir, "hooks.mjs"))}));\n`,
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function loaded(args: string[]): string[] {
    const file = join(dir, `${args.join("-")}.log`);
    writeFileSync(file, "");
    const r = spawnSync(process.execPath, ["--import", join(dir, "register.mjs"), BIN, ...args], {
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        WP_HOME: join(dir, "wp"),
        PREFECT_HOME: join(dir, "prefect"),
        WP_LOADED_FILE: file,
      },
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    return loadedModules(readFileSync(file, "utf8").split("\n").filter(Boolean));
  }

  it("wp create --help and wp ls import no @azure package and no ACI provisioner code", () => {
    for (const args of [["create", "--help"], ["ls"]]) {
      const urls = loaded(args);
      expect(
        urls.filter((u) => u.includes("@azure") || /\/clouds\/azure\/(sdk|arm|graph|index|steps|context)\.ts/.test(u)),
        args.join(" "),
      ).toEqual([]);
    }
    expect(loaded(["create", "--help"]).includes("src/clouds/azure/provider.ts"), "the declaration loads").toBe(true);
  });

  it("wp ls loads its own command module and no other, nor any cloud's declaration", () => {
    const urls = loaded(["ls"]);
    expect(urls).toContain("src/commands/ls.ts");
    expect(urls.filter((u) => /^src\/(commands\/(?!ls\.ts|spec\.ts|registry\.ts)|clouds\/)/.test(u))).toEqual([]);
  });

  it("wp create --help lists the Azure flags", () => {
    const r = spawnSync(process.execPath, [BIN, "create", "--help"], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, HOME: dir },
    });
    for (const flag of [
      "--subscription",
      "--location",
      "--resource-group",
      "--app-name",
      "--registry-name-prefix",
      "--identity-name",
      "--credentials-block-name",
    ]) {
      expect(r.stdout).toContain(flag);
    }
  });
});
