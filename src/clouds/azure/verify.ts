/**
 * `wp verify` for Azure Container Instances: with the block's client secret only (an Entra ID token
 * for its client_id), do what Prefect's ACI push submission does — a container group in the pool's
 * resource group, with the template's identities, restart policy Never — with a tiny public image
 * whose command prints a line and exits; wait for the container to terminate (or the group to fail to
 * provision, which stops the wait at once with Azure's reason); report its exit code and log lines;
 * delete the container group, also after a failure, a timeout or Ctrl-C. The group is journaled before
 * it is created (a `kill -9` leaves the entry: `removeLeftover` deletes it later). A refused call is
 * reported as the exact ARM action; right after `create`, a secret or a Contributor grant that Azure has
 * not propagated yet is waited for. The container group goes through @azure/arm-containerinstance (verify-aci.ts).
 */

import type { LifecycleInput } from "../../engine/lifecycle-types.js";
import { stringDefault, templateDefault } from "../../engine/lifecycle-types.js";
import type { Leftover } from "../../engine/verify-journal.js";
import {
  LOG_LINES,
  newReport,
  type VerifyInterrupts,
  type VerifyOptions,
  type VerifyReport,
  verifyInterrupts,
} from "../../engine/verify-run.js";
import { AuthError, CloudError, WpError } from "../../errors.js";
import { wpCommand } from "../../ui/io.js";
import { type AciContext, BLOCK_TYPE } from "./context.js";
import type { AciProvisioner } from "./index.js";
import { clientSecretToken, type Env, httpsRequest, tokenFor, trustedCas } from "./sdk.js";
import { secretsOfBlock, signsInOnceReplicated } from "./secret.js";
import { type AciOps, aciOps, failureReason, Refused } from "./verify-aci.js";
import { whenGranted } from "./verify-wait.js";

export { failureReason, Refused } from "./verify-aci.js";

export const ACI_VERIFY_IMAGE = "mcr.microsoft.com/azurelinux/busybox:1.36";
const API_VERSION = "2023-05-01";
const STOPPED_MESSAGE = "Verification interrupted; the container group was deleted.";

/** Deletes a container group an interrupted verify left, with wp's own credentials; already gone is success. */
export async function deleteContainerGroup(e: AciContext, leftover: Leftover): Promise<void> {
  const { auth } = await e.azure();
  const id = leftover.id ?? "";
  const a = await httpsRequest(`${auth.endpoints.arm}${id}?api-version=${API_VERSION}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${await tokenFor(auth, auth.endpoints.arm)}`, accept: "application/json" },
    ca: trustedCas(e.docker.env),
  });
  if (a.status === 404 || (a.status >= 200 && a.status < 300)) return;
  throw new CloudError(`Deleting container group ${leftover.name} failed (HTTP ${a.status}).`, `HTTP${a.status}`);
}

/** The block's client id, tenant and secret (never printed). */
async function blockSecret(input: LifecycleInput) {
  const fix = wpCommand("provision-infra", input.pool.name);
  if (!input.block)
    throw new WpError(`Work pool '${input.pool.name}' references no ${BLOCK_TYPE} block.`, `Run \`${fix}\`.`);
  const full = await input.api.readBlockDocumentById(input.block.id, true);
  const d = (full?.data ?? {}) as Record<string, unknown>;
  const str = (k: string) => (typeof d[k] === "string" ? (d[k] as string) : "");
  const [clientId, tenantId, clientSecret] = [str("client_id"), str("tenant_id"), str("client_secret")];
  if (!clientId || !tenantId || !clientSecret)
    throw new WpError(
      `Block ${input.block.name} holds no client secret.`,
      `Run \`${wpCommand("rotate-credentials", input.pool.name)}\`.`,
    );
  return { clientId, tenantId, clientSecret };
}

export async function verifyAci(input: LifecycleInput, o: VerifyOptions): Promise<VerifyReport> {
  const { pool } = input;
  const e = (input.provisioner as AciProvisioner).aci;
  const fix = wpCommand("provision-infra", pool.name);
  const secret = await blockSecret(input);
  const subscription = stringDefault(pool, "subscription_id");
  const group = e.names.resourceGroup;
  if (!subscription)
    throw new WpError(`The template of work pool '${pool.name}' names no subscription_id.`, `Run \`${fix}\`.`);
  const ids = templateDefault(pool, "identities");
  const identities = Array.isArray(ids) ? ids.filter((x): x is string => typeof x === "string" && x !== "") : [];
  const image = o.image || ACI_VERIFY_IMAGE;
  const name = groupName(pool.name);
  const groupPath = `/subscriptions/${subscription}/resourceGroups/${group}`;
  const cgPath = `${groupPath}/providers/Microsoft.ContainerInstance/containerGroups/${name}`;
  const started = Date.now();
  const report = newReport(pool.name, o, { identity: secret.clientId, cluster: groupPath, image, noun: "container" });
  report.logsFrom = "the container's logs (Azure Container Instances)";
  if (o.dryRun) {
    report.ok = true;
    return report;
  }
  await blockToken(e, input.env, secret, o.progress);
  const refused = (action: string, code: string) =>
    new Refused(
      `The block's identity ${secret.clientId} is not allowed ${action} (the call was refused).`,
      code,
      `Grant it: \`${fix}\` restores the Contributor role on ${group} that Prefect's provisioner grants.`,
      action,
    );
  const ops = await aciOps(input.env, secret, { subscription, group, name, pollMs: o.pollMs }, refused);
  const stop = verifyInterrupts(o.progress, "container group");
  const entry = input.journal.add({
    pool: pool.name,
    kind: "Container group",
    name,
    id: cgPath,
    where: { subscription, resourceGroup: group },
  });
  let created = false;
  try {
    const location = await ops.location();
    // A Contributor grant made minutes ago may not be honoured yet: waited for (within the verify's timeout).
    await whenGranted(e, {
      clientId: secret.clientId,
      scope: groupPath,
      deadline: started + o.timeoutSeconds * 1000,
      note: o.progress,
      refused: (err) => err instanceof Refused,
      run: () => ops.create({ location, identities, image, command: report.command }),
    });
    created = true;
    report.taskDefinition = cgPath;
    report.taskArn = name;
    o.progress(`Created container group ${name} in ${group}; waiting for it to finish...`);
    await waitForContainer(ops, name, { o, stop, report, started });
    await readLogs(ops, report);
    stop.check(STOPPED_MESSAGE);
    report.ok = report.exitCode === 0;
    return report;
  } finally {
    await cleanUp(ops, { created, name, report, progress: o.progress, done: () => input.journal.done(entry) });
    report.seconds = Math.round((Date.now() - started) / 100) / 10;
    stop.undo();
  }
}

