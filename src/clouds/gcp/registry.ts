/**
 * The Artifact Registry repository (`<region>-docker.pkg.dev/<project>/<repository>`) and Docker's
 * login to its host. A repository that holds images is kept on teardown unless --force; the login
 * (and the Prefect profile's build namespace) is forgotten only when wp deletes the repository
 * itself — the login is torn down after it (the repository is applied after the login, so the
 * reverse walk reaches the repository first) and reads the repository's fate from `c.teardown`.
 */

import { type Resource, type TeardownContext, usersOf } from "../../engine/resource.js";
import type { StepContext, StepState } from "../../engine/types.js";
import { CloudError, UsageError } from "../../errors.js";
import { pyRepr } from "../../ui/io.js";
import { dockerConfigPath } from "../docker.js";
import { dockerAuthState, forgetDockerAuth, storeDockerAuth } from "./docker.js";
import {
  dockerNamespace,
  type GcpContext,
  LABEL_MANAGER,
  LABEL_POOL,
  labelValue,
  MANAGER,
  REPOSITORY_DESCRIPTION,
  registryHost,
  setWhere,
} from "./names.js";
import { locationDenied } from "./policy.js";
import { GcpError, gcpCode, type Repository } from "./sdk.js";
import { settle } from "./waits.js";

const disabled = (err: unknown) => err instanceof GcpError && err.reasons.includes("SERVICE_DISABLED");

function setRepositoryOutputs(c: GcpContext, ctx: StepContext): void {
  setWhere(c, ctx.outputs);
  ctx.outputs.set("registry", registryHost(c));
  ctx.outputs.set("repositoryUri", dockerNamespace(c));
  ctx.outputs.set("dockerNamespace", dockerNamespace(c));
}

function formatError(c: GcpContext, format: string): UsageError {
  return new UsageError(
    `Artifact Registry repository ${pyRepr(c.names.repository)} in ${c.region} holds ${format} packages, not Docker images.`,
    "Pass --repository-name to use or create another repository.",
  );
}

/** The repository, or null: missing, the API not enabled yet, or (read mode) not readable. */
async function readRepository(c: GcpContext): Promise<Repository | null | "api-disabled"> {
  try {
    return await (await c.gcp()).getRepository(c.names.repository);
  } catch (err) {
    // Before the API is enabled no repository can exist.
    if (disabled(err)) return "api-disabled";
    if (c.mode === "read" && gcpCode(err) === "PERMISSION_DENIED") return null;
    throw err;
  }
}

async function createRepository(c: GcpContext, ctx: StepContext, state: StepState) {
  const gcp = await c.gcp();
  const id = c.names.repository;
  // Right after the API is enabled, calls can still be refused for a while: retried.
  const again = (err: unknown) => (disabled(err) ? "the Artifact Registry API is not active yet" : null);
  const opts = {
    what: "the Artifact Registry API to become active",
    why: "Google takes a little while to serve a newly enabled API",
    timeoutMs: 5 * 60_000,
    intervalMs: c.retryMs,
    note: ctx.note,
  };
  let repo = state.action === "create" ? null : await settle(() => gcp.getRepository(id), again, opts);
  let created = false;
  if (!repo) {
    const body = {
      format: "DOCKER",
      mode: "STANDARD_REPOSITORY",
      description: REPOSITORY_DESCRIPTION,
      labels: { [LABEL_POOL]: labelValue(c.pool), [LABEL_MANAGER]: MANAGER },
    };
    const made = await settle(() => gcp.createRepository(id, body, ctx.note), again, opts).catch((err: unknown) => {
      throw locationDenied(c, err) ?? err;
    });
    // null: it already existed (made since the plan); read it.
    created = made !== null;
    repo = made ?? (await gcp.getRepository(id));
  }
  if (!repo) throw new CloudError(`Artifact Registry repository ${id} was not found after creating it.`, "NOT_FOUND");
  if (repo.format && repo.format !== "DOCKER") throw formatError(c, repo.format);
  setRepositoryOutputs(c, ctx);
  return { action: created ? ("create" as const) : ("exists" as const), id: repo.name ?? id };
}

export function repositoryStep(c: GcpContext): Resource {
  const id = c.names.repository;
  const self: Resource = {
    id: "gcp.repository",
    resource: "Artifact Registry repository",
    name: id,
    target: "gcp",
    after: ["gcp.artifactregistry-api", "docker.artifact-registry-login"],
    async check(ctx) {
      const repo = await readRepository(c);
      // Already gone: nothing holds the Docker login back (see dockerLoginStep).
      if (repo === "api-disabled" || !repo) c.teardown.repositoryGoes = true;
      if (repo === "api-disabled") return { action: "create", detail: `docker, ${c.region} (once the API is enabled)` };
      if (!repo) return { action: "create", detail: `docker, ${c.region}` };
      if (repo.format && repo.format !== "DOCKER") {
        if (c.mode === "provision") throw formatError(c, repo.format);
        return { action: "update", id: repo.name ?? id, detail: `format ${repo.format}, not DOCKER` };
      }
      setRepositoryOutputs(c, ctx);
      return { action: "exists", id: repo.name ?? id };
    },
    apply: (ctx, state) => createRepository(c, ctx, state),
    async teardownFacts(ctx, state) {
      const gcp = await c.gcp();
      const [repo, images] = await Promise.all([gcp.getRepository(id), gcp.dockerImageCount(id)]);
      const tagged = repo?.labels?.[LABEL_MANAGER] === MANAGER;
      const keep =
        images > 0 && !ctx.force ? `holds ${images} image${images === 1 ? "" : "s"} (--force deletes them)` : undefined;
      const created = ctx.entry ? ctx.entry.created : tagged;
      c.teardown.repositoryGoes = Boolean(repo) && created && !keep && usersOf(self, state, ctx).length === 0;
      return { tagged, ...(keep ? { keep } : {}) };
    },
    async delete(ctx) {
      await (await c.gcp()).deleteRepository(id, ctx.note);
      await ctx.forgetDockerNamespace(dockerNamespace(c));
    },
  };
  return self;
}

/** Other pools' records of Cloud Run repositories in the same registry host (they push there too). */
function hostUsers(c: GcpContext, ctx: TeardownContext): string[] {
  return ctx.otherRecords
    .filter((r) => r.record.context.region === c.region && r.record.resources.some((x) => x.step === "gcp.repository"))
    .map((r) => r.record.work_pool);
}

export function dockerLoginStep(c: GcpContext): Resource {
  const registry = registryHost(c);
  return {
    id: "docker.artifact-registry-login",
    resource: "Docker login",
    name: registry,
    target: "docker",
    after: ["gcp.artifactregistry-api"],
    async check() {
      const s = await dockerAuthState(registry, c.docker);
      return s.found ? { action: "exists", detail: s.detail, id: registry } : { action: "create", detail: s.detail };
    },
    async apply(ctx) {
      ctx.note(await storeDockerAuth(registry, c.docker, async () => (await c.gcp()).accessToken()));
      return { action: "create", id: registry };
    },
    async teardownFacts(ctx) {
      // wp logged Docker in for the pool's repository: forgotten with the repository, not before.
      if (!c.teardown.repositoryGoes) return { tagged: true, keep: "its repository stays" };
      return { tagged: true, users: hostUsers(c, ctx) };
    },
    async delete(ctx) {
      await forgetDockerAuth(registry, c.docker);
      await ctx.forgetDockerNamespace(dockerNamespace(c));
    },
  };
}

export function dockerTargetLabel(c: GcpContext): string {
  return `Docker (${dockerConfigPath(c.docker.env)})`;
}
