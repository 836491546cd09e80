/**
 * The container group `wp verify` runs, through @azure/arm-containerinstance (and @azure/arm-resources for the
 * group's location), signed in with the credentials block's client secret only. The SDKs retry throttling and
 * brief unavailability (429/503 with Retry-After) themselves. Imported only when `wp verify` runs on ACI.
 */
import type { ContainerGroup } from "@azure/arm-containerinstance";
import { CloudError } from "../../errors.js";
import { azureEndpoints, azureErrorCode, DEFAULT_AUTHORITY, type Env, trustedCas } from "./sdk.js";

export const CONTAINER = "wp-verify";

/** ARM refused `action` to the block's identity (AuthorizationFailed). */
export class Refused extends CloudError {
  constructor(
    message: string,
    code: string,
    hint: string,
    readonly action: string,
  ) {
    super(message, code, hint);
  }
}

export interface AciEvent {
  name?: string;
  message?: string;
  type?: string;
  lastTimestamp?: Date | string;
}

/** What one read of the group says. */
export interface GroupView {
  provisioningState?: string;
  state?: string;
  container?: { state?: string; exitCode?: number; detailStatus?: string };
  events: AciEvent[];
}

export interface AciOps {
  location(): Promise<string>;
  create(o: { location: string; identities: string[]; image: string; command: string[] }): Promise<void>;
  read(): Promise<GroupView>;
  logs(): Promise<string>;
  remove(): Promise<void>;
}

/** The block's credential and the clients, for one container group `name` in `group`. */
export async function aciOps(
  env: Env,
  secret: { tenantId: string; clientId: string; clientSecret: string },
  at: { subscription: string; group: string; name: string; pollMs: number },
  refused: (action: string, code: string) => Error,
): Promise<AciOps> {
  const [{ ClientSecretCredential }, aci, resources] = await Promise.all([
    import("@azure/identity"),
    import("@azure/arm-containerinstance"),
    import("@azure/arm-resources"),
  ]);
  const { arm, authorityHost } = azureEndpoints(env);
  const ca = trustedCas(env);
  const tls = ca ? { tlsOptions: { ca } } : {};
  const credential = new ClientSecretCredential(secret.tenantId, secret.clientId, secret.clientSecret, {
    authorityHost,
    ...(authorityHost !== DEFAULT_AUTHORITY ? { disableInstanceDiscovery: true } : {}),
    ...tls,
  });
  const options = {
    endpoint: arm,
    credentialScopes: [`${arm}/.default`],
    userAgentOptions: { userAgentPrefix: "wp" },
    ...tls,
  };
  const client = new aci.ContainerInstanceManagementClient(credential, at.subscription, options);
  const rm = new resources.ResourceManagementClient(credential, at.subscription, options);
  // A refused action is named (AuthorizationFailed says which); other failures keep Azure's code.
  const named = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      const code = azureErrorCode(err) ?? "Unknown";
      const message = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
      const action = code === "AuthorizationFailed" ? /perform action '([^']+)'/.exec(message)?.[1] : undefined;
      if (action) throw refused(action, code);
      throw new CloudError(`Azure ${what} of container group ${at.name}: ${message}`, code);
    }
  };
  return {
    location: () => named("location", async () => (await rm.resourceGroups.get(at.group)).location),
    create: (o) =>
      named("create", async () => {
        // The PUT only: its answer says Azure took it; the state is then read by GET (read()).
        await client.containerGroups.beginCreateOrUpdate(at.group, at.name, groupBody(o));
      }),
    read: () => named("read", async () => view(await client.containerGroups.get(at.group, at.name))),
    logs: () =>
      named("logs", async () => (await client.containers.listLogs(at.group, at.name, CONTAINER)).content ?? ""),
    remove: () =>
      named("delete", () =>
        client.containerGroups.beginDeleteAndWait(at.group, at.name, { updateIntervalInMs: at.pollMs }).then(() => {}),
      ),
  };
}

function groupBody(o: { location: string; identities: string[]; image: string; command: string[] }): ContainerGroup {
  return {
    location: o.location,
    tags: { "managed-by": "wp" },
    ...(o.identities.length
      ? {
          identity: {
            type: "UserAssigned",
            userAssignedIdentities: Object.fromEntries(o.identities.map((i) => [i, {}])),
          },
        }
      : {}),
    osType: "Linux",
    restartPolicy: "Never",
    containers: [
      {
        name: CONTAINER,
        image: o.image,
        command: o.command,
        resources: { requests: { cpu: 1, memoryInGB: 1 } },
        environmentVariables: [],
      },
    ],
  };
}

function view(cg: ContainerGroup): GroupView {
  const c = cg.containers?.[0]?.instanceView;
  const current = c?.currentState;
  return {
    ...(cg.provisioningState ? { provisioningState: cg.provisioningState } : {}),
    ...(cg.instanceView?.state ? { state: cg.instanceView.state } : {}),
    ...(current
      ? {
          container: {
            ...(current.state ? { state: current.state } : {}),
            ...(typeof current.exitCode === "number" ? { exitCode: current.exitCode } : {}),
            ...(current.detailStatus ? { detailStatus: current.detailStatus } : {}),
          },
        }
      : {}),
    events: [...(cg.instanceView?.events ?? []), ...(c?.events ?? [])],
  };
}

/** Why a container group failed: its latest warning or failure event, else its latest event. */
export function failureReason(events: AciEvent[]): string {
  const at = (x: AciEvent) => (x.lastTimestamp ? new Date(x.lastTimestamp).getTime() : 0);
  const sorted = [...events].sort((a, b) => at(a) - at(b));
  const last = sorted.filter((x) => x.type === "Warning" || /^Failed|Err/i.test(x.name ?? "")).pop() ?? sorted.pop();
  return last ? [last.name, last.message].filter(Boolean).join(": ") : "Azure gave no reason";
}
