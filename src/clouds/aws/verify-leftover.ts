/**
 * What an interrupted `wp verify` left on ECS (journaled before it was created, verify.ts): its
 * task, stopped, and its task definition's revisions, deregistered. Idempotent: a task already
 * stopped or a revision already inactive is simply not listed any more.
 */
import type { Leftover } from "../../engine/verify-journal.js";
import { gone } from "./names.js";
import { type Env, resolveAws } from "./sdk.js";

export const TASK_KIND = "ECS task";
export const TASK_DEFINITION_KIND = "ECS task definition";
/** `startedBy` of verify's tasks. */
export const VERIFY_STARTER = "wp-verify";

export async function removeVerifyLeftover(env: Env, l: Leftover): Promise<void> {
  const { region, cluster, family } = l.where;
  if (!family) return;
  const s = await resolveAws({ region, env });
  const ecs = await s.ecs();
  if (l.kind === TASK_KIND && cluster) {
    const arns = await ecs.listTasks(cluster, family, VERIFY_STARTER);
    for (const arn of arns)
      await ecs
        .stopTask(cluster, arn, "wp verify cleanup (interrupted run)")
        .catch(gone(["InvalidParameterException"]));
  } else if (l.kind === TASK_DEFINITION_KIND) {
    const mine = (arn: string) => arn.split("/").pop()?.replace(/:\d+$/, "") === family;
    const arns = (await ecs.listTaskDefinitions(family)).filter(mine);
    for (const arn of arns) await ecs.deregisterTaskDefinition(arn);
  }
}
