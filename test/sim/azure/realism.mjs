// @ts-check
/**
 * The simulator's realistic mode and its named faults: time and failure as Azure documents them. Each
 * behaviour cites where Azure says so. Used by server.mjs; off unless `realistic` (or a fault) is asked for.
 *
 * Lags (ms): how long after it is created a thing starts to work.
 *  - role: a new role assignment is not yet honoured by authorization checks (RBAC caches):
 *    https://learn.microsoft.com/azure/role-based-access-control/troubleshooting#symptom---role-assignment-changes-are-not-being-detected
 *    ("can take up to 10 minutes … up to 30 minutes" for managed identities / cached tokens).
 *  - secret: a new client secret is refused by the token endpoint (AADSTS7000215) for a while:
 *    https://learn.microsoft.com/entra/identity-platform/howto-create-service-principal-portal (replication of
 *    new credentials) and https://learn.microsoft.com/graph/api/application-addpassword ("may take a few minutes").
 *  - servicePrincipal: creating the service principal of a brand-new app answers 403 Authorization_RequestDenied
 *    until the app has replicated (issue 15 point 5; Graph replication:
 *    https://learn.microsoft.com/graph/known-issues#directory-replication-delays ).
 *  - listing: Resources_ListByResourceGroup is served from a cache that still shows just-deleted resources:
 *    https://github.com/Azure/azure-rest-api-specs/issues/21221 (ARM acknowledges the cache; a GET of each is exact).
 *  - groupDelete: a resource group delete is a long-running operation (202 + Location); while it runs the group
 *    reads provisioningState "Deleting" and writes into it answer 409 ResourceGroupBeingDeleted:
 *    https://learn.microsoft.com/rest/api/resources/resource-groups/delete and
 *    https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/common-deployment-errors
 * Paging: every ARM list answers at most `pageSize` items with `nextLink`
 * (https://learn.microsoft.com/rest/api/azure/#async-operations-throttling-and-paging), every Graph list
 * `@odata.nextLink` (https://learn.microsoft.com/graph/paging), the registry catalog a `Link` header with `n`/`last`
 * (https://learn.microsoft.com/rest/api/containerregistry/repository/get-list).
 */

/** Short lags for the tests (0.3–1.5 s). */
import { randomUUID } from "node:crypto";

export const TEST_LAGS = { role: 1200, secret: 800, servicePrincipal: 600, listing: 1500, groupDelete: 700 };
/** Real-length lags (`npm run sim:azure -- --realistic`): what Azure documents as typical. */
export const REAL_LAGS = {
  role: 5 * 60_000,
  secret: 2 * 60_000,
  servicePrincipal: 30_000,
  listing: 60_000,
  groupDelete: 90_000,
};
export const NO_LAGS = { role: 0, secret: 0, servicePrincipal: 0, listing: 0, groupDelete: 0 };

/** The faults a test can switch on by name (sim.faults.on / SimOptions.faultsOn). */
export const FAULT_NAMES = /** @type {const} */ ([
  "containerGroupFailed",
  "registryCreateFailed",
  "policyDenied",
  "passwordAddition",
  "passwordLifetime",
  "resourceGroupBeingDeleted",
  "throttle",
]);

/**
 * @param {import("./server.d.mts").SimOptions["realistic"]} option
 * @returns {{ lags: import("./server.d.mts").Lags, pageSize: number }}
 */
export function realismOf(option) {
  if (!option) return { lags: { ...NO_LAGS }, pageSize: 0 };
  if (option === "real") return { lags: { ...REAL_LAGS }, pageSize: 2 };
  // One item a page in the tests: every list of two or more pages.
  if (option === true || option === "test") return { lags: { ...TEST_LAGS }, pageSize: 1 };
  return { lags: { ...TEST_LAGS, ...option }, pageSize: 1 };
}

/**
 * One page of a list answer: ARM's `nextLink` or Graph's `@odata.nextLink`, an absolute URL with the original
 * query plus `$skiptoken` (the offset). Stateless: the handler recomputes the list, this slices it.
 * @param {{ value: unknown[] } & Record<string, unknown>} body
 * @param {URL} u the request's URL
 * @param {number} pageSize
 * @param {"arm" | "graph"} kind
 */
export function pageOf(body, u, pageSize, kind) {
  const from = Number(u.searchParams.get("$skiptoken") ?? 0) || 0;
  const value = body.value.slice(from, from + pageSize);
  /** @type {Record<string, unknown>} */
  const out = { ...body, value };
  if (from + pageSize < body.value.length) {
    const next = new URL(u.href);
    next.searchParams.set("$skiptoken", String(from + pageSize));
    if (kind === "graph") out["@odata.nextLink"] = next.href;
    else out.nextLink = next.href;
  }
  return out;
}

