/**
 * The Google Cloud steps, in Prefect's order and names: the two APIs, the Artifact Registry
 * repository (and Docker's login to it), the service account and its two project roles.
 * Existence is always read with a GET, never inferred from an error text.
 */

import type { Step, StepContext } from "../../engine/types.js";
import { CloudError, UsageError } from "../../errors.js";
import { pyRepr } from "../../ui/io.js";
import { dockerConfigPath } from "../docker.js";
import { dockerAuthState, storeDockerAuth } from "./docker.js";
import {
  dockerNamespace,
  type GcpContext,
  LABEL_MANAGER,
  LABEL_POOL,
  labelValue,
  MANAGER,
  REPOSITORY_DESCRIPTION,
  ROLES,
  registryHost,
  retrying,
  SERVICE_ACCOUNT_DISPLAY_NAME,
  SERVICES,
  serviceAccountEmail,
} from "./names.js";
import { GcpError, gcpCode, type Policy } from "./sdk.js";

const disabled = (err: unknown) => err instanceof GcpError && err.reasons.includes("SERVICE_DISABLED");

export function serviceSteps(c: GcpContext): Step[] {
  return SERVICES.map((s) => ({
    id: s.step,
    resource: "API",
    name: s.id,
    target: "gcp",
    async check() {
      if (await (await c.gcp()).serviceEnabled(s.id)) return { action: "exists", id: s.id };
      return { action: "create", detail: `enable the ${s.title}` };
    },
    async apply(ctx: StepContext) {
      await (await c.gcp()).enableService(s.id, ctx.note);
      return { action: "create", id: s.id };
    },
  }));
}

function setRepositoryOutputs(c: GcpContext, ctx: StepContext): void {
  ctx.outputs.set("registry", registryHost(c));
  ctx.outputs.set("repositoryUri", dockerNamespace(c));
  ctx.outputs.set("dockerNamespace", dockerNamespace(c));
}

function checkFormat(c: GcpContext, format: string | undefined): void {
  if (format && format !== "DOCKER") {
    throw new UsageError(
      `Artifact Registry repository ${pyRepr(c.names.repository)} in ${c.region} holds ${format} packages, not Docker images.`,
      "Pass --repository-name to use or create another repository.",
    );
  }
}

export function repositoryStep(c: GcpContext): Step {
  const id = c.names.repository;
  return {
    id: "gcp.repository",
    resource: "Artifact Registry repository",
    name: id,
    target: "gcp",
    after: ["gcp.artifactregistry-api"],
    async check(ctx) {
      let repo: Awaited<ReturnType<Awaited<ReturnType<GcpContext["gcp"]>>["getRepository"]>>;
      try {
        repo = await (await c.gcp()).getRepository(id);
      } catch (err) {
        // Before the API is enabled no repository can exist.
        if (disabled(err)) return { action: "create", detail: `docker, ${c.region} (once the API is enabled)` };
        throw err;
      }
      if (!repo) return { action: "create", detail: `docker, ${c.region}` };
      checkFormat(c, repo.format);
      setRepositoryOutputs(c, ctx);
      return { action: "exists", id: repo.name ?? id };
    },
    async apply(ctx, state) {
      const gcp = await c.gcp();
      // Right after the API is enabled, calls can still be refused for a while: retried.
      const again = (err: unknown) => (disabled(err) ? "The Artifact Registry API is not active yet" : null);
      const opts = { delayMs: c.retryMs, attempts: 10 };
      const existing =
        state.action === "create" ? null : await retrying(() => gcp.getRepository(id), again, ctx.note, opts);
      let created = false;
      let repo = existing;
      if (!repo) {
        const body = {
          format: "DOCKER",
          mode: "STANDARD_REPOSITORY",
          description: REPOSITORY_DESCRIPTION,
          labels: { [LABEL_POOL]: labelValue(c.pool), [LABEL_MANAGER]: MANAGER },
        };
        const made = await retrying(() => gcp.createRepository(id, body, ctx.note), again, ctx.note, opts);
        // null: it already existed (made since the plan); read it.
        created = made !== null;
        repo = made ?? (await gcp.getRepository(id));
      }
      if (!repo)
        throw new CloudError(`Artifact Registry repository ${id} was not found after creating it.`, "NOT_FOUND");
      checkFormat(c, repo.format);
      setRepositoryOutputs(c, ctx);
      return { action: created ? "create" : "exists", id: repo.name ?? id };
    },
  };
}

