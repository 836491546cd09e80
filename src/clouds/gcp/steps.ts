/**
 * The Google Cloud resources of a Cloud Run pool, in Prefect's order and names: the two APIs (here),
 * the Artifact Registry repository and Docker's login to it (registry.ts), the service account and
 * its two project roles (iam.ts), the key in the credentials block (credentials.ts). Existence is
 * always read with a GET, never inferred from an error text.
 */

import type { Resource } from "../../engine/resource.js";
import type { StepContext } from "../../engine/types.js";
import { type GcpContext, SERVICES, setWhere } from "./names.js";

export { missingRoles, withMember } from "./iam.js";

/**
 * The APIs: enabled when missing. They have no `delete`: wp never disables an API on teardown
 * (other workloads of the project may use it).
 */
export function serviceSteps(c: GcpContext): Resource[] {
  return SERVICES.map((s) => ({
    id: s.step,
    resource: "API",
    name: s.id,
    target: "gcp",
    async check(ctx: StepContext) {
      setWhere(c, ctx.outputs);
      if (await (await c.gcp()).serviceEnabled(s.id)) return { action: "exists", id: s.id };
      return { action: "create", detail: `enable the ${s.title}` };
    },
    async apply(ctx: StepContext) {
      setWhere(c, ctx.outputs);
      await (await c.gcp()).enableService(s.id, ctx.note);
      return { action: "create", id: s.id };
    },
  }));
}
