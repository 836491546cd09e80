/**
 * `wp verify` for Azure Container Instances: with the block's client secret only (an Entra ID token
 * for its client_id), do what Prefect's ACI push submission does — a container group in the pool's
 * resource group, with the template's identities, restart policy Never — with a tiny public image
 * whose command prints a line and exits; wait for the container to terminate; report its exit code
 * and log lines; delete the container group, also after a failure, a timeout or Ctrl-C. The group is
 * journaled before it is created (a `kill -9` leaves the entry: `removeLeftover` deletes it later).
 * A refused call is reported as the exact ARM action.
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
import { azureEndpoints, clientSecretToken, type Env, httpsRequest, tokenFor, trustedCas } from "./sdk.js";
import { secretsOfBlock, signsInOnceReplicated } from "./secret.js";
import { whenGranted } from "./verify-wait.js";

export const ACI_VERIFY_IMAGE = "mcr.microsoft.com/azurelinux/busybox:1.36";
const API_VERSION = "2022-09-01";
const CONTAINER = "wp-verify";
const STOPPED_MESSAGE = "Verification interrupted; the container group was deleted.";

interface ArmAnswer {
  status: number;
  body: Record<string, unknown>;
}
type Call = (method: string, path: string, body?: unknown, apiVersion?: string) => Promise<ArmAnswer>;

/** ARM refused `action` to the block's identity (AuthorizationFailed). */
export class Refused extends CloudError {
  constructor(
    message: string,
    code: string,
    hint: string,
    readonly action: string,
  ) {
    super(message, code, hint);
  }
}

/** ARM calls with `token`; a refused action is named (`identity` lacks it; `fix` restores it). */
function armCaller(env: Env, token: string, refused: (action: string, code: string) => Error): Call {
  const { arm } = azureEndpoints(env);
  const ca = trustedCas(env);
  return async (method, path, body, apiVersion = API_VERSION) => {
    const a = await httpsRequest(`${arm}${path}?api-version=${apiVersion}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        accept: "application/json",
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ca,
    });
    let parsed: Record<string, unknown> = {};
    try {
      parsed = a.text ? (JSON.parse(a.text) as Record<string, unknown>) : {};
    } catch {
      parsed = {};
    }
    if (a.status >= 200 && a.status < 300) return { status: a.status, body: parsed };
    const err = (parsed.error ?? {}) as { code?: string; message?: string };
    const code = err.code ?? `HTTP${a.status}`;
    const action = code === "AuthorizationFailed" ? /perform action '([^']+)'/.exec(err.message ?? "")?.[1] : undefined;
    if (action) throw refused(action, code);
    throw new CloudError(`Azure ${method} ${path.split("/").slice(-2).join("/")}: ${err.message ?? a.status}`, code);
  };
}

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

function containerGroupBody(location: string, identities: string[], image: string, command: string[]) {
  return {
    location,
    tags: { "managed-by": "wp" },
    ...(identities.length
      ? {
          identity: {
            type: "UserAssigned",
            userAssignedIdentities: Object.fromEntries(identities.map((i) => [i, {}])),
          },
        }
      : {}),
    properties: {
      osType: "Linux",
      restartPolicy: "Never",
      containers: [
        {
          name: CONTAINER,
          properties: { image, command, resources: { requests: { cpu: 1, memoryInGB: 1 } }, environmentVariables: [] },
        },
      ],
    },
  };
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
  const slug = pool.name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
  const name = `wp-verify-${slug || "pool"}-${Math.random().toString(36).slice(2, 6)}`;
  const groupPath = `/subscriptions/${subscription}/resourceGroups/${group}`;
  const cgPath = `${groupPath}/providers/Microsoft.ContainerInstance/containerGroups/${name}`;
  const started = Date.now();
  const report = newReport(pool.name, o, { identity: secret.clientId, cluster: groupPath, image, noun: "container" });
  report.logsFrom = "the container's logs (Azure Container Instances)";
  if (o.dryRun) {
    report.ok = true;
    return report;
  }
  const token = await blockToken(e, input.env, secret, o.progress);
  const call = armCaller(
    input.env,
    token,
    (action, code) =>
      new Refused(
        `The block's identity ${secret.clientId} is not allowed ${action} (the call was refused).`,
        code,
        `Grant it: \`${fix}\` restores the Contributor role on ${group} that Prefect's provisioner grants.`,
        action,
      ),
  );
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
    const rg = await call("GET", groupPath, undefined, "2021-04-01");
    const location = typeof rg.body.location === "string" ? rg.body.location : "eastus";
    // A Contributor grant made minutes ago may not be honoured yet: waited for (within the verify's timeout).
    await whenGranted(e, {
      clientId: secret.clientId,
      scope: groupPath,
      deadline: started + o.timeoutSeconds * 1000,
      note: o.progress,
      refused: (err) => err instanceof Refused,
      run: () => call("PUT", cgPath, containerGroupBody(location, identities, image, report.command)),
    });
    created = true;
    report.taskDefinition = cgPath;
    report.taskArn = name;
    o.progress(`Created container group ${name} in ${group}; waiting for it to finish...`);
    await waitForContainer(call, cgPath, name, { o, stop, report, started });
    await readLogs(call, cgPath, report);
    stop.check(STOPPED_MESSAGE);
    report.ok = report.exitCode === 0;
    return report;
  } finally {
    // Not created: ARM refused the PUT (an answer lost in transit stays journaled only after a kill).
    const removed = created
      ? await call("DELETE", cgPath).then(
          () => true,
          (err: unknown) => err,
        )
      : true;
    if (removed === true) {
      input.journal.done(entry);
      if (created) report.cleanedUp.push(`deleted container group ${name}`);
    } else
      o.progress(
        `Could not delete container group ${name}: ${removed instanceof Error ? removed.message : String(removed)}`,
      );
    report.seconds = Math.round((Date.now() - started) / 100) / 10;
    stop.undo();
  }
}

