/**
 * The engine's walks over resources (src/engine/resource.ts): status read from `check`, deletion in
 * reverse dependency order, and the teardown decision (gone / adopted / still used / keep / delete)
 * from the record, other pools' records and templates; and the verify journal.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { StoredRecord } from "../../src/engine/record.js";
import {
  type Resource,
  reverseOrder,
  statusItem,
  type TeardownContext,
  teardownPlan,
} from "../../src/engine/resource.js";
import type { StepState } from "../../src/engine/types.js";
import { VerifyJournal } from "../../src/engine/verify-journal.js";
import type { WorkPool } from "../../src/prefect/types.js";

const deleted: string[] = [];
function res(id: string, o: Partial<Resource> = {}): Resource {
  return {
    id,
    resource: id.toUpperCase(),
    name: `${id}-name`,
    target: "cloud",
    check: async () => ({ action: "exists" }),
    apply: async () => ({ action: "exists" }),
    delete: async () => {
      deleted.push(id);
    },
    ...o,
  };
}

const pool = (name: string, defaults: Record<string, unknown>): WorkPool =>
  ({
    id: `${name}-id`,
    name,
    type: "x:push",
    base_job_template: {
      variables: { properties: Object.fromEntries(Object.entries(defaults).map(([k, v]) => [k, { default: v }])) },
    },
  }) as unknown as WorkPool;

const record = (pool: string, resources: Array<{ step: string; name: string; id?: string; created: boolean }>) =>
  ({
    id: `${pool}-record`,
    record: {
      work_pool: pool,
      pool_type: "x:push",
      provider: "x",
      context: {},
      names: {},
      resources: resources.map((r) => ({ kind: r.step, ...r })),
      updated: "",
    },
  }) as StoredRecord;

function base(o: Partial<TeardownContext> = {}): Omit<TeardownContext, "entry"> {
  return {
    prefect: {} as TeardownContext["prefect"],
    outputs: new Map(),
    note: () => {},
    force: false,
    otherPools: [],
    otherRecords: [],
    forgetDockerNamespace: async () => {},
    ...o,
  };
}

describe("resources", () => {
  afterEach(() => {
    deleted.length = 0;
  });

  it("reverse dependency order: what depends on a resource is deleted before it", () => {
    const order = reverseOrder([
      res("role"),
      res("user"),
      res("policy", { after: ["role", "user"] }),
      res("key", { after: ["policy"] }),
      res("cluster"),
    ]).map((r) => r.id);
    expect(order).toEqual(["cluster", "key", "policy", "user", "role"]);
    for (const [a, b] of [
      ["key", "policy"],
      ["policy", "role"],
      ["policy", "user"],
    ] as const)
      expect(order.indexOf(a)).toBeLessThan(order.indexOf(b));
  });

  it("status is the read: exists → ok, update → drift with the fix, create → missing with the fix", () => {
    const r = res("key", { repair: "rotate-credentials" });
    expect(statusItem("p", r, { action: "exists", id: "k1" })).toEqual({
      resource: "KEY",
      name: "key-name",
      id: "k1",
      state: "ok",
    });
    expect(statusItem("my pool", r, { action: "update", detail: "inactive" })).toMatchObject({
      state: "drift",
      detail: "inactive",
      fix: "wp rotate-credentials 'my pool'",
    });
    expect(statusItem("p", res("vpc"), { action: "create" })).toMatchObject({
      state: "missing",
      fix: "wp provision-infra p",
    });
    expect(statusItem("p", r, { action: "update", repair: "provision-infra" }).fix).toBe("wp provision-infra p");
    expect(statusItem("p", r, { action: "exists", unchecked: true }).state).toBe("not checked");
  });

  it("teardown: gone, adopted, still used (record, template value, block $ref), kept with a reason, deleted", async () => {
    const resources = [
      res("gone"),
      res("adopted"),
      res("shared-record"),
      res("shared-template", { templateVariable: "cluster" }),
      res("block", { templateVariable: "creds" }),
      res("registry", { teardownFacts: async (ctx) => (ctx.force ? {} : { keep: "holds 2 images" }) }),
      (({ delete: _d, ...r }) => r)(res("never")),
      res("mine"),
    ];
    const states = new Map<string, StepState>([
      ["gone", { action: "create" }],
      ["adopted", { action: "exists", id: "a1" }],
      ["shared-record", { action: "exists", id: "s1" }],
      ["shared-template", { action: "exists", id: "arn:c" }],
      ["block", { action: "exists", id: "block-1" }],
      ["registry", { action: "exists" }],
      ["never", { action: "exists" }],
      ["mine", { action: "exists", id: "m1" }],
    ]);
    const own = record(
      "p",
      resources.map((r) => ({ step: r.id, name: r.name, created: r.id !== "adopted" })),
    );
    const others = {
      otherRecords: [record("q", [{ step: "shared-record", name: "x", id: "s1", created: false }])],
      otherPools: [
        pool("r", { cluster: "shared-template-name" }),
        pool("s", { creds: { $ref: { block_document_id: "block-1" } } }),
      ],
    };
    const plan = await teardownPlan(resources, states, base(others), own);
    const by = Object.fromEntries(plan.map((i) => [i.step, i]));
    expect(by.never).toBeUndefined();
    expect(by.gone?.action).toBe("gone");
    expect(by.adopted).toMatchObject({ action: "keep", reason: "adopted: wp did not create it" });
    expect(by["shared-record"]).toMatchObject({ action: "keep", usedBy: ["q"] });
    expect(by["shared-template"]).toMatchObject({ action: "keep", usedBy: ["r"] });
    expect(by.block).toMatchObject({ action: "keep", usedBy: ["s"] });
    expect(by.registry).toMatchObject({ action: "keep", reason: "holds 2 images" });
    expect(by.mine?.action).toBe("delete");
    await by.mine?.run?.();
    expect(deleted).toEqual(["mine"]);

    const forced = await teardownPlan(resources, states, base({ ...others, force: true }), own);
    expect(forced.find((i) => i.step === "registry")?.action).toBe("delete");
  });

  it("the same name with another id (another region) is another resource: not a user", async () => {
    const repo = res("repo");
    const states = new Map<string, StepState>([["repo", { action: "exists", id: "europe-west1/prefect-images" }]]);
    const own = record("eb", [{ step: "repo", name: "repo-name", id: "europe-west1/prefect-images", created: true }]);
    const ua = record("ua", [{ step: "repo", name: "repo-name", id: "us-central1/prefect-images", created: true }]);
    const plan = await teardownPlan([repo], states, base({ otherRecords: [ua] }), own);
    expect(plan[0]?.action).toBe("delete");
    const same = record("ub", [{ step: "repo", name: "repo-name", id: "europe-west1/prefect-images", created: false }]);
    const shared = await teardownPlan([repo], states, base({ otherRecords: [ua, same] }), own);
    expect(shared[0]).toMatchObject({ action: "keep", usedBy: ["ub"] });
  });

  it("teardown without a record: only what carries wp's tag counts as created", async () => {
    const resources = [res("tagged", { teardownFacts: async () => ({ tagged: true }) }), res("plain")];
    const states = new Map<string, StepState>([
      ["tagged", { action: "exists" }],
      ["plain", { action: "exists" }],
    ]);
    const plan = await teardownPlan(resources, states, base(), null);
    expect(plan.map((i) => [i.step, i.action])).toEqual([
      ["plain", "keep"],
      ["tagged", "delete"],
    ]);
  });
});

describe("verify journal", () => {
  let home: string;
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it("an entry written before creation stays until done; a live run's entry is not a leftover; a torn one is dropped", () => {
    home = mkdtempSync(join(tmpdir(), "wp-journal-"));
    const j = new VerifyJournal(home);
    const e = j.add({ pool: "p", kind: "Container group", name: "wp-verify-1", where: { resourceGroup: "rg" } });
    expect(j.leftovers("p").map((x) => x.name)).toEqual(["wp-verify-1"]);
    expect(j.leftovers("other")).toEqual([]);
    // A live process's entry (this test's parent) is its run in progress, not a leftover.
    const live = { pool: "p", kind: "Job", name: "j", where: {}, started: "", pid: process.ppid, host: hostname() };
    writeFileSync(join(home, "pending", "verify-live.json"), JSON.stringify(live));
    writeFileSync(join(home, "pending", "verify-torn.json"), '{"pool": "p", "ki');
    expect(j.leftovers("p").map((x) => x.name)).toEqual(["wp-verify-1"]);
    expect(readdirSync(join(home, "pending"))).not.toContain("verify-torn.json");
    j.done(e);
    expect(j.leftovers("p")).toEqual([]);
  });
});
