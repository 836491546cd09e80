/**
 * Time and failure in the Google Cloud simulator, as Google documents them. Off by default (every
 * other test sees an instant, always-succeeding cloud); `realistic: "short"` switches on the lags
 * with short lengths (tests), `realistic: "real"` with Google's documented lengths (`npm run sim:gcp
 * -- --realistic`). Each fault can also be switched on alone, by name (`sim.enable(name)`).
 */

/** The behaviours a test can switch on by name. */
export type GcpFaultName =
  /**
   * A new IAM binding takes effect after a while: "typically 2 minutes, sometimes 7 minutes or more";
   * until then calls the new role allows are refused (403 PERMISSION_DENIED).
   * https://cloud.google.com/iam/docs/access-change-propagation
   */
  | "binding-lag"
  /**
   * A new service account is not visible for a while ("you might need to wait for 60 seconds or more
   * before you use the service account … read operations are eventually consistent"): GET, keys and
   * setIamPolicy answer NOT_FOUND / "does not exist" right after the create.
   * https://cloud.google.com/iam/docs/service-accounts-create#creating
   */
  | "service-account-lag"
  /**
   * A new key is not valid at once ("you might need to wait for 60 seconds or more before you perform
   * another operation with the key"): the token endpoint refuses assertions signed with it (invalid_grant).
   * https://cloud.google.com/iam/docs/keys-create-delete#creating
   */
  | "key-lag"
  /**
   * The next long-running operation ends `done: true` with `error` (a google.rpc.Status) and no `response`.
   * https://cloud.google.com/resource-manager/reference/rest/Shared.Types/Operation
   * https://cloud.google.com/artifact-registry/docs/reference/rest/v1/projects.locations.operations#Operation
   */
  | "operation-error"
  /**
   * One poll of every operation answers 503 UNAVAILABLE once ("retry using exponential backoff").
   * https://cloud.google.com/apis/design/errors#handling_errors
   */
  | "operation-503"
  /**
   * A Cloud Run execution completes failed: `failedCount` 1 and the Completed condition CONDITION_FAILED with its reason.
   * https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.jobs.executions#Execution
   */
  | "execution-failed"
  /**
   * `constraints/iam.disableServiceAccountKeyCreation` (legacy boolean constraint, read with CRM v1
   * getEffectiveOrgPolicy) is enforced: keys.create answers 400 FAILED_PRECONDITION with a PreconditionFailure.
   * https://cloud.google.com/iam/docs/troubleshoot-org-policies#troubleshoot_disabled_service_account_key_creation
   */
  | "keys-forbidden"
  /**
   * The managed constraint `iam.managed.disableServiceAccountKeyCreation` is enforced (read with Org Policy
   * v2 `projects.policies.getEffectivePolicy`); keys.create is refused the same way.
   * https://cloud.google.com/organization-policy/restrict-service-accounts#disable_service_account_key_creation
   * https://cloud.google.com/resource-manager/docs/reference/orgpolicy/rest/v2/projects.policies/getEffectivePolicy
   */
  | "keys-forbidden-managed"
  /**
   * `constraints/gcp.resourceLocations` allows only the listed locations: creating a repository (or a
   * Cloud Run job) elsewhere answers 400 FAILED_PRECONDITION "… violates constraint constraints/gcp.resourceLocations …".
   * https://cloud.google.com/resource-manager/docs/organization-policy/defining-locations
   */
  | "resource-locations"
  /**
   * Lists answer one item per page with a `nextPageToken` (the client must follow it).
   * https://cloud.google.com/apis/design/design_patterns#list_pagination
   */
  | "small-pages"
  /**
   * keys.create makes the key, then the connection drops before the answer (the caller never sees it).
   */
  | "key-answer-lost"
  /**
   * Requests matching `match` ("METHOD /path") answer 429 RESOURCE_EXHAUSTED or 503 UNAVAILABLE with
   * Retry-After, `times` times (default once): "retry using exponential backoff".
   * https://cloud.google.com/apis/design/errors#handling_errors
   */
  | "transient";

export interface Lags {
  binding: number;
  serviceAccount: number;
  key: number;
}

