/**
 * The ECR repository (kept while it holds images, unless --force), and the Docker login to its
 * registry (run for a new or an existing repository; forgotten, with the profile's build namespace,
 * when wp deletes the repository and no other pool uses the registry).
 */

import { type Resource, type TeardownContext, usersOf } from "../../engine/resource.js";
import type { StepContext, StepState } from "../../engine/types.js";
import { CloudError } from "../../errors.js";
import { dockerConfigPath, dockerLogin, forgetLogin, registryFromUri, storedLogin } from "../docker.js";
import { type EcsContext, gone, outputString, readOrCreate, tags, wpTagged } from "./names.js";

function setRepositoryOutputs(ctx: StepContext, uri: string): void {
  const registry = registryFromUri(uri);
  ctx.outputs.set("repositoryUri", uri);
  ctx.outputs.set("registry", registry);
  ctx.outputs.set("dockerNamespace", registry);
}

/** Other ECS pools without a record: which repository they push to cannot be known, so they may use it. */
const recordless = (ctx: TeardownContext) =>
  ctx.otherPools
    .filter((p) => p.type.startsWith("ecs") && !ctx.otherRecords.some((r) => r.record.work_pool === p.name))
    .map((p) => p.name);

/** What the repository's teardown needs: wp's tag, the reason to keep it (images, without --force), its users. */
async function repositoryFacts(e: EcsContext, ctx: TeardownContext, repo: Resource, state: StepState) {
  const ecr = await (await e.aws()).ecr();
  const found = await ecr.describeRepository(e.names.repository);
  if (!found) return { tagged: false, users: [] as string[] };
  const [t, images] = await Promise.all([
    found.repositoryArn ? ecr.listTags(found.repositoryArn) : [],
    ecr.imageCount(e.names.repository),
  ]);
  const keep =
    images > 0 && !ctx.force ? `holds ${images} image${images === 1 ? "" : "s"} (--force deletes them)` : undefined;
  return {
    tagged: wpTagged(t),
    users: [...usersOf(repo, state, ctx), ...recordless(ctx)],
    ...(keep ? { keep } : {}),
  };
}

export function repositoryStep(e: EcsContext): Resource {
  const name = e.names.repository;
  const repo: Resource = {
    id: "aws.ecr-repository",
    resource: "ECR repository",
    name,
    target: "aws",
    async check(ctx) {
      const repo = await (await (await e.aws()).ecr()).describeRepository(name);
      if (!repo?.repositoryUri) return { action: "create" };
      setRepositoryOutputs(ctx, repo.repositoryUri);
      return { action: "exists", id: repo.repositoryUri };
    },
    async apply(ctx, state) {
      const ecr = await (await e.aws()).ecr();
      // CreateRepository answers with the repository (and its URI).
      const { value: repo, created } = await readOrCreate(
        state,
        () => ecr.describeRepository(name),
        () => ecr.createRepository({ repositoryName: name, tags: tags(e.pool) }),
        ["RepositoryAlreadyExistsException"],
      );
      const uri = repo?.repositoryUri;
      if (!uri) throw new CloudError(`ECR repository ${name} was not found after creating it.`, "RepositoryNotFound");
      setRepositoryOutputs(ctx, uri);
      return { action: created ? "create" : "exists", id: uri };
    },
    async teardownFacts(ctx, state) {
      const { users: _users, ...facts } = await repositoryFacts(e, ctx, repo, state);
      return { ...facts, users: recordless(ctx) };
    },
    async delete(ctx) {
      const ecr = await (await e.aws()).ecr();
      await ecr.deleteRepository(name, ctx.force).catch(gone(["RepositoryNotFoundException"]));
    },
  };
  return repo;
}

/** The registry host before the repository exists: `<account>.dkr.ecr.<region>.amazonaws.com`. */
async function expectedRegistry(e: EcsContext, ctx: StepContext): Promise<string> {
  const known = outputString(ctx.outputs, "registry");
  if (known) return known;
  const session = await e.aws();
  return `${(await session.identity()).accountId}.dkr.ecr.${session.region}.amazonaws.com`;
}

export function dockerLoginStep(e: EcsContext): Resource {
  return {
    id: "docker.ecr-login",
    resource: "Docker login",
    name: "ECR registry",
    target: "docker",
    after: ["aws.ecr-repository"],
    async check(ctx) {
      const registry = await expectedRegistry(e, ctx);
      const stored = await storedLogin(registry, e.docker);
      if (stored.found) return { action: "exists", detail: stored.detail, id: registry };
      return { action: "create", detail: `${registry} in ${stored.detail}` };
    },
    async apply(ctx) {
      const session = await e.aws();
      const token = await (await session.ecr()).authorizationToken();
      const registry = registryFromUri(token.proxyEndpoint);
      const result = await dockerLogin(
        { registry, username: token.username, password: token.password, serverUrl: token.proxyEndpoint },
        e.docker,
      );
      ctx.note(result.note);
      return { action: "create", id: registry };
    },
    /**
     * Torn down before the repository (it comes after it): only with it, so only when wp made the
     * repository, it is not kept for its images, and no other pool pushes to the registry.
     */
    async teardownFacts(ctx, state) {
      const repo = repositoryStep(e);
      const repoState = await repo.check({ ...ctx, outputs: new Map() });
      if (repoState.action === "create") return { tagged: false };
      const facts = await repositoryFacts(e, ctx, repo, repoState);
      const registry = state.id ?? "";
      const sameRegistry = ctx.otherRecords
        .filter((r) => (r.record.context.repositoryUri ?? "").split("/")[0] === registry)
        .map((r) => r.record.work_pool);
      return {
        tagged: facts.tagged,
        users: [...new Set([...facts.users, ...sameRegistry])],
        ...(facts.keep ? { keep: `repository ${e.names.repository} is kept (it ${facts.keep})` } : {}),
      };
    },
    async delete(ctx, state) {
      if (!state.id) return;
      await forgetLogin(state.id, e.docker);
      await ctx.forgetDockerNamespace(state.id);
    },
  };
}

/** Label for the "docker" plan target. */
export function dockerTargetLabel(e: EcsContext): string {
  return `Docker (${dockerConfigPath(e.docker.env)})`;
}
