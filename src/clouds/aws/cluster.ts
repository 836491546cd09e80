/** The ECS cluster, one resource: read (ACTIVE only), create, delete; the template's `cluster` names it. */
import type { Resource } from "../../engine/resource.js";
import { type EcsContext, gone, tags, wpTagged } from "./names.js";

export function clusterStep(e: EcsContext): Resource {
  const name = e.names.cluster;
  const ecsOf = async () => (await e.aws()).ecs();
  const active = async () =>
    // DescribeClusters reports deleted clusters as INACTIVE; only ACTIVE counts (as in Prefect).
    (await (await ecsOf()).describeClusters([name])).find((c) => c.clusterName === name && c.status === "ACTIVE");
  return {
    id: "aws.ecs-cluster",
    resource: "ECS cluster",
    name,
    target: "aws",
    templateVariable: "cluster",
    async check(ctx) {
      const found = await active();
      if (!found) return { action: "create" };
      ctx.outputs.set("clusterName", name);
      return { action: "exists", ...(found.clusterArn ? { id: found.clusterArn } : {}) };
    },
    async apply(ctx, state) {
      const ecs = await ecsOf();
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
    async teardownFacts(_ctx, state) {
      const t = state.id ? await (await ecsOf()).listTags(state.id) : [];
      return { tagged: wpTagged(t.map((x) => ({ Key: x.key, Value: x.value }))) };
    },
    async delete() {
      await (await ecsOf()).deleteCluster(name).catch(gone(["ClusterNotFoundException"]));
    },
  };
}
