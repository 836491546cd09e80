/** Types of the Azure simulator (server.mjs) for the TypeScript tests. */
export interface SimCertificate {
  dir: string;
  keyFile: string;
  certFile: string;
  key: string;
  cert: string;
}

export interface SimOptions {
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