/** `wp-verify-<pool slug>-<4 random>`. */
function groupName(pool: string): string {
  const slug = pool
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
  return `wp-verify-${slug || "pool"}-${Math.random().toString(36).slice(2, 6)}`;
}

/** Deletes the group (not created: ARM refused the PUT; an answer lost in transit stays journaled only after a kill). */
async function cleanUp(
  ops: AciOps,
  o: { created: boolean; name: string; report: VerifyReport; progress(m: string): void; done(): void },
): Promise<void> {
  const removed = o.created
    ? await ops.remove().then(
        () => true,
        (err: unknown) => err,
      )
    : true;
  if (removed === true) {
    o.done();
    if (o.created) o.report.cleanedUp.push(`deleted container group ${o.name}`);
  } else
    o.progress(
      `Could not delete container group ${o.name}: ${removed instanceof Error ? removed.message : String(removed)}`,
    );
}

/** Polls until the container terminates, or the group fails (to provision, or before it starts); progress on each change. */
async function waitForContainer(
  ops: AciOps,
  name: string,
  r: { o: VerifyOptions; stop: VerifyInterrupts; report: VerifyReport; started: number },
): Promise<void> {
  const { o, stop, report, started } = r;
  const deadline = started + o.timeoutSeconds * 1000;
  let last = "";
  for (;;) {
    stop.check(STOPPED_MESSAGE);
    if (Date.now() > deadline) throw timeout(o.timeoutSeconds);
    await stop.sleep(o.pollMs);
    stop.check(STOPPED_MESSAGE);
    const g = await ops.read();
    // A group that failed to provision never starts its container (ContainerGroupsGet_Failed.json): stop now.
    if (g.provisioningState === "Failed") {
      const why = failureReason(g.events);
      report.lastStatus = "Failed";
      report.exitCode = null;
      report.stoppedReason = `the container group failed to provision: ${why}`;
      o.progress(`Container group ${name}: provisioning Failed (${why})`);
      return;
    }
    const state = g.container?.state ?? g.state ?? "Pending";
    if (state !== last) {
      last = state;
      o.progress(`Container group ${name}: ${state} (${Math.round((Date.now() - started) / 1000)}s)`);
    }
    report.lastStatus = last;
    if (state === "Terminated") {
      report.exitCode = g.container?.exitCode ?? null;
      if (g.container?.detailStatus) report.stoppedReason = g.container.detailStatus;
      return;
    }
    if (g.state === "Failed" && !g.container) {
      report.exitCode = null;
      report.stoppedReason = "the container group failed before its container started";
      return;
    }
  }
}

/** The container's last log lines; unreadable logs leave the verdict alone (the run itself proved the pool). */
async function readLogs(ops: AciOps, report: VerifyReport): Promise<void> {
  let unreadable = "";
  const content = await ops.logs().catch((err: unknown) => {
    unreadable = err instanceof Error ? err.message : String(err);
    return null;
  });
  report.logs = (content ?? "").split("\n").filter(Boolean).slice(-LOG_LINES);
  if (!report.logs.length)
    report.logsNote = content !== null ? "the container printed nothing" : `the logs could not be read (${unreadable})`;
}

/**
 * The block's client secret signs in. A secret made minutes ago may not sign in yet: when the app's
 * secret with the block's hint is that new, wp waits for it (bounded); any other refusal is reported at once.
 */
async function blockToken(
  e: AciContext,
  env: Env,
  secret: { clientId: string; tenantId: string; clientSecret: string },
  note: (m: string) => void,
): Promise<void> {
  try {
    await clientSecretToken(env, secret);
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    const app = await (await e.azure()).graph.findAppByAppId(secret.clientId).catch(() => null);
    const made = secretsOfBlock(app?.passwordCredentials ?? [], secret.clientSecret)
      .map((c) => c.startDateTime ?? "")
      .sort()
      .pop();
    if (await signsInOnceReplicated(env, secret, made, { note, intervalMs: e.retry.baseMs })) throw err;
    await clientSecretToken(env, secret);
  }
}

const timeout = (s: number) =>
  new CloudError(`The container group did not finish within ${s}s.`, "Timeout", "Pass --timeout to wait longer.");
