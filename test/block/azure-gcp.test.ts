/**
 * `wp block create` with an Azure app registration's client secret (the Azure simulator) and a GCP service account
 * key file (the Google simulator): checked, written, and bound to a push pool in a second command.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SUB, useAzure } from "../aci/helpers.js";
import { PROJECT, useGcpSim } from "../helpers/gcp-sim.js";
import { runCli } from "../helpers/run-cli.js";
import { requireBuilt } from "../helpers/wp-process.js";

describe("azure-container-instance-credentials from a client secret (Azure simulator)", () => {
  const { ctx, wp } = useAzure();

  it("gets an Entra ID token for the secret, writes the block and binds an ACI push pool", async () => {
    const secret = ctx.env.AZURE_CLIENT_SECRET ?? "";
    const a = await wp(["block", "create", "azure-container-instance-credentials", "my-aci", "--yes", "--debug"]);
    expect(a.code).toBe(0);
    expect(a.stderr).toContain("Entra ID token issued");
    const b = await wp([
      "create",
      "aci",
      "--type",
      "azure-container-instance:push",
      "--credentials-block",
      "my-aci",
      "--set",
      `subscription_id=${SUB}`,
      "--set",
      "resource_group_name=my-rg",
      "-o",
      "json",
    ]);
    expect(b.code).toBe(0);
    const vars = JSON.parse(b.stdout).base_job_template.variables.properties;
    expect(vars.aci_credentials.default.$ref.block_document_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(vars.subscription_id.default).toBe(SUB);
    expect(vars.resource_group_name.default).toBe("my-rg");
    const block = JSON.parse(
      (await wp(["block", "inspect", "azure-container-instance-credentials/my-aci", "-o", "json"])).stdout,
    );
    expect(block.data.client_secret).toBe("********");
    expect(block.data.client_id).toBe(ctx.env.AZURE_CLIENT_ID);
    for (const out of [a.stdout, a.stderr, b.stdout, b.stderr]) expect(out).not.toContain(secret);
  });

  it("a pool bound to its own client secret: status checks the secret only; rotation is refused", async () => {
    expect((await wp(["block", "create", "azure-container-instance-credentials", "my-aci", "--yes"])).code).toBe(0);
    const create = ["create", "aci", "--type", "azure-container-instance:push", "--credentials-block", "my-aci"];
    expect((await wp([...create, "--set", `subscription_id=${SUB}`, "--set", "resource_group_name=my-rg"])).code).toBe(
      0,
    );
    const ok = await wp(["status", "aci"]);
    expect(ok.stdout).toContain("Bound to a credentials block wp did not make");
    expect(ok.stdout).toContain(`authenticates as client ${ctx.env.AZURE_CLIENT_ID}`);
    expect(ok.code).toBe(0);
    const rotate = await wp(["rotate-credentials", "aci", "--yes", "-o", "json"]);
    expect(rotate.code).toBe(2);
    expect(JSON.parse(rotate.stdout).error.hint).toContain(
      "wp block create azure-container-instance-credentials my-aci --overwrite",
    );
  });

  it("a wrong secret writes nothing (exit 4); a missing one without a terminal is exit 2", async () => {
    const wrong = await wp(["block", "create", "azure-container-instance-credentials", "x", "--yes"], {
      env: { AZURE_CLIENT_SECRET: "not-the-secret-0000" },
    });
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).not.toContain("not-the-secret-0000");
    const missing = await wp(["block", "create", "azure-container-instance-credentials", "x", "--yes"], {
      env: { AZURE_CLIENT_SECRET: "" },
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("AZURE_CLIENT_SECRET");
    const flag = await wp([
      "block",
      "create",
      "azure-container-instance-credentials",
      "x",
      "--client-secret",
      "s3cr3t-value",
      "--yes",
    ]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).not.toContain("s3cr3t-value");
    expect(JSON.parse((await wp(["block", "ls", "-o", "json"])).stdout)).toEqual([]);
  });

  it("on a terminal asks for what the environment lacks, the secret hidden", async () => {
    const { scriptedPrompter } = await import("../helpers/run-cli.js");
    const prompter = scriptedPrompter([ctx.env.AZURE_CLIENT_SECRET ?? "", true]);
    const r = await wp(["block", "create", "azure-container-instance-credentials", "typed"], {
      tty: true,
      prompter,
      env: { AZURE_CLIENT_SECRET: "" },
    });
    expect(r.code).toBe(0);
    expect(prompter.asked[0]).toContain("client secret (hidden)");
  });
});

describe("gcp-credentials from a service account key file (Google simulator)", () => {
  const fx = useGcpSim();

  /** The user's own service account and JSON key, made "in the console". */
  async function makeKey(): Promise<string> {
    fx.sim.acceptToken("user-token");
    const headers = { authorization: "Bearer user-token", "content-type": "application/json" };
    const base = `${fx.sim.url.replace(/\/+$/, "")}/v1/projects/${PROJECT}/serviceAccounts`;
    const sa = (await (
      await fetch(base, { method: "POST", headers, body: JSON.stringify({ accountId: "my-runner" }) })
    ).json()) as { email: string };
    const key = (await (await fetch(`${base}/${sa.email}/keys`, { method: "POST", headers, body: "{}" })).json()) as {
      privateKeyData: string;
    };
    return Buffer.from(key.privateKeyData, "base64").toString("utf8");
  }

  it("gets an access token with the key, writes the block and binds a cloud-run-v2:push pool", async () => {
    const keyText = await makeKey();
    const file = join(fx.home.dir, "key.json");
    writeFileSync(file, keyText, { mode: 0o600 });
    const wp = (argv: string[]) => runCli(argv, { env: fx.env });
    const a = await wp(["block", "create", "gcp-credentials", "my-gcp", "--key-file", file, "--yes", "--debug"]);
    expect(a.code).toBe(0);
    expect(a.stderr).toContain("Google access token issued for my-runner@");
    const b = await wp(["create", "cr", "--type", "cloud-run-v2:push", "--credentials-block", "my-gcp", "-o", "json"]);
    expect(b.code).toBe(0);
    expect(JSON.parse(b.stdout).base_job_template.variables.properties.credentials.default.$ref).toBeDefined();
    const block = JSON.parse((await wp(["block", "inspect", "gcp-credentials/my-gcp", "-o", "json"])).stdout);
    expect(block.data.project).toBe(PROJECT);
    const privateKey = JSON.parse(keyText).private_key as string;
    const body = privateKey.split("\n")[1] ?? "";
    for (const out of [a.stdout, a.stderr, b.stdout, b.stderr, JSON.stringify(block)]) expect(out).not.toContain(body);
  });

  it("a pool bound to its own key: status checks the key only, rotation is refused, deprovision keeps the block", async () => {
    const keyText = await makeKey();
    const file = join(fx.home.dir, "own.json");
    writeFileSync(file, keyText, { mode: 0o600 });
    const wp = (argv: string[]) => runCli(argv, { env: fx.env });
    expect((await wp(["block", "create", "gcp-credentials", "my-gcp", "--key-file", file, "--yes"])).code).toBe(0);
    expect((await wp(["create", "cr", "--type", "cloud-run:push", "--credentials-block", "my-gcp"])).code).toBe(0);
    const ok = await wp(["status", "cr", "-o", "json"]);
    expect(ok.code).toBe(0);
    const report = JSON.parse(ok.stdout);
    expect(report.source).toBe("own-credentials");
    expect(report.resources.map((r: { resource: string; state: string }) => [r.resource, r.state])).toEqual([
      ["Work pool", "ok"],
      ["Credentials block", "ok"],
    ]);
    const { client_email: email, private_key_id: keyId } = JSON.parse(keyText) as Record<string, string>;
    expect(report.resources[1].detail).toContain(`authenticates as ${email}`);
    const rotate = await wp(["rotate-credentials", "cr", "--yes"]);
    expect(rotate.code).toBe(2);
    expect(rotate.stderr).toContain("uses block 'my-gcp', which wp did not make");
    // The user's service account lacks Cloud Run's roles: the fix is theirs to grant, not provision-infra.
    fx.sim.project(PROJECT).services.add("run.googleapis.com");
    const verify = await wp(["verify", "cr"]);
    expect(verify.stderr).toContain(`Grant it to ${email} in project ${PROJECT}`);
    expect(verify.stderr).not.toContain("provision-infra");
    // The key deleted in the console: drift, and the fix is the user's, not provision-infra.
    const url = `${fx.sim.url.replace(/\/+$/, "")}/v1/projects/${PROJECT}/serviceAccounts/${email}/keys/${keyId}`;
    await fetch(url, { method: "DELETE", headers: { authorization: "Bearer user-token" } });
    const drift = await wp(["status", "cr"]);
    expect(drift.code).toBe(1);
    expect(drift.stdout).toContain("wp block create gcp-credentials my-gcp --overwrite");
    expect(drift.stdout).not.toContain("provision-infra");
    const plan = await wp(["deprovision", "cr", "--dry-run", "-o", "json"]);
    expect(plan.code).toBe(0);
    const items = JSON.parse(plan.stdout).items ?? JSON.parse(plan.stdout).plan;
    expect(items.map((i: { resource: string; action: string }) => `${i.action} ${i.resource}`)).toEqual([
      "keep Credentials block",
      "delete Work pool",
    ]);
  });

  it("a key Google refuses writes nothing (exit 4); bad files are exit 2", async () => {
    const keyText = await makeKey();
    const key = JSON.parse(keyText);
    key.private_key_id = "0000deleted";
    const file = join(fx.home.dir, "stale.json");
    writeFileSync(file, JSON.stringify(key));
    const wp = (argv: string[]) => runCli(argv, { env: fx.env });
    expect((await wp(["block", "create", "gcp-credentials", "g", "--key-file", file, "--yes"])).code).toBe(4);
    writeFileSync(join(fx.home.dir, "bad.json"), "{not json");
    const bad = await wp([
      "block",
      "create",
      "gcp-credentials",
      "g",
      "--key-file",
      join(fx.home.dir, "bad.json"),
      "--yes",
    ]);
    expect(bad.code).toBe(2);
    expect((await wp(["block", "create", "gcp-credentials", "g", "--yes"])).code).toBe(2);
    expect((await wp(["block", "create", "gcp-credentials", "g", "--key-file", "/nonexistent", "--yes"])).code).toBe(2);
    expect(JSON.parse((await wp(["block", "ls", "-o", "json"])).stdout)).toEqual([]);
  });

  it("reads the key from stdin with --key-file - (the built CLI)", async () => {
    requireBuilt();
    const keyText = await makeKey();
    // Asynchronous: the simulator answers from this process.
    const child = spawn(
      process.execPath,
      ["bin/wp.js", "block", "create", "gcp-credentials", "from-stdin", "--key-file", "-", "--yes", "-o", "json"],
      { env: fx.env },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdin.end(keyText);
    const status = await new Promise<number | null>((r) => child.on("close", r));
    const r = { status, stdout, stderr };
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).name).toBe("from-stdin");
    expect(r.stdout + r.stderr).not.toContain(JSON.parse(keyText).private_key.split("\n")[1]);
  });
});
