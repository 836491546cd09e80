/**
 * `wp verify` right after `create`: the block's new key and the new execution role may not work yet
 * (IAM is eventually consistent, https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html).
 * verify waits for them — bounded, saying so — instead of reporting the first refusal, but only when
 * the caller's own credentials show the key or role is new (else a refusal is reported at once).
 */
import type { LifecycleInput } from "../../engine/lifecycle-types.js";
import { type Attempt, waitUntil } from "../../engine/wait.js";
import type { EcsProvisioner } from "./index.js";
import { isNew, KEY_NOT_YET, KEY_WAIT_MS, ROLE_WAIT_MS } from "./propagation.js";
import { awsErrorCode } from "./sdk.js";

/** How long to wait when the caller may not read IAM (so newness is unknown). */
const UNKNOWN_AGE_WAIT_MS = 20_000;

/** The key's or role's age as the caller's credentials see it: new, old, or unknown (no caller access). */
type Age = "new" | "old" | "unknown";

async function keyAge(input: LifecycleInput, keyId: string): Promise<Age> {
  try {
    const e = (input.provisioner as EcsProvisioner).ecs;
    const keys = await (await (await e.aws()).iam()).listAccessKeys(e.names.iamUser);
    const k = keys.find((x) => x.AccessKeyId === keyId);
    return k ? (isNew(k.CreateDate) ? "new" : "old") : "unknown";
  } catch {
    return "unknown";
  }
}

async function roleAge(input: LifecycleInput, roleArn: string): Promise<Age> {
  try {
    const e = (input.provisioner as EcsProvisioner).ecs;
    const role = await (await (await e.aws()).iam()).getRole(roleArn.split("/").pop() ?? "");
    if (!role) return "unknown";
    return isNew(role.CreateDate) ? "new" : "old";
  } catch {
    return "unknown";
  }
}

const waitFor = (age: Age, full: number) => (age === "new" ? full : age === "unknown" ? UNKNOWN_AGE_WAIT_MS : 0);

/** `fn` (a call made with the block's key); while AWS refuses the key as unknown and the key is new, tried again. */
export async function withNewKey<T>(
  input: LifecycleInput,
  keyId: string,
  progress: (m: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!KEY_NOT_YET.has(awsErrorCode(err) ?? "")) throw err;
    const ms = waitFor(await keyAge(input, keyId), KEY_WAIT_MS);
    if (ms === 0) throw err;
    return waitUntil({
      what: `the block's access key ${keyId} to work`,
      why: "AWS refuses a new access key (InvalidClientTokenId) for a few seconds after it is made",
      timeoutMs: ms,
      note: progress,
      async attempt(): Promise<Attempt<T>> {
        try {
          return { done: true, value: await fn() };
        } catch (e) {
          if (KEY_NOT_YET.has(awsErrorCode(e) ?? "")) return { done: false, reason: awsErrorCode(e) ?? "" };
          throw e;
        }
      },
    });
  }
}

/**
 * `run` (RunTask); while ECS answers ClientException (it cannot assume the execution role) and the
 * role is new, tried again. A refused RunTask started nothing, so trying again is safe.
 */
export async function withNewRole<T>(
  input: LifecycleInput,
  roleArn: string | undefined,
  progress: (m: string) => void,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!roleArn || awsErrorCode(err) !== "ClientException") throw err;
    const ms = waitFor(await roleAge(input, roleArn), ROLE_WAIT_MS);
    if (ms === 0) throw err;
    return waitUntil({
      what: `ECS to be able to assume the execution role ${roleArn}`,
      why: "a new IAM role takes a few seconds before ECS can assume it",
      timeoutMs: ms,
      note: progress,
      async attempt(): Promise<Attempt<T>> {
        try {
          return { done: true, value: await run() };
        } catch (e) {
          if (awsErrorCode(e) === "ClientException") return { done: false, reason: "ClientException" };
          throw e;
        }
      },
    });
  }
}