/** Polls until the container terminates (or the group fails before it starts); progress on each change. */
async function waitForContainer(
  call: Call,
  cgPath: string,
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
    const cg = await call("GET", cgPath);
    const props = (cg.body.properties ?? {}) as {
      provisioningState?: string;
      instanceView?: { state?: string; events?: AciEvent[] };
      containers?: Array<{
        properties?: {
          instanceView?: {
            currentState?: { state?: string; exitCode?: number; detailStatus?: string };
            events?: AciEvent[];
          };
        };
      }>;
    };
    // A group that failed to provision never starts its container (ContainerGroupsGet_Failed.json): stop now.
    if (props.provisioningState === "Failed") {
      report.lastStatus = "Failed";
      report.exitCode = null;
      report.stoppedReason = `the container group failed to provision: ${failureReason(props)}`;
      o.progress(`Container group ${name}: provisioning Failed (${failureReason(props)})`);
      return;
    }
    const current = props.containers?.[0]?.properties?.instanceView?.currentState;
    const state = current?.state ?? props.instanceView?.state ?? "Pending";
    if (state !== last) {
      last = state;
      o.progress(`Container group ${name}: ${state} (${Math.round((Date.now() - started) / 1000)}s)`);
    }
    report.lastStatus = last;
    if (state === "Terminated") {
      report.exitCode = typeof current?.exitCode === "number" ? current.exitCode : null;
      if (current?.detailStatus) report.stoppedReason = current.detailStatus;
      return;
    }
    if (props.instanceView?.state === "Failed" && !current) {
      report.exitCode = null;
      report.stoppedReason = "the container group failed before its container started";
      return;
    }
  }
}

/** The container's last log lines; unreadable logs leave the verdict alone (the run itself proved the pool). */
async function readLogs(call: Call, cgPath: string, report: VerifyReport): Promise<void> {
  let unreadable = "";
  const logs = await call("GET", `${cgPath}/containers/${CONTAINER}/logs`).catch((err: unknown) => {
    unreadable = err instanceof Error ? err.message : String(err);
    return null;
  });
  const content = typeof logs?.body.content === "string" ? logs.body.content : "";
  report.logs = content.split("\n").filter(Boolean).slice(-LOG_LINES);
  if (!report.logs.length)
    report.logsNote = logs ? "the container printed nothing" : `the logs could not be read (${unreadable})`;
}

interface AciEvent {
  name?: string;
  message?: string;
  type?: string;
  lastTimestamp?: string;
}

/** Why a container group failed: its latest event (the group's, else its container's), else "no reason given". */
export function failureReason(props: {
  instanceView?: { events?: AciEvent[] };
  containers?: Array<{ properties?: { instanceView?: { events?: AciEvent[] } } }>;
}): string {
  const events = [
    ...(props.instanceView?.events ?? []),
    ...(props.containers ?? []).flatMap((c) => c.properties?.instanceView?.events ?? []),
  ].sort((a, b) => (a.lastTimestamp ?? "").localeCompare(b.lastTimestamp ?? ""));
  const last = events.filter((x) => x.type === "Warning" || /^Failed|Err/i.test(x.name ?? "")).pop() ?? events.pop();
  return last ? [last.name, last.message].filter(Boolean).join(": ") : "Azure gave no reason";
}

/**
 * An ARM token for the block's client secret. A secret made minutes ago may not sign in yet: when the app's
 * secret with the block's hint is that new, wp waits for it (bounded); any other refusal is reported at once.
 */
async function blockToken(
  e: AciContext,
  env: Env,
  secret: { clientId: string; tenantId: string; clientSecret: string },
  note: (m: string) => void,
): Promise<string> {
  try {
    return await clientSecretToken(env, secret);
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    const app = await (await e.azure()).graph.findAppByAppId(secret.clientId).catch(() => null);
    const made = secretsOfBlock(app?.passwordCredentials ?? [], secret.clientSecret)
      .map((c) => c.startDateTime ?? "")
      .sort()
      .pop();
    if (await signsInOnceReplicated(env, secret, made, { note, intervalMs: e.retry.baseMs })) throw err;
    return clientSecretToken(env, secret);
  }
}

const timeout = (s: number) =>
  new CloudError(`The container group did not finish within ${s}s.`, "Timeout", "Pass --timeout to wait longer.");
