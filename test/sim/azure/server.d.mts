/** Types of the Azure simulator (server.mjs) for the TypeScript tests. */
export interface SimCertificate {
  dir: string;
  keyFile: string;
  certFile: string;
  key: string;
  cert: string;
}

/** How long after it is created a thing starts to work, in ms (realism.mjs cites Azure for each). */
export interface Lags {
  /** A new role assignment is honoured by authorization checks. */
  role: number;
  /** A new client secret signs in. */
  secret: number;
  /** The service principal of a new app can be created (403 Authorization_RequestDenied before). */
  servicePrincipal: number;
  /** A deleted resource leaves the resource group's cached listing. */
  listing: number;
  /** A resource group delete takes this long (202 + Location; the group reads Deleting). */
  groupDelete: number;
}

export type FaultName =
  | "containerGroupFailed"
  | "registryCreateFailed"
  | "policyDenied"
  | "passwordAddition"
  | "passwordLifetime"
  | "resourceGroupBeingDeleted"
  | "throttle";

export interface SimOptions {
  /**
   * Realistic mode: propagation lags, the cached group listing, long-running group deletes and small pages.
   * true / "test": short lags (0.3–1.5 s); "real": real-length lags (npm run sim:azure -- --realistic); or lags.
   */
  realistic?: boolean | "test" | "real" | Partial<Lags>;
  /** The caller signs in as a user: its Graph token has delegated scopes (scp), not application roles. */
  delegatedUser?: boolean;
  /** The tenant lets users register apps (default true). */
  allowedToCreateApps?: boolean;
  /** Directory role template ids the caller holds through a group (listed by /users/{id}/transitiveMemberOf). */
  directoryRolesViaGroup?: string[];
  /** Named faults on from the start (see AzureSim.faults.on). */
  faultsOn?: FaultName[];
  port?: number;
  cert?: SimCertificate;
  tenantId?: string;
  subscriptions?: Array<{ id: string; name: string }>;
  callerClientId?: string;
  callerClientSecret?: string;
  callerObjectId?: string;
  /** Graph app roles of the caller's token (default Application.ReadWrite.All). */
  graphRoles?: string[];
  /** ARM built-in roles the caller holds on each subscription (default Owner). */
  armRoles?: string[];
  /** Role-assignment attempts that fail with PrincipalNotFound for each new principal. */
  principalLag?: number;
  /** Graph calls that do not see a new app yet (addPassword 404, servicePrincipals 400). */
  graphLag?: number;
  /** Polls of the registry's async operation before it succeeds. */
  registryPolls?: number;
  /** Registry names taken elsewhere in Azure. */
  takenRegistryNames?: string[];
  /** Make the registry's async operation end Failed with this code. */
  registryCreateFails?: string;
  /** Resource providers not yet registered in the subscriptions. */
  unregisteredProviders?: string[];
  /** Added to every answer. */
  latencyMs?: number;
}

export interface LogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  /** The request changed the simulator's state. */
  mutating: boolean;
  status: number;
  /** ms since the simulator started. */
  at: number;
}

export interface Secret {
  keyId: string;
  displayName: string | null;
  hint: string;
  startDateTime: string;
  endDateTime: string;
  secretText: string;
}

export interface SimApp {
  id: string;
  appId: string;
  displayName: string;
  tags: string[];
  createdDateTime: string;
  secrets: Secret[];
  [k: string]: unknown;
}

// biome-ignore lint/suspicious/noExplicitAny: wire objects
type Wire = any;

export interface SimState {
  tenantId: string;
  subscriptions: Array<{ subscriptionId: string; displayName: string; tenantId: string; state: string }>;
  caller: { clientId: string; clientSecret: string; objectId: string; graphRoles: string[]; armRoles: string[] };
  allowedToCreateApps: boolean;
  resourceGroups: Wire[];
  applications: SimApp[];
  servicePrincipals: Wire[];
  roleAssignments: Wire[];
  registries: Wire[];
  identities: Wire[];
  /** Container groups; each moves Pending → Running → Terminated (exit 0) over successive GETs (see faults.holdContainerGroups). */
  containerGroups: Wire[];
  providers: Record<string, string>;
  operations: Map<string, Wire>;
  /** Repositories in each registry, by login server (the ACR catalog). */
  acrRepositories: Record<string, string[]>;
  log: LogEntry[];
}

export interface FaultRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

export interface AzureSim {
  url: string;
  port: number;
  cert: SimCertificate;
  state: SimState;
  faults: {
    /** Return an error to answer a request with it (ARM or Graph envelope by path). */
    fail:
      | ((req: FaultRequest) => { status: number; code: string; message?: string; retryAfter?: number } | undefined)
      | undefined;
    /** Like `fail`, but the request takes effect first (its answer is lost). */
    failAfter: ((req: FaultRequest) => { status: number; code: string; message?: string } | undefined) | undefined;
    principalLag: number;
    graphLag: number;
    registryPolls: number;
    latencyMs: number;
    /**
     * While true, every GET of a container group answers Running (its container never terminates);
     * set it back to false to release them: the next GET answers Terminated. Default false.
     */
    holdContainerGroups: boolean;
    /** The realistic mode's lags (all 0 when off); tests may change them. */
    lags: Lags;
    /** Items per list page (0: no paging). */
    pageSize: number;
    /** Faults switched on by name. */
    active: Set<FaultName>;
    /**
     * Switches a named fault on: containerGroupFailed (every container group reads as ContainerGroupsGet_Failed),
     * registryCreateFailed (the registry's create ends Failed), policyDenied (a registry PUT is denied by Azure
     * Policy), passwordAddition / passwordLifetime (addPassword refused by the tenant's app management policy),
     * resourceGroupBeingDeleted (every existing group starts being deleted), throttle (every 5th API request
     * answers 429 or 503 with Retry-After).
     */
    on(name: FaultName): void;
    off(name: FaultName): void;
  };
  /** Environment that points wp at the simulator. */
  env: Record<string, string>;
  mutations(): LogEntry[];
  clearLog(): void;
  deterministicId(s: string): string;
  /** Stops serving; removes the certificate folder it made unless `keepCertificate` (a restart on the same certificate). */
  close(o?: { keepCertificate?: boolean }): Promise<void>;
}

export const ROLE_IDS: Record<string, string>;
export function startAzureSim(options?: SimOptions): Promise<AzureSim>;
