/** The ECS and ECR calls wp makes (see aws.ts). */
import type * as Ecr from "@aws-sdk/client-ecr";
import type * as Ecs from "@aws-sdk/client-ecs";
import { CloudError } from "../../errors.js";
import { type Calls, calls, must, pages } from "./call.js";
import type { ClientConfig, EcrApi, EcsApi } from "./sdk.js";

export function ecsApi(m: typeof Ecs, cfg: ClientConfig, k: Calls = calls()): EcsApi {
  const c = new m.ECSClient(cfg);
  return {
    describeClusters: async (clusters) =>
      (await k.call("ecs:DescribeClusters", () => c.send(new m.DescribeClustersCommand({ clusters })))).clusters ?? [],
    createCluster: async (input) =>
      must((await k.call("ecs:CreateCluster", () => c.send(new m.CreateClusterCommand(input)))).cluster, "cluster"),
    registerTaskDefinition: async (input) =>
      must(
        (await k.call("ecs:RegisterTaskDefinition", () => c.send(new m.RegisterTaskDefinitionCommand(input))))
          .taskDefinition,
        "task definition",
      ),
    deregisterTaskDefinition: async (taskDefinition) => {
      await k.call("ecs:DeregisterTaskDefinition", () =>
        c.send(new m.DeregisterTaskDefinitionCommand({ taskDefinition })),
      );
    },
    runTask: async (input) => {
      const out = await k.call("ecs:RunTask", () => c.send(new m.RunTaskCommand(input)));
      return { tasks: out.tasks ?? [], failures: out.failures ?? [] };
    },
    describeTasks: async (cluster, tasks) =>
      (await k.call("ecs:DescribeTasks", () => c.send(new m.DescribeTasksCommand({ cluster, tasks })))).tasks ?? [],
    stopTask: async (cluster, task, reason) => {
      await k.call("ecs:StopTask", () => c.send(new m.StopTaskCommand({ cluster, task, reason })));
    },
    listTaskDefinitions: (familyPrefix) =>
      pages(async (nextToken) => {
        const out = await k.call("ecs:ListTaskDefinitions", () =>
          c.send(new m.ListTaskDefinitionsCommand({ familyPrefix, status: "ACTIVE", nextToken })),
        );
        return { items: out.taskDefinitionArns, next: out.nextToken };
      }),
    listTasks: (cluster, startedBy) =>
      pages(async (nextToken) => {
        const out = await k.find("ecs:ListTasks", ["ClusterNotFoundException"], () =>
          c.send(new m.ListTasksCommand({ cluster, startedBy, nextToken })),
        );
        return { items: out?.taskArns, next: out?.nextToken };
      }),
    deleteCluster: async (cluster) => {
      await k.call("ecs:DeleteCluster", () => c.send(new m.DeleteClusterCommand({ cluster })));
    },
    listTags: async (resourceArn) =>
      (await k.call("ecs:ListTagsForResource", () => c.send(new m.ListTagsForResourceCommand({ resourceArn })))).tags ??
      [],
  };
}

export function ecrApi(m: typeof Ecr, cfg: ClientConfig, k: Calls = calls()): EcrApi {
  const c = new m.ECRClient(cfg);
  return {
    describeRepository: async (name) => {
      const out = await k.find("ecr:DescribeRepositories", ["RepositoryNotFoundException"], () =>
        c.send(new m.DescribeRepositoriesCommand({ repositoryNames: [name] })),
      );
      return out?.repositories?.[0] ?? null;
    },
    createRepository: async (input) =>
      must(
        (await k.call("ecr:CreateRepository", () => c.send(new m.CreateRepositoryCommand(input)))).repository,
        "repository",
      ),
    authorizationToken: async () => {
      const out = await k.call("ecr:GetAuthorizationToken", () => c.send(new m.GetAuthorizationTokenCommand({})));
      const data = must(out.authorizationData?.[0], "authorization data");
      const decoded = Buffer.from(must(data.authorizationToken, "authorization token"), "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon < 0) throw new CloudError("ECR returned a malformed authorization token.", "MalformedToken");
      return {
        username: decoded.slice(0, colon),
        password: decoded.slice(colon + 1),
        proxyEndpoint: must(data.proxyEndpoint, "registry endpoint"),
      };
    },
    imageCount: async (repositoryName) =>
      (
        await pages(async (nextToken) => {
          const out = await k.call("ecr:ListImages", () =>
            c.send(new m.ListImagesCommand({ repositoryName, nextToken })),
          );
          return { items: out.imageIds, next: out.nextToken };
        })
      ).length,
    deleteRepository: async (repositoryName, force) => {
      await k.call("ecr:DeleteRepository", () => c.send(new m.DeleteRepositoryCommand({ repositoryName, force })));
    },
    listTags: async (resourceArn) =>
      (await k.call("ecr:ListTagsForResource", () => c.send(new m.ListTagsForResourceCommand({ resourceArn })))).tags ??
      [],
  };
}
