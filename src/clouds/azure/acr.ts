/**
 * The Azure Container Registry data plane, narrowly: the Docker password (an ACR refresh token exchanged from
 * an Entra ID token, as `az acr login` does) and the registry's repositories (its catalog, paged).
 */
import { type AzureAuth, AzureHttpError, httpsRequest, tokenFor } from "./sdk.js";

/**
 * An ACR refresh token for `loginServer`, exchanged from an Entra ID token for ARM (what `az acr
 * login` does): the Docker password for user 00000000-0000-0000-0000-000000000000. Never logged.
 */
export async function acrRefreshToken(auth: AzureAuth, loginServer: string, tenantId: string): Promise<string> {
  const access = await tokenFor(auth, auth.endpoints.arm);
  const base = auth.endpoints.acr ?? `https://${loginServer}`;
  const body = new URLSearchParams({
    grant_type: "access_token",
    service: loginServer,
    tenant: tenantId,
    access_token: access,
  });
  const answer = await httpsRequest(`${base}/oauth2/exchange`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: body.toString(),
    ca: auth.ca,
  });
  let token: unknown;
  try {
    token = (JSON.parse(answer.text) as { refresh_token?: unknown }).refresh_token;
  } catch {
    token = undefined;
  }
  if (answer.status !== 200 || typeof token !== "string" || !token) {
    throw new AzureHttpError(
      `The ACR token exchange of ${loginServer} answered HTTP ${answer.status}.`,
      `HTTP${answer.status}`,
      answer.status,
    );
  }
  return token;
}

/** The ACR user name that goes with a refresh token. */
export const ACR_TOKEN_USER = "00000000-0000-0000-0000-000000000000";

/**
 * The repositories of a registry (the ACR catalog): a refresh token as for `docker login`, an access
 * token for `registry:catalog:*`, then `GET /v2/_catalog`. Tokens are never logged.
 */
export async function acrRepositories(auth: AzureAuth, loginServer: string, tenantId: string): Promise<string[]> {
  const refresh = await acrRefreshToken(auth, loginServer, tenantId);
  const base = auth.endpoints.acr ?? `https://${loginServer}`;
  const answer = await httpsRequest(`${base}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "refresh_token",
      service: loginServer,
      scope: "registry:catalog:*",
      refresh_token: refresh,
    }).toString(),
    ca: auth.ca,
  });
  let access: unknown;
  try {
    access = (JSON.parse(answer.text) as { access_token?: unknown }).access_token;
  } catch {
    access = undefined;
  }
  if (answer.status !== 200 || typeof access !== "string" || !access)
    throw new AzureHttpError(
      `The ACR token endpoint of ${loginServer} answered HTTP ${answer.status}.`,
      `HTTP${answer.status}`,
      answer.status,
    );
  // Paged: a `Link: <…?last=…&n=…>; rel="next"` header names the next page
  // (https://learn.microsoft.com/rest/api/containerregistry/repository/get-list).
  const repos: string[] = [];
  for (let next: string | undefined = "/v2/_catalog"; next; ) {
    const catalog = await httpsRequest(`${base}${next}`, {
      method: "GET",
      headers: { authorization: `Bearer ${access}`, accept: "application/json" },
      ca: auth.ca,
    });
    if (catalog.status !== 200)
      throw new AzureHttpError(
        `The ACR catalog of ${loginServer} answered HTTP ${catalog.status}.`,
        `HTTP${catalog.status}`,
        catalog.status,
      );
    const page = (JSON.parse(catalog.text) as { repositories?: unknown }).repositories;
    if (Array.isArray(page)) repos.push(...page.filter((r): r is string => typeof r === "string"));
    next = nextCatalogPage(catalog.headers.link);
  }
  return repos;
}

/** The path and query of a `Link` header's rel="next" target (relative to the registry), if any. */
export function nextCatalogPage(link: string | string[] | undefined): string | undefined {
  const text = Array.isArray(link) ? link.join(", ") : (link ?? "");
  const target = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(text)?.[1];
  if (!target) return undefined;
  const u = new URL(target, "https://registry.invalid");
  // The simulator serves the catalog under /acr; a registry serves it at /v2.
  return `${u.pathname.replace(/^.*(\/v2\/_catalog)$/, "$1")}${u.search}`;
}
