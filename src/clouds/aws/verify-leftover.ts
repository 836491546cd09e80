/**
 * What an interrupted `wp verify` left on ECS (journaled before it was created, verify.ts): its
 * task, stopped, and its task definition's revisions, deregistered. Idempotent: a task already
 * stopped or a revision already inactive is simply not listed any more.
 */
import type { Leftover } from "../../engine/verify-journal.js";
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
  const ofFamily = (arn: string | undefined) => arn?.split("/").pop()?.replace(/:\d+$/, "") === family;
  // The task first (also for the task definition's entry, as entries come in any order): verify's
  // tasks on the cluster whose definition is of this family.
  if (cluster) {
    const arns = await ecs.listTasks(cluster, VERIFY_STARTER);
    const tasks = arns.length ? await ecs.describeTasks(cluster, arns) : [];
    for (const t of tasks)
      if (t.taskArn && t.lastStatus !== "STOPPED" && ofFamily(t.taskDefinitionArn))
        await ecs.stopTask(cluster, t.taskArn, "wp verify cleanup (interrupted run)");
  }
  if (l.kind === TASK_DEFINITION_KIND)
    for (const arn of (await ecs.listTaskDefinitions(family)).filter(ofFamily)) await ecs.deregisterTaskDefinition(arn);
}