/**
 * Azure Policy's deny, as ARM answers it (403, the policy assignment and definition named):
 * https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-policy-requestdisallowedbypolicy
 * @param {string} subId
 * @param {string} target the resource's name
 */
export function policyDenial(subId, target) {
  const assignment = {
    name: "Allowed resource types",
    id: `/subscriptions/${subId}/providers/Microsoft.Authorization/policyAssignments/1111aa2222bb3333cc4444dd`,
  };
  const definition = {
    name: "Allowed resource types",
    id: "/providers/Microsoft.Authorization/policyDefinitions/a08ec900-254a-4555-9bf5-e42af04b5c5c",
  };
  return {
    error: {
      code: "RequestDisallowedByPolicy",
      target,
      message: `Resource '${target}' was disallowed by policy. Policy identifiers: '[{"policyAssignment":${JSON.stringify(assignment)},"policyDefinition":${JSON.stringify(definition)}}]'.`,
      additionalInfo: [
        {
          type: "PolicyViolation",
          info: {
            policyDefinitionDisplayName: definition.name,
            policyDefinitionId: definition.id,
            policyAssignmentName: assignment.id.split("/").pop(),
            policyAssignmentDisplayName: assignment.name,
            policyAssignmentId: assignment.id,
            policyAssignmentScope: `/subscriptions/${subId}`,
          },
        },
      ],
    },
  };
}

/** The tenant's app management policy id the simulator's faults name. */
export const APP_POLICY_ID = "538f1913-366a-440a-95a0-e195cb55b282";

/**
 * addPassword refused by a tenant app management policy (restrictionType passwordAddition / passwordLifetime:
 * https://learn.microsoft.com/graph/api/resources/passwordcredentialconfiguration ). Graph answers 400 with these
 * codes (wire shape as reported in https://github.com/OfficeDev/microsoft-365-agents-toolkit/issues/10998 and
 * https://github.com/Azure/azure-cli/issues/28522).
 * @param {"passwordAddition" | "passwordLifetime"} kind
 */
export function appPolicyRefusal(kind) {
  const inner = { date: new Date().toISOString(), "request-id": randomUUID() };
  if (kind === "passwordAddition")
    return {
      error: {
        code: "CredentialTypeNotAllowedAsPerAppPolicy",
        message: `Credential type not allowed as per assigned policy '${APP_POLICY_ID}'.`,
        details: [{ code: "CredentialTypeNotAllowedAsPerAppPolicy", target: "PasswordCredentials" }],
        innerError: inner,
      },
    };
  return {
    error: {
      code: "CredentialInvalidLifetimeAsPerAppPolicy",
      message: `Credential lifetime exceeds the max value allowed as per assigned policy '${APP_POLICY_ID}'.`,
      details: [
        {
          code: "InvalidKeyEndDate",
          message: `Credential lifetime exceeds the max value allowed as per assigned policy '${APP_POLICY_ID}'.`,
          target: "EndDate",
        },
      ],
      innerError: inner,
    },
  };
}

/**
 * A container group that failed to provision, as ContainerGroupsGet_Failed.json shows it
 * (Azure/azure-rest-api-specs, specification/containerinstance/resource-manager/Microsoft.ContainerInstance/
 * stable/2025-09-01/examples/ContainerGroupsGet_Failed.json): provisioningState Failed, group state Pending, the
 * container Waiting, the reason in the group's events.
 * @param {any} cg the stored group (its wire fields)
 */
export function failedContainerGroup(cg) {
  const at = new Date().toISOString();
  const containers = (cg.properties.containers ?? []).map((/** @type {any} */ c) => ({
    ...c,
    properties: {
      ...c.properties,
      instanceView: {
        restartCount: 0,
        currentState: { state: "Waiting", startTime: at, detailStatus: "" },
        events: [],
      },
    },
  }));
  return {
    ...cg,
    properties: {
      ...cg.properties,
      containers,
      provisioningState: "Failed",
      instanceView: {
        state: "Pending",
        events: [
          {
            count: 1,
            firstTimestamp: at,
            lastTimestamp: at,
            message: "Output: mount error(2): Permission denied",
            name: "FailedMount",
            type: "Normal",
          },
        ],
      },
    },
  };
}

/**
 * Throttling and brief unavailability: 429 (ARM https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling ,
 * Graph https://learn.microsoft.com/graph/throttling ) or 503, each with Retry-After (seconds). With the
 * `throttle` fault every 5th API request gets one, alternately.
 * @param {number} n the request's number
 * @returns {{ status: number, code: string, message: string } | undefined}
 */
export function throttled(n) {
  if (n % 5 !== 4) return undefined;
  return n % 10 === 4
    ? { status: 429, code: "TooManyRequests", message: "The request is being throttled." }
    : { status: 503, code: "ServiceUnavailable", message: "The service is temporarily unavailable." };
}