/** Short lags for tests (0.3–1.5 s) and Google's documented ones. */
export const SHORT_LAGS: Lags = { binding: 1200, serviceAccount: 400, key: 700 };
export const REAL_LAGS: Lags = { binding: 120_000, serviceAccount: 60_000, key: 60_000 };

/** What realistic mode switches on. */
export const REALISTIC: GcpFaultName[] = [
  "binding-lag",
  "service-account-lag",
  "key-lag",
  "operation-503",
  "small-pages",
];

export interface FaultOptions {
  /** operation-error: the operations it applies to (by name), default every next one; and its status. */
  match?: RegExp;
  code?: number;
  message?: string;
  /** operation-error, execution-failed, key-answer-lost: how many times (default 1; Infinity while enabled). */
  times?: number;
  /** resource-locations: the locations allowed (default ["us-east1"]). */
  allowed?: string[];
  /** transient: the status answered (default 503). */
  status?: 429 | 503;
}

/** The switches and the clocks of things that become usable later. */
export class Realism {
  lags: Lags;
  readonly on = new Map<GcpFaultName, FaultOptions & { left: number }>();
  /** When a (project/role/member) binding takes effect; absent: in effect. */
  readonly bindingAt = new Map<string, number>();
  /** When a new service account (email) becomes visible. */
  readonly serviceAccountAt = new Map<string, number>();
  /** When a new key (id) becomes valid. */
  readonly keyAt = new Map<string, number>();
  /** Operations whose one 503 was already answered. */
  readonly flaked = new Set<string>();

  constructor(mode: "short" | "real" | false = false, lags?: Partial<Lags>) {
    this.lags = { ...(mode === "real" ? REAL_LAGS : SHORT_LAGS), ...lags };
    if (mode) for (const f of REALISTIC) this.enable(f);
  }

  /** Switches a behaviour on: the one-off failures (an operation error, a failed execution, a lost answer) once unless `times` says more. */
  enable(name: GcpFaultName, o: FaultOptions = {}): void {
    const once = ["operation-error", "execution-failed", "key-answer-lost", "transient"].includes(name);
    this.on.set(name, { ...o, left: o.times ?? (once ? 1 : Number.POSITIVE_INFINITY) });
  }

  disable(name: GcpFaultName): void {
    this.on.delete(name);
  }

  has(name: GcpFaultName): boolean {
    return this.on.has(name);
  }

  /** Takes one use of a counted fault; false when it is off or used up (then it switches off). */
  take(name: GcpFaultName, subject = ""): (FaultOptions & { left: number }) | undefined {
    const f = this.on.get(name);
    if (!f || (f.match && !f.match.test(subject))) return undefined;
    f.left -= 1;
    if (f.left <= 0) this.on.delete(name);
    return f;
  }

  /** Starts a clock: `key` becomes usable after the lag (only when that lag is switched on). */
  delay(map: Map<string, number>, key: string, fault: GcpFaultName, ms: number): void {
    if (this.has(fault)) map.set(key, Date.now() + jitter(ms));
  }

  /** Whether the thing timed in `map` is usable now. */
  ready(map: Map<string, number>, key: string): boolean {
    const at = map.get(key);
    if (at === undefined) return true;
    if (Date.now() >= at) {
      map.delete(key);
      return true;
    }
    return false;
  }

  pageSize(asked: number | undefined, fallback: number): number {
    if (this.has("small-pages")) return 1;
    return asked && asked > 0 ? asked : fallback;
  }
}

/** ±25 %: propagation is never exactly on time. */
const jitter = (ms: number) => Math.round(ms * (0.75 + Math.random() * 0.5));

/** One page of `items` from `token` (the simulator's opaque token is base64url of the offset). */
export function page<T>(items: T[], size: number, token: string | null | undefined): { items: T[]; next?: string } {
  let start = 0;
  if (token) {
    const m = /^page-(\d+)$/.exec(Buffer.from(token, "base64url").toString("utf8"));
    start = m ? Number(m[1]) : 0;
  }
  const out = items.slice(start, start + size);
  return {
    items: out,
    ...(start + size < items.length ? { next: Buffer.from(`page-${start + size}`).toString("base64url") } : {}),
  };
}