export function dockerLoginStep(c: GcpContext): Step {
  const registry = registryHost(c);
  return {
    id: "docker.artifact-registry-login",
    resource: "Docker login",
    name: registry,
    target: "docker",
    after: ["gcp.repository"],
    async check() {
      const s = await dockerAuthState(registry, c.docker);
      return s.found ? { action: "exists", detail: s.detail, id: registry } : { action: "create", detail: s.detail };
    },
    async apply(ctx) {
      ctx.note(await storeDockerAuth(registry, c.docker, async () => (await c.gcp()).accessToken()));
      return { action: "create", id: registry };
    },
  };
}

export function dockerTargetLabel(c: GcpContext): string {
  return `Docker (${dockerConfigPath(c.docker.env)})`;
}

export function serviceAccountStep(c: GcpContext): Step {
  const email = serviceAccountEmail(c);
  return {
    id: "gcp.service-account",
    resource: "Service account",
    name: c.names.serviceAccount,
    target: "gcp",
    async check(ctx) {
      const sa = await (await c.gcp()).getServiceAccount(email);
      if (!sa) return { action: "create", detail: `${SERVICE_ACCOUNT_DISPLAY_NAME} (${email})` };
      ctx.outputs.set("serviceAccountEmail", sa.email ?? email);
      return { action: "exists", id: sa.email ?? email };
    },
    async apply(ctx, state) {
      const gcp = await c.gcp();
      let sa = state.action === "create" ? null : await gcp.getServiceAccount(email);
      let created = false;
      if (!sa) {
        const made = await gcp.createServiceAccount(c.names.serviceAccount, SERVICE_ACCOUNT_DISPLAY_NAME);
        created = made !== null;
        sa =
          made ??
          (await retrying(
            async () => {
              const found = await gcp.getServiceAccount(email);
              if (!found) throw new CloudError(`Service account ${email} is not visible yet`, "NOT_FOUND");
              return found;
            },
            (err) => (gcpCode(err) === "NOT_FOUND" ? `Service account ${email} is not visible yet` : null),
            ctx.note,
            { delayMs: c.retryMs },
          ));
      }
      ctx.outputs.set("serviceAccountEmail", sa.email ?? email);
      return { action: created ? "create" : "exists", id: sa.email ?? email };
    },
  };
}

/** Roles of ROLES the member lacks in the policy (only unconditional bindings count). */
export function missingRoles(policy: Policy, member: string): string[] {
  return ROLES.filter(
    (role) => !(policy.bindings ?? []).some((b) => b.role === role && !b.condition && b.members?.includes(member)),
  );
}

/** The policy with the member added to each of `roles` (an unconditional binding per role). */
export function withMember(policy: Policy, member: string, roles: string[]): Policy {
  const bindings = structuredClone(policy.bindings ?? []);
  for (const role of roles) {
    const b = bindings.find((x) => x.role === role && !x.condition);
    if (b) b.members = [...(b.members ?? []), member];
    else bindings.push({ role, members: [member] });
  }
  const conditional = bindings.some((b) => b.condition);
  return { ...policy, bindings, version: conditional ? 3 : (policy.version ?? 1) };
}

export function iamBindingsStep(c: GcpContext): Step {
  const email = serviceAccountEmail(c);
  const member = `serviceAccount:${email}`;
  return {
    id: "gcp.iam-bindings",
    resource: "Project IAM roles",
    name: ROLES.join(", "),
    target: "gcp",
    after: ["gcp.service-account"],
    async check() {
      const missing = missingRoles(await (await c.gcp()).getIamPolicy(), member);
      if (missing.length === 0) return { action: "exists", id: member };
      return { action: "create", detail: `grant ${missing.join(", ")} to ${email}` };
    },
    async apply(ctx) {
      const gcp = await c.gcp();
      // Read-modify-write with the etag; a concurrent change (ABORTED) means read again and redo;
      // a service account not yet visible to IAM policies is retried too.
      return retrying(
        async () => {
          const policy = await gcp.getIamPolicy();
          const missing = missingRoles(policy, member);
          if (missing.length === 0) return { action: "exists" as const, id: member };
          ctx.note(`Granting ${missing.join(", ")} to ${email} in project ${c.project}...`);
          const stored = await gcp.setIamPolicy(withMember(policy, member, missing));
          const still = missingRoles(stored, member);
          if (still.length) throw new CloudError(`The IAM policy was stored without ${still.join(", ")}.`, "ABORTED");
          return { action: "create" as const, id: member };
        },
        (err) => {
          const code = gcpCode(err);
          if (code === "ABORTED") return "The project's IAM policy changed meanwhile (etag conflict)";
          if (code === "INVALID_ARGUMENT" && err instanceof Error && /does not exist/.test(err.message))
            return `Service account ${email} is not visible to IAM yet`;
          return null;
        },
        ctx.note,
        { delayMs: c.retryMs, attempts: 8 },
      );
    },
  };
}
