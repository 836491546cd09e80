/**
 * Organisation policy denials as one plain line: `constraints/gcp.resourceLocations` (a region the
 * organisation does not allow: https://cloud.google.com/resource-manager/docs/organization-policy/defining-locations).
 * Decided by the PreconditionFailure violation type Google sends, never by the message text.
 */
import { CloudError } from "../../errors.js";
import { GcpError } from "./sdk-errors.js";

export const LOCATION_CONSTRAINT = "constraints/gcp.resourceLocations";

/** The one-line refusal when `err` is a gcp.resourceLocations violation for `what` in the project's region; else undefined. */
export function locationDenied(
  c: { project: string; region: string },
  err: unknown,
  what = "Artifact Registry repository",
): CloudError | undefined {
  if (!(err instanceof GcpError) || !err.violations.includes(LOCATION_CONSTRAINT)) return undefined;
  return new CloudError(
    `Your organisation policy gcp.resourceLocations does not allow region ${c.region} in project ${c.project}, so ` +
      `the ${what} cannot be created there: pass --region with a region it allows (\`gcloud resource-manager ` +
      `org-policies describe gcp.resourceLocations --effective --project ${c.project}\` lists them).`,
    "ORG_POLICY_LOCATION",
  );
}
