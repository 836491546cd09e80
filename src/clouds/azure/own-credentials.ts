/**
 * `wp block create azure-container-instance-credentials`: an app registration's client id, tenant id and client
 * secret (AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_SECRET, flags for the ids, or prompts, the secret hidden),
 * checked by getting an Entra ID token for them.
 */
import { UsageError } from "../../errors.js";
import type { Env } from "../../prefect/settings.js";
import type { OwnCredential, PromptUi } from "../own-credentials.js";
import { clientSecretToken } from "./sdk.js";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function value(
  ui: PromptUi,
  given: string | undefined,
  o: { what: string; variable: string; flag?: string; secret?: boolean },
): Promise<string> {
  if (given) return given;
  if (!ui.interactive) {
    const how = o.flag ? `set ${o.variable} or pass ${o.flag}` : `set ${o.variable}`;
    throw new UsageError(
      `Missing the ${o.what}: without a terminal nothing is asked.`,
      `${how[0]?.toUpperCase()}${how.slice(1)}.`,
    );
  }
  const answer = o.secret
    ? await ui.prompts.secret(`Enter the ${o.what}`)
    : await ui.prompts.text(`Enter the ${o.what}`);
  if (!answer) throw new UsageError(`The ${o.what} cannot be empty.`);
  return answer;
}

export async function aciOwnCredential(flags: Record<string, unknown>, env: Env, ui: PromptUi): Promise<OwnCredential> {
  const flag = (k: string) => (typeof flags[k] === "string" ? (flags[k] as string) : undefined);
  const clientId = await value(ui, flag("clientId") ?? env.AZURE_CLIENT_ID, {
    what: "client id (application id) of the app registration",
    variable: "AZURE_CLIENT_ID",
    flag: "--client-id",
  });
  if (!GUID.test(clientId))
    throw new UsageError(
      `The client id '${clientId}' is not a GUID.`,
      "Pass the app registration's Application (client) ID.",
    );
  const tenantId = await value(ui, flag("tenantId") ?? env.AZURE_TENANT_ID, {
    what: "tenant id (directory id)",
    variable: "AZURE_TENANT_ID",
    flag: "--tenant-id",
  });
  if (!GUID.test(tenantId) && !/^[a-z0-9.-]+\.[a-z]{2,}$/i.test(tenantId)) {
    throw new UsageError(`The tenant id '${tenantId}' is not a GUID or a domain.`, "Pass the Directory (tenant) ID.");
  }
  const fromEnv = Boolean(env.AZURE_CLIENT_SECRET);
  const clientSecret = await value(ui, env.AZURE_CLIENT_SECRET, {
    what: "client secret (hidden)",
    variable: "AZURE_CLIENT_SECRET",
    secret: true,
  });
  return {
    data: { client_id: clientId, tenant_id: tenantId, client_secret: clientSecret },
    source: fromEnv ? "AZURE_CLIENT_SECRET" : "the prompt",
    async verify() {
      return `Entra ID token issued for ${await aciSecretIdentity({ clientId, tenantId, clientSecret }, env)}`;
    },
  };
}

/** Who a client id and secret sign in as, once Entra ID issues a token for them. */
export async function aciSecretIdentity(
  c: { clientId: string; tenantId: string; clientSecret: string },
  env: Env,
): Promise<string> {
  await clientSecretToken(env, c);
  return `client ${c.clientId} in tenant ${c.tenantId}`;
}
