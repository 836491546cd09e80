/**
 * `wp verify` for Azure Container Instances: with the block's client secret only (an Entra ID token
 * for its client_id), do what Prefect's ACI push submission does — a container group in the pool's
 * resource group, with the template's identities, restart policy Never — with a tiny public image
 * whose command prints a line and exits; wait for the container to terminate; report its exit code
 * and log lines; delete the container group, also after a failure, a timeout or Ctrl-C. A refused
 * call is reported as the exact ARM action.
 */

import type { LifecycleInput } from "../../engine/lifecycle-types.js";
import { stringDefault, templateDefault } from "../../engine/lifecycle-types.js";
import {
  LOG_LINES,
  newReport,
  type VerifyOptions,
  type VerifyReport,
  verifyInterrupts,
} from "../../engine/verify-run.js";
import { CloudError, WpError } from "../../errors.js";
import { wpCommand } from "../../ui/io.js";
import { BLOCK_TYPE } from "./context.js";
import { azureEndpoints, clientSecretToken, httpsRequest, trustedCas } from "./sdk.js";

export const ACI_VERIFY_IMAGE = "mcr.microsoft.com/azurelinux/busybox:1.36";
const API_VERSION = "2022-09-01";
const CONTAINER = "wp-verify";

interface ArmAnswer {
  status: number;
  body: Record<string, unknown>;
}

export async function verifyAci(input: LifecycleInput, o: VerifyOptions): Promise<VerifyReport> {
  const { pool } = input;
  const fix = wpCommand("provision-infra", pool.name);
  if (!input.block) throw new WpError(`Work pool '${pool.name}' references no ${BLOCK_TYPE} block.`, `Run \`${fix}\`.`);
  const full = await input.api.readBlockDocumentById(input.block.id, true);
  const d = (full?.data ?? {}) as Record<string, unknown>;
  const str = (k: string) => (typeof d[k] === "string" ? (d[k] as string) : "");
  const [clientId, tenantId, clientSecret] = [str("client_id"), str("tenant_id"), str("client_secret")];
  if (!clientId || !tenantId || !clientSecret)
    throw new WpError(
      `Block ${input.block.name} holds no client secret.`,
      `Run \`${wpCommand("rotate-credentials", pool.name)}\`.`,
    );
  const subscription = stringDefault(pool, "subscription_id");
  const group = stringDefault(pool, "resource_group_name");
  if (!subscription || !group)
    throw new WpError(
      `The template of work pool '${pool.name}' names no subscription_id or resource_group_name.`,
      `Run \`${fix}\`.`,
    );
  const ids = templateDefault(pool, "identities");
  const identities = Array.isArray(ids) ? ids.filter((x): x is string => typeof x === "string" && x !== "") : [];
  const image = o.image || ACI_VERIFY_IMAGE;
  const name = `wp-verify-${
    pool.name
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 40) || "pool"
  }-${Math.random().toString(36).slice(2, 6)}`;
  const groupPath = `/subscriptions/${subscription}/resourceGroups/${group}`;
  const cgPath = `${groupPath}/providers/Microsoft.ContainerInstance/containerGroups/${name}`;
  const started = Date.now();
  const report = newReport(pool.name, o, { identity: clientId, cluster: groupPath, image, noun: "container" });
  const { command } = report;
  report.logsFrom = "the container's logs (Azure Container Instances)";
  if (o.dryRun) {
    report.ok = true;
    return report;
  }

  const token = await clientSecretToken(input.env, { tenantId, clientId, clientSecret });
  const { arm } = azureEndpoints(input.env);
  const ca = trustedCas(input.env);
  async function call(method: string, path: string, body?: unknown, apiVersion = API_VERSION): Promise<ArmAnswer> {
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
    if (action)
      throw new CloudError(
        `The block's identity ${clientId} is not allowed ${action} (the call was refused).`,
        code,
        `Grant it: \`${fix}\` restores the Contributor role on ${group} that Prefect's provisioner grants.`,
      );
    throw new CloudError(`Azure ${method} ${path.split("/").slice(-2).join("/")}: ${err.message ?? a.status}`, code);
  }

  const stop = verifyInterrupts(o.progress, "container group");
  const STOPPED_MESSAGE = "Verification interrupted; the container group was deleted.";
  let created = false;
  const deadline = started + o.timeoutSeconds * 1000;
  try {
    const rg = await call("GET", groupPath, undefined, "2021-04-01");
    const location = typeof rg.body.location === "string" ? rg.body.location : "eastus";
    await call("PUT", cgPath, {
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
            properties: {
              image,
              command,
              resources: { requests: { cpu: 1, memoryInGB: 1 } },
              environmentVariables: [],
            },
          },
        ],
      },
    });
    created = true;
    report.taskDefinition = cgPath;
    report.taskArn = name;
    o.progress(`Created container group ${name} in ${group}; waiting for it to finish...`);
    let last = "";
    for (;;) {
      stop.check(STOPPED_MESSAGE);
      if (Date.now() > deadline) throw timeout(o.timeoutSeconds);
      await stop.sleep(o.pollMs);
      stop.check(STOPPED_MESSAGE);
      const cg = await call("GET", cgPath);
      const props = (cg.body.properties ?? {}) as {
        instanceView?: { state?: string };
        containers?: Array<{
          properties?: {
            instanceView?: { currentState?: { state?: string; exitCode?: number; detailStatus?: string } };
          };
        }>;
      };
      const current = props.containers?.[0]?.properties?.instanceView?.currentState;
      const state = current?.state ?? props.instanceView?.state ?? "Pending";
      if (state !== last) {
        last = state;
        o.progress(`Container group ${name}: ${state} (${Math.round((Date.now() - started) / 1000)}s)`);
      }
      if (state === "Terminated") {
        report.exitCode = typeof current?.exitCode === "number" ? current.exitCode : null;
        if (current?.detailStatus) report.stoppedReason = current.detailStatus;
        break;
      }
      if (props.instanceView?.state === "Failed" && !current) {
        report.exitCode = null;
        report.stoppedReason = "the container group failed before its container started";
        break;
      }
    }
    report.lastStatus = last;
    // Unreadable logs leave the verdict alone: the run itself proved (or disproved) the pool.
    let unreadable = "";
    const logs = await call("GET", `${cgPath}/containers/${CONTAINER}/logs`).catch((err: unknown) => {
      unreadable = err instanceof Error ? err.message : String(err);
      return null;
    });
    const content = typeof logs?.body.content === "string" ? logs.body.content : "";
    report.logs = content.split("\n").filter(Boolean).slice(-LOG_LINES);
    if (!report.logs.length)
      report.logsNote = logs ? "the container printed nothing" : `the logs could not be read (${unreadable})`;
    stop.check(STOPPED_MESSAGE);
    report.ok = report.exitCode === 0;
    return report;
  } finally {
    if (created)
      await call("DELETE", cgPath).then(
        () => report.cleanedUp.push(`deleted container group ${name}`),
        (err: unknown) =>
          o.progress(`Could not delete container group ${name}: ${err instanceof Error ? err.message : String(err)}`),
      );
    report.seconds = Math.round((Date.now() - started) / 100) / 10;
    stop.undo();
  }
}

const timeout = (s: number) =>
  new CloudError(`The container group did not finish within ${s}s.`, "Timeout", "Pass --timeout to wait longer.");
