/** The ECR repository step, and the Docker login to its registry (run for a new or an existing repository). */

import type { Step, StepContext } from "../../engine/types.js";
import { CloudError } from "../../errors.js";
import { dockerConfigPath, dockerLogin, registryFromUri, storedLogin } from "../docker.js";
import { type EcsContext, outputString, readOrCreate, tags } from "./names.js";

function setRepositoryOutputs(ctx: StepContext, uri: string): void {
  const registry = registryFromUri(uri);
  ctx.outputs.set("repositoryUri", uri);
  ctx.outputs.set("registry", registry);
  ctx.outputs.set("dockerNamespace", registry);
}

export function repositoryStep(e: EcsContext): Step {
  const name = e.names.repository;
  return {
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
  };
}

/** The registry host before the repository exists: `<account>.dkr.ecr.<region>.amazonaws.com`. */
async function expectedRegistry(e: EcsContext, ctx: StepContext): Promise<string> {
  const known = outputString(ctx.outputs, "registry");
  if (known) return known;
  const session = await e.aws();
  return `${(await session.identity()).accountId}.dkr.ecr.${session.region}.amazonaws.com`;
}

export function dockerLoginStep(e: EcsContext): Step {
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
  };
}

/** Label for the "docker" plan target. */
export function dockerTargetLabel(e: EcsContext): string {
  return `Docker (${dockerConfigPath(e.docker.env)})`;
}
