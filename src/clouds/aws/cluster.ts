/** The ECS cluster step. */
import type { Step } from "../../engine/types.js";
import { type EcsContext, tags } from "./names.js";

export function clusterStep(e: EcsContext): Step {
  const name = e.names.cluster;
  const active = async () => {
    const ecs = await (await e.aws()).ecs();
    // DescribeClusters reports deleted clusters as INACTIVE; only ACTIVE counts (as in Prefect).
    return (await ecs.describeClusters([name])).find((c) => c.clusterName === name && c.status === "ACTIVE");
  };
  return {
    id: "aws.ecs-cluster",
    resource: "ECS cluster",
    name,
    target: "aws",
    async check(ctx) {
      const found = await active();
      if (!found) return { action: "create" };
      ctx.outputs.set("clusterName", name);
      return { action: "exists", ...(found.clusterArn ? { id: found.clusterArn } : {}) };
    },
    async apply(ctx, state) {
      const ecs = await (await e.aws()).ecs();
      // The plan found no ACTIVE cluster; CreateCluster below is idempotent anyway.
      let found = state.action === "create" ? undefined : await active();
      const created = !found;
      // CreateCluster is idempotent for an ACTIVE cluster of the same name.
      found ??= await ecs.createCluster({
        clusterName: name,
        tags: tags(e.pool).map((t) => ({ key: t.Key, value: t.Value })),
      });
      ctx.outputs.set("clusterName", name);
      return { action: created ? "create" : "exists", ...(found.clusterArn ? { id: found.clusterArn } : {}) };
    },
  };
}
