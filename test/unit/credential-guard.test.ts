/**
 * The credential guard's journal, with an in-memory cloud: a rotation's old credential is deleted
 * once the block holds the new one, or by the next run when the rotation stopped in between; a mint
 * whose answer was lost leaves no credential behind.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CredentialGuard, type CredentialSpec } from "../../src/engine/credential.js";

interface Key {
  id: string;
  created: Date;
}

/** A cloud owner with keys, and a block holding one id. */
function world(o: { loseAnswer?: boolean; failRevoke?: boolean } = {}) {
  let n = 0;
  const keys: Key[] = [{ id: "old-1", created: new Date(Date.now() - 86_400_000) }];
  const block = { id: "old-1" };
  const spec: CredentialSpec<Key> = {
    scope: "test:owner",
    noun: "key",
    owner: "user u",
    async mint() {
      const k = { id: `new-${++n}`, created: new Date() };
      keys.push(k);
      if (o.loseAnswer) throw new Error("socket hang up");
      return k;
    },
    async revoke(id) {
      if (o.failRevoke) throw new Error("503");
      const i = keys.findIndex((k) => k.id === id);
      if (i >= 0) keys.splice(i, 1);
    },
    async list() {
      return keys.map((k) => ({ id: k.id, created: k.created }));
    },
    async held() {
      return new Set([block.id]);
    },
  };
  return { keys, block, spec, o };
}

const homes: string[] = [];
function guard() {
  const home = mkdtempSync(join(tmpdir(), "wp-guard-"));
  homes.push(home);
  return { home, g: new CredentialGuard({ home }) };
}
afterEach(() => {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});
const notes: string[] = [];
const note = (m: string) => notes.push(m);

describe("credential guard", () => {
  it("a rotation deletes the old credential once the block holds the new one", async () => {
    const { keys, block, spec } = world();
    const { home, g } = guard();
    await g.mintInto(spec, async (k) => (block.id = k.id), note, ["old-1"]);
    expect(keys.map((k) => k.id)).toEqual(["new-1"]);
    expect(readdirSync(join(home, "pending"))).toEqual([]);
  });

  it("a rotation that could not delete the old credential leaves it to the next run, which deletes it", async () => {
    const w = world({ failRevoke: true });
    const { g } = guard();
    await g.mintInto(w.spec, async (k) => (w.block.id = k.id), note, ["old-1"]);
    expect(w.keys.map((k) => k.id)).toEqual(["old-1", "new-1"]);
    // The next run (same journal): the old key is an orphan now that the block moved on.
    const orphans = await g.orphans(w.spec);
    expect(orphans.map((x) => x.id)).toEqual(["old-1"]);
    w.o.failRevoke = false;
    expect(await g.recover(w.spec, note)).toBe(1);
    expect(w.keys.map((k) => k.id)).toEqual(["new-1"]);
    expect(await g.orphans(w.spec)).toEqual([]);
  });

  it("a rotation stopped before the block was written keeps the old credential (the block's) and drops the new", async () => {
    const w = world();
    const { g } = guard();
    await expect(
      g.mintInto(
        w.spec,
        async () => {
          throw new Error("Prefect unreachable");
        },
        note,
        ["old-1"],
      ),
    ).rejects.toThrow("Prefect unreachable");
    expect(w.keys.map((k) => k.id)).toEqual(["old-1"]);
    expect(await g.orphans(w.spec)).toEqual([]);
  });

  it("a mint whose answer was lost leaves no credential: the one it created is found and deleted", async () => {
    const w = world({ loseAnswer: true });
    const { home, g } = guard();
    await expect(g.mintInto(w.spec, async () => 0, note)).rejects.toThrow("socket hang up");
    expect(w.keys.map((k) => k.id)).toEqual(["old-1"]);
    expect(readdirSync(join(home, "pending"))).toEqual([]);
    expect(notes.some((m) => m.includes("new-1") && m.includes("answer never arrived"))).toBe(true);
  });

  it("pending(prefix) answers from the journal alone, and leaves verify's entries in the same folder alone", async () => {
    const w = world({ failRevoke: true });
    const { home, g } = guard();
    const verifyEntry = join(home, "pending", "verify-1.json");
    mkdirSync(join(home, "pending"), { recursive: true });
    writeFileSync(verifyEntry, JSON.stringify({ pool: "p", kind: "Cloud Run job", name: "wp-verify-p" }));
    expect(g.pending("test:")).toBe(false);
    expect(existsSync(verifyEntry)).toBe(true);
    await g.mintInto(w.spec, async (k) => (w.block.id = k.id), note, ["old-1"]);
    expect(g.pending("test:")).toBe(true);
    expect(g.pending("aws:")).toBe(false);
    expect(existsSync(verifyEntry)).toBe(true);
  });
});
