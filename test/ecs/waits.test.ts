/** Every wait for AWS's eventual consistency has a deadline, says why it waits, and stops at once on any other answer. */
import { describe, expect, it } from "vitest";
import { authenticatesAs } from "../../src/clouds/aws/credentials-key.js";
import { createEcsProvisioner } from "../../src/clouds/aws/index.js";
import { afterCreate } from "../../src/clouds/aws/propagation.js";
import { CloudError } from "../../src/errors.js";
import { useAwsProxy } from "../helpers/aws-proxy.js";
import { FakePrefect } from "../helpers/fake-prefect.js";
import { requireMoto } from "../helpers/moto.js";

const noSuch = () => Promise.reject(new CloudError("The user with name u cannot be found.", "NoSuchEntity"));

describe("waits for IAM's eventual consistency", () => {
  it("a NoSuchEntity that never clears ends at the deadline, with what was awaited and the last answer", async () => {
    const notes: string[] = [];
    const started = Date.now();
    const err = await afterCreate("IAM user u", (m) => notes.push(m), noSuch, undefined, 600).catch((e: Error) => e);
    expect(Date.now() - started).toBeLessThan(3000);
    expect((err as Error).message).toMatch(
      /^Gave up after \d+ s waiting for IAM to show IAM user u \(last answer: NoSuchEntity\)\./,
    );
    expect(notes).toEqual([
      "Waiting for IAM to show IAM user u (IAM is eventually consistent: a new user, role or policy can be missing for a few seconds; up to 600 ms)...",
    ]);
  });

  it("any other answer stops the wait at once; an answer at the first try costs no progress line", async () => {
    const notes: string[] = [];
    const denied = () => Promise.reject(new CloudError("denied", "AccessDenied"));
    await expect(afterCreate("IAM user u", (m) => notes.push(m), denied)).rejects.toThrow("denied");
    expect(
      await afterCreate(
        "IAM user u",
        (m) => notes.push(m),
        async () => 7,
      ),
    ).toBe(7);
    expect(notes).toEqual([]);
  });
});

const hasMoto = requireMoto("test/ecs/waits.test.ts (the new-key wait against moto)");

describe.skipIf(!hasMoto)("the new-key wait against moto", () => {
  const sim = useAwsProxy();
  it("a new key that never works ends at the deadline as a problem, not a hang", async () => {
    const m = await import("@aws-sdk/client-iam");
    const iam = new m.IAMClient({ region: "us-east-1", endpoint: sim.moto.url });
    const user = (await iam.send(new m.CreateUserCommand({ UserName: "u" }))).User;
    sim.proxy.lags.keyMs = 600_000;
    // The proxy learns of a new key from the answer it relays.
    const via = new m.IAMClient({ region: "us-east-1", endpoint: sim.proxy.url });
    const k2 = (await via.send(new m.CreateAccessKeyCommand({ UserName: "u" }))).AccessKey;
    const e = createEcsProvisioner({ poolName: "p", prefect: new FakePrefect(), endpoint: sim.proxy.url }).ecs;
    const notes: string[] = [];
    const problem = await authenticatesAs(
      e,
      { id: k2?.AccessKeyId ?? "", secretAccessKey: k2?.SecretAccessKey ?? "" },
      user?.Arn ?? "",
      { note: (x) => notes.push(x), ms: 800 },
    );
    expect(problem).toMatch(
      /^does not authenticate \(Gave up after \d+ s waiting for the new access key \S+ to work \(last answer: InvalidClientTokenId\)/,
    );
    expect(notes[0]).toMatch(/^Waiting for the new access key \S+ to work \(AWS refuses a new access key/);
  });
});
